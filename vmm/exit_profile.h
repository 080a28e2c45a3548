/* With --exit-stats: where the exits that reach vmm come from and what handling them costs, for
 * the boot profile (issue 10) and the network runs. Per vCPU, owned by its thread: the time vmm
 * spends on each exit reason (KVM_RUN's return to the next call), and per I/O port and per MMIO
 * page the count and time. The main thread reads the counters without a lock when it prints
 * them: a figure may be one exit behind, nothing more. */
#ifndef VMM_EXIT_PROFILE_H
#define VMM_EXIT_PROFILE_H

#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>

#define EXIT_PROFILE_REASONS 64 /* KVM exit reasons counted apart; larger ones go to slot 0 */
#define EXIT_PROFILE_SITES 64   /* ports and MMIO pages counted apart; more go to "other" */

/* Times in ticks of exit_profile_ticks() (ns in the unit test). */
struct exit_site {
	uint64_t key; /* exit_profile_key(); 0: a free slot */
	uint64_t count, ticks;
};

struct exit_profile {
	uint64_t reason_ticks[EXIT_PROFILE_REASONS];
	struct exit_site sites[EXIT_PROFILE_SITES];
	uint64_t other_count, other_ticks; /* sites that found the table full */
};

uint64_t exit_profile_now_ns(void);
/* The per-exit clock: the TSC (a few cycles; clock_gettime can be a system call that reads the
 * HPET, as in the nested L1 when its TSC is not trusted). exit_profile_ticks_per_us() converts,
 * measured against CLOCK_MONOTONIC since the first call of either. */
uint64_t exit_profile_ticks(void);
double exit_profile_ticks_per_us(void);
/* The site of an exit, before it is handled: the port of KVM_EXIT_IO, the 4 KiB page of
 * KVM_EXIT_MMIO, 0 for every other reason (not counted per site). */
uint64_t exit_profile_key(const struct kvm_run *run);
/* One exit of `reason` at `key` that took `t` to handle (exit_profile_ticks(), or ns in tests). */
void exit_profile_record(struct exit_profile *p, unsigned reason, uint64_t key, uint64_t t);
/* Prints, over `n` vCPUs' profiles, times divided by `ticks_per_us`:
 *   vmm: exit-time-us: io=T mmio=T ...       (time handling each reason, all vCPUs)
 *   vmm: exit-sites: io:0x3f8=N/Tus ...      (the `top` sites by time, then other=N/Tus)
 * and nothing when no exit was recorded. */
void exit_profile_print(const struct exit_profile *const *p, unsigned n, unsigned top, double ticks_per_us,
			const char *(*reason_name)(unsigned), FILE *f);

#endif
