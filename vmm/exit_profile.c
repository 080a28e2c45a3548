#include "exit_profile.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <x86intrin.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t exit_profile_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static _Atomic uint64_t clock_base_ns, clock_base_ticks;

static void clock_base(void)
{
	if (!atomic_load(&clock_base_ns)) {
		atomic_store(&clock_base_ticks, __rdtsc());
		atomic_store(&clock_base_ns, exit_profile_now_ns());
	}
}

uint64_t exit_profile_ticks(void)
{
	return __rdtsc();
}

double exit_profile_ticks_per_us(void)
{
	clock_base();
	uint64_t ns = exit_profile_now_ns() - atomic_load(&clock_base_ns);
	uint64_t ticks = __rdtsc() - atomic_load(&clock_base_ticks);
	/* Right after the first call there is nothing to measure yet: 1 tick per ns then. */
	return ns < 1000000 || !ticks ? 1000.0 : (double)ticks * 1000.0 / (double)ns;
}

/* key: the exit reason in bits 48-55 (never 0 for a site: KVM_EXIT_IO is 2, KVM_EXIT_MMIO 6), the
 * port or the page number below. */
uint64_t exit_profile_key(const struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return ((uint64_t)KVM_EXIT_IO << 48) | run->io.port;
	case KVM_EXIT_MMIO:
		return ((uint64_t)KVM_EXIT_MMIO << 48) | ((run->mmio.phys_addr >> 12) & 0xffffffffffULL);
	default:
		return 0;
	}
}

void exit_profile_record(struct exit_profile *p, unsigned reason, uint64_t key, uint64_t t)
{
	p->reason_ticks[reason < EXIT_PROFILE_REASONS ? reason : 0] += t;
	if (!key)
		return;
	/* Open addressing from a hash of the key; a few dozen sites are all a guest uses. */
	unsigned h = (unsigned)((key * 0x9e3779b97f4a7c15ULL) >> 58) % EXIT_PROFILE_SITES;
	for (unsigned i = 0; i < EXIT_PROFILE_SITES; i++) {
		struct exit_site *s = &p->sites[(h + i) % EXIT_PROFILE_SITES];
		if (s->key == key || !s->key) {
			s->key = key;
			s->count++;
			s->ticks += t;
			return;
		}
	}
	p->other_count++;
	p->other_ticks += t;
}

static int by_time_desc(const void *a, const void *b)
{
	const struct exit_site *x = a, *y = b;
	if (x->ticks != y->ticks)
		return x->ticks < y->ticks ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

void exit_profile_print(const struct exit_profile *const *p, unsigned n, unsigned top, double ticks_per_us,
			const char *(*reason_name)(unsigned), FILE *f)
{
#define US(t) ((unsigned long long)((double)(t) / ticks_per_us))
	uint64_t reason_ticks[EXIT_PROFILE_REASONS] = { 0 };
	struct exit_site all[EXIT_PROFILE_SITES * 4];
	unsigned nall = 0;
	uint64_t other_count = 0, other_ticks = 0;
	for (unsigned c = 0; c < n; c++) {
		for (unsigned r = 0; r < EXIT_PROFILE_REASONS; r++)
			reason_ticks[r] += p[c]->reason_ticks[r];
		other_count += p[c]->other_count;
		other_ticks += p[c]->other_ticks;
		for (unsigned i = 0; i < EXIT_PROFILE_SITES; i++) {
			const struct exit_site *s = &p[c]->sites[i];
			if (!s->key)
				continue;
			unsigned j = 0;
			while (j < nall && all[j].key != s->key)
				j++;
			if (j == nall) {
				if (nall == sizeof(all) / sizeof(all[0])) {
					other_count += s->count;
					other_ticks += s->ticks;
					continue;
				}
				all[nall++] = (struct exit_site){ .key = s->key };
			}
			all[j].count += s->count;
			all[j].ticks += s->ticks;
		}
	}
	bool any = false;
	for (unsigned r = 0; r < EXIT_PROFILE_REASONS; r++)
		if (reason_ticks[r]) {
			fprintf(f, "%s %s=%llu", any ? "" : "vmm: exit-time-us:", reason_name(r),
				US(reason_ticks[r]));
			any = true;
		}
	if (!any)
		return;
	fprintf(f, "\n");
	qsort(all, nall, sizeof(all[0]), by_time_desc);
	fprintf(f, "vmm: exit-sites:");
	for (unsigned i = 0; i < nall; i++) {
		if (i >= top) {
			other_count += all[i].count;
			other_ticks += all[i].ticks;
			continue;
		}
		unsigned reason = (unsigned)(all[i].key >> 48);
		unsigned long long where = all[i].key & 0xffffffffffffULL;
		if (reason == KVM_EXIT_MMIO)
			fprintf(f, " mmio:0x%llx", where << 12);
		else
			fprintf(f, " %s:0x%llx", reason_name(reason), where);
		fprintf(f, "=%llu/%lluus", (unsigned long long)all[i].count, US(all[i].ticks));
	}
	if (other_count)
		fprintf(f, " other=%llu/%lluus", (unsigned long long)other_count, US(other_ticks));
	fprintf(f, "\n");
#undef US
}
