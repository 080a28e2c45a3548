/* IOAPIC: registers, KVM routes kept in step with the table, edge and level delivery, EOI. */
#include "irq_harness.h"

/* What an access that should do nothing could change: the pins' state and the KVM routes. */
struct ioapic_snapshot {
	uint32_t id, line_level;
	uint64_t redtbl[IOAPIC_NUM_PINS];
	uint64_t delivered[IOAPIC_NUM_PINS];
	struct irq_route routes[IRQ_ROUTING_MAX_GSI];
	unsigned commits;
};

static void snapshot(struct ioapic_snapshot *s, const struct irq_routing *r)
{
	s->id = io.id;
	s->line_level = io.line_level;
	memcpy(s->redtbl, io.redtbl, sizeof(s->redtbl));
	memcpy(s->delivered, io.delivered, sizeof(s->delivered));
	memcpy(s->routes, r->routes, sizeof(s->routes));
	s->commits = r->commits;
}

/* First pin whose entry or delivery count differs, or IOAPIC_NUM_PINS. */
static unsigned changed_pin(const struct ioapic_snapshot *a, const struct ioapic_snapshot *b)
{
	for (unsigned i = 0; i < IOAPIC_NUM_PINS; i++)
		if (a->redtbl[i] != b->redtbl[i] || a->delivered[i] != b->delivered[i])
			return i;
	return IOAPIC_NUM_PINS;
}

/* First GSI whose route differs, or IRQ_ROUTING_MAX_GSI. */
static unsigned changed_gsi(const struct ioapic_snapshot *a, const struct ioapic_snapshot *b)
{
	for (unsigned i = 0; i < IRQ_ROUTING_MAX_GSI; i++)
		if (a->routes[i].valid != b->routes[i].valid || a->routes[i].msi_addr != b->routes[i].msi_addr ||
		    a->routes[i].msi_data != b->routes[i].msi_data)
			return i;
	return IRQ_ROUTING_MAX_GSI;
}

static void check_unchanged(const struct ioapic_snapshot *before, const struct irq_routing *r)
{
	struct ioapic_snapshot now;
	snapshot(&now, r);
	CHECK_EQ(now.id, before->id);
	CHECK_EQ(now.line_level, before->line_level);
	CHECK_EQ(changed_pin(&now, before), IOAPIC_NUM_PINS);
	CHECK_EQ(changed_gsi(&now, before), IRQ_ROUTING_MAX_GSI);
	CHECK_EQ(now.commits, before->commits);
}

/* The helper's lines say what changed; this one, which access changed it. */
#define CHECK_UNCHANGED(before, rt)                                                            \
	do {                                                                                   \
		int failed_ = check_failures;                                                  \
		check_unchanged(before, rt);                                                   \
		if (check_failures != failed_)                                                 \
			fprintf(stderr, "%s:%d: ^ by the access above\n", __FILE__, __LINE__); \
	} while (0)

int main(void)
{
	CHECK_EQ(irq_routing_init(&rt, -1, IOAPIC_NUM_PINS), 0);
	CHECK_EQ(ioapic_init(&io, &rt, 2, IOAPIC_SID), 0);

	io_wr(IOAPIC_REG_SELECT, IOAPIC_INDEX_VER);
	CHECK_EQ(io_rd(IOAPIC_REG_WINDOW), IOAPIC_VERSION | (IOAPIC_NUM_PINS - 1) << 16);
	io_wr(IOAPIC_REG_SELECT, IOAPIC_INDEX_ID);
	CHECK_EQ(io_rd(IOAPIC_REG_WINDOW), 2U << 24);
	/* All pins masked at reset; no routes. */
	CHECK(rte_lo(4) & IOAPIC_RTE_MASKED);
	CHECK(!rt.routes[4].valid);

	/* Pin 4, edge, vector 0x24, physical destination APIC 1. */
	set_rte(4, 0x24 | (1ULL << IOAPIC_RTE_DEST_SHIFT));
	CHECK(rt.routes[4].valid);
	CHECK_EQ(rt.routes[4].msi_addr, 0xFEE01000);
	CHECK_EQ(rt.routes[4].msi_data, 0x24 | MSI_DATA_LEVEL_ASSERT);
	/* Edge: one interrupt per rising edge. */
	ioapic_set_irq(&io, 4, true);
	CHECK_EQ(io.delivered[4], 1);
	ioapic_set_irq(&io, 4, true);
	CHECK_EQ(io.delivered[4], 1);
	ioapic_set_irq(&io, 4, false);
	CHECK_EQ(io.delivered[4], 1);
	CHECK(!(io.line_level & 1U << 4));
	ioapic_set_irq(&io, 4, true);
	CHECK_EQ(io.delivered[4], 2);
	CHECK(!(rte_lo(4) & IOAPIC_RTE_REMOTE_IRR));
	/* Masking drops the route (KVM must not see stale routes) and stops delivery. */
	set_rte(4, 0x24 | IOAPIC_RTE_MASKED);
	CHECK(!rt.routes[4].valid);
	ioapic_set_irq(&io, 4, false);
	CHECK(!(io.line_level & 1U << 4));
	ioapic_set_irq(&io, 4, true);
	CHECK_EQ(io.delivered[4], 2);
	CHECK(io.line_level & 1U << 4); /* the line is still followed while masked */

	/* Pin 9, level (the SCI): remote IRR holds further deliveries until the EOI. */
	set_rte(9, 0x29 | IOAPIC_RTE_TRIGGER_LEVEL);
	CHECK(rt.routes[9].msi_data & MSI_DATA_TRIGGER_LEVEL); /* so KVM reports its EOI */
	ioapic_set_irq(&io, 9, true);
	CHECK_EQ(io.delivered[9], 1);
	CHECK(rte_lo(9) & IOAPIC_RTE_REMOTE_IRR);
	ioapic_set_irq(&io, 9, true);
	CHECK_EQ(io.delivered[9], 1);
	/* Remote IRR and delivery status are read-only: neither a 0 nor a 1 written sticks. */
	set_rte(9, 0x29 | IOAPIC_RTE_TRIGGER_LEVEL);
	CHECK(rte_lo(9) & IOAPIC_RTE_REMOTE_IRR);
	set_rte(9, 0x29 | IOAPIC_RTE_TRIGGER_LEVEL | IOAPIC_RTE_DELIVS);
	CHECK_EQ(rte_lo(9), 0x29 | IOAPIC_RTE_TRIGGER_LEVEL | IOAPIC_RTE_REMOTE_IRR);
	/* EOI of another vector changes nothing; EOI of ours re-delivers the still-high line. */
	ioapic_eoi(&io, 0x30);
	CHECK_EQ(io.delivered[9], 1);
	CHECK(rte_lo(9) & IOAPIC_RTE_REMOTE_IRR);
	ioapic_eoi(&io, 0x29);
	CHECK_EQ(io.delivered[9], 2);
	CHECK(rte_lo(9) & IOAPIC_RTE_REMOTE_IRR);
	/* Line low, then EOI: no new interrupt, remote IRR clear. */
	ioapic_set_irq(&io, 9, false);
	ioapic_eoi(&io, 0x29);
	CHECK_EQ(io.delivered[9], 2);
	CHECK(!(rte_lo(9) & IOAPIC_RTE_REMOTE_IRR));
	/* The version-0x20 EOI register does the same. */
	ioapic_set_irq(&io, 9, true);
	CHECK_EQ(io.delivered[9], 3);
	io_wr(IOAPIC_REG_EOI, 0x29);
	CHECK_EQ(io.delivered[9], 4);
	/* Unmasking a level pin whose line is high delivers it. */
	ioapic_set_irq(&io, 9, false);
	io_wr(IOAPIC_REG_EOI, 0x29);
	CHECK(!(rte_lo(9) & IOAPIC_RTE_REMOTE_IRR));
	CHECK_EQ(io.delivered[9], 4);
	set_rte(9, 0x29 | IOAPIC_RTE_TRIGGER_LEVEL | IOAPIC_RTE_MASKED);
	CHECK(!rt.routes[9].valid);
	ioapic_set_irq(&io, 9, true);
	CHECK_EQ(io.delivered[9], 4);
	set_rte(9, 0x29 | IOAPIC_RTE_TRIGGER_LEVEL);
	CHECK_EQ(io.delivered[9], 5);
	CHECK(rt.routes[9].valid);

	/* Logical destination and lowest priority show in the MSI address. */
	uint64_t a;
	uint32_t d;
	ioapic_rte_to_msi(0x31 | IOAPIC_RTE_DESTMODE | (1ULL << 8) | (3ULL << 56), &a, &d);
	CHECK_EQ(a, 0xFEE03000 | MSI_ADDR_DEST_LOGICAL | MSI_ADDR_REDIR_HINT);
	CHECK_EQ(d, 0x31 | 1 << 8 | MSI_DATA_LEVEL_ASSERT);

	/* Out-of-range pins and registers are harmless: nothing changes anywhere. */
	struct ioapic_snapshot before;
	snapshot(&before, &rt);
	ioapic_set_irq(&io, 24, true);
	CHECK_UNCHANGED(&before, &rt);
	io_wr(IOAPIC_REG_SELECT, 0x80);
	CHECK_EQ(io_rd(IOAPIC_REG_WINDOW), 0xFFFFFFFF);
	io_wr(IOAPIC_REG_WINDOW, 0x1234);
	CHECK_EQ(io_rd(IOAPIC_REG_WINDOW), 0xFFFFFFFF);
	CHECK_UNCHANGED(&before, &rt);
	ioapic_destroy(&io);
	irq_routing_destroy(&rt);
	return check_report("ioapic");
}
