// SPDX-License-Identifier: GPL-2.0-only
/* pty-run: runs a command with a pseudo-terminal as its stdin and stdout, as a user's shell
 * would, for the boot scenario that checks vmm's console on a real terminal (console_tty in
 * tests/boot/scenarios.sh). The suite otherwise gives vmm a FIFO, which is not a terminal, so
 * vmm's raw mode and its restore at exit (where a forbidden TCGETS once killed vmm with SIGSYS
 * after every power-off) ran only when a user typed at it.
 *
 *   pty-run [-e TEXT -s BYTES]... -- COMMAND [ARGS...]
 *
 * Copies the command's terminal output to stdout. Each -e/-s pair, in order: once TEXT has
 * appeared in the output, BYTES (C escapes: \r \n \\ \NNN octal) are typed into the terminal.
 * The command's stderr is pty-run's. When the command has ended, prints one line saying whether
 * the terminal's modes are what they were before it started, then exits with the command's
 * status (128 + N for signal N). Static (the nested L1 takes static binaries only). */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define MAX_STEPS 8
#define WINDOW 4096 /* the output kept for matching TEXT */

struct step {
	const char *expect;
	char bytes[256];
	size_t len;
};

static size_t unescape(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	while (*s && n < cap) {
		if (*s != '\\' || !s[1]) {
			out[n++] = *s++;
			continue;
		}
		s++;
		if (*s == 'r') { out[n++] = '\r'; s++; }
		else if (*s == 'n') { out[n++] = '\n'; s++; }
		else if (*s >= '0' && *s <= '7') {
			unsigned v = 0;
			for (int i = 0; i < 3 && *s >= '0' && *s <= '7'; i++)
				v = v * 8 + (unsigned)(*s++ - '0');
			out[n++] = (char)v;
		} else
			out[n++] = *s++;
	}
	return n;
}

static int usage(void)
{
	fprintf(stderr, "usage: pty-run [-e TEXT -s BYTES]... -- COMMAND [ARGS...]\n");
	return 2;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct step steps[MAX_STEPS];
	unsigned nsteps = 0;
	int i = 1;
	for (; i < argc && strcmp(argv[i], "--"); i += 4) {
		if (i + 3 >= argc || strcmp(argv[i], "-e") || strcmp(argv[i + 2], "-s") || nsteps == MAX_STEPS)
			return usage();
		steps[nsteps].expect = argv[i + 1];
		steps[nsteps].len = unescape(argv[i + 3], steps[nsteps].bytes, sizeof(steps[nsteps].bytes));
		nsteps++;
	}
	if (i + 1 >= argc)
		return usage();
	char **cmd = argv + i + 1;

	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master)) {
		perror("pty-run: posix_openpt");
		return 125;
	}
	const char *slave_path = ptsname(master);
	int slave = slave_path ? open(slave_path, O_RDWR | O_NOCTTY) : -1;
	struct termios before;
	if (slave < 0 || tcgetattr(slave, &before)) {
		perror("pty-run: the terminal's slave side");
		return 125;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("pty-run: fork");
		return 125;
	}
	if (pid == 0) {
		/* A session of its own with the terminal as its controlling terminal, as a login
		 * shell's child has; and it dies with pty-run (the suite stops a scenario with
		 * SIGKILL). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setsid();
		int fd = open(slave_path, O_RDWR);
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0) {
			perror("pty-run: the command's terminal");
			_exit(125);
		}
		close(fd);
		close(master);
		close(slave);
		execvp(cmd[0], cmd);
		perror("pty-run: exec");
		_exit(127);
	}
	/* pty-run keeps the slave open: the terminal's modes can be read after the command ends. */
	char window[WINDOW + 1];
	size_t wlen = 0;
	unsigned next = 0;
	int status = 0;
	int done = 0;
	while (!done) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		int r = poll(&p, 1, 100);
		if (r > 0 && (p.revents & POLLIN)) {
			char buf[4096];
			ssize_t n = read(master, buf, sizeof(buf));
			if (n > 0) {
				if (write_all(STDOUT_FILENO, buf, (size_t)n))
					return 125;
				/* Keep the last WINDOW bytes for the next step's TEXT. */
				if ((size_t)n >= WINDOW) {
					memcpy(window, buf + n - WINDOW, WINDOW);
					wlen = WINDOW;
				} else {
					if (wlen + (size_t)n > WINDOW) {
						size_t drop = wlen + (size_t)n - WINDOW;
						memmove(window, window + drop, wlen - drop);
						wlen -= drop;
					}
					memcpy(window + wlen, buf, (size_t)n);
					wlen += (size_t)n;
				}
				window[wlen] = 0;
				while (next < nsteps && memmem(window, wlen, steps[next].expect, strlen(steps[next].expect))) {
					if (write_all(master, steps[next].bytes, steps[next].len))
						return 125;
					wlen = 0; /* the next TEXT must come after this one */
					next++;
				}
			}
		}
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			done = 1;
		else if (w < 0 && errno != EINTR)
			return 125;
	}
	/* What the command printed last. */
	for (;;) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		char buf[4096];
		ssize_t n;
		if (poll(&p, 1, 50) <= 0 || (n = read(master, buf, sizeof(buf))) <= 0 || write_all(STDOUT_FILENO, buf, (size_t)n))
			break;
	}
	struct termios after;
	if (tcgetattr(slave, &after)) {
		perror("pty-run: tcgetattr after");
		return 125;
	}
	if (before.c_lflag == after.c_lflag && before.c_iflag == after.c_iflag && before.c_oflag == after.c_oflag &&
	    before.c_cflag == after.c_cflag)
		printf("\npty-run: terminal restored\n");
	else
		printf("\npty-run: terminal left changed: lflag %#x -> %#x, iflag %#x -> %#x, oflag %#x -> %#x\n",
		       (unsigned)before.c_lflag, (unsigned)after.c_lflag, (unsigned)before.c_iflag,
		       (unsigned)after.c_iflag, (unsigned)before.c_oflag, (unsigned)after.c_oflag);
	printf("pty-run: steps done %u of %u\n", next, nsteps);
	fflush(stdout);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
