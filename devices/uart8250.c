/* 16550A UART: transmit-empty, receive and modem-status interrupts, loopback, 64-byte FIFOs. */
#include "uart8250.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../vmm/event_loop.h"
#include "../vmm/log.h"

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

static int64_t coarse_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

/* Wakes the loop's drainer. The eventfd is non-blocking: this never waits. */
static void kick(struct uart8250 *u)
{
	if (u->kick_fd >= 0) {
		uint64_t one = 1;
		ssize_t r = write(u->kick_fd, &one, sizeof(one));
		(void)r;
		u->tx_kicks++;
	}
}

/* Lock held (a vCPU). Never waits for the host: the byte goes into the ring or is lost. */
static void tx_push(struct uart8250 *u, uint8_t byte)
{
	u->tx_bytes++;
	if (u->tx_count == u->tx_size) {
		/* The host is not taking our output: the byte is lost, as on a line nobody reads.
		 * Wake the loop now and then (not per byte) so that it reports the drops. */
		u->tx_dropped++;
		if (u->kick_fd >= 0) {
			int64_t now = coarse_seconds();
			if (now >= u->tx_drop_kick_sec) {
				u->tx_drop_kick_sec = now + 1;
				kick(u);
			}
		}
		return;
	}
	u->tx_buf[(u->tx_head + u->tx_count) % u->tx_size] = byte;
	/* The drainer sleeps once the ring is empty and it stopped lingering: wake it. A wake-up is
	 * a system call on this vCPU's exit path (an eventfd write, and the loop's thread scheduled
	 * beside the vCPU), 30-160 us per byte in a nested L1 against 4 us for the exit itself, so
	 * while it lingers the bytes wait for it instead; and at half a ring, so that none is lost. */
	size_t count = ++u->tx_count;
	if ((count == 1 && !u->tx_lingering) || count == u->tx_size / 2)
		kick(u);
}

static void transmit(struct uart8250 *u, uint8_t byte)
{
	if (u->mcr & UART_MCR_LOOP)
		rx_push(u, byte);
	else if (u->out_fd >= 0)
		tx_push(u, byte);
	/* The byte left at once (the host buffer took it, or it was lost on the line): THR (and
	 * the shifter) are empty again, whether or not the host is reading. */
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

/* The host fd must never make a vCPU or the loop wait. Setting O_NONBLOCK on it would do, but
 * the flag belongs to the open file description, which a terminal's stdout shares with the
 * user's shell (and with vmm's own stdin and stderr): the shell would get EAGAIN while vmm runs,
 * and after a SIGKILL, for good. So for a terminal or a pipe vmm opens its own description of
 * the same file through /proc/self/fd and sets O_NONBLOCK there only. A socket is written with
 * send(MSG_DONTWAIT), which needs no flag; a regular file or a block device never waits for a
 * reader. Only where that reopening is not possible (no /proc, a pipe whose reader is gone, a
 * pty master, which would reopen as a new pty) is O_NONBLOCK set on the shared description
 * itself, for as long as the output lives: it is put back at uart8250_output_close. */
void uart8250_output_open(struct uart8250_output *o, int fd)
{
	*o = (struct uart8250_output){ .fd = fd, .mode = UART_OUT_WRITE, .host_fd = fd, .saved_flags = -1 };
	struct stat st = { 0 };
	if (fstat(fd, &st) == 0) {
		if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
			return;
		if (S_ISSOCK(st.st_mode)) {
			o->mode = UART_OUT_SEND;
			return;
		}
	}
	int ptn;
	bool pty_master = ioctl(fd, TIOCGPTN, &ptn) == 0;
	if (!pty_master && (S_ISFIFO(st.st_mode) || isatty(fd))) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		int own = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		struct stat ost;
		if (own >= 0 && fstat(own, &ost) == 0 && ost.st_dev == st.st_dev && ost.st_ino == st.st_ino) {
			o->fd = own;
			o->owned = true;
			return;
		}
		if (own >= 0)
			close(own);
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0)
		o->saved_flags = fl;
}

void uart8250_output_close(struct uart8250_output *o)
{
	if (o->owned)
		close(o->fd);
	else if (o->saved_flags >= 0)
		fcntl(o->host_fd, F_SETFL, o->saved_flags);
	*o = (struct uart8250_output){ .fd = -1, .host_fd = -1, .saved_flags = -1 };
}

/* out: the output prepared by the caller (borrowed) or by uart8250_init (the UART's own); NULL
 * for none. */
static int init(struct uart8250 *u, const struct uart8250_output *out, bool own_output, void (*set_irq)(void *, bool),
		void *irq_ctx)
{
	memset(u, 0, sizeof(*u));
	u->out = (struct uart8250_output){ .fd = -1, .host_fd = -1, .saved_flags = -1 };
	u->kick_fd = -1;
	u->out_source = -1;
	u->tx_drop_log_sec = INT64_MIN / 2;
	u->set_irq = set_irq;
	u->irq_ctx = irq_ctx;
	u->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	u->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS; /* a terminal is attached */
	int ret = pthread_mutex_init(&u->lock, NULL);
	if (ret)
		return -ret;
	if (out && out->fd >= 0) {
		u->tx_size = UART_TX_BUF_SIZE;
		u->tx_buf = malloc(u->tx_size);
		if (!u->tx_buf) {
			pthread_mutex_destroy(&u->lock);
			return -ENOMEM;
		}
		u->out = *out;
		u->own_output = own_output;
	}
	u->out_fd = u->out.fd;
	u->ready = true;
	return 0;
}

int uart8250_init(struct uart8250 *u, int out_fd, void (*set_irq)(void *, bool), void *irq_ctx)
{
	struct uart8250_output out = { .fd = -1, .host_fd = -1, .saved_flags = -1 };
	if (out_fd >= 0)
		uart8250_output_open(&out, out_fd);
	int ret = init(u, &out, true, set_irq, irq_ctx);
	if (ret && out_fd >= 0)
		uart8250_output_close(&out);
	return ret;
}

int uart8250_init_output(struct uart8250 *u, const struct uart8250_output *out, void (*set_irq)(void *, bool),
			 void *irq_ctx)
{
	return init(u, out, false, set_irq, irq_ctx);
}

static ssize_t out_write(struct uart8250 *u, const void *buf, size_t n)
{
	ssize_t r;
	do
		r = u->out.mode == UART_OUT_SEND ? send(u->out_fd, buf, n, MSG_DONTWAIT) : write(u->out_fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

size_t uart8250_tx_drain(struct uart8250 *u)
{
	if (!u->ready || u->out_fd < 0)
		return 0;
	pthread_mutex_lock(&u->lock);
	/* At most what is there now: a guest that keeps writing cannot hold the loop here. */
	size_t budget = u->tx_count;
	pthread_mutex_unlock(&u->lock);
	while (budget) {
		/* The bytes from tx_head on stay put while we write them outside the lock: vCPUs only
		 * append after them, and only this drainer moves tx_head. */
		pthread_mutex_lock(&u->lock);
		size_t head = u->tx_head, n = u->tx_size - head;
		pthread_mutex_unlock(&u->lock);
		if (n > budget)
			n = budget;
		ssize_t r = out_write(u, u->tx_buf + head, n);
		int e = errno;
		if (r < 0 && (e == EAGAIN || e == EWOULDBLOCK))
			break; /* the host is full: the loop waits for POLLOUT */
		pthread_mutex_lock(&u->lock);
		size_t lost = 0;
		if (r < 0) {
			/* The host fd failed (EIO, ENOSPC, ...): what was buffered is lost. */
			lost = u->tx_count;
			u->tx_dropped += lost;
			u->tx_head = u->tx_count = 0;
		} else {
			u->tx_head = (head + (size_t)r) % u->tx_size;
			u->tx_count -= (size_t)r;
			u->tx_written += (size_t)r;
		}
		pthread_mutex_unlock(&u->lock);
		if (r < 0) {
			log_guest("console: writing the guest's output failed: %s (%zu bytes lost)", strerror(e), lost);
			break;
		}
		budget -= (size_t)r;
		if ((size_t)r < n)
			break; /* a short write: the host is full */
	}
	pthread_mutex_lock(&u->lock);
	size_t left = u->tx_count;
	pthread_mutex_unlock(&u->lock);
	return left;
}

/* Drainer's: a line on stderr about the bytes lost, at most every UART_TX_DROP_LOG_SECS (final:
 * now, at exit), and only when stderr can take it without waiting: with 2>&1 into the same
 * stuck pipe, or a terminal stopped with Ctrl-S, the line would stop the loop it reports on. */
static void report_drops(struct uart8250 *u, bool final)
{
	pthread_mutex_lock(&u->lock);
	uint64_t dropped = u->tx_dropped;
	size_t buffered = u->tx_count;
	pthread_mutex_unlock(&u->lock);
	if (dropped == u->tx_dropped_logged)
		return;
	int64_t now = coarse_seconds();
	if (!final && now < u->tx_drop_log_sec + UART_TX_DROP_LOG_SECS)
		return;
	struct pollfd p = { .fd = STDERR_FILENO, .events = POLLOUT };
	if (poll(&p, 1, 0) != 1 || (p.revents & (POLLERR | POLLHUP | POLLNVAL)))
		return;
	if (final)
		log_warn("console: %llu bytes of guest output were dropped in all: vmm's output was not read in time",
			 (unsigned long long)dropped);
	else
		log_warn("console: %llu bytes of guest output dropped so far (%llu since the last report, %zu buffered): vmm's output is not being read",
			 (unsigned long long)dropped, (unsigned long long)(dropped - u->tx_dropped_logged), buffered);
	u->tx_dropped_logged = dropped;
	u->tx_drop_log_sec = now;
}

static int64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* On the loop's thread: write what can be written, and wait for room for the rest; then linger,
 * coming back within UART_TX_LINGER_MS (tx_tick) for what the guest prints meanwhile. */
static void tx_service(struct uart8250 *u)
{
	if (uart8250_tx_drain(u))
		event_loop_arm(u->loop, u->out_source);
	pthread_mutex_lock(&u->lock);
	u->tx_lingering = true;
	u->tx_linger_end_ns = monotonic_ns() + UART_TX_LINGER_MS * 1000000LL;
	pthread_mutex_unlock(&u->lock);
	report_drops(u, false);
}

/* The loop's tick: drains what came while lingering, and stops lingering after
 * UART_TX_LINGER_MS with nothing new (under the lock, so that a byte pushed after that kicks). */
static int tx_tick(void *opaque)
{
	struct uart8250 *u = opaque;
	pthread_mutex_lock(&u->lock);
	bool pending = u->tx_count != 0;
	if (u->tx_lingering && !pending && monotonic_ns() >= u->tx_linger_end_ns)
		u->tx_lingering = false;
	bool lingering = u->tx_lingering;
	pthread_mutex_unlock(&u->lock);
	if (!lingering)
		return -1;
	if (pending)
		tx_service(u);
	return UART_TX_LINGER_MS;
}

static bool on_tx_kick(void *opaque, int fd, unsigned revents)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
	(void)revents;
	tx_service(opaque);
	return true;
}

static bool on_out_ready(void *opaque, int fd, unsigned revents)
{
	(void)fd;
	(void)revents;
	tx_service(opaque); /* watches the fd again while output waits */
	return false;
}

int uart8250_attach_loop(struct uart8250 *u, struct event_loop *loop)
{
	if (!u->ready || u->out_fd < 0)
		return 0;
	u->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->kick_fd < 0)
		return -errno;
	u->loop = loop;
	int id = event_loop_add_events(loop, u->out_fd, POLLOUT, false, on_out_ready, u);
	if (id < 0)
		return id;
	u->out_source = id;
	if ((id = event_loop_add(loop, u->kick_fd, on_tx_kick, u)) < 0)
		return id;
	event_loop_set_tick(loop, tx_tick, u);
	pthread_mutex_lock(&u->lock);
	if (u->tx_count)
		kick(u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

size_t uart8250_tx_flush(struct uart8250 *u, int timeout_ms)
{
	if (!u->ready || u->out_fd < 0)
		return 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (uart8250_tx_drain(u)) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long long spent = (t.tv_sec - t0.tv_sec) * 1000LL + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (spent >= timeout_ms)
			break;
		struct pollfd p = { .fd = u->out_fd, .events = POLLOUT };
		int r = poll(&p, 1, (int)(timeout_ms - spent));
		if (r == 0 || (r < 0 && errno != EINTR))
			break;
	}
	pthread_mutex_lock(&u->lock);
	size_t lost = u->tx_count;
	u->tx_dropped += lost;
	u->tx_head = u->tx_count = 0;
	pthread_mutex_unlock(&u->lock);
	report_drops(u, true);
	return lost;
}

void uart8250_get_tx_stats(struct uart8250 *u, struct uart8250_tx_stats *st)
{
	pthread_mutex_lock(&u->lock);
	*st = (struct uart8250_tx_stats){ .bytes = u->tx_bytes, .written = u->tx_written,
					  .dropped = u->tx_dropped, .buffered = u->tx_count, .kicks = u->tx_kicks };
	pthread_mutex_unlock(&u->lock);
}

void uart8250_print_tx_stats(struct uart8250 *u, FILE *f)
{
	struct uart8250_tx_stats st;
	uart8250_get_tx_stats(u, &st);
	fprintf(f, "vmm: console: tx_bytes=%llu written=%llu dropped=%llu buffered=%zu\n",
		(unsigned long long)st.bytes, (unsigned long long)st.written, (unsigned long long)st.dropped,
		st.buffered);
}

void uart8250_destroy(struct uart8250 *u)
{
	if (u->ready) {
		if (u->loop)
			event_loop_set_tick(u->loop, NULL, NULL);
		if (u->kick_fd >= 0)
			close(u->kick_fd);
		if (u->own_output)
			uart8250_output_close(&u->out);
		free(u->tx_buf);
		u->kick_fd = u->out_fd = -1;
		u->tx_buf = NULL;
		u->ready = false;
	}
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
