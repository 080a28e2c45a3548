/* Owner of the whole KVM GSI routing table. KVM_SET_GSI_ROUTING replaces the table whole, so every
 * user (IOAPIC pins, MSI-X vectors) edits it through here.
 *
 * Interrupt remapping: each route keeps where its interrupt comes from (the requester id and the
 * message as the source sends it) and what it translated to. With a remapper (the VT-d unit's
 * interrupt remapping), a route's KVM entry holds the translated message, so that an irqfd
 * delivers without vmm; the remapper's invalidations re-translate the affected routes from
 * their sources (irq_routing_retranslate). A route whose message the remapper blocks is left
 * out of KVM's table (the remapper recorded the fault).
 *
 * Locks, in the order they are taken: a device's own lock (virtio-pci, MSI-X, IOAPIC), then the
 * router's (recursive, so that a batch can hold it across several changes), then the remapper's
 * (the DMA space's lock, inside remap()). So the remapper never calls the router with its own
 * lock held: the VT-d unit notes what changed and calls irq_routing_retranslate() after
 * releasing it, still inside the guest's register write. */
#ifndef VMM_IRQ_ROUTING_H
#define VMM_IRQ_ROUTING_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "msi.h"

#define IRQ_ROUTING_MAX_GSI 1024

/* A remapping unit. remap() translates a message from requester `sid`: 0 and *out, or negative
 * when the unit blocks it (having recorded the fault). *index is the remapping table entry the
 * message names, -1 for a message that names none (compatibility format, or remapping off);
 * set even when the message is blocked. Called with the router's lock held. */
struct irq_remapper {
	int (*remap)(void *opaque, uint16_t sid, const struct msi_msg *in, struct msi_msg *out, int *index);
	void *opaque;
};

struct irq_route {
	bool valid;        /* the source has an interrupt on this GSI */
	uint16_t sid;      /* requester id of the source */
	uint64_t msi_addr; /* the message as the source sends it */
	uint32_t msi_data;
	bool routed;       /* translated: in KVM's table as `out` */
	struct msi_msg out;
	int ir_index;      /* the remapping table entry the message names, -1 none */
};

struct irq_routing {
	int vm_fd; /* -1: no KVM (unit tests), commits only record the table */
	pthread_mutex_t lock; /* recursive */
	unsigned reserved; /* GSIs 0..reserved-1 belong to the IOAPIC pins */
	struct irq_route routes[IRQ_ROUTING_MAX_GSI];
	struct irq_route committed[IRQ_ROUTING_MAX_GSI]; /* as KVM has them: restored when KVM refuses */
	bool allocated[IRQ_ROUTING_MAX_GSI]; /* GSIs handed out by irq_routing_alloc_gsi */
	struct irq_remapper remapper;        /* remap NULL: messages go as they are */
	unsigned batch;    /* open batches: changes wait for the last irq_routing_batch_end() */
	bool dirty;        /* a change waits for the batch's commit */
	unsigned commits;  /* KVM_SET_GSI_ROUTING calls (or tables built, without a VM) */
	uint64_t blocked;  /* messages the remapper blocked (routes and direct sends) */
	struct kvm_irq_routing *table; /* the last one built, see irq_routing_table() */
};

int irq_routing_init(struct irq_routing *rt, int vm_fd, unsigned reserved_gsis) __must_check;
void irq_routing_destroy(struct irq_routing *rt);
/* Set before the first route. */
void irq_routing_set_remapper(struct irq_routing *rt, const struct irq_remapper *remapper);
/* Set or drop the MSI route of one GSI (from requester `sid`) and push the whole table to KVM.
 * When KVM refuses, the route stays as it was. */
int irq_routing_set_msi(struct irq_routing *rt, unsigned gsi, uint16_t sid, uint64_t addr, uint32_t data) __must_check;
int irq_routing_clear(struct irq_routing *rt, unsigned gsi) __must_check;
/* Several changes, one KVM_SET_GSI_ROUTING: between begin and end the router's lock is held and
 * changes only collect; end commits them (and undoes them all if KVM refuses). */
void irq_routing_batch_begin(struct irq_routing *rt);
int irq_routing_batch_end(struct irq_routing *rt) __must_check;
/* The remapper's entries first..last changed (an invalidation): every route naming one of them,
 * and with all_formats also the routes naming none, is translated again; one commit. */
int irq_routing_retranslate(struct irq_routing *rt, unsigned first, unsigned last, bool all_formats) __must_check;
/* The vector KVM delivers for the GSI (its translated message), -1 when it has no route. */
int irq_routing_vector(struct irq_routing *rt, unsigned gsi);
/* A free GSI above the IOAPIC pins (for an MSI-X vector), or -ENOSPC. */
int irq_routing_alloc_gsi(struct irq_routing *rt) __must_check;
/* Deliver a device's message now (KVM_SIGNAL_MSI), translated like its routes. A blocked
 * message is dropped (the remapper recorded the fault) and is not an error. */
int irq_routing_send_msi(struct irq_routing *rt, uint16_t sid, uint64_t addr, uint32_t data) __must_check;
/* Deliver a message as it is: only for the IOMMU's own event interrupts, which are never
 * remapped (VT-d spec 5.1.6, "Remapping Hardware - Interrupt Programming"). */
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
