/* Introductions: pipes between two children whose ends were made (or
 * passed) elsewhere become direct links between those children, through
 * the broker's introduction. The link cannot be observed directly; what
 * can is that traffic keeps flowing, in order, after the parent has closed
 * every pipe it had to the children (the parent, the broker, stays alive). */
#include <stdio.h>
#include <string.h>

#include "process_support.h"

#define MESSAGES 1000
#define LINK_MESSAGES 100
#define RING 3
#define LAPS 100

typedef struct seq {
  uint32_t from, n;
} seq;

static void write_seq(MojoHandle h, uint32_t from, uint32_t count) {
  for (uint32_t i = 0; i < count; i++) {
    seq s = {from, i};
    PT_OK(pt_send(h, &s, sizeof(s), NULL, 0));
  }
}

/* A message large enough to go out in two pieces and to be kept in the
 * buffer it arrived in, sent before the two children know each other (it
 * waits, gathered, for the introduction). */
#define BIG (300 * 1024)

static uint8_t big_byte(uint32_t i) {
  return (uint8_t)(i * 131u + (i >> 9));
}

static void write_big(MojoHandle h) {
  static uint8_t buf[BIG];
  for (uint32_t i = 0; i < BIG; i++)
    buf[i] = big_byte(i);
  PT_OK(pt_send(h, buf, BIG, NULL, 0));
}

static void read_big(MojoHandle h) {
  static uint8_t buf[BIG];
  uint32_t n = 0;
  PT_OK(pt_recv(h, buf, BIG, &n, NULL, NULL, PT_TIMEOUT_MS));
  PT_EQ(n, BIG);
  for (uint32_t i = 0; i < BIG; i++)
    PT_CHECK(buf[i] == big_byte(i));
}

static void read_seq(MojoHandle h, uint32_t from, uint32_t count) {
  for (uint32_t i = 0; i < count; i++) {
    seq s;
    uint32_t n = 0;
    PT_OK(pt_recv(h, &s, sizeof(s), &n, NULL, NULL, PT_TIMEOUT_MS));
    PT_CHECK(n == sizeof(s) && s.from == from && s.n == i);
  }
}

/* Takes the one handle of the first message on ctl, then lets ctl go. */
static MojoHandle take_link(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle ctl = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  char buf[16];
  uint32_t n, nh = 1;
  MojoHandle link;
  PT_OK(pt_recv(ctl, buf, sizeof(buf), &n, &link, &nh, PT_TIMEOUT_MS));
  PT_EQ(nh, 1);
  PT_OK(MojoClose(ctl));
  return link;
}

/* A: makes a pipe and passes one end to B over the link the parent gave
 * both; then both talk on both pipes. */
static int child_pair_a(int argc, char **argv) {
  MojoHandle link = take_link(argc, argv), u, v;
  PT_OK(MojoCreateMessagePipe(NULL, &u, &v));
  PT_OK(pt_send(link, "v", 1, &v, 1));
  write_big(u);
  write_seq(u, 'A', MESSAGES);
  write_seq(link, 'A', LINK_MESSAGES);
  read_seq(u, 'B', MESSAGES);
  read_seq(link, 'B', LINK_MESSAGES);
  /* PEER_REMOTE is best effort: u learns that its peer moved when the
   * node that took the moved end says so, which may come after B's first
   * messages (they travel on another connection). */
  PT_OK(pt_wait_for(u, MOJO_HANDLE_SIGNAL_PEER_REMOTE));
  pt_child_expect_str(u, "ack");
  PT_OK(MojoClose(u));
  PT_OK(MojoClose(link));
  return 0;
}

static int child_pair_b(int argc, char **argv) {
  MojoHandle link = take_link(argc, argv), v;
  char buf[16];
  uint32_t n, nh = 1;
  PT_OK(pt_recv(link, buf, sizeof(buf), &n, &v, &nh, PT_TIMEOUT_MS));
  PT_EQ(nh, 1);
  PT_EQ(n, 1);
  PT_EQ(buf[0], 'v');
  read_big(v);
  write_seq(v, 'B', MESSAGES);
  write_seq(link, 'B', LINK_MESSAGES);
  read_seq(v, 'A', MESSAGES);
  read_seq(link, 'A', LINK_MESSAGES);
  PT_OK(pt_send_str(v, "ack"));
  pt_child_finish(v);
  PT_OK(MojoClose(v));
  PT_OK(MojoClose(link));
  return 0;
}

/* Spawns one child per role, hands each an end of one new pipe per
 * neighbour (ends[i][*]) and closes every pipe it had to them. */
static void spawn_and_let_go(const char *const *roles, int count, MojoHandle ends[][2],
                             const uint32_t *num_ends, int64_t *pids) {
  const char *names[] = {"ctl"};
  for (int i = 0; i < count; i++) {
    char idx[16];
    snprintf(idx, sizeof(idx), "%d", i);
    const char *args[] = {idx, NULL};
    MojoHandle ctl;
    pids[i] = pt_spawn(roles[i], args, names, 1, &ctl, NULL, 0);
    assert_int_equal(pt_send(ctl, "ends", 4, ends[i], num_ends[i]), MOJO_RESULT_OK);
    assert_int_equal(MojoClose(ctl), MOJO_RESULT_OK);
  }
}

static void test_pair_direct_link(void **state) {
  (void)state;
  MojoHandle ends[2][2];
  assert_int_equal(MojoCreateMessagePipe(NULL, &ends[0][0], &ends[1][0]), MOJO_RESULT_OK);
  const char *roles[] = {"pair_a", "pair_b"};
  const uint32_t num[] = {1, 1};
  int64_t pids[2];
  spawn_and_let_go(roles, 2, ends, num, pids);
  pt_reap(pids[0], 0);
  pt_reap(pids[1], 0);
}

/* A ring: child i holds a pipe to i + 1 and one from i - 1, all made here.
 * A token goes round LAPS times, then "stop" once, then each child closes
 * its way out (so nobody exits with a message still to deliver). */
static int child_ring(int argc, char **argv) {
  int self = (int)pt_arg(argc, argv, 0);
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle ctl = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  MojoHandle e[2];
  char buf[16];
  uint32_t n, nh = 2;
  PT_OK(pt_recv(ctl, buf, sizeof(buf), &n, e, &nh, PT_TIMEOUT_MS));
  PT_EQ(nh, 2);
  PT_OK(MojoClose(ctl));
  MojoHandle next = e[0], prev = e[1];
  /* Child `self` sees the tokens self - 1, self - 1 + RING, ... (mod RING). */
  uint32_t want = (uint32_t)(self + RING - 1) % RING, zero = 0;
  if (self == 0)
    PT_OK(pt_send(next, &zero, sizeof(zero), NULL, 0));
  for (;;) {
    uint32_t t = 0;
    PT_OK(pt_recv(prev, &t, sizeof(t), &n, NULL, NULL, PT_TIMEOUT_MS));
    if (t == UINT32_MAX)
      break;
    PT_EQ(t, want);
    want += RING;
    uint32_t out = self == 0 && t + 1 >= RING * LAPS ? UINT32_MAX : t + 1;
    PT_OK(pt_send(next, &out, sizeof(out), NULL, 0));
  }
  if (self != 0) {
    uint32_t stop = UINT32_MAX;
    PT_OK(pt_send(next, &stop, sizeof(stop), NULL, 0));
    pt_child_finish(prev);
  }
  PT_OK(MojoClose(next));
  if (self == 0)
    pt_child_finish(prev);
  PT_OK(MojoClose(prev));
  return 0;
}

static void test_ring_of_three(void **state) {
  (void)state;
  MojoHandle ends[RING][2];
  for (int i = 0; i < RING; i++) {
    /* ends[i][0] = i's next, ends[(i + 1) % RING][1] = (i + 1)'s prev. */
    assert_int_equal(MojoCreateMessagePipe(NULL, &ends[i][0], &ends[(i + 1) % RING][1]),
                     MOJO_RESULT_OK);
  }
  const char *roles[] = {"ring", "ring", "ring"};
  const uint32_t num[] = {2, 2, 2};
  int64_t pids[RING];
  spawn_and_let_go(roles, RING, ends, num, pids);
  for (int i = 0; i < RING; i++)
    pt_reap(pids[i], 0);
}

static const pt_role kRoles[] = {
    {"pair_a", child_pair_a},
    {"pair_b", child_pair_b},
    {"ring", child_ring},
};

int main(int argc, char **argv) {
  int status;
  if (pt_main(argc, argv, kRoles, sizeof(kRoles) / sizeof(kRoles[0]), &status))
    return status;
  const struct CMUnitTest tests[] = {
      PT_TEST(test_pair_direct_link),
      PT_TEST(test_ring_of_three),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
