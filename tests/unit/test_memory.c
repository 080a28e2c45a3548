#include <errno.h>
#include <string.h>

#include "../../vmm/layout.h"
#include "../../vmm/memory.h"
#include "check.h"

int main(void)
{
	struct guest_memory m;
	CHECK_EQ(guest_memory_init(&m, 512 * MiB), 0);
	/* 2 MiB-aligned, like guest-physical addresses, so that KVM can map it with huge pages. */
	CHECK_EQ((uintptr_t)m.host % (2 * MiB), 0);
	CHECK_EQ(m.nregions, 1);
	CHECK_EQ(guest_low_ram_end(&m), 512 * MiB);
	CHECK(guest_ptr(&m, 0, 512 * MiB) != NULL);
	CHECK(guest_ptr(&m, 512 * MiB - 4, 4) != NULL);
	CHECK(guest_ptr(&m, 512 * MiB - 4, 5) == NULL);   /* runs past the end */
	CHECK(guest_ptr(&m, 512 * MiB, 1) == NULL);
	CHECK(guest_ptr(&m, UINT64_MAX - 1, 4) == NULL);  /* gpa + len wraps */
	CHECK(guest_ptr(&m, 16, UINT64_MAX) == NULL);
	uint32_t v = 0xAABBCCDD, back = 0;
	CHECK_EQ(guest_write(&m, 0x1000, &v, 4), 0);
	CHECK_EQ(guest_read(&m, 0x1000, &back, 4), 0);
	CHECK_EQ(back, v);
	CHECK_EQ(guest_read(&m, 512 * MiB - 2, &back, 4), -EFAULT);
	guest_memory_free(&m);

	/* 4 GiB: 3 GiB below the PCI hole, 1 GiB from 4 GiB; the hole itself is not RAM. */
	CHECK_EQ(guest_memory_init(&m, 4 * GiB), 0);
	CHECK_EQ((uintptr_t)m.host % (2 * MiB), 0);
	CHECK_EQ((uintptr_t)m.regions[1].host % (2 * MiB), 0);
	CHECK_EQ(m.nregions, 2);
	CHECK_EQ(guest_low_ram_end(&m), PCI_HOLE_START);
	CHECK_EQ(m.regions[1].gpa, HIGH_RAM_START);
	CHECK_EQ(m.regions[1].size, 4 * GiB - PCI_HOLE_START);
	CHECK(guest_ptr(&m, PCI_HOLE_START - 8, 8) != NULL);
	CHECK(guest_ptr(&m, PCI_HOLE_START - 8, 16) == NULL); /* straddles into the hole */
	CHECK(guest_ptr(&m, PCI_ECAM_BASE, 4) == NULL);
	CHECK(guest_ptr(&m, HIGH_RAM_START, 4) == (void *)(m.host + PCI_HOLE_START));
	CHECK(guest_ptr(&m, HIGH_RAM_START + GiB - 4, 8) == NULL);
	guest_memory_free(&m);

	CHECK_EQ(guest_memory_init(&m, 63 * MiB), -EINVAL);
	CHECK_EQ(guest_memory_init(&m, 65 * MiB), -EINVAL);
	return check_report("memory");
}
