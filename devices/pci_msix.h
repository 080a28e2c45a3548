/* MSI-X (PCI Local Bus 3.0, 6.8.2): capability, vector table and pending-bit array. Each vector
 * becomes a KVM GSI route; the eventfds bound to a vector (virtqueue call fds: several queues may
 * share one vector) are KVM irqfds while the vector may send, and count in its pending bit while
 * it may not: masked, MSI-X off or function-masked, or Bus Master Enable clear (an MSI is a
 * memory write, which a function without bus mastering cannot issue). */
#ifndef DEVICES_PCI_MSIX_H
#define DEVICES_PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vmm/bus.h"
#include "../vmm/irq_routing.h"
#include "pci.h"

#define MSIX_MAX_VECTORS     32
#define MSIX_ENTRY_SIZE      16
#define MSIX_ENTRY_ADDR_LO   0
#define MSIX_ENTRY_ADDR_HI   4
#define MSIX_ENTRY_DATA      8
#define MSIX_ENTRY_CTRL      12
#define MSIX_ENTRY_CTRL_MASKED 0x1
#define MSIX_CAP_SIZE        12
#define MSIX_MAX_IRQFDS      8 /* eventfds bound to one vector */

struct msix_irqfd {
	int fd;
	bool on; /* assigned in KVM as an irqfd on the vector's GSI */
};

struct msix_vector {
	uint32_t addr_lo, addr_hi, data, ctrl;
	bool pending;
	int gsi;       /* -1 until the vector is first used */
	unsigned nirqfds;
	struct msix_irqfd irqfds[MSIX_MAX_IRQFDS]; /* the eventfds bound to the vector */
};

struct pci_msix {
	pthread_mutex_t lock;
	struct pci_device *dev;
	struct irq_routing *routing;
	unsigned cap;      /* offset of the capability in config space */
	unsigned nvec;
	uint32_t pba_offset; /* within the BAR, after the table */
	struct msix_vector v[MSIX_MAX_VECTORS];
	uint64_t delivered; /* messages sent by vmm itself (pending ones at unmask included) */
};

/* Table at offset 0 of BAR `bar`, PBA at `pba_offset` of the same BAR. */
int pci_msix_init(struct pci_msix *m, struct pci_device *dev, struct irq_routing *rt, unsigned nvec,
		  unsigned bar, uint32_t pba_offset) __must_check;
void pci_msix_destroy(struct pci_msix *m);
/* The BAR handler: table and PBA. */
extern const struct bus_ops pci_msix_bar_ops;
/* Call after config space writes: the Enable and Function Mask bits may have changed. */
void pci_msix_config_written(struct pci_msix *m);
/* Binds an eventfd to a vector, next to those already bound there (binding a bound pair again
 * does nothing): an irqfd while the vector may send, else its count goes to the pending bit.
 * -ENOSPC past MSIX_MAX_IRQFDS on one vector. An eventfd belongs to one vector at a time (KVM
 * refuses an eventfd on two GSIs): unbind it before binding it elsewhere. */
int pci_msix_bind_irqfd(struct pci_msix *m, unsigned vec, int fd) __must_check;
/* Undoes one (vector, eventfd) binding; other eventfds of the vector stay. What the eventfd
 * counted while the vector could not send stays in the pending bit. */
int pci_msix_unbind_irqfd(struct pci_msix *m, unsigned vec, int fd) __must_check;
/* Whether `fd` is bound to `vec`, and assigned in KVM (for the tests). */
bool pci_msix_irqfd_bound(struct pci_msix *m, unsigned vec, int fd, bool *assigned);
/* Raise a vector from vmm: sent now, or left pending while masked. */
void pci_msix_notify(struct pci_msix *m, unsigned vec);

#endif
