/* The coalesced-write ring (vmm/coalesced_io.c) as KVM fills it: writes applied in order through
 * the buses, port I/O and MMIO apart, across the ring's wrap, the ring handed back; an empty
 * ring costs nothing; indices out of range stop its use instead of indexing past it. */
#include <stdlib.h>
#include <string.h>

#include "../../vmm/coalesced_io.h"
#include "check.h"

#define ENTRIES 8

struct rec {
	uint64_t off[32];
	uint32_t val[32];
	unsigned len[32];
	int n;
};

static void rd(void *o, uint64_t off, void *d, unsigned len)
{
	(void)o;
	(void)off;
	memset(d, 0xFF, len);
}

static void wr(void *o, uint64_t off, const void *d, unsigned len)
{
	struct rec *r = o;
	if (r->n >= 32)
		return;
	r->off[r->n] = off;
	r->len[r->n] = len;
	r->val[r->n] = 0;
	memcpy(&r->val[r->n], d, len > 4 ? 4 : len);
	r->n++;
}

static const struct bus_ops ops = { rd, wr };

/* KVM's side: one queued write at `last`, then `last` moves on. */
static void queue(struct kvm_coalesced_mmio_ring *ring, uint64_t addr, uint32_t val, uint32_t len, bool pio)
{
	struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[ring->last];
	memset(e, 0, sizeof(*e));
	e->phys_addr = addr;
	e->len = len;
	e->pio = pio;
	memcpy(e->data, &val, 4);
	ring->last = (ring->last + 1) % ENTRIES;
}

int main(void)
{
	struct bus pio, mmio;
	struct rec cf8 = { 0 }, dev = { 0 };
	CHECK_EQ(bus_init(&pio, "pio"), 0);
	CHECK_EQ(bus_init(&mmio, "mmio"), 0);
	CHECK_EQ(bus_register(&pio, 0xCF8, 1, &ops, &cf8, "cf8"), 0);
	CHECK_EQ(bus_register(&mmio, 0xE0000000, 0x1000, &ops, &dev, "dev"), 0);
	struct kvm_coalesced_mmio_ring *ring =
		calloc(1, sizeof(*ring) + ENTRIES * sizeof(struct kvm_coalesced_mmio));
	struct coalesced_io c;
	coalesced_io_init_ring(&c, ring, ENTRIES, &pio, &mmio);

	coalesced_io_drain(&c); /* empty: nothing happens */
	CHECK_EQ(cf8.n, 0);
	CHECK_EQ(c.applied, 0);

	/* Start near the end, so that the six writes wrap around the ring. */
	ring->first = ring->last = ENTRIES - 2;
	for (uint32_t i = 0; i < 5; i++)
		queue(ring, 0xCF8, 0x80000000u | i << 11, 4, true);
	queue(ring, 0xE0000010, 0xABCD, 2, false);
	coalesced_io_drain(&c);
	CHECK_EQ(cf8.n, 5);
	bool in_order = true;
	for (int i = 0; i < cf8.n; i++)
		in_order &= cf8.off[i] == 0 && cf8.len[i] == 4 && cf8.val[i] == (0x80000000u | (uint32_t)i << 11);
	CHECK(in_order);
	CHECK_EQ(dev.n, 1);
	CHECK_EQ(dev.off[0], 0x10);
	CHECK_EQ(dev.len[0], 2);
	CHECK_EQ(dev.val[0], 0xABCD);
	CHECK_EQ(ring->first, ring->last); /* every slot handed back */
	CHECK_EQ(ring->first, (ENTRIES - 2 + 6) % ENTRIES);
	CHECK_EQ(c.applied, 6);

	/* A length above 8 (KVM never writes one) is cut to the entry's 8 data bytes. */
	queue(ring, 0xE0000020, 0x11223344, 200, false);
	coalesced_io_drain(&c);
	CHECK_EQ(dev.n, 2);
	CHECK_EQ(dev.len[1], 8);

	/* Indices past the ring: the ring is dropped, nothing is read past it. */
	ring->last = ENTRIES + 3;
	coalesced_io_drain(&c);
	CHECK_EQ(c.bad, 1);
	CHECK(c.ring == NULL);
	CHECK_EQ(dev.n, 2);
	CHECK_EQ(cf8.n, 5);
	coalesced_io_drain(&c); /* and later drains do nothing */
	CHECK_EQ(c.applied, 7);

	coalesced_io_destroy(&c);
	free(ring);
	bus_destroy(&pio);
	bus_destroy(&mmio);
	return check_report("coalesced_io");
}
