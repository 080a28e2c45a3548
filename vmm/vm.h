/* One virtual machine: KVM VM, memory, vCPUs, buses, interrupt routing and the q35-lite devices. */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../devices/ioapic.h"
#include "../devices/pci.h"
#include "../devices/pm.h"
#include "../devices/rtc.h"
#include "../devices/uart8250.h"
#include "../virtio/net.h"
#include "boot.h"
#include "bus.h"
#include "coalesced_io.h"
#include "cpuid.h"
#include "dma.h"
#include "event_loop.h"
#include "exit_profile.h"
#include "irq_routing.h"
#include "kvm.h"
#include "log.h"
#include "memory.h"

#define EXIT_REASON_SLOTS 64

struct vm_config {
	const char *kernel_path;
	const char *initrd_path;
	const char *cmdline;
	uint64_t memory;
	unsigned ncpus;
	int console_out_fd;
	bool has_net;
	struct virtio_net_options net;
	bool iommu;         /* a VT-d unit; PCI devices' DMA goes through it */
	bool iommu_ats;     /* it offers device-TLBs (ATS) */
	bool exit_profile;  /* --exit-stats: time and site of each exit (exit_profile.h) */
	uint64_t start_ns;  /* exit_profile_now_ns() when vmm started, for the set-up time */
};

/* Why the guest stopped, first reason wins. */
enum vm_stop {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF,
	VM_STOP_RESET,
	VM_STOP_QUIT,   /* the user asked (Ctrl-A x) */
	VM_STOP_SIGNAL, /* SIGINT or SIGHUP */
	VM_STOP_ERROR,  /* KVM failed or the guest hit an unrecoverable state */
};

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t exits[EXIT_REASON_SLOTS];
	struct exit_profile prof; /* with cfg->exit_profile */
	atomic_bool log_state;     /* vcpu_request_state_log: log the registers at the next kick */
};

#define VM_SETUP_MARKS 12

struct vm {
	struct kvm *kvm;
	int fd;
	struct event_loop loop; /* run by the main thread */
	struct guest_memory mem;
	struct bus pio, mmio;
	struct coalesced_io coalesced; /* CF8 writes queued by KVM, applied before each exit */
	struct irq_routing routing;
	struct ioapic ioapic;
	struct uart8250 uart;
	struct pm pm;
	struct rtc rtc;
	struct pci_bus pci;
	struct pci_device host_bridge;
	struct dma_space dma; /* PCI devices' DMA: through the VT-d unit, or guest RAM as is */
	struct vtd *vtd;      /* NULL without --iommu */
	struct virtio_net *net; /* NULL without --net */
	struct cpuid_table supported_cpuid;
	unsigned ncpus;
	struct vcpu *vcpus;
	_Atomic int stop_reason;
	int event_fd; /* written when stop_reason is set */
	char stop_detail[256];
	int stop_signal; /* the signal behind VM_STOP_SIGNAL */
	bool exit_profile;
	uint64_t start_ns;                /* cfg->start_ns */
	_Atomic uint64_t first_run_ns;    /* vCPU 0's first KVM_RUN (0: not yet) */
	/* The set-up's phases, each stamped as it ends (vm_setup_mark): where setup-ms goes. */
	struct vm_setup_mark { const char *phase; uint64_t ns; } setup_marks[VM_SETUP_MARKS];
	unsigned nsetup_marks;
	/* The kernel's bytes going into RAM on their own thread during vm_create (vm.c). */
	struct kernel_preload {
		const struct vm_host *host;
		pthread_t thread;
		bool running, done;
		int ret;
		char err[256];
		struct boot_placed placed;
		uint64_t ns; /* the preload's own time */
	} preload;
};

/* An input file (kernel or initrd), open and checked but not read yet. */
struct input_file {
	const char *what, *path;
	int fd;
	uint64_t size;
};

struct kernel_format;

/* What the VMs of one vmm process take from the host, opened before vmm drops its privileges
 * (sandbox.c) and kept until it exits: a guest restart (--on-reboot=restart) builds a new VM
 * from it, opens nothing and needs no privilege. */
struct vm_host {
	struct kvm *kvm;
	struct input_file kernel, initrd; /* open and checked (initrd.fd -1: none); read at each start */
	const struct kernel_format *kernel_format;
	struct uart8250_output console;   /* the console's output (cfg->console_out_fd), prepared once */
	struct io_uring ring;             /* every VM's event loop runs on it (event_ring_open) */
	bool ring_ready, ring_restricted;
	struct virtio_net_backend net;    /* with --net: the tap, the one /dev/vhost-net fd, the tap's watch */
};

/* Opens the kernel and initrd files into `host` and checks them without reading them whole and
 * without KVM (first, so that a bad file gets its message anywhere): regular files, a bzImage or
 * an ELF vmlinux with a PVH entry point, both fit in cfg->memory. Bad input is -ENOEXEC, -EFBIG
 * (or -errno from open), with a one-line reason in `err` that says what to do; vm_host_close()
 * releases what was opened either way. */
int vm_host_open_inputs(struct vm_host *host, const struct vm_config *cfg, char *err, size_t errlen) __must_check;
/* Bad input (kernel, initrd, command line) is -ENOEXEC, -EFBIG or -E2BIG, as in vm_host_open_inputs,
 * boot_load_linux and boot_pvh_load; anything else is vmm or KVM failing. */
int vm_create(struct vm *vm, struct vm_host *host, const struct vm_config *cfg, char *err, size_t errlen) __must_check;
int vm_start(struct vm *vm, char *err, size_t errlen) __must_check;
/* After vm_host_open_inputs: opens the event loop's ring, the console's output and, with --net,
 * the tap, /dev/vhost-net and the rtnetlink socket that watches for the tap's deletion. On
 * failure `err` says what, and
 * vm_host_close() releases what was opened. */
int vm_host_open(struct vm_host *host, struct kvm *kvm, const struct vm_config *cfg, char *err, size_t errlen) __must_check;
void vm_host_close(struct vm_host *host);
/* Stops the vCPU threads (idempotent) and frees everything. */
void vm_destroy(struct vm *vm);
/* Ends the main loop with `reason` and `detail` (may be NULL): the first reason stands, except
 * that a signal replaces a guest reset (which would otherwise restart the guest and lose the
 * signal); the signal itself is vm->stop_signal, set before the call. */
void vm_request_stop(struct vm *vm, enum vm_stop reason, const char *detail);
/* Stamps the end of a set-up phase (a static name); marks past VM_SETUP_MARKS are dropped. */
void vm_setup_mark(struct vm *vm, const char *phase);
/* "vmm: setup-phases-ms: host=... memory=... first-run=..." from start_ns to the first KVM_RUN. */
void vm_print_setup_phases(const struct vm *vm, FILE *out);
/* Sum of exits per KVM exit reason over all vCPUs. */
void vm_exit_counts(const struct vm *vm, uint64_t out[EXIT_REASON_SLOTS]);
const char *vm_exit_reason_name(unsigned reason);
/* "vmm: iommu: ..." and "vmm: vhost-iotlb: ..." counter lines, when there is something to say. */
void vm_print_dma_stats(struct vm *vm, FILE *f);

#endif
