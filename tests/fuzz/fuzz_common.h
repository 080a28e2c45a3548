/* Shared by the libFuzzer targets: reading the fuzz input, laying its memory section into guest
 * RAM, resetting RAM between inputs, and driving the VT-d unit through its MMIO ops as a guest
 * would. Everything here runs without KVM. */
#ifndef TESTS_FUZZ_COMMON_H
#define TESTS_FUZZ_COMMON_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../iommu/vtd.h"
#include "../../iommu/vtd_regs.h"
#include "../../vmm/dma.h"
#include "../../vmm/log.h"
#include "../../vmm/memory.h"

/* An invariant that must hold whatever the guest does: report and abort (libFuzzer keeps the
 * input as a crash). */
#define FUZZ_ASSERT(cond)                                                                           \
	do {                                                                                        \
		if (!(cond)) {                                                                      \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                    \
		}                                                                                   \
	} while (0)

/* For the harness's own checks: their branches are no coverage worth pursuing, and their loops
 * would cost the instrumentation's time on every operation. */
#define FUZZ_NOCOV __attribute__((no_sanitize("coverage"), noinline))

/* The part of guest RAM that the input's memory section fills: root, context and page tables,
 * the invalidation queue. Table pointers may still point anywhere in RAM (zeros there). */
#define FUZZ_WINDOW (2ULL << 20)

/* ---- the input, consumed front to back; past its end every field reads as zeros ---- */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline void fin_take(struct fuzz_in *in, void *out, size_t len)
{
	size_t k = len < in->n ? len : in->n;
	memcpy(out, in->p, k);
	memset((uint8_t *)out + k, 0, len - k);
	in->p += k;
	in->n -= k;
}
static inline uint8_t fin_u8(struct fuzz_in *in) { uint8_t x; fin_take(in, &x, 1); return x; }
static inline uint16_t fin_u16(struct fuzz_in *in) { uint16_t x; fin_take(in, &x, 2); return x; }
static inline uint32_t fin_u32(struct fuzz_in *in) { uint32_t x; fin_take(in, &x, 4); return x; }
static inline uint64_t fin_u64(struct fuzz_in *in) { uint64_t x; fin_take(in, &x, 8); return x; }

/* The memory section: u8 count, then count chunks of { u32 offset (modulo the window), u16
 * length, bytes }; a chunk is cut at the window's end and at the input's end. */
static inline void fuzz_load_memory(struct fuzz_in *in, const struct guest_memory *mem)
{
	unsigned chunks = fin_u8(in);
	for (unsigned i = 0; i < chunks && in->n; i++) {
		uint64_t off = fin_u32(in) % FUZZ_WINDOW;
		size_t len = fin_u16(in);
		if (len > FUZZ_WINDOW - off)
			len = FUZZ_WINDOW - off;
		if (len > in->n)
			len = in->n;
		memcpy(guest_ptr(mem, off, len), in->p, len);
		in->p += len;
		in->n -= len;
	}
}

/* Every byte of RAM back to zero for the next input (the device may have written anywhere in
 * RAM: wait status words, DMA): private anonymous pages are dropped and read back as zeros. */
static inline void fuzz_reset_memory(const struct guest_memory *mem)
{
	if (madvise(mem->host, mem->ram_size, MADV_DONTNEED)) {
		perror("madvise");
		abort();
	}
}

/* ---- the VT-d unit, as the guest sees it ---- */

/* The register offsets a write may be steered to (op variant), upper halves included. */
static const uint16_t fuzz_vtd_regs[] = {
	VTD_REG_VER, VTD_REG_CAP, VTD_REG_CAP + 4, VTD_REG_ECAP, VTD_REG_ECAP + 4, VTD_REG_GCMD,
	VTD_REG_GSTS, VTD_REG_RTADDR, VTD_REG_RTADDR + 4, VTD_REG_CCMD, VTD_REG_CCMD + 4, VTD_REG_FSTS,
	VTD_REG_FECTL, VTD_REG_FEDATA, VTD_REG_FEADDR, VTD_REG_FEUADDR, VTD_REG_IQH, VTD_REG_IQH + 4,
	VTD_REG_IQT, VTD_REG_IQT + 4, VTD_REG_IQA, VTD_REG_IQA + 4, VTD_REG_ICS, VTD_REG_IECTL,
	VTD_REG_IEDATA, VTD_REG_IEADDR, VTD_REG_IEUADDR, VTD_REG_IRTA, VTD_REG_IRTA + 4, VTD_REG_IVA,
	VTD_REG_IVA + 4, VTD_REG_IOTLB, VTD_REG_IOTLB + 4,
	VTD_REG_FRCD + 0x00, VTD_REG_FRCD + 0x08, VTD_REG_FRCD + 0x0C,
	VTD_REG_FRCD + 0x10, VTD_REG_FRCD + 0x18, VTD_REG_FRCD + 0x1C,
	VTD_REG_FRCD + 0x20, VTD_REG_FRCD + 0x28, VTD_REG_FRCD + 0x2C,
	VTD_REG_FRCD + 0x30, VTD_REG_FRCD + 0x38, VTD_REG_FRCD + 0x3C,
};
#define FUZZ_NREGS (sizeof(fuzz_vtd_regs) / sizeof(fuzz_vtd_regs[0]))

/* True when the 4 bytes at off belong to a register the unit implements (any other offset must
 * read 0 for ever). */
FUZZ_NOCOV static inline bool fuzz_vtd_implemented(unsigned off)
{
	static const struct { uint16_t off, size; } regs[] = {
		{ VTD_REG_VER, 4 }, { VTD_REG_CAP, 8 }, { VTD_REG_ECAP, 8 }, { VTD_REG_GCMD, 4 },
		{ VTD_REG_GSTS, 4 }, { VTD_REG_RTADDR, 8 }, { VTD_REG_CCMD, 8 }, { VTD_REG_FSTS, 4 },
		{ VTD_REG_FECTL, 16 }, { VTD_REG_IQH, 24 }, { VTD_REG_ICS, 4 }, { VTD_REG_IECTL, 16 },
		{ VTD_REG_IRTA, 8 }, { VTD_REG_IVA, 16 }, { VTD_REG_FRCD, VTD_NFR * VTD_FRCD_LEN },
	};
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (off >= regs[i].off && off < regs[i].off + regs[i].size)
			return true;
	return false;
}

static inline void fuzz_wr(struct vtd *v, unsigned off, uint64_t x, unsigned len)
{
	vtd_mmio_ops.write(v, off, &x, len);
}
static inline uint64_t fuzz_rd(struct vtd *v, unsigned off, unsigned len)
{
	uint64_t x = 0;
	vtd_mmio_ops.read(v, off, &x, len);
	return x;
}

/* GCMD as Linux writes it: the enables GSTS shows, ORed with `set`, without `clear`. The bits of
 * set and clear pick among TE, SRTP, QIE, IRE, SIRTP, CFI (bit i of the byte: gcmd_bits[i]). */
static inline uint32_t fuzz_gcmd_bits(uint8_t b)
{
	static const uint32_t bits[] = {
		(uint32_t)VTD_GCMD_TE, (uint32_t)VTD_GCMD_SRTP, (uint32_t)VTD_GCMD_QIE, (uint32_t)VTD_GCMD_IRE,
		(uint32_t)VTD_GCMD_SIRTP, (uint32_t)VTD_GCMD_CFI, (uint32_t)VTD_GCMD_WBF, (uint32_t)VTD_GCMD_SFL,
	};
	uint32_t x = 0;
	for (unsigned i = 0; i < 8; i++)
		if (b & (1u << i))
			x |= bits[i];
	return x;
}
static inline void fuzz_gcmd(struct vtd *v, uint8_t set, uint8_t clear)
{
	uint32_t keep = (uint32_t)fuzz_rd(v, VTD_REG_GSTS, 4) &
			(uint32_t)(VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_CFI);
	fuzz_wr(v, VTD_REG_GCMD, (keep | fuzz_gcmd_bits(set)) & ~fuzz_gcmd_bits(clear), 4);
}

/* A descriptor written where the guest's tail is in the queue IQA names (guest RAM); with
 * `submit`, IQT moved on past every descriptor written since the last submission: what
 * qi_submit_sync does, whatever the descriptors. `pending` is the guest's count of descriptors
 * written and not yet submitted. */
static inline void fuzz_queue_push(struct vtd *v, const struct guest_memory *mem, unsigned *pending, uint64_t lo,
				   uint64_t hi, bool submit)
{
	uint64_t iqa = fuzz_rd(v, VTD_REG_IQA, 8);
	unsigned entries = 256u << (iqa & VTD_IQA_QS_MASK);
	unsigned tail = (unsigned)((fuzz_rd(v, VTD_REG_IQT, 8) >> VTD_IQ_PTR_SHIFT) + *pending) % entries;
	uint64_t d[2] = { lo, hi };
	if (guest_write(mem, (iqa & VTD_IQA_ADDR) + tail * 16ULL, d, sizeof(d))) {
		/* Not RAM: the guest believes it wrote it all the same. */
	}
	++*pending;
	if (submit) {
		fuzz_wr(v, VTD_REG_IQT, (uint64_t)((tail + 1) % entries) << VTD_IQ_PTR_SHIFT, 8);
		*pending = 0;
	}
}

/* As Linux's fault handler: clear the record FRI names, then PFO/PPF in FSTS. */
static inline void fuzz_service_fault(struct vtd *v)
{
	uint32_t fsts = (uint32_t)fuzz_rd(v, VTD_REG_FSTS, 4);
	unsigned fri = (fsts & VTD_FSTS_FRI_MASK) >> VTD_FSTS_FRI_SHIFT;
	fuzz_wr(v, VTD_REG_FRCD + fri * VTD_FRCD_LEN + 12, (uint32_t)(VTD_FRCD_HI_F >> 32), 4);
	fuzz_wr(v, VTD_REG_FSTS, fsts & (uint32_t)VTD_FSTS_W1C, 4);
}

/* The lock must be held (listeners, MSIs) or free (between operations). */
static inline bool fuzz_lock_held(struct dma_space *s)
{
	int r = pthread_mutex_trylock(&s->lock);
	if (r == 0)
		pthread_mutex_unlock(&s->lock);
	return r == EBUSY;
}

/* Invariants of the register file that hold after any sequence of guest accesses. */
FUZZ_NOCOV static inline void fuzz_vtd_check(struct vtd *v, uint64_t cap, uint64_t ecap, uint64_t descriptors_before)
{
	FUZZ_ASSERT(vtd_reg32(v, VTD_REG_VER) == VTD_VER_1_0);
	FUZZ_ASSERT(vtd_reg64(v, VTD_REG_CAP) == cap);
	FUZZ_ASSERT(vtd_reg64(v, VTD_REG_ECAP) == ecap);
	FUZZ_ASSERT(vtd_reg32(v, VTD_REG_GCMD) == 0); /* write only */
	uint32_t gsts = vtd_reg32(v, VTD_REG_GSTS);
	FUZZ_ASSERT(!(gsts & ~(uint32_t)(VTD_GSTS_TES | VTD_GSTS_RTPS | VTD_GSTS_QIES | VTD_GSTS_IRES |
					 VTD_GSTS_IRTPS | VTD_GSTS_CFIS)));
	/* Commands complete inside the write that issues them. */
	FUZZ_ASSERT(!(vtd_reg64(v, VTD_REG_CCMD) & VTD_CCMD_ICC));
	FUZZ_ASSERT(!(vtd_reg64(v, VTD_REG_IOTLB) & VTD_IOTLB_IVT));

	/* Faults: FRI names a record, the index too; PPF is the OR of the F bits. */
	uint32_t fsts = vtd_reg32(v, VTD_REG_FSTS);
	FUZZ_ASSERT(!(fsts & ~(uint32_t)(VTD_FSTS_W1C | VTD_FSTS_PPF | VTD_FSTS_FRI_MASK)));
	FUZZ_ASSERT(((fsts & VTD_FSTS_FRI_MASK) >> VTD_FSTS_FRI_SHIFT) < VTD_NFR);
	FUZZ_ASSERT(v->fault_index < VTD_NFR);
	bool pending = false;
	for (unsigned i = 0; i < VTD_NFR; i++)
		pending |= (vtd_reg64(v, VTD_REG_FRCD + i * VTD_FRCD_LEN + 8) & VTD_FRCD_HI_F) != 0;
	FUZZ_ASSERT(pending == !!(fsts & VTD_FSTS_PPF));

	/* Event blocks: only IM and IP; IP only while masked (an unmasked event is sent at once). */
	for (unsigned ctl = VTD_REG_FECTL; ctl <= VTD_REG_IECTL; ctl += VTD_REG_IECTL - VTD_REG_FECTL) {
		uint32_t c = vtd_reg32(v, ctl);
		FUZZ_ASSERT(!(c & ~(uint32_t)(VTD_EVCTL_IM | VTD_EVCTL_IP)));
		FUZZ_ASSERT(!(c & VTD_EVCTL_IP) || (c & VTD_EVCTL_IM));
		FUZZ_ASSERT(!(vtd_reg32(v, ctl + VTD_EV_DATA) & ~(uint32_t)VTD_EVDATA_RW));
		FUZZ_ASSERT(!(vtd_reg32(v, ctl + VTD_EV_ADDR) & ~(uint32_t)VTD_EVADDR_RW));
	}
	FUZZ_ASSERT(!(vtd_reg32(v, VTD_REG_ICS) & ~(uint32_t)VTD_ICS_IWC));

	/* The queue: IQH a descriptor index, 0 while disabled; enabled and without IQE, it has
	 * caught up with IQT (the queue runs inside the IQT write); after processing, IQH lies
	 * inside the queue. */
	uint64_t iqh = vtd_reg64(v, VTD_REG_IQH), iqt = vtd_reg64(v, VTD_REG_IQT);
	FUZZ_ASSERT(!(iqh & ~VTD_IQ_PTR_MASK));
	FUZZ_ASSERT(!(iqt & ~VTD_IQ_PTR_MASK));
	if (!(gsts & VTD_GSTS_QIES))
		FUZZ_ASSERT(iqh == 0);
	else if (!(fsts & VTD_FSTS_IQE))
		FUZZ_ASSERT(iqh == iqt);
	if (v->stats.descriptors != descriptors_before) {
		unsigned entries = 256u << (vtd_reg64(v, VTD_REG_IQA) & VTD_IQA_QS_MASK);
		FUZZ_ASSERT((iqh >> VTD_IQ_PTR_SHIFT) < entries);
	}

	/* Absent registers and the gaps between registers read 0 whatever was written there. */
	static uint8_t absent[VTD_SIZE / 4];
	static bool absent_known;
	if (!absent_known) {
		for (unsigned off = 0; off < VTD_SIZE; off += 4)
			absent[off / 4] = !fuzz_vtd_implemented(off);
		absent_known = true;
	}
	uint32_t stray = 0;
	for (unsigned i = 0; i < VTD_SIZE / 4; i++)
		stray |= absent[i] ? vtd_reg32(v, i * 4) : 0;
	FUZZ_ASSERT(stray == 0);

	FUZZ_ASSERT(v->n_did_seen <= VTD_DID_SEEN_MAX);
}

/* A successful translation: a non-empty run that holds iova, wraps neither in IOVA nor in GPA,
 * with a permission that covers the access. */
FUZZ_NOCOV static inline void fuzz_check_translation(const struct dma_translation *t, uint64_t iova, unsigned access)
{
	FUZZ_ASSERT(t->len > 0);
	FUZZ_ASSERT(t->iova <= iova);
	FUZZ_ASSERT(iova - t->iova < t->len);
	FUZZ_ASSERT(t->iova + (t->len - 1) >= t->iova);
	FUZZ_ASSERT(t->gpa + (t->len - 1) >= t->gpa);
	FUZZ_ASSERT(t->perm >= 1 && t->perm <= 3);
	FUZZ_ASSERT((t->perm & access) == access);
}

#endif
