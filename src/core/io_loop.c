/* io_loop: a poller, the transports watched on it, and posted closures,
 * driven by a thread of its own or by the embedder (see io_loop.h).
 *
 * Locking. loop->mu guards the closure queue, the watch count, the list of
 * removed watches awaiting release, the record of which thread drives the
 * loop, and which watch is being dispatched. No callback runs with it held.
 * cm_io_loop_watch_set_write_interest takes no loop lock at all: it runs
 * under the transport's write lock and only calls the (thread-safe) poller,
 * so the only lock order is transport write lock -> poller internals. */
#include "core/io_loop.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Readiness events taken from the poller per iteration. Level-triggered
 * readiness means nothing is lost when more are ready: they come next time. */
enum { kEventsPerWait = 64 };

typedef struct posted_closure {
  struct posted_closure *next;
  void (*fn)(void *context);
  void *context;
} posted_closure;

struct cm_io_watch {
  cm_io_loop *loop;
  cm_platform_transport *transport; /* NULL for a plain handle watch */
  void (*on_readable)(void *context);
  void *context;
  cm_platform_handle endpoint;
  bool removed;             /* under loop->mu */
  cm_io_watch *next_zombie; /* under loop->mu, once removed */
};

struct cm_io_loop {
  cm_platform_poller *poller;
  pthread_mutex_t mu;
  pthread_cond_t dispatch_done;

  posted_closure *closures_head, *closures_tail;
  cm_io_watch *zombies; /* removed while a driver may still see them */
  /* Hints, written under mu: whether the lists above may be non-empty, so
   * an iteration with nothing posted or removed takes no lock for them (a
   * closure posted meanwhile also wakes the poller, so it is not missed). */
  atomic_bool has_closures, has_zombies;
  cm_io_watch *dispatching; /* the watch whose callback runs now */
  size_t num_watches;

  bool driven;         /* a thread drives the loop now */
  pthread_t driver;    /* that thread, valid while `driven` */
  bool thread_running; /* default mode: our own thread exists */
  pthread_t thread;
  atomic_bool stop_requested;
};

MojoResult cm_io_loop_create(cm_io_loop **out) {
  if (!out)
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_io_loop *loop = calloc(1, sizeof(*loop));
  if (!loop)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  MojoResult r = cm_platform_poller_create(&loop->poller);
  if (r != MOJO_RESULT_OK) {
    free(loop);
    return r;
  }
  if (pthread_mutex_init(&loop->mu, NULL) != 0) {
    cm_platform_poller_destroy(loop->poller);
    free(loop);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  if (pthread_cond_init(&loop->dispatch_done, NULL) != 0) {
    pthread_mutex_destroy(&loop->mu);
    cm_platform_poller_destroy(loop->poller);
    free(loop);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  atomic_init(&loop->stop_requested, false);
  atomic_init(&loop->has_closures, false);
  atomic_init(&loop->has_zombies, false);
  *out = loop;
  return MOJO_RESULT_OK;
}

/* Runs every closure posted so far, in order, with no lock held. */
static void run_closures(cm_io_loop *loop) {
  if (!atomic_load_explicit(&loop->has_closures, memory_order_acquire))
    return;
  pthread_mutex_lock(&loop->mu);
  posted_closure *c = loop->closures_head;
  loop->closures_head = loop->closures_tail = NULL;
  atomic_store_explicit(&loop->has_closures, false, memory_order_relaxed);
  pthread_mutex_unlock(&loop->mu);
  while (c) {
    posted_closure *next = c->next;
    c->fn(c->context);
    free(c);
    c = next;
  }
}

static void free_zombies(cm_io_loop *loop) {
  if (!atomic_load_explicit(&loop->has_zombies, memory_order_acquire))
    return;
  pthread_mutex_lock(&loop->mu);
  cm_io_watch *z = loop->zombies;
  loop->zombies = NULL;
  atomic_store_explicit(&loop->has_zombies, false, memory_order_relaxed);
  pthread_mutex_unlock(&loop->mu);
  while (z) {
    cm_io_watch *next = z->next_zombie;
    free(z);
    z = next;
  }
}

void cm_io_loop_destroy(cm_io_loop *loop) {
  if (!loop)
    return;
  cm_io_loop_stop(loop);
  /* Closures may post more closures; run until none is left. */
  for (;;) {
    pthread_mutex_lock(&loop->mu);
    bool more = loop->closures_head != NULL;
    pthread_mutex_unlock(&loop->mu);
    if (!more)
      break;
    run_closures(loop);
  }
  free_zombies(loop);
  assert(loop->num_watches == 0);
  pthread_cond_destroy(&loop->dispatch_done);
  pthread_mutex_destroy(&loop->mu);
  cm_platform_poller_destroy(loop->poller);
  free(loop);
}

cm_platform_handle cm_io_loop_handle(const cm_io_loop *loop) {
  return cm_platform_poller_handle(loop->poller);
}

bool cm_io_loop_on_loop_thread(cm_io_loop *loop) {
  pthread_mutex_lock(&loop->mu);
  bool on = loop->driven && pthread_equal(loop->driver, pthread_self());
  pthread_mutex_unlock(&loop->mu);
  return on;
}

MojoResult cm_io_loop_post(cm_io_loop *loop, void (*fn)(void *context), void *context) {
  if (!loop || !fn)
    return MOJO_RESULT_INVALID_ARGUMENT;
  posted_closure *c = malloc(sizeof(*c));
  if (!c)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  c->next = NULL;
  c->fn = fn;
  c->context = context;
  pthread_mutex_lock(&loop->mu);
  if (loop->closures_tail)
    loop->closures_tail->next = c;
  else
    loop->closures_head = c;
  loop->closures_tail = c;
  atomic_store_explicit(&loop->has_closures, true, memory_order_release);
  pthread_mutex_unlock(&loop->mu);
  cm_platform_poller_wake(loop->poller);
  return MOJO_RESULT_OK;
}

/* Calls the transport for one readiness event unless its watch was removed
 * since the poller reported it. */
static void dispatch(cm_io_loop *loop, const cm_platform_poll_event *ev) {
  cm_io_watch *w = (cm_io_watch *)(uintptr_t)ev->tag;
  pthread_mutex_lock(&loop->mu);
  if (w->removed) {
    pthread_mutex_unlock(&loop->mu);
    return;
  }
  loop->dispatching = w;
  pthread_mutex_unlock(&loop->mu);

  if (!w->transport) {
    w->on_readable(w->context);
    goto done;
  }
  /* Write first: a failed write is then reported before a read on the same
   * socket sees the end of the stream, and the read side still drains. */
  if (ev->events & CM_PLATFORM_POLL_WRITE)
    cm_platform_transport_on_writable(w->transport);
  pthread_mutex_lock(&loop->mu);
  bool removed = w->removed;
  pthread_mutex_unlock(&loop->mu);
  if (!removed && (ev->events & (CM_PLATFORM_POLL_READ | CM_PLATFORM_POLL_ERROR)))
    cm_platform_transport_on_readable(w->transport);

done:
  pthread_mutex_lock(&loop->mu);
  loop->dispatching = NULL;
  pthread_cond_broadcast(&loop->dispatch_done);
  pthread_mutex_unlock(&loop->mu);
}

/* One iteration, on the driving thread. */
static void iterate(cm_io_loop *loop, int64_t timeout_us) {
  run_closures(loop);
  cm_platform_poll_event events[kEventsPerWait];
  size_t n = 0;
  if (cm_platform_poller_wait(loop->poller, timeout_us, events, kEventsPerWait, &n) !=
      MOJO_RESULT_OK)
    n = 0;
  for (size_t i = 0; i < n; i++)
    dispatch(loop, &events[i]);
  run_closures(loop);
  /* The batch is done: nothing refers to removed watches any more. */
  free_zombies(loop);
}

static bool claim_driver(cm_io_loop *loop) {
  pthread_mutex_lock(&loop->mu);
  bool ok = !loop->driven && !loop->thread_running;
  if (ok) {
    loop->driven = true;
    loop->driver = pthread_self();
  }
  pthread_mutex_unlock(&loop->mu);
  return ok;
}

static void release_driver(cm_io_loop *loop) {
  pthread_mutex_lock(&loop->mu);
  loop->driven = false;
  pthread_mutex_unlock(&loop->mu);
}

MojoResult cm_io_loop_run_once(cm_io_loop *loop, int64_t timeout_us) {
  if (!loop)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (!claim_driver(loop))
    return MOJO_RESULT_FAILED_PRECONDITION;
  iterate(loop, timeout_us);
  release_driver(loop);
  return MOJO_RESULT_OK;
}

static void *loop_thread_main(void *arg) {
  cm_io_loop *loop = arg;
  while (!atomic_load(&loop->stop_requested))
    iterate(loop, -1);
  /* What was posted before stop() runs before stop() returns. */
  run_closures(loop);
  free_zombies(loop);
  return NULL;
}

MojoResult cm_io_loop_start(cm_io_loop *loop) {
  if (!loop)
    return MOJO_RESULT_INVALID_ARGUMENT;
  pthread_mutex_lock(&loop->mu);
  if (loop->driven || loop->thread_running) {
    pthread_mutex_unlock(&loop->mu);
    return MOJO_RESULT_FAILED_PRECONDITION;
  }
  /* The thread counts as the driver from now on, so no run_once slips in
   * before it has started; its id is recorded while mu is still held, so
   * the thread sees it before it can look. */
  loop->driven = true;
  loop->thread_running = true;
  atomic_store(&loop->stop_requested, false);
  int err = pthread_create(&loop->thread, NULL, loop_thread_main, loop);
  if (err != 0) {
    loop->driven = false;
    loop->thread_running = false;
  } else {
    loop->driver = loop->thread;
  }
  pthread_mutex_unlock(&loop->mu);
  return err == 0 ? MOJO_RESULT_OK : MOJO_RESULT_RESOURCE_EXHAUSTED;
}

void cm_io_loop_stop(cm_io_loop *loop) {
  if (!loop)
    return;
  pthread_mutex_lock(&loop->mu);
  bool running = loop->thread_running;
  pthread_mutex_unlock(&loop->mu);
  if (!running)
    return;
  atomic_store(&loop->stop_requested, true);
  cm_platform_poller_wake(loop->poller);
  pthread_join(loop->thread, NULL);
  pthread_mutex_lock(&loop->mu);
  loop->thread_running = false;
  loop->driven = false;
  pthread_mutex_unlock(&loop->mu);
}

/* Registers w (loop, endpoint and callbacks set) with the poller. */
static MojoResult add_watch(cm_io_loop *loop, cm_io_watch *w, uint32_t interest,
                            cm_io_watch **out) {
  /* *out is written before the poller can report anything, under the lock
   * the driver takes before each callback, so a callback that looks at the
   * owner's copy of the watch finds it. */
  pthread_mutex_lock(&loop->mu);
  *out = w;
  MojoResult r = cm_platform_poller_add(loop->poller, w->endpoint, interest, (uintptr_t)w);
  if (r == MOJO_RESULT_OK)
    loop->num_watches++;
  else
    *out = NULL;
  pthread_mutex_unlock(&loop->mu);
  if (r != MOJO_RESULT_OK)
    free(w);
  return r;
}

MojoResult cm_io_loop_watch(cm_io_loop *loop, cm_platform_transport *transport, bool want_write,
                            cm_io_watch **out) {
  if (!loop || !transport || !out)
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_io_watch *w = calloc(1, sizeof(*w));
  if (!w)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  w->loop = loop;
  w->transport = transport;
  w->endpoint = cm_platform_transport_handle(transport);
  return add_watch(loop, w, CM_PLATFORM_POLL_READ | (want_write ? CM_PLATFORM_POLL_WRITE : 0u),
                   out);
}

MojoResult cm_io_loop_watch_handle(cm_io_loop *loop, cm_platform_handle h,
                                   void (*on_readable)(void *context), void *context,
                                   cm_io_watch **out) {
  if (!loop || !on_readable || !out)
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_io_watch *w = calloc(1, sizeof(*w));
  if (!w)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  w->loop = loop;
  w->endpoint = h;
  w->on_readable = on_readable;
  w->context = context;
  return add_watch(loop, w, CM_PLATFORM_POLL_READ, out);
}

void cm_io_loop_watch_set_write_interest(cm_io_watch *w, bool want) {
  uint32_t interest = CM_PLATFORM_POLL_READ | (want ? CM_PLATFORM_POLL_WRITE : 0u);
  /* NOT_FOUND (removed a moment ago by the owner, whose shutdown is about
   * to end these calls) is harmless. */
  (void)cm_platform_poller_modify(w->loop->poller, w->endpoint, interest, (uintptr_t)w);
}

/* Caller holds loop->mu. */
static void stop_locked(cm_io_loop *loop, cm_io_watch *w) {
  if (w->removed)
    return;
  w->removed = true;
  (void)cm_platform_poller_remove(loop->poller, w->endpoint);
  loop->num_watches--;
}

void cm_io_loop_watch_stop(cm_io_watch *w) {
  if (!w)
    return;
  pthread_mutex_lock(&w->loop->mu);
  stop_locked(w->loop, w);
  pthread_mutex_unlock(&w->loop->mu);
}

void cm_io_loop_unwatch(cm_io_watch *w) {
  if (!w)
    return;
  cm_io_loop *loop = w->loop;
  pthread_mutex_lock(&loop->mu);
  stop_locked(loop, w);
  bool on_loop = loop->driven && pthread_equal(loop->driver, pthread_self());
  if (!on_loop) {
    while (loop->dispatching == w)
      pthread_cond_wait(&loop->dispatch_done, &loop->mu);
  }
  /* A driver may hold an event for w taken before the removal: keep w
   * until its batch is done. With no driver, nothing can. */
  bool keep = loop->driven;
  if (keep) {
    w->next_zombie = loop->zombies;
    loop->zombies = w;
    atomic_store_explicit(&loop->has_zombies, true, memory_order_release);
  }
  pthread_mutex_unlock(&loop->mu);
  if (!keep)
    free(w);
}
