/* The data pipe control protocol against a hostile peer: control messages
 * forged on an end's control port, as a peer in another process could send
 * them (wrong size, wrong command, counts that are not whole elements or
 * that claim more than could be outstanding), must make the receiving end
 * treat its peer as closed, never corrupt its view of the ring; a
 * well-formed count is accepted. Uses the core's internal headers to reach
 * the control port. Every test must leave the process's fd and shared memory
 * mapping counts where it found them. */
#include "data_pipe_support.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/data_pipe.h"
#include "core/handle_table.h"
#include "core/message.h"
#include "mojo/public/c/system/core.h"

#define P MOJO_RESULT_OK
#define SIG_R MOJO_HANDLE_SIGNAL_READABLE
#define SIG_W MOJO_HANDLE_SIGNAL_WRITABLE
#define SIG_PC MOJO_HANDLE_SIGNAL_PEER_CLOSED
#define SIG_NEW MOJO_HANDLE_SIGNAL_NEW_DATA_READABLE
#define SIG_REMOTE MOJO_HANDLE_SIGNAL_PEER_REMOTE

/* ---- Forged control messages -------------------------------------------- */

/* Sends a control message on the control port of the end behind `h`, as a
 * hostile peer in another process could; it carries the port `carry` if
 * not NULL (a control message never should). */
static void forge(MojoHandle h, uint32_t payload_bytes, uint32_t command, uint32_t n,
                  const cm_port_name *carry) {
  cm_dispatcher *d = cm_handles_get(h);
  assert_non_null(d);
  MojoMessageHandle m;
  void *buf;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  assert_int_equal(MojoCreateMessage(NULL, &m), P);
  assert_int_equal(MojoAppendMessageData(m, payload_bytes, NULL, 0, &commit, &buf, NULL), P);
  memset(buf, 0, payload_bytes);
  uint32_t words[2] = {command, n}; /* little-endian host: the wire layout */
  memcpy(buf, words, payload_bytes < 8 ? payload_bytes : 8);
  cm_event *ev = cm_event_user_message_create(cm_message_from_handle(m), &cm_message_payload_ops,
                                              payload_bytes, carry ? 1 : 0);
  assert_non_null(ev);
  if (carry)
    cm_event_ports(ev)[0] = *carry;
  cm_request_context rc;
  cm_request_context_begin(&rc, MOJO_TRAP_EVENT_FLAG_WITHIN_API_CALL);
  assert_int_equal(cm_node_send_user_message(cm_core_node(), &cm_data_pipe_end_from(d)->port, ev),
                   P);
  cm_request_context_end(&rc);
  cm_dispatcher_unref(d);
}

static void test_bad_control_messages(void **state) {
  (void)state;
  struct {
    bool to_consumer; /* forged on the producer's port, read by the consumer */
    uint32_t size, command, n;
  } cases[] = {
      {true, 8, CM_DATA_PIPE_DATA_WAS_WRITTEN, 8},  /* more than the free space */
      {true, 8, CM_DATA_PIPE_DATA_WAS_WRITTEN, 2},  /* not whole elements */
      {true, 8, CM_DATA_PIPE_DATA_WAS_READ, 4},     /* wrong direction */
      {true, 4, CM_DATA_PIPE_DATA_WAS_WRITTEN, 0},  /* short message */
      {true, 16, CM_DATA_PIPE_DATA_WAS_WRITTEN, 4}, /* long message */
      {true, 8, 7, 4},                              /* unknown command */
      {false, 8, CM_DATA_PIPE_DATA_WAS_READ, 8},    /* read more than written */
      {false, 8, CM_DATA_PIPE_DATA_WAS_READ, 2},    /* not whole elements */
      {false, 8, CM_DATA_PIPE_DATA_WAS_WRITTEN, 0}, /* wrong direction */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    MojoHandle p, c;
    create_pipe(4, 8, &p, &c);
    write_all(p, "abcd", 4);
    if (cases[i].to_consumer) {
      forge(p, cases[i].size, cases[i].command, cases[i].n, NULL);
      /* Peer closed for good; what was counted before stays readable. */
      assert_signals(c, SIG_R | SIG_NEW | SIG_PC, SIG_R | SIG_NEW | SIG_PC);
      char buf[8];
      uint32_t n = 8;
      assert_int_equal(MojoReadData(c, NULL, buf, &n), P);
      assert_int_equal(n, 4);
      assert_memory_equal(buf, "abcd", 4);
      /* Later honest counts are ignored: the peer is not trusted any more. */
      write_all(p, "efgh", 4);
      n = 8;
      assert_int_equal(MojoReadData(c, NULL, buf, &n), MOJO_RESULT_FAILED_PRECONDITION);
    } else {
      forge(c, cases[i].size, cases[i].command, cases[i].n, NULL);
      assert_signals(p, SIG_PC, SIG_PC);
      uint32_t n = 4;
      assert_int_equal(MojoWriteData(p, "efgh", &n, NULL), MOJO_RESULT_FAILED_PRECONDITION);
    }
    close_all(p, c);
  }
}

static void test_good_forged_counts(void **state) {
  (void)state;
  /* Well-formed counts within bounds are believed: the check is on
   * amounts, the bytes themselves are whatever the ring holds. */
  MojoHandle p, c;
  create_pipe(4, 8, &p, &c);
  forge(p, 8, CM_DATA_PIPE_DATA_WAS_WRITTEN, 8, NULL);
  assert_signals(c, SIG_R | SIG_NEW, SIG_R | SIG_NEW | SIG_PC | SIG_REMOTE);
  assert_int_equal(query(c), 8);
  forge(p, 8, CM_DATA_PIPE_DATA_WAS_WRITTEN, 0, NULL); /* zero: harmless */
  assert_int_equal(query(c), 8);
  write_all(p, "abcd", 4);
  forge(c, 8, CM_DATA_PIPE_DATA_WAS_READ, 4, NULL); /* exactly what was written */
  assert_signals(p, SIG_W, SIG_W | SIG_PC | SIG_REMOTE);
  uint32_t n = 8;
  assert_int_equal(MojoWriteData(p, "12345678", &n, NULL), P);
  assert_int_equal(n, 8);
  close_all(p, c);
}

static void test_control_message_carrying_a_port(void **state) {
  (void)state;
  /* A port smuggled in a control message is closed by the receiver (its
   * peer sees the closure) and the sender counts as broken. */
  cm_port_ref a, b;
  assert_int_equal(cm_node_create_port_pair(cm_core_node(), &a, &b), P);
  MojoHandle p, c;
  create_pipe(1, 8, &p, &c);
  forge(p, 8, CM_DATA_PIPE_DATA_WAS_WRITTEN, 1, &a.name);
  assert_true(signals_of(c).satisfied_signals & SIG_PC);
  assert_int_equal(query(c), 0);
  cm_port_status st;
  assert_int_equal(cm_node_get_status(cm_core_node(), &b, &st), P);
  assert_true(st.peer_closed);
  cm_request_context rc;
  cm_request_context_begin(&rc, MOJO_TRAP_EVENT_FLAG_WITHIN_API_CALL);
  cm_node_close_port(cm_core_node(), &b);
  cm_request_context_end(&rc);
  cm_port_ref_release(&a);
  cm_port_ref_release(&b);
  close_all(p, c);
}

/* ---- Announcements and shared positions --------------------------------- */

/* The end behind `h` (a reference the caller drops with end_put). */
static cm_data_pipe_end *end_of(MojoHandle h) {
  cm_dispatcher *d = cm_handles_get(h);
  assert_non_null(d);
  return cm_data_pipe_end_from(d);
}

static void end_put(cm_data_pipe_end *e) {
  cm_dispatcher_unref(&e->base);
}

/* The count in the end's view, without bringing it up to date. */
static uint32_t view_count(MojoHandle h) {
  cm_data_pipe_end *e = end_of(h);
  pthread_mutex_lock(&e->base.lock);
  uint32_t n = e->count;
  pthread_mutex_unlock(&e->base.lock);
  end_put(e);
  return n;
}

static uint32_t shared_word(MojoHandle h, size_t field_offset) {
  cm_data_pipe_end *e = end_of(h);
  uint32_t v = atomic_load((_Atomic uint32_t *)((uint8_t *)e->shared + field_offset));
  end_put(e);
  return v;
}

/* Plays a hostile peer writing a word of the shared header. */
static void set_shared_word(MojoHandle h, size_t field_offset, uint32_t v) {
  cm_data_pipe_end *e = end_of(h);
  atomic_store((_Atomic uint32_t *)((uint8_t *)e->shared + field_offset), v);
  end_put(e);
}

#define WRITE_POS offsetof(cm_data_pipe_shared, write_pos)
#define WRITE_ANNOUNCED offsetof(cm_data_pipe_shared, write_announced)
#define READ_POS offsetof(cm_data_pipe_shared, read_pos)
#define READ_ANNOUNCED offsetof(cm_data_pipe_shared, read_announced)

typedef struct fired {
  int count;
  MojoResult result;
  MojoHandleSignals satisfied;
} fired;

static void on_fired(const struct MojoTrapEvent *ev) {
  fired *f = (fired *)ev->trigger_context;
  if (ev->result == MOJO_RESULT_CANCELLED)
    return;
  f->count++;
  f->result = ev->result;
  f->satisfied = ev->signals_state.satisfied_signals;
}

static MojoHandle trap_on(MojoHandle h, MojoHandleSignals signals, fired *f) {
  MojoHandle t;
  assert_int_equal(MojoCreateTrap(on_fired, NULL, &t), P);
  assert_int_equal(
      MojoAddTrigger(t, h, signals, MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, (uintptr_t)f, NULL),
      P);
  return t;
}

static void test_skipped_announcements_still_wake(void **state) {
  (void)state;
  MojoHandle p, c;
  create_pipe(1, 64, &p, &c);
  fired f = {0};
  MojoHandle t = trap_on(c, SIG_R, &f);
  assert_int_equal(MojoArmTrap(t, NULL, NULL, NULL), P);
  /* The first write is announced (the consumer asked for it) and fires. */
  write_all(p, "abcd", 4);
  assert_int_equal(f.count, 1);
  assert_true(f.satisfied & SIG_R);
  assert_int_equal(shared_word(c, WRITE_ANNOUNCED), 1);
  /* A READABLE consumer with NEW_DATA_READABLE up needs no news: the next
   * writes send nothing, and its view lags, but every count it reports is
   * fresh. */
  write_all(p, "efgh", 4);
  write_all(p, "ijkl", 4);
  assert_int_equal(view_count(c), 4);
  assert_signals(c, SIG_R | SIG_NEW, SIG_R | SIG_NEW | SIG_PC | SIG_REMOTE);
  assert_int_equal(query(c), 12);
  /* Reading it all makes the consumer ask for the next announcement. */
  char buf[16];
  uint32_t n = sizeof(buf);
  assert_int_equal(MojoReadData(c, NULL, buf, &n), P);
  assert_int_equal(n, 12);
  assert_memory_equal(buf, "abcdefghijkl", 12);
  assert_int_equal(shared_word(c, WRITE_ANNOUNCED), 0);
  /* A trap armed now fires on the next write. */
  assert_int_equal(MojoArmTrap(t, NULL, NULL, NULL), P);
  write_all(p, "m", 1);
  assert_int_equal(f.count, 2);
  assert_true(f.satisfied & SIG_R);
  assert_int_equal(MojoClose(t), P);
  close_all(p, c);
}

static void test_new_data_wakes_after_partial_read(void **state) {
  (void)state;
  MojoHandle p, c;
  create_pipe(1, 64, &p, &c);
  write_all(p, "abcd", 4);
  write_all(p, "efgh", 4); /* not announced */
  /* A read clears NEW_DATA_READABLE: from then on the consumer wants to
   * hear of more data, although it is still READABLE. */
  char buf[4];
  uint32_t n = 2;
  assert_int_equal(MojoReadData(c, NULL, buf, &n), P);
  assert_signals(c, SIG_R, SIG_R | SIG_NEW | SIG_PC | SIG_REMOTE);
  fired f = {0};
  MojoHandle t = trap_on(c, SIG_NEW, &f);
  assert_int_equal(MojoArmTrap(t, NULL, NULL, NULL), P);
  write_all(p, "i", 1);
  assert_int_equal(f.count, 1);
  assert_true(f.satisfied & SIG_NEW);
  assert_int_equal(query(c), 7);
  assert_int_equal(MojoClose(t), P);
  close_all(p, c);
}

static void test_producer_wakes_when_room_is_skipped(void **state) {
  (void)state;
  /* The consumer announces its first read only: the producer learns of
   * the rest from the header, and a full producer still wakes. */
  MojoHandle p, c;
  create_pipe(1, 8, &p, &c);
  write_all(p, "abcdefgh", 8);
  assert_signals(p, 0, SIG_W | SIG_PC | SIG_REMOTE);
  fired f = {0};
  MojoHandle t = trap_on(p, SIG_W, &f);
  assert_int_equal(MojoArmTrap(t, NULL, NULL, NULL), P);
  char buf[8];
  uint32_t n = 2;
  assert_int_equal(MojoReadData(c, NULL, buf, &n), P);
  assert_int_equal(f.count, 1);
  n = 2;
  assert_int_equal(MojoReadData(c, NULL, buf, &n), P);
  assert_int_equal(view_count(p), 2); /* the second read was not announced */
  n = 8;
  assert_int_equal(MojoWriteData(p, "12345678", &n, NULL), P);
  assert_int_equal(n, 4);
  /* Full again: the producer asked for news, the next read wakes it. */
  assert_int_equal(shared_word(p, READ_ANNOUNCED), 0);
  assert_int_equal(MojoArmTrap(t, NULL, NULL, NULL), P);
  n = 8;
  assert_int_equal(MojoReadData(c, NULL, buf, &n), P);
  assert_int_equal(n, 8);
  assert_memory_equal(buf, "efgh1234", 8);
  assert_int_equal(f.count, 2);
  assert_int_equal(MojoClose(t), P);
  close_all(p, c);
}

static void test_closure_counts_unannounced_data(void **state) {
  (void)state;
  MojoHandle p, c;
  create_pipe(1, 64, &p, &c);
  write_all(p, "abcd", 4);
  write_all(p, "efgh", 4); /* not announced */
  assert_int_equal(MojoClose(p), P);
  assert_signals(c, SIG_R | SIG_NEW | SIG_PC, SIG_R | SIG_NEW | SIG_PC);
  char buf[16];
  uint32_t n = sizeof(buf);
  assert_int_equal(MojoReadData(c, NULL, buf, &n), P);
  assert_int_equal(n, 8);
  assert_int_equal(MojoReadData(c, NULL, buf, &n), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoClose(c), P);
}

static void test_bad_shared_positions(void **state) {
  (void)state;
  /* Ring of 16 4-byte-element bytes; positions live in [0, 32). */
  struct {
    bool to_consumer; /* the producer's position is bad, as the consumer reads it */
    uint32_t value;
  } cases[] = {
      {true, 32},         /* beyond two laps */
      {true, UINT32_MAX}, /* far beyond */
      {true, 6},          /* not whole elements */
      {true, 24},         /* 24 ahead of the reader at 0: more than a ring */
      {false, 32},        /* the consumer's, beyond two laps */
      {false, 2},         /* not whole elements */
      {false, 20},        /* ahead of the writer (at 16 once the ring is full) */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    MojoHandle p, c;
    create_pipe(4, 16, &p, &c);
    write_all(p, "abcdefgh", 8);
    if (cases[i].to_consumer) {
      set_shared_word(c, WRITE_POS, cases[i].value);
      /* Broken for good: what was counted before stays readable. */
      assert_int_equal(query(c), 8);
      assert_true(signals_of(c).satisfied_signals & SIG_PC);
      char buf[16];
      uint32_t n = 16;
      assert_int_equal(MojoReadData(c, NULL, buf, &n), P);
      assert_int_equal(n, 8);
      assert_memory_equal(buf, "abcdefgh", 8);
      n = 16;
      assert_int_equal(MojoReadData(c, NULL, buf, &n), MOJO_RESULT_FAILED_PRECONDITION);
    } else {
      /* Fill the producer's view so that it has to read the header. */
      write_all(p, "ijklmnop", 8);
      set_shared_word(p, READ_POS, cases[i].value);
      uint32_t n = 4;
      assert_int_equal(MojoWriteData(p, "qrst", &n, NULL), MOJO_RESULT_FAILED_PRECONDITION);
      assert_signals(p, SIG_PC, SIG_PC);
    }
    close_all(p, c);
  }
}

static void test_stale_shared_position_is_harmless(void **state) {
  (void)state;
  /* A position behind what the view counts (a peer's write the header
   * does not show yet, or a peer moving backwards) changes nothing. */
  MojoHandle p, c;
  create_pipe(1, 16, &p, &c);
  write_all(p, "abcdefgh", 8);
  assert_int_equal(query(c), 8);
  set_shared_word(c, WRITE_POS, 4);
  assert_int_equal(query(c), 8);
  assert_false(signals_of(c).satisfied_signals & SIG_PC);
  char buf[8];
  uint32_t n = 8;
  assert_int_equal(MojoReadData(c, NULL, buf, &n), P);
  assert_memory_equal(buf, "abcdefgh", 8);
  close_all(p, c);
}

static int group_setup(void **state) {
  (void)state;
  MojoResult rv = MojoInitialize(NULL);
  return rv == P || rv == MOJO_RESULT_FAILED_PRECONDITION ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_bad_control_messages, cm_test_setup_resources,
                                      cm_test_teardown_resources),
      cmocka_unit_test_setup_teardown(test_good_forged_counts, cm_test_setup_resources,
                                      cm_test_teardown_resources),
      cmocka_unit_test_setup_teardown(test_control_message_carrying_a_port, cm_test_setup_resources,
                                      cm_test_teardown_resources),
      cmocka_unit_test_setup_teardown(test_skipped_announcements_still_wake,
                                      cm_test_setup_resources, cm_test_teardown_resources),
      cmocka_unit_test_setup_teardown(test_new_data_wakes_after_partial_read,
                                      cm_test_setup_resources, cm_test_teardown_resources),
      cmocka_unit_test_setup_teardown(test_producer_wakes_when_room_is_skipped,
                                      cm_test_setup_resources, cm_test_teardown_resources),
      cmocka_unit_test_setup_teardown(test_closure_counts_unannounced_data, cm_test_setup_resources,
                                      cm_test_teardown_resources),
      cmocka_unit_test_setup_teardown(test_bad_shared_positions, cm_test_setup_resources,
                                      cm_test_teardown_resources),
      cmocka_unit_test_setup_teardown(test_stale_shared_position_is_harmless,
                                      cm_test_setup_resources, cm_test_teardown_resources),
  };
  return cmocka_run_group_tests(tests, group_setup, NULL);
}
