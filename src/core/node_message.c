/* node_message: encoders and the parser of node messages. The layouts and
 * the reasons behind them are in docs/node-protocol.md; this file follows
 * its tables. Reads and writes go byte by byte (little-endian), so neither
 * side depends on the host's byte order or on the input's alignment. */
#include "core/node_message.h"

#include <stdlib.h>
#include <string.h>

#include "cm_limits.h"

_Static_assert(CM_NODE_MESSAGE_MIN_EVENT_BYTES % 8 == 0, "events are 8-byte multiples");
_Static_assert(CM_MAX_NODE_EVENT_BYTES % 8 == 0, "event limit is 8-aligned");
_Static_assert(CM_MAX_NODE_EVENT_BYTES <= UINT32_MAX && CM_MAX_MESSAGE_BYTES <= UINT32_MAX,
               "event and payload lengths fit the body's 32-bit fields");
_Static_assert(4096ull + CM_MAX_NODE_EVENT_BYTES + CM_MAX_MESSAGE_BYTES <=
                   CM_MAX_FRAME_PAYLOAD_BYTES,
               "a maximal event message fits one frame");
_Static_assert(CM_MAX_OS_HANDLES_PER_FRAME <= UINT16_MAX, "fd count fits the header");

/* Per type: the body size version 1 writes (also the smallest accepted,
 * except where min_body says older senders wrote less) and the fds allowed. */
typedef struct type_info {
  const char *name;
  uint32_t version; /* protocol version that introduced the type */
  uint32_t min_body;
  uint32_t body; /* what this build writes */
  uint32_t min_fds;
  uint32_t max_fds;
} type_info;

static const type_info kTypes[CM_NODE_MESSAGE_TYPE_LAST + 1] = {
    [CM_NODE_MESSAGE_HELLO] = {"HELLO", 1, 8, 16, 0, 0},
    [CM_NODE_MESSAGE_GOODBYE] = {"GOODBYE", 1, 8, 8, 0, 0},
    [CM_NODE_MESSAGE_ACCEPT_INVITEE] = {"ACCEPT_INVITEE", 1, 32, 32, 0, 0},
    [CM_NODE_MESSAGE_ACCEPT_INVITATION] = {"ACCEPT_INVITATION", 1, 32, 32, 0, 0},
    [CM_NODE_MESSAGE_ADD_BROKER_CLIENT] = {"ADD_BROKER_CLIENT", 1, 24, 24, 0, 0},
    [CM_NODE_MESSAGE_BROKER_CLIENT_ADDED] = {"BROKER_CLIENT_ADDED", 1, 16, 16, 1, 1},
    [CM_NODE_MESSAGE_ACCEPT_BROKER_CLIENT] = {"ACCEPT_BROKER_CLIENT", 1, 16, 16, 0, 1},
    [CM_NODE_MESSAGE_EVENT] = {"EVENT", 1, 16, 16, 0, CM_MAX_OS_HANDLES_PER_FRAME},
    [CM_NODE_MESSAGE_REQUEST_PORT_MERGE] = {"REQUEST_PORT_MERGE", 1, 24, 24, 0, 0},
    [CM_NODE_MESSAGE_REQUEST_INTRODUCTION] = {"REQUEST_INTRODUCTION", 1, 16, 16, 0, 0},
    [CM_NODE_MESSAGE_INTRODUCE] = {"INTRODUCE", 1, 16, 16, 0, 1},
    [CM_NODE_MESSAGE_BROADCAST_EVENT] = {"BROADCAST_EVENT", 1, 24, 24, 0, 0},
    [CM_NODE_MESSAGE_ACCEPT_PEER] = {"ACCEPT_PEER", 1, 48, 48, 0, 0},
    [CM_NODE_MESSAGE_BAD_MESSAGE_REPORT] = {"BAD_MESSAGE_REPORT", 1, 40, 40, 0, 0},
};

static const type_info *type_lookup(uint32_t type) {
  if (type < CM_NODE_MESSAGE_TYPE_FIRST || type > CM_NODE_MESSAGE_TYPE_LAST)
    return NULL;
  return &kTypes[type];
}

static const char *const kErrors[CM_NODE_MESSAGE_E_COUNT_] = {
    [CM_NODE_MESSAGE_OK] = "ok",
    [CM_NODE_MESSAGE_E_ARGUMENT] = "node message: no bytes or no output given",
    [CM_NODE_MESSAGE_E_SHORT_HEADER] = "node message: shorter than its 16-byte header",
    [CM_NODE_MESSAGE_E_HEADER_SIZE] = "node message: header size below 16 or not a multiple of 8",
    [CM_NODE_MESSAGE_E_HEADER_OVERRUN] = "node message: header size beyond the message",
    [CM_NODE_MESSAGE_E_FLAGS] = "node message: flags not zero (none is defined)",
    [CM_NODE_MESSAGE_E_RESERVED] = "node message: reserved field not zero",
    [CM_NODE_MESSAGE_E_UNKNOWN_TYPE] = "node message: unknown message type",
    [CM_NODE_MESSAGE_E_FD_MISMATCH] =
        "node message: fd count in the header differs from the fds received",
    [CM_NODE_MESSAGE_E_FD_COUNT] = "node message: fd count not allowed for this type",
    [CM_NODE_MESSAGE_E_BODY_SIZE] =
        "node message: body smaller than its type's minimum or not a multiple of 8",
    [CM_NODE_MESSAGE_E_BODY_OVERRUN] = "node message: body size beyond the message",
    [CM_NODE_MESSAGE_E_TAIL_OVERRUN] = "node message: a length in the body runs past the end",
    [CM_NODE_MESSAGE_E_TRAILING_BYTES] = "node message: bytes after the end the message states",
    [CM_NODE_MESSAGE_E_VERSION_RANGE] = "hello: version 0, or minimum version above maximum",
    [CM_NODE_MESSAGE_E_ZERO_NODE_NAME] = "node message: a required node name is zero",
    [CM_NODE_MESSAGE_E_ZERO_PORT_NAME] = "node message: a required port name is zero",
    [CM_NODE_MESSAGE_E_ZERO_TOKEN] = "node message: a required token is zero",
    [CM_NODE_MESSAGE_E_SAME_NAMES] = "node message: two names that must differ are equal",
    [CM_NODE_MESSAGE_E_EVENT_SIZE] =
        "node message: event smaller than a ports event header or not a multiple of 8",
    [CM_NODE_MESSAGE_E_EVENT_TOO_LARGE] = "node message: event larger than the limit",
    [CM_NODE_MESSAGE_E_PAYLOAD_TOO_LARGE] = "event message: user message larger than the limit",
    [CM_NODE_MESSAGE_E_TOO_MANY_HANDLES] = "event message: more handles than a message may carry",
    [CM_NODE_MESSAGE_E_CONTROL_ATTACHMENT] =
        "event message: an event other than a user message carries a payload, handles or fds",
    [CM_NODE_MESSAGE_E_BROADCAST_USER] = "broadcast: a user message cannot be broadcast",
    [CM_NODE_MESSAGE_E_NAME_TOO_LONG] = "request port merge: attachment name longer than the limit",
    [CM_NODE_MESSAGE_E_TEXT_TOO_LONG] = "node message: text longer than the limit",
};

const char *cm_node_message_error_string(cm_node_message_error err) {
  if ((unsigned)err >= CM_NODE_MESSAGE_E_COUNT_)
    return "node message: unknown error";
  return kErrors[err];
}

const char *cm_node_message_type_name(uint32_t type) {
  const type_info *t = type_lookup(type);
  return t ? t->name : "?";
}

uint32_t cm_node_message_type_version(uint32_t type) {
  const type_info *t = type_lookup(type);
  return t ? t->version : 0;
}

bool cm_node_protocol_negotiate(uint32_t my_min, uint32_t my_max, uint32_t their_min,
                                uint32_t their_max, uint32_t *agreed) {
  uint32_t lo = my_min > their_min ? my_min : their_min;
  uint32_t hi = my_max < their_max ? my_max : their_max;
  if (lo == 0 || lo > hi)
    return false;
  *agreed = hi;
  return true;
}

/* ---- Little-endian access ---------------------------------------------- */

static uint16_t get16(const uint8_t *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) {
  return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}
static cm_name get_name(const uint8_t *p) {
  return (cm_name){get64(p), get64(p + 8)};
}
static uint8_t *put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
  return p + 2;
}
static uint8_t *put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
  return p + 4;
}
static uint8_t *put64(uint8_t *p, uint64_t v) {
  return put32(put32(p, (uint32_t)v), (uint32_t)(v >> 32));
}
static uint8_t *put_name(uint8_t *p, const cm_name *n) {
  return put64(put64(p, n->v1), n->v2);
}

/* ---- Parser ------------------------------------------------------------ */

/* What the type-specific parsers see: the body (at least min_body bytes,
 * maybe more from a newer sender) and the tail after it. */
typedef struct parts {
  const uint8_t *body;
  size_t body_len;
  const uint8_t *tail;
  size_t tail_len;
  size_t num_fds;
} parts;

static cm_node_message_error need_name(const uint8_t *p, cm_node_message_error if_zero,
                                       cm_name *out) {
  *out = get_name(p);
  return cm_name_is_valid(out) ? CM_NODE_MESSAGE_OK : if_zero;
}

/* A tail of exactly `len` bytes. */
static cm_node_message_error exact_tail(const parts *p, uint64_t len) {
  if (p->tail_len < len)
    return CM_NODE_MESSAGE_E_TAIL_OVERRUN;
  if (p->tail_len > len)
    return CM_NODE_MESSAGE_E_TRAILING_BYTES;
  return CM_NODE_MESSAGE_OK;
}

static cm_node_message_error check_event_size(uint32_t len) {
  if (len < CM_NODE_MESSAGE_MIN_EVENT_BYTES || len % 8 != 0)
    return CM_NODE_MESSAGE_E_EVENT_SIZE;
  if (len > CM_MAX_NODE_EVENT_BYTES)
    return CM_NODE_MESSAGE_E_EVENT_TOO_LARGE;
  return CM_NODE_MESSAGE_OK;
}

#define TRY(expr)                      \
  do {                                 \
    cm_node_message_error e_ = (expr); \
    if (e_ != CM_NODE_MESSAGE_OK)      \
      return e_;                       \
  } while (0)

static cm_node_message_error parse_hello(const parts *p, cm_node_message *m) {
  m->u.hello.min_version = get32(p->body);
  m->u.hello.max_version = get32(p->body + 4);
  m->u.hello.capabilities = p->body_len >= 16 ? get64(p->body + 8) : CM_NODE_CAPABILITY_NONE;
  if (m->u.hello.min_version == 0 || m->u.hello.min_version > m->u.hello.max_version)
    return CM_NODE_MESSAGE_E_VERSION_RANGE;
  return exact_tail(p, 0);
}

static cm_node_message_error parse_goodbye(const parts *p, cm_node_message *m) {
  uint32_t len = get32(p->body + 4);
  m->u.goodbye.reason = (MojoResult)get32(p->body);
  if (len > CM_MAX_NODE_MESSAGE_TEXT_BYTES)
    return CM_NODE_MESSAGE_E_TEXT_TOO_LONG;
  TRY(exact_tail(p, len));
  m->u.goodbye.text = (const char *)p->tail;
  m->u.goodbye.text_num_bytes = len;
  return CM_NODE_MESSAGE_OK;
}

/* Two distinct valid names at the start of the body (a name and a token,
 * or a report's subject and reporter). */
static cm_node_message_error two_names(const parts *p, cm_name *first,
                                       cm_node_message_error first_zero, cm_name *second,
                                       cm_node_message_error second_zero) {
  TRY(need_name(p->body, first_zero, first));
  TRY(need_name(p->body + 16, second_zero, second));
  return cm_name_equal(first, second) ? CM_NODE_MESSAGE_E_SAME_NAMES : CM_NODE_MESSAGE_OK;
}

static cm_node_message_error parse_event(const parts *p, cm_node_message *m) {
  uint32_t event_len = get32(p->body);
  uint32_t payload_len = get32(p->body + 4);
  uint32_t num_handles = get32(p->body + 8);
  if (get32(p->body + 12) != 0)
    return CM_NODE_MESSAGE_E_RESERVED;
  TRY(check_event_size(event_len));
  if (payload_len > CM_MAX_MESSAGE_BYTES)
    return CM_NODE_MESSAGE_E_PAYLOAD_TOO_LARGE;
  if (num_handles > CM_MAX_HANDLES_PER_MESSAGE)
    return CM_NODE_MESSAGE_E_TOO_MANY_HANDLES;
  /* Both lengths are below 2^32, so the sum cannot wrap in 64 bits. */
  TRY(exact_tail(p, (uint64_t)event_len + payload_len));
  uint32_t event_type = get32(p->tail);
  if (event_type != CM_EVENT_USER_MESSAGE && (payload_len || num_handles || p->num_fds))
    return CM_NODE_MESSAGE_E_CONTROL_ATTACHMENT;
  /* fds belong to the handles of the user message: none without a handle. */
  if (p->num_fds > 0 && num_handles == 0)
    return CM_NODE_MESSAGE_E_FD_COUNT;
  m->u.event.event = p->tail;
  m->u.event.event_num_bytes = event_len;
  m->u.event.event_type = event_type;
  m->u.event.payload = p->tail + event_len;
  m->u.event.payload_num_bytes = payload_len;
  m->u.event.num_handles = num_handles;
  return CM_NODE_MESSAGE_OK;
}

static cm_node_message_error parse_request_port_merge(const parts *p, cm_node_message *m) {
  uint32_t len = get32(p->body + 16);
  TRY(need_name(p->body, CM_NODE_MESSAGE_E_ZERO_PORT_NAME, &m->u.request_port_merge.port_name));
  if (get32(p->body + 20) != 0)
    return CM_NODE_MESSAGE_E_RESERVED;
  if (len > CM_MAX_INVITATION_NAME_BYTES)
    return CM_NODE_MESSAGE_E_NAME_TOO_LONG;
  TRY(exact_tail(p, len));
  m->u.request_port_merge.name = p->tail;
  m->u.request_port_merge.name_num_bytes = len;
  return CM_NODE_MESSAGE_OK;
}

static cm_node_message_error parse_broadcast(const parts *p, cm_node_message *m) {
  uint32_t len = get32(p->body + 16);
  TRY(need_name(p->body, CM_NODE_MESSAGE_E_ZERO_NODE_NAME, &m->u.broadcast_event.origin));
  if (get32(p->body + 20) != 0)
    return CM_NODE_MESSAGE_E_RESERVED;
  TRY(check_event_size(len));
  TRY(exact_tail(p, len));
  uint32_t event_type = get32(p->tail);
  if (event_type == CM_EVENT_USER_MESSAGE)
    return CM_NODE_MESSAGE_E_BROADCAST_USER;
  m->u.broadcast_event.event = p->tail;
  m->u.broadcast_event.event_num_bytes = len;
  m->u.broadcast_event.event_type = event_type;
  return CM_NODE_MESSAGE_OK;
}

static cm_node_message_error parse_accept_peer(const parts *p, cm_node_message *m) {
  TRY(need_name(p->body, CM_NODE_MESSAGE_E_ZERO_TOKEN, &m->u.accept_peer.token));
  TRY(need_name(p->body + 16, CM_NODE_MESSAGE_E_ZERO_NODE_NAME, &m->u.accept_peer.peer_name));
  TRY(need_name(p->body + 32, CM_NODE_MESSAGE_E_ZERO_PORT_NAME, &m->u.accept_peer.port_name));
  if (cm_name_equal(&m->u.accept_peer.token, &m->u.accept_peer.peer_name))
    return CM_NODE_MESSAGE_E_SAME_NAMES;
  return exact_tail(p, 0);
}

static cm_node_message_error parse_bad_message_report(const parts *p, cm_node_message *m) {
  uint32_t len = get32(p->body + 32);
  TRY(two_names(p, &m->u.bad_message_report.subject, CM_NODE_MESSAGE_E_ZERO_NODE_NAME,
                &m->u.bad_message_report.reporter, CM_NODE_MESSAGE_E_ZERO_NODE_NAME));
  if (get32(p->body + 36) != 0)
    return CM_NODE_MESSAGE_E_RESERVED;
  if (len > CM_MAX_NODE_MESSAGE_TEXT_BYTES)
    return CM_NODE_MESSAGE_E_TEXT_TOO_LONG;
  TRY(exact_tail(p, len));
  m->u.bad_message_report.error = (const char *)p->tail;
  m->u.bad_message_report.error_num_bytes = len;
  return CM_NODE_MESSAGE_OK;
}

/* One name (node or port), nothing after the body. */
static cm_node_message_error parse_one_name(const parts *p, cm_name *out,
                                            cm_node_message_error if_zero) {
  TRY(need_name(p->body, if_zero, out));
  return exact_tail(p, 0);
}

static cm_node_message_error parse_body(uint32_t type, const parts *p, cm_node_message *m) {
  const cm_node_message_error zero_node = CM_NODE_MESSAGE_E_ZERO_NODE_NAME;
  switch ((cm_node_message_type)type) {
    case CM_NODE_MESSAGE_HELLO:
      return parse_hello(p, m);
    case CM_NODE_MESSAGE_GOODBYE:
      return parse_goodbye(p, m);
    case CM_NODE_MESSAGE_ACCEPT_INVITEE:
      TRY(two_names(p, &m->u.accept_invitee.inviter_name, zero_node, &m->u.accept_invitee.token,
                    CM_NODE_MESSAGE_E_ZERO_TOKEN));
      return exact_tail(p, 0);
    case CM_NODE_MESSAGE_ACCEPT_INVITATION:
      TRY(two_names(p, &m->u.accept_invitation.token, CM_NODE_MESSAGE_E_ZERO_TOKEN,
                    &m->u.accept_invitation.invitee_name, zero_node));
      return exact_tail(p, 0);
    case CM_NODE_MESSAGE_ADD_BROKER_CLIENT:
      m->u.add_broker_client.process_id = get64(p->body + 16);
      return parse_one_name(p, &m->u.add_broker_client.client_name, zero_node);
    case CM_NODE_MESSAGE_BROKER_CLIENT_ADDED:
      return parse_one_name(p, &m->u.broker_client_added.client_name, zero_node);
    case CM_NODE_MESSAGE_ACCEPT_BROKER_CLIENT:
      m->u.accept_broker_client.has_broker_channel = p->num_fds == 1;
      return parse_one_name(p, &m->u.accept_broker_client.broker_name, zero_node);
    case CM_NODE_MESSAGE_EVENT:
      return parse_event(p, m);
    case CM_NODE_MESSAGE_REQUEST_PORT_MERGE:
      return parse_request_port_merge(p, m);
    case CM_NODE_MESSAGE_REQUEST_INTRODUCTION:
      return parse_one_name(p, &m->u.request_introduction.peer_name, zero_node);
    case CM_NODE_MESSAGE_INTRODUCE:
      m->u.introduce.has_channel = p->num_fds == 1;
      return parse_one_name(p, &m->u.introduce.peer_name, zero_node);
    case CM_NODE_MESSAGE_BROADCAST_EVENT:
      return parse_broadcast(p, m);
    case CM_NODE_MESSAGE_ACCEPT_PEER:
      return parse_accept_peer(p, m);
    case CM_NODE_MESSAGE_BAD_MESSAGE_REPORT:
      return parse_bad_message_report(p, m);
  }
  return CM_NODE_MESSAGE_E_UNKNOWN_TYPE;
}

cm_node_message_error cm_node_message_parse(const void *bytes, size_t n, size_t num_fds,
                                            cm_node_message *out) {
  if ((!bytes && n > 0) || !out)
    return CM_NODE_MESSAGE_E_ARGUMENT;
  const uint8_t *b = bytes;
  if (n < CM_NODE_MESSAGE_HEADER_BYTES)
    return CM_NODE_MESSAGE_E_SHORT_HEADER;
  uint32_t type = get16(b);
  uint32_t header_len = get16(b + 4);
  uint32_t header_fds = get16(b + 6);
  uint32_t body_len = get32(b + 8);
  if (header_len < CM_NODE_MESSAGE_HEADER_BYTES || header_len % 8 != 0)
    return CM_NODE_MESSAGE_E_HEADER_SIZE;
  if (header_len > n)
    return CM_NODE_MESSAGE_E_HEADER_OVERRUN;
  if (get16(b + 2) != 0)
    return CM_NODE_MESSAGE_E_FLAGS;
  if (get32(b + 12) != 0)
    return CM_NODE_MESSAGE_E_RESERVED;
  const type_info *t = type_lookup(type);
  if (!t)
    return CM_NODE_MESSAGE_E_UNKNOWN_TYPE;
  if (header_fds != num_fds)
    return CM_NODE_MESSAGE_E_FD_MISMATCH;
  if (num_fds < t->min_fds || num_fds > t->max_fds)
    return CM_NODE_MESSAGE_E_FD_COUNT;
  if (body_len < t->min_body || body_len % 8 != 0)
    return CM_NODE_MESSAGE_E_BODY_SIZE;
  if (body_len > n - header_len)
    return CM_NODE_MESSAGE_E_BODY_OVERRUN;
  parts p = {.body = b + header_len,
             .body_len = body_len,
             .tail = b + header_len + body_len,
             .tail_len = n - header_len - body_len,
             .num_fds = num_fds};
  cm_node_message m;
  memset(&m, 0, sizeof(m));
  m.type = (cm_node_message_type)type;
  m.body_num_bytes = body_len;
  m.num_fds = num_fds;
  TRY(parse_body(type, &p, &m));
  *out = m;
  return CM_NODE_MESSAGE_OK;
}

/* ---- Buffer and encoders ----------------------------------------------- */

void cm_node_message_buffer_init(cm_node_message_buffer *buf) {
  buf->bytes = NULL;
  buf->size = 0;
  buf->capacity = 0;
}

void cm_node_message_buffer_free(cm_node_message_buffer *buf) {
  free(buf->bytes);
  cm_node_message_buffer_init(buf);
}

/* Makes room for a message of `total` bytes and writes its header; returns
 * where the body starts, or NULL (buffer unchanged) when out of memory. The
 * body and tail are zeroed here only up to the tail: a tail of user bytes is
 * the caller's to fill. */
static uint8_t *begin(cm_node_message_buffer *buf, cm_node_message_type type, size_t tail_len,
                      size_t num_fds) {
  const type_info *t = &kTypes[type];
  size_t total = CM_NODE_MESSAGE_HEADER_BYTES + t->body + tail_len;
  if (total > buf->capacity) {
    size_t cap = buf->capacity ? buf->capacity : 64;
    while (cap < total)
      cap = cap > SIZE_MAX / 2 ? total : cap * 2;
    uint8_t *grown = realloc(buf->bytes, cap);
    if (!grown)
      return NULL;
    buf->bytes = grown;
    buf->capacity = cap;
  }
  buf->size = total;
  uint8_t *p = buf->bytes;
  memset(p, 0, CM_NODE_MESSAGE_HEADER_BYTES + t->body);
  put16(p, (uint16_t)type);
  put16(p + 4, CM_NODE_MESSAGE_HEADER_BYTES);
  put16(p + 6, (uint16_t)num_fds);
  put32(p + 8, t->body);
  return p + CM_NODE_MESSAGE_HEADER_BYTES;
}

static bool valid(const cm_name *n) {
  return n && cm_name_is_valid(n);
}

static bool text_ok(const void *text, size_t len, size_t limit) {
  return (text || len == 0) && len <= limit;
}

MojoResult cm_node_message_encode_hello(cm_node_message_buffer *buf, uint32_t min_version,
                                        uint32_t max_version, uint64_t capabilities) {
  if (!buf || min_version == 0 || min_version > max_version)
    return MOJO_RESULT_INVALID_ARGUMENT;
  uint8_t *p = begin(buf, CM_NODE_MESSAGE_HELLO, 0, 0);
  if (!p)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  put64(put32(put32(p, min_version), max_version), capabilities);
  return MOJO_RESULT_OK;
}

MojoResult cm_node_message_encode_goodbye(cm_node_message_buffer *buf, MojoResult reason,
                                          const char *text, size_t text_num_bytes) {
  if (!buf || !text_ok(text, text_num_bytes, CM_MAX_NODE_MESSAGE_TEXT_BYTES))
    return MOJO_RESULT_INVALID_ARGUMENT;
  uint8_t *p = begin(buf, CM_NODE_MESSAGE_GOODBYE, text_num_bytes, 0);
  if (!p)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  p = put32(put32(p, (uint32_t)reason), (uint32_t)text_num_bytes);
  if (text_num_bytes)
    memcpy(p, text, text_num_bytes);
  return MOJO_RESULT_OK;
}

/* The messages made of two distinct valid names. */
static MojoResult encode_two_names(cm_node_message_buffer *buf, cm_node_message_type type,
                                   const cm_name *a, const cm_name *b) {
  if (!buf || !valid(a) || !valid(b) || cm_name_equal(a, b))
    return MOJO_RESULT_INVALID_ARGUMENT;
  uint8_t *p = begin(buf, type, 0, 0);
  if (!p)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  put_name(put_name(p, a), b);
  return MOJO_RESULT_OK;
}

MojoResult cm_node_message_encode_accept_invitee(cm_node_message_buffer *buf,
                                                 const cm_node_name *inviter_name,
                                                 const cm_node_name *token) {
  return encode_two_names(buf, CM_NODE_MESSAGE_ACCEPT_INVITEE, inviter_name, token);
}

MojoResult cm_node_message_encode_accept_invitation(cm_node_message_buffer *buf,
                                                    const cm_node_name *token,
                                                    const cm_node_name *invitee_name) {
  return encode_two_names(buf, CM_NODE_MESSAGE_ACCEPT_INVITATION, token, invitee_name);
}

/* The messages made of one valid name (and maybe one fd). */
static MojoResult encode_one_name(cm_node_message_buffer *buf, cm_node_message_type type,
                                  const cm_name *name, size_t num_fds, uint8_t **after) {
  if (!buf || !valid(name))
    return MOJO_RESULT_INVALID_ARGUMENT;
  uint8_t *p = begin(buf, type, 0, num_fds);
  if (!p)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  p = put_name(p, name);
  if (after)
    *after = p;
  return MOJO_RESULT_OK;
}

MojoResult cm_node_message_encode_add_broker_client(cm_node_message_buffer *buf,
                                                    const cm_node_name *client_name,
                                                    uint64_t process_id) {
  uint8_t *p;
  MojoResult r = encode_one_name(buf, CM_NODE_MESSAGE_ADD_BROKER_CLIENT, client_name, 0, &p);
  if (r == MOJO_RESULT_OK)
    put64(p, process_id);
  return r;
}

MojoResult cm_node_message_encode_broker_client_added(cm_node_message_buffer *buf,
                                                      const cm_node_name *client_name) {
  return encode_one_name(buf, CM_NODE_MESSAGE_BROKER_CLIENT_ADDED, client_name, 1, NULL);
}

MojoResult cm_node_message_encode_accept_broker_client(cm_node_message_buffer *buf,
                                                       const cm_node_name *broker_name,
                                                       bool has_broker_channel) {
  return encode_one_name(buf, CM_NODE_MESSAGE_ACCEPT_BROKER_CLIENT, broker_name,
                         has_broker_channel ? 1 : 0, NULL);
}

MojoResult cm_node_message_encode_request_introduction(cm_node_message_buffer *buf,
                                                       const cm_node_name *peer_name) {
  return encode_one_name(buf, CM_NODE_MESSAGE_REQUEST_INTRODUCTION, peer_name, 0, NULL);
}

MojoResult cm_node_message_encode_introduce(cm_node_message_buffer *buf,
                                            const cm_node_name *peer_name, bool has_channel) {
  return encode_one_name(buf, CM_NODE_MESSAGE_INTRODUCE, peer_name, has_channel ? 1 : 0, NULL);
}

static bool event_args_ok(size_t event_num_bytes, size_t payload_num_bytes, uint32_t num_handles,
                          size_t num_fds) {
  return event_num_bytes >= CM_NODE_MESSAGE_MIN_EVENT_BYTES && event_num_bytes % 8 == 0 &&
         event_num_bytes <= CM_MAX_NODE_EVENT_BYTES && payload_num_bytes <= CM_MAX_MESSAGE_BYTES &&
         num_handles <= CM_MAX_HANDLES_PER_MESSAGE && num_fds <= CM_MAX_OS_HANDLES_PER_FRAME &&
         !(num_fds > 0 && num_handles == 0);
}

/* The node header and EVENT body (CM_NODE_MESSAGE_EVENT_PREFIX_BYTES). */
static void put_event_prefix(uint8_t *p, size_t event_num_bytes, size_t payload_num_bytes,
                             uint32_t num_handles, size_t num_fds) {
  memset(p, 0, CM_NODE_MESSAGE_EVENT_PREFIX_BYTES);
  put16(p, (uint16_t)CM_NODE_MESSAGE_EVENT);
  put16(p + 4, CM_NODE_MESSAGE_HEADER_BYTES);
  put16(p + 6, (uint16_t)num_fds);
  put32(p + 8, CM_NODE_MESSAGE_EVENT_BODY_BYTES);
  uint8_t *b = p + CM_NODE_MESSAGE_HEADER_BYTES;
  put32(put32(put32(b, (uint32_t)event_num_bytes), (uint32_t)payload_num_bytes), num_handles);
}

MojoResult cm_node_message_encode_event(cm_node_message_buffer *buf, size_t event_num_bytes,
                                        size_t payload_num_bytes, uint32_t num_handles,
                                        size_t num_fds, void **event_at, void **payload_at) {
  if (!buf || !event_at || (payload_num_bytes > 0 && !payload_at) ||
      !event_args_ok(event_num_bytes, payload_num_bytes, num_handles, num_fds))
    return MOJO_RESULT_INVALID_ARGUMENT;
  uint8_t *p = begin(buf, CM_NODE_MESSAGE_EVENT, event_num_bytes + payload_num_bytes, num_fds);
  if (!p)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  put_event_prefix(buf->bytes, event_num_bytes, payload_num_bytes, num_handles, num_fds);
  uint8_t *tail = buf->bytes + CM_NODE_MESSAGE_EVENT_PREFIX_BYTES;
  *event_at = tail;
  if (payload_at)
    *payload_at = tail + event_num_bytes;
  return MOJO_RESULT_OK;
}

MojoResult cm_node_message_write_event_prefix(uint8_t *out, size_t event_num_bytes,
                                              size_t payload_num_bytes, uint32_t num_handles,
                                              size_t num_fds) {
  if (!out || !event_args_ok(event_num_bytes, payload_num_bytes, num_handles, num_fds))
    return MOJO_RESULT_INVALID_ARGUMENT;
  put_event_prefix(out, event_num_bytes, payload_num_bytes, num_handles, num_fds);
  return MOJO_RESULT_OK;
}

MojoResult cm_node_message_encode_request_port_merge(cm_node_message_buffer *buf,
                                                     const cm_port_name *port_name,
                                                     const void *name, size_t name_num_bytes) {
  if (!buf || !valid(port_name) || !text_ok(name, name_num_bytes, CM_MAX_INVITATION_NAME_BYTES))
    return MOJO_RESULT_INVALID_ARGUMENT;
  uint8_t *p = begin(buf, CM_NODE_MESSAGE_REQUEST_PORT_MERGE, name_num_bytes, 0);
  if (!p)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  p = put32(put_name(p, port_name), (uint32_t)name_num_bytes) + 4;
  if (name_num_bytes)
    memcpy(p, name, name_num_bytes);
  return MOJO_RESULT_OK;
}

MojoResult cm_node_message_encode_broadcast_event(cm_node_message_buffer *buf,
                                                  const cm_node_name *origin, const void *event,
                                                  size_t event_num_bytes) {
  if (!buf || !valid(origin) || !event || event_num_bytes < CM_NODE_MESSAGE_MIN_EVENT_BYTES ||
      event_num_bytes % 8 != 0 || event_num_bytes > CM_MAX_NODE_EVENT_BYTES ||
      get32(event) == CM_EVENT_USER_MESSAGE)
    return MOJO_RESULT_INVALID_ARGUMENT;
  uint8_t *p = begin(buf, CM_NODE_MESSAGE_BROADCAST_EVENT, event_num_bytes, 0);
  if (!p)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  p = put32(put_name(p, origin), (uint32_t)event_num_bytes) + 4;
  memcpy(p, event, event_num_bytes);
  return MOJO_RESULT_OK;
}

MojoResult cm_node_message_encode_accept_peer(cm_node_message_buffer *buf,
                                              const cm_node_name *token,
                                              const cm_node_name *peer_name,
                                              const cm_port_name *port_name) {
  if (!buf || !valid(token) || !valid(peer_name) || !valid(port_name) ||
      cm_name_equal(token, peer_name))
    return MOJO_RESULT_INVALID_ARGUMENT;
  uint8_t *p = begin(buf, CM_NODE_MESSAGE_ACCEPT_PEER, 0, 0);
  if (!p)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  put_name(put_name(put_name(p, token), peer_name), port_name);
  return MOJO_RESULT_OK;
}

MojoResult cm_node_message_encode_bad_message_report(cm_node_message_buffer *buf,
                                                     const cm_node_name *subject,
                                                     const cm_node_name *reporter,
                                                     const char *error, size_t error_num_bytes) {
  if (!buf || !valid(subject) || !valid(reporter) || cm_name_equal(subject, reporter) ||
      !text_ok(error, error_num_bytes, CM_MAX_NODE_MESSAGE_TEXT_BYTES))
    return MOJO_RESULT_INVALID_ARGUMENT;
  uint8_t *p = begin(buf, CM_NODE_MESSAGE_BAD_MESSAGE_REPORT, error_num_bytes, 0);
  if (!p)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  p = put32(put_name(put_name(p, subject), reporter), (uint32_t)error_num_bytes) + 4;
  if (error_num_bytes)
    memcpy(p, error, error_num_bytes);
  return MOJO_RESULT_OK;
}

MojoResult cm_node_message_encode(cm_node_message_buffer *buf, const cm_node_message *m) {
  if (!buf || !m)
    return MOJO_RESULT_INVALID_ARGUMENT;
  switch (m->type) {
    case CM_NODE_MESSAGE_HELLO:
      return cm_node_message_encode_hello(buf, m->u.hello.min_version, m->u.hello.max_version,
                                          m->u.hello.capabilities);
    case CM_NODE_MESSAGE_GOODBYE:
      return cm_node_message_encode_goodbye(buf, m->u.goodbye.reason, m->u.goodbye.text,
                                            m->u.goodbye.text_num_bytes);
    case CM_NODE_MESSAGE_ACCEPT_INVITEE:
      return cm_node_message_encode_accept_invitee(buf, &m->u.accept_invitee.inviter_name,
                                                   &m->u.accept_invitee.token);
    case CM_NODE_MESSAGE_ACCEPT_INVITATION:
      return cm_node_message_encode_accept_invitation(buf, &m->u.accept_invitation.token,
                                                      &m->u.accept_invitation.invitee_name);
    case CM_NODE_MESSAGE_ADD_BROKER_CLIENT:
      return cm_node_message_encode_add_broker_client(buf, &m->u.add_broker_client.client_name,
                                                      m->u.add_broker_client.process_id);
    case CM_NODE_MESSAGE_BROKER_CLIENT_ADDED:
      return cm_node_message_encode_broker_client_added(buf, &m->u.broker_client_added.client_name);
    case CM_NODE_MESSAGE_ACCEPT_BROKER_CLIENT:
      return cm_node_message_encode_accept_broker_client(
          buf, &m->u.accept_broker_client.broker_name,
          m->u.accept_broker_client.has_broker_channel);
    case CM_NODE_MESSAGE_EVENT: {
      void *ev = NULL, *payload = NULL;
      if (!m->u.event.event || (m->u.event.payload_num_bytes && !m->u.event.payload) ||
          (m->u.event.event_type != CM_EVENT_USER_MESSAGE &&
           (m->u.event.payload_num_bytes || m->u.event.num_handles || m->num_fds)))
        return MOJO_RESULT_INVALID_ARGUMENT;
      MojoResult r = cm_node_message_encode_event(
          buf, m->u.event.event_num_bytes, m->u.event.payload_num_bytes, m->u.event.num_handles,
          m->num_fds, &ev, &payload);
      if (r != MOJO_RESULT_OK)
        return r;
      memcpy(ev, m->u.event.event, m->u.event.event_num_bytes);
      if (m->u.event.payload_num_bytes)
        memcpy(payload, m->u.event.payload, m->u.event.payload_num_bytes);
      return MOJO_RESULT_OK;
    }
    case CM_NODE_MESSAGE_REQUEST_PORT_MERGE:
      return cm_node_message_encode_request_port_merge(buf, &m->u.request_port_merge.port_name,
                                                       m->u.request_port_merge.name,
                                                       m->u.request_port_merge.name_num_bytes);
    case CM_NODE_MESSAGE_REQUEST_INTRODUCTION:
      return cm_node_message_encode_request_introduction(buf, &m->u.request_introduction.peer_name);
    case CM_NODE_MESSAGE_INTRODUCE:
      return cm_node_message_encode_introduce(buf, &m->u.introduce.peer_name,
                                              m->u.introduce.has_channel);
    case CM_NODE_MESSAGE_BROADCAST_EVENT:
      return cm_node_message_encode_broadcast_event(buf, &m->u.broadcast_event.origin,
                                                    m->u.broadcast_event.event,
                                                    m->u.broadcast_event.event_num_bytes);
    case CM_NODE_MESSAGE_ACCEPT_PEER:
      return cm_node_message_encode_accept_peer(
          buf, &m->u.accept_peer.token, &m->u.accept_peer.peer_name, &m->u.accept_peer.port_name);
    case CM_NODE_MESSAGE_BAD_MESSAGE_REPORT:
      return cm_node_message_encode_bad_message_report(
          buf, &m->u.bad_message_report.subject, &m->u.bad_message_report.reporter,
          m->u.bad_message_report.error, m->u.bad_message_report.error_num_bytes);
  }
  return MOJO_RESULT_INVALID_ARGUMENT;
}
