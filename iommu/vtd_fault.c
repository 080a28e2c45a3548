/* Fault reporting (spec 7.2, 7.3): primary fault logging into the fault recording registers,
 * the fault status register, and the two interrupt sources that share one model, the fault
 * event (FECTL/FEDATA/FEADDR/FEUADDR) and the invalidation-completion event (IECTL/...), both
 * sent as compatibility-format MSIs. */
#include "vtd.h"

static const char *const vtd_fault_reasons[] = {
	[VTD_FR_ROOT_NOT_PRESENT] = "root entry not present",
	[VTD_FR_CONTEXT_NOT_PRESENT] = "context entry not present",
	[VTD_FR_CONTEXT_INVALID] = "invalid context entry",
	[VTD_FR_ADDR_BEYOND_AW] = "address beyond the address width",
	[VTD_FR_WRITE] = "write not permitted",
	[VTD_FR_READ] = "read not permitted",
	[VTD_FR_PTE_READ] = "page-table entry read failed",
	[VTD_FR_ROOT_READ] = "root table read failed",
	[VTD_FR_CONTEXT_READ] = "context table read failed",
	[VTD_FR_ROOT_RESERVED] = "reserved bit in root entry",
	[VTD_FR_CONTEXT_RESERVED] = "reserved bit in context entry",
	[VTD_FR_PTE_RESERVED] = "reserved bit in page-table entry",
};

const char *vtd_fault_reason_name(unsigned reason)
{
	if (reason < sizeof(vtd_fault_reasons) / sizeof(vtd_fault_reasons[0]) && vtd_fault_reasons[reason])
		return vtd_fault_reasons[reason];
	return "unknown";
}

static void vtd_event_send(struct vtd *v, unsigned ctl)
{
	uint64_t addr = (uint64_t)vtd_reg32(v, ctl + VTD_EV_UADDR) << 32 | vtd_reg32(v, ctl + VTD_EV_ADDR);
	uint32_t data = vtd_reg32(v, ctl + VTD_EV_DATA);
	if (ctl == VTD_REG_FECTL)
		v->stats.fault_events++;
	else
		v->stats.completion_events++;
	if (v->cfg.raise_msi)
		v->cfg.raise_msi(v->cfg.msi_opaque, addr, data);
}

/* An interrupt condition for the event block at ctl (7.3): sent at once unless masked, else kept
 * pending in IP until the guest unmasks. */
static void vtd_event_raise(struct vtd *v, unsigned ctl)
{
	uint32_t c = vtd_reg32(v, ctl);
	if (c & VTD_EVCTL_IM) {
		vtd_set_reg32(v, ctl, c | (uint32_t)VTD_EVCTL_IP);
		return;
	}
	vtd_set_reg32(v, ctl, c & ~(uint32_t)VTD_EVCTL_IP);
	vtd_event_send(v, ctl);
}

void vtd_event_control_written(struct vtd *v, unsigned ctl)
{
	uint32_t c = vtd_reg32(v, ctl);
	if ((c & VTD_EVCTL_IP) && !(c & VTD_EVCTL_IM)) {
		vtd_set_reg32(v, ctl, c & ~(uint32_t)VTD_EVCTL_IP);
		vtd_event_send(v, ctl);
	}
}

/* Sets status bits in FSTS. A fault event is generated only when no status field was set
 * before: one already set means an interrupt the guest has not serviced yet (7.3). */
static void vtd_fault_status_set(struct vtd *v, uint32_t bits)
{
	uint32_t old = vtd_reg32(v, VTD_REG_FSTS);
	vtd_set_reg32(v, VTD_REG_FSTS, old | bits);
	if (!(old & VTD_FSTS_EVENTS))
		vtd_event_raise(v, VTD_REG_FECTL);
}

void vtd_set_fault_status(struct vtd *v, uint32_t bits) { vtd_fault_status_set(v, bits); }

/* IP also clears when the guest has serviced every status field (10.4.11). */
static void vtd_fault_status_check_serviced(struct vtd *v)
{
	if (!(vtd_reg32(v, VTD_REG_FSTS) & VTD_FSTS_EVENTS))
		vtd_set_reg32(v, VTD_REG_FECTL, vtd_reg32(v, VTD_REG_FECTL) & ~(uint32_t)VTD_EVCTL_IP);
}

void vtd_fault_status_written(struct vtd *v) { vtd_fault_status_check_serviced(v); }

static unsigned vtd_frcd(unsigned index) { return VTD_REG_FRCD + index * VTD_FRCD_LEN; }

/* PPF is the OR of the records' F bits, recomputed whenever one changes (7.2.1). */
void vtd_fault_record_written(struct vtd *v)
{
	bool pending = false;
	for (unsigned i = 0; i < VTD_NFR; i++)
		pending |= (vtd_reg64(v, vtd_frcd(i) + 8) & VTD_FRCD_HI_F) != 0;
	if (!pending)
		vtd_set_reg32(v, VTD_REG_FSTS, vtd_reg32(v, VTD_REG_FSTS) & ~(uint32_t)VTD_FSTS_PPF);
	vtd_fault_status_check_serviced(v);
}

void vtd_fault_reset_index(struct vtd *v) { v->fault_index = 0; }

/* Primary fault logging (7.2.1), for DMA and interrupt-remapping faults (an interrupt's FI holds
 * its index in bits 63:48): nothing is recorded while PFO is set; the record at the
 * internal index still full sets PFO instead; otherwise the fault goes there, FRI names it if it
 * is the first pending one, and the index moves on (wrapping). */
void vtd_record_fault(struct vtd *v, uint16_t rid, uint64_t iova, bool is_write, unsigned reason)
{
	if (reason >= VTD_FR_IR_REQ_RESERVED)
		log_guest("vtd: interrupt from %02x:%02x.%u blocked, index %llu (reason 0x%x: %s)", rid >> 8,
			  (rid >> 3) & 0x1F, rid & 7, (unsigned long long)(iova >> VTD_FRCD_LO_IR_INDEX_SHIFT), reason,
			  vtd_ir_fault_reason_name(reason));
	else
		log_guest("vtd: DMA %s fault from %02x:%02x.%u at iova 0x%llx (reason 0x%x: %s)", is_write ? "write" : "read",
			  rid >> 8, (rid >> 3) & 0x1F, rid & 7, (unsigned long long)iova, reason, vtd_fault_reason_name(reason));
	uint32_t fsts = vtd_reg32(v, VTD_REG_FSTS);
	if (fsts & VTD_FSTS_PFO) {
		v->stats.fault_overflows++;
		return;
	}
	unsigned index = v->fault_index;
	unsigned frcd = vtd_frcd(index);
	if (vtd_reg64(v, frcd + 8) & VTD_FRCD_HI_F) {
		v->stats.fault_overflows++;
		vtd_fault_status_set(v, (uint32_t)VTD_FSTS_PFO);
		return;
	}
	vtd_set_reg64(v, frcd, iova & VTD_FRCD_LO_FI);
	vtd_set_reg64(v, frcd + 8, VTD_FRCD_HI_F | (is_write ? 0 : VTD_FRCD_HI_T) |
				   (uint64_t)(reason & 0xFF) << VTD_FRCD_HI_FR_SHIFT | (uint64_t)rid << VTD_FRCD_HI_SID_SHIFT);
	v->fault_index = (index + 1) % VTD_NFR;
	v->stats.faults_recorded++;
	if (!(fsts & VTD_FSTS_PPF))
		vtd_set_reg32(v, VTD_REG_FSTS, (fsts & ~(uint32_t)VTD_FSTS_FRI_MASK) | index << VTD_FSTS_FRI_SHIFT);
	vtd_fault_status_set(v, (uint32_t)VTD_FSTS_PPF);
}

/* Invalidation-completion event (6.5.2.8, 10.4.25): ICS.IWC records it; while IWC is still set
 * a new one is not a new interrupt condition. IP clears when the guest clears IWC. */
void vtd_completion_event(struct vtd *v)
{
	uint32_t ics = vtd_reg32(v, VTD_REG_ICS);
	if (ics & VTD_ICS_IWC)
		return;
	vtd_set_reg32(v, VTD_REG_ICS, ics | (uint32_t)VTD_ICS_IWC);
	vtd_event_raise(v, VTD_REG_IECTL);
}

void vtd_completion_status_written(struct vtd *v)
{
	if (!(vtd_reg32(v, VTD_REG_ICS) & VTD_ICS_IWC))
		vtd_set_reg32(v, VTD_REG_IECTL, vtd_reg32(v, VTD_REG_IECTL) & ~(uint32_t)VTD_EVCTL_IP);
}
