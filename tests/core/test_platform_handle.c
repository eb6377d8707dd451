/* Wrapping OS handles in Mojo handles: file descriptors (wrap, unwrap, close,
 * transfer through a message pipe and use of the fd after), shared memory
 * regions (unwrap a buffer into its fds, wrap them again, access modes,
 * GUIDs), bad arguments and who owns the fds after a failure. Every test
 * must leave the process's fd and shared memory mapping counts where it found
 * them. */
#include "test_support.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mojo/public/c/system/core.h"

#define P MOJO_RESULT_OK
#define MODE_RO MOJO_PLATFORM_SHARED_MEMORY_REGION_ACCESS_MODE_READ_ONLY
#define MODE_W MOJO_PLATFORM_SHARED_MEMORY_REGION_ACCESS_MODE_WRITABLE
#define MODE_UNSAFE MOJO_PLATFORM_SHARED_MEMORY_REGION_ACCESS_MODE_UNSAFE

static bool fd_is_open(int fd) {
  return fcntl(fd, F_GETFD) >= 0;
}

static struct MojoPlatformHandle fd_handle(int fd) {
  struct MojoPlatformHandle h = {sizeof(h), MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR,
                                 (uint64_t)(int64_t)fd};
  return h;
}

static MojoHandle wrap_fd(int fd) {
  struct MojoPlatformHandle ph = fd_handle(fd);
  MojoHandle h = MOJO_HANDLE_INVALID;
  assert_int_equal(MojoWrapPlatformHandle(&ph, NULL, &h), P);
  return h;
}

static int unwrap_fd(MojoHandle h) {
  struct MojoPlatformHandle ph = {sizeof(ph), 0, 0};
  assert_int_equal(MojoUnwrapPlatformHandle(h, NULL, &ph), P);
  assert_int_equal(ph.type, MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR);
  return (int)ph.value;
}

static MojoHandle pass_handle(MojoHandle from, MojoHandle to, MojoHandle h) {
  MojoMessageHandle m;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  assert_int_equal(MojoCreateMessage(NULL, &m), P);
  assert_int_equal(MojoAppendMessageData(m, 0, &h, 1, &commit, NULL, NULL), P);
  assert_int_equal(MojoWriteMessage(from, m, NULL), P);
  assert_int_equal(MojoReadMessage(to, NULL, &m), P);
  MojoHandle out = MOJO_HANDLE_INVALID;
  uint32_t nh = 1;
  assert_int_equal(MojoGetMessageData(m, NULL, NULL, NULL, &out, &nh), P);
  assert_int_equal(MojoDestroyMessage(m), P);
  return out;
}

/* ---- File descriptors ---------------------------------------------------- */

static void ignore_event(const struct MojoTrapEvent *event) {
  (void)event;
}

static void test_wrap_unwrap_fd(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  MojoHandle r = wrap_fd(fds[0]);
  MojoHandle w = wrap_fd(fds[1]);
  /* Not watchable: no signals. */
  struct MojoHandleSignalsState s = {1, 1};
  assert_int_equal(MojoQueryHandleSignalsState(r, &s), P);
  assert_int_equal(s.satisfied_signals | s.satisfiable_signals, 0);
  MojoHandle trap;
  assert_int_equal(MojoCreateTrap(ignore_event, NULL, &trap), P);
  assert_int_equal(MojoAddTrigger(trap, r, MOJO_HANDLE_SIGNAL_READABLE,
                                  MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 1, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoClose(trap), P);
  /* Unwrapping hands back the same, still open fd and consumes the handle. */
  int wfd = unwrap_fd(w);
  assert_int_equal(wfd, fds[1]);
  assert_int_equal(MojoClose(w), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(write(wfd, "ping", 4), 4);
  int rfd = unwrap_fd(r);
  char buf[4];
  assert_int_equal(read(rfd, buf, 4), 4);
  assert_memory_equal(buf, "ping", 4);
  /* Closing a wrapper closes its fd. */
  r = wrap_fd(rfd);
  assert_int_equal(MojoClose(r), P);
  assert_false(fd_is_open(rfd));
  close(wfd);
}

static void test_transfer_fd(void **state) {
  (void)state;
  int fds[2];
  MojoHandle m0, m1;
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(MojoCreateMessagePipe(NULL, &m0, &m1), P);
  MojoHandle moved = pass_handle(m0, m1, wrap_fd(fds[1]));
  int wfd = unwrap_fd(moved);
  assert_int_equal(write(wfd, "through mojo", 12), 12);
  char buf[16];
  assert_int_equal(read(fds[0], buf, sizeof(buf)), 12);
  assert_memory_equal(buf, "through mojo", 12);
  close(wfd);
  /* A wrapper in a message that is destroyed unread closes its fd. */
  MojoMessageHandle m;
  MojoHandle h = wrap_fd(fds[0]);
  assert_int_equal(MojoCreateMessage(NULL, &m), P);
  assert_int_equal(MojoAppendMessageData(m, 0, &h, 1, NULL, NULL, NULL), P);
  assert_int_equal(MojoDestroyMessage(m), P);
  assert_false(fd_is_open(fds[0]));
  assert_int_equal(MojoClose(m0), P);
  assert_int_equal(MojoClose(m1), P);
}

static void test_wrap_bad_arguments(void **state) {
  (void)state;
  int fd = dup(0);
  assert_true(fd >= 0);
  MojoHandle h = 55;
  struct MojoPlatformHandle ph = fd_handle(fd);
  assert_int_equal(MojoWrapPlatformHandle(NULL, NULL, &h), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoWrapPlatformHandle(&ph, NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoWrapPlatformHandleOptions bad_opts = {4, 0};
  assert_int_equal(MojoWrapPlatformHandle(&ph, &bad_opts, &h), MOJO_RESULT_INVALID_ARGUMENT);
  ph.struct_size = 8;
  assert_int_equal(MojoWrapPlatformHandle(&ph, NULL, &h), MOJO_RESULT_INVALID_ARGUMENT);
  const MojoPlatformHandleType other_types[] = {MOJO_PLATFORM_HANDLE_TYPE_INVALID,
                                                MOJO_PLATFORM_HANDLE_TYPE_MACH_PORT,
                                                MOJO_PLATFORM_HANDLE_TYPE_WINDOWS_HANDLE,
                                                MOJO_PLATFORM_HANDLE_TYPE_FUCHSIA_HANDLE,
                                                MOJO_PLATFORM_HANDLE_TYPE_MACH_RECEIVE_RIGHT,
                                                MOJO_PLATFORM_HANDLE_TYPE_BINDER,
                                                99};
  for (size_t i = 0; i < sizeof(other_types) / sizeof(other_types[0]); i++) {
    ph = fd_handle(fd);
    ph.type = other_types[i];
    assert_int_equal(MojoWrapPlatformHandle(&ph, NULL, &h), MOJO_RESULT_INVALID_ARGUMENT);
  }
  const uint64_t bad_values[] = {(uint64_t)-1, 1ull << 40, (uint64_t)INT32_MAX + 1};
  for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
    ph = fd_handle(fd);
    ph.value = bad_values[i];
    assert_int_equal(MojoWrapPlatformHandle(&ph, NULL, &h), MOJO_RESULT_INVALID_ARGUMENT);
  }
  assert_int_equal(h, 55);
  assert_true(fd_is_open(fd)); /* failures leave the fd with the caller */
  close(fd);
  ph = fd_handle(fd); /* plausible but closed: detected on Linux */
  assert_int_equal(MojoWrapPlatformHandle(&ph, NULL, &h), MOJO_RESULT_INVALID_ARGUMENT);
}

static void test_unwrap_bad_arguments(void **state) {
  (void)state;
  struct MojoPlatformHandle out = {sizeof(out), 0, 0};
  /* Not a wrapper: refused, and the handle stays. */
  MojoHandle m0, m1;
  assert_int_equal(MojoCreateMessagePipe(NULL, &m0, &m1), P);
  assert_int_equal(MojoUnwrapPlatformHandle(m0, NULL, &out), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoUnwrapPlatformHandle(MOJO_HANDLE_INVALID, NULL, &out),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoClose(m0), P);
  assert_int_equal(MojoClose(m1), P);
  /* A wrapper is consumed whatever the result: with nowhere to put the fd,
   * the fd is closed. */
  int fd = dup(0);
  MojoHandle h = wrap_fd(fd);
  assert_int_equal(MojoUnwrapPlatformHandle(h, NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoClose(h), MOJO_RESULT_INVALID_ARGUMENT);
  assert_false(fd_is_open(fd));
  fd = dup(0);
  h = wrap_fd(fd);
  struct MojoPlatformHandle small = {8, 0, 0};
  assert_int_equal(MojoUnwrapPlatformHandle(h, NULL, &small), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(small.value, 0);
  assert_int_equal(MojoClose(h), MOJO_RESULT_INVALID_ARGUMENT);
  assert_false(fd_is_open(fd));
}

/* ---- Shared memory regions ----------------------------------------------- */

struct region {
  struct MojoPlatformHandle handles[2];
  uint32_t count;
  uint64_t size;
  struct MojoSharedBufferGuid guid;
  MojoPlatformSharedMemoryRegionAccessMode mode;
};

static void unwrap_region(MojoHandle h, struct region *r) {
  memset(r, 0, sizeof(*r));
  r->handles[0].struct_size = r->handles[1].struct_size = sizeof(r->handles[0]);
  r->count = 2;
  assert_int_equal(MojoUnwrapPlatformSharedMemoryRegion(h, NULL, r->handles, &r->count, &r->size,
                                                        &r->guid, &r->mode),
                   P);
}

static MojoHandle wrap_region(struct region *r) {
  MojoHandle h = MOJO_HANDLE_INVALID;
  assert_int_equal(MojoWrapPlatformSharedMemoryRegion(r->handles, r->count, r->size, &r->guid,
                                                      r->mode, NULL, &h),
                   P);
  return h;
}

static int access_of(const struct MojoPlatformHandle *h) {
  return fcntl((int)h->value, F_GETFL) & O_ACCMODE;
}

static void close_region_fds(struct region *r) {
  for (uint32_t i = 0; i < r->count; i++)
    close((int)r->handles[i].value);
}

static void test_region_round_trip(void **state) {
  (void)state;
  MojoHandle b;
  assert_int_equal(MojoCreateSharedBuffer(4096, NULL, &b), P);
  char *p;
  assert_int_equal(MojoMapBuffer(b, 0, 4096, NULL, (void **)&p), P);
  strcpy(p, "region");
  struct region r;
  unwrap_region(b, &r);
  assert_int_equal(MojoClose(b), MOJO_RESULT_INVALID_ARGUMENT); /* consumed */
  assert_int_equal(r.mode, MODE_W);
  assert_int_equal(r.count, 2);
  assert_int_equal(r.size, 4096);
  assert_true(r.guid.high != 0 || r.guid.low != 0);
  assert_int_equal(access_of(&r.handles[0]), O_RDWR);
  assert_int_equal(access_of(&r.handles[1]), O_RDONLY);
  struct MojoSharedBufferGuid guid = r.guid;
  /* Wrapped again it is an ordinary buffer over the same memory. */
  b = wrap_region(&r);
  struct MojoSharedBufferInfo info = {sizeof(info), 0};
  assert_int_equal(MojoGetBufferInfo(b, NULL, &info), P);
  assert_int_equal(info.size, 4096);
  char *q;
  assert_int_equal(MojoMapBuffer(b, 0, 4096, NULL, (void **)&q), P);
  assert_string_equal(q, "region");
  /* Read-only and unsafe duplicates keep the GUID and say what they are. */
  MojoHandle ro;
  struct MojoDuplicateBufferHandleOptions ro_opts = {sizeof(ro_opts),
                                                     MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_READ_ONLY};
  assert_int_equal(MojoDuplicateBufferHandle(b, &ro_opts, &ro), P);
  unwrap_region(ro, &r);
  assert_int_equal(r.mode, MODE_RO);
  assert_int_equal(r.count, 1);
  assert_int_equal(access_of(&r.handles[0]), O_RDONLY);
  assert_memory_equal(&r.guid, &guid, sizeof(guid));
  ro = wrap_region(&r);
  MojoHandle w;
  assert_int_equal(MojoDuplicateBufferHandle(ro, NULL, &w), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoClose(ro), P);
  assert_int_equal(MojoClose(b), P);
  assert_int_equal(MojoUnmapBuffer(p), P);
  assert_int_equal(MojoUnmapBuffer(q), P);

  assert_int_equal(MojoCreateSharedBuffer(100, NULL, &b), P);
  assert_int_equal(MojoDuplicateBufferHandle(b, NULL, &w), P);
  unwrap_region(w, &r);
  assert_int_equal(r.mode, MODE_UNSAFE);
  assert_int_equal(r.count, 1);
  assert_int_equal(r.size, 100);
  close_region_fds(&r);
  assert_int_equal(MojoClose(b), P);
}

static void test_region_bad_arguments(void **state) {
  (void)state;
  MojoHandle b, h = 66;
  assert_int_equal(MojoCreateSharedBuffer(4096, NULL, &b), P);
  struct region r;
  unwrap_region(b, &r);
  struct region bad = r;
  MojoResult inv = MOJO_RESULT_INVALID_ARGUMENT;
  assert_int_equal(MojoWrapPlatformSharedMemoryRegion(NULL, 2, 4096, &r.guid, MODE_W, NULL, &h),
                   inv);
  assert_int_equal(MojoWrapPlatformSharedMemoryRegion(r.handles, 2, 4096, NULL, MODE_W, NULL, &h),
                   inv);
  assert_int_equal(
      MojoWrapPlatformSharedMemoryRegion(r.handles, 2, 4096, &r.guid, MODE_W, NULL, NULL), inv);
  assert_int_equal(
      MojoWrapPlatformSharedMemoryRegion(r.handles, 1, 4096, &r.guid, MODE_W, NULL, &h), inv);
  assert_int_equal(MojoWrapPlatformSharedMemoryRegion(r.handles, 2, 4096, &r.guid, 3, NULL, &h),
                   inv);
  assert_int_equal(MojoWrapPlatformSharedMemoryRegion(r.handles, 2, 0, &r.guid, MODE_W, NULL, &h),
                   inv);
  assert_int_equal(
      MojoWrapPlatformSharedMemoryRegion(r.handles, 2, 8192, &r.guid, MODE_W, NULL, &h), inv);
  struct MojoSharedBufferGuid zero = {0, 0};
  assert_int_equal(MojoWrapPlatformSharedMemoryRegion(r.handles, 2, 4096, &zero, MODE_W, NULL, &h),
                   inv);
  /* fds in the wrong access mode for the mode claimed */
  assert_int_equal(
      MojoWrapPlatformSharedMemoryRegion(&r.handles[0], 1, 4096, &r.guid, MODE_RO, NULL, &h), inv);
  bad.handles[1] = r.handles[0];
  assert_int_equal(
      MojoWrapPlatformSharedMemoryRegion(bad.handles, 2, 4096, &r.guid, MODE_W, NULL, &h), inv);
  bad = r;
  bad.handles[0].type = MOJO_PLATFORM_HANDLE_TYPE_WINDOWS_HANDLE;
  assert_int_equal(
      MojoWrapPlatformSharedMemoryRegion(bad.handles, 2, 4096, &r.guid, MODE_W, NULL, &h), inv);
  bad = r;
  bad.handles[0].struct_size = 4;
  assert_int_equal(
      MojoWrapPlatformSharedMemoryRegion(bad.handles, 2, 4096, &r.guid, MODE_W, NULL, &h), inv);
  int fds[2];
  assert_int_equal(pipe(fds), 0); /* not shared memory at all */
  struct MojoPlatformHandle pipe_fd = fd_handle(fds[1]);
  assert_int_equal(
      MojoWrapPlatformSharedMemoryRegion(&pipe_fd, 1, 4096, &r.guid, MODE_UNSAFE, NULL, &h), inv);
  struct MojoWrapPlatformSharedMemoryRegionOptions bad_opts = {4, 0};
  assert_int_equal(
      MojoWrapPlatformSharedMemoryRegion(r.handles, 2, 4096, &r.guid, MODE_W, &bad_opts, &h), inv);
  assert_int_equal(h, 66);
  /* Every failure left the caller its fds: they still make a buffer. */
  assert_true(fd_is_open(fds[1]));
  close(fds[0]);
  close(fds[1]);
  b = wrap_region(&r);

  /* Unwrap into too small an array: refused, and the region is lost. */
  struct MojoPlatformHandle one[1] = {{sizeof(one[0]), 0, 0}};
  uint32_t n = 1;
  uint64_t size;
  struct MojoSharedBufferGuid guid;
  MojoPlatformSharedMemoryRegionAccessMode mode;
  assert_int_equal(MojoUnwrapPlatformSharedMemoryRegion(b, NULL, one, &n, &size, &guid, &mode),
                   inv);
  assert_int_equal(n, 1);
  assert_int_equal(MojoClose(b), inv);
  /* Not a buffer: refused, the handle stays. */
  MojoHandle p, c;
  assert_int_equal(MojoCreateDataPipe(NULL, &p, &c), P);
  n = 1;
  assert_int_equal(MojoUnwrapPlatformSharedMemoryRegion(p, NULL, one, &n, &size, &guid, &mode),
                   inv);
  assert_int_equal(MojoClose(p), P);
  assert_int_equal(MojoClose(c), P);
  /* Missing outputs also consume the buffer. */
  assert_int_equal(MojoCreateSharedBuffer(64, NULL, &b), P);
  n = 2;
  struct MojoPlatformHandle two[2] = {{sizeof(two[0]), 0, 0}, {sizeof(two[0]), 0, 0}};
  assert_int_equal(MojoUnwrapPlatformSharedMemoryRegion(b, NULL, two, &n, NULL, &guid, &mode), inv);
  assert_int_equal(MojoClose(b), inv);
}

static int group_setup(void **state) {
  (void)state;
  MojoResult rv = MojoInitialize(NULL);
  if (rv != P && rv != MOJO_RESULT_FAILED_PRECONDITION)
    return -1;
  MojoHandle h;
  MojoCreateSharedBuffer(1, NULL, &h); /* first handle table allocation */
  MojoClose(h);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, cm_test_setup_resources, cm_test_teardown_resources)
      T(test_wrap_unwrap_fd),       T(test_transfer_fd),       T(test_wrap_bad_arguments),
      T(test_unwrap_bad_arguments), T(test_region_round_trip), T(test_region_bad_arguments),
#undef T
  };
  return cmocka_run_group_tests(tests, group_setup, NULL);
}
