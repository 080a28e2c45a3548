/* Opening /dev/kvm and checking every capability vmm relies on. */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <stddef.h>

#include "log.h"

struct kvm {
	int fd;
	int vcpu_mmap_size;
	int max_vcpus;
	int has_tsc_deadline;
	/* KVM_CAP_COALESCED_PIO: the coalesced-write ring's page in a vCPU's mapping, 0 without
	 * (coalesced_io.h). Probed here, before the sandbox, for every VM vmm creates. */
	long coalesced_ring_page;
};

/* Errors: -ENOENT (no /dev/kvm), -EACCES, -ENOTSUP (a capability is missing; `err` names it). */
int kvm_open(struct kvm *kvm, char *err, size_t errlen) __must_check;
void kvm_close(struct kvm *kvm);

#endif
