/* Invalidation (spec 6.5): the queued interface (128-bit descriptors, processed synchronously in
 * the guest's IQT write, since the guest spins on the wait status with interrupts off) and the
 * register-based one (CCMD, IOTLB_REG), which the guest uses before it enables the queue.
 * The unit caches nothing itself; what an invalidation must reach are the listeners' caches
 * (vhost's IOTLB), so each one becomes dma_notify_locked() over the ranges whose translations
 * may have changed, for the devices concerned. Over-invalidation is always safe; when the
 * devices concerned cannot be told apart, all are told. */
#include "vtd.h"

#include <errno.h>

static void vtd_notify(struct vtd *v, bool (*match)(void *ctx, uint16_t rid), void *ctx, uint64_t first,
		       uint64_t last)
{
	v->stats.notifications++;
	dma_notify_locked(v->space, match, ctx, first, last);
}

void vtd_note_domain(struct vtd *v, uint16_t rid, uint16_t did)
{
	for (unsigned i = 0; i < v->n_did_seen; i++)
		if (v->did_seen[i].rid == rid && v->did_seen[i].did == did)
			return;
	if (v->n_did_seen == VTD_DID_SEEN_MAX) {
		v->did_seen_overflow = true;
		return;
	}
	v->did_seen[v->n_did_seen++] = (struct vtd_did_seen){ .rid = rid, .did = did };
}

void vtd_invalidate_all(struct vtd *v)
{
	vtd_notify(v, NULL, NULL, 0, UINT64_MAX);
	/* Every listener dropped everything: no translation is left from any domain. */
	v->n_did_seen = 0;
	v->did_seen_overflow = false;
}

struct vtd_domain_match {
	struct vtd *v;
	uint16_t did;
};

/* A domain-selective invalidation concerns the requesters whose context entry names the domain,
 * those whose translations were made under it, and those whose entry cannot be read now. */
static bool vtd_match_domain(void *opaque, uint16_t rid)
{
	const struct vtd_domain_match *m = opaque;
	uint16_t did;
	if (!vtd_context_domain(m->v, rid, &did) || did == m->did || m->v->did_seen_overflow)
		return true;
	for (unsigned i = 0; i < m->v->n_did_seen; i++)
		if (m->v->did_seen[i].rid == rid && m->v->did_seen[i].did == m->did)
			return true;
	return false;
}

struct vtd_source_match {
	uint16_t sid;
	uint16_t mask; /* the source-id bits compared */
};

static bool vtd_match_source(void *opaque, uint16_t rid)
{
	const struct vtd_source_match *m = opaque;
	return (rid & m->mask) == (m->sid & m->mask);
}

static void vtd_notify_domain(struct vtd *v, uint16_t did, uint64_t first, uint64_t last)
{
	struct vtd_domain_match m = { .v = v, .did = did };
	vtd_notify(v, vtd_match_domain, &m, first, last);
}

/* Context-cache invalidation (6.5.2.1, 10.4.7): the listeners' translations of the devices
 * concerned were all made through the old context entries, so they drop everything. FM masks
 * function-number bits of the source id: 1 bit 2, 2 bits 2:1, 3 bits 2:0. False for a reserved
 * granularity. */
static bool vtd_invalidate_context(struct vtd *v, unsigned g, uint16_t did, uint16_t sid, unsigned fm)
{
	switch (g) {
	case VTD_CC_GLOBAL:
		vtd_invalidate_all(v);
		break;
	case VTD_CC_DOMAIN:
		vtd_notify_domain(v, did, 0, UINT64_MAX);
		break;
	case VTD_CC_DEVICE: {
		uint16_t masked = (uint16_t)(((1u << fm) - 1) << (3 - fm));
		struct vtd_source_match m = { .sid = sid, .mask = (uint16_t)~masked };
		vtd_notify(v, vtd_match_source, &m, 0, UINT64_MAX);
		break;
	}
	default:
		return false;
	}
	v->stats.context_inval++;
	return true;
}

/* IOTLB invalidation (6.5.2.3, 10.4.8). A page-selective one covers 4 KiB << am at the address
 * aligned down to that size (the hardware ignores the address bits under the mask); from an
 * unaligned address the guest may have meant [addr, addr + size) instead, so the listeners are
 * told the union of both. am is at most VTD_MAMV here. False for a reserved granularity. */
static bool vtd_invalidate_iotlb(struct vtd *v, unsigned g, uint16_t did, uint64_t addr, unsigned am)
{
	switch (g) {
	case VTD_IOTLB_GLOBAL:
		v->stats.iotlb_global++;
		vtd_invalidate_all(v);
		return true;
	case VTD_IOTLB_DOMAIN:
		v->stats.iotlb_domain++;
		vtd_notify_domain(v, did, 0, UINT64_MAX);
		return true;
	case VTD_IOTLB_PAGE: {
		uint64_t size = VTD_PAGE_SIZE << am;
		uint64_t first = addr & ~(size - 1);
		uint64_t last = addr > UINT64_MAX - (size - 1) ? UINT64_MAX : addr + (size - 1);
		v->stats.iotlb_page++;
		vtd_notify_domain(v, did, first, last);
		return true;
	}
	default:
		return false;
	}
}

/* Device-TLB invalidation (6.5.2.5): with S clear one 4 KiB page; with S set, the lowest clear
 * address bit from bit 12 up, bit k, gives a range of 2^(k+1) bytes aligned to its size. */
static void vtd_invalidate_device_tlb(struct vtd *v, uint16_t sid, uint64_t hi)
{
	uint64_t addr = hi & VTD_DEVTLB_HI_ADDR;
	uint64_t first = addr, last = addr + VTD_PAGE_SIZE - 1;
	if (hi & VTD_DEVTLB_HI_S) {
		unsigned k = VTD_PAGE_SHIFT + (unsigned)__builtin_ctzll(~(addr >> VTD_PAGE_SHIFT));
		if (k >= 63) {
			first = 0;
			last = UINT64_MAX;
		} else {
			uint64_t size = 2ULL << k;
			first = addr & ~(size - 1);
			last = first + size - 1;
		}
	}
	struct vtd_source_match m = { .sid = sid, .mask = 0xFFFF };
	v->stats.devtlb_inval++;
	vtd_notify(v, vtd_match_source, &m, first, last);
}

/* Interrupt-entry-cache invalidation (6.5.2.7): global, or 2^IM entries from IIDX aligned
 * down to that size. Nothing is cached here; the router's routes that name those entries are
 * translated again once the queue has run (vtd_ir_take_changes). */
static void vtd_invalidate_iec(struct vtd *v, uint64_t lo)
{
	v->stats.iec_inval++;
	if (!(lo & VTD_IEC_G_INDEX)) {
		vtd_ir_note_change(v, 0, UINT32_MAX, false);
		return;
	}
	unsigned im = (unsigned)(lo >> VTD_IEC_IM_SHIFT) & 0x1F;
	unsigned count = im >= 16 ? 1U << 16 : 1U << im;
	unsigned first = (unsigned)(lo >> VTD_IEC_IIDX_SHIFT) & 0xFFFF & ~(count - 1);
	vtd_ir_note_change(v, first, first + count - 1, false);
}

/* Invalidation wait (6.5.2.8): everything before it is done (the queue runs synchronously), so
 * write the status and raise the completion event now. FN (fence) needs nothing more. */
static bool vtd_wait(struct vtd *v, uint64_t lo, uint64_t hi)
{
	if (lo & VTD_WAIT_SW) {
		uint32_t data = (uint32_t)(lo >> VTD_WAIT_SDATA_SHIFT);
		if (guest_write(v->space->mem, hi & VTD_WAIT_HI_ADDR, &data, sizeof(data)))
			return false;
	}
	if (lo & VTD_WAIT_IF)
		vtd_completion_event(v);
	v->stats.waits++;
	return true;
}

/* One descriptor; false when it is invalid (unknown type, reserved bits, a reserved
 * granularity, a failed status write): the queue then stops on it with IQE. */
static bool vtd_process_descriptor(struct vtd *v, uint64_t lo, uint64_t hi)
{
	unsigned g = (unsigned)((lo & VTD_DESC_G_MASK) >> VTD_DESC_G_SHIFT);
	switch (VTD_DESC_TYPE(lo)) {
	case VTD_DESC_CC:
		if ((lo & VTD_CC_LO_RSVD) || (hi & VTD_CC_HI_RSVD))
			return false;
		return vtd_invalidate_context(v, g, (uint16_t)(lo >> VTD_CC_DID_SHIFT),
					      (uint16_t)(lo >> VTD_CC_SID_SHIFT), (unsigned)(lo >> VTD_CC_FM_SHIFT) & 3);
	case VTD_DESC_IOTLB: {
		if ((lo & VTD_IOTLB_LO_RSVD) || (hi & VTD_IOTLB_HI_RSVD))
			return false;
		unsigned am = (unsigned)(hi & VTD_IOTLB_HI_AM_MASK);
		if (g == VTD_IOTLB_PAGE && am > VTD_MAMV) {
			log_guest("vtd: IOTLB invalidation mask %u above MAMV %u: the whole domain instead", am, VTD_MAMV);
			g = VTD_IOTLB_DOMAIN;
		}
		return vtd_invalidate_iotlb(v, g, (uint16_t)(lo >> VTD_IOTLB_DESC_DID_SHIFT), hi & VTD_IOTLB_HI_ADDR, am);
	}
	case VTD_DESC_DEVTLB:
		if (!v->cfg.device_tlb || (lo & VTD_DEVTLB_LO_RSVD) || (hi & VTD_DEVTLB_HI_RSVD))
			return false;
		vtd_invalidate_device_tlb(v, (uint16_t)(lo >> VTD_DEVTLB_SID_SHIFT), hi);
		return true;
	case VTD_DESC_IEC:
		if ((lo & VTD_IEC_LO_RSVD) || (hi & VTD_IEC_HI_RSVD))
			return false;
		vtd_invalidate_iec(v, lo);
		return true;
	case VTD_DESC_WAIT:
		if ((lo & VTD_WAIT_LO_RSVD) || (hi & VTD_WAIT_HI_RSVD))
			return false;
		return vtd_wait(v, lo, hi);
	default:
		return false;
	}
}

static void vtd_queue_error(struct vtd *v, const char *why, unsigned head, uint64_t lo, uint64_t hi)
{
	log_guest("vtd: invalidation queue error at descriptor %u (qw0 %#llx qw1 %#llx): %s", head,
		  (unsigned long long)lo, (unsigned long long)hi, why);
	v->stats.queue_errors++;
	vtd_set_fault_status(v, (uint32_t)VTD_FSTS_IQE);
}

/* Runs the queue from IQH to IQT (6.5.2). On an error IQH stays on the descriptor at fault and
 * nothing more is fetched until the guest clears FSTS.IQE; Linux's recovery relies on both. */
void vtd_process_queue(struct vtd *v)
{
	if (!(vtd_reg32(v, VTD_REG_GSTS) & VTD_GSTS_QIES) || (vtd_reg32(v, VTD_REG_FSTS) & VTD_FSTS_IQE))
		return;
	uint64_t iqa = vtd_reg64(v, VTD_REG_IQA);
	uint64_t base = iqa & VTD_IQA_ADDR;
	unsigned entries = (unsigned)(VTD_PAGE_SIZE / VTD_DESC_SIZE) << (iqa & VTD_IQA_QS_MASK);
	unsigned head = (unsigned)((vtd_reg64(v, VTD_REG_IQH) & VTD_IQ_PTR_MASK) >> VTD_IQ_PTR_SHIFT);
	unsigned tail = (unsigned)((vtd_reg64(v, VTD_REG_IQT) & VTD_IQ_PTR_MASK) >> VTD_IQ_PTR_SHIFT);
	if (head == tail)
		return;
	if (iqa & VTD_IQA_DW) {
		vtd_queue_error(v, "256-bit descriptors need scalable mode", head, 0, 0);
		return;
	}
	if (tail >= entries || head >= entries || (base & VTD_MASK(63, v->cfg.gpa_bits))) {
		vtd_queue_error(v, "queue tail or address outside the queue", head, 0, 0);
		return;
	}
	while (head != tail) {
		uint64_t d[2] = { 0, 0 };
		if (guest_read(v->space->mem, base + (uint64_t)head * VTD_DESC_SIZE, d, sizeof(d))) {
			vtd_queue_error(v, "descriptor not in RAM", head, 0, 0);
			return;
		}
		if (!vtd_process_descriptor(v, d[0], d[1])) {
			vtd_queue_error(v, "invalid descriptor", head, d[0], d[1]);
			return;
		}
		v->stats.descriptors++;
		head = (head + 1) % entries;
		vtd_set_reg64(v, VTD_REG_IQH, (uint64_t)head << VTD_IQ_PTR_SHIFT);
	}
}

/* CCMD with ICC set (10.4.7): done at the requested granularity, reported in CAIG; a reserved
 * one is refused with CAIG 0. ICC clears when done, before the guest can read it. */
void vtd_context_command(struct vtd *v)
{
	uint64_t cmd = vtd_reg64(v, VTD_REG_CCMD);
	unsigned g = (unsigned)(cmd >> VTD_CCMD_CIRG_SHIFT) & 3;
	bool ok = vtd_invalidate_context(v, g, (uint16_t)(cmd >> VTD_CCMD_DID_SHIFT), (uint16_t)(cmd >> VTD_CCMD_SID_SHIFT),
					 (unsigned)(cmd >> VTD_CCMD_FM_SHIFT) & 3);
	cmd &= ~(VTD_CCMD_ICC | VTD_CCMD_CAIG_MASK);
	if (ok)
		cmd |= (uint64_t)g << VTD_CCMD_CAIG_SHIFT;
	else
		log_guest("vtd: context command with reserved granularity refused");
	vtd_set_reg64(v, VTD_REG_CCMD, cmd);
}

/* IOTLB_REG with IVT set (10.4.8): a page-selective request whose mask exceeds MAMV is done for
 * the whole domain; IAIG reports the granularity used, 0 for a refused (reserved) request. */
void vtd_iotlb_command(struct vtd *v)
{
	uint64_t cmd = vtd_reg64(v, VTD_REG_IOTLB);
	uint64_t iva = vtd_reg64(v, VTD_REG_IVA);
	unsigned g = (unsigned)(cmd >> VTD_IOTLB_IIRG_SHIFT) & 3;
	unsigned am = (unsigned)(iva & VTD_IVA_AM_MASK);
	if (g == VTD_IOTLB_PAGE && am > VTD_MAMV)
		g = VTD_IOTLB_DOMAIN;
	bool ok = vtd_invalidate_iotlb(v, g, (uint16_t)(cmd >> VTD_IOTLB_DID_SHIFT), iva & VTD_IVA_ADDR, am);
	cmd &= ~(VTD_IOTLB_IVT | VTD_IOTLB_IAIG_MASK);
	if (ok)
		cmd |= (uint64_t)g << VTD_IOTLB_IAIG_SHIFT;
	else
		log_guest("vtd: IOTLB command with reserved granularity refused");
	vtd_set_reg64(v, VTD_REG_IOTLB, cmd);
}
