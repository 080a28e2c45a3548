/* Userspace IOAPIC for KVM's split irqchip. Its pins are KVM GSIs 0..23, whose MSI routes it keeps
 * in step with the redirection table so that KVM reports EOIs of level-triggered vectors. */
#ifndef DEVICES_IOAPIC_H
#define DEVICES_IOAPIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vmm/bus.h"
#include "../vmm/irq_routing.h"
#include "../vmm/layout.h"

struct ioapic {
	pthread_mutex_t lock;
	struct irq_routing *routing;
	uint32_t id;
	uint16_t sid; /* the requester id its messages carry (for interrupt remapping) */
	uint32_t ioregsel;
	uint64_t redtbl[IOAPIC_NUM_PINS];
	uint32_t line_level; /* bit per pin: the line as its device drives it */
	uint64_t delivered[IOAPIC_NUM_PINS]; /* interrupts sent per pin, for tests and stats */
};

extern const struct bus_ops ioapic_mmio_ops;

/* sid: the requester id of its interrupt messages (IOAPIC_SID on this board). */
int ioapic_init(struct ioapic *io, struct irq_routing *routing, uint32_t id, uint16_t sid) __must_check;
void ioapic_destroy(struct ioapic *io);
/* A device drives its line: level 1 asserted, 0 deasserted. */
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level);
/* KVM_EXIT_IOAPIC_EOI: the guest's LAPIC has EOIed a level-triggered vector (as delivered: through
 * interrupt remapping, the vector of the pin's translated route). The guest's writes to the EOI
 * register (offset 0x40) name the entry's own vector field instead. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);
/* MSI address/data that an entry translates to (exposed for the tests). */
void ioapic_rte_to_msi(uint64_t rte, uint64_t *addr, uint32_t *data);

#endif
