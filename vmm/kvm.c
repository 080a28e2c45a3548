#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
	{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_TSC_DEADLINE_TIMER, "KVM_CAP_TSC_DEADLINE_TIMER" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
};

int kvm_open(struct kvm *kvm, char *err, size_t errlen)
{
	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->fd < 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(err, errlen, "/dev/kvm does not exist: load kvm_intel or kvm_amd, or run in a machine with nested virtualisation");
		else if (e == EACCES || e == EPERM)
			snprintf(err, errlen, "no permission to open /dev/kvm: add your user to its group (usually kvm)");
		else
			snprintf(err, errlen, "cannot open /dev/kvm: %s", strerror(e));
		return -e;
	}
	/* KVM without VT-x/AMD-V (the PVM flavour, module kvm_pvm) answers every ioctl but runs an
	 * unmodified Linux guest through its instruction emulator, thousands of times slower. */
	if (access("/sys/module/kvm_pvm", F_OK) == 0 && access("/sys/module/kvm_intel", F_OK) &&
	    access("/sys/module/kvm_amd", F_OK)) {
		snprintf(err, errlen, "this /dev/kvm is PVM (kvm_pvm, no VT-x/AMD-V): it cannot run an unmodified Linux guest at speed; use a host with kvm_intel or kvm_amd, or the nested harness");
		kvm_close(kvm);
		return -ENOTSUP;
	}
	int version = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		snprintf(err, errlen, "KVM API version %d, need %d", version, KVM_API_VERSION);
		kvm_close(kvm);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(kvm->fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			snprintf(err, errlen, "KVM lacks %s, which vmm needs", required_caps[i].name);
			kvm_close(kvm);
			return -ENOTSUP;
		}
	}
	kvm->has_tsc_deadline = 1;
	kvm->vcpu_mmap_size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) > 0) {
		long page = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
		kvm->coalesced_ring_page = page > 0 ? page : 0;
	}
	kvm->max_vcpus = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (kvm->vcpu_mmap_size <= 0) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
		kvm_close(kvm);
		return -ENOTSUP;
	}
	return 0;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->fd > 0)
		close(kvm->fd);
	kvm->fd = -1;
}
