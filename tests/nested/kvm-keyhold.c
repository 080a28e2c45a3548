// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm-keyhold: a test-harness tool for the nested L1 (not part of vmm).
 *
 * QEMU's multi-threaded TCG fails when the L1 kernel patches its own text under int3
 * breakpoints while another vCPU runs (text_poke_bp; tests/nested/CRASH-STUDY.md). Every VM
 * start and end in L1 makes KVM flip static keys, each flip a text patch:
 *   - kvm_create_vm() / kvm_destroy_vm(): preempt_notifier_inc() / _dec() (the scheduler's
 *     preempt-notifier key, patched into __schedule);
 *   - a vCPU's in-kernel LAPIC is software-disabled at reset (apic_sw_disabled) until the guest
 *     sets SPIV.APIC_ENABLE, and the key drops back when the guest enables it or the vCPU goes.
 * A key is patched only when its count moves between 0 and 1. So one VM with one vCPU (split
 * irqchip, LAPIC in the kernel) that is never run and lives as long as the L1 keeps both counts
 * at 1 or more: later VM starts and ends (vmm's, QEMU's) patch nothing.
 *
 *   kvm-keyhold hold      create that VM and vCPU, print "keyhold: holding", then sleep for ever
 *   kvm-keyhold cycle N   create and destroy such a VM N times, printing progress every 100
 *                         (the patching load of N VM starts, for tests/nested/patch-study.sh)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* One VM with a split irqchip and one vCPU (so its LAPIC is KVM's); returns the VM fd, and
 * the vCPU fd through *vcpu_fd, or -1 with errno set. */
static int create_vm_with_lapic(int kvm_fd, int *vcpu_fd)
{
	int vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		return -1;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { 24 } };
	if (ioctl(vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		int e = errno;
		close(vm_fd);
		errno = e;
		return -1;
	}
	*vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
	if (*vcpu_fd < 0) {
		int e = errno;
		close(vm_fd);
		errno = e;
		return -1;
	}
	return vm_fd;
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "hold") && strcmp(argv[1], "cycle")) ||
	    (!strcmp(argv[1], "cycle") && argc < 3)) {
		fprintf(stderr, "usage: kvm-keyhold hold | kvm-keyhold cycle N\n");
		return 2;
	}
	int kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		fprintf(stderr, "keyhold: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	int vcpu_fd, vm_fd;
	if (!strcmp(argv[1], "hold")) {
		vm_fd = create_vm_with_lapic(kvm_fd, &vcpu_fd);
		if (vm_fd < 0) {
			fprintf(stderr, "keyhold: cannot create the holding VM: %s\n", strerror(errno));
			return 1;
		}
		printf("keyhold: holding (one VM, one vCPU with a disabled LAPIC)\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	long n = strtol(argv[2], NULL, 0);
	for (long i = 1; i <= n; i++) {
		vm_fd = create_vm_with_lapic(kvm_fd, &vcpu_fd);
		if (vm_fd < 0) {
			fprintf(stderr, "keyhold: VM %ld: %s\n", i, strerror(errno));
			return 1;
		}
		close(vcpu_fd);
		close(vm_fd);
		if (i % 100 == 0) {
			printf("PATCH: vm-cycles=%ld\n", i);
			fflush(stdout);
		}
	}
	return 0;
}
