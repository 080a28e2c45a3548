#include "event_loop.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

int event_loop_init(struct event_loop *l)
{
	memset(l, 0, sizeof(*l));
	int ret = io_uring_queue_init(EVENT_LOOP_MAX_SOURCES * 2, &l->ring, 0);
	if (ret)
		return ret;
	l->ring_ready = true;
	return 0;
}

void event_loop_destroy(struct event_loop *l)
{
	if (l->ring_ready)
		io_uring_queue_exit(&l->ring);
	l->ring_ready = false;
}

void event_loop_arm(struct event_loop *l, int id)
{
	struct event_source *s = &l->sources[id];
	if (!s->used || s->armed)
		return;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
	if (!sqe) { /* the queue is full: submit what is there and take a fresh entry */
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
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

int event_loop_run_once(struct event_loop *l, int timeout_ms)
{
	io_uring_submit(&l->ring);
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000LL };
	int ret = io_uring_wait_cqe_timeout(&l->ring, &cqe, timeout_ms >= 0 ? &ts : NULL);
	if (ret == -ETIME || ret == -EINTR)
		return 0;
	if (ret)
		return ret;
	/* Run every completion that is there, not just the first. */
	for (;;) {
		uint64_t id = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&l->ring, cqe);
		if (id < EVENT_LOOP_MAX_SOURCES && l->sources[id].used) {
			struct event_source *s = &l->sources[id];
			s->armed = false;
			if (s->fn(s->opaque, s->fd, res < 0 ? POLLERR : (unsigned)res))
				event_loop_arm(l, (int)id);
		}
		if (io_uring_peek_cqe(&l->ring, &cqe))
			break;
	}
	return 0;
}
