#include "vhost_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "virtio_pci.h"

int vhost_net_open(struct vhost_net *vh, char *err, size_t errlen)
{
	vh->fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
	if (vh->fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open /dev/vhost-net: %s (load the vhost_net module; vmm has no userspace virtio-net)",
			 strerror(e));
		return -e;
	}
	if (ioctl(vh->fd, VHOST_SET_OWNER) < 0 || ioctl(vh->fd, VHOST_GET_FEATURES, &vh->features) < 0) {
		int e = errno;
		snprintf(err, errlen, "vhost-net set-up failed: %s", strerror(e));
		close(vh->fd);
		vh->fd = -1;
		return -e;
	}
	return 0;
}

void vhost_net_close(struct vhost_net *vh)
{
	if (vh->fd >= 0)
		close(vh->fd);
	vh->fd = -1;
}

static int set_mem_table(struct vhost_net *vh, const struct guest_memory *mem)
{
	struct vhost_memory *table = calloc(1, sizeof(*table) + mem->nregions * sizeof(struct vhost_memory_region));
	if (!table)
		return -ENOMEM;
	table->nregions = mem->nregions;
	for (unsigned i = 0; i < mem->nregions; i++) {
		table->regions[i].guest_phys_addr = mem->regions[i].gpa;
		table->regions[i].memory_size = mem->regions[i].size;
		table->regions[i].userspace_addr = (uintptr_t)mem->regions[i].host;
	}
	int ret = ioctl(vh->fd, VHOST_SET_MEM_TABLE, table) < 0 ? -errno : 0;
	free(table);
	return ret;
}

int vhost_net_start(struct vhost_net *vh, const struct guest_memory *mem, struct virtio_pci *vp,
		    uint64_t features, int tap_fd)
{
	/* vhost takes only the ring features it offered; the tap writes the virtio-net header, so
	 * VHOST_NET_F_VIRTIO_NET_HDR stays off. */
	uint64_t vf = features & vh->features & ~(1ULL << VHOST_NET_F_VIRTIO_NET_HDR);
	if (ioctl(vh->fd, VHOST_SET_FEATURES, &vf) < 0)
		return -errno;
	int ret = set_mem_table(vh, mem);
	if (ret)
		return ret;
	for (unsigned q = 0; q < vp->ops->num_queues; q++) {
		const struct virtio_queue *vq = &vp->queues[q];
		if (!vq->enabled)
			continue;
		struct vhost_vring_state num = { .index = q, .num = vq->size };
		struct vhost_vring_state base = { .index = q, .num = 0 };
		/* Without an IOTLB vhost takes ring addresses in our address space; the transport
		 * checked that each ring lies wholly in guest RAM. */
		struct vhost_vring_addr addr = {
			.index = q,
			.desc_user_addr = (uintptr_t)virtio_queue_area(mem, vq, VIRTIO_AREA_DESC),
			.avail_user_addr = (uintptr_t)virtio_queue_area(mem, vq, VIRTIO_AREA_DRIVER),
			.used_user_addr = (uintptr_t)virtio_queue_area(mem, vq, VIRTIO_AREA_DEVICE),
		};
		struct vhost_vring_file kick = { .index = q, .fd = vq->kick_fd };
		struct vhost_vring_file call = { .index = q, .fd = vq->call_fd };
		struct vhost_vring_file backend = { .index = q, .fd = tap_fd };
		if (ioctl(vh->fd, VHOST_SET_VRING_NUM, &num) < 0 || ioctl(vh->fd, VHOST_SET_VRING_BASE, &base) < 0 ||
		    ioctl(vh->fd, VHOST_SET_VRING_ADDR, &addr) < 0 || ioctl(vh->fd, VHOST_SET_VRING_KICK, &kick) < 0 ||
		    ioctl(vh->fd, VHOST_SET_VRING_CALL, &call) < 0 || ioctl(vh->fd, VHOST_NET_SET_BACKEND, &backend) < 0)
			return -errno;
	}
	return 0;
}

int vhost_net_stop(struct vhost_net *vh)
{
	vhost_net_close(vh);
	char err[200];
	return vhost_net_open(vh, err, sizeof(err));
}
