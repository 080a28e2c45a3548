/* Direct Linux boot (x86 boot protocol, Documentation/arch/x86/boot.rst): bzImage, initrd,
 * command line, zero page with the e820 map, and the 64-bit entry state. */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <asm/bootparam.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "memory.h"

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3

/* How the boot vCPU enters the kernel. */
enum boot_entry_mode {
	BOOT_ENTRY_LINUX64 = 0, /* bzImage: 64-bit mode, identity paging, RSI = zero page */
	BOOT_ENTRY_PVH32,       /* vmlinux: 32-bit protected mode, paging off, EBX = start_info (boot_pvh.h) */
};

struct boot_info {
	enum boot_entry_mode mode;
	uint64_t entry;       /* 64-bit entry point, or the PVH 32-bit one */
	uint64_t zero_page;   /* passed in RSI (LINUX64) */
	uint64_t start_info;  /* passed in EBX (PVH32) */
	uint64_t kernel_end;
	uint64_t initrd_addr, initrd_size;
	uint16_t protocol;
};

/* Builds the e820 map for a RAM layout; returns the number of entries (<= max). */
/* Writes the message into err (the loaders' one-line reasons) and returns ret. */
int boot_error(char *err, size_t errlen, int ret, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
unsigned boot_build_e820(const struct guest_memory *mem, struct boot_e820_entry *map, unsigned max);

/* Checks that the image is a bzImage this loader can boot (64-bit entry, relocatable, boot
 * protocol 2.12+); needs the first 4 KiB of the file at least. */
int boot_check_bzimage(const uint8_t *kernel, size_t kernel_len, struct setup_header *hdr,
		       char *err, size_t errlen) __must_check;

/* Where a kernel and its initrd go in low RAM. */
struct boot_plan {
	uint64_t setup_size;  /* real-mode part of the file, not loaded */
	uint64_t kernel_end;  /* KERNEL_LOAD_ADDR + what the kernel needs to decompress in place */
	uint64_t initrd_addr; /* 0 without an initrd */
};

/* What a loader's first half put into guest RAM (the kernel's and the initrd's bytes), for its
 * second half (boot_pvh_place, boot_pvh_finish). */
struct boot_placed {
	struct boot_plan plan;
	uint32_t entry;       /* the kernel's entry point */
	uint64_t initrd_size; /* 0: no initrd */
};

/* Checks, from the setup header and the file sizes alone (before either file is read), that a
 * kernel of kernel_len bytes and an initrd of initrd_len bytes (0: none) fit in low RAM ending at
 * low_ram_end: -ENOEXEC when the setup fills the file, -EFBIG when the kernel or the initrd does
 * not fit, each with a one-line reason in `err` that says what to do. */
int boot_plan(const struct setup_header *h, uint64_t kernel_len, uint64_t initrd_len, uint64_t low_ram_end,
	      struct boot_plan *plan, char *err, size_t errlen) __must_check;

/* Checks and loads a bzImage image (already read into memory), the initrd and the command line,
 * and fills the zero page. `err` receives a one-line reason on failure. */
int boot_load_linux(const struct guest_memory *mem, const uint8_t *kernel, size_t kernel_len,
		    const uint8_t *initrd, size_t initrd_len, const char *cmdline, uint64_t rsdp_gpa,
		    struct boot_info *info, char *err, size_t errlen) __must_check;

/* GDT and identity page tables for the 64-bit entry. */
int boot_setup_page_tables(const struct guest_memory *mem) __must_check;

#endif
