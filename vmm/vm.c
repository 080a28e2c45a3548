/* Builds the q35-lite machine: memory slots, devices and their one registration point, boot. */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../devices/pm_regs.h"
#include "../iommu/vtd.h"
#include "acpi.h"
#include "board.h"
#include "boot.h"
#include "boot_pvh.h"
#include "layout.h"
#include "mptable.h"
#include "thread.h"
#include "vcpu.h"

#define PCI_MMIO64_SIZE (32 * GiB)
#define VM_SLOT_NET 1 /* 00:01.0 */

void vm_request_stop(struct vm *vm, enum vm_stop reason, const char *detail)
{
	int expected = VM_RUNNING;
	if (atomic_compare_exchange_strong(&vm->stop_reason, &expected, (int)reason)) {
		if (detail)
			snprintf(vm->stop_detail, sizeof(vm->stop_detail), "%s", detail);
	} else if (expected != VM_STOP_RESET || reason != VM_STOP_SIGNAL ||
		   !atomic_compare_exchange_strong(&vm->stop_reason, &expected, (int)reason)) {
		return;
	}
	/* Past here also when a signal overrode a guest reset whose stop the main loop had not
	 * finished: with --on-reboot=restart the guest would start again and the signal be lost
	 * (CI run 30: a SIGINT sent as the guest rebooted, ignored). stop_detail stays the reset's,
	 * whose caller may still be writing it; the signal is in vm->stop_signal. */
	uint64_t one = 1;
	if (write(vm->event_fd, &one, sizeof(one)) < 0)
		log_err("cannot wake the main loop: %s", strerror(errno));
}

static void pm_event(void *ctx, enum pm_event ev)
{
	struct vm *vm = ctx;
	if (ev == PM_EVENT_POWEROFF)
		vm_request_stop(vm, VM_STOP_POWEROFF, "ACPI S5 (power off)");
	else
		vm_request_stop(vm, VM_STOP_RESET, "reset register written");
}

/* The VT-d unit's fault and invalidation-completion events: compatibility-format MSIs. */
static void vtd_raise_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct vm *vm = ctx;
	int ret = irq_routing_signal_msi(&vm->routing, addr, data);
	if (ret)
		log_guest("vtd: event interrupt (address 0x%llx, data 0x%x) not delivered: %s",
			  (unsigned long long)addr, data, strerror(-ret));
}

/* Interrupt remapping entries changed: the routes that name them are translated again. */
static void vtd_ir_changed(void *ctx, unsigned first, unsigned last, bool all_formats)
{
	struct vm *vm = ctx;
	int ret = irq_routing_retranslate(&vm->routing, first, last, all_formats);
	if (ret)
		log_guest("vtd: KVM refused the re-translated interrupt routes: %s", strerror(-ret));
}

/* The 64-bit PCI window: from the first GiB boundary above RAM, PCI_MMIO64_SIZE long. */
static uint64_t pci_mmio64_start(const struct vm *vm)
{
	uint64_t top = HIGH_RAM_START + (vm->mem.nregions > 1 ? vm->mem.regions[1].size : 0);
	return (top + GiB - 1) & ~(GiB - 1);
}

/* The VT-d unit covers the guest-physical space: RAM and the 64-bit PCI window. 39 bits
 * (3-level tables, 512 GiB) are enough unless the board reaches past that. */
static unsigned vtd_width_for(const struct vm *vm)
{
	return pci_mmio64_start(vm) + PCI_MMIO64_SIZE <= (1ULL << 39) ? 39 : 48;
}

static void set_uart_irq(void *ctx, bool level) { ioapic_set_irq(&((struct vm *)ctx)->ioapic, IRQ_COM1, level); }
static void set_sci(void *ctx, bool level) { ioapic_set_irq(&((struct vm *)ctx)->ioapic, IRQ_SCI, level); }

/* The board's one registration point: every device, its bus, address and size. */
static int board_init(struct vm *vm, struct vm_host *host, const struct vm_config *cfg)
{
	int ret;
	if (cfg->iommu) {
		vm->vtd = calloc(1, sizeof(*vm->vtd));
		if (!vm->vtd)
			return -ENOMEM;
		struct vtd_config vc = { .gpa_bits = vtd_width_for(vm), .device_tlb = cfg->iommu_ats,
					 .raise_msi = vtd_raise_msi, .msi_opaque = vm, .intremap = true,
					 .ir_changed = vtd_ir_changed, .ir_opaque = vm };
		if ((ret = vtd_init(vm->vtd, &vm->dma, &vc)) ||
		    (ret = bus_register(&vm->mmio, VTD_BASE, VTD_SIZE, &vtd_mmio_ops, vm->vtd, "vt-d")))
			return ret;
	}
	if ((ret = irq_routing_init(&vm->routing, vm->fd, IOAPIC_NUM_PINS)))
		return ret;
	if (vm->vtd)
		irq_routing_set_remapper(&vm->routing, &(struct irq_remapper){ .remap = vtd_ir_remap, .opaque = vm->vtd });
	if ((ret = ioapic_init(&vm->ioapic, &vm->routing, 0, IOAPIC_SID)) ||
	    (ret = uart8250_init_output(&vm->uart, &host->console, set_uart_irq, vm)) ||
	    (ret = uart8250_attach_loop(&vm->uart, &vm->loop)) ||
	    (ret = pm_init(&vm->pm, set_sci, pm_event, vm)) || (ret = rtc_init(&vm->rtc)) ||
	    (ret = pci_bus_init(&vm->pci, &vm->mmio)))
		return ret;
	pci_host_bridge_init(&vm->host_bridge);
	if ((ret = pci_bus_add(&vm->pci, 0, &vm->host_bridge)))
		return ret;

	return board_register(&(struct board_devices){ .pio = &vm->pio, .mmio = &vm->mmio, .uart = &vm->uart, .rtc = &vm->rtc,
							.pm = &vm->pm, .pci = &vm->pci, .ioapic = &vm->ioapic });
}

static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	default: return "not a regular file";
	}
}

/* Opens without blocking (a FIFO would block open() until a writer came) and looks at the file
 * before reading a byte of it: only regular files are read. -ENOEXEC for any other kind. */
static int input_open(struct input_file *f, const char *what, const char *path, char *err, size_t errlen)
{
	*f = (struct input_file){ .what = what, .path = path, .fd = -1 };
	struct stat st;
	int flags;
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (f->fd < 0 || fstat(f->fd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot read %s '%s': %s", what, path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s '%s' is %s, not a regular file: give the path of the %s file", what, path,
			 file_kind(st.st_mode), what);
		return -ENOEXEC;
	}
	if ((flags = fcntl(f->fd, F_GETFL)) < 0 || fcntl(f->fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot read %s '%s': %s", what, path, strerror(e));
		return -e;
	}
	f->size = (uint64_t)st.st_size;
	return 0;
}

static void input_close(struct input_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* Reads the whole (already size-checked) file; -EIO if it changed size meanwhile. */
static int input_read(const struct input_file *f, uint8_t **buf, char *err, size_t errlen)
{
	*buf = malloc(f->size ? f->size : 1);
	if (!*buf) {
		snprintf(err, errlen, "cannot read %s '%s': no memory for its %llu MiB", f->what, f->path,
			 (unsigned long long)(f->size >> 20));
		return -ENOMEM;
	}
	uint64_t got = 0;
	while (got < f->size) {
		ssize_t r = pread(f->fd, *buf + got, f->size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "cannot read %s '%s': %s", f->what, f->path,
				 r < 0 ? strerror(errno) : "it became shorter while being read");
			free(*buf);
			*buf = NULL;
			return -EIO;
		}
		got += (uint64_t)r;
	}
	return 0;
}

/* A kernel format --kernel takes. `check` looks at the header and the file sizes before anything
 * is read whole (a huge, sparse file costs nothing): the kernel alone when `initrd` is NULL, then
 * with the initrd, so that the message names the file that does not fit. Bad input is -ENOEXEC
 * (not this format) or -EFBIG (does not fit), with the whole message in `err`. `load` puts the
 * kernel, the initrd and the command line into guest RAM and says how to enter it. A format may
 * split that: `place` puts the kernel's and the initrd's bytes into RAM, needing nothing else, and
 * vm_create runs it on a thread of its own (kernel_preload) while it creates the VM and the
 * board; `load` then gets what it placed. */
struct kernel_format {
	bool (*claims)(const uint8_t *head, size_t len); /* NULL: the default, for whatever no other format claims */
	int (*check)(const struct input_file *kernel, const uint8_t *head, size_t len,
		     const struct input_file *initrd, uint64_t memory, char *err, size_t errlen);
	int (*place)(const struct guest_memory *mem, const struct input_file *kernel, const struct input_file *initrd,
		     struct boot_placed *placed, char *err, size_t errlen); /* NULL: `load` does it all */
	int (*load)(struct vm *vm, const struct vm_config *cfg, const struct input_file *kernel,
		    const struct input_file *initrd, const struct boot_placed *placed, struct boot_info *boot, char *err,
		    size_t errlen);
};

static int bzimage_check(const struct input_file *kernel, const uint8_t *head, size_t len,
			 const struct input_file *initrd, uint64_t memory, char *err, size_t errlen)
{
	/* The whole file is read into vmm's memory (boot_load_linux takes it in one piece). */
	if (kernel->size > memory) {
		snprintf(err, errlen, "kernel '%s' is %llu MiB, larger than the guest's %llu MiB of RAM; give the guest more memory (--memory)",
			 kernel->path, (unsigned long long)(kernel->size >> 20), (unsigned long long)(memory >> 20));
		return -EFBIG;
	}
	struct setup_header hdr;
	struct boot_plan plan;
	char why[256];
	int ret = boot_check_bzimage(head, len, &hdr, why, sizeof(why));
	if (!ret)
		ret = boot_plan(&hdr, kernel->size, initrd ? initrd->size : 0, guest_low_ram_end_for(memory), &plan, why,
				sizeof(why));
	if (ret)
		snprintf(err, errlen, "%s: %s", initrd ? initrd->path : kernel->path, why);
	return ret;
}

static int bzimage_load(struct vm *vm, const struct vm_config *cfg, const struct input_file *kf,
			const struct input_file *inf, const struct boot_placed *placed, struct boot_info *boot, char *err,
			size_t errlen)
{
	(void)placed;
	uint8_t *kernel = NULL, *initrd = NULL;
	int ret = input_read(kf, &kernel, err, errlen);
	if (!ret && inf->fd >= 0)
		ret = input_read(inf, &initrd, err, errlen);
	if (!ret)
		ret = boot_load_linux(&vm->mem, kernel, kf->size, initrd, inf->fd >= 0 ? inf->size : 0, cfg->cmdline,
				      BIOS_AREA_START, boot, err, errlen);
	if (!ret && (ret = boot_setup_page_tables(&vm->mem)))
		snprintf(err, errlen, "cannot write the boot page tables: %s", strerror(-ret));
	free(kernel);
	free(initrd);
	return ret;
}

static int pvh_check(const struct input_file *kernel, const uint8_t *head, size_t len,
		     const struct input_file *initrd, uint64_t memory, char *err, size_t errlen)
{
	struct pvh_kernel k;
	struct boot_plan plan;
	char why[256];
	int ret = boot_pvh_parse(kernel->fd, kernel->size, &k, why, sizeof(why));
	if (!ret)
		ret = boot_pvh_plan(&k, initrd ? initrd->size : 0, guest_low_ram_end_for(memory), &plan, why, sizeof(why));
	if (ret)
		snprintf(err, errlen, "%s: %s", initrd ? initrd->path : kernel->path, why);
	return ret;
}

/* Segments and initrd go from their files straight into guest RAM: no copy in vmm's heap. */
static int pvh_place(const struct guest_memory *mem, const struct input_file *kf, const struct input_file *inf,
		     struct boot_placed *placed, char *err, size_t errlen)
{
	return boot_pvh_place(mem, kf->fd, kf->size, inf->fd, inf->size, placed, err, errlen);
}

static int pvh_load(struct vm *vm, const struct vm_config *cfg, const struct input_file *kf,
		    const struct input_file *inf, const struct boot_placed *placed, struct boot_info *boot, char *err,
		    size_t errlen)
{
	(void)kf;
	(void)inf;
	return boot_pvh_finish(&vm->mem, placed, cfg->cmdline, BIOS_AREA_START, boot, err, errlen);
}

/* The kernel formats, asked in order on the file's first bytes: the one place a format is
 * registered. bzImage is the default, so that any other file gets its "not a bzImage" reason. */
static const struct kernel_format kernel_formats[] = {
	{ boot_pvh_is_elf, pvh_check, pvh_place, pvh_load }, /* ELF vmlinux with a PVH entry point */
	{ NULL, bzimage_check, NULL, bzimage_load },         /* bzImage, 64-bit boot protocol */
};

/* The kernel's bytes go into guest RAM (the format's `place`) on a thread of its own, started
 * once RAM is there, while vm_create goes on with KVM_CREATE_VM, the memory slots and the board:
 * in the nested L1 those took 18-31 ms and the load 35-56 ms of vmm's set-up, one after the
 * other. The thread is joined before anything else is written to guest RAM (load_guest) and
 * before vm_destroy frees it. */
static void *kernel_preload_run(void *arg)
{
	struct vm *vm = arg;
	struct kernel_preload *p = &vm->preload;
	uint64_t t0 = exit_profile_now_ns();
	p->ret = p->host->kernel_format->place(&vm->mem, &p->host->kernel, &p->host->initrd, &p->placed, p->err,
					       sizeof(p->err));
	p->ns = exit_profile_now_ns() - t0;
	return NULL;
}

static void kernel_preload_start(struct vm *vm, const struct vm_host *host)
{
	struct kernel_preload *p = &vm->preload;
	p->host = host;
	if (host->kernel_format->place)
		p->running = vmm_thread_create(&p->thread, kernel_preload_run, vm) == 0;
}

/* The preload's result (run here if no thread could start it); idempotent. */
static int kernel_preload_wait(struct vm *vm, char *err, size_t errlen)
{
	struct kernel_preload *p = &vm->preload;
	if (p->running) {
		pthread_join(p->thread, NULL);
		p->running = false;
		p->done = true;
	} else if (!p->done && p->host && p->host->kernel_format->place) {
		kernel_preload_run(vm);
		p->done = true;
	}
	if (p->ret)
		snprintf(err, errlen, "%s", p->err);
	return p->ret;
}

/* Opens the kernel and the initrd and checks them with the kernel's format (see struct
 * kernel_format); the files stay open for the caller, who closes them. */
static int inputs_open(const struct vm_config *cfg, struct input_file *kernel, struct input_file *initrd,
		       const struct kernel_format **format, char *err, size_t errlen)
{
	*initrd = (struct input_file){ .fd = -1 };
	int ret = input_open(kernel, "kernel", cfg->kernel_path, err, errlen);
	if (ret)
		return ret;
	uint8_t head[16384];
	ssize_t n = pread(kernel->fd, head, sizeof(head), 0);
	if (n < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot read kernel '%s': %s", kernel->path, strerror(e));
		return -e;
	}
	const size_t nformats = sizeof(kernel_formats) / sizeof(kernel_formats[0]);
	const struct kernel_format *f = &kernel_formats[nformats - 1];
	for (size_t i = 0; i < nformats; i++) {
		if (kernel_formats[i].claims && kernel_formats[i].claims(head, (size_t)n)) {
			f = &kernel_formats[i];
			break;
		}
	}
	*format = f;
	if ((ret = f->check(kernel, head, (size_t)n, NULL, cfg->memory, err, errlen)))
		return ret;
	if (cfg->initrd_path && (ret = input_open(initrd, "initrd", cfg->initrd_path, err, errlen)))
		return ret;
	if (initrd->fd >= 0)
		ret = f->check(kernel, head, (size_t)n, initrd, cfg->memory, err, errlen);
	return ret;
}

int vm_host_open_inputs(struct vm_host *host, const struct vm_config *cfg, char *err, size_t errlen)
{
	*host = (struct vm_host){ .kernel.fd = -1, .initrd.fd = -1,
				  .net = { .vhost_fd = -1, .tap.fd = -1, .watch.fd = -1 },
				  .console = { .fd = -1, .host_fd = -1, .saved_flags = -1 } };
	return inputs_open(cfg, &host->kernel, &host->initrd, &host->kernel_format, err, errlen);
}

int vm_host_open(struct vm_host *host, struct kvm *kvm, const struct vm_config *cfg, char *err, size_t errlen)
{
	host->kvm = kvm;
	uart8250_output_open(&host->console, cfg->console_out_fd);
	int ret;
	if ((ret = event_ring_open(&host->ring, &host->ring_restricted))) {
		snprintf(err, errlen, "io_uring set-up failed: %s", strerror(-ret));
		return ret;
	}
	host->ring_ready = true;
	if (!host->ring_restricted)
		log_warn("this kernel cannot restrict an io_uring ring (Linux 5.10 can): the event loop's ring is not limited to polls");
	if (cfg->has_net && ((ret = virtio_net_backend_open(&host->net, &cfg->net, err, errlen)) ||
			     (ret = virtio_net_backend_watch(&host->net, err, errlen))))
		return ret;
	return 0;
}

void vm_host_close(struct vm_host *host)
{
	virtio_net_backend_close(&host->net);
	if (host->ring_ready)
		event_ring_close(&host->ring);
	host->ring_ready = false;
	input_close(&host->kernel);
	input_close(&host->initrd);
	uart8250_output_close(&host->console);
}

static int setup_memory_slots(struct vm *vm)
{
	for (unsigned i = 0; i < vm->mem.nregions; i++) {
		const struct guest_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i, .guest_phys_addr = r->gpa, .memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)r->host,
		};
		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return -errno;
	}
	return 0;
}

/* The kernel and initrd come from the files vmm opened and checked at start (a restart opens
 * nothing); each load reads them again, and the loaders check what they read. */
static int load_guest(struct vm *vm, const struct vm_host *host, const struct vm_config *cfg, struct boot_info *boot,
		      char *err, size_t errlen)
{
	int ret = kernel_preload_wait(vm, err, errlen);
	if (ret)
		return ret;
	struct acpi_config acfg = {
		.ncpus = cfg->ncpus, .ioapic_id = vm->ioapic.id,
		.pci_mmio64_start = pci_mmio64_start(vm),
		.pci_mmio64_end = pci_mmio64_start(vm) + PCI_MMIO64_SIZE - 1,
		.dmar_base = VTD_BASE, .dmar_haw = vm->vtd ? vtd_host_address_width(vm->vtd) : 0,
		.dmar_intremap = vm->vtd != NULL,
	};
	uint8_t *rsdp = guest_ptr(&vm->mem, BIOS_AREA_START, 64);
	uint8_t *tables = guest_ptr(&vm->mem, ACPI_TABLES_START, ACPI_TABLES_END - ACPI_TABLES_START);
	ret = acpi_build(&acfg, rsdp, tables, ACPI_TABLES_START, ACPI_TABLES_END - ACPI_TABLES_START);
	if (ret) {
		snprintf(err, errlen, "building the ACPI tables failed: %s", strerror(-ret));
		return ret;
	}
	struct kvm_cpuid_entry2 *leaf1 = cpuid_find(&vm->supported_cpuid, 1, 0);
	struct mptable_config mcfg = {
		.ncpus = cfg->ncpus, .ioapic_id = (uint8_t)vm->ioapic.id,
		.cpu_signature = leaf1 ? leaf1->eax : 0, .cpu_features = leaf1 ? leaf1->edx : 0,
	};
	ret = mptable_build(&mcfg, guest_ptr(&vm->mem, MPTABLE_FP_ADDR, sizeof(struct mp_floating_pointer)),
			    guest_ptr(&vm->mem, MPTABLE_ADDR, MPTABLE_END - MPTABLE_ADDR), MPTABLE_ADDR,
			    MPTABLE_END - MPTABLE_ADDR);
	if (ret) {
		snprintf(err, errlen, "building the MP table failed: %s", strerror(-ret));
		return ret;
	}
	return host->kernel_format->load(vm, cfg, &host->kernel, &host->initrd, &vm->preload.placed, boot, err, errlen);
}

int vm_create(struct vm *vm, struct vm_host *host, const struct vm_config *cfg, char *err, size_t errlen)
{
	struct kvm *kvm = host->kvm;
	memset(vm, 0, sizeof(*vm));
	vm->kvm = kvm;
	vm->fd = -1;
	vm->ncpus = cfg->ncpus;
	vm->exit_profile = cfg->exit_profile;
	vm->start_ns = cfg->start_ns;
	vm->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int ret;
	if (vm->event_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -errno;
	}
	event_loop_init_on(&vm->loop, &host->ring);
	if ((ret = bus_init(&vm->pio, "pio")) || (ret = bus_init(&vm->mmio, "mmio"))) {
		snprintf(err, errlen, "bus set-up failed: %s", strerror(-ret));
		return ret;
	}
	vm_setup_mark(vm, "host");
	ret = guest_memory_init(&vm->mem, cfg->memory);
	if (ret) {
		snprintf(err, errlen, "cannot allocate %llu MiB of guest memory: %s",
			 (unsigned long long)(cfg->memory >> 20), strerror(-ret));
		return ret;
	}
	vm_setup_mark(vm, "memory");
	kernel_preload_start(vm, host);
	vm->fd = ioctl(kvm->fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "KVM_CREATE_VM failed: %s", strerror(errno));
		return ret;
	}
	struct kvm_enable_cap split = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { IOAPIC_NUM_PINS } };
	if (ioctl(vm->fd, KVM_ENABLE_CAP, &split) < 0) {
		ret = -errno;
		snprintf(err, errlen, "enabling the split irqchip failed: %s", strerror(errno));
		return ret;
	}
	/* Interrupt remapping runs the guest's x2APIC with 32-bit destinations: KVM takes their
	 * upper bits in the MSI address's upper half once told so. */
	struct kvm_enable_cap x2apic = { .cap = KVM_CAP_X2APIC_API, .args = { KVM_X2APIC_API_USE_32BIT_IDS } };
	if (cfg->iommu && ioctl(vm->fd, KVM_ENABLE_CAP, &x2apic) < 0) {
		ret = -errno;
		snprintf(err, errlen, "KVM_CAP_X2APIC_API, which --iommu's interrupt remapping needs, failed: %s",
			 strerror(errno));
		return ret;
	}
	if ((ret = setup_memory_slots(vm))) {
		snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION failed: %s", strerror(-ret));
		return ret;
	}
	if ((ret = dma_space_init(&vm->dma, &vm->mem))) {
		snprintf(err, errlen, "DMA space set-up failed: %s", strerror(-ret));
		return ret;
	}
	vm_setup_mark(vm, "kvm-vm");
	if ((ret = board_init(vm, host, cfg))) {
		snprintf(err, errlen, "board set-up failed: %s", strerror(-ret));
		return ret;
	}
	vm_setup_mark(vm, "board");
	if (cfg->has_net) {
		vm->net = calloc(1, sizeof(*vm->net));
		if (!vm->net) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if ((ret = virtio_net_init(vm->net, &cfg->net, &host->net, &vm->mem, &vm->routing, vm->fd, &vm->dma, &vm->loop,
					   err, errlen)))
			return ret;
		if (cfg->iommu_ats && (ret = virtio_pci_add_ats(&vm->net->vp))) {
			snprintf(err, errlen, "adding the ATS capability to virtio-net failed: %s", strerror(-ret));
			return ret;
		}
		if ((ret = pci_bus_add(&vm->pci, VM_SLOT_NET, &vm->net->vp.pci))) {
			snprintf(err, errlen, "adding virtio-net to the PCI bus failed: %s", strerror(-ret));
			return ret;
		}
	}
	if ((ret = cpuid_get_supported(kvm->fd, &vm->supported_cpuid))) {
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(-ret));
		return ret;
	}
	vm_setup_mark(vm, "net-cpuid");
	struct boot_info boot;
	if ((ret = load_guest(vm, host, cfg, &boot, err, errlen)))
		return ret;
	vm_setup_mark(vm, "load");
	vm->vcpus = calloc(cfg->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		vm->vcpus[i].fd = -1;
		if ((ret = vcpu_create(vm, &vm->vcpus[i], i))) {
			snprintf(err, errlen, "creating vCPU %u failed: %s", i, strerror(-ret));
			return ret;
		}
	}
	ret = coalesced_io_init_pio(&vm->coalesced, vm->fd, vm->vcpus[0].run, (size_t)kvm->vcpu_mmap_size, kvm->coalesced_ring_page,
				    PORT_PCI_CONFIG_ADDR, 4, &vm->pio, &vm->mmio);
	if (ret && ret != -ENOTSUP) {
		snprintf(err, errlen, "KVM_REGISTER_COALESCED_MMIO (CF8) failed: %s", strerror(-ret));
		return ret;
	}
	if ((ret = vcpu_setup_boot(&vm->vcpus[0], &boot))) {
		snprintf(err, errlen, "setting the boot vCPU's registers failed: %s", strerror(-ret));
		return ret;
	}
	vm_setup_mark(vm, "vcpus");
	return 0;
}

int vm_start(struct vm *vm, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		int ret = vcpu_start(&vm->vcpus[i]);
		if (ret) {
			snprintf(err, errlen, "starting vCPU %u failed: %s", i, strerror(-ret));
			return ret;
		}
	}
	vm_setup_mark(vm, "threads");
	return 0;
}

void vm_setup_mark(struct vm *vm, const char *phase)
{
	if (vm->nsetup_marks < VM_SETUP_MARKS)
		vm->setup_marks[vm->nsetup_marks++] = (struct vm_setup_mark){ phase, exit_profile_now_ns() };
}

void vm_print_setup_phases(const struct vm *vm, FILE *out)
{
	uint64_t first = atomic_load(&vm->first_run_ns), prev = vm->start_ns;
	if (!first)
		return;
	fprintf(out, "vmm: setup-phases-ms:");
	for (unsigned i = 0; i < vm->nsetup_marks; i++) {
		const struct vm_setup_mark *m = &vm->setup_marks[i];
		fprintf(out, " %s=%.1f", m->phase, (double)(m->ns - prev) / 1e6);
		prev = m->ns;
	}
	/* The first vCPU thread's way from its start to KVM_RUN. */
	fprintf(out, " first-run=%.1f", first > prev ? (double)(first - prev) / 1e6 : 0.0);
	/* The preload's own time, on its thread beside kvm-vm..load (kernel_preload_run). */
	if (vm->preload.ns)
		fprintf(out, " preload=%.1f", (double)vm->preload.ns / 1e6);
	fprintf(out, "\n");
}

void vm_destroy(struct vm *vm)
{
	/* A preload still writing guest RAM (vm_create failed before it waited) ends first. */
	if (vm->preload.running) {
		pthread_join(vm->preload.thread, NULL);
		vm->preload.running = false;
	}
	int expected = VM_RUNNING;
	atomic_compare_exchange_strong(&vm->stop_reason, &expected, VM_STOP_QUIT);
	if (vm->vcpus) {
		for (unsigned i = 0; i < vm->ncpus; i++)
			vcpu_stop(&vm->vcpus[i]);
		coalesced_io_destroy(&vm->coalesced); /* its ring is in vCPU 0's mapping */
		for (unsigned i = 0; i < vm->ncpus; i++)
			if (vm->vcpus[i].vm)
				vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	/* No vCPU runs now: the guest's last output goes out, with a bounded wait. */
	uart8250_tx_flush(&vm->uart, UART_TX_FLUSH_MS);
	if (vm->net) {
		virtio_net_destroy(vm->net);
		free(vm->net);
		vm->net = NULL;
	}
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = -1;
	if (vm->vtd) {
		vtd_destroy(vm->vtd);
		free(vm->vtd);
		vm->vtd = NULL;
	}
	dma_space_destroy(&vm->dma);
	guest_memory_free(&vm->mem);
	ioapic_destroy(&vm->ioapic);
	uart8250_destroy(&vm->uart);
	pm_destroy(&vm->pm);
	rtc_destroy(&vm->rtc);
	pci_bus_destroy(&vm->pci);
	irq_routing_destroy(&vm->routing);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	event_loop_destroy(&vm->loop);
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	vm->event_fd = -1;
}

void vm_exit_counts(const struct vm *vm, uint64_t out[EXIT_REASON_SLOTS])
{
	memset(out, 0, sizeof(uint64_t) * EXIT_REASON_SLOTS);
	for (unsigned i = 0; vm->vcpus && i < vm->ncpus; i++)
		for (unsigned r = 0; r < EXIT_REASON_SLOTS; r++)
			out[r] += vm->vcpus[i].exits[r];
}

const char *vm_exit_reason_name(unsigned reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return "io";
	case KVM_EXIT_MMIO: return "mmio";
	case KVM_EXIT_IOAPIC_EOI: return "ioapic_eoi";
	case KVM_EXIT_INTR: return "intr";
	case KVM_EXIT_SHUTDOWN: return "shutdown";
	case KVM_EXIT_SYSTEM_EVENT: return "system_event";
	case KVM_EXIT_HLT: return "hlt";
	case KVM_EXIT_FAIL_ENTRY: return "fail_entry";
	case KVM_EXIT_INTERNAL_ERROR: return "internal_error";
	default: return "other";
	}
}

void vm_print_dma_stats(struct vm *vm, FILE *f)
{
	if (vm->vtd) {
		struct vtd_stats st;
		vtd_get_stats(vm->vtd, &st);
		fprintf(f, "vmm: iommu: translations=%llu faults=%llu faults_recorded=%llu iotlb_inval_global=%llu iotlb_inval_domain=%llu iotlb_inval_page=%llu context_inval=%llu devtlb_inval=%llu waits=%llu queue_errors=%llu iec_inval=%llu ir_translations=%llu ir_blocked=%llu register_accesses=%llu\n",
			(unsigned long long)st.translations, (unsigned long long)st.faults,
			(unsigned long long)st.faults_recorded, (unsigned long long)st.iotlb_global,
			(unsigned long long)st.iotlb_domain, (unsigned long long)st.iotlb_page,
			(unsigned long long)st.context_inval, (unsigned long long)st.devtlb_inval,
			(unsigned long long)st.waits, (unsigned long long)st.queue_errors,
			(unsigned long long)st.iec_inval, (unsigned long long)st.ir_translations,
			(unsigned long long)st.ir_blocked, (unsigned long long)st.register_accesses);
	}
	if (vm->net && virtio_pci_uses_iommu(&vm->net->vp)) {
		struct vhost_iotlb_stats st;
		vhost_net_get_stats(&vm->net->vhost, &st);
		fprintf(f, "vmm: vhost-iotlb: misses=%llu updates=%llu update_kib=%llu invalidations=%llu kept=%llu republished=%llu faults=%llu perm_mismatches=%llu unanswered=%llu vring_errors=%llu duplicates=%llu stale=%llu prefetched=%llu miss_us=%llu inval_us=%llu\n",
			(unsigned long long)st.misses, (unsigned long long)st.updates,
			(unsigned long long)(st.update_bytes >> 10), (unsigned long long)st.invalidations,
			(unsigned long long)st.kept, (unsigned long long)st.republished,
			(unsigned long long)st.faults, (unsigned long long)st.perm_mismatches,
			(unsigned long long)st.unanswered, (unsigned long long)st.vring_errors,
			(unsigned long long)st.duplicates, (unsigned long long)st.stale,
			(unsigned long long)st.prefetched, (unsigned long long)(st.miss_ns / 1000),
			(unsigned long long)(st.inval_ns / 1000));
	}
}
