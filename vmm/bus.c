#include "bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	return -pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	pthread_rwlock_destroy(&bus->lock);
	bus->ranges = NULL;
	bus->nranges = bus->capacity = 0;
}

/* Index of the first range whose base is greater than addr. */
static unsigned upper_bound(const struct bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nranges;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (bus->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque, const char *name)
{
	if (len == 0 || base + len - 1 < base || !ops)
		return -EINVAL;
	int ret = 0;
	pthread_rwlock_wrlock(&bus->lock);
	unsigned pos = upper_bound(bus, base);
	uint64_t last = base + len - 1;
	if (pos > 0) {
		const struct bus_range *prev = &bus->ranges[pos - 1];
		if (prev->base + prev->len - 1 >= base)
			ret = -EEXIST;
	}
	if (pos < bus->nranges && bus->ranges[pos].base <= last)
		ret = -EEXIST;
	if (!ret && bus->nranges == bus->capacity) {
		unsigned cap = bus->capacity ? bus->capacity * 2 : 16;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));
		if (!r)
			ret = -ENOMEM;
		else {
			bus->ranges = r;
			bus->capacity = cap;
		}
	}
	if (!ret) {
		memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
			(bus->nranges - pos) * sizeof(*bus->ranges));
		bus->ranges[pos] = (struct bus_range){ base, len, ops, opaque, name };
		bus->nranges++;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	int ret = -ENOENT;
	pthread_rwlock_wrlock(&bus->lock);
	unsigned pos = upper_bound(bus, base);
	if (pos > 0 && bus->ranges[pos - 1].base == base) {
		pos--;
		memmove(&bus->ranges[pos], &bus->ranges[pos + 1],
			(bus->nranges - pos - 1) * sizeof(*bus->ranges));
		bus->nranges--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

bool bus_access(struct bus *bus, bool is_write, uint64_t addr, void *data, unsigned len)
{
	struct bus_range r = { 0 };
	pthread_rwlock_rdlock(&bus->lock);
	unsigned pos = upper_bound(bus, addr);
	/* The range holding the first byte takes the access, as on an ISA bus where a wide
	 * access goes to the decoder of its first port (0xCF8 is 4 bytes wide to the PCI
	 * address register, 0xCF9 alone is the reset register); handlers bound the rest. */
	if (pos > 0 && addr - bus->ranges[pos - 1].base < bus->ranges[pos - 1].len)
		r = bus->ranges[pos - 1];
	pthread_rwlock_unlock(&bus->lock);
	/* The handler runs without the lock: it may move ranges itself (a PCI BAR written through
	 * ECAM). Devices live as long as the VM, so a range removed meanwhile is still safe. */
	if (!r.ops) {
		bus->unhandled++;
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	if (is_write)
		r.ops->write(r.opaque, addr - r.base, data, len);
	else
		r.ops->read(r.opaque, addr - r.base, data, len);
	return true;
}
