/* The vhost device IOTLB (include/uapi/linux/vhost_types.h, drivers/vhost/vhost.c): vhost reads
 * rings and buffers at IOVAs; when its IOTLB has no entry it sends a MISS on the vhost fd and
 * stalls that queue until an UPDATE covers the address. vmm answers from the device's DMA space
 * (the guest's VT-d tables) with the largest run that stays valid, and turns every guest
 * invalidation that can touch the device into an INVALIDATE. Translation and publication happen
 * under the DMA space's lock, which the IOMMU holds while it invalidates: an UPDATE can never
 * carry a translation that an invalidation already removed. */
#include "vhost_net.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "virtio_pci.h"

struct vhost_msg_v2 vhost_iotlb_msg(uint8_t type, uint64_t iova, uint64_t size, uint64_t uaddr, uint8_t perm)
{
	struct vhost_msg_v2 m;
	memset(&m, 0, sizeof(m));
	m.type = VHOST_IOTLB_MSG_V2;
	m.asid = 0;
	m.iotlb = (struct vhost_iotlb_msg){ .iova = iova, .size = size, .uaddr = uaddr, .perm = perm, .type = type };
	return m;
}

static int send_msg(struct vhost_net *vh, const struct vhost_msg_v2 *m)
{
	ssize_t n = write(vh->fd, m, sizeof(*m));
	if (n == (ssize_t)sizeof(*m))
		return 0;
	return n < 0 ? -errno : -EIO;
}

/* The host-contiguous part of a translation that holds iova: guest RAM regions are contiguous
 * in host memory, so the run is cut at the region's ends. Returns the run's length, 0 when the
 * guest-physical address is not RAM. */
static uint64_t host_run(const struct guest_memory *mem, const struct dma_translation *t, uint64_t iova,
			 uint64_t *run_iova, uint8_t **host)
{
	uint64_t gpa = t->gpa + (iova - t->iova);
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		uint64_t before = gpa - r->gpa < iova - t->iova ? gpa - r->gpa : iova - t->iova;
		uint64_t after = r->size - (gpa - r->gpa);
		uint64_t left_in_run = t->len - (iova - t->iova);
		if (after > left_in_run)
			after = left_in_run;
		*run_iova = iova - before;
		*host = r->host + (gpa - r->gpa) - before;
		return before + after;
	}
	return 0;
}

/* Which pages vhost holds, per 2 MiB IOVA window (struct vhost_iotlb_window). */
#define WINDOW_SIZE ((uint64_t)VHOST_IOTLB_WINDOW_PAGES << 12)

static bool page_bit(const uint64_t *bits, unsigned i) { return bits[i / 64] >> (i % 64) & 1; }
static void set_page_bit(uint64_t *bits, unsigned i, bool on)
{
	if (on)
		bits[i / 64] |= 1ULL << (i % 64);
	else
		bits[i / 64] &= ~(1ULL << (i % 64));
}

/* The window at `base`, made from the least recently used one when `create` (forgetting what it
 * knew only costs duplicate updates later). A window in use has a non-zero stamp. */
static struct vhost_iotlb_window *window_get(struct vhost_net *vh, uint64_t base, bool create)
{
	struct vhost_iotlb_window *oldest = &vh->windows[0];
	for (unsigned i = 0; i < VHOST_IOTLB_WINDOWS; i++) {
		struct vhost_iotlb_window *w = &vh->windows[i];
		if (w->stamp && w->base == base) {
			w->stamp = ++vh->window_clock;
			return w;
		}
		if (w->stamp < oldest->stamp)
			oldest = w;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	oldest->base = base;
	oldest->stamp = ++vh->window_clock;
	return oldest;
}

void vhost_iotlb_forget_held(struct vhost_net *vh)
{
	memset(vh->windows, 0, sizeof(vh->windows));
	vh->window_clock = 0;
}

/* An UPDATE of [iova, iova + len) went to vhost: one entry there. Only page-aligned entries
 * inside one window are noted (the others are rings or large runs a prefetch never sends). */
static void held_note(struct vhost_net *vh, uint64_t iova, uint64_t len)
{
	if (!vh->prefetch || !len || ((iova | len) & 0xFFF) || iova / WINDOW_SIZE != (iova + len - 1) / WINDOW_SIZE)
		return;
	struct vhost_iotlb_window *w = window_get(vh, iova & ~(WINDOW_SIZE - 1), true);
	unsigned first = (unsigned)((iova & (WINDOW_SIZE - 1)) >> 12);
	for (unsigned i = first; i < first + (len >> 12); i++) {
		set_page_bit(w->held, i, true);
		set_page_bit(w->joined, i, i > first);
	}
}

/* An INVALIDATE of [first, last] went to vhost, which drops every entry overlapping it, whole:
 * the pages of those entries are no longer held. */
static void held_drop(struct vhost_net *vh, uint64_t first, uint64_t last)
{
	for (unsigned k = 0; k < VHOST_IOTLB_WINDOWS; k++) {
		struct vhost_iotlb_window *w = &vh->windows[k];
		uint64_t w_last = w->base + WINDOW_SIZE - 1;
		if (!w->stamp || last < w->base || first > w_last)
			continue;
		unsigned a = first <= w->base ? 0 : (unsigned)((first - w->base) >> 12);
		unsigned b = last >= w_last ? VHOST_IOTLB_WINDOW_PAGES - 1 : (unsigned)((last - w->base) >> 12);
		while (a > 0 && page_bit(w->joined, a))
			a--;
		while (b + 1 < VHOST_IOTLB_WINDOW_PAGES && page_bit(w->joined, b + 1))
			b++;
		for (unsigned i = a; i <= b; i++) {
			set_page_bit(w->held, i, false);
			set_page_bit(w->joined, i, false);
		}
	}
}

static void shadow_remove(struct vhost_net *vh, unsigned i)
{
	vh->shadow[i] = vh->shadow[--vh->nshadow];
	if (vh->victim >= vh->nshadow)
		vh->victim = 0;
}

static int send_invalidate(struct vhost_net *vh, uint64_t iova, uint64_t size)
{
	struct vhost_msg_v2 m = vhost_iotlb_msg(VHOST_IOTLB_INVALIDATE, iova, size ? size : UINT64_MAX, 0, 0);
	int ret = send_msg(vh, &m);
	uint64_t last = size && iova + size - 1 >= iova ? iova + size - 1 : UINT64_MAX;
	held_drop(vh, iova, last); /* even after an error: vhost may have dropped them */
	if (ret)
		log_guest("vhost-iotlb: invalidating 0x%llx+0x%llx failed: %s", (unsigned long long)iova,
			  (unsigned long long)size, strerror(-ret));
	else
		vh->stats.invalidations++;
	return ret;
}

/* Before an UPDATE: when the shadow is full, one old entry is invalidated in vhost, so that
 * vhost never holds an entry the shadow does not know. */
static void shadow_make_room(struct vhost_net *vh)
{
	if (!vh->shadow || vh->nshadow < VHOST_IOTLB_SHADOW)
		return;
	struct vhost_iotlb_entry *old = &vh->shadow[vh->victim];
	(void)send_invalidate(vh, old->iova, old->len);
	vhost_iotlb_forget_answered(vh);
	shadow_remove(vh, vh->victim);
	vh->victim = (vh->victim + 1) % (vh->nshadow + 1);
}

static void shadow_add(struct vhost_net *vh, uint64_t iova, uint64_t len, uint64_t gpa, uint8_t perm)
{
	if (vh->shadow && vh->nshadow < VHOST_IOTLB_SHADOW)
		vh->shadow[vh->nshadow++] = (struct vhost_iotlb_entry){ .iova = iova, .len = len, .gpa = gpa, .perm = perm };
}

/* Lock held. Publishes the run of `t` that holds iova; returns its end (exclusive, 0 on wrap)
 * or sets *err. */
static uint64_t publish_locked(struct vhost_net *vh, const struct dma_translation *t, uint64_t iova, int *err)
{
	uint64_t run_iova;
	uint8_t *host;
	uint64_t len = host_run(vh->dma->mem, t, iova, &run_iova, &host);
	if (!len) {
		*err = -EFAULT;
		return 0;
	}
	shadow_make_room(vh);
	struct vhost_msg_v2 m = vhost_iotlb_msg(VHOST_IOTLB_UPDATE, run_iova, len, (uintptr_t)host, (uint8_t)t->perm);
	*err = send_msg(vh, &m);
	if (!*err) {
		held_note(vh, run_iova, len);
		if (++vh->updates_since_forget >= VHOST_IOTLB_SHADOW / 2)
			vhost_iotlb_forget_answered(vh);
		vh->stats.updates++;
		vh->stats.update_bytes += len;
		shadow_add(vh, run_iova, len, t->gpa + (run_iova - t->iova), (uint8_t)t->perm);
	}
	return run_iova + len;
}

/* Whether one recorded entry already holds all of [iova, iova + len) with perm. */
static bool shadow_covers(const struct vhost_net *vh, uint64_t iova, uint64_t len, unsigned perm)
{
	for (unsigned i = 0; vh->shadow && i < vh->nshadow; i++) {
		const struct vhost_iotlb_entry *e = &vh->shadow[i];
		if (iova >= e->iova && iova - e->iova <= e->len && len <= e->len - (iova - e->iova) &&
		    (e->perm & perm) == perm)
			return true;
	}
	return false;
}

int vhost_iotlb_prime_locked(struct vhost_net *vh, uint64_t iova, uint64_t len, unsigned perm)
{
	uint64_t end = iova + len;
	if (end < iova)
		return -EFAULT;
	if (shadow_covers(vh, iova, len, perm)) /* the rings' areas often share one run */
		return 0;
	while (iova < end) {
		struct dma_translation t;
		int ret = dma_translate_locked(vh->dma, vh->vp->pci.rid, iova, perm, true, &t);
		if (ret)
			return ret;
		uint64_t next = publish_locked(vh, &t, iova, &ret);
		if (ret)
			return ret;
		if (!next)
			break;
		iova = next;
	}
	return 0;
}

/* One recorded fault per IOVA page: vhost re-sends the same miss on every kick. */
static bool fault_is_new(struct vhost_net *vh, uint64_t iova)
{
	uint64_t page = iova >> 12;
	for (unsigned i = 0; i < vh->nfaulted && i < VHOST_IOTLB_FAULT_MEMORY; i++)
		if (vh->faulted[i] == page)
			return false;
	vh->faulted[vh->nfaulted++ % VHOST_IOTLB_FAULT_MEMORY] = page;
	return true;
}

/* Lets the DMA space record the fault for the guest (once per page). */
static void record_fault_once(struct vhost_net *vh, uint16_t rid, uint64_t iova, unsigned need)
{
	if (!fault_is_new(vh, iova))
		return;
	vh->stats.faults++;
	struct dma_translation t;
	if (!dma_translate_locked(vh->dma, rid, iova, need ? need : DMA_PERM_READ, true, &t))
		vh->stats.faults--; /* it translates after all: nothing to record */
}

static bool page_in(const uint64_t *pages, unsigned n, unsigned cap, uint64_t page)
{
	for (unsigned i = 0; i < n && i < cap; i++)
		if (pages[i] == page)
			return true;
	return false;
}

/* A miss was answered: its page joins both lists (see struct vhost_net). */
static void note_answered(struct vhost_net *vh, uint64_t iova)
{
	uint64_t page = iova >> 12;
	vh->answered[vh->nanswered++ % VHOST_IOTLB_ANSWERED] = page;
	if (!page_in(vh->history, vh->nhistory, VHOST_IOTLB_HISTORY, page))
		vh->history[vh->nhistory++ % VHOST_IOTLB_HISTORY] = page;
}

void vhost_iotlb_forget_answered(struct vhost_net *vh)
{
	vh->nanswered = 0;
	vh->updates_since_forget = 0;
}

/* Whether page p needs no prefetch: it is in the missed run, or vhost holds it. */
static bool prefetch_skips(const struct vhost_iotlb_window *w, const struct dma_translation *missed, uint64_t p)
{
	return (p >= missed->iova && p - missed->iova < missed->len) ||
	       page_bit(w->held, (unsigned)((p & (WINDOW_SIZE - 1)) >> 12));
}

/* Sends the other mapped pages of the missed page's last-level table that vhost does not hold,
 * before the miss's own answer (vhost wakes the stalled queue at the UPDATE that covers the
 * missed address, and then the buffers posted beside it are there already). A strict-mode guest
 * maps a ring's worth of receive buffers, side by side in IOVA, before the device uses the
 * first, and unmaps each one after: without this, every buffer costs vhost a miss, a round trip
 * through vmm's loop while its queue waits. */
static void prefetch_near(struct vhost_net *vh, uint16_t rid, const struct dma_translation *missed, uint64_t iova)
{
	struct dma_translation runs[VHOST_IOTLB_PREFETCH];
	int n = dma_prefetch_locked(vh->dma, rid, iova, runs, VHOST_IOTLB_PREFETCH);
	if (n <= 0)
		return;
	struct vhost_iotlb_window *w = window_get(vh, iova & ~(WINDOW_SIZE - 1), true);
	for (int k = 0; k < n; k++) {
		const struct dma_translation *r = &runs[k];
		uint64_t p = r->iova, end = r->iova + r->len;
		while (p < end) {
			while (p < end && prefetch_skips(w, missed, p))
				p += 4096;
			uint64_t q = p;
			while (q < end && !prefetch_skips(w, missed, q))
				q += 4096;
			if (q == p)
				break;
			struct dma_translation part = { .iova = p, .gpa = r->gpa + (p - r->iova), .len = q - p, .perm = r->perm };
			int err;
			publish_locked(vh, &part, p, &err);
			if (err == -EFAULT) /* not RAM: nothing vhost could use */
				break;
			if (err)
				return;
			vh->stats.prefetched++;
			p = q;
		}
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void handle_miss_locked(struct vhost_net *vh, uint64_t iova, uint8_t perm);

/* One MISS: answered under the DMA space's lock, timed for the stats. */
static void handle_miss(struct vhost_net *vh, uint64_t iova, uint8_t perm)
{
	uint64_t t0 = now_ns();
	dma_lock(vh->dma);
	handle_miss_locked(vh, iova, perm);
	vh->stats.miss_ns += now_ns() - t0;
	dma_unlock(vh->dma);
}

static void handle_miss_locked(struct vhost_net *vh, uint64_t iova, uint8_t perm)
{
	vh->stats.misses++;
	if (!vh->iotlb) /* a miss from before a reset */
		return;
	if (page_in(vh->answered, vh->nanswered, VHOST_IOTLB_ANSWERED, iova >> 12)) {
		vh->stats.duplicates++; /* vhost has the entry, or the UPDATE is on its way */
		return;
	}
	uint16_t rid = vh->vp->pci.rid;
	unsigned need = perm & DMA_PERM_RW;
	if (!pci_bus_master_enabled(&vh->vp->pci)) {
		/* No DMA without Bus Master Enable: the queue waits until the driver sets it again. */
		vh->stats.unanswered++;
		log_guest("vhost-iotlb: %s: DMA at iova 0x%llx while bus mastering is off: not answered",
			  vh->vp->pci.name, (unsigned long long)iova);
		return;
	}
	struct dma_translation t;
	int ret = dma_translate_locked(vh->dma, rid, iova, 0, false, &t);
	if (!ret && (t.perm & need) != need) {
		/* Answer with what the tables grant: vhost then reports a vring error for a buffer (or
		 * stalls on a ring); the fault record tells the guest why. */
		vh->stats.perm_mismatches++;
		record_fault_once(vh, rid, iova, need);
	}
	if (ret) {
		vh->stats.unanswered++;
		if (page_in(vh->history, vh->nhistory, VHOST_IOTLB_HISTORY, iova >> 12))
			vh->stats.stale++;
		else
			record_fault_once(vh, rid, iova, need);
		return;
	}
	uint64_t run_iova;
	uint8_t *host;
	if (vh->prefetch && host_run(vh->dma->mem, &t, iova, &run_iova, &host)) /* only with an answer */
		prefetch_near(vh, rid, &t, iova);
	publish_locked(vh, &t, iova, &ret);
	if (!ret)
		note_answered(vh, iova);
	if (ret) {
		vh->stats.unanswered++;
		log_guest("vhost-iotlb: %s: cannot answer the miss at iova 0x%llx: %s", vh->vp->pci.name,
			  (unsigned long long)iova, strerror(-ret));
	}
}

bool vhost_iotlb_on_message(void *opaque, int fd, unsigned revents)
{
	struct vhost_net *vh = opaque;
	(void)revents;
	for (;;) {
		struct vhost_msg_v2 m;
		ssize_t n = read(fd, &m, sizeof(m));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(m))
			break; /* EAGAIN: all read */
		if (m.type != VHOST_IOTLB_MSG_V2 || m.iotlb.type != VHOST_IOTLB_MISS) {
			log_guest("vhost-iotlb: unexpected message type %u/%u ignored", m.type, m.iotlb.type);
			continue;
		}
		handle_miss(vh, m.iotlb.iova, m.iotlb.perm);
	}
	return true;
}

bool vhost_iotlb_on_vring_error(void *opaque, int fd, unsigned revents)
{
	struct vhost_net *vh = opaque;
	uint64_t n;
	(void)revents;
	if (read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n)) {
		dma_lock(vh->dma);
		vh->stats.vring_errors += n;
		dma_unlock(vh->dma);
		log_guest("vhost-net: vring error (a buffer vhost could not access: IOMMU permission or address)");
	}
	return true;
}

/* Whether the tables still give entry e exactly: same guest-physical pages, same permission. */
static bool entry_still_mapped(struct vhost_net *vh, const struct vhost_iotlb_entry *e)
{
	struct dma_translation t;
	if (dma_translate_locked(vh->dma, vh->vp->pci.rid, e->iova, 0, false, &t))
		return false;
	uint64_t off = e->iova - t.iova;
	return t.perm == e->perm && t.gpa + off == e->gpa && t.len - off >= e->len;
}

/* Sends again what the tables still map of [from, to] (inclusive), run by run; stops at the
 * first hole. Speculative: it saves vhost the misses, and is exact since the tables say so. */
static void republish(struct vhost_net *vh, uint64_t from, uint64_t to)
{
	while (from <= to) {
		struct dma_translation t;
		int err;
		if (dma_translate_locked(vh->dma, vh->vp->pci.rid, from, 0, false, &t))
			return;
		if (t.len - (from - t.iova) > to - from + 1) /* not past the old entry's end */
			t.len = to - t.iova + 1;
		uint64_t next = publish_locked(vh, &t, from, &err);
		if (err)
			return;
		vh->stats.republished++;
		if (!next || next - 1 >= to)
			return;
		from = next;
	}
}

static void invalidate_locked(struct vhost_net *vh, uint64_t first, uint64_t last);

void vhost_iotlb_invalidate(void *opaque, uint64_t first, uint64_t last)
{
	struct vhost_net *vh = opaque;
	uint64_t t0 = now_ns();
	invalidate_locked(vh, first, last);
	vh->stats.inval_ns += now_ns() - t0;
}

static void invalidate_locked(struct vhost_net *vh, uint64_t first, uint64_t last)
{
	vh->nfaulted = 0; /* a new mapping may come; a later failure is news again */
	vhost_iotlb_forget_answered(vh); /* vhost may no longer hold what was answered */
	if (!vh->iotlb)
		return;
	if (!vh->shadow) { /* no record of what vhost holds: drop the whole range there */
		(void)send_invalidate(vh, first, last - first + 1);
		return;
	}
	if (!pci_bus_master_enabled(&vh->vp->pci)) {
		/* Bus mastering off: nothing may stay or be sent again; forget what the range held. */
		(void)send_invalidate(vh, first, last - first + 1);
		for (unsigned i = 0; i < vh->nshadow;) {
			const struct vhost_iotlb_entry *e = &vh->shadow[i];
			if (e->iova + e->len - 1 < first || e->iova > last)
				i++;
			else
				shadow_remove(vh, i);
		}
		return;
	}
	if (first == 0 && last == UINT64_MAX) {
		/* A domain or global flush (lazy mode sends one every 10 ms): checking every entry
		 * against the tables costs more in this exit than the misses it would save, so vhost
		 * drops everything. The rings stay mapped for the driver's life: they are sent again
		 * at once (where the tables still map them), sparing each queue its stall on a miss. */
		(void)send_invalidate(vh, first, last - first + 1);
		vh->nshadow = vh->victim = 0;
		(void)vhost_iotlb_prime_rings_locked(vh, false);
		return;
	}
	/* vhost drops every whole entry that overlaps an INVALIDATE: work entry by entry. Entries
	 * that the tables still map as before stay; the rest go, and their still-mapped parts are
	 * sent again (a strict-mode page flush inside a larger entry). */
	struct vhost_iotlb_entry redo[16];
	unsigned nredo = 0;
	for (unsigned i = 0; i < vh->nshadow;) {
		struct vhost_iotlb_entry e = vh->shadow[i];
		uint64_t e_last = e.iova + e.len - 1;
		if (e_last < first || e.iova > last) {
			i++;
			continue;
		}
		if (entry_still_mapped(vh, &e)) {
			vh->stats.kept++;
			i++;
			continue;
		}
		(void)send_invalidate(vh, e.iova, e.len);
		shadow_remove(vh, i);
		if (e.len > 4096 && nredo < sizeof(redo) / sizeof(redo[0]))
			redo[nredo++] = e;
	}
	/* The parts of each dropped entry outside the invalidated range (a page flush inside a
	 * large entry); for a flush that covered the whole entry, what is still mapped from its
	 * start. */
	for (unsigned i = 0; i < nredo; i++) {
		uint64_t e_last = redo[i].iova + redo[i].len - 1;
		if (redo[i].iova < first)
			republish(vh, redo[i].iova, first - 1);
		if (e_last > last)
			republish(vh, last + 1, e_last);
		if (redo[i].iova >= first && e_last <= last)
			republish(vh, redo[i].iova, e_last);
	}
}
