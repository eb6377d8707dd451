/* Core I benchmarks of message pipes within one process:
 *  - pipe create+close rate, beside socketpair()+close() as the OS's price
 *    for a channel pair (target: at least 1,000,000 pairs/s);
 *  - heap bytes held by one idle pipe pair (budget: 1 KiB);
 *  - 16 B and 4 KiB write+read on one thread, beside a malloc'd queue
 *    push/pop of the same bytes (target: at most 6x). The queue takes a
 *    mutex around push and pop: a pipe is a queue any thread may use, so the
 *    floor is the cheapest queue with that property (DESIGN §6: "a
 *    mutex-protected queue hand-off");
 *  - two threads ping-ponging through two pipes, each woken by a trap,
 *    beside a mutex/condvar hand-off (target: at most 1.5x), pinned to one
 *    CPU (the stable figure) and unpinned. */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_report.h"
#include "mojo/public/c/system/core.h"

/* ---- create + close ------------------------------------------------------ */

static void create_close_pipes(void *arg, long n) {
  (void)arg;
  for (long i = 0; i < n; i++) {
    MojoHandle a, b;
    MojoCreateMessagePipe(NULL, &a, &b);
    MojoClose(a);
    MojoClose(b);
  }
}

static void create_close_socketpairs(void *arg, long n) {
  (void)arg;
  for (long i = 0; i < n; i++) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) abort();
    close(sv[0]);
    close(sv[1]);
  }
}

static void bench_create_close(void) {
  double ours = 1e9 / bench_best_ns_per_op(create_close_pipes, NULL, 200000, 5);
  double floor = 1e9 / bench_best_ns_per_op(create_close_socketpairs, NULL, 50000, 5);
  /* ratio = floor/ours; ours >= 1e6/s is the same as ratio <= floor/1e6. */
  bench_report_rate("pipe_create_close", ours, floor, "pairs/s", floor / 1e6);
}

static void bench_idle_pair_bytes(void) {
  enum { N = 20000 };
  static MojoHandle h[2 * N];
  /* Warm the handle table so its growth is not charged to the pipes. */
  create_close_pipes(NULL, 1);
  struct mallinfo2 before = mallinfo2();
  for (int i = 0; i < N; i++) MojoCreateMessagePipe(NULL, &h[2 * i], &h[2 * i + 1]);
  struct mallinfo2 after = mallinfo2();
  for (int i = 0; i < 2 * N; i++) MojoClose(h[i]);
  double bytes = (double)(after.uordblks - before.uordblks) / N;
  bench_report_budget("idle_pipe_pair_heap", bytes, 1024, "B");
}

/* ---- write + read -------------------------------------------------------- */

typedef struct wr_args {
  MojoHandle a, b;
  uint32_t size;
  uint8_t *src, *dst;
} wr_args;

static void write_read(void *arg, long n) {
  wr_args *w = arg;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  for (long i = 0; i < n; i++) {
    MojoMessageHandle m;
    void *buf;
    uint32_t len;
    MojoCreateMessage(NULL, &m);
    MojoAppendMessageData(m, w->size, NULL, 0, &commit, &buf, NULL);
    memcpy(buf, w->src, w->size);
    MojoWriteMessage(w->a, m, NULL);
    if (MojoReadMessage(w->b, NULL, &m) != MOJO_RESULT_OK) abort();
    MojoGetMessageData(m, NULL, &buf, &len, NULL, NULL);
    memcpy(w->dst, buf, len);
    MojoDestroyMessage(m);
  }
}

/* The floor: a mutex-protected singly linked queue of malloc'd nodes holding
 * the bytes. */
typedef struct node {
  struct node *next;
  uint32_t size;
  uint8_t data[];
} node;

typedef struct queue {
  pthread_mutex_t lock;
  node *head, *tail;
} queue;

static void queue_push_pop(void *arg, long n) {
  wr_args *w = arg;
  queue q = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL};
  for (long i = 0; i < n; i++) {
    node *e = malloc(sizeof(node) + w->size);
    e->next = NULL;
    e->size = w->size;
    memcpy(e->data, w->src, w->size);
    pthread_mutex_lock(&q.lock);
    if (q.tail) q.tail->next = e;
    else q.head = e;
    q.tail = e;
    pthread_mutex_unlock(&q.lock);
    pthread_mutex_lock(&q.lock);
    node *f = q.head;
    q.head = f->next;
    if (!q.head) q.tail = NULL;
    pthread_mutex_unlock(&q.lock);
    memcpy(w->dst, f->data, f->size);
    free(f);
  }
}

static void bench_write_read(uint32_t size) {
  wr_args w = {.size = size, .src = malloc(size), .dst = malloc(size)};
  memset(w.src, 0x5a, size);
  MojoCreateMessagePipe(NULL, &w.a, &w.b);
  double ours = bench_best_ns_per_op(write_read, &w, 200000, 5);
  double floor = bench_best_ns_per_op(queue_push_pop, &w, 200000, 5);
  char name[64];
  snprintf(name, sizeof(name), "write_read_%uB", size);
  bench_report_time(name, ours, floor, "ns", 6.0);
  MojoClose(w.a);
  MojoClose(w.b);
  free(w.src);
  free(w.dst);
}

/* ---- thread ping-pong ------------------------------------------------------ */

/* A one-shot wake-up: the trap handler (running on the writer's thread)
 * signals the reader, which waits on a condition variable. */
typedef struct wakeup {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool ready;
} wakeup;

static void wakeup_signal(wakeup *w) {
  pthread_mutex_lock(&w->lock);
  w->ready = true;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

static void wakeup_wait(wakeup *w) {
  pthread_mutex_lock(&w->lock);
  while (!w->ready) pthread_cond_wait(&w->cond, &w->lock);
  w->ready = false;
  pthread_mutex_unlock(&w->lock);
}

typedef struct side {
  MojoHandle in, out, trap;
  wakeup wake;
  long rounds;
  int cpu;
  bool starts;
} side;

static void on_readable(const struct MojoTrapEvent *e) {
  if (e->result == MOJO_RESULT_OK) wakeup_signal(&((side *)e->trigger_context)->wake);
}

static void send_ping(MojoHandle h) {
  MojoMessageHandle m;
  void *buf;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  MojoCreateMessage(NULL, &m);
  MojoAppendMessageData(m, 16, NULL, 0, &commit, &buf, NULL);
  memset(buf, 1, 16);
  MojoWriteMessage(h, m, NULL);
}

/* Waits until `s->in` has a message (arming the trap; when arming fails the
 * message is already there) and reads it. */
static void receive_ping(side *s) {
  MojoMessageHandle m;
  while (MojoReadMessage(s->in, NULL, &m) != MOJO_RESULT_OK) {
    if (MojoArmTrap(s->trap, NULL, NULL, NULL) == MOJO_RESULT_OK) wakeup_wait(&s->wake);
  }
  MojoDestroyMessage(m);
}

static void *pipe_player(void *arg) {
  side *s = arg;
  bench_pin(s->cpu);
  for (long i = 0; i < s->rounds; i++) {
    if (s->starts) {
      send_ping(s->out);
      receive_ping(s);
    } else {
      receive_ping(s);
      send_ping(s->out);
    }
  }
  return NULL;
}

static double pipe_pingpong_ns(long rounds, int cpu) {
  side s[2];
  MojoHandle a0, a1, b0, b1;
  MojoCreateMessagePipe(NULL, &a0, &a1);
  MojoCreateMessagePipe(NULL, &b0, &b1);
  for (int i = 0; i < 2; i++) {
    memset(&s[i], 0, sizeof(s[i]));
    pthread_mutex_init(&s[i].wake.lock, NULL);
    pthread_cond_init(&s[i].wake.cond, NULL);
    s[i].rounds = rounds;
    s[i].cpu = cpu;
    s[i].starts = i == 0;
    MojoCreateTrap(on_readable, NULL, &s[i].trap);
  }
  s[0].out = a0;
  s[1].in = a1;
  s[1].out = b0;
  s[0].in = b1;
  for (int i = 0; i < 2; i++)
    MojoAddTrigger(s[i].trap, s[i].in, MOJO_HANDLE_SIGNAL_READABLE,
                   MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, (uintptr_t)&s[i], NULL);
  pthread_t t[2];
  uint64_t t0 = bench_now_ns();
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, pipe_player, &s[i]);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  double ns = (double)(bench_now_ns() - t0) / (double)rounds;
  for (int i = 0; i < 2; i++) {
    MojoClose(s[i].trap);
    pthread_cond_destroy(&s[i].wake.cond);
    pthread_mutex_destroy(&s[i].wake.lock);
  }
  MojoClose(a0);
  MojoClose(a1);
  MojoClose(b0);
  MojoClose(b1);
  return ns;
}

/* The floor: the same hand-off with only a mutex and condition variable and
 * a 16-byte copy each way. */
typedef struct handoff {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int turn;
  long rounds;
  int cpu;
  uint8_t slot[16];
} handoff;

typedef struct handoff_player {
  handoff *h;
  int me;
} handoff_player;

static void *condvar_player(void *arg) {
  handoff_player *p = arg;
  handoff *h = p->h;
  uint8_t local[16] = {0};
  bench_pin(h->cpu);
  for (long i = 0; i < h->rounds; i++) {
    pthread_mutex_lock(&h->lock);
    while (h->turn != p->me) pthread_cond_wait(&h->cond, &h->lock);
    memcpy(local, h->slot, sizeof(local));
    memcpy(h->slot, local, sizeof(local));
    h->turn = 1 - p->me;
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);
  }
  return NULL;
}

static double condvar_pingpong_ns(long rounds, int cpu) {
  handoff h = {.turn = 0, .rounds = rounds, .cpu = cpu};
  pthread_mutex_init(&h.lock, NULL);
  pthread_cond_init(&h.cond, NULL);
  handoff_player p[2] = {{&h, 0}, {&h, 1}};
  pthread_t t[2];
  uint64_t t0 = bench_now_ns();
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, condvar_player, &p[i]);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  double ns = (double)(bench_now_ns() - t0) / (double)rounds;
  pthread_cond_destroy(&h.cond);
  pthread_mutex_destroy(&h.lock);
  return ns;
}

static void bench_pingpong(void) {
  const long rounds = 50000;
  double best_ours = 0, best_floor = 0;
  for (int r = 0; r < 3; r++) {
    double o = pipe_pingpong_ns(rounds, 0), f = condvar_pingpong_ns(rounds, 0);
    if (r == 0 || o < best_ours) best_ours = o;
    if (r == 0 || f < best_floor) best_floor = f;
  }
  bench_report_time("thread_pingpong_pinned", best_ours / 1000, best_floor / 1000,
                    "us/roundtrip", 1.5);
  double o = pipe_pingpong_ns(rounds / 5, -1), f = condvar_pingpong_ns(rounds / 5, -1);
  bench_report_time("thread_pingpong_unpinned", o / 1000, f / 1000, "us/roundtrip", 1.5);
}

int main(void) {
  if (MojoInitialize(NULL) != MOJO_RESULT_OK) return 1;
  bench_create_close();
  bench_idle_pair_bytes();
  bench_write_read(16);
  bench_write_read(4096);
  bench_pingpong();
  return 0;
}
