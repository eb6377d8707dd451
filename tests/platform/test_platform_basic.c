/* Tests of the platform driver's small services: errno mapping, random bytes,
 * the monotonic clock and OS handles (check, duplicate, close). Every test
 * must leave the process's fd count where it found it. */
#include "test_support.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"

static int setup_fds(void **state) {
  static int baseline;
  baseline = cm_test_count_open_fds();
  *state = &baseline;
  return baseline < 0 ? -1 : 0;
}

static int teardown_fds(void **state) {
  int before = *(int *)*state;
  int after = cm_test_count_open_fds();
  if (after != before) {
    print_error("fd count changed: %d before, %d after\n", before, after);
    return -1;
  }
  return 0;
}

static void test_errno_mapping(void **state) {
  (void)state;
  assert_int_equal(cm_platform_result_from_errno(0), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_result_from_errno(EBADF), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_platform_result_from_errno(EINVAL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_platform_result_from_errno(ENOMEM), MOJO_RESULT_RESOURCE_EXHAUSTED);
  assert_int_equal(cm_platform_result_from_errno(EMFILE), MOJO_RESULT_RESOURCE_EXHAUSTED);
  assert_int_equal(cm_platform_result_from_errno(ENFILE), MOJO_RESULT_RESOURCE_EXHAUSTED);
  assert_int_equal(cm_platform_result_from_errno(EAGAIN), MOJO_RESULT_SHOULD_WAIT);
  assert_int_equal(cm_platform_result_from_errno(EWOULDBLOCK), MOJO_RESULT_SHOULD_WAIT);
  assert_int_equal(cm_platform_result_from_errno(EPIPE), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(cm_platform_result_from_errno(ECONNRESET), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(cm_platform_result_from_errno(EACCES), MOJO_RESULT_PERMISSION_DENIED);
  assert_int_equal(cm_platform_result_from_errno(EPERM), MOJO_RESULT_PERMISSION_DENIED);
  assert_int_equal(cm_platform_result_from_errno(ENOENT), MOJO_RESULT_NOT_FOUND);
  assert_int_equal(cm_platform_result_from_errno(EEXIST), MOJO_RESULT_ALREADY_EXISTS);
  assert_int_equal(cm_platform_result_from_errno(ETIMEDOUT), MOJO_RESULT_DEADLINE_EXCEEDED);
  assert_int_equal(cm_platform_result_from_errno(ENOSYS), MOJO_RESULT_UNIMPLEMENTED);
  assert_int_equal(cm_platform_result_from_errno(EBUSY), MOJO_RESULT_BUSY);
  assert_int_equal(cm_platform_result_from_errno(EINTR), MOJO_RESULT_ABORTED);
  assert_int_equal(cm_platform_result_from_errno(ECANCELED), MOJO_RESULT_CANCELLED);
  assert_int_equal(cm_platform_result_from_errno(-1), MOJO_RESULT_UNKNOWN);
  assert_int_equal(cm_platform_result_from_errno(100000), MOJO_RESULT_UNKNOWN);
}

static int all_zero(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i])
      return 0;
  return 1;
}

static void test_random_nonzero_and_differs(void **state) {
  (void)state;
  unsigned char a[32], b[32];
  memset(a, 0, sizeof(a));
  memset(b, 0, sizeof(b));
  assert_int_equal(cm_platform_random_bytes(a, sizeof(a)), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_random_bytes(b, sizeof(b)), MOJO_RESULT_OK);
  assert_false(all_zero(a, sizeof(a)));
  assert_false(all_zero(b, sizeof(b)));
  assert_memory_not_equal(a, b, sizeof(a));
  assert_int_equal(cm_platform_random_bytes(NULL, 0), MOJO_RESULT_OK);
}

/* Requests far above getrandom's 256-byte atomic size are filled completely:
 * the tail of the buffer must be random too, not left as it was. */
static void test_random_large_buffer_filled(void **state) {
  (void)state;
  size_t n = 1u << 20;
  unsigned char *buf = calloc(1, n);
  assert_non_null(buf);
  assert_int_equal(cm_platform_random_bytes(buf, n), MOJO_RESULT_OK);
  size_t zeros = 0;
  for (size_t i = 0; i < n; i++)
    zeros += buf[i] == 0;
  /* Expected n/256 = 4096 zero bytes; all-zero tails would push this up. */
  assert_true(zeros < n / 128);
  assert_false(all_zero(buf + n - 64, 64));
  free(buf);
}

static void test_time_is_monotonic_microseconds(void **state) {
  (void)state;
  MojoTimeTicks prev = cm_platform_time_now();
  assert_true(prev > 0);
  for (int i = 0; i < 10000; i++) {
    MojoTimeTicks now = cm_platform_time_now();
    assert_true(now >= prev);
    prev = now;
  }
  struct timespec ts = {0, 5 * 1000 * 1000};
  MojoTimeTicks t0 = cm_platform_time_now();
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  MojoTimeTicks t1 = cm_platform_time_now();
  /* Microseconds, not ms or ns: 5 ms of sleep reads as >= 5000 units and, on
   * a loaded shared machine, still well under 5 s. */
  assert_true(t1 - t0 >= 5000);
  assert_true(t1 - t0 < 5 * 1000 * 1000);
  struct timespec mono;
  clock_gettime(CLOCK_MONOTONIC, &mono);
  MojoTimeTicks ref = (MojoTimeTicks)mono.tv_sec * 1000000 + mono.tv_nsec / 1000;
  assert_true(ref >= t1 && ref - t1 < 5 * 1000 * 1000);
}

static int is_cloexec(int fd) {
  int fl = fcntl(fd, F_GETFD);
  return fl >= 0 && (fl & FD_CLOEXEC);
}

static void test_handle_helpers(void **state) {
  (void)state;
  assert_false(cm_platform_handle_is_valid(cm_platform_handle_invalid()));
  assert_false(cm_platform_handle_is_valid(cm_platform_handle_from_fd(-1)));
  cm_platform_handle h = cm_platform_handle_from_fd(0);
  assert_true(cm_platform_handle_is_valid(h));
  assert_int_equal(h.type, CM_PLATFORM_HANDLE_TYPE_FD);
  assert_int_equal(cm_platform_handle_fd(h), 0);
  cm_platform_handle odd = {3 /* a Windows HANDLE */, 0};
  assert_int_equal(cm_platform_handle_fd(odd), -1);
}

static void test_handle_check(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(cm_platform_handle_check(cm_platform_handle_from_fd(fds[0])), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_handle_check(cm_platform_handle_invalid()),
                   MOJO_RESULT_INVALID_ARGUMENT);
  cm_platform_handle wrong_type = {3, (uint64_t)fds[0]};
  assert_int_equal(cm_platform_handle_check(wrong_type), MOJO_RESULT_INVALID_ARGUMENT);
  cm_platform_handle too_big = {CM_PLATFORM_HANDLE_TYPE_FD, (uint64_t)1 << 40};
  assert_int_equal(cm_platform_handle_check(too_big), MOJO_RESULT_INVALID_ARGUMENT);
  cm_platform_handle negative = {CM_PLATFORM_HANDLE_TYPE_FD, (uint64_t)-1};
  assert_int_equal(cm_platform_handle_check(negative), MOJO_RESULT_INVALID_ARGUMENT);
  close(fds[1]);
  cm_platform_handle closed = cm_platform_handle_from_fd(fds[1]);
  assert_int_equal(cm_platform_handle_check(closed), MOJO_RESULT_INVALID_ARGUMENT);
  close(fds[0]);
}

/* The duplicate refers to the same open file, is a distinct fd, and is
 * close-on-exec even though the source (plain pipe()) is not. */
static void test_handle_duplicate_is_cloexec(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_false(is_cloexec(fds[1]));
  cm_platform_handle src = cm_platform_handle_from_fd(fds[1]);
  cm_platform_handle dup = cm_platform_handle_invalid();
  assert_int_equal(cm_platform_handle_duplicate(src, &dup), MOJO_RESULT_OK);
  int dfd = cm_platform_handle_fd(dup);
  assert_true(dfd >= 0);
  assert_int_not_equal(dfd, fds[1]);
  assert_true(is_cloexec(dfd));
  struct stat a, b;
  assert_int_equal(fstat(fds[1], &a), 0);
  assert_int_equal(fstat(dfd, &b), 0);
  assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
  /* Bytes written through the duplicate come out of the original pipe. */
  assert_int_equal(write(dfd, "x", 1), 1);
  char c = 0;
  assert_int_equal(read(fds[0], &c, 1), 1);
  assert_int_equal(c, 'x');

  cm_platform_handle_close(&dup);
  assert_false(cm_platform_handle_is_valid(dup));
  assert_int_equal(fcntl(dfd, F_GETFD), -1);
  assert_int_equal(errno, EBADF);
  cm_platform_handle_close(&dup); /* closing an invalid handle is a no-op */
  cm_platform_handle_close(&src);
  assert_int_equal(fcntl(fds[1], F_GETFD), -1);
  close(fds[0]);
}

static void test_handle_duplicate_rejects_bad_handles(void **state) {
  (void)state;
  cm_platform_handle out = cm_platform_handle_from_fd(0);
  assert_int_equal(cm_platform_handle_duplicate(cm_platform_handle_invalid(), &out),
                   MOJO_RESULT_INVALID_ARGUMENT);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  close(fds[0]);
  close(fds[1]);
  assert_int_equal(cm_platform_handle_duplicate(cm_platform_handle_from_fd(fds[0]), &out),
                   MOJO_RESULT_INVALID_ARGUMENT);
  cm_platform_handle wrong_type = {3, 0};
  assert_int_equal(cm_platform_handle_duplicate(wrong_type, &out), MOJO_RESULT_INVALID_ARGUMENT);
  /* Outputs are written only on success. */
  assert_int_equal(cm_platform_handle_fd(out), 0);
}

/* With no fd left under RLIMIT_NOFILE, duplicating reports
 * RESOURCE_EXHAUSTED. Run in a child so the limit does not affect the rest
 * of the test program; the child reports the result as its exit code. */
static void test_handle_duplicate_out_of_fds(void **state) {
  (void)state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* Lower the limit (so the loop is short whatever `ulimit -n` says), then
     * take every free slot below it. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
      _exit(100);
    rl.rlim_cur = 64;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      _exit(101);
    while (fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0) >= 0) {
    }
    cm_platform_handle out;
    _exit((int)cm_platform_handle_duplicate(cm_platform_handle_from_fd(0), &out));
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), MOJO_RESULT_RESOURCE_EXHAUSTED);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_fds, teardown_fds)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_errno_mapping),
      T(test_random_nonzero_and_differs),
      T(test_random_large_buffer_filled),
      T(test_time_is_monotonic_microseconds),
      T(test_handle_helpers),
      T(test_handle_check),
      T(test_handle_duplicate_is_cloexec),
      T(test_handle_duplicate_rejects_bad_handles),
      T(test_handle_duplicate_out_of_fds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
