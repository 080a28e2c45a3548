/* ACPI PM1 registers: power button status and its level SCI, write-1-to-clear, S5, reset. */
#include <string.h>

#include "../../devices/pm.h"
#include "../../devices/pm_regs.h"
#include "check.h"

static struct pm pm;
static bool sci;
static int poweroffs, resets;

static void set_sci(void *c, bool l) { (void)c; sci = l; }
static void event(void *c, enum pm_event ev) { (void)c; if (ev == PM_EVENT_POWEROFF) poweroffs++; else resets++; }
static uint16_t evt_rd(unsigned off) { uint16_t v; pm1_evt_ops.read(&pm, off, &v, 2); return v; }
static void evt_wr(unsigned off, uint16_t v) { pm1_evt_ops.write(&pm, off, &v, 2); }
static void cnt_wr(uint16_t v) { pm1_cnt_ops.write(&pm, 0, &v, 2); }
static uint16_t cnt_rd(void) { uint16_t v; pm1_cnt_ops.read(&pm, 0, &v, 2); return v; }
static void evt_wr8(unsigned off, uint8_t v) { pm1_evt_ops.write(&pm, off, &v, 1); }
static void cnt_wr8(unsigned off, uint8_t v) { pm1_cnt_ops.write(&pm, off, &v, 1); }

/* ACPI allows byte accesses to the 16-bit registers: a byte write changes only its byte. */
static void check_byte_writes(void)
{
	/* PWRBTN_EN (bit 8) by a word write, then the other byte of PM1_EN: still enabled. */
	evt_wr(PM1_EN_OFFSET, PM1_EN_PWRBTN);
	evt_wr8(PM1_EN_OFFSET, PM1_EN_GBL);
	CHECK_EQ(evt_rd(PM1_EN_OFFSET), PM1_EN_PWRBTN | PM1_EN_GBL);
	pm_press_power_button(&pm);
	CHECK(sci);
	evt_wr(PM1_STS_OFFSET, PM1_STS_PWRBTN);
	CHECK(!sci);
	/* And the other way round: the low byte by a word write, PWRBTN_EN by a byte write. */
	evt_wr(PM1_EN_OFFSET, PM1_EN_TMR | PM1_EN_GBL);
	evt_wr8(PM1_EN_OFFSET + 1, PM1_EN_PWRBTN >> 8);
	CHECK_EQ(evt_rd(PM1_EN_OFFSET), PM1_EN_TMR | PM1_EN_GBL | PM1_EN_PWRBTN);
	pm_press_power_button(&pm);
	CHECK(sci);
	/* A byte write to PM1_STS clears only what it names, and leaves the enables alone. */
	evt_wr8(PM1_STS_OFFSET, 0xFF);
	CHECK(sci);
	evt_wr8(PM1_STS_OFFSET + 1, PM1_STS_PWRBTN >> 8);
	CHECK(!sci);
	CHECK_EQ(evt_rd(PM1_EN_OFFSET), PM1_EN_TMR | PM1_EN_GBL | PM1_EN_PWRBTN);
	evt_wr(PM1_EN_OFFSET, 0);
	/* PM1_CNT: SLP_TYP by a word write, then the SCI_EN byte: SLP_TYP stays. */
	cnt_wr(3 << PM1_CNT_SLP_TYP_SHIFT | PM1_CNT_SCI_EN);
	cnt_wr8(0, PM1_CNT_SCI_EN);
	CHECK_EQ(cnt_rd(), 3 << PM1_CNT_SLP_TYP_SHIFT | PM1_CNT_SCI_EN);
	/* The SLP_TYP byte written alone keeps the low byte (bit 1, BM_RLD, as a marker). */
	cnt_wr(PM1_CNT_SCI_EN | 2);
	cnt_wr8(1, 3 << (PM1_CNT_SLP_TYP_SHIFT - 8));
	CHECK_EQ(cnt_rd(), 3 << PM1_CNT_SLP_TYP_SHIFT | PM1_CNT_SCI_EN | 2);
	/* A byte write of SLP_TYP=S5 with SLP_EN powers off; the SCI still works after it all. */
	CHECK_EQ(poweroffs, 0);
	cnt_wr8(1, (PM1_CNT_SLP_EN | PM_SLP_TYP_S5 << PM1_CNT_SLP_TYP_SHIFT) >> 8);
	CHECK_EQ(poweroffs, 1);
	cnt_wr(PM1_CNT_SCI_EN);
	evt_wr(PM1_EN_OFFSET, PM1_EN_PWRBTN);
	pm_press_power_button(&pm);
	CHECK(sci);
	evt_wr(PM1_STS_OFFSET, PM1_STS_PWRBTN);
	evt_wr(PM1_EN_OFFSET, 0);
	CHECK(!sci);
	poweroffs = 0;
}

int main(void)
{
	CHECK_EQ(pm_init(&pm, set_sci, event, NULL), 0);
	check_byte_writes();
	pm_destroy(&pm);
	CHECK_EQ(pm_init(&pm, set_sci, event, NULL), 0); /* and the rest from a fresh device */
	sci = false;
	/* Pressed while disabled: status set, no SCI. */
	pm_press_power_button(&pm);
	CHECK(evt_rd(PM1_STS_OFFSET) & PM1_STS_PWRBTN);
	CHECK(!sci);
	/* Enabling raises the level SCI; it stays up until the status bit is cleared. */
	evt_wr(PM1_EN_OFFSET, PM1_EN_PWRBTN | PM1_EN_GBL | PM1_EN_RTC);
	CHECK_EQ(evt_rd(PM1_EN_OFFSET), PM1_EN_PWRBTN | PM1_EN_GBL | PM1_EN_RTC); /* reads back */
	CHECK(sci);
	evt_wr(PM1_STS_OFFSET, 0); /* writing 0 clears nothing */
	CHECK(sci);
	evt_wr(PM1_STS_OFFSET, PM1_STS_PWRBTN);
	CHECK(!(evt_rd(PM1_STS_OFFSET) & PM1_STS_PWRBTN));
	CHECK(!sci);
	/* A 32-bit write covers status and enable together. */
	pm_press_power_button(&pm);
	CHECK(sci);
	uint32_t both = PM1_STS_PWRBTN | (uint32_t)PM1_EN_PWRBTN << 16;
	pm1_evt_ops.write(&pm, 0, &both, 4);
	CHECK(!sci);
	/* SCI_EN reads as set; SLP_EN with another sleep type does nothing; S5 powers off. */
	uint16_t cnt;
	pm1_cnt_ops.read(&pm, 0, &cnt, 2);
	CHECK(cnt & PM1_CNT_SCI_EN);
	cnt_wr(PM1_CNT_SLP_EN | 3 << PM1_CNT_SLP_TYP_SHIFT);
	CHECK_EQ(poweroffs, 0);
	cnt_wr(PM_SLP_TYP_S5 << PM1_CNT_SLP_TYP_SHIFT); /* type without SLP_EN */
	CHECK_EQ(poweroffs, 0);
	cnt_wr(PM1_CNT_SLP_EN | PM_SLP_TYP_S5 << PM1_CNT_SLP_TYP_SHIFT);
	CHECK_EQ(poweroffs, 1);
	pm1_cnt_ops.read(&pm, 0, &cnt, 2);
	CHECK(!(cnt & PM1_CNT_SLP_EN)); /* write-only */
	/* Reset register: the FADT's RESET_VALUE resets, other values do not. */
	uint8_t b = RESET_CF9_SYS_RST;
	pm_reset_ops.write(&pm, 0, &b, 1);
	CHECK_EQ(resets, 0);
	b = RESET_VALUE;
	pm_reset_ops.write(&pm, 0, &b, 1);
	CHECK_EQ(resets, 1);
	pm_destroy(&pm);
	return check_report("pm");
}
