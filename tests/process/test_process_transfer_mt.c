/* Pipe ends moving between processes while both ends keep talking (DESIGN
 * §1.3, "any process, any pipe"): one end forwarded along a chain of four
 * children over direct links the parent set up, and 10,000 messages among
 * the parent and three children with random transfers of the ends in
 * between. Every reader checks that each message comes exactly once and in
 * order (a sequence number per end). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "process_support.h"

/* ------------------------------------------------------------ the chain */

#define CHAIN 4
#define CHAIN_EACH 100 /* messages each holder reads and writes */

enum { MAGIC_PARENT = 0x50, MAGIC_CHILD = 0x43, MAGIC_FWD = 0x57, MAGIC_FINAL = 0x46 };

typedef struct seqmsg {
  uint32_t magic, seq;
} seqmsg;

typedef struct fwdmsg {
  uint32_t magic, write_seq, read_seq;
} fwdmsg;

static MojoResult send_seq(MojoHandle h, uint32_t magic, uint32_t seq) {
  seqmsg m = {magic, seq};
  return pt_send(h, &m, sizeof(m), NULL, 0);
}

/* Reads one seqmsg and checks it is (magic, seq). */
static MojoResult recv_seq(MojoHandle h, uint32_t magic, uint32_t seq) {
  seqmsg m;
  uint32_t n = 0;
  MojoResult rv = pt_recv(h, &m, sizeof(m), &n, NULL, NULL, PT_TIMEOUT_MS);
  if (rv != MOJO_RESULT_OK)
    return rv;
  return n == sizeof(m) && m.magic == magic && m.seq == seq ? MOJO_RESULT_OK
                                                            : MOJO_RESULT_DATA_LOSS;
}

/* Child i of the chain: gets its links, then the travelling end (from the
 * parent for i = 0, else from i - 1), reads and writes its share on it and
 * passes it on; the last one reports and answers the parent directly. */
static int child_chain(int argc, char **argv) {
  int i = (int)pt_arg(argc, argv, 0);
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle ctl = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  MojoHandle links[2], prev = MOJO_HANDLE_INVALID, next = MOJO_HANDLE_INVALID;
  uint32_t nh = 2, n;
  char buf[16];
  PT_OK(pt_recv(ctl, buf, sizeof(buf), &n, links, &nh, PT_TIMEOUT_MS));
  PT_EQ(nh, (uint32_t)(i == 0 || i == CHAIN - 1 ? 1 : 2));
  if (i > 0)
    prev = links[0];
  if (i < CHAIN - 1)
    next = links[i > 0 ? 1 : 0];
  fwdmsg f;
  MojoHandle y;
  nh = 1;
  PT_OK(pt_recv(i == 0 ? ctl : prev, &f, sizeof(f), &n, &y, &nh, PT_TIMEOUT_MS));
  if (n != sizeof(f) || f.magic != MAGIC_FWD || nh != 1) {
    fprintf(stderr, "chain %d: got %u bytes, magic %u, %u handles\n", i, n, f.magic, nh);
    return 1;
  }
  for (int k = 0; k < CHAIN_EACH; k++)
    PT_OK(recv_seq(y, MAGIC_PARENT, f.read_seq++));
  for (int k = 0; k < CHAIN_EACH; k++)
    PT_OK(send_seq(y, MAGIC_CHILD, f.write_seq++));
  if (i < CHAIN - 1) {
    PT_OK(pt_send(next, &f, sizeof(f), &y, 1));
  } else {
    PT_OK(pt_send(ctl, &f, sizeof(f), NULL, 0));
    PT_OK(recv_seq(y, MAGIC_FINAL, 0));
    PT_OK(send_seq(y, MAGIC_FINAL, 1));
  }
  pt_child_finish(ctl);
  return 0;
}

static void *chain_writer(void *arg) {
  MojoHandle x = *(MojoHandle *)arg;
  for (uint32_t s = 0; s < CHAIN * CHAIN_EACH; s++) {
    if (send_seq(x, MAGIC_PARENT, s) != MOJO_RESULT_OK)
      return (void *)1;
  }
  return NULL;
}

static void test_forward_chain(void **state) {
  (void)state;
  const char *names[] = {"ctl"};
  MojoHandle ctl[CHAIN];
  int64_t pid[CHAIN];
  for (int i = 0; i < CHAIN; i++) {
    char idx[16];
    snprintf(idx, sizeof(idx), "%d", i);
    const char *args[] = {idx, NULL};
    pid[i] = pt_spawn("chain", args, names, 1, &ctl[i], NULL, 0);
  }
  /* Links i <-> i + 1, both ends made here and sent to the two children:
   * the route through this process must collapse to a direct one. */
  MojoHandle l[CHAIN - 1][2], mine[CHAIN][2];
  uint32_t count[CHAIN] = {0};
  for (int i = 0; i < CHAIN - 1; i++) {
    assert_int_equal(MojoCreateMessagePipe(NULL, &l[i][0], &l[i][1]), MOJO_RESULT_OK);
    mine[i][count[i]++] = l[i][0];
    mine[i + 1][count[i + 1]++] = l[i][1];
  }
  /* Child i gets {prev, next}: prev was added first for i > 0. */
  for (int i = 0; i < CHAIN; i++)
    assert_int_equal(pt_send(ctl[i], "links", 5, mine[i], count[i]), MOJO_RESULT_OK);
  MojoHandle x, y;
  assert_int_equal(MojoCreateMessagePipe(NULL, &x, &y), MOJO_RESULT_OK);
  pthread_t writer;
  assert_int_equal(pthread_create(&writer, NULL, chain_writer, &x), 0);
  fwdmsg f = {MAGIC_FWD, 0, 0};
  assert_int_equal(pt_send(ctl[0], &f, sizeof(f), &y, 1), MOJO_RESULT_OK);
  /* What the four holders wrote, in order, exactly once. */
  for (uint32_t s = 0; s < CHAIN * CHAIN_EACH; s++)
    assert_int_equal(recv_seq(x, MAGIC_CHILD, s), MOJO_RESULT_OK);
  void *wr;
  assert_int_equal(pthread_join(writer, &wr), 0);
  assert_null(wr);
  uint32_t n = 0;
  assert_int_equal(pt_recv(ctl[CHAIN - 1], &f, sizeof(f), &n, NULL, NULL, PT_TIMEOUT_MS),
                   MOJO_RESULT_OK);
  assert_int_equal(f.write_seq, CHAIN * CHAIN_EACH);
  assert_int_equal(f.read_seq, CHAIN * CHAIN_EACH);
  /* The final direct link. PEER_REMOTE is best effort: the links were made
   * here, so the travelling end may have passed through a proxy in this very
   * process on its last hop, and x learns its peer's new home when that
   * proxy is bypassed. */
  assert_int_equal(pt_wait_for(x, MOJO_HANDLE_SIGNAL_PEER_REMOTE), MOJO_RESULT_OK);
  assert_int_equal(send_seq(x, MAGIC_FINAL, 0), MOJO_RESULT_OK);
  assert_int_equal(recv_seq(x, MAGIC_FINAL, 1), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(x), MOJO_RESULT_OK);
  for (int i = 0; i < CHAIN; i++)
    assert_int_equal(MojoClose(ctl[i]), MOJO_RESULT_OK);
  for (int i = 0; i < CHAIN; i++)
    pt_reap(pid[i], 0);
}

/* ---------------------------------------------------- random transfers */

#define PROCS 4 /* 0 is the parent */
#define PIPES 6 /* ends 2p and 2p + 1 */
#define ENDS (2 * PIPES)
#define TOTAL_MESSAGES 10000

enum { OP_WRITE = 1, OP_READ, OP_SEND, OP_RECV, OP_TAKE, OP_QUIT, OP_XFER, OP_DONE };

typedef struct cmd {
  uint32_t op, end, arg, pad;
} cmd;

typedef struct xfer {
  uint32_t op, end, write_seq, read_seq;
} xfer;

typedef struct payload {
  uint32_t tag, from_end, seq, pad;
} payload;

/* What one process holds: its ends, their counters, its links (the parent's
 * link to child k is ctl[k]; a child's link to the parent is its ctl). */
typedef struct holder {
  MojoHandle end[ENDS];
  uint32_t write_seq[ENDS], read_seq[ENDS];
  MojoHandle link[PROCS];
  uint32_t writes, reads;
} holder;

static MojoResult do_write(holder *h, uint32_t e, uint32_t count) {
  for (uint32_t i = 0; i < count; i++) {
    payload p = {0xab, e, h->write_seq[e]++, 0};
    MojoResult rv = pt_send(h->end[e], &p, sizeof(p), NULL, 0);
    if (rv != MOJO_RESULT_OK)
      return rv;
    h->writes++;
  }
  return MOJO_RESULT_OK;
}

static MojoResult do_read(holder *h, uint32_t e, uint32_t count) {
  for (uint32_t i = 0; i < count; i++) {
    payload p;
    uint32_t n = 0;
    MojoResult rv = pt_recv(h->end[e], &p, sizeof(p), &n, NULL, NULL, PT_TIMEOUT_MS);
    if (rv != MOJO_RESULT_OK)
      return rv;
    if (n != sizeof(p) || p.tag != 0xab || p.from_end != (e ^ 1) || p.seq != h->read_seq[e]) {
      fprintf(stderr, "end %u: got end %u seq %u, want end %u seq %u\n", e, p.from_end, p.seq,
              e ^ 1, h->read_seq[e]);
      return MOJO_RESULT_DATA_LOSS;
    }
    h->read_seq[e]++;
    h->reads++;
  }
  return MOJO_RESULT_OK;
}

/* Sends end e (with its counters) on `pipe`, as an XFER or a TAKE. */
static MojoResult do_send(holder *h, uint32_t e, MojoHandle pipe, uint32_t op) {
  xfer x = {op, e, h->write_seq[e], h->read_seq[e]};
  MojoHandle end = h->end[e];
  h->end[e] = MOJO_HANDLE_INVALID;
  return pt_send(pipe, &x, sizeof(x), &end, 1);
}

/* Reads an XFER/TAKE from `pipe` and keeps the end. */
static MojoResult do_recv(holder *h, MojoHandle pipe, uint32_t op) {
  xfer x;
  MojoHandle end;
  uint32_t n = 0, nh = 1;
  MojoResult rv = pt_recv(pipe, &x, sizeof(x), &n, &end, &nh, PT_TIMEOUT_MS);
  if (rv != MOJO_RESULT_OK)
    return rv;
  if (n != sizeof(x) || nh != 1 || x.op != op || x.end >= ENDS ||
      h->end[x.end] != MOJO_HANDLE_INVALID) {
    fprintf(stderr, "bad transfer: %u bytes, %u handles, op %u (want %u), end %u\n", n, nh, x.op,
            op, x.end);
    return MOJO_RESULT_DATA_LOSS;
  }
  h->end[x.end] = end;
  h->write_seq[x.end] = x.write_seq;
  h->read_seq[x.end] = x.read_seq;
  return MOJO_RESULT_OK;
}

static int child_shuffle(int argc, char **argv) {
  int self = (int)pt_arg(argc, argv, 0);
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  holder h;
  memset(&h, 0, sizeof(h));
  MojoHandle ctl = h.link[0] = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  /* Links to the other children, in ascending order of their number. */
  MojoHandle others[PROCS - 2];
  uint32_t n, nh = PROCS - 2;
  char buf[16];
  PT_OK(pt_recv(ctl, buf, sizeof(buf), &n, others, &nh, PT_TIMEOUT_MS));
  PT_EQ(nh, PROCS - 2);
  for (int k = 1, j = 0; k < PROCS; k++) {
    if (k != self)
      h.link[k] = others[j++];
  }
  for (;;) {
    cmd c;
    MojoHandle taken;
    uint32_t nt = 1;
    PT_OK(pt_recv(ctl, &c, sizeof(c), &n, &taken, &nt, PT_TIMEOUT_MS));
    PT_EQ(n, sizeof(c));
    switch (c.op) {
      case OP_WRITE:
        PT_OK(do_write(&h, c.end, c.arg));
        break;
      case OP_READ:
        PT_OK(do_read(&h, c.end, c.arg));
        break;
      case OP_SEND:
        PT_OK(do_send(&h, c.end, h.link[c.arg], OP_XFER));
        break;
      case OP_RECV:
        PT_OK(do_recv(&h, h.link[c.arg], OP_XFER));
        break;
      case OP_TAKE: /* an xfer from the parent: arg, pad are the counters */
        PT_CHECK(nt == 1 && c.end < ENDS && h.end[c.end] == MOJO_HANDLE_INVALID);
        h.end[c.end] = taken;
        h.write_seq[c.end] = c.arg, h.read_seq[c.end] = c.pad;
        break;
      case OP_QUIT: {
        for (int e = 0; e < ENDS; e++) {
          if (h.end[e] != MOJO_HANDLE_INVALID)
            PT_OK(MojoClose(h.end[e]));
        }
        uint32_t done[4] = {OP_DONE, h.writes, h.reads, 0};
        PT_OK(pt_send(ctl, done, sizeof(done), NULL, 0));
        pt_child_finish(ctl);
        return 0;
      }
      default:
        PT_CHECK(!"unknown command");
    }
    if (c.op != OP_TAKE)
      PT_EQ(nt, 0);
  }
}

/* The coordinator's model: where each end is and how many messages each
 * end has written and read. */
typedef struct plan {
  int loc[ENDS];
  uint32_t written[ENDS], read[ENDS];
  uint32_t total;
  holder self; /* process 0's own ends */
  uint64_t rng;
} plan;

static void order(plan *p, int proc, uint32_t op, uint32_t e, uint32_t arg) {
  if (proc == 0) {
    MojoResult rv = op == OP_WRITE  ? do_write(&p->self, e, arg)
                    : op == OP_READ ? do_read(&p->self, e, arg)
                    : op == OP_RECV ? do_recv(&p->self, p->self.link[arg], OP_XFER)
                                    : MOJO_RESULT_INTERNAL;
    assert_int_equal(rv, MOJO_RESULT_OK);
    return;
  }
  cmd c = {op, e, arg, 0};
  assert_int_equal(pt_send(p->self.link[proc], &c, sizeof(c), NULL, 0), MOJO_RESULT_OK);
}

static void plan_move(plan *p, uint32_t e, int to) {
  int from = p->loc[e];
  if (from == 0) {
    /* Straight into the child's command stream, as a TAKE. */
    assert_int_equal(do_send(&p->self, e, p->self.link[to], OP_TAKE), MOJO_RESULT_OK);
  } else {
    order(p, from, OP_SEND, e, (uint32_t)to);
    order(p, to, OP_RECV, e, (uint32_t)from);
  }
  p->loc[e] = to;
}

static void plan_step(plan *p) {
  uint32_t e = (uint32_t)(pt_rand(&p->rng) % ENDS);
  uint32_t r = (uint32_t)(pt_rand(&p->rng) % 10);
  uint32_t pending = p->written[e ^ 1] - p->read[e];
  if (r < 5) {
    uint32_t k = 1 + (uint32_t)(pt_rand(&p->rng) % 8);
    if (k > TOTAL_MESSAGES - p->total)
      k = TOTAL_MESSAGES - p->total;
    order(p, p->loc[e], OP_WRITE, e, k);
    p->written[e] += k, p->total += k;
  } else if (r < 8 && pending) {
    uint32_t k = 1 + (uint32_t)(pt_rand(&p->rng) % pending);
    order(p, p->loc[e], OP_READ, e, k);
    p->read[e] += k;
  } else if (r >= 8) {
    int to = (int)(pt_rand(&p->rng) % (PROCS - 1));
    plan_move(p, e, to >= p->loc[e] ? to + 1 : to);
  }
}

static void test_random_transfers(void **state) {
  (void)state;
  uint64_t seed = cm_test_seed(0x7a5f3e21);
  print_message("seed %llu (CMOJO_TEST_SEED replays)\n", (unsigned long long)seed);
  static plan storage; /* static: nothing leaks when an assertion fails */
  plan *p = &storage;
  memset(p, 0, sizeof(*p));
  p->rng = seed;
  const char *names[] = {"ctl"};
  int64_t pid[PROCS];
  for (int k = 1; k < PROCS; k++) {
    char idx[16];
    snprintf(idx, sizeof(idx), "%d", k);
    const char *args[] = {idx, NULL};
    pid[k] = pt_spawn("shuffle", args, names, 1, &p->self.link[k], NULL, 0);
  }
  /* Child-to-child links, made here; each child gets its two, in order. */
  MojoHandle give[PROCS][PROCS - 2];
  uint32_t ngive[PROCS] = {0};
  for (int j = 1; j < PROCS; j++) {
    for (int k = j + 1; k < PROCS; k++) {
      MojoHandle a, b;
      assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
      give[j][ngive[j]++] = a;
      give[k][ngive[k]++] = b;
    }
  }
  for (int k = 1; k < PROCS; k++)
    assert_int_equal(pt_send(p->self.link[k], "links", 5, give[k], ngive[k]), MOJO_RESULT_OK);
  /* All pipes start here; the plan scatters them. */
  for (uint32_t i = 0; i < PIPES; i++) {
    assert_int_equal(MojoCreateMessagePipe(NULL, &p->self.end[2 * i], &p->self.end[2 * i + 1]),
                     MOJO_RESULT_OK);
  }
  while (p->total < TOTAL_MESSAGES)
    plan_step(p);
  for (uint32_t e = 0; e < ENDS; e++) {
    if (p->written[e ^ 1] > p->read[e]) {
      order(p, p->loc[e], OP_READ, e, p->written[e ^ 1] - p->read[e]);
      p->read[e] = p->written[e ^ 1];
    }
  }
  uint32_t writes = p->self.writes, reads = p->self.reads;
  for (int k = 1; k < PROCS; k++) {
    order(p, k, OP_QUIT, 0, 0);
    uint32_t done[4], n = 0;
    assert_int_equal(pt_recv(p->self.link[k], done, sizeof(done), &n, NULL, NULL, PT_TIMEOUT_MS),
                     MOJO_RESULT_OK);
    assert_int_equal(done[0], OP_DONE);
    writes += done[1], reads += done[2];
  }
  assert_int_equal(writes, TOTAL_MESSAGES);
  assert_int_equal(reads, TOTAL_MESSAGES);
  for (uint32_t e = 0; e < ENDS; e++) {
    if (p->self.end[e] != MOJO_HANDLE_INVALID)
      assert_int_equal(MojoClose(p->self.end[e]), MOJO_RESULT_OK);
  }
  for (int k = 1; k < PROCS; k++)
    assert_int_equal(MojoClose(p->self.link[k]), MOJO_RESULT_OK);
  for (int k = 1; k < PROCS; k++)
    pt_reap(pid[k], 0);
}

static const pt_role kRoles[] = {
    {"chain", child_chain},
    {"shuffle", child_shuffle},
};

int main(int argc, char **argv) {
  int status;
  if (pt_main(argc, argv, kRoles, sizeof(kRoles) / sizeof(kRoles[0]), &status))
    return status;
  const struct CMUnitTest tests[] = {
      PT_TEST(test_forward_chain),
      PT_TEST(test_random_transfers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
