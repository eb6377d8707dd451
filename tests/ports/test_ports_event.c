/* Events: serialization round trips, rejection of malformed bytes (every
 * truncation, targeted corruptions, random mutations), and hostile events
 * delivered to a node. */
#include "ports_test_net.h"
#include "ports/ports_internal.h" /* to build every event type */

static int setup1(void **state) {
  (void)state;
  net_init(1);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  net_shutdown();
  return 0;
}

static void all_clean(void) {
  net_pump();
  for (int i = 0; i < g_net.num_nodes; i++)
    assert_true(cm_node_can_shutdown_cleanly(g_net.nodes[i]));
}

static void close_ref(int node, cm_port_ref *ref) {
  assert_int_equal(cm_node_close_port(g_net.nodes[node], ref), MOJO_RESULT_OK);
  cm_port_ref_release(ref);
}

static cm_name name_of(uint64_t a, uint64_t b) {
  cm_name n = {a, b};
  return n;
}

static cm_port_descriptor sample_descriptor(uint64_t k) {
  cm_port_descriptor d;
  memset(&d, 0, sizeof(d));
  d.peer_node = name_of(k + 1, 2);
  d.peer_port = name_of(k + 3, 4);
  d.referring_node = name_of(k + 5, 6);
  d.referring_port = name_of(k + 7, 8);
  d.next_seq_to_send = k + 9;
  d.next_seq_to_receive = k + 10;
  d.last_seq_to_receive = k + 11;
  d.peer_closed = (k & 1) != 0;
  return d;
}

/* One event of each type with every field set to something recognizable. */
static cm_event *sample_event(cm_event_type type) {
  cm_name target = name_of(0x1111, 0x2222), from = name_of(0x3333, 0x4444);
  cm_event *ev;
  if (type == CM_EVENT_USER_MESSAGE) {
    ev = cm_event_user_message_create(NULL, NULL, 0, 3);
    ev->port_name = target;
    ev->from_port = from;
    ev->control_seq = 77;
    ev->u.user.seq = 5;
    for (uint64_t i = 0; i < 3; i++) {
      ev->u.user.descriptors[i] = sample_descriptor(100 * i);
      ev->u.user.ports[i] = name_of(0x5000 + i, 0x6000 + i);
    }
    return ev;
  }
  bool ordered = type != CM_EVENT_PORT_ACCEPTED && type != CM_EVENT_MERGE_PORT;
  ev = cm_event_new(type, &target, ordered ? &from : NULL, ordered ? 9 : CM_SEQ_INVALID);
  switch (type) {
    case CM_EVENT_OBSERVE_PROXY:
      ev->u.observe_proxy.proxy_node = name_of(1, 2);
      ev->u.observe_proxy.proxy_port = name_of(3, 4);
      ev->u.observe_proxy.target_node = name_of(5, 6);
      ev->u.observe_proxy.target_port = name_of(7, 8);
      break;
    case CM_EVENT_OBSERVE_PROXY_ACK:
      ev->u.observe_proxy_ack.last_seq = CM_SEQ_INVALID;
      break;
    case CM_EVENT_OBSERVE_CLOSURE:
      ev->u.observe_closure.last_seq = 42;
      break;
    case CM_EVENT_MERGE_PORT:
      ev->u.merge.new_port = name_of(9, 10);
      ev->u.merge.descriptor = sample_descriptor(7);
      break;
    case CM_EVENT_USER_MESSAGE_READ_ACK_REQUEST:
      ev->u.ack_request.seq_to_ack = 12;
      break;
    case CM_EVENT_USER_MESSAGE_READ_ACK:
      ev->u.ack.seq_acked = 13;
      break;
    case CM_EVENT_UPDATE_PREVIOUS_PEER:
      ev->u.update_prev.new_node = name_of(11, 12);
      ev->u.update_prev.new_port = name_of(13, 14);
      break;
    default:
      break;
  }
  return ev;
}

static unsigned char *serialize(const cm_event *ev, size_t *len) {
  *len = cm_event_serialized_size(ev);
  unsigned char *buf = malloc(*len + 8);
  assert_non_null(buf);
  cm_event_serialize(ev, buf);
  return buf;
}

static void test_serialization_round_trip(void **state) {
  (void)state;
  for (int t = CM_EVENT_USER_MESSAGE; t <= CM_EVENT_UPDATE_PREVIOUS_PEER; t++) {
    cm_event *ev = sample_event((cm_event_type)t);
    size_t len;
    unsigned char *bytes = serialize(ev, &len);
    assert_int_equal(len % 8, 0);
    /* Payload bytes follow a user message; anything else must end. */
    memcpy(bytes + len, "payload!", 8);
    cm_event *back = NULL;
    size_t used = 0;
    assert_int_equal(cm_event_deserialize(bytes, len, &back, &used), MOJO_RESULT_OK);
    assert_int_equal(used, len);
    assert_int_equal(cm_event_get_type(back), t);
    assert_true(cm_name_equal(cm_event_port_name(back), cm_event_port_name(ev)));
    size_t len2;
    unsigned char *again = serialize(back, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(again, bytes, len);
    if (t == CM_EVENT_USER_MESSAGE) {
      assert_int_equal(cm_event_num_ports(back), 3);
      assert_true(cm_name_equal(&cm_event_ports(back)[2], &cm_event_ports(ev)[2]));
      cm_event *with_payload = NULL;
      assert_int_equal(cm_event_deserialize(bytes, len + 8, &with_payload, &used), MOJO_RESULT_OK);
      assert_int_equal(used, len);
      cm_event_destroy(with_payload);
    } else {
      cm_event *extra = NULL;
      assert_int_equal(cm_event_deserialize(bytes, len + 8, &extra, &used), MOJO_RESULT_DATA_LOSS);
    }
    /* Every truncation is refused. */
    for (size_t cut = 0; cut < len; cut++) {
      cm_event *partial = NULL;
      assert_int_equal(cm_event_deserialize(bytes, cut, &partial, &used), MOJO_RESULT_DATA_LOSS);
      assert_null(partial);
    }
    free(again);
    free(bytes);
    cm_event_destroy(back);
    cm_event_destroy(ev);
  }
}

static void put_le64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* Serializes the sample of `type`, lets `corrupt` change it, and expects
 * the parser to refuse the result. */
static void expect_refused(cm_event_type type, size_t offset, uint64_t value, size_t width) {
  cm_event *ev = sample_event(type);
  size_t len;
  unsigned char *bytes = serialize(ev, &len);
  assert_true(offset + width <= len);
  if (width == 8) {
    put_le64(bytes + offset, value);
  } else {
    for (size_t i = 0; i < width; i++)
      bytes[offset + i] = i < 8 ? (unsigned char)(value >> (8 * i)) : 0;
  }
  cm_event *out = NULL;
  size_t used;
  if (cm_event_deserialize(bytes, len, &out, &used) != MOJO_RESULT_DATA_LOSS)
    fail_msg("type %d: byte %zu = %llu was accepted", (int)type, offset, (unsigned long long)value);
  free(bytes);
  cm_event_destroy(ev);
}

static void test_serialization_rejects_malformed(void **state) {
  (void)state;
  /* Header: type, reserved, target, sender, control number. */
  expect_refused(CM_EVENT_OBSERVE_CLOSURE, 0, 9, 4); /* unknown type */
  expect_refused(CM_EVENT_OBSERVE_CLOSURE, 0, 0xffffffff, 4);
  expect_refused(CM_EVENT_OBSERVE_CLOSURE, 4, 1, 4);   /* reserved */
  expect_refused(CM_EVENT_OBSERVE_CLOSURE, 8, 0, 16);  /* no target */
  expect_refused(CM_EVENT_OBSERVE_CLOSURE, 24, 0, 16); /* no sender */
  expect_refused(CM_EVENT_OBSERVE_CLOSURE, 40, 0, 8);  /* control 0 */
  expect_refused(CM_EVENT_OBSERVE_CLOSURE, 40, CM_SEQ_INVALID, 8);
  expect_refused(CM_EVENT_PORT_ACCEPTED, 40, 3, 8); /* unordered + number */
  expect_refused(CM_EVENT_PORT_ACCEPTED, 24, 5, 8); /* unordered + sender */
  expect_refused(CM_EVENT_OBSERVE_CLOSURE, 48, CM_SEQ_INVALID, 8);
  /* User message: seq, count, reserved, descriptors, names. */
  expect_refused(CM_EVENT_USER_MESSAGE, 48, 0, 8); /* seq 0 */
  expect_refused(CM_EVENT_USER_MESSAGE, 56, 4, 4); /* count > bytes */
  expect_refused(CM_EVENT_USER_MESSAGE, 56, CM_PORTS_MAX_PORTS_PER_EVENT + 1, 4);
  expect_refused(CM_EVENT_USER_MESSAGE, 56, 0xffffffff, 4);
  expect_refused(CM_EVENT_USER_MESSAGE, 60, 1, 4);       /* reserved */
  expect_refused(CM_EVENT_USER_MESSAGE, 64, 0, 16);      /* descriptor peer node */
  expect_refused(CM_EVENT_USER_MESSAGE, 64 + 48, 0, 16); /* referring port */
  expect_refused(CM_EVENT_USER_MESSAGE, 64 + 64, 0, 8);  /* next to send 0 */
  expect_refused(CM_EVENT_USER_MESSAGE, 64 + 72, CM_SEQ_INVALID, 8);
  expect_refused(CM_EVENT_USER_MESSAGE, 64 + 88, 2, 1);      /* peer_closed 2 */
  expect_refused(CM_EVENT_USER_MESSAGE, 64 + 89, 1, 1);      /* padding */
  expect_refused(CM_EVENT_USER_MESSAGE, 64 + 3 * 96, 0, 16); /* new port name */
  /* Bodies. */
  expect_refused(CM_EVENT_OBSERVE_PROXY, 48, 0, 16); /* proxy node */
  expect_refused(CM_EVENT_OBSERVE_PROXY, 96, 0, 16); /* target port */
  expect_refused(CM_EVENT_MERGE_PORT, 48, 0, 16);    /* new port */
  expect_refused(CM_EVENT_MERGE_PORT, 64 + 88, 7, 1);
  expect_refused(CM_EVENT_UPDATE_PREVIOUS_PEER, 48, 0, 16);
  expect_refused(CM_EVENT_UPDATE_PREVIOUS_PEER, 64, 0, 16);
  /* A broadcast ObserveProxy (no target port) must not name a target. */
  expect_refused(CM_EVENT_OBSERVE_PROXY, 8, 0, 16);
}

static void test_serialization_fuzz(void **state) {
  (void)state;
  uint64_t x = cm_test_seed(12345);
  for (int round = 0; round < 20000; round++) {
    cm_event *ev = sample_event((cm_event_type)(round % 9));
    size_t len;
    unsigned char *bytes = serialize(ev, &len);
    cm_event_destroy(ev);
    int flips = 1 + round % 4;
    for (int i = 0; i < flips; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      bytes[x % len] ^= (unsigned char)(1u << ((x >> 32) % 8));
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t use = (round & 1) ? len : (size_t)(x % (len + 1));
    cm_event *out = NULL;
    size_t used = 0;
    MojoResult rv = cm_event_deserialize(bytes, use, &out, &used);
    if (rv == MOJO_RESULT_OK) {
      /* Whatever is accepted serializes back to what was read. */
      assert_true(used <= use);
      size_t len2;
      unsigned char *again = serialize(out, &len2);
      assert_int_equal(len2, used);
      assert_memory_equal(again, bytes, used);
      free(again);
      cm_event_destroy(out);
    } else {
      assert_int_equal(rv, MOJO_RESULT_DATA_LOSS);
      assert_null(out);
    }
    free(bytes);
  }
}

/* Hostile events delivered to a node: nothing crashes, nothing leaks, the
 * node's own routes keep working. */
static void test_hostile_events(void **state) {
  (void)state;
  cm_node *n = g_net.nodes[0];
  cm_port_ref a, b;
  assert_int_equal(cm_node_create_port_pair(n, &a, &b), MOJO_RESULT_OK);
  cm_node_name stranger = name_of(0xdead, 0xbeef);
  for (int t = CM_EVENT_USER_MESSAGE; t <= CM_EVENT_UPDATE_PREVIOUS_PEER; t++) {
    for (int target = 0; target < 3; target++) {
      cm_event *ev = sample_event((cm_event_type)t);
      if (target == 1)
        ev->port_name = a.name;
      else if (target == 2)
        ev->port_name = b.name;
      if (t == CM_EVENT_USER_MESSAGE) {
        /* Carried port names that collide with existing ports are
         * refused; otherwise the ports are created and must die with the
         * message (never in turn: it waits in a buffer until a closes). */
        if (target == 2)
          ev->u.user.ports[1] = b.name;
        for (int i = 0; i < 3; i++)
          ev->u.user.descriptors[i].referring_node = stranger;
      }
      MojoResult rv = cm_node_accept_event(n, &stranger, ev);
      assert_true(rv == MOJO_RESULT_OK || rv == MOJO_RESULT_DATA_LOSS ||
                  rv == MOJO_RESULT_NOT_FOUND);
    }
  }
  net_pump();
  assert_true(cm_node_num_ports(n) > 2); /* the stranger's ports, buffered */
  /* A message carrying the port it is addressed to (which does not exist
   * yet: binding would create it, with the message queued inside it for
   * ever) is refused before any port is made. */
  size_t before = cm_node_num_ports(n);
  cm_event *self = sample_event(CM_EVENT_USER_MESSAGE);
  self->port_name = name_of(0x7777, 1);
  self->u.user.ports[0] = self->port_name;
  for (int i = 0; i < 3; i++)
    self->u.user.descriptors[i].referring_node = stranger;
  assert_int_equal(cm_node_accept_event(n, &stranger, self), MOJO_RESULT_DATA_LOSS);
  net_pump();
  assert_int_equal(cm_node_num_ports(n), before);
  /* A replayed (already processed) control number is refused. */
  assert_int_equal(cm_node_send_user_message(n, &a, net_msg("still", 0)), MOJO_RESULT_OK);
  net_expect(0, &b, "still");
  cm_event *replay = sample_event(CM_EVENT_USER_MESSAGE_READ_ACK);
  replay->port_name = b.name;
  replay->from_port = a.name;
  replay->control_seq = 1;
  assert_int_equal(cm_node_accept_event(n, cm_node_get_name(n), replay), MOJO_RESULT_DATA_LOSS);
  assert_int_equal(cm_node_send_user_message(n, &b, net_msg("fine", 0)), MOJO_RESULT_OK);
  net_expect(0, &a, "fine");
  close_ref(0, &a);
  close_ref(0, &b);
  net_pump();
  /* Ports the stranger made us create died with their messages. */
  all_clean();
}

/* ObserveProxy notices (no sender, no control number): the parser takes
 * them only without a target; a node takes a death announcement only from
 * the node of the port that died, and a "peer gone" only about the port a
 * proxy forwards to. Neither may touch a healthy route. */
static void test_notices(void **state) {
  (void)state;
  cm_node *n = g_net.nodes[0];
  cm_node_name stranger = name_of(0xdead, 0xbeef);
  cm_port_ref a, b;
  assert_int_equal(cm_node_create_port_pair(n, &a, &b), MOJO_RESULT_OK);
  for (int kind = 0; kind < 3; kind++) {
    cm_event *ev =
        cm_event_new(CM_EVENT_OBSERVE_PROXY, kind ? &a.name : NULL, NULL, CM_SEQ_INVALID);
    ev->u.observe_proxy.proxy_node = kind == 2 ? stranger : *cm_node_get_name(n);
    ev->u.observe_proxy.proxy_port = b.name;
    size_t len, used;
    unsigned char *bytes = serialize(ev, &len);
    cm_event *back = NULL;
    assert_int_equal(cm_event_deserialize(bytes, len, &back, &used), MOJO_RESULT_OK);
    /* With a target it is neither a notice nor an announcement. */
    put_le64(bytes + 48 + 32, 1);
    put_le64(bytes + 48 + 48, 1);
    cm_event *bad = NULL;
    assert_int_equal(cm_event_deserialize(bytes, len, &bad, &used), MOJO_RESULT_DATA_LOSS);
    free(bytes);
    cm_event_destroy(ev);
    /* 0: announces b dead, but not from b's node; 1: tells a its peer b is
     * gone, not from b's node either; 2: from the stranger, about a port
     * named b on the stranger, which is not a's peer. */
    MojoResult rv = cm_node_accept_event(n, &stranger, back);
    assert_int_equal(rv, kind == 0 ? MOJO_RESULT_DATA_LOSS : MOJO_RESULT_OK);
  }
  assert_int_equal(cm_node_send_user_message(n, &a, net_msg("alive", 0)), MOJO_RESULT_OK);
  net_expect(0, &b, "alive");
  close_ref(0, &a);
  close_ref(0, &b);
  all_clean();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_serialization_round_trip),
      cmocka_unit_test(test_serialization_rejects_malformed),
      cmocka_unit_test(test_serialization_fuzz),
      cmocka_unit_test_setup_teardown(test_hostile_events, setup1, teardown),
      cmocka_unit_test_setup_teardown(test_notices, setup1, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
