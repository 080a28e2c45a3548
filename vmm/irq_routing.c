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
	pthread_mutexattr_t attr;
	int ret = pthread_mutexattr_init(&attr);
	if (!ret)
		ret = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	if (!ret)
		ret = pthread_mutex_init(&rt->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return -ret;
}

void irq_routing_destroy(struct irq_routing *rt)
{
	free(rt->table);
	rt->table = NULL;
	pthread_mutex_destroy(&rt->lock);
}

void irq_routing_set_remapper(struct irq_routing *rt, const struct irq_remapper *remapper)
{
	pthread_mutex_lock(&rt->lock);
	rt->remapper = *remapper;
	pthread_mutex_unlock(&rt->lock);
}

/* Translates a source's message. Lock held. */
static int remap_locked(struct irq_routing *rt, uint16_t sid, const struct msi_msg *in, struct msi_msg *out,
			int *index)
{
	*index = -1;
	if (!rt->remapper.remap) {
		*out = *in;
		return 0;
	}
	int ret = rt->remapper.remap(rt->remapper.opaque, sid, in, out, index);
	if (ret)
		rt->blocked++;
	return ret;
}

/* Brings a valid route's translation up to date; true when its KVM entry changed. Lock held. */
static bool translate_route_locked(struct irq_routing *rt, struct irq_route *r)
{
	struct irq_route was = *r;
	struct msi_msg in = { .addr = r->msi_addr, .data = r->msi_data };
	r->routed = remap_locked(rt, r->sid, &in, &r->out, &r->ir_index) == 0;
	if (!r->routed)
		r->out = (struct msi_msg){ 0, 0 };
	return r->routed != was.routed || (r->routed && (r->out.addr != was.out.addr || r->out.data != was.out.data));
}

/* The KVM table for the current routes, in GSI order. Lock held. */
static struct kvm_irq_routing *build_table_locked(const struct irq_routing *rt)
{
	unsigned n = 0;
	for (unsigned gsi = 0; gsi < IRQ_ROUTING_MAX_GSI; gsi++)
		n += rt->routes[gsi].valid && rt->routes[gsi].routed;
	struct kvm_irq_routing *table =
		calloc(1, sizeof(*table) + n * sizeof(struct kvm_irq_routing_entry));
	if (!table)
		return NULL;
	for (unsigned gsi = 0; gsi < IRQ_ROUTING_MAX_GSI; gsi++) {
		const struct irq_route *r = &rt->routes[gsi];
		if (!r->valid || !r->routed)
			continue;
		struct kvm_irq_routing_entry *e = &table->entries[table->nr++];
		e->gsi = gsi;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)r->out.addr;
		e->u.msi.address_hi = (uint32_t)(r->out.addr >> 32);
		e->u.msi.data = r->out.data;
	}
	return table;
}

/* Pushes the routes to KVM, or inside a batch notes that they must be. When KVM refuses, the
 * routes go back to what KVM has. Lock held. The table is built (and kept) without a VM too, so
 * that the unit tests see exactly what KVM would get. */
static int commit_locked(struct irq_routing *rt)
{
	if (rt->batch) {
		rt->dirty = true;
		return 0;
	}
	rt->dirty = false;
	rt->commits++;
	struct kvm_irq_routing *table = build_table_locked(rt);
	int ret = 0;
	if (!table)
		ret = -ENOMEM;
	else if (rt->vm_fd >= 0 && ioctl(rt->vm_fd, KVM_SET_GSI_ROUTING, table) < 0)
		ret = -errno;
	if (ret) {
		free(table);
		memcpy(rt->routes, rt->committed, sizeof(rt->routes));
		return ret;
	}
	memcpy(rt->committed, rt->routes, sizeof(rt->routes));
	free(rt->table);
	rt->table = table;
	return 0;
}

/* A change that leaves KVM's table as it is: the routes are what KVM has. Lock held. */
static void note_locked(struct irq_routing *rt)
{
	if (!rt->batch)
		memcpy(rt->committed, rt->routes, sizeof(rt->routes));
}

const struct kvm_irq_routing *irq_routing_table(const struct irq_routing *rt)
{
	return rt->table;
}

void irq_routing_batch_begin(struct irq_routing *rt)
{
	pthread_mutex_lock(&rt->lock);
	rt->batch++;
}

int irq_routing_batch_end(struct irq_routing *rt)
{
	int ret = 0;
	if (--rt->batch == 0) {
		if (rt->dirty)
			ret = commit_locked(rt);
		else
			note_locked(rt);
	}
	pthread_mutex_unlock(&rt->lock);
	return ret;
}

int irq_routing_set_msi(struct irq_routing *rt, unsigned gsi, uint16_t sid, uint64_t addr, uint32_t data)
{
	if (gsi >= IRQ_ROUTING_MAX_GSI)
		return -EINVAL;
	pthread_mutex_lock(&rt->lock);
	struct irq_route *r = &rt->routes[gsi];
	int ret = 0;
	if (!r->valid || r->sid != sid || r->msi_addr != addr || r->msi_data != data) {
		/* A route that is not valid is not routed (clear and rollback keep it so), so the
		 * translation's own comparison says whether KVM's entry changes: a new source message
		 * that translates to the same entry changes nothing in KVM. */
		r->valid = true;
		r->sid = sid;
		r->msi_addr = addr;
		r->msi_data = data;
		if (translate_route_locked(rt, r))
			ret = commit_locked(rt);
		else
			note_locked(rt);
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
	struct irq_route *r = &rt->routes[gsi];
	if (r->valid) {
		bool was_routed = r->routed;
		r->valid = false;
		r->routed = false;
		if (was_routed)
			ret = commit_locked(rt);
		else
			note_locked(rt);
	}
	pthread_mutex_unlock(&rt->lock);
	return ret;
}

int irq_routing_retranslate(struct irq_routing *rt, unsigned first, unsigned last, bool all_formats)
{
	pthread_mutex_lock(&rt->lock);
	bool changed = false;
	for (unsigned gsi = 0; gsi < IRQ_ROUTING_MAX_GSI; gsi++) {
		struct irq_route *r = &rt->routes[gsi];
		if (!r->valid)
			continue;
		bool concerned = r->ir_index < 0 ? all_formats : (unsigned)r->ir_index >= first && (unsigned)r->ir_index <= last;
		if (concerned)
			changed |= translate_route_locked(rt, r);
	}
	int ret = 0;
	if (changed)
		ret = commit_locked(rt);
	else
		note_locked(rt);
	pthread_mutex_unlock(&rt->lock);
	return ret;
}

int irq_routing_signal(struct irq_routing *rt, unsigned gsi)
{
	if (gsi >= IRQ_ROUTING_MAX_GSI)
		return -EINVAL;
	if (rt->vm_fd < 0)
		return 0;
	/* An MSI route fires on the rising edge; level 0 afterwards is a no-op for MSI routes. A
	 * GSI without a KVM route (blocked by the remapper) delivers nothing. */
	struct kvm_irq_level irq = { .irq = gsi, .level = 1 };
	if (ioctl(rt->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

int irq_routing_vector(struct irq_routing *rt, unsigned gsi)
{
	if (gsi >= IRQ_ROUTING_MAX_GSI)
		return -1;
	pthread_mutex_lock(&rt->lock);
	const struct irq_route *r = &rt->routes[gsi];
	int vector = r->valid && r->routed ? (int)(r->out.data & MSI_DATA_VECTOR_MASK) : -1;
	pthread_mutex_unlock(&rt->lock);
	return vector;
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

int irq_routing_send_msi(struct irq_routing *rt, uint16_t sid, uint64_t addr, uint32_t data)
{
	struct msi_msg in = { .addr = addr, .data = data }, out;
	int index;
	pthread_mutex_lock(&rt->lock);
	int blocked = remap_locked(rt, sid, &in, &out, &index);
	pthread_mutex_unlock(&rt->lock);
	return blocked ? 0 : irq_routing_signal_msi(rt, out.addr, out.data);
}

int irq_routing_irqfd(struct irq_routing *rt, unsigned gsi, int fd, bool assign)
{
	if (rt->vm_fd < 0)
		return 0;
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };
	return ioctl(rt->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}
