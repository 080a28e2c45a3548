/* Least privilege after set-up: capabilities, user, no_new_privs and the seccomp allow-list.
 *
 * The allow-list is what vmm does once the first VM runs: the main thread's event loop, the vCPU
 * threads, the devices they drive (vhost, tap, KVM interrupts), the console, a guest restart
 * (--on-reboot=restart builds a new VM from the fds opened before the drop: vm_host in vm.h) and
 * the exit, and with --net the rtnetlink socket that tells the tap's deletion (virtio/tap_watch.c).
 * glibc's own calls under those are listed too (malloc, pthread). io_uring operations
 * do not pass through seccomp: the ring is vmm's one ring, created before the drop and restricted
 * to polls where the kernel allows it (event_ring_open), and io_uring_setup is not on the list.
 * Everything else gets SIGSYS, whose handler says which call it was and exits. */
#define _GNU_SOURCE /* setresuid, setresgid, CLONE_THREAD, siginfo_t's si_syscall */
#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/vhost.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* System calls the running vmm makes, each allowed whatever its arguments. */
static const int allowed_syscalls[] = {
	/* The event loop (main thread). */
	SCMP_SYS(io_uring_enter), /* submits the polls and waits for their completions */
	SCMP_SYS(read),      /* stdin, the signalfd, eventfds (stop, console kick, vring errors), vhost's IOTLB messages */
	SCMP_SYS(write),     /* the console's output, vmm's stderr lines, eventfd kicks (any thread), vhost IOTLB updates */
	SCMP_SYS(sendto),    /* the console's output when stdout is a socket (send with MSG_DONTWAIT) */
	SCMP_SYS(recvfrom),  /* --net: the rtnetlink link notifications that tell the tap's deletion (tap_watch_read) */
	SCMP_SYS(poll),      /* the console: room on stdout at exit (uart8250_tx_flush), stderr before a drop report */
	/* A guest restart: a new VM from the fds opened before the drop, the old one torn down. */
	SCMP_SYS(pread64),   /* the kernel and initrd, read again from their open files at each start */
	SCMP_SYS(eventfd2),  /* the new VM's eventfds: stop, console kick, ioeventfds, irqfds, vring errors */
	SCMP_SYS(close),     /* the old VM's fds (VM, vCPUs, eventfds), and vmm's at exit */
	SCMP_SYS(fcntl),     /* at exit: the console's host fd gets its file flags back (uart8250_output_close) */
	/* Memory. */
	SCMP_SYS(mmap),      /* the new VM's RAM and vCPU run areas, malloc's large blocks and arenas, thread stacks */
	SCMP_SYS(munmap),    /* the same, freed (restart, exit) */
	SCMP_SYS(mprotect),  /* thread stacks' guard pages; malloc growing a thread's arena */
	SCMP_SYS(madvise),   /* the new VM's RAM (MERGEABLE; DONTNEED: guest_zero at a restart); malloc trimming an arena; a thread's stack */
	SCMP_SYS(brk),       /* malloc in the main thread's arena */
	SCMP_SYS(mremap),    /* realloc of a large (mmap'd) block */
	/* Threads: the vCPUs of each VM (clone itself is allowed below, for threads only). */
	SCMP_SYS(set_robust_list), /* glibc's start of each new thread */
	SCMP_SYS(rseq),      /* the same */
	SCMP_SYS(futex),     /* mutexes (devices, DMA space, UART ring), pthread_join */
	SCMP_SYS(exit),      /* a vCPU thread ending (the guest stopped) */
	SCMP_SYS(exit_group), /* vmm's exit */
	SCMP_SYS(sched_getaffinity), /* malloc counting CPUs when threads outnumber its arenas */
	/* Signals. */
	SCMP_SYS(rt_sigprocmask), /* vCPU threads unblock their kick signal; pthread_create and pthread_kill mask signals */
	SCMP_SYS(rt_sigreturn), /* return from the vCPU kick handler (SIGUSR1) */
	SCMP_SYS(tgkill),    /* pthread_kill: the kick that makes a vCPU leave KVM_RUN when the guest stops */
	SCMP_SYS(getpid),    /* pthread_kill names the process */
	/* Time: clock_gettime and time are normally answered in the vDSO, these are the fallbacks. */
	SCMP_SYS(clock_gettime), /* rate limits of guest-triggered messages, the console's flush deadline and linger */
	SCMP_SYS(time),      /* the CMOS RTC's registers */
};

/* Refused with an error rather than SIGSYS: glibc tries these and copes. */
static const struct {
	int nr;
	int err;
} refused_syscalls[] = {
	/* vmm opens nothing after the drop (a restart reuses what was opened before), but glibc's
	 * malloc opens /proc/sys/vm/overcommit_memory once, when it first trims a thread's arena,
	 * and does without it. A vmm bug that opens a file gets EACCES and says so. */
	{ SCMP_SYS(openat), EACCES },
	{ SCMP_SYS(open), EACCES },
	/* pthread_create tries clone3 first and falls back to clone on ENOSYS: clone's flags are in
	 * a register, where the filter can see that it makes a thread (clone3's are in memory). */
	{ SCMP_SYS(clone3), ENOSYS },
};

/* ioctl requests the running vmm makes, each allowed on any fd. */
static const unsigned long allowed_ioctls[] = {
	/* /dev/kvm: a guest restart creates the new VM. */
	KVM_CREATE_VM,
	KVM_GET_SUPPORTED_CPUID, /* the new VM's CPUID */
	/* The VM: its set-up at a restart, interrupts from devices (vCPU threads, event loop). */
	KVM_ENABLE_CAP,          /* split irqchip, x2APIC API */
	KVM_SET_USER_MEMORY_REGION,
	KVM_CREATE_VCPU,
	KVM_SET_GSI_ROUTING,     /* IOAPIC and MSI-X routes, VT-d interrupt remapping's translations */
	KVM_IRQ_LINE,            /* IOAPIC pins: UART, SCI (the power button) */
	KVM_SIGNAL_MSI,          /* VT-d fault and invalidation events */
	KVM_IRQFD,               /* virtio queue vectors (set up, masked, unmasked) */
	KVM_IOEVENTFD,           /* virtio notify registers */
	KVM_REGISTER_COALESCED_MMIO, /* a restarted VM's coalesced CF8 writes (coalesced_io.h) */
	/* vCPUs: running them, their set-up at a restart, their state when a guest crashes. */
	KVM_RUN,
	KVM_SET_CPUID2, KVM_SET_MSRS, KVM_GET_LAPIC, KVM_SET_LAPIC, KVM_SET_FPU,
	KVM_GET_SREGS, KVM_SET_SREGS, KVM_GET_REGS, KVM_SET_REGS,
	/* vhost-net, driven by the guest's driver (vCPU threads): start, stop (RESET_OWNER and
	 * SET_OWNER on the one fd), Bus Master Enable; and each new VM taking the fd over. */
	VHOST_SET_OWNER, VHOST_RESET_OWNER, VHOST_GET_FEATURES, VHOST_SET_FEATURES,
	VHOST_GET_BACKEND_FEATURES, VHOST_SET_BACKEND_FEATURES, VHOST_SET_MEM_TABLE,
	VHOST_SET_VRING_NUM, VHOST_SET_VRING_BASE, VHOST_SET_VRING_ADDR, VHOST_SET_VRING_KICK,
	VHOST_SET_VRING_CALL, VHOST_SET_VRING_ERR, VHOST_NET_SET_BACKEND,
	TUNSETOFFLOAD,           /* the tap: the receive offloads the guest's driver accepted */
	TUNGETIFF,               /* the tap: still attached, or deleted on the host (tap_detached) */
	TCSETS,                  /* the terminal back from raw mode at exit (tcsetattr) */
	TCGETS,                  /* ... which glibc's tcsetattr reads before and after setting it */
};

/* The SIGSYS handler's: names of system calls by number, resolved before the filter is
 * installed (the handler may not allocate), and what to do before exiting. */
#define SYSCALL_NAMES 512
static char *syscall_names[SYSCALL_NAMES];
static uint32_t native_arch;
static void (*on_forbidden)(void);

static void append(char *buf, size_t *len, size_t size, const char *s)
{
	while (*s && *len + 1 < size)
		buf[(*len)++] = *s++;
}

/* Async-signal-safe: only write() and _exit(). It does not return: the refused call cannot be
 * completed, so vmm stops here rather than in main (the one exception to that rule). */
static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	(void)sig;
	(void)uctx;
	char line[320], num[16];
	size_t len = 0, n = 0;
	unsigned nr = (unsigned)si->si_syscall;
	do
		num[n++] = (char)('0' + nr % 10);
	while ((nr /= 10) && n < sizeof(num));
	append(line, &len, sizeof(line), "vmm: seccomp: forbidden system call ");
	while (n)
		line[len++] = num[--n];
	if ((uint32_t)si->si_arch != native_arch) {
		append(line, &len, sizeof(line), " (of another architecture)");
	} else if (si->si_syscall >= 0 && si->si_syscall < SYSCALL_NAMES && syscall_names[si->si_syscall]) {
		append(line, &len, sizeof(line), " (");
		append(line, &len, sizeof(line), syscall_names[si->si_syscall]);
		append(line, &len, sizeof(line), ")");
	}
	append(line, &len, sizeof(line),
	       " \xe2\x80\x94 vmm's allow-list (vmm/sandbox.c) lacks it: a bug in vmm, or vmm was taken over; "
	       "report this line, and run with --no-sandbox to go on without the filter\n");
	if (on_forbidden)
		on_forbidden();
	ssize_t r = write(STDERR_FILENO, line, len);
	(void)r;
	_exit(SANDBOX_EXIT_FORBIDDEN_SYSCALL);
}

static int install_sigsys_handler(char *err, size_t errlen)
{
	native_arch = seccomp_arch_native();
	for (int nr = 0; nr < SYSCALL_NAMES; nr++)
		if (!syscall_names[nr])
			syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		int e = errno;
		snprintf(err, errlen, "sandbox: cannot install the SIGSYS handler: %s", strerror(e));
		return -e;
	}
	/* A blocked SIGSYS would make the kernel kill vmm without the handler's line. */
	sigset_t sys;
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	return 0;
}

static int install_filter(char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		snprintf(err, errlen, "sandbox: seccomp_init failed (out of memory?)");
		return -ENOMEM;
	}
	/* Another architecture's calls (int 0x80, x32) are refused the same way; the filter applies to
	 * every thread that exists (TSYNC) and to every thread created later (inherited). */
	int ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
	if (!ret)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	const char *what = "filter attributes";
	for (size_t i = 0; !ret && i < sizeof(allowed_syscalls) / sizeof(allowed_syscalls[0]); i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed_syscalls[i], 0);
	for (size_t i = 0; !ret && i < sizeof(refused_syscalls) / sizeof(refused_syscalls[0]); i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(refused_syscalls[i].err), refused_syscalls[i].nr, 0);
	/* glibc's first pthread_create installs its own handlers for its two reserved real-time
	 * signals (SIGCANCEL, SIGSETXID): those only. It may come after the drop: the first VM's
	 * vCPUs with a bzImage (a vmlinux's loader makes a reader thread before it). */
	for (int sig = __SIGRTMIN; !ret && sig <= __SIGRTMIN + 1; sig++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigaction), 1,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)sig, 0));
	/* Threads only (vCPUs): no new process. */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	/* The kernel takes the request as 32 bits: only those are compared. */
	for (size_t i = 0; !ret && i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]); i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFu, allowed_ioctls[i] & 0xFFFFFFFFu));
	if (!ret) {
		what = "loading the filter";
		ret = seccomp_load(ctx);
	} else {
		what = "building the filter";
	}
	seccomp_release(ctx);
	if (ret) {
		snprintf(err, errlen, "sandbox: seccomp: %s failed: %s (run with --no-sandbox to go on without it)", what,
			 strerror(-ret));
		return ret;
	}
	return 0;
}

int sandbox_switch_user(const struct sandbox_user *user, char *err, size_t errlen)
{
	/* Supplementary groups first and the uid last: each step needs the privilege the next one
	 * gives up. */
	if (setgroups(1, &user->gid) < 0 || setresgid(user->gid, user->gid, user->gid) < 0 ||
	    setresuid(user->uid, user->uid, user->uid) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot switch to user %s (uid %u, gid %u): %s%s", user->spec, (unsigned)user->uid,
			 (unsigned)user->gid, strerror(e), e == EPERM ? " (--user needs vmm to start as root)" : "");
		return -e;
	}
	/* A uid that could take root back would make the switch worthless. */
	if (user->uid != 0 && setuid(0) == 0) {
		snprintf(err, errlen, "switched to user %s, but it could become root again", user->spec);
		return -EPERM;
	}
	return 0;
}

/* The bounding set limits what execve can grant; dropping from it needs CAP_SETPCAP. Without
 * that vmm is unprivileged, has nothing to drop, and no_new_privs already keeps execve (which the
 * filter refuses anyway) from granting anything. */
static int drop_bounding_set(char *err, size_t errlen)
{
	cap_t now = cap_get_proc();
	cap_flag_value_t setpcap = CAP_CLEAR;
	if (!now || cap_get_flag(now, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap) < 0) {
		int e = errno;
		cap_free(now);
		snprintf(err, errlen, "sandbox: cannot read vmm's capabilities: %s", strerror(e));
		return -e;
	}
	cap_free(now);
	if (setpcap != CAP_SET)
		return 0;
	for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits(); c++) {
		if (cap_get_bound(c) > 0 && cap_drop_bound(c) < 0) {
			int e = errno;
			snprintf(err, errlen, "sandbox: cannot drop capability %d from the bounding set: %s", (int)c, strerror(e));
			return -e;
		}
	}
	return 0;
}

/* Effective, permitted and inheritable all empty, then checked. */
static int drop_capabilities(char *err, size_t errlen)
{
	cap_t none = cap_init(), now = NULL;
	int ret = none && cap_set_proc(none) == 0 ? 0 : -errno;
	if (!ret) {
		now = cap_get_proc();
		ret = !now ? -errno : cap_compare(now, none) ? -EPERM : 0;
	}
	cap_free(now);
	cap_free(none);
	if (ret)
		snprintf(err, errlen, "sandbox: cannot drop vmm's capabilities: %s", strerror(-ret));
	return ret;
}

int sandbox_enter(const struct sandbox_config *cfg, char *err, size_t errlen)
{
	int ret;
	/* glibc's gmtime_r (the RTC) loads the time zone at its first call, which opens a file:
	 * load it now. */
	tzset();
	if ((ret = drop_bounding_set(err, errlen)))
		return ret;
	if (cap_reset_ambient() < 0) {
		int e = errno;
		snprintf(err, errlen, "sandbox: cannot clear the ambient capabilities: %s", strerror(e));
		return -e;
	}
	if (cfg->user && (ret = sandbox_switch_user(cfg->user, err, errlen)))
		return ret;
	if ((ret = drop_capabilities(err, errlen)))
		return ret;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		int e = errno;
		snprintf(err, errlen, "sandbox: cannot set no_new_privs: %s", strerror(e));
		return -e;
	}
	if (cfg->no_filter)
		return 0;
	on_forbidden = cfg->on_forbidden;
	if ((ret = install_sigsys_handler(err, errlen)))
		return ret;
	return install_filter(err, errlen);
}

void sandbox_make_forbidden_syscall(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		close(fd);
}

/* Decimal digits only, below (uid_t)-1, which means "unchanged" to setresuid. */
static bool parse_id(const char *s, size_t len, unsigned *out)
{
	unsigned long long v = 0;
	if (!len || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v >= 0xFFFFFFFFull)
		return false;
	*out = (unsigned)v;
	return true;
}

int sandbox_parse_user(const char *spec, const char *passwd_path, struct sandbox_user *user, char *err,
		       size_t errlen)
{
	memset(user, 0, sizeof(*user));
	size_t len = strlen(spec);
	if (!len || len >= sizeof(user->spec)) {
		snprintf(err, errlen, "bad --user value '%s': give a user name or UID:GID", spec);
		return -EINVAL;
	}
	memcpy(user->spec, spec, len + 1);
	const char *colon = strchr(spec, ':');
	if (colon) {
		unsigned uid, gid;
		if (!parse_id(spec, (size_t)(colon - spec), &uid) || !parse_id(colon + 1, strlen(colon + 1), &gid)) {
			snprintf(err, errlen, "bad --user value '%s': use UID:GID, two decimal numbers below 4294967295, or a user name",
				 spec);
			return -EINVAL;
		}
		user->uid = uid;
		user->gid = gid;
		return 0;
	}
	FILE *f = fopen(passwd_path, "re");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "cannot look up user '%s': %s: %s; give UID:GID instead", spec, passwd_path, strerror(e));
		return -ENOENT;
	}
	struct passwd *pw;
	bool found = false;
	while (!found && (pw = fgetpwent(f))) {
		if (!strcmp(pw->pw_name, spec)) {
			user->uid = pw->pw_uid;
			user->gid = pw->pw_gid;
			found = true;
		}
	}
	fclose(f);
	if (!found) {
		snprintf(err, errlen, "user '%s' is not in %s: give a user listed there, or UID:GID (numbers)", spec,
			 passwd_path);
		return -ENOENT;
	}
	return 0;
}
