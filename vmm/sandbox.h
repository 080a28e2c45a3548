/* Least privilege for the running vmm (issue 11). Once the first VM is set up (KVM, guest memory,
 * kernel and initrd, tap and vhost fds, all opened before: vm_host), sandbox_enter() drops every
 * capability, sets no_new_privs, can switch to another user, and installs a seccomp allow-list of
 * the system calls the running vmm makes. A system call outside it stops vmm with one line on
 * stderr and SANDBOX_EXIT_FORBIDDEN_SYSCALL. */
#ifndef VMM_SANDBOX_H
#define VMM_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "log.h"

/* vmm's exit status when the filter refused a system call (README.md, "Exit status"). */
#define SANDBOX_EXIT_FORBIDDEN_SYSCALL 5

/* The passwd file --user names are looked up in, with fgetpwent(): no NSS, which a static vmm
 * could not load. */
#define SANDBOX_PASSWD_PATH "/etc/passwd"

/* Sanitizer runtimes make system calls of their own (ASan's interceptors, LeakSanitizer's ptrace
 * and /proc at exit): a sanitizer build drops privileges but installs no filter (no_filter). */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER_BUILD 1
#endif
#endif
#ifndef SANDBOX_SANITIZER_BUILD
#define SANDBOX_SANITIZER_BUILD 0
#endif

struct sandbox_user {
	uid_t uid;
	gid_t gid;          /* the primary group, also the only supplementary one */
	char spec[64];      /* as given (--user), for messages */
};

/* --user's value: "UID:GID" (decimal numbers) or a user name looked up in passwd_path.
 * -EINVAL for a bad form, -ENOENT for a name that is not there (or a passwd file that cannot
 * be read), with a one-line message in `err` that says what to give instead. */
int sandbox_parse_user(const char *spec, const char *passwd_path, struct sandbox_user *user, char *err,
		       size_t errlen) __must_check;

struct sandbox_config {
	const struct sandbox_user *user; /* NULL: stay the user vmm runs as */
	/* Async-signal-safe; the SIGSYS handler calls it before vmm exits (main puts the terminal
	 * back). NULL: nothing. */
	void (*on_forbidden)(void);
	/* Capabilities, user and no_new_privs only, no seccomp filter: SANDBOX_SANITIZER_BUILD. */
	bool no_filter;
};

/* The one entry point, called once the first VM is set up and before any other thread exists
 * (capabilities are per thread; the filter is synchronised to all threads anyway): switches to
 * cfg->user (supplementary groups: just its gid), clears the ambient set and the bounding set (when
 * vmm has CAP_SETPCAP; without it vmm has nothing to drop and no_new_privs keeps execve from
 * granting any), empties the effective, permitted and inheritable sets, sets no_new_privs and
 * installs the filter. Returns 0, or -errno with a one-line reason in `err`. */
int sandbox_enter(const struct sandbox_config *cfg, char *err, size_t errlen) __must_check;

/* --user without the rest (--no-sandbox): setgroups, setresgid, setresuid. */
int sandbox_switch_user(const struct sandbox_user *user, char *err, size_t errlen) __must_check;

/* The test hook (VMM_TEST_FORBIDDEN_SYSCALL=1, main.c): a system call the filter refuses
 * (socket), made from the calling thread. Returns only where no filter is installed. */
void sandbox_make_forbidden_syscall(void);

#endif
