/* MC146818 CMOS real-time clock: the wall clock at boot (index port 0x70, data port 0x71). */
#ifndef DEVICES_RTC_H
#define DEVICES_RTC_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "../vmm/bus.h"

#define RTC_SECONDS     0x00
#define RTC_MINUTES     0x02
#define RTC_HOURS       0x04
#define RTC_DAY_OF_WEEK 0x06
#define RTC_DAY         0x07
#define RTC_MONTH       0x08
#define RTC_YEAR        0x09
#define RTC_REG_A       0x0A
#define RTC_REG_B       0x0B
#define RTC_REG_C       0x0C
#define RTC_REG_D       0x0D
#define RTC_CENTURY     0x32 /* named by the FADT CENTURY field */
#define RTC_CMOS_SIZE   128

#define RTC_REG_A_DIVIDER_32K 0x20 /* UIP (bit 7) always 0: reads are never mid-update */
#define RTC_REG_A_RATE_1K     0x06
#define RTC_REG_B_24H         0x02
#define RTC_REG_B_BINARY      0x04
#define RTC_REG_D_VRT         0x80 /* valid RAM and time */

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[RTC_CMOS_SIZE];
	time_t (*now)(void); /* replaceable for tests */
};

extern const struct bus_ops rtc_ops;

int rtc_init(struct rtc *rtc) __must_check;
void rtc_destroy(struct rtc *rtc);

#endif
