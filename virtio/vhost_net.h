/* The vhost-net backend: the kernel moves packets between the virtqueues and the tap. */
#ifndef VIRTIO_VHOST_NET_H
#define VIRTIO_VHOST_NET_H

#include <stddef.h>
#include <stdint.h>

#include "../vmm/log.h"
#include "../vmm/memory.h"

struct virtio_pci;

struct vhost_net {
	int fd;
	uint64_t features; /* VHOST_GET_FEATURES */
};

/* Opens /dev/vhost-net and takes ownership; `err` says what is missing when it fails. */
int vhost_net_open(struct vhost_net *vh, char *err, size_t errlen) __must_check;
void vhost_net_close(struct vhost_net *vh);
/* Memory table, features, the rings of every enabled queue with their kick and call eventfds,
 * and the tap as backend. */
int vhost_net_start(struct vhost_net *vh, const struct guest_memory *mem, struct virtio_pci *vp,
		    uint64_t features, int tap_fd) __must_check;
/* Stops the data path; the vhost device is opened afresh so that no state survives a reset. */
int vhost_net_stop(struct vhost_net *vh) __must_check;

#endif
