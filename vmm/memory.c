#include "memory.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "layout.h"

#define GUEST_RAM_ALIGN (2 * MiB)

int guest_memory_init(struct guest_memory *mem, uint64_t ram_size)
{
	memset(mem, 0, sizeof(*mem));
	if (ram_size < 64 * MiB || ram_size % (2 * MiB))
		return -EINVAL;
	/* MAP_NORESERVE: RAM is only committed when the guest touches it. The mapping starts on a
	 * 2 MiB boundary, as guest-physical addresses do: KVM maps a guest page with a 2 MiB page
	 * of the nested/extended page tables only where host and guest addresses agree modulo
	 * 2 MiB, so an unaligned mapping means 4 KiB pages and one page-table fault per 4 KiB of
	 * RAM the guest touches (36,085 such faults in a nested boot before this). */
	size_t span = ram_size + GUEST_RAM_ALIGN;
	uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return -errno;
	uint8_t *host = (uint8_t *)(((uintptr_t)raw + GUEST_RAM_ALIGN - 1) & ~(uintptr_t)(GUEST_RAM_ALIGN - 1));
	if (host > raw)
		munmap(raw, (size_t)(host - raw));
	if (raw + span > host + ram_size)
		munmap(host + ram_size, (size_t)(raw + span - (host + ram_size)));
	/* Transparent huge pages where the host gives them only on request (THP "madvise"). */
	madvise(host, ram_size, MADV_HUGEPAGE);
	madvise(host, ram_size, MADV_MERGEABLE); /* harmless where KSM is off */
	mem->host = host;
	mem->ram_size = ram_size;
	uint64_t low = guest_low_ram_end_for(ram_size);
	mem->regions[0] = (struct guest_region){ .gpa = 0, .size = low, .host = mem->host };
	mem->nregions = 1;
	if (ram_size > low) {
		mem->regions[1] = (struct guest_region){
			.gpa = HIGH_RAM_START, .size = ram_size - low, .host = mem->host + low
		};
		mem->nregions = 2;
	}
	return 0;
}

void guest_memory_free(struct guest_memory *mem)
{
	if (mem->host)
		munmap(mem->host, mem->ram_size);
	memset(mem, 0, sizeof(*mem));
}

void *guest_ptr(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		/* Written so that no sum can overflow: gpa and len come from the guest. */
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int guest_read(const struct guest_memory *mem, uint64_t gpa, void *buf, size_t len)
{
	void *p = guest_ptr(mem, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int guest_write(const struct guest_memory *mem, uint64_t gpa, const void *buf, size_t len)
{
	void *p = guest_ptr(mem, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

int guest_zero(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	if (!len)
		return 0;
	uint8_t *p = guest_ptr(mem, gpa, len);
	if (!p)
		return -EFAULT;
	uint8_t *lo = (uint8_t *)(((uintptr_t)p + GUEST_RAM_ALIGN - 1) & ~(uintptr_t)(GUEST_RAM_ALIGN - 1));
	uint8_t *hi = (uint8_t *)(((uintptr_t)p + len) & ~(uintptr_t)(GUEST_RAM_ALIGN - 1));
	/* Whole huge pages only: giving back part of one would split it, and the host's page tables
	 * and KVM's nested ones would map the rest 4 KiB at a time. Where the host refuses, the bytes
	 * are written. */
	if (lo >= hi || madvise(lo, (size_t)(hi - lo), MADV_DONTNEED)) {
		memset(p, 0, len);
		return 0;
	}
	memset(p, 0, (size_t)(lo - p));
	memset(hi, 0, (size_t)(p + len - hi));
	return 0;
}

uint64_t guest_low_ram_end(const struct guest_memory *mem)
{
	return mem->regions[0].size;
}

uint64_t guest_low_ram_end_for(uint64_t ram_size)
{
	return ram_size < PCI_HOLE_START ? ram_size : PCI_HOLE_START;
}
