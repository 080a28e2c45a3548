/* The vhost device-IOTLB protocol, without a vhost device: a SOCK_SEQPACKET pair stands in for
 * the vhost fd (one message per read and write, as vhost does), and a scripted IOMMU stands in
 * for VT-d. Checks the messages vmm builds: updates that cover the largest valid run clamped to
 * guest RAM, permissions as the tables grant them, one fault per page for refused misses, no
 * answer without bus mastering, and invalidations. */
#include <errno.h>
#include <stdlib.h>

#include "../../vmm/layout.h"
#include "vhost_harness.h"

/* The scripted IOMMU: one mapping [map_iova, map_iova + map_len) -> map_gpa with map_perm. */
static uint64_t map_iova = 0x10000, map_len = 0x3000, map_gpa = 0x200000;
static unsigned map_perm = DMA_PERM_RW;
static unsigned recorded_faults;
static uint64_t hole; /* when non-zero: the page at `hole` inside the mapping is unmapped */

static int fake_translate(void *iommu, uint16_t rid, uint64_t iova, unsigned access, bool record_fault,
			  struct dma_translation *out)
{
	(void)iommu;
	CHECK_EQ(rid, 0x08);
	if (iova < map_iova || iova - map_iova >= map_len) {
		recorded_faults += record_fault;
		return -EFAULT;
	}
	if ((map_perm & access) != access) {
		recorded_faults += record_fault;
		return -EACCES;
	}
	*out = (struct dma_translation){ .iova = map_iova, .gpa = map_gpa, .len = map_len, .perm = map_perm };
	if (hole && iova >= hole && iova < hole + 0x1000) {
		recorded_faults += record_fault;
		return -EFAULT;
	}
	if (hole && iova < hole)
		out->len = hole - map_iova;
	if (hole && iova >= hole + 0x1000)
		*out = (struct dma_translation){ .iova = hole + 0x1000, .gpa = map_gpa + (hole + 0x1000 - map_iova),
						 .len = map_iova + map_len - (hole + 0x1000), .perm = map_perm };
	return 0;
}

static const struct dma_iommu_ops fake_ops = { .translate = fake_translate };

/* The scripted IOMMU's prefetch: the runs in pf_runs, whatever the address. */
static struct dma_translation pf_runs[8];
static unsigned pf_nruns;
static int fake_prefetch(void *iommu, uint16_t rid, uint64_t iova, struct dma_translation *out, unsigned max)
{
	(void)iommu;
	(void)iova;
	CHECK_EQ(rid, 0x08);
	unsigned n = pf_nruns < max ? pf_nruns : max;
	memcpy(out, pf_runs, n * sizeof(*out));
	return (int)n;
}
static const struct dma_iommu_ops fake_prefetch_ops = { .translate = fake_translate, .prefetch = fake_prefetch };

/* The next message is an UPDATE of [iova, iova + size) with perm. */
static bool next_update(uint64_t iova, uint64_t size, uint8_t perm)
{
	struct vhost_msg_v2 m;
	return next_msg(&m) && m.iotlb.type == VHOST_IOTLB_UPDATE && m.iotlb.iova == iova && m.iotlb.size == size &&
	       m.iotlb.perm == perm;
}

/* vhost asks for iova, and vmm reads and answers it. */
static void miss_read(struct vhost_net *vh, uint64_t iova, uint8_t perm)
{
	send_miss(iova, perm);
	CHECK(vhost_iotlb_on_message(vh, vh->fd, 1));
}

/* A global flush, its INVALIDATE read: vhost holds nothing. */
static void flush_all(struct vhost_net *vh)
{
	struct vhost_msg_v2 m;
	vhost_iotlb_invalidate(vh, 0, UINT64_MAX);
	while (next_msg(&m))
		;
}

/* A miss brings the other mapped pages its IOMMU offers, those vhost does not hold yet, before
 * its own answer; an INVALIDATE makes the pages of every entry it overlaps new again. */
static void test_prefetch(struct dma_space *dma, struct vhost_net *vh)
{
	struct vhost_msg_v2 m;
	dma_space_set_iommu(dma, &fake_prefetch_ops, NULL);
	vh->prefetch = true;
	vhost_iotlb_forget_held(vh);
	vhost_iotlb_forget_answered(vh);
	map_iova = 0x10000, map_len = 0x3000, map_gpa = 0x200000, map_perm = DMA_PERM_RW, hole = 0;
	pf_runs[0] = (struct dma_translation){ .iova = 0x10000, .gpa = 0x200000, .len = 0x3000, .perm = DMA_PERM_RW };
	pf_runs[1] = (struct dma_translation){ .iova = 0x20000, .gpa = 0x300000, .len = 0x1000, .perm = DMA_PERM_RW };
	pf_runs[2] = (struct dma_translation){ .iova = 0x22000, .gpa = 0x302000, .len = 0x2000, .perm = DMA_PERM_READ };
	pf_nruns = 3;
	uint64_t before = vh->stats.prefetched;
	miss_read(vh, 0x11000, VHOST_ACCESS_RO);
	CHECK(next_update(0x20000, 0x1000, VHOST_ACCESS_RW));
	CHECK(next_update(0x22000, 0x2000, VHOST_ACCESS_RO));
	CHECK(next_update(0x10000, 0x3000, VHOST_ACCESS_RW)); /* the missed run last: it wakes the queue */
	CHECK(!next_msg(&m));
	CHECK_EQ(vh->stats.prefetched - before, 2);
	/* A page flush inside the two-page entry: vhost drops that whole entry, so both its pages are
	 * sent again by the next prefetch, and a new mapping too; the held ones are not. */
	vhost_iotlb_invalidate(vh, 0x23000, 0x23fff);
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_INVALIDATE);
	pf_runs[3] = (struct dma_translation){ .iova = 0x30000, .gpa = 0x400000, .len = 0x1000, .perm = DMA_PERM_RW };
	pf_nruns = 4;
	miss_read(vh, 0x10000, VHOST_ACCESS_RO);
	CHECK(next_update(0x22000, 0x2000, VHOST_ACCESS_RO));
	CHECK(next_update(0x30000, 0x1000, VHOST_ACCESS_RW));
	CHECK(next_update(0x10000, 0x3000, VHOST_ACCESS_RW));
	CHECK(!next_msg(&m));
	/* A run that vhost holds in part: only the part it lacks goes (page 0x21000 is new). */
	pf_runs[1].len = 0x2000;
	pf_runs[1].perm = DMA_PERM_RW;
	vhost_iotlb_invalidate(vh, 0x50000, 0x50fff); /* forgets the answered miss, holds the rest */
	CHECK(next_msg(&m));
	miss_read(vh, 0x12000, VHOST_ACCESS_RO);
	CHECK(next_update(0x21000, 0x1000, VHOST_ACCESS_RW));
	CHECK(next_update(0x10000, 0x3000, VHOST_ACCESS_RW));
	CHECK(!next_msg(&m));
	/* A global flush: vhost holds nothing, everything goes again. */
	flush_all(vh);
	pf_runs[1].len = 0x1000;
	miss_read(vh, 0x10000, VHOST_ACCESS_RO);
	CHECK(next_update(0x20000, 0x1000, VHOST_ACCESS_RW));
	CHECK(next_update(0x22000, 0x2000, VHOST_ACCESS_RO));
	CHECK(next_update(0x30000, 0x1000, VHOST_ACCESS_RW));
	CHECK(next_update(0x10000, 0x3000, VHOST_ACCESS_RW));
	CHECK(!next_msg(&m));
	/* A prefetched run outside RAM is skipped; the rest still goes. */
	flush_all(vh);
	pf_runs[1].gpa = 64 * MiB;
	miss_read(vh, 0x10000, VHOST_ACCESS_RO);
	CHECK(next_update(0x22000, 0x2000, VHOST_ACCESS_RO));
	CHECK(next_update(0x30000, 0x1000, VHOST_ACCESS_RW));
	CHECK(next_update(0x10000, 0x3000, VHOST_ACCESS_RW));
	CHECK(!next_msg(&m));
	pf_runs[1].gpa = 0x300000;
	/* A miss that gets no answer (its own page is not RAM) brings nothing either. */
	flush_all(vh);
	map_gpa = 64 * MiB;
	miss_read(vh, 0x10000, VHOST_ACCESS_RO);
	CHECK(!next_msg(&m));
	map_gpa = 0x200000;
	/* Off: the miss's own run only. */
	vh->prefetch = false;
	flush_all(vh);
	miss_read(vh, 0x10000, VHOST_ACCESS_RO);
	CHECK(next_update(0x10000, 0x3000, VHOST_ACCESS_RW));
	CHECK(!next_msg(&m));
	dma_space_set_iommu(dma, &fake_ops, NULL);
}

int main(void)
{
	struct guest_memory mem;
	CHECK_EQ(guest_memory_init(&mem, 64 * MiB), 0);
	struct dma_space dma;
	CHECK_EQ(dma_space_init(&dma, &mem), 0);
	struct virtio_pci vp;
	struct vhost_net vh;
	vhost_harness_init(&vp, &vh, &dma, 0x08); /* 00:01.0 */
	vh.iotlb = true;

	/* The message builder. */
	struct vhost_msg_v2 m = vhost_iotlb_msg(VHOST_IOTLB_UPDATE, 0x1000, 0x2000, 0x7000, VHOST_ACCESS_RO);
	CHECK_EQ(sizeof(m), 72);
	CHECK_EQ(m.type, VHOST_IOTLB_MSG_V2);
	CHECK_EQ(m.asid, 0);
	CHECK_EQ(m.iotlb.iova, 0x1000);
	CHECK_EQ(m.iotlb.size, 0x2000);
	CHECK_EQ(m.iotlb.uaddr, 0x7000);
	CHECK_EQ(m.iotlb.perm, VHOST_ACCESS_RO);
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_UPDATE);

	/* Identity space: priming a range gives one update from the range to the end of its RAM
	 * region, at the host address of that RAM. */
	dma_lock(&dma);
	CHECK_EQ(vhost_iotlb_prime_locked(&vh, 0x5000, 0x100, DMA_PERM_READ), 0);
	dma_unlock(&dma);
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_UPDATE);
	CHECK_EQ(m.iotlb.iova, 0x5000);
	CHECK_EQ(m.iotlb.size, 64 * MiB - 0x5000);
	CHECK_EQ(m.iotlb.uaddr, (uintptr_t)mem.host + 0x5000);
	CHECK_EQ(m.iotlb.perm, VHOST_ACCESS_RW);
	CHECK(!next_msg(&m));
	/* Outside RAM: refused, nothing sent. */
	dma_lock(&dma);
	CHECK_EQ(vhost_iotlb_prime_locked(&vh, 64 * MiB, 0x100, DMA_PERM_READ), -EFAULT);
	dma_unlock(&dma);
	CHECK(!next_msg(&m));

	/* Behind the scripted IOMMU: a miss in the middle of the mapping is answered with the whole
	 * run, from its start. */
	dma_space_set_iommu(&dma, &fake_ops, NULL);
	send_miss(0x11234, VHOST_ACCESS_RO);
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_UPDATE);
	CHECK_EQ(m.iotlb.iova, map_iova);
	CHECK_EQ(m.iotlb.size, map_len);
	CHECK_EQ(m.iotlb.uaddr, (uintptr_t)mem.host + map_gpa);
	CHECK_EQ(m.iotlb.perm, VHOST_ACCESS_RW);
	CHECK(!next_msg(&m));
	CHECK_EQ(vh.stats.misses, 1);
	CHECK_EQ(recorded_faults, 0);

	/* A run that reaches past the end of RAM is cut at RAM's end. */
	map_gpa = 64 * MiB - 0x1000;
	send_miss(map_iova, VHOST_ACCESS_RO);
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.iova, map_iova);
	CHECK_EQ(m.iotlb.size, 0x1000);
	CHECK_EQ(m.iotlb.uaddr, (uintptr_t)mem.host + 64 * MiB - 0x1000);
	/* ... and a miss past that end gets no answer (the gpa is not RAM). */
	send_miss(map_iova + 0x1000, VHOST_ACCESS_RO);
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK(!next_msg(&m));
	map_gpa = 0x200000;

	/* Read-only mapping, vhost asks for write: answered with what the tables grant (vhost then
	 * reports the buffer), and the fault is recorded once. The tables changed (a guest would
	 * have invalidated, which forgets the answered pages). The second miss for the same page,
	 * queued before the first was answered, is a duplicate: skipped, vhost has the entry. */
	map_perm = DMA_PERM_READ;
	recorded_faults = 0;
	vhost_iotlb_forget_answered(&vh);
	uint64_t dups = vh.stats.duplicates;
	send_miss(0x10000, VHOST_ACCESS_WO);
	send_miss(0x10000, VHOST_ACCESS_WO);
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.perm, VHOST_ACCESS_RO);
	CHECK(!next_msg(&m));
	CHECK_EQ(vh.stats.duplicates, dups + 1);
	CHECK_EQ(recorded_faults, 1);
	CHECK_EQ(vh.stats.perm_mismatches, 1);
	/* After an invalidation the same page is news again: answered (vhost gets the INVALIDATE). */
	vhost_iotlb_invalidate(&vh, 0x10000, 0x10fff);
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_INVALIDATE);
	send_miss(0x10000, VHOST_ACCESS_RO);
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_UPDATE);
	CHECK(!next_msg(&m));
	map_perm = DMA_PERM_RW;

	/* No translation: no answer, one fault per page. */
	recorded_faults = 0;
	unsigned before = (unsigned)vh.stats.unanswered;
	send_miss(0x90000, VHOST_ACCESS_RO);
	send_miss(0x90008, VHOST_ACCESS_RO);
	send_miss(0x91000, VHOST_ACCESS_RO);
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK(!next_msg(&m));
	CHECK_EQ(recorded_faults, 2);
	CHECK_EQ(vh.stats.unanswered - before, 3);

	/* Bus mastering off: no DMA, so no answer (and no fault: the device made no request). */
	vp.pci.cfg[PCI_COMMAND] = PCI_COMMAND_MEMORY;
	recorded_faults = 0;
	send_miss(0x10000, VHOST_ACCESS_RO);
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK(!next_msg(&m));
	CHECK_EQ(recorded_faults, 0);
	vp.pci.cfg[PCI_COMMAND] = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;

	/* Invalidations: a range, and the whole space (size would wrap to 0, which vhost refuses). */
	vhost_iotlb_invalidate(&vh, 0x10000, 0x10fff);
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_INVALIDATE);
	CHECK_EQ(m.iotlb.iova, 0x10000);
	CHECK_EQ(m.iotlb.size, 0x1000);
	vhost_iotlb_invalidate(&vh, 0, UINT64_MAX);
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.iova, 0);
	CHECK_EQ(m.iotlb.size, UINT64_MAX);
	CHECK_EQ(vh.stats.invalidations, 3);
	/* A late duplicate: a miss for a page answered before (0x10000) that the guest has since
	 * unmapped is refused without a fault record (the device made no new request). */
	map_iova = 0x50000;
	recorded_faults = 0;
	uint64_t stale = vh.stats.stale, unanswered = vh.stats.unanswered;
	send_miss(0x10000, VHOST_ACCESS_RO);
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK(!next_msg(&m));
	CHECK_EQ(recorded_faults, 0);
	CHECK_EQ(vh.stats.stale, stale + 1);
	CHECK_EQ(vh.stats.unanswered, unanswered + 1);
	map_iova = 0x10000;
	/* After an invalidation the same unmapped page faults again (a new mapping may have come). */
	recorded_faults = 0;
	send_miss(0x90000, VHOST_ACCESS_RO);
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK_EQ(recorded_faults, 1);

	/* Stopped data path: listeners and misses are ignored. */
	vh.iotlb = false;
	vhost_iotlb_invalidate(&vh, 0, 0xfff);
	send_miss(0x10000, VHOST_ACCESS_RO);
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK(!next_msg(&m));

	/* A message that is not a miss is ignored. */
	vh.iotlb = true;
	struct vhost_msg_v2 odd = vhost_iotlb_msg(VHOST_IOTLB_UPDATE, 0x10000, 0x1000, 0, VHOST_ACCESS_RO);
	CHECK_EQ(write(peer, &odd, sizeof(odd)), sizeof(odd));
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK(!next_msg(&m));

	/* With the shadow of what vhost holds. One queue whose three ring areas lie in the mapping. */
	static const struct virtio_device_ops ops = { .num_queues = 1 };
	vp.ops = &ops;
	vp.queues[0] = (struct virtio_queue){ .size = 4, .enabled = true, .desc = 0x10000, .driver = 0x10100,
					      .device = 0x10200 };
	vh.shadow = calloc(VHOST_IOTLB_SHADOW, sizeof(*vh.shadow));
	CHECK(vh.shadow != NULL);
	vh.nshadow = 0;
	memset(&vh.stats, 0, sizeof(vh.stats));
	send_miss(0x10000, VHOST_ACCESS_RO);
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_UPDATE);
	CHECK_EQ(vh.nshadow, 1);
	/* A wide flush (lazy mode's domain flush): vhost drops everything, and the rings are sent
	 * again at once - one update, since the three areas share one run. */
	vhost_iotlb_invalidate(&vh, 0, UINT64_MAX);
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_INVALIDATE);
	CHECK_EQ(m.iotlb.iova, 0);
	CHECK_EQ(m.iotlb.size, UINT64_MAX);
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_UPDATE);
	CHECK_EQ(m.iotlb.iova, 0x10000);
	CHECK_EQ(m.iotlb.size, 0x3000);
	CHECK_EQ(m.iotlb.uaddr, (uintptr_t)mem.host + 0x200000);
	CHECK(!next_msg(&m));
	CHECK_EQ(vh.nshadow, 1);
	/* The rings moved: the new place is what is sent. */
	map_gpa = 0x300000;
	vhost_iotlb_invalidate(&vh, 0, UINT64_MAX);
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_INVALIDATE);
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_UPDATE);
	CHECK_EQ(m.iotlb.iova, 0x10000);
	CHECK_EQ(m.iotlb.size, 0x3000);
	CHECK_EQ(m.iotlb.uaddr, (uintptr_t)mem.host + 0x300000);
	CHECK(!next_msg(&m));
	CHECK_EQ(vh.nshadow, 1);
	/* A narrow flush where the tables did not change: the entry stays in vhost. */
	vhost_iotlb_invalidate(&vh, 0x11000, 0x11fff);
	CHECK(!next_msg(&m));
	CHECK_EQ(vh.stats.kept, 1);
	/* A page unmapped in the middle (strict mode): the entry goes, both still-mapped sides are
	 * sent again, the hole is not. */
	hole = 0x11000;
	vhost_iotlb_invalidate(&vh, 0x11000, 0x11fff);
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_INVALIDATE);
	CHECK_EQ(m.iotlb.iova, 0x10000);
	CHECK_EQ(m.iotlb.size, 0x3000);
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_UPDATE);
	CHECK_EQ(m.iotlb.iova, 0x10000);
	CHECK_EQ(m.iotlb.size, 0x1000);
	CHECK_EQ(m.iotlb.uaddr, (uintptr_t)mem.host + 0x300000);
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_UPDATE);
	CHECK_EQ(m.iotlb.iova, 0x12000);
	CHECK_EQ(m.iotlb.size, 0x1000);
	CHECK_EQ(m.iotlb.uaddr, (uintptr_t)mem.host + 0x302000);
	CHECK(!next_msg(&m));
	CHECK_EQ(vh.stats.republished, 2);
	CHECK_EQ(vh.nshadow, 2);
	/* A flush elsewhere leaves vhost alone. */
	vhost_iotlb_invalidate(&vh, 0x80000, 0x80fff);
	CHECK(!next_msg(&m));
	hole = 0;
	/* Bus Master Enable cleared (virtio_pci tells the listeners [0, max]): vhost drops it all
	 * and nothing is sent again, not even the rings. */
	vp.pci.cfg[PCI_COMMAND] = PCI_COMMAND_MEMORY;
	vhost_iotlb_invalidate(&vh, 0, UINT64_MAX);
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_INVALIDATE);
	CHECK(!next_msg(&m));
	CHECK_EQ(vh.nshadow, 0);
	vp.pci.cfg[PCI_COMMAND] = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	/* A large flush that is not the whole space (a page flush with a big mask) works entry by
	 * entry: entries outside it stay known. */
	send_miss(0x10000, VHOST_ACCESS_RO);
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK(next_msg(&m));
	CHECK_EQ(vh.nshadow, 1);
	vhost_iotlb_invalidate(&vh, 0x40000000ULL, 0x7fffffffULL);
	CHECK(!next_msg(&m));
	CHECK_EQ(vh.nshadow, 1);
	/* A full shadow: the oldest-ish entry is invalidated in vhost before a new one is recorded,
	 * so that vhost never holds an entry the shadow does not know. */
	for (unsigned i = vh.nshadow; i < VHOST_IOTLB_SHADOW; i++)
		vh.shadow[i] = (struct vhost_iotlb_entry){ .iova = 0x40000000ULL + i * 0x1000ULL, .len = 0x1000, .gpa = 0, .perm = 1 };
	vh.nshadow = VHOST_IOTLB_SHADOW;
	vh.victim = 5;
	send_miss(0x10000, VHOST_ACCESS_RO);
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_INVALIDATE);
	CHECK_EQ(m.iotlb.iova, 0x40000000ULL + 5 * 0x1000ULL);
	CHECK(next_msg(&m));
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_UPDATE);
	CHECK_EQ(vh.nshadow, VHOST_IOTLB_SHADOW);
	free(vh.shadow);
	vh.shadow = NULL;
	vh.nshadow = 0;
	test_prefetch(&dma, &vh);

	vhost_harness_fini(&vh);
	dma_space_destroy(&dma);
	guest_memory_free(&mem);
	return check_report("vhost_iotlb");
}
