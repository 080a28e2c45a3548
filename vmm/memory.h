/* Guest RAM and the guest physical map: the only way to turn a guest address into a host pointer. */
#ifndef VMM_MEMORY_H
#define VMM_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define GUEST_MAX_REGIONS 2

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_memory {
	uint8_t *host;      /* one anonymous mapping holding all guest RAM */
	uint64_t ram_size;  /* bytes of RAM given to the guest */
	unsigned nregions;
	struct guest_region regions[GUEST_MAX_REGIONS];
};

/* Lays RAM out around the 32-bit PCI hole: [0, min(size, hole)) and the rest from 4 GiB. */
int guest_memory_init(struct guest_memory *mem, uint64_t ram_size) __must_check;
void guest_memory_free(struct guest_memory *mem);

/* Host pointer for [gpa, gpa+len) if the whole range is RAM of one region, else NULL. */
void *guest_ptr(const struct guest_memory *mem, uint64_t gpa, uint64_t len);

/* Copy to/from guest RAM; -EFAULT when any byte of the range is not RAM. */
int guest_read(const struct guest_memory *mem, uint64_t gpa, void *buf, size_t len) __must_check;
int guest_write(const struct guest_memory *mem, uint64_t gpa, const void *buf, size_t len) __must_check;

/* [gpa, gpa+len) of RAM reads as zero afterwards; -EFAULT when any byte of it is not RAM. Whole
 * 2 MiB pages inside it go back to the host (MADV_DONTNEED: private anonymous memory reads as
 * zero again), so that zeroing RAM the guest may never touch costs neither a copy nor memory;
 * the ends are written. */
int guest_zero(const struct guest_memory *mem, uint64_t gpa, uint64_t len) __must_check;

/* End of RAM below the PCI hole. */
uint64_t guest_low_ram_end(const struct guest_memory *mem);
/* The same for a RAM size, before any memory is set up (the command line's checks). */
uint64_t guest_low_ram_end_for(uint64_t ram_size);

#endif
