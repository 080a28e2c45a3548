/* virtio-net (virtio 1.2, 5.1) with vhost-net as its data path and a tap as backend. */
#ifndef VIRTIO_NET_H
#define VIRTIO_NET_H

#include <stdint.h>

#include "tap.h"
#include "vhost_net.h"
#include "virtio_pci.h"

#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_RX_QUEUE   0
#define VIRTIO_NET_TX_QUEUE   1

struct virtio_net_options {
	char tap[IFNAMSIZ];
	uint8_t mac[6];
};

/* The NIC's host side: the tap and /dev/vhost-net, opened once before vmm drops its privileges
 * and kept for its whole life; the NIC of every VM (each guest restart) borrows them. */
struct virtio_net_backend {
	struct tap tap;
	int vhost_fd;
};

struct virtio_net {
	struct virtio_pci vp;
	struct tap *tap; /* the backend's */
	struct vhost_net vhost;
	uint8_t mac[6];
	uint16_t link_status;
};

/* Parses "tap=NAME[,mac=XX:XX:XX:XX:XX:XX]"; the default MAC is 52:54:00:12:34:56, as QEMU's. */
int virtio_net_parse(const char *spec, struct virtio_net_options *o, char *err, size_t errlen) __must_check;
/* Opens the tap named in `o` (created if missing: CAP_NET_ADMIN) and /dev/vhost-net. On failure
 * `err` says what is missing and virtio_net_backend_close() releases what was opened. */
int virtio_net_backend_open(struct virtio_net_backend *b, const struct virtio_net_options *o, char *err,
			    size_t errlen) __must_check;
void virtio_net_backend_close(struct virtio_net_backend *b);
/* The device, on `backend` (which stays the caller's and must outlive it). Its DMA goes through
 * `dma` (the identity space without an IOMMU); vhost's messages are watched in `loop`. */
int virtio_net_init(struct virtio_net *net, const struct virtio_net_options *o, struct virtio_net_backend *backend,
		    const struct guest_memory *mem, struct irq_routing *rt, int vm_fd, struct dma_space *dma,
		    struct event_loop *loop, char *err, size_t errlen) __must_check;
void virtio_net_destroy(struct virtio_net *net);

#endif
