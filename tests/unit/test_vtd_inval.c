/* VT-d unit, invalidation and faults: the exact ranges each listener is told (IOTLB global,
 * domain, page with mask; context cache; device-TLB; root pointer and translation changes), the
 * invalidation queue (wrap, wait status, completion interrupt, bad descriptors and recovery),
 * register-based invalidation, fault recording, overflow and the fault event. */
#include "vtd_harness.h"

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
	CHECK(q_sync(d_iotlb(VTD_IOTLB_PAGE, 1), 0x10004000 | 2));
	CHECK_EQ(ninval, 3);
	CHECK(told(RID_A, 0x10004000, 0x10007FFF) && told(RID_D, 0x10004000, 0x10007FFF));
	CHECK(told(RID_C, 0x10004000, 0x10007FFF));
	/* Unaligned: the aligned block the hardware uses and [addr, addr + 16 KiB) both. */
	ninval = 0;
	CHECK(q_sync(d_iotlb(VTD_IOTLB_PAGE, 1), 0x10005000 | 2));
	CHECK(told(RID_A, 0x10004000, 0x10008FFF));
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
	CHECK(q_sync(d_cc(VTD_CC_DEVICE, 0, RID_A | 4, 1), 0)); /* bit 2 masked: 00:01.0 and 00:01.4 */
	CHECK_EQ(ninval, 1);
	CHECK(told_all(RID_A));
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
	CHECK_EQ(v.stats.iotlb_page, 3);
	CHECK_EQ(v.stats.iotlb_domain, 4);
	CHECK_EQ(v.stats.iotlb_global, 2);
	CHECK_EQ(v.stats.context_inval, 5);
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
	wr64(VTD_REG_IVA, 0x10004000 | 2);
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
	harness_init();
	test_notifications();
	test_queue();
	test_register_invalidation();
	test_faults();
	return harness_fini("vtd_inval");
}
