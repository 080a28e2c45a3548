/* ACPI PM1 fixed events and control, and the reset register. */
#include "pm.h"

#include <string.h>

#include "pm_regs.h"

/* The SCI is level-triggered: asserted while an enabled status bit is set (ACPI 6.4, 4.8.2). */
static void update_sci(struct pm *pm)
{
	bool level = (pm->sts & pm->en) != 0 && (pm->cnt & PM1_CNT_SCI_EN);
	if (level != pm->sci_level) {
		pm->sci_level = level;
		if (pm->set_sci)
			pm->set_sci(pm->ctx, level);
	}
}

static uint64_t load(const void *data, unsigned len)
{
	uint64_t v = 0;
	memcpy(&v, data, len > 8 ? 8 : len);
	return v;
}

static void store(void *data, unsigned len, uint64_t v)
{
	memset(data, 0, len);
	memcpy(data, &v, len > 8 ? 8 : len);
}

static void evt_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct pm *pm = opaque;
	pthread_mutex_lock(&pm->lock);
	uint32_t regs = pm->sts | (uint32_t)pm->en << 16;
	pthread_mutex_unlock(&pm->lock);
	store(data, len, regs >> (8 * off));
}

static void evt_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct pm *pm = opaque;
	uint64_t v = load(data, len) << (8 * off);
	uint32_t touched = (uint32_t)((len >= 4 ? 0xFFFFFFFFULL : ((1ULL << (8 * len)) - 1)) << (8 * off));
	pthread_mutex_lock(&pm->lock);
	if (touched & 0xFFFF)
		pm->sts &= ~(uint16_t)(v & PM1_STS_W1C); /* status bits are write-1-to-clear */
	if (touched & 0xFFFF0000) { /* only the bytes written: a byte write leaves the other be */
		uint16_t mask = (uint16_t)(touched >> 16);
		pm->en = (uint16_t)((pm->en & ~mask) | ((v >> 16) & mask & PM1_EN_MASK));
	}
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static void cnt_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct pm *pm = opaque;
	pthread_mutex_lock(&pm->lock);
	uint16_t v = pm->cnt & ~PM1_CNT_SLP_EN;
	pthread_mutex_unlock(&pm->lock);
	store(data, len, v >> (8 * off));
}

static void cnt_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct pm *pm = opaque;
	/* ACPI allows byte accesses: a 1-byte write changes only its byte (SLP_TYP and SLP_EN are in
	 * the upper one, SCI_EN in the lower). */
	uint16_t mask = (uint16_t)(((len >= 2 ? 0xFFFFULL : 0xFFULL)) << (8 * off));
	bool poweroff = false;
	pthread_mutex_lock(&pm->lock);
	uint16_t v = (uint16_t)((pm->cnt & ~mask) | ((load(data, len) << (8 * off)) & mask));
	/* SCI_EN is read-only 1: there is no SMI handler to hand the hardware over (no SMI_CMD). */
	pm->cnt = (v & ~PM1_CNT_SLP_EN) | PM1_CNT_SCI_EN;
	if ((v & PM1_CNT_SLP_EN) &&
	    ((v & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT) == PM_SLP_TYP_S5)
		poweroff = true;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (poweroff && pm->event)
		pm->event(pm->ctx, PM_EVENT_POWEROFF);
}

static void reset_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	(void)opaque; (void)off;
	store(data, len, 0);
}

static void reset_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct pm *pm = opaque;
	if (off == 0 && (load(data, len) & RESET_CF9_RST_CPU) && pm->event)
		pm->event(pm->ctx, PM_EVENT_RESET);
}

const struct bus_ops pm1_evt_ops = { .read = evt_read, .write = evt_write };
const struct bus_ops pm1_cnt_ops = { .read = cnt_read, .write = cnt_write };
const struct bus_ops pm_reset_ops = { .read = reset_read, .write = reset_write };

int pm_init(struct pm *pm, void (*set_sci)(void *, bool), void (*event)(void *, enum pm_event), void *ctx)
{
	memset(pm, 0, sizeof(*pm));
	pm->set_sci = set_sci;
	pm->event = event;
	pm->ctx = ctx;
	pm->cnt = PM1_CNT_SCI_EN;
	return -pthread_mutex_init(&pm->lock, NULL);
}

void pm_destroy(struct pm *pm)
{
	pthread_mutex_destroy(&pm->lock);
}

void pm_press_power_button(struct pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= PM1_STS_PWRBTN;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}
