/* The fuzz targets' model of vhost's device IOTLB (drivers/vhost/vhost.c, vhost/iotlb.c), kept
 * from the messages vmm writes on the vhost fd: an UPDATE adds an entry, the oldest retired past
 * vhost-net's max_iotlb_entries (VHOST_IOTLB_FLAG_RETIRE); an INVALIDATE drops every entry that
 * overlaps [iova, iova + size - 1] (vhost_iotlb_del_range: a range that wraps finds nothing).
 * Entries are kept oldest first. Shared by fuzz_board and fuzz_vhost_iotlb. */
#ifndef TESTS_FUZZ_VHOST_MODEL_H
#define TESTS_FUZZ_VHOST_MODEL_H

#include <linux/vhost_types.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"

#define VHOST_MAX_ENTRIES 2048 /* vhost-net's max_iotlb_entries */

struct ventry {
	uint64_t iova, size, uaddr;
	uint8_t perm;
};

__attribute__((unused)) FUZZ_NOCOV static void vhost_model_add(struct ventry *model, unsigned *n,
								 const struct vhost_iotlb_msg *u)
{
	if (*n == VHOST_MAX_ENTRIES) {
		memmove(&model[0], &model[1], (*n - 1) * sizeof(model[0]));
		(*n)--;
	}
	model[(*n)++] = (struct ventry){ u->iova, u->size, u->uaddr, u->perm };
}

__attribute__((unused)) FUZZ_NOCOV static void vhost_model_del(struct ventry *model, unsigned *n, uint64_t iova,
								 uint64_t size)
{
	uint64_t last = iova + size - 1;
	unsigned k = 0;
	for (unsigned i = 0; i < *n; i++) {
		const struct ventry *e = &model[i];
		bool overlaps = last >= iova && e->iova <= last && e->iova + (e->size - 1) >= iova;
		if (!overlaps)
			model[k++] = *e;
	}
	*n = k;
}

/* The model holds every byte of [iova, iova + len) with perm. */
__attribute__((unused)) FUZZ_NOCOV static bool vhost_model_covers(const struct ventry *model, unsigned n,
								    uint64_t iova, uint64_t len, unsigned perm)
{
	uint64_t at = iova, end = iova + len;
	while (at < end) {
		uint64_t next = at;
		for (unsigned i = 0; i < n; i++) {
			const struct ventry *e = &model[i];
			if (at >= e->iova && at - e->iova < e->size && (e->perm & perm) == perm) {
				uint64_t e_end = e->iova + e->size;
				if (!e_end)
					return true; /* reaches the top of the address space */
				if (e_end > next)
					next = e_end;
			}
		}
		if (next == at)
			return false;
		at = next;
	}
	return true;
}

#endif
