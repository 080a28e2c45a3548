/* IOAPIC: registers, KVM routes kept in step with the table, edge and level delivery, EOI. */
#include <string.h>

#include "../../devices/ioapic.h"
#include "../../devices/ioapic_regs.h"
#include "check.h"

static struct ioapic io;

static void wr(uint32_t off, uint32_t v) { ioapic_mmio_ops.write(&io, off, &v, 4); }
static uint32_t rd(uint32_t off) { uint32_t v; ioapic_mmio_ops.read(&io, off, &v, 4); return v; }
static void set_rte(unsigned pin, uint64_t rte)
{
	wr(IOAPIC_REG_SELECT, IOAPIC_INDEX_REDTBL + 2 * pin + 1);
	wr(IOAPIC_REG_WINDOW, (uint32_t)(rte >> 32));
	wr(IOAPIC_REG_SELECT, IOAPIC_INDEX_REDTBL + 2 * pin);
	wr(IOAPIC_REG_WINDOW, (uint32_t)rte);
}
static uint32_t rte_lo(unsigned pin)
{
	wr(IOAPIC_REG_SELECT, IOAPIC_INDEX_REDTBL + 2 * pin);
	return rd(IOAPIC_REG_WINDOW);
}

int main(void)
{
	struct irq_routing rt;
	CHECK_EQ(irq_routing_init(&rt, -1, IOAPIC_NUM_PINS), 0);
	CHECK_EQ(ioapic_init(&io, &rt, 2), 0);

	wr(IOAPIC_REG_SELECT, IOAPIC_INDEX_VER);
	CHECK_EQ(rd(IOAPIC_REG_WINDOW), IOAPIC_VERSION | (IOAPIC_NUM_PINS - 1) << 16);
	wr(IOAPIC_REG_SELECT, IOAPIC_INDEX_ID);
	CHECK_EQ(rd(IOAPIC_REG_WINDOW), 2U << 24);
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
	ioapic_set_irq(&io, 4, true);
	CHECK_EQ(io.delivered[4], 1);
	ioapic_set_irq(&io, 4, false);
	ioapic_set_irq(&io, 4, true);
	CHECK_EQ(io.delivered[4], 2);
	CHECK(!(rte_lo(4) & IOAPIC_RTE_REMOTE_IRR));
	/* Masking drops the route (KVM must not see stale routes) and stops delivery. */
	set_rte(4, 0x24 | IOAPIC_RTE_MASKED);
	CHECK(!rt.routes[4].valid);
	ioapic_set_irq(&io, 4, false);
	ioapic_set_irq(&io, 4, true);
	CHECK_EQ(io.delivered[4], 2);

	/* Pin 9, level (the SCI): remote IRR holds further deliveries until the EOI. */
	set_rte(9, 0x29 | IOAPIC_RTE_TRIGGER_LEVEL);
	CHECK(rt.routes[9].msi_data & MSI_DATA_TRIGGER_LEVEL); /* so KVM reports its EOI */
	ioapic_set_irq(&io, 9, true);
	CHECK_EQ(io.delivered[9], 1);
	CHECK(rte_lo(9) & IOAPIC_RTE_REMOTE_IRR);
	ioapic_set_irq(&io, 9, true);
	CHECK_EQ(io.delivered[9], 1);
	/* Remote IRR and delivery status are read-only. */
	set_rte(9, 0x29 | IOAPIC_RTE_TRIGGER_LEVEL);
	CHECK(rte_lo(9) & IOAPIC_RTE_REMOTE_IRR);
	/* EOI of another vector changes nothing; EOI of ours re-delivers the still-high line. */
	ioapic_eoi(&io, 0x30);
	CHECK_EQ(io.delivered[9], 1);
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
	wr(IOAPIC_REG_EOI, 0x29);
	CHECK_EQ(io.delivered[9], 4);
	/* Unmasking a level pin whose line is high delivers it. */
	ioapic_set_irq(&io, 9, false);
	wr(IOAPIC_REG_EOI, 0x29);
	set_rte(9, 0x29 | IOAPIC_RTE_TRIGGER_LEVEL | IOAPIC_RTE_MASKED);
	ioapic_set_irq(&io, 9, true);
	CHECK_EQ(io.delivered[9], 4);
	set_rte(9, 0x29 | IOAPIC_RTE_TRIGGER_LEVEL);
	CHECK_EQ(io.delivered[9], 5);

	/* Logical destination and lowest priority show in the MSI address. */
	uint64_t a;
	uint32_t d;
	ioapic_rte_to_msi(0x31 | IOAPIC_RTE_DESTMODE | (1ULL << 8) | (3ULL << 56), &a, &d);
	CHECK_EQ(a, 0xFEE03000 | MSI_ADDR_DEST_LOGICAL | MSI_ADDR_REDIR_HINT);
	CHECK_EQ(d, 0x31 | 1 << 8 | MSI_DATA_LEVEL_ASSERT);

	/* Out-of-range pins and registers are harmless. */
	ioapic_set_irq(&io, 24, true);
	wr(IOAPIC_REG_SELECT, 0x80);
	CHECK_EQ(rd(IOAPIC_REG_WINDOW), 0xFFFFFFFF);
	wr(IOAPIC_REG_WINDOW, 0x1234);
	ioapic_destroy(&io);
	return check_report("ioapic");
}
