#include "tap_watch.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum tap_watch_verdict tap_watch_parse(const void *buf, size_t len, int ifindex)
{
	const uint8_t *p = buf;
	size_t off = 0;
	while (off < len) {
		struct nlmsghdr h;
		if (len - off < sizeof(h))
			return TAP_WATCH_UNSURE; /* a cut header */
		memcpy(&h, p + off, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len - off)
			return TAP_WATCH_UNSURE;
		if (h.nlmsg_type == NLMSG_DONE)
			return TAP_WATCH_NOTHING; /* the end of a multi-part answer: nothing after it is ours */
		if (h.nlmsg_type == RTM_NEWLINK || h.nlmsg_type == RTM_DELLINK) {
			struct ifinfomsg ifi;
			if (h.nlmsg_len < NLMSG_HDRLEN + sizeof(ifi))
				return TAP_WATCH_UNSURE;
			memcpy(&ifi, p + off + NLMSG_HDRLEN, sizeof(ifi));
			if (h.nlmsg_type == RTM_DELLINK && ifindex > 0 && ifi.ifi_index == ifindex)
				return TAP_WATCH_DELETED;
		}
		/* In size_t: NLMSG_ALIGN of a length near 4 GiB would wrap to 0 in 32 bits. */
		size_t step = ((size_t)h.nlmsg_len + NLMSG_ALIGNTO - 1) & ~(size_t)(NLMSG_ALIGNTO - 1);
		if (step >= len - off)
			break; /* the last message, its padding may be missing */
		off += step;
	}
	return TAP_WATCH_NOTHING;
}

int tap_watch_open(struct tap_watch *w, const struct tap *tap, char *err, size_t errlen)
{
	w->ifindex = 0;
	w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	if (w->fd < 0 || bind(w->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot watch tap %s for its deletion: rtnetlink socket: %s", tap->name, strerror(e));
		return -e;
	}
	/* Subscribed before the look-up: a deletion after it is queued in the socket. */
	unsigned idx = if_nametoindex(tap->name);
	if (!idx || idx > INT32_MAX) {
		int e = idx ? ERANGE : errno;
		snprintf(err, errlen, "cannot find tap %s's interface index: %s", tap->name, strerror(e));
		return -e;
	}
	if (tap_detached(tap)) {
		snprintf(err, errlen, "tap %s was deleted on the host while vmm started", tap->name);
		return -ENODEV;
	}
	w->ifindex = (int)idx;
	return 0;
}

enum tap_watch_verdict tap_watch_read(struct tap_watch *w, int *error)
{
	uint8_t buf[TAP_WATCH_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	enum tap_watch_verdict seen = TAP_WATCH_NOTHING;
	for (unsigned i = 0; i < TAP_WATCH_READS; i++) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		memset(&from, 0, sizeof(from));
		/* MSG_TRUNC: the datagram's whole length, so that a cut one is known. */
		ssize_t n = recvfrom(w->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return seen;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) { /* the socket overflowed: notifications were lost */
				seen = TAP_WATCH_UNSURE;
				continue;
			}
			*error = errno;
			return TAP_WATCH_FAILED;
		}
		if (fromlen < sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
			continue; /* not the kernel's */
		size_t got = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf);
		enum tap_watch_verdict v = tap_watch_parse(buf, got, w->ifindex);
		if (v == TAP_WATCH_DELETED)
			return v;
		if (v == TAP_WATCH_UNSURE || (size_t)n > sizeof(buf))
			seen = TAP_WATCH_UNSURE;
	}
	return seen;
}

void tap_watch_close(struct tap_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}
