#include "vhost_net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "virtio_pci.h"

#define BIT(n) (1ULL << (n))

int vhost_net_open_device(char *err, size_t errlen)
{
	/* Non-blocking: the loop reads IOTLB messages until there are none. */
	int fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open /dev/vhost-net: %s (load the vhost_net module; vmm has no userspace virtio-net)",
			 strerror(e));
		return -e;
	}
	return fd;
}

/* Takes ownership of the device and watches its messages and vring errors. */
static int own_vhost_device(struct vhost_net *vh, struct event_loop *loop, char *err, size_t errlen)
{
	if (ioctl(vh->fd, VHOST_SET_OWNER) < 0) {
		int e = errno;
		snprintf(err, errlen, "vhost-net set-up failed: VHOST_SET_OWNER: %s", strerror(e));
		return -e;
	}
	vh->owned = true;
	if (ioctl(vh->fd, VHOST_GET_FEATURES, &vh->features) < 0) {
		int e = errno;
		snprintf(err, errlen, "vhost-net set-up failed: %s", strerror(e));
		return -e;
	}
	if (ioctl(vh->fd, VHOST_GET_BACKEND_FEATURES, &vh->backend_features) < 0)
		vh->backend_features = 0;
	for (unsigned q = 0; q < VHOST_NET_QUEUES; q++) {
		vh->err_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vh->err_fd[q] < 0 || event_loop_add(loop, vh->err_fd[q], vhost_iotlb_on_vring_error, vh) < 0) {
			snprintf(err, errlen, "vhost-net: cannot watch vring errors");
			return -ENOSPC;
		}
	}
	if (event_loop_add(loop, vh->fd, vhost_iotlb_on_message, vh) < 0) {
		snprintf(err, errlen, "vhost-net: cannot watch the IOTLB messages");
		return -ENOSPC;
	}
	return 0;
}

int vhost_net_open(struct vhost_net *vh, int vhost_fd, struct dma_space *dma, struct event_loop *loop, char *err,
		   size_t errlen)
{
	vh->fd = vhost_fd;
	vh->dma = dma;
	for (unsigned q = 0; q < VHOST_NET_QUEUES; q++)
		vh->err_fd[q] = -1;
	/* Every guest invalidation goes to vhost as it is. VMM_IOTLB_EXACT=1 (an experiment, for
	 * measurements) keeps a shadow of vhost's IOTLB instead and checks the entries a flush
	 * covers against the tables: measured in the nested L1, it made strict mode slower (rx 16-38
	 * against 62 Mbit/s, tx 5-8 against 162), since each unmap then costs vhost several
	 * messages, each taking all its queue locks. */
	const char *prefetch = getenv("VMM_IOTLB_PREFETCH");
	vh->prefetch = !(prefetch && !strcmp(prefetch, "0"));
	const char *exact = getenv("VMM_IOTLB_EXACT");
	if (exact && !strcmp(exact, "1")) {
		vh->shadow = calloc(VHOST_IOTLB_SHADOW, sizeof(*vh->shadow));
		if (!vh->shadow) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return own_vhost_device(vh, loop, err, errlen);
}

void vhost_net_close(struct vhost_net *vh)
{
	if (vh->dma)
		dma_remove_listener(vh->dma, vh);
	/* The fd is the caller's and serves the next VM: RESET_OWNER stops both backends and drops
	 * this VM's memory table, rings, eventfds and IOTLB, so that the next owner starts clean. */
	if (vh->owned && ioctl(vh->fd, VHOST_RESET_OWNER) < 0)
		log_err("vhost-net: VHOST_RESET_OWNER failed: %s", strerror(errno));
	vh->owned = false;
	vh->fd = -1;
	free(vh->shadow);
	vh->shadow = NULL;
	for (unsigned q = 0; q < VHOST_NET_QUEUES; q++) {
		if (vh->err_fd[q] >= 0)
			close(vh->err_fd[q]);
		vh->err_fd[q] = -1;
	}
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

/* Lock held. */
int vhost_iotlb_prime_rings_locked(struct vhost_net *vh, bool stop_at_error)
{
	struct virtio_pci *vp = vh->vp;
	int first_err = 0;
	for (unsigned q = 0; q < vp->ops->num_queues && q < VHOST_NET_QUEUES; q++) {
		const struct virtio_queue *vq = &vp->queues[q];
		for (enum virtio_area a = VIRTIO_AREA_DESC; vq->enabled && a <= VIRTIO_AREA_DEVICE; a++) {
			uint64_t addr, len;
			unsigned perm;
			virtio_queue_area_range(vq, a, &addr, &len, &perm);
			int ret = vhost_iotlb_prime_locked(vh, addr, len, perm);
			if (!ret)
				continue;
			if (stop_at_error)
				return ret;
			log_guest("vhost-iotlb: %s: queue %u's ring at iova 0x%llx is no longer mapped", vp->pci.name, q,
				  (unsigned long long)addr);
			first_err = first_err ? first_err : ret;
		}
	}
	return first_err;
}

/* The IOTLB entries vhost needs before the backend starts: it touches the used ring at
 * VHOST_NET_SET_BACKEND, and a miss there is an error rather than a wait. The other areas are
 * primed too, which saves two misses per queue. */
static int prime_rings(struct vhost_net *vh)
{
	dma_lock(vh->dma);
	vh->iotlb = true;
	vh->nfaulted = 0;
	vh->nshadow = vh->victim = 0; /* VHOST_SET_FEATURES started vhost on an empty IOTLB */
	vh->nhistory = 0;
	vhost_iotlb_forget_answered(vh);
	vhost_iotlb_forget_held(vh);
	int ret = vhost_iotlb_prime_rings_locked(vh, true);
	dma_unlock(vh->dma);
	return ret;
}

/* Attaches the tap to every enabled queue (fd -1 detaches it). */
static int set_backends(struct vhost_net *vh, int tap_fd)
{
	struct virtio_pci *vp = vh->vp;
	for (unsigned q = 0; q < vp->ops->num_queues && q < VHOST_NET_QUEUES; q++) {
		if (!vp->queues[q].enabled)
			continue;
		struct vhost_vring_file backend = { .index = q, .fd = tap_fd };
		if (ioctl(vh->fd, VHOST_NET_SET_BACKEND, &backend) < 0)
			return -errno;
	}
	return 0;
}

/* vhost_net_start() up to the first error; what it did stays. */
static int start(struct vhost_net *vh, struct virtio_pci *vp, uint64_t features, int tap_fd)
{
	const struct guest_memory *mem = vh->dma->mem;
	bool iotlb = features & BIT(VIRTIO_F_ACCESS_PLATFORM);
	if (iotlb) {
		uint64_t bf = BIT(VHOST_BACKEND_F_IOTLB_MSG_V2);
		if (ioctl(vh->fd, VHOST_SET_BACKEND_FEATURES, &bf) < 0)
			return -errno;
	}
	/* vhost takes only the ring features it offered; the tap writes the virtio-net header, so
	 * VHOST_NET_F_VIRTIO_NET_HDR stays off. ACCESS_PLATFORM makes vhost start a new, empty
	 * IOTLB. */
	uint64_t vf = features & vh->features & ~BIT(VHOST_NET_F_VIRTIO_NET_HDR);
	if (ioctl(vh->fd, VHOST_SET_FEATURES, &vf) < 0)
		return -errno;
	int ret = set_mem_table(vh, mem);
	if (ret)
		return ret;
	for (unsigned q = 0; q < vp->ops->num_queues && q < VHOST_NET_QUEUES; q++) {
		const struct virtio_queue *vq = &vp->queues[q];
		if (!vq->enabled)
			continue;
		struct vhost_vring_state num = { .index = q, .num = vq->size };
		struct vhost_vring_state base = { .index = q, .num = 0 };
		/* With the IOTLB, vhost takes ring addresses as IOVAs. Without it, addresses in our
		 * address space; the transport checked that each ring lies wholly in guest RAM. */
		struct vhost_vring_addr addr = { .index = q };
		if (iotlb) {
			addr.desc_user_addr = vq->desc;
			addr.avail_user_addr = vq->driver;
			addr.used_user_addr = vq->device;
		} else {
			addr.desc_user_addr = (uintptr_t)virtio_queue_area(mem, vq, VIRTIO_AREA_DESC);
			addr.avail_user_addr = (uintptr_t)virtio_queue_area(mem, vq, VIRTIO_AREA_DRIVER);
			addr.used_user_addr = (uintptr_t)virtio_queue_area(mem, vq, VIRTIO_AREA_DEVICE);
		}
		struct vhost_vring_file kick = { .index = q, .fd = vq->kick_fd };
		struct vhost_vring_file call = { .index = q, .fd = vq->call_fd };
		struct vhost_vring_file verr = { .index = q, .fd = vh->err_fd[q] };
		if (ioctl(vh->fd, VHOST_SET_VRING_NUM, &num) < 0 || ioctl(vh->fd, VHOST_SET_VRING_BASE, &base) < 0 ||
		    ioctl(vh->fd, VHOST_SET_VRING_ADDR, &addr) < 0 || ioctl(vh->fd, VHOST_SET_VRING_KICK, &kick) < 0 ||
		    ioctl(vh->fd, VHOST_SET_VRING_CALL, &call) < 0 || ioctl(vh->fd, VHOST_SET_VRING_ERR, &verr) < 0)
			return -errno;
	}
	if (iotlb) {
		if ((ret = dma_add_listener(vh->dma, vp->pci.rid, vhost_iotlb_invalidate, vh)))
			return ret;
		if ((ret = prime_rings(vh)))
			return ret;
	}
	return set_backends(vh, tap_fd);
}

int vhost_net_start(struct vhost_net *vh, struct virtio_pci *vp, uint64_t features, int tap_fd)
{
	vh->vp = vp;
	if ((features & BIT(VIRTIO_F_ACCESS_PLATFORM)) && !(vh->backend_features & BIT(VHOST_BACKEND_F_IOTLB_MSG_V2)))
		return -ENOTSUP; /* before any ioctl: nothing to undo */
	int ret = start(vh, vp, features, tap_fd);
	/* A start that failed halfway (a queue's backend set, the IOTLB listener added) would stay
	 * running with nobody to stop it, since the transport marks the device active only on
	 * success, and the next start would find the rings busy (EBUSY): undo all of it. */
	if (ret && vhost_net_stop(vh))
		log_guest("vhost-net: %s: undoing a failed start failed", vp->pci.name);
	return ret;
}

int vhost_net_set_dma(struct vhost_net *vh, int tap_fd)
{
	if (tap_fd < 0)
		return set_backends(vh, -1); /* each queue's worker stopped and flushed */
	if (vh->iotlb) {
		/* Bus mastering off dropped vhost's IOTLB; vhost reads the used ring at SET_BACKEND,
		 * where a miss is an error. */
		int ret = prime_rings(vh);
		if (ret)
			return ret;
	}
	return set_backends(vh, tap_fd);
}

int vhost_net_stop(struct vhost_net *vh)
{
	dma_lock(vh->dma);
	vh->iotlb = false;
	vh->nshadow = vh->victim = 0;
	vhost_iotlb_forget_answered(vh);
	vhost_iotlb_forget_held(vh);
	dma_unlock(vh->dma);
	dma_remove_listener(vh->dma, vh);
	/* RESET_OWNER stops both backends, flushes the workers and frees the IOTLB and memory table;
	 * the fd stays ours (a reopened fd would leave the old device alive behind the loop's poll). */
	if (ioctl(vh->fd, VHOST_RESET_OWNER) < 0)
		return -errno;
	vh->owned = false;
	if (ioctl(vh->fd, VHOST_SET_OWNER) < 0)
		return -errno;
	vh->owned = true;
	return 0;
}

void vhost_net_get_stats(struct vhost_net *vh, struct vhost_iotlb_stats *out)
{
	dma_lock(vh->dma);
	*out = vh->stats;
	dma_unlock(vh->dma);
}
