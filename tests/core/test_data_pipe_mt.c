/* Data pipes across threads: a producer thread and a consumer thread stream
 * a long deterministic byte sequence through a pipe, mixing copying and
 * two-phase operations of random sizes, each waiting with a trap when the
 * pipe is full or empty. The consumer checks every byte against the
 * sequence and both sides keep a checksum; the consumer must see exactly
 * the bytes written, in order, then FAILED_PRECONDITION once the producer
 * closes. Run under ThreadSanitizer (label "threaded"). */
#include "test_support.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mojo/public/c/system/core.h"

#define P MOJO_RESULT_OK

/* Byte `pos` of the stream: eight bytes per splitmix64 step. */
static uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

static void fill(uint8_t *dst, uint64_t pos, uint32_t n) {
  for (uint32_t i = 0; i < n; i++, pos++)
    dst[i] = (uint8_t)(splitmix64(pos >> 3) >> (8 * (pos & 7)));
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

static uint32_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (uint32_t)(*s >> 16);
}

/* ---- Waiting with a trap ------------------------------------------------ */

typedef struct waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool fired;
  MojoHandle trap;
} waiter;

static void on_event(const struct MojoTrapEvent *ev) {
  waiter *w = (waiter *)ev->trigger_context;
  pthread_mutex_lock(&w->mu);
  w->fired = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

static bool waiter_init(waiter *w, MojoHandle h, MojoHandleSignals signals) {
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  w->fired = false;
  return MojoCreateTrap(on_event, NULL, &w->trap) == P &&
         MojoAddTrigger(w->trap, h, signals, MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, (uintptr_t)w,
                        NULL) == P;
}

static void waiter_destroy(waiter *w) {
  MojoClose(w->trap);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
}

/* Returns once the signal is (or cannot become) satisfied. */
static bool waiter_wait(waiter *w) {
  pthread_mutex_lock(&w->mu);
  w->fired = false;
  pthread_mutex_unlock(&w->mu);
  struct MojoTrapEvent ev = {.struct_size = sizeof(ev)};
  uint32_t num = 1;
  MojoResult rv = MojoArmTrap(w->trap, NULL, &num, &ev);
  if (rv == MOJO_RESULT_FAILED_PRECONDITION)
    return true; /* already there */
  if (rv != P)
    return false;
  pthread_mutex_lock(&w->mu);
  while (!w->fired)
    pthread_cond_wait(&w->cv, &w->mu);
  pthread_mutex_unlock(&w->mu);
  return true;
}

/* ---- The two sides ------------------------------------------------------ */

typedef struct stream {
  MojoHandle handle;
  uint32_t element;
  uint64_t total; /* producer: bytes to write */
  uint64_t seed;
  uint64_t done; /* bytes written / read */
  uint64_t checksum;
  const char *error; /* first failure, or NULL */
  /* Producer only: after handoff_at bytes, send the producer handle on
   * handoff_send; the relay thread takes it from handoff_recv and goes on. */
  MojoHandle handoff_send, handoff_recv;
  uint64_t handoff_at;
  /* Consumer only: the signal it waits for when the pipe is empty
   * (READABLE unless set). */
  MojoHandleSignals wait_for;
} stream;

/* Bytes to move next: random, whole elements, at least one element. */
static uint32_t pick(stream *s, uint64_t *rng, uint64_t left) {
  uint32_t n = (rng_next(rng) % (96 * 1024)) / s->element * s->element;
  if (n == 0)
    n = s->element;
  return left < n ? (uint32_t)left : n;
}

static void *produce(void *arg) {
  stream *s = arg;
  static uint8_t buf[96 * 1024];
  uint64_t rng = s->seed | 1;
  waiter w;
  if (!waiter_init(&w, s->handle, MOJO_HANDLE_SIGNAL_WRITABLE))
    s->error = "producer trap";
  uint64_t limit = s->handoff_send ? s->handoff_at : s->total;
  while (!s->error && s->done < limit) {
    uint32_t n = pick(s, &rng, limit - s->done);
    MojoResult rv;
    if (rng_next(&rng) & 1) {
      fill(buf, s->done, n);
      rv = MojoWriteData(s->handle, buf, &n, NULL);
      if (rv == P)
        s->checksum = fnv1a(s->checksum, buf, n);
    } else {
      void *dst;
      uint32_t room = 0;
      rv = MojoBeginWriteData(s->handle, NULL, &dst, &room);
      if (rv == P) {
        n = room < n ? room : n;
        fill(dst, s->done, n);
        s->checksum = fnv1a(s->checksum, dst, n);
        if (MojoEndWriteData(s->handle, n, NULL) != P)
          s->error = "end write";
      }
    }
    if (rv == P)
      s->done += n;
    else if (rv != MOJO_RESULT_SHOULD_WAIT)
      s->error = "write failed";
    else if (!waiter_wait(&w))
      s->error = "producer wait";
  }
  waiter_destroy(&w);
  if (s->handoff_send && !s->error) {
    /* Hand the producer, mid-stream, to the relay thread. */
    MojoMessageHandle m;
    struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                  MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
    if (MojoCreateMessage(NULL, &m) != P ||
        MojoAppendMessageData(m, 0, &s->handle, 1, &commit, NULL, NULL) != P ||
        MojoWriteMessage(s->handoff_send, m, NULL) != P)
      s->error = "handoff";
    return NULL;
  }
  if (MojoClose(s->handle) != P && !s->error)
    s->error = "close producer";
  return NULL;
}

/* Waits for the producer handle on handoff_recv, then writes the rest. */
static void *relay(void *arg) {
  stream *s = arg;
  waiter w;
  MojoMessageHandle m = 0;
  if (!waiter_init(&w, s->handoff_recv, MOJO_HANDLE_SIGNAL_READABLE))
    s->error = "relay trap";
  while (!s->error && MojoReadMessage(s->handoff_recv, NULL, &m) == MOJO_RESULT_SHOULD_WAIT)
    if (!waiter_wait(&w))
      s->error = "relay wait";
  waiter_destroy(&w);
  uint32_t nh = 1;
  MojoHandle h = MOJO_HANDLE_INVALID;
  if (s->error || !m || MojoGetMessageData(m, NULL, NULL, NULL, &h, &nh) != P || nh != 1) {
    if (!s->error)
      s->error = "relay receive";
    return NULL;
  }
  MojoDestroyMessage(m);
  s->handle = h;
  s->handoff_send = MOJO_HANDLE_INVALID;
  return produce(s);
}

/* Checks `n` received bytes against the stream and folds them in. */
static void take(stream *s, const uint8_t *p, uint32_t n) {
  static uint8_t expect[96 * 1024];
  fill(expect, s->done, n);
  if (memcmp(p, expect, n) != 0 && !s->error)
    s->error = "wrong bytes";
  s->checksum = fnv1a(s->checksum, p, n);
  s->done += n;
}

static MojoResult consume_once(stream *s, uint64_t *rng) {
  static uint8_t buf[96 * 1024];
  uint32_t n = pick(s, rng, UINT64_MAX);
  switch (rng_next(rng) % 3) {
    case 0: {
      MojoResult rv = MojoReadData(s->handle, NULL, buf, &n);
      if (rv == P)
        take(s, buf, n);
      return rv;
    }
    case 1: {
      const void *src;
      uint32_t avail;
      MojoResult rv = MojoBeginReadData(s->handle, NULL, &src, &avail);
      if (rv != P)
        return rv;
      n = avail < n ? avail : n; /* often only part of what is there */
      take(s, src, n);
      return MojoEndReadData(s->handle, n, NULL);
    }
    default: {
      /* Peek, then discard what was peeked. */
      struct MojoReadDataOptions peek = {sizeof(peek), MOJO_READ_DATA_FLAG_PEEK};
      struct MojoReadDataOptions discard = {sizeof(discard), MOJO_READ_DATA_FLAG_DISCARD};
      MojoResult rv = MojoReadData(s->handle, &peek, buf, &n);
      if (rv != P)
        return rv;
      uint32_t k = n;
      rv = MojoReadData(s->handle, &discard, NULL, &k);
      if (rv == P && k != n)
        s->error = "discard short";
      if (rv == P)
        take(s, buf, n);
      return rv;
    }
  }
}

static void *consume(void *arg) {
  stream *s = arg;
  uint64_t rng = s->seed * 3 + 7;
  waiter w;
  if (!waiter_init(&w, s->handle, s->wait_for ? s->wait_for : MOJO_HANDLE_SIGNAL_READABLE))
    s->error = "consumer trap";
  while (!s->error) {
    MojoResult rv = consume_once(s, &rng);
    if (rv == MOJO_RESULT_FAILED_PRECONDITION)
      break; /* producer closed, all read */
    if (rv == MOJO_RESULT_SHOULD_WAIT) {
      if (!waiter_wait(&w))
        s->error = "consumer wait";
    } else if (rv != P) {
      s->error = "read failed";
    }
  }
  waiter_destroy(&w);
  if (MojoClose(s->handle) != P && !s->error)
    s->error = "close consumer";
  return NULL;
}

static void run_stream_waiting_for(uint32_t element, uint32_t capacity, uint64_t total,
                                   uint64_t seed, uint64_t handoff_at, MojoHandleSignals wait_for) {
  struct MojoCreateDataPipeOptions o = {sizeof(o), 0, element, capacity};
  stream prod = {.element = element, .total = total, .seed = seed, .handoff_at = handoff_at};
  stream cons = {.element = element, .seed = seed, .wait_for = wait_for};
  prod.checksum = cons.checksum = 0xCBF29CE484222325ull;
  assert_int_equal(MojoCreateDataPipe(&o, &prod.handle, &cons.handle), P);
  if (handoff_at)
    assert_int_equal(MojoCreateMessagePipe(NULL, &prod.handoff_send, &prod.handoff_recv), P);
  MojoHandle pipe_ends[2] = {prod.handoff_send, prod.handoff_recv};
  pthread_t tp, tc, tr;
  assert_int_equal(pthread_create(&tc, NULL, consume, &cons), 0);
  assert_int_equal(pthread_create(&tp, NULL, produce, &prod), 0);
  pthread_join(tp, NULL);
  if (handoff_at) {
    /* The relay runs after the first producer is done with `prod`. */
    assert_int_equal(pthread_create(&tr, NULL, relay, &prod), 0);
    pthread_join(tr, NULL);
    assert_int_equal(MojoClose(pipe_ends[0]), P);
    assert_int_equal(MojoClose(pipe_ends[1]), P);
  }
  pthread_join(tc, NULL);
  if (prod.error)
    fail_msg("producer: %s", prod.error);
  if (cons.error)
    fail_msg("consumer: %s", cons.error);
  assert_int_equal(prod.done, total);
  assert_int_equal(cons.done, total);
  assert_int_equal(cons.checksum, prod.checksum);
}

static void run_stream(uint32_t element, uint32_t capacity, uint64_t total, uint64_t seed,
                       uint64_t handoff_at) {
  run_stream_waiting_for(element, capacity, total, seed, handoff_at, 0);
}

static void test_stream_64mib(void **state) {
  (void)state;
  uint64_t seed = cm_test_seed(0x5EED0001);
  printf("seed %llu\n", (unsigned long long)seed);
  run_stream(1, 0, 64ull << 20, seed, 0);
}

static void test_stream_small_ring_elements(void **state) {
  (void)state;
  /* A ring of 1000 4-byte elements: offsets wrap at odd places all the
   * time, and both sides wait often. */
  uint64_t seed = cm_test_seed(0x5EED0002);
  printf("seed %llu\n", (unsigned long long)seed);
  run_stream(4, 4000, 8ull << 20, seed, 0);
}

static void test_stream_producer_moves(void **state) {
  (void)state;
  /* Halfway through, the producer travels in a message to another thread,
   * which goes on writing while the consumer keeps reading. */
  uint64_t seed = cm_test_seed(0x5EED0003);
  printf("seed %llu\n", (unsigned long long)seed);
  run_stream(2, 1000, 4ull << 20, seed, (2ull << 20) + 6);
}

static void test_stream_waiting_for_new_data(void **state) {
  (void)state;
  /* The consumer waits for NEW_DATA_READABLE, which every read clears: a
   * producer that skips announcements must still wake it. */
  uint64_t seed = cm_test_seed(0x5EED0004);
  printf("seed %llu\n", (unsigned long long)seed);
  run_stream_waiting_for(1, 4096, 8ull << 20, seed, 0, MOJO_HANDLE_SIGNAL_NEW_DATA_READABLE);
}

static int group_setup(void **state) {
  (void)state;
  MojoResult rv = MojoInitialize(NULL);
  return rv == P || rv == MOJO_RESULT_FAILED_PRECONDITION ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stream_64mib),
      cmocka_unit_test(test_stream_small_ring_elements),
      cmocka_unit_test(test_stream_producer_moves),
      cmocka_unit_test(test_stream_waiting_for_new_data),
  };
  return cmocka_run_group_tests(tests, group_setup, NULL);
}
