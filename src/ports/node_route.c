/* The routing algorithm: what a node does with each event, how a port turns
 * into a proxy when it travels, how proxies drain and disappear, closure,
 * merging, and loss of a node. Every function runs with node->lock held and
 * puts its outside effects into the cm_op.
 *
 * Shape of a route: every port names its peer (where its messages go) and
 * its "previous" port (whose ordered events it accepts). Sending a port to
 * another node leaves a proxy behind that forwards to the port's new home;
 * the proxy then announces itself (ObserveProxy), the port that points at
 * it re-targets past it and answers with the last sequence number it sent
 * through it (ObserveProxyAck), and the proxy erases itself once it has
 * forwarded that message, telling its peer who its previous port now is
 * (UpdatePreviousPeer).
 */
#include <stdio.h>
#include <stdlib.h>

#include "ports_internal.h"

void cm_route_set_peer(cm_port *port, const cm_node_name *node, const cm_port_name *name) {
  port->peer_node = *node;
  port->peer_port = *name;
  port->next_control_seq_to_send = CM_SEQ_INITIAL; /* a new link */
}

/* A control event from `port` to its peer, numbered on their link. */
cm_event *cm_route_to_peer(cm_port *port, cm_event_type type) {
  return cm_event_new(type, &port->peer_port, &port->name, port->next_control_seq_to_send++);
}

/* A port waiting for PortAccepted must not let anything reach its new home
 * before the port exists there; it keeps such events until then. */
void cm_route_send_to_peer(cm_op *op, cm_port *port, cm_event *ev) {
  if (port->state == CM_PORT_BUFFERING) {
    ev->route_node = port->peer_node;
    ev->next = NULL;
    if (port->pending_tail)
      port->pending_tail->next = ev;
    else
      port->pending_head = ev;
    port->pending_tail = ev;
  } else {
    cm_op_emit(op, &port->peer_node, ev);
  }
}

static void update_previous_peer(cm_op *op, cm_port *port, const cm_node_name *node,
                                 const cm_port_name *name) {
  cm_event *ev = cm_route_to_peer(port, CM_EVENT_UPDATE_PREVIOUS_PEER);
  ev->u.update_prev.new_node = *node;
  ev->u.update_prev.new_port = *name;
  cm_op_emit(op, &port->peer_node, ev);
}

/* ---- Ordering of control events ----------------------------------------- */

static bool is_ordered(const cm_event *ev) {
  switch (ev->type) {
  case CM_EVENT_PORT_ACCEPTED:
  case CM_EVENT_MERGE_PORT:
    return false;
  case CM_EVENT_OBSERVE_PROXY:
    return ev->control_seq != CM_SEQ_INVALID; /* else a dead-port notice */
  default:
    return true;
  }
}

static bool from_prev(const cm_port *port, const cm_node_name *from, const cm_event *ev) {
  return cm_name_equal(from, &port->prev_node) && cm_name_equal(&ev->from_port, &port->prev_port);
}

static cm_event *take_next_buffered(cm_port *port, cm_node_name *from) {
  for (cm_event **link = &port->buffered; *link; link = &(*link)->next) {
    cm_event *ev = *link;
    if (from_prev(port, &ev->route_node, ev) &&
        ev->control_seq == port->next_control_seq_to_receive) {
      *link = ev->next;
      ev->next = NULL;
      *from = ev->route_node;
      return ev;
    }
  }
  return NULL;
}

void cm_route_run_buffered(cm_op *op, cm_port *port) {
  cm_node_name from;
  cm_event *ev;
  while (port->state != CM_PORT_CLOSED && (ev = take_next_buffered(port, &from))) {
    cm_route_dispatch(op, port, &from, ev);
    port->next_control_seq_to_receive++;
  }
}

/* CMOJO_PORTS_TRACE=1 prints to stderr every event a node accepts ("<-")
 * or sends ("->"), local ones too (like WAYLAND_DEBUG): node, other node,
 * type, target, sender port, control number and the type's fields. Read
 * once; names are shown by their first 64 bits. */
atomic_int cm_route_trace_state = -1; /* nodes on several threads may ask */

void cm_route_trace(const cm_op *op, const char *what, const cm_node_name *from,
                    const cm_event *ev) {
  int enabled = atomic_load_explicit(&cm_route_trace_state, memory_order_relaxed);
  if (enabled < 0) {
    enabled = getenv("CMOJO_PORTS_TRACE") != NULL;
    atomic_store_explicit(&cm_route_trace_state, enabled, memory_order_relaxed);
  }
  if (!enabled)
    return;
  fprintf(stderr, "ports %016llx %s %016llx: type %d to %016llx from %016llx cseq %lld",
          (unsigned long long)op->node->name.v1, what, (unsigned long long)from->v1, (int)ev->type,
          (unsigned long long)ev->port_name.v1, (unsigned long long)ev->from_port.v1,
          (long long)ev->control_seq);
  switch (ev->type) {
  case CM_EVENT_USER_MESSAGE:
    fprintf(stderr, " seq %llu ports %zu", (unsigned long long)ev->u.user.seq,
            ev->u.user.num_ports);
    for (size_t i = 0; i < ev->u.user.num_ports; i++)
      fprintf(stderr, " %016llx", (unsigned long long)ev->u.user.ports[i].v1);
    break;
  case CM_EVENT_OBSERVE_PROXY:
    fprintf(stderr, " proxy %016llx target %016llx",
            (unsigned long long)ev->u.observe_proxy.proxy_port.v1,
            (unsigned long long)ev->u.observe_proxy.target_port.v1);
    break;
  case CM_EVENT_OBSERVE_PROXY_ACK:
  case CM_EVENT_OBSERVE_CLOSURE:
  case CM_EVENT_USER_MESSAGE_READ_ACK_REQUEST:
  case CM_EVENT_USER_MESSAGE_READ_ACK:
    fprintf(stderr, " value %lld", (long long)ev->u.observe_closure.last_seq);
    break;
  case CM_EVENT_MERGE_PORT:
    fprintf(stderr, " new %016llx", (unsigned long long)ev->u.merge.new_port.v1);
    break;
  case CM_EVENT_UPDATE_PREVIOUS_PEER:
    fprintf(stderr, " prev %016llx", (unsigned long long)ev->u.update_prev.new_port.v1);
    break;
  case CM_EVENT_PORT_ACCEPTED:
    break;
  }
  fprintf(stderr, "\n");
}

MojoResult cm_route_accept_event(cm_op *op, const cm_node_name *from, cm_event *ev) {
  cm_route_trace_if(op, "<-", from, ev);
  /* Ports carried from another node become ports of this node as soon as
   * the message arrives, before it waits for its turn: whatever happens to
   * the message later (read, forwarded, or dropped with a closing port),
   * its ports then exist here, are accepted (PortAccepted) and can be
   * closed properly. */
  if (ev->type == CM_EVENT_USER_MESSAGE && !cm_node_is_self(op->node, from)) {
    MojoResult rv = cm_route_bind_ports(op, from, ev);
    if (rv != MOJO_RESULT_OK)
      return rv;
  }
  cm_port *port = cm_node_lookup(op->node, &ev->port_name);
  if (!port || !is_ordered(ev))
    return cm_route_dispatch(op, port, from, ev);
  if (from_prev(port, from, ev) && ev->control_seq < port->next_control_seq_to_receive) {
    /* Already processed that number: a replay, never legitimate. */
    cm_op_drop(op, ev);
    return MOJO_RESULT_DATA_LOSS;
  }
  if (!from_prev(port, from, ev) || ev->control_seq != port->next_control_seq_to_receive) {
    ev->route_node = *from;
    ev->next = port->buffered;
    port->buffered = ev;
    return MOJO_RESULT_OK;
  }
  cm_port_retain(port); /* the event may erase it */
  MojoResult rv = cm_route_dispatch(op, port, from, ev);
  port->next_control_seq_to_receive++;
  cm_route_run_buffered(op, port);
  cm_port_release(port);
  return rv;
}

/* ---- User messages and proxies --------------------------------------- */

MojoResult cm_route_accept_port(cm_op *op, const cm_node_name *from, const cm_port_name *name,
                              const cm_port_descriptor *d) {
  /* Only the node holding the referring port hands it on. */
  if (!cm_name_equal(from, &d->referring_node))
    return MOJO_RESULT_DATA_LOSS;
  cm_port *port = cm_port_new(name, d->next_seq_to_send, d->next_seq_to_receive);
  if (!port)
    cm_ports_out_of_memory();
  port->state = CM_PORT_RECEIVING;
  cm_route_set_peer(port, &d->peer_node, &d->peer_port);
  port->prev_node = d->referring_node;
  port->prev_port = d->referring_port;
  port->last_seq_to_receive = d->last_seq_to_receive;
  port->peer_closed = d->peer_closed;
  MojoResult rv = cm_node_insert_port(op->node, port);
  if (rv != MOJO_RESULT_OK) {
    cm_port_release(port);
    return rv;
  }
  cm_event *ev = cm_event_new(CM_EVENT_PORT_ACCEPTED, &d->referring_port, NULL, CM_SEQ_INVALID);
  cm_op_emit(op, &d->referring_node, ev);
  cm_route_check_lost(op, port); /* its peer may be on a node lost already */
  return MOJO_RESULT_OK;
}

void cm_route_convert_to_proxy(cm_op *op, cm_port *port, const cm_node_name *to_node,
                               cm_port_name *name_inout, cm_port_descriptor *desc) {
  cm_port_name new_name;
  cm_name_random(&new_name);
  port->state = CM_PORT_BUFFERING;
  /* Whoever sends to this port will hear from the new port instead; told
   * only once the new port exists (PortAccepted), as the last event of
   * this port to it. Should the message that creates the new port die
   * with this node, that port keeps this one as its previous port, and
   * the loss of this node then closes its route as it should. */
  cm_event *up = cm_route_to_peer(port, CM_EVENT_UPDATE_PREVIOUS_PEER);
  up->u.update_prev.new_node = *to_node;
  up->u.update_prev.new_port = new_name;
  cm_route_send_to_peer(op, port, up);
  if (port->peer_closed)
    port->remove_proxy_on_last_message = true;
  desc->peer_node = port->peer_node;
  desc->peer_port = port->peer_port;
  desc->referring_node = op->node->name;
  desc->referring_port = port->name;
  desc->next_seq_to_send = port->next_seq_to_send;
  desc->next_seq_to_receive = port->next_seq_to_receive;
  desc->last_seq_to_receive = port->last_seq_to_receive;
  desc->peer_closed = port->peer_closed;
  *name_inout = new_name;
  cm_route_set_peer(port, to_node, &new_name);
}

MojoResult cm_route_prepare_forward(cm_op *op, cm_port *port, cm_port_state expected,
                                    bool ignore_closed_peer, cm_event *ev,
                                    cm_node_name *target) {
  if (port->state != expected)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (port->peer_closed && !ignore_closed_peer)
    return MOJO_RESULT_FAILED_PRECONDITION;
  size_t n = ev->u.user.num_ports;
  for (size_t i = 0; i < n; i++) {
    const cm_port *p = cm_node_lookup(op->node, &ev->u.user.ports[i]);
    if (!p || p->state != CM_PORT_RECEIVING)
      return MOJO_RESULT_INVALID_ARGUMENT;
    if (cm_name_equal(&p->name, &port->peer_port))
      return MOJO_RESULT_PERMISSION_DENIED;
  }
  if (ev->u.user.seq == 0)
    ev->u.user.seq = port->next_seq_to_send++;
  /* Carried ports change node only when the message does; a message that
   * stays on this node keeps them as they are. */
  if (!cm_node_is_self(op->node, &port->peer_node)) {
    for (size_t i = 0; i < n; i++) {
      cm_port *p = cm_node_lookup(op->node, &ev->u.user.ports[i]);
      cm_port_descriptor *d = &ev->u.user.descriptors[i];
      cm_route_convert_to_proxy(op, p, &port->peer_node, &ev->u.user.ports[i], d);
      if (cm_node_is_self(op->node, &d->peer_node)) {
        cm_port *peer = cm_node_lookup(op->node, &d->peer_port);
        if (peer)
          cm_op_status(op, peer); /* its peer became remote */
      }
    }
  }
  ev->port_name = port->peer_port;
  ev->from_port = port->name;
  ev->control_seq = port->next_control_seq_to_send++;
  *target = port->peer_node;
  return MOJO_RESULT_OK;
}

MojoResult cm_route_forward_from_proxy(cm_op *op, cm_port *port) {
  cm_event *ev;
  while ((ev = cm_port_queue_pop_next(port))) {
    cm_node_name target;
    MojoResult rv = cm_route_prepare_forward(op, port, CM_PORT_PROXYING, true, ev, &target);
    if (rv != MOJO_RESULT_OK) {
      cm_op_dead(op, ev);
      return rv;
    }
    cm_op_emit(op, &target, ev);
  }
  return MOJO_RESULT_OK;
}

void cm_route_initiate_proxy_removal(cm_op *op, cm_port *port) {
  cm_event *ev = cm_route_to_peer(port, CM_EVENT_OBSERVE_PROXY);
  ev->u.observe_proxy.proxy_node = op->node->name;
  ev->u.observe_proxy.proxy_port = port->name;
  ev->u.observe_proxy.target_node = port->peer_node;
  ev->u.observe_proxy.target_port = port->peer_port;
  cm_op_emit(op, &port->peer_node, ev);
}

void cm_route_try_remove_proxy(cm_op *op, cm_port *port) {
  if (port->state != CM_PORT_PROXYING || !port->remove_proxy_on_last_message ||
      cm_port_can_accept_more(port))
    return;
  cm_event *delayed = port->send_on_removal;
  port->send_on_removal = NULL;
  if (delayed) {
    delayed->port_name = port->peer_port;
    delayed->control_seq = port->next_control_seq_to_send++;
    cm_op_emit(op, &port->peer_node, delayed);
  }
  /* The peer now hears directly from the port that used to send to us. */
  update_previous_peer(op, port, &port->prev_node, &port->prev_port);
  cm_node_erase_port(op, port);
}

/* ---- Closure, merging, loss ------------------------------------------- */

static void port_lost(cm_op *op, cm_port *p, bool prev_gone);

/* When messages reach `port` through a proxy (its previous port is not its
 * peer), that proxy learns of the closure only once it has travelled the
 * whole route, which a lost node can cut for good. The proxy has nothing
 * left to do once the port it forwards to is gone, so it is told directly
 * (an unordered notice naming this port) and goes at once, telling its own
 * previous port in turn. A direct link (previous port == peer) needs no
 * notice: the closure itself reaches the previous port. */
void cm_route_tell_prev_gone(cm_op *op, const cm_port *port) {
  if (!cm_name_is_valid(&port->prev_port) ||
      (cm_name_equal(&port->prev_node, &port->peer_node) &&
       cm_name_equal(&port->prev_port, &port->peer_port)))
    return;
  cm_event *ev = cm_event_new(CM_EVENT_OBSERVE_PROXY, &port->prev_port, NULL, CM_SEQ_INVALID);
  ev->u.observe_proxy.proxy_node = op->node->name;
  ev->u.observe_proxy.proxy_port = port->name;
  cm_op_emit(op, &port->prev_node, ev);
}

MojoResult cm_route_close_port(cm_op *op, cm_port *port) {
  switch (port->state) {
  case CM_PORT_UNINITIALIZED:
    cm_node_erase_port(op, port);
    return MOJO_RESULT_OK;
  case CM_PORT_RECEIVING: {
    /* The peer learns the last number we sent so it can read everything
     * sent before the close. */
    cm_event *ev = cm_route_to_peer(port, CM_EVENT_OBSERVE_CLOSURE);
    ev->u.observe_closure.last_seq = port->next_seq_to_send - 1;
    cm_op_emit(op, &port->peer_node, ev);
    cm_route_tell_prev_gone(op, port);
    cm_node_erase_port(op, port); /* unread messages: their ports close */
    return MOJO_RESULT_OK;
  }
  default:
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
}

static bool peers_of_each_other(const cm_node *node, const cm_port *a, const cm_port *b) {
  return cm_node_is_self(node, &a->peer_node) && cm_name_equal(&a->peer_port, &b->name);
}

static bool can_merge(const cm_node *node, const cm_port *p0, const cm_port *p1) {
  return p0->state == CM_PORT_RECEIVING && p1->state == CM_PORT_RECEIVING &&
         !peers_of_each_other(node, p0, p1) && !peers_of_each_other(node, p1, p0) &&
         p0->next_seq_to_send == CM_SEQ_INITIAL && p1->next_seq_to_send == CM_SEQ_INITIAL &&
         /* Each old peer numbers what it sends from 1 and the other old peer
          * expects exactly that; a port that already read some would leave
          * a gap and stall the joined route forever. */
         p0->next_seq_to_receive == CM_SEQ_INITIAL && p1->next_seq_to_receive == CM_SEQ_INITIAL;
}

/* After the swap a merged port is a proxy; it leaves like any proxy, and if
 * either end of the joined route is already closed, closure travels on. */
static void finish_merged_proxy(cm_op *op, cm_port *port) {
  bool remove_now = port->remove_proxy_on_last_message;
  if (remove_now || port->peer_closed) {
    cm_event *ev = cm_route_to_peer(port, CM_EVENT_OBSERVE_CLOSURE);
    ev->u.observe_closure.last_seq = port->last_seq_to_receive;
    cm_op_emit(op, &port->peer_node, ev);
  }
  if (remove_now)
    cm_route_try_remove_proxy(op, port);
  else
    cm_route_initiate_proxy_removal(op, port);
}

MojoResult cm_route_merge(cm_op *op, cm_port *p0, cm_port *p1, bool allow_close_on_bad_state) {
  cm_node *node = op->node;
  if (!can_merge(node, p0, p1)) {
    /* Only receiving ports are closed unless the caller owns both ends
     * outright (a local merge); a proxy must never vanish abruptly. */
    if (p0->state == CM_PORT_RECEIVING || allow_close_on_bad_state)
      cm_route_close_port(op, p0);
    if (p1->state == CM_PORT_RECEIVING || allow_close_on_bad_state)
      cm_route_close_port(op, p1);
    return MOJO_RESULT_FAILED_PRECONDITION;
  }
  /* Each old peer will hear from the other port from now on. */
  cm_event *u0 = cm_route_to_peer(p0, CM_EVENT_UPDATE_PREVIOUS_PEER);
  u0->u.update_prev.new_node = node->name;
  u0->u.update_prev.new_port = p1->name;
  cm_node_name to0 = p0->peer_node;
  cm_event *u1 = cm_route_to_peer(p1, CM_EVENT_UPDATE_PREVIOUS_PEER);
  u1->u.update_prev.new_node = node->name;
  u1->u.update_prev.new_port = p0->name;
  cm_node_name to1 = p1->peer_node;

  cm_port_name q0 = p0->peer_port;
  cm_route_set_peer(p0, &p1->peer_node, &p1->peer_port);
  cm_route_set_peer(p1, &to0, &q0);
  p0->state = CM_PORT_PROXYING;
  p1->state = CM_PORT_PROXYING;
  if (p0->peer_closed)
    p0->remove_proxy_on_last_message = true;
  if (p1->peer_closed)
    p1->remove_proxy_on_last_message = true;

  cm_port_retain(p0);
  cm_port_retain(p1);
  cm_route_forward_from_proxy(op, p0);
  cm_route_forward_from_proxy(op, p1);
  cm_op_emit(op, &to0, u0);
  cm_op_emit(op, &to1, u1);
  finish_merged_proxy(op, p0);
  if (p1->state == CM_PORT_PROXYING)
    finish_merged_proxy(op, p1);
  cm_port_release(p0);
  cm_port_release(p1);
  return MOJO_RESULT_OK;
}

static bool peer_is(const cm_port *p, const cm_node_name *node, const cm_port_name *port) {
  return cm_name_equal(&p->peer_node, node) && (!port || cm_name_equal(&p->peer_port, port));
}

static bool prev_is(const cm_port *p, const cm_node_name *node, const cm_port_name *port) {
  return cm_name_equal(&p->prev_node, node) && (!port || cm_name_equal(&p->prev_port, port));
}

/* Ports whose route ran through `node` (or through proxy `port` there, when
 * given) lose their peer: receiving ports see peer closure at once (what was
 * in flight is lost), proxies and buffering ports die and announce their
 * death to every node, which applies the same rule to them. Both the peer
 * and the previous port are checked, so both halves of a route that passed
 * through the lost node find out. */
void cm_route_destroy_ports_with_peer(cm_op *op, const cm_node_name *node,
                                      const cm_port_name *port) {
  cm_node *self = op->node;
  cm_port *work = NULL;
  for (size_t i = 0; i < self->num_buckets; i++) {
    for (cm_port *p = self->buckets[i]; p; p = p->hash_next) {
      if (p->state != CM_PORT_UNINITIALIZED && (peer_is(p, node, port) || prev_is(p, node, port))) {
        cm_port_retain(p);
        p->work_next = work;
        work = p;
      }
    }
  }
  while (work) {
    cm_port *p = work;
    work = p->work_next;
    p->work_next = NULL;
    port_lost(op, p, prev_is(p, node, port));
    cm_port_release(p);
  }
}

void cm_route_drop_pending_merges(cm_op *op, const cm_node_name *lost) {
  cm_node *self = op->node;
  cm_port *work = NULL;
  for (size_t i = 0; i < self->num_buckets; i++) {
    for (cm_port *p = self->buckets[i]; p; p = p->hash_next) {
      if (p->pending_merge_peer && cm_name_equal(&p->pending_merge_node, lost)) {
        cm_port_retain(p);
        p->work_next = work;
        work = p;
      }
    }
  }
  while (work) {
    cm_port *p = work;
    work = p->work_next;
    p->work_next = NULL;
    p->pending_merge_peer = false;
    cm_route_close_port(op, p);
    cm_port_release(p);
  }
}

/* The route of `p` broke: a receiving port sees its peer closed (and, when
 * `prev_gone`, stops waiting for messages that can no longer come), any
 * other dies and announces its death. */
static void port_lost(cm_op *op, cm_port *p, bool prev_gone) {
  if (p->state == CM_PORT_RECEIVING) {
    /* A closure already announced keeps its meaning while messages can
     * still come (as in Mojo); but once the port that feeds this one is
     * gone, nothing more will arrive, whatever was announced. */
    if (!p->peer_closed || (prev_gone && !p->peer_lost_unexpectedly)) {
      p->peer_closed = true;
      p->peer_lost_unexpectedly = true;
      cm_op_status(op, p);
    }
  } else if (p->state != CM_PORT_CLOSED && p->state != CM_PORT_UNINITIALIZED) {
    p->peer_closed = true;
    p->peer_lost_unexpectedly = true;
    cm_node_erase_port(op, p); /* announces its death */
  }
}

void cm_route_check_lost(cm_op *op, cm_port *p) {
  const cm_node *node = op->node;
  bool prev_gone = cm_node_is_lost(node, &p->prev_node) ||
                   cm_node_is_dead_port(node, &p->prev_node, &p->prev_port);
  if (prev_gone || cm_node_is_lost(node, &p->peer_node) ||
      cm_node_is_dead_port(node, &p->peer_node, &p->peer_port))
    port_lost(op, p, prev_gone);
}
