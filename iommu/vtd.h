/* The emulated Intel VT-d DMA-remapping unit: one unit for every PCI device (the DMAR table's
 * DRHD has INCLUDE_PCI_ALL), legacy (not scalable) mode, second-level tables only. It is the
 * IOMMU of a dma_space: translate() walks the guest's root, context and page tables; the
 * guest's invalidations (queued or register-based) become dma_notify_locked() calls so that the
 * listeners (vhost's IOTLB) drop exactly the ranges that may have changed.
 *
 * One lock, the dma_space's, covers the registers and serialises translation against
 * invalidation: the MMIO handlers take it, translate() runs with it held. raise_msi and the
 * listeners are called with it held. Interrupt remapping (vtd_ir.c) is the router's remapper:
 * the router calls vtd_ir_remap() with its own lock held, so the unit calls the router
 * (cfg.ir_changed) only after releasing its lock, still inside the guest's register write.
 *
 * Capabilities (one place; the values the guest reads, and why):
 *   VER      1.0
 *   CAP      ND=6 (16-bit domain ids; nothing is keyed by domain), AFL=0, RWBF=0, PLMR=PHMR=0,
 *            CM=0 (caching mode would force the guest into strict mode and a flush per map),
 *            SAGAW=0x6 (3-level/39-bit and 4-level/48-bit tables), MGAW=47 (48 bits, what a
 *            4-level walk covers; vtd_init refuses gpa_bits above 48), ZLR=0,
 *            FRO=0x22 (fault records at 0x220), SLLPS=0x3 (2 MiB and 1 GiB superpages),
 *            PSI=1, NFR=3 (4 fault records), MAMV=18 (one descriptor covers 1 GiB; every mask
 *            costs the same here), DWD=DRD=0 (no drain: invalidations complete synchronously),
 *            ESRTPS=0 (the guest flushes after SRTP).
 *   ECAP     C=1 (coherent: no clflush per table write), QI=1, DT=config.device_tlb,
 *            IR=config.intremap, EIM=IR (x2APIC mode: Linux then runs its x2APIC with remapping,
 *            and 32-bit destinations reach KVM through KVM_CAP_X2APIC_API), PT=1, SC=0 (PTE bit 11 reserved),
 *            IRO=0x20 (IVA/IOTLB at 0x200), MHMV=0, SMTS=0 and no PASID (legacy mode, 128-bit
 *            descriptors), NEST=PRS=DIT=0.
 * No vmm-side IOTLB or context cache: a translation is a few guest_read()s (root, context, up to
 * four levels, and one read of the rest of the leaf table to extend the run), vhost keeps its own
 * IOTLB, and a cache here would only add invalidation work. Nothing non-present is remembered
 * (CM=0: the guest flushes nothing when it maps). */
#ifndef IOMMU_VTD_H
#define IOMMU_VTD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../vmm/bus.h"
#include "../vmm/dma.h"
#include "../vmm/layout.h" /* VTD_BASE 0xFED90000, VTD_SIZE 0x1000: the register block, as on q35 */
#include "../vmm/msi.h"
#include "vtd_regs.h"

struct vtd_config {
	unsigned gpa_bits;       /* host address width (HAW, the DMAR table's width + 1): 32..48 */
	bool device_tlb;         /* offer ECAP.DT (ATS) */
	/* Fault events and invalidation-completion events (compatibility-format MSI). May be NULL. */
	void (*raise_msi)(void *opaque, uint64_t addr, uint32_t data);
	void *msi_opaque;
	bool intremap;           /* offer interrupt remapping (ECAP.IR, EIM) */
	/* Remapping table entries first..last may have changed (all_formats: the remapping state
	 * itself did, which concerns compatibility-format messages too). Called without the lock. */
	void (*ir_changed)(void *opaque, unsigned first, unsigned last, bool all_formats);
	void *ir_opaque;
};

struct vtd_stats {
	uint64_t translations;     /* translate() calls */
	uint64_t faults;           /* translation faults detected (with record_fault) */
	uint64_t faults_recorded;  /* written to a fault recording register */
	uint64_t faults_suppressed; /* not recorded: FPD set in the context entry */
	uint64_t fault_overflows;  /* not recorded: PFO set or the record still full */
	uint64_t fault_events;     /* fault-event interrupts sent */
	uint64_t iotlb_global, iotlb_domain, iotlb_page;
	uint64_t context_inval;    /* context-cache invalidations, any granularity */
	uint64_t devtlb_inval, iec_inval, waits;
	uint64_t descriptors;      /* queued descriptors processed */
	uint64_t queue_errors;     /* IQE */
	uint64_t completion_events; /* invalidation-completion interrupts sent */
	uint64_t notifications;    /* dma_notify_locked() calls (each may reach several listeners) */
	uint64_t ir_translations;  /* remappable interrupt requests translated */
	uint64_t ir_blocked;       /* interrupt requests blocked (a fault, recorded unless FPD) */
	uint64_t register_accesses; /* MMIO reads and writes: each is an exit to vmm */
};

/* Remapping table entries changed since the router last translated its routes again. */
struct vtd_ir_change {
	bool pending, all_formats;
	unsigned first, last;
};

/* Domain ids that a requester's translations were made under: a domain-selective invalidation
 * reaches a listener whose context entry now names another domain but whose cached translations
 * came from the invalidated one (spec-legal when the guest changes a present context entry and
 * invalidates the old domain). Cleared by global invalidations. */
#define VTD_DID_SEEN_MAX 32
struct vtd_did_seen {
	uint16_t rid, did;
};

struct vtd {
	struct dma_space *space;
	struct vtd_config cfg;
	uint64_t regs[VTD_SIZE / 8]; /* the register file, as the guest reads it */
	uint64_t root_table;         /* RTADDR as latched by the last SRTP (10.4.4) */
	uint64_t irta;               /* IRTA as latched by the last SIRTP, for interrupt remapping */
	unsigned fault_index;        /* the fault recording register used next (7.2.1) */
	struct vtd_ir_change ir_changed;
	struct vtd_did_seen did_seen[VTD_DID_SEEN_MAX];
	unsigned n_did_seen;
	bool did_seen_overflow;      /* some were not kept: domain flushes reach every listener */
	struct vtd_stats stats;
};

int vtd_init(struct vtd *v, struct dma_space *space, const struct vtd_config *cfg) __must_check;
void vtd_destroy(struct vtd *v);
/* opaque = struct vtd *; takes dma_lock(space) around every access. */
extern const struct bus_ops vtd_mmio_ops;
void vtd_get_stats(struct vtd *v, struct vtd_stats *out);
/* HAW in bits (= config gpa_bits); the DMAR table stores HAW - 1 in its width field. */
unsigned vtd_host_address_width(const struct vtd *v);
/* The router's remapper (struct irq_remapper.remap): translates an interrupt request from
 * requester sid through the guest's remapping table; takes the lock. */
int vtd_ir_remap(void *vtd, uint16_t sid, const struct msi_msg *in, struct msi_msg *out, int *index);
/* The message an IRTE delivers for requester sid (eime: 32-bit destinations), or the fault
 * reason that blocks it. */
unsigned vtd_irte_decode(const uint64_t irte[2], bool eime, uint16_t sid, struct msi_msg *out);
const char *vtd_ir_fault_reason_name(unsigned reason);

/* ---- Internal to iommu/: the parts of the unit call each other with the lock held. ---- */

/* Capability values used in more than one place (the table above gives the reasons). */
#define VTD_ND   6  /* CAP.ND: 2^(4 + 2 * 6) = 65536 domain ids */
#define VTD_MGAW 48 /* CAP.MGAW + 1: what a 4-level walk covers */
#define VTD_MAMV 18 /* CAP.MAMV: the largest address mask of a page-selective invalidation */

static inline uint32_t vtd_reg32(const struct vtd *v, unsigned off)
{
	uint32_t x;
	memcpy(&x, (const uint8_t *)v->regs + off, 4);
	return x;
}
static inline void vtd_set_reg32(struct vtd *v, unsigned off, uint32_t x) { memcpy((uint8_t *)v->regs + off, &x, 4); }
static inline uint64_t vtd_reg64(const struct vtd *v, unsigned off) { return v->regs[off / 8]; }
static inline void vtd_set_reg64(struct vtd *v, unsigned off, uint64_t x) { v->regs[off / 8] = x; }

/* vtd_translate.c */
int vtd_translate(void *iommu, uint16_t rid, uint64_t iova, unsigned access, bool record_fault,
		  struct dma_translation *out);
/* Up to `max` runs of the present 4 KiB leaves in the last-level table that maps iova (none for
 * a superpage, pass-through or translation off); their number. Records no fault. */
int vtd_prefetch(void *iommu, uint16_t rid, uint64_t iova, struct dma_translation *out, unsigned max);
/* The domain id in rid's present, valid context entry; false when it cannot be determined. */
bool vtd_context_domain(struct vtd *v, uint16_t rid, uint16_t *did);

/* vtd_inval.c */
void vtd_process_queue(struct vtd *v);
void vtd_context_command(struct vtd *v);  /* CCMD written with ICC set */
void vtd_iotlb_command(struct vtd *v);    /* IOTLB_REG written with IVT set */
/* Every listener drops everything: root table change, translation on or off. */
void vtd_invalidate_all(struct vtd *v);
void vtd_note_domain(struct vtd *v, uint16_t rid, uint16_t did);

/* vtd_ir.c */
/* Notes remapping entries that changed (lock held); vtd_ir_take_changes(), called after the lock
 * is released, hands them to cfg.ir_changed. */
void vtd_ir_note_change(struct vtd *v, unsigned first, unsigned last, bool all_formats);
void vtd_ir_take_changes(struct vtd *v);

/* vtd_fault.c */
const char *vtd_fault_reason_name(unsigned reason);
void vtd_record_fault(struct vtd *v, uint16_t rid, uint64_t iova, bool is_write, unsigned reason);
void vtd_set_fault_status(struct vtd *v, uint32_t bits); /* IQE, ICE, ITE: a fault event condition */
void vtd_fault_status_written(struct vtd *v);              /* after the guest's FSTS write */
void vtd_fault_record_written(struct vtd *v);                /* after an F bit was cleared */
void vtd_event_control_written(struct vtd *v, unsigned ctl); /* FECTL or IECTL written */
void vtd_completion_event(struct vtd *v);                   /* a wait descriptor with IF */
void vtd_completion_status_written(struct vtd *v);          /* ICS written */
void vtd_fault_reset_index(struct vtd *v);

#endif
