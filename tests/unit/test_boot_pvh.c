/* The PVH loader (vmm/boot_pvh.c) on small synthetic ELF files in memfds: the entry note, the
 * segments in guest RAM with their bss, hvm_start_info read back byte by byte at the offsets of
 * xen.git start_info.h, the entry registers, and the files it must refuse.
 *   usage: test_boot_pvh            the synthetic files
 *          test_boot_pvh VMLINUX    the real vmlinux that guest/ unpacks (status 77, "skipped",
 *                                   when it is not there) */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vmm/boot_pvh.h"
#include "../../vmm/layout.h"
#include "check.h"

#define EXIT_SKIP 77 /* meson's "skipped" */

/* The synthetic vmlinux: two PT_LOAD segments (code at 16 MiB, data at 18 MiB with a bss tail)
 * and a PT_NOTE segment with other notes before the PVH one. */
#define CODE_PADDR   0x1000000ULL
#define CODE_OFFSET  0x1000
#define CODE_SIZE    0x3000
#define DATA_PADDR   0x1200000ULL
#define DATA_OFFSET  0x4000
#define DATA_FILESZ  0x800
#define DATA_MEMSZ   0x2000
#define NOTE_OFFSET  0x200
#define ENTRY        0x1000100U
#define FILE_SIZE    (DATA_OFFSET + DATA_FILESZ)
#define PH_CODE 0
#define PH_DATA 1
#define PH_NOTE 2

struct test_elf {
	uint8_t bytes[FILE_SIZE];
	size_t len;          /* what goes into the file */
	size_t note_len;     /* bytes of notes written at NOTE_OFFSET */
};

static Elf64_Ehdr *ehdr(struct test_elf *t) { return (Elf64_Ehdr *)t->bytes; }
static Elf64_Phdr *phdr(struct test_elf *t, unsigned i) { return (Elf64_Phdr *)(t->bytes + sizeof(Elf64_Ehdr)) + i; }

/* Appends one note and grows the note segment to hold it (gABI: header, name, descriptor; the
 * descriptor and the next note start at `align` boundaries from the note's start). */
static void add_note_aligned(struct test_elf *t, uint32_t align, uint32_t namesz, const char *name, uint32_t type,
			     const void *desc, uint32_t descsz)
{
	uint8_t *p = t->bytes + NOTE_OFFSET + t->note_len;
	Elf64_Nhdr nh = { .n_namesz = namesz, .n_descsz = descsz, .n_type = type };
	uint32_t desc_off = (sizeof(nh) + namesz + align - 1) & ~(align - 1);
	memcpy(p, &nh, sizeof(nh));
	memcpy(p + sizeof(nh), name, namesz);
	memcpy(p + desc_off, desc, descsz);
	t->note_len += (desc_off + descsz + align - 1) & ~(align - 1);
	phdr(t, PH_NOTE)->p_filesz = phdr(t, PH_NOTE)->p_memsz = t->note_len;
}

static void add_note(struct test_elf *t, uint32_t namesz, const char *name, uint32_t type, const void *desc,
		     uint32_t descsz)
{
	add_note_aligned(t, 4, namesz, name, type, desc, descsz);
}

static void add_pvh_note(struct test_elf *t, uint64_t entry, uint32_t descsz)
{
	add_note(t, 4, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry, descsz);
}

/* The file without its PVH note: tests add the note they need. */
static void build_elf_without_note(struct test_elf *t)
{
	memset(t, 0, sizeof(*t));
	t->len = FILE_SIZE;
	Elf64_Ehdr *e = ehdr(t);
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_VERSION] = EV_CURRENT;
	e->e_type = ET_EXEC;
	e->e_machine = EM_X86_64;
	e->e_version = EV_CURRENT;
	e->e_entry = CODE_PADDR;
	e->e_phoff = sizeof(Elf64_Ehdr);
	e->e_ehsize = sizeof(Elf64_Ehdr);
	e->e_phentsize = sizeof(Elf64_Phdr);
	e->e_phnum = 3;
	*phdr(t, PH_CODE) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = CODE_OFFSET,
					  .p_vaddr = 0xffffffff81000000ULL, .p_paddr = CODE_PADDR,
					  .p_filesz = CODE_SIZE, .p_memsz = CODE_SIZE, .p_align = 0x1000 };
	*phdr(t, PH_DATA) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = DATA_OFFSET,
					  .p_vaddr = 0xffffffff81200000ULL, .p_paddr = DATA_PADDR,
					  .p_filesz = DATA_FILESZ, .p_memsz = DATA_MEMSZ, .p_align = 0x1000 };
	*phdr(t, PH_NOTE) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFFSET, .p_align = 4 };
	for (unsigned i = 0; i < CODE_SIZE; i++)
		t->bytes[CODE_OFFSET + i] = (uint8_t)(i * 7 + 1);
	for (unsigned i = 0; i < DATA_FILESZ; i++)
		t->bytes[DATA_OFFSET + i] = (uint8_t)(i * 13 + 5);
	/* Notes a vmlinux has before the PVH one: Xen's guest OS name, a GNU build id. */
	add_note(t, 4, "Xen", 6 /* XEN_ELFNOTE_GUEST_OS */, "linux", 6);
	add_note(t, 4, "GNU", NT_GNU_BUILD_ID, "0123456789abcdefghij", 20);
}

static void build_elf(struct test_elf *t)
{
	build_elf_without_note(t);
	add_pvh_note(t, ENTRY, 8); /* as Linux emits it on x86-64 (_ASM_PTR) */
}

static int memfd_with(const void *bytes, size_t len)
{
	int fd = memfd_create("test-file", MFD_CLOEXEC);
	if (fd < 0 || write(fd, bytes, len) != (ssize_t)len) {
		perror("memfd");
		exit(1);
	}
	return fd;
}

/* boot_pvh_parse on the file; on failure `err` holds the reason. */
static int parse(struct test_elf *t, struct pvh_kernel *k, char *err, size_t errlen)
{
	int fd = memfd_with(t->bytes, t->len);
	err[0] = 0;
	int ret = boot_pvh_parse(fd, t->len, k, err, errlen);
	close(fd);
	return ret;
}

/* Expects the file to be refused with `want` and a reason containing `reason`. */
#define CHECK_REFUSED(t, want, reason)                                                          \
	do {                                                                                    \
		struct pvh_kernel k_;                                                           \
		char e_[256];                                                                   \
		CHECK_EQ(parse(t, &k_, e_, sizeof(e_)), want);                                  \
		if (!strstr(e_, reason))                                                        \
			fprintf(stderr, "  reason was: %s\n", e_);                              \
		CHECK(strstr(e_, reason) != NULL);                                              \
	} while (0)

static void check_note(void)
{
	struct test_elf t;
	struct pvh_kernel k;
	char err[256];

	build_elf(&t);
	CHECK_EQ(parse(&t, &k, err, sizeof(err)), 0);
	CHECK_EQ(k.entry, ENTRY);
	CHECK_EQ(k.nsegments, 2);
	CHECK_EQ(k.load_start, CODE_PADDR);
	CHECK_EQ(k.load_end, DATA_PADDR + DATA_MEMSZ);
	CHECK_EQ(k.segments[1].offset, DATA_OFFSET);
	CHECK_EQ(k.segments[1].filesz, DATA_FILESZ);

	/* A 4-byte descriptor, as pvh.pandoc shows it. */
	build_elf_without_note(&t);
	add_pvh_note(&t, ENTRY + 4, 4);
	CHECK_EQ(parse(&t, &k, err, sizeof(err)), 0);
	CHECK_EQ(k.entry, ENTRY + 4);

	/* An 8-byte aligned note segment (as GNU property notes are): a 5-byte name puts the
	 * descriptor at 24, not at 20 as 4-byte padding would. */
	build_elf_without_note(&t);
	t.note_len = 0;
	phdr(&t, PH_NOTE)->p_align = 8;
	add_note_aligned(&t, 8, 5, "Linux", 0x100, "abcd", 4);
	add_note_aligned(&t, 8, 4, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &(uint64_t){ ENTRY + 12 }, 8);
	CHECK_EQ(t.note_len, 32 + 24);
	CHECK_EQ(parse(&t, &k, err, sizeof(err)), 0);
	CHECK_EQ(k.entry, ENTRY + 12);

	/* Missing; with the wrong owner name; without the name's terminating zero; another type. */
	build_elf_without_note(&t);
	CHECK_REFUSED(&t, -ENOEXEC, "no PVH entry point");
	add_note(&t, 4, "Xem", XEN_ELFNOTE_PHYS32_ENTRY, &(uint64_t){ ENTRY }, 8);
	CHECK_REFUSED(&t, -ENOEXEC, "no PVH entry point");
	add_note(&t, 3, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &(uint64_t){ ENTRY }, 8);
	CHECK_REFUSED(&t, -ENOEXEC, "no PVH entry point");
	add_note(&t, 4, "Xen", XEN_ELFNOTE_PHYS32_ENTRY + 1, &(uint64_t){ ENTRY }, 8);
	CHECK_REFUSED(&t, -ENOEXEC, "no PVH entry point");
	/* No PT_NOTE segment at all. */
	build_elf(&t);
	phdr(&t, PH_NOTE)->p_type = PT_NULL;
	CHECK_REFUSED(&t, -ENOEXEC, "no PVH entry point");

	/* Bad sizes: a descriptor that is not 4 or 8 bytes; a name or descriptor that runs past the
	 * segment (also one whose size would wrap a 32-bit sum); a header cut by the segment. */
	build_elf_without_note(&t);
	add_pvh_note(&t, ENTRY, 2);
	CHECK_REFUSED(&t, -ENOEXEC, "2-byte descriptor");
	build_elf(&t);
	((Elf64_Nhdr *)(t.bytes + NOTE_OFFSET))->n_namesz = 0x1000;
	CHECK_REFUSED(&t, -ENOEXEC, "malformed ELF note at byte 0");
	build_elf(&t);
	((Elf64_Nhdr *)(t.bytes + NOTE_OFFSET))->n_descsz = 0xFFFFFFFF;
	CHECK_REFUSED(&t, -ENOEXEC, "malformed ELF note at byte 0");
	build_elf(&t);
	phdr(&t, PH_NOTE)->p_filesz = t.note_len - 4; /* the PVH note's descriptor cut */
	CHECK_REFUSED(&t, -ENOEXEC, "malformed ELF note");
	build_elf(&t);
	phdr(&t, PH_NOTE)->p_filesz = 5;
	CHECK_REFUSED(&t, -ENOEXEC, "its header runs past the segment");
	build_elf(&t);
	phdr(&t, PH_NOTE)->p_filesz = PVH_MAX_NOTE_BYTES + 4;
	t.len = FILE_SIZE;
	CHECK_REFUSED(&t, -ENOEXEC, "truncated ELF: note segment 2");

	/* Misaligned: the notes must start on a 4-byte boundary (gABI). */
	build_elf(&t);
	memmove(t.bytes + NOTE_OFFSET + 2, t.bytes + NOTE_OFFSET, t.note_len);
	phdr(&t, PH_NOTE)->p_offset = NOTE_OFFSET + 2;
	CHECK_REFUSED(&t, -ENOEXEC, "not 4-byte aligned");

	/* An entry above 4 GiB, and one outside the loaded bytes (in the bss, and nowhere). */
	build_elf_without_note(&t);
	add_pvh_note(&t, 0x100000000ULL | ENTRY, 8);
	CHECK_REFUSED(&t, -ENOEXEC, "above 4 GiB");
	build_elf_without_note(&t);
	add_pvh_note(&t, DATA_PADDR + DATA_FILESZ, 8);
	CHECK_REFUSED(&t, -ENOEXEC, "outside the kernel's loaded segments");
	build_elf_without_note(&t);
	add_pvh_note(&t, 0x500000, 4);
	CHECK_REFUSED(&t, -ENOEXEC, "outside the kernel's loaded segments");
	/* The first PVH note counts. */
	build_elf(&t);
	add_pvh_note(&t, ENTRY + 8, 8);
	CHECK_EQ(parse(&t, &k, err, sizeof(err)), 0);
	CHECK_EQ(k.entry, ENTRY);
}

static void check_bad_files(void)
{
	struct test_elf t;
	char err[256];
	struct pvh_kernel k;

	build_elf(&t);
	ehdr(&t)->e_ident[EI_CLASS] = ELFCLASS32;
	CHECK_REFUSED(&t, -ENOEXEC, "a 32-bit ELF (ELFCLASS32)");
	build_elf(&t);
	ehdr(&t)->e_ident[EI_CLASS] = 7;
	CHECK_REFUSED(&t, -ENOEXEC, "not ELF64");
	build_elf(&t);
	ehdr(&t)->e_ident[EI_DATA] = ELFDATA2MSB;
	CHECK_REFUSED(&t, -ENOEXEC, "big-endian");
	build_elf(&t);
	ehdr(&t)->e_machine = EM_AARCH64;
	CHECK_REFUSED(&t, -ENOEXEC, "not x86-64");
	build_elf(&t);
	ehdr(&t)->e_machine = EM_386;
	CHECK_REFUSED(&t, -ENOEXEC, "not x86-64");
	build_elf(&t);
	ehdr(&t)->e_type = ET_DYN;
	CHECK_REFUSED(&t, -ENOEXEC, "not an executable");
	build_elf(&t);
	ehdr(&t)->e_phentsize = 32;
	CHECK_REFUSED(&t, -ENOEXEC, "program header size 32");
	build_elf(&t);
	ehdr(&t)->e_phnum = 0;
	CHECK_REFUSED(&t, -ENOEXEC, "no program headers");
	build_elf(&t);
	ehdr(&t)->e_phnum = 0xFFFF; /* PN_XNUM */
	CHECK_REFUSED(&t, -ENOEXEC, "more than vmm takes");

	/* Truncated: inside the identification, inside the header, the program headers, a
	 * segment's file bytes; program headers whose offset would wrap. */
	build_elf(&t);
	t.len = 10;
	CHECK_REFUSED(&t, -ENOEXEC, "shorter than the ELF identification");
	t.len = 40;
	CHECK_REFUSED(&t, -ENOEXEC, "shorter than the ELF64 header");
	t.len = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
	CHECK_REFUSED(&t, -ENOEXEC, "truncated ELF: 3 program headers");
	build_elf(&t);
	ehdr(&t)->e_phoff = UINT64_MAX - 8;
	CHECK_REFUSED(&t, -ENOEXEC, "truncated ELF: 3 program headers");
	build_elf(&t);
	t.len = FILE_SIZE - 1;
	CHECK_REFUSED(&t, -ENOEXEC, "truncated ELF: segment 1");
	build_elf(&t);
	phdr(&t, PH_CODE)->p_offset = UINT64_MAX - 0x100;
	CHECK_REFUSED(&t, -ENOEXEC, "truncated ELF: segment 0");
	build_elf(&t);
	t.len = NOTE_OFFSET + 8;
	CHECK_REFUSED(&t, -ENOEXEC, "truncated ELF: segment 0");
	build_elf(&t);
	phdr(&t, PH_NOTE)->p_offset = FILE_SIZE - 4;
	CHECK_REFUSED(&t, -ENOEXEC, "truncated ELF: note segment 2");

	/* Segments: more file bytes than memory, an end that wraps, two that overlap, none. */
	build_elf(&t);
	phdr(&t, PH_DATA)->p_memsz = DATA_FILESZ - 1;
	CHECK_REFUSED(&t, -ENOEXEC, "more file bytes");
	build_elf(&t);
	phdr(&t, PH_DATA)->p_paddr = UINT64_MAX - 0x100;
	CHECK_REFUSED(&t, -ENOEXEC, "wraps around");
	build_elf(&t);
	phdr(&t, PH_DATA)->p_paddr = CODE_PADDR + CODE_SIZE - 0x10;
	CHECK_REFUSED(&t, -ENOEXEC, "segments overlap");
	build_elf(&t);
	phdr(&t, PH_CODE)->p_type = PT_NULL;
	phdr(&t, PH_DATA)->p_type = PT_NULL;
	CHECK_REFUSED(&t, -ENOEXEC, "no loadable (PT_LOAD) segment");

	/* Placement (boot_pvh_plan): segments below 1 MiB, beyond RAM, beyond 3 GiB; an initrd
	 * that does not fit above the kernel. */
	struct boot_plan plan;
	build_elf(&t);
	CHECK_EQ(parse(&t, &k, err, sizeof(err)), 0);
	CHECK_EQ(boot_pvh_plan(&k, 0, 64 * MiB, &plan, err, sizeof(err)), 0);
	CHECK_EQ(plan.kernel_end, DATA_PADDR + DATA_MEMSZ);
	CHECK_EQ(plan.initrd_addr, 0);
	CHECK_EQ(boot_pvh_plan(&k, 10000, 64 * MiB, &plan, err, sizeof(err)), 0);
	CHECK_EQ(plan.initrd_addr, (64 * MiB - 10000) & ~0xFFFULL);
	CHECK_EQ(boot_pvh_plan(&k, 0, 18 * MiB, &plan, err, sizeof(err)), -EFBIG);
	CHECK(strstr(err, "the kernel needs 19 MiB of RAM") && strstr(err, "give the guest more memory"));
	CHECK_EQ(boot_pvh_plan(&k, 60 * MiB, 64 * MiB, &plan, err, sizeof(err)), -EFBIG);
	CHECK(strstr(err, "the initrd (60 MiB) does not fit below 64 MiB next to the kernel (19 MiB)") != NULL);
	CHECK_EQ(boot_pvh_plan(&k, 100 * GiB, 64 * MiB, &plan, err, sizeof(err)), -EFBIG);
	build_elf_without_note(&t);
	phdr(&t, PH_DATA)->p_paddr = 0x90000; /* where the EBDA and boot data are */
	add_pvh_note(&t, ENTRY, 8);
	CHECK_EQ(parse(&t, &k, err, sizeof(err)), 0);
	CHECK_EQ(boot_pvh_plan(&k, 0, 512 * MiB, &plan, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "below 1 MiB") != NULL);
	build_elf(&t);
	phdr(&t, PH_DATA)->p_paddr = PCI_HOLE_START - 0x1000;
	CHECK_EQ(parse(&t, &k, err, sizeof(err)), 0);
	CHECK_EQ(boot_pvh_plan(&k, 0, PCI_HOLE_START, &plan, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "outside the RAM below 3 GiB") != NULL);

	CHECK(boot_pvh_is_elf((const uint8_t *)"\177ELF\002", 5));
	CHECK(!boot_pvh_is_elf((const uint8_t *)"\177EL", 3));
	CHECK(!boot_pvh_is_elf((const uint8_t *)"MZ\0\0", 4));
}

static uint32_t rd32(const struct guest_memory *m, uint64_t gpa)
{
	uint32_t v = 0;
	CHECK_EQ(guest_read(m, gpa, &v, sizeof(v)), 0);
	return v;
}

static uint64_t rd64(const struct guest_memory *m, uint64_t gpa)
{
	uint64_t v = 0;
	CHECK_EQ(guest_read(m, gpa, &v, sizeof(v)), 0);
	return v;
}

/* Whether any page of [gpa, gpa + len) of RAM is resident in the host: guest_zero gives whole
 * huge pages back instead of writing them. */
static bool resident(const struct guest_memory *m, uint64_t gpa, uint64_t len)
{
	unsigned char vec[1024];
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *p = guest_ptr(m, gpa, len);
	bool fits = p && (uintptr_t)p % (uintptr_t)page == 0 && len / (uint64_t)page <= sizeof(vec);
	CHECK(fits);
	if (!fits || mincore(p, len, vec))
		return true;
	for (uint64_t i = 0; i < len / (uint64_t)page; i++)
		if (vec[i] & 1)
			return true;
	return false;
}

/* How many of the `len` bytes at p are not zero. */
static uint64_t nonzero_in(const uint8_t *p, uint64_t len)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < len; i++)
		n += p[i] != 0;
	return n;
}

/* The same for [gpa, gpa + len) of RAM. */
static uint64_t nonzero_bytes(const struct guest_memory *m, uint64_t gpa, uint64_t len)
{
	const uint8_t *p = guest_ptr(m, gpa, len);
	return p ? nonzero_in(p, len) : len;
}

/* Loads the synthetic kernel and reads everything back from guest RAM as the guest would: the
 * structures by their offsets in start_info.h, not through vmm's own struct definitions. */
static void check_load_and_start_info(void)
{
	struct test_elf t;
	struct guest_memory m;
	struct boot_info info;
	char err[256];
	const char *cmdline = "console=ttyS0 pvh";
	uint8_t initrd[10000];
	memset(initrd, 0x11, sizeof(initrd));

	/* The layout, against the comment table of start_info.h. */
	CHECK_EQ(offsetof(struct hvm_start_info, magic), 0);
	CHECK_EQ(offsetof(struct hvm_start_info, version), 4);
	CHECK_EQ(offsetof(struct hvm_start_info, flags), 8);
	CHECK_EQ(offsetof(struct hvm_start_info, nr_modules), 12);
	CHECK_EQ(offsetof(struct hvm_start_info, modlist_paddr), 16);
	CHECK_EQ(offsetof(struct hvm_start_info, cmdline_paddr), 24);
	CHECK_EQ(offsetof(struct hvm_start_info, rsdp_paddr), 32);
	CHECK_EQ(offsetof(struct hvm_start_info, memmap_paddr), 40);
	CHECK_EQ(offsetof(struct hvm_start_info, memmap_entries), 48);
	CHECK_EQ(offsetof(struct hvm_start_info, reserved), 52);
	CHECK_EQ(sizeof(struct hvm_start_info), 56);
	CHECK_EQ(offsetof(struct hvm_modlist_entry, size), 8);
	CHECK_EQ(offsetof(struct hvm_modlist_entry, cmdline_paddr), 16);
	CHECK_EQ(sizeof(struct hvm_modlist_entry), 32);
	CHECK_EQ(offsetof(struct hvm_memmap_table_entry, size), 8);
	CHECK_EQ(offsetof(struct hvm_memmap_table_entry, type), 16);
	CHECK_EQ(sizeof(struct hvm_memmap_table_entry), 24);

	build_elf(&t);
	int kfd = memfd_with(t.bytes, t.len), ifd = memfd_with(initrd, sizeof(initrd));
	CHECK_EQ(guest_memory_init(&m, 256 * MiB), 0);
	/* What was in RAM before: the bss must be zeroed, nothing past it touched. */
	memset(guest_ptr(&m, DATA_PADDR, 2 * DATA_MEMSZ), 0xAA, 2 * DATA_MEMSZ);
	CHECK_EQ(boot_pvh_load(&m, kfd, t.len, ifd, sizeof(initrd), cmdline, BIOS_AREA_START, &info, err, sizeof(err)), 0);

	/* Segments at their physical addresses, bss zero, the byte after it untouched. */
	CHECK(!memcmp(guest_ptr(&m, CODE_PADDR, CODE_SIZE), t.bytes + CODE_OFFSET, CODE_SIZE));
	CHECK(!memcmp(guest_ptr(&m, DATA_PADDR, DATA_FILESZ), t.bytes + DATA_OFFSET, DATA_FILESZ));
	CHECK_EQ(nonzero_bytes(&m, DATA_PADDR + DATA_FILESZ, DATA_MEMSZ - DATA_FILESZ), 0);
	CHECK_EQ(*(const uint8_t *)guest_ptr(&m, DATA_PADDR + DATA_MEMSZ, 1), 0xAA);
	CHECK_EQ(*(const uint8_t *)guest_ptr(&m, CODE_PADDR - 1, 1), 0); /* nothing below either */

	CHECK_EQ(info.mode, BOOT_ENTRY_PVH32);
	CHECK_EQ(info.entry, ENTRY);
	CHECK_EQ(info.start_info, BOOT_PVH_START_INFO_ADDR);
	CHECK_EQ(info.initrd_size, sizeof(initrd));

	/* hvm_start_info, field by field at the specification's offsets. */
	uint64_t si = info.start_info;
	CHECK_EQ(rd32(&m, si + 0), 0x336ec578);
	CHECK_EQ(rd32(&m, si + 4), 1);
	CHECK_EQ(rd32(&m, si + 8), 0);
	CHECK_EQ(rd32(&m, si + 12), 1);
	uint64_t modlist = rd64(&m, si + 16), cmd = rd64(&m, si + 24), memmap = rd64(&m, si + 40);
	CHECK_EQ(rd64(&m, si + 32), BIOS_AREA_START); /* our RSDP */
	unsigned entries = rd32(&m, si + 48);
	CHECK_EQ(rd32(&m, si + 52), 0);
	char got[64] = { 0 };
	CHECK_EQ(guest_read(&m, cmd, got, strlen(cmdline) + 1), 0);
	CHECK(!strcmp(got, cmdline));

	/* The module entry: the initrd, page aligned, above the kernel, inside RAM, with its bytes. */
	uint64_t initrd_at = rd64(&m, modlist + 0);
	CHECK_EQ(rd64(&m, modlist + 8), sizeof(initrd));
	CHECK_EQ(rd64(&m, modlist + 16), 0);
	CHECK_EQ(rd64(&m, modlist + 24), 0);
	CHECK_EQ(initrd_at, info.initrd_addr);
	CHECK_EQ(initrd_at % 4096, 0);
	CHECK(initrd_at >= DATA_PADDR + DATA_MEMSZ && initrd_at + sizeof(initrd) <= 256 * MiB);
	CHECK(guest_ptr(&m, initrd_at, sizeof(initrd)) && !memcmp(guest_ptr(&m, initrd_at, sizeof(initrd)), initrd, sizeof(initrd)));

	/* The memory map is the bzImage path's e820 map, 24 bytes an entry. */
	struct boot_e820_entry e820[16];
	unsigned n = boot_build_e820(&m, e820, 16);
	CHECK_EQ(entries, n);
	CHECK_EQ(n, 6);
	for (unsigned i = 0; i < n && i < entries; i++) {
		CHECK_EQ(rd64(&m, memmap + i * 24 + 0), e820[i].addr);
		CHECK_EQ(rd64(&m, memmap + i * 24 + 8), e820[i].size);
		CHECK_EQ(rd32(&m, memmap + i * 24 + 16), e820[i].type);
		CHECK_EQ(rd32(&m, memmap + i * 24 + 20), 0);
	}
	/* The boot data sits in RAM below 1 MiB, clear of the ACPI tables and of each other. */
	CHECK(si + 56 <= modlist && modlist + 32 <= memmap && memmap + entries * 24 <= BOOT_PVH_INFO_END);
	CHECK(BOOT_PVH_INFO_END <= BOOT_CMDLINE_ADDR && BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX <= EBDA_START);

	/* The GDT the selectors name: flat 32-bit code (0x10), data (0x18), busy 32-bit TSS (0x20). */
	CHECK_EQ(rd64(&m, BOOT_GDT_ADDR + 0x10), 0x00CF9B000000FFFFULL);
	CHECK_EQ(rd64(&m, BOOT_GDT_ADDR + 0x18), 0x00CF93000000FFFFULL);
	CHECK_EQ(rd64(&m, BOOT_GDT_ADDR + 0x20), 0x00008B0000000067ULL);

	/* The same load in its two halves (vm.c runs the first on a thread of its own while it
	 * creates the VM): the same boot_info, and the same bytes from 0 to the end of the bss and
	 * in the initrd. */
	struct guest_memory m2;
	struct boot_placed placed;
	struct boot_info info2;
	CHECK_EQ(guest_memory_init(&m2, 256 * MiB), 0);
	CHECK_EQ(boot_pvh_place(&m2, kfd, t.len, ifd, sizeof(initrd), &placed, err, sizeof(err)), 0);
	CHECK_EQ(placed.entry, ENTRY);
	CHECK_EQ(placed.initrd_size, sizeof(initrd));
	CHECK_EQ(placed.plan.initrd_addr, info.initrd_addr);
	CHECK_EQ(boot_pvh_finish(&m2, &placed, cmdline, BIOS_AREA_START, &info2, err, sizeof(err)), 0);
	CHECK(!memcmp(&info, &info2, sizeof(info)));
	CHECK(!memcmp(guest_ptr(&m, 0, DATA_PADDR + DATA_MEMSZ), guest_ptr(&m2, 0, DATA_PADDR + DATA_MEMSZ),
		      DATA_PADDR + DATA_MEMSZ));
	CHECK(!memcmp(guest_ptr(&m, info.initrd_addr, sizeof(initrd)), guest_ptr(&m2, info.initrd_addr, sizeof(initrd)),
		      sizeof(initrd)));
	/* The second half checks the command line too. */
	char *long_line = malloc(PVH_CMDLINE_MAX + 2);
	memset(long_line, 'a', PVH_CMDLINE_MAX + 1);
	long_line[PVH_CMDLINE_MAX + 1] = 0;
	CHECK_EQ(boot_pvh_finish(&m2, &placed, long_line, BIOS_AREA_START, &info2, err, sizeof(err)), -E2BIG);
	free(long_line);
	guest_memory_free(&m2);

	/* Without an initrd: no module. A command line longer than Linux copies. */
	CHECK_EQ(boot_pvh_load(&m, kfd, t.len, -1, 0, "", BIOS_AREA_START, &info, err, sizeof(err)), 0);
	CHECK_EQ(rd32(&m, si + 12), 0);
	CHECK_EQ(rd64(&m, si + 16), 0);
	CHECK_EQ(info.initrd_addr, 0);
	char *long_cmd = malloc(PVH_CMDLINE_MAX + 2);
	memset(long_cmd, 'a', PVH_CMDLINE_MAX + 1);
	long_cmd[PVH_CMDLINE_MAX + 1] = 0;
	CHECK_EQ(boot_pvh_load(&m, kfd, t.len, -1, 0, long_cmd, BIOS_AREA_START, &info, err, sizeof(err)), -E2BIG);
	long_cmd[PVH_CMDLINE_MAX] = 0;
	CHECK_EQ(boot_pvh_load(&m, kfd, t.len, -1, 0, long_cmd, BIOS_AREA_START, &info, err, sizeof(err)), 0);
	free(long_cmd);
	/* A file shorter than when it was checked (its size as vmm saw it is larger): a read error. */
	build_elf(&t);
	phdr(&t, PH_DATA)->p_filesz = DATA_FILESZ + 0x100;
	close(kfd);
	kfd = memfd_with(t.bytes, t.len);
	CHECK_EQ(boot_pvh_load(&m, kfd, t.len + 4096, -1, 0, "", BIOS_AREA_START, &info, err, sizeof(err)), -EIO);
	CHECK(strstr(err, "became shorter") != NULL);
	guest_memory_free(&m);

	/* A segment beyond RAM: refused, RAM above 4 GiB appears in the map. */
	CHECK_EQ(guest_memory_init(&m, 64 * MiB), 0);
	build_elf(&t);
	phdr(&t, PH_DATA)->p_paddr = 80 * MiB;
	close(kfd);
	kfd = memfd_with(t.bytes, t.len);
	CHECK_EQ(boot_pvh_load(&m, kfd, t.len, -1, 0, "", BIOS_AREA_START, &info, err, sizeof(err)), -EFBIG);
	CHECK(strstr(err, "more than the guest's 64 MiB") != NULL);
	guest_memory_free(&m);
	CHECK_EQ(guest_memory_init(&m, 5 * GiB), 0);
	build_elf(&t);
	close(kfd);
	kfd = memfd_with(t.bytes, t.len);
	CHECK_EQ(boot_pvh_load(&m, kfd, t.len, -1, 0, "", BIOS_AREA_START, &info, err, sizeof(err)), 0);
	entries = rd32(&m, si + 48);
	CHECK_EQ(entries, 7);
	CHECK_EQ(rd64(&m, memmap + 6 * 24), HIGH_RAM_START);
	CHECK_EQ(rd64(&m, memmap + 6 * 24 + 8), 2 * GiB);
	CHECK_EQ(rd32(&m, memmap + 6 * 24 + 16), XEN_HVM_MEMMAP_TYPE_RAM);
	guest_memory_free(&m);
	close(kfd);
	close(ifd);
}

/* A segment with whole 2 MiB pages of zeros, loaded over RAM that held other bytes (the loader
 * gives such pages back instead of copying them, and must still leave zeros there): chunk k of
 * the file is all zeros (k % 3 == 0), zeros for its first 100 KiB and then data (1), or data
 * from its first byte (2); a partial chunk of zeros ends it, and its bss holds a whole 2 MiB page.
 * 16 MiB and more: the two-reader path. At `paddr` 2 MiB aligned, or not, in the 2 MiB page of
 * the code segment: then the loader's chunks straddle the file's. */
#define BIG_OFFSET  0x10000
#define BIG_CHUNKS  9
#define BIG_FILESZ  (BIG_CHUNKS * 2 * MiB + 0x1800)
#define BIG_MEMSZ   (BIG_FILESZ + 5 * MiB)
static void check_zero_chunks(uint64_t paddr)
{
	struct test_elf t;
	build_elf(&t);
	size_t len = BIG_OFFSET + BIG_FILESZ;
	uint8_t *file = calloc(1, len);
	CHECK(file != NULL);
	if (!file)
		return;
	*phdr(&t, PH_DATA) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = BIG_OFFSET,
					   .p_vaddr = 0xffffffff82000000ULL, .p_paddr = paddr,
					   .p_filesz = BIG_FILESZ, .p_memsz = BIG_MEMSZ, .p_align = 0x1000 };
	memcpy(file, t.bytes, DATA_OFFSET); /* headers, notes and code */
	uint8_t *seg = file + BIG_OFFSET;
	for (unsigned k = 0; k < BIG_CHUNKS; k++)
		for (uint64_t i = k % 3 == 1 ? 100 * KiB : 0; k % 3 && i < 2 * MiB; i++)
			seg[k * 2 * MiB + i] = (uint8_t)(i * 31 + k + 1) | 1;
	int fd = memfd_with(file, len);
	struct guest_memory m;
	struct boot_info info;
	char err[256];
	CHECK_EQ(guest_memory_init(&m, 256 * MiB), 0);
	memset(guest_ptr(&m, paddr - 4096, BIG_MEMSZ + 8192), 0xAA, BIG_MEMSZ + 8192);
	CHECK_EQ(boot_pvh_load(&m, fd, len, -1, 0, "", BIOS_AREA_START, &info, err, sizeof(err)), 0);
	/* Every whole 2 MiB page of zeros given back (asked before anything reads it: a read maps
	 * the zero page), every other one written. */
	unsigned given_back = 0;
	for (uint64_t gpa = (paddr + 2 * MiB - 1) & ~(2 * MiB - 1); gpa + 2 * MiB <= paddr + BIG_MEMSZ; gpa += 2 * MiB) {
		bool zeros = gpa - paddr >= BIG_FILESZ ||
			     (gpa + 2 * MiB - paddr <= BIG_FILESZ && nonzero_in(seg + (gpa - paddr), 2 * MiB) == 0);
		CHECK_EQ(resident(&m, gpa, 2 * MiB), !zeros);
		given_back += zeros;
	}
	/* Aligned: chunks 0, 3 and 6 and one page of bss; unaligned, every page of the file's
	 * bytes holds data somewhere, so only the bss page. */
	CHECK_EQ(given_back, paddr % (2 * MiB) ? 1 : 4);
	CHECK(!memcmp(guest_ptr(&m, paddr, BIG_FILESZ), seg, BIG_FILESZ));
	CHECK_EQ(nonzero_bytes(&m, paddr + BIG_FILESZ, BIG_MEMSZ - BIG_FILESZ), 0);
	CHECK_EQ(*(const uint8_t *)guest_ptr(&m, paddr - 1, 1), 0xAA);
	CHECK_EQ(*(const uint8_t *)guest_ptr(&m, paddr + BIG_MEMSZ, 1), 0xAA);
	CHECK(!memcmp(guest_ptr(&m, CODE_PADDR, CODE_SIZE), t.bytes + CODE_OFFSET, CODE_SIZE));
	guest_memory_free(&m);
	close(fd);
	free(file);
}

/* guest_zero: its ends written, the whole huge pages between them given back, nothing outside it
 * touched; nothing to do for no bytes, and -EFAULT outside RAM. */
static void check_guest_zero(void)
{
	struct guest_memory m;
	CHECK_EQ(guest_memory_init(&m, 256 * MiB), 0);
	uint8_t *ram = guest_ptr(&m, 64 * MiB, 8 * MiB);
	memset(ram, 0x55, 8 * MiB);
	CHECK_EQ(guest_zero(&m, 64 * MiB + 1, 6 * MiB), 0);
	CHECK(resident(&m, 64 * MiB, 2 * MiB));
	CHECK(!resident(&m, 66 * MiB, 4 * MiB));
	CHECK(resident(&m, 70 * MiB, 2 * MiB));
	CHECK_EQ(nonzero_bytes(&m, 64 * MiB + 1, 6 * MiB), 0);
	CHECK_EQ(ram[0], 0x55);
	CHECK_EQ(ram[6 * MiB + 1], 0x55);
	CHECK_EQ(guest_zero(&m, 256 * MiB, 0), 0);
	CHECK_EQ(guest_zero(&m, 255 * MiB, 2 * MiB), -EFAULT);
	guest_memory_free(&m);
}

/* pvh.pandoc's machine state, field by field. */
static void check_entry_state(void)
{
	struct boot_info info = { .mode = BOOT_ENTRY_PVH32, .entry = ENTRY, .start_info = BOOT_PVH_START_INFO_ADDR };
	struct kvm_sregs s;
	struct kvm_regs r;
	memset(&s, 0xFF, sizeof(s)); /* whatever KVM had: every field the ABI names is set */
	memset(&r, 0xFF, sizeof(r));
	s.idt.base = 0;
	s.idt.limit = 0xFFFF;
	boot_pvh_entry_state(&info, &s, &r);
	CHECK_EQ(r.rip, ENTRY);
	CHECK_EQ(r.rbx, BOOT_PVH_START_INFO_ADDR);
	CHECK_EQ(r.rflags, 0x2); /* IF, TF, VM clear */
	CHECK_EQ(r.rsp, 0);
	CHECK_EQ(s.cr0, 0x11); /* PE, and ET, which reads 1 anyway; PG clear */
	CHECK_EQ(s.cr4, 0);
	CHECK_EQ(s.cr3, 0);
	CHECK_EQ(s.efer, 0); /* no long mode */
	/* CS: 32-bit execute/read, base 0, limit 4 GiB. */
	CHECK_EQ(s.cs.base, 0);
	CHECK_EQ(s.cs.limit, 0xFFFFFFFF);
	CHECK_EQ(s.cs.selector, 0x10);
	CHECK_EQ(s.cs.type, 11);
	CHECK_EQ(s.cs.s, 1);
	CHECK_EQ(s.cs.present, 1);
	CHECK_EQ(s.cs.db, 1);
	CHECK_EQ(s.cs.l, 0);
	CHECK_EQ(s.cs.g, 1);
	CHECK_EQ(s.cs.dpl, 0);
	CHECK_EQ(s.cs.unusable, 0);
	const struct kvm_segment *data[] = { &s.ds, &s.es, &s.ss, &s.fs, &s.gs };
	for (unsigned i = 0; i < 5; i++) {
		CHECK_EQ(data[i]->base, 0);
		CHECK_EQ(data[i]->limit, 0xFFFFFFFF);
		CHECK_EQ(data[i]->selector, 0x18);
		CHECK_EQ(data[i]->type, 3);
		CHECK_EQ(data[i]->s, 1);
		CHECK_EQ(data[i]->present, 1);
		CHECK_EQ(data[i]->db, 1);
		CHECK_EQ(data[i]->g, 1);
		CHECK_EQ(data[i]->dpl, 0);
		CHECK_EQ(data[i]->unusable, 0);
	}
	/* TR: a busy 32-bit TSS, base 0, limit 0x67. */
	CHECK_EQ(s.tr.base, 0);
	CHECK_EQ(s.tr.limit, 0x67);
	CHECK_EQ(s.tr.type, 11);
	CHECK_EQ(s.tr.s, 0);
	CHECK_EQ(s.tr.present, 1);
	CHECK_EQ(s.tr.unusable, 0);
	CHECK_EQ(s.tr.selector, 0x20);
	CHECK_EQ(s.gdt.base, BOOT_GDT_ADDR);
	CHECK_EQ(s.gdt.limit, 5 * 8 - 1);
	CHECK_EQ(s.idt.limit, 0xFFFF); /* left as it was: the kernel loads its own */
}

/* The real vmlinux: its note, its segments in a 512 MiB guest, the entry's bytes there. */
static int check_real_vmlinux(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("boot_pvh: SKIP: no %s (%s): the guest build (guest/extract-vmlinux.sh) makes it\n", path,
		       strerror(errno));
		return EXIT_SKIP;
	}
	struct stat st;
	CHECK_EQ(fstat(fd, &st), 0);
	struct pvh_kernel k;
	char err[256] = "";
	CHECK_EQ(boot_pvh_parse(fd, (uint64_t)st.st_size, &k, err, sizeof(err)), 0);
	if (err[0])
		fprintf(stderr, "%s: %s\n", path, err);
	CHECK(k.nsegments >= 1);
	CHECK(k.entry >= k.load_start && k.entry < k.load_end);
	CHECK(k.load_start >= KERNEL_LOAD_ADDR);
	struct guest_memory m;
	struct boot_info info;
	CHECK_EQ(guest_memory_init(&m, 512 * MiB), 0);
	/* RAM that held other bytes: the zeros of the file (its bss) must be zeros in RAM too. */
	memset(guest_ptr(&m, k.load_start, k.load_end - k.load_start), 0xAA, k.load_end - k.load_start);
	CHECK_EQ(boot_pvh_load(&m, fd, (uint64_t)st.st_size, -1, 0, "console=ttyS0", BIOS_AREA_START, &info, err,
			       sizeof(err)), 0);
	CHECK_EQ(info.entry, k.entry);
	/* Every segment byte for byte: a vmlinux this large is read by two threads, alternate 2 MiB
	 * chunks each. */
	uint64_t total = 0;
	for (unsigned i = 0; i < k.nsegments; i++) {
		const struct pvh_segment *s = &k.segments[i];
		uint8_t *want = malloc(s->filesz ? s->filesz : 1), *have = guest_ptr(&m, s->paddr, s->filesz);
		CHECK(want && have);
		if (!want || !have)
			break;
		CHECK_EQ(pread(fd, want, s->filesz, (off_t)s->offset), (ssize_t)s->filesz);
		CHECK(!memcmp(have, want, s->filesz));
		free(want);
		total += s->filesz;
	}
	CHECK(total >= (16u << 20)); /* the two-reader path is the one this checked */
	/* Nothing between the segments touched. */
	for (unsigned i = 1; i < k.nsegments; i++) {
		uint64_t from = k.segments[i - 1].paddr + k.segments[i - 1].memsz, to = k.segments[i].paddr;
		const uint8_t *gap = guest_ptr(&m, from, to - from);
		uint64_t changed = 0;
		for (uint64_t j = 0; gap && j < to - from; j++)
			changed += gap[j] != 0xAA;
		CHECK_EQ(changed, 0);
	}
	CHECK_EQ(rd32(&m, BOOT_PVH_START_INFO_ADDR), XEN_HVM_START_MAGIC_VALUE);
	printf("boot_pvh: %s: entry 0x%x, %u segments in [0x%llx, 0x%llx)\n", path, k.entry, k.nsegments,
	       (unsigned long long)k.load_start, (unsigned long long)k.load_end);
	guest_memory_free(&m);
	close(fd);
	return check_report("boot_pvh (vmlinux)");
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return check_real_vmlinux(argv[1]);
	check_note();
	check_bad_files();
	check_load_and_start_info();
	check_zero_chunks(32 * MiB);
	check_zero_chunks(CODE_PADDR + 0x5000);
	check_guest_zero();
	check_entry_state();
	return check_report("boot_pvh");
}
