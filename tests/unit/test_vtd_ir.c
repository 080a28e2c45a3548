/* VT-d interrupt remapping: the IRTE decode (both destination formats, the message bits, reserved
 * fields, source-id checks); translation through the register interface (IRTA, SIRTP, IRE, CFI)
 * with its faults in the fault recording registers and the fault event; the changes the unit
 * tells the router about (interrupt-entry-cache invalidations, GCMD), exactly once per register
 * write and without its lock; and the router with the unit as its remapper: IOAPIC and MSI-X
 * routes translated through the table, re-translated precisely, batched, blocked, rolled back. */
#include <fcntl.h>
#include <unistd.h>

#include "irq_harness.h"
#include "vtd_harness.h"

/* Remappable-format messages (VT-d 5.1.2.2), spelled out here rather than taken from msi.h:
 * 0xFEE in 31:20, handle[14:0] in 19:5, format bit 4, SHV bit 3, handle[15] in bit 2. */
#define M_SHV        0x8ULL
#define HANDLE(h)    (0xFEE00010ULL | ((uint64_t)(h) & 0x7FFF) << 5 | ((h) & 0x8000 ? 0x4ULL : 0))

/* IRTE fields (9.10). */
#define E_P          0x1ULL
#define E_FPD        0x2ULL
#define E_DM         0x4ULL
#define E_RH         0x8ULL
#define E_TM         0x10ULL
#define E_DLM(m)     ((uint64_t)(m) << 5)
#define E_IM         (1ULL << 15)
#define E_VEC(x)     ((uint64_t)(x) << 16)
#define E_DEST(d)    ((uint64_t)(d) << 32) /* x2APIC mode (EIME) */
#define E_XDEST(d)   ((uint64_t)(d) << 40) /* xAPIC mode */
#define E_SVT(t, sq, sid) ((uint64_t)(t) << 18 | (uint64_t)(sq) << 16 | (uint64_t)(sid))
#define EIME         (1ULL << 11)          /* IRTA */
#define BIG          0x800000ULL           /* a 2^16-entry (1 MiB) table, outside setup()'s area */

static uint64_t irt; /* a 256-entry table: a zeroed page from alloc_table() */

static void set_irte(uint64_t table, unsigned i, uint64_t lo, uint64_t hi)
{
	put64(table + i * 16ULL, lo);
	put64(table + i * 16ULL + 8, hi);
}

/* ---- what the unit tells the router (cfg.ir_changed) ---- */
static struct { unsigned calls, first, last; bool all; int ret; } irc;
static struct irq_routing *ir_router; /* told on, as vm.c does, when set */

static void on_ir_changed(void *opaque, unsigned first, unsigned last, bool all_formats)
{
	CHECK(opaque == &irc);
	CHECK(!space_locked()); /* the router takes the unit's lock through remap(): not held here */
	irc.calls++;
	irc.first = first;
	irc.last = last;
	irc.all = all_formats;
	if (ir_router)
		irc.ret = irq_routing_retranslate(ir_router, first, last, all_formats);
}

/* Exactly one call since the last check, with these arguments. */
#define CHECK_CHANGED(F, L, ALL)                                                                \
	do {                                                                                    \
		CHECK_EQ(irc.calls, 1);                                                         \
		CHECK_EQ(irc.first, F);                                                         \
		CHECK_EQ(irc.last, L);                                                          \
		CHECK_EQ(irc.all, ALL);                                                         \
		irc.calls = 0;                                                                  \
	} while (0)

static void ir_setup(void)
{
	setup_ir(false, true, on_ir_changed, &irc);
	irt = alloc_table();
	irc = (typeof(irc)){ 0 };
}

/* The one fault recorded since the last call: its reason (0: none), after checking the record
 * (FI 63:48 the interrupt index, 0 for a compatibility-format request; the requester; a write)
 * and clearing it as Linux's handler does; no other record may be pending. */
static unsigned fault(uint16_t sid, int index)
{
	uint32_t fsts = rd32(VTD_REG_FSTS);
	if (!(fsts & VTD_FSTS_PPF))
		return 0;
	unsigned frcd = VTD_REG_FRCD + ((fsts >> 8) & 0xFF) * VTD_FRCD_LEN;
	uint64_t lo = rd64(frcd), hi = rd64(frcd + 8);
	CHECK_EQ(lo, (uint64_t)(index < 0 ? 0 : index) << 48);
	CHECK_EQ(hi & 0xFFFF, sid);
	CHECK(hi >> 63);          /* F */
	CHECK(!(hi >> 62 & 1));   /* T: 0 */
	wr32(frcd + 12, 1U << 31);
	wr32(VTD_REG_FSTS, (uint32_t)(VTD_FSTS_PFO | VTD_FSTS_PPF));
	CHECK(!(rd32(VTD_REG_FSTS) & (VTD_FSTS_PPF | VTD_FSTS_PFO)));
	return (unsigned)(hi >> 32) & 0xFF;
}

/* ---- vtd_irte_decode ---- */
static void test_decode(void)
{
	const uint64_t e = E_P | E_VEC(0x31), d = e | E_DEST(1), x = e | E_XDEST(0x05), bus2to4 = E_SVT(2, 0, 0x0204);
	const uint64_t sq0 = E_SVT(1, 0, 0x0108), sq1 = E_SVT(1, 1, 0x0108), sq2 = E_SVT(1, 2, 0x0108), sq3 = E_SVT(1, 3, 0x0108);
	/* OK: decodes to addr/data; NO: refused for the reason. */
	const struct { uint64_t lo, hi; bool eime; uint16_t sid; unsigned reason; uint64_t addr; uint32_t data; } cases[] = {
#define OK(lo, hi, eime, sid, addr, data) { lo, hi, eime, sid, 0, addr, data }
#define NO(lo, hi, eime, sid, reason) { lo, hi, eime, sid, reason, 0, 0 }
		/* Not present, whatever else the entry holds. */
		NO(0, 0, true, 0, 0x22),
		NO(E_FPD | E_VEC(0x31) | E_DEST(1), E_SVT(3, 0, 0), true, 0, 0x22),
		/* x2APIC mode: a 32-bit destination, bits 7:0 in address 19:12, 31:8 in address 63:40. */
		OK(e | E_DEST(0x12345678), 0, true, 0, 0x12345600FEE78000ULL, 0x4031),
		OK(e | E_DEST(0xFF), 0, true, 0, 0xFEEFF000ULL, 0x4031),
		OK(e | E_DEST(0x100), 0, true, 0, 0x00000100FEE00000ULL, 0x4031),
		/* xAPIC mode: the destination in 47:40; 39:32 and 63:48 reserved (destination in x2APIC). */
		OK(x, 0, false, 0, 0xFEE05000ULL, 0x4031),
		NO(x | 1ULL << 32, 0, false, 0, 0x24), NO(x | 1ULL << 39, 0, false, 0, 0x24),
		NO(x | 1ULL << 48, 0, false, 0, 0x24), NO(x | 1ULL << 63, 0, false, 0, 0x24),
		OK(x | 1ULL << 32 | 1ULL << 48, 0, true, 0, 0x00010500FEE01000ULL, 0x4031),
		/* DM and RH into the address; TM, the delivery mode and the vector into the data. */
		OK(E_P | E_DM | E_VEC(0x40) | E_DEST(3), 0, true, 0, 0xFEE03004ULL, 0x4040),
		OK(E_P | E_RH | E_DLM(1) | E_VEC(0x41) | E_DEST(3), 0, true, 0, 0xFEE03008ULL, 0x4141),
		OK(E_P | E_TM | E_VEC(0x42) | E_DEST(3), 0, true, 0, 0xFEE03000ULL, 0xC042),
		OK(E_P | E_DM | E_RH | E_TM | E_DLM(1) | E_VEC(0xFF) | E_DEST(0xFFFFFFFF), 0, true, 0, 0xFFFFFF00FEEFF00CULL, 0xC1FF),
		OK(d | E_DLM(2), 0, true, 0, 0xFEE01000ULL, 0x4231), OK(d | E_DLM(4), 0, true, 0, 0xFEE01000ULL, 0x4431),
		OK(d | E_DLM(5), 0, true, 0, 0xFEE01000ULL, 0x4531), OK(d | E_DLM(7), 0, true, 0, 0xFEE01000ULL, 0x4731),
		NO(d | E_DLM(3), 0, true, 0, 0x24), NO(d | E_DLM(6), 0, true, 0, 0x24),
		/* Reserved: 14:12, 31:24, posted mode (no ECAP.PI), 127:84. AVAIL (11:8), FPD: nothing. */
		NO(d | 1ULL << 12, 0, true, 0, 0x24), NO(d | 1ULL << 13, 0, true, 0, 0x24), NO(d | 1ULL << 14, 0, true, 0, 0x24),
		NO(d | 1ULL << 24, 0, true, 0, 0x24), NO(d | 1ULL << 31, 0, true, 0, 0x24), NO(d | E_IM, 0, true, 0, 0x24),
		NO(d, 1ULL << 20, true, 0, 0x24), NO(d, 1ULL << 63, true, 0, 0x24),
		OK(d | 0xF00 | E_FPD, 0, true, 0, 0xFEE01000ULL, 0x4031),
		/* Source validation. SVT 0: anyone. SVT 1: the requester id, SQ 1/2/3 ignoring function
		 * bits 2, 2:1, 2:0. SVT 2: the requester's bus within SID 15:8 .. 7:0. SVT 3: reserved. */
		OK(d, E_SVT(0, 3, 0x1234), true, 0xFFFF, 0xFEE01000ULL, 0x4031),
		OK(d, sq0, true, 0x0108, 0xFEE01000ULL, 0x4031), NO(d, sq0, true, 0x0109, 0x26),
		NO(d, sq0, true, 0x010C, 0x26), NO(d, sq0, true, 0x0208, 0x26),
		OK(d, sq1, true, 0x010C, 0xFEE01000ULL, 0x4031), NO(d, sq1, true, 0x010A, 0x26),
		NO(d, sq1, true, 0x0109, 0x26), NO(d, sq1, true, 0x0008, 0x26),
		OK(d, sq2, true, 0x010E, 0xFEE01000ULL, 0x4031), OK(d, sq2, true, 0x010A, 0xFEE01000ULL, 0x4031),
		NO(d, sq2, true, 0x0109, 0x26), NO(d, sq2, true, 0x0110, 0x26),
		OK(d, sq3, true, 0x010F, 0xFEE01000ULL, 0x4031), OK(d, sq3, true, 0x0109, 0xFEE01000ULL, 0x4031),
		NO(d, sq3, true, 0x0110, 0x26), NO(d, sq3, true, 0x0008, 0x26),
		OK(d, bus2to4, true, 0x0200, 0xFEE01000ULL, 0x4031), OK(d, bus2to4, true, 0x0300, 0xFEE01000ULL, 0x4031),
		OK(d, bus2to4, true, 0x04FF, 0xFEE01000ULL, 0x4031), NO(d, bus2to4, true, 0x01FF, 0x26),
		NO(d, bus2to4, true, 0x0500, 0x26),
		NO(d, E_SVT(3, 0, 0x0108), true, 0x0108, 0x24),
#undef OK
#undef NO
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint64_t irte[2] = { cases[i].lo, cases[i].hi };
		struct msi_msg m = { 0, 0 };
		int failed = check_failures;
		CHECK_EQ(vtd_irte_decode(irte, cases[i].eime, cases[i].sid, &m), cases[i].reason);
		if (!cases[i].reason) {
			CHECK_EQ(m.addr, cases[i].addr);
			CHECK_EQ(m.data, cases[i].data);
		}
		if (check_failures != failed)
			fprintf(stderr, "  ^ decode case %u (IRTE %#llx %#llx, requester %#x)\n", i,
				(unsigned long long)cases[i].lo, (unsigned long long)cases[i].hi, cases[i].sid);
	}
}

/* ---- vtd_ir_remap through the register interface ---- */
static struct msi_msg ro; /* what the last remap() gave */
static int ri;
static int remap(uint16_t sid, uint64_t addr, uint32_t data)
{
	struct msi_msg in = { addr, data };
	ro = (struct msi_msg){ 0, 0 };
	ri = -2;
	return vtd_ir_remap(&v, sid, &in, &ro, &ri);
}
/* Translated to (OA, OD), naming entry INDEX (-1: none), nothing recorded. */
#define CHECK_REMAP(SID, A, D, INDEX, OA, OD)                                                   \
	do {                                                                                    \
		CHECK_EQ(remap(SID, A, D), 0);                                                  \
		CHECK_EQ(ri, INDEX);                                                            \
		CHECK_EQ(ro.addr, OA);                                                          \
		CHECK_EQ(ro.data, OD);                                                          \
		CHECK_EQ(fault(SID, INDEX), 0);                                                 \
	} while (0)
/* Blocked, with REASON recorded (0: nothing recorded). */
#define CHECK_BLOCKED(SID, A, D, INDEX, REASON)                                                 \
	do {                                                                                    \
		CHECK(remap(SID, A, D) < 0);                                                    \
		CHECK_EQ(ri, INDEX);                                                            \
		CHECK_EQ(fault(SID, INDEX), REASON);                                            \
	} while (0)
/* A table (IRTA: address, EIME, size) latched by SIRTP. */
static void set_table(uint64_t irta)
{
	wr64(VTD_REG_IRTA, irta);
	gcmd((uint32_t)VTD_GCMD_SIRTP, 0);
}

static void test_remap(void)
{
	ir_setup();
	CHECK_EQ(rd64(VTD_REG_ECAP) & (VTD_ECAP_IR | VTD_ECAP_EIM), VTD_ECAP_IR | VTD_ECAP_EIM);
	set_irte(irt, 4, E_P | E_VEC(0x40) | E_DEST(0x101), E_SVT(1, 0, RID_A));
	set_irte(irt, 5, E_P | E_VEC(0x41) | E_DEST(0x2), 0);
	/* Remapping off: every request goes as it is and names no entry, remappable ones too, even
	 * with a table latched. */
	CHECK_REMAP(RID_A, 0xFEE01000, 0x4031, -1, 0xFEE01000, 0x4031);
	CHECK_REMAP(RID_A, HANDLE(4), 0, -1, HANDLE(4), 0);
	wr64(VTD_REG_IRTA, irt | EIME | 7); /* 256 entries, x2APIC mode */
	gcmd((uint32_t)VTD_GCMD_SIRTP, 0);
	CHECK_EQ(rd32(VTD_REG_GSTS), VTD_GSTS_TES | VTD_GSTS_QIES | VTD_GSTS_RTPS | VTD_GSTS_IRTPS);
	CHECK_REMAP(RID_A, HANDLE(4), 0, -1, HANDLE(4), 0);
	gcmd((uint32_t)VTD_GCMD_IRE, 0); /* ORed with the status: TE and QIE stay on */
	CHECK_EQ(rd32(VTD_REG_GSTS), VTD_GSTS_TES | VTD_GSTS_QIES | VTD_GSTS_RTPS | VTD_GSTS_IRTPS | VTD_GSTS_IRES);

	/* Compatibility format, CFIS 0: blocked (0x25, FI 0), and the fault event is sent. */
	nmsi = 0;
	CHECK_BLOCKED(RID_B, 0xFEE01000, 0x4031, -1, 0x25);
	CHECK_EQ(nmsi, 1);
	CHECK_EQ(msis[0].addr, 0xFEE00000);
	CHECK_EQ(msis[0].data, 0x42);
	gcmd((uint32_t)VTD_GCMD_CFI, 0);
	CHECK(rd32(VTD_REG_GSTS) & VTD_GSTS_CFIS);
	CHECK_REMAP(RID_B, 0xFEE01000, 0x4031, -1, 0xFEE01000, 0x4031);

	/* The handle names the entry; SHV adds the subhandle from data 15:0, which is otherwise
	 * ignored. */
	CHECK_REMAP(RID_A, HANDLE(4), 1, 4, 0x00000100FEE01000ULL, 0x4040);
	CHECK_REMAP(RID_A, HANDLE(4) | M_SHV, 1, 5, 0xFEE02000ULL, 0x4041);
	CHECK_REMAP(RID_A, HANDLE(3) | M_SHV, 2, 5, 0xFEE02000ULL, 0x4041);
	CHECK_BLOCKED(RID_B, HANDLE(4), 0, 4, 0x26);       /* entry 4 takes A only */
	CHECK_BLOCKED(RID_A, HANDLE(6), 0, 6, 0x22);       /* not present */
	set_irte(irt, 7, E_P | 1ULL << 13 | E_VEC(0x47), 0);
	CHECK_BLOCKED(RID_A, HANDLE(7), 0, 7, 0x24);
	/* FPD: the same faults block without a record. */
	uint64_t suppressed = v.stats.faults_suppressed;
	nmsi = 0;
	set_irte(irt, 6, E_FPD, 0);
	CHECK_BLOCKED(RID_A, HANDLE(6), 0, 6, 0);
	set_irte(irt, 7, E_P | E_FPD | 1ULL << 13 | E_VEC(0x47), 0);
	CHECK_BLOCKED(RID_A, HANDLE(7), 0, 7, 0);
	set_irte(irt, 8, E_P | E_FPD | E_VEC(0x48), E_SVT(1, 0, RID_A));
	CHECK_BLOCKED(RID_B, HANDLE(8), 0, 8, 0);
	CHECK_REMAP(RID_A, HANDLE(8), 0, 8, 0xFEE00000ULL, 0x4048);
	CHECK_EQ(v.stats.faults_suppressed, suppressed + 3);
	CHECK_EQ(nmsi, 0);

	/* Index beyond 2^(S+1): S = 3 is 16 entries, once SIRTP latches it. */
	set_irte(irt, 15, E_P | E_VEC(0x4F) | E_DEST(1), 0);
	set_irte(irt, 16, E_P | E_VEC(0x50) | E_DEST(1), 0);
	wr64(VTD_REG_IRTA, irt | EIME | 3);
	CHECK_REMAP(RID_A, HANDLE(16), 0, 16, 0xFEE01000ULL, 0x4050);
	gcmd((uint32_t)VTD_GCMD_SIRTP, 0);
	CHECK_REMAP(RID_A, HANDLE(15), 0, 15, 0xFEE01000ULL, 0x404F);
	CHECK_BLOCKED(RID_A, HANDLE(16), 0, 16, 0x21);
	CHECK_BLOCKED(RID_A, HANDLE(14) | M_SHV, 2, 16, 0x21);
	/* Handle bit 15 (address bit 2), in the 2^16-entry table. */
	set_irte(BIG, 3, 0, 0);
	set_irte(BIG, 0x8003, E_P | E_VEC(0x83) | E_DEST(1), 0);
	set_table(BIG | EIME | 15);
	CHECK_REMAP(RID_A, HANDLE(0x8003), 0, 0x8003, 0xFEE01000ULL, 0x4083);
	CHECK_REMAP(RID_A, HANDLE(0x8000) | M_SHV, 3, 0x8003, 0xFEE01000ULL, 0x4083);
	CHECK_BLOCKED(RID_A, HANDLE(3), 0, 3, 0x22);
	/* xAPIC mode (no EIME): the same entry is refused where bits 39:32 are set. */
	set_irte(irt, 9, E_P | E_VEC(0x49) | E_DEST(0x501), 0);
	set_irte(irt, 10, E_P | E_VEC(0x4A) | E_XDEST(0x07), 0);
	set_table(irt | 7);
	CHECK_BLOCKED(RID_A, HANDLE(9), 0, 9, 0x24);
	CHECK_REMAP(RID_A, HANDLE(10), 0, 10, 0xFEE07000ULL, 0x404A);
	set_table(irt | EIME | 7);
	CHECK_REMAP(RID_A, HANDLE(9), 0, 9, 0x00000500FEE01000ULL, 0x4049);
	/* The table not in RAM. */
	set_table(NOT_RAM | EIME | 7);
	CHECK_BLOCKED(RID_A, HANDLE(1), 0, 1, 0x23);

	/* The fault event masked: pending in IP, sent on unmask. */
	wr32(VTD_REG_FECTL, (uint32_t)VTD_EVCTL_IM);
	nmsi = 0;
	CHECK(remap(RID_A, HANDLE(2), 0) < 0);
	CHECK_EQ(nmsi, 0);
	CHECK_EQ(rd32(VTD_REG_FECTL), VTD_EVCTL_IM | VTD_EVCTL_IP);
	wr32(VTD_REG_FECTL, 0);
	CHECK_EQ(nmsi, 1);
	CHECK_EQ(fault(RID_A, 2), 0x23);
	/* Remapping off again: as they are. */
	gcmd(0, (uint32_t)VTD_GCMD_IRE);
	CHECK_REMAP(RID_A, HANDLE(1), 0, -1, HANDLE(1), 0);
	CHECK_REMAP(RID_A, 0xFEE01000, 0x31, -1, 0xFEE01000, 0x31);
}

/* ---- interrupt-entry-cache invalidation and GCMD: what the router is told ---- */
static void test_changes(void)
{
	ir_setup();
	wr64(VTD_REG_IRTA, irt | EIME | 7);
	CHECK_EQ(irc.calls, 0);
	gcmd((uint32_t)VTD_GCMD_SIRTP, 0);
	CHECK_CHANGED(0, UINT32_MAX, true);
	gcmd((uint32_t)VTD_GCMD_IRE, 0);
	CHECK_CHANGED(0, UINT32_MAX, true);
	gcmd((uint32_t)VTD_GCMD_CFI, 0);
	CHECK_CHANGED(0, UINT32_MAX, true);
	gcmd(0, 0);                                   /* nothing changes */
	gcmd(0, (uint32_t)VTD_GCMD_TE);               /* DMA remapping only */
	gcmd((uint32_t)VTD_GCMD_TE, 0);
	CHECK(q_sync(d_iotlb(VTD_IOTLB_GLOBAL, 0), 0));
	CHECK_EQ(irc.calls, 0);
	gcmd(0, (uint32_t)VTD_GCMD_CFI);
	CHECK_CHANGED(0, UINT32_MAX, true);
	gcmd((uint32_t)VTD_GCMD_SIRTP, 0);            /* the same table again: still a new one */
	CHECK_CHANGED(0, UINT32_MAX, true);

	/* Global; one index (mask 0); 2^IM entries aligned down; IM 16 and above: all. */
	CHECK(q_sync(VTD_DESC_IEC, 0));
	CHECK_CHANGED(0, UINT32_MAX, false);
	CHECK(q_sync(d_iec(0x1234, 0), 0));
	CHECK_CHANGED(0x1234, 0x1234, false);
	CHECK(q_sync(d_iec(0x1235, 3), 0));
	CHECK_CHANGED(0x1230, 0x1237, false);
	CHECK(q_sync(d_iec(0xFFFF, 1), 0));
	CHECK_CHANGED(0xFFFE, 0xFFFF, false);
	CHECK(q_sync(d_iec(0x8001, 16), 0));
	CHECK_CHANGED(0, 0xFFFF, false);
	/* Several in one submission: one call, their union. */
	put64(STATUS, 0);
	q_push(d_iec(10, 0), 0);
	q_push(d_iec(0x101, 2), 0);
	q_push(d_iec(0x40, 1), 0);
	q_push(d_wait(2, true, false), STATUS);
	q_submit();
	CHECK_EQ(get32(STATUS), 2);
	CHECK_CHANGED(10, 0x103, false);
	/* Reserved bits (8:5, 26:12, 63:48, the upper half; type bits 11:9): IQE. The IEC before the
	 * bad one was done and is told; after the fix and IQE cleared, the queue resumes. */
	const uint64_t bad[][2] = {
		{ d_iec(1, 0) | 1ULL << 5, 0 }, { d_iec(1, 0) | 1ULL << 8, 0 }, { d_iec(1, 0) | 1ULL << 12, 0 },
		{ d_iec(1, 0) | 1ULL << 26, 0 }, { d_iec(1, 0) | 1ULL << 48, 0 }, { d_iec(1, 0), 1 },
		{ d_iec(1, 0), 1ULL << 63 }, { d_iec(1, 0) | 1ULL << 9, 0 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put64(STATUS, 0);
		q_push(d_iec(7, 0), 0);
		q_push(bad[i][0], bad[i][1]);
		q_push(d_wait(2, true, false), STATUS);
		q_submit();
		CHECK(rd32(VTD_REG_FSTS) & VTD_FSTS_IQE);
		CHECK_EQ(get32(STATUS), 0);
		CHECK_CHANGED(7, 7, false);
		uint64_t at = QUEUE + (rd64(VTD_REG_IQH) >> 4) * 16;
		CHECK_EQ(get64(at), bad[i][0]);
		put64(at, d_iec(9, 0));
		put64(at + 8, 0);
		wr32(VTD_REG_FSTS, (uint32_t)VTD_FSTS_IQE);
		CHECK_EQ(get32(STATUS), 2);
		CHECK_CHANGED(9, 9, false);
	}
	CHECK_EQ(v.stats.queue_errors, sizeof(bad) / sizeof(bad[0]));
}

/* ---- the router, with the unit as its remapper ---- */
static const uint64_t nic_sid = E_SVT(1, 0, RID_A), ioapic_sid = E_SVT(1, 0, IOAPIC_SID);

static void msix_vector(unsigned i, uint32_t addr, uint32_t data, bool masked)
{
	mwr(i * 16 + MSIX_ENTRY_ADDR_LO, addr);
	mwr(i * 16 + MSIX_ENTRY_DATA, data);
	mwr(i * 16 + MSIX_ENTRY_CTRL, masked);
}

/* IOAPIC pin 9: interrupts delivered so far, remote IRR. */
#define CHECK_PIN9(DELIVERED, IRR)                                                              \
	do {                                                                                    \
		CHECK_EQ(io.delivered[9], DELIVERED);                                           \
		CHECK_EQ(rte_lo(9) & IOAPIC_RTE_REMOTE_IRR, (IRR) ? IOAPIC_RTE_REMOTE_IRR : 0); \
	} while (0)

static void test_router(void)
{
	ir_setup();
	CHECK_EQ(irq_routing_init(&rt, -1, IOAPIC_NUM_PINS), 0);
	irq_routing_set_remapper(&rt, &(struct irq_remapper){ vtd_ir_remap, &v });
	ir_router = &rt;
	CHECK_EQ(ioapic_init(&io, &rt, 2, IOAPIC_SID), 0);
	pci_device_init(&dev, "nic", 0x1AF4, 0x1041, 0x020000, PCI_HEADER_TYPE_NORMAL);
	dev.rid = RID_A;
	CHECK_EQ(pci_msix_init(&msix, &dev, &rt, 4, 1, 0x800), 0);
	set_irte(irt, 0x10, E_P | E_VEC(0x34) | E_DEST(0x201), ioapic_sid);
	set_irte(irt, 0x11, E_P | E_VEC(0x39) | E_DEST(0x1), ioapic_sid); /* TM 0, as Linux writes it */
	set_irte(irt, 0x20, E_P | E_VEC(0x50) | E_DEST(0x300), nic_sid);
	set_irte(irt, 0x21, E_P | E_VEC(0x51) | E_DEST(0x301), nic_sid);
	set_irte(irt, 0x22, E_P | E_DM | E_RH | E_DLM(1) | E_VEC(0x52) | E_DEST(0x2), nic_sid);
	set_table(irt | EIME | 7);
	gcmd((uint32_t)VTD_GCMD_IRE, 0);
	CHECK_EQ(irc.ret, 0);
	irc.calls = 0;

	/* IOAPIC pin 4, edge, remappable format: handle 0x10 in 63:49, the pin as its vector. */
	unsigned commits = rt.commits;
	set_rte(4, 1ULL << 48 | 0x10ULL << 49 | 4);
	CHECK_EQ(rt.commits, commits + 1);
	CHECK_EQ(rt.routes[4].sid, IOAPIC_SID);
	CHECK_EQ(rt.routes[4].msi_addr, 0xFEE00210);
	CHECK_EQ(rt.routes[4].msi_data, 0x4004);
	CHECK_EQ(rt.routes[4].ir_index, 0x10);
	CHECK_MSI_ENTRY(4, 0x00000200FEE01000ULL, 0x4034);
	uint64_t a;
	uint32_t d;
	ioapic_rte_to_msi(1ULL << 48 | 0x7FFFULL << 49 | 1ULL << 11 | 1ULL << 15 | 7, &a, &d); /* handle[15]: bit 11 */
	CHECK_EQ(a, 0xFEEFFFF4ULL);
	CHECK_EQ(d, 0xC007);

	/* MSI-X vectors programmed unmasked while MSI-X is off: no route. Vector 0: handle 0x20
	 * with SHV and subhandle 0, as Linux; vector 1: subhandle 1; vector 2: no SHV (data ignored). */
	msix_vector(0, 0xFEE00418, 0, false);
	msix_vector(1, 0xFEE00418, 1, false);
	msix_vector(2, 0xFEE00450, 5, false);
	CHECK_EQ(rt.commits, commits + 1);
	/* Enabling the function: all three routes, one commit. */
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	CHECK_EQ(rt.commits, commits + 2);
	CHECK_EQ(msix.v[0].gsi, 24);
	CHECK_EQ(msix.v[1].gsi, 25);
	CHECK_EQ(msix.v[2].gsi, 26);
	CHECK_EQ(nr_entries(), 4);
	CHECK_MSI_ENTRY(24, 0x00000300FEE00000ULL, 0x4050);
	CHECK_MSI_ENTRY(25, 0x00000300FEE01000ULL, 0x4051);
	CHECK_MSI_ENTRY(26, 0xFEE0200CULL, 0x4152);
	CHECK_EQ(rt.routes[25].ir_index, 0x21);

	/* Entries 0x20 and 0x21 changed, 0x21 invalidated: only its route is translated again (0x20's
	 * keeps what KVM has), one commit. */
	set_irte(irt, 0x20, E_P | E_VEC(0x60) | E_DEST(0x300), nic_sid);
	set_irte(irt, 0x21, E_P | E_VEC(0x61) | E_DEST(0x302), nic_sid);
	commits = rt.commits;
	CHECK(q_sync(d_iec(0x21, 0), 0));
	CHECK_CHANGED(0x21, 0x21, false);
	CHECK_EQ(irc.ret, 0);
	CHECK_EQ(rt.commits, commits + 1);
	CHECK_MSI_ENTRY(25, 0x00000300FEE02000ULL, 0x4061);
	CHECK_MSI_ENTRY(24, 0x00000300FEE00000ULL, 0x4050);
	CHECK_MSI_ENTRY(26, 0xFEE0200CULL, 0x4152);
	CHECK_MSI_ENTRY(4, 0x00000200FEE01000ULL, 0x4034);
	/* IM 1 at 0x21 covers 0x20..0x21. */
	CHECK(q_sync(d_iec(0x21, 1), 0));
	CHECK_CHANGED(0x20, 0x21, false);
	CHECK_EQ(rt.commits, commits + 2);
	CHECK_MSI_ENTRY(24, 0x00000300FEE00000ULL, 0x4060);
	/* Invalidated without a change: no commit. */
	CHECK(q_sync(VTD_DESC_IEC, 0));
	CHECK_CHANGED(0, UINT32_MAX, false);
	CHECK_EQ(rt.commits, commits + 2);

	/* Entry 0x22 not present: its route leaves KVM's table, the fault is recorded. */
	uint64_t blocked = rt.blocked;
	set_irte(irt, 0x22, 0, nic_sid);
	CHECK(q_sync(d_iec(0x22, 0), 0));
	CHECK_EQ(rt.commits, commits + 3);
	CHECK(entry(26) == NULL);
	CHECK_EQ(nr_entries(), 3);
	CHECK(rt.routes[26].valid && !rt.routes[26].routed);
	CHECK_EQ(rt.blocked, blocked + 1);
	CHECK_EQ(fault(RID_A, 0x22), 0x22);
	set_irte(irt, 0x22, E_P | E_VEC(0x53) | E_DEST(0x4), nic_sid);
	CHECK(q_sync(d_iec(0x22, 0), 0));
	CHECK_EQ(rt.commits, commits + 4);
	CHECK_MSI_ENTRY(26, 0xFEE04000ULL, 0x4053);
	CHECK_EQ(fault(RID_A, 0x22), 0);

	/* Pin 9, level, remappable format: the IRTE's TM 0 gives no trigger-level bit; the guest
	 * EOIs by pin (the RTE's vector field) through the EOI register. */
	set_rte(9, 1ULL << 48 | 0x11ULL << 49 | IOAPIC_RTE_TRIGGER_LEVEL | 9);
	CHECK_EQ(rt.routes[9].msi_data, 0xC009);
	CHECK_MSI_ENTRY(9, 0xFEE01000ULL, 0x4039);
	ioapic_set_irq(&io, 9, true);
	CHECK_PIN9(1, true);
	ioapic_set_irq(&io, 9, true);
	io_wr(0x40, 0x39);                            /* the IRTE's vector is not the pin's */
	CHECK_PIN9(1, true);
	io_wr(0x40, 9);                               /* remote IRR cleared, the high line again */
	CHECK_PIN9(2, true);
	ioapic_set_irq(&io, 9, false);
	io_wr(0x40, 9);
	CHECK_PIN9(2, false);
	set_irte(irt, 0x11, E_P | E_TM | E_VEC(0x39) | E_DEST(0x1), ioapic_sid);
	CHECK(q_sync(d_iec(0x11, 0), 0));
	CHECK_MSI_ENTRY(9, 0xFEE01000ULL, 0xC039);
	/* With TM 1 in the IRTE KVM reports the LAPIC's EOI of the delivered vector (0x39), not of
	 * the pin: that EOI is the one that clears remote IRR. */
	ioapic_set_irq(&io, 9, true);
	CHECK_PIN9(3, true);
	ioapic_set_irq(&io, 9, true);
	ioapic_eoi(&io, 9);                           /* the pin number is not what the LAPIC saw */
	CHECK_PIN9(3, true);
	ioapic_eoi(&io, 0x39);                        /* remote IRR cleared, the high line again */
	CHECK_PIN9(4, true);
	ioapic_set_irq(&io, 9, false);
	ioapic_eoi(&io, 0x39);
	CHECK_PIN9(4, false);

	/* Remapping off: the routes as their sources send them; on again: translated. One commit each. */
	commits = rt.commits;
	irc.calls = 0;
	gcmd(0, (uint32_t)VTD_GCMD_IRE);
	CHECK_CHANGED(0, UINT32_MAX, true);
	CHECK_EQ(rt.commits, commits + 1);
	CHECK_MSI_ENTRY(4, 0xFEE00210ULL, 0x4004);
	CHECK_MSI_ENTRY(24, 0xFEE00418ULL, 0);
	gcmd((uint32_t)VTD_GCMD_IRE, 0);
	CHECK_CHANGED(0, UINT32_MAX, true);
	CHECK_EQ(rt.commits, commits + 2);
	CHECK_MSI_ENTRY(4, 0x00000200FEE01000ULL, 0x4034);
	CHECK_MSI_ENTRY(24, 0x00000300FEE00000ULL, 0x4060);
	/* A compatibility-format vector: blocked (0x25) until CFI, then as it is. */
	msix_vector(3, 0xFEE03000, 0x53, false);
	CHECK(rt.routes[27].valid);
	CHECK(entry(27) == NULL);
	CHECK_EQ(fault(RID_A, -1), 0x25);
	gcmd((uint32_t)VTD_GCMD_CFI, 0);
	CHECK_CHANGED(0, UINT32_MAX, true);
	CHECK_MSI_ENTRY(27, 0xFEE03000ULL, 0x53);
	/* A message vmm sends from a requester the entry refuses: dropped, recorded, no error. */
	blocked = rt.blocked;
	CHECK_EQ(irq_routing_send_msi(&rt, RID_B, 0xFEE00418, 0), 0);
	CHECK_EQ(rt.blocked, blocked + 1);
	CHECK_EQ(fault(RID_B, 0x20), 0x26);
}

/* KVM refusing a commit, without KVM: a file that is not a VM refuses KVM_SET_GSI_ROUTING
 * (ENOTTY). Every change is undone, the table stays what "KVM" has. Runs on test_router()'s state. */
static void test_rollback(void)
{
	int fd = open("/dev/null", O_RDWR);
	CHECK(fd >= 0);
	const struct kvm_irq_routing *table = irq_routing_table(&rt);
	unsigned nr = nr_entries(), commits = rt.commits;
	struct irq_route r24, r25; /* as KVM has them: restored byte for byte from `committed` */
	memcpy(&r24, &rt.routes[24], sizeof(r24));
	memcpy(&r25, &rt.routes[25], sizeof(r25));
	rt.vm_fd = fd;
	CHECK_EQ(irq_routing_set_msi(&rt, 200, RID_A, 0xFEE00418, 0), -ENOTTY);
	CHECK(!rt.routes[200].valid);
	/* A batch: every change in it undone. */
	irq_routing_batch_begin(&rt);
	CHECK_EQ(irq_routing_set_msi(&rt, 201, RID_A, 0xFEE00450, 0), 0);
	CHECK_EQ(irq_routing_clear(&rt, 24), 0);
	CHECK_EQ(rt.commits, commits + 1);
	CHECK_EQ(irq_routing_batch_end(&rt), -ENOTTY);
	CHECK(!rt.routes[201].valid);
	CHECK(!memcmp(&rt.routes[24], &r24, sizeof(r24)));
	/* A re-translation: the route keeps the translation KVM has. */
	set_irte(irt, 0x21, E_P | E_VEC(0x71) | E_DEST(0x301), nic_sid);
	CHECK(q_sync(d_iec(0x21, 0), 0));
	CHECK_CHANGED(0x21, 0x21, false);
	CHECK_EQ(irc.ret, -ENOTTY);
	CHECK(!memcmp(&rt.routes[25], &r25, sizeof(r25)));
	CHECK_EQ(rt.commits, commits + 3);
	CHECK(irq_routing_table(&rt) == table);
	CHECK_EQ(nr_entries(), nr);
	rt.vm_fd = -1;
	close(fd);
	/* Accepted again: the next invalidation brings the route up to date. */
	CHECK(q_sync(d_iec(0x21, 0), 0));
	CHECK_EQ(irc.ret, 0);
	CHECK_MSI_ENTRY(25, 0x00000300FEE01000ULL, 0x4071);
	CHECK_MSI_ENTRY(24, 0x00000300FEE00000ULL, 0x4060);
	CHECK(entry(200) == NULL && entry(201) == NULL);
}

int main(void)
{
	harness_init();
	test_decode();
	test_remap();
	test_changes();
	test_router();
	test_rollback();
	pci_msix_destroy(&msix);
	ioapic_destroy(&io);
	ir_router = NULL;
	irq_routing_destroy(&rt);
	return harness_fini("vtd_ir");
}
