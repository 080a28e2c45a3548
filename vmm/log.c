#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

int vmm_log_level = LOG_INFO;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void vmm_log(enum log_level level, const char *fmt, ...)
{
	if ((int)level > vmm_log_level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so that lines of several threads do not interleave. The console may be
	 * in raw mode, hence the explicit carriage return. */
	fprintf(stderr, "vmm: %s: %s\r\n", level_names[level], line);
}

bool ratelimit_allow(struct ratelimit *rl, uint32_t burst)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = ts.tv_sec;
	int64_t start = atomic_load(&rl->window_start);
	if (now != start && atomic_compare_exchange_strong(&rl->window_start, &start, now)) {
		uint32_t dropped = atomic_exchange(&rl->suppressed, 0);
		atomic_store(&rl->printed, 0);
		if (dropped)
			vmm_log(LOG_WARN, "(%u similar messages suppressed)", dropped);
	}
	if (atomic_fetch_add(&rl->printed, 1) < burst)
		return true;
	atomic_fetch_add(&rl->suppressed, 1);
	return false;
}
