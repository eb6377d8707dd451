/* cmojo inside libevent, on the process's only thread.
 *
 * cmojo_initialize_embedded() starts no I/O thread. cmojo's fd becomes one
 * more persistent read event of the application's event_base; its callback
 * calls cmojo_process(), which reads what the child sent and runs the trap
 * handler of embed_pingpong.c. A persistent timer event of the application
 * starts the exchange on its first tick and reaps the child. The process
 * has one thread from start to end, which the example checks in
 * /proc/self/task (libevent starts none unless told to use threads).
 *
 * Usage: embed_libevent [ROUNDS [BYTES]]   (exits 0 when all rounds were played) */
#include <event2/event.h>
#include <stdio.h>

#include "cmojo/embedder.h"
#include "embed_pingpong.h"

static pingpong pp;
static struct event_base *base;
static struct event *mojo_timeout;

/* Called when cmojo's fd is readable, or when cmojo_get_timeout_us() asked
 * to be called back (cmojo has no timers today, so it never does). */
static void on_mojo(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  if (!pingpong_process(&pp)) {
    event_base_loopbreak(base);
    return;
  }
  int ms = pingpong_timeout_ms();
  if (ms >= 0) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(mojo_timeout, &tv);
  }
}

static void on_tick(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  if (pingpong_tick(&pp))
    event_base_loopbreak(base);
}

int main(int argc, char **argv) {
  int status;
  if (pingpong_child(argc, argv, &status))
    return status;

  pingpong_start(&pp, "libevent", argc, argv);
  base = event_base_new();
  if (!base) {
    fprintf(stderr, "event_base_new failed\n");
    return 1;
  }
  printf("[libevent] event_base backend: %s\n", event_base_get_method(base));

  /* Level-triggered (no EV_ET), as cmojo's fd is: libevent calls back
   * while cmojo has work. */
  struct event *mojo = event_new(base, cmojo_get_fd(), EV_READ | EV_PERSIST, on_mojo, NULL);
  mojo_timeout = evtimer_new(base, on_mojo, NULL);
  struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
  struct timeval period = {0, PINGPONG_TICK_MS * 1000};
  if (!mojo || !mojo_timeout || !tick || event_add(mojo, NULL) != 0 ||
      event_add(tick, &period) != 0) {
    fprintf(stderr, "could not set up the libevent events\n");
    return 1;
  }

  event_base_dispatch(base);

  event_free(tick);
  event_free(mojo_timeout);
  event_free(mojo);
  event_base_free(base);
  return pingpong_finish(&pp);
}
