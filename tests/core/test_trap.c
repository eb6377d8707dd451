/* Traps: creation, triggers, arming with blocking events, both trigger
 * conditions, FAILED_PRECONDITION and CANCELLED events, the
 * WITHIN_API_CALL flag, and handlers that call back into the API. */
#include <string.h>

#include "core/handle_table.h"
#include "mojo/public/c/system/core.h"
#include "test_support.h"

typedef struct MojoTrapEvent trap_event;

#define MAX_EVENTS 32
static trap_event events[MAX_EVENTS];
static int num_events;
static size_t baseline_handles;

static void record(const struct MojoTrapEvent *e) {
  if (num_events < MAX_EVENTS) events[num_events] = *e;
  num_events++;
}

static int setup(void **state) {
  (void)state;
  num_events = 0;
  baseline_handles = cm_handles_count();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  assert_int_equal(cm_handles_count(), baseline_handles);
  return 0;
}

static void write_text(MojoHandle h, const char *s) {
  MojoMessageHandle m;
  assert_int_equal(MojoCreateMessage(NULL, &m), MOJO_RESULT_OK);
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  void *buf;
  assert_int_equal(MojoAppendMessageData(m, (uint32_t)strlen(s), NULL, 0, &commit, &buf, NULL),
                   MOJO_RESULT_OK);
  memcpy(buf, s, strlen(s));
  assert_int_equal(MojoWriteMessage(h, m, NULL), MOJO_RESULT_OK);
}

static void read_one(MojoHandle h) {
  MojoMessageHandle m;
  assert_int_equal(MojoReadMessage(h, NULL, &m), MOJO_RESULT_OK);
  MojoDestroyMessage(m);
}

static void test_create_and_arguments(void **state) {
  (void)state;
  MojoHandle trap, a, b;
  assert_int_equal(MojoCreateTrap(NULL, NULL, &trap), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoCreateTrap(record, NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoCreateTrapOptions small = {0, 0};
  assert_int_equal(MojoCreateTrap(record, &small, &trap), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoCreateTrap(record, NULL, &trap), MOJO_RESULT_OK);
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);

  assert_int_equal(MojoArmTrap(trap, NULL, NULL, NULL), MOJO_RESULT_NOT_FOUND);
  assert_int_equal(MojoAddTrigger(a, b, MOJO_HANDLE_SIGNAL_READABLE,
                                  MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 1, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT); /* a is not a trap */
  assert_int_equal(MojoAddTrigger(trap, MOJO_HANDLE_INVALID, MOJO_HANDLE_SIGNAL_READABLE,
                                  MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 1, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoAddTrigger(trap, a, MOJO_HANDLE_SIGNAL_READABLE, 7, 1, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoAddTrigger(trap, trap, MOJO_HANDLE_SIGNAL_READABLE,
                                  MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 1, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT); /* traps are not watchable */
  assert_int_equal(MojoAddTrigger(trap, a, MOJO_HANDLE_SIGNAL_READABLE,
                                  MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 1, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(MojoAddTrigger(trap, b, MOJO_HANDLE_SIGNAL_READABLE,
                                  MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 1, NULL),
                   MOJO_RESULT_ALREADY_EXISTS);
  assert_int_equal(MojoRemoveTrigger(trap, 99, NULL), MOJO_RESULT_NOT_FOUND);
  assert_int_equal(MojoRemoveTrigger(a, 1, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoArmTrap(a, NULL, NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  uint32_t n = 1;
  assert_int_equal(MojoArmTrap(trap, NULL, &n, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(num_events, 0); /* adding a trigger fires nothing */

  /* Closing the trap cancels its trigger. */
  assert_int_equal(MojoClose(trap), MOJO_RESULT_OK);
  assert_int_equal(num_events, 1);
  assert_int_equal(events[0].result, MOJO_RESULT_CANCELLED);
  assert_int_equal(events[0].trigger_context, 1);
  assert_int_equal(events[0].struct_size, sizeof(trap_event));
  MojoClose(a);
  MojoClose(b);
  assert_int_equal(num_events, 1);
}

static void test_fires_once_and_disarms(void **state) {
  (void)state;
  MojoHandle trap, a, b;
  assert_int_equal(MojoCreateTrap(record, NULL, &trap), MOJO_RESULT_OK);
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(MojoAddTrigger(trap, b, MOJO_HANDLE_SIGNAL_READABLE,
                                  MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 42, NULL),
                   MOJO_RESULT_OK);
  write_text(a, "before arming");
  assert_int_equal(num_events, 0); /* not armed */

  trap_event blocking[2];
  uint32_t n = 2;
  assert_int_equal(MojoArmTrap(trap, NULL, &n, blocking), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(n, 1);
  assert_int_equal(blocking[0].trigger_context, 42);
  assert_int_equal(blocking[0].result, MOJO_RESULT_OK);
  assert_true(blocking[0].signals_state.satisfied_signals & MOJO_HANDLE_SIGNAL_READABLE);
  assert_int_equal(MojoArmTrap(trap, NULL, NULL, NULL), MOJO_RESULT_FAILED_PRECONDITION);

  read_one(b);
  assert_int_equal(MojoArmTrap(trap, NULL, NULL, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoArmTrap(trap, NULL, NULL, NULL), MOJO_RESULT_OK); /* armed stays armed */
  write_text(a, "fire");
  assert_int_equal(num_events, 1);
  assert_int_equal(events[0].result, MOJO_RESULT_OK);
  assert_int_equal(events[0].trigger_context, 42);
  assert_true(events[0].flags & MOJO_TRAP_EVENT_FLAG_WITHIN_API_CALL);
  assert_true(events[0].signals_state.satisfied_signals & MOJO_HANDLE_SIGNAL_READABLE);
  write_text(a, "no second event: disarmed");
  assert_int_equal(num_events, 1);

  read_one(b);
  read_one(b);
  assert_int_equal(MojoArmTrap(trap, NULL, NULL, NULL), MOJO_RESULT_OK);
  /* Peer closure makes READABLE unsatisfiable: FAILED_PRECONDITION. */
  MojoClose(a);
  assert_int_equal(num_events, 2);
  assert_int_equal(events[1].result, MOJO_RESULT_FAILED_PRECONDITION);
  assert_true(events[1].signals_state.satisfied_signals & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  n = 1;
  assert_int_equal(MojoArmTrap(trap, NULL, &n, blocking), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(blocking[0].result, MOJO_RESULT_FAILED_PRECONDITION);

  /* Closing the watched handle cancels the trigger. */
  MojoClose(b);
  assert_int_equal(num_events, 3);
  assert_int_equal(events[2].result, MOJO_RESULT_CANCELLED);
  assert_int_equal(MojoArmTrap(trap, NULL, NULL, NULL), MOJO_RESULT_NOT_FOUND);
  MojoClose(trap);
  assert_int_equal(num_events, 3);
}

static void test_unsatisfied_condition(void **state) {
  (void)state;
  MojoHandle trap, a, b;
  assert_int_equal(MojoCreateTrap(record, NULL, &trap), MOJO_RESULT_OK);
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  write_text(a, "x");
  assert_int_equal(MojoAddTrigger(trap, b, MOJO_HANDLE_SIGNAL_READABLE,
                                  MOJO_TRIGGER_CONDITION_SIGNALS_UNSATISFIED, 5, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(MojoArmTrap(trap, NULL, NULL, NULL), MOJO_RESULT_OK);
  read_one(b); /* READABLE becomes unsatisfied */
  assert_int_equal(num_events, 1);
  assert_int_equal(events[0].result, MOJO_RESULT_OK);
  assert_false(events[0].signals_state.satisfied_signals & MOJO_HANDLE_SIGNAL_READABLE);
  assert_int_equal(MojoRemoveTrigger(trap, 5, NULL), MOJO_RESULT_OK);
  assert_int_equal(num_events, 2);
  assert_int_equal(events[1].result, MOJO_RESULT_CANCELLED);
  MojoClose(trap);
  MojoClose(a);
  MojoClose(b);
  assert_int_equal(num_events, 2);
}

/* A handler that reads what arrived, re-arms, and finally removes its own
 * trigger: CANCELLED must come after the handler returns, never nested. */
static MojoHandle g_trap, g_reader;
static int reads, cancels, depth, max_depth;

static void echo_handler(const struct MojoTrapEvent *e) {
  depth++;
  if (depth > max_depth) max_depth = depth;
  if (e->result == MOJO_RESULT_CANCELLED) {
    cancels++;
  } else if (e->result == MOJO_RESULT_OK) {
    MojoMessageHandle m;
    while (MojoReadMessage(g_reader, NULL, &m) == MOJO_RESULT_OK) {
      reads++;
      MojoDestroyMessage(m);
    }
    if (reads >= 3) {
      assert_int_equal(MojoRemoveTrigger(g_trap, e->trigger_context, NULL), MOJO_RESULT_OK);
      assert_int_equal(cancels, 0); /* deferred until we return */
    } else {
      assert_int_equal(MojoArmTrap(g_trap, NULL, NULL, NULL), MOJO_RESULT_OK);
    }
  }
  depth--;
}

static void test_handler_calls_api(void **state) {
  (void)state;
  MojoHandle a;
  reads = cancels = depth = max_depth = 0;
  assert_int_equal(MojoCreateTrap(echo_handler, NULL, &g_trap), MOJO_RESULT_OK);
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &g_reader), MOJO_RESULT_OK);
  assert_int_equal(MojoAddTrigger(g_trap, g_reader, MOJO_HANDLE_SIGNAL_READABLE,
                                  MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 9, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(MojoArmTrap(g_trap, NULL, NULL, NULL), MOJO_RESULT_OK);
  for (int i = 0; i < 3; i++) write_text(a, "ping");
  assert_int_equal(reads, 3);
  assert_int_equal(cancels, 1);
  assert_int_equal(max_depth, 1);
  MojoClose(g_trap);
  MojoClose(a);
  MojoClose(g_reader);
  assert_int_equal(cancels, 1);
}

static void test_blocking_events_rotate(void **state) {
  (void)state;
  MojoHandle trap, a[3], b[3];
  assert_int_equal(MojoCreateTrap(record, NULL, &trap), MOJO_RESULT_OK);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(MojoCreateMessagePipe(NULL, &a[i], &b[i]), MOJO_RESULT_OK);
    write_text(a[i], "ready");
    assert_int_equal(MojoAddTrigger(trap, b[i], MOJO_HANDLE_SIGNAL_READABLE,
                                    MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 100 + i, NULL),
                     MOJO_RESULT_OK);
  }
  /* One slot per call: three calls must name all three triggers. */
  int seen[3] = {0, 0, 0};
  for (int k = 0; k < 3; k++) {
    trap_event e;
    uint32_t n = 1;
    assert_int_equal(MojoArmTrap(trap, NULL, &n, &e), MOJO_RESULT_FAILED_PRECONDITION);
    assert_int_equal(n, 1);
    seen[e.trigger_context - 100]++;
  }
  assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
  MojoClose(trap);
  assert_int_equal(num_events, 3); /* three CANCELLED */
  for (int i = 0; i < 3; i++) {
    MojoClose(a[i]);
    MojoClose(b[i]);
  }
}

int main(void) {
  assert_int_equal(MojoInitialize(NULL), MOJO_RESULT_OK);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_create_and_arguments, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fires_once_and_disarms, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unsatisfied_condition, setup, teardown),
      cmocka_unit_test_setup_teardown(test_handler_calls_api, setup, teardown),
      cmocka_unit_test_setup_teardown(test_blocking_events_rotate, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
