/* VT-d unit, registers and translation: register semantics (RO, reserved, W1C, 32/64-bit,
 * one-shot GCMD bits, GSTS at once), page walks (4 and 3 levels, superpages, permissions, not
 * present at each level, beyond the width, reserved bits), runs, context types and faults on the
 * way to a page table. */
#include "vtd_harness.h"

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
	/* This unit offers no interrupt remapping: IRE stays off (test_vtd_ir covers the unit that does). */
	gcmd((uint32_t)(VTD_GCMD_SIRTP | VTD_GCMD_IRE | VTD_GCMD_CFI), 0);
	CHECK_EQ(rd32(VTD_REG_GSTS), VTD_GSTS_TES | VTD_GSTS_RTPS | VTD_GSTS_QIES | VTD_GSTS_IRTPS | VTD_GSTS_CFIS);
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

static int prefetch(uint16_t rid, uint64_t iova, struct dma_translation *out, unsigned max)
{
	dma_lock(&space);
	int n = dma_prefetch_locked(&space, rid, iova, out, max);
	dma_unlock(&space);
	return n;
}

/* The present 4 KiB leaves of the last-level table that maps the asked address, as runs; never a
 * fault, nothing for superpages, pass-through, translation off or an unmapped address. */
static void test_prefetch(void)
{
	struct dma_translation r[8];
	setup(false);
	map(pgd_a, 4, 0x30000000, DATA, 1, VTD_SL_R | VTD_SL_W);
	map(pgd_a, 4, 0x30001000, DATA + 0x1000, 1, VTD_SL_R | VTD_SL_W);
	map(pgd_a, 4, 0x30002000, DATA + 0x2000, 1, VTD_SL_R);           /* a permission change */
	map(pgd_a, 4, 0x30005000, DATA + 0x9000, 1, VTD_SL_R | VTD_SL_W); /* the asked page */
	map(pgd_a, 4, 0x30006000, DATA + 0xA000, 1, VTD_SL_R | VTD_SL_TM); /* reserved without DT */
	map(pgd_a, 4, 0x301FF000, DATA + 0xB000, 1, VTD_SL_W);             /* write-only */
	map(pgd_a, 4, 0x30200000, DATA + 0xC000, 1, VTD_SL_R | VTD_SL_W); /* the next table */
	CHECK_EQ(prefetch(RID_A, 0x30005123, r, 8), 4);
	CHECK(r[0].iova == 0x30000000 && r[0].gpa == DATA && r[0].len == 0x2000 && r[0].perm == DMA_PERM_RW);
	CHECK(r[1].iova == 0x30002000 && r[1].gpa == DATA + 0x2000 && r[1].len == 0x1000 && r[1].perm == DMA_PERM_READ);
	CHECK(r[2].iova == 0x30005000 && r[2].gpa == DATA + 0x9000 && r[2].len == 0x1000);
	CHECK(r[3].iova == 0x301FF000 && r[3].perm == DMA_PERM_WRITE);
	CHECK_EQ(prefetch(RID_A, 0x30000000, r, 2), 2);                    /* at most max, around it */
	CHECK_EQ(r[1].iova, 0x30002000);
	CHECK_EQ(prefetch(RID_A, 0x301FF000, r, 2), 2);
	CHECK(r[0].iova == 0x30005000 && r[1].iova == 0x301FF000);
	CHECK_EQ(prefetch(RID_A, 0x30005000, r, 3), 3);
	CHECK(r[0].iova == 0x30002000 && r[1].iova == 0x30005000 && r[2].iova == 0x301FF000);
	CHECK_EQ(prefetch(RID_A, 0x30200000, r, 8), 1);
	CHECK_EQ(r[0].gpa, DATA + 0xC000);
	/* An upper level without write permission takes it from every leaf. */
	put64(slot(pgd_a, 4, 0x50000000, 2), alloc_table() | VTD_SL_R);
	map(pgd_a, 4, 0x50000000, DATA, 1, VTD_SL_R | VTD_SL_W);
	map(pgd_a, 4, 0x50003000, DATA + 0x3000, 1, VTD_SL_W);             /* no permission left */
	CHECK_EQ(prefetch(RID_A, 0x50000000, r, 8), 1);
	CHECK_EQ(r[0].perm, DMA_PERM_READ);
	/* Nothing to prefetch: an unmapped address (and no fault recorded for it), a superpage, a
	 * pass-through context, translation off, the identity space. */
	CHECK_EQ(prefetch(RID_A, 0x30400000, r, 8), 0);
	CHECK_EQ(prefetch(RID_A, 0x30005000, r, 0), 0);
	map(pgd_a, 4, 0x40000000, 0x400000, 2, VTD_SL_R | VTD_SL_W);
	CHECK_EQ(prefetch(RID_A, 0x40000000, r, 8), 0);
	CHECK_EQ(prefetch(RID_E, 0x30005000, r, 8), 0);
	CHECK_EQ(rd32(VTD_REG_FSTS) & VTD_FSTS_PPF, 0);
	gcmd(0, (uint32_t)VTD_GCMD_TE);
	CHECK_EQ(prefetch(RID_A, 0x30005000, r, 8), 0);
	dma_space_set_iommu(&space, NULL, NULL);
	CHECK_EQ(prefetch(RID_A, 0x30005000, r, 8), 0);
	setup(false); /* the unit again (vtd_init sets the space's IOMMU) */
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
	/* FPD keeps the faults found through the context entry from being recorded, even in an
	 * entry that is not present; not those of an entry with reserved bits. */
	map(pgd_a, 4, 0x11000000, DATA, 1, VTD_SL_R);
	CHECK_EQ(fault_of(RID_F, 0x11000000, DMA_PERM_WRITE, -EACCES), 0);
	put64(slot(pgd_a, 4, 0x11000000, 1), DATA | VTD_SL_R | VTD_SL_SNP);
	CHECK_EQ(fault_of(RID_F, 0x11000000, DMA_PERM_READ, -EFAULT), 0);
	CHECK_EQ(fault_of(RID_A, 0x11000000, DMA_PERM_READ, -EFAULT), VTD_FR_PTE_RESERVED);
	map(pgd_a, 4, 0x11000000, DATA, 1, VTD_SL_R);
	set_context(RID_C, VTD_CTX_FPD, 0);
	CHECK_EQ(fault_of(RID_C, 0x11000000, DMA_PERM_READ, -EFAULT), 0);
	set_context(RID_C, ctx_lo(pgd_a, VTD_TT_TRANSLATED) | VTD_CTX_FPD | 1ULL << 4, ctx_hi(VTD_AW_48, 1));
	CHECK_EQ(fault_of(RID_C, 0x11000000, DMA_PERM_READ, -EFAULT), VTD_FR_CONTEXT_RESERVED);
	set_context(RID_C, 0, 0);
	CHECK_EQ(v.stats.faults_suppressed, 3);
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

int main(void)
{
	harness_init();
	struct vtd_config bad = { .gpa_bits = 52 };
	CHECK_EQ(vtd_init(&v, &space, &bad), -EINVAL);
	test_registers();
	test_walks();
	test_reserved_bits();
	test_runs();
	test_prefetch();
	test_contexts();
	return harness_fini("vtd");
}
