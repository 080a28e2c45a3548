#include "irq_routing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

int irq_routing_init(struct irq_routing *rt, int vm_fd, unsigned reserved_gsis)
{
	memset(rt, 0, sizeof(*rt));
	rt->vm_fd = vm_fd;
	rt->reserved = reserved_gsis;
	return -pthread_mutex_init(&rt->lock, NULL);
}

void irq_routing_destroy(struct irq_routing *rt)
{
	free(rt->table);
	rt->table = NULL;
	pthread_mutex_destroy(&rt->lock);
}

/* The KVM table for the current routes, in GSI order. Lock held. */
static struct kvm_irq_routing *build_table_locked(const struct irq_routing *rt)
{
	unsigned n = 0;
	for (unsigned gsi = 0; gsi < IRQ_ROUTING_MAX_GSI; gsi++)
		n += rt->routes[gsi].valid;
	struct kvm_irq_routing *table =
		calloc(1, sizeof(*table) + n * sizeof(struct kvm_irq_routing_entry));
	if (!table)
		return NULL;
	for (unsigned gsi = 0; gsi < IRQ_ROUTING_MAX_GSI; gsi++) {
		const struct irq_route *r = &rt->routes[gsi];
		if (!r->valid)
			continue;
		struct kvm_irq_routing_entry *e = &table->entries[table->nr++];
		e->gsi = gsi;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)r->msi_addr;
		e->u.msi.address_hi = (uint32_t)(r->msi_addr >> 32);
		e->u.msi.data = r->msi_data;
	}
	return table;
}

/* Called with the lock held. The table is built (and kept) without a VM too, so that the unit
 * tests see exactly what KVM would get. */
static int commit_locked(struct irq_routing *rt)
{
	rt->commits++;
	struct kvm_irq_routing *table = build_table_locked(rt);
	if (!table)
		return -ENOMEM;
	int ret = 0;
	if (rt->vm_fd >= 0 && ioctl(rt->vm_fd, KVM_SET_GSI_ROUTING, table) < 0)
		ret = -errno;
	free(rt->table);
	rt->table = table;
	return ret;
}

const struct kvm_irq_routing *irq_routing_table(const struct irq_routing *rt)
{
	return rt->table;
}

int irq_routing_set_msi(struct irq_routing *rt, unsigned gsi, uint64_t addr, uint32_t data)
{
	if (gsi >= IRQ_ROUTING_MAX_GSI)
		return -EINVAL;
	pthread_mutex_lock(&rt->lock);
	struct irq_route *r = &rt->routes[gsi];
	int ret = 0;
	if (!r->valid || r->msi_addr != addr || r->msi_data != data) {
		*r = (struct irq_route){ .valid = true, .msi_addr = addr, .msi_data = data };
		ret = commit_locked(rt);
	}
	pthread_mutex_unlock(&rt->lock);
	return ret;
}

int irq_routing_clear(struct irq_routing *rt, unsigned gsi)
{
	if (gsi >= IRQ_ROUTING_MAX_GSI)
		return -EINVAL;
	pthread_mutex_lock(&rt->lock);
	int ret = 0;
	if (rt->routes[gsi].valid) {
		rt->routes[gsi].valid = false;
		ret = commit_locked(rt);
	}
	pthread_mutex_unlock(&rt->lock);
	return ret;
}

int irq_routing_signal(struct irq_routing *rt, unsigned gsi)
{
	if (gsi >= IRQ_ROUTING_MAX_GSI)
		return -EINVAL;
	if (rt->vm_fd < 0)
		return 0;
	/* An MSI route fires on the rising edge; level 0 afterwards is a no-op for MSI routes. */
	struct kvm_irq_level irq = { .irq = gsi, .level = 1 };
	if (ioctl(rt->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

int irq_routing_alloc_gsi(struct irq_routing *rt)
{
	int gsi = -ENOSPC;
	pthread_mutex_lock(&rt->lock);
	for (unsigned i = rt->reserved; i < IRQ_ROUTING_MAX_GSI; i++) {
		if (!rt->allocated[i]) {
			rt->allocated[i] = true;
			gsi = (int)i;
			break;
		}
	}
	pthread_mutex_unlock(&rt->lock);
	return gsi;
}

int irq_routing_signal_msi(struct irq_routing *rt, uint64_t addr, uint32_t data)
{
	if (rt->vm_fd < 0)
		return 0;
	struct kvm_msi msi = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data };
	return ioctl(rt->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}

int irq_routing_irqfd(struct irq_routing *rt, unsigned gsi, int fd, bool assign)
{
	if (rt->vm_fd < 0)
		return 0;
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };
	return ioctl(rt->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}
