/* The KVM GSI routing table as built for KVM_SET_GSI_ROUTING: its entries after IOAPIC pin and
 * MSI-X vector programming, entries leaving when routes go, and one commit per real change;
 * several eventfds on one MSI-X vector, and vectors while Bus Master Enable is clear. */
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

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

static uint32_t pba(void)
{
	uint32_t x = 0;
	pci_msix_bar_ops.read(&msix, 0x800, &x, 4);
	return x;
}
static void kick(int fd) { uint64_t one = 1; CHECK_EQ(write(fd, &one, 8), 8); }
static bool assigned(unsigned vec, int fd)
{
	bool on = false;
	return pci_msix_irqfd_bound(&msix, vec, fd, &on) && on;
}

/* Two eventfds on one vector (two virtqueues sharing it, as virtio allows): both stay bound,
 * each one's interrupt while masked goes to the pending bit, every one is an irqfd once the
 * vector is unmasked, and unbinding one leaves the other. */
static void check_shared_vector(void)
{
	pci_device_init(&dev, "shared", 0x1AF4, 0x1041, 0x020000, PCI_HEADER_TYPE_NORMAL);
	CHECK_EQ(pci_msix_init(&msix, &dev, &rt, 3, 1, 0x800), 0);
	int a = eventfd(0, EFD_NONBLOCK), b = eventfd(0, EFD_NONBLOCK), c = eventfd(0, EFD_NONBLOCK);
	CHECK(a >= 0 && b >= 0 && c >= 0);
	mwr(16 + MSIX_ENTRY_ADDR_LO, 0xFEE01000);
	mwr(16 + MSIX_ENTRY_DATA, 0x71);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	CHECK_EQ(pci_msix_bind_irqfd(&msix, 1, a), 0);
	CHECK_EQ(pci_msix_bind_irqfd(&msix, 1, b), 0);
	CHECK_EQ(pci_msix_bind_irqfd(&msix, 1, b), 0); /* the same pair again: nothing new */
	CHECK(pci_msix_irqfd_bound(&msix, 1, a, NULL));
	CHECK(pci_msix_irqfd_bound(&msix, 1, b, NULL));
	CHECK(!assigned(1, a) && !assigned(1, b)); /* masked: no irqfd */
	/* The first queue's interrupt while masked: pending (it was lost when b replaced a). */
	kick(a);
	CHECK_EQ(pba(), 1U << 1);
	kick(b);
	CHECK_EQ(pba(), 1U << 1);
	/* Unmasked: the pending message goes out once, and every eventfd is an irqfd. */
	uint64_t delivered = msix.delivered;
	mwr(16 + MSIX_ENTRY_CTRL, 0);
	CHECK_EQ(msix.delivered, delivered + 1);
	CHECK_EQ(pba(), 0);
	CHECK(assigned(1, a));
	CHECK(assigned(1, b));
	CHECK_MSI_ENTRY(msix.v[1].gsi, 0xFEE01000, 0x71);
	/* Masked again: both detached, the route gone; the second one's interrupt is pending. */
	mwr(16 + MSIX_ENTRY_CTRL, MSIX_ENTRY_CTRL_MASKED);
	CHECK(!assigned(1, a) && !assigned(1, b));
	CHECK(entry(msix.v[1].gsi) == NULL);
	kick(b);
	CHECK_EQ(pba(), 1U << 1);
	/* Unbinding a leaves b (the pair, not the vector); binding c on another vector. */
	CHECK_EQ(pci_msix_unbind_irqfd(&msix, 1, a), 0);
	CHECK(!pci_msix_irqfd_bound(&msix, 1, a, NULL));
	CHECK(pci_msix_irqfd_bound(&msix, 1, b, NULL));
	CHECK_EQ(pci_msix_unbind_irqfd(&msix, 1, c), 0); /* not bound there: nothing */
	mwr(16 + MSIX_ENTRY_CTRL, 0);
	CHECK_EQ(msix.delivered, delivered + 2);
	CHECK(assigned(1, b));
	CHECK(!pci_msix_irqfd_bound(&msix, 1, a, NULL));
	/* An unbound eventfd no longer reaches the vector. */
	mwr(16 + MSIX_ENTRY_CTRL, MSIX_ENTRY_CTRL_MASKED);
	kick(a);
	CHECK_EQ(pba(), 0);
	/* Bad bindings are refused: no such vector, no fd, too many on one vector. */
	CHECK_EQ(pci_msix_bind_irqfd(&msix, 3, c), -EINVAL);
	CHECK_EQ(pci_msix_bind_irqfd(&msix, 1, -1), -EINVAL);
	for (int k = 1; k < MSIX_MAX_IRQFDS; k++)
		CHECK_EQ(pci_msix_bind_irqfd(&msix, 2, 1000 + k), 0);
	CHECK_EQ(pci_msix_bind_irqfd(&msix, 2, c), 0);
	CHECK_EQ(pci_msix_bind_irqfd(&msix, 2, 2000), -ENOSPC);
	for (int k = 1; k < MSIX_MAX_IRQFDS; k++)
		CHECK_EQ(pci_msix_unbind_irqfd(&msix, 2, 1000 + k), 0);
	CHECK(pci_msix_irqfd_bound(&msix, 2, c, NULL));
	CHECK_EQ(pci_msix_unbind_irqfd(&msix, 2, c), 0);
	CHECK_EQ(pci_msix_unbind_irqfd(&msix, 1, b), 0);
	close(a);
	close(b);
	close(c);
	pci_msix_destroy(&msix);
}

/* Bus Master Enable clear: no MSI, since an MSI is a memory write. The vector's irqfds are
 * detached and its route dropped, vmm's own messages and the eventfds' counts wait in the
 * pending bit; set again, the irqfds are back and what waited is sent. */
static void check_bus_master(void)
{
	pci_device_init(&dev, "bme", 0x1AF4, 0x1041, 0x020000, PCI_HEADER_TYPE_NORMAL);
	CHECK_EQ(pci_msix_init(&msix, &dev, &rt, 2, 1, 0x800), 0);
	int a = eventfd(0, EFD_NONBLOCK);
	mwr(MSIX_ENTRY_ADDR_LO, 0xFEE02000);
	mwr(MSIX_ENTRY_DATA, 0x72);
	mwr(MSIX_ENTRY_CTRL, 0);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	CHECK_EQ(pci_msix_bind_irqfd(&msix, 0, a), 0);
	CHECK(assigned(0, a));
	int gsi = msix.v[0].gsi;
	CHECK_MSI_ENTRY(gsi, 0xFEE02000, 0x72);
	uint64_t delivered = msix.delivered;
	dev.cfg[PCI_COMMAND] &= (uint8_t)~PCI_COMMAND_MASTER;
	pci_msix_config_written(&msix);
	CHECK(!assigned(0, a));
	CHECK(pci_msix_irqfd_bound(&msix, 0, a, NULL));
	CHECK(entry(gsi) == NULL);
	pci_msix_notify(&msix, 0);
	CHECK_EQ(msix.delivered, delivered);
	kick(a);
	CHECK_EQ(pba(), 1U << 0);
	dev.cfg[PCI_COMMAND] |= PCI_COMMAND_MASTER;
	pci_msix_config_written(&msix);
	CHECK(assigned(0, a));
	CHECK_MSI_ENTRY(gsi, 0xFEE02000, 0x72);
	CHECK_EQ(msix.delivered, delivered + 1); /* one message for what waited */
	CHECK_EQ(pba(), 0);
	CHECK_EQ(pci_msix_unbind_irqfd(&msix, 0, a), 0);
	close(a);
	pci_msix_destroy(&msix);
}

int main(void)
{
	CHECK_EQ(irq_routing_init(&rt, -1, IOAPIC_NUM_PINS), 0);
	CHECK_EQ(ioapic_init(&io, &rt, 2, IOAPIC_SID), 0);
	check_direct();
	check_ioapic();
	check_msix();
	check_shared_vector();
	check_bus_master();
	ioapic_destroy(&io);
	irq_routing_destroy(&rt);
	CHECK(irq_routing_table(&rt) == NULL);
	return check_report("irq_routing");
}
