/* libFuzzer target for the PVH loader (vmm/boot_pvh.c): the kernel file is the input, every
 * field of it untrusted. Not guest input but the user's (--kernel), read by vmm before the guest
 * exists; a file that makes vmm read or write outside the file or guest RAM is still a bug.
 *
 * Checked, for each input:
 *   boot_pvh_parse agrees with boot_pvh_load (same verdict unless the load fails on placement or
 *   the command line), and every failure is one of the documented errors with a message;
 *   after a successful load: every segment lies in [1 MiB, end of low RAM), its file bytes are in
 *   guest RAM at p_paddr and its bss tail is zero; the entry point is inside a segment's file
 *   bytes; the initrd lies above the kernel, page aligned, inside RAM, with its bytes;
 *   hvm_start_info holds the magic, version 1, the command line, the RSDP and a memory map of
 *   boot_build_e820's entries; the registers say EIP = entry, EBX = start_info.
 *
 * Input:
 *   u8 config   bit 0: an initrd (its size: the next u16, times 16, bytes of 0x5A)
 *   [u16]       the initrd size / 16, with bit 0
 *   the rest    the kernel file */
#define _GNU_SOURCE
#include <unistd.h>

#include "../../vmm/boot_pvh.h"
#include "../../vmm/layout.h"
#include "fuzz_common.h"

#define RAM_SIZE (64ULL << 20)
#define INITRD_BYTE 0x5A

static struct guest_memory mem;
static int kernel_fd = -1, initrd_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vmm_log_level = -1;
	kernel_fd = memfd_create("fuzz-kernel", MFD_CLOEXEC);
	initrd_fd = memfd_create("fuzz-initrd", MFD_CLOEXEC);
	if (guest_memory_init(&mem, RAM_SIZE) || kernel_fd < 0 || initrd_fd < 0) {
		fprintf(stderr, "fuzz_boot_pvh: set-up failed\n");
		abort();
	}
	return 0;
}

static void file_set(int fd, const void *bytes, size_t len)
{
	if (ftruncate(fd, 0) || (len && pwrite(fd, bytes, len, 0) != (ssize_t)len)) {
		perror("fuzz_boot_pvh: memfd");
		abort();
	}
}

FUZZ_NOCOV static void check_loaded(const struct pvh_kernel *k, const uint8_t *file, size_t file_len,
				    const struct boot_info *info, uint64_t initrd_len, const char *cmdline)
{
	bool entry_in_file_bytes = false;
	for (unsigned i = 0; i < k->nsegments; i++) {
		const struct pvh_segment *s = &k->segments[i];
		FUZZ_ASSERT(s->paddr >= KERNEL_LOAD_ADDR && s->paddr + s->memsz <= guest_low_ram_end(&mem));
		FUZZ_ASSERT(s->offset <= file_len && s->filesz <= file_len - s->offset);
		const uint8_t *host = guest_ptr(&mem, s->paddr, s->memsz);
		FUZZ_ASSERT(host && !memcmp(host, file + s->offset, s->filesz));
		for (uint64_t j = s->filesz; j < s->memsz; j++)
			FUZZ_ASSERT(host[j] == 0);
		if (info->entry >= s->paddr && info->entry - s->paddr < s->filesz)
			entry_in_file_bytes = true;
	}
	FUZZ_ASSERT(entry_in_file_bytes && info->entry == k->entry);
	FUZZ_ASSERT(info->mode == BOOT_ENTRY_PVH32 && info->start_info == BOOT_PVH_START_INFO_ADDR);
	if (initrd_len) {
		FUZZ_ASSERT(info->initrd_addr % 4096 == 0 && info->initrd_addr >= k->load_end);
		const uint8_t *host = guest_ptr(&mem, info->initrd_addr, initrd_len);
		FUZZ_ASSERT(host);
		for (uint64_t j = 0; j < initrd_len; j++)
			FUZZ_ASSERT(host[j] == INITRD_BYTE);
	}
	struct hvm_start_info si;
	FUZZ_ASSERT(!guest_read(&mem, BOOT_PVH_START_INFO_ADDR, &si, sizeof(si)));
	FUZZ_ASSERT(si.magic == XEN_HVM_START_MAGIC_VALUE && si.version == 1 && si.rsdp_paddr == BIOS_AREA_START);
	FUZZ_ASSERT(si.nr_modules == (initrd_len ? 1u : 0u));
	char got[32] = { 0 };
	FUZZ_ASSERT(!guest_read(&mem, si.cmdline_paddr, got, strlen(cmdline) + 1) && !strcmp(got, cmdline));
	struct boot_e820_entry e820[16];
	FUZZ_ASSERT(si.memmap_entries == boot_build_e820(&mem, e820, 16));
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	memset(&sregs, 0, sizeof(sregs));
	boot_pvh_entry_state(info, &sregs, &regs);
	FUZZ_ASSERT(regs.rip == k->entry && regs.rbx == BOOT_PVH_START_INFO_ADDR && sregs.cr0 == 0x11);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t config = fin_u8(&in);
	uint64_t initrd_len = config & 1 ? (uint64_t)fin_u16(&in) * 16 : 0;
	static uint8_t initrd[0x10000 * 16];
	memset(initrd, INITRD_BYTE, initrd_len);
	file_set(kernel_fd, in.p, in.n);
	file_set(initrd_fd, initrd, initrd_len);
	fuzz_reset_memory(&mem);

	const char *cmdline = "console=ttyS0";
	struct pvh_kernel k;
	struct boot_info info;
	char err[256] = "";
	int parsed = boot_pvh_parse(kernel_fd, in.n, &k, err, sizeof(err));
	FUZZ_ASSERT(parsed == 0 || (parsed == -ENOEXEC && err[0]));
	/* RAM comes back zeroed: poison where each bss goes, so that a bss left as it was shows. */
	for (unsigned i = 0; !parsed && i < k.nsegments; i++) {
		const struct pvh_segment *s = &k.segments[i];
		uint8_t *bss = guest_ptr(&mem, s->paddr + s->filesz, s->memsz - s->filesz);
		if (bss)
			memset(bss, 0xA5, s->memsz - s->filesz);
	}
	err[0] = 0;
	int loaded = boot_pvh_load(&mem, kernel_fd, in.n, initrd_len ? initrd_fd : -1, initrd_len, cmdline,
				   BIOS_AREA_START, &info, err, sizeof(err));
	FUZZ_ASSERT(loaded == 0 || ((loaded == -ENOEXEC || loaded == -EFBIG) && err[0]));
	if (parsed)
		FUZZ_ASSERT(loaded == parsed); /* a file the parser refuses never reaches guest RAM */
	if (!loaded)
		check_loaded(&k, in.p, in.n, &info, initrd_len, cmdline);
	return 0;
}
