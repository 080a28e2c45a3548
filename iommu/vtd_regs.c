/* The VT-d register file (spec chapter 10): a table of registers with their writable and
 * write-1-to-clear bits, and hooks for the registers whose writes do something. Reads come
 * straight from the stored values, so every status the guest reads back is already current:
 * commands complete inside the write that issues them. */
#include "vtd.h"

#include <errno.h>

struct vtd_reg {
	uint16_t off;
	uint8_t size; /* 4 or 8 */
	uint64_t rw;  /* bits the guest writes; the others are read-only or reserved (read 0) */
	uint64_t w1c; /* bits the guest clears by writing 1 */
};

#define FRCD_REGS(n)                                                                            \
	{ VTD_REG_FRCD + (n) * VTD_FRCD_LEN, 8, 0, 0 },                                         \
	{ VTD_REG_FRCD + (n) * VTD_FRCD_LEN + 8, 8, 0, VTD_FRCD_HI_F }

static const struct vtd_reg vtd_regs[] = {
	{ VTD_REG_VER, 4, 0, 0 },
	{ VTD_REG_CAP, 8, 0, 0 },
	{ VTD_REG_ECAP, 8, 0, 0 },
	{ VTD_REG_GCMD, 4, 0, 0 }, /* write only: decoded by vtd_write_gcmd, reads 0 */
	{ VTD_REG_GSTS, 4, 0, 0 },
	{ VTD_REG_RTADDR, 8, VTD_RTADDR_RTA, 0 },
	{ VTD_REG_CCMD, 8, VTD_CCMD_RW, 0 },
	{ VTD_REG_FSTS, 4, 0, VTD_FSTS_W1C },
	{ VTD_REG_FECTL, 4, VTD_EVCTL_IM, 0 },
	{ VTD_REG_FEDATA, 4, VTD_EVDATA_RW, 0 },
	{ VTD_REG_FEADDR, 4, VTD_EVADDR_RW, 0 },
	{ VTD_REG_FEUADDR, 4, 0xFFFFFFFFULL, 0 },
	{ VTD_REG_IQH, 8, 0, 0 },
	{ VTD_REG_IQT, 8, VTD_IQ_PTR_MASK, 0 },
	{ VTD_REG_IQA, 8, VTD_IQA_ADDR | VTD_IQA_DW | VTD_IQA_QS_MASK, 0 },
	{ VTD_REG_ICS, 4, 0, VTD_ICS_IWC },
	{ VTD_REG_IECTL, 4, VTD_EVCTL_IM, 0 },
	{ VTD_REG_IEDATA, 4, VTD_EVDATA_RW, 0 },
	{ VTD_REG_IEADDR, 4, VTD_EVADDR_RW, 0 },
	{ VTD_REG_IEUADDR, 4, 0xFFFFFFFFULL, 0 },
	{ VTD_REG_IRTA, 8, VTD_IRTA_RW, 0 },
	{ VTD_REG_IVA, 8, VTD_IVA_RW, 0 },
	{ VTD_REG_IOTLB, 8, VTD_IOTLB_RW, 0 },
	FRCD_REGS(0), FRCD_REGS(1), FRCD_REGS(2), FRCD_REGS(3),
};
_Static_assert(VTD_NFR == 4, "one FRCD_REGS() per fault recording register");
_Static_assert(VTD_REG_FRCD + VTD_NFR * VTD_FRCD_LEN <= VTD_SIZE, "fault records inside the block");

static const struct vtd_reg *vtd_find_reg(uint64_t off)
{
	for (size_t i = 0; i < sizeof(vtd_regs) / sizeof(vtd_regs[0]); i++)
		if (off >= vtd_regs[i].off && off < vtd_regs[i].off + vtd_regs[i].size)
			return &vtd_regs[i];
	return NULL;
}

/* GCMD (10.4.4): the guest writes the status it wants for the enables (TE, QIE, IRE, CFI), read
 * from GSTS, ORed with at most one one-shot command (SRTP, SIRTP). Each change is done here, so
 * GSTS shows it when the guest reads it back (Linux panics otherwise). WBF, SFL and EAFL need
 * CAP.RWBF and CAP.AFL, which are not offered: ignored. */
static void vtd_write_gcmd(struct vtd *v, uint32_t cmd)
{
	uint32_t sts = vtd_reg32(v, VTD_REG_GSTS);
	bool mappings_changed = false, queue_enabled = false;

	if (cmd & VTD_GCMD_SRTP) {
		v->root_table = vtd_reg64(v, VTD_REG_RTADDR) & VTD_RTADDR_RTA;
		sts |= VTD_GSTS_RTPS;
		mappings_changed = true;
	}
	if ((cmd ^ sts) & VTD_GCMD_TE) {
		sts ^= VTD_GSTS_TES;
		mappings_changed = true;
	}
	if ((cmd ^ sts) & VTD_GCMD_QIE) {
		sts ^= VTD_GSTS_QIES;
		if (sts & VTD_GSTS_QIES) {
			queue_enabled = true;
		} else {
			if (vtd_reg64(v, VTD_REG_IQH) != vtd_reg64(v, VTD_REG_IQT))
				log_guest("vtd: queued invalidation disabled with descriptors pending");
			/* IQH reads 0 while queued invalidation is disabled (10.4.22). */
			vtd_set_reg64(v, VTD_REG_IQH, 0);
		}
	}
	/* Interrupt remapping: a new table, remapping on or off, or compatibility format allowed or
	 * not changes what every route translates to. IRE needs ECAP.IR. */
	uint32_t ir_before = sts & (VTD_GSTS_IRES | VTD_GSTS_CFIS);
	if (cmd & VTD_GCMD_SIRTP) {
		v->irta = vtd_reg64(v, VTD_REG_IRTA);
		sts |= VTD_GSTS_IRTPS;
		vtd_ir_note_change(v, 0, UINT32_MAX, true);
	}
	if (((cmd ^ sts) & VTD_GCMD_IRE) && v->cfg.intremap)
		sts ^= VTD_GSTS_IRES;
	if ((cmd ^ sts) & VTD_GCMD_CFI)
		sts ^= VTD_GSTS_CFIS;
	if ((sts & (VTD_GSTS_IRES | VTD_GSTS_CFIS)) != ir_before)
		vtd_ir_note_change(v, 0, UINT32_MAX, true);
	vtd_set_reg32(v, VTD_REG_GSTS, sts);

	if (!(sts & (VTD_GSTS_TES | VTD_GSTS_IRES)))
		vtd_fault_reset_index(v);
	if (mappings_changed)
		vtd_invalidate_all(v);
	if (queue_enabled)
		vtd_process_queue(v); /* descriptors already between IQH (0) and IQT */
}

/* One access of `len` (4 or 8) bytes at `off`, inside register r. Lock held. */
static void vtd_reg_write(struct vtd *v, const struct vtd_reg *r, unsigned off, uint64_t val, unsigned len)
{
	if (r->off == VTD_REG_GCMD) {
		vtd_write_gcmd(v, (uint32_t)val);
		return;
	}
	unsigned shift = (off - r->off) * 8;
	uint64_t lanes = (len == 8 ? ~0ULL : 0xFFFFFFFFULL) << shift;
	uint64_t in = val << shift;
	uint64_t old = r->size == 8 ? vtd_reg64(v, r->off) : vtd_reg32(v, r->off);
	uint64_t now = (old & ~(r->rw & lanes)) | (in & r->rw & lanes);
	now &= ~(in & r->w1c & lanes);
	if (r->size == 8)
		vtd_set_reg64(v, r->off, now);
	else
		vtd_set_reg32(v, r->off, (uint32_t)now);

	switch (r->off) {
	case VTD_REG_IQT:
		if (lanes & VTD_IQ_PTR_MASK)
			vtd_process_queue(v);
		break;
	case VTD_REG_CCMD:
		if (now & VTD_CCMD_ICC)
			vtd_context_command(v);
		break;
	case VTD_REG_IOTLB:
		if (now & VTD_IOTLB_IVT)
			vtd_iotlb_command(v);
		break;
	case VTD_REG_FSTS:
		vtd_fault_status_written(v);
		/* The queue resumes at IQH once the guest has cleared IQE (6.5.2). */
		if ((old & VTD_FSTS_IQE) && !(now & VTD_FSTS_IQE))
			vtd_process_queue(v);
		break;
	case VTD_REG_FECTL:
	case VTD_REG_IECTL:
		vtd_event_control_written(v, r->off);
		break;
	case VTD_REG_ICS:
		vtd_completion_status_written(v);
		break;
	default:
		if (r->off >= VTD_REG_FRCD && (old & ~now & r->w1c))
			vtd_fault_record_written(v);
		break;
	}
}

static void vtd_mmio_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct vtd *v = opaque;
	memset(data, 0, len);
	if (off >= VTD_SIZE)
		return;
	unsigned n = off + len > VTD_SIZE ? (unsigned)(VTD_SIZE - off) : len;
	dma_lock(v->space);
	v->stats.register_accesses++;
	memcpy(data, (const uint8_t *)v->regs + off, n); /* absent registers and reserved bits are 0 */
	dma_unlock(v->space);
}

/* Registers are written with aligned 32- or 64-bit accesses (10.2); a 64-bit write to two 32-bit
 * registers is two writes, lower first. */
static void vtd_mmio_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct vtd *v = opaque;
	if ((len != 4 && len != 8) || off % len || off >= VTD_SIZE) {
		log_guest("vtd: %u-byte write at 0x%llx ignored (registers take aligned 32/64-bit writes)", len,
			  (unsigned long long)off);
		return;
	}
	uint64_t val = 0;
	memcpy(&val, data, len);
	dma_lock(v->space);
	v->stats.register_accesses++;
	for (unsigned done = 0; done < len;) {
		unsigned at = (unsigned)off + done;
		const struct vtd_reg *r = vtd_find_reg(at);
		if (!r) {
			log_guest("vtd: write to absent register 0x%x ignored", at);
			done += 4;
		} else if (len - done == 8 && r->size == 8) {
			vtd_reg_write(v, r, at, val, 8);
			done += 8;
		} else {
			vtd_reg_write(v, r, at, (uint32_t)(val >> (done * 8)), 4);
			done += 4;
		}
	}
	dma_unlock(v->space);
	vtd_ir_take_changes(v); /* the router translates again, before the guest resumes */
}

const struct bus_ops vtd_mmio_ops = { .read = vtd_mmio_read, .write = vtd_mmio_write };

static const struct dma_iommu_ops vtd_dma_ops = { .translate = vtd_translate, .prefetch = vtd_prefetch };

/* The capability values, explained in vtd.h. */
static void vtd_reset(struct vtd *v)
{
	memset(v->regs, 0, sizeof(v->regs));
	uint64_t cap = (uint64_t)VTD_ND << VTD_CAP_ND_SHIFT |
		       (uint64_t)(VTD_SAGAW_39 | VTD_SAGAW_48) << VTD_CAP_SAGAW_SHIFT |
		       (uint64_t)(VTD_MGAW - 1) << VTD_CAP_MGAW_SHIFT |
		       (uint64_t)(VTD_REG_FRCD / 16) << VTD_CAP_FRO_SHIFT |
		       (uint64_t)(VTD_SLLPS_2M | VTD_SLLPS_1G) << VTD_CAP_SLLPS_SHIFT |
		       VTD_CAP_PSI |
		       (uint64_t)(VTD_NFR - 1) << VTD_CAP_NFR_SHIFT |
		       (uint64_t)VTD_MAMV << VTD_CAP_MAMV_SHIFT;
	uint64_t ecap = VTD_ECAP_C | VTD_ECAP_QI | VTD_ECAP_PT | (uint64_t)(VTD_REG_IVA / 16) << VTD_ECAP_IRO_SHIFT;
	if (v->cfg.device_tlb)
		ecap |= VTD_ECAP_DT;
	if (v->cfg.intremap)
		ecap |= VTD_ECAP_IR | VTD_ECAP_EIM;
	vtd_set_reg32(v, VTD_REG_VER, VTD_VER_1_0);
	vtd_set_reg64(v, VTD_REG_CAP, cap);
	vtd_set_reg64(v, VTD_REG_ECAP, ecap);
	vtd_set_reg32(v, VTD_REG_FECTL, (uint32_t)VTD_EVCTL_IM); /* events masked at reset */
	vtd_set_reg32(v, VTD_REG_IECTL, (uint32_t)VTD_EVCTL_IM);
	v->root_table = 0;
	v->irta = 0;
	v->ir_changed = (struct vtd_ir_change){ 0 };
	v->fault_index = 0;
	v->n_did_seen = 0;
	v->did_seen_overflow = false;
}

int vtd_init(struct vtd *v, struct dma_space *space, const struct vtd_config *cfg)
{
	/* 4-level tables cover 48 bits: a wider guest-physical space would need 5 levels. */
	if (!space || !cfg || cfg->gpa_bits < 32 || cfg->gpa_bits > VTD_MGAW)
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	v->space = space;
	v->cfg = *cfg;
	vtd_reset(v);
	dma_lock(space);
	dma_space_set_iommu(space, &vtd_dma_ops, v);
	dma_unlock(space);
	return 0;
}

void vtd_destroy(struct vtd *v)
{
	if (!v->space)
		return;
	dma_lock(v->space);
	if (v->space->iommu == v)
		dma_space_set_iommu(v->space, NULL, NULL);
	dma_unlock(v->space);
	v->space = NULL;
}

void vtd_get_stats(struct vtd *v, struct vtd_stats *out)
{
	if (!v->space) { /* destroyed: nothing changes them any more */
		*out = v->stats;
		return;
	}
	dma_lock(v->space);
	*out = v->stats;
	dma_unlock(v->space);
}

unsigned vtd_host_address_width(const struct vtd *v) { return v->cfg.gpa_bits; }
