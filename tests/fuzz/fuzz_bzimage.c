/* libFuzzer target for the bzImage loader (vmm/boot.c): the kernel file is the input, every field
 * of its setup header untrusted. Not guest input but the user's (--kernel), read by vmm before
 * the guest exists; a header that makes vmm read or write outside the file or guest RAM, or
 * place the kernel and the initrd on top of each other, is still a bug.
 *
 * Checked, for each input:
 *   boot_check_bzimage, boot_plan (what vm.c asks before it reads the files) and boot_load_linux
 *   agree: the load fails exactly where the check or the plan does, with the same error, or
 *   else only on a command line longer than the header allows (-E2BIG); every failure is a
 *   documented error with a message;
 *   after a load: the protected-mode code (the file after its setup sectors) is at 1 MiB with its
 *   bytes; the kernel's room (init_size) ends inside low RAM; the initrd is page aligned, above
 *   that room and below both initrd_addr_max and the end of low RAM, with its bytes; the zero
 *   page holds the header with the loader's fields (command line pointer, initrd address and
 *   size, zero without one, whatever the file said; loader type; no setup_data), the RSDP and boot_build_e820's map; the command line is in RAM; the
 *   entry is startup_64.
 *
 * Input:
 *   u8 config   bit 0: an initrd (its size: u16 x 16 bytes of 0x5A); bit 1: a long command line
 *               (u16 bytes of 'c', up to 4 KiB)
 *   [u16]       the initrd size / 16, with bit 0
 *   [u16]       the command line's length, with bit 1
 *   u32         the file's length, when longer than the bytes that follow (zeros after them),
 *               modulo 4 MiB: a header can describe a file far longer than the input
 *   the rest    the file's first bytes (seeds: a minimal 2.15 header) */
#define _GNU_SOURCE
#include "../../vmm/boot.h"
#include "../../vmm/layout.h"
#include "fuzz_common.h"

#define RAM_SIZE      (64ULL << 20)
#define FILE_MAX      (4U << 20)
#define INITRD_BYTE   0x5A
#define ENTRY_64      0x200
#define RSDP_GPA      BIOS_AREA_START

static struct guest_memory mem;
static uint8_t file[FILE_MAX];
static uint8_t initrd[0x10000 * 16];
static char cmdline[4097];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vmm_log_level = -1;
	if (guest_memory_init(&mem, RAM_SIZE)) {
		fprintf(stderr, "fuzz_bzimage: set-up failed\n");
		abort();
	}
	return 0;
}

FUZZ_NOCOV static void check_loaded(const struct setup_header *h, const struct boot_plan *plan, size_t file_len,
				    const struct boot_info *info, uint64_t initrd_len)
{
	uint64_t low_end = guest_low_ram_end(&mem);
	uint64_t pm_size = file_len - plan->setup_size;
	FUZZ_ASSERT(plan->setup_size < file_len && plan->kernel_end >= KERNEL_LOAD_ADDR + pm_size);
	FUZZ_ASSERT(plan->kernel_end <= low_end && info->kernel_end == plan->kernel_end);
	const uint8_t *code = guest_ptr(&mem, KERNEL_LOAD_ADDR, pm_size);
	FUZZ_ASSERT(code && !memcmp(code, file + plan->setup_size, pm_size));
	FUZZ_ASSERT(info->mode == BOOT_ENTRY_LINUX64 && info->entry == KERNEL_LOAD_ADDR + ENTRY_64);
	FUZZ_ASSERT(info->zero_page == BOOT_ZERO_PAGE_ADDR && info->protocol == h->version);

	struct boot_params bp;
	FUZZ_ASSERT(!guest_read(&mem, BOOT_ZERO_PAGE_ADDR, &bp, sizeof(bp)));
	FUZZ_ASSERT(bp.hdr.header == h->header && bp.hdr.version == h->version && bp.hdr.init_size == h->init_size);
	FUZZ_ASSERT(bp.hdr.cmd_line_ptr == BOOT_CMDLINE_ADDR && bp.hdr.type_of_loader == 0xFF);
	FUZZ_ASSERT(bp.hdr.code32_start == KERNEL_LOAD_ADDR && (bp.hdr.loadflags & CAN_USE_HEAP));
	FUZZ_ASSERT(bp.acpi_rsdp_addr == RSDP_GPA && bp.hdr.setup_data == 0);
	struct boot_e820_entry e820[E820_MAX_ENTRIES_ZEROPAGE];
	unsigned n = boot_build_e820(&mem, e820, E820_MAX_ENTRIES_ZEROPAGE);
	FUZZ_ASSERT(bp.e820_entries == n && !memcmp(bp.e820_table, e820, n * sizeof(e820[0])));

	size_t cmdlen = strlen(cmdline);
	const char *c = guest_ptr(&mem, BOOT_CMDLINE_ADDR, cmdlen + 1);
	FUZZ_ASSERT(c && !memcmp(c, cmdline, cmdlen + 1));
	/* The fixed pages below 1 MiB stay clear of the kernel. */
	FUZZ_ASSERT(BOOT_CMDLINE_ADDR + cmdlen + 1 <= KERNEL_LOAD_ADDR);

	if (initrd_len) {
		uint64_t limit = (uint64_t)h->initrd_addr_max + 1;
		FUZZ_ASSERT(info->initrd_addr == plan->initrd_addr && info->initrd_size == initrd_len);
		FUZZ_ASSERT(info->initrd_addr % 4096 == 0 && info->initrd_addr >= plan->kernel_end);
		FUZZ_ASSERT(info->initrd_addr + initrd_len <= low_end && info->initrd_addr + initrd_len <= limit);
		FUZZ_ASSERT(bp.hdr.ramdisk_image == info->initrd_addr && bp.hdr.ramdisk_size == initrd_len);
		const uint8_t *host = guest_ptr(&mem, info->initrd_addr, initrd_len);
		FUZZ_ASSERT(host);
		for (uint64_t j = 0; j < initrd_len; j++)
			FUZZ_ASSERT(host[j] == INITRD_BYTE);
	} else {
		FUZZ_ASSERT(!info->initrd_addr && !info->initrd_size && !bp.hdr.ramdisk_image && !bp.hdr.ramdisk_size);
	}
}

static bool documented(int ret)
{
	return ret == -ENOEXEC || ret == -EFBIG || ret == -E2BIG;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t config = fin_u8(&in);
	uint64_t initrd_len = config & 1 ? (uint64_t)fin_u16(&in) * 16 : 0;
	size_t cmdlen = config & 2 ? fin_u16(&in) % sizeof(cmdline) : 0;
	size_t file_len = fin_u32(&in) % FILE_MAX;
	size_t bytes = in.n < FILE_MAX ? in.n : FILE_MAX;
	if (file_len < bytes)
		file_len = bytes;
	memcpy(file, in.p, bytes);
	memset(file + bytes, 0, file_len - bytes);
	memset(initrd, INITRD_BYTE, initrd_len);
	if (cmdlen) {
		memset(cmdline, 'c', cmdlen);
		cmdline[cmdlen] = 0;
	} else {
		snprintf(cmdline, sizeof(cmdline), "console=ttyS0");
	}
	fuzz_reset_memory(&mem);

	char err[512] = "";
	struct setup_header h;
	int checked = boot_check_bzimage(file, file_len, &h, err, sizeof(err));
	FUZZ_ASSERT(checked == 0 || (checked == -ENOEXEC && err[0]));
	struct boot_plan plan;
	int planned = checked;
	if (!checked) {
		err[0] = 0;
		planned = boot_plan(&h, file_len, initrd_len, guest_low_ram_end(&mem), &plan, err, sizeof(err));
		FUZZ_ASSERT(planned == 0 || ((planned == -ENOEXEC || planned == -EFBIG) && err[0]));
	}

	struct boot_info info;
	err[0] = 0;
	int loaded = boot_load_linux(&mem, file, file_len, initrd_len ? initrd : NULL, initrd_len, cmdline, RSDP_GPA,
				     &info, err, sizeof(err));
	FUZZ_ASSERT(loaded == 0 || (documented(loaded) && err[0]));
	if (planned) {
		FUZZ_ASSERT(loaded == planned); /* a file the checks refuse never reaches guest RAM */
		return 0;
	}
	uint32_t cmdmax = h.cmdline_size ? h.cmdline_size : 255;
	FUZZ_ASSERT(loaded == (strlen(cmdline) > cmdmax ? -E2BIG : 0));
	if (!loaded)
		check_loaded(&h, &plan, file_len, &info, initrd_len);
	return 0;
}
