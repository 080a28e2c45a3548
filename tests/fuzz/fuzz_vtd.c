/* libFuzzer target for the VT-d unit: everything the guest controls, register accesses, its root,
 * context and page tables, and the invalidation queue, is taken from the input; the unit is
 * driven through vtd_mmio_ops (the real path: GCMD, IQT processing, fault registers) and through
 * dma_translate_locked() under the space's lock, as the device models call it. After each
 * operation the invariants that hold whatever the guest does are checked (fuzz_vtd_check in
 * fuzz_common.h: read-only registers unchanged, absent ones 0, commands complete, FRI and the
 * fault index inside the records, PPF = OR of the F bits, IP only while masked, IQH a valid index
 * that has caught up with IQT unless IQE, 0 while the queue is off). Each translation: a
 * non-empty run holding the address, no wrap in IOVA or GPA, perm 1..3 covering the access; two
 * other addresses of the run translate alike; an independent table walk agrees; a recorded fault
 * holds the requester, page, direction and a defined reason. Every listener notification is a
 * range with first <= last, made with the lock held, and so is every MSI.
 *
 * Input:
 *   u8 config   bit 0: ECAP.DT (device_tlb); bits 3:1: host address width, one of
 *               32 36 39 40 42 46 47 48; bit 4: no MSI callback
 *   memory      u8 count, then count x { u32 offset (mod 2 MiB), u16 length, bytes }: the first
 *               2 MiB of a 64 MiB guest RAM (the rest stays zero)
 *   operations  until the input ends, each an opcode byte (low 4 bits: kind; the upper bits
 *               modify it) and its arguments, see run_op() */
#include "fuzz_common.h"

#define RAM_SIZE (64ULL << 20)

static struct guest_memory mem;
static struct dma_space space;
static struct vtd v;
static uint64_t cap0, ecap0;
static unsigned queue_pending;
static uint8_t dma_buf[8192];

/* Listener rids: devices on bus 0 and 1, the highest rid, rid 0. */
static uint16_t listener_rids[] = { 0x0008, 0x0010, 0x0100, 0xFFFF, 0x0000 };
static uint64_t notifications;

static void on_invalidate(void *opaque, uint64_t first, uint64_t last)
{
	(void)opaque;
	FUZZ_ASSERT(first <= last);
	FUZZ_ASSERT(fuzz_lock_held(&space)); /* listeners run under the lock (dma.h) */
	notifications++;
}

static uint64_t msis;
static void raise_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque;
	(void)addr;
	(void)data;
	FUZZ_ASSERT(fuzz_lock_held(&space));
	msis++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vmm_log_level = -1; /* not even errors: the guest-triggered warnings would flood */
	if (guest_memory_init(&mem, RAM_SIZE)) {
		fprintf(stderr, "guest_memory_init failed\n");
		abort();
	}
	return 0;
}

static const unsigned haw_choices[8] = { 32, 36, 39, 40, 42, 46, 47, 48 };

static unsigned access_len(unsigned sel) { return 1u << (sel & 3); } /* 1, 2, 4, 8 */

/* An independent walk of the guest's tables for iova (legacy mode, second level), without the
 * reserved-bit and address-width checks: where the unit gives a translation, this one must find
 * the same guest-physical address and permission. False when it finds nothing. */
FUZZ_NOCOV static bool reference_walk(uint16_t rid, uint64_t iova, uint64_t *gpa, unsigned *perm)
{
	uint64_t root[2], ce[2];
	if (guest_read(&mem, v.root_table + (rid >> 8) * 16ULL, root, 16) || !(root[0] & 1))
		return false;
	if (guest_read(&mem, (root[0] & ~0xFFFULL) + (rid & 0xFF) * 16ULL, ce, 16) || !(ce[0] & 1))
		return false;
	unsigned tt = (ce[0] >> 2) & 3;
	if (tt == 2) { /* pass-through */
		*gpa = iova;
		*perm = DMA_PERM_RW;
		return true;
	}
	unsigned levels = (ce[1] & 7) == 1 ? 3 : 4;
	uint64_t table = ce[0] & ~0xFFFULL;
	*perm = DMA_PERM_RW;
	for (unsigned level = levels; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t pte;
		if (guest_read(&mem, table + ((iova >> shift) & 511) * 8, &pte, 8))
			return false;
		*perm &= pte & 3;
		if (!(pte & 3))
			return false;
		uint64_t addr = pte & 0x000FFFFFFFFFF000ULL; /* 51:12 */
		if (level == 1 || (pte & (1u << 7))) {
			*gpa = addr + (iova & ((1ULL << shift) - 1));
			return true;
		}
		table = addr;
	}
	return false;
}

/* A translation, then a look-up of two other addresses of the run it returned: the last byte
 * and one the input picks. Each must translate (the run is valid as a whole), with the same
 * permission, to the same guest-physical address as the run says. With translation on, an
 * independent walk must agree; a fault that was recorded is in the record it should be. */
static void op_translate(struct fuzz_in *in)
{
	uint16_t rid = fin_u16(in);
	uint64_t iova = fin_u64(in);
	uint8_t flags = fin_u8(in);
	uint64_t probe = fin_u64(in);
	unsigned access = flags & DMA_PERM_RW;
	bool record = flags & 4;
	if (flags & 8) /* often near what the tables map: the low 4 GiB, page aligned */
		iova &= 0xFFFFF000ULL;

	struct dma_translation t;
	unsigned index = v.fault_index;
	uint64_t recorded = v.stats.faults_recorded;
	dma_lock(&space);
	int ret = dma_translate_locked(&space, rid, iova, access, record, &t);
	dma_unlock(&space);
	if (ret) {
		FUZZ_ASSERT(ret == -EFAULT || ret == -EACCES);
		FUZZ_ASSERT(record || v.stats.faults_recorded == recorded);
		if (v.stats.faults_recorded != recorded) {
			FUZZ_ASSERT(v.stats.faults_recorded == recorded + 1);
			uint64_t lo = vtd_reg64(&v, VTD_REG_FRCD + index * VTD_FRCD_LEN);
			uint64_t hi = vtd_reg64(&v, VTD_REG_FRCD + index * VTD_FRCD_LEN + 8);
			unsigned reason = (unsigned)(hi >> VTD_FRCD_HI_FR_SHIFT) & 0xFF;
			FUZZ_ASSERT(hi & VTD_FRCD_HI_F);
			FUZZ_ASSERT((uint16_t)(hi >> VTD_FRCD_HI_SID_SHIFT) == rid);
			FUZZ_ASSERT(!(hi & VTD_FRCD_HI_T) == !!(access & DMA_PERM_WRITE));
			FUZZ_ASSERT(reason >= VTD_FR_ROOT_NOT_PRESENT && reason <= VTD_FR_PTE_RESERVED);
			FUZZ_ASSERT(lo == (iova & VTD_FRCD_LO_FI));
			FUZZ_ASSERT(vtd_reg32(&v, VTD_REG_FSTS) & VTD_FSTS_PPF);
		}
		return;
	}
	FUZZ_ASSERT(v.stats.faults_recorded == recorded);
	fuzz_check_translation(&t, iova, access);
	if (!(vtd_reg32(&v, VTD_REG_GSTS) & VTD_GSTS_TES)) {
		/* Translation off: the identity over the RAM region holding iova. */
		FUZZ_ASSERT(t.gpa == t.iova);
		FUZZ_ASSERT(guest_ptr(&mem, t.gpa, t.len) != NULL);
	} else {
		uint64_t gpa;
		unsigned perm;
		FUZZ_ASSERT(reference_walk(rid, iova, &gpa, &perm));
		FUZZ_ASSERT(gpa == t.gpa + (iova - t.iova));
		FUZZ_ASSERT(perm == t.perm);
	}
	uint64_t points[2] = { t.iova + (t.len - 1), t.iova + probe % t.len };
	for (unsigned i = 0; i < 2; i++) {
		struct dma_translation u;
		dma_lock(&space);
		ret = dma_translate_locked(&space, rid, points[i], 0, false, &u);
		dma_unlock(&space);
		FUZZ_ASSERT(ret == 0);
		fuzz_check_translation(&u, points[i], 0);
		FUZZ_ASSERT(u.perm == t.perm);
		FUZZ_ASSERT(u.gpa + (points[i] - u.iova) == t.gpa + (points[i] - t.iova));
	}
}

static void op_dma(struct fuzz_in *in, bool is_write)
{
	uint16_t rid = fin_u16(in);
	uint64_t iova = fin_u64(in);
	size_t len = fin_u16(in) % (sizeof(dma_buf) + 1);
	int ret = is_write ? dma_write(&space, rid, iova, dma_buf, len) : dma_read(&space, rid, iova, dma_buf, len);
	FUZZ_ASSERT(ret == 0 || ret == -EFAULT || ret == -EACCES);
}

static void run_op(struct fuzz_in *in)
{
	uint8_t op = fin_u8(in);
	switch (op & 0xF) {
	case 0: /* 32-bit register write; bit 4: at a register chosen by index */
	case 1: { /* 64-bit register write */
		uint16_t sel = fin_u16(in);
		unsigned off = op & 0x10 ? fuzz_vtd_regs[sel % FUZZ_NREGS] : sel % VTD_SIZE;
		uint64_t val = (op & 0xF) == 0 ? fin_u32(in) : fin_u64(in);
		unsigned len = (op & 0xF) == 0 ? 4 : 8;
		if (op & 0x20) /* any length, as the bus passes it (ignored unless 4 or 8, aligned) */
			len = access_len(op >> 6);
		fuzz_wr(&v, off, val, len);
		break;
	}
	case 2: { /* register read of 1, 2, 4 or 8 bytes at any offset (up to the block's end) */
		unsigned off = fin_u16(in) % VTD_SIZE;
		uint64_t x = fuzz_rd(&v, off, access_len(op >> 4));
		if (off == VTD_REG_GCMD)
			FUZZ_ASSERT((uint32_t)x == 0);
		break;
	}
	case 3:
		op_translate(in);
		break;
	case 4: { /* the guest changes a table entry (or anything) in the window */
		uint64_t off = fin_u32(in) % FUZZ_WINDOW & ~7ULL;
		uint64_t x = fin_u64(in);
		memcpy(guest_ptr(&mem, off, 8), &x, 8);
		break;
	}
	case 5: { /* GCMD as Linux writes it */
		uint8_t set = fin_u8(in), clear = fin_u8(in);
		fuzz_gcmd(&v, set, clear);
		break;
	}
	case 6: { /* a descriptor into the queue; bit 4: submit */
		uint64_t lo = fin_u64(in), hi = fin_u64(in);
		fuzz_queue_push(&v, &mem, &queue_pending, lo, hi, op & 0x10);
		break;
	}
	case 7:
		op_dma(in, op & 0x10);
		break;
	case 8:
		fuzz_service_fault(&v);
		break;
	case 9: { /* a wait descriptor with status write and the submission, as qi_submit_sync */
		uint32_t data = fin_u32(in);
		uint64_t status = fin_u32(in) % FUZZ_WINDOW & ~3ULL;
		uint64_t lo = VTD_DESC_WAIT | VTD_WAIT_SW | (op & 0x10 ? VTD_WAIT_IF : 0) | (uint64_t)data << 32;
		fuzz_queue_push(&v, &mem, &queue_pending, lo, status, true);
		break;
	}
	default: /* a 32-bit write to the register that the opcode byte itself picks */
		fuzz_wr(&v, fuzz_vtd_regs[op % FUZZ_NREGS], fin_u32(in), 4);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t config = fin_u8(&in);
	struct vtd_config cfg = {
		.gpa_bits = haw_choices[(config >> 1) & 7],
		.device_tlb = config & 1,
		.raise_msi = config & 0x10 ? NULL : raise_msi,
	};
	fuzz_load_memory(&in, &mem);

	if (dma_space_init(&space, &mem))
		abort();
	for (unsigned i = 0; i < sizeof(listener_rids) / sizeof(listener_rids[0]); i++)
		if (dma_add_listener(&space, listener_rids[i], on_invalidate, &listener_rids[i]))
			abort();
	if (vtd_init(&v, &space, &cfg))
		abort();
	cap0 = vtd_reg64(&v, VTD_REG_CAP);
	ecap0 = vtd_reg64(&v, VTD_REG_ECAP);
	queue_pending = 0;

	/* At most a few thousand operations: the queue alone may run 32767 descriptors per write. */
	for (unsigned n = 0; in.n && n < 4096; n++) {
		uint64_t descriptors = v.stats.descriptors;
		run_op(&in);
		FUZZ_ASSERT(!fuzz_lock_held(&space));
		FUZZ_ASSERT(space.iommu == &v && space.ops);
		fuzz_vtd_check(&v, cap0, ecap0, descriptors);
	}

	vtd_destroy(&v);
	FUZZ_ASSERT(!dma_space_translated(&space));
	dma_space_destroy(&space);
	fuzz_reset_memory(&mem);
	return 0;
}
