/* Threaded tests of the transport (run under ThreadSanitizer): several
 * threads write to one transport, with and without fds and with frames big
 * enough to fill the socket, while an I/O thread drives both ends through a
 * poller, the write-interest callback switching the poller's interest from
 * whichever thread queues or drains. Then shutdown racing with writers. */
#include "test_support.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm_limits.h"
#include "platform/platform.h"

enum { kWriters = 4, kFramesPerWriter = 1500, kBigFrame = 96 * 1024 };

typedef struct end {
  cm_platform_transport *t;
  cm_platform_poller *poller;
  uint64_t tag;
  /* Touched by the I/O thread only. */
  uint32_t next_seq[kWriters];
  size_t frames, fds, acks;
  int errors;
  MojoResult error;
  bool ack_every_100; /* B: answer every 100th frame from inside on_frame */
  bool order_broken;
} end;

typedef struct frame_head {
  uint32_t writer;
  uint32_t seq;
  uint32_t size;
  uint32_t num_fds;
} frame_head;

static void on_frame(void *ctx, const void *bytes, size_t n, cm_platform_handle *h, size_t nh) {
  end *e = ctx;
  for (size_t i = 0; i < nh; i++) {
    /* Each fd is a pipe write end: usable, then ours to close. */
    if (cm_platform_handle_check(h[i]) != MOJO_RESULT_OK)
      e->order_broken = true;
    cm_platform_handle_close(&h[i]);
  }
  e->fds += nh;
  if (n == 3 && memcmp(bytes, "ack", 3) == 0) {
    e->acks++;
    return;
  }
  frame_head fh;
  if (n < sizeof(fh)) {
    e->order_broken = true;
    return;
  }
  memcpy(&fh, bytes, sizeof(fh));
  if (fh.writer >= kWriters || fh.seq != e->next_seq[fh.writer] || fh.size != n ||
      fh.num_fds != nh || ((const uint8_t *)bytes)[n - 1] != (uint8_t)fh.seq) {
    e->order_broken = true;
    return;
  }
  e->next_seq[fh.writer]++;
  e->frames++;
  if (e->ack_every_100 && e->frames % 100 == 0) {
    /* Writing from inside a callback, on the I/O thread. */
    MojoResult r = cm_platform_transport_write(e->t, "ack", 3, NULL, 0);
    /* FAILED_PRECONDITION: the peer shut down (the shutdown test). */
    if (r != MOJO_RESULT_OK && r != MOJO_RESULT_FAILED_PRECONDITION)
      e->order_broken = true;
  }
}

static void on_error(void *ctx, MojoResult reason, const char *why) {
  end *e = ctx;
  (void)why;
  e->errors++;
  e->error = reason;
}

static void on_write_interest(void *ctx, bool want) {
  end *e = ctx;
  /* Any thread, write lock held: just tell the poller. */
  MojoResult r = cm_platform_poller_modify(
      e->poller, cm_platform_transport_handle(e->t),
      CM_PLATFORM_POLL_READ | (want ? CM_PLATFORM_POLL_WRITE : 0u), e->tag);
  assert_int_equal(r, MOJO_RESULT_OK);
}

static const cm_platform_transport_delegate kDelegate = {on_frame, on_error, on_write_interest};

typedef struct world {
  cm_platform_poller *poller;
  end a, b;
  atomic_bool stop;
  atomic_int writers_done;
  atomic_int write_failures;
  bool shutdown_a_midway;
} world;

static void world_init(world *w) {
  memset(w, 0, sizeof(*w));
  atomic_init(&w->stop, false);
  atomic_init(&w->writers_done, 0);
  atomic_init(&w->write_failures, 0);
  assert_int_equal(cm_platform_poller_create(&w->poller), MOJO_RESULT_OK);
  cm_platform_handle ha, hb;
  assert_int_equal(cm_platform_channel_create_pair(&ha, &hb), MOJO_RESULT_OK);
  w->a.poller = w->b.poller = w->poller;
  w->a.tag = 1;
  w->b.tag = 2;
  w->b.ack_every_100 = true;
  /* Register before any write can ask to modify the registration. */
  assert_int_equal(cm_platform_poller_add(w->poller, ha, CM_PLATFORM_POLL_READ, 1), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_poller_add(w->poller, hb, CM_PLATFORM_POLL_READ, 2), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_transport_create(&ha, &kDelegate, &w->a, &w->a.t), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_transport_create(&hb, &kDelegate, &w->b, &w->b.t), MOJO_RESULT_OK);
}

static void world_free(world *w) {
  cm_platform_poller_remove(w->poller, cm_platform_transport_handle(w->a.t));
  cm_platform_poller_remove(w->poller, cm_platform_transport_handle(w->b.t));
  cm_platform_transport_destroy(w->a.t);
  cm_platform_transport_destroy(w->b.t);
  cm_platform_poller_destroy(w->poller);
}

typedef struct writer_arg {
  world *w;
  uint32_t id;
} writer_arg;

static void *writer_main(void *arg) {
  writer_arg *wa = arg;
  uint8_t *buf = malloc(kBigFrame);
  assert_non_null(buf);
  uint64_t rnd = 0x9e3779b97f4a7c15ull * (wa->id + 1);
  for (uint32_t seq = 0; seq < kFramesPerWriter; seq++) {
    rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
    uint32_t size = (rnd % 8 == 0) ? kBigFrame : (uint32_t)(sizeof(frame_head) + 1 + rnd % 300);
    uint32_t nfds = (rnd % 5 == 0) ? (uint32_t)(1 + (rnd >> 8) % 3) : 0;
    cm_platform_handle h[3];
    for (uint32_t i = 0; i < nfds; i++) {
      int p[2];
      assert_int_equal(pipe2(p, O_CLOEXEC), 0);
      close(p[0]);
      h[i] = cm_platform_handle_from_fd(p[1]);
    }
    frame_head fh = {wa->id, seq, size, nfds};
    memcpy(buf, &fh, sizeof(fh));
    buf[size - 1] = (uint8_t)seq;
    MojoResult r = cm_platform_transport_write(wa->w->a.t, buf, size, h, nfds);
    if (r != MOJO_RESULT_OK) {
      /* Only allowed once A has been shut down; handles were taken. */
      assert_int_equal(r, MOJO_RESULT_FAILED_PRECONDITION);
      atomic_fetch_add(&wa->w->write_failures, 1);
    }
    for (uint32_t i = 0; i < nfds; i++)
      assert_false(cm_platform_handle_is_valid(h[i]));
  }
  free(buf);
  atomic_fetch_add(&wa->w->writers_done, 1);
  cm_platform_poller_wake(wa->w->poller);
  return NULL;
}

/* The I/O thread: services both ends until told to stop. */
static void *io_main(void *arg) {
  world *w = arg;
  while (!atomic_load(&w->stop)) {
    cm_platform_poll_event ev[4];
    size_t n;
    assert_int_equal(cm_platform_poller_wait(w->poller, 100000, ev, 4, &n), MOJO_RESULT_OK);
    for (size_t i = 0; i < n; i++) {
      end *e = ev[i].tag == 1 ? &w->a : &w->b;
      if (e->errors)
        continue;
      if (ev[i].events & CM_PLATFORM_POLL_WRITE)
        cm_platform_transport_on_writable(e->t);
      if (ev[i].events & CM_PLATFORM_POLL_READ)
        cm_platform_transport_on_readable(e->t);
      if (e->errors) /* an ended transport stays readable: stop watching it */
        cm_platform_poller_remove(w->poller, cm_platform_transport_handle(e->t));
    }
    if (w->shutdown_a_midway && w->b.frames >= kWriters * kFramesPerWriter / 4 && !w->a.errors) {
      /* After shutdown returns no callback (on_write_interest included)
       * runs for A, so it can leave the poller. */
      cm_platform_transport_shutdown(w->a.t);
      cm_platform_poller_remove(w->poller, cm_platform_transport_handle(w->a.t));
      w->a.errors = -1; /* mark: no more service for A */
    }
    if (!w->shutdown_a_midway && w->b.frames == (size_t)kWriters * kFramesPerWriter &&
        w->a.acks == w->b.frames / 100)
      break;
    if (w->shutdown_a_midway && w->b.errors && atomic_load(&w->writers_done) == kWriters)
      break;
    if (w->b.order_broken || w->a.order_broken || (!w->shutdown_a_midway && w->b.errors))
      break;
  }
  return NULL;
}

static void run(world *w) {
  pthread_t io, writers[kWriters];
  writer_arg args[kWriters];
  assert_int_equal(pthread_create(&io, NULL, io_main, w), 0);
  for (uint32_t i = 0; i < kWriters; i++) {
    args[i].w = w;
    args[i].id = i;
    assert_int_equal(pthread_create(&writers[i], NULL, writer_main, &args[i]), 0);
  }
  for (int i = 0; i < kWriters; i++)
    pthread_join(writers[i], NULL);
  pthread_join(io, NULL);
}

static void test_many_writers_one_io_thread(void **state) {
  (void)state;
  world w;
  world_init(&w);
  run(&w);
  assert_false(w.b.order_broken);
  assert_false(w.a.order_broken);
  assert_int_equal(w.b.errors, 0);
  assert_int_equal(w.a.errors, 0);
  assert_int_equal(w.b.frames, (size_t)kWriters * kFramesPerWriter);
  assert_int_equal(w.a.acks, w.b.frames / 100);
  assert_int_equal(atomic_load(&w.write_failures), 0);
  print_message("frames %zu, fds %zu, acks %zu\n", w.b.frames, w.b.fds, w.a.acks);
  assert_false(cm_platform_transport_wants_write(w.a.t));
  world_free(&w);
}

static void test_shutdown_races_writers(void **state) {
  (void)state;
  world w;
  world_init(&w);
  w.shutdown_a_midway = true;
  run(&w);
  assert_false(w.b.order_broken);
  /* B saw an orderly prefix of each writer's frames, then the end. */
  assert_true(w.b.frames >= (size_t)kWriters * kFramesPerWriter / 4);
  assert_int_equal(w.b.errors, 1);
  assert_int_equal(w.b.error, MOJO_RESULT_FAILED_PRECONDITION);
  print_message("frames before shutdown %zu, refused writes %d\n", w.b.frames,
                atomic_load(&w.write_failures));
  world_free(&w); /* the fixture checks every fd was closed */
}

#define T(f) cmocka_unit_test_setup_teardown(f, cm_test_setup_resources, cm_test_teardown_resources)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_many_writers_one_io_thread),
      T(test_shutdown_races_writers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
