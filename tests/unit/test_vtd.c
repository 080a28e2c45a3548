/* VT-d unit: registers, translation (walks, superpages, permissions, reserved bits, runs,
 * context types), invalidation and the exact ranges listeners are told, the invalidation queue,
 * register-based invalidation, fault recording and events. The unit is driven through its MMIO
 * ops as the guest drives it; its tables live in guest memory. No KVM. */
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
static void wr32(unsigned off, uint32_t x) { vtd_mmio_ops.write(&v, off, &x, 4); }
static void wr64(unsigned off, uint64_t x) { vtd_mmio_ops.write(&v, off, &x, 8); }
static uint32_t rd32(unsigned off) { uint32_t x; vtd_mmio_ops.read(&v, off, &x, 4); return x; }
static uint64_t rd64(unsigned off) { uint64_t x; vtd_mmio_ops.read(&v, off, &x, 8); return x; }
static void put64(uint64_t gpa, uint64_t x) { CHECK_EQ(guest_write(&mem, gpa, &x, 8), 0); }
static uint64_t get64(uint64_t gpa) { uint64_t x = 0; CHECK_EQ(guest_read(&mem, gpa, &x, 8), 0); return x; }
static uint32_t get32(uint64_t gpa) { uint32_t x = 0; CHECK_EQ(guest_read(&mem, gpa, &x, 4), 0); return x; }
/* As Linux writes GCMD: the enables it keeps, ORed with the command. */
static void gcmd(uint32_t set, uint32_t clear)
{
	uint32_t keep = rd32(VTD_REG_GSTS) & (uint32_t)(VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_CFI);
	wr32(VTD_REG_GCMD, (keep | set) & ~clear);
}

/* ---- what the unit tells the outside: MSIs and listener invalidations ---- */
static struct { uint64_t addr; uint32_t data; } msis[32];
static unsigned nmsi;
static void raise_msi(void *opaque, uint64_t addr, uint32_t data)
{
	if (nmsi < 32)
		msis[nmsi] = (typeof(msis[0])){ addr, data };
	nmsi++;
}

struct inval { uint16_t rid; uint64_t first, last; };
static struct inval invals[64];
static unsigned ninval;
static uint16_t listener_rids[] = { RID_A, RID_B, RID_C, RID_D };
static void on_invalidate(void *opaque, uint64_t first, uint64_t last)
{
	if (ninval < 64)
		invals[ninval] = (struct inval){ *(uint16_t *)opaque, first, last };
	ninval++;
}
static bool told(uint16_t rid, uint64_t first, uint64_t last)
{
	for (unsigned i = 0; i < ninval && i < 64; i++)
		if (invals[i].rid == rid && invals[i].first == first && invals[i].last == last)
			return true;
	return false;
}
static bool told_all(uint16_t rid) { return told(rid, 0, UINT64_MAX); }

/* ---- tables ---- */
static uint64_t alloc_table(void)
{
	uint64_t t = pool_next;
	pool_next += VTD_PAGE_SIZE;
	memset(guest_ptr(&mem, t, VTD_PAGE_SIZE), 0, VTD_PAGE_SIZE);
	return t;
}
static unsigned shift_of(unsigned level) { return 12 + 9 * (level - 1); }
/* Address of the entry for iova at `level`, creating RW tables above it as needed. */
static uint64_t slot(uint64_t pgd, unsigned levels, uint64_t iova, unsigned level)
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
static void map(uint64_t pgd, unsigned levels, uint64_t iova, uint64_t gpa, unsigned level, uint64_t bits)
{
	put64(slot(pgd, levels, iova, level), gpa | bits | (level > 1 ? VTD_SL_PS : 0));
}
static void set_context(uint16_t rid, uint64_t lo, uint64_t hi)
{
	put64(CTX_BUS0 + (rid & 0xFF) * 16, lo);
	put64(CTX_BUS0 + (rid & 0xFF) * 16 + 8, hi);
}
static uint64_t ctx_lo(uint64_t pgd, unsigned tt) { return pgd | (uint64_t)tt << VTD_CTX_TT_SHIFT | VTD_CTX_P; }
static uint64_t ctx_hi(unsigned aw, uint16_t did) { return aw | (uint64_t)did << VTD_CTX_HI_DID_SHIFT; }

static int xlate_opt(uint16_t rid, uint64_t iova, unsigned access, bool record, struct dma_translation *t)
{
	dma_lock(&space);
	int r = dma_translate_locked(&space, rid, iova, access, record, t);
	dma_unlock(&space);
	return r;
}
static int xlate(uint16_t rid, uint64_t iova, unsigned access, struct dma_translation *t)
{
	return xlate_opt(rid, iova, access, true, t);
}
/* Translates expecting `ret`; returns the reason recorded (0: none) after clearing the record
 * and the status as Linux's fault handler does. */
static unsigned fault_of(uint16_t rid, uint64_t iova, unsigned access, int ret)
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
static void q_enable(void)
{
	wr32(VTD_REG_IQT, 0);
	wr64(VTD_REG_IQA, QUEUE);
	gcmd((uint32_t)VTD_GCMD_QIE, 0);
	q_tail = 0;
}
static void q_push(uint64_t lo, uint64_t hi)
{
	put64(QUEUE + q_tail * 16, lo);
	put64(QUEUE + q_tail * 16 + 8, hi);
	q_tail = (q_tail + 1) % 256;
}
static void q_submit(void) { wr32(VTD_REG_IQT, q_tail << 4); }
static uint64_t d_wait(uint32_t data, bool sw, bool intr)
{
	return VTD_DESC_WAIT | (sw ? VTD_WAIT_SW : 0) | (intr ? VTD_WAIT_IF : 0) | (uint64_t)data << 32;
}
static uint64_t d_iotlb(unsigned g, uint16_t did) { return VTD_DESC_IOTLB | (uint64_t)g << 4 | (uint64_t)did << 16; }
static uint64_t d_cc(unsigned g, uint16_t did, uint16_t sid, unsigned fm)
{
	return VTD_DESC_CC | (uint64_t)g << 4 | (uint64_t)did << 16 | (uint64_t)sid << 32 | (uint64_t)fm << 48;
}
/* One descriptor and a wait, as one submission; true when the wait completed. */
static bool q_sync(uint64_t lo, uint64_t hi)
{
	put64(STATUS, 0);
	q_push(lo, hi);
	q_push(d_wait(2, true, false), STATUS);
	q_submit();
	return get32(STATUS) == 2;
}

/* A fresh unit over fresh tables: A, D (domain 1, 4-level), B (domain 2, 3-level), E
 * (pass-through), F (domain 1, FPD); translation and the queue on, events unmasked. */
static void setup(bool device_tlb)
{
	if (v_live)
		vtd_destroy(&v);
	memset(guest_ptr(&mem, ROOT, 0x500000), 0, 0x500000);
	pool_next = POOL;
	nmsi = ninval = 0;
	struct vtd_config cfg = { .gpa_bits = HAW, .device_tlb = device_tlb, .raise_msi = raise_msi };
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


static void test_registers(void)
{
	setup(false);
	CHECK_EQ(rd32(VTD_REG_VER), 0x10);
	uint64_t cap = rd64(VTD_REG_CAP);
	CHECK_EQ(cap & 7, 6);                                  /* ND: 16-bit domain ids */
	CHECK_EQ((cap >> 8) & 0x1F, VTD_SAGAW_39 | VTD_SAGAW_48);
	CHECK_EQ((cap >> 16) & 0x3F, 47);                      /* MGAW 48 >= HAW */
	CHECK_EQ(((cap >> 24) & 0x3FF) * 16, VTD_REG_FRCD);
	CHECK_EQ((cap >> 34) & 0xF, 3);                        /* 2 MiB and 1 GiB */
	CHECK_EQ(((cap >> 40) & 0xFF) + 1, VTD_NFR);
	CHECK_EQ((cap >> 48) & 0x3F, VTD_MAMV);
	CHECK(cap & VTD_CAP_PSI);
	CHECK(!(cap & (VTD_CAP_CM | VTD_CAP_RWBF | VTD_CAP_PLMR | VTD_CAP_PHMR | VTD_CAP_AFL | VTD_CAP_DWD | VTD_CAP_DRD)));
	CHECK_EQ(rd32(VTD_REG_CAP + 4), cap >> 32);            /* 32-bit halves of a 64-bit register */
	uint64_t ecap = rd64(VTD_REG_ECAP);
	CHECK_EQ(ecap & (VTD_ECAP_C | VTD_ECAP_QI | VTD_ECAP_PT), VTD_ECAP_C | VTD_ECAP_QI | VTD_ECAP_PT);
	CHECK(!(ecap & (VTD_ECAP_DT | VTD_ECAP_IR | VTD_ECAP_EIM | VTD_ECAP_SC | VTD_ECAP_SMTS)));
	CHECK_EQ(((ecap >> 8) & 0x3FF) * 16, VTD_REG_IVA);
	CHECK_EQ(vtd_host_address_width(&v), HAW);

	/* Read-only registers ignore writes. */
	wr64(VTD_REG_CAP, 0);
	wr64(VTD_REG_ECAP, 0);
	wr32(VTD_REG_VER, 0);
	CHECK_EQ(rd64(VTD_REG_CAP), cap);
	CHECK_EQ(rd64(VTD_REG_ECAP), ecap);
	CHECK_EQ(rd32(VTD_REG_VER), 0x10);
	uint32_t gsts = rd32(VTD_REG_GSTS);
	CHECK_EQ(gsts, VTD_GSTS_TES | VTD_GSTS_RTPS | VTD_GSTS_QIES);
	wr32(VTD_REG_GSTS, 0);
	CHECK_EQ(rd32(VTD_REG_GSTS), gsts);
	CHECK_EQ(rd32(VTD_REG_GCMD), 0);                       /* write only */
	wr64(VTD_REG_IQH, 0x120);
	CHECK_EQ(rd64(VTD_REG_IQH), 0);

	/* Reserved bits read 0; 32-bit halves and 64-bit accesses see the same register. */
	wr64(VTD_REG_RTADDR, ~0ULL);
	CHECK_EQ(rd64(VTD_REG_RTADDR), ~0xFFFULL);
	wr32(VTD_REG_RTADDR, 0x12345FFF);
	wr32(VTD_REG_RTADDR + 4, 0x1);
	CHECK_EQ(rd64(VTD_REG_RTADDR), 0x112345000ULL);
	wr64(VTD_REG_RTADDR, ROOT);
	wr32(VTD_REG_FEADDR, 0xFFFFFFFF);
	CHECK_EQ(rd32(VTD_REG_FEADDR), 0xFFFFFFFC);
	wr32(VTD_REG_FEDATA, 0xFFFFFFFF);
	CHECK_EQ(rd32(VTD_REG_FEDATA), 0xFFFF);
	wr32(VTD_REG_FECTL, 0x7FFFFFFF);                       /* IP is read-only */
	CHECK_EQ(rd32(VTD_REG_FECTL), 0);
	wr32(VTD_REG_IRTA + 4, 0xFFFFFFFF);
	wr32(VTD_REG_IRTA, 0xFFFFFFFF);
	CHECK_EQ(rd64(VTD_REG_IRTA), VTD_IRTA_RW);
	wr32(0x300, 0xFFFFFFFF);                               /* no register there */
	CHECK_EQ(rd32(0x300), 0);
	/* Writes that are not aligned 32/64-bit ones are ignored. */
	uint16_t half = 0x1234;
	vtd_mmio_ops.write(&v, VTD_REG_FEDATA, &half, 2);
	uint64_t q = ~0ULL;
	vtd_mmio_ops.write(&v, VTD_REG_FEDATA, &q, 8);
	CHECK_EQ(rd32(VTD_REG_FEDATA), 0xFFFF);
	/* A 64-bit write over two 32-bit registers writes both. */
	wr64(VTD_REG_FECTL, 0x42ULL << 32 | VTD_EVCTL_IM);
	CHECK_EQ(rd32(VTD_REG_FECTL), VTD_EVCTL_IM);
	CHECK_EQ(rd32(VTD_REG_FEDATA), 0x42);

	/* GCMD: one-shot SRTP ORed with the enables; GSTS shows each result at once. */
	gcmd(0, (uint32_t)VTD_GCMD_TE);
	CHECK_EQ(rd32(VTD_REG_GSTS), VTD_GSTS_RTPS | VTD_GSTS_QIES);
	gcmd((uint32_t)VTD_GCMD_SRTP, 0);
	CHECK_EQ(rd32(VTD_REG_GSTS), VTD_GSTS_RTPS | VTD_GSTS_QIES);
	gcmd((uint32_t)VTD_GCMD_TE, 0);
	CHECK_EQ(rd32(VTD_REG_GSTS), VTD_GSTS_TES | VTD_GSTS_RTPS | VTD_GSTS_QIES);
	gcmd((uint32_t)VTD_GCMD_SRTP, 0);                      /* a new root with TE kept on */
	CHECK_EQ(rd32(VTD_REG_GSTS), VTD_GSTS_TES | VTD_GSTS_RTPS | VTD_GSTS_QIES);
	gcmd((uint32_t)(VTD_GCMD_SIRTP | VTD_GCMD_IRE | VTD_GCMD_CFI), 0); /* stored for later */
	CHECK_EQ(rd32(VTD_REG_GSTS), VTD_GSTS_TES | VTD_GSTS_RTPS | VTD_GSTS_QIES | VTD_GSTS_IRTPS | VTD_GSTS_IRES |
					     VTD_GSTS_CFIS);
	CHECK_EQ(v.irta, VTD_IRTA_RW);
	gcmd(0, (uint32_t)(VTD_GCMD_IRE | VTD_GCMD_CFI));
	/* Disabling the queue resets IQH. */
	q_sync(d_wait(1, false, false), 0);
	CHECK(rd64(VTD_REG_IQH) != 0);
	gcmd(0, (uint32_t)VTD_GCMD_QIE);
	CHECK(!(rd32(VTD_REG_GSTS) & VTD_GSTS_QIES));
	CHECK_EQ(rd64(VTD_REG_IQH), 0);
	/* IQA's reserved bits 10:3 read 0. */
	wr64(VTD_REG_IQA, ~0ULL);
	CHECK_EQ(rd64(VTD_REG_IQA), VTD_IQA_ADDR | VTD_IQA_DW | VTD_IQA_QS_MASK);
}

static void test_walks(void)
{
	struct dma_translation t;
	setup(false);
	/* 4-level, 4 KiB pages. */
	map(pgd_a, 4, 0x10000000, DATA, 1, VTD_SL_R | VTD_SL_W);
	CHECK_EQ(xlate(RID_A, 0x10000123, DMA_PERM_WRITE, &t), 0);
	CHECK_EQ(t.iova, 0x10000000);
	CHECK_EQ(t.gpa, DATA);
	CHECK_EQ(t.len, 0x1000);
	CHECK_EQ(t.perm, DMA_PERM_RW);
	/* Not present at each level (R = W = 0): level 1, 2, 3, 4. */
	CHECK_EQ(fault_of(RID_A, 0x10001000, DMA_PERM_READ, -EFAULT), VTD_FR_READ);
	CHECK_EQ(fault_of(RID_A, 0x10200000, DMA_PERM_WRITE, -EFAULT), VTD_FR_WRITE);
	CHECK_EQ(fault_of(RID_A, 0x40000000, DMA_PERM_READ, -EFAULT), VTD_FR_READ);
	CHECK_EQ(fault_of(RID_A, 1ULL << 40, DMA_PERM_READ, -EFAULT), VTD_FR_READ);
	put64(slot(pgd_a, 4, 0x10001000, 1), DATA | VTD_SL_SNP | VTD_SL_PS); /* other bits, no R/W */
	CHECK_EQ(fault_of(RID_A, 0x10001000, DMA_PERM_READ, -EFAULT), VTD_FR_READ);
	/* Beyond the 48-bit width. */
	CHECK_EQ(fault_of(RID_A, 1ULL << 48, DMA_PERM_READ, -EFAULT), VTD_FR_ADDR_BEYOND_AW);
	/* 3-level (39-bit) context. */
	map(pgd_b3, 3, 0x12345000, DATA + 0x5000, 1, VTD_SL_R);
	CHECK_EQ(xlate(RID_B, 0x12345678, DMA_PERM_READ, &t), 0);
	CHECK_EQ(t.gpa + (0x12345678 - t.iova), DATA + 0x5678);
	CHECK_EQ(t.perm, DMA_PERM_READ);
	CHECK_EQ(fault_of(RID_B, 1ULL << 39, DMA_PERM_READ, -EFAULT), VTD_FR_ADDR_BEYOND_AW);
	CHECK_EQ(fault_of(RID_A, 1ULL << 39, DMA_PERM_READ, -EFAULT), VTD_FR_READ); /* fine in 48 bits */
	/* Superpages: 2 MiB at level 2, 1 GiB at level 3. */
	map(pgd_a, 4, 0x40000000, 0x1200000, 2, VTD_SL_R | VTD_SL_W);
	CHECK_EQ(xlate(RID_A, 0x40012345, DMA_PERM_READ, &t), 0);
	CHECK_EQ(t.iova, 0x40000000);
	CHECK_EQ(t.gpa, 0x1200000);
	CHECK_EQ(t.len, 2 << 20);
	map(pgd_a, 4, 0x8000000000ULL, 0x40000000, 3, VTD_SL_R);
	CHECK_EQ(xlate(RID_A, 0x8000123456ULL, DMA_PERM_READ, &t), 0);
	CHECK_EQ(t.iova, 0x8000000000ULL);
	CHECK_EQ(t.gpa, 0x40000000);
	CHECK_EQ(t.len, 1 << 30);
	CHECK_EQ(t.perm, DMA_PERM_READ);

	/* Permissions: read-only and write-only leaves, and a non-leaf without W. */
	map(pgd_a, 4, 0x11000000, DATA, 1, VTD_SL_R);
	map(pgd_a, 4, 0x11001000, DATA, 1, VTD_SL_W);
	CHECK_EQ(fault_of(RID_A, 0x11000000, DMA_PERM_WRITE, -EACCES), VTD_FR_WRITE);
	CHECK_EQ(fault_of(RID_A, 0x11000000, DMA_PERM_RW, -EACCES), VTD_FR_WRITE);
	CHECK_EQ(fault_of(RID_A, 0x11001000, DMA_PERM_READ, -EACCES), VTD_FR_READ);
	CHECK_EQ(xlate(RID_A, 0x11001000, DMA_PERM_WRITE, &t), 0);
	CHECK_EQ(t.perm, DMA_PERM_WRITE);
	CHECK_EQ(xlate(RID_A, 0x11000000, 0, &t), 0);           /* a look-up */
	CHECK_EQ(t.perm, DMA_PERM_READ);
	uint64_t pde = slot(pgd_a, 4, 0x10000000, 2);
	put64(pde, get64(pde) & ~VTD_SL_W);
	CHECK_EQ(fault_of(RID_A, 0x10000000, DMA_PERM_WRITE, -EACCES), VTD_FR_WRITE);
	CHECK_EQ(xlate(RID_A, 0x10000000, DMA_PERM_READ, &t), 0);
	CHECK_EQ(t.perm, DMA_PERM_READ);                        /* the AND over the levels */
	put64(pde, get64(pde) | VTD_SL_W);
	CHECK_EQ(v.stats.faults, 12);
}

static void test_reserved_bits(void)
{
	struct dma_translation t;
	setup(false);
	map(pgd_a, 4, 0x10000000, DATA, 1, VTD_SL_R | VTD_SL_W);
	uint64_t pte = slot(pgd_a, 4, 0x10000000, 1), good = get64(pte);
	uint64_t bad_leaf[] = { VTD_SL_SNP, 1ULL << HAW, 1ULL << 51, VTD_SL_TM };
	for (unsigned i = 0; i < 4; i++) {
		put64(pte, good | bad_leaf[i]);
		CHECK_EQ(fault_of(RID_A, 0x10000000, DMA_PERM_READ, -EFAULT), VTD_FR_PTE_RESERVED);
	}
	put64(pte, good | 1ULL << 52 | 1ULL << 63 | 0x7C); /* ignored bits */
	CHECK_EQ(xlate(RID_A, 0x10000000, DMA_PERM_READ, &t), 0);
	put64(pte, good);
	uint64_t pde = slot(pgd_a, 4, 0x10000000, 2), pml4e = slot(pgd_a, 4, 0x10000000, 4);
	put64(pde, get64(pde) | VTD_SL_SNP);                   /* non-leaf */
	CHECK_EQ(fault_of(RID_A, 0x10000000, DMA_PERM_READ, -EFAULT), VTD_FR_PTE_RESERVED);
	put64(pde, get64(pde) & ~VTD_SL_SNP);
	put64(pml4e, get64(pml4e) | VTD_SL_PS);                /* no 512 GiB pages */
	CHECK_EQ(fault_of(RID_A, 0x10000000, DMA_PERM_READ, -EFAULT), VTD_FR_PTE_RESERVED);
	put64(pml4e, get64(pml4e) & ~VTD_SL_PS);
	map(pgd_a, 4, 0x40000000, 0x1201000, 2, VTD_SL_R);     /* 2 MiB page, address not aligned */
	CHECK_EQ(fault_of(RID_A, 0x40000000, DMA_PERM_READ, -EFAULT), VTD_FR_PTE_RESERVED);
	map(pgd_a, 4, 0x80000000, 0x200000, 3, VTD_SL_R);      /* 1 GiB page, address not aligned */
	CHECK_EQ(fault_of(RID_A, 0x80000000, DMA_PERM_READ, -EFAULT), VTD_FR_PTE_RESERVED);
	/* TM is a valid leaf bit with device-TLB support. */
	setup(true);
	map(pgd_a, 4, 0x10000000, DATA, 1, VTD_SL_R | VTD_SL_TM);
	CHECK_EQ(xlate(RID_A, 0x10000000, DMA_PERM_READ, &t), 0);
}

static void test_runs(void)
{
	struct dma_translation t;
	setup(false);
	for (unsigned i = 0; i < 8; i++)
		map(pgd_a, 4, 0x20000000 + i * 0x1000ULL, DATA + i * 0x1000ULL, 1, VTD_SL_R | VTD_SL_W);
	map(pgd_a, 4, 0x20008000, DATA + 0x10000, 1, VTD_SL_R | VTD_SL_W); /* not contiguous */
	CHECK_EQ(xlate(RID_A, 0x20003010, DMA_PERM_READ, &t), 0);
	CHECK_EQ(t.iova, 0x20003000);
	CHECK_EQ(t.gpa, DATA + 0x3000);
	CHECK_EQ(t.len, 5 * 0x1000);
	CHECK_EQ(xlate(RID_A, 0x20008000, DMA_PERM_READ, &t), 0);
	CHECK_EQ(t.len, 0x1000);                                /* then not present */
	map(pgd_a, 4, 0x20004000, DATA + 0x4000, 1, VTD_SL_R); /* a permission change */
	CHECK_EQ(xlate(RID_A, 0x20000000, DMA_PERM_READ, &t), 0);
	CHECK_EQ(t.len, 4 * 0x1000);
	CHECK_EQ(xlate(RID_A, 0x20004000, DMA_PERM_READ, &t), 0);
	CHECK_EQ(t.len, 0x1000);
	CHECK_EQ(t.perm, DMA_PERM_READ);
	/* The run ends with its leaf table, even when the next table continues it. */
	map(pgd_a, 4, 0x201FE000, DATA, 1, VTD_SL_R | VTD_SL_W);
	map(pgd_a, 4, 0x201FF000, DATA + 0x1000, 1, VTD_SL_R | VTD_SL_W);
	map(pgd_a, 4, 0x20200000, DATA + 0x2000, 1, VTD_SL_R | VTD_SL_W);
	CHECK_EQ(xlate(RID_A, 0x201FE000, DMA_PERM_READ, &t), 0);
	CHECK_EQ(t.len, 2 * 0x1000);
	/* Superpages extend the same way; a 4 KiB table after them ends the run. */
	map(pgd_a, 4, 0x40000000, 0x400000, 2, VTD_SL_R | VTD_SL_W);
	map(pgd_a, 4, 0x40200000, 0x600000, 2, VTD_SL_R | VTD_SL_W);
	map(pgd_a, 4, 0x40400000, 0x800000, 1, VTD_SL_R | VTD_SL_W);
	CHECK_EQ(xlate(RID_A, 0x40000000, DMA_PERM_WRITE, &t), 0);
	CHECK_EQ(t.len, 4 << 20);
	/* A following entry with a reserved bit is not part of the run. */
	put64(slot(pgd_a, 4, 0x20001000, 1), (DATA + 0x1000) | VTD_SL_R | VTD_SL_W | VTD_SL_SNP);
	CHECK_EQ(xlate(RID_A, 0x20000000, DMA_PERM_READ, &t), 0);
	CHECK_EQ(t.len, 0x1000);
}

static void test_contexts(void)
{
	struct dma_translation t;
	setup(false);
	map(pgd_a, 4, 0x10000000, DATA, 1, VTD_SL_R | VTD_SL_W);
	/* Pass-through: the identity over the RAM region that holds the address, RW. */
	CHECK_EQ(xlate(RID_E, 0x123456, DMA_PERM_WRITE, &t), 0);
	CHECK_EQ(t.iova, 0);
	CHECK_EQ(t.gpa, 0);
	CHECK_EQ(t.len, 64 << 20);
	CHECK_EQ(t.perm, DMA_PERM_RW);
	CHECK_EQ(fault_of(RID_E, NOT_RAM, DMA_PERM_READ, -EFAULT), 0); /* no RAM there; no remapping fault */
	/* Translation type 1 needs ECAP.DT; 3 is reserved; AW must be offered by SAGAW. */
	set_context(RID_C, ctx_lo(pgd_a, VTD_TT_DEVICE_TLB), ctx_hi(VTD_AW_48, 1));
	CHECK_EQ(fault_of(RID_C, 0x10000000, DMA_PERM_READ, -EFAULT), VTD_FR_CONTEXT_INVALID);
	set_context(RID_C, ctx_lo(pgd_a, 3), ctx_hi(VTD_AW_48, 1));
	CHECK_EQ(fault_of(RID_C, 0x10000000, DMA_PERM_READ, -EFAULT), VTD_FR_CONTEXT_INVALID);
	set_context(RID_C, ctx_lo(pgd_a, VTD_TT_TRANSLATED), ctx_hi(3, 1));
	CHECK_EQ(fault_of(RID_C, 0x10000000, DMA_PERM_READ, -EFAULT), VTD_FR_CONTEXT_INVALID);
	/* Reserved bits in the context entry; AVAIL (67-70) is ignored. */
	set_context(RID_C, ctx_lo(pgd_a, VTD_TT_TRANSLATED) | 1ULL << 4, ctx_hi(VTD_AW_48, 1));
	CHECK_EQ(fault_of(RID_C, 0x10000000, DMA_PERM_READ, -EFAULT), VTD_FR_CONTEXT_RESERVED);
	set_context(RID_C, ctx_lo(pgd_a, VTD_TT_TRANSLATED), ctx_hi(VTD_AW_48, 1) | 1ULL << 7);
	CHECK_EQ(fault_of(RID_C, 0x10000000, DMA_PERM_READ, -EFAULT), VTD_FR_CONTEXT_RESERVED);
	set_context(RID_C, ctx_lo(pgd_a, VTD_TT_TRANSLATED), ctx_hi(VTD_AW_48, 1) | 1ULL << 40);
	CHECK_EQ(fault_of(RID_C, 0x10000000, DMA_PERM_READ, -EFAULT), VTD_FR_CONTEXT_RESERVED);
	set_context(RID_C, ctx_lo(pgd_a | 1ULL << HAW, VTD_TT_TRANSLATED), ctx_hi(VTD_AW_48, 1));
	CHECK_EQ(fault_of(RID_C, 0x10000000, DMA_PERM_READ, -EFAULT), VTD_FR_CONTEXT_RESERVED);
	set_context(RID_C, ctx_lo(pgd_a, VTD_TT_TRANSLATED), ctx_hi(VTD_AW_48, 1) | 0x78);
	CHECK_EQ(xlate(RID_C, 0x10000000, DMA_PERM_READ, &t), 0);
	/* Page table pointer outside RAM. */
	set_context(RID_C, ctx_lo(NOT_RAM, VTD_TT_TRANSLATED), ctx_hi(VTD_AW_48, 1));
	CHECK_EQ(fault_of(RID_C, 0x10000000, DMA_PERM_READ, -EFAULT), VTD_FR_PTE_READ);
	set_context(RID_C, 0, 0);
	CHECK_EQ(fault_of(RID_C, 0x10000000, DMA_PERM_READ, -EFAULT), VTD_FR_CONTEXT_NOT_PRESENT);
	/* Root entries: not present, reserved bits, context table outside RAM, root table outside RAM. */
	CHECK_EQ(fault_of(0x100, 0, DMA_PERM_READ, -EFAULT), VTD_FR_ROOT_NOT_PRESENT);
	put64(ROOT + 16, CTX_BUS0 | VTD_ROOT_P | 1ULL << 5);
	CHECK_EQ(fault_of(0x100, 0, DMA_PERM_READ, -EFAULT), VTD_FR_ROOT_RESERVED);
	put64(ROOT + 16, CTX_BUS0 | VTD_ROOT_P);
	put64(ROOT + 24, 1);
	CHECK_EQ(fault_of(0x100, 0, DMA_PERM_READ, -EFAULT), VTD_FR_ROOT_RESERVED);
	put64(ROOT + 32, NOT_RAM | VTD_ROOT_P);
	CHECK_EQ(fault_of(0x200, 0, DMA_PERM_READ, -EFAULT), VTD_FR_CONTEXT_READ);
	wr64(VTD_REG_RTADDR, NOT_RAM);
	CHECK_EQ(fault_of(RID_A, 0x10000000, DMA_PERM_READ, 0), 0); /* RTADDR is used only after SRTP */
	gcmd((uint32_t)VTD_GCMD_SRTP, 0);
	CHECK_EQ(fault_of(RID_A, 0x10000000, DMA_PERM_READ, -EFAULT), VTD_FR_ROOT_READ);
	wr64(VTD_REG_RTADDR, ROOT);
	gcmd((uint32_t)VTD_GCMD_SRTP, 0);
	/* FPD keeps permission faults from being recorded; no record when not asked either. */
	map(pgd_a, 4, 0x11000000, DATA, 1, VTD_SL_R);
	CHECK_EQ(fault_of(RID_F, 0x11000000, DMA_PERM_WRITE, -EACCES), 0);
	CHECK_EQ(v.stats.faults_suppressed, 1);
	CHECK_EQ(xlate_opt(RID_A, 0x11000000, DMA_PERM_WRITE, false, &t), -EACCES);
	CHECK(!(rd32(VTD_REG_FSTS) & VTD_FSTS_PPF));
	/* Translation off: the identity, for every requester. */
	gcmd(0, (uint32_t)VTD_GCMD_TE);
	CHECK_EQ(xlate(RID_C, 0x5000, DMA_PERM_WRITE, &t), 0);
	CHECK_EQ(t.gpa, 0);
	CHECK_EQ(t.len, 64 << 20);
	CHECK_EQ(t.perm, DMA_PERM_RW);
	/* With device-TLB support, translation type 1 translates. */
	setup(true);
	map(pgd_a, 4, 0x10000000, DATA, 1, VTD_SL_R | VTD_SL_W);
	set_context(RID_C, ctx_lo(pgd_a, VTD_TT_DEVICE_TLB), ctx_hi(VTD_AW_48, 1));
	CHECK_EQ(xlate(RID_C, 0x10000000, DMA_PERM_READ, &t), 0);
	CHECK_EQ(t.gpa, DATA);
}

static void test_notifications(void)
{
	struct dma_translation t;
	setup(false);
	map(pgd_a, 4, 0x10000000, DATA, 1, VTD_SL_R | VTD_SL_W);
	/* Global IOTLB: everyone, everything. */
	CHECK(q_sync(d_iotlb(VTD_IOTLB_GLOBAL, 0), 0));
	CHECK_EQ(ninval, 4);
	CHECK(told_all(RID_A) && told_all(RID_B) && told_all(RID_C) && told_all(RID_D));
	/* Domain 1: A and D, C whose domain cannot be read; not B. */
	ninval = 0;
	CHECK(q_sync(d_iotlb(VTD_IOTLB_DOMAIN, 1), 0));
	CHECK_EQ(ninval, 3);
	CHECK(told_all(RID_A) && told_all(RID_D) && told_all(RID_C) && !told_all(RID_B));
	/* Page-selective, mask 2: 16 KiB, aligned down. */
	ninval = 0;
	CHECK(q_sync(d_iotlb(VTD_IOTLB_PAGE, 1), 0x10005000 | 2));
	CHECK_EQ(ninval, 3);
	CHECK(told(RID_A, 0x10004000, 0x10007FFF) && told(RID_D, 0x10004000, 0x10007FFF));
	CHECK(told(RID_C, 0x10004000, 0x10007FFF));
	ninval = 0;
	CHECK(q_sync(d_iotlb(VTD_IOTLB_PAGE, 2), 0x7000));
	CHECK_EQ(ninval, 2);
	CHECK(told(RID_B, 0x7000, 0x7FFF) && told(RID_C, 0x7000, 0x7FFF));
	/* A mask above MAMV: the whole domain. */
	ninval = 0;
	CHECK(q_sync(d_iotlb(VTD_IOTLB_PAGE, 2), VTD_MAMV + 1));
	CHECK(told_all(RID_B) && !told_all(RID_A));
	/* Context cache: device (function mask 0 and 3), domain, global. */
	ninval = 0;
	CHECK(q_sync(d_cc(VTD_CC_DEVICE, 0, RID_A, 0), 0));
	CHECK_EQ(ninval, 1);
	CHECK(told_all(RID_A));
	ninval = 0;
	CHECK(q_sync(d_cc(VTD_CC_DEVICE, 0, RID_A, 3), 0));
	CHECK_EQ(ninval, 2);
	CHECK(told_all(RID_A) && told_all(RID_D));
	ninval = 0;
	CHECK(q_sync(d_cc(VTD_CC_DOMAIN, 2, 0, 0), 0));
	CHECK_EQ(ninval, 2);
	CHECK(told_all(RID_B) && told_all(RID_C));
	ninval = 0;
	CHECK(q_sync(d_cc(VTD_CC_GLOBAL, 0, 0, 0), 0));
	CHECK_EQ(ninval, 4);
	/* A context entry moved to another domain: its old domain's flush still reaches it. */
	CHECK_EQ(xlate(RID_B, 0, 0, &t), -EFAULT);             /* translated (and failed) under domain 2 */
	set_context(RID_B, ctx_lo(pgd_b3, VTD_TT_TRANSLATED), ctx_hi(VTD_AW_39, 5));
	ninval = 0;
	CHECK(q_sync(d_iotlb(VTD_IOTLB_DOMAIN, 2), 0));
	CHECK(told_all(RID_B));
	CHECK(q_sync(d_iotlb(VTD_IOTLB_GLOBAL, 0), 0));        /* everything dropped: domain 2 forgotten */
	ninval = 0;
	CHECK(q_sync(d_iotlb(VTD_IOTLB_DOMAIN, 2), 0));
	CHECK(!told_all(RID_B));
	/* Root table pointer, translation off and on. */
	ninval = 0;
	gcmd((uint32_t)VTD_GCMD_SRTP, 0);
	CHECK_EQ(ninval, 4);
	gcmd(0, (uint32_t)VTD_GCMD_TE);
	CHECK_EQ(ninval, 8);
	gcmd((uint32_t)VTD_GCMD_TE, 0);
	CHECK_EQ(ninval, 12);
	CHECK(told_all(RID_C));
	/* Interrupt entry cache: counted, nothing to tell. */
	ninval = 0;
	CHECK(q_sync(VTD_DESC_IEC, 0));
	CHECK_EQ(ninval, 0);
	CHECK_EQ(v.stats.iec_inval, 1);
	CHECK_EQ(v.stats.iotlb_page, 2);
	CHECK_EQ(v.stats.iotlb_domain, 4);
	CHECK_EQ(v.stats.iotlb_global, 2);
	CHECK_EQ(v.stats.context_inval, 4);
	/* Device-TLB, with DT: one page, or the size coded in the address with S. */
	CHECK(!q_sync(VTD_DESC_DEVTLB | (uint64_t)RID_A << 32, 0x10000000)); /* no DT: IQE */
	setup(true);
	CHECK(q_sync(VTD_DESC_DEVTLB | (uint64_t)RID_A << 32, 0x10000000));
	CHECK_EQ(ninval, 1);
	CHECK(told(RID_A, 0x10000000, 0x10000FFF));
	ninval = 0;
	CHECK(q_sync(VTD_DESC_DEVTLB | (uint64_t)RID_B << 32, 0x10001000 | VTD_DEVTLB_HI_S));
	CHECK_EQ(ninval, 1);
	CHECK(told(RID_B, 0x10000000, 0x10003FFF));
	ninval = 0;
	CHECK(q_sync(VTD_DESC_DEVTLB | (uint64_t)RID_B << 32, 0x10000000 | VTD_DEVTLB_HI_S));
	CHECK(told(RID_B, 0x10000000, 0x10001FFF));
	CHECK_EQ(v.stats.devtlb_inval, 3);
}

static void test_queue(void)
{
	setup(false);
	/* Wrap-around at the end of the 256-entry queue. */
	for (unsigned batch = 0; batch < 5; batch++) {
		for (unsigned i = 0; i < 50; i++)
			q_push(d_wait(batch * 100 + i, true, false), STATUS + 4 * i);
		q_submit();
		CHECK_EQ(get32(STATUS + 4 * 49), batch * 100 + 49);
	}
	CHECK_EQ(rd64(VTD_REG_IQH), 250 << 4);
	for (unsigned i = 0; i < 10; i++)
		q_push(d_wait(1000 + i, true, false), STATUS + 4 * i);
	q_submit();
	CHECK_EQ(rd64(VTD_REG_IQT), 4 << 4);
	CHECK_EQ(rd64(VTD_REG_IQH), 4 << 4);
	for (unsigned i = 0; i < 10; i++)
		CHECK_EQ(get32(STATUS + 4 * i), 1000 + i);
	CHECK_EQ(v.stats.waits, 260);
	/* Invalidation-completion interrupt: once per IWC, held while masked. */
	q_push(d_wait(0, false, true), 0);
	q_submit();
	CHECK_EQ(nmsi, 1);
	CHECK_EQ(msis[0].addr, 0xFEE01000);
	CHECK_EQ(msis[0].data, 0x41);
	CHECK_EQ(rd32(VTD_REG_ICS), VTD_ICS_IWC);
	q_push(d_wait(0, false, true), 0);
	q_submit();
	CHECK_EQ(nmsi, 1);
	wr32(VTD_REG_ICS, (uint32_t)VTD_ICS_IWC);              /* W1C */
	CHECK_EQ(rd32(VTD_REG_ICS), 0);
	wr32(VTD_REG_IECTL, (uint32_t)VTD_EVCTL_IM);
	q_push(d_wait(0, false, true), 0);
	q_submit();
	CHECK_EQ(nmsi, 1);
	CHECK_EQ(rd32(VTD_REG_IECTL), VTD_EVCTL_IM | VTD_EVCTL_IP);
	wr32(VTD_REG_IECTL, 0);
	CHECK_EQ(nmsi, 2);
	CHECK_EQ(rd32(VTD_REG_IECTL), 0);

	/* Bad descriptors: IQE, IQH left on the descriptor, one fault event, nothing fetched until
	 * the guest clears IQE; then the queue resumes where IQH points (Linux puts its wait there). */
	const uint64_t bad[][2] = {
		{ 0, 0 },                                          /* type 0 */
		{ 6, 0 },                                          /* a scalable-mode type */
		{ VTD_DESC_WAIT | 1 << 9, STATUS },                /* type bits 11:9 */
		{ d_iotlb(VTD_IOTLB_GLOBAL, 0) | 1 << 8, 0 },      /* reserved bits */
		{ d_iotlb(VTD_IOTLB_PAGE, 1), 0x10000000 | 1 << 7 },
		{ d_iotlb(0, 0), 0 },                              /* reserved granularity */
		{ d_cc(0, 0, 0, 0), 0 },
		{ d_cc(VTD_CC_GLOBAL, 0, 0, 0), 1 },
		{ d_wait(2, true, false) | VTD_BIT(7), STATUS },   /* page-request drain without PRS */
		{ d_wait(2, true, false), NOT_RAM },               /* status write fails */
		{ d_wait(2, true, false), STATUS | 2 },
		{ VTD_DESC_IEC | 1 << 5, 0 },
		{ VTD_DESC_DEVTLB, 0 },                            /* no device-TLB offered */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned events = nmsi, at = (q_tail + 1) % 256;
		put64(STATUS, 0);
		put64(STATUS + 4, 0);
		q_push(d_wait(7, true, false), STATUS + 4);
		q_push(bad[i][0], bad[i][1]);
		q_push(d_wait(2, true, false), STATUS);
		q_submit();
		CHECK_EQ(get32(STATUS + 4), 7);                    /* before the bad one: done */
		CHECK(rd32(VTD_REG_FSTS) & VTD_FSTS_IQE);
		CHECK_EQ(rd64(VTD_REG_IQH), at << 4);
		CHECK_EQ(nmsi, events + 1);
		CHECK_EQ(msis[events % 32].data, 0x42);
		q_push(d_wait(9, true, false), STATUS + 4);
		q_submit();
		CHECK_EQ(rd64(VTD_REG_IQH), at << 4);              /* stopped */
		CHECK_EQ(get32(STATUS), 0);
		put64(QUEUE + at * 16, d_wait(2, true, false));    /* Linux's recovery */
		put64(QUEUE + at * 16 + 8, STATUS);
		wr32(VTD_REG_FSTS, (uint32_t)VTD_FSTS_IQE);
		CHECK(!(rd32(VTD_REG_FSTS) & VTD_FSTS_IQE));
		CHECK_EQ(rd64(VTD_REG_IQH), rd64(VTD_REG_IQT));
		CHECK_EQ(get32(STATUS), 2);
		CHECK_EQ(get32(STATUS + 4), 9);
		CHECK_EQ(rd32(VTD_REG_FECTL), 0);
	}
	CHECK_EQ(v.stats.queue_errors, sizeof(bad) / sizeof(bad[0]));
	/* 256-bit descriptors without scalable mode, and a tail outside the queue. */
	gcmd(0, (uint32_t)VTD_GCMD_QIE);
	wr32(VTD_REG_IQT, 0);
	wr64(VTD_REG_IQA, QUEUE | VTD_IQA_DW);
	gcmd((uint32_t)VTD_GCMD_QIE, 0);
	wr32(VTD_REG_IQT, 2 << 4);
	CHECK(rd32(VTD_REG_FSTS) & VTD_FSTS_IQE);
	CHECK_EQ(rd64(VTD_REG_IQH), 0);
	gcmd(0, (uint32_t)VTD_GCMD_QIE);
	wr32(VTD_REG_FSTS, (uint32_t)VTD_FSTS_IQE);
	q_enable();
	wr32(VTD_REG_IQT, 300 << 4);                           /* QS=0: 256 descriptors */
	CHECK(rd32(VTD_REG_FSTS) & VTD_FSTS_IQE);
	CHECK_EQ(rd64(VTD_REG_IQH), 0);
}

static void test_register_invalidation(void)
{
	setup(false);
	wr64(VTD_REG_CCMD, VTD_CCMD_ICC | (uint64_t)VTD_CC_GLOBAL << VTD_CCMD_CIRG_SHIFT);
	CHECK_EQ(rd64(VTD_REG_CCMD), (uint64_t)VTD_CC_GLOBAL << VTD_CCMD_CIRG_SHIFT |
					     (uint64_t)VTD_CC_GLOBAL << VTD_CCMD_CAIG_SHIFT);
	CHECK_EQ(ninval, 4);
	ninval = 0;
	wr64(VTD_REG_CCMD, VTD_CCMD_ICC | (uint64_t)VTD_CC_DEVICE << VTD_CCMD_CIRG_SHIFT | (uint64_t)RID_B << 16);
	CHECK_EQ(rd64(VTD_REG_CCMD) >> 59, VTD_CC_DEVICE << 2 | VTD_CC_DEVICE);
	CHECK_EQ(ninval, 1);
	CHECK(told_all(RID_B));
	ninval = 0;
	wr64(VTD_REG_CCMD, VTD_CCMD_ICC);                      /* reserved granularity: refused */
	CHECK_EQ(rd64(VTD_REG_CCMD) & (VTD_CCMD_ICC | VTD_CCMD_CAIG_MASK), 0);
	CHECK_EQ(ninval, 0);
	/* IOTLB: page-selective through IVA, then a mask above MAMV, domain, reserved. */
	wr64(VTD_REG_IVA, 0x10005000 | 2);
	wr64(VTD_REG_IOTLB, VTD_IOTLB_IVT | (uint64_t)VTD_IOTLB_PAGE << VTD_IOTLB_IIRG_SHIFT | 1ULL << 32);
	CHECK_EQ((rd64(VTD_REG_IOTLB) >> 57) & 3, VTD_IOTLB_PAGE);
	CHECK(!(rd64(VTD_REG_IOTLB) & VTD_IOTLB_IVT));
	CHECK_EQ(ninval, 3);
	CHECK(told(RID_A, 0x10004000, 0x10007FFF) && told(RID_D, 0x10004000, 0x10007FFF));
	ninval = 0;
	wr64(VTD_REG_IVA, 0x10000000 | (VTD_MAMV + 1));
	wr32(VTD_REG_IOTLB + 4, (uint32_t)((VTD_IOTLB_IVT | (uint64_t)VTD_IOTLB_PAGE << VTD_IOTLB_IIRG_SHIFT | 2ULL << 32) >> 32));
	CHECK_EQ((rd64(VTD_REG_IOTLB) >> 57) & 3, VTD_IOTLB_DOMAIN);
	CHECK(told_all(RID_B) && told_all(RID_C) && !told_all(RID_A));
	ninval = 0;
	wr64(VTD_REG_IOTLB, VTD_IOTLB_IVT | (uint64_t)VTD_IOTLB_GLOBAL << VTD_IOTLB_IIRG_SHIFT);
	CHECK_EQ((rd64(VTD_REG_IOTLB) >> 57) & 3, VTD_IOTLB_GLOBAL);
	CHECK_EQ(ninval, 4);
	ninval = 0;
	wr64(VTD_REG_IOTLB, VTD_IOTLB_IVT);
	CHECK_EQ(rd64(VTD_REG_IOTLB) & (VTD_IOTLB_IVT | VTD_IOTLB_IAIG_MASK), 0);
	CHECK_EQ(ninval, 0);
}

static void test_faults(void)
{
	struct dma_translation t;
	setup(false);
	map(pgd_a, 4, 0x11000000, DATA, 1, VTD_SL_R);
	/* First fault: record 0, FRI 0, PPF, one fault event. */
	CHECK_EQ(xlate(RID_A, 0x11000123, DMA_PERM_WRITE, &t), -EACCES);
	CHECK_EQ(rd32(VTD_REG_FSTS), VTD_FSTS_PPF);
	CHECK_EQ(rd64(VTD_REG_FRCD), 0x11000000);
	CHECK_EQ(rd32(VTD_REG_FRCD + 8), RID_A);
	CHECK_EQ(rd32(VTD_REG_FRCD + 12), 0x80000000 | VTD_FR_WRITE); /* F, T = 0: a write */
	CHECK_EQ(nmsi, 1);
	CHECK_EQ(msis[0].addr, 0xFEE00000);
	CHECK_EQ(msis[0].data, 0x42);
	/* More faults fill records 1-3 without new events; the fifth overflows. */
	CHECK_EQ(xlate(RID_B, 0x5000, DMA_PERM_READ, &t), -EFAULT);
	CHECK_EQ(rd64(VTD_REG_FRCD + 16 + 8), VTD_FRCD_HI_F | VTD_FRCD_HI_T | (uint64_t)VTD_FR_READ << 32 | RID_B);
	CHECK_EQ(xlate(RID_C, 0x6000, DMA_PERM_READ, &t), -EFAULT);
	CHECK_EQ(xlate(RID_A, 1ULL << 50, DMA_PERM_READ, &t), -EFAULT);
	CHECK_EQ(rd64(VTD_REG_FRCD + 48), 1ULL << 50);
	CHECK_EQ(rd32(VTD_REG_FSTS), VTD_FSTS_PPF);
	CHECK_EQ(nmsi, 1);
	CHECK_EQ(xlate(RID_A, 0x11000000, DMA_PERM_WRITE, &t), -EACCES);
	CHECK_EQ(rd32(VTD_REG_FSTS), VTD_FSTS_PPF | VTD_FSTS_PFO);
	CHECK_EQ(rd32(VTD_REG_FRCD + 12), 0x80000000 | VTD_FR_WRITE); /* record 0 kept */
	CHECK_EQ(nmsi, 1);
	CHECK_EQ(v.stats.faults_recorded, 4);
	CHECK_EQ(v.stats.fault_overflows, 1);
	/* F is write-1-to-clear and the rest read-only; PPF follows the F bits. */
	wr32(VTD_REG_FRCD + 12, 0xFFFFFFFF);
	wr32(VTD_REG_FRCD + 8, 0);
	CHECK_EQ(rd32(VTD_REG_FRCD + 12), VTD_FR_WRITE);
	CHECK_EQ(rd32(VTD_REG_FRCD + 8), RID_A);
	CHECK(rd32(VTD_REG_FSTS) & VTD_FSTS_PPF);
	/* Nothing is recorded while PFO is set, even with a free record. */
	CHECK_EQ(xlate(RID_A, 0x11000000, DMA_PERM_WRITE, &t), -EACCES);
	CHECK_EQ(rd32(VTD_REG_FRCD + 12), VTD_FR_WRITE);
	for (unsigned i = 1; i < VTD_NFR; i++)
		wr64(VTD_REG_FRCD + i * 16 + 8, VTD_FRCD_HI_F);
	CHECK_EQ(rd32(VTD_REG_FSTS), VTD_FSTS_PFO);
	wr32(VTD_REG_FSTS, 0xFFFFFFFF);                        /* W1C; PPF and FRI read-only */
	CHECK_EQ(rd32(VTD_REG_FSTS), 0);
	/* The index went round: the next fault takes record 0 again, a new event goes out. */
	CHECK_EQ(xlate(RID_A, 0x11000000, DMA_PERM_WRITE, &t), -EACCES);
	CHECK_EQ(rd32(VTD_REG_FSTS), VTD_FSTS_PPF);
	CHECK_EQ(nmsi, 2);
	CHECK_EQ(xlate(RID_A, 0x11000000, DMA_PERM_WRITE, &t), -EACCES);
	wr32(VTD_REG_FRCD + 12, 0x80000000);
	wr32(VTD_REG_FRCD + 16 + 12, 0x80000000);
	CHECK_EQ(rd32(VTD_REG_FSTS), 0);
	/* FRI names the first pending record: now 2. Masked, the event waits in IP. */
	wr32(VTD_REG_FECTL, (uint32_t)VTD_EVCTL_IM);
	CHECK_EQ(xlate(RID_A, 0x11000000, DMA_PERM_WRITE, &t), -EACCES);
	CHECK_EQ(rd32(VTD_REG_FSTS), VTD_FSTS_PPF | 2 << VTD_FSTS_FRI_SHIFT);
	CHECK_EQ(rd32(VTD_REG_FECTL), VTD_EVCTL_IM | VTD_EVCTL_IP);
	CHECK_EQ(nmsi, 2);
	wr32(VTD_REG_FECTL, 0);
	CHECK_EQ(nmsi, 3);
	CHECK_EQ(rd32(VTD_REG_FECTL), 0);
	/* Serviced while masked: IP clears and unmasking sends nothing. */
	wr32(VTD_REG_FECTL, (uint32_t)VTD_EVCTL_IM);
	wr32(VTD_REG_FRCD + 32 + 12, 0x80000000);
	CHECK_EQ(xlate(RID_A, 0x11000000, DMA_PERM_WRITE, &t), -EACCES);
	CHECK_EQ(rd32(VTD_REG_FECTL), VTD_EVCTL_IM | VTD_EVCTL_IP);
	wr32(VTD_REG_FRCD + 48 + 12, 0x80000000);
	CHECK_EQ(rd32(VTD_REG_FECTL), VTD_EVCTL_IM);
	wr32(VTD_REG_FECTL, 0);
	CHECK_EQ(nmsi, 3);
	CHECK_EQ(v.stats.fault_events, 3);
	struct vtd_stats st;
	vtd_get_stats(&v, &st);
	CHECK_EQ(st.faults, 10);
	CHECK(st.translations >= 10);
}

int main(void)
{
	CHECK_EQ(guest_memory_init(&mem, 64 << 20), 0);
	CHECK_EQ(dma_space_init(&space, &mem), 0);
	for (unsigned i = 0; i < sizeof(listener_rids) / sizeof(listener_rids[0]); i++)
		CHECK_EQ(dma_add_listener(&space, listener_rids[i], on_invalidate, &listener_rids[i]), 0);
	struct vtd_config bad = { .gpa_bits = 52 };
	CHECK_EQ(vtd_init(&v, &space, &bad), -EINVAL);
	test_registers();
	test_walks();
	test_reserved_bits();
	test_runs();
	test_contexts();
	test_notifications();
	test_queue();
	test_register_invalidation();
	test_faults();
	vtd_destroy(&v);
	CHECK(!dma_space_translated(&space));
	dma_space_destroy(&space);
	guest_memory_free(&mem);
	return check_report("vtd");
}
