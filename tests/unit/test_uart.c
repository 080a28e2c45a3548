/* 16550A: transmit, THR-empty and receive interrupts gated by OUT2, IIR priorities, loopback,
 * divisor latch, FIFO overrun; host output that never blocks the guest: a host that does not
 * read loses what does not fit in the buffer (counted), one that reads gets every byte in order. */
#define _GNU_SOURCE /* posix_openpt, ptsname */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../../devices/uart8250.h"
#include "../../vmm/event_loop.h"
#include "check.h"

static struct uart8250 u;
static int irq_changes;
static bool line;

static void set_irq(void *ctx, bool level) { (void)ctx; line = level; irq_changes++; }
static void wr(unsigned reg, uint8_t v) { uart8250_ops.write(&u, reg, &v, 1); }
static uint8_t rd(unsigned reg) { uint8_t v; uart8250_ops.read(&u, reg, &v, 1); return v; }

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The guest's output: byte i of a pseudo-random stream, so that any 16 bytes of it say where
 * in the stream they come from. */
static uint8_t pattern(size_t i)
{
	uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull;
	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 32;
	return (uint8_t)x;
}

#define FLOOD_BYTES (1u << 20)     /* far more than the pipe (64 KiB) and the buffer together */
#define DEADLINE_S 10.0            /* a blocked THR write fails the test instead of hanging it */

/* A vCPU: FLOOD_BYTES THR writes, each timed. paced: never more than half a buffer ahead of the
 * host (a guest that does not outrun it), so that no byte may be lost. */
struct writer {
	size_t total;
	bool paced;
	_Atomic size_t done; /* bytes written so far */
	double max_write_s;
	bool pace_timeout;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	double start = now_s();
	for (size_t i = 0; i < w->total; i++) {
		if (w->paced && i % 4096 == 0) {
			struct uart8250_tx_stats st;
			for (uart8250_get_tx_stats(&u, &st); st.buffered > u.tx_size / 2; uart8250_get_tx_stats(&u, &st)) {
				if (now_s() - start > DEADLINE_S) {
					w->pace_timeout = true;
					return NULL;
				}
				usleep(200);
			}
		}
		double t0 = now_s();
		wr(UART_THR, pattern(i));
		double dt = now_s() - t0;
		if (dt > w->max_write_s)
			w->max_write_s = dt;
		atomic_store(&w->done, i + 1);
	}
	return NULL;
}

/* One turn of the event loop (the host side of vmm), up to 10 ms. */
static void run_loop(struct event_loop *loop)
{
	int ret = event_loop_run_once(loop, 10);
	if (ret)
		CHECK_EQ(ret, 0);
}

/* Runs the event loop (the host side of vmm) until the writer is done. A writer stuck in a THR
 * write ends the test here: it cannot be joined. */
static void run_loop_until_written(struct event_loop *loop, pthread_t th, struct writer *w, const char *what)
{
	double start = now_s();
	while (atomic_load(&w->done) < w->total && !w->pace_timeout) {
		run_loop(loop);
		if (now_s() - start > DEADLINE_S) {
			fprintf(stderr, "%s: the guest's THR writes blocked: %zu of %zu bytes written in %.0f s\n", what,
				atomic_load(&w->done), w->total, DEADLINE_S);
			check_report("uart");
			_exit(1);
		}
	}
	pthread_join(th, NULL);
	CHECK(!w->pace_timeout);
	CHECK(w->max_write_s < 1.0); /* each write returned at once (1 s: room for a loaded machine) */
}

/* Reads what the pipe holds into got[*len...]. */
static void read_pipe(int fd, uint8_t *got, size_t *len, size_t cap)
{
	ssize_t r;
	while (*len < cap && (r = read(fd, got + *len, cap - *len)) > 0)
		*len += (size_t)r;
}

static size_t first_mismatch(const uint8_t *got, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (got[i] != pattern(i))
			return i;
	return len;
}

/* Whether got is the stream of `total` bytes in order with some runs of it left out (the bytes
 * dropped while the buffer was full): each stretch must carry on at a later place in the stream. */
static bool in_order_with_gaps(const uint8_t *got, size_t len, size_t total)
{
	size_t pos = 0;
	for (size_t i = 0; i < len;) {
		if (pos < total && got[i] == pattern(pos)) {
			i++, pos++;
			continue;
		}
		size_t k = len - i < 16 ? len - i : 16, q = pos + 1;
		for (; q + k <= total; q++) {
			size_t j = 0;
			while (j < k && got[i + j] == pattern(q + j))
				j++;
			if (j == k)
				break;
		}
		if (q + k > total)
			return false;
		pos = q;
	}
	return true;
}

/* The UART as vmm runs it: output to a pipe (p[0] the host's non-blocking read end), drained by
 * an event loop. */
static void uart_on_pipe_with_loop(int p[2], struct event_loop *loop)
{
	CHECK_EQ(pipe(p), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	CHECK_EQ(event_loop_init(loop), 0);
	CHECK_EQ(uart8250_init(&u, p[1], set_irq, NULL), 0);
	CHECK_EQ(uart8250_attach_loop(&u, loop), 0);
}

/* Nobody reads the pipe: every THR write still returns at once, the guest still sees THR empty
 * and its interrupt, what fits in the pipe and the buffer is kept and the rest is counted as
 * dropped; once the host reads again, the loop delivers the kept bytes in order. The loop runs
 * while the guest writes, as in vmm, so that the pipe may still be filling when the buffer is
 * full: then the bytes kept are not just the first ones. */
static void test_stuck_reader(void)
{
	int p[2];
	struct event_loop loop;
	uart_on_pipe_with_loop(p, &loop);
	/* The host fd's own open file description (a shell's terminal) is left blocking. */
	CHECK(!(fcntl(p[1], F_GETFL) & O_NONBLOCK));

	struct writer w = { .total = FLOOD_BYTES };
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, writer_main, &w), 0);
	run_loop_until_written(&loop, th, &w, "stuck reader");
	for (int i = 0; i < 5; i++) /* let the loop write what it can */
		run_loop(&loop);

	struct uart8250_tx_stats st;
	uart8250_get_tx_stats(&u, &st);
	int in_pipe = -1;
	CHECK_EQ(ioctl(p[0], FIONREAD, &in_pipe), 0);
	CHECK_EQ(st.bytes, FLOOD_BYTES);
	CHECK(in_pipe > 0);
	CHECK_EQ(st.written, (size_t)in_pipe);   /* the pipe holds what the loop wrote... */
	CHECK(st.dropped > 0);                    /* ...and what did not fit is counted */
	CHECK_EQ(st.written + st.buffered + st.dropped, FLOOD_BYTES);

	/* The guest goes on writing into the full pipe: the buffer fills up, and the count of what
	 * was dropped is exactly what neither the pipe nor the buffer took. */
	double t0 = now_s();
	for (size_t i = FLOOD_BYTES; i < 2 * FLOOD_BYTES; i++)
		wr(UART_THR, pattern(i));
	CHECK(now_s() - t0 < DEADLINE_S);
	uart8250_get_tx_stats(&u, &st);
	CHECK_EQ(ioctl(p[0], FIONREAD, &in_pipe), 0);
	CHECK_EQ(st.bytes, 2 * FLOOD_BYTES);
	CHECK_EQ(st.written, (size_t)in_pipe);
	CHECK_EQ(st.buffered, UART_TX_BUF_SIZE);
	CHECK_EQ(st.dropped, 2 * FLOOD_BYTES - (size_t)in_pipe - UART_TX_BUF_SIZE);

	/* The guest sees nothing of it: THR empty, and THRI still comes after each write. */
	CHECK_EQ(rd(UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), UART_LSR_THRE | UART_LSR_TEMT);
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_IER, UART_IER_THRI);
	CHECK(line);
	CHECK_EQ(rd(UART_IIR) & 0x0F, UART_IIR_THRI);
	CHECK(!line);
	wr(UART_THR, 'x');
	CHECK(line);
	CHECK_EQ(rd(UART_IIR) & 0x0F, UART_IIR_THRI);
	wr(UART_IER, 0);
	wr(UART_MCR, 0);
	struct uart8250_tx_stats st2;
	uart8250_get_tx_stats(&u, &st2);
	CHECK_EQ(st2.dropped, st.dropped + 1);
	CHECK_EQ(st2.buffered, st.buffered);

	/* The host reads again: the loop delivers the buffered bytes after the pipe's, in order. */
	size_t want = (size_t)in_pipe + UART_TX_BUF_SIZE, len = 0;
	uint8_t *got = malloc(want + 1);
	double start = now_s();
	while (now_s() - start < DEADLINE_S) {
		read_pipe(p[0], got, &len, want + 1);
		uart8250_get_tx_stats(&u, &st2);
		if (len >= want && !st2.buffered)
			break;
		run_loop(&loop);
	}
	read_pipe(p[0], got, &len, want + 1);
	CHECK_EQ(len, want);
	/* The stream's first bytes, then (where the loop freed room in the buffer after the guest
	 * had begun to lose bytes) later stretches of it, never out of order. */
	CHECK(first_mismatch(got, len) >= UART_TX_BUF_SIZE);
	CHECK(in_order_with_gaps(got, len, 2 * FLOOD_BYTES));
	uart8250_get_tx_stats(&u, &st2);
	CHECK_EQ(st2.buffered, 0);
	CHECK_EQ(st2.written, want);
	CHECK_EQ(st2.dropped, st.dropped + 1);
	free(got);

	uart8250_destroy(&u);
	event_loop_destroy(&loop);
	close(p[0]);
	close(p[1]);
}

struct reader {
	int fd;
	uint8_t *got;
	size_t len, cap;
	_Atomic bool stop;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	while (r->len < r->cap && !atomic_load(&r->stop)) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		if (poll(&pfd, 1, 100) > 0)
			read_pipe(r->fd, r->got, &r->len, r->cap);
	}
	return NULL;
}

/* A host that reads while the guest writes gets every byte, in order, none dropped. */
static void test_reader_keeps_up(void)
{
	int p[2];
	struct event_loop loop;
	uart_on_pipe_with_loop(p, &loop);
	struct reader r = { .fd = p[0], .cap = FLOOD_BYTES };
	r.got = malloc(r.cap);
	pthread_t rth, wth;
	CHECK_EQ(pthread_create(&rth, NULL, reader_main, &r), 0);
	struct writer w = { .total = FLOOD_BYTES, .paced = true };
	CHECK_EQ(pthread_create(&wth, NULL, writer_main, &w), 0);
	run_loop_until_written(&loop, wth, &w, "reader keeps up");
	struct uart8250_tx_stats st;
	double start = now_s();
	for (uart8250_get_tx_stats(&u, &st); st.buffered && now_s() - start < DEADLINE_S; uart8250_get_tx_stats(&u, &st))
		run_loop(&loop);
	while (r.len < r.cap && now_s() - start < DEADLINE_S)
		usleep(1000);
	atomic_store(&r.stop, true);
	pthread_join(rth, NULL);
	CHECK_EQ(st.bytes, FLOOD_BYTES);
	CHECK_EQ(st.dropped, 0);
	CHECK_EQ(st.written, FLOOD_BYTES);
	CHECK_EQ(r.len, FLOOD_BYTES);
	CHECK_EQ(first_mismatch(r.got, r.len), r.len);
	free(r.got);
	uart8250_destroy(&u);
	event_loop_destroy(&loop);
	close(p[0]);
	close(p[1]);
}

/* While the guest prints, the loop lingers: a byte written after a drain waits for the loop's
 * next tick instead of waking it (a wake-up is a system call on the vCPU's exit path), until
 * UART_TX_LINGER_MS pass with nothing new; half a ring wakes it all the same. */
static void test_linger(void)
{
	int p[2];
	struct event_loop loop;
	uart_on_pipe_with_loop(p, &loop);
	struct uart8250_tx_stats st;
	bool each_written = true;
	for (int i = 0; i < 20; i++) {
		wr(UART_THR, (uint8_t)('a' + i));
		run_loop(&loop);
		uart8250_get_tx_stats(&u, &st);
		each_written &= st.written == (uint64_t)i + 1; /* the byte left within one loop turn */
	}
	CHECK(each_written);
	CHECK_EQ(st.kicks, 1); /* only the first byte woke the loop */
	usleep(UART_TX_LINGER_MS * 1000 + 5000);
	run_loop(&loop); /* nothing new: it stops lingering */
	wr(UART_THR, 'z');
	uart8250_get_tx_stats(&u, &st);
	CHECK_EQ(st.kicks, 2);
	run_loop(&loop);
	char got[32] = { 0 };
	CHECK_EQ(read(p[0], got, sizeof(got)), 21);
	CHECK(!strcmp(got, "abcdefghijklmnopqrstz"));
	/* Lingering, a burst with no loop turn: one wake-up at half the ring, none before. */
	uint64_t before = st.kicks;
	for (size_t i = 0; i + 1 < UART_TX_BUF_SIZE / 2; i++)
		wr(UART_THR, 'y');
	uart8250_get_tx_stats(&u, &st);
	CHECK_EQ(st.kicks, before);
	wr(UART_THR, 'y');
	uart8250_get_tx_stats(&u, &st);
	CHECK_EQ(st.kicks, before + 1);
	uart8250_destroy(&u);
	event_loop_destroy(&loop);
	close(p[0]);
	close(p[1]);
}

/* At exit the buffer is written with a bounded wait: a host that does not read costs the wait,
 * not a hang, and what is left is counted as dropped. */
static void test_exit_flush(void)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	CHECK_EQ(uart8250_init(&u, p[1], set_irq, NULL), 0);
	for (size_t i = 0; i < 100000; i++)
		wr(UART_THR, pattern(i));
	double t0 = now_s();
	size_t lost = uart8250_tx_flush(&u, 200);
	double spent = now_s() - t0;
	CHECK(spent >= 0.15 && spent < 2.0);
	int in_pipe = -1;
	CHECK_EQ(ioctl(p[0], FIONREAD, &in_pipe), 0);
	CHECK(in_pipe > 0);
	CHECK_EQ(lost, 100000 - (size_t)in_pipe);
	struct uart8250_tx_stats st;
	uart8250_get_tx_stats(&u, &st);
	CHECK_EQ(st.buffered, 0);
	CHECK_EQ(st.dropped, lost);
	CHECK_EQ(st.written, (size_t)in_pipe);
	uint8_t *got = malloc(100000);
	size_t len = 0;
	read_pipe(p[0], got, &len, 100000);
	CHECK_EQ(len, (size_t)in_pipe);
	CHECK_EQ(first_mismatch(got, len), len);
	free(got);
	/* With a reader, the flush delivers everything and drops nothing. */
	for (size_t i = 0; i < 1000; i++)
		wr(UART_THR, pattern(i));
	CHECK_EQ(uart8250_tx_flush(&u, 200), 0);
	len = 0;
	got = malloc(1000);
	read_pipe(p[0], got, &len, 1000);
	CHECK_EQ(len, 1000);
	CHECK_EQ(first_mismatch(got, len), len);
	free(got);
	uart8250_destroy(&u);
	close(p[0]);
	close(p[1]);
}

static bool nonblocking(int fd) { return fcntl(fd, F_GETFL) & O_NONBLOCK; }

/* Sends "ok" through the UART to fd and reads it back from peer. */
static void check_output(int fd, int peer)
{
	CHECK_EQ(uart8250_init(&u, fd, set_irq, NULL), 0);
	wr(UART_THR, 'o');
	wr(UART_THR, 'k');
	CHECK_EQ(uart8250_tx_drain(&u), 0);
	char buf[4] = { 0 };
	struct pollfd pfd = { .fd = peer, .events = POLLIN };
	CHECK_EQ(poll(&pfd, 1, 2000), 1);
	if (pfd.revents & POLLIN)
		CHECK_EQ(read(peer, buf, sizeof(buf)), 2);
	CHECK(!memcmp(buf, "ok", 2));
}

/* How each kind of host fd is written without blocking. A terminal (a shell's, whose open file
 * description its shell shares) gets vmm's own non-blocking description and keeps its own
 * flags; a socket is sent to with MSG_DONTWAIT; a regular file is written as it is; a pty
 * master, which cannot be reopened, is made non-blocking and given its flags back at the end. */
static void test_output_kinds(void)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master >= 0 && !grantpt(master) && !unlockpt(master)) {
		int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
		CHECK(slave >= 0);
		struct termios raw;
		CHECK_EQ(tcgetattr(slave, &raw), 0);
		cfmakeraw(&raw); /* bytes, not lines, on both sides */
		CHECK_EQ(tcsetattr(slave, TCSANOW, &raw), 0);
		check_output(slave, master);
		CHECK(u.out.owned);
		CHECK(u.out_fd != slave && nonblocking(u.out_fd));
		CHECK(!nonblocking(slave));
		uart8250_destroy(&u);
		CHECK(!nonblocking(slave));

		check_output(master, slave);
		CHECK(!u.out.owned);
		CHECK_EQ(u.out_fd, master);
		CHECK(nonblocking(master));
		uart8250_destroy(&u);
		CHECK(!nonblocking(master));
		close(slave);
		close(master);
	} else {
		printf("uart: no pty here, terminal output not checked\n");
	}

	int sv[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	check_output(sv[0], sv[1]);
	CHECK_EQ(u.out.mode, UART_OUT_SEND);
	CHECK_EQ(u.out_fd, sv[0]);
	CHECK(!nonblocking(sv[0]));
	uart8250_destroy(&u);
	close(sv[0]);
	close(sv[1]);

	char path[] = "/tmp/test_uart_XXXXXX";
	int f = mkstemp(path);
	CHECK(f >= 0);
	unlink(path);
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f);
	int peer = open(proc, O_RDONLY);
	CHECK(peer >= 0);
	check_output(f, peer);
	CHECK_EQ(u.out_fd, f);
	CHECK(!u.out.owned && !nonblocking(f));
	uart8250_destroy(&u);
	close(peer);
	close(f);
}

int main(void)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	CHECK_EQ(uart8250_init(&u, p[1], set_irq, NULL), 0);
	CHECK_EQ(rd(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(rd(UART_IIR), UART_IIR_NO_INT);

	/* Transmit goes to the fd, through the buffer (drained by the loop in vmm, here by hand). */
	wr(UART_THR, 'h');
	wr(UART_THR, 'i');
	char buf[8] = { 0 };
	CHECK_EQ(uart8250_tx_drain(&u), 0);
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
	CHECK_EQ(uart8250_tx_drain(&u), 0);
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
	close(p[0]);
	close(p[1]);

	test_stuck_reader();
	test_reader_keeps_up();
	test_linger();
	test_exit_flush();
	test_output_kinds();
	return check_report("uart");
}
