/* vhost-net's start and stop without /dev/vhost-net or KVM. The program is linked with
 * -Wl,--wrap=ioctl: every vhost ioctl() that virtio/vhost_net.c makes lands in __wrap_ioctl(),
 * which records it and succeeds. The vhost fd is one end of a SOCK_SEQPACKET pair
 * (vhost_harness.h), so the IOTLB messages vmm writes are read back in order, and each recorded
 * ioctl notes how many had been written before it. Checks the ioctls' order and arguments with
 * and without VIRTIO_F_ACCESS_PLATFORM, the ring UPDATEs written before the first backend, a miss
 * answered over the identity DMA space and one through VT-d page tables (vtd_harness.h), and the
 * reset that stop does on the same fd. The fake vhost keeps each queue's backend and, as vhost
 * does, refuses ring set-up on a queue that has one (EBUSY); an ioctl can be made to fail, for a
 * start that fails halfway. Last, a virtio-pci function over vhost-net driven through config
 * space: Bus Master Enable gates the start, and detaches and re-attaches the backends and the
 * MSI-X irqfds. */
#include <stdarg.h>
#include <sys/ioctl.h>

#include "vtd_harness.h"
#include "vhost_harness.h"
#include "virtio_driver.h"

#define BIT(n)   (1ULL << (n))
#define TAP_FD   77
#define RING     0x2000000ULL /* queue q's rings: RING + q * 0x10000, device areas 0x8000 further */
#define MAX_LOG  64
/* What vhost offers (VHOST_GET_FEATURES) and what the driver accepted (without ACCESS_PLATFORM):
 * VHOST_NET_F_VIRTIO_NET_HDR is bit 27, which a legacy driver can accept as ANY_LAYOUT; the
 * driver's GUEST_CSUM (bit 1) is not offered by vhost. */
#define OFFERED  (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_ACCESS_PLATFORM) | BIT(15) | BIT(VHOST_NET_F_VIRTIO_NET_HDR))
#define ACCEPTED (BIT(VIRTIO_F_VERSION_1) | BIT(15) | BIT(VHOST_NET_F_VIRTIO_NET_HDR) | BIT(1))

static struct virtio_pci vp;
static struct vhost_net vh;
static const struct virtio_device_ops net_ops = { .device_id = 1, .num_queues = 2, .max_queue_size = 256 };

/* ---- the vhost device: ioctls recorded, messages read back ---- */
struct call {
	unsigned long req;
	int fd;
	unsigned nmsgs; /* IOTLB messages vmm had written before this ioctl */
	union {
		uint64_t u64;
		struct vhost_vring_state state;
		struct vhost_vring_addr addr;
		struct vhost_vring_file file;
		struct { uint32_t nregions; struct vhost_memory_region r[GUEST_MAX_REGIONS]; } table;
	} arg;
};
static struct call calls[MAX_LOG];
static unsigned ncalls;
static struct vhost_msg_v2 msgs[MAX_LOG];
static unsigned nmsgs;
static int backend[2] = { -1, -1 }; /* each queue's backend as the fake vhost has it */
static unsigned long fail_req;      /* the ioctl to fail (0: none) ... */
static unsigned fail_nth;           /* ... at its nth call from now */

static void drain(void)
{
	while (nmsgs < MAX_LOG && next_msg(&msgs[nmsgs]))
		nmsgs++;
}

int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *); /* absent for SET_OWNER and RESET_OWNER: not used then */
	va_end(ap);
	if (_IOC_TYPE(req) != VHOST_VIRTIO)
		return __real_ioctl(fd, req, arg);
	if (ncalls == MAX_LOG) {
		errno = ENOSPC;
		return -1;
	}
	drain();
	struct call *c = &calls[ncalls++];
	*c = (struct call){ .req = req, .fd = fd, .nmsgs = nmsgs };
	switch (req) {
	case VHOST_SET_FEATURES:
	case VHOST_SET_BACKEND_FEATURES:
		memcpy(&c->arg.u64, arg, sizeof(uint64_t));
		break;
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_BASE:
		memcpy(&c->arg.state, arg, sizeof(c->arg.state));
		break;
	case VHOST_SET_VRING_ADDR:
		memcpy(&c->arg.addr, arg, sizeof(c->arg.addr));
		break;
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
	case VHOST_NET_SET_BACKEND:
		memcpy(&c->arg.file, arg, sizeof(c->arg.file));
		break;
	case VHOST_SET_MEM_TABLE: {
		const struct vhost_memory *t = arg;
		c->arg.table.nregions = t->nregions;
		for (unsigned i = 0; i < t->nregions && i < GUEST_MAX_REGIONS; i++)
			c->arg.table.r[i] = t->regions[i];
		break;
	}
	}
	if (req == fail_req && fail_nth && !--fail_nth) {
		errno = EIO;
		return -1;
	}
	const struct vhost_vring_state *st = arg;
	const struct vhost_vring_file *file = arg;
	switch (req) { /* vhost's own state: rings are busy while a backend is set */
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_BASE:
	case VHOST_SET_VRING_ADDR: /* index first in vhost_vring_addr too */
		if (st->index < 2 && backend[st->index] >= 0) {
			errno = EBUSY;
			return -1;
		}
		break;
	case VHOST_NET_SET_BACKEND:
		if (file->index < 2)
			backend[file->index] = file->fd;
		break;
	case VHOST_RESET_OWNER:
		backend[0] = backend[1] = -1;
		break;
	}
	return 0;
}

/* The next recorded ioctl, which must be `req` on the vhost fd. */
static const struct call *expect(unsigned *i, unsigned long req)
{
	static const struct call none;
	CHECK(*i < ncalls);
	if (*i >= ncalls)
		return &none;
	const struct call *c = &calls[(*i)++];
	CHECK_EQ(c->req, req);
	CHECK_EQ(c->fd, vh.fd);
	return c;
}

static void set_queues(unsigned enabled)
{
	for (unsigned q = 0; q < 2; q++) {
		uint64_t base = RING + q * 0x10000ULL;
		vp.queues[q] = (struct virtio_queue){ .size = 256, .enabled = enabled >> q & 1, .desc = base,
						      .driver = base + 0x4000, .device = base + 0x8000,
						      .kick_fd = 100 + q, .call_fd = 110 + q };
	}
}

/* An UPDATE of the identity space: from its iova to the end of the RAM region holding it, at
 * that RAM's host address, read-write. */
static void check_identity_update(const struct vhost_msg_v2 *m)
{
	CHECK_EQ(m->type, VHOST_IOTLB_MSG_V2);
	CHECK_EQ(m->asid, 0);
	CHECK_EQ(m->iotlb.type, VHOST_IOTLB_UPDATE);
	CHECK_EQ(m->iotlb.perm, VHOST_ACCESS_RW);
	const struct guest_region *r = NULL;
	for (unsigned i = 0; i < mem.nregions; i++)
		if (m->iotlb.iova >= mem.regions[i].gpa && m->iotlb.iova - mem.regions[i].gpa < mem.regions[i].size)
			r = &mem.regions[i];
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_EQ(m->iotlb.uaddr, (uintptr_t)r->host + (m->iotlb.iova - r->gpa));
	CHECK_EQ(m->iotlb.iova + m->iotlb.size, r->gpa + r->size);
}

/* One of the first `upto` messages gives vhost all of the area at its host address, with the
 * access the device needs there. */
static bool area_primed(const struct virtio_queue *vq, enum virtio_area a, unsigned upto)
{
	uint64_t addr, len;
	unsigned perm;
	virtio_queue_area_range(vq, a, &addr, &len, &perm);
	for (unsigned k = 0; k < upto && k < nmsgs; k++) {
		const struct vhost_iotlb_msg *u = &msgs[k].iotlb;
		if (u->type == VHOST_IOTLB_UPDATE && u->iova <= addr && addr - u->iova <= u->size &&
		    len <= u->size - (addr - u->iova) && (u->perm & perm) == perm &&
		    u->uaddr + (addr - u->iova) == (uintptr_t)guest_ptr(&mem, addr, len))
			return true;
	}
	return false;
}

/* vhost_net_start() with `features` and the queues of the mask `enabled`: every ioctl in order,
 * with its argument, and the IOTLB messages. */
static void check_start(uint64_t features, unsigned enabled)
{
	bool iotlb = features & BIT(VIRTIO_F_ACCESS_PLATFORM);
	set_queues(enabled);
	ncalls = nmsgs = 0;
	CHECK_EQ(vhost_net_start(&vh, &vp, features, TAP_FD), 0);
	drain();
	unsigned i = 0;
	if (iotlb) /* the message format that has the IOTLB, and nothing else */
		CHECK_EQ(expect(&i, VHOST_SET_BACKEND_FEATURES)->arg.u64, 0x2);
	uint64_t vf = expect(&i, VHOST_SET_FEATURES)->arg.u64;
	CHECK_EQ(!!(vf & BIT(VIRTIO_F_ACCESS_PLATFORM)), iotlb);
	CHECK(!(vf & BIT(VHOST_NET_F_VIRTIO_NET_HDR))); /* the tap writes the header */
	CHECK_EQ(vf, features & OFFERED & ~BIT(VHOST_NET_F_VIRTIO_NET_HDR));
	const struct call *c = expect(&i, VHOST_SET_MEM_TABLE);
	CHECK_EQ(c->arg.table.nregions, mem.nregions);
	for (unsigned r = 0; r < mem.nregions; r++) {
		CHECK_EQ(c->arg.table.r[r].guest_phys_addr, mem.regions[r].gpa);
		CHECK_EQ(c->arg.table.r[r].memory_size, mem.regions[r].size);
		CHECK_EQ(c->arg.table.r[r].userspace_addr, (uintptr_t)mem.regions[r].host);
	}
	for (unsigned q = 0; q < 2; q++) {
		const struct virtio_queue *vq = &vp.queues[q];
		if (!(enabled >> q & 1))
			continue;
		c = expect(&i, VHOST_SET_VRING_NUM);
		CHECK_EQ(c->arg.state.index, q);
		CHECK_EQ(c->arg.state.num, vq->size);
		c = expect(&i, VHOST_SET_VRING_BASE);
		CHECK_EQ(c->arg.state.index, q);
		CHECK_EQ(c->arg.state.num, 0);
		/* IOVAs behind the IOTLB, else host pointers into guest RAM. */
		c = expect(&i, VHOST_SET_VRING_ADDR);
		CHECK_EQ(c->arg.addr.index, q);
		CHECK_EQ(c->arg.addr.desc_user_addr, iotlb ? vq->desc : (uintptr_t)guest_ptr(&mem, vq->desc, 1));
		CHECK_EQ(c->arg.addr.avail_user_addr, iotlb ? vq->driver : (uintptr_t)guest_ptr(&mem, vq->driver, 1));
		CHECK_EQ(c->arg.addr.used_user_addr, iotlb ? vq->device : (uintptr_t)guest_ptr(&mem, vq->device, 1));
		const int fds[] = { vq->kick_fd, vq->call_fd, vh.err_fd[q] };
		const unsigned long reqs[] = { VHOST_SET_VRING_KICK, VHOST_SET_VRING_CALL, VHOST_SET_VRING_ERR };
		for (unsigned k = 0; k < 3; k++) {
			c = expect(&i, reqs[k]);
			CHECK_EQ(c->arg.file.index, q);
			CHECK_EQ(c->arg.file.fd, fds[k]);
		}
	}
	/* No message while the rings are set up (SET_FEATURES started vhost on an empty IOTLB). */
	unsigned first_backend = i;
	for (unsigned k = 0; k < first_backend && k < ncalls; k++)
		CHECK_EQ(calls[k].nmsgs, 0);
	for (unsigned q = 0; q < 2; q++) {
		if (!(enabled >> q & 1))
			continue;
		c = expect(&i, VHOST_NET_SET_BACKEND);
		CHECK_EQ(c->arg.file.index, q);
		CHECK_EQ(c->arg.file.fd, TAP_FD);
	}
	CHECK_EQ(ncalls, i);
	if (!iotlb) {
		CHECK_EQ(nmsgs, 0);
		return;
	}
	/* Every message was written before the first backend, and they hold every area of every
	 * enabled queue: vhost touches the used ring at SET_BACKEND, where a miss is an error. */
	CHECK(first_backend < ncalls);
	unsigned before = first_backend < ncalls ? calls[first_backend].nmsgs : 0;
	CHECK_EQ(before, nmsgs);
	CHECK(nmsgs > 0);
	for (unsigned k = 0; k < nmsgs; k++)
		check_identity_update(&msgs[k]);
	for (unsigned q = 0; q < 2; q++)
		for (enum virtio_area a = VIRTIO_AREA_DESC; (enabled >> q & 1) && a <= VIRTIO_AREA_DEVICE; a++)
			CHECK(area_primed(&vp.queues[q], a, before));
}

/* RESET_OWNER then SET_OWNER, on the same fd, which stays. */
static void check_stop(void)
{
	int fd = vh.fd;
	ncalls = nmsgs = 0;
	CHECK_EQ(vhost_net_stop(&vh), 0);
	unsigned i = 0;
	expect(&i, VHOST_RESET_OWNER);
	expect(&i, VHOST_SET_OWNER);
	CHECK_EQ(ncalls, i);
	CHECK_EQ(vh.fd, fd);
	CHECK(!vh.iotlb);
}

/* A miss at iova (vhost asks `perm`) answered by exactly one UPDATE that covers it. */
static struct vhost_iotlb_msg answer(uint64_t iova, uint8_t perm)
{
	struct vhost_msg_v2 m;
	memset(&m, 0, sizeof(m));
	send_miss(iova, perm);
	CHECK(vhost_iotlb_on_message(&vh, vh.fd, 1));
	CHECK(next_msg(&m));
	CHECK_EQ(m.type, VHOST_IOTLB_MSG_V2);
	CHECK_EQ(m.asid, 0);
	CHECK_EQ(m.iotlb.type, VHOST_IOTLB_UPDATE);
	CHECK(m.iotlb.iova <= iova && iova - m.iotlb.iova < m.iotlb.size);
	struct vhost_msg_v2 more;
	CHECK(!next_msg(&more));
	return m.iotlb;
}

/* The index of the next recorded `req` from *i on, which it passes; ncalls when none. */
static unsigned find_call(unsigned *i, unsigned long req)
{
	while (*i < ncalls && calls[*i].req != req)
		(*i)++;
	return *i < ncalls ? (*i)++ : ncalls;
}

/* A start that fails at the second VHOST_NET_SET_BACKEND, after queue 0's backend was set and
 * the IOTLB listener added, undoes all of it (RESET_OWNER, SET_OWNER): no backend stays, the
 * IOTLB is off, and the next start works rather than finding queue 0's rings busy. */
static void check_failed_start(void)
{
	uint64_t features = ACCEPTED | BIT(VIRTIO_F_ACCESS_PLATFORM);
	set_queues(3);
	unsigned listeners = space.nlisteners;
	ncalls = nmsgs = 0;
	fail_req = VHOST_NET_SET_BACKEND;
	fail_nth = 2;
	CHECK_EQ(vhost_net_start(&vh, &vp, features, TAP_FD), -EIO);
	fail_req = 0;
	unsigned i = 0;
	CHECK_EQ(calls[find_call(&i, VHOST_NET_SET_BACKEND)].arg.file.index, 0);
	CHECK_EQ(calls[find_call(&i, VHOST_NET_SET_BACKEND)].arg.file.index, 1); /* the one that failed */
	expect(&i, VHOST_RESET_OWNER);
	expect(&i, VHOST_SET_OWNER);
	CHECK_EQ(ncalls, i);
	CHECK_EQ(backend[0], -1);
	CHECK_EQ(backend[1], -1);
	CHECK(!vh.iotlb);
	CHECK_EQ(space.nlisteners, listeners);
	/* The next start: the whole sequence, every ioctl succeeding. */
	check_start(features, 3);
	CHECK_EQ(backend[0], TAP_FD);
	CHECK_EQ(backend[1], TAP_FD);
	check_stop();
	/* A failure at the first ioctl is undone as well (nothing was set, and the reset is harmless). */
	ncalls = 0;
	fail_req = VHOST_SET_FEATURES;
	fail_nth = 1;
	CHECK_EQ(vhost_net_start(&vh, &vp, ACCEPTED, TAP_FD), -EIO);
	fail_req = 0;
	i = 0;
	expect(&i, VHOST_SET_FEATURES);
	expect(&i, VHOST_RESET_OWNER);
	expect(&i, VHOST_SET_OWNER);
	CHECK_EQ(ncalls, i);
}

/* Bus Master Enable off and on while started behind the IOTLB: the tap detached from both queues
 * and nothing else; attached again after the rings were sent to vhost's (emptied) IOTLB, since
 * vhost reads the used ring at SET_BACKEND. */
static void check_set_dma(void)
{
	ncalls = nmsgs = 0;
	CHECK_EQ(vhost_net_set_dma(&vh, -1), 0);
	drain();
	unsigned i = 0;
	for (unsigned q = 0; q < 2; q++) {
		const struct call *c = expect(&i, VHOST_NET_SET_BACKEND);
		CHECK_EQ(c->arg.file.index, q);
		CHECK_EQ((int)c->arg.file.fd, -1);
	}
	CHECK_EQ(ncalls, i);
	CHECK_EQ(nmsgs, 0);
	CHECK_EQ(backend[0], -1);
	ncalls = nmsgs = 0;
	CHECK_EQ(vhost_net_set_dma(&vh, TAP_FD), 0);
	drain();
	i = 0;
	for (unsigned q = 0; q < 2; q++) {
		const struct call *c = expect(&i, VHOST_NET_SET_BACKEND);
		CHECK_EQ(c->arg.file.index, q);
		CHECK_EQ(c->arg.file.fd, TAP_FD);
	}
	CHECK_EQ(ncalls, i);
	CHECK(ncalls > 0 && calls[0].nmsgs > 0);
	unsigned before = ncalls ? calls[0].nmsgs : 0;
	for (unsigned q = 0; q < 2; q++)
		for (enum virtio_area a = VIRTIO_AREA_DESC; a <= VIRTIO_AREA_DEVICE; a++)
			CHECK(area_primed(&vp.queues[q], a, before));
	CHECK_EQ(backend[0], TAP_FD);
	CHECK_EQ(backend[1], TAP_FD);
}

/* ---- a virtio-net function over vhost-net, as virtio/net.c wires it ---- */
static struct virtio_pci bvp;
static int bme_activate(void *d, struct virtio_pci *p) { (void)d; return vhost_net_start(&vh, p, p->driver_features, TAP_FD); }
static void bme_reset(void *d, struct virtio_pci *p) { (void)d; (void)p; CHECK_EQ(vhost_net_stop(&vh), 0); }
static int bme_dma(void *d, struct virtio_pci *p, bool on) { (void)d; (void)p; return vhost_net_set_dma(&vh, on ? TAP_FD : -1); }
static uint64_t bme_features(void *d) { (void)d; return BIT(15); }
static const struct virtio_device_ops bme_ops = {
	.device_id = 1, .num_queues = 2, .max_queue_size = 256, .class_code = 0x0200,
	.features = bme_features, .activate = bme_activate, .reset = bme_reset, .bus_master = bme_dma,
};
static struct pci_bus bus;
static void cfg_wr(unsigned reg, unsigned len, uint32_t x) { pci_config_write(&bus, 0, RID_A, reg, &x, len); }
static void bar0_wr(unsigned off, unsigned len, uint32_t x) { virtio_pci_bar0_ops.write(&bvp, off, &x, len); }
static uint32_t bar0_rd(unsigned off, unsigned len) { uint32_t x = 0; virtio_pci_bar0_ops.read(&bvp, off, &x, len); return x; }
static void msix_wr(unsigned off, uint32_t x) { pci_msix_bar_ops.write(&bvp.msix, off, &x, 4); }
static void command(uint16_t cmd) { cfg_wr(PCI_COMMAND, 2, cmd); }
/* Queue q's call fd is bound to vector q + 1, and an irqfd in KVM. */
static bool irqfd_on(unsigned q)
{
	bool on = false;
	return pci_msix_irqfd_bound(&bvp.msix, q + 1, bvp.queues[q].call_fd, &on) && on;
}
static bool irqfd_bound(unsigned q) { return pci_msix_irqfd_bound(&bvp.msix, q + 1, bvp.queues[q].call_fd, NULL); }

/* DRIVER_OK with Bus Master Enable clear starts no vhost; setting it starts it. Clearing it while
 * running detaches both backends and the irqfds (no DMA, no MSI: a queue's interrupt waits in
 * the pending bit); setting it again attaches both and sends what waited. */
static void check_bus_master(void)
{
	struct irq_routing rt;
	CHECK_EQ(irq_routing_init(&rt, -1, 24), 0);
	CHECK_EQ(virtio_pci_init(&bvp, &bme_ops, NULL, &mem, &rt, -1), 0);
	bvp.pci.name = "bme-net";
	CHECK_EQ(pci_bus_init(&bus, NULL), 0);
	CHECK_EQ(pci_bus_add(&bus, 1, &bvp.pci), 0); /* 00:01.0 = RID_A, memory decoding on */
	uint16_t mem_only = PCI_COMMAND_MEMORY, master = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	/* MSI-X on, vectors 1 and 2 unmasked. */
	for (unsigned vec = 1; vec <= 2; vec++) {
		msix_wr(16 * vec + MSIX_ENTRY_ADDR_LO, 0xFEE00000);
		msix_wr(16 * vec + MSIX_ENTRY_DATA, 0x40 + vec);
		msix_wr(16 * vec + MSIX_ENTRY_CTRL, 0);
	}
	cfg_wr(bvp.msix.cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	command(mem_only);
	/* The driver brings the device up with bus mastering off. */
	virtio_driver_negotiate(&bvp);
	virtio_driver_queues(&bvp, 2, RING);
	ncalls = 0;
	bar0_wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0F);
	CHECK_EQ(ncalls, 0); /* no vhost ioctl at all */
	CHECK(!bvp.active);
	CHECK_EQ(bar0_rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x0F); /* waiting, not broken */
	CHECK(!irqfd_bound(0) && !irqfd_bound(1));
	/* Bus Master Enable set: vhost starts, both backends attached, both irqfds assigned. */
	command(master);
	CHECK(bvp.active);
	unsigned i = 0;
	CHECK(find_call(&i, VHOST_SET_FEATURES) < ncalls);
	CHECK_EQ(backend[0], TAP_FD);
	CHECK_EQ(backend[1], TAP_FD);
	CHECK(irqfd_on(0) && irqfd_on(1));
	/* Cleared while running: the two backends detached, nothing else; irqfds detached, routes
	 * gone, queue 0's interrupt held pending. */
	ncalls = 0;
	uint64_t delivered = bvp.msix.delivered;
	command(mem_only);
	i = 0;
	for (unsigned q = 0; q < 2; q++) {
		const struct call *c = expect(&i, VHOST_NET_SET_BACKEND);
		CHECK_EQ(c->arg.file.index, q);
		CHECK_EQ((int)c->arg.file.fd, -1);
	}
	CHECK_EQ(ncalls, i);
	CHECK_EQ(backend[0], -1);
	CHECK_EQ(backend[1], -1);
	CHECK(irqfd_bound(0) && !irqfd_on(0));
	CHECK(irqfd_bound(1) && !irqfd_on(1));
	CHECK(!rt.routes[bvp.msix.v[1].gsi].valid);
	uint64_t one = 1;
	CHECK_EQ(write(bvp.queues[0].call_fd, &one, 8), 8);
	uint32_t pba = 0;
	pci_msix_bar_ops.read(&bvp.msix, VPCI_MSIX_PBA_OFFSET, &pba, 4);
	CHECK_EQ(pba, 1U << 1);
	CHECK_EQ(bvp.msix.delivered, delivered);
	CHECK(bvp.active);
	/* Set again: both backends attached where they were (no ring set-up, no reset), irqfds
	 * back, the waiting interrupt sent. */
	ncalls = 0;
	command(master);
	i = 0;
	for (unsigned q = 0; q < 2; q++) {
		const struct call *c = expect(&i, VHOST_NET_SET_BACKEND);
		CHECK_EQ(c->arg.file.index, q);
		CHECK_EQ(c->arg.file.fd, TAP_FD);
	}
	CHECK_EQ(ncalls, i);
	CHECK(irqfd_on(0) && irqfd_on(1));
	CHECK(rt.routes[bvp.msix.v[1].gsi].valid);
	CHECK_EQ(bvp.msix.delivered, delivered + 1);
	CHECK_EQ(bar0_rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x0F);
	/* Reset: vhost reset once, irqfds unbound. */
	ncalls = 0;
	bar0_wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	i = 0;
	expect(&i, VHOST_RESET_OWNER);
	expect(&i, VHOST_SET_OWNER);
	CHECK_EQ(ncalls, i);
	CHECK(!irqfd_bound(0) && !irqfd_bound(1));
	pci_bus_destroy(&bus);
	virtio_pci_destroy(&bvp);
	irq_routing_destroy(&rt);
	vh.vp = &vp;
}

int main(void)
{
	harness_init(); /* 64 MiB of guest RAM, the identity DMA space */
	vhost_harness_init(&vp, &vh, &space, RID_A);
	vp.ops = &net_ops;
	vh.features = OFFERED;
	vh.backend_features = BIT(VHOST_BACKEND_F_IOTLB_MSG_V2);
	vh.err_fd[0] = 120;
	vh.err_fd[1] = 121;

	/* Without ACCESS_PLATFORM, only queue 1 enabled. */
	check_start(ACCEPTED, 2);
	check_stop();

	/* ACCESS_PLATFORM needs the V2 messages: refused before any ioctl when vhost lacks them. */
	vh.backend_features = 0;
	ncalls = 0;
	CHECK_EQ(vhost_net_start(&vh, &vp, ACCEPTED | BIT(VIRTIO_F_ACCESS_PLATFORM), TAP_FD), -ENOTSUP);
	CHECK_EQ(ncalls, 0);
	vh.backend_features = BIT(VHOST_BACKEND_F_IOTLB_MSG_V2) | BIT(VHOST_BACKEND_F_IOTLB_BATCH);

	/* A start that fails halfway leaves nothing started. */
	check_failed_start();

	/* With ACCESS_PLATFORM, both queues, over the identity space. */
	check_start(ACCEPTED | BIT(VIRTIO_F_ACCESS_PLATFORM), 3);
	CHECK(vh.iotlb);
	check_set_dma();

	/* A miss over the identity space: from the missed address to the end of its RAM region, at
	 * the host address of that guest page. */
	uint64_t miss = 0x3001234;
	struct vhost_iotlb_msg u = answer(miss, VHOST_ACCESS_RO);
	CHECK_EQ(u.uaddr + (miss - u.iova), (uintptr_t)guest_ptr(&mem, miss, 1));
	CHECK_EQ(u.iova + u.size, mem.regions[0].gpa + mem.regions[0].size);
	CHECK_EQ(u.perm, VHOST_ACCESS_RW);

	/* Behind VT-d (the device is RID_A, domain 1): a read-only page. The update carries the
	 * page's permission and the host address of the guest page it maps, one page long. */
	setup(false);
	map(pgd_a, 4, 0x40000000, 0x2345000, 1, VTD_SL_R);
	struct vhost_msg_v2 m;
	while (next_msg(&m)) /* the unit's enabling may have flushed vhost */
		CHECK_EQ(m.iotlb.type, VHOST_IOTLB_INVALIDATE);
	u = answer(0x40000abc, VHOST_ACCESS_RO);
	CHECK_EQ(u.iova, 0x40000000);
	CHECK_EQ(u.size, 0x1000);
	CHECK_EQ(u.uaddr, (uintptr_t)guest_ptr(&mem, 0x2345000, 0x1000));
	CHECK_EQ(u.perm, VHOST_ACCESS_RO);

	check_stop();
	check_bus_master();
	vhost_harness_fini(&vh);
	return harness_fini("vhost_net");
}
