/* libFuzzer target for VT-d interrupt remapping and the router that uses it. The guest's side is
 * taken from the input (register writes, GCMD with SIRTP/IRE/CFI, the invalidation queue with
 * interrupt-entry-cache descriptors, the remapping table in RAM), and so is the devices' side
 * (routes set and cleared with any requester id and message, batches, messages sent directly),
 * on a unit with cfg.intremap and an irq_routing without KVM (vm_fd -1) whose remapper is
 * vtd_ir_remap, told of the unit's changes through cfg.ir_changed as vm.c does.
 *
 * Checked:
 *   every translation (a route set, a re-translation, a message sent): vtd_ir_remap agrees with
 *                   an independent model of VT-d 5.1 and 9.10 (reference_remap: pass-through,
 *                   compatibility format and CFIS, index from handle and subhandle, table size,
 *                   IRTE read, present, reserved fields, source-id, the message); a recorded
 *                   fault holds the requester, FI = index << 48 and the model's reason, and a
 *                   recordable fault not recorded means the records overflowed (PFO); no lock
 *                   held on entry;
 *   every cfg.ir_changed call: first <= last, without the unit's lock, at most one per register
 *                   write; a GCMD write that changes IRES or CFIS or latches a table makes exactly
 *                   one, (0, max, all formats); a queue write that ran an IEC descriptor to the
 *                   tail makes one whose range covers it; the re-translation changes only the
 *                   routes it concerns and commits once exactly when one of their KVM entries
 *                   changed (never inside a batch);
 *   a route set:    translated unless its source is unchanged; one commit exactly when its KVM
 *                   entry changed (none inside a batch); clearing likewise;
 *   always:         with remapping off every route is its source's message; with it on, a
 *                   compatibility-format route is routed exactly while CFIS is set, and a
 *                   remappable one names the entry its handle and subhandle give; outside a
 *                   batch, KVM's table (irq_routing_table) holds exactly the routed routes in
 *                   GSI order with their messages, and `committed` equals the routes; and the
 *                   register invariants of fuzz_vtd_check (fuzz_common.h).
 *
 * Input:
 *   u8 config   bit 0: no MSI callback; bit 1: host address width 39 (else 48)
 *   memory      as fuzz_vtd: u8 count, then count x { u32 offset (mod 2 MiB), u16 length,
 *               bytes }: the first 2 MiB of a 64 MiB guest RAM
 *   operations  until the input ends, each an opcode byte (low 4 bits: kind; the upper bits
 *               modify it) and its arguments, see run_op() */
#include "../../vmm/irq_routing.h"
#include "fuzz_common.h"

#define RAM_SIZE (64ULL << 20)
#define MAX_BATCH 4

static struct guest_memory mem;
static struct dma_space space;
static struct vtd v;
static struct irq_routing rt;
static uint64_t cap0, ecap0;
static unsigned queue_pending, batch_depth;

static void raise_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque;
	(void)addr;
	(void)data;
	FUZZ_ASSERT(fuzz_lock_held(&space));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vmm_log_level = -1;
	if (guest_memory_init(&mem, RAM_SIZE)) {
		fprintf(stderr, "guest_memory_init failed\n");
		abort();
	}
	return 0;
}

/* ---- the model ---- */
struct ref {
	bool blocked, record; /* record: a fault the unit must record (not FPD-suppressed) */
	unsigned reason;
	int index;
	struct msi_msg out;
};

/* VT-d 5.1.2, 5.1.4, 9.10, written from the specification, not from vtd_ir.c. */
FUZZ_NOCOV static struct ref reference_remap(uint16_t sid, struct msi_msg in)
{
	struct ref r = { .index = -1, .out = in };
	uint32_t sts = vtd_reg32(&v, VTD_REG_GSTS);
	bool remappable = in.addr & 0x10;
	if (!(sts & VTD_GSTS_IRES) || (!remappable && (sts & VTD_GSTS_CFIS)))
		return r;
	r.out = (struct msi_msg){ 0, 0 };
	r.blocked = r.record = true;
	if (!remappable) {
		r.reason = 0x25;
		return r;
	}
	unsigned index = (unsigned)(in.addr >> 5 & 0x7FFF) | (unsigned)(in.addr & 4) << 13;
	if (in.addr & 8)
		index += in.data & 0xFFFF;
	r.index = (int)index;
	uint64_t e[2];
	/* Address bits 1:0 are don't-care in the remappable format. */
	if (index >= 2u << (v.irta & 0xF)) {
		r.reason = 0x21;
		return r;
	}
	if (guest_read(&mem, (v.irta & ~0xFFFULL) + index * 16ULL, e, sizeof(e))) {
		r.reason = 0x23;
		return r;
	}
	static const uint16_t ignored[4] = { 0, 4, 6, 7 };
	bool eime = v.irta & (1u << 11);
	unsigned dlm = (unsigned)(e[0] >> 5) & 7, svt = (unsigned)(e[1] >> 18) & 3, sq = (unsigned)(e[1] >> 16) & 3;
	uint16_t want = (uint16_t)e[1];
	r.record = !(e[0] & 2);
	if (!(e[0] & 1))
		r.reason = 0x22;
	else if ((e[0] & 0xFF00F000ULL) || (e[1] >> 20) || (!eime && (e[0] & 0xFFFF00FF00000000ULL)) || dlm == 3 ||
		 dlm == 6 || svt == 3)
		r.reason = 0x24;
	else if (svt == 1 && (sid | ignored[sq]) != (want | ignored[sq]))
		r.reason = 0x26;
	else if (svt == 2 && ((sid >> 8) < (want >> 8) || (sid >> 8) > (want & 0xFF)))
		r.reason = 0x26;
	if (r.reason)
		return r;
	uint32_t dest = eime ? (uint32_t)(e[0] >> 32) : (uint32_t)(e[0] >> 40) & 0xFF;
	r.blocked = r.record = false;
	r.out.addr = 0xFEE00000ULL | (uint64_t)(dest & 0xFF) << 12 | (uint64_t)(dest >> 8) << 40 | (e[0] & 0xC);
	r.out.data = (uint32_t)(e[0] >> 16 & 0xFF) | dlm << 8 | 0x4000 | (e[0] & 0x10 ? 0x8000 : 0);
	return r;
}

/* ---- the remapper, checked ---- */
static uint64_t remaps;
static struct ref last_remap; /* what the last remap() gave, as the model says it */

FUZZ_NOCOV static void check_remap(uint16_t sid, const struct ref *r, int ret, const struct msi_msg *out, int index,
				   uint64_t recorded, unsigned fault_index)
{
	FUZZ_ASSERT(index == r->index);
	FUZZ_ASSERT(ret == (r->blocked ? -EACCES : 0));
	if (!ret)
		FUZZ_ASSERT(out->addr == r->out.addr && out->data == r->out.data);
	if (v.stats.faults_recorded == recorded) {
		/* Recordable and not recorded: only when the records overflowed. */
		FUZZ_ASSERT(!r->record || (vtd_reg32(&v, VTD_REG_FSTS) & VTD_FSTS_PFO));
		return;
	}
	FUZZ_ASSERT(r->record && v.stats.faults_recorded == recorded + 1);
	uint64_t lo = vtd_reg64(&v, VTD_REG_FRCD + fault_index * VTD_FRCD_LEN);
	uint64_t hi = vtd_reg64(&v, VTD_REG_FRCD + fault_index * VTD_FRCD_LEN + 8);
	FUZZ_ASSERT(lo == (uint64_t)(r->index < 0 ? 0 : r->index) << 48);
	FUZZ_ASSERT((hi & VTD_FRCD_HI_F) && !(hi & VTD_FRCD_HI_T));
	FUZZ_ASSERT((uint16_t)hi == sid);
	FUZZ_ASSERT(((hi >> VTD_FRCD_HI_FR_SHIFT) & 0xFF) == r->reason);
}

static int checked_remap(void *opaque, uint16_t sid, const struct msi_msg *in, struct msi_msg *out, int *index)
{
	FUZZ_ASSERT(opaque == &v);
	FUZZ_ASSERT(!fuzz_lock_held(&space));
	struct ref r = reference_remap(sid, *in);
	uint64_t recorded = v.stats.faults_recorded;
	unsigned fault_index = v.fault_index;
	int ret = vtd_ir_remap(opaque, sid, in, out, index);
	check_remap(sid, &r, ret, out, *index, recorded, fault_index);
	remaps++;
	last_remap = r;
	return ret;
}

/* ---- the router ---- */
FUZZ_NOCOV static bool same_route(const struct irq_route *a, const struct irq_route *b)
{
	return a->valid == b->valid && a->sid == b->sid && a->msi_addr == b->msi_addr && a->msi_data == b->msi_data &&
	       a->routed == b->routed && a->out.addr == b->out.addr && a->out.data == b->out.data &&
	       a->ir_index == b->ir_index;
}
/* The KVM entry a route has (routed), as set_msi and commit compare them. */
FUZZ_NOCOV static bool same_entry(const struct irq_route *a, const struct irq_route *b)
{
	bool ra = a->valid && a->routed, rb = b->valid && b->routed;
	return ra == rb && (!ra || (a->out.addr == b->out.addr && a->out.data == b->out.data));
}

/* What holds after every operation (see the top of the file). */
FUZZ_NOCOV static void check_router(void)
{
	uint32_t sts = vtd_reg32(&v, VTD_REG_GSTS);
	const struct kvm_irq_routing *t = irq_routing_table(&rt);
	unsigned n = 0;
	int prev = -1;
	for (unsigned gsi = 0; gsi < IRQ_ROUTING_MAX_GSI; gsi++) {
		const struct irq_route *r = &rt.routes[gsi];
		FUZZ_ASSERT(r->valid || !r->routed);
		if (r->valid && !r->routed)
			FUZZ_ASSERT(r->out.addr == 0 && r->out.data == 0);
		if (r->valid && (!(sts & VTD_GSTS_IRES) || !(r->msi_addr & 0x10))) {
			bool passes = !(sts & VTD_GSTS_IRES) || (sts & VTD_GSTS_CFIS);
			FUZZ_ASSERT(r->ir_index == -1 && r->routed == passes);
			if (passes)
				FUZZ_ASSERT(r->out.addr == r->msi_addr && r->out.data == r->msi_data);
		} else if (r->valid) {
			unsigned index = (unsigned)(r->msi_addr >> 5 & 0x7FFF) | (unsigned)(r->msi_addr & 4) << 13;
			if (r->msi_addr & 8)
				index += r->msi_data & 0xFFFF;
			FUZZ_ASSERT(r->ir_index == (int)index);
		}
		if (rt.batch)
			continue;
		FUZZ_ASSERT(same_route(r, &rt.committed[gsi]));
		if (!r->valid || !r->routed)
			continue;
		FUZZ_ASSERT(t && n < t->nr);
		const struct kvm_irq_routing_entry *e = &t->entries[n++];
		FUZZ_ASSERT((int)e->gsi > prev && e->gsi == gsi && e->type == KVM_IRQ_ROUTING_MSI && e->flags == 0);
		FUZZ_ASSERT(e->u.msi.address_lo == (uint32_t)r->out.addr && e->u.msi.address_hi == (uint32_t)(r->out.addr >> 32));
		FUZZ_ASSERT(e->u.msi.data == r->out.data);
		prev = (int)gsi;
	}
	if (!rt.batch)
		FUZZ_ASSERT(t ? t->nr == n : n == 0);
	FUZZ_ASSERT(rt.batch == batch_depth && (rt.batch || !rt.dirty));
}

static struct irq_route before_routes[IRQ_ROUTING_MAX_GSI];

/* A re-translation of first..last (and with all_formats the routes naming no entry), checked. */
static void retranslate(unsigned first, unsigned last, bool all_formats)
{
	memcpy(before_routes, rt.routes, sizeof(before_routes));
	unsigned commits = rt.commits;
	FUZZ_ASSERT(irq_routing_retranslate(&rt, first, last, all_formats) == 0);
	bool changed = false;
	for (unsigned gsi = 0; gsi < IRQ_ROUTING_MAX_GSI; gsi++) {
		const struct irq_route *b = &before_routes[gsi], *r = &rt.routes[gsi];
		bool concerned = b->valid && (b->ir_index < 0 ? all_formats
							     : (unsigned)b->ir_index >= first && (unsigned)b->ir_index <= last);
		if (!concerned) {
			FUZZ_ASSERT(same_route(r, b));
			continue;
		}
		FUZZ_ASSERT(r->valid && r->sid == b->sid && r->msi_addr == b->msi_addr && r->msi_data == b->msi_data);
		changed |= !same_entry(r, b);
	}
	FUZZ_ASSERT(rt.commits == commits + (changed && !rt.batch));
}

static unsigned ir_calls, mmio_writes; /* during the current operation */
static struct { unsigned first, last; bool all; } told;

static void on_ir_changed(void *opaque, unsigned first, unsigned last, bool all_formats)
{
	FUZZ_ASSERT(opaque == &rt);
	FUZZ_ASSERT(!fuzz_lock_held(&space));
	FUZZ_ASSERT(first <= last);
	ir_calls++;
	told.first = first;
	told.last = last;
	told.all = all_formats;
	retranslate(first, last, all_formats);
}

/* ---- operations ---- */

/* A GSI: 0..15 (the IOAPIC's pins and the first vectors) or the table's last 16. */
static unsigned fin_gsi(struct fuzz_in *in)
{
	uint8_t sel = fin_u8(in);
	return sel & 0x80 ? IRQ_ROUTING_MAX_GSI - 1 - (sel & 0xF) : sel & 0xF;
}

/* A message: with op bit 4, remappable from a 16-bit handle (bit 5: SHV, bit 6: bits 1:0 set);
 * else any address. */
static struct msi_msg fin_msg(struct fuzz_in *in, uint8_t op)
{
	struct msi_msg m;
	if (op & 0x10) {
		uint16_t h = fin_u16(in);
		m.addr = 0xFEE00010ULL | (uint64_t)(h & 0x7FFF) << 5 | (h & 0x8000 ? 4 : 0) | (op & 0x20 ? 8 : 0) |
			 (op & 0x40 ? 3 : 0);
	} else {
		m.addr = fin_u64(in);
	}
	m.data = fin_u32(in);
	return m;
}

static void op_set_route(struct fuzz_in *in, uint8_t op)
{
	unsigned gsi = fin_gsi(in);
	uint16_t sid = fin_u16(in);
	struct msi_msg m = fin_msg(in, op);
	struct irq_route b = rt.routes[gsi];
	unsigned commits = rt.commits;
	uint64_t n = remaps;
	FUZZ_ASSERT(irq_routing_set_msi(&rt, gsi, sid, m.addr, m.data) == 0);
	const struct irq_route *r = &rt.routes[gsi];
	FUZZ_ASSERT(r->valid && r->sid == sid && r->msi_addr == m.addr && r->msi_data == m.data);
	if (b.valid && b.sid == sid && b.msi_addr == m.addr && b.msi_data == m.data) {
		FUZZ_ASSERT(remaps == n && same_route(r, &b) && rt.commits == commits);
		return;
	}
	FUZZ_ASSERT(remaps == n + 1);
	FUZZ_ASSERT(r->routed == !last_remap.blocked && r->ir_index == last_remap.index);
	if (r->routed)
		FUZZ_ASSERT(r->out.addr == last_remap.out.addr && r->out.data == last_remap.out.data);
	FUZZ_ASSERT(rt.commits == commits + (!same_entry(r, &b) && !rt.batch));
}

static void op_clear_route(struct fuzz_in *in)
{
	unsigned gsi = fin_gsi(in);
	struct irq_route b = rt.routes[gsi];
	unsigned commits = rt.commits;
	FUZZ_ASSERT(irq_routing_clear(&rt, gsi) == 0);
	FUZZ_ASSERT(!rt.routes[gsi].valid && !rt.routes[gsi].routed);
	FUZZ_ASSERT(rt.commits == commits + (b.valid && b.routed && !rt.batch));
}

static void op_send(struct fuzz_in *in, uint8_t op)
{
	uint16_t sid = fin_u16(in);
	struct msi_msg m = fin_msg(in, op);
	uint64_t n = remaps, blocked = rt.blocked;
	FUZZ_ASSERT(irq_routing_send_msi(&rt, sid, m.addr, m.data) == 0);
	FUZZ_ASSERT(remaps == n + 1 && rt.blocked == blocked + last_remap.blocked);
}

/* GCMD as Linux writes it; a change of IRES or CFIS, or SIRTP, is told once, for everything. */
static void op_gcmd(struct fuzz_in *in)
{
	uint8_t set = fin_u8(in), clear = fin_u8(in);
	uint32_t sts = vtd_reg32(&v, VTD_REG_GSTS);
	uint64_t iec = v.stats.iec_inval;
	fuzz_gcmd(&v, set, clear);
	uint32_t now = vtd_reg32(&v, VTD_REG_GSTS);
	bool sirtp = (fuzz_gcmd_bits(set) & ~fuzz_gcmd_bits(clear)) & (uint32_t)VTD_GCMD_SIRTP;
	if (((sts ^ now) & (uint32_t)(VTD_GSTS_IRES | VTD_GSTS_CFIS)) || sirtp)
		FUZZ_ASSERT(ir_calls == 1 && told.first == 0 && told.last == UINT32_MAX && told.all);
	else if (v.stats.iec_inval == iec) /* enabling the queue may run IEC descriptors */
		FUZZ_ASSERT(ir_calls == 0);
}

/* An IEC descriptor into the queue: mode bit 0 index-selective, bit 1 submit, bit 2 a wait
 * descriptor (status write) after it. Ran to the tail: the call covers it. */
static void op_iec(struct fuzz_in *in)
{
	uint8_t mode = fin_u8(in);
	uint16_t index = fin_u16(in);
	unsigned im = fin_u8(in) & 0x1F;
	uint64_t lo = VTD_DESC_IEC | (mode & 1 ? VTD_IEC_G_INDEX : 0) | (uint64_t)im << VTD_IEC_IM_SHIFT |
		      (uint64_t)index << VTD_IEC_IIDX_SHIFT;
	uint64_t iec = v.stats.iec_inval;
	bool submit = mode & 2;
	fuzz_queue_push(&v, &mem, &queue_pending, lo, 0, submit && !(mode & 4));
	if (mode & 4)
		fuzz_queue_push(&v, &mem, &queue_pending, VTD_DESC_WAIT | VTD_WAIT_SW | 1ULL << 32, 0x1F0000, submit);
	if (!submit)
		return;
	uint32_t sts = vtd_reg32(&v, VTD_REG_GSTS), fsts = vtd_reg32(&v, VTD_REG_FSTS);
	if (!(sts & VTD_GSTS_QIES) || (fsts & VTD_FSTS_IQE) || v.stats.iec_inval == iec)
		return;
	unsigned count = mode & 1 ? (im >= 16 ? 1u << 16 : 1u << im) : 0;
	unsigned first = mode & 1 ? index & ~(count - 1) : 0, last = mode & 1 ? first + count - 1 : UINT32_MAX;
	FUZZ_ASSERT(ir_calls == 1 && !told.all && told.first <= first && told.last >= last);
}

/* IRTA, as Linux programs it: a table in the window, size S and EIME from the input; op bit 4:
 * then SIRTP. */
static void op_irta(struct fuzz_in *in, uint8_t op)
{
	uint64_t table = fin_u32(in) % FUZZ_WINDOW & ~0xFFFULL;
	uint8_t bits = fin_u8(in);
	fuzz_wr(&v, VTD_REG_IRTA, table | (bits & 0xF) | (bits & 0x10 ? 1u << 11 : 0), 8);
	if (op & 0x10)
		fuzz_gcmd(&v, 0x10, 0); /* SIRTP */
	mmio_writes = op & 0x10 ? 2 : 1;
}

/* An IRTE written where the latched table has it (if that is RAM): the guest's table update. */
static void op_irte(struct fuzz_in *in)
{
	uint16_t index = fin_u16(in);
	uint64_t e[2] = { fin_u64(in), fin_u64(in) };
	if (guest_write(&mem, (v.irta & ~0xFFFULL) + index * 16ULL, e, sizeof(e))) {
		/* not RAM: nothing to write */
	}
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
		fuzz_wr(&v, off, val, (op & 0xF) == 0 ? 4 : 8);
		break;
	}
	case 2:
		op_gcmd(in);
		break;
	case 3:
		op_irta(in, op);
		break;
	case 4:
		op_iec(in);
		break;
	case 5: { /* any descriptor into the queue; bit 4: submit */
		uint64_t lo = fin_u64(in), hi = fin_u64(in);
		fuzz_queue_push(&v, &mem, &queue_pending, lo, hi, op & 0x10);
		break;
	}
	case 6:
		op_irte(in);
		break;
	case 7: { /* 8 bytes anywhere in the window */
		uint64_t off = fin_u32(in) % FUZZ_WINDOW & ~7ULL;
		uint64_t x = fin_u64(in);
		memcpy(guest_ptr(&mem, off, 8), &x, 8);
		break;
	}
	case 8:
		op_set_route(in, op);
		break;
	case 9:
		op_clear_route(in);
		break;
	case 10:
		op_send(in, op);
		break;
	case 11: /* bit 4: open a batch, else close one */
		if ((op & 0x10) && batch_depth < MAX_BATCH) {
			irq_routing_batch_begin(&rt);
			batch_depth++;
		} else if (!(op & 0x10) && batch_depth) {
			unsigned commits = rt.commits;
			bool dirty = rt.dirty;
			batch_depth--;
			FUZZ_ASSERT(irq_routing_batch_end(&rt) == 0);
			FUZZ_ASSERT(rt.commits == commits + (dirty && !batch_depth));
		}
		break;
	case 12: { /* a re-translation as the unit would ask for it */
		unsigned first = fin_u16(in), last = fin_u16(in);
		retranslate(first < last ? first : last, op & 0x20 ? UINT32_MAX : (first < last ? last : first),
			    op & 0x10);
		break;
	}
	case 13:
		fuzz_service_fault(&v); /* two writes: the record, FSTS (which may resume the queue) */
		mmio_writes = 2;
		break;
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
		.gpa_bits = config & 2 ? 39 : 48,
		.raise_msi = config & 1 ? NULL : raise_msi,
		.intremap = true,
		.ir_changed = on_ir_changed,
		.ir_opaque = &rt,
	};
	fuzz_load_memory(&in, &mem);
	if (dma_space_init(&space, &mem) || vtd_init(&v, &space, &cfg) || irq_routing_init(&rt, -1, 24))
		abort();
	irq_routing_set_remapper(&rt, &(struct irq_remapper){ checked_remap, &v });
	cap0 = vtd_reg64(&v, VTD_REG_CAP);
	ecap0 = vtd_reg64(&v, VTD_REG_ECAP);
	FUZZ_ASSERT((ecap0 & (VTD_ECAP_IR | VTD_ECAP_EIM)) == (VTD_ECAP_IR | VTD_ECAP_EIM));
	queue_pending = batch_depth = 0;

	for (unsigned n = 0; in.n && n < 4096; n++) {
		uint64_t descriptors = v.stats.descriptors;
		ir_calls = 0;
		mmio_writes = 1; /* every operation makes one register write at most, unless it says */
		run_op(&in);
		FUZZ_ASSERT(ir_calls <= mmio_writes);
		FUZZ_ASSERT(!fuzz_lock_held(&space));
		fuzz_vtd_check(&v, cap0, ecap0, descriptors);
		check_router();
	}
	while (batch_depth) {
		batch_depth--;
		FUZZ_ASSERT(irq_routing_batch_end(&rt) == 0);
	}
	check_router();

	irq_routing_destroy(&rt);
	vtd_destroy(&v);
	FUZZ_ASSERT(!dma_space_translated(&space));
	dma_space_destroy(&space);
	fuzz_reset_memory(&mem);
	return 0;
}
