/* The exit profile of --exit-stats (vmm/exit_profile.c): sites keyed by port and MMIO page,
 * per-reason time, several vCPUs merged, the table overflowing into "other", the top sites by
 * time and the printed lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/exit_profile.h"
#include "check.h"

static const char *name(unsigned r)
{
	return r == KVM_EXIT_IO ? "io" : r == KVM_EXIT_MMIO ? "mmio" : r == KVM_EXIT_HLT ? "hlt" : "other";
}

static char *print(const struct exit_profile *const *p, unsigned n, unsigned top)
{
	static char buf[4096];
	memset(buf, 0, sizeof(buf));
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	exit_profile_print(p, n, top, 1000.0, name, f); /* times in ns here */
	fclose(f);
	return buf;
}

int main(void)
{
	struct kvm_run run = { 0 };
	run.exit_reason = KVM_EXIT_IO;
	run.io.port = 0x3f8;
	uint64_t uart = exit_profile_key(&run);
	run.io.port = 0x3fd;
	uint64_t lsr = exit_profile_key(&run);
	run.exit_reason = KVM_EXIT_MMIO;
	run.mmio.phys_addr = 0xfed90008;
	uint64_t vtd = exit_profile_key(&run);
	run.mmio.phys_addr = 0xfed90ff8; /* the same page */
	CHECK_EQ(exit_profile_key(&run), vtd);
	run.exit_reason = KVM_EXIT_HLT;
	CHECK_EQ(exit_profile_key(&run), 0);
	CHECK(uart != lsr && uart != vtd && uart && vtd);

	struct exit_profile *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	const struct exit_profile *both[] = { a, b };
	/* Nothing recorded: nothing printed. */
	CHECK_EQ(strlen(print(both, 2, 16)), 0);

	exit_profile_record(a, KVM_EXIT_IO, uart, 3000);
	exit_profile_record(a, KVM_EXIT_IO, uart, 2000);
	exit_profile_record(b, KVM_EXIT_IO, uart, 1000);
	exit_profile_record(b, KVM_EXIT_IO, lsr, 9000);
	exit_profile_record(a, KVM_EXIT_MMIO, vtd, 40000);
	exit_profile_record(a, KVM_EXIT_HLT, 0, 7000);     /* time, no site */
	exit_profile_record(b, 200, 0, 1000);              /* a reason past the slots: slot 0 */
	CHECK_EQ(a->reason_ticks[KVM_EXIT_IO], 5000);
	CHECK_EQ(a->reason_ticks[KVM_EXIT_HLT], 7000);
	CHECK_EQ(b->reason_ticks[0], 1000);
	char *out = print(both, 2, 16);
	CHECK(strstr(out, "vmm: exit-time-us: other=1 io=15 hlt=7 mmio=40\n") != NULL);
	/* Sites by time, the vCPUs merged: 0xfed90000 40 us, 0x3fd 9 us, 0x3f8 6 us (3 exits). */
	CHECK(strstr(out, "vmm: exit-sites: mmio:0xfed90000=1/40us io:0x3fd=1/9us io:0x3f8=3/6us\n") != NULL);
	/* Only the top 2: the rest is "other". */
	out = print(both, 2, 2);
	CHECK(strstr(out, "vmm: exit-sites: mmio:0xfed90000=1/40us io:0x3fd=1/9us other=3/6us\n") != NULL);

	/* More sites than the table holds: each one that finds it full counts as "other", and no
	 * site already in it is lost. */
	struct exit_profile *c = calloc(1, sizeof(*c));
	run.exit_reason = KVM_EXIT_IO;
	for (unsigned port = 0; port < EXIT_PROFILE_SITES + 10; port++) {
		run.io.port = (uint16_t)(0x100 + port);
		exit_profile_record(c, KVM_EXIT_IO, exit_profile_key(&run), 1000);
	}
	CHECK_EQ(c->other_count, 10);
	CHECK_EQ(c->other_ticks, 10000);
	unsigned used = 0;
	for (unsigned i = 0; i < EXIT_PROFILE_SITES; i++)
		used += c->sites[i].key != 0 && c->sites[i].count == 1;
	CHECK_EQ(used, EXIT_PROFILE_SITES);
	run.io.port = 0x100; /* already in the table: still counted there */
	exit_profile_record(c, KVM_EXIT_IO, exit_profile_key(&run), 1000);
	CHECK_EQ(c->other_count, 10);
	const struct exit_profile *one[] = { c };
	out = print(one, 1, 3);
	CHECK(strstr(out, "vmm: exit-sites: io:0x100=2/2us io:0x101=1/1us io:0x102=1/1us other=") != NULL);
	CHECK(strstr(out, " other=71/71us\n") != NULL); /* 10 overflowed + 61 past the top 3 */
	free(a);
	free(b);
	free(c);
	return check_report("exit_profile");
}
