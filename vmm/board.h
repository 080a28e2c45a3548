/* The q35-lite board's fixed address ranges: the legacy ports and the MMIO windows of the
 * chipset's devices, in one table. vm.c registers it on a VM's buses; tests/fuzz/fuzz_board.c
 * registers the same table and aims its accesses at it. */
#ifndef VMM_BOARD_H
#define VMM_BOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "bus.h"

struct uart8250;
struct rtc;
struct pm;
struct pci_bus;
struct ioapic;

struct board_devices {
	struct bus *pio, *mmio;
	struct uart8250 *uart;
	struct rtc *rtc;
	struct pm *pm;
	struct pci_bus *pci;
	struct ioapic *ioapic;
};

struct board_range {
	bool pio; /* port I/O, else MMIO */
	uint64_t base, len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

#define BOARD_NUM_RANGES     9
#define BOARD_NUM_PIO_RANGES 7 /* the first ones */

/* Fills out with the board's ranges, port I/O first. */
void board_ranges(const struct board_devices *d, struct board_range out[BOARD_NUM_RANGES]);
/* Registers every range on d->pio or d->mmio; returns 0 or the bus's error. */
int board_register(const struct board_devices *d) __attribute__((warn_unused_result));

#endif
