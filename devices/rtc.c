/* CMOS RTC: time registers computed from the host clock (UTC) on every read. */
#include "rtc.h"

#include <string.h>

static time_t host_now(void) { return time(NULL); }

static uint8_t to_bcd(unsigned v) { return (uint8_t)(((v / 10) << 4) | (v % 10)); }

static uint8_t time_reg(struct rtc *rtc, uint8_t reg)
{
	time_t t = rtc->now();
	struct tm tm;
	gmtime_r(&t, &tm);
	unsigned v;
	switch (reg) {
	case RTC_SECONDS: v = tm.tm_sec; break;
	case RTC_MINUTES: v = tm.tm_min; break;
	case RTC_HOURS: v = tm.tm_hour; break;
	case RTC_DAY_OF_WEEK: v = tm.tm_wday + 1; break;
	case RTC_DAY: v = tm.tm_mday; break;
	case RTC_MONTH: v = tm.tm_mon + 1; break;
	case RTC_YEAR: v = (tm.tm_year + 1900) % 100; break;
	default: v = (tm.tm_year + 1900) / 100; break; /* RTC_CENTURY */
	}
	return (rtc->cmos[RTC_REG_B] & RTC_REG_B_BINARY) ? (uint8_t)v : to_bcd(v);
}

static uint8_t rtc_read_reg(struct rtc *rtc, uint8_t reg)
{
	switch (reg) {
	case RTC_SECONDS: case RTC_MINUTES: case RTC_HOURS: case RTC_DAY_OF_WEEK:
	case RTC_DAY: case RTC_MONTH: case RTC_YEAR: case RTC_CENTURY:
		return time_reg(rtc, reg);
	case RTC_REG_C:
		return 0; /* no alarm, periodic or update interrupt is ever raised */
	default:
		return rtc->cmos[reg];
	}
}

static void rtc_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct rtc *rtc = opaque;
	uint8_t *out = data;
	pthread_mutex_lock(&rtc->lock);
	for (unsigned i = 0; i < len; i++)
		out[i] = off + i == 1 ? rtc_read_reg(rtc, rtc->index) : 0xFF;
	pthread_mutex_unlock(&rtc->lock);
}

static void rtc_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct rtc *rtc = opaque;
	const uint8_t *in = data;
	pthread_mutex_lock(&rtc->lock);
	for (unsigned i = 0; i < len; i++) {
		if (off + i == 0) {
			rtc->index = in[i] & 0x7F; /* bit 7 is the NMI mask on PCs */
		} else if (off + i == 1) {
			/* Time registers follow the host clock and C/D are read-only: only B's format bits
			 * and plain CMOS bytes keep what is written. */
			if (rtc->index == RTC_REG_B)
				rtc->cmos[RTC_REG_B] = (in[i] & (RTC_REG_B_24H | RTC_REG_B_BINARY)) | RTC_REG_B_24H;
			else if (rtc->index > RTC_REG_D && rtc->index != RTC_CENTURY)
				rtc->cmos[rtc->index] = in[i];
		}
	}
	pthread_mutex_unlock(&rtc->lock);
}

const struct bus_ops rtc_ops = { .read = rtc_read, .write = rtc_write };

int rtc_init(struct rtc *rtc)
{
	memset(rtc, 0, sizeof(*rtc));
	rtc->now = host_now;
	rtc->cmos[RTC_REG_A] = RTC_REG_A_DIVIDER_32K | RTC_REG_A_RATE_1K;
	rtc->cmos[RTC_REG_B] = RTC_REG_B_24H;
	rtc->cmos[RTC_REG_D] = RTC_REG_D_VRT;
	return -pthread_mutex_init(&rtc->lock, NULL);
}

void rtc_destroy(struct rtc *rtc)
{
	pthread_mutex_destroy(&rtc->lock);
}
