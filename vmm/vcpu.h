/* vCPU creation, entry state for the boot CPU, and the KVM_RUN loop with its exit dispatch. */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include "boot.h"
#include "vm.h"

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned id) __must_check;
/* Entry state for the boot vCPU, as boot->mode says: 64-bit for a bzImage, 32-bit for a PVH
 * vmlinux (the others wait for INIT/SIPI inside KVM). */
int vcpu_setup_boot(struct vcpu *vcpu, const struct boot_info *boot) __must_check;
int vcpu_start(struct vcpu *vcpu) __must_check;
/* Kicks a vCPU out of KVM_RUN and joins its thread. */
void vcpu_stop(struct vcpu *vcpu);
/* Kicks the vCPU out of KVM_RUN to log its registers (with CR3), then lets it run on. */
void vcpu_request_state_log(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
/* Installs the no-op signal handler used to kick vCPUs; call once per process. */
int vcpu_signal_init(void) __must_check;

#endif
