/* e820 and zero-page building, and the bzImage checks, on a synthetic kernel image. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/boot.h"
#include "../../vmm/layout.h"
#include "check.h"

static uint8_t *fake_bzimage(size_t *len)
{
	*len = 64 * 1024;
	uint8_t *k = calloc(1, *len);
	struct setup_header h = { 0 };
	h.setup_sects = 3;
	h.boot_flag = 0xAA55;
	h.header = 0x53726448;
	h.version = 0x020F;
	h.loadflags = LOADED_HIGH;
	h.relocatable_kernel = 1;
	h.xloadflags = XLF_KERNEL_64;
	h.initrd_addr_max = 0x7FFFFFFF;
	h.cmdline_size = 2048;
	h.init_size = 32 * 1024 * 1024;
	h.jump = 0x66EB; /* byte 0x201 = 0x66: header ends at 0x268 */
	memcpy(k + 0x1F1, &h, sizeof(h));
	memset(k + 4 * 512, 0xC3, *len - 4 * 512); /* "protected-mode code" */
	return k;
}

static void check_e820(void)
{
	struct guest_memory m;
	struct boot_e820_entry map[16];
	CHECK_EQ(guest_memory_init(&m, 512 * MiB), 0);
	unsigned n = boot_build_e820(&m, map, 16);
	CHECK_EQ(n, 6);
	CHECK_EQ(map[0].addr, 0);
	CHECK_EQ(map[0].type, E820_RAM); /* RAM below 1 MiB for the AP trampoline */
	CHECK(map[0].size >= 0x90000);
	CHECK_EQ(map[1].addr, BIOS_AREA_START);
	CHECK_EQ(map[1].type, E820_RESERVED);
	CHECK_EQ(map[2].addr, ACPI_TABLES_START);
	CHECK_EQ(map[2].type, E820_ACPI);
	CHECK_EQ(map[3].addr, KERNEL_LOAD_ADDR);
	CHECK_EQ(map[3].addr + map[3].size, 512 * MiB);
	CHECK_EQ(map[4].addr, PCI_ECAM_BASE);
	CHECK_EQ(map[4].size, PCI_ECAM_SIZE);
	CHECK_EQ(map[4].type, E820_RESERVED);
	CHECK_EQ(map[5].addr, VTD_BASE);
	CHECK_EQ(map[5].size, VTD_SIZE);
	CHECK_EQ(map[5].type, E820_RESERVED);
	for (unsigned i = 1; i < n; i++) /* sorted, no overlap */
		CHECK(map[i].addr >= map[i - 1].addr + map[i - 1].size);
	guest_memory_free(&m);

	CHECK_EQ(guest_memory_init(&m, 6 * GiB), 0);
	n = boot_build_e820(&m, map, 16);
	CHECK_EQ(n, 7);
	CHECK_EQ(map[3].addr + map[3].size, PCI_HOLE_START);
	CHECK_EQ(map[6].addr, HIGH_RAM_START);
	CHECK_EQ(map[6].size, 3 * GiB);
	CHECK_EQ(map[6].type, E820_RAM);
	uint64_t ram = 0;
	for (unsigned i = 0; i < n; i++)
		ram += map[i].type == E820_RAM ? map[i].size : 0;
	CHECK(ram <= 6 * GiB && ram > 6 * GiB - 2 * MiB);
	guest_memory_free(&m);
}

static void check_load(void)
{
	struct guest_memory m;
	struct boot_info info;
	char err[256];
	size_t len;
	uint8_t *k = fake_bzimage(&len);
	uint8_t initrd[10000];
	memset(initrd, 0x11, sizeof(initrd));
	CHECK_EQ(guest_memory_init(&m, 256 * MiB), 0);
	CHECK_EQ(boot_load_linux(&m, k, len, initrd, sizeof(initrd), "console=ttyS0 quiet", 0xE0000,
				 &info, err, sizeof(err)), 0);
	CHECK_EQ(info.entry, KERNEL_LOAD_ADDR + 0x200);
	CHECK_EQ(info.zero_page, BOOT_ZERO_PAGE_ADDR);
	struct boot_params bp;
	CHECK_EQ(guest_read(&m, BOOT_ZERO_PAGE_ADDR, &bp, sizeof(bp)), 0);
	CHECK_EQ(bp.hdr.type_of_loader, 0xFF);
	CHECK_EQ(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	CHECK_EQ(bp.acpi_rsdp_addr, 0xE0000);
	CHECK_EQ(bp.e820_entries, 6);
	CHECK_EQ(bp.hdr.ramdisk_size, sizeof(initrd));
	CHECK_EQ(bp.hdr.ramdisk_image % 4096, 0);
	CHECK(bp.hdr.ramdisk_image + sizeof(initrd) <= 256 * MiB);
	CHECK(bp.hdr.ramdisk_image >= KERNEL_LOAD_ADDR + 32 * MiB); /* clear of init_size */
	char cmd[32] = { 0 };
	CHECK_EQ(guest_read(&m, BOOT_CMDLINE_ADDR, cmd, 20), 0);
	CHECK(!strcmp(cmd, "console=ttyS0 quiet"));
	uint8_t first;
	CHECK_EQ(guest_read(&m, KERNEL_LOAD_ADDR, &first, 1), 0);
	CHECK_EQ(first, 0xC3);

	/* The fields the loader must write (boot.rst: ramdisk_image and ramdisk_size are zero when
	 * there is no initrd; setup_data is the loader's list) are written whatever the file holds:
	 * a header with them set, loaded without an initrd (found by fuzz_bzimage). */
	struct setup_header *h = (struct setup_header *)(k + 0x1F1);
	h->ramdisk_image = 0x01000000;
	h->ramdisk_size = 0x1000;
	h->setup_data = 0x2000;
	CHECK_EQ(boot_load_linux(&m, k, len, NULL, 0, "", 0, &info, err, sizeof(err)), 0);
	CHECK_EQ(guest_read(&m, BOOT_ZERO_PAGE_ADDR, &bp, sizeof(bp)), 0);
	CHECK_EQ(bp.hdr.ramdisk_image, 0);
	CHECK_EQ(bp.hdr.ramdisk_size, 0);
	CHECK_EQ(bp.hdr.setup_data, 0);
	CHECK_EQ(info.initrd_addr, 0);

	/* Rejected images, each with its reason. */
	h->header = 0;
	CHECK_EQ(boot_load_linux(&m, k, len, NULL, 0, "", 0, &info, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "not a bzImage") != NULL);
	h->header = 0x53726448;
	h->xloadflags = 0;
	CHECK_EQ(boot_load_linux(&m, k, len, NULL, 0, "", 0, &info, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "64-bit") != NULL);
	h->xloadflags = XLF_KERNEL_64;
	h->version = 0x0206;
	CHECK_EQ(boot_load_linux(&m, k, len, NULL, 0, "", 0, &info, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "too old") != NULL);
	h->version = 0x020F;
	CHECK_EQ(boot_load_linux(&m, k, 100, NULL, 0, "", 0, &info, err, sizeof(err)), -ENOEXEC);
	/* A command line longer than the kernel takes. */
	char *long_cmd = malloc(3000);
	memset(long_cmd, 'a', 2999);
	long_cmd[2999] = 0;
	CHECK_EQ(boot_load_linux(&m, k, len, NULL, 0, long_cmd, 0, &info, err, sizeof(err)), -E2BIG);
	free(long_cmd);
	/* An initrd that cannot fit next to the kernel. */
	size_t big = 250 * MiB;
	uint8_t *huge = calloc(1, big);
	CHECK_EQ(boot_load_linux(&m, k, len, huge, big, "", 0, &info, err, sizeof(err)), -EFBIG);
	CHECK(strstr(err, "does not fit") != NULL);
	free(huge);
	/* The same answers from the sizes alone, before a file is read: a 100 GiB initrd, and a
	 * kernel that needs more than low RAM. */
	struct boot_plan plan;
	CHECK_EQ(boot_plan(h, len, 100 * GiB, guest_low_ram_end(&m), &plan, err, sizeof(err)), -EFBIG);
	CHECK(strstr(err, "initrd (102400 MiB) does not fit below 256 MiB") != NULL);
	CHECK_EQ(boot_plan(h, len, 4096, guest_low_ram_end(&m), &plan, err, sizeof(err)), 0);
	CHECK(plan.initrd_addr >= plan.kernel_end && plan.initrd_addr + 4096 <= 256 * MiB);
	CHECK_EQ(boot_plan(h, len, 0, 16 * MiB, &plan, err, sizeof(err)), -EFBIG);
	CHECK(strstr(err, "kernel needs") != NULL);
	guest_memory_free(&m);
	free(k);
}

static void check_page_tables(void)
{
	struct guest_memory m;
	CHECK_EQ(guest_memory_init(&m, 128 * MiB), 0);
	CHECK_EQ(boot_setup_page_tables(&m), 0);
	uint64_t pml4, pdpte, pde;
	CHECK_EQ(guest_read(&m, BOOT_PML4_ADDR, &pml4, 8), 0);
	CHECK_EQ(pml4 & ~0xFFFULL, BOOT_PDPT_ADDR);
	CHECK_EQ(guest_read(&m, BOOT_PDPT_ADDR + 3 * 8, &pdpte, 8), 0);
	CHECK_EQ(pdpte & ~0xFFFULL, BOOT_PD_ADDR + 3 * 0x1000);
	/* The last 2 MiB page maps 4 GiB - 2 MiB identically. */
	CHECK_EQ(guest_read(&m, BOOT_PD_ADDR + (4 * 512 - 1) * 8, &pde, 8), 0);
	CHECK_EQ(pde & ~0xFFFULL, 4 * GiB - 2 * MiB);
	CHECK(pde & 0x80);
	guest_memory_free(&m);
}

int main(void)
{
	check_e820();
	check_load();
	check_page_tables();
	return check_report("boot");
}
