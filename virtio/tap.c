#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int tap_open(struct tap *tap, const char *name, char *err, size_t errlen)
{
	memset(tap, 0, sizeof(*tap));
	tap->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (tap->fd < 0) {
		snprintf(err, errlen, "cannot open /dev/net/tun: %s (load the tun module)", strerror(errno));
		return -errno;
	}
	unsigned features = 0;
	if (ioctl(tap->fd, TUNGETFEATURES, &features) < 0 || !(features & IFF_VNET_HDR)) {
		snprintf(err, errlen, "this kernel's tun lacks IFF_VNET_HDR");
		tap_close(tap);
		return -ENOTSUP;
	}
	struct ifreq ifr = { 0 };
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(tap->fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open tap '%s': %s%s", name, strerror(e),
			 e == EPERM ? " (needs CAP_NET_ADMIN, or a tap created for this user)" : "");
		tap_close(tap);
		return -e;
	}
	snprintf(tap->name, sizeof(tap->name), "%s", ifr.ifr_name);
	int hdr = TAP_VNET_HDR_LEN;
	if (ioctl(tap->fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		snprintf(err, errlen, "TUNSETVNETHDRSZ on %s failed: %s", tap->name, strerror(errno));
		tap_close(tap);
		return -errno;
	}
	/* Probe which receive offloads this tap takes; none by default until the guest acks. */
	const unsigned all = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	if (ioctl(tap->fd, TUNSETOFFLOAD, all) == 0)
		tap->offloads = all;
	else if (ioctl(tap->fd, TUNSETOFFLOAD, TUN_F_CSUM) == 0)
		tap->offloads = TUN_F_CSUM;
	if (ioctl(tap->fd, TUNSETOFFLOAD, 0) < 0)
		tap->offloads = 0;
	return 0;
}

int tap_set_offload(struct tap *tap, unsigned tun_flags)
{
	return ioctl(tap->fd, TUNSETOFFLOAD, tun_flags & tap->offloads) < 0 ? -errno : 0;
}

bool tap_detached(const struct tap *tap)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	return ioctl(tap->fd, TUNGETIFF, &ifr) < 0 && errno == EBADFD;
}

void tap_close(struct tap *tap)
{
	if (tap->fd > 0)
		close(tap->fd);
	tap->fd = -1;
}
