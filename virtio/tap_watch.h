/* Notices the host deleting the tap (`ip link del`). The kernel then detaches the tap's fd
 * (tun_detach_all: the fd stays open without a device, its ioctls fail with EBADFD) and tells
 * rtnetlink's link group an RTM_DELLINK; nothing else reaches vmm, since vhost-net's sends to the
 * dead socket just fail and the guest's TX queue stalls. The watch is a NETLINK_ROUTE socket
 * bound to RTMGRP_LINK, opened before vmm drops its privileges and kept for its whole life, as
 * the tap's fd is, with the tap's ifindex. */
#ifndef VIRTIO_TAP_WATCH_H
#define VIRTIO_TAP_WATCH_H

#include <stddef.h>

#include "tap.h"

/* Datagrams read per wake-up, so that a flood of link events elsewhere on the host cannot hold
 * the event loop; what is left wakes it again. */
#define TAP_WATCH_READS 64
/* Receive buffer: one link notification is a few KiB at most (if_nlmsg_size). A longer datagram
 * is cut, which the parser reports as unsure. */
#define TAP_WATCH_BUF 16384

struct tap_watch {
	int fd;      /* the netlink socket; -1: not watching */
	int ifindex; /* the tap's, looked up once subscribed */
};

enum tap_watch_verdict {
	TAP_WATCH_NOTHING, /* no RTM_DELLINK for the tap */
	TAP_WATCH_DELETED, /* an RTM_DELLINK for the tap's ifindex */
	TAP_WATCH_UNSURE,  /* a cut or malformed message, or notifications lost (ENOBUFS): ask the tap */
	TAP_WATCH_FAILED,  /* the socket failed (tap_watch_read) */
};

/* One netlink datagram of `len` bytes from the kernel: a walk over its nlmsghdrs that trusts no
 * length (each header and each link message's ifinfomsg must lie wholly inside the buffer, a
 * length below its header's is malformed), up to NLMSG_DONE or the end. DELETED as soon as an
 * RTM_DELLINK names `ifindex`; UNSURE at the first malformed message; NOTHING otherwise (other
 * links, RTM_NEWLINK, NLMSG_ERROR, NLMSG_NOOP and other types are skipped). Reads nothing outside
 * [buf, buf + len); buf needs no alignment. */
enum tap_watch_verdict tap_watch_parse(const void *buf, size_t len, int ifindex);

/* Subscribes to link notifications, then looks up the tap's ifindex and checks that the tap is
 * still attached, in that order, so that a deletion from then on is always in the socket. -errno
 * with `err` saying what failed; tap_watch_close() releases what was opened. */
int tap_watch_open(struct tap_watch *w, const struct tap *tap, char *err, size_t errlen) __must_check;
/* Reads what is there without blocking (recvfrom, MSG_DONTWAIT; up to TAP_WATCH_READS datagrams)
 * and parses it; datagrams not sent by the kernel are ignored. FAILED sets *error to the errno. */
enum tap_watch_verdict tap_watch_read(struct tap_watch *w, int *error);
void tap_watch_close(struct tap_watch *w);

#endif
