/* The command line of `vmm run` (and the counts of the other commands): options parsed into a
 * vm_config, without side effects, so that the parser is a unit of its own (tests/fuzz/
 * fuzz_cmdline.c drives it with every argv). main.c prints the message and sets the status. */
#ifndef VMM_CMDLINE_H
#define VMM_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox.h"
#include "vm.h"

struct run_options {
	struct vm_config vm;
	bool restart_on_reboot;
	bool exit_stats;
	bool has_user;
	struct sandbox_user user; /* --user */
	bool no_sandbox;
};

#define CMDLINE_HELP 1 /* cmdline_parse_run: --help was asked for; print cmdline_usage */

extern const char cmdline_usage[];

/* Parses `vmm run`'s arguments (argv[0] is "run"); --user names are looked up in passwd_path.
 * Returns 0, CMDLINE_HELP, or a negative errno with a one-line reason in `err` (a usage error:
 * exit status 2). May be called more than once in a process (getopt is reset each time). */
int cmdline_parse_run(int argc, char **argv, const char *passwd_path, struct run_options *o, char *err,
		      size_t errlen) __must_check;

/* "512M", "4G", "1024K", "1T" (optionally "MiB"/"MB"), or MiB when there is no suffix. */
int cmdline_parse_size(const char *s, uint64_t *out) __must_check;

/* A whole number, 1 or more, digits only ("-5" and "10x" are refused). */
int cmdline_parse_count(const char *s, uint64_t *out) __must_check;

#endif
