/* The vhost-net backend: the kernel moves packets between the virtqueues and the tap. With
 * VIRTIO_F_ACCESS_PLATFORM the rings and buffers are IOVAs, which vhost translates through its
 * device IOTLB; vmm fills that IOTLB on demand from the device's DMA space (vhost_iotlb.c). */
#ifndef VIRTIO_VHOST_NET_H
#define VIRTIO_VHOST_NET_H

#include <linux/vhost.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vmm/dma.h"
#include "../vmm/event_loop.h"
#include "../vmm/log.h"
#include "../vmm/memory.h"

#define VHOST_NET_QUEUES 2
#define VHOST_IOTLB_FAULT_MEMORY 16 /* IOVA pages whose fault was recorded (one per page) */
#define VHOST_IOTLB_SHADOW 2048     /* vhost keeps at most 2048 entries (drivers/vhost/vhost.c) */
#define VHOST_IOTLB_ANSWERED 64     /* missed pages answered since the last invalidation, kept */
#define VHOST_IOTLB_HISTORY 1024    /* missed pages answered lately, invalidations or not */
#define VHOST_IOTLB_PREFETCH 64     /* runs a miss may send besides its own (see handle_miss) */
#define VHOST_IOTLB_WINDOWS 4       /* 2 MiB IOVA windows whose pages vhost is known to hold */
#define VHOST_IOTLB_WINDOW_PAGES 512

struct virtio_pci;

struct vhost_iotlb_stats {
	uint64_t misses;        /* MISS messages from vhost */
	uint64_t updates;       /* UPDATE messages sent (misses answered, rings primed) */
	uint64_t update_bytes;  /* bytes those updates covered */
	uint64_t invalidations; /* INVALIDATE messages sent */
	uint64_t faults;        /* misses that the DMA space refused (one per IOVA page) */
	uint64_t perm_mismatches; /* answered with less permission than vhost asked */
	uint64_t unanswered;    /* misses left unanswered (no translation, bus mastering off) */
	uint64_t vring_errors;  /* VHOST_SET_VRING_ERR events: a buffer vhost could not access */
	uint64_t kept;          /* entries a wide flush left in vhost because the tables still map them */
	uint64_t republished;   /* updates sent for the still-mapped rest of a partly invalidated entry */
	uint64_t duplicates;    /* misses for a page already answered and not invalidated since: skipped */
	uint64_t stale;         /* misses for a page answered lately that no longer translates: refused
				 * without a fault record (a duplicate read after the guest's unmap) */
	uint64_t prefetched;    /* updates sent with a miss's answer for other mapped pages near it */
	uint64_t miss_ns;       /* time vmm spent answering misses (the wait for the DMA space's
				 * lock, the walk, the prefetch, the UPDATEs) */
	uint64_t inval_ns;      /* time vmm spent on the guest's invalidations (INVALIDATEs and what
				 * follows them), inside the vCPU's exit */
};

/* The pages of one 2 MiB IOVA window that vhost holds an entry for (an UPDATE sent and no
 * INVALIDATE over it since), so that a prefetch sends only the others: vhost does not merge a
 * second UPDATE of the same range, it adds an entry, and its 2048 fill up. */
struct vhost_iotlb_window {
	uint64_t base;  /* 2 MiB aligned IOVA */
	uint64_t held[VHOST_IOTLB_WINDOW_PAGES / 64];
	uint64_t joined[VHOST_IOTLB_WINDOW_PAGES / 64]; /* page i is in page i-1's entry */
	uint64_t stamp; /* last use, for replacement; 0: unused */
};

/* What vmm told vhost its IOTLB holds: every UPDATE sent and not yet invalidated. vhost may hold
 * less (it retires entries), never more. */
struct vhost_iotlb_entry {
	uint64_t iova, len, gpa;
	uint8_t perm;
};

struct vhost_net {
	int fd;                    /* borrowed: vmm opens /dev/vhost-net once for its whole life */
	bool owned;                /* VHOST_SET_OWNER done, not reset since */
	uint64_t features;         /* VHOST_GET_FEATURES */
	uint64_t backend_features; /* VHOST_GET_BACKEND_FEATURES */
	int err_fd[VHOST_NET_QUEUES];
	/* Device IOTLB state, under dma->lock. */
	struct dma_space *dma;
	struct virtio_pci *vp; /* for the requester id and Bus Master Enable */
	bool iotlb;            /* the running data path translates through the IOTLB */
	struct vhost_iotlb_entry *shadow; /* VHOST_IOTLB_SHADOW entries */
	unsigned nshadow, victim;
	uint64_t faulted[VHOST_IOTLB_FAULT_MEMORY];
	unsigned nfaulted;
	/* vhost queues a MISS at every wake-up of a stalled queue (each kick, and for RX each packet
	 * that arrives), so several MISS messages for one page wait in the fd and the later ones are
	 * duplicates. answered: pages answered since the last invalidation (vhost still holds them:
	 * it retires an entry only after 2048 newer ones), whose misses are skipped. history: pages
	 * answered lately whatever happened since; a duplicate read after the guest unmapped the
	 * page no longer translates, and is refused without a fault record. */
	uint64_t answered[VHOST_IOTLB_ANSWERED];
	unsigned nanswered;
	/* UPDATEs since answered was last emptied: past half of vhost's 2048 entries, an answered
	 * page may have been retired there, and answered is emptied (prefetch sends many). */
	unsigned updates_since_forget;
	uint64_t history[VHOST_IOTLB_HISTORY];
	unsigned nhistory;
	/* Prefetch (on unless VMM_IOTLB_PREFETCH=0): a miss is answered with the other mapped pages
	 * of its last-level table too, those vhost does not hold yet. */
	bool prefetch;
	struct vhost_iotlb_window windows[VHOST_IOTLB_WINDOWS];
	uint64_t window_clock;
	struct vhost_iotlb_stats stats;
};

/* Opens /dev/vhost-net: the fd (>= 0) or -errno, with `err` saying what is missing. vmm opens it
 * once, before it drops its privileges, and keeps it for its whole life: every VM (a guest
 * restart) takes it over again rather than reopen it (a reopened fd would leave the old device
 * alive behind a pending poll, and needs privileges vmm no longer has). */
int vhost_net_open_device(char *err, size_t errlen) __must_check;
/* Takes ownership of the device behind vhost_fd (which stays the caller's) for this VM, and
 * watches its IOTLB messages and vring errors in `loop`. */
int vhost_net_open(struct vhost_net *vh, int vhost_fd, struct dma_space *dma, struct event_loop *loop, char *err,
		   size_t errlen) __must_check;
/* Gives the device up (VHOST_RESET_OWNER: backends stopped, everything this VM set dropped),
 * leaving the fd open for the next VM. */
void vhost_net_close(struct vhost_net *vh);
/* Features, memory table, the rings of every enabled queue with their kick, call and error
 * eventfds, the IOTLB primed with the rings when ACCESS_PLATFORM is on, and the tap as backend.
 * On failure nothing stays started (vhost_net_stop() undid it). */
int vhost_net_start(struct vhost_net *vh, struct virtio_pci *vp, uint64_t features, int tap_fd) __must_check;
/* Bus Master Enable, while started: tap_fd -1 detaches the tap from every queue
 * (VHOST_NET_SET_BACKEND -1 stops and flushes its worker: no ring or buffer access, no call),
 * keeping the rings' state in vhost; the tap fd attaches it again (the IOTLB primed with the
 * rings first), and the queues go on where they stopped. */
int vhost_net_set_dma(struct vhost_net *vh, int tap_fd) __must_check;
/* Stops both queues and forgets the driver's state and the IOTLB (VHOST_RESET_OWNER), keeping
 * the same vhost fd for the next start. */
int vhost_net_stop(struct vhost_net *vh) __must_check;
void vhost_net_get_stats(struct vhost_net *vh, struct vhost_iotlb_stats *out);

/* vhost_iotlb.c: the device IOTLB protocol (struct vhost_msg_v2 on the vhost fd). */
/* Builds one message. */
struct vhost_msg_v2 vhost_iotlb_msg(uint8_t type, uint64_t iova, uint64_t size, uint64_t uaddr, uint8_t perm);
/* Sends UPDATEs covering [iova, iova + len) as the DMA space translates it (lock held). -EFAULT
 * when part of it has no translation, -EACCES when it lacks `perm`. */
int vhost_iotlb_prime_locked(struct vhost_net *vh, uint64_t iova, uint64_t len, unsigned perm) __must_check;
/* Sends the ring areas of every enabled queue, where the tables map them (lock held). Returns the
 * first error: at once when stop_at_error, else after trying every area (each failure logged). */
int vhost_iotlb_prime_rings_locked(struct vhost_net *vh, bool stop_at_error);
/* vhost's IOTLB was emptied or cut (an INVALIDATE, a new start): no miss is a duplicate. */
void vhost_iotlb_forget_answered(struct vhost_net *vh);
/* vhost's IOTLB is empty (a new start, a stop): it holds no page. Lock held. */
void vhost_iotlb_forget_held(struct vhost_net *vh);
/* Event-loop callbacks: IOTLB misses, vring errors. */
bool vhost_iotlb_on_message(void *opaque, int fd, unsigned revents);
bool vhost_iotlb_on_vring_error(void *opaque, int fd, unsigned revents);
/* The DMA space's listener: the guest invalidated [first, last]. For a narrow range, entries
 * vhost holds there are checked against the tables again: an entry whose translation changed is
 * invalidated in vhost, and the still-mapped rest of it is sent again, so that a page flush
 * inside a large entry does not cost vhost the mappings that stay. The whole space (domain and
 * global flushes) drops everything, then sends the rings again. With Bus Master Enable clear
 * the range is dropped and nothing is sent. */
void vhost_iotlb_invalidate(void *opaque, uint64_t first, uint64_t last);

#endif
