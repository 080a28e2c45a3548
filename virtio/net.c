/* virtio-net: feature set, device configuration, and start/stop of the vhost-net data path. */
#include "net.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BIT(n) (1ULL << (n))

/* Offloads the guest may receive, and the tap flag each needs. */
static const struct { unsigned feature; unsigned tun; } guest_offloads[] = {
	{ VIRTIO_NET_F_GUEST_CSUM, TUN_F_CSUM },
	{ VIRTIO_NET_F_GUEST_TSO4, TUN_F_TSO4 },
	{ VIRTIO_NET_F_GUEST_TSO6, TUN_F_TSO6 },
	{ VIRTIO_NET_F_GUEST_ECN, TUN_F_TSO_ECN },
};

static uint64_t net_features(void *opaque)
{
	struct virtio_net *net = opaque;
	/* Ring features come from vhost, offloads from the tap, each masked to what it can do. */
	uint64_t f = net->vhost.features &
		     (BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_NET_F_MRG_RXBUF));
	f |= BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS);
	/* The tap with a vnet header accepts partial checksums and GSO from the guest. */
	f |= BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
	     BIT(VIRTIO_NET_F_HOST_ECN);
	for (size_t i = 0; i < sizeof(guest_offloads) / sizeof(guest_offloads[0]); i++)
		if ((net->tap->offloads & guest_offloads[i].tun) == guest_offloads[i].tun)
			f |= BIT(guest_offloads[i].feature);
	/* GUEST_TSO* and GUEST_ECN need GUEST_CSUM (5.1.3.1). */
	if (!(f & BIT(VIRTIO_NET_F_GUEST_CSUM)))
		f &= ~(BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_ECN));
	return f;
}

static void net_config_read(void *opaque, unsigned off, void *data, unsigned len)
{
	struct virtio_net *net = opaque;
	struct virtio_net_config cfg = { 0 };
	memcpy(cfg.mac, net->mac, 6);
	cfg.status = net->link_status;
	memset(data, 0, len);
	if (off < sizeof(cfg))
		memcpy(data, (uint8_t *)&cfg + off, len < sizeof(cfg) - off ? len : sizeof(cfg) - off);
}

static void net_config_write(void *opaque, unsigned off, const void *data, unsigned len)
{
	(void)opaque; (void)data;
	/* MAC and status are read-only once VERSION_1 is negotiated (5.1.4). */
	log_guest("virtio-net: write to device config 0x%x (%u bytes) ignored", off, len);
}

static int net_activate(void *opaque, struct virtio_pci *vp)
{
	struct virtio_net *net = opaque;
	/* Without the tap the queues run with no backend (vhost ignores their kicks) and the link is
	 * down: the driver gets a working device, not one that needs a reset. */
	if (net->backend->tap_gone)
		return vhost_net_start(&net->vhost, vp, vp->driver_features, -1);
	unsigned tun = 0;
	for (size_t i = 0; i < sizeof(guest_offloads) / sizeof(guest_offloads[0]); i++)
		if (vp->driver_features & BIT(guest_offloads[i].feature))
			tun |= guest_offloads[i].tun;
	int ret = tap_set_offload(net->tap, tun);
	if (ret)
		return ret;
	/* A failed start undoes itself (vhost_net_start), leaving nothing half set up. */
	return vhost_net_start(&net->vhost, vp, vp->driver_features, net->tap->fd);
}

static void net_reset(void *opaque, struct virtio_pci *vp)
{
	struct virtio_net *net = opaque;
	(void)vp;
	if (vhost_net_stop(&net->vhost))
		log_guest("virtio-net: resetting vhost-net failed");
}

/* Bus Master Enable: the tap detached from vhost's queues while it is clear, attached again after. */
static int net_bus_master(void *opaque, struct virtio_pci *vp, bool on)
{
	struct virtio_net *net = opaque;
	(void)vp;
	return vhost_net_set_dma(&net->vhost, on && !net->backend->tap_gone ? net->tap->fd : -1);
}

static const struct virtio_device_ops net_ops = {
	.device_id = 1, /* VIRTIO_ID_NET */
	.num_queues = 2,
	.max_queue_size = VIRTIO_NET_QUEUE_SIZE,
	.class_code = 0x0200, /* network, Ethernet */
	.features = net_features,
	.config_read = net_config_read,
	.config_write = net_config_write,
	.activate = net_activate,
	.reset = net_reset,
	.bus_master = net_bus_master,
};

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly XX:XX:XX:XX:XX:XX, two hex digits each (no "0x", sign or blank, which sscanf's %x
 * would take), and an address a NIC can have: not all zeros, not multicast (or broadcast). */
static int parse_mac(const char *s, uint8_t mac[6], char *err, size_t errlen)
{
	uint8_t m[6];
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		int hi = hex_digit(p[0]), lo = hi < 0 ? -1 : hex_digit(p[1]);
		if (hi < 0 || lo < 0 || p[2] != (i < 5 ? ':' : '\0')) {
			snprintf(err, errlen, "bad MAC address '%s' in --net: use six two-digit hex bytes, XX:XX:XX:XX:XX:XX", s);
			return -EINVAL;
		}
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	static const uint8_t zero[6];
	if (!memcmp(m, zero, 6)) {
		snprintf(err, errlen, "MAC address '%s' is all zeros, which no NIC can have: use a unicast address such as 52:54:00:12:34:56", s);
		return -EINVAL;
	}
	if (m[0] & 1) {
		snprintf(err, errlen, "MAC address '%s' is a multicast address (the first byte is odd): use a unicast address such as 52:54:00:12:34:56", s);
		return -EINVAL;
	}
	memcpy(mac, m, 6);
	return 0;
}

int virtio_net_parse(const char *spec, struct virtio_net_options *o, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	const uint8_t def[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	memcpy(o->mac, def, 6);
	char buf[256];
	size_t len = strlen(spec);
	if (len >= sizeof(buf)) { /* cut, it could name another MAC or tap than the one written */
		snprintf(err, errlen, "--net value is %zu bytes long, more than %zu: use tap=NAME[,mac=XX:XX:XX:XX:XX:XX]",
			 len, sizeof(buf) - 1);
		return -E2BIG;
	}
	memcpy(buf, spec, len + 1);
	char *save = NULL;
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		if (!strncmp(kv, "tap=", 4) && kv[4]) {
			if (strlen(kv + 4) >= IFNAMSIZ) {
				snprintf(err, errlen, "tap name '%s' in --net is longer than %d bytes: use a shorter name",
					 kv + 4, IFNAMSIZ - 1);
				return -EINVAL;
			}
			snprintf(o->tap, sizeof(o->tap), "%s", kv + 4);
		} else if (!strncmp(kv, "mac=", 4)) {
			if (parse_mac(kv + 4, o->mac, err, errlen))
				return -EINVAL;
		} else {
			snprintf(err, errlen, "bad --net option '%s': use tap=NAME[,mac=XX:XX:XX:XX:XX:XX]", kv);
			return -EINVAL;
		}
	}
	if (!o->tap[0]) {
		snprintf(err, errlen, "--net needs tap=NAME");
		return -EINVAL;
	}
	return 0;
}

int virtio_net_backend_open(struct virtio_net_backend *b, const struct virtio_net_options *o, char *err, size_t errlen)
{
	b->tap.fd = -1;
	b->watch.fd = -1;
	b->tap_gone = false;
	b->vhost_fd = vhost_net_open_device(err, errlen);
	if (b->vhost_fd < 0)
		return b->vhost_fd;
	return tap_open(&b->tap, o->tap, err, errlen);
}

void virtio_net_backend_close(struct virtio_net_backend *b)
{
	if (b->vhost_fd >= 0)
		close(b->vhost_fd);
	b->vhost_fd = -1;
	tap_watch_close(&b->watch);
	tap_close(&b->tap);
}

int virtio_net_backend_watch(struct virtio_net_backend *b, char *err, size_t errlen)
{
	return tap_watch_open(&b->watch, &b->tap, err, errlen);
}

void virtio_net_tap_deleted(struct virtio_net *net)
{
	struct virtio_pci *vp = &net->vp;
	pthread_mutex_lock(&vp->lock);
	net->backend->tap_gone = true;
	/* vhost would go on sending to the detached tap (each send failing, the TX queue stalled):
	 * the backends go, the rings keep their state. Bus mastering off detached them already. */
	int ret = vp->active && vp->bus_master ? vhost_net_set_dma(&net->vhost, -1) : 0;
	net->link_status &= (uint16_t)~VIRTIO_NET_S_LINK_UP;
	virtio_pci_config_changed_locked(vp);
	pthread_mutex_unlock(&vp->lock);
	log_warn("net: tap %s was deleted on the host: the guest's link is down (its network stays down until vmm restarts)",
		 net->tap->name);
	if (ret)
		log_err("net: detaching the deleted tap from vhost-net failed: %s", strerror(-ret));
}

/* rtnetlink spoke. The tap's own fd has the last word (detached once the host deleted it), so
 * that lost, cut or malformed notifications are checked rather than trusted or ignored, and a tap
 * merely moved to another network namespace (also an RTM_DELLINK here) is not taken for deleted. */
static bool on_link_event(void *opaque, int fd, unsigned revents)
{
	struct virtio_net *net = opaque;
	(void)fd;
	(void)revents;
	int e = 0;
	enum tap_watch_verdict v = tap_watch_read(&net->backend->watch, &e);
	if (v == TAP_WATCH_FAILED) {
		log_err("net: reading link notifications failed: %s; a deletion of tap %s would go unnoticed", strerror(e),
			net->tap->name);
		return false;
	}
	if (v == TAP_WATCH_NOTHING)
		return true;
	if (!tap_detached(net->tap)) {
		if (v == TAP_WATCH_DELETED)
			log_warn("net: tap %s left vmm's network namespace but is still attached: the link stays up",
				 net->tap->name);
		return true;
	}
	virtio_net_tap_deleted(net);
	return false; /* nothing more to notice */
}

int virtio_net_init(struct virtio_net *net, const struct virtio_net_options *o, struct virtio_net_backend *backend,
		    const struct guest_memory *mem, struct irq_routing *rt, int vm_fd, struct dma_space *dma,
		    struct event_loop *loop, char *err, size_t errlen)
{
	memset(net, 0, sizeof(*net));
	net->backend = backend;
	net->tap = &backend->tap;
	net->vhost.fd = -1;
	memcpy(net->mac, o->mac, 6);
	net->link_status = backend->tap_gone ? 0 : VIRTIO_NET_S_LINK_UP;
	int ret = vhost_net_open(&net->vhost, backend->vhost_fd, dma, loop, err, errlen);
	if (ret)
		return ret;
	ret = virtio_pci_init(&net->vp, &net_ops, net, mem, rt, vm_fd);
	if (ret) {
		snprintf(err, errlen, "virtio-net set-up failed: %s", strerror(-ret));
		return ret;
	}
	virtio_pci_set_dma(&net->vp, dma);
	net->vp.pci.name = "virtio-net";
	if (backend->watch.fd < 0 || backend->tap_gone)
		return 0;
	/* A deletion while no VM watched (between a guest's reset and its restart) waits in the
	 * socket: the tap's fd tells it now, before the guest's driver could start on the dead tap. */
	if (tap_detached(&backend->tap)) {
		virtio_net_tap_deleted(net);
		return 0;
	}
	/* Watched from here, once the device it changes exists. */
	if (event_loop_add(loop, backend->watch.fd, on_link_event, net) < 0) {
		snprintf(err, errlen, "virtio-net: cannot watch the tap's link notifications");
		return -ENOSPC;
	}
	return 0;
}

void virtio_net_destroy(struct virtio_net *net)
{
	virtio_pci_destroy(&net->vp);
	vhost_net_close(&net->vhost);
}
