/* Port writes that KVM queues in a ring instead of exiting to vmm (KVM_CAP_COALESCED_PIO): the
 * PCI configuration address register CF8, which Linux writes before each configuration access
 * through CFC (pci_conf1_read/write: outl to CF8, then the CFC access). Queued, the write costs
 * no exit to userspace; vmm applies the queued writes, in order, before it handles any exit, so
 * the CFC access that follows (an exit) sees CF8 as written. A read of CF8 still exits. Linux
 * holds pci_config_lock across the pair, so vCPUs do not interleave their CF8 writes. QEMU does
 * the same for its host bridges. */
#ifndef VMM_COALESCED_IO_H
#define VMM_COALESCED_IO_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "log.h"

struct coalesced_io {
	struct kvm_coalesced_mmio_ring *ring; /* NULL: nothing is coalesced */
	uint32_t entries;                     /* the ring's length (KVM_COALESCED_MMIO_MAX) */
	pthread_mutex_t lock;                 /* one vCPU drains at a time */
	struct bus *pio, *mmio;
	uint64_t applied;                     /* writes taken from the ring */
	uint64_t bad;                         /* ring indices out of range: ring dropped */
};

/* Registers [port, port + len) for coalesced writes on vm_fd and takes the ring from a vCPU's
 * kvm_run mapping (the page at ring_page_offset, KVM_CHECK_EXTENSION(KVM_CAP_COALESCED_MMIO),
 * 0 when KVM_CAP_COALESCED_PIO is missing). Returns 0, or -ENOTSUP without the capability (then
 * nothing is coalesced, and vmm works as before), or the ioctl's error. */
int coalesced_io_init_pio(struct coalesced_io *c, int vm_fd, void *vcpu_run, size_t run_size, long ring_page_offset,
			  uint16_t port, uint32_t len, struct bus *pio, struct bus *mmio) __must_check;
/* The same on a ring the caller provides (tests): no KVM. */
void coalesced_io_init_ring(struct coalesced_io *c, struct kvm_coalesced_mmio_ring *ring, uint32_t entries,
			    struct bus *pio, struct bus *mmio);
/* Applies every queued write, in order, through the buses (as the exits would have); every
 * vCPU calls it before handling an exit. Cheap when the ring is empty (no lock). */
void coalesced_io_drain(struct coalesced_io *c);
void coalesced_io_destroy(struct coalesced_io *c);

#endif
