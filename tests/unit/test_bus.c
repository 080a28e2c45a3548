#include <errno.h>
#include <string.h>

#include "../../vmm/bus.h"
#include "check.h"

struct rec { uint64_t off; unsigned len; uint32_t val; int writes; };

static void rd(void *o, uint64_t off, void *d, unsigned len)
{
	struct rec *r = o;
	r->off = off;
	r->len = len;
	memset(d, 0x5A, len);
}

static void wr(void *o, uint64_t off, const void *d, unsigned len)
{
	struct rec *r = o;
	r->off = off;
	r->len = len;
	r->val = 0;
	memcpy(&r->val, d, len > 4 ? 4 : len);
	r->writes++;
}

static const struct bus_ops ops = { rd, wr };

int main(void)
{
	struct bus bus;
	struct rec a = { 0 }, b = { 0 };
	CHECK_EQ(bus_init(&bus, "test"), 0);
	CHECK_EQ(bus_register(&bus, 0x100, 8, &ops, &a, "a"), 0);
	CHECK_EQ(bus_register(&bus, 0x200, 0x10, &ops, &b, "b"), 0);
	/* Rejected registrations. */
	CHECK_EQ(bus_register(&bus, 0x300, 0, &ops, &a, "zero"), -EINVAL);
	CHECK_EQ(bus_register(&bus, UINT64_MAX - 2, 8, &ops, &a, "wraps"), -EINVAL);
	CHECK_EQ(bus_register(&bus, 0x104, 8, &ops, &a, "overlap-tail"), -EEXIST);
	CHECK_EQ(bus_register(&bus, 0xF0, 0x11, &ops, &a, "overlap-head"), -EEXIST);
	CHECK_EQ(bus_register(&bus, 0x1F0, 0x100, &ops, &a, "covers"), -EEXIST);
	CHECK_EQ(bus_register(&bus, 0x108, 8, &ops, &a, "adjacent"), 0);
	CHECK_EQ(bus.nranges, 3);

	/* Handlers get offsets, not absolute addresses. */
	uint32_t v = 0x12345678;
	CHECK(bus_access(&bus, true, 0x20C, &v, 4));
	CHECK_EQ(b.off, 0xC);
	CHECK_EQ(b.len, 4);
	CHECK_EQ(b.val, 0x12345678);
	uint8_t byte = 0;
	CHECK(bus_access(&bus, false, 0x101, &byte, 1));
	CHECK_EQ(a.off, 1);
	CHECK_EQ(byte, 0x5A);

	/* Unclaimed: reads float high, writes are dropped, both counted. */
	uint32_t r = 0;
	CHECK(!bus_access(&bus, false, 0x1FF, &r, 4));
	CHECK_EQ(r, 0xFFFFFFFF);
	int before = a.writes + b.writes;
	CHECK(!bus_access(&bus, true, 0x50, &v, 4));
	CHECK_EQ(a.writes + b.writes, before);
	CHECK_EQ(bus.unhandled, 2);

	/* The range holding the first byte takes a wide access. */
	CHECK(bus_access(&bus, true, 0x10F, &v, 2));
	CHECK_EQ(a.off, 7);

	CHECK_EQ(bus_unregister(&bus, 0x200), 0);
	CHECK(!bus_access(&bus, true, 0x200, &v, 4));
	CHECK_EQ(bus_unregister(&bus, 0x200), -ENOENT);
	bus_destroy(&bus);
	return check_report("bus");
}
