#include "cpuid.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

int cpuid_get_supported(int kvm_fd, struct cpuid_table *t)
{
	memset(t, 0, sizeof(*t));
	t->head.nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &t->head) < 0)
		return -errno;
	return 0;
}

struct kvm_cpuid_entry2 *cpuid_find(struct cpuid_table *t, uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < t->head.nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->entries[i];
		if (e->function == function &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index))
			return e;
	}
	return NULL;
}

static struct kvm_cpuid_entry2 *add(struct cpuid_table *t, uint32_t function, uint32_t index, uint32_t flags)
{
	if (t->head.nent >= CPUID_MAX_ENTRIES)
		return NULL;
	struct kvm_cpuid_entry2 *e = &t->entries[t->head.nent++];
	memset(e, 0, sizeof(*e));
	e->function = function;
	e->index = index;
	e->flags = flags;
	return e;
}

static unsigned order(unsigned n)
{
	unsigned s = 0;
	while ((1U << s) < n)
		s++;
	return s;
}

int cpuid_for_vcpu(const struct cpuid_table *supported, struct cpuid_table *out, unsigned apic_id,
		   unsigned ncpus, bool tsc_deadline)
{
	*out = *supported;
	for (uint32_t i = 0; i < out->head.nent; i++) {
		struct kvm_cpuid_entry2 *e = &out->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0xFFFF) | (ncpus > 255 ? 255 : ncpus) << 16 | apic_id << 24;
			if (ncpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (tsc_deadline)
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
			break;
		case 4: {
			/* Deterministic cache parameters: one core per vCPU, the last level shared. */
			unsigned level = (e->eax >> 5) & 7;
			unsigned sharing = level >= 3 ? ncpus - 1 : 0;
			e->eax = (e->eax & 0x3FFF) | (sharing & 0xFFF) << 14 | ((ncpus - 1) & 0x3F) << 26;
			break;
		}
		case 6:
			e->eax |= CPUID_6_EAX_ARAT;
			break;
		case 0xB:
		case 0x1F:
			/* Extended topology: level 0 SMT (one thread per core), level 1 cores. */
			e->edx = apic_id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = CPUID_TOPO_LEVEL_SMT << 8;
			} else if (e->index == 1) {
				e->eax = order(ncpus);
				e->ebx = ncpus;
				e->ecx = CPUID_TOPO_LEVEL_CORE << 8 | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000008:
			e->ecx = (e->ecx & ~0xFFU) | ((ncpus - 1) & 0xFF);
			break;
		default:
			break;
		}
	}
	if (!cpuid_find(out, 6, 0)) {
		struct kvm_cpuid_entry2 *e = add(out, 6, 0, 0);
		if (!e)
			return -E2BIG;
		e->eax = CPUID_6_EAX_ARAT;
	}
	/* kvm-clock is announced by the KVM signature and features leaves; KVM normally reports
	 * them, but a missing signature would make Linux fall back to calibrating against a PIT
	 * this board does not have. */
	if (!cpuid_find(out, CPUID_KVM_SIGNATURE, 0) || !cpuid_find(out, CPUID_KVM_FEATURES, 0))
		return -ENOTSUP;
	struct kvm_cpuid_entry2 *sig = cpuid_find(out, CPUID_KVM_SIGNATURE, 0);
	memcpy(&sig->ebx, "KVMK", 4);
	memcpy(&sig->ecx, "VMKV", 4);
	memcpy(&sig->edx, "M\0\0\0", 4);
	if (sig->eax < CPUID_KVM_FEATURES)
		sig->eax = CPUID_KVM_FEATURES;
	return 0;
}
