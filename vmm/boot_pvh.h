/* PVH direct boot of an uncompressed ELF vmlinux: Xen's x86/HVM direct boot ABI (xen.git
 * docs/misc/pvh.pandoc), which Linux implements in arch/x86/platform/pvh/ (CONFIG_PVH). The
 * kernel names its 32-bit entry point in an ELF note; the loader puts the PT_LOAD segments at
 * their physical addresses and enters there in 32-bit protected mode, paging off, with EBX
 * pointing at a struct hvm_start_info. */
#ifndef VMM_BOOT_PVH_H
#define VMM_BOOT_PVH_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot.h"
#include "log.h"
#include "memory.h"

/* xen.git xen/include/public/elfnote.h: the note (name "Xen") whose presence says that the
 * kernel supports this ABI; its descriptor is the 32-bit physical entry point (Linux emits it
 * as an 8-byte value on x86-64, pvh.pandoc shows a 4-byte one). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* The boot start info structure, xen.git xen/include/public/arch-x86/hvm/start_info.h, version 1.
 * Every address and size is 64-bit little endian; 0 in an address field means "not present". */
#define XEN_HVM_START_MAGIC_VALUE 0x336ec578 /* "xEn3" with the 0x80 bit of the "E" set */
#define XEN_HVM_START_INFO_VERSION 1         /* version 1 added memmap_paddr/memmap_entries */

struct hvm_start_info {
	uint32_t magic;          /*  0: XEN_HVM_START_MAGIC_VALUE */
	uint32_t version;        /*  4 */
	uint32_t flags;          /*  8: SIF_* flags (Xen's; none apply here) */
	uint32_t nr_modules;     /* 12: entries at modlist_paddr; Linux takes the first as its initrd */
	uint64_t modlist_paddr;  /* 16: struct hvm_modlist_entry[nr_modules] */
	uint64_t cmdline_paddr;  /* 24: zero-terminated ASCII */
	uint64_t rsdp_paddr;     /* 32: ACPI RSDP; Linux uses it instead of scanning for one */
	uint64_t memmap_paddr;   /* 40: struct hvm_memmap_table_entry[memmap_entries] (version >= 1) */
	uint32_t memmap_entries; /* 48: without a map, a non-Xen Linux guest stops (BUG()) */
	uint32_t reserved;       /* 52: must be zero */
};

struct hvm_modlist_entry {
	uint64_t paddr;          /*  0 */
	uint64_t size;           /*  8 */
	uint64_t cmdline_paddr;  /* 16: the module's own command line, 0 for none */
	uint64_t reserved;       /* 24 */
};

/* The types are the ACPI address range types, the same numbers as e820's. */
#define XEN_HVM_MEMMAP_TYPE_RAM      1
#define XEN_HVM_MEMMAP_TYPE_RESERVED 2
#define XEN_HVM_MEMMAP_TYPE_ACPI     3

struct hvm_memmap_table_entry {
	uint64_t addr;           /*  0 */
	uint64_t size;           /*  8 */
	uint32_t type;           /* 16: XEN_HVM_MEMMAP_TYPE_* */
	uint32_t reserved;       /* 20: must be zero */
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "start_info.h: version 1 is 56 bytes");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "start_info.h: a module entry is 32 bytes");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "start_info.h: a memmap entry is 24 bytes");

/* Limits on what vmm accepts from the file (a vmlinux has 5 program headers and 0x1f8 bytes of
 * notes): everything read from it is sized by these, whatever its header claims. */
#define PVH_MAX_PHDRS      64
#define PVH_MAX_NOTE_BYTES (64 * 1024)
/* x86's COMMAND_LINE_SIZE is 2048 with the terminating zero: Linux copies no more. */
#define PVH_CMDLINE_MAX    2047

/* One PT_LOAD segment: file bytes [offset, offset + filesz) go to guest [paddr, paddr + filesz),
 * and [paddr + filesz, paddr + memsz) is zeroed (the bss). */
struct pvh_segment {
	uint64_t offset, paddr, filesz, memsz;
};

/* What the loader takes from a vmlinux: its segments and its PVH entry point. */
struct pvh_kernel {
	uint32_t entry;          /* XEN_ELFNOTE_PHYS32_ENTRY */
	unsigned nsegments;
	struct pvh_segment segments[PVH_MAX_PHDRS];
	uint64_t load_start, load_end; /* lowest and highest guest address the segments cover */
};

/* Whether the file starts with the ELF magic (the format dispatch's question). */
bool boot_pvh_is_elf(const uint8_t *head, size_t len);

/* Reads the ELF64 header, the program headers and the PT_NOTE segments of the file open on `fd`
 * (file_size bytes; pread, never the whole file), checks every field it uses against the file's
 * size, and finds the PVH entry point. -ENOEXEC with a one-line reason in `err` for a file this
 * loader cannot boot: not an x86-64 ELF64 executable, truncated, no PVH note, a malformed note,
 * segments that overlap or an entry point outside them; -EIO/-errno when the file cannot be read. */
int boot_pvh_parse(int fd, uint64_t file_size, struct pvh_kernel *k, char *err, size_t errlen) __must_check;

/* Checks that the segments load inside low RAM (ending at low_ram_end), above the first MiB
 * (where the GDT, start_info, command line and ACPI tables go), and places an initrd of
 * initrd_len bytes (0: none) above them: -ENOEXEC for segments below 1 MiB or that cannot load
 * in low RAM, -EFBIG when the kernel or the initrd needs more RAM, with the reason in `err`. */
int boot_pvh_plan(const struct pvh_kernel *k, uint64_t initrd_len, uint64_t low_ram_end, struct boot_plan *plan,
		  char *err, size_t errlen) __must_check;

/* Loads the vmlinux open on kernel_fd (parsed and planned again here: the file is the only
 * truth), the initrd open on initrd_fd (-1: none; read straight into guest RAM as well), the
 * command line, the memory map (the e820 map of boot_build_e820) and hvm_start_info, and the
 * GDT that the entry state's selectors name. Errors as boot_pvh_parse and boot_pvh_plan, and
 * -E2BIG for a command line longer than PVH_CMDLINE_MAX. boot_pvh_place and boot_pvh_finish,
 * one after the other. */
int boot_pvh_load(const struct guest_memory *mem, int kernel_fd, uint64_t kernel_size, int initrd_fd,
		  uint64_t initrd_size, const char *cmdline, uint64_t rsdp_gpa, struct boot_info *info, char *err,
		  size_t errlen) __must_check;

/* boot_pvh_load's first half, which needs nothing but guest RAM and the files: parses and plans
 * the vmlinux, puts its segments and the initrd into RAM, and says where in `placed`. vmm runs it
 * on a thread of its own while it creates the VM and the board (vm.c, kernel_preload). */
int boot_pvh_place(const struct guest_memory *mem, int kernel_fd, uint64_t kernel_size, int initrd_fd,
		   uint64_t initrd_size, struct boot_placed *placed, char *err, size_t errlen) __must_check;

/* boot_pvh_load's second half: the command line, the memory map, hvm_start_info and the GDT,
 * for a kernel that boot_pvh_place put into RAM. */
int boot_pvh_finish(const struct guest_memory *mem, const struct boot_placed *placed, const char *cmdline,
		    uint64_t rsdp_gpa, struct boot_info *info, char *err, size_t errlen) __must_check;

/* The boot vCPU's state at the PVH entry (pvh.pandoc "domain builder"): 32-bit protected mode,
 * paging off, flat CS/DS/ES/SS, a busy 32-bit TSS, EBX = start_info, EIP = entry. `sregs` comes
 * from KVM_GET_SREGS (the fields the ABI leaves unspecified keep their reset values). */
void boot_pvh_entry_state(const struct boot_info *info, struct kvm_sregs *sregs, struct kvm_regs *regs);

#endif
