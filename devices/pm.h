/* ACPI power management: PM1a event/control blocks, sleep to S5, the power button and its SCI,
 * and the reset register. */
#ifndef DEVICES_PM_H
#define DEVICES_PM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vmm/bus.h"

enum pm_event { PM_EVENT_POWEROFF, PM_EVENT_RESET };

struct pm {
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	bool sci_level;
	void (*set_sci)(void *ctx, bool level);
	void (*event)(void *ctx, enum pm_event ev);
	void *ctx;
};

extern const struct bus_ops pm1_evt_ops, pm1_cnt_ops, pm_reset_ops;

int pm_init(struct pm *pm, void (*set_sci)(void *, bool), void (*event)(void *, enum pm_event),
	    void *ctx) __must_check;
void pm_destroy(struct pm *pm);
/* Press the power button: PWRBTN_STS, and an SCI if the guest enabled it. */
void pm_press_power_button(struct pm *pm);

#endif
