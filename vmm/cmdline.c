/* vmm's command line: `vmm run`'s options and the numbers the other commands take. */
#include "cmdline.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"

const char cmdline_usage[] =
	"usage: vmm run --kernel PATH [--initrd PATH] [--cmdline STR] [--memory SIZE] [--cpus N]\n"
	"               [--net tap=NAME[,mac=MAC]] [--iommu[=ats]] [--on-reboot=exit|restart] [--exit-stats]\n"
	"               [--user NAME|UID:GID] [--no-sandbox]\n"
	"       vmm kvm-check          check that /dev/kvm can run guests\n"
	"       vmm bench-exit [N]     port-I/O exit round trip: bare KVM loop vs our dispatcher\n"
	"       vmm --help | --version\n"
	"\n"
	"  --kernel PATH     Linux bzImage (x86 boot protocol 2.12 or later, 64-bit), or an ELF\n"
	"                    vmlinux with a PVH entry point (CONFIG_PVH)\n"
	"  --initrd PATH     initramfs\n"
	"  --cmdline STR     kernel command line (default: console=ttyS0)\n"
	"  --memory SIZE     guest RAM, e.g. 512M, 4G; plain numbers are MiB (default 512M)\n"
	"  --cpus N          vCPUs, 1..64 (default 1)\n"
	"  --net tap=NAME[,mac=MAC]  virtio-net over vhost-net on tap NAME (created if missing)\n"
	"  --iommu[=ats]     an Intel VT-d unit (DMA remapping) in front of the PCI devices;\n"
	"                    ats: it also offers device-TLBs (PCIe ATS) to virtio-net\n"
	"  --on-reboot=WHAT  on a guest reset: exit (status 4, default) or restart the guest\n"
	"  --exit-stats      print KVM exits per reason when the guest stops (and on SIGUSR2), with\n"
	"                    the time vmm spent on them, the busiest ports and MMIO pages, and the\n"
	"                    set-up time to the first KVM_RUN; SIGUSR2 also logs each vCPU's\n"
	"                    registers (rip, cr3, ...)\n"
	"  --user NAME|UID:GID  once set up, run as this user (NAME from /etc/passwd)\n"
	"  --no-sandbox      for debugging: keep vmm's capabilities and install no seccomp filter\n"
	"                    (by default, once set up, vmm drops every capability, sets no_new_privs\n"
	"                    and allows only the system calls it needs)\n"
	"\n"
	"Console: the guest's serial port is on stdin/stdout. Ctrl-A x quits, Ctrl-A p presses the\n"
	"power button, Ctrl-A a sends Ctrl-A. SIGTERM presses the ACPI power button.\n"
	"Exit status: 0 guest powered off (or Ctrl-A x), 1 vmm failed, 2 bad command line or file,\n"
	"3 KVM not usable, 4 guest reset, 5 a system call the sandbox forbids (a bug in vmm: see the\n"
	"message), 128+N stopped by signal N (SIGINT, SIGHUP).\n";

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int cmdline_parse_size(const char *s, uint64_t *out)
{
	/* A digit first: strtoull() would also take " 5", "+5" and "-5" (as 2^64-5). */
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || errno)
		return -EINVAL;
	uint64_t mult = MiB;
	if (*end) {
		switch (*end) {
		case 'k': case 'K': mult = KiB; break;
		case 'm': case 'M': mult = MiB; break;
		case 'g': case 'G': mult = GiB; break;
		case 't': case 'T': mult = GiB * 1024; break;
		default: return -EINVAL;
		}
		if (end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
			return -EINVAL;
	}
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int cmdline_parse_count(const char *s, uint64_t *out)
{
	/* Digits only: strtoull() would take "-5" as 2^64-5 and "10x" as 10. */
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || !n)
		return -EINVAL;
	*out = n;
	return 0;
}

int cmdline_parse_run(int argc, char **argv, const char *passwd_path, struct run_options *o, char *err,
		      size_t errlen)
{
	enum { OPT_ON_REBOOT = 256, OPT_EXIT_STATS, OPT_NET, OPT_IOMMU, OPT_USER, OPT_NO_SANDBOX };
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'k' },  { "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' }, { "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'n' },    { "on-reboot", required_argument, NULL, OPT_ON_REBOOT },
		{ "exit-stats", no_argument, NULL, OPT_EXIT_STATS }, { "help", no_argument, NULL, 'h' },
		{ "net", required_argument, NULL, OPT_NET },
		{ "iommu", optional_argument, NULL, OPT_IOMMU },
		{ "user", required_argument, NULL, OPT_USER }, { "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
		{ 0 },
	};
	memset(o, 0, sizeof(*o));
	o->vm.cmdline = "console=ttyS0";
	o->vm.memory = 512 * MiB;
	o->vm.ncpus = 1;
	o->vm.console_out_fd = STDOUT_FILENO;
	/* optind = 0 makes glibc's getopt start afresh, also its position inside an element
	 * ("-xyz") where an earlier parse stopped; it then begins at argv[1]. */
	optind = 0;
	opterr = 0;
	int c, at;
	/* There are no short options and the parser stops at the first error, so each call starts
	 * on a new element: argv[at] is what the user typed, even for "-xyz" (where optind does not
	 * move). */
	while (at = optind ? optind : 1, (c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': o->vm.kernel_path = optarg; break;
		case 'i': o->vm.initrd_path = optarg; break;
		case 'c': o->vm.cmdline = optarg; break;
		case 'm':
			if (cmdline_parse_size(optarg, &o->vm.memory))
				return fail(err, errlen, "bad memory size '%s': use a number with K, M or G", optarg);
			if (o->vm.memory < 64 * MiB || o->vm.memory > 1024 * GiB)
				return fail(err, errlen, "memory size '%s' is out of range (64M..1T)", optarg);
			if (o->vm.memory % (2 * MiB))
				return fail(err, errlen, "memory size '%s' is not a multiple of 2 MiB", optarg);
			break;
		case 'n': {
			uint64_t n;
			if (cmdline_parse_count(optarg, &n) || n > VMM_MAX_CPUS)
				return fail(err, errlen, "bad CPU count '%s': use 1..64", optarg);
			o->vm.ncpus = (unsigned)n;
			break;
		}
		case OPT_ON_REBOOT:
			if (!strcmp(optarg, "restart")) o->restart_on_reboot = true;
			else if (!strcmp(optarg, "exit")) o->restart_on_reboot = false;
			else return fail(err, errlen, "bad --on-reboot value '%s': use exit or restart", optarg);
			break;
		case OPT_EXIT_STATS: o->exit_stats = o->vm.exit_profile = true; break;
		case OPT_NET:
			if (o->vm.has_net)
				return fail(err, errlen, "only one --net is supported");
			if (virtio_net_parse(optarg, &o->vm.net, err, errlen))
				return -EINVAL;
			o->vm.has_net = true;
			break;
		case OPT_IOMMU:
			o->vm.iommu = true;
			if (optarg && !strcmp(optarg, "ats"))
				o->vm.iommu_ats = true;
			else if (optarg)
				return fail(err, errlen, "bad --iommu value '%s': use --iommu or --iommu=ats", optarg);
			break;
		case OPT_USER:
			if (sandbox_parse_user(optarg, passwd_path, &o->user, err, errlen))
				return -EINVAL;
			o->has_user = true;
			break;
		case OPT_NO_SANDBOX: o->no_sandbox = true; break;
		case 'h': return CMDLINE_HELP;
		default:
			return fail(err, errlen, "unknown or incomplete option '%s'", argv[at]);
		}
	}
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	if (!o->vm.kernel_path)
		return fail(err, errlen, "run needs --kernel PATH");
	return 0;
}
