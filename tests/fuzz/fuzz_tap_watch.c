/* libFuzzer target for the rtnetlink parser that notices the tap's deletion
 * (tap_watch_parse, virtio/tap_watch.c). Its input comes from the kernel, not the guest, but vmm
 * trusts no length in it.
 *
 * Checked, for each input: the verdict is NOTHING, DELETED or UNSURE; it is the verdict of a
 * model written with the kernel's own NLMSG_OK / NLMSG_NEXT macros on an aligned copy (a
 * malformed message or a cut header is UNSURE, NLMSG_DONE ends the walk, an RTM_NEWLINK or
 * RTM_DELLINK shorter than its ifinfomsg is UNSURE, an RTM_DELLINK for the ifindex is DELETED);
 * the same bytes one byte off alignment give the same verdict; bytes appended after a DELETED
 * datagram do not change it.
 *
 * Input:
 *   s32 ifindex   the tap's
 *   the rest      one datagram */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "../../virtio/tap_watch.h"
#include "fuzz_common.h"

/* The model: the textbook walk. `len` fits an int (libFuzzer's inputs are far smaller). NLMSG_OK
 * compares the header's __u32 with that int, which it has just checked to be positive. */
#pragma GCC diagnostic ignored "-Wsign-compare"
FUZZ_NOCOV static enum tap_watch_verdict model(const void *buf, int len, int ifindex)
{
	const struct nlmsghdr *h = buf;
	for (; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type == NLMSG_DONE)
			return TAP_WATCH_NOTHING;
		if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
			continue;
		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
			return TAP_WATCH_UNSURE;
		const struct ifinfomsg *ifi = NLMSG_DATA(h);
		if (h->nlmsg_type == RTM_DELLINK && ifindex > 0 && ifi->ifi_index == ifindex)
			return TAP_WATCH_DELETED;
	}
	/* Left over: a cut or malformed header (len > 0), or a last message without padding (< 0). */
	return len > 0 ? TAP_WATCH_UNSURE : TAP_WATCH_NOTHING;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	int ifindex = (int)fin_u32(&in);
	size_t n = in.n;
	enum tap_watch_verdict v = tap_watch_parse(in.p, n, ifindex);
	FUZZ_ASSERT(v == TAP_WATCH_NOTHING || v == TAP_WATCH_DELETED || v == TAP_WATCH_UNSURE);
	/* malloc's blocks are aligned for a nlmsghdr; one byte further is not. */
	uint8_t *copy = malloc(n + 4);
	FUZZ_ASSERT(copy != NULL);
	memcpy(copy, in.p, n);
	FUZZ_ASSERT(model(copy, (int)n, ifindex) == v);
	memmove(copy + 1, copy, n);
	FUZZ_ASSERT(tap_watch_parse(copy + 1, n, ifindex) == v);
	if (v == TAP_WATCH_DELETED) {
		memcpy(copy, in.p, n);
		memset(copy + n, 0xA5, 4);
		FUZZ_ASSERT(tap_watch_parse(copy, n + 4, ifindex) == TAP_WATCH_DELETED);
	}
	free(copy);
	return 0;
}
