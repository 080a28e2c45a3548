/* One range-keyed dispatcher, used for both port I/O and MMIO; handlers get an offset. */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"

struct bus_ops {
	/* Accesses are 1, 2, 4 or 8 bytes at `offset` from the range's base. */
	void (*read)(void *opaque, uint64_t offset, void *data, unsigned len);
	void (*write)(void *opaque, uint64_t offset, const void *data, unsigned len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name;
	pthread_rwlock_t lock; /* ranges change only at set-up and on PCI BAR moves */
	struct bus_range *ranges; /* sorted by base, disjoint */
	unsigned nranges;
	unsigned capacity;
	_Atomic uint64_t unhandled;
};

int bus_init(struct bus *bus, const char *name) __must_check;
void bus_destroy(struct bus *bus);
/* -EINVAL for zero length or a range that wraps; -EEXIST when it overlaps another. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque, const char *name) __must_check;
int bus_unregister(struct bus *bus, uint64_t base) __must_check;
/* Returns true when a device took the access: the range that holds its first byte does. An unclaimed read returns all ones, as on a PC
 * (no device drives the bus); an unclaimed write is dropped. */
bool bus_access(struct bus *bus, bool is_write, uint64_t addr, void *data, unsigned len);

#endif
