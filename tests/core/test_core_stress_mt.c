/* Eight threads doing random writes, reads, pipe transfers, pipe creation
 * and closes on a shared pool of message pipe ends. Every message carries a
 * unique id; at the end every reachable end is drained and each message
 * written successfully must have been read exactly once. Closes take both
 * ends of a pipe and drain them first, so no message can be lost
 * legitimately. Ends travel over a few carrier pipes that are never
 * transferred themselves: sending ends over arbitrary pool ends could build
 * a cycle (A queued inside B's peer, B queued inside A's peer) whose
 * messages nobody can reach, which Mojo allows and this test could not tell
 * from loss. Run under ThreadSanitizer in `make test`. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/handle_table.h"
#include "mojo/public/c/system/core.h"
#include "test_support.h"

/* At most MAX_PIPES pipes live at once, so their 2 * MAX_PIPES ends always
 * fit in the pool and a received end always finds a slot. */
enum { THREADS = 8, POOL = 192, MAX_PIPES = 64, CARRIERS = 4, MAX_IDS = 1 << 18 };

typedef struct end {
  MojoHandle h;
  int pipe;
  int side;
} end;

typedef struct payload {
  uint32_t id;
  int32_t carried_pipe; /* -1: no handle */
  int32_t carried_side;
} payload;

static struct {
  pthread_mutex_t lock;
  end slots[POOL];
  bool present[POOL];
  int next_pipe;
  int live_pipes;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct carrier {
  pthread_mutex_t lock;
  MojoHandle in, out;
} carriers[CARRIERS];

static atomic_uint next_id;
static atomic_uchar sent[MAX_IDS];
static atomic_uchar received[MAX_IDS];
static atomic_int duplicate_receipts;
static atomic_int failed_writes;
static int ops_per_thread;
static int num_threads = THREADS;

static bool put(end e) {
  pthread_mutex_lock(&pool.lock);
  for (int i = 0; i < POOL; i++) {
    if (!pool.present[i]) {
      pool.slots[i] = e;
      pool.present[i] = true;
      pthread_mutex_unlock(&pool.lock);
      return true;
    }
  }
  pthread_mutex_unlock(&pool.lock);
  return false;
}

static bool take(unsigned *seed, end *out) {
  pthread_mutex_lock(&pool.lock);
  int start = rand_r(seed) % POOL;
  for (int k = 0; k < POOL; k++) {
    int i = (start + k) % POOL;
    if (pool.present[i]) {
      pool.present[i] = false;
      *out = pool.slots[i];
      pthread_mutex_unlock(&pool.lock);
      return true;
    }
  }
  pthread_mutex_unlock(&pool.lock);
  return false;
}

/* Takes both ends of some pipe whose two ends are in the pool. */
static bool take_pair(unsigned *seed, end *x, end *y) {
  pthread_mutex_lock(&pool.lock);
  int start = rand_r(seed) % POOL;
  for (int k = 0; k < POOL; k++) {
    int i = (start + k) % POOL;
    if (!pool.present[i]) continue;
    for (int j = 0; j < POOL; j++) {
      if (j != i && pool.present[j] && pool.slots[j].pipe == pool.slots[i].pipe) {
        pool.present[i] = pool.present[j] = false;
        *x = pool.slots[i];
        *y = pool.slots[j];
        pthread_mutex_unlock(&pool.lock);
        return true;
      }
    }
  }
  pthread_mutex_unlock(&pool.lock);
  return false;
}

static MojoResult write_payload(MojoHandle h, const end *carried) {
  uint32_t id = atomic_fetch_add(&next_id, 1);
  if (id >= MAX_IDS) return MOJO_RESULT_RESOURCE_EXHAUSTED;
  payload p = {id, carried ? carried->pipe : -1, carried ? carried->side : -1};
  MojoMessageHandle m;
  MojoResult rv = MojoCreateMessage(NULL, &m);
  if (rv != MOJO_RESULT_OK) return rv;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  void *buf;
  rv = MojoAppendMessageData(m, sizeof(p), carried ? &carried->h : NULL,
                                        carried ? 1 : 0, &commit, &buf, NULL);
  if (rv != MOJO_RESULT_OK) {
    MojoDestroyMessage(m);
    return rv;
  }
  memcpy(buf, &p, sizeof(p));
  rv = MojoWriteMessage(h, m, NULL);
  if (rv == MOJO_RESULT_OK) atomic_store(&sent[id], 1);
  return rv;
}

/* Reads everything queued on `e`; carried ends go back to the pool, or to
 * `overflow` when the pool is full. Returns the number of messages. */
static int drain(const end *e, end *overflow, int *num_overflow) {
  int n = 0;
  MojoMessageHandle m;
  while (MojoReadMessage(e->h, NULL, &m) == MOJO_RESULT_OK) {
    void *buf;
    uint32_t len, nh = 1;
    MojoHandle h = MOJO_HANDLE_INVALID;
    assert_int_equal(MojoGetMessageData(m, NULL, &buf, &len, &h, &nh), MOJO_RESULT_OK);
    assert_int_equal(len, sizeof(payload));
    payload p;
    memcpy(&p, buf, sizeof(p));
    if (atomic_fetch_add(&received[p.id], 1) != 0) atomic_fetch_add(&duplicate_receipts, 1);
    if (p.carried_pipe >= 0) {
      assert_int_equal(nh, 1);
      end c = {h, p.carried_pipe, p.carried_side};
      if (!put(c)) overflow[(*num_overflow)++] = c;
    } else {
      assert_int_equal(nh, 0);
    }
    MojoDestroyMessage(m);
    n++;
  }
  return n;
}

/* Creates a pipe and places both ends in two free slots, or nothing. */
static void create_pipe(void) {
  end a = {0, 0, 0}, b = {0, 0, 1};
  if (MojoCreateMessagePipe(NULL, &a.h, &b.h) != MOJO_RESULT_OK) return;
  pthread_mutex_lock(&pool.lock);
  int i = 0, j;
  while (i < POOL && pool.present[i]) i++;
  j = i + 1;
  while (j < POOL && pool.present[j]) j++;
  bool room = j < POOL && pool.live_pipes < MAX_PIPES;
  if (room) {
    pool.live_pipes++;
    a.pipe = b.pipe = pool.next_pipe++;
    pool.slots[i] = a;
    pool.slots[j] = b;
    pool.present[i] = pool.present[j] = true;
  }
  pthread_mutex_unlock(&pool.lock);
  if (!room) {
    MojoClose(a.h);
    MojoClose(b.h);
  }
}

static void step(unsigned *seed) {
  int op = rand_r(seed) % 100;
  end x, y, overflow[1];
  int num_overflow = 0;
  if (op < 40) {
    if (!take(seed, &x)) return;
    if (write_payload(x.h, NULL) != MOJO_RESULT_OK) atomic_fetch_add(&failed_writes, 1);
    put(x);
  } else if (op < 75) {
    if (!take(seed, &x)) return;
    drain(&x, overflow, &num_overflow);
    put(x);
  } else if (op < 85) {
    struct carrier *c = &carriers[rand_r(seed) % CARRIERS];
    if (!take(seed, &y)) return;
    pthread_mutex_lock(&c->lock);
    if (write_payload(c->in, &y) != MOJO_RESULT_OK) atomic_fetch_add(&failed_writes, 1);
    pthread_mutex_unlock(&c->lock);
  } else if (op < 92) {
    struct carrier *c = &carriers[rand_r(seed) % CARRIERS];
    end e = {0, -1, -1};
    pthread_mutex_lock(&c->lock);
    e.h = c->out;
    drain(&e, overflow, &num_overflow);
    pthread_mutex_unlock(&c->lock);
  } else if (op < 96) {
    if (!take_pair(seed, &x, &y)) return;
    drain(&x, overflow, &num_overflow);
    drain(&y, overflow, &num_overflow);
    MojoClose(x.h);
    MojoClose(y.h);
    pthread_mutex_lock(&pool.lock);
    pool.live_pipes--;
    pthread_mutex_unlock(&pool.lock);
  } else {
    create_pipe();
  }
  assert_int_equal(num_overflow, 0); /* see MAX_PIPES */
}

static void *worker(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  for (int i = 0; i < ops_per_thread; i++) step(&seed);
  return NULL;
}

static void test_random_traffic(void **state) {
  (void)state;
  size_t baseline = cm_handles_count();
  int fds = cm_test_count_open_fds();
  uint64_t seed = cm_test_seed(20261123);
  print_message("seed %llu\n", (unsigned long long)seed);
  for (int i = 0; i < 24; i++) create_pipe();
  for (int i = 0; i < CARRIERS; i++) {
    pthread_mutex_init(&carriers[i].lock, NULL);
    assert_int_equal(MojoCreateMessagePipe(NULL, &carriers[i].in, &carriers[i].out),
                     MOJO_RESULT_OK);
  }

  pthread_t threads[THREADS];
  for (int i = 0; i < num_threads; i++)
    pthread_create(&threads[i], NULL, worker, (void *)(uintptr_t)(seed + (uint64_t)i));
  for (int i = 0; i < num_threads; i++) pthread_join(threads[i], NULL);

  /* Drain until nothing more arrives (draining may surface carried ends). */
  end overflow[POOL];
  int num_overflow = 0, total;
  do {
    total = 0;
    for (int i = 0; i < POOL; i++) {
      if (pool.present[i]) total += drain(&pool.slots[i], overflow, &num_overflow);
    }
    for (int i = 0; i < CARRIERS; i++) {
      end e = {carriers[i].out, -1, -1};
      total += drain(&e, overflow, &num_overflow);
    }
  } while (total > 0);
  assert_int_equal(num_overflow, 0);

  unsigned ids = atomic_load(&next_id);
  if (ids > MAX_IDS) ids = MAX_IDS;
  int lost = 0, written = 0, stray = 0;
  for (unsigned id = 0; id < ids; id++) {
    if (!sent[id]) {
      stray += received[id] != 0;
      continue;
    }
    written++;
    if (received[id] != 1) lost++;
  }
  print_message("%d lost, %d received but never reported written\n", lost, stray);
  print_message("%d messages written, %d writes failed\n", written, failed_writes);
  assert_int_equal(failed_writes, 0);
  assert_int_equal(duplicate_receipts, 0);
  assert_int_equal(lost, 0);
  assert_true(written > 1000);

  for (int i = 0; i < POOL; i++) {
    if (pool.present[i]) MojoClose(pool.slots[i].h);
    pool.present[i] = false;
  }
  for (int i = 0; i < CARRIERS; i++) {
    MojoClose(carriers[i].in);
    MojoClose(carriers[i].out);
  }
  assert_int_equal(cm_handles_count(), baseline);
  assert_int_equal(cm_test_count_open_fds(), fds);
}

int main(void) {
  assert_int_equal(MojoInitialize(NULL), MOJO_RESULT_OK);
  const char *ops = getenv("CMOJO_STRESS_OPS");
  ops_per_thread = ops ? atoi(ops) : 30000;
  const char *threads = getenv("CMOJO_STRESS_THREADS");
  if (threads && atoi(threads) > 0 && atoi(threads) <= THREADS) num_threads = atoi(threads);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_traffic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
