/* 8250/16550A UART at COM1: transmit to a host fd, receive from the terminal, interrupt on IRQ 4.
 *
 * Transmitted bytes never wait for the host: they go into a bounded buffer that the main loop
 * writes to the host fd without blocking, and what does not fit is dropped (and counted), as a
 * real line with no one reading would lose it. The guest sees every byte leave at once. */
#ifndef DEVICES_UART8250_H
#define DEVICES_UART8250_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../vmm/bus.h"
#include "uart8250_regs.h"

/* Guest output held for a slow host: a whole kernel boot log (the kernel's own log buffer is
 * 128-256 KiB) fits, so a reader that merely lags loses nothing. */
#define UART_TX_BUF_SIZE (256u * 1024)
/* At exit, how long the buffered output may wait for the host to take it. */
#define UART_TX_FLUSH_MS 2000
/* At most one "output dropped" line per this many seconds. */
#define UART_TX_DROP_LOG_SECS 10
/* While the guest prints, the loop's drainer comes back by itself every UART_TX_LINGER_MS, and
 * vCPUs do not wake it per byte (see tx_push); after that long with nothing new it sleeps and
 * the next byte wakes it. Also the most a byte waits in the buffer. */
#define UART_TX_LINGER_MS 4

struct event_loop;

/* How out_fd is written without blocking. */
enum uart_out_mode { UART_OUT_WRITE, UART_OUT_SEND };

/* The host fd the UART writes, made safe to write without blocking (uart8250.c says how). vmm
 * prepares it once, before it drops its privileges, and every VM's UART borrows it: a guest
 * restart then opens nothing (the preparation may open /proc/self/fd/N). */
struct uart8250_output {
	int fd;                  /* what is written: host_fd, or vmm's own description of it */
	enum uart_out_mode mode;
	bool owned;              /* fd is vmm's own descriptor, closed by uart8250_output_close */
	int host_fd;             /* the fd given */
	int saved_flags;         /* host_fd's file flags to put back at close, or -1 */
};

struct uart8250_tx_stats {
	uint64_t bytes;   /* the guest transmitted (loopback excepted) */
	uint64_t written; /* the host took */
	uint64_t dropped; /* lost: the buffer was full, or the host fd failed */
	size_t buffered;  /* waiting in the buffer */
	uint64_t kicks;   /* wake-ups of the loop's drainer (UART_TX_LINGER_MS) */
};

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

	/* Host output. The ring is guarded by `lock`; the bytes from tx_head on are written by one
	 * drainer (the main loop, or the exit flush) outside it, vCPUs only append after them. */
	uint8_t *tx_buf;
	size_t tx_size, tx_head, tx_count;
	uint64_t tx_written, tx_dropped;
	int64_t tx_drop_kick_sec;  /* CLOCK_MONOTONIC_COARSE second before which drops do not wake the loop */
	struct uart8250_output out; /* out_fd's: the caller's (borrowed) or the UART's own */
	bool own_output;           /* out was prepared by uart8250_init and is closed at destroy */
	int kick_fd;               /* eventfd: wakes the loop when the ring gets bytes; -1 without a loop */
	bool tx_lingering;         /* the loop comes back within UART_TX_LINGER_MS: no kick needed */
	int64_t tx_linger_end_ns;  /* drainer's: CLOCK_MONOTONIC time the lingering ends if nothing comes */
	uint64_t tx_kicks;         /* wake-ups sent to the loop (for tests and the console stats) */
	struct event_loop *loop;
	int out_source;            /* the loop's POLLOUT watch on out_fd */
	uint64_t tx_dropped_logged; /* drainer's: drops already reported */
	int64_t tx_drop_log_sec;   /* drainer's: when the last report was */
	bool ready;                /* uart8250_init succeeded: destroy has things to release */
};

extern const struct bus_ops uart8250_ops;

/* Prepares fd (the console's output) to be written without blocking; nothing fails: what cannot
 * be done falls back to writing fd as it is. */
void uart8250_output_open(struct uart8250_output *o, int fd);
/* Closes vmm's own descriptor, or gives the host fd its flags back. */
void uart8250_output_close(struct uart8250_output *o);
/* out_fd: where transmitted bytes go (-1: nowhere). The UART writes it without blocking (see
 * uart8250.c for how); out_fd itself stays the caller's. */
int uart8250_init(struct uart8250 *u, int out_fd, void (*set_irq)(void *, bool), void *irq_ctx) __must_check;
/* The same on an output the caller prepared (uart8250_output_open), which stays the caller's
 * and must outlive the UART. */
int uart8250_init_output(struct uart8250 *u, const struct uart8250_output *out, void (*set_irq)(void *, bool),
			 void *irq_ctx) __must_check;
/* Lets `loop` (run by one thread) write the buffered output: it is woken when bytes arrive and
 * waits for room on the host fd when it is full. Without it, output waits for uart8250_tx_drain(). */
int uart8250_attach_loop(struct uart8250 *u, struct event_loop *loop) __must_check;
/* Writes what is buffered to the host fd without blocking; returns how many bytes are still
 * buffered. One drainer at a time: the loop's thread (or the only thread, without a loop). */
size_t uart8250_tx_drain(struct uart8250 *u);
/* When no vCPU runs any more (exit, reset): writes what is buffered, waiting up to timeout_ms
 * for the host to take it; the rest is dropped. Returns the bytes dropped now. */
size_t uart8250_tx_flush(struct uart8250 *u, int timeout_ms);
void uart8250_get_tx_stats(struct uart8250 *u, struct uart8250_tx_stats *st);
/* "vmm: console: ..." counter line. */
void uart8250_print_tx_stats(struct uart8250 *u, FILE *f);
void uart8250_destroy(struct uart8250 *u);
/* Queue bytes typed on the host; returns how many fitted in the receive FIFO. */
unsigned uart8250_receive(struct uart8250 *u, const uint8_t *buf, unsigned len);
/* Room left in the receive FIFO. */
unsigned uart8250_rx_room(struct uart8250 *u);

#endif
