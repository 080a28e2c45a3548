/* virtio-net (virtio 1.2, 5.1) with vhost-net as its data path and a tap as backend. */
#ifndef VIRTIO_NET_H
#define VIRTIO_NET_H

#include <stdint.h>

#include "tap.h"
#include "tap_watch.h"
#include "vhost_net.h"
#include "virtio_pci.h"

#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_RX_QUEUE   0
#define VIRTIO_NET_TX_QUEUE   1

struct virtio_net_options {
	char tap[IFNAMSIZ];
	uint8_t mac[6];
};

/* The NIC's host side: the tap, /dev/vhost-net and the watch for the tap's deletion, opened once
 * before vmm drops its privileges and kept for its whole life; the NIC of every VM (each guest
 * restart) borrows them. */
struct virtio_net_backend {
	struct tap tap;
	int vhost_fd;
	struct tap_watch watch;
	/* The host deleted the tap: no queue gets it as backend again and the link stays down, in
	 * this VM and the next ones. Under the running NIC's vp.lock. */
	bool tap_gone;
};

struct virtio_net {
	struct virtio_pci vp;
	struct virtio_net_backend *backend;
	struct tap *tap; /* the backend's */
	struct vhost_net vhost;
	uint8_t mac[6];
	uint16_t link_status; /* VIRTIO_NET_S_*, under vp.lock */
};

/* Parses "tap=NAME[,mac=XX:XX:XX:XX:XX:XX]"; the default MAC is 52:54:00:12:34:56, as QEMU's. */
int virtio_net_parse(const char *spec, struct virtio_net_options *o, char *err, size_t errlen) __must_check;
/* Opens the tap named in `o` (created if missing: CAP_NET_ADMIN) and /dev/vhost-net. On failure
 * `err` says what is missing and virtio_net_backend_close() releases what was opened. */
int virtio_net_backend_open(struct virtio_net_backend *b, const struct virtio_net_options *o, char *err,
			    size_t errlen) __must_check;
void virtio_net_backend_close(struct virtio_net_backend *b);
/* Starts watching for the tap's deletion on the host (tap_watch_open), after
 * virtio_net_backend_open and before the privileges go. Without it nothing notices. */
int virtio_net_backend_watch(struct virtio_net_backend *b, char *err, size_t errlen) __must_check;
/* The device, on `backend` (which stays the caller's and must outlive it). Its DMA goes through
 * `dma` (the identity space without an IOMMU); vhost's messages and the backend's watch are
 * watched in `loop`. On a backend whose tap is gone (or found detached now) the link is down
 * from the start. */
int virtio_net_init(struct virtio_net *net, const struct virtio_net_options *o, struct virtio_net_backend *backend,
		    const struct guest_memory *mem, struct irq_routing *rt, int vm_fd, struct dma_space *dma,
		    struct event_loop *loop, char *err, size_t errlen) __must_check;
void virtio_net_destroy(struct virtio_net *net);
/* The host deleted the tap (called once, on the loop's thread, when the watch says so): vhost's
 * backends detached, the link down in the config status with a configuration-change interrupt,
 * one line on stderr. The guest runs on; a later reset, start or Bus Master Enable of the device,
 * and the NICs of later VMs, run without the tap. */
void virtio_net_tap_deleted(struct virtio_net *net);

#endif
