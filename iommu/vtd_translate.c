/* DMA address translation (spec chapter 3 and 9, legacy mode): root entry -> context entry ->
 * second-level page walk, with permissions, superpages, reserved-bit and address-width checks.
 * Every table is read through guest_read(), which bounds-checks against guest RAM; nothing is
 * cached, so a present entry the guest just wrote is seen at once (CM=0). */
#include "vtd.h"

#include <errno.h>
#include <string.h>

struct vtd_context {
	unsigned tt;       /* VTD_TT_* */
	unsigned levels;   /* 3 or 4, for the translated types */
	uint64_t slptptr;  /* second-level page table pointer */
	uint16_t did;
	bool fpd;          /* fault processing disable */
};

/* Address bits at and above the host address width, reserved in table pointers (9.1, 9.3, 9.8). */
static uint64_t vtd_beyond_haw(const struct vtd *v) { return VTD_MASK(63, v->cfg.gpa_bits); }

/* The root and context entries for rid (9.1, 9.3). Returns 0 or the fault reason. */
static unsigned vtd_read_context(struct vtd *v, uint16_t rid, struct vtd_context *ctx)
{
	const struct guest_memory *mem = v->space->mem;
	uint64_t root[2], ce[2];

	ctx->fpd = false;
	if ((v->root_table & vtd_beyond_haw(v)) ||
	    guest_read(mem, v->root_table + (rid >> 8) * VTD_ROOT_ENTRY_SIZE, root, sizeof(root)))
		return VTD_FR_ROOT_READ;
	if (!(root[0] & VTD_ROOT_P))
		return VTD_FR_ROOT_NOT_PRESENT;
	if ((root[0] & (VTD_ROOT_LO_RSVD | vtd_beyond_haw(v))) || root[1])
		return VTD_FR_ROOT_RESERVED;
	uint64_t ctp = root[0] & VTD_ROOT_CTP;
	if (guest_read(mem, ctp + (rid & 0xFF) * VTD_CONTEXT_ENTRY_SIZE, ce, sizeof(ce)))
		return VTD_FR_CONTEXT_READ;
	/* FPD counts whether or not the entry is present (9.3). */
	ctx->fpd = ce[0] & VTD_CTX_FPD;
	if (!(ce[0] & VTD_CTX_P))
		return VTD_FR_CONTEXT_NOT_PRESENT;
	if ((ce[0] & VTD_CTX_LO_RSVD) || (ce[1] & VTD_CTX_HI_RSVD))
		return VTD_FR_CONTEXT_RESERVED;

	ctx->tt = (unsigned)((ce[0] & VTD_CTX_TT_MASK) >> VTD_CTX_TT_SHIFT);
	ctx->did = (uint16_t)(ce[1] >> VTD_CTX_HI_DID_SHIFT);
	ctx->slptptr = ce[0] & VTD_CTX_SLPTPTR;
	ctx->levels = 0;
	switch (ctx->tt) {
	case VTD_TT_TRANSLATED:
		break;
	case VTD_TT_DEVICE_TLB: /* reserved without ECAP.DT: an invalid context entry (7.1.3) */
		if (!v->cfg.device_tlb)
			return VTD_FR_CONTEXT_INVALID;
		break;
	case VTD_TT_PASS_THROUGH: /* ECAP.PT=1; SLPTPTR and AW are not used */
		return 0;
	default:
		return VTD_FR_CONTEXT_INVALID;
	}
	if (ctx->slptptr & vtd_beyond_haw(v))
		return VTD_FR_CONTEXT_RESERVED;
	switch (ce[1] & VTD_CTX_HI_AW_MASK) { /* must be a width SAGAW offers */
	case VTD_AW_39:
		ctx->levels = 3;
		return 0;
	case VTD_AW_48:
		ctx->levels = 4;
		return 0;
	default:
		return VTD_FR_CONTEXT_INVALID;
	}
}

bool vtd_context_domain(struct vtd *v, uint16_t rid, uint16_t *did)
{
	struct vtd_context ctx;
	if (vtd_read_context(v, rid, &ctx))
		return false;
	*did = ctx.did;
	return true;
}

/* Translation off, or a pass-through context: the identity over the guest RAM region that holds
 * iova, read and write. Outside RAM there is nothing to reach, but no remapping fault either. */
static int vtd_identity(struct vtd *v, uint64_t iova, struct dma_translation *out)
{
	const struct guest_memory *mem = v->space->mem;
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		if (iova >= r->gpa && iova - r->gpa < r->size) {
			*out = (struct dma_translation){ .iova = r->gpa, .gpa = r->gpa, .len = r->size, .perm = DMA_PERM_RW };
			return 0;
		}
	}
	return -EFAULT;
}

static unsigned vtd_level_shift(unsigned level) { return VTD_PAGE_SHIFT + VTD_LEVEL_STRIDE * (level - 1); }

/* Reserved bits set in a present second-level entry at `level` (9.8): SNP (no ECAP.SC), address
 * bits at and above HAW, PS at level 4 (no 512 GiB pages), address bits inside a superpage, and
 * TM in a leaf without ECAP.DT. Bits 63:52 other than TM, and 10:2 otherwise, are ignored. */
static uint64_t vtd_pte_reserved(const struct vtd *v, unsigned level, uint64_t pte)
{
	uint64_t rsvd = VTD_SL_SNP | VTD_MASK(51, v->cfg.gpa_bits);
	bool leaf = level == 1 || (pte & VTD_SL_PS);
	if (level > 1 && (pte & VTD_SL_PS)) {
		if (level > 3)
			rsvd |= VTD_SL_PS;
		else
			rsvd |= VTD_MASK(vtd_level_shift(level) - 1, VTD_PAGE_SHIFT);
	}
	if (leaf && !v->cfg.device_tlb)
		rsvd |= VTD_SL_TM;
	return pte & rsvd;
}

/* The permission a leaf at `level` grants under `upper_perm` (the AND over the levels above), or
 * 0 when it is no valid leaf there: not present, reserved bits set, or not a superpage above
 * level 1. */
static unsigned vtd_leaf_perm(const struct vtd *v, unsigned level, unsigned upper_perm, uint64_t e)
{
	if ((level > 1 && !(e & VTD_SL_PS)) || vtd_pte_reserved(v, level, e))
		return 0;
	return upper_perm & (unsigned)e & DMA_PERM_RW;
}

/* How many entries after `idx` in the same table continue the run of a leaf at `level`: present
 * leaves of the same size, valid, with the same effective permission, physically contiguous. */
static unsigned vtd_following_leaves(struct vtd *v, uint64_t table, unsigned idx, unsigned level, uint64_t gpa,
				     unsigned upper_perm, unsigned perm)
{
	uint64_t next[VTD_SL_ENTRIES];
	unsigned count = VTD_SL_ENTRIES - 1 - idx;
	uint64_t page = 1ULL << vtd_level_shift(level);
	if (!count || guest_read(v->space->mem, table + (uint64_t)(idx + 1) * 8, next, count * 8ULL))
		return 0;
	unsigned n;
	for (n = 0; n < count; n++) {
		uint64_t e = next[n];
		gpa += page;
		if (vtd_leaf_perm(v, level, upper_perm, e) != perm || (e & VTD_SL_ADDR) != gpa)
			break;
	}
	return n;
}

/* Where a walk found its leaf: the table holding it, its level and index there, the entry, the
 * permission of the levels above it and the effective one. */
struct vtd_leaf {
	uint64_t table;
	uint64_t pte;
	unsigned level;
	unsigned idx;
	unsigned upper_perm;
	unsigned perm;
};

/* The second-level walk down to the leaf that maps iova (3.6). Returns 0 with *leaf filled, or
 * -EFAULT / -EACCES with *reason. */
static int vtd_walk_to_leaf(struct vtd *v, const struct vtd_context *ctx, uint64_t iova, unsigned access,
			    struct vtd_leaf *leaf, unsigned *reason)
{
	unsigned fr_access = access & DMA_PERM_WRITE ? VTD_FR_WRITE : VTD_FR_READ;
	/* Beyond the context's address width (and MGAW, 48, which is never smaller). */
	if (iova >> vtd_level_shift(ctx->levels + 1)) {
		*reason = VTD_FR_ADDR_BEYOND_AW;
		return -EFAULT;
	}
	uint64_t table = ctx->slptptr;
	unsigned perm = DMA_PERM_RW;
	for (unsigned level = ctx->levels; level >= 1; level--) {
		unsigned idx = (unsigned)(iova >> vtd_level_shift(level)) & (VTD_SL_ENTRIES - 1);
		uint64_t pte;
		if (guest_read(v->space->mem, table + idx * 8ULL, &pte, sizeof(pte))) {
			*reason = VTD_FR_PTE_READ;
			return -EFAULT;
		}
		if (!(pte & (VTD_SL_R | VTD_SL_W))) { /* not present */
			*reason = fr_access;
			return -EFAULT;
		}
		if (vtd_pte_reserved(v, level, pte)) {
			*reason = VTD_FR_PTE_RESERVED;
			return -EFAULT;
		}
		/* Permissions are the AND of R and W over every level (3.6.1). */
		unsigned upper_perm = perm;
		perm &= (unsigned)pte & DMA_PERM_RW;
		unsigned missing = (access & ~perm) | (perm ? 0 : DMA_PERM_READ);
		if (missing) {
			*reason = missing & DMA_PERM_WRITE ? VTD_FR_WRITE : VTD_FR_READ;
			return -EACCES;
		}
		if (level == 1 || (pte & VTD_SL_PS)) {
			*leaf = (struct vtd_leaf){ .table = table, .pte = pte, .level = level, .idx = idx,
						   .upper_perm = upper_perm, .perm = perm };
			return 0;
		}
		table = pte & VTD_SL_ADDR;
	}
	*reason = VTD_FR_PTE_READ; /* not reached: level 1 is always a leaf */
	return -EFAULT;
}

/* The walk's translation: the leaf's page and the run the entries after it continue. */
static int vtd_walk(struct vtd *v, const struct vtd_context *ctx, uint64_t iova, unsigned access,
		    struct dma_translation *out, unsigned *reason)
{
	struct vtd_leaf leaf;
	int ret = vtd_walk_to_leaf(v, ctx, iova, access, &leaf, reason);
	if (ret)
		return ret;
	uint64_t page = 1ULL << vtd_level_shift(leaf.level);
	uint64_t gpa = leaf.pte & VTD_SL_ADDR;
	unsigned more = vtd_following_leaves(v, leaf.table, leaf.idx, leaf.level, gpa, leaf.upper_perm, leaf.perm);
	*out = (struct dma_translation){
		.iova = iova & ~(page - 1), .gpa = gpa, .len = page * (1 + more), .perm = leaf.perm,
	};
	return 0;
}

/* The faults that FPD in the context entry keeps from being recorded (7.1.3, the "qualified"
 * ones): those found in or below a context entry whose FPD can be trusted, so not the ones in
 * the root entry or table, nor a context entry with reserved bits set. */
static bool vtd_fault_qualified(unsigned reason)
{
	switch (reason) {
	case VTD_FR_CONTEXT_NOT_PRESENT:
	case VTD_FR_CONTEXT_INVALID:
	case VTD_FR_ADDR_BEYOND_AW:
	case VTD_FR_WRITE:
	case VTD_FR_READ:
	case VTD_FR_PTE_READ:
	case VTD_FR_PTE_RESERVED:
		return true;
	default:
		return false;
	}
}

int vtd_translate(void *iommu, uint16_t rid, uint64_t iova, unsigned access, bool record_fault,
		  struct dma_translation *out)
{
	struct vtd *v = iommu;
	v->stats.translations++;
	if (!(vtd_reg32(v, VTD_REG_GSTS) & VTD_GSTS_TES))
		return vtd_identity(v, iova, out);

	struct vtd_context ctx;
	int ret = -EFAULT;
	unsigned reason = vtd_read_context(v, rid, &ctx);
	if (!reason) {
		vtd_note_domain(v, rid, ctx.did);
		if (ctx.tt == VTD_TT_PASS_THROUGH)
			return vtd_identity(v, iova, out);
		ret = vtd_walk(v, &ctx, iova, access, out, &reason);
		if (!ret)
			return 0;
	}
	if (!record_fault)
		return ret;
	v->stats.faults++;
	if (ctx.fpd && vtd_fault_qualified(reason))
		v->stats.faults_suppressed++;
	else
		vtd_record_fault(v, rid, iova, access & DMA_PERM_WRITE, reason);
	return ret;
}

/* Hardware may cache any present translation, not only the ones requests needed: software must
 * invalidate after changing any present entry (chapter 6), and with CM=0 only non-present
 * entries are never cached. So a miss may be answered with the other
 * present 4 KiB leaves of the last-level table that maps iova as well: a strict-mode guest maps
 * a ring's worth of buffers at IOVAs side by side (its allocator reuses freed ones) before the
 * device reads the first. Runs are coalesced as the walk does (contiguous, same permission). */
int vtd_prefetch(void *iommu, uint16_t rid, uint64_t iova, struct dma_translation *out, unsigned max)
{
	struct vtd *v = iommu;
	if (!(vtd_reg32(v, VTD_REG_GSTS) & VTD_GSTS_TES) || !max)
		return 0;
	struct vtd_context ctx;
	if (vtd_read_context(v, rid, &ctx) || ctx.tt == VTD_TT_PASS_THROUGH)
		return 0;
	vtd_note_domain(v, rid, ctx.did);
	struct vtd_leaf leaf;
	unsigned reason;
	if (vtd_walk_to_leaf(v, &ctx, iova, 0, &leaf, &reason) || leaf.level != 1)
		return 0;
	uint64_t e[VTD_SL_ENTRIES];
	if (guest_read(v->space->mem, leaf.table, e, sizeof(e)))
		return 0;
	uint64_t base = iova & ~(((uint64_t)VTD_SL_ENTRIES << VTD_PAGE_SHIFT) - 1);
	struct dma_translation all[VTD_SL_ENTRIES];
	unsigned n = 0, near = 0;
	for (unsigned i = 0; i < VTD_SL_ENTRIES; i++) {
		unsigned perm = vtd_leaf_perm(v, 1, leaf.upper_perm, e[i]);
		if (!perm)
			continue;
		uint64_t page_iova = base + ((uint64_t)i << VTD_PAGE_SHIFT), gpa = e[i] & VTD_SL_ADDR;
		struct dma_translation *last = n ? &all[n - 1] : NULL;
		if (last && last->iova + last->len == page_iova && last->gpa + last->len == gpa && last->perm == perm)
			last->len += 1ULL << VTD_PAGE_SHIFT;
		else
			all[n++] = (struct dma_translation){ .iova = page_iova, .gpa = gpa, .len = 1ULL << VTD_PAGE_SHIFT, .perm = perm };
		if (i <= leaf.idx)
			near = n - 1;
	}
	/* The `max` runs around the asked one: the buffers posted with it. */
	unsigned lo = near > max / 2 ? near - max / 2 : 0;
	if (lo + max > n)
		lo = n > max ? n - max : 0;
	unsigned count = n - lo < max ? n - lo : max;
	memcpy(out, all + lo, count * sizeof(*out));
	return (int)count;
}
