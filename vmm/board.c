/* The q35-lite board's fixed address ranges (board.h). */
#include "board.h"

#include "../devices/ioapic.h"
#include "../devices/pci.h"
#include "../devices/pm.h"
#include "../devices/pm_regs.h"
#include "../devices/rtc.h"
#include "../devices/uart8250.h"
#include "layout.h"

void board_ranges(const struct board_devices *d, struct board_range out[BOARD_NUM_RANGES])
{
	const struct board_range r[BOARD_NUM_RANGES] = {
		{ true, PORT_COM1, UART_NUM_PORTS, &uart8250_ops, d->uart, "com1" },
		{ true, PORT_CMOS, 2, &rtc_ops, d->rtc, "cmos-rtc" },
		{ true, PORT_PM1A_EVT, PM1_EVT_LEN, &pm1_evt_ops, d->pm, "acpi-pm1a-evt" },
		{ true, PORT_PM1A_CNT, PM1_CNT_LEN, &pm1_cnt_ops, d->pm, "acpi-pm1a-cnt" },
		{ true, PORT_PCI_CONFIG_ADDR, 1, &pci_cf8_ops, d->pci, "pci-config-address" },
		{ true, PORT_RESET, 1, &pm_reset_ops, d->pm, "reset-control" },
		{ true, PORT_PCI_CONFIG_DATA, 4, &pci_cfc_ops, d->pci, "pci-config-data" },
		{ false, PCI_ECAM_BASE, PCI_ECAM_SIZE, &pci_ecam_ops, d->pci, "pci-ecam" },
		{ false, IOAPIC_BASE, IOAPIC_SIZE, &ioapic_mmio_ops, d->ioapic, "ioapic" },
	};
	_Static_assert(BOARD_NUM_PIO_RANGES == 7, "port I/O ranges come first");
	for (unsigned i = 0; i < BOARD_NUM_RANGES; i++)
		out[i] = r[i];
}

int board_register(const struct board_devices *d)
{
	struct board_range r[BOARD_NUM_RANGES];
	board_ranges(d, r);
	for (unsigned i = 0; i < BOARD_NUM_RANGES; i++) {
		int ret = bus_register(r[i].pio ? d->pio : d->mmio, r[i].base, r[i].len, r[i].ops, r[i].opaque, r[i].name);
		if (ret)
			return ret;
	}
	return 0;
}
