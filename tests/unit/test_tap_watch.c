/* The watch for the tap's deletion on the host (virtio/tap_watch.c) and virtio-net's reaction
 * (virtio/net.c), without KVM or /dev/vhost-net.
 *
 * 1. tap_watch_parse() on hand-built netlink datagrams: cut headers, nlmsg_len too small or too
 *    large, a link message too short for its ifinfomsg, other ifindexes, RTM_NEWLINK, several
 *    messages with attributes and padding, a last message without its padding, NLMSG_DONE,
 *    NLMSG_ERROR and NLMSG_NOOP, an unaligned buffer; and every cut of a datagram.
 * 2. As root with /dev/net/tun: a real tap and its watch; the tap deleted through rtnetlink, as
 *    `ip link del` does, is seen as DELETED and its fd as detached (skipped otherwise).
 * 3. A virtio-net device over a stand-in vhost (this program is linked with -Wl,--wrap=ioctl:
 *    vhost's ioctls are recorded), brought up as a driver does, twice: on a /dev/null "tap" whose
 *    tun ioctls are answered here, where a datagram not from the kernel is ignored and the
 *    reaction is called as the event loop would; then, where part 2 runs, on the real tap, whose
 *    deletion the event loop sees. Either way the deletion detaches both backends, clears the
 *    link bit in the config status and sends the config interrupt; Bus Master Enable, a reset
 *    and a new start, and a new device on the same backend (a guest restart) never attach the
 *    tap again and keep the link down, without NEEDS_RESET; a new device finds a tap deleted
 *    while no VM watched it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../virtio/net.h"
#include "../../virtio/tap_watch.h"
#include "check.h"
#include "virtio_driver.h"

#define OURS   7
#define OTHER  8
#define RID    0x08 /* 00:01.0 */
#define RING   0x200000ULL /* queue q's rings: RING + q * 0x10000 */

/* ---- 1. the parser ---- */

/* Appends one message at `at`: its header (nlmsg_len the body's unless `len` is not 0), the body,
 * and the padding to 4 bytes when `pad`. Returns the end. */
static size_t put_msg(uint8_t *b, size_t at, uint16_t type, const void *body, size_t body_len, uint32_t len, bool pad)
{
	struct nlmsghdr h = { .nlmsg_len = len ? len : (uint32_t)(NLMSG_HDRLEN + body_len), .nlmsg_type = type };
	memcpy(b + at, &h, sizeof(h));
	if (body_len)
		memcpy(b + at + NLMSG_HDRLEN, body, body_len);
	size_t end = at + NLMSG_HDRLEN + body_len;
	if (pad)
		while (end & 3)
			b[end++] = 0;
	return end;
}

/* A link message: ifinfomsg for `ifindex`, then IFLA_IFNAME `name` (an odd length: padding). */
static size_t put_link(uint8_t *b, size_t at, uint16_t type, int ifindex, const char *name, bool pad)
{
	uint8_t body[64] = { 0 };
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	memcpy(body, &ifi, sizeof(ifi));
	struct rtattr rta = { .rta_len = (unsigned short)(RTA_LENGTH(strlen(name) + 1)), .rta_type = IFLA_IFNAME };
	memcpy(body + sizeof(ifi), &rta, sizeof(rta));
	memcpy(body + sizeof(ifi) + sizeof(rta), name, strlen(name) + 1);
	return put_msg(b, at, type, body, sizeof(ifi) + rta.rta_len, 0, pad);
}

static enum tap_watch_verdict parse(const uint8_t *b, size_t len) { return tap_watch_parse(b, len, OURS); }

static void test_parse(void)
{
	uint8_t b[1024] = { 0 };
	size_t n;
	CHECK_EQ(parse(b, 0), TAP_WATCH_NOTHING);

	/* One message: ours deleted, another link deleted, ours changed. */
	n = put_link(b, 0, RTM_DELLINK, OURS, "vmmtap0", true);
	CHECK_EQ(parse(b, n), TAP_WATCH_DELETED);
	CHECK_EQ(tap_watch_parse(b, n, OTHER), TAP_WATCH_NOTHING);
	CHECK_EQ(tap_watch_parse(b, n, 0), TAP_WATCH_NOTHING); /* no ifindex: nothing is ours */
	n = put_link(b, 0, RTM_DELLINK, OTHER, "eth1", true);
	CHECK_EQ(parse(b, n), TAP_WATCH_NOTHING);
	n = put_link(b, 0, RTM_NEWLINK, OURS, "vmmtap0", true);
	CHECK_EQ(parse(b, n), TAP_WATCH_NOTHING);
	n = put_link(b, 0, RTM_DELLINK, 0, "x", true);
	CHECK_EQ(tap_watch_parse(b, n, 0), TAP_WATCH_NOTHING);

	/* Cut headers and cut bodies: every length short of the whole message. */
	size_t whole = put_link(b, 0, RTM_DELLINK, OURS, "vmmtap0", false);
	for (size_t cut = 1; cut < whole; cut++)
		CHECK_EQ(parse(b, cut), TAP_WATCH_UNSURE);

	/* nlmsg_len below the header's own length (0 included: no endless walk), just the header
	 * for a link message (no ifinfomsg), one byte short of the ifinfomsg, past the buffer. */
	static const uint32_t bad_len[] = { 0, 1, NLMSG_HDRLEN - 1, NLMSG_HDRLEN, NLMSG_HDRLEN + sizeof(struct ifinfomsg) - 1 };
	for (size_t i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++) {
		struct ifinfomsg ifi = { .ifi_index = OURS };
		n = put_msg(b, 0, RTM_DELLINK, &ifi, sizeof(ifi), 0, true);
		memcpy(b, &bad_len[i], 4);
		CHECK_EQ(parse(b, n), TAP_WATCH_UNSURE);
	}
	n = put_link(b, 0, RTM_DELLINK, OURS, "vmmtap0", true);
	static const uint32_t big_len[] = { 0x100, 0x7FFFFFFF, 0xFFFFFFFC, 0xFFFFFFFF };
	for (size_t i = 0; i < sizeof(big_len) / sizeof(big_len[0]); i++) {
		memcpy(b, &big_len[i], 4);
		CHECK_EQ(parse(b, n), TAP_WATCH_UNSURE);
	}
	/* A message of another type only needs its header; a malformed one still stops the walk. */
	n = put_msg(b, 0, NLMSG_NOOP, NULL, 0, 0, true);
	n = put_link(b, n, RTM_DELLINK, OURS, "vmmtap0", true);
	CHECK_EQ(parse(b, n), TAP_WATCH_DELETED);
	n = put_msg(b, 0, RTM_NEWADDR, "abc", 3, NLMSG_HDRLEN - 4, true);
	n = put_link(b, n, RTM_DELLINK, OURS, "vmmtap0", true);
	CHECK_EQ(parse(b, n), TAP_WATCH_UNSURE);

	/* Several messages: others first, with odd-length names (padding), ours last. */
	n = put_link(b, 0, RTM_NEWLINK, OTHER, "a", true);
	n = put_link(b, n, RTM_DELLINK, OTHER, "bb", true);
	n = put_link(b, n, RTM_NEWLINK, OURS, "vmmtap0", true);
	size_t ours_at = n;
	n = put_link(b, n, RTM_DELLINK, OURS, "vmmtap0", true);
	CHECK_EQ(parse(b, n), TAP_WATCH_DELETED);
	CHECK_EQ(parse(b, ours_at), TAP_WATCH_NOTHING);
	/* Every cut: DELETED exactly from the end of our message on (its padding may be missing). */
	for (size_t cut = 0; cut <= n; cut++) {
		enum tap_watch_verdict v = parse(b, cut);
		if (cut >= ours_at + NLMSG_HDRLEN + sizeof(struct ifinfomsg) + RTA_LENGTH(8))
			CHECK_EQ(v, TAP_WATCH_DELETED);
		else
			CHECK(v != TAP_WATCH_DELETED);
	}
	/* After ours, a malformed message does not undo what was found. */
	size_t m = put_msg(b, n, RTM_NEWLINK, NULL, 0, 3, false);
	CHECK_EQ(parse(b, m), TAP_WATCH_DELETED);

	/* The last message without its padding; one before it without padding is malformed. */
	n = put_link(b, 0, RTM_NEWLINK, OTHER, "abcd", false);
	CHECK(n & 3);
	CHECK_EQ(parse(b, n), TAP_WATCH_NOTHING);
	n = put_link(b, 0, RTM_DELLINK, OURS, "abcd", false);
	CHECK_EQ(parse(b, n), TAP_WATCH_DELETED);
	n = put_link(b, 0, RTM_NEWLINK, OTHER, "abcd", false);
	n = put_link(b, n, RTM_DELLINK, OURS, "vmmtap0", true); /* read at the aligned offset: cut */
	CHECK(parse(b, n) != TAP_WATCH_DELETED);

	/* NLMSG_DONE ends the walk; NLMSG_ERROR and NLMSG_NOOP are skipped. */
	n = put_msg(b, 0, NLMSG_DONE, "\0\0\0\0", 4, 0, true);
	n = put_link(b, n, RTM_DELLINK, OURS, "vmmtap0", true);
	CHECK_EQ(parse(b, n), TAP_WATCH_NOTHING);
	struct nlmsgerr e = { .error = -ENODEV, .msg = { .nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = RTM_GETLINK } };
	n = put_msg(b, 0, NLMSG_ERROR, &e, sizeof(e), 0, true);
	n = put_msg(b, n, NLMSG_NOOP, NULL, 0, 0, true);
	size_t before = n;
	n = put_link(b, n, RTM_DELLINK, OURS, "vmmtap0", true);
	CHECK_EQ(parse(b, n), TAP_WATCH_DELETED);
	CHECK_EQ(parse(b, before), TAP_WATCH_NOTHING);
	n = put_msg(b, 0, NLMSG_ERROR, &e, sizeof(e), 0, true);
	CHECK_EQ(parse(b, n - 1), TAP_WATCH_UNSURE); /* a cut error message */

	/* An unaligned buffer reads the same. */
	uint8_t odd[512];
	n = put_link(b, 0, RTM_NEWLINK, OTHER, "a", true);
	n = put_link(b, n, RTM_DELLINK, OURS, "vmmtap0", true);
	memcpy(odd + 1, b, n);
	CHECK_EQ(tap_watch_parse(odd + 1, n, OURS), TAP_WATCH_DELETED);
	CHECK_EQ(tap_watch_parse(odd + 1, n - 1, OURS), TAP_WATCH_UNSURE);
}

/* ---- 2. a real tap ---- */

/* What `ip link del` sends: RTM_DELLINK for the index, answered with an ack. */
static int delete_link(int ifindex)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = { .h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_DELLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
			 .nlmsg_seq = 1 },
		  .i = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex } };
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	int ret = -EIO;
	uint8_t ack[256];
	ssize_t n;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) == (ssize_t)sizeof(req) &&
	    (n = recv(fd, ack, sizeof(ack), 0)) >= (ssize_t)(NLMSG_HDRLEN + sizeof(struct nlmsgerr))) {
		struct nlmsgerr err;
		memcpy(&err, ack + NLMSG_HDRLEN, sizeof(err));
		ret = err.error;
	}
	close(fd);
	return ret;
}

/* A tap of the kernel's naming (vmmtw0, ...) and its watch: nothing to read while it lives. */
static bool open_real_tap(struct virtio_net_backend *b)
{
	char err[256];
	memset(b, 0, sizeof(*b));
	b->vhost_fd = b->watch.fd = -1;
	if (geteuid() != 0 || tap_open(&b->tap, "vmmtw%d", err, sizeof(err))) {
		printf("tap_watch: no tap of our own here (%s): the real tap's deletion is not checked\n",
		       geteuid() ? "not root" : err);
		return false;
	}
	int ret = virtio_net_backend_watch(b, err, sizeof(err));
	CHECK_EQ(ret, 0);
	if (ret) {
		fprintf(stderr, "tap_watch: %s\n", err);
		tap_close(&b->tap);
		return false;
	}
	CHECK(b->watch.ifindex > 0);
	CHECK(!tap_detached(&b->tap));
	int e = 0;
	CHECK_EQ(tap_watch_read(&b->watch, &e), TAP_WATCH_NOTHING);
	return true;
}

static void test_real_tap(void)
{
	struct virtio_net_backend b;
	if (!open_real_tap(&b))
		return;
	CHECK_EQ(delete_link(b.watch.ifindex), 0);
	int e = 0;
	CHECK_EQ(tap_watch_read(&b.watch, &e), TAP_WATCH_DELETED);
	CHECK(tap_detached(&b.tap));
	CHECK_EQ(tap_watch_read(&b.watch, &e), TAP_WATCH_NOTHING); /* drained, not blocking */
	virtio_net_backend_close(&b);
}

/* ---- 3. the NIC ---- */

static int fake_tap = -1;     /* /dev/null: the tun ioctls on it are answered here */
static bool fake_detached;    /* TUNGETIFF on it fails with EBADFD */
static int backend[2];        /* each queue's backend as the stand-in vhost has it */
static unsigned set_backends, set_offloads;

int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (fd == fake_tap && fd >= 0) {
		if (req == TUNGETIFF && fake_detached)
			return errno = EBADFD, -1;
		set_offloads += req == TUNSETOFFLOAD;
		return 0;
	}
	if (_IOC_TYPE(req) != VHOST_VIRTIO)
		return __real_ioctl(fd, req, arg);
	switch (req) {
	case VHOST_GET_FEATURES:
	case VHOST_GET_BACKEND_FEATURES:
		memset(arg, 0, sizeof(uint64_t));
		break;
	case VHOST_NET_SET_BACKEND: {
		const struct vhost_vring_file *f = arg;
		if (f->index < 2)
			backend[f->index] = f->fd;
		set_backends++;
		break;
	}
	case VHOST_RESET_OWNER:
		backend[0] = backend[1] = -1;
		break;
	}
	return 0;
}

static struct guest_memory mem;
static struct dma_space dma;
static struct irq_routing rt;
static struct event_loop loop;
static struct pci_bus bus;
static struct virtio_net net;

static void cfg_wr(unsigned reg, unsigned len, uint32_t x) { pci_config_write(&bus, 0, RID, reg, &x, len); }
static void bar0_wr(unsigned off, unsigned len, uint32_t x) { virtio_pci_bar0_ops.write(&net.vp, off, &x, len); }
static uint32_t bar0_rd(unsigned off, unsigned len)
{
	uint32_t x = 0;
	virtio_pci_bar0_ops.read(&net.vp, off, &x, len);
	return x;
}
static uint16_t link_status(void)
{
	return (uint16_t)bar0_rd(VPCI_DEVICE_OFFSET + offsetof(struct virtio_net_config, status), 2);
}
static void command(bool master) { cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | (master ? PCI_COMMAND_MASTER : 0)); }

/* The device on `b` at 00:01.0, brought up as Linux does: MSI-X with the config vector 0 and the
 * queues' 1 and 2, VERSION_1, both queues, DRIVER_OK with bus mastering on. */
static void nic_up(struct virtio_net_backend *b, bool create)
{
	char err[256] = "";
	if (create) {
		struct virtio_net_options o = { .tap = "vmmtap0", .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } };
		CHECK_EQ(virtio_net_init(&net, &o, b, &mem, &rt, -1, &dma, &loop, err, sizeof(err)), 0);
		CHECK_EQ(pci_bus_init(&bus, NULL), 0);
		CHECK_EQ(pci_bus_add(&bus, 1, &net.vp.pci), 0);
		for (unsigned vec = 0; vec <= 2; vec++) {
			uint32_t entry[4] = { 0xFEE00000, 0, 0x40 + vec, 0 };
			for (unsigned i = 0; i < 4; i++)
				pci_msix_bar_ops.write(&net.vp.msix, 16 * vec + 4 * i, &entry[i], 4);
		}
		cfg_wr(net.vp.msix.cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
		command(true);
	}
	virtio_driver_negotiate(&net.vp);
	bar0_wr(VIRTIO_PCI_COMMON_MSIX, 2, 0);
	virtio_driver_queues(&net.vp, 2, RING);
	bar0_wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0F);
	CHECK(net.vp.active);
	CHECK_EQ(bar0_rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x0F); /* no NEEDS_RESET */
}

static void nic_down(void)
{
	pci_bus_destroy(&bus);
	virtio_net_destroy(&net);
}

/* A stand-in for the rtnetlink socket: a datagram from a process, not the kernel. */
static void check_forged(struct virtio_net_backend *b, int peer)
{
	uint8_t m[128];
	size_t n = put_link(m, 0, RTM_DELLINK, b->watch.ifindex, "vmmtap0", true);
	CHECK_EQ(write(peer, m, n), (ssize_t)n);
	unsigned before = set_backends;
	for (int i = 0; i < 3; i++)
		CHECK_EQ(event_loop_run_once(&loop, 0), 0);
	CHECK_EQ(set_backends, before);
	CHECK_EQ(link_status(), VIRTIO_NET_S_LINK_UP);
	char byte;
	CHECK(read(b->watch.fd, &byte, 1) < 0 && errno == EAGAIN); /* read and dropped */
}

/* `real`: over the real tap and rtnetlink, the deletion seen by the event loop; else over the
 * /dev/null tap, with a datagram pair as the watch, the reaction called as the loop would. */
static void test_nic(bool real)
{
	struct virtio_net_backend b;
	if (real && !open_real_tap(&b))
		return;
	CHECK_EQ(guest_memory_init(&mem, 64ULL << 20), 0);
	CHECK_EQ(dma_space_init(&dma, &mem), 0);
	CHECK_EQ(irq_routing_init(&rt, -1, 24), 0);
	CHECK_EQ(event_loop_init(&loop), 0);
	int sv[2], forged[2] = { -1, -1 };
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	if (!real) {
		memset(&b, 0, sizeof(b));
		CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, forged), 0);
		snprintf(b.tap.name, sizeof(b.tap.name), "vmmtap0");
		b.tap.fd = fake_tap = open("/dev/null", O_RDWR | O_CLOEXEC);
		b.tap.offloads = TUN_F_CSUM;
		b.watch.fd = forged[0];
		b.watch.ifindex = OURS;
	}
	b.vhost_fd = sv[0];
	fake_detached = false;
	set_offloads = 0;
	nic_up(&b, true);
	CHECK_EQ(backend[0], b.tap.fd);
	CHECK_EQ(backend[1], b.tap.fd);
	CHECK_EQ(link_status(), VIRTIO_NET_S_LINK_UP);
	if (!real)
		check_forged(&b, forged[1]);

	/* The deletion. */
	uint8_t gen = (uint8_t)bar0_rd(VIRTIO_PCI_COMMON_CFGGENERATION, 1);
	uint64_t delivered = net.vp.msix.delivered;
	CHECK_EQ(bar0_rd(VPCI_ISR_OFFSET, 1), 0);
	if (real) {
		CHECK_EQ(delete_link(b.watch.ifindex), 0);
		for (int i = 0; i < 5 && !b.tap_gone; i++)
			CHECK_EQ(event_loop_run_once(&loop, 1000), 0);
	} else {
		fake_detached = true;
		virtio_net_tap_deleted(&net);
	}
	CHECK(b.tap_gone);
	CHECK_EQ(backend[0], -1);
	CHECK_EQ(backend[1], -1);
	CHECK_EQ(link_status(), 0);
	CHECK_EQ((uint8_t)bar0_rd(VIRTIO_PCI_COMMON_CFGGENERATION, 1), (uint8_t)(gen + 1));
	CHECK_EQ(net.vp.msix.delivered, delivered + 1); /* the config vector */
	CHECK_EQ(bar0_rd(VPCI_ISR_OFFSET, 1), VIRTIO_ISR_CONFIG);
	CHECK_EQ(bar0_rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x0F);

	/* Bus Master Enable off and on: the queues get no backend back. */
	unsigned offloads = set_offloads;
	command(false);
	command(true);
	CHECK(net.vp.active);
	CHECK_EQ(backend[0], -1);
	CHECK_EQ(backend[1], -1);
	/* A reset and a new start: a working device (a tun ioctl on the detached tap would fail it),
	 * no backend, the link down. */
	bar0_wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	nic_up(&b, false);
	CHECK_EQ(backend[0], -1);
	CHECK_EQ(backend[1], -1);
	CHECK_EQ(link_status(), 0);
	CHECK_EQ(set_offloads, offloads);
	nic_down();

	/* A guest restart: a new device on the same backend, down from the start, nothing watched. */
	event_loop_destroy(&loop);
	CHECK_EQ(event_loop_init(&loop), 0);
	nic_up(&b, true);
	CHECK_EQ(link_status(), 0);
	CHECK_EQ(backend[0], -1);
	CHECK_EQ(backend[1], -1);
	CHECK_EQ(set_offloads, offloads);
	for (int id = 0; id < EVENT_LOOP_MAX_SOURCES; id++)
		CHECK(!loop.sources[id].used || loop.sources[id].fd != b.watch.fd);
	nic_down();

	/* Deleted while no VM watched (between a reset and the restart): the new device finds the
	 * tap detached and starts with the link down. */
	b.tap_gone = false;
	event_loop_destroy(&loop);
	CHECK_EQ(event_loop_init(&loop), 0);
	nic_up(&b, true);
	CHECK(b.tap_gone);
	CHECK_EQ(link_status(), 0);
	CHECK_EQ(backend[0], -1);
	CHECK_EQ(backend[1], -1);
	nic_down();

	event_loop_destroy(&loop);
	b.vhost_fd = -1; /* sv[0], closed below */
	virtio_net_backend_close(&b);
	fake_tap = -1;
	close(sv[0]);
	close(sv[1]);
	if (forged[1] >= 0)
		close(forged[1]);
	irq_routing_destroy(&rt);
	dma_space_destroy(&dma);
	guest_memory_free(&mem);
}

int main(void)
{
	test_parse();
	test_real_tap();
	test_nic(false);
	test_nic(true);
	return check_report("tap_watch");
}
