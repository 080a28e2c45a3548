/* Coalesced port writes (coalesced_io.h). */
#include "coalesced_io.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void coalesced_io_init_ring(struct coalesced_io *c, struct kvm_coalesced_mmio_ring *ring, uint32_t entries,
			    struct bus *pio, struct bus *mmio)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->ring = ring;
	c->entries = entries;
	c->pio = pio;
	c->mmio = mmio;
}

int coalesced_io_init_pio(struct coalesced_io *c, int vm_fd, void *vcpu_run, size_t run_size, long ring_page_offset,
			  uint16_t port, uint32_t len, struct bus *pio, struct bus *mmio)
{
	coalesced_io_init_ring(c, NULL, 0, pio, mmio); /* no ring until KVM has one for us */
	long page = sysconf(_SC_PAGESIZE);
	if (ring_page_offset <= 0 || (size_t)(ring_page_offset + 1) * (size_t)page > run_size)
		return -ENOTSUP;
	struct kvm_coalesced_mmio_zone zone = { .addr = port, .size = len, .pio = 1 };
	if (ioctl(vm_fd, KVM_REGISTER_COALESCED_MMIO, &zone) < 0)
		return -errno;
	c->ring = (struct kvm_coalesced_mmio_ring *)((uint8_t *)vcpu_run + ring_page_offset * page);
	/* KVM_COALESCED_MMIO_MAX, for the page size of this host. */
	c->entries = (uint32_t)(((size_t)page - sizeof(struct kvm_coalesced_mmio_ring)) / sizeof(struct kvm_coalesced_mmio));
	return 0;
}

void coalesced_io_drain(struct coalesced_io *c)
{
	struct kvm_coalesced_mmio_ring *r = c->ring;
	/* KVM fills at `last` and publishes it after the entry; vmm consumes at `first`. */
	if (!r || __atomic_load_n(&r->first, __ATOMIC_RELAXED) == __atomic_load_n(&r->last, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&c->lock);
	uint32_t first = r->first, last;
	/* c->ring: another vCPU may have dropped the ring while this one waited for the lock. */
	while (c->ring && first != (last = __atomic_load_n(&r->last, __ATOMIC_ACQUIRE))) {
		if (first >= c->entries || last >= c->entries) {
			/* Not what KVM writes: stop using the ring rather than index past it. */
			log_err("coalesced I/O ring indices out of range (first %u, last %u, %u entries): no longer used",
				  first, last, c->entries);
			c->bad++;
			c->ring = NULL;
			break;
		}
		struct kvm_coalesced_mmio e = r->coalesced_mmio[first];
		uint8_t data[8];
		uint32_t len = e.len > sizeof(data) ? sizeof(data) : e.len;
		memcpy(data, e.data, len);
		bus_access(e.pio ? c->pio : c->mmio, true, e.phys_addr, data, len);
		c->applied++;
		first = (first + 1) % c->entries;
		__atomic_store_n(&r->first, first, __ATOMIC_RELEASE); /* the slot is KVM's again */
	}
	pthread_mutex_unlock(&c->lock);
}

void coalesced_io_destroy(struct coalesced_io *c)
{
	pthread_mutex_destroy(&c->lock);
	c->ring = NULL;
}
