/* Owner of the whole KVM GSI routing table. KVM_SET_GSI_ROUTING replaces the table whole, so every
 * user (IOAPIC pins now; MSI-X vectors and interrupt remapping later) edits it through here. */
#ifndef VMM_IRQ_ROUTING_H
#define VMM_IRQ_ROUTING_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"

#define IRQ_ROUTING_MAX_GSI 1024

struct irq_route {
	bool valid;
	uint64_t msi_addr;
	uint32_t msi_data;
};

struct irq_routing {
	int vm_fd; /* -1: no KVM (unit tests), commits only record the table */
	pthread_mutex_t lock;
	unsigned reserved; /* GSIs 0..reserved-1 belong to the IOAPIC pins */
	struct irq_route routes[IRQ_ROUTING_MAX_GSI];
	bool allocated[IRQ_ROUTING_MAX_GSI]; /* GSIs handed out by irq_routing_alloc_gsi */
	unsigned commits; /* one per change of a route */
	struct kvm_irq_routing *table; /* the last one built, see irq_routing_table() */
};

int irq_routing_init(struct irq_routing *rt, int vm_fd, unsigned reserved_gsis) __must_check;
void irq_routing_destroy(struct irq_routing *rt);
/* Set or drop the MSI route of one GSI and push the whole table to KVM. */
int irq_routing_set_msi(struct irq_routing *rt, unsigned gsi, uint64_t addr, uint32_t data) __must_check;
int irq_routing_clear(struct irq_routing *rt, unsigned gsi) __must_check;
/* A free GSI above the IOAPIC pins (for an MSI-X vector), or -ENOSPC. */
int irq_routing_alloc_gsi(struct irq_routing *rt) __must_check;
/* Deliver an MSI directly (KVM_SIGNAL_MSI), for interrupts raised by vmm itself. */
int irq_routing_signal_msi(struct irq_routing *rt, uint64_t addr, uint32_t data) __must_check;
/* Bind (or with fd -1 unbind) an eventfd to a GSI as a KVM irqfd. */
int irq_routing_irqfd(struct irq_routing *rt, unsigned gsi, int fd, bool assign) __must_check;
/* Assert the GSI through its route (edge: one message). */
int irq_routing_signal(struct irq_routing *rt, unsigned gsi) __must_check;
/* The table the last commit built and (with a VM) passed to KVM_SET_GSI_ROUTING, NULL before the
 * first commit; valid until the next one. It exists for the unit tests: without a VM (vm_fd -1)
 * nothing else shows what KVM would be given. */
const struct kvm_irq_routing *irq_routing_table(const struct irq_routing *rt);

#endif
