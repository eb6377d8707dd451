/* Every kind of handle across a process boundary: data pipes (an 8 MiB
 * stream checked byte for byte and by checksum, directly and through a
 * second hop), shared buffers (the same memory on both sides; a read-only
 * duplicate maps read-only in the child), wrapped fds, traps firing on
 * messages and peer closure from another process, quotas against a remote
 * peer, and PEER_REMOTE. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "process_support.h"

#define STREAM_BYTES (8u * 1024 * 1024 + 12345)
#define CHUNK 65536

/* --------------------------------------------------------- data streams */

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

/* Writes the pattern stream `seed` of `total` bytes, waiting for room. */
static MojoResult produce(MojoHandle p, uint64_t seed, uint64_t total, uint64_t *sum) {
  uint8_t *buf = malloc(CHUNK);
  uint64_t off = 0, h = 0xcbf29ce484222325ull;
  MojoResult rv = MOJO_RESULT_OK;
  while (off < total && rv == MOJO_RESULT_OK) {
    uint32_t n = total - off < CHUNK ? (uint32_t)(total - off) : CHUNK;
    pt_pattern(seed, off, buf, n);
    rv = MojoWriteData(p, buf, &n, NULL);
    if (rv == MOJO_RESULT_SHOULD_WAIT)
      rv = pt_wait_for(p, MOJO_HANDLE_SIGNAL_WRITABLE);
    else if (rv == MOJO_RESULT_OK)
      h = fnv(h, buf, n), off += n;
  }
  free(buf);
  *sum = h;
  return rv;
}

/* Reads until the producer is gone and everything is drained; checks
 * every byte against the pattern and the length against `total`. */
static MojoResult consume_into(MojoHandle c, uint64_t seed, uint64_t total, uint64_t *sum,
                               uint8_t *buf, uint8_t *want) {
  uint64_t off = 0, h = 0xcbf29ce484222325ull;
  for (;;) {
    uint32_t n = CHUNK;
    MojoResult rv = MojoReadData(c, NULL, buf, &n);
    if (rv == MOJO_RESULT_SHOULD_WAIT) {
      rv = pt_wait_for(c, MOJO_HANDLE_SIGNAL_READABLE);
      if (rv == MOJO_RESULT_OK || rv == MOJO_RESULT_FAILED_PRECONDITION)
        continue;
      return rv;
    }
    if (rv == MOJO_RESULT_FAILED_PRECONDITION)
      break;
    if (rv != MOJO_RESULT_OK)
      return rv;
    if (off + n > total)
      return MOJO_RESULT_DATA_LOSS;
    pt_pattern(seed, off, want, n);
    if (memcmp(buf, want, n) != 0)
      return MOJO_RESULT_DATA_LOSS;
    h = fnv(h, buf, n), off += n;
  }
  if (!(pt_signals(c) & MOJO_HANDLE_SIGNAL_PEER_CLOSED))
    return MOJO_RESULT_INTERNAL;
  *sum = h;
  return off == total ? MOJO_RESULT_OK : MOJO_RESULT_DATA_LOSS;
}

static MojoResult consume(MojoHandle c, uint64_t seed, uint64_t total, uint64_t *sum) {
  uint8_t *buf = malloc(2 * CHUNK);
  MojoResult rv = consume_into(c, seed, total, sum, buf, buf + CHUNK);
  free(buf);
  return rv;
}

/* Makes a data pipe, sends the consumer on ctl, streams, closes the
 * producer and sends the checksum. */
static int child_dp_produce(int argc, char **argv) {
  uint64_t seed = pt_arg(argc, argv, 0);
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle ctl = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  struct MojoCreateDataPipeOptions o = {sizeof(o), 0, 1, 256 * 1024};
  MojoHandle p, c;
  PT_OK(MojoCreateDataPipe(&o, &p, &c));
  PT_OK(pt_send(ctl, "consumer", 8, &c, 1));
  uint64_t sum;
  PT_OK(produce(p, seed, STREAM_BYTES, &sum));
  PT_OK(MojoClose(p));
  PT_OK(pt_send(ctl, &sum, sizeof(sum), NULL, 0));
  pt_child_finish(ctl);
  return 0;
}

/* Gets a consumer on ctl and reads it all; answers with the checksum. */
static int child_dp_consume(int argc, char **argv) {
  uint64_t seed = pt_arg(argc, argv, 0);
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle ctl = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  char buf[16];
  uint32_t n, nh = 1;
  MojoHandle c;
  PT_OK(pt_recv(ctl, buf, sizeof(buf), &n, &c, &nh, PT_TIMEOUT_MS));
  PT_EQ(nh, 1);
  uint64_t sum;
  PT_OK(consume(c, seed, STREAM_BYTES, &sum));
  PT_OK(MojoClose(c));
  PT_OK(pt_send(ctl, &sum, sizeof(sum), NULL, 0));
  pt_child_finish(ctl);
  return 0;
}

static MojoHandle recv_one_handle(MojoHandle pipe) {
  char buf[64];
  uint32_t n, nh = 1;
  MojoHandle h;
  assert_int_equal(pt_recv(pipe, buf, sizeof(buf), &n, &h, &nh, PT_TIMEOUT_MS), MOJO_RESULT_OK);
  assert_int_equal(nh, 1);
  return h;
}

static uint64_t recv_sum(MojoHandle pipe) {
  uint64_t sum;
  uint32_t n = 0;
  assert_int_equal(pt_recv(pipe, &sum, sizeof(sum), &n, NULL, NULL, PT_TIMEOUT_MS), MOJO_RESULT_OK);
  assert_int_equal(n, sizeof(sum));
  return sum;
}

static void test_data_pipe_child_to_parent(void **state) {
  (void)state;
  const char *names[] = {"ctl"}, *args[] = {"77", NULL};
  MojoHandle ctl;
  int64_t pid = pt_spawn("dp_produce", args, names, 1, &ctl, NULL, 0);
  MojoHandle c = recv_one_handle(ctl);
  uint64_t mine;
  assert_int_equal(consume(c, 77, STREAM_BYTES, &mine), MOJO_RESULT_OK);
  assert_int_equal(recv_sum(ctl), mine);
  assert_int_equal(MojoClose(c), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(ctl), MOJO_RESULT_OK);
  pt_reap(pid, 0);
}

/* The consumer goes producer child -> parent -> consumer child while the
 * stream is already flowing. */
static void test_data_pipe_second_hop(void **state) {
  (void)state;
  const char *names[] = {"ctl"}, *args[] = {"91", NULL};
  MojoHandle ctl_a, ctl_b;
  int64_t a = pt_spawn("dp_produce", args, names, 1, &ctl_a, NULL, 0);
  int64_t b = pt_spawn("dp_consume", args, names, 1, &ctl_b, NULL, 0);
  MojoHandle c = recv_one_handle(ctl_a);
  assert_int_equal(pt_send(ctl_b, "consumer", 8, &c, 1), MOJO_RESULT_OK);
  assert_int_equal(recv_sum(ctl_b), recv_sum(ctl_a));
  assert_int_equal(MojoClose(ctl_a), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(ctl_b), MOJO_RESULT_OK);
  pt_reap(a, 0);
  pt_reap(b, 0);
}

/* -------------------------------------------------------- shared buffers */

#define RW_BYTES (1024 * 1024)
#define RO_BYTES (64 * 1024)

/* The permissions of the mapping holding `addr`, from /proc/self/maps. */
static bool mapping_perms(const void *addr, char perms[5]) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  bool found = false;
  while (f && !found && fgets(line, sizeof(line), f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3)
      found = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
  }
  if (f)
    fclose(f);
  return found;
}

static int child_shm(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle ctl = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  char buf[16];
  uint32_t n, nh = 1;
  MojoHandle w, r, dup;
  void *m;
  /* Writable: fill it. */
  PT_OK(pt_recv(ctl, buf, sizeof(buf), &n, &w, &nh, PT_TIMEOUT_MS));
  struct MojoSharedBufferInfo info = {sizeof(info), 0};
  PT_OK(MojoGetBufferInfo(w, NULL, &info));
  PT_EQ(info.size, RW_BYTES);
  PT_OK(MojoMapBuffer(w, 0, RW_BYTES, NULL, &m));
  pt_pattern(1, 0, m, RW_BYTES);
  PT_OK(MojoUnmapBuffer(m));
  PT_OK(MojoClose(w));
  PT_OK(pt_send_str(ctl, "written"));
  /* Read-only: the parent's bytes, a read-only mapping, no way back. */
  nh = 1;
  PT_OK(pt_recv(ctl, buf, sizeof(buf), &n, &r, &nh, PT_TIMEOUT_MS));
  PT_OK(MojoMapBuffer(r, 0, RO_BYTES, NULL, &m));
  uint8_t *want = malloc(RO_BYTES);
  pt_pattern(2, 0, want, RO_BYTES);
  PT_CHECK(memcmp(m, want, RO_BYTES) == 0);
  char perms[5] = "";
  PT_CHECK(mapping_perms(m, perms) && perms[0] == 'r' && perms[1] == '-');
  PT_EQ(MojoDuplicateBufferHandle(r, NULL, &dup), MOJO_RESULT_FAILED_PRECONDITION);
  PT_OK(pt_send_str(ctl, "seen"));
  /* The parent writes again through its own mapping: same memory. */
  pt_child_expect_str(ctl, "check2");
  pt_pattern(3, 0, want, 4096);
  PT_CHECK(memcmp(m, want, 4096) == 0);
  free(want);
  PT_OK(MojoUnmapBuffer(m));
  PT_OK(MojoClose(r));
  PT_OK(pt_send_str(ctl, "ok"));
  pt_child_finish(ctl);
  return 0;
}

static void test_shared_buffers(void **state) {
  (void)state;
  const char *names[] = {"ctl"};
  MojoHandle ctl, w, wdup, r, rdup;
  int64_t pid = pt_spawn("shm", NULL, names, 1, &ctl, NULL, 0);
  void *wm, *rm;
  uint8_t *want = malloc(RW_BYTES);
  assert_int_equal(MojoCreateSharedBuffer(RW_BYTES, NULL, &w), MOJO_RESULT_OK);
  assert_int_equal(MojoMapBuffer(w, 0, RW_BYTES, NULL, &wm), MOJO_RESULT_OK);
  assert_int_equal(MojoDuplicateBufferHandle(w, NULL, &wdup), MOJO_RESULT_OK);
  assert_int_equal(pt_send(ctl, "rw", 2, &wdup, 1), MOJO_RESULT_OK);
  pt_expect_str(ctl, "written");
  pt_pattern(1, 0, want, RW_BYTES);
  assert_memory_equal(wm, want, RW_BYTES);
  /* Map before making the read-only duplicate: this mapping stays writable. */
  assert_int_equal(MojoCreateSharedBuffer(RO_BYTES, NULL, &r), MOJO_RESULT_OK);
  assert_int_equal(MojoMapBuffer(r, 0, RO_BYTES, NULL, &rm), MOJO_RESULT_OK);
  pt_pattern(2, 0, rm, RO_BYTES);
  struct MojoDuplicateBufferHandleOptions ro = {sizeof(ro),
                                                MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_READ_ONLY};
  assert_int_equal(MojoDuplicateBufferHandle(r, &ro, &rdup), MOJO_RESULT_OK);
  assert_int_equal(pt_send(ctl, "ro", 2, &rdup, 1), MOJO_RESULT_OK);
  pt_expect_str(ctl, "seen");
  pt_pattern(3, 0, rm, 4096);
  assert_int_equal(pt_send_str(ctl, "check2"), MOJO_RESULT_OK);
  pt_expect_str(ctl, "ok");
  assert_int_equal(MojoUnmapBuffer(wm), MOJO_RESULT_OK);
  assert_int_equal(MojoUnmapBuffer(rm), MOJO_RESULT_OK);
  MojoHandle all[] = {w, r, ctl};
  for (int i = 0; i < 3; i++)
    assert_int_equal(MojoClose(all[i]), MOJO_RESULT_OK);
  free(want);
  pt_reap(pid, 0);
}

/* ------------------------------------------------------------ wrapped fds */

static const char kFdText[] = "written by the child into a wrapped fd";

static int child_fd_write(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle ctl = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  char buf[16];
  uint32_t n, nh = 1;
  MojoHandle wrapped;
  PT_OK(pt_recv(ctl, buf, sizeof(buf), &n, &wrapped, &nh, PT_TIMEOUT_MS));
  struct MojoPlatformHandle ph = {sizeof(ph), 0, 0};
  PT_OK(MojoUnwrapPlatformHandle(wrapped, NULL, &ph));
  PT_EQ(ph.type, MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR);
  int fd = (int)ph.value;
  PT_EQ(write(fd, kFdText, sizeof(kFdText)), sizeof(kFdText));
  PT_EQ(close(fd), 0);
  PT_OK(pt_send_str(ctl, "wrote"));
  pt_child_finish(ctl);
  return 0;
}

static void test_wrapped_fd(void **state) {
  (void)state;
  const char *names[] = {"ctl"};
  MojoHandle ctl, wrapped;
  int64_t pid = pt_spawn("fd_write", NULL, names, 1, &ctl, NULL, 0);
  int pfd[2];
  assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
  struct MojoPlatformHandle ph = {sizeof(ph), MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR,
                                  (uint64_t)pfd[1]};
  assert_int_equal(MojoWrapPlatformHandle(&ph, NULL, &wrapped), MOJO_RESULT_OK);
  assert_int_equal(pt_send(ctl, "fd", 2, &wrapped, 1), MOJO_RESULT_OK);
  pt_expect_str(ctl, "wrote");
  /* End of file comes only if no copy of the write end is left here. */
  char got[128];
  size_t len = 0;
  for (;;) {
    struct pollfd p = {pfd[0], POLLIN, 0};
    assert_int_equal(poll(&p, 1, PT_TIMEOUT_MS), 1);
    ssize_t k = read(pfd[0], got + len, sizeof(got) - len);
    assert_true(k >= 0);
    if (k == 0)
      break;
    len += (size_t)k;
  }
  assert_int_equal(len, sizeof(kFdText));
  assert_memory_equal(got, kFdText, sizeof(kFdText));
  close(pfd[0]);
  assert_int_equal(MojoClose(ctl), MOJO_RESULT_OK);
  pt_reap(pid, 0);
}

/* ------------------------------------------------------------------ traps */

/* Sends what ctl asks for: "go" -> three messages on ctl, then closes b. */
static int child_talker(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle ctl = pt_child_extract(inv, "ctl", 3), b = pt_child_extract(inv, "b", 1);
  PT_OK(MojoClose(inv));
  pt_child_expect_str(ctl, "go");
  for (int i = 0; i < 3; i++)
    PT_OK(pt_send_str(ctl, "t"));
  PT_OK(MojoClose(b));
  pt_child_finish(ctl);
  return 0;
}

typedef struct trap_log {
  int efd;
  atomic_int events;
  MojoResult result[4];
  MojoTrapEventFlags flags[4];
  uintptr_t context[4];
} trap_log;

static trap_log g_log;

static void on_trap(const struct MojoTrapEvent *e) {
  if (e->result == MOJO_RESULT_CANCELLED)
    return;
  int i = atomic_load(&g_log.events);
  if (i < 4) {
    g_log.result[i] = e->result, g_log.flags[i] = e->flags, g_log.context[i] = e->trigger_context;
    atomic_store(&g_log.events, i + 1);
  }
  uint64_t one = 1;
  ssize_t rc = write(g_log.efd, &one, sizeof(one));
  (void)rc;
}

static void wait_trap_events(int want) {
  int64_t deadline = pt_now_ms() + PT_TIMEOUT_MS;
  while (atomic_load(&g_log.events) < want) {
    assert_true(pt_now_ms() < deadline);
    struct pollfd p = {g_log.efd, POLLIN, 0};
    if (poll(&p, 1, 100) == 1) {
      uint64_t v;
      assert_int_equal(read(g_log.efd, &v, sizeof(v)), sizeof(v));
    }
  }
}

static void test_traps_fire_on_remote_events(void **state) {
  (void)state;
  const char *names[] = {"ctl", "b"};
  MojoHandle p[2], trap;
  int64_t pid = pt_spawn("talker", NULL, names, 2, p, NULL, 0);
  memset(&g_log, 0, sizeof(g_log));
  g_log.efd = eventfd(0, EFD_CLOEXEC);
  assert_int_equal(MojoCreateTrap(on_trap, NULL, &trap), MOJO_RESULT_OK);
  assert_int_equal(MojoAddTrigger(trap, p[0], MOJO_HANDLE_SIGNAL_READABLE,
                                  MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 1, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(MojoAddTrigger(trap, p[1], MOJO_HANDLE_SIGNAL_READABLE,
                                  MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 2, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(MojoArmTrap(trap, NULL, NULL, NULL), MOJO_RESULT_OK);
  assert_int_equal(pt_send_str(p[0], "go"), MOJO_RESULT_OK);
  /* The message arrives on cmojo's I/O thread, outside any API call here. */
  wait_trap_events(1);
  assert_int_equal(g_log.result[0], MOJO_RESULT_OK);
  assert_int_equal(g_log.context[0], 1);
  assert_int_equal(g_log.flags[0] & MOJO_TRAP_EVENT_FLAG_WITHIN_API_CALL, 0);
  for (int i = 0; i < 3; i++)
    pt_expect_str(p[0], "t");
  /* Re-armed: b's peer closing with nothing to read fires it, for good. */
  uint32_t num = 4;
  struct MojoTrapEvent ev[4];
  for (int i = 0; i < 4; i++)
    ev[i].struct_size = sizeof(ev[i]);
  MojoResult rv = MojoArmTrap(trap, NULL, &num, ev);
  if (rv == MOJO_RESULT_OK) {
    wait_trap_events(2);
    assert_int_equal(g_log.context[1], 2);
    assert_int_equal(g_log.result[1], MOJO_RESULT_FAILED_PRECONDITION);
  } else {
    assert_int_equal(rv, MOJO_RESULT_FAILED_PRECONDITION);
    assert_int_equal(num, 1);
    assert_int_equal(ev[0].trigger_context, 2);
    assert_int_equal(ev[0].result, MOJO_RESULT_FAILED_PRECONDITION);
  }
  assert_int_equal(MojoClose(trap), MOJO_RESULT_OK);
  close(g_log.efd);
  assert_int_equal(MojoClose(p[0]), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(p[1]), MOJO_RESULT_OK);
  pt_reap(pid, 0);
}

/* ----------------------------------------------- quotas and PEER_REMOTE */

/* "flood": writes 10 messages on q; "read": reads 10 from q; then answers
 * "done"; "hold": keeps the handle it came with until "give back". */
static int child_quota(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle ctl = pt_child_extract(inv, "ctl", 3), q = pt_child_extract(inv, "q", 1);
  PT_OK(MojoClose(inv));
  pt_child_expect_str(ctl, "flood");
  for (int i = 0; i < 10; i++)
    PT_OK(pt_send_str(q, "f"));
  PT_OK(pt_send_str(ctl, "done"));
  pt_child_expect_str(ctl, "read");
  for (int i = 0; i < 10; i++)
    pt_child_expect_str(q, "u");
  PT_OK(pt_send_str(ctl, "done"));
  char buf[16];
  uint32_t n, nh = 1;
  MojoHandle held;
  PT_OK(pt_recv(ctl, buf, sizeof(buf), &n, &held, &nh, PT_TIMEOUT_MS));
  pt_child_expect_str(ctl, "give back");
  PT_OK(pt_send(ctl, "back", 4, &held, 1));
  pt_child_finish(ctl);
  return 0;
}

static uint64_t usage_of(MojoHandle h, MojoQuotaType type) {
  uint64_t limit = 0, usage = 0;
  assert_int_equal(MojoQueryQuota(h, type, NULL, &limit, &usage), MOJO_RESULT_OK);
  return usage;
}

static void test_quotas_and_peer_remote(void **state) {
  (void)state;
  const char *names[] = {"ctl", "q"};
  MojoHandle p[2];
  int64_t pid = pt_spawn("quota", NULL, names, 2, p, NULL, 0);
  MojoHandle ctl = p[0], q = p[1];
  const MojoTriggerCondition unsat = MOJO_TRIGGER_CONDITION_SIGNALS_UNSATISFIED;
  /* A remote writer floods q past its receive queue limit. */
  assert_int_equal(MojoSetQuota(q, MOJO_QUOTA_TYPE_RECEIVE_QUEUE_LENGTH, 5, NULL), MOJO_RESULT_OK);
  assert_int_equal(pt_send_str(ctl, "flood"), MOJO_RESULT_OK);
  pt_expect_str(ctl, "done");
  assert_int_equal(pt_wait_for(q, MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED), MOJO_RESULT_OK);
  assert_true(usage_of(q, MOJO_QUOTA_TYPE_RECEIVE_QUEUE_LENGTH) > 5);
  for (int i = 0; i < 5; i++)
    pt_expect_str(q, "f");
  assert_false(pt_signals(q) & MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED);
  for (int i = 0; i < 5; i++)
    pt_expect_str(q, "f");
  assert_int_equal(
      MojoSetQuota(q, MOJO_QUOTA_TYPE_RECEIVE_QUEUE_LENGTH, MOJO_QUOTA_LIMIT_NONE, NULL),
      MOJO_RESULT_OK);
  /* Messages we sent that the remote reader has not read yet. */
  assert_int_equal(MojoSetQuota(q, MOJO_QUOTA_TYPE_UNREAD_MESSAGE_COUNT, 4, NULL), MOJO_RESULT_OK);
  for (int i = 0; i < 10; i++)
    assert_int_equal(pt_send_str(q, "u"), MOJO_RESULT_OK);
  assert_int_equal(pt_wait_for(q, MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED), MOJO_RESULT_OK);
  assert_int_equal(pt_send_str(ctl, "read"), MOJO_RESULT_OK);
  pt_expect_str(ctl, "done");
  /* The reader's acknowledgements come back from its process. */
  assert_int_equal(pt_wait(q, MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED, unsat, PT_TIMEOUT_MS, NULL),
                   MOJO_RESULT_OK);
  assert_true(usage_of(q, MOJO_QUOTA_TYPE_UNREAD_MESSAGE_COUNT) <= 4);
  /* PEER_REMOTE: on while the peer lives in the child, off once back. */
  assert_int_equal(pt_wait_for(ctl, MOJO_HANDLE_SIGNAL_PEER_REMOTE), MOJO_RESULT_OK);
  MojoHandle x, y;
  assert_int_equal(MojoCreateMessagePipe(NULL, &x, &y), MOJO_RESULT_OK);
  assert_false(pt_signals(x) & MOJO_HANDLE_SIGNAL_PEER_REMOTE);
  assert_int_equal(pt_send(ctl, "hold", 4, &y, 1), MOJO_RESULT_OK);
  assert_int_equal(pt_wait_for(x, MOJO_HANDLE_SIGNAL_PEER_REMOTE), MOJO_RESULT_OK);
  assert_int_equal(pt_send_str(ctl, "give back"), MOJO_RESULT_OK);
  y = recv_one_handle(ctl);
  assert_int_equal(pt_wait(x, MOJO_HANDLE_SIGNAL_PEER_REMOTE, unsat, PT_TIMEOUT_MS, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(pt_send_str(x, "local again"), MOJO_RESULT_OK);
  pt_expect_str(y, "local again");
  MojoHandle all[] = {x, y, q, ctl};
  for (int i = 0; i < 4; i++)
    assert_int_equal(MojoClose(all[i]), MOJO_RESULT_OK);
  pt_reap(pid, 0);
}

static const pt_role kRoles[] = {
    {"dp_produce", child_dp_produce}, {"dp_consume", child_dp_consume}, {"shm", child_shm},
    {"fd_write", child_fd_write},     {"talker", child_talker},         {"quota", child_quota},
};

int main(int argc, char **argv) {
  int status;
  if (pt_main(argc, argv, kRoles, sizeof(kRoles) / sizeof(kRoles[0]), &status))
    return status;
  const struct CMUnitTest tests[] = {
      PT_TEST(test_data_pipe_child_to_parent),
      PT_TEST(test_data_pipe_second_hop),
      PT_TEST(test_shared_buffers),
      PT_TEST(test_wrapped_fd),
      PT_TEST(test_traps_fire_on_remote_events),
      PT_TEST(test_quotas_and_peer_remote),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
