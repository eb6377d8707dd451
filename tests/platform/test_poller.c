/* Tests of the poller: registration, level-triggered readiness, hang-ups,
 * timeouts, wakeups from another thread, and nesting its own handle in
 * another poll loop. Every test leaves the fd count where it found it. */
#include "test_support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/platform.h"

static int make_pipe(int p[2]) {
  return pipe2(p, O_CLOEXEC | O_NONBLOCK);
}

static size_t wait_events(cm_platform_poller *poller, int64_t timeout_us,
                          cm_platform_poll_event *ev, size_t max) {
  size_t n = 99;
  assert_int_equal(cm_platform_poller_wait(poller, timeout_us, ev, max, &n), MOJO_RESULT_OK);
  return n;
}

static void test_create_destroy(void **state) {
  (void)state;
  cm_platform_poller *p = NULL;
  assert_int_equal(cm_platform_poller_create(&p), MOJO_RESULT_OK);
  int fd = cm_platform_handle_fd(cm_platform_poller_handle(p));
  assert_true(fd >= 0);
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  cm_platform_poll_event ev[4];
  /* Nothing registered: a zero timeout returns at once with nothing. */
  assert_int_equal(wait_events(p, 0, ev, 4), 0);
  cm_platform_poller_destroy(p);
  cm_platform_poller_destroy(NULL);
  assert_int_equal(cm_platform_poller_create(NULL), MOJO_RESULT_INVALID_ARGUMENT);
}

static void test_read_write_readiness(void **state) {
  (void)state;
  cm_platform_poller *p;
  assert_int_equal(cm_platform_poller_create(&p), MOJO_RESULT_OK);
  int a[2];
  assert_int_equal(make_pipe(a), 0);
  cm_platform_handle r = cm_platform_handle_from_fd(a[0]), w = cm_platform_handle_from_fd(a[1]);
  assert_int_equal(cm_platform_poller_add(p, r, CM_PLATFORM_POLL_READ, 7), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_poller_add(p, w, CM_PLATFORM_POLL_WRITE, 8), MOJO_RESULT_OK);
  cm_platform_poll_event ev[4];
  /* The write end is writable, the read end not yet readable. */
  size_t n = wait_events(p, 0, ev, 4);
  assert_int_equal(n, 1);
  assert_int_equal(ev[0].tag, 8);
  assert_int_equal(ev[0].events, CM_PLATFORM_POLL_WRITE);
  /* Stop watching for writability: nothing to report. */
  assert_int_equal(cm_platform_poller_modify(p, w, 0, 9), MOJO_RESULT_OK);
  assert_int_equal(wait_events(p, 0, ev, 4), 0);
  assert_int_equal(write(a[1], "x", 1), 1);
  n = wait_events(p, -1, ev, 4);
  assert_int_equal(n, 1);
  assert_int_equal(ev[0].tag, 7);
  assert_int_equal(ev[0].events, CM_PLATFORM_POLL_READ);
  /* Level-triggered: still readable until read. */
  assert_int_equal(wait_events(p, 0, ev, 4), 1);
  char c;
  assert_int_equal(read(a[0], &c, 1), 1);
  assert_int_equal(wait_events(p, 0, ev, 4), 0);
  /* Errors for registrations. */
  assert_int_equal(cm_platform_poller_add(p, r, CM_PLATFORM_POLL_READ, 1),
                   MOJO_RESULT_ALREADY_EXISTS);
  assert_int_equal(cm_platform_poller_add(p, r, 8, 1), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_platform_poller_add(p, cm_platform_handle_invalid(), 1, 1),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_platform_poller_add(p, cm_platform_poller_handle(p), 1, 1),
                   MOJO_RESULT_INVALID_ARGUMENT);
  int b[2];
  assert_int_equal(make_pipe(b), 0);
  cm_platform_handle br = cm_platform_handle_from_fd(b[0]);
  assert_int_equal(cm_platform_poller_add(p, br, 1, CM_PLATFORM_POLL_TAG_RESERVED),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_platform_poller_modify(p, br, 1, 3), MOJO_RESULT_NOT_FOUND);
  assert_int_equal(cm_platform_poller_remove(p, br), MOJO_RESULT_NOT_FOUND);
  /* A regular file cannot be polled. */
  int f = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  assert_true(f >= 0);
  assert_int_equal(cm_platform_poller_add(p, cm_platform_handle_from_fd(f), 1, 3),
                   MOJO_RESULT_INVALID_ARGUMENT);
  close(f);
  close(b[0]);
  close(b[1]);
  assert_int_equal(cm_platform_poller_remove(p, r), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_poller_remove(p, w), MOJO_RESULT_OK);
  assert_int_equal(wait_events(p, 0, ev, 4), 0);
  close(a[0]);
  close(a[1]);
  cm_platform_poller_destroy(p);
}

static void test_hangup_reported_as_readable(void **state) {
  (void)state;
  cm_platform_poller *p;
  assert_int_equal(cm_platform_poller_create(&p), MOJO_RESULT_OK);
  cm_platform_handle x, y;
  assert_int_equal(cm_platform_channel_create_pair(&x, &y), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_poller_add(p, x, CM_PLATFORM_POLL_READ, 1), MOJO_RESULT_OK);
  cm_platform_handle_close(&y);
  cm_platform_poll_event ev[2];
  assert_int_equal(wait_events(p, 1000000, ev, 2), 1);
  assert_true(ev[0].events & CM_PLATFORM_POLL_READ);
  assert_true(ev[0].events & CM_PLATFORM_POLL_ERROR);
  assert_int_equal(cm_platform_poller_remove(p, x), MOJO_RESULT_OK);
  cm_platform_handle_close(&x);
  cm_platform_poller_destroy(p);
}

static void test_more_ready_than_room(void **state) {
  (void)state;
  cm_platform_poller *p;
  assert_int_equal(cm_platform_poller_create(&p), MOJO_RESULT_OK);
  enum { N = 10 };
  int fds[N][2];
  for (int i = 0; i < N; i++) {
    assert_int_equal(make_pipe(fds[i]), 0);
    assert_int_equal(write(fds[i][1], "x", 1), 1);
    assert_int_equal(cm_platform_poller_add(p, cm_platform_handle_from_fd(fds[i][0]),
                                            CM_PLATFORM_POLL_READ, (uint64_t)i),
                     MOJO_RESULT_OK);
  }
  /* Three at a time; the rest stay ready and come in later waits. */
  cm_platform_poll_event ev[3];
  bool seen[N] = {false};
  for (int round = 0; round < 10; round++) {
    size_t n = wait_events(p, 0, ev, 3);
    assert_true(n <= 3);
    for (size_t i = 0; i < n; i++) {
      int k = (int)ev[i].tag;
      assert_true(k >= 0 && k < N);
      seen[k] = true;
      char c;
      assert_int_equal(read(fds[k][0], &c, 1), 1);
    }
  }
  for (int i = 0; i < N; i++) {
    assert_true(seen[i]);
    close(fds[i][0]);
    close(fds[i][1]);
  }
  cm_platform_poller_destroy(p);
}

static void test_timeout(void **state) {
  (void)state;
  cm_platform_poller *p;
  assert_int_equal(cm_platform_poller_create(&p), MOJO_RESULT_OK);
  cm_platform_poll_event ev[1];
  MojoTimeTicks t0 = cm_platform_time_now();
  assert_int_equal(wait_events(p, 20000, ev, 1), 0);
  MojoTimeTicks dt = cm_platform_time_now() - t0;
  assert_true(dt >= 19000);
  /* Sub-millisecond timeouts round up, never down to a busy loop. */
  t0 = cm_platform_time_now();
  assert_int_equal(wait_events(p, 1, ev, 1), 0);
  assert_true(cm_platform_time_now() - t0 >= 900);
  size_t n;
  assert_int_equal(cm_platform_poller_wait(p, 0, NULL, 1, &n), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_platform_poller_wait(p, 0, ev, 0, &n), MOJO_RESULT_INVALID_ARGUMENT);
  cm_platform_poller_destroy(p);
}

typedef struct waker {
  cm_platform_poller *p;
  int delay_us;
} waker;

static void *wake_thread(void *arg) {
  waker *w = arg;
  usleep((useconds_t)w->delay_us);
  assert_int_equal(cm_platform_poller_wake(w->p), MOJO_RESULT_OK);
  return NULL;
}

static void test_wake_from_another_thread(void **state) {
  (void)state;
  cm_platform_poller *p;
  assert_int_equal(cm_platform_poller_create(&p), MOJO_RESULT_OK);
  waker w = {p, 20000};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, wake_thread, &w), 0);
  cm_platform_poll_event ev[2];
  /* An unbounded wait returns because of the wakeup, with no events. */
  assert_int_equal(wait_events(p, -1, ev, 2), 0);
  pthread_join(th, NULL);
  /* Consumed: the next wait times out. */
  assert_int_equal(wait_events(p, 0, ev, 2), 0);
  /* Several wakes before a wait count as one; the nested handle is readable
   * while one is pending. */
  assert_int_equal(cm_platform_poller_wake(p), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_poller_wake(p), MOJO_RESULT_OK);
  struct pollfd pfd = {cm_platform_handle_fd(cm_platform_poller_handle(p)), POLLIN, 0};
  assert_int_equal(poll(&pfd, 1, 0), 1);
  assert_int_equal(wait_events(p, 1000000, ev, 2), 0);
  assert_int_equal(poll(&pfd, 1, 0), 0);
  cm_platform_poller_destroy(p);
}

static void test_nested_in_another_loop(void **state) {
  (void)state;
  cm_platform_poller *p;
  assert_int_equal(cm_platform_poller_create(&p), MOJO_RESULT_OK);
  int a[2];
  assert_int_equal(make_pipe(a), 0);
  assert_int_equal(
      cm_platform_poller_add(p, cm_platform_handle_from_fd(a[0]), CM_PLATFORM_POLL_READ, 5),
      MOJO_RESULT_OK);
  struct pollfd pfd = {cm_platform_handle_fd(cm_platform_poller_handle(p)), POLLIN, 0};
  assert_int_equal(poll(&pfd, 1, 0), 0);
  assert_int_equal(write(a[1], "y", 1), 1);
  /* The outer loop sees the poller readable, and a zero-timeout wait then
   * reports the member. */
  assert_int_equal(poll(&pfd, 1, 1000), 1);
  cm_platform_poll_event ev[2];
  assert_int_equal(wait_events(p, 0, ev, 2), 1);
  assert_int_equal(ev[0].tag, 5);
  assert_int_equal(cm_platform_poller_remove(p, cm_platform_handle_from_fd(a[0])), MOJO_RESULT_OK);
  close(a[0]);
  close(a[1]);
  cm_platform_poller_destroy(p);
}

#define T(f) cmocka_unit_test_setup_teardown(f, cm_test_setup_resources, cm_test_teardown_resources)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_create_destroy),
      T(test_read_write_readiness),
      T(test_hangup_reported_as_readable),
      T(test_more_ready_than_room),
      T(test_timeout),
      T(test_wake_from_another_thread),
      T(test_nested_in_another_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
