/* libFuzzer target for the whole q35-lite board as a guest reaches it. Each input builds the
 * board as vm_create() and board_init() (vmm/vm.c) do: event loop, buses, DMA space, the VT-d
 * unit if asked, the routing table, IOAPIC, UART on the loop, ACPI PM, RTC, host bridge, PCI bus
 * (ECAM, CF8/CFC), the table of fixed ranges that vm.c registers (vmm/board.c), virtio-net over
 * virtio-pci with MSI-X (and ATS) at 00:01.0; without KVM (vm_fd -1: routes, irqfds and
 * ioeventfds stay in vmm). Linked with -Wl,--wrap=open,--wrap=open64,--wrap=ioctl:
 * "/dev/vhost-net" is one end of a SOCK_SEQPACKET pair (vmm's IOTLB messages are read back from
 * the other, as in tests/unit/vhost_harness.h), "/dev/net/tun" is /dev/null, and their ioctls
 * reach the fake vhost and tun below, which keep vhost's state (rings, backends, IOTLB).
 * Operations go through bus_access() as vcpu.c's handle_exit() calls it (string I/O element by
 * element, MMIO cut at 8 bytes, IOAPIC EOI exits); then the event loop runs what is ready
 * (vhost misses, vring errors, console output).
 *
 * After every operation: in 00:00.0 and 00:01.0 the config bytes no mask lets the guest write
 * (ids, class, header type, capability pointers and bodies, BAR size bits) are as built, the masks
 * too, no write-1-to-clear bit set, a mapped BAR where its register points; a queue has a vhost
 * backend exactly while the device is active, bus mastering on and the queue enabled; active is
 * DRIVER_OK without NEEDS_RESET (ACCESS_PLATFORM behind the IOMMU), and vhost's ring is the
 * queue's: host pointers inside guest RAM without the IOMMU, its IOVAs with it; fuzz_vtd_check;
 * no lock left held. The fake vhost checks: features offered, ACCESS_PLATFORM behind the IOMMU,
 * none while a backend runs; the memory table is guest RAM; ring sizes powers of two, addresses
 * aligned and (no IOTLB) inside RAM; at NET_SET_BACKEND with the tap (vhost starts on the ring):
 * bus mastering on, the ring set, inside RAM or (IOTLB) held by vhost's IOTLB with the access it
 * needs and translating to RAM now; UPDATEs non-empty, not wrapping, inside one RAM region's host
 * mapping, with bus mastering on; IOTLB messages only in IOTLB mode (MSG_V2).
 *
 * Input:
 *   u8 config   bit 0: VT-d (--iommu); 1: ATS (--iommu=ats); 2: vhost without IOTLB_MSG_V2;
 *               3: VMM_IOTLB_EXACT=1 (vmm's shadow of vhost's IOTLB); 4: a tap without offloads
 *   u8 fail     bits 3:0 a vhost or tun ioctl (fail_reqs[], 0: none) that fails at its nth call
 *               (bits 7:4, 0: never) after the board is built
 *   u32 time    the RTC's time (seconds since 1970)
 *   memory      as fuzz_vtd: u8 count, count x { u32 offset (mod 2 MiB), u16 length, bytes }:
 *               the first 2 MiB of guest RAM (3 GiB + 64 MiB: two regions)
 *   operations  until the input ends (at most 1024), see run_op() */
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../devices/ioapic.h"
#include "../../devices/pm.h"
#include "../../devices/pm_regs.h"
#include "../../devices/rtc.h"
#include "../../devices/uart8250.h"
#include "../../virtio/net.h"
#include "../../vmm/board.h"
#include "../../vmm/layout.h"
#include "fuzz_common.h"
#include "vhost_model.h"

#define RAM_SIZE (PCI_HOLE_START + (64ULL << 20))
#define BIT(n) (1ULL << (n))
#define NEEDS_RESET 0x40
#define NQ VHOST_NET_QUEUES

static struct guest_memory mem;
static int devnull = -1;
static time_t rtc_time;

/* ---- the board: what struct vm holds ---- */
static struct {
	struct event_loop loop;
	struct bus pio, mmio;
	struct dma_space dma;
	struct vtd vtd;
	bool has_vtd;
	struct irq_routing routing;
	struct ioapic ioapic;
	struct uart8250 uart;
	struct pm pm;
	struct rtc rtc;
	struct pci_bus pci;
	struct pci_device host_bridge;
	struct virtio_net_backend net_backend; /* vm_host's: tap and vhost fds */
	struct virtio_net net;
} b;

/* board.c's table, as vm.c registers it (filled at set-up). run_op's targets: these, then VT-d
 * and the NIC's BARs. */
static struct board_range board_map[BOARD_NUM_RANGES];
#define NMAP BOARD_NUM_RANGES
#define NPIO BOARD_NUM_PIO_RANGES
#define NTARGETS (NMAP + 3)

/* vm.c's callbacks (without KVM, delivery cannot fail). */
static void vtd_raise_msi(void *ctx, uint64_t addr, uint32_t data)
{
	(void)ctx;
	if (irq_routing_signal_msi(&b.routing, addr, data))
		abort();
}
static void vtd_ir_changed(void *ctx, unsigned first, unsigned last, bool all_formats)
{
	(void)ctx;
	if (irq_routing_retranslate(&b.routing, first, last, all_formats))
		abort();
}
static void set_uart_irq(void *ctx, bool level) { (void)ctx; ioapic_set_irq(&b.ioapic, IRQ_COM1, level); }
static void set_sci(void *ctx, bool level) { (void)ctx; ioapic_set_irq(&b.ioapic, IRQ_SCI, level); }
static void pm_event(void *ctx, enum pm_event ev) { (void)ctx; (void)ev; /* vm_request_stop: vCPUs may go on a while */ }
static time_t fixed_now(void) { return rtc_time; }

/* ---- the fake kernel: vhost-net and tun ---- */
static int vhost_fd = -1, vhost_peer = -1, tap_fd = -1;
static bool armed; /* the board is built: fault injection on */
static uint64_t vhost_offer;
static bool vhost_msg_v2, tap_offloads;
static unsigned long fail_req;
static unsigned fail_nth;
static const unsigned long fail_reqs[] = {
	0, VHOST_SET_BACKEND_FEATURES, VHOST_SET_FEATURES, VHOST_SET_MEM_TABLE, VHOST_SET_VRING_NUM,
	VHOST_SET_VRING_BASE, VHOST_SET_VRING_ADDR, VHOST_SET_VRING_KICK, VHOST_SET_VRING_CALL,
	VHOST_SET_VRING_ERR, VHOST_NET_SET_BACKEND, TUNSETOFFLOAD,
};

static struct {
	bool owner, v2, iotlb;
	struct {
		bool num_set, addr_set;
		unsigned num;
		uint64_t a[3]; /* desc, avail, used as vhost has them */
		int backend;
	} r[NQ];
} fv;

static struct ventry model[VHOST_MAX_ENTRIES]; /* vhost's IOTLB (vhost_model.h) */
static unsigned nmodel;

static void fv_reset(bool owner)
{
	memset(&fv, 0, sizeof(fv));
	fv.owner = owner;
	fv.r[0].backend = fv.r[1].backend = -1;
	nmodel = 0;
}

/* Host range [p, p + len) inside one RAM region's mapping. */
FUZZ_NOCOV static bool host_in_ram(uint64_t p, uint64_t len)
{
	for (unsigned i = 0; i < mem.nregions; i++) {
		uint64_t h = (uintptr_t)mem.regions[i].host, size = mem.regions[i].size;
		if (p >= h && p - h < size && len <= size - (p - h))
			return true;
	}
	return false;
}

/* Split virtqueue areas (virtio 1.2, 2.7): length, alignment, the device's access. */
static uint64_t area_len(unsigned a, unsigned num) { return a == 0 ? 16ULL * num : 6 + (a == 1 ? 2ULL : 8ULL) * num; }
static const uint64_t area_align[3] = { 16, 2, 4 };
static const unsigned area_perm[3] = { DMA_PERM_READ, DMA_PERM_READ, DMA_PERM_WRITE };

/* Every byte of [iova, iova + len) translates for the NIC, with perm, to RAM. */
FUZZ_NOCOV static bool translates(uint64_t iova, uint64_t len, unsigned perm)
{
	bool held = fuzz_lock_held(&b.dma), ok = true;
	if (!held)
		dma_lock(&b.dma);
	while (len && ok) {
		struct dma_translation t;
		if (!(ok = !dma_translate_locked(&b.dma, b.net.vp.pci.rid, iova, perm, false, &t)))
			break;
		fuzz_check_translation(&t, iova, perm);
		uint64_t n = t.len - (iova - t.iova) < len ? t.len - (iova - t.iova) : len;
		ok = guest_ptr(&mem, t.gpa + (iova - t.iova), n) != NULL;
		len -= n;
		iova += n;
	}
	if (!held)
		dma_unlock(&b.dma);
	return ok;
}

/* Reads what vmm wrote to vhost and applies it to the model (vhost's rules: an UPDATE adds an
 * entry, the oldest retired past 2048; an INVALIDATE drops every entry it overlaps). */
FUZZ_NOCOV static void drain_msgs(void)
{
	struct vhost_msg_v2 m;
	ssize_t r;
	while (vhost_peer >= 0 && (r = read(vhost_peer, &m, sizeof(m))) >= 0) {
		const struct vhost_iotlb_msg *u = &m.iotlb;
		FUZZ_ASSERT(r == (ssize_t)sizeof(m) && m.type == VHOST_IOTLB_MSG_V2 && m.asid == 0);
		FUZZ_ASSERT(fv.v2 && fv.iotlb && u->size > 0);
		if (u->type == VHOST_IOTLB_UPDATE) {
			FUZZ_ASSERT(u->iova + (u->size - 1) >= u->iova && host_in_ram(u->uaddr, u->size));
			FUZZ_ASSERT(u->perm >= VHOST_ACCESS_RO && u->perm <= VHOST_ACCESS_RW);
			FUZZ_ASSERT(pci_bus_master_enabled(&b.net.vp.pci)); /* no DMA grant without BME */
			vhost_model_add(model, &nmodel, u);
			continue;
		}
		FUZZ_ASSERT(u->type == VHOST_IOTLB_INVALIDATE);
		vhost_model_del(model, &nmodel, u->iova, u->size);
	}
}

/* NET_SET_BACKEND with the tap: vhost starts on the ring, reading the used ring at once. */
FUZZ_NOCOV static void check_ring_start(unsigned q, int fd)
{
	FUZZ_ASSERT(fd == tap_fd && fv.owner && fv.r[q].num_set && fv.r[q].addr_set);
	FUZZ_ASSERT(pci_bus_master_enabled(&b.net.vp.pci));
	drain_msgs();
	for (unsigned a = 0; a < 3; a++) {
		uint64_t addr = fv.r[q].a[a], len = area_len(a, fv.r[q].num);
		FUZZ_ASSERT(fv.iotlb || host_in_ram(addr, len));
		FUZZ_ASSERT(!fv.iotlb || (vhost_model_covers(model, nmodel, addr, len, area_perm[a]) && translates(addr, len, area_perm[a])));
	}
}

FUZZ_NOCOV static int fake_vhost(unsigned long req, void *arg)
{
	uint64_t x = 0;
	const struct vhost_vring_state *st = arg; /* index first in vhost_vring_addr too */
	const struct vhost_vring_file *file = arg;
	switch (req) {
	case VHOST_SET_OWNER:
		FUZZ_ASSERT(!fv.owner);
		fv.owner = true;
		return 0;
	case VHOST_RESET_OWNER:
		fv_reset(false);
		return 0;
	case VHOST_GET_FEATURES:
	case VHOST_GET_BACKEND_FEATURES:
		x = req == VHOST_GET_FEATURES ? vhost_offer : vhost_msg_v2 ? BIT(VHOST_BACKEND_F_IOTLB_MSG_V2) : 0;
		memcpy(arg, &x, 8);
		return 0;
	case VHOST_SET_BACKEND_FEATURES:
		memcpy(&x, arg, 8);
		FUZZ_ASSERT(vhost_msg_v2 && x == BIT(VHOST_BACKEND_F_IOTLB_MSG_V2));
		fv.v2 = true;
		return 0;
	case VHOST_SET_FEATURES:
		memcpy(&x, arg, 8);
		FUZZ_ASSERT(!(x & ~vhost_offer) && fv.r[0].backend < 0 && fv.r[1].backend < 0);
		/* Behind the IOMMU vhost must never take guest-physical addresses. */
		FUZZ_ASSERT(!b.has_vtd || (x & BIT(VIRTIO_F_ACCESS_PLATFORM)));
		fv.iotlb = x & BIT(VIRTIO_F_ACCESS_PLATFORM);
		nmodel = 0; /* a new, empty IOTLB */
		return 0;
	case VHOST_SET_MEM_TABLE: {
		const struct vhost_memory *t = arg;
		FUZZ_ASSERT(t->nregions == mem.nregions);
		for (unsigned i = 0; i < t->nregions; i++)
			FUZZ_ASSERT(t->regions[i].guest_phys_addr == mem.regions[i].gpa &&
				    t->regions[i].memory_size == mem.regions[i].size &&
				    t->regions[i].userspace_addr == (uintptr_t)mem.regions[i].host);
		return 0;
	}
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
		FUZZ_ASSERT(file->index < NQ && file->fd >= 0);
		return 0;
	case VHOST_NET_SET_BACKEND:
		FUZZ_ASSERT(file->index < NQ);
		if (file->fd >= 0)
			check_ring_start(file->index, file->fd);
		fv.r[file->index].backend = file->fd;
		return 0;
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_BASE:
	case VHOST_SET_VRING_ADDR:
		FUZZ_ASSERT(st->index < NQ);
		if (fv.r[st->index].backend >= 0) {
			errno = EBUSY; /* as vhost: no ring change under a running backend */
			return -1;
		}
		break;
	default:
		errno = ENOTTY;
		return -1;
	}
	if (req == VHOST_SET_VRING_NUM) {
		FUZZ_ASSERT(st->num && st->num <= 32768 && !(st->num & (st->num - 1)));
		fv.r[st->index].num = st->num;
		fv.r[st->index].num_set = true;
	} else if (req == VHOST_SET_VRING_ADDR) {
		const struct vhost_vring_addr *va = arg;
		uint64_t a[3] = { va->desc_user_addr, va->avail_user_addr, va->used_user_addr };
		FUZZ_ASSERT(fv.r[st->index].num_set && va->flags == 0);
		for (unsigned i = 0; i < 3; i++) {
			FUZZ_ASSERT(!(a[i] & (area_align[i] - 1)));
			/* Without the IOTLB, host pointers: outside guest RAM vhost would use vmm's memory. */
			FUZZ_ASSERT(fv.iotlb || host_in_ram(a[i], area_len(i, fv.r[st->index].num)));
			fv.r[st->index].a[i] = a[i];
		}
		fv.r[st->index].addr_set = true;
	}
	return 0;
}

FUZZ_NOCOV static int fake_tun(unsigned long req, void *arg)
{
	unsigned features = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (req == TUNGETFEATURES)
		memcpy(arg, &features, sizeof(features));
	else if (req == TUNSETOFFLOAD && (uintptr_t)arg && !tap_offloads)
		return errno = EINVAL, -1;
	else if (req != TUNSETIFF && req != TUNSETVNETHDRSZ && req != TUNSETOFFLOAD)
		return errno = ENOTTY, -1;
	return 0;
}

int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *); /* absent for SET_OWNER and RESET_OWNER: not used then */
	va_end(ap);
	if (fd < 0 || (fd != vhost_fd && fd != tap_fd))
		return __real_ioctl(fd, req, arg);
	if (fd == vhost_fd)
		drain_msgs(); /* what vmm wrote before this ioctl */
	if (armed && req == fail_req && fail_nth && !--fail_nth)
		return errno = EIO, -1;
	return fd == vhost_fd ? fake_vhost(req, arg) : fake_tun(req, arg);
}

int __real_open(const char *path, int flags, ...);
int __real_open64(const char *path, int flags, ...);
static int fake_open(const char *path, int flags, va_list ap, bool is64)
{
	mode_t mode = flags & O_CREAT ? va_arg(ap, mode_t) : 0; /* (vmm opens nothing with O_TMPFILE) */
	if (!strcmp(path, "/dev/vhost-net")) {
		int sv[2], sz = 8 << 20; /* vhost takes every message at once: room for an operation's */
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
			return -1;
		if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
			setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		vhost_peer = sv[1];
		return vhost_fd = sv[0];
	}
	if (!strcmp(path, "/dev/net/tun"))
		return tap_fd = __real_open("/dev/null", O_RDWR | O_CLOEXEC);
	return is64 ? __real_open64(path, flags, mode) : __real_open(path, flags, mode);
}
int __wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	int fd = fake_open(path, flags, ap, false);
	va_end(ap);
	return fd;
}
int __wrap_open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	int fd = fake_open(path, flags, ap, true);
	va_end(ap);
	return fd;
}

/* ---- building the board: vm_create() and board_init() without KVM ---- */
static uint64_t cap0, ecap0;
static struct pci_device *fns[2];
static uint8_t snap[2][3][PCI_CFG_SIZE]; /* cfg, wmask, w1cmask as built */

static void board_build(uint8_t config)
{
	char err[256] = "";
	bool iommu = config & 1, ats = iommu && (config & 2);
	fv_reset(false);
	vhost_msg_v2 = !(config & 4);
	tap_offloads = !(config & 0x10);
	if (config & 8)
		setenv("VMM_IOTLB_EXACT", "1", 1);
	else
		unsetenv("VMM_IOTLB_EXACT");
	memset(&b, 0, sizeof(b));
	if (event_loop_init(&b.loop) || bus_init(&b.pio, "pio") || bus_init(&b.mmio, "mmio") ||
	    dma_space_init(&b.dma, &mem))
		abort();
	if ((b.has_vtd = iommu)) { /* gpa_bits: vtd_width_for() of this RAM */
		struct vtd_config vc = { .gpa_bits = 39, .device_tlb = ats, .raise_msi = vtd_raise_msi, .intremap = true,
					 .ir_changed = vtd_ir_changed };
		if (vtd_init(&b.vtd, &b.dma, &vc) || bus_register(&b.mmio, VTD_BASE, VTD_SIZE, &vtd_mmio_ops, &b.vtd, "vt-d"))
			abort();
		cap0 = vtd_reg64(&b.vtd, VTD_REG_CAP);
		ecap0 = vtd_reg64(&b.vtd, VTD_REG_ECAP);
	}
	if (irq_routing_init(&b.routing, -1, IOAPIC_NUM_PINS))
		abort();
	if (iommu)
		irq_routing_set_remapper(&b.routing, &(struct irq_remapper){ .remap = vtd_ir_remap, .opaque = &b.vtd });
	if (ioapic_init(&b.ioapic, &b.routing, 0, IOAPIC_SID) || uart8250_init(&b.uart, devnull, set_uart_irq, &b) ||
	    uart8250_attach_loop(&b.uart, &b.loop) || pm_init(&b.pm, set_sci, pm_event, &b) || rtc_init(&b.rtc) ||
	    pci_bus_init(&b.pci, &b.mmio))
		abort();
	b.rtc.now = fixed_now;
	pci_host_bridge_init(&b.host_bridge);
	if (pci_bus_add(&b.pci, 0, &b.host_bridge))
		abort();
	const struct board_devices devs = { .pio = &b.pio, .mmio = &b.mmio, .uart = &b.uart, .rtc = &b.rtc, .pm = &b.pm,
					    .pci = &b.pci, .ioapic = &b.ioapic };
	board_ranges(&devs, board_map);
	if (board_register(&devs))
		abort();
	/* vm_create's NIC */
	struct virtio_net_options o = { .tap = "fuzz0", .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 } };
	if (virtio_net_backend_open(&b.net_backend, &o, err, sizeof(err)) ||
	    virtio_net_init(&b.net, &o, &b.net_backend, &mem, &b.routing, -1, &b.dma, &b.loop, err, sizeof(err)) ||
	    (ats && virtio_pci_add_ats(&b.net.vp)) || pci_bus_add(&b.pci, 1, &b.net.vp.pci)) {
		fprintf(stderr, "fuzz_board: building the NIC failed: %s\n", err);
		abort();
	}
	fns[0] = &b.host_bridge;
	fns[1] = &b.net.vp.pci;
	for (unsigned f = 0; f < 2; f++) {
		memcpy(snap[f][0], fns[f]->cfg, PCI_CFG_SIZE);
		memcpy(snap[f][1], fns[f]->wmask, PCI_CFG_SIZE);
		memcpy(snap[f][2], fns[f]->w1cmask, PCI_CFG_SIZE);
	}
}

/* vm_destroy()'s order. */
static void board_destroy(void)
{
	virtio_net_destroy(&b.net);
	virtio_net_backend_close(&b.net_backend);
	close(vhost_peer);
	vhost_peer = vhost_fd = tap_fd = -1;
	if (b.has_vtd)
		vtd_destroy(&b.vtd);
	dma_space_destroy(&b.dma);
	ioapic_destroy(&b.ioapic);
	uart8250_destroy(&b.uart);
	pm_destroy(&b.pm);
	rtc_destroy(&b.rtc);
	pci_bus_destroy(&b.pci);
	irq_routing_destroy(&b.routing);
	bus_destroy(&b.pio);
	bus_destroy(&b.mmio);
	event_loop_destroy(&b.loop);
}

/* ---- the invariants ---- */
/* (Not under ASan either: 8 KiB compared after every operation.) */
FUZZ_NOCOV __attribute__((no_sanitize("address"))) static void check_pci(void)
{
	for (unsigned f = 0; f < 2; f++) {
		const struct pci_device *d = fns[f];
		FUZZ_ASSERT(!memcmp(d->wmask, snap[f][1], PCI_CFG_SIZE) && !memcmp(d->w1cmask, snap[f][2], PCI_CFG_SIZE));
		uint64_t bad = 0;
		for (unsigned i = 0; i < PCI_CFG_SIZE; i += 8) {
			uint64_t c, s, w, k;
			memcpy(&c, &d->cfg[i], 8);
			memcpy(&s, &snap[f][0][i], 8);
			memcpy(&w, &d->wmask[i], 8);
			memcpy(&k, &d->w1cmask[i], 8);
			bad |= ((c ^ s) & ~(w | k)) | (c & ~s & k); /* read-only changed, W1C bit set */
		}
		FUZZ_ASSERT(bad == 0);
		for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
			const struct pci_bar *bar = &d->bars[i];
			bool found = !bar->mapped;
			for (unsigned k = 0; k < b.mmio.nranges && !found; k++)
				found = b.mmio.ranges[k].base == bar->mapped && b.mmio.ranges[k].ops == bar->ops &&
					b.mmio.ranges[k].len == bar->size;
			FUZZ_ASSERT(found && (!bar->mapped || ((d->cfg[PCI_COMMAND] & PCI_COMMAND_MEMORY) &&
							      bar->mapped == pci_bar_address(d, i))));
		}
	}
}

FUZZ_NOCOV static void check_virtio(void)
{
	const struct virtio_pci *vp = &b.net.vp;
	bool bme = pci_bus_master_enabled(&vp->pci);
	if (vp->active) {
		FUZZ_ASSERT((vp->status & VIRTIO_CONFIG_S_DRIVER_OK) && !(vp->status & NEEDS_RESET));
		FUZZ_ASSERT(fv.owner && fv.iotlb == virtio_pci_uses_iommu(vp) && (!b.has_vtd || fv.iotlb));
	}
	for (unsigned q = 0; q < NQ; q++) {
		const struct virtio_queue *vq = &vp->queues[q];
		FUZZ_ASSERT((fv.r[q].backend >= 0) == (vp->active && bme && vq->enabled));
		if (!vp->active || !vq->enabled)
			continue;
		FUZZ_ASSERT(fv.r[q].num_set && fv.r[q].addr_set && fv.r[q].num == vq->size);
		const uint64_t addr[3] = { vq->desc, vq->driver, vq->device };
		for (unsigned a = 0; a < 3; a++) {
			uint64_t h = fv.iotlb ? addr[a] : (uintptr_t)guest_ptr(&mem, addr[a], area_len(a, vq->size));
			FUZZ_ASSERT(fv.r[q].a[a] == h && (fv.iotlb || host_in_ram(h, area_len(a, vq->size))));
		}
	}
}

FUZZ_NOCOV static void check_locks(void)
{
	pthread_mutex_t *m[] = { &b.dma.lock, &b.net.vp.lock, &b.net.vp.msix.lock, &b.pci.lock, &b.pci.map_lock,
				 &b.ioapic.lock, &b.uart.lock, &b.pm.lock, &b.rtc.lock };
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		FUZZ_ASSERT(!pthread_mutex_trylock(m[i]) && !pthread_mutex_unlock(m[i]));
	FUZZ_ASSERT(!pthread_rwlock_trywrlock(&b.pio.lock) && !pthread_rwlock_unlock(&b.pio.lock));
	FUZZ_ASSERT(!pthread_rwlock_trywrlock(&b.mmio.lock) && !pthread_rwlock_unlock(&b.mmio.lock));
}

/* ---- the guest: exits as vcpu.c dispatches them ---- */
static void pio(bool out, uint16_t port, uint8_t *data, unsigned size, unsigned count)
{
	for (unsigned i = 0; i < count; i++) /* handle_io() */
		bus_access(&b.pio, out, port, data + i * size, size);
}
static void mmio(bool is_write, uint64_t addr, uint8_t *data, unsigned len)
{
	bus_access(&b.mmio, is_write, addr, data, len > 8 ? 8 : len);
}

/* Target i: board_map's ranges, the VT-d unit, the NIC's BAR 0 and 1 wherever they are now. */
static struct board_range target(unsigned i)
{
	i %= NTARGETS;
	if (i < NMAP)
		return board_map[i];
	if (i == NMAP)
		return (struct board_range){ false, VTD_BASE, VTD_SIZE, &vtd_mmio_ops, &b.vtd, "vt-d" };
	const struct pci_bar *bar = &b.net.vp.pci.bars[i - NMAP - 1];
	return (struct board_range){ false, pci_bar_address(&b.net.vp.pci, i - NMAP - 1), bar->size, bar->ops, bar->opaque, "bar" };
}

/* One operation: an opcode byte (bits 2:0 kind, bit 3 write, bits 5:4 the width, 1 << n bytes:
 * port I/O at most 4, as KVM reports it) and its arguments; a write's value last. */
static void run_op(struct fuzz_in *in)
{
	uint8_t op = fin_u8(in), data[64] = { 0 };
	bool wr = op & 8, is_pio = false;
	unsigned width = 1u << ((op >> 4) & 3), count = 1;
	uint64_t addr = 0;
	switch (op & 7) {
	case 0: { /* a target's range: u8 target, u16 offset (up to 8 bytes past its end) */
		struct board_range t = target(fin_u8(in));
		uint64_t off = fin_u16(in);
		is_pio = t.pio;
		addr = t.base + (t.len < 0x10000 ? off % (t.len + 8) : off);
		break;
	}
	case 1: { /* config space: u8 function (bit 7 clear: 00:00.0 or 00:01.0 by bit 0; set:
		   * devfn 0..127), u16 register; bit 6: through CF8/CFC (256 bytes), else ECAM */
		uint8_t f = fin_u8(in);
		unsigned devfn = f & 0x80 ? f & 0x7F : (f & 1) << 3, reg = fin_u16(in) % PCI_CFG_SIZE;
		if ((is_pio = op & 0x40)) {
			uint32_t cf8 = PCI_CF8_ENABLE | devfn << 8 | (reg & 0xFC);
			pio(true, PORT_PCI_CONFIG_ADDR, (uint8_t *)&cf8, 4, 1);
			addr = PORT_PCI_CONFIG_DATA + (reg & 3);
		} else {
			addr = PCI_ECAM_BASE + ((uint64_t)devfn << 12) + reg;
		}
		break;
	}
	case 2: /* any address: bit 6 port I/O (u16 port), else MMIO (u64 address) */
		addr = (is_pio = op & 0x40) ? fin_u16(in) : fin_u64(in);
		break;
	case 3: /* string port I/O (rep ins/outs): u8 port target, u8 count (1..8) */
		addr = target(fin_u8(in) % NPIO).base;
		count = 1 + fin_u8(in) % 8;
		is_pio = true;
		break;
	case 4: /* vhost: bit 3 a vring error on queue bit 4; else a MISS: u64 iova (bit 6: in the
		 * first 4 MiB), u8 perm */
		if (wr) {
			uint64_t one = 1;
			if (write(b.net.vhost.err_fd[(op >> 4) & 1], &one, sizeof(one)) < 0)
				abort();
		} else {
			uint64_t iova = fin_u64(in);
			struct vhost_msg_v2 m = vhost_iotlb_msg(VHOST_IOTLB_MISS, op & 0x40 ? iova & 0x3FFFFF : iova, 0, 0, fin_u8(in));
			if (write(vhost_peer, &m, sizeof(m)) != (ssize_t)sizeof(m))
				abort();
		}
		return;
	case 5: /* KVM_EXIT_IOAPIC_EOI: u8 vector */
		ioapic_eoi(&b.ioapic, fin_u8(in));
		return;
	case 6: { /* the guest writes its RAM (rings, tables): u32 offset (mod 2 MiB), u64 value */
		uint64_t off = fin_u32(in) % FUZZ_WINDOW & ~7ULL, x = fin_u64(in);
		memcpy(guest_ptr(&mem, off, 8), &x, 8);
		return;
	}
	default: /* the host: bit 3 a key typed on the console (u8), else the power button (SIGTERM) */
		if (wr) {
			uint8_t c = fin_u8(in);
			uart8250_receive(&b.uart, &c, 1);
		} else {
			pm_press_power_button(&b.pm);
		}
		return;
	}
	width = is_pio && width > 4 ? 4 : width;
	if (wr)
		fin_take(in, data, width * count);
	if (is_pio)
		pio(wr, (uint16_t)addr, data, width, count);
	else
		mmio(wr, addr, data, width);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vmm_log_level = -1; /* not even errors: the guest-triggered warnings would flood */
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC); /* the console's output */
	if (devnull < 0 || guest_memory_init(&mem, RAM_SIZE) || mem.nregions != 2) {
		fprintf(stderr, "fuzz_board: set-up failed\n");
		abort();
	}
	/* What vhost-net offers (VHOST_NET_FEATURES of Linux 6.1). */
	vhost_offer = BIT(VIRTIO_F_NOTIFY_ON_EMPTY) | BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_RING_F_EVENT_IDX) |
		      BIT(VHOST_F_LOG_ALL) | BIT(VIRTIO_F_ANY_LAYOUT) | BIT(VIRTIO_F_VERSION_1) |
		      BIT(VHOST_NET_F_VIRTIO_NET_HDR) | BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_F_ACCESS_PLATFORM);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t config = fin_u8(&in), fail = fin_u8(&in);
	rtc_time = (time_t)fin_u32(&in);
	fuzz_load_memory(&in, &mem);
	board_build(config);
	fail_req = fail_reqs[(fail & 0xF) % (sizeof(fail_reqs) / sizeof(fail_reqs[0]))];
	fail_nth = fail >> 4;
	armed = true;

	for (unsigned n = 0; in.n && n < 1024; n++) {
		uint64_t descriptors = b.has_vtd ? b.vtd.stats.descriptors : 0;
		run_op(&in);
		/* The main loop's turn, when it has completions (an empty wait costs more than the
		 * operation): vhost's misses and vring errors, the console's output. */
		io_uring_submit(b.loop.ring);
		if (io_uring_cq_ready(b.loop.ring) && event_loop_run_once(&b.loop, 0))
			abort();
		drain_msgs();
		check_pci();
		check_virtio();
		check_locks();
		if (b.has_vtd)
			fuzz_vtd_check(&b.vtd, cap0, ecap0, descriptors);
	}

	armed = false;
	board_destroy();
	fuzz_reset_memory(&mem);
	return 0;
}
