/* vmm: command line, the main event loop, and the process's exit status. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "console.h"
#include "boot.h"
#include "cmdline.h"
#include "exitbench.h"
#include "layout.h"
#include "sandbox.h"
#include "vcpu.h"
#include "vm.h"

#ifndef VMM_VERSION
#define VMM_VERSION "0.0.0"
#endif

/* When main() began: the first guest's set-up time counts from it (--exit-stats). */
static uint64_t vmm_start_ns;

/* Exit statuses, documented in README.md. */
enum {
	EXIT_GUEST_POWEROFF = 0, /* also Ctrl-A x */
	EXIT_VMM_FAILURE = 1,
	EXIT_USAGE = 2,
	EXIT_NO_KVM = 3,
	EXIT_GUEST_RESET = 4,
	EXIT_FORBIDDEN_SYSCALL = SANDBOX_EXIT_FORBIDDEN_SYSCALL, /* by the SIGSYS handler (sandbox.c) */
	EXIT_SIGNAL_BASE = 128,
};


__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "vmm: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see vmm --help)\n");
	return EXIT_USAGE;
}

/* `vmm run`'s options (cmdline.c) and the test hook: VMM_TEST_FORBIDDEN_SYSCALL=1 (for the boot
 * test's sandbox scenario) makes the event loop do one forbidden system call once the first
 * guest runs. */
struct options {
	struct run_options run;
	bool test_forbidden_syscall;
};

static int parse_run(int argc, char **argv, struct options *o)
{
	char err[512] = "";
	int ret = cmdline_parse_run(argc, argv, SANDBOX_PASSWD_PATH, &o->run, err, sizeof(err));
	if (ret == CMDLINE_HELP) {
		fputs(cmdline_usage, stdout);
		return -1; /* done: status 0 */
	}
	if (ret)
		return usage_error("%s", err);
	const char *hook = getenv("VMM_TEST_FORBIDDEN_SYSCALL");
	o->test_forbidden_syscall = hook && !strcmp(hook, "1");
	return 0;
}

static int open_kvm(struct kvm *kvm)
{
	char err[256];
	int ret = kvm_open(kvm, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "vmm: %s\n", err);
		return EXIT_NO_KVM;
	}
	return 0;
}

static void print_exit_stats(struct vm *vm)
{
	uint64_t counts[EXIT_REASON_SLOTS];
	vm_exit_counts(vm, counts);
	fprintf(stderr, "vmm: exits:");
	for (unsigned r = 0; r < EXIT_REASON_SLOTS; r++)
		if (counts[r])
			fprintf(stderr, " %s=%llu", vm_exit_reason_name(r), (unsigned long long)counts[r]);
	fprintf(stderr, "\n");
	if (vm->exit_profile) {
		uint64_t first = atomic_load(&vm->first_run_ns);
		if (first)
			fprintf(stderr, "vmm: setup-ms: %.1f (vmm's start to the first KVM_RUN)\n",
				(double)(first - vm->start_ns) / 1e6);
		vm_print_setup_phases(vm, stderr);
		const struct exit_profile *prof[vm->ncpus ? vm->ncpus : 1];
		for (unsigned i = 0; i < vm->ncpus; i++)
			prof[i] = &vm->vcpus[i].prof;
		if (vm->vcpus)
			exit_profile_print(prof, vm->ncpus, 16, exit_profile_ticks_per_us(), vm_exit_reason_name, stderr);
	}
	uart8250_print_tx_stats(&vm->uart, stderr);
	if (vm->coalesced.ring || vm->coalesced.applied || vm->coalesced.bad)
		fprintf(stderr, "vmm: coalesced-io: writes=%llu bad=%llu (CF8 writes KVM queued instead of exiting)\n",
			(unsigned long long)vm->coalesced.applied, (unsigned long long)vm->coalesced.bad);
	else
		fprintf(stderr, "vmm: coalesced-io: off (KVM has no KVM_CAP_COALESCED_PIO)\n");
	vm_print_dma_stats(vm, stderr);
}

/* What the main loop watches besides the devices' fds. */
struct main_loop {
	struct vm *vm;
	int stdin_id;
	bool stdin_open, stdin_waiting; /* waiting: the UART's receive FIFO was full */
	struct console_escape esc;
};

/* Feeds terminal input to the UART, with the Ctrl-A escapes. Returns false at end of input. */
static bool handle_stdin(struct vm *vm, struct console_escape *esc)
{
	uint8_t buf[UART_FIFO_SIZE];
	unsigned room = uart8250_rx_room(&vm->uart);
	if (!room)
		return true;
	ssize_t n = read(STDIN_FILENO, buf, room);
	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN);
	size_t pos = 0;
	while (pos < (size_t)n) {
		size_t consumed, out;
		enum console_action act = console_filter(esc, buf + pos, n - pos, &consumed, &out);
		uart8250_receive(&vm->uart, buf + pos, (unsigned)out);
		pos += consumed;
		if (act == CONSOLE_QUIT)
			vm_request_stop(vm, VM_STOP_QUIT, "quit from the console (Ctrl-A x)");
		else if (act == CONSOLE_POWER_BUTTON)
			pm_press_power_button(&vm->pm);
		else if (act == CONSOLE_HELP)
			fprintf(stderr, "\r\nCtrl-A x: quit   Ctrl-A p: power button   Ctrl-A a: send Ctrl-A\r\n");
	}
	return true;
}

static bool on_stdin(void *opaque, int fd, unsigned revents)
{
	struct main_loop *m = opaque;
	(void)fd;
	if ((revents & (POLLHUP | POLLERR | POLLNVAL)) && !(revents & POLLIN)) {
		m->stdin_open = false;
		return false;
	}
	m->stdin_open = handle_stdin(m->vm, &m->esc);
	if (m->stdin_open && !uart8250_rx_room(&m->vm->uart)) {
		m->stdin_waiting = true; /* look again when the guest has read some */
		return false;
	}
	return m->stdin_open;
}

static bool on_signal(void *opaque, int fd, unsigned revents)
{
	struct main_loop *m = opaque;
	struct signalfd_siginfo si;
	(void)revents;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return true;
	if (si.ssi_signo == SIGUSR2) {
		print_exit_stats(m->vm);
		for (unsigned i = 0; i < m->vm->ncpus; i++)
			vcpu_request_state_log(&m->vm->vcpus[i]);
	} else if (si.ssi_signo == SIGTERM) {
		log_info("SIGTERM: pressing the ACPI power button");
		pm_press_power_button(&m->vm->pm);
	} else {
		m->vm->stop_signal = (int)si.ssi_signo; /* run_guest names it */
		vm_request_stop(m->vm, VM_STOP_SIGNAL, NULL);
	}
	return true;
}

static bool on_vm_event(void *opaque, int fd, unsigned revents)
{
	(void)opaque; (void)fd; (void)revents;
	return false; /* stop_reason is set; the loop ends */
}

/* Runs until the guest stops; returns the stop reason. The VM's loop also serves the devices'
 * fds, registered when they were created. */
static int event_loop(struct vm *vm, int sfd, bool forbidden_syscall, char *err, size_t errlen)
{
	struct main_loop m = { .vm = vm, .stdin_open = true };
	if (forbidden_syscall)
		sandbox_make_forbidden_syscall(); /* the filter ends vmm here */
	int ret;
	if ((ret = event_loop_add(&vm->loop, STDIN_FILENO, on_stdin, &m)) < 0 ||
	    event_loop_add(&vm->loop, sfd, on_signal, &m) < 0 || event_loop_add(&vm->loop, vm->event_fd, on_vm_event, &m) < 0) {
		snprintf(err, errlen, "event loop set-up failed: too many fds");
		return VM_STOP_ERROR;
	}
	m.stdin_id = ret;
	while (!atomic_load(&vm->stop_reason)) {
		/* While the UART's receive FIFO is full, look again shortly instead of reading. */
		ret = event_loop_run_once(&vm->loop, m.stdin_waiting ? 10 : -1);
		if (ret) {
			snprintf(err, errlen, "io_uring wait failed: %s", strerror(-ret));
			vm_request_stop(vm, VM_STOP_ERROR, err);
			break;
		}
		if (m.stdin_waiting && uart8250_rx_room(&vm->uart)) {
			m.stdin_waiting = false;
			event_loop_arm(&vm->loop, m.stdin_id);
		}
	}
	uart8250_tx_drain(&vm->uart); /* what the guest printed last goes before our exit lines */
	return atomic_load(&vm->stop_reason);
}

/* Least privilege from here on (the first VM is set up, no vCPU thread runs yet): sandbox.c. */
static int enter_sandbox(const struct options *o, char *err, size_t errlen)
{
	const struct sandbox_user *user = o->run.has_user ? &o->run.user : NULL;
	if (o->run.no_sandbox) {
		log_warn("--no-sandbox: vmm keeps its capabilities and runs without a seccomp filter");
		return user ? sandbox_switch_user(user, err, errlen) : 0;
	}
	if (SANDBOX_SANITIZER_BUILD)
		log_info("sanitizer build: privileges dropped, but no seccomp filter (the sanitizer runtime needs more)");
	struct sandbox_config cfg = { .user = user, .on_forbidden = console_restore, .no_filter = SANDBOX_SANITIZER_BUILD };
	return sandbox_enter(&cfg, err, errlen);
}

/* Runs the guest, and runs it again after each reset with --on-reboot=restart, every time on a
 * new VM built from `host`; returns vmm's exit status. */
static int run_guest(const struct options *o, struct vm_host *host, int sfd)
{
	bool sandboxed = false;
	uint64_t start_ns = vmm_start_ns; /* a restart's set-up counts from the reset */
	for (;;) {
		struct vm vm;
		char err[512] = "";
		struct vm_config cfg = o->run.vm;
		cfg.start_ns = start_ns;
		int ret = vm_create(&vm, host, &cfg, err, sizeof(err));
		if (!ret && !sandboxed) {
			ret = enter_sandbox(o, err, sizeof(err));
			sandboxed = true;
			vm_setup_mark(&vm, "sandbox");
		}
		if (!ret)
			ret = vm_start(&vm, err, sizeof(err));
		if (ret) {
			vm_destroy(&vm);
			console_restore();
			fprintf(stderr, "vmm: %s\n", err);
			/* A kernel, initrd or command line that cannot be loaded is bad input. */
			return ret == -ENOEXEC || ret == -E2BIG || ret == -EFBIG ? EXIT_USAGE : EXIT_VMM_FAILURE;
		}
		int reason = event_loop(&vm, sfd, o->test_forbidden_syscall, err, sizeof(err));
		int signo = vm.stop_signal;
		if (o->run.exit_stats)
			print_exit_stats(&vm); /* before vm_destroy frees the vCPUs and their counters */
		vm_destroy(&vm);
		switch (reason) {
		case VM_STOP_POWEROFF:
			log_info("guest powered off");
			return EXIT_GUEST_POWEROFF;
		case VM_STOP_RESET:
			if (o->run.restart_on_reboot) {
				log_info("guest reset (%s): restarting", vm.stop_detail);
				start_ns = exit_profile_now_ns();
				continue;
			}
			console_restore();
			fprintf(stderr, "vmm: guest reset (%s); exiting with status %d (use --on-reboot=restart to restart)\n",
				vm.stop_detail, EXIT_GUEST_RESET);
			return EXIT_GUEST_RESET;
		case VM_STOP_QUIT:
			log_info("%s", vm.stop_detail);
			return EXIT_GUEST_POWEROFF;
		case VM_STOP_SIGNAL:
			log_info("stopped by signal %d", signo);
			return EXIT_SIGNAL_BASE + signo;
		default:
			console_restore();
			fprintf(stderr, "vmm: the guest stopped on an error: %s\n", vm.stop_detail);
			return EXIT_VMM_FAILURE;
		}
	}
}

static int cmd_run(int argc, char **argv)
{
	struct options o;
	int status = parse_run(argc, argv, &o);
	if (status)
		return status < 0 ? 0 : status; /* -1: --help, printed */
	/* The files before KVM, so that a typo gets the right message anywhere: kind (a FIFO would
	 * block), boot header and sizes, without reading them whole. They stay open: each guest
	 * start reads them from these fds, also after the privilege drop. */
	struct vm_host host;
	char err[512] = "";
	if (vm_host_open_inputs(&host, &o.run.vm, err, sizeof(err))) {
		vm_host_close(&host);
		return usage_error("%s", err);
	}
	struct kvm kvm;
	if ((status = open_kvm(&kvm))) {
		vm_host_close(&host);
		return status;
	}
	if (kvm.max_vcpus > 0 && o.run.vm.ncpus > (unsigned)kvm.max_vcpus) {
		fprintf(stderr, "vmm: this KVM allows at most %d vCPUs\n", kvm.max_vcpus);
		vm_host_close(&host);
		return EXIT_USAGE;
	}
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR2);
	/* Blocked before any vCPU thread exists, so that only the signalfd sees them. */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0 || vcpu_signal_init()) {
		fprintf(stderr, "vmm: signal set-up failed: %s\n", strerror(errno));
		vm_host_close(&host);
		return EXIT_VMM_FAILURE;
	}
	/* The rest of what the VMs take from the host is opened now, while vmm still may. */
	int ret = vm_host_open(&host, &kvm, &o.run.vm, err, sizeof(err));
	if (ret) {
		vm_host_close(&host);
		fprintf(stderr, "vmm: %s\n", err);
		return ret == -ENOEXEC || ret == -E2BIG || ret == -EFBIG ? EXIT_USAGE : EXIT_VMM_FAILURE;
	}
	console_raw();
	status = run_guest(&o, &host, sfd);
	vm_host_close(&host);
	return status;
}

static int cmd_kvm_check(void)
{
	struct kvm kvm;
	int status = open_kvm(&kvm);
	if (status)
		return status;
	char err[256];
	if (exitbench_probe(&kvm, err, sizeof(err))) {
		fprintf(stderr, "vmm: %s\n", err);
		return EXIT_NO_KVM;
	}
	printf("kvm-check: ok (max vCPUs %d)\n", kvm.max_vcpus);
	kvm_close(&kvm);
	return 0;
}

static int cmd_bench_exit(int argc, char **argv)
{
	uint64_t n = 100000;
	if (argc > 2)
		return usage_error("unexpected argument '%s' after the iteration count", argv[2]);
	if (argc > 1 && cmdline_parse_count(argv[1], &n))
		return usage_error("bad iteration count '%s': use a whole number, 1 or more", argv[1]);
	struct kvm kvm;
	int status = open_kvm(&kvm);
	if (status)
		return status;
	struct exitbench_result r;
	char err[256];
	if (exitbench_run(&kvm, n, &r, err, sizeof(err))) {
		fprintf(stderr, "vmm: %s\n", err);
		return EXIT_VMM_FAILURE;
	}
	printf("bench-exit: iterations=%llu bare_ns_per_exit=%.0f dispatch_ns_per_exit=%.0f ratio=%.3f dispatcher_user_ns_per_exit=%.1f\n",
	       (unsigned long long)r.iterations, r.bare_ns_per_exit, r.dispatch_ns_per_exit,
	       r.dispatch_ns_per_exit / r.bare_ns_per_exit, r.dispatch_user_ns);
	kvm_close(&kvm);
	return 0;
}

int main(int argc, char **argv)
{
	vmm_start_ns = exit_profile_now_ns();
	exit_profile_ticks_per_us(); /* the TSC's base for the exit profile's conversion */
	const char *level = getenv("VMM_LOG");
	if (level && !strcmp(level, "debug"))
		vmm_log_level = LOG_DEBUG;
	if (argc < 2)
		return usage_error("%s", "no command given: try vmm run --kernel PATH");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(cmdline_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("vmm %s\n", VMM_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "kvm-check"))
		return cmd_kvm_check();
	if (!strcmp(argv[1], "bench-exit"))
		return cmd_bench_exit(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", argv[1]);
}
