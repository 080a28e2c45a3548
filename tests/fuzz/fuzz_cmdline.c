/* libFuzzer target for vmm's command line (vmm/cmdline.c, with --net's parser in virtio/net.c
 * and --user's in vmm/sandbox.c): the user's input, parsed before anything is opened; a command
 * line that makes vmm read outside its arguments, or start with values the documentation rules
 * out, is a bug.
 *
 * Checked, for each input:
 *   cmdline_parse_run returns 0, CMDLINE_HELP, or a negative errno with a one-line message
 *   (NUL-terminated in its buffer; a newline only where it quotes one the input holds); parsing the same arguments again gives the same
 *   result and the same options (getopt's state is reset);
 *   after success: --kernel was given and names an argument's text; the memory size is in
 *   64 MiB..1 TiB and a multiple of 2 MiB; 1..64 vCPUs; ats only with the IOMMU; a --net tap name
 *   is non-empty and shorter than IFNAMSIZ, its MAC unicast and not zero; a --user was found
 *   (numbers, or a name in the passwd file); the command line is an argument's text or the
 *   default;
 *   cmdline_parse_size and cmdline_parse_count, on every argument: a success gives a value that
 *   the text's digits times the suffix's unit give again.
 *
 * Input:
 *   u8 config   bit 0: the passwd file is the first NUL-terminated string (else a fixed one)
 *   the rest    the arguments after "run", separated by NUL bytes (at most 32) */
#define _GNU_SOURCE
#include <net/if.h>
#include <unistd.h>

#include "../../vmm/cmdline.h"
#include "../../vmm/layout.h"
#include "fuzz_common.h"

#define MAX_ARGS 32

static int passwd_fd = -1;
static char passwd_path[64];
static const char default_passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
				     "alice:x:1000:1000::/home/alice:/bin/sh\n"
				     "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vmm_log_level = -1;
	passwd_fd = memfd_create("fuzz-passwd", MFD_CLOEXEC);
	if (passwd_fd < 0) {
		perror("fuzz_cmdline: memfd");
		abort();
	}
	snprintf(passwd_path, sizeof(passwd_path), "/proc/self/fd/%d", passwd_fd);
	return 0;
}

static void passwd_set(const char *text, size_t len)
{
	if (ftruncate(passwd_fd, 0) || (len && pwrite(passwd_fd, text, len, 0) != (ssize_t)len)) {
		perror("fuzz_cmdline: passwd memfd");
		abort();
	}
}

/* Points p into one of the arguments' texts. */
FUZZ_NOCOV static bool in_args(const char *p, char **args, int n)
{
	for (int i = 0; i < n; i++)
		if (p >= args[i] && p <= args[i] + strlen(args[i]))
			return true;
	return false;
}

/* The size model: decimal digits, then nothing (MiB) or one of KMGT with "", "B" or "iB". */
FUZZ_NOCOV static void check_size(const char *s)
{
	uint64_t v;
	if (cmdline_parse_size(s, &v))
		return;
	uint64_t digits = 0;
	const char *p = s;
	FUZZ_ASSERT(*p >= '0' && *p <= '9');
	while (*p >= '0' && *p <= '9')
		digits = digits * 10 + (uint64_t)(*p++ - '0'); /* no overflow: the parser refused those */
	uint64_t unit = MiB;
	switch (*p) {
	case 0: break;
	case 'k': case 'K': unit = KiB; break;
	case 'm': case 'M': unit = MiB; break;
	case 'g': case 'G': unit = GiB; break;
	case 't': case 'T': unit = GiB * 1024; break;
	default: FUZZ_ASSERT(!"a size with an unknown suffix was accepted");
	}
	if (*p)
		p++;
	FUZZ_ASSERT(!*p || !strcmp(p, "B") || !strcmp(p, "iB"));
	FUZZ_ASSERT(digits <= UINT64_MAX / unit && v == digits * unit);
}

FUZZ_NOCOV static void check_count(const char *s)
{
	uint64_t v, digits = 0;
	if (cmdline_parse_count(s, &v))
		return;
	for (const char *p = s; *p; p++) {
		FUZZ_ASSERT(*p >= '0' && *p <= '9');
		digits = digits * 10 + (uint64_t)(*p - '0');
	}
	FUZZ_ASSERT(v && v == digits);
}

FUZZ_NOCOV static void check_options(const struct run_options *o, char **args, int n)
{
	const struct vm_config *vm = &o->vm;
	FUZZ_ASSERT(vm->kernel_path && in_args(vm->kernel_path, args, n));
	FUZZ_ASSERT(!vm->initrd_path || in_args(vm->initrd_path, args, n));
	FUZZ_ASSERT(vm->cmdline && (in_args(vm->cmdline, args, n) || !strcmp(vm->cmdline, "console=ttyS0")));
	FUZZ_ASSERT(vm->memory >= 64 * MiB && vm->memory <= 1024 * GiB && vm->memory % (2 * MiB) == 0);
	FUZZ_ASSERT(vm->ncpus >= 1 && vm->ncpus <= VMM_MAX_CPUS);
	FUZZ_ASSERT(!vm->iommu_ats || vm->iommu);
	FUZZ_ASSERT(vm->exit_profile == o->exit_stats);
	if (vm->has_net) {
		size_t len = strnlen(vm->net.tap, IFNAMSIZ);
		FUZZ_ASSERT(len > 0 && len < IFNAMSIZ);
		static const uint8_t zero[6];
		FUZZ_ASSERT(!(vm->net.mac[0] & 1) && memcmp(vm->net.mac, zero, 6));
	}
	if (o->has_user) {
		size_t len = strnlen(o->user.spec, sizeof(o->user.spec));
		FUZZ_ASSERT(len > 0 && len < sizeof(o->user.spec));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	uint8_t config = data[0];
	/* One NUL-terminated copy, split in place. */
	char *buf = malloc(size + 1);
	FUZZ_ASSERT(buf);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = 0;
	char *p = buf, *end = buf + size - 1;
	if (config & 1) {
		size_t len = strlen(p);
		passwd_set(p, len);
		p += len + (p + len < end);
	} else {
		passwd_set(default_passwd, sizeof(default_passwd) - 1);
	}
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	argv[argc++] = "run";
	while (p < end && argc <= MAX_ARGS) {
		argv[argc++] = p;
		p += strlen(p) + 1;
	}
	argv[argc] = NULL;

	struct run_options a, b;
	char err_a[512], err_b[512];
	memset(err_a, 0x55, sizeof(err_a));
	memset(err_b, 0x55, sizeof(err_b));
	/* getopt may permute argv; the "+" in the parser's optstring asks it not to. Give each parse
	 * its own copy of the pointers all the same. */
	char *argv_b[MAX_ARGS + 2];
	memcpy(argv_b, argv, sizeof(argv));
	int ra = cmdline_parse_run(argc, argv, passwd_path, &a, err_a, sizeof(err_a));
	int rb = cmdline_parse_run(argc, argv_b, passwd_path, &b, err_b, sizeof(err_b));
	FUZZ_ASSERT(ra == rb);
	FUZZ_ASSERT(ra == 0 || ra == CMDLINE_HELP || ra < 0);
	if (ra < 0) {
		/* One line, unless it quotes an argument (or a passwd entry) that holds a newline. */
		FUZZ_ASSERT(memchr(err_a, 0, sizeof(err_a)) && err_a[0]);
		FUZZ_ASSERT(!strchr(err_a, '\n') || memchr(data, '\n', size));
		FUZZ_ASSERT(!strcmp(err_a, err_b));
	}
	if (ra == 0) {
		FUZZ_ASSERT(!memcmp(&a, &b, sizeof(a)));
		check_options(&a, argv + 1, argc - 1);
	}
	for (int i = 1; i < argc; i++) {
		check_size(argv[i]);
		check_count(argv[i]);
	}
	free(buf);
	return 0;
}
