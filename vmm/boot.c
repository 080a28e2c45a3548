/* Linux x86 boot protocol loader: zero page, e820, initrd placement, early page tables. */
#include "boot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "layout.h"

#define SETUP_HEADER_OFFSET 0x1F1
#define BOOT_MAGIC_HDRS     0x53726448 /* "HdrS" */
#define BOOT_FLAG_AA55      0xAA55
#define MIN_PROTOCOL        0x020C    /* 2.12: XLF_KERNEL_64 and 64-bit entry are defined */
#define ENTRY_64_OFFSET     0x200     /* startup_64 is 512 bytes into the protected-mode code */
#define TYPE_OF_LOADER_UNDEFINED 0xFF

int boot_error(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

unsigned boot_build_e820(const struct guest_memory *mem, struct boot_e820_entry *map, unsigned max)
{
	struct boot_e820_entry e[6];
	unsigned n = 0;
	/* Conventional memory stays usable RAM: Linux puts the APs' real-mode trampoline there. */
	e[n++] = (struct boot_e820_entry){ 0, EBDA_START, E820_RAM };
	e[n++] = (struct boot_e820_entry){ BIOS_AREA_START, ACPI_TABLES_START - BIOS_AREA_START, E820_RESERVED };
	e[n++] = (struct boot_e820_entry){ ACPI_TABLES_START, ACPI_TABLES_END - ACPI_TABLES_START, E820_ACPI };
	e[n++] = (struct boot_e820_entry){ KERNEL_LOAD_ADDR, guest_low_ram_end(mem) - KERNEL_LOAD_ADDR, E820_RAM };
	/* Linux uses the MCFG's ECAM window only when the firmware reserves it. */
	e[n++] = (struct boot_e820_entry){ PCI_ECAM_BASE, PCI_ECAM_SIZE, E820_RESERVED };
	/* The VT-d register block is a chipset range: reserved whether or not --iommu puts a unit
	 * there, as firmware reserves its chipset's ranges, so that nothing else is placed on it. */
	e[n++] = (struct boot_e820_entry){ VTD_BASE, VTD_SIZE, E820_RESERVED };
	unsigned out = 0;
	for (unsigned i = 0; i < n && out < max; i++)
		map[out++] = e[i];
	if (mem->nregions > 1 && out < max)
		map[out++] = (struct boot_e820_entry){ mem->regions[1].gpa, mem->regions[1].size, E820_RAM };
	return out;
}

int boot_check_bzimage(const uint8_t *kernel, size_t kernel_len, struct setup_header *hdr,
		       char *err, size_t errlen)
{
	struct boot_params bp;
	if (kernel_len < 0x1000)
		return boot_error(err, errlen, -ENOEXEC, "not a bzImage: file is too small (%zu bytes)", kernel_len);
	memset(&bp, 0, sizeof(bp));
	/* The setup header ends at 0x202 + the byte at 0x201 (boot.rst, "Details of header fields"). */
	size_t hdr_end = 0x202 + kernel[0x201];
	if (hdr_end > sizeof(bp))
		hdr_end = sizeof(bp);
	memcpy((uint8_t *)&bp + SETUP_HEADER_OFFSET, kernel + SETUP_HEADER_OFFSET, hdr_end - SETUP_HEADER_OFFSET);
	const struct setup_header *h = &bp.hdr;
	if (h->boot_flag != BOOT_FLAG_AA55 || h->header != BOOT_MAGIC_HDRS)
		return boot_error(err, errlen, -ENOEXEC, "not a bzImage: no Linux boot header (HdrS magic)");
	if (h->version < MIN_PROTOCOL)
		return boot_error(err, errlen, -ENOEXEC, "boot protocol %u.%02u is too old (need 2.12 or later)",
			    h->version >> 8, h->version & 0xFF);
	if (!(h->xloadflags & XLF_KERNEL_64))
		return boot_error(err, errlen, -ENOEXEC, "the kernel has no 64-bit entry point (XLF_KERNEL_64)");
	if (!h->relocatable_kernel)
		return boot_error(err, errlen, -ENOEXEC, "the kernel is not relocatable");
	if (!(h->loadflags & LOADED_HIGH))
		return boot_error(err, errlen, -ENOEXEC, "not a bzImage: zImage kernels are not supported");
	*hdr = *h;
	return 0;
}

int boot_plan(const struct setup_header *h, uint64_t kernel_len, uint64_t initrd_len, uint64_t low_ram_end,
	      struct boot_plan *plan, char *err, size_t errlen)
{
	memset(plan, 0, sizeof(*plan));
	plan->setup_size = ((uint64_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
	if (plan->setup_size >= kernel_len)
		return boot_error(err, errlen, -ENOEXEC, "not a bzImage: setup (%llu bytes) fills the file",
			    (unsigned long long)plan->setup_size);
	uint64_t pm_size = kernel_len - plan->setup_size;
	/* The kernel decompresses in place and needs init_size bytes from its load address. */
	uint64_t need = h->init_size > pm_size ? h->init_size : pm_size;
	if (need > low_ram_end || KERNEL_LOAD_ADDR + need > low_ram_end)
		return boot_error(err, errlen, -EFBIG,
			    "the kernel needs %llu MiB of RAM (it decompresses in place from 1 MiB), more than the guest's %llu MiB below the PCI hole; give the guest more memory (--memory)",
			    (unsigned long long)((KERNEL_LOAD_ADDR + need + MiB - 1) >> 20),
			    (unsigned long long)(low_ram_end >> 20));
	plan->kernel_end = KERNEL_LOAD_ADDR + need;
	if (initrd_len) {
		/* Highest page-aligned spot below initrd_addr_max and the end of low RAM. */
		uint64_t limit = (uint64_t)h->initrd_addr_max + 1;
		bool ram_limits = limit >= low_ram_end;
		if (ram_limits)
			limit = low_ram_end;
		if (initrd_len > limit || ((limit - initrd_len) & ~0xFFFULL) < plan->kernel_end)
			return boot_error(err, errlen, -EFBIG, "the initrd (%llu MiB) does not fit below %llu MiB next to the kernel (%llu MiB); %s",
				    (unsigned long long)(initrd_len >> 20), (unsigned long long)(limit >> 20),
				    (unsigned long long)(plan->kernel_end >> 20),
				    ram_limits ? "give the guest more memory (--memory) or use a smaller initrd"
					       : "this kernel takes no initrd above that (initrd_addr_max): use a smaller initrd");
		plan->initrd_addr = (limit - initrd_len) & ~0xFFFULL;
	}
	return 0;
}

int boot_load_linux(const struct guest_memory *mem, const uint8_t *kernel, size_t kernel_len,
		    const uint8_t *initrd, size_t initrd_len, const char *cmdline, uint64_t rsdp_gpa,
		    struct boot_info *info, char *err, size_t errlen)
{
	struct boot_params bp;
	memset(info, 0, sizeof(*info));
	memset(&bp, 0, sizeof(bp));
	int ret = boot_check_bzimage(kernel, kernel_len, &bp.hdr, err, errlen);
	if (ret)
		return ret;
	struct setup_header *h = &bp.hdr;
	struct boot_plan plan;
	if ((ret = boot_plan(h, kernel_len, initrd ? initrd_len : 0, guest_low_ram_end(mem), &plan, err, errlen)))
		return ret;

	if (guest_write(mem, KERNEL_LOAD_ADDR, kernel + plan.setup_size, kernel_len - plan.setup_size))
		return boot_error(err, errlen, -EFAULT, "kernel does not fit in guest memory");
	info->kernel_end = plan.kernel_end;

	size_t cmdlen = strlen(cmdline);
	uint32_t cmdmax = h->cmdline_size ? h->cmdline_size : 255;
	if (cmdlen > cmdmax || cmdlen >= BOOT_CMDLINE_MAX)
		return boot_error(err, errlen, -E2BIG, "command line is %zu bytes; this kernel takes at most %u", cmdlen, cmdmax);
	if (guest_write(mem, BOOT_CMDLINE_ADDR, cmdline, cmdlen + 1))
		return boot_error(err, errlen, -EFAULT, "no room for the command line");

	/* Fields the boot loader writes (boot.rst): the file's own values are not ours to pass on.
	 * No initrd is ramdisk_image = ramdisk_size = 0; setup_data is the loader's list (none). */
	h->ramdisk_image = 0;
	h->ramdisk_size = 0;
	h->setup_data = 0;
	if (initrd && initrd_len) {
		if (guest_write(mem, plan.initrd_addr, initrd, initrd_len))
			return boot_error(err, errlen, -EFAULT, "no room for the initrd");
		h->ramdisk_image = (uint32_t)plan.initrd_addr;
		h->ramdisk_size = (uint32_t)initrd_len;
		info->initrd_addr = plan.initrd_addr;
		info->initrd_size = initrd_len;
	}

	h->type_of_loader = TYPE_OF_LOADER_UNDEFINED;
	h->loadflags |= CAN_USE_HEAP;
	h->heap_end_ptr = 0xFE00; /* as a 16-bit loader would set it; unused on the 64-bit path */
	h->cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	h->code32_start = (uint32_t)KERNEL_LOAD_ADDR;
	bp.acpi_rsdp_addr = rsdp_gpa;
	bp.e820_entries = (uint8_t)boot_build_e820(mem, bp.e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	if (guest_write(mem, BOOT_ZERO_PAGE_ADDR, &bp, sizeof(bp)))
		return boot_error(err, errlen, -EFAULT, "no room for the zero page");

	info->entry = KERNEL_LOAD_ADDR + ENTRY_64_OFFSET;
	info->zero_page = BOOT_ZERO_PAGE_ADDR;
	info->protocol = h->version;
	return 0;
}

#define PTE_PRESENT 0x1ULL
#define PTE_RW      0x2ULL
#define PTE_PS      0x80ULL

int boot_setup_page_tables(const struct guest_memory *mem)
{
	/* Flat GDT: null, null, 64-bit code (selector 0x10), data (selector 0x18). */
	const uint64_t gdt[4] = { 0, 0, 0x00AF9B000000FFFFULL, 0x00CF93000000FFFFULL };
	int ret = guest_write(mem, BOOT_GDT_ADDR, gdt, sizeof(gdt));
	/* Identity map of the first 4 GiB with 2 MiB pages: the kernel's early code builds its own
	 * tables for anything else it needs. */
	uint64_t pml4 = BOOT_PDPT_ADDR | PTE_PRESENT | PTE_RW;
	ret = ret ? ret : guest_write(mem, BOOT_PML4_ADDR, &pml4, sizeof(pml4));
	for (uint64_t i = 0; i < 4 && !ret; i++) {
		uint64_t pdpte = (BOOT_PD_ADDR + i * 0x1000) | PTE_PRESENT | PTE_RW;
		ret = guest_write(mem, BOOT_PDPT_ADDR + i * 8, &pdpte, sizeof(pdpte));
	}
	for (uint64_t i = 0; i < 4 * 512 && !ret; i++) {
		uint64_t pde = (i << 21) | PTE_PRESENT | PTE_RW | PTE_PS;
		ret = guest_write(mem, BOOT_PD_ADDR + i * 8, &pde, sizeof(pde));
	}
	return ret;
}
