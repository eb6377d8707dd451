/* kill -9 of a peer at random points (DESIGN §7): 200 children, four alive
 * at a time, each killed after a random short delay while it writes
 * messages, streams a data pipe or writes into a shared buffer. After each
 * death every pipe whose other end lived there signals PEER_CLOSED (what
 * had arrived stays readable, in order), the data pipe consumer sees
 * PEER_CLOSED once drained, traps fire, the process error handler hears
 * DISCONNECTED exactly once, and nobody hangs. At the end the fds and
 * shared memory mappings of this process are back to what they were. */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "process_support.h"

#define ROUNDS 50
#define AT_ONCE 4
#define SHM_BYTES (64 * 1024)
#define STREAM_SEED 5

enum { MODE_MESSAGES, MODE_DATA_PIPE, MODE_SHARED_BUFFER, MODE_COUNT_ };

/* ------------------------------------------------------------ the victim */

static void victim_messages(MojoHandle ctl, int64_t deadline) {
  char buf[16];
  uint32_t n, nh = 1;
  MojoHandle q;
  PT_OK(pt_recv(ctl, buf, sizeof(buf), &n, &q, &nh, PT_TIMEOUT_MS));
  for (uint32_t s = 0; pt_now_ms() < deadline; s++) {
    PT_OK(pt_send(ctl, &s, sizeof(s), NULL, 0));
    PT_OK(pt_send(q, &s, sizeof(s), NULL, 0));
    if (s % 256 == 255)
      usleep(200);
  }
}

static void victim_data_pipe(MojoHandle ctl, int64_t deadline) {
  struct MojoCreateDataPipeOptions o = {sizeof(o), 0, 1, 64 * 1024};
  MojoHandle p, c;
  PT_OK(MojoCreateDataPipe(&o, &p, &c));
  uint32_t zero = 0;
  PT_OK(pt_send(ctl, &zero, sizeof(zero), &c, 1));
  uint8_t buf[4096];
  for (uint64_t off = 0; pt_now_ms() < deadline;) {
    pt_pattern(STREAM_SEED, off, buf, sizeof(buf));
    uint32_t n = sizeof(buf);
    MojoResult rv = MojoWriteData(p, buf, &n, NULL);
    if (rv == MOJO_RESULT_SHOULD_WAIT)
      rv = pt_wait(p, MOJO_HANDLE_SIGNAL_WRITABLE, MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 100,
                   NULL);
    else if (rv == MOJO_RESULT_OK)
      off += n;
    PT_CHECK(rv == MOJO_RESULT_OK || rv == MOJO_RESULT_DEADLINE_EXCEEDED);
  }
}

static void victim_shared_buffer(MojoHandle ctl, int64_t deadline) {
  char buf[16];
  uint32_t n, nh = 1, zero = 0;
  MojoHandle b;
  void *m;
  PT_OK(pt_recv(ctl, buf, sizeof(buf), &n, &b, &nh, PT_TIMEOUT_MS));
  PT_OK(MojoMapBuffer(b, 0, SHM_BYTES, NULL, &m));
  PT_OK(pt_send(ctl, &zero, sizeof(zero), NULL, 0));
  for (int k = 0; pt_now_ms() < deadline; k++)
    memset(m, k, SHM_BYTES);
}

/* Does its part until killed; exiting at all is a failure of the test. */
static int child_victim(int argc, char **argv) {
  int mode = (int)pt_arg(argc, argv, 0);
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle ctl = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  int64_t deadline = pt_now_ms() + PT_TIMEOUT_MS;
  if (mode == MODE_MESSAGES)
    victim_messages(ctl, deadline);
  else if (mode == MODE_DATA_PIPE)
    victim_data_pipe(ctl, deadline);
  else
    victim_shared_buffer(ctl, deadline);
  fprintf(stderr, "victim %d was never killed\n", (int)getpid());
  return 3;
}

/* ---------------------------------------------------------------- parent */

typedef struct victim {
  int64_t pid;
  int mode;
  uintptr_t ctx;
  MojoHandle ctl, peer, consumer, buffer, trap;
  void *mapping;
  atomic_int trap_fired;
} victim;

static void on_peer_closed(const struct MojoTrapEvent *e) {
  victim *v = (victim *)e->trigger_context;
  if (e->result == MOJO_RESULT_OK)
    atomic_store(&v->trap_fired, 1);
}

static void victim_start(victim *v, int mode) {
  memset(v, 0, sizeof(*v));
  v->mode = mode;
  v->ctx = pt_new_context();
  char arg[16];
  snprintf(arg, sizeof(arg), "%d", mode);
  const char *args[] = {arg, NULL}, *names[] = {"ctl"};
  v->pid = pt_spawn("victim", args, names, 1, &v->ctl, pt_error_handler, v->ctx);
  if (mode == MODE_MESSAGES) {
    MojoHandle q;
    assert_int_equal(MojoCreateMessagePipe(NULL, &v->peer, &q), MOJO_RESULT_OK);
    assert_int_equal(pt_send(v->ctl, "q", 1, &q, 1), MOJO_RESULT_OK);
  } else if (mode == MODE_SHARED_BUFFER) {
    MojoHandle dup;
    assert_int_equal(MojoCreateSharedBuffer(SHM_BYTES, NULL, &v->buffer), MOJO_RESULT_OK);
    assert_int_equal(MojoMapBuffer(v->buffer, 0, SHM_BYTES, NULL, &v->mapping), MOJO_RESULT_OK);
    assert_int_equal(MojoDuplicateBufferHandle(v->buffer, NULL, &dup), MOJO_RESULT_OK);
    assert_int_equal(pt_send(v->ctl, "b", 1, &dup, 1), MOJO_RESULT_OK);
  }
  assert_int_equal(MojoCreateTrap(on_peer_closed, NULL, &v->trap), MOJO_RESULT_OK);
  assert_int_equal(MojoAddTrigger(v->trap, v->ctl, MOJO_HANDLE_SIGNAL_PEER_CLOSED,
                                  MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, (uintptr_t)v, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(MojoArmTrap(v->trap, NULL, NULL, NULL), MOJO_RESULT_OK);
}

/* Reads every message left on `h`: consecutive u32 sequence numbers from
 * `first`, then the end (FAILED_PRECONDITION). Takes handles it finds into
 * *consumer (the data pipe victim's first message). */
static void drain_sequence(MojoHandle h, uint32_t first, MojoHandle *consumer) {
  for (uint32_t want = first;; want++) {
    uint32_t s = 0, n = 0, nh = 1;
    MojoHandle taken = MOJO_HANDLE_INVALID;
    MojoResult rv = pt_recv(h, &s, sizeof(s), &n, &taken, &nh, PT_TIMEOUT_MS);
    if (rv == MOJO_RESULT_FAILED_PRECONDITION)
      return;
    assert_int_equal(rv, MOJO_RESULT_OK);
    assert_int_equal(n, sizeof(s));
    assert_int_equal(s, want);
    if (nh) {
      assert_non_null(consumer);
      *consumer = taken;
    }
  }
}

/* Whatever part of the stream arrived is the pattern's prefix; then the
 * consumer reports the producer gone. */
static void drain_stream(MojoHandle c) {
  uint8_t buf[4096], want[4096];
  for (uint64_t off = 0;;) {
    uint32_t n = sizeof(buf);
    MojoResult rv = MojoReadData(c, NULL, buf, &n);
    if (rv == MOJO_RESULT_SHOULD_WAIT) {
      rv = pt_wait_for(c, MOJO_HANDLE_SIGNAL_READABLE);
      assert_true(rv == MOJO_RESULT_OK || rv == MOJO_RESULT_FAILED_PRECONDITION);
      continue;
    }
    if (rv == MOJO_RESULT_FAILED_PRECONDITION)
      break;
    assert_int_equal(rv, MOJO_RESULT_OK);
    pt_pattern(STREAM_SEED, off, want, n);
    assert_memory_equal(buf, want, n);
    off += n;
  }
  assert_true(pt_signals(c) & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
}

/* Kills v at a point chosen by rng: at once (maybe mid-handshake), or once
 * it has sent its first message, after up to 8 ms more. */
static void victim_kill(victim *v, uint64_t *rng) {
  uint64_t r = pt_rand(rng);
  if (r % 3 != 0) {
    assert_int_equal(pt_wait_for(v->ctl, MOJO_HANDLE_SIGNAL_READABLE), MOJO_RESULT_OK);
    if (r % 3 == 2)
      usleep((useconds_t)((r >> 8) % 8000));
  }
  assert_int_equal(kill((pid_t)v->pid, SIGKILL), 0);
  pt_reap(v->pid, PT_KILLED);
}

/* A message that came over a connection that is gone has no sender to
 * tell about any more. Returns the sequence number to drain from. */
static uint32_t check_sender_gone(MojoHandle h) {
  MojoMessageHandle m;
  if (MojoReadMessage(h, NULL, &m) != MOJO_RESULT_OK)
    return 0;
  struct cmojo_peer_credentials cr = {.struct_size = sizeof(cr)};
  assert_int_equal(cmojo_get_message_sender(m, &cr), MOJO_RESULT_FAILED_PRECONDITION);
  void *data;
  uint32_t n = 0, s;
  assert_int_equal(MojoGetMessageData(m, NULL, &data, &n, NULL, NULL), MOJO_RESULT_OK);
  assert_int_equal(n, sizeof(s));
  memcpy(&s, data, sizeof(s));
  assert_int_equal(s, 0);
  assert_int_equal(MojoDestroyMessage(m), MOJO_RESULT_OK);
  return 1;
}

static void victim_check(victim *v) {
  pt_expect_peer_closed(v->ctl);
  if (v->mode == MODE_MESSAGES) {
    drain_sequence(v->ctl, check_sender_gone(v->ctl), NULL);
    pt_expect_peer_closed(v->peer);
    drain_sequence(v->peer, 0, NULL);
  } else {
    drain_sequence(v->ctl, 0, v->mode == MODE_DATA_PIPE ? &v->consumer : NULL);
  }
  if (v->consumer)
    drain_stream(v->consumer);
  if (v->mapping) {
    volatile uint8_t *m = v->mapping; /* still ours to read */
    (void)m[SHM_BYTES - 1];
    assert_int_equal(MojoUnmapBuffer(v->mapping), MOJO_RESULT_OK);
  }
  int64_t deadline = pt_now_ms() + PT_TIMEOUT_MS;
  while (!atomic_load(&v->trap_fired) && pt_now_ms() < deadline)
    usleep(1000);
  assert_true(atomic_load(&v->trap_fired));
  pt_error e;
  assert_true(pt_errors_wait(v->ctx, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED,
                             MOJO_PROCESS_ERROR_FLAG_DISCONNECTED, PT_TIMEOUT_MS, &e));
  assert_int_equal(pt_errors_count(v->ctx, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED,
                                   MOJO_PROCESS_ERROR_FLAG_DISCONNECTED),
                   1);
  MojoHandle all[] = {v->trap, v->ctl, v->peer, v->consumer, v->buffer};
  for (int i = 0; i < 5; i++) {
    if (all[i])
      assert_int_equal(MojoClose(all[i]), MOJO_RESULT_OK);
  }
}

static void test_kill_at_random_points(void **state) {
  (void)state;
  uint64_t seed = cm_test_seed(0x6b696c6c);
  print_message("seed %llu (CMOJO_TEST_SEED replays)\n", (unsigned long long)seed);
  uint64_t rng = seed;
  int fds = cm_test_count_open_fds(), maps = cm_test_count_shm_mappings();
  victim *v = calloc(AT_ONCE, sizeof(*v));
  int64_t start = pt_now_ms();
  for (int round = 0; round < ROUNDS; round++) {
    for (int i = 0; i < AT_ONCE; i++)
      victim_start(&v[i], (int)(pt_rand(&rng) % MODE_COUNT_));
    for (int i = 0; i < AT_ONCE; i++)
      victim_kill(&v[i], &rng);
    for (int i = 0; i < AT_ONCE; i++)
      victim_check(&v[i]);
  }
  print_message("%d children killed in %lld ms\n", ROUNDS * AT_ONCE,
                (long long)(pt_now_ms() - start));
  free(v);
  pt_expect_resources(fds, maps);
}

/* A child that dies with pipe ends in flight to it: the parent's ends of
 * those pipes see PEER_CLOSED too (their ports were lost with the node). */
static void test_kill_with_ends_in_flight(void **state) {
  (void)state;
  victim v;
  victim_start(&v, MODE_MESSAGES);
  MojoHandle mine[8], theirs;
  for (int i = 0; i < 8; i++) {
    assert_int_equal(MojoCreateMessagePipe(NULL, &mine[i], &theirs), MOJO_RESULT_OK);
    assert_int_equal(pt_send(mine[i], "queued", 6, NULL, 0), MOJO_RESULT_OK);
    assert_int_equal(pt_send(v.ctl, "x", 1, &theirs, 1), MOJO_RESULT_OK);
  }
  assert_int_equal(kill((pid_t)v.pid, SIGKILL), 0);
  pt_reap(v.pid, PT_KILLED);
  for (int i = 0; i < 8; i++) {
    pt_expect_peer_closed(mine[i]);
    assert_int_equal(MojoClose(mine[i]), MOJO_RESULT_OK);
  }
  victim_check(&v);
}

static const pt_role kRoles[] = {
    {"victim", child_victim},
};

int main(int argc, char **argv) {
  int status;
  if (pt_main(argc, argv, kRoles, sizeof(kRoles) / sizeof(kRoles[0]), &status))
    return status;
  const struct CMUnitTest tests[] = {
      PT_TEST(test_kill_with_ends_in_flight),
      PT_TEST(test_kill_at_random_points),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
