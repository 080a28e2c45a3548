/* The KVM GSI routing table as built for KVM_SET_GSI_ROUTING: its entries after IOAPIC pin and
 * MSI-X vector programming, entries leaving when routes go, and one commit per real change. */
#include "irq_harness.h"

static void check_direct(void)
{
	/* Nothing is built before the first change. */
	CHECK(irq_routing_table(&rt) == NULL);
	CHECK_EQ(rt.commits, 0);
	/* A route with a 64-bit address: both halves and the data reach the entry. */
	CHECK_EQ(irq_routing_set_msi(&rt, 100, 0x0008, 0x1FEE05000ULL, 0x4061), 0);
	CHECK_EQ(rt.commits, 1);
	CHECK_EQ(nr_entries(), 1);
	CHECK_MSI_ENTRY(100, 0x1FEE05000ULL, 0x4061);
	/* The same route again: no commit. */
	CHECK_EQ(irq_routing_set_msi(&rt, 100, 0x0008, 0x1FEE05000ULL, 0x4061), 0);
	CHECK_EQ(rt.commits, 1);
	/* A changed data word: one commit, the entry follows. */
	CHECK_EQ(irq_routing_set_msi(&rt, 100, 0x0008, 0x1FEE05000ULL, 0x4062), 0);
	CHECK_EQ(rt.commits, 2);
	CHECK_MSI_ENTRY(100, 0x1FEE05000ULL, 0x4062);
	/* Out of range: refused, no commit, table unchanged. */
	CHECK(irq_routing_set_msi(&rt, IRQ_ROUTING_MAX_GSI, 0x0008, 0xFEE00000, 0x30) < 0);
	CHECK(irq_routing_clear(&rt, IRQ_ROUTING_MAX_GSI) < 0);
	CHECK_EQ(rt.commits, 2);
	CHECK_EQ(nr_entries(), 1);
	/* Cleared: the entry leaves the table; clearing it again commits nothing. */
	CHECK_EQ(irq_routing_clear(&rt, 100), 0);
	CHECK_EQ(rt.commits, 3);
	CHECK_EQ(nr_entries(), 0);
	CHECK(irq_routing_table(&rt) != NULL); /* an empty table was built, as KVM must get */
	CHECK_EQ(irq_routing_clear(&rt, 100), 0);
	CHECK_EQ(rt.commits, 3);
}

static void check_ioapic(void)
{
	unsigned commits = rt.commits;
	/* Pin 4 edge, vector 0x24, physical APIC 1; pin 9 level (the SCI), vector 0x29, APIC 0. */
	set_rte(4, 0x24 | (1ULL << IOAPIC_RTE_DEST_SHIFT));
	CHECK_EQ(rt.commits, commits + 1); /* the high half alone, still masked, changes no route */
	set_rte(9, 0x29 | IOAPIC_RTE_TRIGGER_LEVEL);
	CHECK_EQ(rt.commits, commits + 2);
	CHECK_EQ(nr_entries(), 2);
	CHECK_MSI_ENTRY(4, 0xFEE01000, 0x24 | MSI_DATA_LEVEL_ASSERT);
	CHECK_MSI_ENTRY(9, 0xFEE00000, 0x29 | MSI_DATA_LEVEL_ASSERT | MSI_DATA_TRIGGER_LEVEL);
	/* Entries in GSI order. */
	const struct kvm_irq_routing *t = irq_routing_table(&rt);
	if (t && t->nr == 2) {
		CHECK_EQ(t->entries[0].gsi, 4);
		CHECK_EQ(t->entries[1].gsi, 9);
	}
	/* Programming pin 4 again with the same entry: no commit. */
	set_rte(4, 0x24 | (1ULL << IOAPIC_RTE_DEST_SHIFT));
	CHECK_EQ(rt.commits, commits + 2);
	/* Logical destination, lowest priority: the address carries them. */
	set_rte(4, 0x24 | IOAPIC_RTE_DESTMODE | 1ULL << IOAPIC_RTE_DELMODE_SHIFT | 3ULL << IOAPIC_RTE_DEST_SHIFT);
	CHECK_MSI_ENTRY(4, 0xFEE03000 | MSI_ADDR_DEST_LOGICAL | MSI_ADDR_REDIR_HINT,
			0x24 | 1 << MSI_DATA_DELMODE_SHIFT | MSI_DATA_LEVEL_ASSERT);
	/* Masking pin 4 (same high half, so one change) drops its entry; pin 9's stays. */
	commits = rt.commits;
	set_rte(4, 0x24 | IOAPIC_RTE_MASKED | 3ULL << IOAPIC_RTE_DEST_SHIFT);
	CHECK_EQ(rt.commits, commits + 1);
	CHECK_EQ(nr_entries(), 1);
	CHECK(entry(4) == NULL);
	CHECK_MSI_ENTRY(9, 0xFEE00000, 0x29 | MSI_DATA_LEVEL_ASSERT | MSI_DATA_TRIGGER_LEVEL);
}

static void check_msix(void)
{
	pci_device_init(&dev, "test", 0x1AF4, 0x1041, 0x020000, PCI_HEADER_TYPE_NORMAL);
	CHECK_EQ(pci_msix_init(&msix, &dev, &rt, 3, 1, 0x800), 0);
	unsigned commits = rt.commits, nr = nr_entries();
	/* Vector 1 programmed but masked, MSI-X off: no GSI, no route. */
	mwr(16 + MSIX_ENTRY_ADDR_LO, 0xFEE02000);
	mwr(16 + MSIX_ENTRY_ADDR_HI, 0);
	mwr(16 + MSIX_ENTRY_DATA, 0x51);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	CHECK_EQ(msix.v[1].gsi, -1);
	CHECK_EQ(rt.commits, commits);
	/* Unmasked: the vector gets the first GSI above the IOAPIC pins and its entry. */
	mwr(16 + MSIX_ENTRY_CTRL, 0);
	CHECK_EQ(msix.v[1].gsi, IOAPIC_NUM_PINS);
	CHECK_EQ(rt.commits, commits + 1);
	CHECK_EQ(nr_entries(), nr + 1);
	CHECK_MSI_ENTRY(IOAPIC_NUM_PINS, 0xFEE02000, 0x51);
	/* A new data word while live: the entry follows, one commit. */
	mwr(16 + MSIX_ENTRY_DATA, 0x52);
	CHECK_EQ(rt.commits, commits + 2);
	CHECK_MSI_ENTRY(IOAPIC_NUM_PINS, 0xFEE02000, 0x52);
	/* The same word again, and config writes that change nothing: no commit. */
	mwr(16 + MSIX_ENTRY_DATA, 0x52);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	CHECK_EQ(rt.commits, commits + 2);
	/* Vector 2 on its own GSI; both entries present. */
	mwr(32 + MSIX_ENTRY_ADDR_LO, 0xFEE00000);
	mwr(32 + MSIX_ENTRY_DATA, 0x62);
	mwr(32 + MSIX_ENTRY_CTRL, 0);
	CHECK_EQ(msix.v[2].gsi, IOAPIC_NUM_PINS + 1);
	CHECK_EQ(nr_entries(), nr + 2);
	CHECK_MSI_ENTRY(IOAPIC_NUM_PINS + 1, 0xFEE00000, 0x62);
	CHECK_MSI_ENTRY(IOAPIC_NUM_PINS, 0xFEE02000, 0x52);
	/* Masking a vector drops its route (its IRTE may be gone once masked: with interrupt
	 * remapping a translation would fault) and leaves the others; one commit. */
	commits = rt.commits;
	mwr(16 + MSIX_ENTRY_CTRL, MSIX_ENTRY_CTRL_MASKED);
	CHECK_EQ(rt.commits, commits + 1);
	CHECK_EQ(nr_entries(), nr + 1);
	CHECK(entry(IOAPIC_NUM_PINS) == NULL);
	CHECK_MSI_ENTRY(IOAPIC_NUM_PINS + 1, 0xFEE00000, 0x62);
	/* Unmasked again: the same GSI, the entry back. */
	mwr(16 + MSIX_ENTRY_CTRL, 0);
	CHECK_EQ(rt.commits, commits + 2);
	CHECK_EQ(msix.v[1].gsi, IOAPIC_NUM_PINS);
	CHECK_MSI_ENTRY(IOAPIC_NUM_PINS, 0xFEE02000, 0x52);
	/* Clearing the vector's GSI drops its entry and leaves the others. */
	CHECK_EQ(irq_routing_clear(&rt, IOAPIC_NUM_PINS), 0);
	CHECK_EQ(rt.commits, commits + 3);
	CHECK_EQ(nr_entries(), nr + 1);
	CHECK(entry(IOAPIC_NUM_PINS) == NULL);
	CHECK_MSI_ENTRY(IOAPIC_NUM_PINS + 1, 0xFEE00000, 0x62);
	pci_msix_destroy(&msix);
}

int main(void)
{
	CHECK_EQ(irq_routing_init(&rt, -1, IOAPIC_NUM_PINS), 0);
	CHECK_EQ(ioapic_init(&io, &rt, 2, IOAPIC_SID), 0);
	check_direct();
	check_ioapic();
	check_msix();
	ioapic_destroy(&io);
	irq_routing_destroy(&rt);
	CHECK(irq_routing_table(&rt) == NULL);
	return check_report("irq_routing");
}
