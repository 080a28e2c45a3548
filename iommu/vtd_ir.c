/* Interrupt remapping (VT-d spec chapter 5, the IRTE in 9.10): an interrupt request is an MSI
 * write; in remappable format its address names an entry of the guest's interrupt remapping
 * table, which gives the real destination, vector and delivery mode, and says which requester
 * may use it. vmm translates at route set-up (the router calls vtd_ir_remap for every route and
 * for every message vmm sends itself), so an irqfd delivers through a KVM route that already
 * holds the translation; the guest's interrupt-entry-cache invalidations and its changes of
 * IRE, SIRTP and CFI make the router translate the affected routes again (vtd_ir_take_changes).
 * Nothing is cached here: each translation reads the entry from guest memory. */
#include "vtd.h"

#include <errno.h>

static const char *const vtd_ir_fault_reasons[] = {
	[VTD_FR_IR_REQ_RESERVED - 0x20] = "reserved field in the interrupt request",
	[VTD_FR_IR_INDEX - 0x20] = "interrupt index beyond the table",
	[VTD_FR_IR_NOT_PRESENT - 0x20] = "table entry not present",
	[VTD_FR_IR_TABLE_READ - 0x20] = "table entry read failed",
	[VTD_FR_IR_IRTE_RESERVED - 0x20] = "reserved field in the table entry",
	[VTD_FR_IR_COMPAT_BLOCKED - 0x20] = "compatibility-format interrupt blocked",
	[VTD_FR_IR_SID - 0x20] = "source-id verification failed",
};

const char *vtd_ir_fault_reason_name(unsigned reason)
{
	if (reason >= 0x20 && reason - 0x20 < sizeof(vtd_ir_fault_reasons) / sizeof(vtd_ir_fault_reasons[0]))
		return vtd_ir_fault_reasons[reason - 0x20];
	return "unknown";
}

/* Source validation (9.10, SVT/SQ/SID): 0 when requester `sid` may use the entry. */
static unsigned vtd_irte_check_source(uint64_t hi, uint16_t sid)
{
	uint16_t want = (uint16_t)(hi & VTD_IRTE_HI_SID_MASK);
	unsigned sq = (unsigned)(hi >> VTD_IRTE_HI_SQ_SHIFT) & 3;
	switch ((hi >> VTD_IRTE_HI_SVT_SHIFT) & 3) {
	case VTD_SVT_NONE:
		return 0;
	case VTD_SVT_SID: {
		/* SQ 1, 2, 3: function-number bits 2, 2:1, 2:0 are not compared. */
		static const uint16_t ignored[4] = { 0, 0x4, 0x6, 0x7 };
		return ((sid ^ want) & (uint16_t)~ignored[sq]) ? VTD_FR_IR_SID : 0;
	}
	case VTD_SVT_BUS: {
		unsigned bus = sid >> 8;
		return bus < (unsigned)(want >> 8) || bus > (unsigned)(want & 0xFF) ? VTD_FR_IR_SID : 0;
	}
	default:
		return VTD_FR_IR_IRTE_RESERVED;
	}
}

unsigned vtd_irte_decode(const uint64_t irte[2], bool eime, uint16_t sid, struct msi_msg *out)
{
	uint64_t lo = irte[0], hi = irte[1];
	if (!(lo & VTD_IRTE_P))
		return VTD_FR_IR_NOT_PRESENT;
	unsigned dlm = (unsigned)((lo & VTD_IRTE_DLM_MASK) >> VTD_IRTE_DLM_SHIFT);
	/* Posted format (IM) needs ECAP.PI; delivery modes 3 and 6 are reserved. */
	if ((lo & (VTD_IRTE_LO_RSVD | VTD_IRTE_IM)) || (hi & VTD_IRTE_HI_RSVD) ||
	    (!eime && (lo & VTD_IRTE_XAPIC_DST_RSVD)) || dlm == 3 || dlm == 6)
		return VTD_FR_IR_IRTE_RESERVED;
	unsigned bad_source = vtd_irte_check_source(hi, sid);
	if (bad_source)
		return bad_source;
	uint32_t dst = eime ? (uint32_t)(lo >> VTD_IRTE_DST_SHIFT) : (uint32_t)(lo >> VTD_IRTE_XAPIC_DST_SHIFT) & 0xFF;
	out->addr = MSI_ADDR_BASE | (uint64_t)(dst & 0xFF) << MSI_ADDR_DEST_SHIFT |
		    (uint64_t)(dst & ~0xFFU) << MSI_ADDR_HI_DEST_SHIFT |
		    (lo & VTD_IRTE_RH ? MSI_ADDR_REDIR_HINT : 0) | (lo & VTD_IRTE_DM ? MSI_ADDR_DEST_LOGICAL : 0);
	out->data = (uint32_t)(lo >> VTD_IRTE_VECTOR_SHIFT) & MSI_DATA_VECTOR_MASK;
	out->data |= dlm << MSI_DATA_DELMODE_SHIFT | MSI_DATA_LEVEL_ASSERT;
	if (lo & VTD_IRTE_TM)
		out->data |= MSI_DATA_TRIGGER_LEVEL;
	return 0;
}

/* The table index a remappable request names (5.1.2.2): the handle, plus the subhandle in the
 * data when SHV is set. */
static unsigned vtd_ir_index(const struct msi_msg *in)
{
	unsigned handle = (unsigned)((in->addr & MSI_ADDR_IR_HANDLE_MASK) >> MSI_ADDR_IR_HANDLE_SHIFT) |
			  (in->addr & MSI_ADDR_IR_HANDLE15 ? 1U << 15 : 0);
	if (in->addr & MSI_ADDR_IR_SHV)
		handle += in->data & MSI_DATA_IR_SUBHANDLE;
	return handle;
}

/* A blocked request: recorded unless the entry's FPD says not to. Lock held. */
static int vtd_ir_block(struct vtd *v, uint16_t sid, unsigned index, unsigned reason, bool fpd)
{
	v->stats.ir_blocked++;
	if (fpd) {
		v->stats.faults_suppressed++;
		return -EACCES;
	}
	v->stats.faults++;
	vtd_record_fault(v, sid, (uint64_t)index << VTD_FRCD_LO_IR_INDEX_SHIFT, true, reason);
	return -EACCES;
}

int vtd_ir_remap(void *opaque, uint16_t sid, const struct msi_msg *in, struct msi_msg *out, int *index)
{
	struct vtd *v = opaque;
	int ret = 0;
	*index = -1;
	dma_lock(v->space);
	uint32_t sts = vtd_reg32(v, VTD_REG_GSTS);
	if (!(sts & VTD_GSTS_IRES)) {
		*out = *in; /* remapping off: every request goes as it is (5.1.1) */
	} else if (!(in->addr & MSI_ADDR_IR_FORMAT)) {
		/* Compatibility format: passed through while CFIS is set, else blocked (5.1.2.1). */
		if (sts & VTD_GSTS_CFIS)
			*out = *in;
		else
			ret = vtd_ir_block(v, sid, 0, VTD_FR_IR_COMPAT_BLOCKED, false);
	} else {
		unsigned i = vtd_ir_index(in);
		unsigned entries = 2U << (v->irta & VTD_IRTA_S_MASK);
		uint64_t irte[2];
		*index = (int)i;
		v->stats.ir_translations++;
		/* Address bits 1:0 are don't-care in the remappable format (5.1.2.2). */
		if (i >= entries) {
			ret = vtd_ir_block(v, sid, i, VTD_FR_IR_INDEX, false);
		} else if (guest_read(v->space->mem, (v->irta & VTD_IRTA_ADDR) + (uint64_t)i * VTD_IRTE_SIZE, irte,
				      sizeof(irte))) {
			ret = vtd_ir_block(v, sid, i, VTD_FR_IR_TABLE_READ, false);
		} else {
			unsigned reason = vtd_irte_decode(irte, v->irta & VTD_IRTA_EIME, sid, out);
			if (reason)
				ret = vtd_ir_block(v, sid, i, reason, irte[0] & VTD_IRTE_FPD);
		}
	}
	dma_unlock(v->space);
	return ret;
}

void vtd_ir_note_change(struct vtd *v, unsigned first, unsigned last, bool all_formats)
{
	if (!v->ir_changed.pending) {
		v->ir_changed = (struct vtd_ir_change){ .pending = true, .first = first, .last = last };
	} else {
		if (first < v->ir_changed.first)
			v->ir_changed.first = first;
		if (last > v->ir_changed.last)
			v->ir_changed.last = last;
	}
	v->ir_changed.all_formats |= all_formats;
}

void vtd_ir_take_changes(struct vtd *v)
{
	dma_lock(v->space);
	struct vtd_ir_change c = v->ir_changed;
	v->ir_changed.pending = false;
	dma_unlock(v->space);
	if (c.pending && v->cfg.ir_changed)
		v->cfg.ir_changed(v->cfg.ir_opaque, c.first, c.last, c.all_formats);
}
