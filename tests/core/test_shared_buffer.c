/* Shared buffers through the C API: create (limits, bad arguments), map at
 * offsets, unmap (exact addresses only), info, duplicate writable and
 * read-only with Mojo's one-way rule (a read-only mapping faults on write,
 * checked in a forked child), and transfer through a message pipe. Every
 * test must leave the process's fd and shared memory mapping counts where it
 * found them. */
#include "test_support.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mojo/public/c/system/core.h"

#define P MOJO_RESULT_OK

static MojoHandle create(uint64_t size) {
  MojoHandle h = MOJO_HANDLE_INVALID;
  assert_int_equal(MojoCreateSharedBuffer(size, NULL, &h), P);
  assert_int_not_equal(h, MOJO_HANDLE_INVALID);
  return h;
}

static void *map(MojoHandle h, uint64_t offset, uint64_t size) {
  void *p = NULL;
  assert_int_equal(MojoMapBuffer(h, offset, size, NULL, &p), P);
  assert_non_null(p);
  return p;
}

static MojoHandle dup_handle(MojoHandle h, MojoDuplicateBufferHandleFlags flags,
                             MojoResult expect) {
  struct MojoDuplicateBufferHandleOptions o = {sizeof(o), flags};
  MojoHandle out = MOJO_HANDLE_INVALID;
  assert_int_equal(MojoDuplicateBufferHandle(h, &o, &out), expect);
  return out;
}

static uint64_t size_of(MojoHandle h) {
  struct MojoSharedBufferInfo info = {sizeof(info), 0};
  assert_int_equal(MojoGetBufferInfo(h, NULL, &info), P);
  return info.size;
}

/* The child's own fault handler reports the fault by its exit status, which
 * also works under sanitizers that would otherwise catch the signal. */
static void on_fault(int sig) {
  (void)sig;
  _exit(42);
}

/* True if writing one byte at `p` faults, tried in a forked child. */
static bool write_faults(volatile unsigned char *p) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    signal(SIGSEGV, on_fault);
    signal(SIGBUS, on_fault);
    *p = 1;
    _exit(0);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status) == 42;
}

static void ignore_event(const struct MojoTrapEvent *event) {
  (void)event;
}

static void test_create_and_info(void **state) {
  (void)state;
  MojoHandle h = 99;
  assert_int_equal(MojoCreateSharedBuffer(0, NULL, &h), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoCreateSharedBuffer(16, NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoCreateSharedBufferOptions o = {4, 0};
  assert_int_equal(MojoCreateSharedBuffer(16, &o, &h), MOJO_RESULT_INVALID_ARGUMENT);
  o = (struct MojoCreateSharedBufferOptions){sizeof(o), 1};
  assert_int_equal(MojoCreateSharedBuffer(16, &o, &h), MOJO_RESULT_UNIMPLEMENTED);
  assert_int_equal(MojoCreateSharedBuffer((1ull << 30) + 1, NULL, &h),
                   MOJO_RESULT_RESOURCE_EXHAUSTED);
  assert_int_equal(MojoCreateSharedBuffer(UINT64_MAX, NULL, &h), MOJO_RESULT_RESOURCE_EXHAUSTED);
  assert_int_equal(h, 99);
  /* 1 GiB itself is allowed (memfd pages are allocated on first touch). */
  h = create(1ull << 30);
  assert_int_equal(size_of(h), 1ull << 30);
  assert_int_equal(MojoClose(h), P);

  o = (struct MojoCreateSharedBufferOptions){sizeof(o), 0};
  assert_int_equal(MojoCreateSharedBuffer(100, &o, &h), P);
  assert_int_equal(size_of(h), 100);
  struct MojoSharedBufferInfo info = {sizeof(info) - 1, 7};
  assert_int_equal(MojoGetBufferInfo(h, NULL, &info), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(info.size, 7);
  info.struct_size = sizeof(info);
  assert_int_equal(MojoGetBufferInfo(h, NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoGetBufferInfoOptions bad = {4, 0};
  assert_int_equal(MojoGetBufferInfo(h, &bad, &info), MOJO_RESULT_INVALID_ARGUMENT);
  /* Not a buffer: */
  MojoHandle p, c;
  assert_int_equal(MojoCreateDataPipe(NULL, &p, &c), P);
  assert_int_equal(MojoGetBufferInfo(p, NULL, &info), MOJO_RESULT_INVALID_ARGUMENT);
  void *addr;
  assert_int_equal(MojoMapBuffer(c, 0, 1, NULL, &addr), MOJO_RESULT_INVALID_ARGUMENT);
  MojoHandle out;
  assert_int_equal(MojoDuplicateBufferHandle(p, NULL, &out), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoClose(p), P);
  assert_int_equal(MojoClose(c), P);
  /* Not watchable: no signals at all. */
  struct MojoHandleSignalsState s = {1, 1};
  assert_int_equal(MojoQueryHandleSignalsState(h, &s), P);
  assert_int_equal(s.satisfied_signals, 0);
  assert_int_equal(s.satisfiable_signals, 0);
  MojoHandle trap;
  assert_int_equal(MojoCreateTrap(ignore_event, NULL, &trap), P);
  assert_int_equal(MojoAddTrigger(trap, h, MOJO_HANDLE_SIGNAL_READABLE,
                                  MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 1, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoClose(trap), P);
  assert_int_equal(MojoClose(h), P);
  assert_int_equal(MojoGetBufferInfo(h, NULL, &info), MOJO_RESULT_INVALID_ARGUMENT);
}

static void test_map_unmap(void **state) {
  (void)state;
  long page = sysconf(_SC_PAGESIZE);
  MojoHandle h = create(3 * (uint64_t)page);
  unsigned char *all = map(h, 0, 3 * (uint64_t)page);
  for (long i = 0; i < 3 * page; i++)
    assert_int_equal(all[i], 0); /* zero-filled */
  all[page + 5] = 0x5A;
  all[3 * page - 1] = 0xA5;
  /* An unaligned offset maps the right byte. */
  unsigned char *mid = map(h, (uint64_t)page + 5, 10);
  assert_int_equal(mid[0], 0x5A);
  mid[1] = 0x77;
  assert_int_equal(all[page + 6], 0x77);
  unsigned char *last = map(h, 3 * (uint64_t)page - 1, 1);
  assert_int_equal(*last, 0xA5);

  void *untouched = (void *)0x1234;
  void *addr = untouched;
  const uint64_t size = 3 * (uint64_t)page;
  assert_int_equal(MojoMapBuffer(h, 0, 0, NULL, &addr), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoMapBuffer(h, 0, size + 1, NULL, &addr), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoMapBuffer(h, size, 1, NULL, &addr), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoMapBuffer(h, 1, UINT64_MAX, NULL, &addr), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoMapBuffer(h, UINT64_MAX, 2, NULL, &addr), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoMapBuffer(h, 0, 1, NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoMapBufferOptions bad = {4, 0};
  assert_int_equal(MojoMapBuffer(h, 0, 1, &bad, &addr), MOJO_RESULT_INVALID_ARGUMENT);
  assert_ptr_equal(addr, untouched);

  /* Mappings outlive the handle. */
  assert_int_equal(MojoClose(h), P);
  assert_int_equal(mid[1], 0x77);
  assert_int_equal(MojoUnmapBuffer(mid + 1), MOJO_RESULT_INVALID_ARGUMENT); /* interior */
  assert_int_equal(MojoUnmapBuffer(NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoUnmapBuffer(&addr), MOJO_RESULT_INVALID_ARGUMENT); /* not a mapping */
  assert_int_equal(MojoUnmapBuffer(mid), P);
  assert_int_equal(MojoUnmapBuffer(mid), MOJO_RESULT_INVALID_ARGUMENT); /* twice */
  assert_int_equal(MojoUnmapBuffer(last), P);
  assert_int_equal(MojoUnmapBuffer(all), P);
}

static void test_many_mappings(void **state) {
  (void)state;
  /* Enough to make the address table grow a few times. */
  enum { N = 300 };
  static void *maps[N];
  MojoHandle h = create(4096);
  for (int i = 0; i < N; i++) {
    maps[i] = map(h, (uint64_t)(i % 4096), 1);
    *(volatile unsigned char *)maps[i] = (unsigned char)i;
  }
  assert_int_equal(MojoClose(h), P);
  for (int i = N - 1; i >= 0; i -= 2)
    assert_int_equal(MojoUnmapBuffer(maps[i]), P);
  for (int i = 0; i < N; i += 2)
    assert_int_equal(MojoUnmapBuffer(maps[i]), P);
}

static void test_duplicate_writable(void **state) {
  (void)state;
  MojoHandle a = create(64);
  MojoHandle b = dup_handle(a, MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_NONE, P);
  assert_int_equal(MojoDuplicateBufferHandle(a, NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoDuplicateBufferHandleOptions bad = {4, 0};
  MojoHandle out;
  assert_int_equal(MojoDuplicateBufferHandle(a, &bad, &out), MOJO_RESULT_INVALID_ARGUMENT);
  dup_handle(a, 2, MOJO_RESULT_UNIMPLEMENTED);
  MojoHandle c = dup_handle(b, MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_NONE, P);
  assert_int_equal(size_of(c), 64);
  char *pa = map(a, 0, 64), *pc = map(c, 0, 64);
  strcpy(pa, "shared");
  assert_string_equal(pc, "shared"); /* same memory */
  /* Writable duplicates exist: no read-only handle can be made any more. */
  dup_handle(a, MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_READ_ONLY, MOJO_RESULT_FAILED_PRECONDITION);
  dup_handle(c, MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_READ_ONLY, MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoUnmapBuffer(pa), P);
  assert_int_equal(MojoUnmapBuffer(pc), P);
  assert_int_equal(MojoClose(a), P);
  assert_int_equal(MojoClose(b), P);
  assert_int_equal(MojoClose(c), P);
}

static void test_duplicate_read_only(void **state) {
  (void)state;
  MojoHandle a = create(4096);
  char *before = map(a, 0, 4096); /* made while writable: stays writable */
  MojoHandle ro = dup_handle(a, MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_READ_ONLY, P);
  MojoHandle ro2 = dup_handle(ro, MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_READ_ONLY, P);
  /* Read-only now and for ever, the original handle included. */
  dup_handle(a, MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_NONE, MOJO_RESULT_FAILED_PRECONDITION);
  dup_handle(ro, MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_NONE, MOJO_RESULT_FAILED_PRECONDITION);
  char *view = map(ro2, 0, 4096), *after = map(a, 0, 4096);
  strcpy(before, "producer");
  assert_string_equal(view, "producer");
  assert_string_equal(after, "producer");
  assert_true(write_faults((volatile unsigned char *)view));
  assert_true(write_faults((volatile unsigned char *)after));
  assert_false(write_faults((volatile unsigned char *)before));
  assert_int_equal(MojoUnmapBuffer(before), P);
  assert_int_equal(MojoUnmapBuffer(view), P);
  assert_int_equal(MojoUnmapBuffer(after), P);
  assert_int_equal(MojoClose(a), P);
  assert_int_equal(MojoClose(ro), P);
  assert_int_equal(MojoClose(ro2), P);
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

static void test_transfer(void **state) {
  (void)state;
  MojoHandle m0, m1;
  assert_int_equal(MojoCreateMessagePipe(NULL, &m0, &m1), P);
  MojoHandle a = create(128);
  char *pa = map(a, 0, 128);
  strcpy(pa, "over the pipe");
  MojoHandle b = pass_handle(m0, m1, a);
  struct MojoSharedBufferInfo info = {sizeof(info), 0};
  assert_int_equal(MojoGetBufferInfo(a, NULL, &info), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(size_of(b), 128);
  char *pb = map(b, 0, 128);
  assert_string_equal(pb, "over the pipe");
  /* A read-only handle stays read-only on the way. */
  MojoHandle ro =
      pass_handle(m1, m0, dup_handle(b, MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_READ_ONLY, P));
  char *pro = map(ro, 0, 128);
  assert_true(write_faults((volatile unsigned char *)pro));
  /* A buffer in a message that is never read is released with it. */
  MojoMessageHandle m;
  MojoHandle lost = create(4096);
  assert_int_equal(MojoCreateMessage(NULL, &m), P);
  assert_int_equal(MojoAppendMessageData(m, 0, &lost, 1, NULL, NULL, NULL), P);
  assert_int_equal(MojoClose(lost), MOJO_RESULT_INVALID_ARGUMENT); /* owned by the message */
  assert_int_equal(MojoDestroyMessage(m), P);
  assert_int_equal(MojoUnmapBuffer(pa), P);
  assert_int_equal(MojoUnmapBuffer(pb), P);
  assert_int_equal(MojoUnmapBuffer(pro), P);
  assert_int_equal(MojoClose(b), P);
  assert_int_equal(MojoClose(ro), P);
  assert_int_equal(MojoClose(m0), P);
  assert_int_equal(MojoClose(m1), P);
}

static int group_setup(void **state) {
  (void)state;
  MojoResult rv = MojoInitialize(NULL);
  if (rv != P && rv != MOJO_RESULT_FAILED_PRECONDITION)
    return -1;
  /* Let the handle table and mapping table take their first allocation. */
  MojoHandle h;
  void *p;
  MojoCreateSharedBuffer(1, NULL, &h);
  MojoMapBuffer(h, 0, 1, NULL, &p);
  MojoUnmapBuffer(p);
  MojoClose(h);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, cm_test_setup_resources, cm_test_teardown_resources)
      T(test_create_and_info),    T(test_map_unmap),           T(test_many_mappings),
      T(test_duplicate_writable), T(test_duplicate_read_only), T(test_transfer),
#undef T
  };
  return cmocka_run_group_tests(tests, group_setup, NULL);
}
