/* DMA address spaces: how a device's bus addresses (IOVAs) become guest-physical addresses.
 * Without an IOMMU the space is the identity over guest RAM; with one, the IOMMU supplies
 * translate() and tells the listeners of every range it invalidates. Device models (vhost, and
 * any userspace device) only use this interface and never know which IOMMU is behind it. */
#ifndef VMM_DMA_H
#define VMM_DMA_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "memory.h"

#define DMA_PERM_READ  1u
#define DMA_PERM_WRITE 2u
#define DMA_PERM_RW    3u

#define DMA_MAX_LISTENERS 8

/* PCI requester id (PCIe base spec 2.2.6.2): bus 15:8, device 7:3, function 2:0. */
static inline uint16_t dma_rid(unsigned bus, unsigned devfn) { return (uint16_t)((bus & 0xFF) << 8 | (devfn & 0xFF)); }

/* One contiguous run of a translation: [iova, iova + len) maps to [gpa, gpa + len) with perm. */
struct dma_translation {
	uint64_t iova; /* start of the run; the asked address lies in it */
	uint64_t gpa;  /* guest-physical address of .iova */
	uint64_t len;  /* bytes, never 0 on success */
	unsigned perm; /* DMA_PERM_* that the tables grant over the whole run */
};

struct dma_iommu_ops {
	/* Called with the space's lock held. `access` is the DMA_PERM_* the request needs (0: a
	 * look-up that needs no particular permission). On success fills `out` (the run holding
	 * iova; its perm may be wider than `access`) and returns 0. On failure returns -EFAULT
	 * (no translation) or -EACCES (the permission is missing), after recording a fault where
	 * the hardware would (when record_fault is true). */
	int (*translate)(void *iommu, uint16_t rid, uint64_t iova, unsigned access, bool record_fault,
			 struct dma_translation *out);
	/* Optional, lock held: translations near iova that a cache may hold ahead of their use
	 * (what the IOMMU would let its own IOTLB prefetch), up to `max` runs into `out`; their
	 * number. Never records a fault. */
	int (*prefetch)(void *iommu, uint16_t rid, uint64_t iova, struct dma_translation *out, unsigned max);
};

/* Told of ranges whose translations may have changed: [first, last] inclusive, in IOVA. Called
 * with the space's lock held, from whichever thread did the invalidation. */
typedef void (*dma_invalidate_fn)(void *opaque, uint64_t first, uint64_t last);

struct dma_listener {
	uint16_t rid;
	dma_invalidate_fn invalidate;
	void *opaque;
};

struct dma_space {
	/* Serialises translation against invalidation: a user that translates and then publishes
	 * the result (vhost's IOTLB update) holds it across both, and the IOMMU holds it while it
	 * processes an invalidation and tells the listeners, so no stale translation can be
	 * published after the invalidation that should have removed it. The IOMMU's own registers
	 * and caches are also under it. */
	pthread_mutex_t lock;
	const struct guest_memory *mem;
	const struct dma_iommu_ops *ops; /* NULL: identity over guest RAM */
	void *iommu;
	struct dma_listener listeners[DMA_MAX_LISTENERS];
	unsigned nlisteners;
};

int dma_space_init(struct dma_space *s, const struct guest_memory *mem) __must_check;
void dma_space_destroy(struct dma_space *s);
void dma_space_set_iommu(struct dma_space *s, const struct dma_iommu_ops *ops, void *iommu);
static inline bool dma_space_translated(const struct dma_space *s) { return s->ops != NULL; }

void dma_lock(struct dma_space *s);
void dma_unlock(struct dma_space *s);

/* Lock held. The identity space gives the RAM region holding iova, from iova to its end, RW;
 * -EFAULT outside RAM. */
int dma_translate_locked(struct dma_space *s, uint16_t rid, uint64_t iova, unsigned access, bool record_fault,
			 struct dma_translation *out) __must_check;

/* Lock held. Up to `max` runs near iova that are mapped now (see dma_iommu_ops.prefetch); 0 for
 * the identity space, whose translate() already answers with a whole RAM region. */
int dma_prefetch_locked(struct dma_space *s, uint16_t rid, uint64_t iova, struct dma_translation *out, unsigned max);

/* Copy from/to device-visible memory, translating page by page; -EFAULT / -EACCES as above
 * (a fault is recorded). Take the lock themselves. */
int dma_read(struct dma_space *s, uint16_t rid, uint64_t iova, void *buf, size_t len) __must_check;
int dma_write(struct dma_space *s, uint16_t rid, uint64_t iova, const void *buf, size_t len) __must_check;

int dma_add_listener(struct dma_space *s, uint16_t rid, dma_invalidate_fn fn, void *opaque) __must_check;
void dma_remove_listener(struct dma_space *s, void *opaque);

/* For the IOMMU, lock held: tells every listener whose rid `match` accepts (NULL: all). */
void dma_notify_locked(struct dma_space *s, bool (*match)(void *ctx, uint16_t rid), void *ctx, uint64_t first,
		       uint64_t last);

#endif
