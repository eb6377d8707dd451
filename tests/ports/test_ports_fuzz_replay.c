/* Replays the inputs of fuzz/fuzz_ports_event.c through the fuzz target as
 * an ordinary test: valid serialized events of every type and a few
 * sequences of them, generated here and aimed at the ports of the target's
 * node (fuzz_ports_event.h), plus the inputs kept in
 * fuzz/corpus/ports_event/ (the same seeds, written by this program, and
 * minimized reproducers of what the fuzzer found).
 *
 * `test_ports_fuzz_replay --write-seeds DIR` writes the generated seeds to
 * DIR instead, as a starting corpus for libFuzzer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_ports_event.h"
#include "test_support.h"

#define SAVED_DIR CMOJO_SOURCE_DIR "/fuzz/corpus/ports_event"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef cm_test_input_fn seed_fn;

static const cm_port_name kStranger = {0xbad, 0xbad};
static const cm_port_name kNewPort = {0xf0, 0x10};

/* Serializes the `n` events as the target's chunks (2-byte length, event;
 * a user message gets a few payload bytes), hands the bytes to fn and
 * destroys the events. */
static void emit_all(seed_fn fn, void *ctx, const char *name, cm_event **evs, size_t n) {
  static const char payload[] = "payload!";
  size_t len = 0;
  for (size_t i = 0; i < n; i++)
    len += 2 + cm_event_serialized_size(evs[i]) + sizeof(payload) - 1;
  uint8_t *buf = malloc(len);
  assert_non_null(buf);
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    size_t size = cm_event_serialized_size(evs[i]);
    size_t extra = cm_event_get_type(evs[i]) == CM_EVENT_USER_MESSAGE ? sizeof(payload) - 1 : 0;
    assert_true(size + extra <= 0xffff);
    buf[at] = (uint8_t)(size + extra);
    buf[at + 1] = (uint8_t)((size + extra) >> 8);
    cm_event_serialize(evs[i], buf + at + 2);
    memcpy(buf + at + 2 + size, payload, extra);
    at += 2 + size + extra;
    cm_event_destroy(evs[i]);
  }
  fn(name, buf, at, ctx);
  free(buf);
}

static void emit(seed_fn fn, void *ctx, const char *name, cm_event *ev) {
  emit_all(fn, ctx, name, &ev, 1);
}

/* An ordered event from the peer's port to `to`. */
static cm_event *ordered(cm_event_type type, const cm_port_name *to, uint64_t cseq) {
  return cm_event_new(type, to, &FUZZ_PEER_PORT, cseq);
}

static cm_port_descriptor descriptor(void) {
  cm_port_descriptor d = {.peer_node = FUZZ_PEER,
                          .peer_port = {0xf0, 0x20},
                          .referring_node = FUZZ_PEER,
                          .referring_port = {0xf0, 0x21},
                          .next_seq_to_send = 1,
                          .next_seq_to_receive = 1};
  return d;
}

static void user_messages(seed_fn fn, void *ctx) {
  const cm_port_name c = FUZZ_PORT_C, a = FUZZ_PORT_A;
  cm_event *ev = cm_event_user_message_create(NULL, NULL, 0, 0);
  ev->port_name = c, ev->from_port = FUZZ_PEER_PORT, ev->control_seq = 1, ev->u.user.seq = 1;
  emit(fn, ctx, "user_plain", ev);
  ev = cm_event_user_message_create(NULL, NULL, 0, 2);
  ev->port_name = c, ev->from_port = FUZZ_PEER_PORT, ev->control_seq = 1, ev->u.user.seq = 1;
  for (int i = 0; i < 2; i++) {
    ev->u.user.descriptors[i] = descriptor();
    ev->u.user.descriptors[i].peer_port.v2 += (uint64_t)i;
    ev->u.user.ports[i] = (cm_port_name){0xf0, 0x30 + (uint64_t)i};
  }
  ev->u.user.descriptors[1].peer_closed = true;
  ev->u.user.descriptors[1].last_seq_to_receive = 3;
  emit(fn, ctx, "user_two_ports", ev);
  ev = cm_event_user_message_create(NULL, NULL, 0, 0);
  ev->port_name = c, ev->from_port = FUZZ_PEER_PORT, ev->control_seq = 2, ev->u.user.seq = 2;
  emit(fn, ctx, "user_out_of_turn", ev);
  ev = cm_event_user_message_create(NULL, NULL, 0, 0);
  ev->port_name = a, ev->from_port = FUZZ_PEER_PORT, ev->control_seq = 1, ev->u.user.seq = 2;
  emit(fn, ctx, "user_to_local_pair", ev);
}

static void control_events(seed_fn fn, void *ctx) {
  const cm_port_name c = FUZZ_PORT_C, d = FUZZ_PORT_D;
  emit(fn, ctx, "accepted", cm_event_new(CM_EVENT_PORT_ACCEPTED, &c, NULL, CM_SEQ_INVALID));
  emit(fn, ctx, "accepted_stranger",
       cm_event_new(CM_EVENT_PORT_ACCEPTED, &kStranger, NULL, CM_SEQ_INVALID));
  cm_event *ev = ordered(CM_EVENT_OBSERVE_PROXY, &c, 1);
  ev->u.observe_proxy.proxy_node = FUZZ_PEER;
  ev->u.observe_proxy.proxy_port = FUZZ_PEER_PORT;
  ev->u.observe_proxy.target_node = FUZZ_PEER;
  ev->u.observe_proxy.target_port = kNewPort;
  emit(fn, ctx, "observe_proxy", ev);
  ev = cm_event_new(CM_EVENT_OBSERVE_PROXY, NULL, NULL, CM_SEQ_INVALID);
  ev->u.observe_proxy.proxy_node = FUZZ_PEER;
  ev->u.observe_proxy.proxy_port = FUZZ_PEER_PORT;
  emit(fn, ctx, "dead_port_broadcast", ev);
  ev = cm_event_new(CM_EVENT_OBSERVE_PROXY, &c, NULL, CM_SEQ_INVALID);
  ev->u.observe_proxy.proxy_node = FUZZ_PEER;
  ev->u.observe_proxy.proxy_port = FUZZ_PEER_PORT;
  emit(fn, ctx, "peer_gone", ev);
  ev = ordered(CM_EVENT_OBSERVE_PROXY_ACK, &c, 1);
  ev->u.observe_proxy_ack.last_seq = CM_SEQ_INVALID;
  emit(fn, ctx, "observe_proxy_ack", ev);
  ev = ordered(CM_EVENT_OBSERVE_CLOSURE, &c, 1);
  ev->u.observe_closure.last_seq = 2;
  emit(fn, ctx, "observe_closure", ev);
  ev = cm_event_new(CM_EVENT_MERGE_PORT, &d, NULL, CM_SEQ_INVALID);
  ev->u.merge.new_port = kNewPort;
  ev->u.merge.descriptor = descriptor();
  emit(fn, ctx, "merge_port", ev);
  ev = cm_event_new(CM_EVENT_MERGE_PORT, &c, NULL, CM_SEQ_INVALID);
  ev->u.merge.new_port = kNewPort;
  ev->u.merge.descriptor = descriptor();
  emit(fn, ctx, "merge_port_refused", ev);
  ev = ordered(CM_EVENT_USER_MESSAGE_READ_ACK_REQUEST, &c, 1);
  ev->u.ack_request.seq_to_ack = 1;
  emit(fn, ctx, "read_ack_request", ev);
  ev = ordered(CM_EVENT_USER_MESSAGE_READ_ACK, &c, 1);
  ev->u.ack.seq_acked = 1;
  emit(fn, ctx, "read_ack", ev);
  ev = ordered(CM_EVENT_UPDATE_PREVIOUS_PEER, &c, 1);
  ev->u.update_prev.new_node = FUZZ_PEER;
  ev->u.update_prev.new_port = kNewPort;
  emit(fn, ctx, "update_previous_peer", ev);
}

static cm_event *plain_message(const cm_port_name *to, uint64_t cseq, uint64_t seq) {
  cm_event *ev = cm_event_user_message_create(NULL, NULL, 0, 0);
  ev->port_name = *to, ev->from_port = FUZZ_PEER_PORT, ev->control_seq = cseq;
  ev->u.user.seq = seq;
  return ev;
}

/* A few conversations of several events, so the fuzzer starts from routes
 * that change state (out of order, closed, re-targeted, merged). */
static void sequences(seed_fn fn, void *ctx) {
  const cm_port_name c = FUZZ_PORT_C, d = FUZZ_PORT_D;
  cm_event *evs[4];
  evs[0] = plain_message(&c, 2, 2);
  evs[1] = plain_message(&c, 1, 1);
  evs[2] = ordered(CM_EVENT_OBSERVE_CLOSURE, &c, 3);
  evs[2]->u.observe_closure.last_seq = 2;
  emit_all(fn, ctx, "seq_reordered_then_closed", evs, 3);
  evs[0] = ordered(CM_EVENT_OBSERVE_PROXY, &c, 1);
  evs[0]->u.observe_proxy.proxy_node = FUZZ_PEER;
  evs[0]->u.observe_proxy.proxy_port = FUZZ_PEER_PORT;
  evs[0]->u.observe_proxy.target_node = FUZZ_PEER;
  evs[0]->u.observe_proxy.target_port = kNewPort;
  evs[1] = ordered(CM_EVENT_UPDATE_PREVIOUS_PEER, &c, 2);
  evs[1]->u.update_prev.new_node = FUZZ_PEER;
  evs[1]->u.update_prev.new_port = kNewPort;
  evs[2] = cm_event_new(CM_EVENT_USER_MESSAGE_READ_ACK, &c, &kNewPort, 1);
  evs[2]->u.ack.seq_acked = 1;
  emit_all(fn, ctx, "seq_retarget", evs, 3);
  evs[0] = cm_event_new(CM_EVENT_MERGE_PORT, &d, NULL, CM_SEQ_INVALID);
  evs[0]->u.merge.new_port = kNewPort;
  evs[0]->u.merge.descriptor = descriptor();
  evs[1] = cm_event_new(CM_EVENT_OBSERVE_PROXY_ACK, &kNewPort, &FUZZ_PEER_PORT, 1);
  evs[1]->u.observe_proxy_ack.last_seq = 0;
  evs[1]->from_port = (cm_port_name){0xf0, 0x21};
  evs[2] = cm_event_new(CM_EVENT_USER_MESSAGE_READ_ACK_REQUEST, &kNewPort,
                        &(cm_port_name){0xf0, 0x21}, 2);
  evs[2]->u.ack_request.seq_to_ack = 1;
  emit_all(fn, ctx, "seq_merge", evs, 3);
}

static void for_each_seed(seed_fn fn, void *ctx) {
  user_messages(fn, ctx);
  control_events(fn, ctx);
  sequences(fn, ctx);
}

static void run_one(const char *name, const uint8_t *data, size_t size, void *ctx) {
  size_t *count = ctx;
  cm_event *ev = NULL;
  size_t used = 0;
  if (count) {
    /* A generated seed must be valid to its last byte, or it teaches the
     * fuzzer nothing. */
    for (size_t at = 0, len; at < size; at += 2 + len) {
      len = data[at] | (size_t)data[at + 1] << 8;
      if (cm_event_deserialize(data + at + 2, len, &ev, &used) != MOJO_RESULT_OK)
        fail_msg("seed %s: chunk at byte %zu does not parse", name, at);
      cm_event_destroy(ev);
    }
    (*count)++;
  }
  assert_int_equal(LLVMFuzzerTestOneInput(data, size), 0);
}

static void drop(void *c, const cm_node_name *to, cm_event *ev) {
  (void)c, (void)to, cm_event_destroy(ev);
}

/* The seeds aim at the names fuzz_ports_event.h promises. */
static void test_node_has_named_ports(void **state) {
  (void)state;
  cm_node *node = fuzz_ports_node_create(&(cm_node_delegate){NULL, drop, NULL, NULL});
  const cm_port_name names[] = {FUZZ_PORT_A, FUZZ_PORT_B, FUZZ_PORT_C, FUZZ_PORT_D};
  for (size_t i = 0; i < 4; i++) {
    cm_port_ref ref;
    assert_int_equal(cm_node_get_port(node, &names[i], &ref), MOJO_RESULT_OK);
    cm_port_status st;
    assert_int_equal(cm_node_get_status(node, &ref, &st), MOJO_RESULT_OK);
    assert_int_equal(st.queued_message_count, i == 1);
    assert_int_equal(st.peer_remote, i >= 2);
    cm_port_ref_release(&ref);
  }
  cm_node_destroy(node);
}

static void test_replay_generated(void **state) {
  (void)state;
  size_t count = 0;
  for_each_seed(run_one, &count);
  print_message("replayed %zu generated seeds\n", count);
  assert_true(count >= 19);
}

static void test_replay_saved(void **state) {
  (void)state;
  size_t count = cm_test_replay_dir(SAVED_DIR, run_one, NULL);
  print_message("replayed %zu saved inputs\n", count);
  assert_true(count > 0);
}

static void write_one(const char *name, const uint8_t *data, size_t size, void *ctx) {
  cm_test_write_file(ctx, name, data, size);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--write-seeds")) {
    for_each_seed(write_one, argv[2]);
    printf("wrote the generated seeds to %s\n", argv[2]);
    return 0;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_node_has_named_ports),
      cmocka_unit_test(test_replay_generated),
      cmocka_unit_test(test_replay_saved),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
