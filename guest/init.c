/* /init of the default guest and of the test guest (build-guest.sh): mounts /proc, /sys and
 * /dev, loads the drivers for the devices the board has, prints the fixed marker lines (prefix
 * "VMM-GUEST: ") that the boot tests and the benchmark read, watches the power button,
 * and then does what the kernel command line asks (vmm.mode=shell|poweroff|reboot|wait|profile;
 * shell and profile go on in /etc/init-mode.sh under busybox sh).
 *
 * Why a program and not a shell script: under a nested guest's emulation a program start (fork,
 * exec, the page faults and code translation of a new process) costs about 100 ms (busybox acpid's
 * start took 75-180 ms), and the script this replaces started eight before its init-ready line
 * (its own shell, mount, two insmods, dmesg, awk, grep, acpid, ip). Here no program starts before
 * that line (the power button's watcher is a fork of this one; `ip` only with vmm.ip=); the rest
 * are system calls. What is left is the kernel's own work (module loading, /proc), which
 * the "init-steps-ms" line itemizes.
 *
 * Static (musl where installed, see meson.build), no dependency beyond libc. Markers and their
 * order are those of the script it replaces. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MARK "VMM-GUEST: "
/* syslog(2)'s actions, which glibc's <sys/klog.h> leaves unnamed. */
#define SYSLOG_ACTION_READ_ALL 3
#define SYSLOG_ACTION_SIZE_BUFFER 10

/* The first line of FILE into BUF without its newline; false if it cannot be read. */
static bool read_line(const char *file, char *buf, size_t size)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return false;
	bool ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/* Where init's own time goes, step by step (the "init-steps" line: ms per step), for the
 * benchmark's init_ms phase. */
static char steps[512];
static double step_start;

static double boottime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A line in the kernel's log (at KERN_INFO: "quiet" keeps it off the console), so that the boot
 * profile (init-mode.sh profile) sees init's start and end beside the kernel's own lines, on the
 * kernel's clock. */
static void kmsg(const char *line)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, line, strlen(line)) < 0) {
			/* Nothing to do: the log line is a diagnostic. */
		}
		close(fd);
	}
}

static void step_done(const char *name)
{
	double now = boottime_ms();
	size_t n = strlen(steps);
	snprintf(steps + n, sizeof(steps) - n, "%s%s=%.0f", n ? " " : "", name, now - step_start);
	step_start = now;
}

/* The first word of /proc/uptime ("12.34"), as the script printed it. */
static void uptime(char *buf, size_t size)
{
	if (!read_line("/proc/uptime", buf, size))
		snprintf(buf, size, "?");
	buf[strcspn(buf, " ")] = '\0';
}

static void mount_early(void)
{
	static const struct { const char *src, *dir, *type; } m[] = {
		{ "proc", "/proc", "proc" }, { "sysfs", "/sys", "sysfs" }, { "devtmpfs", "/dev", "devtmpfs" },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (mount(m[i].src, m[i].dir, m[i].type, 0, NULL) < 0 && errno != EBUSY)
			printf(MARK "mount-failed=%s\n", m[i].dir);
}

/* Whether the board has a virtio PCI device (vendor 0x1af4): its drivers load only then, as
 * udev would load them. */
static bool has_virtio_pci(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	if (!d)
		return false;
	bool found = false;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		char path[300], v[32];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		found = read_line(path, v, sizeof(v)) && strcmp(v, "0x1af4") == 0;
	}
	closedir(d);
	return found;
}

/* Loads each module named in LIST (one file name of /lib/modules per line, dependencies first). */
static void load_modules(const char *list)
{
	FILE *f = fopen(list, "r");
	if (!f)
		return;
	char name[256];
	while (fgets(name, sizeof(name), f)) {
		name[strcspn(name, "\n")] = '\0';
		if (!name[0])
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/lib/modules/%s", name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
			printf(MARK "insmod-failed=%s\n", name);
		if (fd >= 0)
			close(fd);
	}
	fclose(f);
}

/* The kernel's log as dmesg prints it: each record's "<level>" prefix removed (in place: the
 * text only gets shorter). */
static char *kernel_log(void)
{
	int size = klogctl(SYSLOG_ACTION_SIZE_BUFFER, NULL, 0);
	if (size <= 0)
		size = 1 << 20;
	char *raw = malloc((size_t)size + 1);
	if (!raw)
		return NULL;
	int n = klogctl(SYSLOG_ACTION_READ_ALL, raw, size);
	if (n < 0)
		n = 0;
	size_t o = 0;
	bool line_start = true;
	for (int i = 0; i < n; i++) {
		if (line_start && raw[i] == '<') {
			int j = i + 1;
			while (j < n && raw[j] >= '0' && raw[j] <= '9')
				j++;
			if (j < n && raw[j] == '>' && j > i + 1) {
				i = j;
				line_start = false;
				continue;
			}
		}
		line_start = raw[i] == '\n';
		raw[o++] = raw[i];
	}
	raw[o] = '\0';
	return raw;
}

static bool is_acpi_error(const char *line)
{
	return strstr(line, "ACPI Error") || strstr(line, "ACPI BIOS Error");
}

/* The markers taken from /proc and then from the kernel log (print_log_markers), in the order
 * the tests have always seen. */
static void print_proc_markers(void)
{
	char line[1024];
	FILE *f;

	/* text-base: the kernel's KASLR base, so that a stalled guest's RIPs can be named
	 * (tests/nested/l2-rips.py); _text comes right after the per-CPU symbols, so the read stops
	 * early. */
	char text[32] = "";
	if ((f = fopen("/proc/kallsyms", "r"))) {
		while (fgets(line, sizeof(line), f)) {
			char addr[32], type[8], sym[256];
			if (sscanf(line, "%31s %7s %255s", addr, type, sym) == 3 && strcmp(sym, "_text") == 0) {
				snprintf(text, sizeof(text), "%s", addr);
				break;
			}
		}
		fclose(f);
	}
	printf(MARK "text-base=%s\n", text);
	step_done("kallsyms");

	/* modules: where each module's code is (name@address): the NPF-loop stalls of
	 * tests/nested/CRASH-STUDY.md stop at one RIP in module space. */
	printf(MARK "modules=");
	if ((f = fopen("/proc/modules", "r"))) {
		const char *sep = "";
		while (fgets(line, sizeof(line), f)) {
			char name[64], addr[32];
			if (sscanf(line, "%63s %*s %*s %*s %*s %31s", name, addr) == 2) {
				printf("%s%s@%s", sep, name, addr);
				sep = ",";
			}
		}
		fclose(f);
	}
	printf("\n");

	int cpus = 0;
	if ((f = fopen("/proc/cpuinfo", "r"))) {
		while (fgets(line, sizeof(line), f))
			cpus += strncmp(line, "processor", 9) == 0;
		fclose(f);
	}
	printf(MARK "cpus=%d\n", cpus);

	char mem[32] = "";
	if ((f = fopen("/proc/meminfo", "r"))) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "MemTotal: %31s", mem) == 1)
				break;
		fclose(f);
	}
	printf(MARK "memtotal-kb=%s\n", mem);
	step_done("proc");
}

static void print_log_markers(void)
{
	/* The kernel log: ACPI errors (each line printed too), KVM, the IOMMU as the guest sees it
	 * (DMAR lines; ir-mode: the interrupt remapping mode Linux chose, "x2apic" or "xapic", "off"
	 * without it) and the ECAM window reserved. */
	int acpi_err = 0, kvm = 0, dmar = 0, mmcfg = 0;
	char ir[32] = "";
	char *log = kernel_log();
	char *end = log ? log + strlen(log) : NULL;
	/* Split into lines in place; the ACPI error lines are printed from a second walk below. */
	for (char *l = log, *next; l && l < end; l = next) {
		next = l + strcspn(l, "\n");
		*next++ = '\0';
		acpi_err += is_acpi_error(l);
		kvm += strstr(l, "Hypervisor detected: KVM") != NULL;
		dmar += strstr(l, "DMAR: IOMMU enabled") ||
			strstr(l, "DMAR: Intel(R) Virtualization Technology for Directed I/O");
		const char *p = strstr(l, "DMAR-IR: Enabled IRQ remapping in ");
		if (p && !ir[0] && strstr(p, " mode"))
			sscanf(p + strlen("DMAR-IR: Enabled IRQ remapping in "), "%31[a-z0-9]", ir);
		p = strstr(l, "MMCONFIG at [mem 0x");
		mmcfg += p && strstr(p, "] reserved");
	}
	step_done("klog");

	char group[64];
	if (!read_line("/sys/bus/pci/devices/0000:00:01.0/iommu_group/type", group, sizeof(group)))
		snprintf(group, sizeof(group), "none");

	printf(MARK "acpi-errors=%d\n", acpi_err);
	for (char *l = log; acpi_err && l && l < end; l += strlen(l) + 1)
		if (is_acpi_error(l))
			printf(MARK "acpi-error-line: %s\n", l);
	free(log);
	printf(MARK "kvm-hypervisor=%d\n", kvm);
	printf(MARK "dmar-enabled=%d\n", dmar);
	printf(MARK "iommu-group-type=%s\n", group);
	printf(MARK "ir-mode=%s\n", ir[0] ? ir : "off");
	printf(MARK "mmconfig=%d\n", mmcfg);
}

/* The power button, read from its input device (evdev) by a child of init: what busybox acpid did
 * for us, without a program start on the boot's critical path (acpid's exec and daemonizing took
 * 75-180 ms of init's work in the nested L1). The kernel's path is the same: the board's SCI, the
 * ACPI button driver, an input event. The input ABI (include/uapi/linux/input.h and
 * input-event-codes.h), named here because musl's headers have no <linux/...>. */
#define EV_KEY 0x01
#define KEY_POWER 116
struct input_event_abi {
	long tv_sec, tv_usec; /* struct timeval on x86-64 */
	unsigned short type, code;
	int value;
};
_Static_assert(sizeof(struct input_event_abi) == 24, "struct input_event is 24 bytes on x86-64");
#define MAX_BUTTONS 4

/* Opens the event device of every input device named "Power Button" (ACPI's fixed-feature button
 * and a PNP0C0C one, where the board has both) into FDS; waits at most 5 s for the first, which
 * comes 60-90 ms after the button module is loaded. The count opened. */
static int open_power_buttons(int fds[MAX_BUTTONS])
{
	int n = 0;
	for (int i = 0; i < 50 && n == 0; i++) {
		if (i)
			usleep(100 * 1000);
		FILE *f = fopen("/proc/bus/input/devices", "r");
		if (!f)
			continue;
		char line[512];
		bool button = false;
		while (n < MAX_BUTTONS && fgets(line, sizeof(line), f)) {
			if (strncmp(line, "N: ", 3) == 0)
				button = strstr(line, "\"Power Button\"") != NULL;
			char *ev = strstr(line, "event");
			if (!button || strncmp(line, "H: ", 3) != 0 || !ev)
				continue;
			char path[64];
			snprintf(path, sizeof(path), "/dev/input/%.*s", (int)strspn(ev, "eventn0123456789"), ev);
			/* devtmpfs makes the node a moment after the device is listed. */
			int fd = -1;
			for (int tries = 0; tries < 20 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 && errno == ENOENT; tries++)
				usleep(10 * 1000);
			if (fd >= 0)
				fds[n++] = fd;
			button = false;
		}
		fclose(f);
	}
	return n;
}

/* The watcher: counts presses (each printed for the tests), and at the NEED-th
 * (vmm.pwrbtn-presses=, default 1) syncs and powers off, as `poweroff -f` would. Forked after the
 * devices are open, so that a press right after the init-ready line is not lost. */
static void watch_power_buttons(const int fds[], int n, int need)
{
	fd_set all;
	FD_ZERO(&all);
	int maxfd = -1;
	for (int i = 0; i < n; i++) {
		FD_SET(fds[i], &all);
		maxfd = fds[i] > maxfd ? fds[i] : maxfd;
	}
	for (int presses = 0;;) {
		fd_set ready = all;
		if (select(maxfd + 1, &ready, NULL, NULL, NULL) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (int i = 0; i < n; i++) {
			struct input_event_abi ev[16];
			ssize_t got;
			if (!FD_ISSET(fds[i], &ready) || (got = read(fds[i], ev, sizeof(ev))) <= 0)
				continue;
			for (size_t k = 0; k < (size_t)got / sizeof(ev[0]); k++) {
				if (ev[k].type != EV_KEY || ev[k].code != KEY_POWER || ev[k].value != 1)
					continue;
				printf(MARK "power-button %d\n", ++presses);
				if (presses >= need) {
					sync();
					reboot(RB_POWER_OFF);
				}
			}
		}
	}
}

/* Starts ARGV (a busybox applet by its path): its pid, or -1. */
static pid_t start(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Waits for a started program: its exit status, or -1. */
static int finish(pid_t pid)
{
	int status;
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run(char *const argv[])
{
	return finish(start(argv));
}

static void link_up(const char *ifname)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

int main(void)
{
	/* Markers go to the console as they are printed: a guest that dies mid-way shows how far it
	 * got. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The kernel starts init with HOME and TERM only; the shell's children find busybox's
	 * applets through PATH. */
	setenv("PATH", "/sbin:/usr/sbin:/bin:/usr/bin", 0);
	mount_early();
	kmsg("<6>vmm-init: /proc, /sys and /dev mounted");
	char up[32];
	uptime(up, sizeof(up));
	step_start = boottime_ms();
	load_modules("/etc/modules.load");
	step_done("modules");
	if (has_virtio_pci()) {
		load_modules("/etc/modules.virtio");
		step_done("virtio-modules");
	}

	char kver[128] = "";
	read_line("/proc/sys/kernel/osrelease", kver, sizeof(kver));
	printf(MARK "uptime-at-init=%s\n", up);
	printf(MARK "kernel=%s\n", kver);

	/* The power button's input device comes 60-90 ms after its module is loaded, so the /proc
	 * markers (100-200 ms) come first, and the wait for it is mostly over by then. */
	print_proc_markers();
	int buttons[MAX_BUTTONS];
	int nbuttons = open_power_buttons(buttons);
	step_done("button-wait");

	/* The command line, read once: the watcher forked below takes its press count from it. */
	char mode[32] = "shell", ip[64] = "";
	int pwrbtn_presses = 1;
	static char cmdline[4096];
	read_line("/proc/cmdline", cmdline, sizeof(cmdline));
	for (char *w = strtok(cmdline, " "); w; w = strtok(NULL, " ")) {
		if (strncmp(w, "vmm.mode=", 9) == 0)
			snprintf(mode, sizeof(mode), "%s", w + 9);
		else if (strncmp(w, "vmm.ip=", 7) == 0)
			snprintf(ip, sizeof(ip), "%s", w + 7);
		else if (strncmp(w, "vmm.pwrbtn-presses=", 19) == 0)
			pwrbtn_presses = atoi(w + 19);
	}
	if (nbuttons > 0) {
		fflush(stdout);
		pid_t watcher = fork();
		if (watcher == 0)
			watch_power_buttons(buttons, nbuttons, pwrbtn_presses);
		for (int i = 0; i < nbuttons; i++)
			close(buttons[i]);
		if (watcher > 0)
			printf(MARK "power-button=watched devices=%d\n", nbuttons);
		else
			printf(MARK "power-button=unwatched (fork: %s)\n", strerror(errno));
	} else {
		printf(MARK "power-button=missing\n");
	}
	print_log_markers();
	step_done("sys");

	link_up("lo");
	if (ip[0]) {
		char *addr[] = { "/sbin/ip", "addr", "add", ip, "dev", "eth0", NULL };
		char *up_eth[] = { "/sbin/ip", "link", "set", "eth0", "up", NULL };
		if (run(addr) == 0 && run(up_eth) == 0)
			printf(MARK "eth0=%s\n", ip);
		else
			printf(MARK "eth0-failed\n");
	}
	step_done("net");

	/* The kernel's uptime here too: the benchmark's phases split the time from init's start
	 * (above) to this line, init's own work, from the time before the guest's clock started. */
	char ready[32];
	uptime(ready, sizeof(ready));
	kmsg("<6>vmm-init: ready");
	printf(MARK "init-steps-ms: %s\n", steps);
	printf(MARK "uptime-at-ready=%s\n", ready);
	printf(MARK "init-ready mode=%s\n", mode);

	if (strcmp(mode, "poweroff") == 0 || strcmp(mode, "reboot") == 0) {
		sync();
		reboot(strcmp(mode, "poweroff") == 0 ? RB_POWER_OFF : RB_AUTOBOOT);
		return 1;
	}
	if (strcmp(mode, "wait") == 0) {
		/* Whatever ends (the watcher does not) is reaped by the kernel. */
		signal(SIGCHLD, SIG_IGN);
		for (;;)
			pause();
	}
	/* shell, profile and anything else: busybox sh goes on (the interactive shell on the
	 * console, or the profile's awk). */
	char *sh[] = { "/bin/sh", "/etc/init-mode.sh", mode, NULL };
	execv(sh[0], sh);
	printf(MARK "init-mode-failed\n");
	for (;;)
		pause();
}
