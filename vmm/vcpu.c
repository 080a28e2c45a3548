#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot_pvh.h"
#include "layout.h"
#include "thread.h"

#define VCPU_KICK_SIGNAL SIGUSR1

#define MSR_IA32_MISC_ENABLE      0x000001A0
#define MSR_IA32_MISC_ENABLE_FAST_STRING 0x1
#define MSR_MTRR_DEF_TYPE         0x000002FF
#define MTRR_DEF_TYPE_ENABLE      (1U << 11)
#define MTRR_TYPE_WRBACK          6

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_EXTINT (7U << 8)
#define APIC_MODE_NMI    (4U << 8)

#define X86_CR0_PE 0x1ULL
#define X86_CR0_ET 0x10ULL
#define X86_CR0_PG 0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

static void kick_handler(int sig) { (void)sig; }

int vcpu_signal_init(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

static int set_msrs(struct vcpu *vcpu)
{
	struct {
		struct kvm_msrs head;
		struct kvm_msr_entry e[2];
	} msrs = { .head.nmsrs = 2 };
	msrs.e[0] = (struct kvm_msr_entry){ .index = MSR_IA32_MISC_ENABLE, .data = MSR_IA32_MISC_ENABLE_FAST_STRING };
	/* All of RAM write-back by default, as firmware would leave it; Linux then enables PAT. */
	msrs.e[1] = (struct kvm_msr_entry){ .index = MSR_MTRR_DEF_TYPE, .data = MTRR_DEF_TYPE_ENABLE | MTRR_TYPE_WRBACK };
	int n = ioctl(vcpu->fd, KVM_SET_MSRS, &msrs);
	if (n < 0)
		return -errno;
	return n == 2 ? 0 : -EINVAL;
}

/* LINT0 as ExtINT and LINT1 as NMI, as firmware programs them on a PC. */
static int set_lapic_lvt(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	uint32_t lint0, lint1;
	memcpy(&lint0, &lapic.regs[APIC_LVT_LINT0], 4);
	memcpy(&lint1, &lapic.regs[APIC_LVT_LINT1], 4);
	lint0 = (lint0 & ~0x700U) | APIC_MODE_EXTINT;
	lint1 = (lint1 & ~0x700U) | APIC_MODE_NMI;
	memcpy(&lapic.regs[APIC_LVT_LINT0], &lint0, 4);
	memcpy(&lapic.regs[APIC_LVT_LINT1], &lint1, 4);
	return ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0 ? -errno : 0;
}

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned id)
{
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		return -errno;
	vcpu->run = mmap(NULL, vm->kvm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		return -errno;
	}
	struct cpuid_table cpuid;
	int ret = cpuid_for_vcpu(&vm->supported_cpuid, &cpuid, id, vm->ncpus, vm->kvm->has_tsc_deadline);
	if (ret)
		return ret;
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, &cpuid.head) < 0)
		return -errno;
	if ((ret = set_msrs(vcpu)) || (ret = set_lapic_lvt(vcpu)))
		return ret;
	struct kvm_fpu fpu = { .fcw = 0x37F, .mxcsr = 0x1F80 }; /* FNINIT and power-on MXCSR */
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

int vcpu_setup_boot(struct vcpu *vcpu, const struct boot_info *boot)
{
	struct kvm_sregs sregs;
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	if (boot->mode == BOOT_ENTRY_PVH32) {
		struct kvm_regs regs;
		boot_pvh_entry_state(boot, &sregs, &regs);
		if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
			return -errno;
		return 0;
	}
	struct kvm_segment code = { .base = 0, .limit = 0xFFFFFFFF, .selector = 0x10, .type = 11,
				    .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1 };
	struct kvm_segment data = code;
	data.selector = 0x18;
	data.type = 3;
	data.l = 0;
	data.db = 1;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.gdt.base = BOOT_GDT_ADDR;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
	sregs.cr3 = BOOT_PML4_ADDR;
	sregs.cr4 = X86_CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	struct kvm_regs regs = { .rflags = 0x2, .rip = boot->entry, .rsi = boot->zero_page };
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

/* Registers and the code around RIP, for a guest that crashed (or for debugging). */
static void vcpu_log_state(struct vcpu *vcpu, enum log_level level)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) || ioctl(vcpu->fd, KVM_GET_SREGS, &s))
		return;
	vmm_log(level, "vCPU %u: rip=0x%llx rsp=0x%llx rax=0x%llx rdx=0x%llx cr0=0x%llx cr2=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx",
		vcpu->id, (unsigned long long)r.rip, (unsigned long long)r.rsp, (unsigned long long)r.rax,
		(unsigned long long)r.rdx, (unsigned long long)s.cr0, (unsigned long long)s.cr2,
		(unsigned long long)s.cr3, (unsigned long long)s.cr4, (unsigned long long)s.efer);
}

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	for (uint32_t i = 0; i < run->io.count; i++)
		bus_access(&vcpu->vm->pio, out, run->io.port, data + i * run->io.size, run->io.size);
}

static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;
	char detail[200];
	coalesced_io_drain(&vm->coalesced); /* the writes queued before this exit come first */
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		bus_access(&vm->mmio, run->mmio.is_write, run->mmio.phys_addr, run->mmio.data,
			   run->mmio.len > 8 ? 8 : run->mmio.len);
		return true;
	case KVM_EXIT_IOAPIC_EOI:
		ioapic_eoi(&vm->ioapic, run->eoi.vector);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault: on a PC this resets the machine. */
		vcpu_log_state(vcpu, LOG_INFO);
		vm_request_stop(vm, VM_STOP_RESET, "triple fault (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			vm_request_stop(vm, VM_STOP_RESET, "system reset event");
		else
			vm_request_stop(vm, VM_STOP_POWEROFF, "system shutdown event");
		return false;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; treat like a spurious wake-up. */
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(detail, sizeof(detail), "vCPU %u: KVM could not enter the guest (hardware reason 0x%llx)",
			 vcpu->id, (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vm_request_stop(vm, VM_STOP_ERROR, detail);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(detail, sizeof(detail), "vCPU %u: KVM internal error, suberror %u", vcpu->id,
			 run->internal.suberror);
		vm_request_stop(vm, VM_STOP_ERROR, detail);
		return false;
	default:
		snprintf(detail, sizeof(detail), "vCPU %u: unhandled KVM exit reason %u", vcpu->id, run->exit_reason);
		vm_request_stop(vm, VM_STOP_ERROR, detail);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	/* Only this thread takes the kick signal. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	bool profile = vm->exit_profile;
	if (profile && vcpu->id == 0)
		atomic_store(&vm->first_run_ns, exit_profile_now_ns());
	while (!atomic_load(&vm->stop_reason)) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->run->immediate_exit = 0;
				if (atomic_exchange(&vcpu->log_state, false))
					vcpu_log_state(vcpu, LOG_INFO);
				continue;
			}
			char detail[128];
			snprintf(detail, sizeof(detail), "vCPU %u: KVM_RUN failed: %s", vcpu->id, strerror(errno));
			vm_request_stop(vm, VM_STOP_ERROR, detail);
			break;
		}
		unsigned reason = vcpu->run->exit_reason;
		vcpu->exits[reason < EXIT_REASON_SLOTS ? reason : 0]++;
		if (!profile) {
			if (!handle_exit(vcpu))
				break;
			continue;
		}
		uint64_t key = exit_profile_key(vcpu->run), t0 = exit_profile_ticks();
		bool go_on = handle_exit(vcpu);
		exit_profile_record(&vcpu->prof, reason, key, exit_profile_ticks() - t0);
		if (!go_on)
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	/* The thread starts with the kick signal blocked and unblocks it itself, so that a kick
	 * never lands on another thread. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	int ret = vmm_thread_create(&vcpu->thread, vcpu_thread, vcpu);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return -ret;
	vcpu->started = true;
	return 0;
}

void vcpu_stop(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	/* immediate_exit makes a KVM_RUN that races with the signal return at once. */
	vcpu->run->immediate_exit = 1;
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
	pthread_join(vcpu->thread, NULL);
	vcpu->started = false;
	if (vmm_log_level >= LOG_DEBUG)
		vcpu_log_state(vcpu, LOG_DEBUG);
}

/* SIGUSR2's register dump. A guest stalled inside KVM_RUN (the nested NPF loop of
 * tests/nested/CRASH-STUDY.md never returns to vmm) leaves it at the kick, and its CR3 shows
 * whether the guest's page-table root is its own. immediate_exit covers a kick that lands
 * between two KVM_RUNs. */
void vcpu_request_state_log(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	atomic_store(&vcpu->log_state, true);
	vcpu->run->immediate_exit = 1;
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_destroy(struct vcpu *vcpu)
{
	vcpu_stop(vcpu);
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->kvm->vcpu_mmap_size);
	if (vcpu->fd > 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}
