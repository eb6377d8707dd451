/* What a node does with each event addressed to one of its ports. Runs with
 * node->lock held; every handler takes ownership of its event (forwards,
 * queues or schedules it for destruction). `port` is NULL when no port of
 * that name exists here: such events are mostly dropped quietly, since a
 * port may legitimately be gone by the time late events reach it.
 */
#include "ports_internal.h"

MojoResult cm_route_bind_ports(cm_op *op, const cm_node_name *from, cm_event *ev) {
  /* A message carrying the very port it is addressed to would be queued
   * inside that port, which nothing could then ever read or close (the
   * port, its messages and their handles would outlive everything): no
   * honest node sends one. */
  for (size_t i = 0; i < ev->u.user.num_ports; i++) {
    if (cm_name_equal(&ev->u.user.ports[i], &ev->port_name)) {
      ev->u.user.num_ports = 0;
      cm_op_destroy_later(op, ev);
      return MOJO_RESULT_DATA_LOSS;
    }
  }
  for (size_t i = 0; i < ev->u.user.num_ports; i++) {
    MojoResult rv =
        cm_route_accept_port(op, from, &ev->u.user.ports[i], &ev->u.user.descriptors[i]);
    if (rv != MOJO_RESULT_OK) {
      for (size_t j = 0; j < i; j++) {
        cm_port *p = cm_node_lookup(op->node, &ev->u.user.ports[j]);
        if (p)
          cm_route_close_port(op, p);
      }
      /* None of the names may be closed again with the message. */
      ev->u.user.num_ports = 0;
      cm_op_destroy_later(op, ev);
      return MOJO_RESULT_DATA_LOSS;
    }
  }
  return MOJO_RESULT_OK;
}

static bool wants_message(const cm_port *port, const cm_event *ev) {
  if (!cm_port_can_accept_more(port))
    return false;
  /* Past the announced last number, nothing legitimate can come. */
  if (port->peer_closed && !port->peer_lost_unexpectedly &&
      ev->u.user.seq > port->last_seq_to_receive)
    return false;
  return true;
}

/* Carried ports from another node were bound on arrival (see
 * cm_route_bind_ports); a message that is refused here closes them. */
static MojoResult on_user_message(cm_op *op, cm_port *port, cm_event *ev) {
  if (!port || !wants_message(port, ev) || !cm_port_queue_insert(port, ev)) {
    cm_op_dead(op, ev); /* the ports it carries are closed */
    return MOJO_RESULT_OK;
  }
  if (port->state == CM_PORT_RECEIVING) {
    if (cm_port_queue_has_next(port))
      cm_op_status(op, port);
  } else if (port->state == CM_PORT_PROXYING) {
    cm_route_forward_from_proxy(op, port);
    cm_route_try_remove_proxy(op, port);
  }
  return MOJO_RESULT_OK;
}

static void maybe_forward_ack_request(cm_op *op, cm_port *port) {
  if (port->state != CM_PORT_PROXYING || port->seq_to_ack == 0)
    return;
  cm_event *ev = cm_route_to_peer(port, CM_EVENT_USER_MESSAGE_READ_ACK_REQUEST);
  ev->u.ack_request.seq_to_ack = port->seq_to_ack;
  port->seq_to_ack = 0;
  cm_op_emit(op, &port->peer_node, ev);
}

static MojoResult on_port_accepted(cm_op *op, cm_port *port, const cm_node_name *from,
                                   cm_event *ev) {
  if (!port) {
    /* A port waiting for PortAccepted is only ever erased because its
     * route broke with a lost node. The port just created from it on the
     * sender's node was never told (it did not exist when the death was
     * announced), so tell that node now. */
    cm_event *dead = cm_event_new(CM_EVENT_OBSERVE_PROXY, NULL, NULL, CM_SEQ_INVALID);
    dead->u.observe_proxy.proxy_node = op->node->name;
    dead->u.observe_proxy.proxy_port = ev->port_name;
    cm_op_destroy_later(op, ev);
    if (!cm_node_is_self(op->node, from))
      cm_op_emit(op, from, dead);
    else
      cm_op_destroy_later(op, dead);
    return MOJO_RESULT_NOT_FOUND;
  }
  cm_op_destroy_later(op, ev);
  /* Only the node the port was sent to may accept it. */
  if (port->state != CM_PORT_BUFFERING || !cm_name_equal(from, &port->peer_node))
    return MOJO_RESULT_DATA_LOSS;
  port->state = CM_PORT_PROXYING;
  cm_event *pending = port->pending_head;
  port->pending_head = port->pending_tail = NULL;
  while (pending) {
    cm_event *next = pending->next;
    cm_node_name to = pending->route_node;
    cm_op_emit(op, &to, pending);
    pending = next;
  }
  if (port->peer_gone) {
    /* Its new home closed already; the events above still had to go (the
     * old peer waits for the UpdatePreviousPeer to accept the closure). */
    cm_route_tell_prev_gone(op, port);
    cm_node_erase_port(op, port);
    return MOJO_RESULT_OK;
  }
  cm_route_forward_from_proxy(op, port);
  maybe_forward_ack_request(op, port);
  if (port->state != CM_PORT_PROXYING)
    return MOJO_RESULT_OK;
  if (port->remove_proxy_on_last_message)
    cm_route_try_remove_proxy(op, port);
  else
    cm_route_initiate_proxy_removal(op, port);
  return MOJO_RESULT_OK;
}

static void maybe_resend_ack(cm_op *op, cm_port *port) {
  uint64_t last_read = port->next_seq_to_receive - 1;
  if (port->state != CM_PORT_RECEIVING || port->seq_to_ack == 0 || last_read == 0)
    return;
  cm_event *ev = cm_route_to_peer(port, CM_EVENT_USER_MESSAGE_READ_ACK);
  ev->u.ack.seq_acked = last_read;
  cm_op_emit(op, &port->peer_node, ev);
}

static void maybe_resend_ack_request(cm_op *op, cm_port *port) {
  if (port->state != CM_PORT_RECEIVING || port->ack_interval == 0)
    return;
  cm_event *ev = cm_route_to_peer(port, CM_EVENT_USER_MESSAGE_READ_ACK_REQUEST);
  ev->u.ack_request.seq_to_ack = cm_port_next_ack_wanted(port);
  cm_op_emit(op, &port->peer_node, ev);
}

/* A port points at the proxy that announces itself: skip past it. */
static void retarget_past_proxy(cm_op *op, cm_port *port, cm_event *ev) {
  cm_event *ack = cm_route_to_peer(port, CM_EVENT_OBSERVE_PROXY_ACK);
  ack->port_name = ev->u.observe_proxy.proxy_port;
  ack->u.observe_proxy_ack.last_seq = port->next_seq_to_send - 1;
  cm_op_emit(op, &ev->u.observe_proxy.proxy_node, ack);
  cm_route_set_peer(port, &ev->u.observe_proxy.target_node, &ev->u.observe_proxy.target_port);
  /* The proxy may have died before passing on acks or ack requests. */
  maybe_resend_ack(op, port);
  maybe_resend_ack_request(op, port);
  cm_op_status(op, port);
  cm_route_check_lost(op, port); /* the new peer may be on a lost node */
}

/* The port a proxy forwards to is gone (cm_route_tell_prev_gone): nothing
 * it holds or will receive can be delivered any more, so it goes, and the
 * proxy before it hears the same. Only the node of that port may say so. */
static MojoResult on_peer_gone(cm_op *op, cm_port *port, const cm_node_name *from, cm_event *ev) {
  const cm_node_name *gone_node = &ev->u.observe_proxy.proxy_node;
  bool is_peer = cm_name_equal(gone_node, from) && cm_name_equal(&port->peer_node, gone_node) &&
                 cm_name_equal(&port->peer_port, &ev->u.observe_proxy.proxy_port);
  cm_op_destroy_later(op, ev);
  if (!is_peer)
    return MOJO_RESULT_OK;
  if (port->state == CM_PORT_BUFFERING) {
    /* Its PortAccepted is still under way; a port missing when that
     * arrives is taken for one lost with a node, so go only then. */
    port->peer_gone = true;
    return MOJO_RESULT_OK;
  }
  if (port->state != CM_PORT_PROXYING)
    return MOJO_RESULT_OK; /* a receiving port waits for the closure itself */
  cm_route_tell_prev_gone(op, port);
  cm_node_erase_port(op, port);
  return MOJO_RESULT_OK;
}

static MojoResult on_observe_proxy(cm_op *op, cm_port *port, const cm_node_name *from,
                                   cm_event *ev) {
  if (!cm_name_is_valid(&ev->port_name)) {
    /* A broadcast: that proxy died with its node's connection. Only its
     * own node announces a port's death. */
    if (!cm_name_equal(&ev->u.observe_proxy.proxy_node, from)) {
      cm_op_destroy_later(op, ev);
      return MOJO_RESULT_DATA_LOSS;
    }
    /* Events still under way may point a route at it later: remember it. */
    cm_node_note_dead_port(op->node, &ev->u.observe_proxy.proxy_node,
                           &ev->u.observe_proxy.proxy_port);
    cm_route_destroy_ports_with_peer(op, &ev->u.observe_proxy.proxy_node,
                                     &ev->u.observe_proxy.proxy_port);
    cm_op_destroy_later(op, ev);
    return MOJO_RESULT_OK;
  }
  if (!port) {
    cm_op_destroy_later(op, ev);
    return MOJO_RESULT_OK;
  }
  if (ev->control_seq == CM_SEQ_INVALID)
    return on_peer_gone(op, port, from, ev);
  bool points_at_proxy = cm_name_equal(&port->peer_node, &ev->u.observe_proxy.proxy_node) &&
                         cm_name_equal(&port->peer_port, &ev->u.observe_proxy.proxy_port);
  if (!points_at_proxy) {
    /* Pass it along the route until it finds the port that points at the
     * proxy. */
    ev->port_name = port->peer_port;
    ev->from_port = port->name;
    ev->control_seq = port->next_control_seq_to_send++;
    cm_route_send_to_peer(op, port, ev);
    return MOJO_RESULT_OK;
  }
  if (port->state == CM_PORT_RECEIVING) {
    retarget_past_proxy(op, port, ev);
    cm_op_destroy_later(op, ev);
    return MOJO_RESULT_OK;
  }
  /* We are a proxy too and cannot know the last number that will pass
   * through the announcing proxy. Once we are gone, tell it to announce
   * itself again (an ack without a number). */
  cm_event *ack = cm_event_new(CM_EVENT_OBSERVE_PROXY_ACK, &ev->u.observe_proxy.proxy_port,
                               &port->name, CM_SEQ_INVALID);
  ack->u.observe_proxy_ack.last_seq = CM_SEQ_INVALID;
  if (port->send_on_removal)
    cm_op_destroy_later(op, port->send_on_removal);
  port->send_on_removal = ack;
  cm_op_destroy_later(op, ev);
  return MOJO_RESULT_OK;
}

static MojoResult on_observe_proxy_ack(cm_op *op, cm_port *port, cm_event *ev) {
  uint64_t last = ev->u.observe_proxy_ack.last_seq;
  cm_op_destroy_later(op, ev);
  if (!port)
    return MOJO_RESULT_NOT_FOUND;
  if (port->state != CM_PORT_PROXYING)
    return MOJO_RESULT_DATA_LOSS;
  if (last == CM_SEQ_INVALID) {
    cm_route_initiate_proxy_removal(op, port);
    return MOJO_RESULT_OK;
  }
  port->remove_proxy_on_last_message = true;
  port->last_seq_to_receive = last;
  cm_route_try_remove_proxy(op, port);
  return MOJO_RESULT_OK;
}

static MojoResult on_observe_closure(cm_op *op, cm_port *port, cm_event *ev) {
  if (!port) {
    cm_op_destroy_later(op, ev);
    return MOJO_RESULT_OK;
  }
  bool receiving = port->state == CM_PORT_RECEIVING;
  uint64_t last = ev->u.observe_closure.last_seq;
  /* A second closure can reach a port whose route was merged after the
   * first one passed (the merged side then sends on, numbering from 1).
   * Messages past the first announced number were already refused here,
   * so the first number stands. */
  if (port->peer_closed && !port->peer_lost_unexpectedly && port->last_seq_to_receive < last)
    last = port->last_seq_to_receive;
  port->peer_closed = true;
  port->last_seq_to_receive = last;
  if (receiving) {
    /* Passed on beyond us, the event only reaches dead-end proxies: tell
     * them the last number we sent so they can go. Closure also means the
     * peer will read nothing more, so nothing is left unacknowledged. */
    ev->u.observe_closure.last_seq = port->next_seq_to_send - 1;
    port->last_seq_acked = port->next_seq_to_send - 1;
  } else {
    port->remove_proxy_on_last_message = true;
  }
  ev->port_name = port->peer_port;
  ev->from_port = port->name;
  ev->control_seq = port->next_control_seq_to_send++;
  cm_route_send_to_peer(op, port, ev);
  if (receiving)
    cm_op_status(op, port);
  else
    cm_route_try_remove_proxy(op, port);
  return MOJO_RESULT_OK;
}

static MojoResult on_merge_port(cm_op *op, cm_port *port, const cm_node_name *from, cm_event *ev) {
  cm_port_name new_name = ev->u.merge.new_port;
  cm_port_descriptor desc = ev->u.merge.descriptor;
  cm_op_destroy_later(op, ev);
  /* Accept the incoming port first, so its route is never left dangling:
   * if the merge cannot happen it is closed properly. */
  MojoResult rv = cm_route_accept_port(op, from, &new_name, &desc);
  if (rv != MOJO_RESULT_OK)
    return MOJO_RESULT_DATA_LOSS;
  cm_port *incoming = cm_node_lookup(op->node, &new_name);
  if (!port || !port->pending_merge_peer ||
      (cm_name_is_valid(&port->pending_merge_node) &&
       !cm_name_equal(&port->pending_merge_node, from))) {
    /* Only ports the embedder designated can be merged into; a stranger
     * cannot take over or close any other port. */
    cm_route_close_port(op, incoming);
    return port ? MOJO_RESULT_DATA_LOSS : MOJO_RESULT_NOT_FOUND;
  }
  port->pending_merge_peer = false;
  return cm_route_merge(op, port, incoming, false);
}

static MojoResult on_ack_request(cm_op *op, cm_port *port, cm_event *ev) {
  if (!port) {
    cm_op_destroy_later(op, ev);
    return MOJO_RESULT_NOT_FOUND;
  }
  if (port->state == CM_PORT_PROXYING) {
    ev->port_name = port->peer_port;
    ev->from_port = port->name;
    ev->control_seq = port->next_control_seq_to_send++;
    cm_op_emit(op, &port->peer_node, ev);
    return MOJO_RESULT_OK;
  }
  uint64_t want = ev->u.ack_request.seq_to_ack;
  cm_op_destroy_later(op, ev);
  if (port->state != CM_PORT_RECEIVING && port->state != CM_PORT_BUFFERING)
    return MOJO_RESULT_OK;
  uint64_t read = port->next_seq_to_receive - 1;
  if (read >= want) {
    cm_event *ack = cm_route_to_peer(port, CM_EVENT_USER_MESSAGE_READ_ACK);
    ack->u.ack.seq_acked = read;
    cm_route_send_to_peer(op, port, ack);
    /* Late or repeated requests must not move a pending request back. */
    if (read > port->seq_to_ack)
      port->seq_to_ack = read;
  } else if (port->seq_to_ack <= read || port->seq_to_ack > want) {
    /* Requests may arrive out of order: keep the earliest one pending. */
    port->seq_to_ack = want;
  }
  return MOJO_RESULT_OK;
}

static MojoResult on_ack(cm_op *op, cm_port *port, cm_event *ev) {
  uint64_t acked = ev->u.ack.seq_acked;
  cm_op_destroy_later(op, ev);
  if (!port)
    return MOJO_RESULT_OK;
  /* More than this port sent: either bogus, or an ack that reached a proxy
   * left behind by a port that moved on (its numbers kept growing there). */
  if (acked >= port->next_seq_to_send)
    return MOJO_RESULT_OK;
  if (acked <= port->last_seq_acked)
    return MOJO_RESULT_OK; /* late or duplicate */
  port->last_seq_acked = acked;
  if (port->ack_interval != 0 && !port->peer_closed) {
    cm_event *req = cm_route_to_peer(port, CM_EVENT_USER_MESSAGE_READ_ACK_REQUEST);
    req->u.ack_request.seq_to_ack = cm_port_next_ack_wanted(port);
    cm_route_send_to_peer(op, port, req);
  }
  cm_op_status(op, port);
  return MOJO_RESULT_OK;
}

static MojoResult on_update_previous_peer(cm_op *op, cm_port *port, cm_event *ev) {
  cm_op_destroy_later(op, ev);
  if (!port)
    return MOJO_RESULT_NOT_FOUND;
  port->prev_node = ev->u.update_prev.new_node;
  port->prev_port = ev->u.update_prev.new_port;
  /* The caller counts this event, which brings the new link to 1. */
  port->next_control_seq_to_receive = CM_SEQ_INITIAL - 1;
  /* Nothing will ever come from a port on a node already lost. */
  cm_route_check_lost(op, port);
  return MOJO_RESULT_OK;
}

MojoResult cm_route_dispatch(cm_op *op, cm_port *port, const cm_node_name *from, cm_event *ev) {
  switch (ev->type) {
    case CM_EVENT_USER_MESSAGE:
      return on_user_message(op, port, ev);
    case CM_EVENT_PORT_ACCEPTED:
      return on_port_accepted(op, port, from, ev);
    case CM_EVENT_OBSERVE_PROXY:
      return on_observe_proxy(op, port, from, ev);
    case CM_EVENT_OBSERVE_PROXY_ACK:
      return on_observe_proxy_ack(op, port, ev);
    case CM_EVENT_OBSERVE_CLOSURE:
      return on_observe_closure(op, port, ev);
    case CM_EVENT_MERGE_PORT:
      return on_merge_port(op, port, from, ev);
    case CM_EVENT_USER_MESSAGE_READ_ACK_REQUEST:
      return on_ack_request(op, port, ev);
    case CM_EVENT_USER_MESSAGE_READ_ACK:
      return on_ack(op, port, ev);
    case CM_EVENT_UPDATE_PREVIOUS_PEER:
      return on_update_previous_peer(op, port, ev);
  }
  cm_op_drop(op, ev);
  return MOJO_RESULT_DATA_LOSS;
}
