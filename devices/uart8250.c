/* 16550A UART: transmit-empty, receive and modem-status interrupts, loopback, 64-byte FIFOs. */
#include "uart8250.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Highest-priority pending interrupt, as IIR reports it (PC16550D table IV). Lock held. */
static uint8_t pending_iir(const struct uart8250 *u)
{
	if ((u->ier & UART_IER_RDI) && u->rx_count)
		return UART_IIR_RDI;
	if ((u->ier & UART_IER_THRI) && u->thri_pending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && (u->msr & UART_MSR_DELTA_MASK))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static void update_irq(struct uart8250 *u)
{
	/* In loopback mode OUT2 is looped back internally and the line is not driven. */
	bool level = pending_iir(u) != UART_IIR_NO_INT && (u->mcr & UART_MCR_OUT2) &&
		     !(u->mcr & UART_MCR_LOOP);
	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->set_irq)
			u->set_irq(u->irq_ctx, level);
	}
}

static void rx_push(struct uart8250 *u, uint8_t byte)
{
	if (u->rx_count == UART_FIFO_SIZE)
		return; /* overrun: the byte is lost, as on hardware */
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
	u->rx_count++;
	u->lsr |= UART_LSR_DR;
}

static uint8_t rx_pop(struct uart8250 *u)
{
	if (!u->rx_count)
		return 0;
	uint8_t b = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
	if (--u->rx_count == 0)
		u->lsr &= ~UART_LSR_DR;
	return b;
}

static void transmit(struct uart8250 *u, uint8_t byte)
{
	if (u->mcr & UART_MCR_LOOP) {
		rx_push(u, byte);
	} else if (u->out_fd >= 0) {
		ssize_t r;
		do
			r = write(u->out_fd, &byte, 1);
		while (r < 0 && errno == EINTR);
		u->tx_bytes++;
	}
	/* The byte left at once: THR (and the shifter) are empty again. */
	u->thri_pending = true;
}

/* In loopback, modem inputs follow the modem outputs (PC16550D, MCR bit 4). */
static uint8_t loopback_msr(const struct uart8250 *u)
{
	uint8_t m = u->msr & UART_MSR_DELTA_MASK;
	if (u->mcr & UART_MCR_RTS) m |= UART_MSR_CTS;
	if (u->mcr & UART_MCR_DTR) m |= UART_MSR_DSR;
	if (u->mcr & UART_MCR_OUT1) m |= UART_MSR_RI;
	if (u->mcr & UART_MCR_OUT2) m |= UART_MSR_DCD;
	return m;
}

static uint8_t uart_read(struct uart8250 *u, unsigned reg)
{
	uint8_t v;
	switch (reg) {
	case UART_RBR:
		v = (u->lcr & UART_LCR_DLAB) ? u->dll : rx_pop(u);
		break;
	case UART_IER:
		v = (u->lcr & UART_LCR_DLAB) ? u->dlm : u->ier;
		break;
	case UART_IIR:
		v = pending_iir(u);
		if (v == UART_IIR_THRI)
			u->thri_pending = false; /* reading IIR with THRI as the source clears it */
		if (u->fifo_enabled)
			v |= UART_IIR_FIFO_ENABLED;
		break;
	case UART_LCR: v = u->lcr; break;
	case UART_MCR: v = u->mcr; break;
	case UART_LSR: v = u->lsr; break;
	case UART_MSR:
		v = (u->mcr & UART_MCR_LOOP) ? loopback_msr(u) : u->msr;
		u->msr &= ~UART_MSR_DELTA_MASK;
		break;
	case UART_SCR: v = u->scr; break;
	default: v = 0xFF; break;
	}
	update_irq(u);
	return v;
}

static void uart_write(struct uart8250 *u, unsigned reg, uint8_t v)
{
	switch (reg) {
	case UART_THR:
		if (u->lcr & UART_LCR_DLAB)
			u->dll = v;
		else
			transmit(u, v);
		break;
	case UART_IER:
		if (u->lcr & UART_LCR_DLAB) {
			u->dlm = v;
		} else {
			/* Enabling THRI while THR is empty raises it at once (drivers test for this). */
			if (!(u->ier & UART_IER_THRI) && (v & UART_IER_THRI))
				u->thri_pending = true;
			u->ier = v & UART_IER_MASK;
		}
		break;
	case UART_FCR:
		u->fifo_enabled = v & UART_FCR_ENABLE_FIFO;
		if (v & UART_FCR_CLEAR_RCVR) {
			u->rx_head = u->rx_count = 0;
			u->lsr &= ~UART_LSR_DR;
		}
		break;
	case UART_LCR: u->lcr = v; break;
	case UART_MCR: u->mcr = v & UART_MCR_MASK; break;
	case UART_SCR: u->scr = v; break;
	default: break; /* LSR and MSR are read-only: writes are ignored */
	}
	update_irq(u);
}

static void uart_bus_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct uart8250 *u = opaque;
	uint8_t *out = data;
	pthread_mutex_lock(&u->lock);
	for (unsigned i = 0; i < len; i++)
		out[i] = off + i < UART_NUM_PORTS ? uart_read(u, off + i) : 0xFF;
	pthread_mutex_unlock(&u->lock);
}

static void uart_bus_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct uart8250 *u = opaque;
	const uint8_t *in = data;
	pthread_mutex_lock(&u->lock);
	for (unsigned i = 0; i < len && off + i < UART_NUM_PORTS; i++)
		uart_write(u, off + i, in[i]);
	pthread_mutex_unlock(&u->lock);
}

const struct bus_ops uart8250_ops = { .read = uart_bus_read, .write = uart_bus_write };

int uart8250_init(struct uart8250 *u, int out_fd, void (*set_irq)(void *, bool), void *irq_ctx)
{
	memset(u, 0, sizeof(*u));
	u->out_fd = out_fd;
	u->set_irq = set_irq;
	u->irq_ctx = irq_ctx;
	u->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	u->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS; /* a terminal is attached */
	return -pthread_mutex_init(&u->lock, NULL);
}

void uart8250_destroy(struct uart8250 *u)
{
	pthread_mutex_destroy(&u->lock);
}

unsigned uart8250_receive(struct uart8250 *u, const uint8_t *buf, unsigned len)
{
	pthread_mutex_lock(&u->lock);
	unsigned n = 0;
	while (n < len && u->rx_count < UART_FIFO_SIZE)
		rx_push(u, buf[n++]);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

unsigned uart8250_rx_room(struct uart8250 *u)
{
	pthread_mutex_lock(&u->lock);
	unsigned room = UART_FIFO_SIZE - u->rx_count;
	pthread_mutex_unlock(&u->lock);
	return room;
}
