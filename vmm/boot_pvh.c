/* PVH boot of an ELF vmlinux: ELF64 header, program headers and notes (System V gABI, "ELF-64
 * Object File Format"), segments straight from the file into guest RAM, hvm_start_info and the
 * 32-bit entry state of xen.git docs/misc/pvh.pandoc. Every field of the file is untrusted: each
 * offset and size is checked against the file's size and the guest's RAM without a sum that can
 * overflow, before it is used. */
#include "boot_pvh.h"

#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "thread.h"

#define PAGE_SIZE_4K 0x1000ULL

/* CR0 at the PVH entry: PE set, "all the other writeable bits cleared"; ET is read-only 1. */
#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define RFLAGS_RESERVED_1 0x2ULL /* bit 1 always reads 1; IF, TF and VM clear as the ABI asks */

/* The GDT at BOOT_GDT_ADDR for the PVH entry: the selectors the entry state loads name real
 * descriptors, in case anything reloads a segment before the kernel's own lgdt. */
#define PVH_CS_SELECTOR 0x10
#define PVH_DS_SELECTOR 0x18
#define PVH_TR_SELECTOR 0x20
#define PVH_GDT_ENTRIES 5

/* pvh.pandoc: CS a 32-bit read/execute segment, base 0, limit 0xFFFFFFFF (type 11: execute/read,
 * accessed); DS/ES (and SS, FS, GS) 32-bit read/write, same base and limit (type 3); TR a 32-bit
 * TSS, active (type 11: busy), base 0, limit 0x67. */
static const struct kvm_segment pvh_code = { .base = 0, .limit = 0xFFFFFFFF, .selector = PVH_CS_SELECTOR,
					     .type = 11, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1 };
static const struct kvm_segment pvh_data = { .base = 0, .limit = 0xFFFFFFFF, .selector = PVH_DS_SELECTOR,
					     .type = 3, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1 };
static const struct kvm_segment pvh_tss = { .base = 0, .limit = 0x67, .selector = PVH_TR_SELECTOR,
					    .type = 11, .present = 1, .dpl = 0, .db = 0, .s = 0, .l = 0, .g = 0 };


/* [off, off + len) lies inside a file of `size` bytes, with no sum that can wrap. */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* pread until all of [offset, offset + len) is in `buf`. The range was checked against the
 * file's size, so a read that ends early means the file shrank since: -EIO. */
static int read_exact(int fd, uint64_t offset, void *buf, uint64_t len)
{
	uint8_t *p = buf;
	while (len) {
		size_t chunk = len > (1ULL << 30) ? (size_t)1 << 30 : (size_t)len;
		ssize_t r = pread(fd, p, chunk, (off_t)offset);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		p += r;
		offset += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

static int read_failed(char *err, size_t errlen, int ret, const char *what)
{
	return boot_error(err, errlen, ret, "cannot read the %s: %s", what,
		    ret == -EIO ? "the file became shorter while being read" : strerror(-ret));
}

bool boot_pvh_is_elf(const uint8_t *head, size_t len)
{
	return len >= SELFMAG && !memcmp(head, ELFMAG, SELFMAG);
}

/* Walks the notes of one PT_NOTE segment (gABI "Note Section": namesz, descsz, type, then the
 * name and the descriptor) for XEN_ELFNOTE_PHYS32_ENTRY. The descriptor and the next note start
 * at `align` boundaries from the note's start (4 for Linux's notes; 8 for GNU property notes,
 * where the name is not padded on its own). Any note whose sizes run past the segment makes the
 * file malformed. */
static int find_pvh_note(const uint8_t *notes, size_t len, uint64_t align, unsigned seg, bool *found,
			 uint32_t *entry, char *err, size_t errlen)
{
	size_t pos = 0;
	while (pos < len) {
		Elf64_Nhdr nh;
		size_t left = len - pos;
		if (left < sizeof(nh))
			return boot_error(err, errlen, -ENOEXEC, "malformed ELF note at byte %zu of note segment %u: its header runs past the segment",
				    pos, seg);
		memcpy(&nh, notes + pos, sizeof(nh));
		/* 64-bit sums of 32-bit sizes: none can wrap. */
		uint64_t desc_off = (sizeof(nh) + (uint64_t)nh.n_namesz + align - 1) & ~(align - 1);
		uint64_t next_off = (desc_off + nh.n_descsz + align - 1) & ~(align - 1);
		if (desc_off > left || nh.n_descsz > left - desc_off)
			return boot_error(err, errlen, -ENOEXEC,
				    "malformed ELF note at byte %zu of note segment %u: name (%u bytes) and descriptor (%u bytes) run past the segment",
				    pos, seg, nh.n_namesz, nh.n_descsz);
		const uint8_t *name = notes + pos + sizeof(nh), *desc = notes + pos + desc_off;
		/* Xen's ELFNOTE macro: name "Xen" with its terminating zero, namesz 4. */
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 && !memcmp(name, "Xen", 4) && !*found) {
			uint64_t value = 0;
			if (nh.n_descsz != 4 && nh.n_descsz != 8)
				return boot_error(err, errlen, -ENOEXEC,
					    "the PVH entry note (Xen, XEN_ELFNOTE_PHYS32_ENTRY) has a %u-byte descriptor, not 4 or 8",
					    nh.n_descsz);
			memcpy(&value, desc, nh.n_descsz); /* little endian, as the file */
			if (value > UINT32_MAX)
				return boot_error(err, errlen, -ENOEXEC,
					    "the PVH entry point 0x%llx is above 4 GiB: it must be a 32-bit physical address",
					    (unsigned long long)value);
			*entry = (uint32_t)value;
			*found = true;
		}
		/* The last note's padding may be missing at the segment's end. */
		pos += next_off < left ? (size_t)next_off : left;
	}
	return 0;
}

/* Reads one PT_NOTE segment (already checked to lie in the file) and looks for the PVH note. */
static int scan_note_segment(int fd, const Elf64_Phdr *ph, unsigned seg, bool *found, uint32_t *entry, char *err,
			     size_t errlen)
{
	/* gABI: note entries are 4-byte aligned in ELF64 objects too (as Linux writes them); an
	 * 8-byte p_align means 8-byte padding (as GNU property notes use). */
	uint64_t align = ph->p_align == 8 ? 8 : 4;
	if (ph->p_offset % align)
		return boot_error(err, errlen, -ENOEXEC, "ELF note segment %u at file offset 0x%llx is not %llu-byte aligned",
			    seg, (unsigned long long)ph->p_offset, (unsigned long long)align);
	if (ph->p_filesz > PVH_MAX_NOTE_BYTES)
		return boot_error(err, errlen, -ENOEXEC, "ELF note segment %u is %llu bytes, more than vmm reads (%u)", seg,
			    (unsigned long long)ph->p_filesz, PVH_MAX_NOTE_BYTES);
	if (!ph->p_filesz)
		return 0;
	uint8_t *notes = malloc(ph->p_filesz);
	if (!notes)
		return boot_error(err, errlen, -ENOMEM, "no memory for the kernel's ELF notes");
	int ret = read_exact(fd, ph->p_offset, notes, ph->p_filesz);
	if (ret)
		ret = read_failed(err, errlen, ret, "kernel's ELF notes");
	else
		ret = find_pvh_note(notes, ph->p_filesz, align, seg, found, entry, err, errlen);
	free(notes);
	return ret;
}

/* The ELF64 header's fields this loader relies on (gABI "ELF Header"). */
static int check_elf_header(const Elf64_Ehdr *eh, uint64_t file_size, char *err, size_t errlen)
{
	if (eh->e_ident[EI_CLASS] == ELFCLASS32)
		return boot_error(err, errlen, -ENOEXEC,
			    "a 32-bit ELF (ELFCLASS32): vmm boots x86-64 kernels; give a 64-bit vmlinux or a bzImage");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return boot_error(err, errlen, -ENOEXEC, "an ELF of class %u, not ELF64", eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return boot_error(err, errlen, -ENOEXEC, "a big-endian ELF: not an x86-64 kernel");
	if (file_size < sizeof(*eh))
		return boot_error(err, errlen, -ENOEXEC, "truncated ELF: the file is %llu bytes, shorter than the ELF64 header (%zu)",
			    (unsigned long long)file_size, sizeof(*eh));
	if (eh->e_machine != EM_X86_64)
		return boot_error(err, errlen, -ENOEXEC,
			    "an ELF for machine %u, not x86-64 (EM_X86_64, %u): give an x86-64 vmlinux or a bzImage",
			    eh->e_machine, EM_X86_64);
	if (eh->e_type != ET_EXEC)
		return boot_error(err, errlen, -ENOEXEC, "an ELF of type %u, not an executable (ET_EXEC): give a vmlinux",
			    eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return boot_error(err, errlen, -ENOEXEC, "ELF program header size %u, not ELF64's %zu", eh->e_phentsize,
			    sizeof(Elf64_Phdr));
	if (!eh->e_phnum)
		return boot_error(err, errlen, -ENOEXEC, "the ELF has no program headers: nothing to load");
	if (eh->e_phnum > PVH_MAX_PHDRS) /* also PN_XNUM (0xffff), the extended count vmlinux never needs */
		return boot_error(err, errlen, -ENOEXEC, "the ELF has %u program headers, more than vmm takes (%u)",
			    eh->e_phnum, PVH_MAX_PHDRS);
	if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), file_size))
		return boot_error(err, errlen, -ENOEXEC,
			    "truncated ELF: %u program headers at file offset 0x%llx end past the file's %llu bytes",
			    eh->e_phnum, (unsigned long long)eh->e_phoff, (unsigned long long)file_size);
	return 0;
}

/* One PT_LOAD program header, checked and recorded (empty ones load nothing and are skipped). */
static int add_segment(struct pvh_kernel *k, const Elf64_Phdr *ph, unsigned i, uint64_t file_size, char *err,
		       size_t errlen)
{
	if (ph->p_filesz > ph->p_memsz)
		return boot_error(err, errlen, -ENOEXEC, "ELF segment %u has more file bytes (0x%llx) than memory bytes (0x%llx)",
			    i, (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
	if (!in_file(ph->p_offset, ph->p_filesz, file_size))
		return boot_error(err, errlen, -ENOEXEC,
			    "truncated ELF: segment %u (file bytes 0x%llx + 0x%llx) ends past the file's %llu bytes", i,
			    (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz,
			    (unsigned long long)file_size);
	if (ph->p_memsz > UINT64_MAX - ph->p_paddr)
		return boot_error(err, errlen, -ENOEXEC, "ELF segment %u at 0x%llx + 0x%llx wraps around the address space", i,
			    (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
	if (!ph->p_memsz)
		return 0;
	k->segments[k->nsegments++] = (struct pvh_segment){
		.offset = ph->p_offset, .paddr = ph->p_paddr, .filesz = ph->p_filesz, .memsz = ph->p_memsz,
	};
	return 0;
}

int boot_pvh_parse(int fd, uint64_t file_size, struct pvh_kernel *k, char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	Elf64_Ehdr eh;
	memset(&eh, 0, sizeof(eh));
	if (file_size < EI_NIDENT)
		return boot_error(err, errlen, -ENOEXEC, "truncated ELF: the file is %llu bytes, shorter than the ELF identification (%u)",
			    (unsigned long long)file_size, EI_NIDENT);
	int ret = read_exact(fd, 0, &eh, file_size < sizeof(eh) ? file_size : sizeof(eh));
	if (ret)
		return read_failed(err, errlen, ret, "kernel's ELF header");
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return boot_error(err, errlen, -ENOEXEC, "not an ELF file (no \\177ELF magic)");
	if ((ret = check_elf_header(&eh, file_size, err, errlen)))
		return ret;

	Elf64_Phdr ph[PVH_MAX_PHDRS];
	if ((ret = read_exact(fd, eh.e_phoff, ph, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr))))
		return read_failed(err, errlen, ret, "kernel's ELF program headers");
	bool found = false;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			ret = add_segment(k, &ph[i], i, file_size, err, errlen);
		} else if (ph[i].p_type == PT_NOTE) {
			if (!in_file(ph[i].p_offset, ph[i].p_filesz, file_size))
				return boot_error(err, errlen, -ENOEXEC,
					    "truncated ELF: note segment %u (file bytes 0x%llx + 0x%llx) ends past the file's %llu bytes",
					    i, (unsigned long long)ph[i].p_offset, (unsigned long long)ph[i].p_filesz,
					    (unsigned long long)file_size);
			ret = scan_note_segment(fd, &ph[i], i, &found, &k->entry, err, errlen);
		}
		if (ret)
			return ret;
	}
	if (!found)
		return boot_error(err, errlen, -ENOEXEC,
			    "no PVH entry point: the ELF has no XEN_ELFNOTE_PHYS32_ENTRY note (name \"Xen\", type 18); boot a kernel built with CONFIG_PVH=y, or its bzImage");
	if (!k->nsegments)
		return boot_error(err, errlen, -ENOEXEC, "the ELF has no loadable (PT_LOAD) segment");

	/* Overlapping segments would make the result depend on the order they are loaded in. */
	k->load_start = UINT64_MAX;
	bool entry_loaded = false;
	for (unsigned i = 0; i < k->nsegments; i++) {
		const struct pvh_segment *a = &k->segments[i];
		for (unsigned j = i + 1; j < k->nsegments; j++) {
			const struct pvh_segment *b = &k->segments[j];
			if (a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz)
				return boot_error(err, errlen, -ENOEXEC,
					    "ELF segments overlap in guest memory: [0x%llx, 0x%llx) and [0x%llx, 0x%llx)",
					    (unsigned long long)a->paddr, (unsigned long long)(a->paddr + a->memsz),
					    (unsigned long long)b->paddr, (unsigned long long)(b->paddr + b->memsz));
		}
		if (a->paddr < k->load_start)
			k->load_start = a->paddr;
		if (a->paddr + a->memsz > k->load_end)
			k->load_end = a->paddr + a->memsz;
		/* The entry must be code from the file, not bss. */
		if (k->entry >= a->paddr && k->entry - a->paddr < a->filesz)
			entry_loaded = true;
	}
	if (!entry_loaded)
		return boot_error(err, errlen, -ENOEXEC, "the PVH entry point 0x%x is outside the kernel's loaded segments",
			    k->entry);
	return 0;
}

int boot_pvh_plan(const struct pvh_kernel *k, uint64_t initrd_len, uint64_t low_ram_end, struct boot_plan *plan,
		  char *err, size_t errlen)
{
	memset(plan, 0, sizeof(*plan));
	for (unsigned i = 0; i < k->nsegments; i++) {
		const struct pvh_segment *s = &k->segments[i];
		uint64_t end = s->paddr + s->memsz; /* no wrap: boot_pvh_parse checked */
		if (s->paddr < KERNEL_LOAD_ADDR)
			return boot_error(err, errlen, -ENOEXEC,
				    "ELF segment at 0x%llx loads below 1 MiB, where vmm puts the boot data (GDT, start_info, command line, ACPI tables)",
				    (unsigned long long)s->paddr);
		if (end > PCI_HOLE_START)
			return boot_error(err, errlen, -ENOEXEC,
				    "ELF segment [0x%llx, 0x%llx) is outside the RAM below 3 GiB, where a PVH kernel (entered with paging off) must load",
				    (unsigned long long)s->paddr, (unsigned long long)end);
		if (end > low_ram_end)
			return boot_error(err, errlen, -EFBIG,
				    "the kernel needs %llu MiB of RAM (its segment at 0x%llx ends there), more than the guest's %llu MiB below the PCI hole; give the guest more memory (--memory)",
				    (unsigned long long)((end + MiB - 1) >> 20), (unsigned long long)s->paddr,
				    (unsigned long long)(low_ram_end >> 20));
	}
	plan->kernel_end = k->load_end;
	if (initrd_len) {
		/* As for a bzImage: the highest page below the end of low RAM (below 4 GiB, as Linux
		 * takes the module's address into the 32-bit ramdisk_image), above the kernel. */
		uint64_t kernel_top = (k->load_end + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);
		if (initrd_len > low_ram_end || ((low_ram_end - initrd_len) & ~(PAGE_SIZE_4K - 1)) < kernel_top)
			return boot_error(err, errlen, -EFBIG,
				    "the initrd (%llu MiB) does not fit below %llu MiB next to the kernel (%llu MiB); give the guest more memory (--memory) or use a smaller initrd",
				    (unsigned long long)(initrd_len >> 20), (unsigned long long)(low_ram_end >> 20),
				    (unsigned long long)((k->load_end + MiB - 1) >> 20));
		plan->initrd_addr = (low_ram_end - initrd_len) & ~(PAGE_SIZE_4K - 1);
	}
	return 0;
}

/* The 8-byte GDT descriptor for a segment as KVM describes it (Intel SDM vol. 3, 3.4.5). */
static uint64_t gdt_descriptor(const struct kvm_segment *s)
{
	uint64_t limit = s->g ? s->limit >> 12 : s->limit;
	return (limit & 0xFFFF) | ((uint64_t)(s->base & 0xFFFFFF) << 16) | ((uint64_t)s->type << 40) |
	       ((uint64_t)s->s << 44) | ((uint64_t)s->dpl << 45) | ((uint64_t)s->present << 47) |
	       ((limit >> 16 & 0xF) << 48) | ((uint64_t)s->avl << 52) | ((uint64_t)s->l << 53) |
	       ((uint64_t)s->db << 54) | ((uint64_t)s->g << 55) | ((uint64_t)(s->base >> 24 & 0xFF) << 56);
}

/* The loader's unit: the part of one segment inside one 2 MiB page of guest RAM, which is one
 * huge page of the host's (guest_memory_init aligns RAM so). */
#define LOAD_CHUNK (2 * MiB)
/* A whole chunk is read this much at a time until a non-zero byte shows it holds data. */
#define ZERO_PROBE (32 * KiB)

/* One reader: every nreaders-th chunk of the segments, from the id-th. */
struct segment_reader {
	int fd;
	const struct guest_memory *mem;
	const struct pvh_kernel *k;
	unsigned id, nreaders;
	int ret;
};

static bool all_zero(const uint64_t *w, size_t words)
{
	for (size_t i = 0; i < words; i++)
		if (w[i])
			return false;
	return true;
}

/* [off, off + len) of the file into guest RAM at gpa. A chunk that fills its whole huge page and
 * is all zeros in the file is not copied: guest_zero gives the page back, and the guest's first
 * touch gets a fresh zero page. A vmlinux stores its bss and scratch areas as zeros (Debian's:
 * 27 of its 57 MiB of segments are zero pages, 11 of its 31 chunks all zeros), so that the
 * loader neither copies them nor has the host clear pages the guest may never touch. Data
 * usually shows in the first probe, and the rest of its chunk is read straight into RAM. */
static int load_chunk(const struct guest_memory *mem, int fd, uint64_t off, uint64_t gpa, uint64_t len)
{
	uint8_t *dst = guest_ptr(mem, gpa, len); /* inside a segment load_segments checked */
	if (!dst)
		return -EFAULT;
	if (len != LOAD_CHUNK) /* a chunk this long starts on its page */
		return read_exact(fd, off, dst, len);
	uint64_t probe[ZERO_PROBE / sizeof(uint64_t)];
	for (uint64_t done = 0; done < len; done += ZERO_PROBE) {
		int ret = read_exact(fd, off + done, probe, ZERO_PROBE);
		if (ret)
			return ret;
		if (!all_zero(probe, ZERO_PROBE / sizeof(uint64_t))) {
			/* Data: the zeros probed before it written as zeros, what the probe holds copied. */
			memset(dst, 0, done);
			memcpy(dst + done, probe, ZERO_PROBE);
			done += ZERO_PROBE;
			return read_exact(fd, off + done, dst + done, len - done);
		}
	}
	return guest_zero(mem, gpa, len);
}

static void *read_share(void *arg)
{
	struct segment_reader *r = arg;
	uint64_t chunk = 0;
	for (unsigned i = 0; i < r->k->nsegments && !r->ret; i++) {
		const struct pvh_segment *s = &r->k->segments[i];
		for (uint64_t at = 0, len; at < s->filesz && !r->ret; at += len, chunk++) {
			uint64_t gpa = s->paddr + at;
			len = LOAD_CHUNK - gpa % LOAD_CHUNK;
			if (len > s->filesz - at)
				len = s->filesz - at;
			if (chunk % r->nreaders == r->id)
				r->ret = load_chunk(r->mem, r->fd, s->offset + at, gpa, len);
		}
	}
	return NULL;
}

/* Below this many bytes of segments one reader does it all: a thread costs more than it saves. */
#define PVH_PARALLEL_LOAD_MIN (16ULL << 20)

/* Each segment from the file into guest RAM (pread straight into it, no copy of the file in
 * vmm's heap: peak RSS), then its bss tail zeroed. RAM need not be zero before: every byte of
 * every segment is written or zeroed. A large kernel is read by two threads, alternate chunks
 * each: most of the time goes to the host's page faults on fresh guest RAM (a huge page cleared,
 * then filled), which two CPUs take in half the time (Debian's 63 MiB vmlinux: 0.3-1.2 s of vmm's
 * set-up in the nested L1 with one reader). */
static int load_segments(const struct guest_memory *mem, int fd, const struct pvh_kernel *k, char *err, size_t errlen)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < k->nsegments; i++) {
		const struct pvh_segment *s = &k->segments[i];
		if (!guest_ptr(mem, s->paddr, s->memsz))
			return boot_error(err, errlen, -EFBIG, "the kernel's segment [0x%llx, 0x%llx) is not in guest RAM",
				    (unsigned long long)s->paddr, (unsigned long long)(s->paddr + s->memsz));
		total += s->filesz; /* each filesz is inside the file (boot_pvh_parse): no wrap */
	}
	struct segment_reader first = { .fd = fd, .mem = mem, .k = k, .id = 0, .nreaders = 1 };
	struct segment_reader second = first;
	pthread_t helper;
	bool two = false;
	if (total >= PVH_PARALLEL_LOAD_MIN) {
		first.nreaders = second.nreaders = 2;
		second.id = 1;
		two = vmm_thread_create(&helper, read_share, &second) == 0;
		if (!two)
			first.nreaders = 1; /* no thread: this one reads it all */
	}
	read_share(&first);
	if (two)
		pthread_join(helper, NULL);
	int ret = first.ret ? first.ret : two ? second.ret : 0;
	if (ret)
		return read_failed(err, errlen, ret, "kernel's segments");
	for (unsigned i = 0; i < k->nsegments && !ret; i++)
		ret = guest_zero(mem, k->segments[i].paddr + k->segments[i].filesz,
				 k->segments[i].memsz - k->segments[i].filesz);
	return ret ? boot_error(err, errlen, ret, "cannot zero the kernel's bss") : 0;
}

/* hvm_start_info with its module list and memory map, and the GDT. */
static int write_start_info(const struct guest_memory *mem, const struct boot_plan *plan, uint64_t initrd_size,
			    uint64_t rsdp_gpa)
{
	struct boot_e820_entry e820[E820_MAX_ENTRIES_ZEROPAGE];
	struct hvm_memmap_table_entry memmap[(BOOT_PVH_INFO_END - BOOT_PVH_MEMMAP_ADDR) / sizeof(struct hvm_memmap_table_entry)];
	unsigned max = sizeof(memmap) / sizeof(memmap[0]);
	unsigned n = boot_build_e820(mem, e820, max < E820_MAX_ENTRIES_ZEROPAGE ? max : E820_MAX_ENTRIES_ZEROPAGE);
	/* The same map as the bzImage's e820: ACPI address range types are e820's numbers. */
	for (unsigned i = 0; i < n; i++)
		memmap[i] = (struct hvm_memmap_table_entry){ .addr = e820[i].addr, .size = e820[i].size, .type = e820[i].type };
	struct hvm_start_info si = {
		.magic = XEN_HVM_START_MAGIC_VALUE, .version = XEN_HVM_START_INFO_VERSION,
		.cmdline_paddr = BOOT_CMDLINE_ADDR, .rsdp_paddr = rsdp_gpa,
		.memmap_paddr = BOOT_PVH_MEMMAP_ADDR, .memmap_entries = n,
	};
	int ret = 0;
	if (initrd_size) {
		struct hvm_modlist_entry initrd = { .paddr = plan->initrd_addr, .size = initrd_size };
		si.nr_modules = 1;
		si.modlist_paddr = BOOT_PVH_MODLIST_ADDR;
		ret = guest_write(mem, BOOT_PVH_MODLIST_ADDR, &initrd, sizeof(initrd));
	}
	const uint64_t gdt[PVH_GDT_ENTRIES] = { 0, 0, gdt_descriptor(&pvh_code), gdt_descriptor(&pvh_data),
						gdt_descriptor(&pvh_tss) };
	ret = ret ? ret : guest_write(mem, BOOT_PVH_MEMMAP_ADDR, memmap, n * sizeof(memmap[0]));
	ret = ret ? ret : guest_write(mem, BOOT_PVH_START_INFO_ADDR, &si, sizeof(si));
	return ret ? ret : guest_write(mem, BOOT_GDT_ADDR, gdt, sizeof(gdt));
}

int boot_pvh_place(const struct guest_memory *mem, int kernel_fd, uint64_t kernel_size, int initrd_fd,
		   uint64_t initrd_size, struct boot_placed *placed, char *err, size_t errlen)
{
	memset(placed, 0, sizeof(*placed));
	if (initrd_fd < 0)
		initrd_size = 0;
	struct pvh_kernel kernel, *k = &kernel;
	int ret = boot_pvh_parse(kernel_fd, kernel_size, k, err, errlen);
	if (!ret)
		ret = boot_pvh_plan(k, initrd_size, guest_low_ram_end(mem), &placed->plan, err, errlen);
	if (!ret)
		ret = load_segments(mem, kernel_fd, k, err, errlen);
	if (!ret && initrd_size) {
		uint8_t *host = guest_ptr(mem, placed->plan.initrd_addr, initrd_size);
		ret = host ? read_exact(initrd_fd, 0, host, initrd_size) : -EFAULT;
		if (ret)
			ret = read_failed(err, errlen, ret, "initrd");
	}
	placed->entry = k->entry;
	placed->initrd_size = initrd_size;
	return ret;
}

static int check_cmdline(const char *cmdline, char *err, size_t errlen)
{
	size_t cmdlen = strlen(cmdline);
	if (cmdlen > PVH_CMDLINE_MAX)
		return boot_error(err, errlen, -E2BIG, "command line is %zu bytes; a PVH kernel takes at most %u", cmdlen,
				  PVH_CMDLINE_MAX);
	return 0;
}

int boot_pvh_finish(const struct guest_memory *mem, const struct boot_placed *placed, const char *cmdline,
		    uint64_t rsdp_gpa, struct boot_info *info, char *err, size_t errlen)
{
	memset(info, 0, sizeof(*info));
	int ret = check_cmdline(cmdline, err, errlen);
	if (ret)
		return ret;
	if (guest_write(mem, BOOT_CMDLINE_ADDR, cmdline, strlen(cmdline) + 1))
		return boot_error(err, errlen, -EFAULT, "no room for the command line");
	if (write_start_info(mem, &placed->plan, placed->initrd_size, rsdp_gpa))
		return boot_error(err, errlen, -EFAULT, "no room for hvm_start_info and the memory map");
	info->mode = BOOT_ENTRY_PVH32;
	info->entry = placed->entry;
	info->start_info = BOOT_PVH_START_INFO_ADDR;
	info->kernel_end = placed->plan.kernel_end;
	info->initrd_addr = placed->plan.initrd_addr;
	info->initrd_size = placed->initrd_size;
	return 0;
}

int boot_pvh_load(const struct guest_memory *mem, int kernel_fd, uint64_t kernel_size, int initrd_fd,
		  uint64_t initrd_size, const char *cmdline, uint64_t rsdp_gpa, struct boot_info *info, char *err,
		  size_t errlen)
{
	memset(info, 0, sizeof(*info));
	/* A command line that cannot boot fails before 60 MiB are read. */
	struct boot_placed placed;
	int ret = check_cmdline(cmdline, err, errlen);
	if (!ret)
		ret = boot_pvh_place(mem, kernel_fd, kernel_size, initrd_fd, initrd_size, &placed, err, errlen);
	return ret ? ret : boot_pvh_finish(mem, &placed, cmdline, rsdp_gpa, info, err, errlen);
}

void boot_pvh_entry_state(const struct boot_info *info, struct kvm_sregs *sregs, struct kvm_regs *regs)
{
	sregs->cs = pvh_code;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = pvh_data;
	sregs->tr = pvh_tss;
	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = PVH_GDT_ENTRIES * 8 - 1;
	sregs->cr0 = CR0_PE | CR0_ET;
	sregs->cr3 = 0;
	sregs->cr4 = 0; /* "cr4: all bits are cleared" */
	sregs->efer = 0; /* no long mode: the kernel's PVH entry turns it on itself */
	memset(regs, 0, sizeof(*regs));
	regs->rflags = RFLAGS_RESERVED_1;
	regs->rip = info->entry;
	regs->rbx = info->start_info;
}
