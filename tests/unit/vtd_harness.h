/* The harness shared by the VT-d unit tests: guest memory holding the tables, the unit driven
 * through its MMIO ops as the guest drives it, a recorder for the MSIs it sends and for the
 * ranges its listeners are told to drop. No KVM. Included by one test program each. */
#ifndef TESTS_VTD_HARNESS_H
#define TESTS_VTD_HARNESS_H

#include <errno.h>
#include <string.h>

#include "../../iommu/vtd.h"
#include "../../iommu/vtd_regs.h"
#include "check.h"

#define HAW       40
#define ROOT      0x100000ULL /* root table */
#define CTX_BUS0  0x101000ULL /* context table of bus 0 */
#define POOL      0x200000ULL /* page tables, one 4 KiB page each */
#define QUEUE     0x400000ULL /* invalidation queue, QS=0: 256 descriptors */
#define STATUS    0x500000ULL /* wait status words */
#define DATA      0x1000000ULL
#define NOT_RAM   0xF0000000ULL /* below HAW, in the PCI hole */

/* Requesters: A and D in domain 1, B in domain 2, C without a context entry. */
#define RID_A     0x08 /* 00:01.0 */
#define RID_D     0x09 /* 00:01.1 */
#define RID_B     0x10 /* 00:02.0 */
#define RID_C     0x18 /* 00:03.0 */
#define RID_E     0x20 /* 00:04.0, pass-through */
#define RID_F     0x28 /* 00:05.0, domain 1 with FPD */

static struct guest_memory mem;
static struct dma_space space;
static struct vtd v;
static bool v_live;
static uint64_t pool_next;
static uint64_t pgd_a, pgd_b3; /* domain 1 (4-level), domain 2 (3-level) */

/* ---- the guest's side: MMIO and memory ---- */
static inline void wr32(unsigned off, uint32_t x) { vtd_mmio_ops.write(&v, off, &x, 4); }
static inline void wr64(unsigned off, uint64_t x) { vtd_mmio_ops.write(&v, off, &x, 8); }
static inline uint32_t rd32(unsigned off) { uint32_t x; vtd_mmio_ops.read(&v, off, &x, 4); return x; }
static inline uint64_t rd64(unsigned off) { uint64_t x; vtd_mmio_ops.read(&v, off, &x, 8); return x; }
static inline void put64(uint64_t gpa, uint64_t x) { CHECK_EQ(guest_write(&mem, gpa, &x, 8), 0); }
static inline uint64_t get64(uint64_t gpa) { uint64_t x = 0; CHECK_EQ(guest_read(&mem, gpa, &x, 8), 0); return x; }
static inline uint32_t get32(uint64_t gpa) { uint32_t x = 0; CHECK_EQ(guest_read(&mem, gpa, &x, 4), 0); return x; }
/* As Linux writes GCMD: the enables it keeps, ORed with the command. */
static inline void gcmd(uint32_t set, uint32_t clear)
{
	uint32_t keep = rd32(VTD_REG_GSTS) & (uint32_t)(VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_CFI);
	wr32(VTD_REG_GCMD, (keep | set) & ~clear);
}

/* The unit's lock (the space's) is held: by this thread, since the tests run in one. */
static inline bool space_locked(void)
{
	int r = pthread_mutex_trylock(&space.lock);
	if (r == 0)
		pthread_mutex_unlock(&space.lock);
	return r == EBUSY;
}

/* ---- what the unit tells the outside: MSIs and listener invalidations ---- */
static struct { uint64_t addr; uint32_t data; } msis[32];
static unsigned nmsi;
static inline void raise_msi(void *opaque, uint64_t addr, uint32_t data)
{
	if (nmsi < 32)
		msis[nmsi] = (typeof(msis[0])){ addr, data };
	nmsi++;
}

struct inval { uint16_t rid; uint64_t first, last; };
static struct inval invals[64];
static unsigned ninval;
static uint16_t listener_rids[] = { RID_A, RID_B, RID_C, RID_D };
static inline void on_invalidate(void *opaque, uint64_t first, uint64_t last)
{
	if (ninval < 64)
		invals[ninval] = (struct inval){ *(uint16_t *)opaque, first, last };
	ninval++;
}
static inline bool told(uint16_t rid, uint64_t first, uint64_t last)
{
	for (unsigned i = 0; i < ninval && i < 64; i++)
		if (invals[i].rid == rid && invals[i].first == first && invals[i].last == last)
			return true;
	return false;
}
static inline bool told_all(uint16_t rid) { return told(rid, 0, UINT64_MAX); }

/* ---- tables ---- */
static inline uint64_t alloc_table(void)
{
	uint64_t t = pool_next;
	pool_next += VTD_PAGE_SIZE;
	memset(guest_ptr(&mem, t, VTD_PAGE_SIZE), 0, VTD_PAGE_SIZE);
	return t;
}
static inline unsigned shift_of(unsigned level) { return 12 + 9 * (level - 1); }
/* Address of the entry for iova at `level`, creating RW tables above it as needed. */
static inline uint64_t slot(uint64_t pgd, unsigned levels, uint64_t iova, unsigned level)
{
	uint64_t table = pgd;
	for (unsigned l = levels; l > level; l--) {
		uint64_t at = table + ((iova >> shift_of(l)) & 511) * 8;
		uint64_t e = get64(at);
		if (!(e & 3)) {
			e = alloc_table() | VTD_SL_R | VTD_SL_W;
			put64(at, e);
		}
		table = e & VTD_SL_ADDR;
	}
	return table + ((iova >> shift_of(level)) & 511) * 8;
}
static inline void map(uint64_t pgd, unsigned levels, uint64_t iova, uint64_t gpa, unsigned level, uint64_t bits)
{
	put64(slot(pgd, levels, iova, level), gpa | bits | (level > 1 ? VTD_SL_PS : 0));
}
static inline void set_context(uint16_t rid, uint64_t lo, uint64_t hi)
{
	put64(CTX_BUS0 + (rid & 0xFF) * 16, lo);
	put64(CTX_BUS0 + (rid & 0xFF) * 16 + 8, hi);
}
static inline uint64_t ctx_lo(uint64_t pgd, unsigned tt) { return pgd | (uint64_t)tt << VTD_CTX_TT_SHIFT | VTD_CTX_P; }
static inline uint64_t ctx_hi(unsigned aw, uint16_t did) { return aw | (uint64_t)did << VTD_CTX_HI_DID_SHIFT; }

static inline int xlate_opt(uint16_t rid, uint64_t iova, unsigned access, bool record, struct dma_translation *t)
{
	dma_lock(&space);
	int r = dma_translate_locked(&space, rid, iova, access, record, t);
	dma_unlock(&space);
	return r;
}
static inline int xlate(uint16_t rid, uint64_t iova, unsigned access, struct dma_translation *t)
{
	return xlate_opt(rid, iova, access, true, t);
}
/* Translates expecting `ret`; returns the reason recorded (0: none) after clearing the record
 * and the status as Linux's fault handler does. */
static inline unsigned fault_of(uint16_t rid, uint64_t iova, unsigned access, int ret)
{
	struct dma_translation t;
	CHECK_EQ(xlate(rid, iova, access, &t), ret);
	uint32_t fsts = rd32(VTD_REG_FSTS);
	if (!(fsts & VTD_FSTS_PPF))
		return 0;
	unsigned frcd = VTD_REG_FRCD + (unsigned)((fsts & VTD_FSTS_FRI_MASK) >> VTD_FSTS_FRI_SHIFT) * VTD_FRCD_LEN;
	unsigned reason = rd32(frcd + 12) & 0xFF;
	wr32(frcd + 12, (uint32_t)(VTD_FRCD_HI_F >> 32));
	wr32(VTD_REG_FSTS, (uint32_t)(VTD_FSTS_PFO | VTD_FSTS_PPF));
	return reason;
}

/* ---- the invalidation queue, as Linux's qi_submit_sync uses it ---- */
static unsigned q_tail;
static inline void q_enable(void)
{
	wr32(VTD_REG_IQT, 0);
	wr64(VTD_REG_IQA, QUEUE);
	gcmd((uint32_t)VTD_GCMD_QIE, 0);
	q_tail = 0;
}
static inline void q_push(uint64_t lo, uint64_t hi)
{
	put64(QUEUE + q_tail * 16, lo);
	put64(QUEUE + q_tail * 16 + 8, hi);
	q_tail = (q_tail + 1) % 256;
}
static inline void q_submit(void) { wr32(VTD_REG_IQT, q_tail << 4); }
static inline uint64_t d_wait(uint32_t data, bool sw, bool intr)
{
	return VTD_DESC_WAIT | (sw ? VTD_WAIT_SW : 0) | (intr ? VTD_WAIT_IF : 0) | (uint64_t)data << 32;
}
static inline uint64_t d_iotlb(unsigned g, uint16_t did) { return VTD_DESC_IOTLB | (uint64_t)g << 4 | (uint64_t)did << 16; }
static inline uint64_t d_cc(unsigned g, uint16_t did, uint16_t sid, unsigned fm)
{
	return VTD_DESC_CC | (uint64_t)g << 4 | (uint64_t)did << 16 | (uint64_t)sid << 32 | (uint64_t)fm << 48;
}
/* Interrupt entry cache, index-selective: 2^im entries from index (aligned down). The global one
 * is VTD_DESC_IEC alone. */
static inline uint64_t d_iec(unsigned index, unsigned im)
{
	return VTD_DESC_IEC | 1ULL << 4 | (uint64_t)im << 27 | (uint64_t)index << 32;
}
/* One descriptor and a wait, as one submission; true when the wait completed. */
static inline bool q_sync(uint64_t lo, uint64_t hi)
{
	put64(STATUS, 0);
	q_push(lo, hi);
	q_push(d_wait(2, true, false), STATUS);
	q_submit();
	return get32(STATUS) == 2;
}

/* A fresh unit over fresh tables: A, D (domain 1, 4-level), B (domain 2, 3-level), E
 * (pass-through), F (domain 1, FPD); translation and the queue on, events unmasked. With
 * intremap, the unit offers interrupt remapping and tells ir_changed(ir_opaque, ...). */
static inline void setup_ir(bool device_tlb, bool intremap,
			    void (*ir_changed)(void *opaque, unsigned first, unsigned last, bool all_formats),
			    void *ir_opaque)
{
	if (v_live)
		vtd_destroy(&v);
	memset(guest_ptr(&mem, ROOT, 0x500000), 0, 0x500000);
	pool_next = POOL;
	nmsi = ninval = 0;
	struct vtd_config cfg = { .gpa_bits = HAW, .device_tlb = device_tlb, .raise_msi = raise_msi,
				  .intremap = intremap, .ir_changed = ir_changed, .ir_opaque = ir_opaque };
	CHECK_EQ(vtd_init(&v, &space, &cfg), 0);
	v_live = true;
	put64(ROOT, CTX_BUS0 | VTD_ROOT_P);
	pgd_a = alloc_table();
	pgd_b3 = alloc_table();
	set_context(RID_A, ctx_lo(pgd_a, VTD_TT_TRANSLATED), ctx_hi(VTD_AW_48, 1));
	set_context(RID_D, ctx_lo(pgd_a, VTD_TT_TRANSLATED), ctx_hi(VTD_AW_48, 1));
	set_context(RID_B, ctx_lo(pgd_b3, VTD_TT_TRANSLATED), ctx_hi(VTD_AW_39, 2));
	set_context(RID_E, ctx_lo(0, VTD_TT_PASS_THROUGH), ctx_hi(VTD_AW_48, 3));
	set_context(RID_F, ctx_lo(pgd_a, VTD_TT_TRANSLATED) | VTD_CTX_FPD, ctx_hi(VTD_AW_48, 1));
	wr64(VTD_REG_RTADDR, ROOT);
	gcmd((uint32_t)VTD_GCMD_SRTP, 0);
	q_enable();
	gcmd((uint32_t)VTD_GCMD_TE, 0);
	wr32(VTD_REG_FEDATA, 0x42);
	wr32(VTD_REG_FEADDR, 0xFEE00000);
	wr32(VTD_REG_FECTL, 0);
	wr32(VTD_REG_IEDATA, 0x41);
	wr32(VTD_REG_IEADDR, 0xFEE01000);
	wr32(VTD_REG_IECTL, 0);
	nmsi = ninval = 0;
}
static inline void setup(bool device_tlb) { setup_ir(device_tlb, false, NULL, NULL); }

static inline void harness_init(void)
{
	CHECK_EQ(guest_memory_init(&mem, 64 << 20), 0);
	CHECK_EQ(dma_space_init(&space, &mem), 0);
	for (unsigned i = 0; i < sizeof(listener_rids) / sizeof(listener_rids[0]); i++)
		CHECK_EQ(dma_add_listener(&space, listener_rids[i], on_invalidate, &listener_rids[i]), 0);
}

static inline int harness_fini(const char *name)
{
	vtd_destroy(&v);
	CHECK(!dma_space_translated(&space));
	dma_space_destroy(&space);
	guest_memory_free(&mem);
	return check_report(name);
}

#endif
