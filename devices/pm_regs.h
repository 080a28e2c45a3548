/* ACPI fixed hardware registers (ACPI 6.4, 4.8.3) and the ICH9 reset control register. */
#ifndef DEVICES_PM_REGS_H
#define DEVICES_PM_REGS_H

/* PM1 event block: status (2 bytes) then enable (2 bytes). */
#define PM1_STS_OFFSET    0
#define PM1_EN_OFFSET     2
#define PM1_EVT_LEN       4
#define PM1_CNT_LEN       2

#define PM1_STS_TMR       (1U << 0)
#define PM1_STS_PWRBTN    (1U << 8)
#define PM1_STS_WAK       (1U << 15)
#define PM1_STS_W1C       (PM1_STS_TMR | PM1_STS_PWRBTN | (1U << 5) | (1U << 9) | (1U << 10) | PM1_STS_WAK)
#define PM1_EN_TMR        (1U << 0)
#define PM1_EN_GBL        (1U << 5)
#define PM1_EN_PWRBTN     (1U << 8)
#define PM1_EN_SLPBTN     (1U << 9)
#define PM1_EN_RTC        (1U << 10)
/* All fixed-event enables exist and read back what was written (ACPICA checks this), though
 * only the power button ever raises its status bit here. */
#define PM1_EN_MASK       (PM1_EN_TMR | PM1_EN_GBL | PM1_EN_PWRBTN | PM1_EN_SLPBTN | PM1_EN_RTC)

#define PM1_CNT_SCI_EN    (1U << 0)
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK  (7U << PM1_CNT_SLP_TYP_SHIFT)
#define PM1_CNT_SLP_EN    (1U << 13) /* write-only */

/* The \_S5 package in the DSDT names this SLP_TYP value. */
#define PM_SLP_TYP_S5     5

/* ICH9 reset control register (port 0xCF9): a write with RST_CPU set resets. */
#define RESET_CF9_SYS_RST 0x02
#define RESET_CF9_RST_CPU 0x04
#define RESET_VALUE       (RESET_CF9_SYS_RST | RESET_CF9_RST_CPU) /* FADT RESET_VALUE */

#endif
