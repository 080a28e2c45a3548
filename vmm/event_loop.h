/* The main thread's event loop (io_uring poll): vmm's own fds (console input, signals, the VM's
 * stop event) and any device fd (vhost's IOTLB messages and vring errors) with a callback each. */
#ifndef VMM_EVENT_LOOP_H
#define VMM_EVENT_LOOP_H

#include <liburing.h>
#include <stdbool.h>

#include "log.h"

#define EVENT_LOOP_MAX_SOURCES 16

/* Called on the loop's thread when fd is ready: readable, or what event_loop_add_events() asked
 * for (revents: the poll bits). Returns true to keep watching the fd, false to stop until
 * event_loop_arm() is called again. */
typedef bool (*event_fn)(void *opaque, int fd, unsigned revents);

struct event_source {
	int fd;
	unsigned events; /* poll bits to wait for: POLLIN unless event_loop_add_events() said */
	event_fn fn;
	void *opaque;
	bool armed; /* a poll request is queued */
	bool used;
};

/* Called by event_loop_run_once() before it waits; returns the longest the wait may last in ms
 * (-1: no limit). Work that wants to come back soon by itself (a drainer that lingers) uses it. */
typedef int (*event_tick_fn)(void *opaque);

struct event_loop {
	event_tick_fn tick;
	void *tick_opaque;
	struct io_uring *ring;    /* own_ring, or a borrowed one (event_loop_init_on); NULL once destroyed */
	struct io_uring own_ring;
	bool ring_borrowed;
	struct event_source sources[EVENT_LOOP_MAX_SOURCES];
};

/* vmm's one ring for its whole life, created before it drops its privileges (sandbox.c): the
 * loops of successive VMs (a guest restart) run on it, so that a restart needs no
 * io_uring_setup, which the seccomp filter does not allow. io_uring operations are not seen by
 * seccomp, so where the kernel can (5.10+) the ring is restricted to the operations the loop
 * queues (poll, poll removal, liburing's timeout): *restricted says whether it is. */
int event_ring_open(struct io_uring *ring, bool *restricted) __must_check;
void event_ring_close(struct io_uring *ring);

/* A loop on its own ring. */
int event_loop_init(struct event_loop *l) __must_check;
/* A loop on `ring`, which stays the caller's and must outlive it. */
void event_loop_init_on(struct event_loop *l, struct io_uring *ring);
/* Cancels what is pending: its own ring is closed (the kernel drops the polls with it); on a
 * borrowed ring every queued poll is cancelled and its completion reaped. */
void event_loop_destroy(struct event_loop *l);
/* Watches fd; returns the source's id (>= 0) or -ENOSPC. */
int event_loop_add(struct event_loop *l, int fd, event_fn fn, void *opaque) __must_check;
/* The same for other poll bits (POLLOUT: a writer that waits for room). armed: watch it now, or
 * only from the first event_loop_arm(). */
int event_loop_add_events(struct event_loop *l, int fd, unsigned events, bool armed, event_fn fn,
			  void *opaque) __must_check;
/* Watches the source again after its callback returned false. */
void event_loop_arm(struct event_loop *l, int id);
/* Sets the loop's one tick (NULL: none). */
void event_loop_set_tick(struct event_loop *l, event_tick_fn fn, void *opaque);
/* Runs the tick, then waits up to timeout_ms (-1: no limit; the tick may shorten it) for events
 * and runs their callbacks. Returns 0, or a negative errno when io_uring fails. */
int event_loop_run_once(struct event_loop *l, int timeout_ms) __must_check;

#endif
