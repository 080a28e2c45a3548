/* Logging to stderr; guest-triggerable paths use the rate-limited form. */
#ifndef VMM_LOG_H
#define VMM_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define __must_check __attribute__((warn_unused_result))

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern int vmm_log_level;

void vmm_log(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* At most `burst` lines per second per call site; the number dropped is reported later. */
struct ratelimit {
	_Atomic int64_t window_start;
	_Atomic uint32_t printed;
	_Atomic uint32_t suppressed;
};
bool ratelimit_allow(struct ratelimit *rl, uint32_t burst);

#define log_err(...)  vmm_log(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) vmm_log(LOG_WARN, __VA_ARGS__)
#define log_info(...) vmm_log(LOG_INFO, __VA_ARGS__)
#define log_debug(...) vmm_log(LOG_DEBUG, __VA_ARGS__)

/* For anything the guest can trigger at will. */
#define log_guest(...)                                                                              \
	do {                                                                                        \
		static struct ratelimit rl__;                                                       \
		if (ratelimit_allow(&rl__, 10))                                                     \
			vmm_log(LOG_WARN, __VA_ARGS__);                                             \
	} while (0)

#endif
