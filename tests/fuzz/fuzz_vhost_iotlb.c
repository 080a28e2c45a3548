/* libFuzzer target for the vhost device-IOTLB protocol: vhost_iotlb_on_message() reads fuzzed
 * vhost messages from a SOCK_SEQPACKET socketpair standing in for the vhost fd (as
 * tests/unit/test_vhost_iotlb.c does), behind either the identity DMA space or a VT-d unit whose
 * root, context and page tables come from the input. The fuzzer keeps a model of vhost's IOTLB
 * built from exactly the messages vmm sent (vhost's rules: an UPDATE adds an entry, the oldest
 * retired past 2048; an INVALIDATE drops every entry it overlaps), and checks:
 *   every UPDATE    size > 0, no wrap, [uaddr, uaddr + size) inside the host mapping of one guest
 *                   RAM region, perm RO/WO/RW, and the IOVA -> host mapping it publishes is what
 *                   the DMA space translates now at its first and last byte;
 *   every INVALIDATE size > 0, sent only while the data path is on;
 *   a MISS          gets UPDATEs, the last covering it, exactly when the data path is on, bus
 *                   mastering is enabled and the address translates to RAM; none otherwise;
 *                   one only without prefetch;
 *   starting        (vhost_net_start's IOTLB part: an empty IOTLB, the listener, the rings
 *                   primed) when every ring area primed, vhost holds all of each, with the
 *                   permission it needs; a direct prime: its UPDATEs are checked as above;
 *   each guest invalidation [first, last] that reaches the device's listener: once the listener
 *                   returns, every entry vhost holds that overlaps it agrees with the tables
 *                   there (sampled pages: translation, host address, permission);
 *   the shadow      vhost holds no entry that vmm's shadow does not know;
 *   Bus Master Enable cleared (as virtio_pci.c's config_written tells the listeners): vhost
 *                   holds no translation any more, and no UPDATE is sent while it stays clear
 *                   (except by priming, which the caller decides); FUZZ_VHOST_NO_BME_CHECK=1
 *                   skips this check.
 * Guest RAM is 3 GiB + 64 MiB so that it has two regions (below the PCI hole and from 4 GiB),
 * contiguous in host memory: a run must still be cut at a region's end.
 *
 * Input:
 *   u8 config   bit 0: VT-d (else the identity space); bit 1: ECAP.DT; bit 2: bus mastering
 *               off; bit 3: data path stopped; bit 4: queued invalidation on; bit 5: no shadow
 *               (vh.shadow NULL, as before the shadow existed); bit 6: prefetch (a miss may
 *               bring other mapped pages first, each UPDATE checked). Two queues, disabled until an
 *               operation sets them up (then a start primes them)
 *   u16 rid     the device's requester id
 *   u32 root    root table address (mod 2 MiB, page aligned); u32 queue: IQA (same)
 *   memory      as fuzz_vtd: the first 2 MiB of RAM
 *   operations  until the input ends, see run_op() */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../virtio/vhost_net.h"
#include "../../virtio/virtio_pci.h"
#include "../../vmm/layout.h"
#include "fuzz_common.h"
#include "vhost_model.h"

#define RAM_SIZE (PCI_HOLE_START + (64ULL << 20))

static struct guest_memory mem;
static struct dma_space space;
static struct vtd v;
static bool vtd_on;
static struct virtio_pci vp;
static const struct virtio_device_ops net_ops = { .device_id = 1, .num_queues = 2, .max_queue_size = 1024 };
static struct vhost_net vh;
static struct vhost_iotlb_entry *shadow_mem;
static int sv[2]; /* sv[0]: vmm's end (vh.fd), sv[1]: the "kernel's" */
static unsigned queue_pending;
static uint64_t cap0, ecap0;
static bool listening;
static bool priming; /* UPDATEs while bus mastering is off are the caller's choice then */
static bool check_bme; /* the Bus Master Enable checks (FUZZ_VHOST_NO_BME_CHECK=1: skipped) */

/* ---- the model of vhost's IOTLB (vhost_model.h) ---- */
static struct ventry model[VHOST_MAX_ENTRIES];
static unsigned nmodel;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vmm_log_level = -1; /* not even errors: the guest-triggered warnings would flood */
	if (guest_memory_init(&mem, RAM_SIZE) || mem.nregions != 2) {
		fprintf(stderr, "guest_memory_init failed\n");
		abort();
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv)) {
		perror("socketpair");
		abort();
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	/* The kernel takes vhost messages at once: room for a whole operation's worth (as root;
	 * otherwise the default ~278 messages, and an operation that fills it is cut short). */
	int sz = 32 << 20;
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz))) {
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		fprintf(stderr, "fuzz_vhost_iotlb: SO_SNDBUFFORCE refused (not root): a full socket may fail "
				"an UPDATE or INVALIDATE, which the checks would report\n");
	}
	const char *no_bme = getenv("FUZZ_VHOST_NO_BME_CHECK");
	check_bme = !no_bme || !*no_bme || !strcmp(no_bme, "0");
	shadow_mem = calloc(VHOST_IOTLB_SHADOW, sizeof(*shadow_mem));
	if (!shadow_mem)
		abort();
	return 0;
}

static void set_bus_master(bool on)
{
	uint16_t cmd = PCI_COMMAND_MEMORY | (on ? PCI_COMMAND_MASTER : 0);
	memcpy(&vp.pci.cfg[PCI_COMMAND], &cmd, 2);
}

/* [uaddr, uaddr + size) inside one region's host mapping. */
FUZZ_NOCOV static bool in_one_region(uint64_t uaddr, uint64_t size)
{
	for (unsigned i = 0; i < mem.nregions; i++) {
		uint64_t base = (uintptr_t)mem.regions[i].host;
		if (uaddr >= base && uaddr - base < mem.regions[i].size && size <= mem.regions[i].size - (uaddr - base))
			return true;
	}
	return false;
}

/* The host address that the DMA space gives for iova now, or 0 (no translation, not RAM). */
static uint64_t host_of(uint64_t iova, unsigned *perm, bool locked)
{
	struct dma_translation t;
	if (!locked)
		dma_lock(&space);
	int ret = dma_translate_locked(&space, vp.pci.rid, iova, 0, false, &t);
	if (!locked)
		dma_unlock(&space);
	*perm = 0;
	if (ret)
		return 0;
	fuzz_check_translation(&t, iova, 0);
	*perm = t.perm;
	uint8_t *p = guest_ptr(&mem, t.gpa + (iova - t.iova), 1);
	return p ? (uintptr_t)p : 0;
}

/* The entry agrees with the tables at p. */
FUZZ_NOCOV static bool entry_valid_at(const struct ventry *e, uint64_t p, bool locked)
{
	unsigned perm;
	uint64_t host = host_of(p, &perm, locked);
	return host && host == e->uaddr + (p - e->iova) && (perm & e->perm) == e->perm;
}

FUZZ_NOCOV static void check_update(const struct vhost_iotlb_msg *u, bool locked)
{
	FUZZ_ASSERT(u->size > 0);
	FUZZ_ASSERT(u->iova + (u->size - 1) >= u->iova);
	FUZZ_ASSERT(u->uaddr + (u->size - 1) >= u->uaddr);
	FUZZ_ASSERT(in_one_region(u->uaddr, u->size));
	FUZZ_ASSERT(u->perm == VHOST_ACCESS_RO || u->perm == VHOST_ACCESS_WO || u->perm == VHOST_ACCESS_RW);
	/* What it publishes is what the tables say, at both ends of the run, same permission. */
	uint64_t ends[2] = { u->iova, u->iova + (u->size - 1) };
	for (unsigned i = 0; i < 2; i++) {
		unsigned perm;
		uint64_t host = host_of(ends[i], &perm, locked);
		FUZZ_ASSERT(host == u->uaddr + (ends[i] - u->iova));
		FUZZ_ASSERT(perm == u->perm);
	}
	FUZZ_ASSERT(pci_bus_master_enabled(&vp.pci) || priming || !check_bme);
}

/* Reads back what vmm sent, checks each message and applies it to the model; returns the number
 * of UPDATEs (the first `max` kept in `updates`). */
FUZZ_NOCOV static unsigned drain(struct vhost_iotlb_msg *updates, unsigned max, bool locked)
{
	unsigned n = 0;
	struct vhost_msg_v2 m;
	ssize_t r;
	while ((r = read(sv[1], &m, sizeof(m))) >= 0) {
		FUZZ_ASSERT(r == (ssize_t)sizeof(m));
		FUZZ_ASSERT(m.type == VHOST_IOTLB_MSG_V2 && m.asid == 0);
		switch (m.iotlb.type) {
		case VHOST_IOTLB_UPDATE:
			check_update(&m.iotlb, locked);
			vhost_model_add(model, &nmodel, &m.iotlb);
			if (n < max)
				updates[n] = m.iotlb;
			n++;
			break;
		case VHOST_IOTLB_INVALIDATE:
			FUZZ_ASSERT(vh.iotlb);
			FUZZ_ASSERT(m.iotlb.size > 0);
			FUZZ_ASSERT(m.iotlb.iova + (m.iotlb.size - 1) >= m.iotlb.iova || m.iotlb.size == UINT64_MAX);
			vhost_model_del(model, &nmodel, m.iotlb.iova, m.iotlb.size);
			break;
		default:
			FUZZ_ASSERT(!"vmm sends only UPDATE and INVALIDATE");
		}
	}
	FUZZ_ASSERT(errno == EAGAIN || errno == EWOULDBLOCK);
	return n;
}

/* Every entry vhost holds that overlaps [first, last] agrees with the tables there: at both ends
 * of the overlap and at up to 64 pages in between. */
FUZZ_NOCOV static void check_fresh(uint64_t first, uint64_t last, bool locked)
{
	for (unsigned i = 0; i < nmodel; i++) {
		const struct ventry *e = &model[i];
		uint64_t e_last = e->iova + (e->size - 1);
		uint64_t lo = e->iova > first ? e->iova : first, hi = e_last < last ? e_last : last;
		if (lo > hi)
			continue;
		FUZZ_ASSERT(entry_valid_at(e, lo, locked));
		FUZZ_ASSERT(entry_valid_at(e, hi, locked));
		uint64_t pages = ((hi >> 12) - (lo >> 12));
		uint64_t step = pages <= 64 ? 1 : pages / 64;
		for (uint64_t pg = step; pg < pages; pg += step)
			FUZZ_ASSERT(entry_valid_at(e, ((lo >> 12) + pg) << 12, locked));
	}
}

/* vhost holds no entry that vmm's shadow does not know (vhost may hold fewer). */
FUZZ_NOCOV static void check_shadow(void)
{
	if (!vh.shadow || (uint64_t)nmodel * vh.nshadow > 1u << 16)
		return;
	for (unsigned i = 0; i < nmodel; i++) {
		const struct ventry *e = &model[i];
		bool known = false;
		for (unsigned j = 0; j < vh.nshadow && !known; j++) {
			const struct vhost_iotlb_entry *s = &vh.shadow[j];
			uint8_t *h = guest_ptr(&mem, s->gpa, 1);
			known = s->iova == e->iova && s->len == e->size && s->perm == e->perm && h &&
				(uintptr_t)h == e->uaddr;
		}
		FUZZ_ASSERT(known);
	}
}

/* The device's listener, as vhost_net_start registers it, followed by the checks. */
static void on_invalidate(void *opaque, uint64_t first, uint64_t last)
{
	FUZZ_ASSERT(opaque == &vh);
	FUZZ_ASSERT(first <= last);
	FUZZ_ASSERT(fuzz_lock_held(&space));
	vhost_iotlb_invalidate(opaque, first, last);
	struct vhost_iotlb_msg u[1];
	drain(u, 0, true);
	if (vh.iotlb)
		check_fresh(first, last, true);
}

static void send_msg_raw(const struct vhost_msg_v2 *m)
{
	if (write(sv[1], m, sizeof(*m)) != (ssize_t)sizeof(*m))
		abort(); /* drained after every operation: never full */
}

/* The most UPDATEs one MISS may bring: its answer alone without prefetch; with it, the other
 * mapped pages of the missed page's leaf table too (at most every page of one window, each
 * UPDATE possibly cut in two at a RAM region's end), then the answer. */
#define MISS_UPDATES_MAX (2 * VHOST_IOTLB_WINDOW_PAGES + 2)

/* One MISS, answered or not as it should be. */
static void op_miss(uint64_t iova, uint8_t perm)
{
	struct vhost_msg_v2 m = vhost_iotlb_msg(VHOST_IOTLB_MISS, iova, 0, 0, perm);
	/* A page answered since the last invalidation is a duplicate: vhost holds its entry. */
	bool duplicate = false;
	for (unsigned i = 0; vh.iotlb && i < vh.nanswered && i < VHOST_IOTLB_ANSWERED; i++)
		duplicate |= vh.answered[i] == iova >> 12;
	uint64_t duplicates = vh.stats.duplicates;
	send_msg_raw(&m);
	FUZZ_ASSERT(vhost_iotlb_on_message(&vh, sv[0], 1));
	FUZZ_ASSERT(vh.stats.duplicates == duplicates + duplicate);
	unsigned p;
	bool expected = !duplicate && vh.iotlb && pci_bus_master_enabled(&vp.pci) && host_of(iova, &p, false);
	static struct vhost_iotlb_msg u[MISS_UPDATES_MAX];
	unsigned n = drain(u, sizeof(u) / sizeof(u[0]), false);
	FUZZ_ASSERT(expected ? n >= 1 && (n == 1 || vh.prefetch) : n == 0);
	FUZZ_ASSERT(n <= sizeof(u) / sizeof(u[0]));
	if (n)
		FUZZ_ASSERT(u[n - 1].iova <= iova && iova - u[n - 1].iova < u[n - 1].size);
}

/* Up to 8 messages as the input has them, read in one call. */
static void op_raw(struct fuzz_in *in, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		struct vhost_msg_v2 m;
		fin_take(in, &m, sizeof(m));
		send_msg_raw(&m);
	}
	FUZZ_ASSERT(vhost_iotlb_on_message(&vh, sv[0], 1));
	struct vhost_iotlb_msg u[1];
	/* Only a MISS is answered: one UPDATE each, or a prefetch's worth. */
	FUZZ_ASSERT(drain(u, 0, false) <= count * (vh.prefetch ? MISS_UPDATES_MAX : 1));
}

/* A direct prime of [iova, iova + len): every UPDATE is checked on the way (drain). Whether it
 * covers the range depends on what vmm believes vhost holds, which only a start makes exact. */
static void op_prime(uint64_t iova, uint64_t len, unsigned perm)
{
	if (!vh.iotlb) /* vmm primes only a running data path */
		return;
	dma_lock(&space);
	int ret = vhost_iotlb_prime_locked(&vh, iova, len, perm);
	dma_unlock(&space);
	FUZZ_ASSERT(ret == 0 || ret == -EFAULT || ret == -EACCES);
	priming = true;
	struct vhost_iotlb_msg u[1];
	drain(u, 0, false);
	priming = false;
}



/* The data path stopped (vhost_net_stop: RESET_OWNER empties vhost's IOTLB). */
static void datapath_stop(void)
{
	if (!vh.iotlb && !listening)
		return;
	dma_lock(&space);
	vh.iotlb = false;
	vh.nshadow = vh.victim = 0;
	dma_unlock(&space);
	dma_remove_listener(&space, &vh);
	listening = false;
	nmodel = 0;
}

/* The data path (re)started, as vhost_net_start does it with ACCESS_PLATFORM: VHOST_SET_FEATURES
 * gives vhost a new, empty IOTLB; the listener; then prime_rings (vhost_net.c), whose ring loop
 * is called here:
 * the areas of every enabled queue, in order, until one fails. When none failed, vhost must hold
 * them all: it touches the used ring at VHOST_NET_SET_BACKEND, where a miss is an error. */
static void op_start(void)
{
	datapath_stop();
	nmodel = 0; /* VHOST_SET_FEATURES: a new, empty IOTLB */
	if (dma_add_listener(&space, vp.pci.rid, on_invalidate, &vh))
		abort();
	listening = true;
	dma_lock(&space);
	vh.iotlb = true;
	vh.nfaulted = 0;
	vh.nshadow = vh.victim = 0;
	int ret = vhost_iotlb_prime_rings_locked(&vh, true);
	dma_unlock(&space);
	FUZZ_ASSERT(ret == 0 || ret == -EFAULT || ret == -EACCES);
	priming = true;
	struct vhost_iotlb_msg u[1];
	drain(u, 0, false);
	priming = false;
	if (ret)
		return;
	for (unsigned q = 0; q < net_ops.num_queues; q++) {
		const struct virtio_queue *vq = &vp.queues[q];
		for (enum virtio_area a = VIRTIO_AREA_DESC; vq->enabled && a <= VIRTIO_AREA_DEVICE; a++) {
			uint64_t addr, len;
			unsigned perm;
			virtio_queue_area_range(vq, a, &addr, &len, &perm);
			FUZZ_ASSERT(vhost_model_covers(model, nmodel, addr, len, perm));
		}
	}
}

/* A queue set up by the driver (before a start): size, ring addresses (IOVAs), enable. */
static void op_queue(struct fuzz_in *in, bool enabled, bool low)
{
	struct virtio_queue *vq = &vp.queues[fin_u8(in) % net_ops.num_queues];
	vq->size = (uint16_t)(1u << (fin_u8(in) % 11)); /* 1..1024 */
	vq->desc = fin_u64(in);
	vq->driver = fin_u64(in);
	vq->device = fin_u64(in);
	if (low) { /* in the low 4 GiB, aligned as the transport requires */
		vq->desc &= 0xFFFFFFF0ULL;
		vq->driver &= 0xFFFFFFFEULL;
		vq->device &= 0xFFFFFFFCULL;
	}
	vq->enabled = enabled;
}

static bool rid_matches(void *ctx, uint16_t rid) { return *(const uint16_t *)ctx == rid; }

/* Bus Master Enable written, as virtio_pci.c's config_written handles it: cleared, the device's
 * IOTLB users drop every translation. */
static void op_bus_master(bool on)
{
	bool was = pci_bus_master_enabled(&vp.pci);
	set_bus_master(on);
	if (was && !on) {
		dma_lock(&space);
		dma_notify_locked(&space, rid_matches, &vp.pci.rid, 0, UINT64_MAX);
		dma_unlock(&space);
		struct vhost_iotlb_msg u[1];
		drain(u, 0, false);
		if (vh.iotlb && listening && check_bme)
			FUZZ_ASSERT(nmodel == 0); /* "BME cleared drops the device's translations" */
	}
}

static void run_op(struct fuzz_in *in)
{
	uint8_t op = fin_u8(in);
	switch (op & 0xF) {
	case 0: /* MISS; bit 4: in the low 4 GiB, page aligned */
	default: {
		uint64_t iova = fin_u64(in);
		uint8_t perm = fin_u8(in);
		if (op & 0x10)
			iova &= 0xFFFFF000ULL;
		op_miss(iova, perm);
		break;
	}
	case 1: /* up to 8 raw messages (bits 6:4 + 1) */
		op_raw(in, 1 + (op >> 4) % 8);
		break;
	case 2: { /* a direct prime; bits 5:4 the permission; bit 6: in the low 4 GiB */
		uint64_t iova = fin_u64(in);
		uint64_t len = fin_u32(in) % ((1u << 20) + 1);
		if (op & 0x40)
			iova &= 0xFFFFF000ULL;
		op_prime(iova, len, (op >> 4) & DMA_PERM_RW);
		break;
	}
	case 3: { /* the guest changes its tables */
		uint64_t off = fin_u32(in) % FUZZ_WINDOW & ~7ULL;
		uint64_t x = fin_u64(in);
		memcpy(guest_ptr(&mem, off, 8), &x, 8);
		break;
	}
	case 4: /* Bus Master Enable written: bit 4 its value */
		op_bus_master(op & 0x10);
		break;
	case 5: /* bit 4: the data path (re)started, else stopped */
		if (op & 0x10)
			op_start();
		else
			datapath_stop();
		break;
	case 6: /* a queue set up: bit 4 enabled, bit 5 addresses in the low 4 GiB */
		op_queue(in, op & 0x10, op & 0x20);
		break;
	case 7: /* a VT-d register write (invalidations, translation on/off); bit 4: 64-bit */
		if (vtd_on) {
			unsigned off = fuzz_vtd_regs[fin_u8(in) % FUZZ_NREGS];
			fuzz_wr(&v, off, op & 0x10 ? fin_u64(in) : fin_u32(in), op & 0x10 ? 8 : 4);
		}
		break;
	case 8: /* an invalidation descriptor, submitted (bit 4) or not */
		if (vtd_on) {
			uint64_t lo = fin_u64(in), hi = fin_u64(in);
			fuzz_queue_push(&v, &mem, &queue_pending, lo, hi, op & 0x10);
		}
		break;
	case 9: /* GCMD as Linux writes it */
		if (vtd_on) {
			uint8_t set = fin_u8(in), clear = fin_u8(in);
			fuzz_gcmd(&v, set, clear);
		}
		break;
	}
	/* Listener-sent messages were drained inside the listener. */
	struct vhost_iotlb_msg u[1];
	FUZZ_ASSERT(drain(u, 0, false) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t config = fin_u8(&in);
	uint16_t rid = fin_u16(&in);
	uint64_t root = fin_u32(&in) % FUZZ_WINDOW & ~0xFFFULL;
	uint64_t queue = fin_u32(&in) % FUZZ_WINDOW & ~0xFFFULL;
	fuzz_load_memory(&in, &mem);

	if (dma_space_init(&space, &mem))
		abort();
	memset(&vp, 0, sizeof(vp));
	vp.pci.name = "fuzz-net";
	vp.pci.rid = rid;
	set_bus_master(!(config & 4));
	memset(&vh, 0, sizeof(vh));
	vh.fd = sv[0];
	vh.dma = &space;
	vh.vp = &vp;
	vh.shadow = config & 0x20 ? NULL : shadow_mem;
	vh.prefetch = config & 0x40;
	vp.ops = &net_ops;
	nmodel = 0;
	listening = false;
	if (!(config & 8))
		op_start(); /* no queue enabled yet: nothing primed */
	queue_pending = 0;
	vtd_on = config & 1;
	if (vtd_on) {
		struct vtd_config cfg = { .gpa_bits = 39, .device_tlb = config & 2 };
		if (vtd_init(&v, &space, &cfg))
			abort();
		cap0 = vtd_reg64(&v, VTD_REG_CAP);
		ecap0 = vtd_reg64(&v, VTD_REG_ECAP);
		/* As Linux brings the unit up: root table, queue, translation on. */
		fuzz_wr(&v, VTD_REG_RTADDR, root, 8);
		fuzz_gcmd(&v, 2, 0); /* SRTP */
		if (config & 0x10) {
			fuzz_wr(&v, VTD_REG_IQT, 0, 8);
			fuzz_wr(&v, VTD_REG_IQA, queue, 8);
			fuzz_gcmd(&v, 4, 0); /* QIE */
		}
		fuzz_gcmd(&v, 1, 0); /* TE */
	}
	struct vhost_iotlb_msg u[1];
	FUZZ_ASSERT(drain(u, 0, false) == 0);

	for (unsigned n = 0; in.n && n < 1024; n++) {
		uint64_t descriptors = vtd_on ? v.stats.descriptors : 0;
		run_op(&in);
		FUZZ_ASSERT(!fuzz_lock_held(&space));
		FUZZ_ASSERT(vh.nshadow <= VHOST_IOTLB_SHADOW);
		check_shadow();
		if (vtd_on)
			fuzz_vtd_check(&v, cap0, ecap0, descriptors);
	}

	if (vtd_on)
		vtd_destroy(&v);
	dma_remove_listener(&space, &vh);
	dma_space_destroy(&space);
	fuzz_reset_memory(&mem);
	return 0;
}
