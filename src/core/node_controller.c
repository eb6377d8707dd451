/* node_controller: peers, frames and the ports layer's events (see
 * node_controller.h). The messages above HELLO are node_controller_protocol.c.
 *
 * Lifetime of a peer: created with one reference, the list's; the list's
 * reference goes when the peer is dropped (peer_drop, exactly once). Senders
 * take a reference for the moment they write outside ctl.mu. The channel is
 * destroyed with the last reference, on the loop thread (a channel may not
 * be destroyed from its own callbacks, and the last reference may well go
 * inside one). */
#include <stdlib.h>
#include <string.h>

#include "cm_limits.h"
#include "core/message.h"
#include "core/message_serialize.h"
#include "core/node_controller_internal.h"
#include "core/request_context.h"

controller ctl = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const cm_node_channel_delegate kChannelDelegate;

MojoResult cm_node_controller_init(cm_node *node, bool as_broker, bool embedded) {
  ctl.node = node;
  ctl.name = *cm_node_get_name(node);
  ctl.is_broker = as_broker;
  ctl.embedded = embedded;
  if (cm_io_loop_create(&ctl.loop) != MOJO_RESULT_OK)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  if (!embedded && cm_io_loop_start(ctl.loop) != MOJO_RESULT_OK) {
    cm_io_loop_destroy(ctl.loop);
    ctl.loop = NULL;
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  return MOJO_RESULT_OK;
}

cm_io_loop *cm_node_controller_loop(void) {
  return ctl.loop;
}

bool cm_node_controller_embedded(void) {
  return ctl.embedded;
}

/* ---- Peers ---------------------------------------------------------------- */

cm_peer *peer_new_locked(peer_kind kind, peer_state state) {
  if (ctl.num_peers >= CM_MAX_PEERS_PER_NODE)
    return NULL;
  cm_peer *p = calloc(1, sizeof(*p));
  if (!p)
    return NULL;
  ctl.num_peers++;
  if (kind == PEER_INTRODUCED)
    ctl.num_introductions++;
  atomic_init(&p->refs, 1);
  p->kind = kind;
  p->state = state;
  p->listener = cm_platform_handle_invalid();
  p->next = ctl.peers;
  ctl.peers = p;
  return p;
}

cm_peer *peer_find_locked(const cm_node_name *name) {
  for (cm_peer *p = ctl.peers; p; p = p->next)
    if (p->has_name && cm_name_equal(&p->name, name))
      return p;
  return NULL;
}

bool peer_set_name_locked(cm_peer *p, const cm_node_name *name) {
  if (cm_name_equal(name, &ctl.name) || peer_find_locked(name))
    return false;
  p->name = *name;
  p->has_name = true;
  return true;
}

void cm_peer_ref(cm_peer *p) {
  atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

static void free_queue(queued_frame *q) {
  while (q) {
    queued_frame *next = q->next;
    cm_platform_handles_close(q->fds, q->num_fds);
    free(q->fds);
    free(q->bytes);
    free(q);
    q = next;
  }
}

static void peer_destroy(void *context) {
  cm_peer *p = context;
  cm_node_channel_destroy(p->channel);
  free_queue(p->queue_head);
  free(p->isolated_name);
  free(p);
}

void cm_peer_unref(cm_peer *p) {
  if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
    return;
  /* On the loop thread, outside any callback of the channel. If even that
   * cannot be arranged (no memory), the peer is leaked rather than freed
   * under a running callback. */
  (void)cm_io_loop_post(ctl.loop, peer_destroy, p);
}

MojoResult peer_connect(cm_peer *p, cm_platform_handle *endpoint) {
  cm_node_channel *ch;
  MojoResult r = cm_node_channel_create(ctl.loop, endpoint, &kChannelDelegate, p, &ch);
  if (r != MOJO_RESULT_OK)
    return r;
  pthread_mutex_lock(&ctl.mu);
  bool closed = p->state == PEER_CLOSED;
  if (!closed) {
    p->channel = ch;
    if (p->state == PEER_AWAIT_CONNECTION)
      p->state = PEER_AWAIT_HELLO;
  }
  pthread_mutex_unlock(&ctl.mu);
  if (closed) {
    /* Dropped while connecting: the channel never starts. */
    cm_node_channel_destroy(ch);
    return MOJO_RESULT_FAILED_PRECONDITION;
  }
  return cm_node_channel_start(ch);
}

/* ---- Frames -------------------------------------------------------------- */

static void enqueue(queued_frame **head, queued_frame **tail, const uint8_t *bytes, size_t n,
                    cm_platform_handle *fds, size_t num_fds) {
  queued_frame *q = calloc(1, sizeof(*q));
  uint8_t *copy = malloc(n ? n : 1);
  cm_platform_handle *fd_copy = num_fds ? malloc(num_fds * sizeof(*fds)) : NULL;
  if (!q || !copy || (num_fds && !fd_copy)) {
    /* Out of memory: the frame is lost, as if the connection had dropped
     * it; what waits on it sees the route close when the peer goes. */
    free(q);
    free(copy);
    free(fd_copy);
    cm_platform_handles_close(fds, num_fds);
    return;
  }
  memcpy(copy, bytes, n);
  for (size_t i = 0; i < num_fds; i++) {
    fd_copy[i] = fds[i];
    fds[i] = cm_platform_handle_invalid();
  }
  q->bytes = copy;
  q->num_bytes = n;
  q->fds = fd_copy;
  q->num_fds = num_fds;
  if (*tail)
    (*tail)->next = q;
  else
    *head = q;
  *tail = q;
}

void peer_send_now(cm_peer *p, const uint8_t *bytes, size_t n, cm_platform_handle *fds,
                   size_t num_fds) {
  /* A failed write means the connection is going: on_disconnect follows. */
  (void)cm_node_channel_write(p->channel, bytes, n, fds, num_fds);
}

static void drop_overflowed(void *context) {
  cm_peer *p = context;
  cm_request_context rc;
  cm_request_context_begin(&rc, MOJO_TRAP_EVENT_FLAG_NONE);
  peer_drop(p, MOJO_RESULT_RESOURCE_EXHAUSTED,
            "too much waits for a connection that never became active");
  cm_request_context_end(&rc);
  cm_peer_unref(p);
}

void peer_send_locked(cm_peer *p, const uint8_t *bytes, size_t n, cm_platform_handle *fds,
                      size_t num_fds) {
  if (p->state == PEER_CLOSED || p->overflowed) {
    cm_platform_handles_close(fds, num_fds);
  } else if (p->state == PEER_ACTIVE) {
    peer_send_now(p, bytes, n, fds, num_fds);
  } else if (p->queued_bytes + n > CM_MAX_QUEUED_BYTES_PER_CONNECTION ||
             p->queued_fds + num_fds > CM_MAX_PENDING_FDS_PER_PEER) {
    /* Dropped on the loop thread (ctl.mu is held here). */
    cm_platform_handles_close(fds, num_fds);
    p->overflowed = true;
    cm_peer_ref(p);
    if (cm_io_loop_post(ctl.loop, drop_overflowed, p) != MOJO_RESULT_OK)
      cm_peer_unref(p);
  } else {
    enqueue(&p->queue_head, &p->queue_tail, bytes, n, fds, num_fds);
    p->queued_bytes += n;
    p->queued_fds += num_fds;
  }
}

void broker_send_locked(const uint8_t *bytes, size_t n, cm_platform_handle *fds, size_t num_fds) {
  if (ctl.broker)
    peer_send_locked(ctl.broker, bytes, n, fds, num_fds);
  else if (ctl.accepted)
    enqueue(&ctl.broker_backlog_head, &ctl.broker_backlog_tail, bytes, n, fds, num_fds);
  else
    cm_platform_handles_close(fds, num_fds); /* no broker, and none to come */
}

void peer_activate_locked(cm_peer *p) {
  p->state = PEER_ACTIVE;
  queued_frame *q = p->queue_head;
  p->queue_head = p->queue_tail = NULL;
  p->queued_bytes = p->queued_fds = p->queued_introductions = 0;
  /* Under ctl.mu, so a sender that sees ACTIVE writes after these. */
  for (queued_frame *f = q; f; f = f->next) {
    peer_send_now(p, f->bytes, f->num_bytes, f->fds, f->num_fds);
    f->num_fds = 0;
  }
  free_queue(q);
}

/* ---- Dropping a connection ----------------------------------------------- */

/* Drops the peers waiting for an introduction (the broker is gone). */
static void drop_pending_introductions(void) {
  for (;;) {
    pthread_mutex_lock(&ctl.mu);
    cm_peer *p = ctl.peers;
    while (p && !(p->kind == PEER_INTRODUCED && p->state == PEER_AWAIT_CONNECTION))
      p = p->next;
    if (p)
      cm_peer_ref(p);
    pthread_mutex_unlock(&ctl.mu);
    if (!p)
      return;
    peer_drop(p, MOJO_RESULT_FAILED_PRECONDITION, "the broker is gone");
    cm_peer_unref(p);
  }
}

/* Broker: the clients `inviter` announced that never connected go with it
 * (their records and what was queued for them, fds included). */
static void drop_pending_clients_of(cm_peer *inviter) {
  if (!inviter->has_name)
    return;
  for (;;) {
    pthread_mutex_lock(&ctl.mu);
    cm_peer *q = ctl.peers;
    while (q && !(q->kind == PEER_CLIENT && q->state != PEER_ACTIVE && q->has_inviter_name &&
                  cm_name_equal(&q->inviter_name, &inviter->name)))
      q = q->next;
    if (q)
      cm_peer_ref(q);
    pthread_mutex_unlock(&ctl.mu);
    if (!q)
      return;
    peer_drop(q, MOJO_RESULT_FAILED_PRECONDITION, "its inviter is gone before it connected");
    cm_peer_unref(q);
  }
}

static void unlink_locked(cm_peer *p) {
  for (cm_peer **pp = &ctl.peers; *pp; pp = &(*pp)->next) {
    if (*pp == p) {
      *pp = p->next;
      ctl.num_peers--;
      if (p->kind == PEER_INTRODUCED)
        ctl.num_introductions--;
      break;
    }
  }
  p->next = NULL;
}

void peer_drop(cm_peer *p, MojoResult reason, const char *text) {
  pthread_mutex_lock(&ctl.mu);
  if (p->state == PEER_CLOSED) {
    pthread_mutex_unlock(&ctl.mu);
    return;
  }
  p->state = PEER_CLOSED;
  unlink_locked(p);
  queued_frame *queue = p->queue_head;
  p->queue_head = p->queue_tail = NULL;
  cm_attachment *attachments = p->attachments;
  pending_merge *merges = p->merges;
  p->attachments = NULL;
  p->merges = NULL;
  bool was_broker = ctl.broker == p;
  /* Our inviter gone before it named the broker: no broker will come. */
  bool broker_hope_lost = was_broker || (p->kind == PEER_INVITER && !p->isolated &&
                                         !p->got_broker_client && !ctl.broker && !ctl.is_broker);
  if (broker_hope_lost) {
    ctl.broker = NULL;
    ctl.accepted = false; /* no broker to come: broker_send drops */
    free_queue(ctl.broker_backlog_head);
    ctl.broker_backlog_head = ctl.broker_backlog_tail = NULL;
  }
  bool broker_here = ctl.is_broker;
  bool has_name = p->has_name;
  cm_node_name name = p->name;
  cm_io_watch *listener_watch = p->listener_watch;
  p->listener_watch = NULL;
  cm_platform_handle listener = p->listener;
  p->listener = cm_platform_handle_invalid();
  pthread_mutex_unlock(&ctl.mu);

  if (p->channel)
    cm_node_channel_close(p->channel, reason, text);
  cm_io_loop_unwatch(listener_watch);
  cm_platform_handle_close(&listener);
  free_queue(queue);
  protocol_release(attachments, merges);
  if (has_name)
    cm_node_lost_connection_to_node(ctl.node, &name);
  bool bad_input = reason == MOJO_RESULT_INVALID_ARGUMENT || reason == MOJO_RESULT_DATA_LOSS;
  protocol_report(p, text, strlen(text), MOJO_PROCESS_ERROR_FLAG_DISCONNECTED, bad_input);
  if (broker_hope_lost)
    drop_pending_introductions();
  if (broker_here)
    drop_pending_clients_of(p);
  if (was_broker)
    cm_peer_unref(p); /* ctl.broker's reference */
  cm_peer_unref(p);   /* the list's */
}

/* ---- Events out ---------------------------------------------------------- */

/* One EVENT frame: bytes (and for a large user message, its payload apart
 * as s.tail, still in the message) plus the OS handles of its user message. */
typedef struct frame {
  cm_serialized_message s;    /* bytes + handles (a user message) */
  cm_node_message_buffer buf; /* or just bytes (other events) */
  const uint8_t *bytes;
  size_t num_bytes;
} frame;

/* User payloads from this size on go out from the message itself (one iovec
 * more) instead of being copied behind the headers. */
enum { kPayloadApartBytes = 4096 };

static void frame_free(frame *f) {
  cm_serialized_message_free(&f->s);
  cm_node_message_buffer_free(&f->buf);
}

/* Makes the frame one piece (for queueing). False when out of memory. */
static bool frame_gather(frame *f) {
  if (!f->s.tail_num_bytes)
    return true;
  size_t n = f->num_bytes + f->s.tail_num_bytes, cap;
  uint8_t *b = cm_platform_buffer_alloc(n, &cap);
  if (!b)
    return false;
  memcpy(b, f->bytes, f->num_bytes);
  memcpy(b + f->num_bytes, f->s.tail, f->s.tail_num_bytes);
  cm_platform_buffer_free(f->s.bytes, f->s.capacity);
  f->s.bytes = b;
  f->s.capacity = cap;
  f->s.num_bytes = n;
  f->s.tail = NULL;
  f->s.tail_num_bytes = 0;
  f->bytes = b;
  f->num_bytes = n;
  return true;
}

/* The core message of a user message that cannot leave the process (a
 * context without serializer, too many fds): no payload, and a message
 * pipe entry for each port the event carries, so the ports still arrive
 * (and can be closed) and the route keeps its sequence. */
static MojoResult fallback_message(size_t num_ports, size_t headroom, cm_serialized_message *out) {
  size_t n = headroom + CM_MESSAGE_WIRE_HEADER_BYTES + num_ports * CM_MESSAGE_WIRE_ENTRY_BYTES;
  if (num_ports > CM_MAX_HANDLES_PER_MESSAGE || n > CM_MAX_FRAME_PAYLOAD_BYTES)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  uint8_t *b = cm_platform_buffer_alloc(n, &out->capacity);
  if (!b)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  memset(b, 0, n);
  uint8_t *core = b + headroom;
  cm_le_put32(core, (uint32_t)num_ports);
  cm_le_put32(core + 4, (uint32_t)(n - headroom));
  for (size_t i = 0; i < num_ports; i++) {
    uint8_t *e = core + CM_MESSAGE_WIRE_HEADER_BYTES + i * CM_MESSAGE_WIRE_ENTRY_BYTES;
    cm_le_put32(e, CM_DISPATCHER_MESSAGE_PIPE);
    cm_le_put32(e + 8, 1);
  }
  out->bytes = b;
  out->num_bytes = n;
  return MOJO_RESULT_OK;
}

/* Serializes `ev` into one EVENT frame; a large payload stays in the
 * event's message (destroy the event after the frame). False when out of
 * memory. */
static bool event_to_frame(cm_event *ev, frame *f) {
  memset(f, 0, sizeof(*f));
  size_t event_num_bytes = cm_event_serialized_size(ev);
  void *event_at = NULL;
  bool ok;
  if (cm_event_get_type(ev) == CM_EVENT_USER_MESSAGE) {
    size_t headroom =
        CM_NODE_MESSAGE_HEADER_BYTES + CM_NODE_MESSAGE_EVENT_BODY_BYTES + event_num_bytes;
    size_t num_ports = cm_event_num_ports(ev);
    cm_port_name local[8];
    cm_port_name *sent = num_ports <= 8 ? local : malloc(num_ports * sizeof(*sent));
    MojoResult r = MOJO_RESULT_RESOURCE_EXHAUSTED;
    if (sent) {
      cm_event_get_sent_ports(ev, sent);
      cm_message *m = cm_event_payload(ev);
      r = cm_message_serialize_for_transport_ex(m, sent, num_ports, headroom,
                                                m->payload_size >= kPayloadApartBytes, &f->s);
      if (sent != local)
        free(sent);
    }
    if (r != MOJO_RESULT_OK)
      r = fallback_message(num_ports, headroom, &f->s);
    ok = r == MOJO_RESULT_OK;
    if (ok) {
      /* The node header goes into the headroom: no second copy. */
      uint32_t num_handles = cm_le_get32(f->s.bytes + headroom);
      size_t core_bytes = f->s.num_bytes - headroom + f->s.tail_num_bytes;
      ok = cm_node_message_write_event_prefix(f->s.bytes, event_num_bytes, core_bytes, num_handles,
                                              f->s.num_handles) == MOJO_RESULT_OK;
      event_at = f->s.bytes + CM_NODE_MESSAGE_EVENT_PREFIX_BYTES;
      f->bytes = f->s.bytes;
      f->num_bytes = f->s.num_bytes;
    }
  } else {
    ok = cm_node_message_encode_event(&f->buf, event_num_bytes, 0, 0, 0, &event_at, NULL) ==
         MOJO_RESULT_OK;
    f->bytes = f->buf.bytes;
    f->num_bytes = f->buf.size;
  }
  if (ok)
    cm_event_serialize(ev, event_at);
  else
    frame_free(f);
  return ok;
}

void request_introduction_locked(cm_peer *p) {
  cm_node_message_buffer buf;
  cm_node_message_buffer_init(&buf);
  if (cm_node_message_encode_request_introduction(&buf, &p->name) == MOJO_RESULT_OK)
    peer_send_locked(ctl.broker, buf.bytes, buf.size, NULL, 0);
  cm_node_message_buffer_free(&buf);
}

/* The peer for `to`, with a reference, creating a record that waits for an
 * introduction when there is (or will be) a broker to ask. The request goes
 * out now if the broker link exists, else when it does (the name may turn
 * out to be the broker's own). NULL: `to` cannot be reached. */
static cm_peer *route_to_locked(const cm_node_name *to) {
  cm_peer *p = peer_find_locked(to);
  if (!p && !ctl.is_broker && (ctl.broker || ctl.accepted) &&
      ctl.num_introductions < CM_MAX_PENDING_INTRODUCTIONS) {
    p = peer_new_locked(PEER_INTRODUCED, PEER_AWAIT_CONNECTION);
    if (p) {
      p->name = *to;
      p->has_name = true;
      if (ctl.broker)
        request_introduction_locked(p);
    }
  }
  if (p)
    cm_peer_ref(p);
  return p;
}

void cm_node_controller_forward_event(const cm_node_name *to, cm_event *ev) {
  frame f;
  /* Serialized before any lock: a context serializer is the application's
   * code and may call the API. */
  bool ok = event_to_frame(ev, &f);
  pthread_mutex_lock(&ctl.mu);
  cm_peer *p = ok ? route_to_locked(to) : NULL;
  bool now = p && p->state == PEER_ACTIVE;
  /* A frame that waits is kept in one piece (the message goes below). */
  if (p && !now && frame_gather(&f))
    peer_send_locked(p, f.bytes, f.num_bytes, f.s.handles, f.s.num_handles);
  pthread_mutex_unlock(&ctl.mu);
  if (now) {
    /* The message is spent: its payload's buffer goes to the transport,
     * which keeps it (instead of a copy) if the socket does not take all. */
    cm_platform_tail tail = {f.s.tail, f.s.tail_num_bytes, NULL, 0};
    if (tail.num_bytes)
      cm_message_release_payload(cm_event_payload(ev), &tail.owner, &tail.owner_capacity);
    (void)cm_node_channel_write2(p->channel, f.bytes, f.num_bytes, &tail, f.s.handles,
                                 f.s.num_handles);
  }
  if (ok)
    frame_free(&f);
  cm_event_destroy(ev);
  if (p) {
    cm_peer_unref(p);
  } else if (!ok) {
    /* Out of memory: the event is lost, so the route through `to` cannot go
     * on; the connection goes too, so both sides agree (the ports layer
     * hears of the loss from peer_drop). */
    pthread_mutex_lock(&ctl.mu);
    cm_peer *q = peer_find_locked(to);
    if (q)
      cm_peer_ref(q);
    pthread_mutex_unlock(&ctl.mu);
    if (q) {
      peer_drop(q, MOJO_RESULT_RESOURCE_EXHAUSTED, "out of memory for an event");
      cm_peer_unref(q);
    } else {
      cm_node_lost_connection_to_node(ctl.node, to);
    }
  } else {
    /* The ports layer's rule for an unreachable node: drop the event and
     * declare the node lost, so routes through it close. */
    cm_node_lost_connection_to_node(ctl.node, to);
  }
}

void cm_node_controller_broadcast_event(cm_event *ev) {
  size_t n = cm_event_serialized_size(ev);
  uint8_t *event = malloc(n);
  cm_node_message_buffer buf;
  cm_node_message_buffer_init(&buf);
  if (event) {
    cm_event_serialize(ev, event);
    if (cm_node_message_encode_broadcast_event(&buf, &ctl.name, event, n) != MOJO_RESULT_OK)
      buf.size = 0;
  }
  cm_event_destroy(ev);
  free(event);
  if (buf.size) {
    pthread_mutex_lock(&ctl.mu);
    /* Everyone we may share routes with: the graph (directly when we are
     * its broker, else through it) and the isolated peers, which accept our
     * own broadcasts (never relayed ones). */
    for (cm_peer *p = ctl.peers; p; p = p->next)
      if (p->has_name && (p->isolated || ctl.is_broker))
        peer_send_locked(p, buf.bytes, buf.size, NULL, 0);
    if (!ctl.is_broker)
      broker_send_locked(buf.bytes, buf.size, NULL, 0);
    pthread_mutex_unlock(&ctl.mu);
  }
  cm_node_message_buffer_free(&buf);
}

/* ---- Events in ----------------------------------------------------------- */

/* An EVENT from `p`. Returns NULL, or why the connection must be dropped. */
static const char *handle_event(cm_peer *p, const cm_node_message *m, cm_platform_handle *fds,
                                size_t num_fds) {
  pthread_mutex_lock(&ctl.mu);
  bool active = p->state == PEER_ACTIVE;
  cm_node_name from = p->name;
  pthread_mutex_unlock(&ctl.mu);
  if (!active) {
    cm_platform_handles_close(fds, num_fds);
    return "EVENT before the connection was active";
  }
  cm_event *ev = NULL;
  size_t used = 0;
  if (cm_event_deserialize(m->u.event.event, m->u.event.event_num_bytes, &ev, &used) !=
      MOJO_RESULT_OK)
    ev = NULL;
  if (!ev || used != m->u.event.event_num_bytes) {
    if (ev)
      cm_event_destroy(ev);
    cm_platform_handles_close(fds, num_fds);
    return "EVENT: malformed ports event";
  }
  if (cm_event_get_type(ev) == CM_EVENT_USER_MESSAGE) {
    cm_message *msg;
    /* A large message keeps the buffer it arrived in as its payload's
     * storage: no copy out of the frame. */
    cm_message_block block = {NULL, 0};
    if (m->u.event.payload_num_bytes >= kPayloadApartBytes)
      (void)cm_node_channel_take_frame(p->channel, &block.base, &block.capacity);
    MojoResult r = cm_message_deserialize_ex(m->u.event.payload, m->u.event.payload_num_bytes, fds,
                                             num_fds, cm_event_num_ports(ev), &block, &msg);
    if (r != MOJO_RESULT_OK) {
      cm_event_destroy(ev);
      return r == MOJO_RESULT_DATA_LOSS ? "EVENT: malformed user message"
                                        : "EVENT: out of memory for a user message";
    }
    if (msg->num_dispatchers != m->u.event.num_handles) {
      cm_message_destroy(msg);
      cm_event_destroy(ev);
      return "EVENT: handle count differs from the user message's";
    }
    msg->source_node = from;
    cm_event_set_payload(ev, msg, &cm_message_payload_ops, msg->payload_size);
  }
  if (cm_node_accept_event(ctl.node, &from, ev) == MOJO_RESULT_DATA_LOSS)
    return "EVENT: refused by the ports layer";
  return NULL;
}

/* ---- Channel delegate ---------------------------------------------------- */

/* Channel callbacks run on the loop thread, outside any API call: the trap
 * events they cause carry no WITHIN_API_CALL flag, and run when the
 * callback's work is done, with no lock held. */
static void on_connected(void *context, uint32_t version, uint64_t capabilities) {
  (void)version;
  (void)capabilities;
  cm_request_context rc;
  cm_request_context_begin(&rc, MOJO_TRAP_EVENT_FLAG_NONE);
  protocol_on_connected(context);
  cm_request_context_end(&rc);
}

static void on_message(void *context, const cm_node_message *m, cm_platform_handle *fds,
                       size_t num_fds) {
  cm_peer *p = context;
  cm_request_context rc;
  cm_request_context_begin(&rc, MOJO_TRAP_EVENT_FLAG_NONE);
  const char *err = m->type == CM_NODE_MESSAGE_EVENT ? handle_event(p, m, fds, num_fds)
                                                     : protocol_on_message(p, m, fds, num_fds);
  if (err)
    peer_drop(p, MOJO_RESULT_INVALID_ARGUMENT, err);
  cm_request_context_end(&rc);
}

static void on_disconnect(void *context, MojoResult reason, const char *text) {
  cm_request_context rc;
  cm_request_context_begin(&rc, MOJO_TRAP_EVENT_FLAG_NONE);
  peer_drop(context, reason, text);
  cm_request_context_end(&rc);
}

static const cm_node_channel_delegate kChannelDelegate = {
    .on_connected = on_connected,
    .on_message = on_message,
    .on_disconnect = on_disconnect,
};

MojoResult cm_node_controller_peer_credentials(const cm_node_name *node,
                                               cm_platform_peer_credentials *out) {
  pthread_mutex_lock(&ctl.mu);
  cm_peer *p = peer_find_locked(node);
  MojoResult r =
      p && p->channel ? cm_node_channel_peer_credentials(p->channel, out) : MOJO_RESULT_NOT_FOUND;
  pthread_mutex_unlock(&ctl.mu);
  return r;
}
