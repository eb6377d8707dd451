/* The data pipe control protocol against a hostile peer: control messages
 * forged on an end's control port, as a peer in another process could send
 * them (wrong size, wrong command, counts that are not whole elements or
 * that claim more than could be outstanding), must make the receiving end
 * treat its peer as closed, never corrupt its view of the ring; a
 * well-formed count is accepted. Uses the core's internal headers to reach
 * the control port. Every test must leave the process's fd and shared memory
 * mapping counts where it found them. */
#include "data_pipe_support.h"

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
  };
  return cmocka_run_group_tests(tests, group_setup, NULL);
}
