#include "event_loop.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* MemorySanitizer (the fuzz targets' -Dfuzz_sanitizer=memory) does not see liburing's library
 * code store the completion pointer: it is marked initialised by hand (the completion itself
 * lives in the ring's mapping, which MSan takes as initialised). */
#if defined(__has_feature)
#if __has_feature(memory_sanitizer)
#include <sanitizer/msan_interface.h>
#define CQE_FROM_LIBURING(cqe) __msan_unpoison(&(cqe), sizeof(cqe))
#endif
#endif
#ifndef CQE_FROM_LIBURING
#define CQE_FROM_LIBURING(cqe) ((void)0)
#endif

#define EVENT_RING_ENTRIES (EVENT_LOOP_MAX_SOURCES * 2)
/* user_data of the loop's own requests (cancellations), never a source's id. */
#define EVENT_LOOP_CANCEL_TAG UINT64_MAX
/* How long a borrowed ring's loop waits at destroy for its cancelled polls to complete. */
#define EVENT_LOOP_CANCEL_WAIT_MS 1000

/* What the ring may carry once enabled: the loop's polls and their cancellation, and the
 * timeout liburing queues for a timed wait on kernels without IORING_FEAT_EXT_ARG (before 5.11).
 * No register operation at all: vmm registers nothing after set-up. */
static const uint8_t ring_sqe_ops[] = { IORING_OP_POLL_ADD, IORING_OP_POLL_REMOVE, IORING_OP_TIMEOUT };

/* io_uring_register() itself: liburing 2.3's shared library does not export its
 * io_uring_register_restrictions() and io_uring_enable_rings() (only the static one has them). */
static int ring_register(struct io_uring *ring, unsigned op, const void *arg, unsigned nargs)
{
	return syscall(__NR_io_uring_register, ring->ring_fd, op, arg, nargs) < 0 ? -errno : 0;
}

int event_ring_open(struct io_uring *ring, bool *restricted)
{
	struct io_uring_params p = { .flags = IORING_SETUP_R_DISABLED };
	*restricted = false;
	int ret = io_uring_queue_init_params(EVENT_RING_ENTRIES, ring, &p);
	if (ret == -EINVAL) /* a kernel older than 5.10: no disabled start, so no restrictions */
		return io_uring_queue_init(EVENT_RING_ENTRIES, ring, 0);
	if (ret)
		return ret;
	struct io_uring_restriction res[sizeof(ring_sqe_ops)];
	memset(res, 0, sizeof(res));
	for (size_t i = 0; i < sizeof(ring_sqe_ops); i++) {
		res[i].opcode = IORING_RESTRICTION_SQE_OP;
		res[i].sqe_op = ring_sqe_ops[i];
	}
	if ((ret = ring_register(ring, IORING_REGISTER_RESTRICTIONS, res, sizeof(ring_sqe_ops))) ||
	    (ret = ring_register(ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0))) {
		io_uring_queue_exit(ring);
		return ret;
	}
	*restricted = true;
	return 0;
}

void event_ring_close(struct io_uring *ring)
{
	io_uring_queue_exit(ring);
}

int event_loop_init(struct event_loop *l)
{
	memset(l, 0, sizeof(*l));
	int ret = io_uring_queue_init(EVENT_RING_ENTRIES, &l->own_ring, 0);
	if (ret)
		return ret;
	l->ring = &l->own_ring;
	return 0;
}

void event_loop_init_on(struct event_loop *l, struct io_uring *ring)
{
	memset(l, 0, sizeof(*l));
	l->ring = ring;
	l->ring_borrowed = true;
}

/* A borrowed ring outlives the loop: every poll still queued is cancelled and its completion
 * reaped here, so that no completion of this loop's sources reaches the next loop on the ring
 * (whose ids start again from 0) and the polls drop their references to the files. */
static void cancel_polls(struct event_loop *l)
{
	unsigned pending = 0;
	for (int id = 0; id < EVENT_LOOP_MAX_SOURCES; id++) {
		if (!l->sources[id].armed)
			continue;
		struct io_uring_sqe *sqe = io_uring_get_sqe(l->ring);
		if (!sqe) {
			io_uring_submit(l->ring);
			sqe = io_uring_get_sqe(l->ring);
		}
		if (!sqe)
			break;
		io_uring_prep_poll_remove(sqe, (uint64_t)id);
		io_uring_sqe_set_data64(sqe, EVENT_LOOP_CANCEL_TAG);
		pending += 2; /* the poll's own completion (-ECANCELED, or its event) and the removal's */
	}
	io_uring_submit(l->ring);
	struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = EVENT_LOOP_CANCEL_WAIT_MS * 1000000LL };
	while (pending) {
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe_timeout(l->ring, &cqe, &ts))
			break; /* the kernel lost none of them: this only bounds the wait */
		CQE_FROM_LIBURING(cqe);
		io_uring_cqe_seen(l->ring, cqe);
		pending--;
	}
}

void event_loop_destroy(struct event_loop *l)
{
	if (!l->ring)
		return;
	if (l->ring_borrowed)
		cancel_polls(l);
	else
		io_uring_queue_exit(l->ring);
	l->ring = NULL;
}

void event_loop_arm(struct event_loop *l, int id)
{
	struct event_source *s = &l->sources[id];
	if (!s->used || s->armed)
		return;
	struct io_uring_sqe *sqe = io_uring_get_sqe(l->ring);
	if (!sqe) { /* the queue is full: submit what is there and take a fresh entry */
		io_uring_submit(l->ring);
		sqe = io_uring_get_sqe(l->ring);
	}
	if (!sqe)
		return;
	io_uring_prep_poll_add(sqe, s->fd, s->events);
	io_uring_sqe_set_data64(sqe, (uint64_t)id);
	s->armed = true;
}

int event_loop_add_events(struct event_loop *l, int fd, unsigned events, bool armed, event_fn fn, void *opaque)
{
	for (int id = 0; id < EVENT_LOOP_MAX_SOURCES; id++) {
		if (!l->sources[id].used) {
			l->sources[id] = (struct event_source){ .fd = fd, .events = events, .fn = fn,
								.opaque = opaque, .used = true };
			if (armed)
				event_loop_arm(l, id);
			return id;
		}
	}
	return -ENOSPC;
}

int event_loop_add(struct event_loop *l, int fd, event_fn fn, void *opaque)
{
	return event_loop_add_events(l, fd, POLLIN, true, fn, opaque);
}

void event_loop_set_tick(struct event_loop *l, event_tick_fn fn, void *opaque)
{
	l->tick = fn;
	l->tick_opaque = opaque;
}

int event_loop_run_once(struct event_loop *l, int timeout_ms)
{
	if (l->tick) {
		int t = l->tick(l->tick_opaque);
		if (t >= 0 && (timeout_ms < 0 || t < timeout_ms))
			timeout_ms = t;
	}
	io_uring_submit(l->ring);
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000LL };
	int ret = io_uring_wait_cqe_timeout(l->ring, &cqe, timeout_ms >= 0 ? &ts : NULL);
	if (ret == -ETIME || ret == -EINTR)
		return 0;
	if (ret)
		return ret;
	CQE_FROM_LIBURING(cqe);
	/* Run every completion that is there, not just the first. */
	for (;;) {
		uint64_t id = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(l->ring, cqe);
		if (id < EVENT_LOOP_MAX_SOURCES && l->sources[id].used) {
			struct event_source *s = &l->sources[id];
			s->armed = false;
			if (s->fn(s->opaque, s->fd, res < 0 ? POLLERR : (unsigned)res))
				event_loop_arm(l, (int)id);
		}
		if (io_uring_peek_cqe(l->ring, &cqe))
			break;
		CQE_FROM_LIBURING(cqe);
	}
	return 0;
}
