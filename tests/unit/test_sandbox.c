/* The sandbox vmm enters once set up (vmm/sandbox.c), applied with the same function in forked
 * children, no KVM needed: /proc/PID/status shows no capability, no_new_privs and one more
 * seccomp filter (and uid 65534 with --user where the test runs as root); the calls vmm makes after set-up
 * work (its event loop on the shared ring, threads, malloc, a tap watch's rtnetlink socket read
 * and its TUNGETIFF); a forbidden one (a socket, a new io_uring, a new process) ends the child
 * with status 5 and vmm's one line on stderr. Also
 * --user's parsing, and the event loop's restricted ring shared by successive loops (a guest
 * restart after the drop). Without the filter the children fail: their Seccomp line is not 2 and
 * the forbidden call returns. A sanitizer build installs no filter (SANDBOX_SANITIZER_BUILD, as
 * vmm): there the children check the rest and end after the allowed calls. */
#define _GNU_SOURCE /* setresuid, setresgid */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../virtio/tap_watch.h"
#include "../../vmm/event_loop.h"
#include "../../vmm/sandbox.h"
#include "check.h"

#define NOBODY 65534

enum forbidden { FORBID_SOCKET, FORBID_IO_URING_SETUP, FORBID_FORK };
static const char *const forbidden_names[] = { "socket", "io_uring_setup", "clone" };

/* ---- --user ---- */

static void test_parse_user(void)
{
	char path[] = "/tmp/vmm-test-passwd-XXXXXX", err[256];
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	const char passwd[] = "root:x:0:0:root:/root:/bin/sh\nalice:x:1234:5678:Alice:/home/alice:/bin/sh\n";
	CHECK_EQ(write(fd, passwd, sizeof(passwd) - 1), sizeof(passwd) - 1);
	close(fd);
	struct sandbox_user u;
	CHECK_EQ(sandbox_parse_user("alice", path, &u, err, sizeof(err)), 0);
	CHECK_EQ(u.uid, 1234);
	CHECK_EQ(u.gid, 5678);
	CHECK_EQ(sandbox_parse_user("65534:65534", path, &u, err, sizeof(err)), 0);
	CHECK_EQ(u.uid, NOBODY);
	CHECK_EQ(u.gid, NOBODY);
	CHECK_EQ(sandbox_parse_user("0:0", path, &u, err, sizeof(err)), 0);
	CHECK_EQ(sandbox_parse_user("bob", path, &u, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "user 'bob' is not in ") && strstr(err, "UID:GID"));
	CHECK_EQ(sandbox_parse_user("1000", path, &u, err, sizeof(err)), -ENOENT); /* a name, without ':' */
	CHECK_EQ(sandbox_parse_user("alice", "/nonexistent/passwd", &u, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "give UID:GID instead") != NULL);
	static const char *const bad[] = { "", ":", "1:", ":1", "a:b", "1:b", "1:2:3", "-1:0", "+1:0", " 1:0",
					   "4294967295:0", "0:4294967295", "99999999999:1", "1:0x10" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = sandbox_parse_user(bad[i], path, &u, err, sizeof(err));
		CHECK_EQ(ret, -EINVAL);
		if (ret != -EINVAL)
			fprintf(stderr, "--user '%s' was taken\n", bad[i]);
	}
	unlink(path);
}

/* ---- the event loop's ring ---- */

static int fired[2];
static bool on_event(void *opaque, int fd, unsigned revents)
{
	uint64_t v;
	(void)revents;
	if (read(fd, &v, sizeof(v)) == sizeof(v))
		fired[(intptr_t)opaque]++;
	return true;
}

/* The ring refuses what the loop never queues, and two loops in turn on it (a guest restart) do
 * not see each other's completions. */
static void test_shared_ring(void)
{
	struct io_uring ring;
	bool restricted;
	CHECK_EQ(event_ring_open(&ring, &restricted), 0);
	if (restricted) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		io_uring_prep_nop(sqe);
		CHECK_EQ(io_uring_submit(&ring), 1);
		struct io_uring_cqe *cqe;
		CHECK_EQ(io_uring_wait_cqe(&ring, &cqe), 0);
		CHECK_EQ(cqe->res, -EACCES);
		io_uring_cqe_seen(&ring, cqe);
	} else {
		printf("sandbox: this kernel cannot restrict an io_uring ring (before 5.10): not checked\n");
	}
	int efd[2] = { eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
	struct event_loop a, b;
	event_loop_init_on(&a, &ring);
	CHECK(event_loop_add(&a, efd[0], on_event, (void *)0) >= 0);
	CHECK_EQ(event_loop_run_once(&a, 0), 0); /* submits the poll */
	event_loop_destroy(&a);
	CHECK_EQ(io_uring_cq_ready(&ring), 0); /* the cancelled poll's completion is reaped */
	event_loop_init_on(&b, &ring);
	CHECK_EQ(event_loop_add(&b, efd[1], on_event, (void *)1), 0); /* the same id as a's source */
	uint64_t one = 1;
	CHECK_EQ(write(efd[0], &one, sizeof(one)), sizeof(one));
	CHECK_EQ(write(efd[1], &one, sizeof(one)), sizeof(one));
	for (int i = 0; i < 5 && !fired[1]; i++)
		CHECK_EQ(event_loop_run_once(&b, 1000), 0);
	CHECK_EQ(fired[0], 0);
	CHECK_EQ(fired[1], 1);
	event_loop_destroy(&b);
	event_ring_close(&ring);
	close(efd[0]);
	close(efd[1]);
}

/* ---- the sandbox in a child ---- */

static void *thread_body(void *arg)
{
	void *p = malloc(300 << 10); /* a thread's arena, then an mmap'd block */
	void *q = malloc(100);
	free(p);
	free(q);
	uint64_t one = 1;
	return write(*(int *)arg, &one, sizeof(one)) == sizeof(one) ? arg : NULL;
}

#define CHILD_FAIL(...) (fprintf(stderr, "child: FAIL: " __VA_ARGS__), fputc('\n', stderr), _exit(30))

/* What vmm does after the drop, each step checked; then the forbidden call. `watch`: a tap's
 * watch, its rtnetlink socket opened before the drop. */
static void child_after_drop(struct io_uring *ring, struct tap_watch *watch, enum forbidden what)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		CHILD_FAIL("eventfd: %s", strerror(errno));
	struct event_loop l;
	event_loop_init_on(&l, ring);
	fired[0] = 0;
	if (event_loop_add(&l, efd, on_event, (void *)0) < 0)
		CHILD_FAIL("event_loop_add");
	pthread_t t;
	if (pthread_create(&t, NULL, thread_body, &efd))
		CHILD_FAIL("pthread_create (clone3 refused, clone with CLONE_THREAD allowed)");
	void *ret;
	if (pthread_join(t, &ret) || ret != &efd)
		CHILD_FAIL("the thread failed");
	for (int i = 0; i < 5 && !fired[0]; i++)
		if (event_loop_run_once(&l, 1000))
			CHILD_FAIL("event_loop_run_once");
	if (fired[0] != 1)
		CHILD_FAIL("the event loop did not see the thread's eventfd write");
	event_loop_destroy(&l);
	void *big = malloc(64 << 20);
	if (!big)
		CHILD_FAIL("malloc of 64 MiB");
	memset(big, 1, 1 << 20);
	free(big);
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) || time(NULL) == (time_t)-1)
		CHILD_FAIL("the clocks");
	struct tm tm;
	time_t now = time(NULL);
	if (!gmtime_r(&now, &tm))
		CHILD_FAIL("gmtime_r");
	if (!SANDBOX_SANITIZER_BUILD && (open("/etc/passwd", O_RDONLY) != -1 || errno != EACCES))
		CHILD_FAIL("open() after the drop is not refused with EACCES");
	/* --net: link notifications read (recvfrom), the tap asked whether it is attached (TUNGETIFF,
	 * here on an fd that is no tap). */
	int nl_err = 0;
	if (tap_watch_read(watch, &nl_err) == TAP_WATCH_FAILED)
		CHILD_FAIL("reading the rtnetlink socket: %s", strerror(nl_err));
	if (tap_detached(&(struct tap){ .fd = efd }))
		CHILD_FAIL("an eventfd taken for a detached tap");
	close(efd);
	fprintf(stderr, "child: allowed calls done\n");
	if (SANDBOX_SANITIZER_BUILD)
		_exit(0);
	switch (what) {
	case FORBID_SOCKET:
		sandbox_make_forbidden_syscall();
		break;
	case FORBID_IO_URING_SETUP: {
		struct io_uring other; /* a ring without restrictions would bypass them */
		if (!io_uring_queue_init(4, &other, 0))
			io_uring_queue_exit(&other);
		break;
	}
	case FORBID_FORK: {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		break;
	}
	}
	fprintf(stderr, "child: FAIL: the forbidden %s call returned\n", forbidden_names[what]);
	_exit(40);
}

static unsigned long long status_field(const char *status, const char *key)
{
	const char *p = strstr(status, key);
	return p ? strtoull(p + strlen(key), NULL, 16) : ~0ULL;
}

static bool status_has(const char *status, const char *line)
{
	return strstr(status, line) != NULL;
}

/* The line `key` with its trailing blanks dropped (the Groups line ends in one on older kernels). */
static bool status_line_is(const char *status, const char *key, const char *value)
{
	const char *p = strstr(status, key);
	if (!p)
		return false;
	p += strlen(key);
	size_t len = strcspn(p, "\n");
	while (len && p[len - 1] == ' ')
		len--;
	return len == strlen(value) && !memcmp(p, value, len);
}

/* One child: sandbox_enter as vmm calls it (as root with `user` switching to 65534, or already
 * unprivileged), /proc/PID/status checked from here, then the allowed calls and `what`. */
static void run_child(const char *label, bool become_nobody_first, bool switch_user, enum forbidden what,
		      unsigned long long parent_filters)
{
	int ready[2], go[2], errp[2];
	CHECK(pipe(ready) == 0 && pipe(go) == 0 && pipe(errp) == 0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		close(errp[0]);
		dup2(errp[1], STDERR_FILENO);
		if (become_nobody_first && (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
					    setresuid(NOBODY, NOBODY, NOBODY)))
			CHILD_FAIL("cannot become nobody: %s", strerror(errno));
		/* Set up before the drop, as vmm's vm_host: the ring, a tap watch's rtnetlink socket. */
		struct io_uring ring;
		bool restricted;
		if (event_ring_open(&ring, &restricted))
			CHILD_FAIL("event_ring_open");
		struct tap_watch watch = { .fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE),
					   .ifindex = 1 };
		struct sockaddr_nl groups = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
		if (watch.fd < 0 || bind(watch.fd, (struct sockaddr *)&groups, sizeof(groups)))
			CHILD_FAIL("rtnetlink socket: %s", strerror(errno));
		char err[512];
		struct sandbox_user nobody = { .uid = NOBODY, .gid = NOBODY, .spec = "65534:65534" };
		if (become_nobody_first && sandbox_switch_user(&(struct sandbox_user){ .uid = 1, .gid = 1, .spec = "1:1" },
							       err, sizeof(err)) != -EPERM)
			CHILD_FAIL("an unprivileged --user switch was not refused");
		else if (become_nobody_first && !strstr(err, "needs vmm to start as root"))
			CHILD_FAIL("the refused --user switch says '%s'", err);
		struct sandbox_config cfg = { .user = switch_user ? &nobody : NULL, .no_filter = SANDBOX_SANITIZER_BUILD };
		if (sandbox_enter(&cfg, err, sizeof(err)))
			CHILD_FAIL("sandbox_enter: %s", err);
		char c = 'r';
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			CHILD_FAIL("the parent went away");
		child_after_drop(&ring, &watch, what);
	}
	close(ready[1]);
	close(go[0]);
	close(errp[1]);
	char c;
	bool entered = read(ready[0], &c, 1) == 1;
	CHECK(entered);
	char path[64], status[4096] = "";
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f) {
		size_t n = fread(status, 1, sizeof(status) - 1, f);
		status[n] = '\0';
		fclose(f);
	}
	if (entered) {
		const char *caps[] = { "CapInh:", "CapPrm:", "CapEff:", "CapAmb:" };
		for (size_t i = 0; i < 4; i++)
			CHECK_EQ(status_field(status, caps[i]), 0);
		if (geteuid() == 0 && !become_nobody_first) /* with CAP_SETPCAP, the bounding set goes too */
			CHECK_EQ(status_field(status, "CapBnd:"), 0);
		CHECK(status_has(status, "NoNewPrivs:\t1\n"));
		if (!SANDBOX_SANITIZER_BUILD)
			CHECK(status_has(status, "Seccomp:\t2\n"));
		if (parent_filters != ~0ULL && !SANDBOX_SANITIZER_BUILD)
			CHECK_EQ(strtoull(strstr(status, "Seccomp_filters:") + 16, NULL, 10), parent_filters + 1);
		if (switch_user || become_nobody_first) {
			CHECK(status_line_is(status, "Uid:", "\t65534\t65534\t65534\t65534"));
			CHECK(status_line_is(status, "Gid:", "\t65534\t65534\t65534\t65534"));
		}
		if (switch_user)
			CHECK(status_line_is(status, "Groups:", "\t65534"));
	}
	c = 'g';
	CHECK_EQ(write(go[1], &c, 1), 1);
	close(go[1]);
	int ws;
	CHECK_EQ(waitpid(pid, &ws, 0), pid);
	char out[4096];
	ssize_t n = read(errp[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(errp[0]);
	close(ready[0]);
	char want[128];
	snprintf(want, sizeof(want), "vmm: seccomp: forbidden system call %d (%s) \xe2\x80\x94 ",
		 what == FORBID_SOCKET ? SYS_socket : what == FORBID_IO_URING_SETUP ? SYS_io_uring_setup : SYS_clone,
		 forbidden_names[what]);
	bool ok = SANDBOX_SANITIZER_BUILD ? WIFEXITED(ws) && WEXITSTATUS(ws) == 0
					  : WIFEXITED(ws) && WEXITSTATUS(ws) == SANDBOX_EXIT_FORBIDDEN_SYSCALL && strstr(out, want);
	ok = ok && strstr(out, "child: allowed calls done") && !strstr(out, "FAIL");
	CHECK(ok);
	if (!ok)
		fprintf(stderr, "%s: child ended with %s %d, its stderr:\n%s--- (wanted status %d and '%s')\n", label,
			WIFEXITED(ws) ? "status" : "signal", WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws), out,
			SANDBOX_EXIT_FORBIDDEN_SYSCALL, want);
	if (!entered || !ok)
		fprintf(stderr, "%s: the child's /proc status:\n%s", label, status);
}

int main(void)
{
	if (SANDBOX_SANITIZER_BUILD)
		printf("sandbox: sanitizer build: no seccomp filter (as vmm), its checks skipped\n");
	test_parse_user();
	test_shared_ring();
	char self[4096] = "";
	FILE *f = fopen("/proc/self/status", "r");
	if (f) {
		size_t n = fread(self, 1, sizeof(self) - 1, f);
		self[n] = '\0';
		fclose(f);
	}
	/* Seccomp_filters (Linux 5.9+): the child must have exactly one more than this process. */
	const char *line = strstr(self, "Seccomp_filters:");
	unsigned long long filters = line ? strtoull(line + 16, NULL, 10) : ~0ULL;
	if (geteuid() == 0) {
		run_child("root, --user 65534:65534", false, true, FORBID_SOCKET, filters);
		run_child("root, --user 65534:65534", false, true, FORBID_IO_URING_SETUP, filters);
		run_child("root, --user 65534:65534", false, true, FORBID_FORK, filters);
		/* Staying root: only the drop itself empties the sets (a uid switch would too). */
		run_child("root, no --user", false, false, FORBID_SOCKET, filters);
		run_child("unprivileged (no capabilities to drop)", true, false, FORBID_SOCKET, filters);
	} else {
		printf("sandbox: not root: the unprivileged case only (no --user switch)\n");
		run_child("unprivileged", false, false, FORBID_SOCKET, filters);
	}
	return check_report("sandbox");
}
