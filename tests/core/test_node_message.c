/* The node message codec (src/core/node_message.h, docs/node-protocol.md):
 * round trips of every type and variant, versions (newer senders' longer
 * bodies and headers, an older HELLO), every truncation, every single-byte
 * change that must be refused, zeroed names, fd counts, limits, encoder
 * refusals, and random mutations (seeded: CMOJO_TEST_SEED replays one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_limits.h"
#include "node_message_samples.h"
#include "test_support.h"

static nm_sample samples[NM_NUM_SAMPLES];

static int setup(void **state) {
  (void)state;
  nm_samples_build(samples);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  nm_samples_free(samples);
  return 0;
}

static cm_node_message_error parse(const uint8_t *b, size_t n, size_t fds, cm_node_message *m) {
  return cm_node_message_parse(b, n, fds, m);
}

static void put32_at(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32_at(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Re-encodes a view and compares with `bytes`. */
static bool reencodes_to(const cm_node_message *m, const uint8_t *bytes, size_t n) {
  cm_node_message_buffer buf;
  cm_node_message_buffer_init(&buf);
  bool same = cm_node_message_encode(&buf, m) == MOJO_RESULT_OK && buf.size == n &&
              memcmp(buf.bytes, bytes, n) == 0;
  cm_node_message_buffer_free(&buf);
  return same;
}

static bool in_message(const void *p, size_t len, const uint8_t *b, size_t n) {
  const uint8_t *q = p;
  return len == 0 || (q >= b && (size_t)(q - b) <= n && len <= n - (size_t)(q - b));
}

static bool names_equal(const cm_name *x, cm_name y) {
  return cm_name_equal(x, &y);
}

/* ---- Round trips ------------------------------------------------------- */

/* What each sample must parse to (the values nm_samples_build used). */
static void check_fields(const nm_sample *s, const cm_node_message *m) {
  const uint8_t *b = s->buf.bytes;
  size_t n = s->buf.size;
  assert_int_equal(m->type, s->type);
  assert_int_equal(m->num_fds, s->num_fds);
  switch (m->type) {
    case CM_NODE_MESSAGE_HELLO:
      assert_int_equal(m->u.hello.min_version, 1);
      assert_int_equal(m->u.hello.max_version, 1);
      assert_true(m->u.hello.capabilities == 0x0102030405060708ull);
      break;
    case CM_NODE_MESSAGE_GOODBYE:
      if (m->u.goodbye.text_num_bytes) {
        assert_int_equal(m->u.goodbye.reason, MOJO_RESULT_DATA_LOSS);
        assert_int_equal(m->u.goodbye.text_num_bytes, strlen(nm_text));
        assert_memory_equal(m->u.goodbye.text, nm_text, strlen(nm_text));
      } else {
        assert_int_equal(m->u.goodbye.reason, MOJO_RESULT_OK);
      }
      assert_true(in_message(m->u.goodbye.text, m->u.goodbye.text_num_bytes, b, n));
      break;
    case CM_NODE_MESSAGE_ACCEPT_INVITEE:
      assert_true(names_equal(&m->u.accept_invitee.inviter_name, NM_NAME(0x11)));
      assert_true(names_equal(&m->u.accept_invitee.token, NM_NAME(0x22)));
      break;
    case CM_NODE_MESSAGE_ACCEPT_INVITATION:
      assert_true(names_equal(&m->u.accept_invitation.token, NM_NAME(0x22)));
      assert_true(names_equal(&m->u.accept_invitation.invitee_name, NM_NAME(0x44)));
      break;
    case CM_NODE_MESSAGE_ADD_BROKER_CLIENT:
      assert_true(names_equal(&m->u.add_broker_client.client_name, NM_NAME(0x44)));
      assert_int_equal(m->u.add_broker_client.process_id, 4242);
      break;
    case CM_NODE_MESSAGE_BROKER_CLIENT_ADDED:
      assert_true(names_equal(&m->u.broker_client_added.client_name, NM_NAME(0x44)));
      break;
    case CM_NODE_MESSAGE_ACCEPT_BROKER_CLIENT:
      assert_true(names_equal(&m->u.accept_broker_client.broker_name, NM_NAME(0x11)));
      assert_int_equal(m->u.accept_broker_client.has_broker_channel, s->num_fds == 1);
      break;
    case CM_NODE_MESSAGE_EVENT:
      assert_true(m->u.event.event == b + 32);
      assert_true(in_message(m->u.event.event, m->u.event.event_num_bytes, b, n));
      assert_true(in_message(m->u.event.payload, m->u.event.payload_num_bytes, b, n));
      assert_int_equal(m->u.event.event_type, b[32]);
      assert_int_equal(32 + m->u.event.event_num_bytes + m->u.event.payload_num_bytes, n);
      if (m->u.event.payload_num_bytes) {
        assert_int_equal(m->u.event.event_num_bytes, 64);
        assert_int_equal(m->u.event.payload_num_bytes, 24);
        assert_int_equal(m->u.event.num_handles, 2);
        assert_int_equal(((const uint8_t *)m->u.event.payload)[0], 0x90);
      }
      break;
    case CM_NODE_MESSAGE_REQUEST_PORT_MERGE:
      assert_true(names_equal(&m->u.request_port_merge.port_name, NM_NAME(0x22)));
      if (m->u.request_port_merge.name_num_bytes) {
        assert_int_equal(m->u.request_port_merge.name_num_bytes, strlen(nm_pipe_name));
        assert_memory_equal(m->u.request_port_merge.name, nm_pipe_name, strlen(nm_pipe_name));
      }
      break;
    case CM_NODE_MESSAGE_REQUEST_INTRODUCTION:
      assert_true(names_equal(&m->u.request_introduction.peer_name, NM_NAME(0x11)));
      break;
    case CM_NODE_MESSAGE_INTRODUCE:
      assert_true(names_equal(&m->u.introduce.peer_name, NM_NAME(0x22)));
      assert_int_equal(m->u.introduce.has_channel, s->num_fds == 1);
      break;
    case CM_NODE_MESSAGE_BROADCAST_EVENT:
      assert_true(names_equal(&m->u.broadcast_event.origin, NM_NAME(0x11)));
      assert_int_equal(m->u.broadcast_event.event_num_bytes, 112);
      assert_int_equal(m->u.broadcast_event.event_type, CM_EVENT_OBSERVE_PROXY);
      assert_true(m->u.broadcast_event.event == b + 40);
      break;
    case CM_NODE_MESSAGE_ACCEPT_PEER:
      assert_true(names_equal(&m->u.accept_peer.token, NM_NAME(0x11)));
      assert_true(names_equal(&m->u.accept_peer.peer_name, NM_NAME(0x22)));
      assert_true(names_equal(&m->u.accept_peer.port_name, NM_NAME(0x44)));
      break;
    case CM_NODE_MESSAGE_BAD_MESSAGE_REPORT:
      assert_true(names_equal(&m->u.bad_message_report.subject, NM_NAME(0x11)));
      assert_true(names_equal(&m->u.bad_message_report.reporter, NM_NAME(0x44)));
      assert_int_equal(m->u.bad_message_report.error_num_bytes, strlen(nm_text));
      assert_memory_equal(m->u.bad_message_report.error, nm_text, strlen(nm_text));
      break;
  }
}

static void test_round_trip_every_type(void **state) {
  (void)state;
  bool seen[CM_NODE_MESSAGE_TYPE_LAST + 1] = {false};
  for (int i = 0; i < NM_NUM_SAMPLES; i++) {
    const nm_sample *s = &samples[i];
    cm_node_message m;
    assert_int_equal(parse(s->buf.bytes, s->buf.size, s->num_fds, &m), CM_NODE_MESSAGE_OK);
    check_fields(s, &m);
    assert_true(reencodes_to(&m, s->buf.bytes, s->buf.size));
    /* Only a text or name tail can leave a message off an 8-byte multiple. */
    bool text_tail = s->type == CM_NODE_MESSAGE_GOODBYE ||
                     s->type == CM_NODE_MESSAGE_REQUEST_PORT_MERGE ||
                     s->type == CM_NODE_MESSAGE_BAD_MESSAGE_REPORT;
    if (!text_tail)
      assert_int_equal(s->buf.size % 8, 0);
    seen[s->type] = true;
  }
  for (int t = CM_NODE_MESSAGE_TYPE_FIRST; t <= CM_NODE_MESSAGE_TYPE_LAST; t++) {
    assert_true(seen[t]);
    assert_int_equal(cm_node_message_type_version((uint32_t)t), 1);
    assert_string_not_equal(cm_node_message_type_name((uint32_t)t), "?");
  }
  assert_string_equal(cm_node_message_type_name(0), "?");
  assert_int_equal(cm_node_message_type_version(CM_NODE_MESSAGE_TYPE_LAST + 1), 0);
}

/* The exact bytes of two messages, so the layout in docs/node-protocol.md
 * is pinned down and not only self-consistent. */
static void test_wire_bytes(void **state) {
  (void)state;
  static const uint8_t hello[] = {1, 0, 0, 0, 16, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0,
                                  1, 0, 0, 0, 1,  0, 0, 0, 8,  7, 6, 5, 4, 3, 2, 1};
  assert_int_equal(samples[0].buf.size, sizeof(hello));
  assert_memory_equal(samples[0].buf.bytes, hello, sizeof(hello));
  const nm_sample *ev = &samples[9];
  assert_string_equal(ev->name, "event_user");
  static const uint8_t event_head[] = {8,  0, 0, 0, 16, 0, 2, 0, 16, 0, 0, 0, 0, 0, 0, 0,
                                       64, 0, 0, 0, 24, 0, 0, 0, 2,  0, 0, 0, 0, 0, 0, 0};
  assert_memory_equal(ev->buf.bytes, event_head, sizeof(event_head));
  assert_int_equal(ev->buf.size, 32 + 64 + 24);
}

/* ---- Sizes and versions ------------------------------------------------ */

static void test_every_truncation_refused(void **state) {
  (void)state;
  for (int i = 0; i < NM_NUM_SAMPLES; i++) {
    const nm_sample *s = &samples[i];
    for (size_t k = 0; k < s->buf.size; k++) {
      cm_node_message m;
      uint8_t *copy = malloc(k ? k : 1); /* exact size: ASan sees any overread */
      memcpy(copy, s->buf.bytes, k);
      cm_node_message_error e = parse(copy, k, s->num_fds, &m);
      free(copy);
      if (e == CM_NODE_MESSAGE_OK)
        fail_msg("%s truncated to %zu bytes was accepted", s->name, k);
      if (k < 16)
        assert_int_equal(e, CM_NODE_MESSAGE_E_SHORT_HEADER);
    }
  }
}

static void test_trailing_bytes_refused(void **state) {
  (void)state;
  for (int i = 0; i < NM_NUM_SAMPLES; i++) {
    const nm_sample *s = &samples[i];
    for (size_t extra = 1; extra <= 16; extra += 7) {
      uint8_t *copy = calloc(1, s->buf.size + extra);
      memcpy(copy, s->buf.bytes, s->buf.size);
      cm_node_message m;
      assert_int_equal(parse(copy, s->buf.size + extra, s->num_fds, &m),
                       CM_NODE_MESSAGE_E_TRAILING_BYTES);
      free(copy);
    }
  }
}

/* Inserts `grow` bytes of 0xab after byte `at` and adds `grow` to the
 * 16-bit or 32-bit length field at `field`. */
static uint8_t *grown(const nm_sample *s, size_t at, size_t grow, size_t field, int width) {
  uint8_t *copy = malloc(s->buf.size + grow);
  memcpy(copy, s->buf.bytes, at);
  memset(copy + at, 0xab, grow);
  memcpy(copy + at + grow, s->buf.bytes + at, s->buf.size - at);
  if (width == 16) {
    uint32_t v = (uint32_t)(copy[field] | copy[field + 1] << 8) + (uint32_t)grow;
    copy[field] = (uint8_t)v, copy[field + 1] = (uint8_t)(v >> 8);
  } else {
    put32_at(copy + field, get32_at(copy + field) + (uint32_t)grow);
  }
  return copy;
}

/* A newer sender: a body with fields appended, a longer header. Both parse
 * to the same view (so re-encoding gives this build's bytes). */
static void test_newer_sender_parses(void **state) {
  (void)state;
  for (int i = 0; i < NM_NUM_SAMPLES; i++) {
    const nm_sample *s = &samples[i];
    uint32_t body = get32_at(s->buf.bytes + 8);
    for (size_t grow = 8; grow <= 24; grow += 16) {
      uint8_t *longer_body = grown(s, 16 + body, grow, 8, 32);
      cm_node_message m;
      assert_int_equal(parse(longer_body, s->buf.size + grow, s->num_fds, &m), CM_NODE_MESSAGE_OK);
      assert_int_equal(m.body_num_bytes, body + grow);
      assert_true(reencodes_to(&m, s->buf.bytes, s->buf.size));
      free(longer_body);
      uint8_t *longer_header = grown(s, 16, grow, 4, 16);
      assert_int_equal(parse(longer_header, s->buf.size + grow, s->num_fds, &m),
                       CM_NODE_MESSAGE_OK);
      assert_true(reencodes_to(&m, s->buf.bytes, s->buf.size));
      free(longer_header);
    }
    /* A body longer by something not a multiple of 8 is not a version. */
    uint8_t *odd = grown(s, 16 + body, 4, 8, 32);
    cm_node_message m;
    assert_int_equal(parse(odd, s->buf.size + 4, s->num_fds, &m), CM_NODE_MESSAGE_E_BODY_SIZE);
    free(odd);
  }
}

/* An older sender: HELLO without capabilities parses with the default; any
 * other body below its type's size is refused. */
static void test_older_sender(void **state) {
  (void)state;
  static const uint8_t old_hello[] = {1, 0, 0, 0, 16, 0, 0, 0, 8, 0, 0, 0,
                                      0, 0, 0, 0, 1,  0, 0, 0, 2, 0, 0, 0};
  cm_node_message m;
  assert_int_equal(parse(old_hello, sizeof(old_hello), 0, &m), CM_NODE_MESSAGE_OK);
  assert_int_equal(m.u.hello.min_version, 1);
  assert_int_equal(m.u.hello.max_version, 2);
  assert_true(m.u.hello.capabilities == CM_NODE_CAPABILITY_NONE);
  assert_int_equal(m.body_num_bytes, 8);
  for (int i = 0; i < NM_NUM_SAMPLES; i++) {
    const nm_sample *s = &samples[i];
    uint32_t body = get32_at(s->buf.bytes + 8);
    uint32_t min = s->type == CM_NODE_MESSAGE_HELLO ? 8 : body;
    uint8_t *copy = malloc(s->buf.size);
    memcpy(copy, s->buf.bytes, s->buf.size);
    put32_at(copy + 8, min - 8);
    /* Cut the last 8 bytes of the body out. */
    memmove(copy + 16 + min - 8, copy + 16 + body, s->buf.size - 16 - body);
    size_t n = s->buf.size - (body - min) - 8;
    assert_int_equal(parse(copy, n, s->num_fds, &m), CM_NODE_MESSAGE_E_BODY_SIZE);
    free(copy);
  }
}

static void test_negotiate(void **state) {
  (void)state;
  uint32_t v = 99;
  assert_true(cm_node_protocol_negotiate(1, 1, 1, 1, &v));
  assert_int_equal(v, 1);
  assert_true(cm_node_protocol_negotiate(1, 3, 2, 5, &v));
  assert_int_equal(v, 3);
  assert_true(cm_node_protocol_negotiate(2, 5, 1, 3, &v));
  assert_int_equal(v, 3);
  v = 99;
  assert_false(cm_node_protocol_negotiate(1, 1, 2, 3, &v));
  assert_false(cm_node_protocol_negotiate(3, 4, 1, 2, &v));
  assert_false(cm_node_protocol_negotiate(0, 0, 0, 1, &v));
  assert_int_equal(v, 99);
}

/* ---- Corruptions ------------------------------------------------------- */

static bool must_reject(const nm_sample *s, size_t at) {
  if (at >= 2 && at < 16)
    return true;
  for (int r = 0; r < 2; r++)
    if (at >= s->must_reject[r].begin && at < s->must_reject[r].end)
      return true;
  return false;
}

/* Every single-byte change (each bit flipped, set to 0, set to 0xff): a
 * change in a checked field is refused; a change in the type gives another
 * type or a refusal; any other accepted change is a message the encoders
 * write byte for byte (nothing of the input is ignored). */
static void test_single_byte_corruptions(void **state) {
  (void)state;
  size_t refused = 0, accepted = 0;
  for (int i = 0; i < NM_NUM_SAMPLES; i++) {
    const nm_sample *s = &samples[i];
    uint8_t *copy = malloc(s->buf.size);
    for (size_t at = 0; at < s->buf.size; at++) {
      for (int v = 0; v < 10; v++) {
        memcpy(copy, s->buf.bytes, s->buf.size);
        uint8_t was = copy[at];
        copy[at] = v < 8 ? (uint8_t)(was ^ (1u << v)) : v == 8 ? 0 : 0xff;
        if (copy[at] == was)
          continue;
        cm_node_message m;
        cm_node_message_error e = parse(copy, s->buf.size, s->num_fds, &m);
        if (e != CM_NODE_MESSAGE_OK) {
          refused++;
          assert_string_not_equal(cm_node_message_error_string(e), "ok");
          continue;
        }
        accepted++;
        if (must_reject(s, at))
          fail_msg("%s: byte %zu changed from %#x to %#x was accepted", s->name, at, was, copy[at]);
        if (at < 2) {
          assert_int_not_equal(m.type, s->type);
          continue;
        }
        if (!reencodes_to(&m, copy, s->buf.size))
          fail_msg("%s: byte %zu changed to %#x parsed to a different message", s->name, at,
                   copy[at]);
      }
    }
    free(copy);
  }
  print_message("single-byte changes: %zu refused, %zu accepted as other valid messages\n", refused,
                accepted);
}

static void test_zero_names_refused(void **state) {
  (void)state;
  size_t checked = 0;
  for (int i = 0; i < NM_NUM_SAMPLES; i++) {
    const nm_sample *s = &samples[i];
    for (int k = 0; k < 3 && s->names[k].offset; k++) {
      uint8_t *copy = malloc(s->buf.size);
      memcpy(copy, s->buf.bytes, s->buf.size);
      memset(copy + s->names[k].offset, 0, 16);
      cm_node_message m;
      assert_int_equal(parse(copy, s->buf.size, s->num_fds, &m), s->names[k].if_zero);
      /* Half a name is still a name. */
      memset(copy + s->names[k].offset, 0x77, 8);
      assert_int_equal(parse(copy, s->buf.size, s->num_fds, &m), CM_NODE_MESSAGE_OK);
      free(copy);
      checked++;
    }
  }
  assert_int_equal(checked, 19);
}

/* Two names that must differ, made equal. */
static void test_same_names_refused(void **state) {
  (void)state;
  const char *which[] = {"accept_invitee", "accept_invitation", "accept_peer",
                         "bad_message_report"};
  for (int i = 0; i < NM_NUM_SAMPLES; i++) {
    const nm_sample *s = &samples[i];
    for (size_t w = 0; w < 4; w++) {
      if (strcmp(s->name, which[w]) != 0)
        continue;
      uint8_t *copy = malloc(s->buf.size);
      memcpy(copy, s->buf.bytes, s->buf.size);
      memcpy(copy + 32, copy + 16, 16);
      cm_node_message m;
      assert_int_equal(parse(copy, s->buf.size, s->num_fds, &m), CM_NODE_MESSAGE_E_SAME_NAMES);
      free(copy);
    }
  }
  const cm_name a = NM_NAME(1);
  cm_node_message_buffer buf;
  cm_node_message_buffer_init(&buf);
  assert_int_equal(cm_node_message_encode_accept_invitee(&buf, &a, &a),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_node_message_encode_accept_peer(&buf, &a, &a, &a),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_null(buf.bytes);
}

/* The fd count: the header and the fds received must agree, and the type
 * must allow it. */
static void test_fd_counts(void **state) {
  (void)state;
  for (int i = 0; i < NM_NUM_SAMPLES; i++) {
    const nm_sample *s = &samples[i];
    cm_node_message m;
    assert_int_equal(parse(s->buf.bytes, s->buf.size, s->num_fds + 1, &m),
                     CM_NODE_MESSAGE_E_FD_MISMATCH);
    if (s->num_fds)
      assert_int_equal(parse(s->buf.bytes, s->buf.size, s->num_fds - 1, &m),
                       CM_NODE_MESSAGE_E_FD_MISMATCH);
    uint8_t *copy = malloc(s->buf.size);
    memcpy(copy, s->buf.bytes, s->buf.size);
    size_t fds = s->num_fds + 1;
    copy[6] = (uint8_t)fds;
    cm_node_message_error want = CM_NODE_MESSAGE_E_FD_COUNT;
    cm_node_message_error e = parse(copy, s->buf.size, fds, &m);
    if (s->type == CM_NODE_MESSAGE_EVENT && s->num_fds)
      want = CM_NODE_MESSAGE_OK; /* a user message with handles may carry more */
    else if ((s->type == CM_NODE_MESSAGE_ACCEPT_BROKER_CLIENT ||
              s->type == CM_NODE_MESSAGE_INTRODUCE) &&
             s->num_fds == 0)
      want = CM_NODE_MESSAGE_OK; /* the variant with a channel */
    else if (s->type == CM_NODE_MESSAGE_EVENT)
      want = strcmp(s->name, "event_control") == 0 ? CM_NODE_MESSAGE_E_CONTROL_ATTACHMENT
                                                   : CM_NODE_MESSAGE_E_FD_COUNT;
    if (e != want)
      fail_msg("%s with %zu fds: %s", s->name, fds, cm_node_message_error_string(e));
    if (s->num_fds) {
      fds = s->num_fds - 1;
      copy[6] = (uint8_t)fds;
      e = parse(copy, s->buf.size, fds, &m);
      /* BROKER_CLIENT_ADDED needs its fd; the others may go without. */
      assert_int_equal(e, s->type == CM_NODE_MESSAGE_BROKER_CLIENT_ADDED
                              ? CM_NODE_MESSAGE_E_FD_COUNT
                              : CM_NODE_MESSAGE_OK);
    }
    free(copy);
  }
  /* An event message may carry up to 253 fds, not 254. */
  const nm_sample *ev = &samples[9];
  uint8_t *copy = malloc(ev->buf.size);
  memcpy(copy, ev->buf.bytes, ev->buf.size);
  cm_node_message m;
  copy[6] = 253;
  assert_int_equal(parse(copy, ev->buf.size, 253, &m), CM_NODE_MESSAGE_OK);
  copy[6] = 254;
  assert_int_equal(parse(copy, ev->buf.size, 254, &m), CM_NODE_MESSAGE_E_FD_COUNT);
  free(copy);
}

/* A copy of sample `name` with the 32-bit field at `at` set to v. */
static cm_node_message_error parse_with32(const char *name, size_t at, uint32_t v) {
  for (int i = 0; i < NM_NUM_SAMPLES; i++) {
    const nm_sample *s = &samples[i];
    if (strcmp(s->name, name) != 0)
      continue;
    uint8_t *copy = malloc(s->buf.size);
    memcpy(copy, s->buf.bytes, s->buf.size);
    put32_at(copy + at, v);
    cm_node_message m;
    cm_node_message_error e = parse(copy, s->buf.size, s->num_fds, &m);
    free(copy);
    return e;
  }
  fail_msg("no sample %s", name);
  return CM_NODE_MESSAGE_OK;
}

/* Each check, by its error code. */
static void test_each_check(void **state) {
  (void)state;
  cm_node_message m;
  assert_int_equal(cm_node_message_parse(NULL, 4, 0, &m), CM_NODE_MESSAGE_E_ARGUMENT);
  assert_int_equal(cm_node_message_parse(samples[0].buf.bytes, 32, 0, NULL),
                   CM_NODE_MESSAGE_E_ARGUMENT);
  assert_int_equal(cm_node_message_parse(NULL, 0, 0, &m), CM_NODE_MESSAGE_E_SHORT_HEADER);
  /* Header. */
  assert_int_equal(parse_with32("hello", 0, 0), CM_NODE_MESSAGE_E_UNKNOWN_TYPE);
  assert_int_equal(parse_with32("hello", 0, CM_NODE_MESSAGE_TYPE_LAST + 1),
                   CM_NODE_MESSAGE_E_UNKNOWN_TYPE);
  assert_int_equal(parse_with32("hello", 0, 0xffff), CM_NODE_MESSAGE_E_UNKNOWN_TYPE);
  assert_int_equal(parse_with32("hello", 0, 1 | 1u << 16), CM_NODE_MESSAGE_E_FLAGS);
  assert_int_equal(parse_with32("hello", 4, 8), CM_NODE_MESSAGE_E_HEADER_SIZE);
  assert_int_equal(parse_with32("hello", 4, 20), CM_NODE_MESSAGE_E_HEADER_SIZE);
  assert_int_equal(parse_with32("hello", 4, 40), CM_NODE_MESSAGE_E_HEADER_OVERRUN);
  assert_int_equal(parse_with32("hello", 8, 12), CM_NODE_MESSAGE_E_BODY_SIZE);
  assert_int_equal(parse_with32("hello", 8, 24), CM_NODE_MESSAGE_E_BODY_OVERRUN);
  assert_int_equal(parse_with32("hello", 8, UINT32_MAX - 7), CM_NODE_MESSAGE_E_BODY_OVERRUN);
  assert_int_equal(parse_with32("hello", 12, 1), CM_NODE_MESSAGE_E_RESERVED);
  /* Hello. */
  assert_int_equal(parse_with32("hello", 16, 0), CM_NODE_MESSAGE_E_VERSION_RANGE);
  assert_int_equal(parse_with32("hello", 16, 2), CM_NODE_MESSAGE_E_VERSION_RANGE);
  assert_int_equal(parse_with32("hello", 20, 7), CM_NODE_MESSAGE_OK);
  /* Texts and names. */
  assert_int_equal(parse_with32("goodbye", 20, CM_MAX_NODE_MESSAGE_TEXT_BYTES + 1),
                   CM_NODE_MESSAGE_E_TEXT_TOO_LONG);
  assert_int_equal(parse_with32("goodbye", 20, 10), CM_NODE_MESSAGE_E_TAIL_OVERRUN);
  assert_int_equal(parse_with32("goodbye", 20, 8), CM_NODE_MESSAGE_E_TRAILING_BYTES);
  assert_int_equal(parse_with32("goodbye", 16, 12345), CM_NODE_MESSAGE_OK);
  assert_int_equal(parse_with32("bad_message_report", 48, CM_MAX_NODE_MESSAGE_TEXT_BYTES + 1),
                   CM_NODE_MESSAGE_E_TEXT_TOO_LONG);
  assert_int_equal(parse_with32("bad_message_report", 52, 1), CM_NODE_MESSAGE_E_RESERVED);
  assert_int_equal(parse_with32("request_port_merge", 32, CM_MAX_INVITATION_NAME_BYTES + 1),
                   CM_NODE_MESSAGE_E_NAME_TOO_LONG);
  assert_int_equal(parse_with32("request_port_merge", 36, 1), CM_NODE_MESSAGE_E_RESERVED);
  assert_int_equal(parse_with32("request_port_merge", 32, UINT32_MAX),
                   CM_NODE_MESSAGE_E_NAME_TOO_LONG);
  /* Events. */
  assert_int_equal(parse_with32("event_user", 16, 40), CM_NODE_MESSAGE_E_EVENT_SIZE);
  assert_int_equal(parse_with32("event_user", 16, 68), CM_NODE_MESSAGE_E_EVENT_SIZE);
  assert_int_equal(parse_with32("event_user", 16, 72), CM_NODE_MESSAGE_E_TAIL_OVERRUN);
  assert_int_equal(parse_with32("event_user", 16, 56), CM_NODE_MESSAGE_E_TRAILING_BYTES);
  assert_int_equal(parse_with32("event_user", 16, CM_MAX_NODE_EVENT_BYTES + 8),
                   CM_NODE_MESSAGE_E_EVENT_TOO_LARGE);
  assert_int_equal(parse_with32("event_user", 16, UINT32_MAX & ~7u),
                   CM_NODE_MESSAGE_E_EVENT_TOO_LARGE);
  assert_int_equal(parse_with32("event_user", 20, CM_MAX_MESSAGE_BYTES + 1),
                   CM_NODE_MESSAGE_E_PAYLOAD_TOO_LARGE);
  assert_int_equal(parse_with32("event_user", 20, UINT32_MAX), CM_NODE_MESSAGE_E_PAYLOAD_TOO_LARGE);
  assert_int_equal(parse_with32("event_user", 20, 25), CM_NODE_MESSAGE_E_TAIL_OVERRUN);
  assert_int_equal(parse_with32("event_user", 24, CM_MAX_HANDLES_PER_MESSAGE + 1),
                   CM_NODE_MESSAGE_E_TOO_MANY_HANDLES);
  assert_int_equal(parse_with32("event_user", 24, CM_MAX_HANDLES_PER_MESSAGE), CM_NODE_MESSAGE_OK);
  assert_int_equal(parse_with32("event_user", 24, 0), CM_NODE_MESSAGE_E_FD_COUNT);
  assert_int_equal(parse_with32("event_user", 28, 1), CM_NODE_MESSAGE_E_RESERVED);
  assert_int_equal(parse_with32("event_user", 32, CM_EVENT_OBSERVE_PROXY),
                   CM_NODE_MESSAGE_E_CONTROL_ATTACHMENT);
  assert_int_equal(parse_with32("event_control", 24, 1), CM_NODE_MESSAGE_E_CONTROL_ATTACHMENT);
  assert_int_equal(parse_with32("event_control", 32, CM_EVENT_USER_MESSAGE), CM_NODE_MESSAGE_OK);
  assert_int_equal(parse_with32("broadcast_event", 40, CM_EVENT_USER_MESSAGE),
                   CM_NODE_MESSAGE_E_BROADCAST_USER);
  assert_int_equal(parse_with32("broadcast_event", 32, 40), CM_NODE_MESSAGE_E_EVENT_SIZE);
  assert_int_equal(parse_with32("broadcast_event", 32, 120), CM_NODE_MESSAGE_E_TAIL_OVERRUN);
  assert_int_equal(parse_with32("broadcast_event", 36, 1), CM_NODE_MESSAGE_E_RESERVED);
  /* Every code has its own sentence. */
  for (int e = 0; e < CM_NODE_MESSAGE_E_COUNT_; e++) {
    const char *str = cm_node_message_error_string((cm_node_message_error)e);
    assert_non_null(str);
    for (int f = 0; f < e; f++)
      assert_string_not_equal(str, cm_node_message_error_string((cm_node_message_error)f));
  }
  assert_non_null(cm_node_message_error_string(CM_NODE_MESSAGE_E_COUNT_));
}

/* The encoders refuse what the parser would refuse, and leave the buffer
 * as it was. */
static void test_encoder_refusals(void **state) {
  (void)state;
  cm_node_message_buffer buf;
  cm_node_message_buffer_init(&buf);
  const cm_name a = NM_NAME(1), zero = {0, 0};
  assert_int_equal(cm_node_message_encode_hello(&buf, 1, 1, 0), MOJO_RESULT_OK);
  uint8_t before[32];
  memcpy(before, buf.bytes, 32);
  const MojoResult bad = MOJO_RESULT_INVALID_ARGUMENT;
  assert_int_equal(cm_node_message_encode_hello(&buf, 0, 1, 0), bad);
  assert_int_equal(cm_node_message_encode_hello(&buf, 2, 1, 0), bad);
  assert_int_equal(cm_node_message_encode_hello(NULL, 1, 1, 0), bad);
  assert_int_equal(cm_node_message_encode_goodbye(&buf, 0, NULL, 1), bad);
  static char big[CM_MAX_INVITATION_NAME_BYTES + 1];
  assert_int_equal(cm_node_message_encode_goodbye(&buf, 0, big, sizeof(big)), bad);
  assert_int_equal(cm_node_message_encode_accept_invitee(&buf, &zero, &a), bad);
  assert_int_equal(cm_node_message_encode_accept_invitation(&buf, &a, NULL), bad);
  assert_int_equal(cm_node_message_encode_add_broker_client(&buf, &zero, 1), bad);
  assert_int_equal(cm_node_message_encode_broker_client_added(&buf, &zero), bad);
  assert_int_equal(cm_node_message_encode_accept_broker_client(&buf, &zero, true), bad);
  assert_int_equal(cm_node_message_encode_request_introduction(&buf, &zero), bad);
  assert_int_equal(cm_node_message_encode_introduce(&buf, &zero, false), bad);
  assert_int_equal(cm_node_message_encode_request_port_merge(&buf, &zero, "x", 1), bad);
  assert_int_equal(cm_node_message_encode_request_port_merge(&buf, &a, big, sizeof(big)), bad);
  assert_int_equal(cm_node_message_encode_bad_message_report(&buf, &a, &zero, "x", 1), bad);
  assert_int_equal(cm_node_message_encode_accept_peer(&buf, &a, &NM_NAME(2), &zero), bad);
  uint8_t ev[48];
  nm_fill_event(ev, sizeof(ev), CM_EVENT_USER_MESSAGE);
  assert_int_equal(cm_node_message_encode_broadcast_event(&buf, &a, ev, 48), bad);
  nm_fill_event(ev, sizeof(ev), CM_EVENT_OBSERVE_PROXY);
  assert_int_equal(cm_node_message_encode_broadcast_event(&buf, &a, ev, 40), bad);
  assert_int_equal(cm_node_message_encode_broadcast_event(&buf, &zero, ev, 48), bad);
  void *e = NULL, *p = NULL;
  assert_int_equal(cm_node_message_encode_event(&buf, 52, 0, 0, 0, &e, &p), bad);
  assert_int_equal(cm_node_message_encode_event(&buf, 40, 0, 0, 0, &e, &p), bad);
  assert_int_equal(cm_node_message_encode_event(&buf, CM_MAX_NODE_EVENT_BYTES + 8, 0, 0, 0, &e, &p),
                   bad);
  assert_int_equal(cm_node_message_encode_event(&buf, 48, CM_MAX_MESSAGE_BYTES + 1, 1, 0, &e, &p),
                   bad);
  assert_int_equal(
      cm_node_message_encode_event(&buf, 48, 0, CM_MAX_HANDLES_PER_MESSAGE + 1, 0, &e, &p), bad);
  assert_int_equal(cm_node_message_encode_event(&buf, 48, 0, 1, 254, &e, &p), bad);
  assert_int_equal(cm_node_message_encode_event(&buf, 48, 0, 0, 1, &e, &p), bad);
  assert_int_equal(cm_node_message_encode_event(&buf, 48, 8, 1, 0, &e, NULL), bad);
  assert_null(e);
  assert_int_equal(buf.size, 32);
  assert_memory_equal(buf.bytes, before, 32);
  cm_node_message_buffer_free(&buf);
  assert_null(buf.bytes);
}

/* One buffer, many messages: it keeps its memory and each message replaces
 * the last. */
static void test_buffer_reuse(void **state) {
  (void)state;
  cm_node_message_buffer buf = {0};
  static char text[CM_MAX_NODE_MESSAGE_TEXT_BYTES];
  memset(text, 'x', sizeof(text));
  assert_int_equal(cm_node_message_encode_goodbye(&buf, 0, text, sizeof(text)), MOJO_RESULT_OK);
  size_t cap = buf.capacity;
  assert_true(cap >= 24 + sizeof(text));
  assert_int_equal(cm_node_message_encode_request_introduction(&buf, &NM_NAME(3)), MOJO_RESULT_OK);
  assert_int_equal(buf.size, 32);
  assert_int_equal(buf.capacity, cap);
  cm_node_message m;
  assert_int_equal(cm_node_message_parse(buf.bytes, buf.size, 0, &m), CM_NODE_MESSAGE_OK);
  assert_int_equal(m.type, CM_NODE_MESSAGE_REQUEST_INTRODUCTION);
  cm_node_message_buffer_free(&buf);
}

/* ---- Random mutations -------------------------------------------------- */

static uint64_t rng_state;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Random changes (bytes, 32-bit fields set to edge values, cuts,
 * extensions, fd counts) never crash or read outside the input (ASan
 * builds), and whatever is accepted in this build's form re-encodes to the
 * same bytes. */
static void test_random_mutations(void **state) {
  (void)state;
  uint64_t seed = cm_test_seed(0x6e6f64656d736721ull);
  print_message("seed %llu\n", (unsigned long long)seed);
  rng_state = seed ^ 0x9e3779b97f4a7c15ull; /* xorshift needs a nonzero state */
  if (rng_state == 0)
    rng_state = 1;
  static const uint32_t edges[] = {0,
                                   1,
                                   7,
                                   8,
                                   16,
                                   48,
                                   0xffff,
                                   0x10000,
                                   0x7fffffff,
                                   UINT32_MAX,
                                   CM_MAX_NODE_EVENT_BYTES,
                                   CM_MAX_MESSAGE_BYTES};
  size_t accepted = 0;
  const int iterations = 200000;
  for (int it = 0; it < iterations; it++) {
    const nm_sample *s = &samples[rnd() % NM_NUM_SAMPLES];
    size_t n = s->buf.size;
    size_t cap = n + 64;
    uint8_t *copy = malloc(cap);
    memcpy(copy, s->buf.bytes, n);
    memset(copy + n, 0, cap - n);
    size_t fds = s->num_fds;
    int changes = 1 + (int)(rnd() % 4);
    for (int c = 0; c < changes; c++) {
      switch (rnd() % 6) {
        case 0:
        case 1:
          copy[rnd() % n] = (uint8_t)rnd();
          break;
        case 2:
          if (n >= 4)
            put32_at(copy + (rnd() % (n - 3) & ~(size_t)3), edges[rnd() % 12]);
          break;
        case 3:
          n = (size_t)(rnd() % (n + 1));
          break;
        case 4:
          n += (size_t)(rnd() % (cap - n + 1));
          break;
        default:
          fds = (size_t)(rnd() % 4);
          break;
      }
      if (n == 0)
        break;
    }
    uint8_t *exact = malloc(n ? n : 1);
    memcpy(exact, copy, n);
    cm_node_message m;
    if (cm_node_message_parse(exact, n, fds, &m) == CM_NODE_MESSAGE_OK) {
      accepted++;
      if (n >= 6 && exact[4] == 16 && exact[5] == 0) {
        cm_node_message_buffer buf = {0};
        assert_int_equal(cm_node_message_encode(&buf, &m), MOJO_RESULT_OK);
        if (buf.size == n && memcmp(buf.bytes, exact, n) != 0)
          fail_msg("iteration %d (seed %llu): accepted bytes do not re-encode", it,
                   (unsigned long long)seed);
        cm_node_message_buffer_free(&buf);
      }
    }
    free(exact);
    free(copy);
  }
  print_message("%d mutations, %zu accepted\n", iterations, accepted);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_every_type),
      cmocka_unit_test(test_wire_bytes),
      cmocka_unit_test(test_every_truncation_refused),
      cmocka_unit_test(test_trailing_bytes_refused),
      cmocka_unit_test(test_newer_sender_parses),
      cmocka_unit_test(test_older_sender),
      cmocka_unit_test(test_negotiate),
      cmocka_unit_test(test_single_byte_corruptions),
      cmocka_unit_test(test_zero_names_refused),
      cmocka_unit_test(test_same_names_refused),
      cmocka_unit_test(test_fd_counts),
      cmocka_unit_test(test_each_check),
      cmocka_unit_test(test_encoder_refusals),
      cmocka_unit_test(test_buffer_reuse),
      cmocka_unit_test(test_random_mutations),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
