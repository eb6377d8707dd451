/* io_loop: the loop that services every transport of this process.
 *
 * Role. One cm_io_loop owns one cm_platform_poller. Transports are watched
 * on it (read interest always, write interest while the transport asks for
 * it through its on_write_interest delegate, which its owner forwards to
 * cm_io_loop_watch_set_write_interest); readiness is dispatched to
 * cm_platform_transport_on_readable / on_writable. Closures can be posted
 * to run on the loop's thread. The loop is driven in one of two ways
 * (DESIGN §3):
 *   - default mode: cm_io_loop_start() runs it on a thread of its own, and
 *     cm_io_loop_stop() ends and joins that thread;
 *   - embedder mode: no thread; the embedder watches cm_io_loop_handle() (a
 *     level-triggered pollable fd, the poller's own) in its event loop and
 *     calls cm_io_loop_run_once() when it is readable (or when a timeout of
 *     its choosing passes).
 * "The loop thread" below means the dedicated thread in default mode, or
 * the thread currently inside cm_io_loop_run_once() in embedder mode. At
 * most one thread drives a loop at a time.
 *
 * Invariants.
 * - The poller never closes what it watches; a transport is unwatched
 *   before it is destroyed.
 * - Once cm_io_loop_unwatch() returns, the loop calls nothing more on that
 *   transport; called from a thread other than the loop thread it waits for
 *   a callback already running on that transport to return.
 * - A watch removed while a batch of readiness events is being dispatched
 *   is freed only after the batch, so a stale event is recognized and
 *   skipped rather than followed.
 *
 * Threads: every function may be called from any thread except where a
 * function says otherwise. */
#ifndef CMOJO_CORE_IO_LOOP_H_
#define CMOJO_CORE_IO_LOOP_H_

#include <stdbool.h>
#include <stdint.h>

#include "mojo/public/c/system/types.h"
#include "platform/platform.h"

typedef struct cm_io_loop cm_io_loop;
/* One watched transport; owned by the loop. */
typedef struct cm_io_watch cm_io_watch;

/* Creates a loop with nothing watched, not running. Returns OK and *out;
 * RESOURCE_EXHAUSTED if out of memory or fds; INVALID_ARGUMENT if out is
 * NULL. */
MojoResult cm_io_loop_create(cm_io_loop **out);

/* Stops the loop thread if it runs, runs closures still posted (on the
 * calling thread), frees what is left and the loop. Every watch must have
 * been removed first (asserts in debug builds). No other thread may use the
 * loop. NULL is a no-op. */
void cm_io_loop_destroy(cm_io_loop *loop);

/* Default mode: starts the loop's own thread. Returns OK;
 * FAILED_PRECONDITION if the thread already runs or a thread is inside
 * cm_io_loop_run_once(); RESOURCE_EXHAUSTED if no thread can be created. */
MojoResult cm_io_loop_start(cm_io_loop *loop);

/* Ends the loop's own thread and joins it. Closures posted before the call
 * have run when it returns. Not from the loop thread itself. No-op if the
 * thread does not run. */
void cm_io_loop_stop(cm_io_loop *loop);

/* Embedder mode: waits up to timeout_us microseconds (0: do not wait;
 * negative: no limit) for readiness or a wakeup, then dispatches what is
 * ready and runs posted closures. Returns OK; FAILED_PRECONDITION if the
 * loop's own thread runs or another thread is inside run_once (it is not
 * reentrant either: a callback may not call it). */
MojoResult cm_io_loop_run_once(cm_io_loop *loop, int64_t timeout_us);

/* The pollable handle of embedder mode: readable (level-triggered) whenever
 * cm_io_loop_run_once(loop, 0) has something to do. Borrowed; valid until
 * destroy. */
cm_platform_handle cm_io_loop_handle(const cm_io_loop *loop);

/* Whether the calling thread is the loop thread right now. */
bool cm_io_loop_on_loop_thread(cm_io_loop *loop);

/* Runs fn(context) once on the loop thread, after the callbacks already
 * running, and wakes the loop. Closures run in the order they were posted.
 * Returns OK; INVALID_ARGUMENT if fn is NULL; RESOURCE_EXHAUSTED if out of
 * memory (fn will not run). */
MojoResult cm_io_loop_post(cm_io_loop *loop, void (*fn)(void *context), void *context);

/* Starts watching a transport: read readiness always, write readiness if
 * want_write (the owner's record of the transport's last on_write_interest
 * wish) and whenever the owner forwards on_write_interest(true) later. The
 * owner must serialize this call with its forwarding of on_write_interest,
 * so that no wish falls between the two (cm_io_loop_watch does not call the
 * transport, so a lock taken in on_write_interest may be held here).
 * *out is written before the first callback can run (a callback may read
 * it). The transport stays the caller's. Returns OK and *out;
 * INVALID_ARGUMENT for a NULL argument or an endpoint the poller refuses;
 * ALREADY_EXISTS if its endpoint is watched already; RESOURCE_EXHAUSTED if
 * out of memory (*out is then NULL). */
MojoResult cm_io_loop_watch(cm_io_loop *loop, cm_platform_transport *transport, bool want_write,
                            cm_io_watch **out);

/* Watches a plain handle (e.g. a listening socket) for read readiness:
 * on_readable(context) runs on the loop thread while it is readable
 * (level-triggered: it must consume the readiness or stop the watch).
 * Removal as for transports (cm_io_loop_watch_stop / cm_io_loop_unwatch);
 * the handle stays the caller's. Returns as cm_io_loop_watch. */
MojoResult cm_io_loop_watch_handle(cm_io_loop *loop, cm_platform_handle h,
                                   void (*on_readable)(void *context), void *context,
                                   cm_io_watch **out);

/* Records the transport's wish for write readiness. Meant to be called from
 * the transport's on_write_interest delegate (with the transport's write
 * lock held, on any thread): it only updates the poller. After the watch
 * was removed it must no longer be called (shut the transport down, which
 * ends its wishes, before destroying it). */
void cm_io_loop_watch_set_write_interest(cm_io_watch *watch, bool want);

/* Stops readiness reports for the watch (no further callback starts on
 * its transport; one running on the loop thread now goes on) but keeps the
 * watch, which the owner still releases with cm_io_loop_unwatch. For an
 * owner that gives up on a transport from inside its callbacks, where it may
 * not destroy it. Idempotent. */
void cm_io_loop_watch_stop(cm_io_watch *watch);

/* Stops watching (if not stopped yet) and releases the watch; the transport
 * stays the caller's, unchanged. From a thread other than the loop thread,
 * first waits for a callback running on this transport to return, so the
 * caller must not hold anything that callback needs; once it returns the
 * transport may be destroyed. On the loop thread it does not wait (so it may
 * be called from a callback of another transport, or of this one as long as
 * the transport outlives its callback). NULL is a no-op. */
void cm_io_loop_unwatch(cm_io_watch *watch);

#endif /* CMOJO_CORE_IO_LOOP_H_ */
