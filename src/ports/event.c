/* Events: construction, accessors and the serialized form.
 *
 * The byte layout is documented in docs/ports.md. Everything is little-endian
 * and 8-byte aligned; the parser treats its input as hostile: every field is
 * bounds-checked, every count is checked against the bytes that remain with
 * overflow-safe arithmetic, reserved bytes must be zero, and names that must
 * address something must be valid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ports_internal.h"

#define HEADER_SIZE 48u
#define DESCRIPTOR_SIZE 96u
#define NAME_SIZE 16u
#define USER_FIXED_SIZE 16u

_Static_assert(HEADER_SIZE + USER_FIXED_SIZE +
                       (uint64_t)CM_PORTS_MAX_PORTS_PER_EVENT * (DESCRIPTOR_SIZE + NAME_SIZE) <=
                   CM_MAX_NODE_EVENT_BYTES,
               "the largest user message event fits a node message");

static void *(*const volatile zero_fn)(void *, int, size_t) = memset;

static cm_event *event_alloc(size_t num_ports) {
  if (num_ports > CM_PORTS_MAX_PORTS_PER_EVENT)
    return NULL;
  size_t extra = num_ports * (sizeof(cm_port_name) + sizeof(cm_port_descriptor));
  /* malloc + memset rather than calloc: glibc's calloc bypasses the
   * per-thread cache, and an event is allocated for every message. The
   * memset goes through a volatile pointer because compilers turn
   * malloc+memset back into calloc. */
  cm_event *ev = malloc(sizeof(*ev) + extra);
  if (!ev)
    return NULL;
  zero_fn(ev, 0, sizeof(*ev) + extra);
  ev->control_seq = CM_SEQ_INVALID;
  if (num_ports > 0) {
    /* Descriptors first: they hold uint64_t fields and need the alignment
     * the struct end already has. */
    ev->u.user.descriptors = (cm_port_descriptor *)(ev + 1);
    ev->u.user.ports = (cm_port_name *)(ev->u.user.descriptors + num_ports);
  }
  ev->u.user.num_ports = num_ports;
  return ev;
}

_Noreturn void cm_ports_out_of_memory(void) {
  fprintf(stderr, "cmojo: out of memory in the ports routing protocol\n");
  abort();
}

cm_event *cm_event_new(cm_event_type type, const cm_port_name *port, const cm_port_name *from,
                       uint64_t control_seq) {
  cm_event *ev = calloc(1, sizeof(*ev));
  if (!ev)
    cm_ports_out_of_memory();
  ev->type = type;
  if (port)
    ev->port_name = *port;
  if (from)
    ev->from_port = *from;
  ev->control_seq = control_seq;
  return ev;
}

cm_event *cm_event_user_message_create(void *payload, const cm_payload_ops *ops,
                                       size_t payload_num_bytes, size_t num_ports) {
  cm_event *ev = event_alloc(num_ports);
  if (!ev) {
    if (payload && ops && ops->destroy)
      ops->destroy(payload);
    return NULL;
  }
  ev->type = CM_EVENT_USER_MESSAGE;
  ev->u.user.payload = payload;
  ev->u.user.ops = ops;
  ev->u.user.payload_num_bytes = payload_num_bytes;
  return ev;
}

size_t cm_event_num_ports(const cm_event *ev) {
  return ev->type == CM_EVENT_USER_MESSAGE ? ev->u.user.num_ports : 0;
}

cm_port_name *cm_event_ports(cm_event *ev) {
  return ev->type == CM_EVENT_USER_MESSAGE ? ev->u.user.ports : NULL;
}

void cm_event_get_sent_ports(const cm_event *ev, cm_port_name *out) {
  if (ev->type != CM_EVENT_USER_MESSAGE)
    return;
  for (size_t i = 0; i < ev->u.user.num_ports; i++)
    out[i] = ev->u.user.descriptors[i].referring_port;
}

void *cm_event_payload(const cm_event *ev) {
  return ev->type == CM_EVENT_USER_MESSAGE ? ev->u.user.payload : NULL;
}

void *cm_event_take_payload(cm_event *ev) {
  if (ev->type != CM_EVENT_USER_MESSAGE)
    return NULL;
  void *p = ev->u.user.payload;
  ev->u.user.payload = NULL;
  ev->u.user.ops = NULL;
  ev->u.user.payload_num_bytes = 0;
  return p;
}

cm_event_type cm_event_get_type(const cm_event *ev) {
  return ev->type;
}

const cm_port_name *cm_event_port_name(const cm_event *ev) {
  return &ev->port_name;
}

void cm_event_set_payload(cm_event *ev, void *payload, const cm_payload_ops *ops,
                          size_t payload_num_bytes) {
  if (ev->type != CM_EVENT_USER_MESSAGE) {
    if (payload && ops && ops->destroy)
      ops->destroy(payload);
    return;
  }
  if (ev->u.user.payload && ev->u.user.ops && ev->u.user.ops->destroy)
    ev->u.user.ops->destroy(ev->u.user.payload);
  ev->u.user.payload = payload;
  ev->u.user.ops = ops;
  ev->u.user.payload_num_bytes = payload_num_bytes;
}

void cm_event_destroy(cm_event *ev) {
  if (!ev)
    return;
  if (ev->type == CM_EVENT_USER_MESSAGE && ev->u.user.payload && ev->u.user.ops &&
      ev->u.user.ops->destroy)
    ev->u.user.ops->destroy(ev->u.user.payload);
  free(ev);
}

/* ---- Serialization ----------------------------------------------------- */

static size_t body_size(const cm_event *ev) {
  switch (ev->type) {
  case CM_EVENT_USER_MESSAGE:
    return USER_FIXED_SIZE + ev->u.user.num_ports * (DESCRIPTOR_SIZE + NAME_SIZE);
  case CM_EVENT_PORT_ACCEPTED:
    return 0;
  case CM_EVENT_OBSERVE_PROXY:
    return 4 * NAME_SIZE;
  case CM_EVENT_OBSERVE_PROXY_ACK:
  case CM_EVENT_OBSERVE_CLOSURE:
  case CM_EVENT_USER_MESSAGE_READ_ACK_REQUEST:
  case CM_EVENT_USER_MESSAGE_READ_ACK:
    return 8;
  case CM_EVENT_MERGE_PORT:
    return NAME_SIZE + DESCRIPTOR_SIZE;
  case CM_EVENT_UPDATE_PREVIOUS_PEER:
    return 2 * NAME_SIZE;
  }
  return 0;
}

size_t cm_event_serialized_size(const cm_event *ev) {
  return HEADER_SIZE + body_size(ev);
}

static unsigned char *put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
  return p + 4;
}

static unsigned char *put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
  return p + 8;
}

static unsigned char *put_name(unsigned char *p, const cm_name *n) {
  return put_u64(put_u64(p, n->v1), n->v2);
}

static unsigned char *put_descriptor(unsigned char *p, const cm_port_descriptor *d) {
  p = put_name(p, &d->peer_node);
  p = put_name(p, &d->peer_port);
  p = put_name(p, &d->referring_node);
  p = put_name(p, &d->referring_port);
  p = put_u64(p, d->next_seq_to_send);
  p = put_u64(p, d->next_seq_to_receive);
  p = put_u64(p, d->last_seq_to_receive);
  memset(p, 0, 8);
  p[0] = d->peer_closed ? 1 : 0;
  return p + 8;
}

void cm_event_serialize(const cm_event *ev, void *buf) {
  unsigned char *p = buf;
  p = put_u32(p, (uint32_t)ev->type);
  p = put_u32(p, 0);
  p = put_name(p, &ev->port_name);
  p = put_name(p, &ev->from_port);
  p = put_u64(p, ev->control_seq);
  switch (ev->type) {
  case CM_EVENT_USER_MESSAGE:
    p = put_u64(p, ev->u.user.seq);
    p = put_u32(p, (uint32_t)ev->u.user.num_ports);
    p = put_u32(p, 0);
    for (size_t i = 0; i < ev->u.user.num_ports; i++)
      p = put_descriptor(p, &ev->u.user.descriptors[i]);
    for (size_t i = 0; i < ev->u.user.num_ports; i++)
      p = put_name(p, &ev->u.user.ports[i]);
    break;
  case CM_EVENT_PORT_ACCEPTED:
    break;
  case CM_EVENT_OBSERVE_PROXY:
    p = put_name(p, &ev->u.observe_proxy.proxy_node);
    p = put_name(p, &ev->u.observe_proxy.proxy_port);
    p = put_name(p, &ev->u.observe_proxy.target_node);
    p = put_name(p, &ev->u.observe_proxy.target_port);
    break;
  case CM_EVENT_OBSERVE_PROXY_ACK:
    p = put_u64(p, ev->u.observe_proxy_ack.last_seq);
    break;
  case CM_EVENT_OBSERVE_CLOSURE:
    p = put_u64(p, ev->u.observe_closure.last_seq);
    break;
  case CM_EVENT_MERGE_PORT:
    p = put_name(p, &ev->u.merge.new_port);
    p = put_descriptor(p, &ev->u.merge.descriptor);
    break;
  case CM_EVENT_USER_MESSAGE_READ_ACK_REQUEST:
    p = put_u64(p, ev->u.ack_request.seq_to_ack);
    break;
  case CM_EVENT_USER_MESSAGE_READ_ACK:
    p = put_u64(p, ev->u.ack.seq_acked);
    break;
  case CM_EVENT_UPDATE_PREVIOUS_PEER:
    p = put_name(p, &ev->u.update_prev.new_node);
    p = put_name(p, &ev->u.update_prev.new_port);
    break;
  }
}

/* A bounds-checked cursor over untrusted bytes. */
typedef struct reader {
  const unsigned char *p;
  size_t left;
} reader;

static bool get_u32(reader *r, uint32_t *out) {
  if (r->left < 4)
    return false;
  uint32_t v = 0;
  for (int i = 0; i < 4; i++)
    v |= (uint32_t)r->p[i] << (8 * i);
  r->p += 4;
  r->left -= 4;
  *out = v;
  return true;
}

static bool get_u64(reader *r, uint64_t *out) {
  if (r->left < 8)
    return false;
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)r->p[i] << (8 * i);
  r->p += 8;
  r->left -= 8;
  *out = v;
  return true;
}

static bool get_name(reader *r, cm_name *out) {
  return get_u64(r, &out->v1) && get_u64(r, &out->v2);
}

static bool get_valid_name(reader *r, cm_name *out) {
  return get_name(r, out) && cm_name_is_valid(out);
}

static bool seq_in_range(uint64_t s) {
  return s >= CM_SEQ_INITIAL && s != CM_SEQ_INVALID;
}

static bool get_descriptor(reader *r, cm_port_descriptor *d) {
  uint64_t flags;
  if (!get_valid_name(r, &d->peer_node) || !get_valid_name(r, &d->peer_port) ||
      !get_valid_name(r, &d->referring_node) || !get_valid_name(r, &d->referring_port) ||
      !get_u64(r, &d->next_seq_to_send) || !get_u64(r, &d->next_seq_to_receive) ||
      !get_u64(r, &d->last_seq_to_receive) || !get_u64(r, &flags))
    return false;
  /* Byte 0 is peer_closed (0 or 1); the 7 padding bytes must be zero. */
  if (flags > 1)
    return false;
  d->peer_closed = flags == 1;
  return seq_in_range(d->next_seq_to_send) && seq_in_range(d->next_seq_to_receive) &&
         d->last_seq_to_receive != CM_SEQ_INVALID;
}

static MojoResult parse_user(reader *r, const cm_event *hdr, cm_event **out) {
  uint64_t seq;
  uint32_t num_ports, reserved;
  if (!get_u64(r, &seq) || !get_u32(r, &num_ports) || !get_u32(r, &reserved))
    return MOJO_RESULT_DATA_LOSS;
  if (!seq_in_range(seq) || reserved != 0 || num_ports > CM_PORTS_MAX_PORTS_PER_EVENT)
    return MOJO_RESULT_DATA_LOSS;
  /* num_ports is bounded above, so this product cannot overflow. */
  if (r->left < (size_t)num_ports * (DESCRIPTOR_SIZE + NAME_SIZE))
    return MOJO_RESULT_DATA_LOSS;
  cm_event *ev = event_alloc(num_ports);
  if (!ev)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  ev->type = CM_EVENT_USER_MESSAGE;
  ev->port_name = hdr->port_name;
  ev->from_port = hdr->from_port;
  ev->control_seq = hdr->control_seq;
  ev->u.user.seq = seq;
  for (uint32_t i = 0; i < num_ports; i++) {
    if (!get_descriptor(r, &ev->u.user.descriptors[i]))
      goto bad;
  }
  for (uint32_t i = 0; i < num_ports; i++) {
    if (!get_valid_name(r, &ev->u.user.ports[i]))
      goto bad;
  }
  *out = ev;
  return MOJO_RESULT_OK;
bad:
  free(ev);
  return MOJO_RESULT_DATA_LOSS;
}

/* Parses the body of every event but the user message into `ev`. */
static bool parse_control_body(reader *r, cm_event *ev) {
  switch (ev->type) {
  case CM_EVENT_PORT_ACCEPTED:
    return true;
  case CM_EVENT_OBSERVE_PROXY: {
    bool notice = ev->control_seq == CM_SEQ_INVALID;
    if (!get_valid_name(r, &ev->u.observe_proxy.proxy_node) ||
        !get_valid_name(r, &ev->u.observe_proxy.proxy_port) ||
        !get_name(r, &ev->u.observe_proxy.target_node) ||
        !get_name(r, &ev->u.observe_proxy.target_port))
      return false;
    /* A notice (unordered: a dead-port broadcast with no target port, or a
     * "your peer is gone" to one proxy) names no target; an announcement
     * travelling along a route must name where the route now goes. */
    bool target_valid = cm_name_is_valid(&ev->u.observe_proxy.target_node) &&
                        cm_name_is_valid(&ev->u.observe_proxy.target_port);
    bool target_none = !cm_name_is_valid(&ev->u.observe_proxy.target_node) &&
                       !cm_name_is_valid(&ev->u.observe_proxy.target_port);
    return notice ? target_none : target_valid;
  }
  case CM_EVENT_OBSERVE_PROXY_ACK:
    return get_u64(r, &ev->u.observe_proxy_ack.last_seq);
  case CM_EVENT_OBSERVE_CLOSURE:
    return get_u64(r, &ev->u.observe_closure.last_seq) &&
           ev->u.observe_closure.last_seq != CM_SEQ_INVALID;
  case CM_EVENT_MERGE_PORT:
    return get_valid_name(r, &ev->u.merge.new_port) &&
           get_descriptor(r, &ev->u.merge.descriptor);
  case CM_EVENT_USER_MESSAGE_READ_ACK_REQUEST:
    return get_u64(r, &ev->u.ack_request.seq_to_ack);
  case CM_EVENT_USER_MESSAGE_READ_ACK:
    return get_u64(r, &ev->u.ack.seq_acked);
  case CM_EVENT_UPDATE_PREVIOUS_PEER:
    return get_valid_name(r, &ev->u.update_prev.new_node) &&
           get_valid_name(r, &ev->u.update_prev.new_port);
  case CM_EVENT_USER_MESSAGE:
    break;
  }
  return false;
}

/* Events that travel along a route carry their sender and a control
 * sequence number; the rest (PortAccepted, MergePort, dead-port notices)
 * carry neither. An ObserveProxy is a notice when it carries neither, and
 * must be one when it has no target port (a broadcast). */
static bool header_is_consistent(const cm_event *h) {
  bool ordered = h->type != CM_EVENT_PORT_ACCEPTED && h->type != CM_EVENT_MERGE_PORT &&
                 !(h->type == CM_EVENT_OBSERVE_PROXY &&
                   (!cm_name_is_valid(&h->port_name) || h->control_seq == CM_SEQ_INVALID));
  if (h->type != CM_EVENT_OBSERVE_PROXY && !cm_name_is_valid(&h->port_name))
    return false;
  if (ordered)
    return cm_name_is_valid(&h->from_port) && seq_in_range(h->control_seq);
  return !cm_name_is_valid(&h->from_port) && h->control_seq == CM_SEQ_INVALID;
}

MojoResult cm_event_deserialize(const void *buf, size_t len, cm_event **out, size_t *consumed) {
  if (!buf || !out || !consumed)
    return MOJO_RESULT_DATA_LOSS;
  reader r = {buf, len};
  uint32_t type, reserved;
  cm_event hdr;
  memset(&hdr, 0, sizeof(hdr));
  if (!get_u32(&r, &type) || !get_u32(&r, &reserved) || !get_name(&r, &hdr.port_name) ||
      !get_name(&r, &hdr.from_port) || !get_u64(&r, &hdr.control_seq))
    return MOJO_RESULT_DATA_LOSS;
  if (type > CM_EVENT_UPDATE_PREVIOUS_PEER || reserved != 0)
    return MOJO_RESULT_DATA_LOSS;
  hdr.type = (cm_event_type)type;
  if (!header_is_consistent(&hdr))
    return MOJO_RESULT_DATA_LOSS;

  cm_event *ev = NULL;
  if (hdr.type == CM_EVENT_USER_MESSAGE) {
    MojoResult rv = parse_user(&r, &hdr, &ev);
    if (rv != MOJO_RESULT_OK)
      return rv;
  } else {
    ev = calloc(1, sizeof(*ev));
    if (!ev)
      return MOJO_RESULT_RESOURCE_EXHAUSTED;
    ev->type = hdr.type;
    ev->port_name = hdr.port_name;
    ev->from_port = hdr.from_port;
    ev->control_seq = hdr.control_seq;
    /* Only a user message may be followed by payload bytes. */
    if (!parse_control_body(&r, ev) || r.left != 0) {
      free(ev);
      return MOJO_RESULT_DATA_LOSS;
    }
  }
  *out = ev;
  *consumed = len - r.left;
  return MOJO_RESULT_OK;
}
