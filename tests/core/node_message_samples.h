/* One valid node message of every type (and of the variants a type has: with
 * and without fds, empty texts, control and user events), built with the
 * encoders, shared by tests/core/test_node_message.c and the fuzz replay
 * test (as seeds). Every byte of every name is nonzero and the two names of
 * a message differ in every byte by more than one bit, so a single-byte
 * change can neither zero a name nor make two names equal.
 *
 * For each sample the table also says which byte ranges a receiver must
 * refuse any change to (length fields, reserved fields, the fields whose
 * every other value breaks a rule) and where its names are, with the error
 * a zeroed name gives. */
#ifndef CMOJO_TESTS_CORE_NODE_MESSAGE_SAMPLES_H_
#define CMOJO_TESTS_CORE_NODE_MESSAGE_SAMPLES_H_

#include <stdlib.h>
#include <string.h>

#include "core/node_message.h"

#define NM_NAME(a) ((cm_name){0x0101010101010101ull * (a), 0x0101010101010101ull * (a)})

typedef struct nm_range {
  size_t begin, end; /* [begin, end) of the message; end 0 = unused */
} nm_range;

typedef struct nm_name_at {
  size_t offset; /* 0 = unused */
  cm_node_message_error if_zero;
} nm_name_at;

typedef struct nm_sample {
  const char *name;
  cm_node_message_type type;
  size_t num_fds;
  nm_range must_reject[2]; /* besides the header's bytes 2..15 */
  nm_name_at names[3];
  cm_node_message_buffer buf;
} nm_sample;

enum { NM_NUM_SAMPLES = 20 };

static const char nm_text[] = "bad frame";
static const char nm_pipe_name[] = "pipe-name";

/* Fills an event of `len` bytes whose ports header says `type`; the rest is
 * a recognizable pattern (this layer does not look inside events). */
static inline void nm_fill_event(void *at, size_t len, uint32_t type) {
  uint8_t *p = at;
  for (size_t i = 0; i < len; i++)
    p[i] = (uint8_t)(0x40 + i);
  p[0] = (uint8_t)type, p[1] = p[2] = p[3] = 0;
}

static inline void nm_event(nm_sample *s, size_t event_len, uint32_t event_type, size_t payload_len,
                            uint32_t handles, size_t fds) {
  void *ev = NULL, *payload = NULL;
  if (cm_node_message_encode_event(&s->buf, event_len, payload_len, handles, fds, &ev, &payload) !=
      MOJO_RESULT_OK)
    abort();
  nm_fill_event(ev, event_len, event_type);
  for (size_t i = 0; i < payload_len; i++)
    ((uint8_t *)payload)[i] = (uint8_t)(0x90 + i);
}

static inline void nm_samples_build(nm_sample s[NM_NUM_SAMPLES]) {
  memset(s, 0, sizeof(nm_sample) * NM_NUM_SAMPLES);
  const cm_name a = NM_NAME(0x11), b = NM_NAME(0x22), c = NM_NAME(0x44);
  const cm_node_message_error node = CM_NODE_MESSAGE_E_ZERO_NODE_NAME;
  const cm_node_message_error port = CM_NODE_MESSAGE_E_ZERO_PORT_NAME;
  const cm_node_message_error token = CM_NODE_MESSAGE_E_ZERO_TOKEN;
  MojoResult r = MOJO_RESULT_OK;
  int i = 0;
#define NM_ADD(nm, ty, fds, ...) \
  (s[i] = (nm_sample){.name = nm, .type = ty, .num_fds = fds, __VA_ARGS__}, &s[i++].buf)

  /* HELLO: with max 1, any change to min_version breaks the range. */
  r |= cm_node_message_encode_hello(
      NM_ADD("hello", CM_NODE_MESSAGE_HELLO, 0, .must_reject = {{16, 20}}), 1, 1,
      0x0102030405060708ull);
  r |= cm_node_message_encode_goodbye(
      NM_ADD("goodbye", CM_NODE_MESSAGE_GOODBYE, 0, .must_reject = {{20, 24}}),
      MOJO_RESULT_DATA_LOSS, nm_text, sizeof(nm_text) - 1);
  r |= cm_node_message_encode_goodbye(
      NM_ADD("goodbye_empty", CM_NODE_MESSAGE_GOODBYE, 0, .must_reject = {{20, 24}}),
      MOJO_RESULT_OK, NULL, 0);
  r |=
      cm_node_message_encode_accept_invitee(NM_ADD("accept_invitee", CM_NODE_MESSAGE_ACCEPT_INVITEE,
                                                   0, .names = {{16, node}, {32, token}}),
                                            &a, &b);
  r |= cm_node_message_encode_accept_invitation(
      NM_ADD("accept_invitation", CM_NODE_MESSAGE_ACCEPT_INVITATION, 0,
             .names = {{16, token}, {32, node}}),
      &b, &c);
  r |= cm_node_message_encode_add_broker_client(
      NM_ADD("add_broker_client", CM_NODE_MESSAGE_ADD_BROKER_CLIENT, 0, .names = {{16, node}}), &c,
      4242);
  r |= cm_node_message_encode_broker_client_added(
      NM_ADD("broker_client_added", CM_NODE_MESSAGE_BROKER_CLIENT_ADDED, 1, .names = {{16, node}}),
      &c);
  r |= cm_node_message_encode_accept_broker_client(
      NM_ADD("accept_broker_client_channel", CM_NODE_MESSAGE_ACCEPT_BROKER_CLIENT, 1,
             .names = {{16, node}}),
      &a, true);
  r |= cm_node_message_encode_accept_broker_client(
      NM_ADD("accept_broker_client_direct", CM_NODE_MESSAGE_ACCEPT_BROKER_CLIENT, 0,
             .names = {{16, node}}),
      &a, false);
  /* A user message with a payload, handles and fds: its event type may not
   * change (a control event carries nothing). */
  NM_ADD("event_user", CM_NODE_MESSAGE_EVENT, 2, .must_reject = {{16, 24}, {28, 36}});
  nm_event(&s[i - 1], 64, CM_EVENT_USER_MESSAGE, 24, 2, 2);
  NM_ADD("event_control", CM_NODE_MESSAGE_EVENT, 0, .must_reject = {{16, 24}, {28, 32}});
  nm_event(&s[i - 1], 56, CM_EVENT_OBSERVE_CLOSURE, 0, 0, 0);
  NM_ADD("event_user_empty", CM_NODE_MESSAGE_EVENT, 0, .must_reject = {{16, 24}, {28, 32}});
  nm_event(&s[i - 1], 64, CM_EVENT_USER_MESSAGE, 0, 0, 0);
  r |= cm_node_message_encode_request_port_merge(
      NM_ADD("request_port_merge", CM_NODE_MESSAGE_REQUEST_PORT_MERGE, 0, .must_reject = {{32, 40}},
             .names = {{16, port}}),
      &b, nm_pipe_name, sizeof(nm_pipe_name) - 1);
  r |= cm_node_message_encode_request_port_merge(
      NM_ADD("request_port_merge_empty_name", CM_NODE_MESSAGE_REQUEST_PORT_MERGE, 0,
             .must_reject = {{32, 40}}, .names = {{16, port}}),
      &b, NULL, 0);
  r |= cm_node_message_encode_request_introduction(
      NM_ADD("request_introduction", CM_NODE_MESSAGE_REQUEST_INTRODUCTION, 0,
             .names = {{16, node}}),
      &a);
  r |= cm_node_message_encode_introduce(
      NM_ADD("introduce", CM_NODE_MESSAGE_INTRODUCE, 1, .names = {{16, node}}), &b, true);
  r |= cm_node_message_encode_introduce(
      NM_ADD("introduce_unknown", CM_NODE_MESSAGE_INTRODUCE, 0, .names = {{16, node}}), &b, false);
  {
    uint8_t ev[112];
    nm_fill_event(ev, sizeof(ev), CM_EVENT_OBSERVE_PROXY);
    r |= cm_node_message_encode_broadcast_event(
        NM_ADD("broadcast_event", CM_NODE_MESSAGE_BROADCAST_EVENT, 0, .must_reject = {{32, 40}},
               .names = {{16, node}}),
        &a, ev, sizeof(ev));
  }
  r |= cm_node_message_encode_accept_peer(NM_ADD("accept_peer", CM_NODE_MESSAGE_ACCEPT_PEER, 0,
                                                 .names = {{16, token}, {32, node}, {48, port}}),
                                          &a, &b, &c);
  r |= cm_node_message_encode_bad_message_report(
      NM_ADD("bad_message_report", CM_NODE_MESSAGE_BAD_MESSAGE_REPORT, 0, .must_reject = {{48, 56}},
             .names = {{16, node}, {32, node}}),
      &a, &c, nm_text, sizeof(nm_text) - 1);
#undef NM_ADD
  if (r != MOJO_RESULT_OK || i != NM_NUM_SAMPLES)
    abort();
}

static inline void nm_samples_free(nm_sample s[NM_NUM_SAMPLES]) {
  for (int i = 0; i < NM_NUM_SAMPLES; i++)
    cm_node_message_buffer_free(&s[i].buf);
}

#endif /* CMOJO_TESTS_CORE_NODE_MESSAGE_SAMPLES_H_ */
