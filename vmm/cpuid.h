/* The CPUID table each vCPU sees: KVM's supported set, plus topology and what Linux needs to
 * boot without a PIT (hypervisor bit, KVM leaves, TSC deadline, ARAT). */
#ifndef VMM_CPUID_H
#define VMM_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "log.h"

#define CPUID_MAX_ENTRIES 256

struct cpuid_table {
	struct kvm_cpuid2 head;
	struct kvm_cpuid_entry2 entries[CPUID_MAX_ENTRIES];
};

#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)
#define CPUID_1_ECX_HYPERVISOR   (1U << 31)
#define CPUID_1_EDX_HTT          (1U << 28)
#define CPUID_6_EAX_ARAT         (1U << 2)
#define CPUID_KVM_SIGNATURE      0x40000000U
#define CPUID_KVM_FEATURES       0x40000001U
#define CPUID_TOPO_LEVEL_SMT     1
#define CPUID_TOPO_LEVEL_CORE    2

int cpuid_get_supported(int kvm_fd, struct cpuid_table *t) __must_check;
/* Patches a copy of the supported table for the vCPU with this APIC ID out of ncpus. */
int cpuid_for_vcpu(const struct cpuid_table *supported, struct cpuid_table *out, unsigned apic_id,
		   unsigned ncpus, bool tsc_deadline) __must_check;
struct kvm_cpuid_entry2 *cpuid_find(struct cpuid_table *t, uint32_t function, uint32_t index);

#endif
