/* CMOS RTC: BCD and binary time from the clock, status registers, index masking. */
#include "../../devices/rtc.h"
#include "check.h"

static struct rtc rtc;
static time_t fixed(void) { return 1795503845; } /* 2026-11-24 07:04:05 UTC, a Tuesday */
static uint8_t rd(uint8_t reg) { uint8_t v; rtc_ops.write(&rtc, 0, &reg, 1); rtc_ops.read(&rtc, 1, &v, 1); return v; }
static void wr(uint8_t reg, uint8_t v) { rtc_ops.write(&rtc, 0, &reg, 1); rtc_ops.write(&rtc, 1, &v, 1); }

int main(void)
{
	CHECK_EQ(rtc_init(&rtc), 0);
	rtc.now = fixed;
	CHECK_EQ(rd(RTC_SECONDS), 0x05);
	CHECK_EQ(rd(RTC_MINUTES), 0x04);
	CHECK_EQ(rd(RTC_HOURS), 0x07);
	CHECK_EQ(rd(RTC_DAY), 0x24);
	CHECK_EQ(rd(RTC_MONTH), 0x11);
	CHECK_EQ(rd(RTC_YEAR), 0x26);
	CHECK_EQ(rd(RTC_CENTURY), 0x20);
	CHECK_EQ(rd(RTC_DAY_OF_WEEK), 3);
	CHECK(!(rd(RTC_REG_A) & 0x80)); /* never mid-update */
	CHECK_EQ(rd(RTC_REG_D), RTC_REG_D_VRT);
	/* Binary mode. */
	wr(RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_BINARY);
	CHECK_EQ(rd(RTC_DAY), 24);
	CHECK_EQ(rd(RTC_YEAR), 26);
	/* Time and status D are not writable; plain CMOS bytes are. */
	wr(RTC_SECONDS, 0x59);
	CHECK_EQ(rd(RTC_SECONDS), 5);
	wr(RTC_REG_D, 0);
	CHECK_EQ(rd(RTC_REG_D), RTC_REG_D_VRT);
	wr(0x40, 0xAB);
	CHECK_EQ(rd(0x40), 0xAB);
	/* Bit 7 of the index is the NMI mask, not part of the index. */
	CHECK_EQ(rd(0x80 | 0x40), 0xAB);
	rtc_destroy(&rtc);
	return check_report("rtc");
}
