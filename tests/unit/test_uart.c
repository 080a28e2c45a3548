/* 16550A: transmit, THR-empty and receive interrupts gated by OUT2, IIR priorities, loopback,
 * divisor latch, FIFO overrun. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../../devices/uart8250.h"
#include "check.h"

static struct uart8250 u;
static int irq_changes;
static bool line;

static void set_irq(void *ctx, bool level) { (void)ctx; line = level; irq_changes++; }
static void wr(unsigned reg, uint8_t v) { uart8250_ops.write(&u, reg, &v, 1); }
static uint8_t rd(unsigned reg) { uint8_t v; uart8250_ops.read(&u, reg, &v, 1); return v; }

int main(void)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	CHECK_EQ(uart8250_init(&u, p[1], set_irq, NULL), 0);
	CHECK_EQ(rd(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(rd(UART_IIR), UART_IIR_NO_INT);

	/* Transmit goes to the fd. */
	wr(UART_THR, 'h');
	wr(UART_THR, 'i');
	char buf[8] = { 0 };
	CHECK_EQ(read(p[0], buf, sizeof(buf)), 2);
	CHECK(!strcmp(buf, "hi"));

	/* THRI: raised when enabled with THR empty, but the line only with OUT2. */
	wr(UART_IER, UART_IER_THRI);
	CHECK(!line);
	wr(UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);
	CHECK(line);
	CHECK_EQ(rd(UART_IIR) & 0x0F, UART_IIR_THRI); /* reading IIR clears THRI */
	CHECK(!line);
	CHECK_EQ(rd(UART_IIR) & 0x0F, UART_IIR_NO_INT);
	wr(UART_THR, 'x'); /* the byte leaves at once: THRI again */
	CHECK(line);
	wr(UART_IER, 0);
	CHECK(!line);
	CHECK_EQ(read(p[0], buf, sizeof(buf)), 1);

	/* Receive: data ready and RDI, which outranks THRI. */
	wr(UART_IER, UART_IER_RDI | UART_IER_THRI);
	CHECK_EQ(uart8250_receive(&u, (const uint8_t *)"ab", 2), 2);
	CHECK(rd(UART_LSR) & UART_LSR_DR);
	CHECK_EQ(rd(UART_IIR) & 0x0F, UART_IIR_RDI);
	CHECK_EQ(rd(UART_RBR), 'a');
	CHECK_EQ(rd(UART_RBR), 'b');
	CHECK(!(rd(UART_LSR) & UART_LSR_DR));
	CHECK_EQ(rd(UART_IIR) & 0x0F, UART_IIR_THRI);
	wr(UART_IER, 0);

	/* FIFO: 64 bytes fit, the rest is refused; FCR clears it. */
	uint8_t many[100];
	memset(many, 'z', sizeof(many));
	CHECK_EQ(uart8250_receive(&u, many, sizeof(many)), UART_FIFO_SIZE);
	CHECK_EQ(uart8250_rx_room(&u), 0);
	wr(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	CHECK_EQ(uart8250_rx_room(&u), UART_FIFO_SIZE);
	CHECK_EQ(rd(UART_IIR) & UART_IIR_FIFO_ENABLED, UART_IIR_FIFO_ENABLED);

	/* Divisor latch: DLL/DLM instead of RBR/IER while DLAB is set. */
	wr(UART_LCR, UART_LCR_DLAB | 0x03);
	wr(UART_DLL, 0x01);
	wr(UART_DLM, 0x00);
	CHECK_EQ(rd(UART_DLL), 0x01);
	wr(UART_LCR, 0x03);
	CHECK_EQ(rd(UART_IER), 0);
	CHECK_EQ(read(p[0], buf, sizeof(buf)), -1); /* nothing was transmitted */

	/* Loopback: transmitted bytes come back, nothing leaves, modem lines follow MCR. */
	wr(UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
	wr(UART_THR, 'L');
	CHECK_EQ(rd(UART_RBR), 'L');
	CHECK_EQ(read(p[0], buf, sizeof(buf)), -1);
	CHECK_EQ(rd(UART_MSR) & 0xF0, UART_MSR_CTS | UART_MSR_DCD);
	/* LSR is read-only; scratch keeps its value. */
	wr(UART_LSR, 0);
	CHECK(rd(UART_LSR) & UART_LSR_THRE);
	wr(UART_SCR, 0xA5);
	CHECK_EQ(rd(UART_SCR), 0xA5);
	uart8250_destroy(&u);
	return check_report("uart");
}
