/* A tiny guest that only does port I/O: used to check that KVM works here (`vmm kvm-check`) and
 * to measure the cost of an exit through our dispatcher against a bare KVM loop (`vmm bench-exit`). */
#ifndef VMM_EXITBENCH_H
#define VMM_EXITBENCH_H

#include <stddef.h>
#include <stdint.h>

#include "kvm.h"

struct exitbench_result {
	uint64_t iterations;
	double bare_ns_per_exit;      /* KVM_RUN -> KVM_EXIT_IO -> KVM_RUN, nothing else */
	double dispatch_ns_per_exit;  /* the same through bus_access and a device handler */
	double dispatch_user_ns;      /* time inside bus_access per exit */
};

/* Runs the probe guest until its first port write; 0 when KVM really runs guests. */
int exitbench_probe(struct kvm *kvm, char *err, size_t errlen);
int exitbench_run(struct kvm *kvm, uint64_t iterations, struct exitbench_result *res, char *err, size_t errlen);

#endif
