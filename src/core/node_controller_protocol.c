/* node_controller_protocol: the node protocol above HELLO
 * (docs/node-protocol.md, "Connection states"): the invitation handshake,
 * joining the broker, introductions, broadcasts and bad-message reports,
 * plus the invitation entry points that create connections.
 *
 * Every handler checks that the message is allowed from this peer in its
 * state and role; a message that is not, or that fails a check, gives the
 * reason to drop the connection. Ports-layer calls that may send events
 * (merges, closes) are made after ctl.mu is released: the ports layer calls
 * back into cm_node_controller_forward_event, which takes it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cm_limits.h"
#include "core/message_serialize.h"
#include "core/node_controller_internal.h"

/* Encodes with `enc_call` into a local buffer named buf; the caller frees. */
#define ENCODE(call) (cm_node_message_buffer_init(&buf), (call) == MOJO_RESULT_OK)

static void close_port(cm_port_ref *port) {
  cm_node_close_port(ctl.node, port);
  cm_port_ref_release(port);
}

void protocol_release(cm_attachment *attachments, pending_merge *merges) {
  while (attachments) {
    cm_attachment *next = attachments->next;
    close_port(&attachments->port);
    free(attachments);
    attachments = next;
  }
  while (merges) {
    pending_merge *next = merges->next;
    close_port(&merges->port);
    free(merges);
    merges = next;
  }
}

void protocol_report(cm_peer *p, const char *text, size_t n, MojoProcessErrorFlags flags,
                     bool use_default) {
  struct MojoProcessErrorDetails details = {
      .struct_size = sizeof(details),
      .error_message_length = (uint32_t)n,
      .error_message = text,
      .flags = flags,
  };
  if (p && p->invited_by_us) {
    if (p->handler)
      p->handler(p->handler_context, &details);
    return;
  }
  if (!use_default)
    return;
  pthread_mutex_lock(&ctl.mu);
  MojoDefaultProcessErrorHandler h = ctl.default_handler;
  pthread_mutex_unlock(&ctl.mu);
  if (h)
    h(&details);
}

/* ---- Handshake ----------------------------------------------------------- */

void protocol_on_connected(cm_peer *p) {
  cm_node_message_buffer buf;
  cm_node_message_buffer_init(&buf);
  pthread_mutex_lock(&ctl.mu);
  if (p->state == PEER_AWAIT_HELLO) {
    if (p->kind == PEER_INVITEE) {
      cm_name_random(&p->token);
      if (cm_node_message_encode_accept_invitee(&buf, &ctl.name, &p->token) == MOJO_RESULT_OK)
        peer_send_now(p, buf.bytes, buf.size, NULL, 0);
      p->state = PEER_AWAIT_ACCEPT_INVITATION;
    } else if (p->kind == PEER_INVITER) {
      p->state = PEER_AWAIT_ACCEPT_INVITEE;
    } else {
      peer_activate_locked(p);
    }
  }
  pthread_mutex_unlock(&ctl.mu);
  cm_node_message_buffer_free(&buf);
}

void protocol_send_merge_request(cm_peer *p, pending_merge *m) {
  cm_node_message_buffer buf;
  if (cm_node_allow_port_merge(ctl.node, &m->port, &p->name) == MOJO_RESULT_OK &&
      ENCODE(cm_node_message_encode_request_port_merge(&buf, &m->port.name, m->name,
                                                       m->name_num_bytes))) {
    pthread_mutex_lock(&ctl.mu);
    peer_send_locked(p, buf.bytes, buf.size, NULL, 0);
    pthread_mutex_unlock(&ctl.mu);
    cm_port_ref_release(&m->port);
  } else {
    close_port(&m->port);
  }
  cm_node_message_buffer_free(&buf);
  free(m);
}

static const char *on_accept_invitee(cm_peer *p, const cm_node_message *m) {
  cm_node_message_buffer buf;
  pthread_mutex_lock(&ctl.mu);
  if (p->state != PEER_AWAIT_ACCEPT_INVITEE || p->kind != PEER_INVITER) {
    pthread_mutex_unlock(&ctl.mu);
    return "unexpected ACCEPT_INVITEE";
  }
  if (!peer_set_name_locked(p, &m->u.accept_invitee.inviter_name)) {
    pthread_mutex_unlock(&ctl.mu);
    return "ACCEPT_INVITEE: the inviter's name is ours or known";
  }
  if (ENCODE(cm_node_message_encode_accept_invitation(&buf, &m->u.accept_invitee.token, &ctl.name)))
    peer_send_now(p, buf.bytes, buf.size, NULL, 0);
  cm_node_message_buffer_free(&buf);
  peer_activate_locked(p);
  pending_merge *merges = p->merges;
  p->merges = NULL;
  pthread_mutex_unlock(&ctl.mu);
  /* Oldest first: requests were pushed at the head. */
  pending_merge *ordered = NULL;
  while (merges) {
    pending_merge *next = merges->next;
    merges->next = ordered;
    ordered = merges;
    merges = next;
  }
  while (ordered) {
    pending_merge *next = ordered->next;
    protocol_send_merge_request(p, ordered);
    ordered = next;
  }
  return NULL;
}

static const char *on_accept_invitation(cm_peer *p, const cm_node_message *m) {
  cm_node_message_buffer buf;
  const char *err = NULL;
  pthread_mutex_lock(&ctl.mu);
  if (p->state != PEER_AWAIT_ACCEPT_INVITATION)
    err = "unexpected ACCEPT_INVITATION";
  else if (!cm_name_equal(&m->u.accept_invitation.token, &p->token))
    err = "ACCEPT_INVITATION: wrong token";
  else if (cm_name_equal(&m->u.accept_invitation.invitee_name, &p->token) ||
           !peer_set_name_locked(p, &m->u.accept_invitation.invitee_name))
    err = "ACCEPT_INVITATION: the invitee's name is ours or known";
  if (err) {
    pthread_mutex_unlock(&ctl.mu);
    return err;
  }
  peer_activate_locked(p);
  if (!p->isolated && ctl.is_broker) {
    if (ENCODE(cm_node_message_encode_accept_broker_client(&buf, &ctl.name, false)))
      peer_send_locked(p, buf.bytes, buf.size, NULL, 0);
    cm_node_message_buffer_free(&buf);
  } else if (!p->isolated) {
    if (ENCODE(cm_node_message_encode_add_broker_client(&buf, &p->name, (uint64_t)p->pid)))
      broker_send_locked(buf.bytes, buf.size, NULL, 0);
    cm_node_message_buffer_free(&buf);
    p->awaiting_broker_client = true;
  }
  pthread_mutex_unlock(&ctl.mu);
  return NULL;
}

/* ---- Joining the broker -------------------------------------------------- */

/* Clients `inviter` announced: all of them, and those not connected yet. */
static void count_clients_locked(const cm_peer *inviter, size_t *all, size_t *pending) {
  *all = *pending = 0;
  for (const cm_peer *q = ctl.peers; q; q = q->next) {
    if (q->kind == PEER_CLIENT && q->has_inviter_name &&
        cm_name_equal(&q->inviter_name, &inviter->name)) {
      (*all)++;
      *pending += q->state != PEER_ACTIVE;
    }
  }
}

static const char *on_add_broker_client(cm_peer *p, const cm_node_message *m) {
  const cm_node_name *client = &m->u.add_broker_client.client_name;
  pthread_mutex_lock(&ctl.mu);
  const char *err = NULL;
  bool ignore = false;
  size_t all, pending;
  count_clients_locked(p, &all, &pending);
  if (!ctl.is_broker || p->isolated)
    err = "unexpected ADD_BROKER_CLIENT";
  else if (pending >= CM_MAX_PENDING_CLIENTS_PER_PEER)
    err = "ADD_BROKER_CLIENT: too many clients announced that never connected";
  else if (all >= CM_MAX_CLIENTS_PER_PEER)
    err = "ADD_BROKER_CLIENT: too many clients announced";
  /* A name we know is the invitee's lie (or a collision), not necessarily
   * its inviter's: the client is refused and the inviter kept. */
  else if (cm_name_equal(client, &ctl.name) || peer_find_locked(client))
    ignore = true;
  pthread_mutex_unlock(&ctl.mu);
  if (err || ignore)
    return err;
  cm_platform_handle ours, theirs;
  if (cm_platform_channel_create_pair(&ours, &theirs) != MOJO_RESULT_OK)
    return NULL; /* out of fds: this client is refused, nobody is at fault */
  cm_node_message_buffer buf;
  cm_peer *q = NULL;
  pthread_mutex_lock(&ctl.mu);
  if ((q = peer_new_locked(PEER_CLIENT, PEER_AWAIT_CONNECTION)) &&
      peer_set_name_locked(q, client)) {
    q->has_inviter_name = true;
    q->inviter_name = p->name;
    q->pid = (int64_t)m->u.add_broker_client.process_id;
    cm_peer_ref(q);
    if (ENCODE(cm_node_message_encode_broker_client_added(&buf, client)))
      peer_send_locked(p, buf.bytes, buf.size, &theirs, 1);
    cm_node_message_buffer_free(&buf);
  } else if (q) {
    cm_peer_ref(q); /* the name was taken meanwhile */
    pthread_mutex_unlock(&ctl.mu);
    peer_drop(q, MOJO_RESULT_ALREADY_EXISTS, "client name taken");
    cm_peer_unref(q);
    q = NULL;
    pthread_mutex_lock(&ctl.mu);
  }
  pthread_mutex_unlock(&ctl.mu);
  cm_platform_handle_close(&theirs);
  if (!q) {
    cm_platform_handle_close(&ours);
    return NULL;
  }
  if (peer_connect(q, &ours) != MOJO_RESULT_OK)
    peer_drop(q, MOJO_RESULT_RESOURCE_EXHAUSTED, "cannot connect to a new client");
  cm_peer_unref(q);
  return NULL;
}

static const char *on_broker_client_added(cm_peer *p, const cm_node_message *m,
                                          cm_platform_handle *fds) {
  cm_node_message_buffer buf;
  pthread_mutex_lock(&ctl.mu);
  if (p != ctl.broker) {
    pthread_mutex_unlock(&ctl.mu);
    cm_platform_handle_close(&fds[0]);
    return "unexpected BROKER_CLIENT_ADDED";
  }
  cm_peer *q = peer_find_locked(&m->u.broker_client_added.client_name);
  /* An invitee that went away meanwhile is no fault of the broker's. */
  if (q && q->kind == PEER_INVITEE && q->awaiting_broker_client) {
    q->awaiting_broker_client = false;
    if (ENCODE(cm_node_message_encode_accept_broker_client(&buf, &p->name, true)))
      peer_send_locked(q, buf.bytes, buf.size, &fds[0], 1);
    cm_node_message_buffer_free(&buf);
  }
  pthread_mutex_unlock(&ctl.mu);
  cm_platform_handle_close(&fds[0]);
  return NULL;
}

/* The broker link exists now: what waited for it goes to it. */
static void flush_backlog_locked(void) {
  queued_frame *q = ctl.broker_backlog_head;
  ctl.broker_backlog_head = ctl.broker_backlog_tail = NULL;
  while (q) {
    queued_frame *next = q->next;
    peer_send_locked(ctl.broker, q->bytes, q->num_bytes, q->fds, q->num_fds);
    free(q->fds);
    free(q->bytes);
    free(q);
    q = next;
  }
}

/* The broker link exists now: introductions waited for it. */
static void request_pending_introductions_locked(void) {
  for (cm_peer *q = ctl.peers; q; q = q->next)
    if (q->kind == PEER_INTRODUCED && q->state == PEER_AWAIT_CONNECTION)
      request_introduction_locked(q);
}

/* The record for the broker's link: a new one, or the one that waits for
 * an introduction to the broker (events for it came before this message). */
static cm_peer *broker_record_locked(const cm_node_name *broker, const char **err) {
  cm_peer *q = peer_find_locked(broker);
  if (q && !(q->kind == PEER_INTRODUCED && q->state == PEER_AWAIT_CONNECTION)) {
    *err = "ACCEPT_BROKER_CLIENT: the broker's name is ours or known";
    return NULL;
  }
  if (q) {
    q->kind = PEER_BROKER;
    ctl.num_introductions--; /* counted as an introduction when made */
  } else if (!(q = peer_new_locked(PEER_BROKER, PEER_AWAIT_CONNECTION))) {
    *err = "ACCEPT_BROKER_CLIENT: out of memory";
  } else if (!peer_set_name_locked(q, broker)) {
    *err = "ACCEPT_BROKER_CLIENT: the broker's name is ours";
  }
  return q;
}

static const char *on_accept_broker_client(cm_peer *p, const cm_node_message *m,
                                           cm_platform_handle *fds, size_t num_fds) {
  const cm_node_name *broker = &m->u.accept_broker_client.broker_name;
  const char *err = NULL;
  cm_peer *q = NULL;
  pthread_mutex_lock(&ctl.mu);
  if (p->kind != PEER_INVITER || p->isolated || p->got_broker_client || ctl.broker)
    err = "unexpected ACCEPT_BROKER_CLIENT";
  else if (num_fds == 0 && !cm_name_equal(broker, &p->name))
    err = "ACCEPT_BROKER_CLIENT: no channel, yet the inviter is not the broker";
  else if (num_fds == 1)
    q = broker_record_locked(broker, &err);
  if (!err) {
    p->got_broker_client = true;
    ctl.broker = q ? q : p;
    cm_peer_ref(ctl.broker);
    flush_backlog_locked();
    request_pending_introductions_locked();
  }
  if (q)
    cm_peer_ref(q);
  pthread_mutex_unlock(&ctl.mu);
  if (err) {
    cm_platform_handles_close(fds, num_fds);
    if (q) {
      peer_drop(q, MOJO_RESULT_ABORTED, err);
      cm_peer_unref(q);
    }
    return err;
  }
  if (q) {
    if (peer_connect(q, &fds[0]) != MOJO_RESULT_OK)
      peer_drop(q, MOJO_RESULT_RESOURCE_EXHAUSTED, "cannot connect to the broker");
    cm_peer_unref(q);
  }
  return NULL;
}

/* ---- Merges and introductions -------------------------------------------- */

static const char *on_request_port_merge(cm_peer *p, const cm_node_message *m) {
  const void *name = m->u.request_port_merge.name;
  size_t n = m->u.request_port_merge.name_num_bytes;
  pthread_mutex_lock(&ctl.mu);
  if (p->kind != PEER_INVITEE) {
    pthread_mutex_unlock(&ctl.mu);
    return "unexpected REQUEST_PORT_MERGE";
  }
  cm_attachment *found = NULL;
  for (cm_attachment **a = &p->attachments; *a; a = &(*a)->next) {
    if ((*a)->name_num_bytes == n && (n == 0 || memcmp((*a)->name, name, n) == 0)) {
      found = *a;
      *a = found->next;
      break;
    }
  }
  cm_node_name peer_name = p->name;
  pthread_mutex_unlock(&ctl.mu);
  const cm_port_name *remote = &m->u.request_port_merge.port_name;
  if (found) {
    cm_node_merge_ports(ctl.node, &found->port, &peer_name, remote);
    cm_port_ref_release(&found->port);
    free(found);
    return NULL;
  }
  /* No such pipe: give the invitee's port a peer that is closed at once. */
  cm_port_ref a, b;
  if (cm_node_create_port_pair(ctl.node, &a, &b) == MOJO_RESULT_OK) {
    cm_node_merge_ports(ctl.node, &a, &peer_name, remote);
    cm_port_ref_release(&a);
    close_port(&b);
  }
  return NULL;
}

static const char *on_request_introduction(cm_peer *p, const cm_node_message *m) {
  const cm_node_name *target = &m->u.request_introduction.peer_name;
  cm_platform_handle x = cm_platform_handle_invalid(), y = cm_platform_handle_invalid();
  cm_node_message_buffer buf;
  pthread_mutex_lock(&ctl.mu);
  if (!ctl.is_broker || p->isolated || cm_name_equal(target, &p->name) ||
      cm_name_equal(target, &ctl.name)) {
    pthread_mutex_unlock(&ctl.mu);
    return "unexpected REQUEST_INTRODUCTION";
  }
  cm_peer *q = peer_find_locked(target);
  if (q && q->isolated)
    q = NULL;
  /* A node not connected yet holds its introductions (a socket each) until
   * it is: only so many. Past that the requester hears "unknown", as for a
   * node that is not there, so requests cannot pile up sockets here. */
  if (q && q->state != PEER_ACTIVE && q->queued_introductions >= CM_MAX_QUEUED_INTRODUCTIONS)
    q = NULL;
  bool paired = q && cm_platform_channel_create_pair(&x, &y) == MOJO_RESULT_OK;
  /* Both halves back to back, so both nodes see introductions in the same
   * order (node-protocol.md, type 11). */
  if (ENCODE(cm_node_message_encode_introduce(&buf, target, paired)))
    peer_send_locked(p, buf.bytes, buf.size, &x, paired ? 1 : 0);
  cm_node_message_buffer_free(&buf);
  if (paired && ENCODE(cm_node_message_encode_introduce(&buf, &p->name, true))) {
    if (q->state != PEER_ACTIVE)
      q->queued_introductions++;
    peer_send_locked(q, buf.bytes, buf.size, &y, 1);
  }
  cm_node_message_buffer_free(&buf);
  pthread_mutex_unlock(&ctl.mu);
  cm_platform_handle_close(&x);
  cm_platform_handle_close(&y);
  return NULL;
}

static const char *on_introduce(cm_peer *p, const cm_node_message *m, cm_platform_handle *fds,
                                size_t num_fds) {
  const cm_node_name *name = &m->u.introduce.peer_name;
  cm_peer *q = NULL;
  bool connect = false, unknown = false;
  pthread_mutex_lock(&ctl.mu);
  if (p != ctl.broker || cm_name_equal(name, &ctl.name)) {
    pthread_mutex_unlock(&ctl.mu);
    cm_platform_handles_close(fds, num_fds);
    return "unexpected INTRODUCE";
  }
  q = peer_find_locked(name);
  bool waiting = q && q->kind == PEER_INTRODUCED && q->state == PEER_AWAIT_CONNECTION;
  if (num_fds == 1 && (waiting || !q)) {
    /* Our request, or the other side's (then we have no record yet). */
    if (!q && (q = peer_new_locked(PEER_INTRODUCED, PEER_AWAIT_CONNECTION)))
      peer_set_name_locked(q, name);
    connect = q != NULL;
  } else if (num_fds == 0 && waiting) {
    unknown = true;
  }
  if (q)
    cm_peer_ref(q);
  pthread_mutex_unlock(&ctl.mu);
  if (connect) {
    if (peer_connect(q, &fds[0]) != MOJO_RESULT_OK)
      peer_drop(q, MOJO_RESULT_RESOURCE_EXHAUSTED, "cannot connect to an introduced node");
  } else {
    /* Connected already (both asked at once): keep the first channel. */
    cm_platform_handles_close(fds, num_fds);
  }
  if (unknown)
    peer_drop(q, MOJO_RESULT_NOT_FOUND, "the broker knows no such node");
  cm_peer_unref(q);
  return NULL;
}

/* ---- Broadcasts and reports ---------------------------------------------- */

static const char *on_broadcast_event(cm_peer *p, const cm_node_message *m) {
  const cm_node_name *origin = &m->u.broadcast_event.origin;
  pthread_mutex_lock(&ctl.mu);
  /* An isolated peer may announce its own ports only, and is not relayed. */
  bool own = cm_name_equal(origin, &p->name);
  bool ok = p->isolated ? own : (ctl.is_broker ? own : p == ctl.broker);
  bool relay = ctl.is_broker && !p->isolated;
  pthread_mutex_unlock(&ctl.mu);
  if (!ok)
    return "unexpected BROADCAST_EVENT";
  cm_event *ev = NULL;
  size_t used = 0;
  if (cm_event_deserialize(m->u.broadcast_event.event, m->u.broadcast_event.event_num_bytes, &ev,
                           &used) != MOJO_RESULT_OK)
    ev = NULL;
  if (!ev || used != m->u.broadcast_event.event_num_bytes) {
    if (ev)
      cm_event_destroy(ev);
    return "BROADCAST_EVENT: malformed ports event";
  }
  if (cm_node_accept_event(ctl.node, origin, ev) == MOJO_RESULT_DATA_LOSS)
    return "BROADCAST_EVENT: refused by the ports layer";
  if (!relay)
    return NULL;
  cm_node_message_buffer buf;
  if (ENCODE(cm_node_message_encode_broadcast_event(&buf, origin, m->u.broadcast_event.event,
                                                    m->u.broadcast_event.event_num_bytes))) {
    pthread_mutex_lock(&ctl.mu);
    for (cm_peer *q = ctl.peers; q; q = q->next)
      if (q != p && !q->isolated && q->has_name)
        peer_send_locked(q, buf.bytes, buf.size, NULL, 0);
    pthread_mutex_unlock(&ctl.mu);
  }
  cm_node_message_buffer_free(&buf);
  return NULL;
}

/* A report about `subject`: to its inviter's handler, here or elsewhere.
 * Called without ctl.mu. `from` is the connection it came over (NULL: a
 * report made in this process). */
static void route_report(const cm_node_name *subject, const cm_node_name *reporter,
                         const char *text, size_t n, cm_peer *from) {
  cm_node_message_buffer buf;
  cm_node_message_buffer_init(&buf);
  pthread_mutex_lock(&ctl.mu);
  cm_peer *q = peer_find_locked(subject);
  bool ours = q && q->invited_by_us;
  if (ours) {
    cm_peer_ref(q);
  } else if (ctl.is_broker && q && q->has_inviter_name) {
    cm_peer *inviter = peer_find_locked(&q->inviter_name);
    if (inviter && inviter != from &&
        cm_node_message_encode_bad_message_report(&buf, subject, reporter, text, n) ==
            MOJO_RESULT_OK)
      peer_send_locked(inviter, buf.bytes, buf.size, NULL, 0);
  } else if (!ctl.is_broker && !from &&
             cm_node_message_encode_bad_message_report(&buf, subject, reporter, text, n) ==
                 MOJO_RESULT_OK) {
    broker_send_locked(buf.bytes, buf.size, NULL, 0);
  }
  pthread_mutex_unlock(&ctl.mu);
  cm_node_message_buffer_free(&buf);
  if (ours) {
    protocol_report(q, text, n, MOJO_PROCESS_ERROR_FLAG_NONE, false);
    cm_peer_unref(q);
  } else if (!from) {
    /* Reported here about a process this one did not invite. */
    protocol_report(NULL, text, n, MOJO_PROCESS_ERROR_FLAG_NONE, true);
  }
}

static const char *on_bad_message_report(cm_peer *p, const cm_node_message *m) {
  const cm_node_name *reporter = &m->u.bad_message_report.reporter;
  pthread_mutex_lock(&ctl.mu);
  bool ok = !p->isolated && (ctl.is_broker ? cm_name_equal(reporter, &p->name) : p == ctl.broker);
  pthread_mutex_unlock(&ctl.mu);
  if (!ok)
    return "unexpected BAD_MESSAGE_REPORT";
  route_report(&m->u.bad_message_report.subject, reporter, m->u.bad_message_report.error,
               m->u.bad_message_report.error_num_bytes, p);
  return NULL;
}

void cm_node_controller_notify_bad_message(const cm_node_name *source, const char *error,
                                           size_t error_num_bytes) {
  if (error_num_bytes > CM_MAX_NODE_MESSAGE_TEXT_BYTES)
    error_num_bytes = CM_MAX_NODE_MESSAGE_TEXT_BYTES;
  route_report(source, &ctl.name, error ? error : "", error_num_bytes, NULL);
}

MojoResult cm_node_controller_set_default_error_handler(MojoDefaultProcessErrorHandler handler) {
  pthread_mutex_lock(&ctl.mu);
  MojoResult r = MOJO_RESULT_OK;
  if (handler && ctl.default_handler)
    r = MOJO_RESULT_ALREADY_EXISTS;
  else
    ctl.default_handler = handler;
  pthread_mutex_unlock(&ctl.mu);
  return r;
}

/* ---- Dispatch ------------------------------------------------------------ */

const char *protocol_on_message(cm_peer *p, const cm_node_message *m, cm_platform_handle *fds,
                                size_t num_fds) {
  pthread_mutex_lock(&ctl.mu);
  peer_state state = p->state;
  pthread_mutex_unlock(&ctl.mu);
  bool active = state == PEER_ACTIVE;
  const char *err = "unexpected message";
  switch (m->type) {
    case CM_NODE_MESSAGE_ACCEPT_INVITEE:
      err = on_accept_invitee(p, m);
      break;
    case CM_NODE_MESSAGE_ACCEPT_INVITATION:
      err = on_accept_invitation(p, m);
      break;
    case CM_NODE_MESSAGE_ADD_BROKER_CLIENT:
      err = active ? on_add_broker_client(p, m) : "ADD_BROKER_CLIENT before active";
      break;
    case CM_NODE_MESSAGE_BROKER_CLIENT_ADDED:
      if (active)
        return on_broker_client_added(p, m, fds);
      err = "BROKER_CLIENT_ADDED before active";
      break;
    case CM_NODE_MESSAGE_ACCEPT_BROKER_CLIENT:
      if (active)
        return on_accept_broker_client(p, m, fds, num_fds);
      err = "ACCEPT_BROKER_CLIENT before active";
      break;
    case CM_NODE_MESSAGE_REQUEST_PORT_MERGE:
      err = active ? on_request_port_merge(p, m) : "REQUEST_PORT_MERGE before active";
      break;
    case CM_NODE_MESSAGE_REQUEST_INTRODUCTION:
      err = active ? on_request_introduction(p, m) : "REQUEST_INTRODUCTION before active";
      break;
    case CM_NODE_MESSAGE_INTRODUCE:
      if (active)
        return on_introduce(p, m, fds, num_fds);
      err = "INTRODUCE before active";
      break;
    case CM_NODE_MESSAGE_BROADCAST_EVENT:
      err = active ? on_broadcast_event(p, m) : "BROADCAST_EVENT before active";
      break;
    case CM_NODE_MESSAGE_BAD_MESSAGE_REPORT:
      err = active ? on_bad_message_report(p, m) : "BAD_MESSAGE_REPORT before active";
      break;
    default:
      break;
  }
  cm_platform_handles_close(fds, num_fds);
  return err;
}
