/* 8250/16550A UART at COM1: transmit to a host fd, receive from the terminal, interrupt on IRQ 4. */
#ifndef DEVICES_UART8250_H
#define DEVICES_UART8250_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vmm/bus.h"
#include "uart8250_regs.h"

struct uart8250 {
	pthread_mutex_t lock;
	int out_fd;
	/* Drives the interrupt line (an IOAPIC pin); NULL in tests that watch `irq_level`. */
	void (*set_irq)(void *ctx, bool level);
	void *irq_ctx;
	bool irq_level;

	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm;
	bool fifo_enabled;
	bool thri_pending; /* THR-empty interrupt latched until IIR is read or THR written */
	uint8_t rx[UART_FIFO_SIZE];
	unsigned rx_head, rx_count;
	uint64_t tx_bytes;
};

extern const struct bus_ops uart8250_ops;

int uart8250_init(struct uart8250 *u, int out_fd, void (*set_irq)(void *, bool), void *irq_ctx) __must_check;
void uart8250_destroy(struct uart8250 *u);
/* Queue bytes typed on the host; returns how many fitted in the receive FIFO. */
unsigned uart8250_receive(struct uart8250 *u, const uint8_t *buf, unsigned len);
/* Room left in the receive FIFO. */
unsigned uart8250_rx_room(struct uart8250 *u);

#endif
