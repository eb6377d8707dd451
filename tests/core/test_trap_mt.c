/* Traps across threads: two threads ping-pong through two pipes, each woken
 * by its trap; and writers racing with trigger removal, where CANCELLED must
 * be the last event each trigger delivers, exactly once. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "core/handle_table.h"
#include "mojo/public/c/system/core.h"
#include "test_support.h"

static void write_byte(MojoHandle h, uint8_t v) {
  MojoMessageHandle m;
  void *buf;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  assert_int_equal(MojoCreateMessage(NULL, &m), MOJO_RESULT_OK);
  assert_int_equal(MojoAppendMessageData(m, 1, NULL, 0, &commit, &buf, NULL), MOJO_RESULT_OK);
  *(uint8_t *)buf = v;
  MojoWriteMessage(h, m, NULL);
}

/* ---- ping-pong ------------------------------------------------------------ */

typedef struct player {
  MojoHandle in, out, trap;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool woken;
  int rounds;
  int received;
  bool starts;
} player;

static void wake(const struct MojoTrapEvent *e) {
  player *p = (player *)e->trigger_context;
  if (e->result != MOJO_RESULT_OK) return;
  pthread_mutex_lock(&p->lock);
  p->woken = true;
  pthread_cond_signal(&p->cond);
  pthread_mutex_unlock(&p->lock);
}

static void receive(player *p) {
  MojoMessageHandle m;
  while (MojoReadMessage(p->in, NULL, &m) != MOJO_RESULT_OK) {
    if (MojoArmTrap(p->trap, NULL, NULL, NULL) != MOJO_RESULT_OK) continue;
    pthread_mutex_lock(&p->lock);
    while (!p->woken) pthread_cond_wait(&p->cond, &p->lock);
    p->woken = false;
    pthread_mutex_unlock(&p->lock);
  }
  p->received++;
  MojoDestroyMessage(m);
}

static void *play(void *arg) {
  player *p = arg;
  for (int i = 0; i < p->rounds; i++) {
    if (p->starts) {
      write_byte(p->out, 1);
      receive(p);
    } else {
      receive(p);
      write_byte(p->out, 1);
    }
  }
  return NULL;
}

static void test_pingpong(void **state) {
  (void)state;
  size_t baseline = cm_handles_count();
  player p[2];
  MojoHandle a0, a1, b0, b1;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a0, &a1), MOJO_RESULT_OK);
  assert_int_equal(MojoCreateMessagePipe(NULL, &b0, &b1), MOJO_RESULT_OK);
  for (int i = 0; i < 2; i++) {
    memset(&p[i], 0, sizeof(p[i]));
    pthread_mutex_init(&p[i].lock, NULL);
    pthread_cond_init(&p[i].cond, NULL);
    p[i].rounds = 5000;
    p[i].starts = i == 0;
    assert_int_equal(MojoCreateTrap(wake, NULL, &p[i].trap), MOJO_RESULT_OK);
  }
  p[0].out = a0, p[1].in = a1, p[1].out = b0, p[0].in = b1;
  for (int i = 0; i < 2; i++)
    assert_int_equal(MojoAddTrigger(p[i].trap, p[i].in, MOJO_HANDLE_SIGNAL_READABLE,
                                    MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, (uintptr_t)&p[i],
                                    NULL),
                     MOJO_RESULT_OK);
  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, play, &p[i]);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  assert_int_equal(p[0].received, 5000);
  assert_int_equal(p[1].received, 5000);
  for (int i = 0; i < 2; i++) {
    MojoClose(p[i].trap);
    pthread_cond_destroy(&p[i].cond);
    pthread_mutex_destroy(&p[i].lock);
  }
  MojoClose(a0), MojoClose(a1), MojoClose(b0), MojoClose(b1);
  assert_int_equal(cm_handles_count(), baseline);
}

/* ---- cancellation races ----------------------------------------------------- */

enum { TRIGGERS = 16 };

typedef struct watch_state {
  atomic_int events_after_cancel;
  atomic_int cancels;
  atomic_int in_handler; /* handlers for one trigger must not overlap */
  atomic_int overlaps;
  atomic_bool cancelled;
} watch_state;

static watch_state watches[TRIGGERS];
static MojoHandle race_trap;

static void race_handler(const struct MojoTrapEvent *e) {
  watch_state *w = &watches[e->trigger_context];
  if (atomic_fetch_add(&w->in_handler, 1) != 0) atomic_fetch_add(&w->overlaps, 1);
  if (atomic_load(&w->cancelled)) atomic_fetch_add(&w->events_after_cancel, 1);
  if (e->result == MOJO_RESULT_CANCELLED) {
    atomic_store(&w->cancelled, true);
    atomic_fetch_add(&w->cancels, 1);
  } else {
    MojoArmTrap(race_trap, NULL, NULL, NULL);
  }
  atomic_fetch_sub(&w->in_handler, 1);
}

typedef struct writer_args {
  MojoHandle *ends;
  int n;
} writer_args;

static void *writer(void *arg) {
  writer_args *w = arg;
  for (int k = 0; k < 200; k++) {
    for (int i = 0; i < w->n; i++) write_byte(w->ends[i], (uint8_t)k);
    MojoArmTrap(race_trap, NULL, NULL, NULL);
  }
  return NULL;
}

static void test_cancel_is_last(void **state) {
  (void)state;
  size_t baseline = cm_handles_count();
  memset(watches, 0, sizeof(watches));
  MojoHandle w[TRIGGERS], r[TRIGGERS];
  assert_int_equal(MojoCreateTrap(race_handler, NULL, &race_trap), MOJO_RESULT_OK);
  for (int i = 0; i < TRIGGERS; i++) {
    assert_int_equal(MojoCreateMessagePipe(NULL, &w[i], &r[i]), MOJO_RESULT_OK);
    assert_int_equal(MojoAddTrigger(race_trap, r[i], MOJO_HANDLE_SIGNAL_READABLE,
                                    MOJO_TRIGGER_CONDITION_SIGNALS_UNSATISFIED, (uintptr_t)i, NULL),
                     MOJO_RESULT_OK);
  }
  writer_args args = {w, TRIGGERS};
  pthread_t t;
  pthread_create(&t, NULL, writer, &args);
  /* Meanwhile remove half the triggers and close the other half's handles. */
  for (int i = 0; i < TRIGGERS; i++) {
    if (i % 2) assert_int_equal(MojoRemoveTrigger(race_trap, (uintptr_t)i, NULL), MOJO_RESULT_OK);
    else MojoClose(r[i]);
  }
  pthread_join(t, NULL);
  for (int i = 0; i < TRIGGERS; i++) {
    assert_int_equal(atomic_load(&watches[i].cancels), 1);
    assert_int_equal(atomic_load(&watches[i].events_after_cancel), 0);
    assert_int_equal(atomic_load(&watches[i].overlaps), 0);
  }
  MojoClose(race_trap);
  for (int i = 0; i < TRIGGERS; i++) {
    MojoClose(w[i]);
    if (i % 2) MojoClose(r[i]);
  }
  for (int i = 0; i < TRIGGERS; i++) assert_int_equal(atomic_load(&watches[i].cancels), 1);
  assert_int_equal(cm_handles_count(), baseline);
}

int main(void) {
  assert_int_equal(MojoInitialize(NULL), MOJO_RESULT_OK);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pingpong),
      cmocka_unit_test(test_cancel_is_last),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
