#include "memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "layout.h"

int guest_memory_init(struct guest_memory *mem, uint64_t ram_size)
{
	memset(mem, 0, sizeof(*mem));
	if (ram_size < 64 * MiB || ram_size % (2 * MiB))
		return -EINVAL;
	/* MAP_NORESERVE: RAM is only committed when the guest touches it. */
	void *host = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (host == MAP_FAILED)
		return -errno;
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

uint64_t guest_low_ram_end(const struct guest_memory *mem)
{
	return mem->regions[0].size;
}

uint64_t guest_low_ram_end_for(uint64_t ram_size)
{
	return ram_size < PCI_HOLE_START ? ram_size : PCI_HOLE_START;
}
