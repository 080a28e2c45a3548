/* The interrupt side shared by the unit tests of the router: one irq_routing without KVM, an
 * IOAPIC and an MSI-X function driven as the guest drives them, and the KVM table the router
 * built. Included by one test program each. */
#ifndef TESTS_IRQ_HARNESS_H
#define TESTS_IRQ_HARNESS_H

#include <string.h>

#include "../../devices/ioapic.h"
#include "../../devices/ioapic_regs.h"
#include "../../devices/pci_msix.h"
#include "check.h"

static struct irq_routing rt;
static struct ioapic io;
static struct pci_device dev __attribute__((unused));
static struct pci_msix msix __attribute__((unused));

/* ---- the KVM table as the last commit built it ---- */

/* The built entry of `gsi`, or NULL when the table has none (or no table was built). */
static inline const struct kvm_irq_routing_entry *entry(unsigned gsi)
{
	const struct kvm_irq_routing *t = irq_routing_table(&rt);
	for (unsigned i = 0; t && i < t->nr; i++)
		if (t->entries[i].gsi == gsi)
			return &t->entries[i];
	return NULL;
}

static inline unsigned nr_entries(void)
{
	const struct kvm_irq_routing *t = irq_routing_table(&rt);
	return t ? t->nr : 0;
}

/* Asserts that the table holds an MSI entry for `gsi` with this address and data. */
#define CHECK_MSI_ENTRY(gsi, addr, dat)                                                        \
	do {                                                                                   \
		const struct kvm_irq_routing_entry *e_ = entry(gsi);                          \
		CHECK(e_ != NULL);                                                             \
		if (e_) {                                                                      \
			CHECK_EQ(e_->type, KVM_IRQ_ROUTING_MSI);                              \
			CHECK_EQ(e_->flags, 0);                                                \
			CHECK_EQ(e_->u.msi.address_lo, (uint32_t)(addr));                      \
			CHECK_EQ(e_->u.msi.address_hi, (uint32_t)((uint64_t)(addr) >> 32));    \
			CHECK_EQ(e_->u.msi.data, (dat));                                       \
		}                                                                              \
	} while (0)

/* ---- the IOAPIC, through its MMIO registers ---- */
static inline void io_wr(uint32_t off, uint32_t x) { ioapic_mmio_ops.write(&io, off, &x, 4); }
static inline uint32_t io_rd(uint32_t off) { uint32_t x; ioapic_mmio_ops.read(&io, off, &x, 4); return x; }
/* High half first, as Linux writes an entry. */
static inline void set_rte(unsigned pin, uint64_t rte)
{
	io_wr(IOAPIC_REG_SELECT, IOAPIC_INDEX_REDTBL + 2 * pin + 1);
	io_wr(IOAPIC_REG_WINDOW, (uint32_t)(rte >> 32));
	io_wr(IOAPIC_REG_SELECT, IOAPIC_INDEX_REDTBL + 2 * pin);
	io_wr(IOAPIC_REG_WINDOW, (uint32_t)rte);
}
static inline uint32_t rte_lo(unsigned pin)
{
	io_wr(IOAPIC_REG_SELECT, IOAPIC_INDEX_REDTBL + 2 * pin);
	return io_rd(IOAPIC_REG_WINDOW);
}

/* ---- the MSI-X function: its vector table (BAR) and its config-space control word ---- */
static inline void mwr(unsigned off, uint32_t x) { pci_msix_bar_ops.write(&msix, off, &x, 4); }
/* With Bus Master Enable on, as a driver sets it (pci_set_master) before it takes interrupts:
 * without it the function may send no MSI. */
static inline void msix_ctrl(uint16_t ctrl)
{
	dev.cfg[PCI_COMMAND] |= PCI_COMMAND_MASTER;
	memcpy(&dev.cfg[msix.cap + PCI_MSIX_FLAGS], &ctrl, 2);
	pci_msix_config_written(&msix);
}

#endif
