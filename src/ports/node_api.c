/* The public port operations of a node (ports.h). Each takes the node lock
 * once, lets node_route.c do the routing, runs the node's own events to
 * completion (cm_op_drain) and delivers the collected effects unlocked
 * (cm_op_finish).
 */
#include <stdlib.h>

#include "ports_internal.h"

static bool port_of(const cm_node *node, const cm_port_ref *ref) {
  return ref && ref->port && ref->port->owner == node;
}

static void make_ref(cm_port_ref *out, cm_port *port) {
  cm_port_retain(port);
  out->name = port->name;
  out->port = port;
}

static void lock(cm_node *node, cm_op *op) {
  pthread_mutex_lock(&node->lock);
  cm_op_init(op, node);
}

static void finish(cm_op *op) {
  cm_op_drain(op);
  cm_op_finish(op);
}

/* A fresh port; cm_node_insert_port() makes it the node's. */
static MojoResult new_port(cm_port **out) {
  cm_port_name name;
  cm_name_random(&name);
  cm_port *port = cm_port_new(&name, CM_SEQ_INITIAL, CM_SEQ_INITIAL);
  if (!port)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  *out = port;
  return MOJO_RESULT_OK;
}

static void initialize(cm_port *port, const cm_node_name *peer_node,
                       const cm_port_name *peer_port) {
  port->state = CM_PORT_RECEIVING;
  cm_route_set_peer(port, peer_node, peer_port);
  port->prev_node = *peer_node;
  port->prev_port = *peer_port;
}

MojoResult cm_node_create_port_pair(cm_node *node, cm_port_ref *a, cm_port_ref *b) {
  if (!node || !a || !b)
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_port *p0, *p1;
  if (new_port(&p0) != MOJO_RESULT_OK)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  if (new_port(&p1) != MOJO_RESULT_OK) {
    cm_port_release(p0);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  initialize(p0, &node->name, &p1->name);
  initialize(p1, &node->name, &p0->name);
  pthread_mutex_lock(&node->lock);
  MojoResult rv = cm_node_insert_port(node, p0);
  if (rv == MOJO_RESULT_OK) {
    rv = cm_node_insert_port(node, p1);
    if (rv != MOJO_RESULT_OK) {
      /* Two fresh random names cannot collide; this is only defensive. */
      cm_op op;
      cm_op_init(&op, node);
      cm_port_retain(p0);
      cm_node_erase_port(&op, p0);
    }
  }
  pthread_mutex_unlock(&node->lock);
  if (rv != MOJO_RESULT_OK) {
    cm_port_release(p0);
    cm_port_release(p1);
    return rv;
  }
  /* The table now holds one reference of each; the caller gets another. */
  make_ref(a, p0);
  make_ref(b, p1);
  return MOJO_RESULT_OK;
}

MojoResult cm_node_create_uninitialized_port(cm_node *node, cm_port_ref *out) {
  if (!node || !out)
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_port *port;
  if (new_port(&port) != MOJO_RESULT_OK)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  pthread_mutex_lock(&node->lock);
  MojoResult rv = cm_node_insert_port(node, port);
  pthread_mutex_unlock(&node->lock);
  if (rv != MOJO_RESULT_OK) {
    cm_port_release(port);
    return rv;
  }
  make_ref(out, port);
  return MOJO_RESULT_OK;
}

MojoResult cm_node_initialize_port(cm_node *node, const cm_port_ref *ref,
                                   const cm_node_name *peer_node, const cm_port_name *peer_port) {
  if (!node || !port_of(node, ref) || !peer_node || !peer_port || !cm_name_is_valid(peer_node) ||
      !cm_name_is_valid(peer_port))
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_op op;
  lock(node, &op);
  cm_port *port = ref->port;
  if (port->state != CM_PORT_UNINITIALIZED) {
    pthread_mutex_unlock(&node->lock);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  initialize(port, peer_node, peer_port);
  /* The peer may already have sent events that waited for this moment. */
  cm_route_run_buffered(&op, port);
  cm_op_status(&op, port);
  finish(&op);
  return MOJO_RESULT_OK;
}

MojoResult cm_node_allow_port_merge(cm_node *node, const cm_port_ref *ref,
                                    const cm_node_name *from) {
  if (!node || !port_of(node, ref))
    return MOJO_RESULT_INVALID_ARGUMENT;
  pthread_mutex_lock(&node->lock);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  if (from && cm_node_is_lost(node, from)) {
    /* Its loss was handled already: nothing would ever undo the wait. */
    rv = MOJO_RESULT_FAILED_PRECONDITION;
  } else if (ref->port->state == CM_PORT_RECEIVING || ref->port->state == CM_PORT_UNINITIALIZED) {
    ref->port->pending_merge_peer = true;
    ref->port->pending_merge_node = from ? *from : (cm_node_name){0, 0};
    rv = MOJO_RESULT_OK;
  }
  pthread_mutex_unlock(&node->lock);
  return rv;
}

MojoResult cm_node_get_port(cm_node *node, const cm_port_name *name, cm_port_ref *out) {
  if (!node || !name || !out)
    return MOJO_RESULT_INVALID_ARGUMENT;
  pthread_mutex_lock(&node->lock);
  cm_port *port = cm_node_lookup(node, name);
  if (port)
    make_ref(out, port);
  pthread_mutex_unlock(&node->lock);
  return port ? MOJO_RESULT_OK : MOJO_RESULT_NOT_FOUND;
}

MojoResult cm_node_get_status(cm_node *node, const cm_port_ref *ref, cm_port_status *out) {
  if (!node || !port_of(node, ref) || !out)
    return MOJO_RESULT_INVALID_ARGUMENT;
  pthread_mutex_lock(&node->lock);
  const cm_port *port = ref->port;
  if (port->state != CM_PORT_RECEIVING) {
    pthread_mutex_unlock(&node->lock);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  out->has_messages = cm_port_queue_has_next(port);
  out->receiving_messages = cm_port_can_accept_more(port);
  out->peer_closed = port->peer_closed;
  out->peer_remote = !cm_node_is_self(node, &port->peer_node);
  out->queued_message_count = port->queued_count;
  out->queued_num_bytes = port->queued_bytes;
  out->unacknowledged_message_count = port->next_seq_to_send - port->last_seq_acked - 1;
  pthread_mutex_unlock(&node->lock);
  return MOJO_RESULT_OK;
}

/* Checks the ports a message wants to carry before anything changes. */
static MojoResult check_carried(const cm_port *port, const cm_event *ev) {
  for (size_t i = 0; i < ev->u.user.num_ports; i++) {
    const cm_port_name *n = &ev->u.user.ports[i];
    if (cm_name_equal(n, &port->name))
      return MOJO_RESULT_BUSY;
    for (size_t j = 0; j < i; j++) {
      if (cm_name_equal(n, &ev->u.user.ports[j]))
        return MOJO_RESULT_INVALID_ARGUMENT;
    }
  }
  return MOJO_RESULT_OK;
}

/* The common send, done in place: a message carrying no port, from a
 * receiving port to its peer on this node, which takes it next (nothing of
 * the link is buffered, the message is the next one in order). It does what
 * cm_route_prepare_forward and then cm_route_accept_event (through the local
 * FIFO) would do in that case, without their bookkeeping: no op, no FIFO,
 * no trace, one port reference (for the status notification, in *notify,
 * which the caller delivers once unlocked). False, with nothing changed,
 * when the general path is needed. */
static bool send_to_local_peer(cm_node *node, cm_port *port, cm_event *ev, cm_port **notify) {
  if (ev->u.user.num_ports != 0 || port->state != CM_PORT_RECEIVING || port->peer_closed ||
      !cm_node_is_self(node, &port->peer_node) || cm_route_trace_maybe_on())
    return false;
  cm_port *peer = cm_node_lookup(node, &port->peer_port);
  if (!peer || peer->state != CM_PORT_RECEIVING || peer->buffered || peer->peer_closed ||
      peer->remove_proxy_on_last_message || !cm_node_is_self(node, &peer->prev_node) ||
      !cm_name_equal(&peer->prev_port, &port->name) ||
      peer->next_control_seq_to_receive != port->next_control_seq_to_send)
    return false;
  uint64_t seq = port->next_seq_to_send;
  if (seq < peer->next_seq_to_receive || (peer->queue_tail && peer->queue_tail->u.user.seq >= seq))
    return false; /* not an append: let the general path judge it */
  port->next_seq_to_send++;
  ev->u.user.seq = seq;
  ev->port_name = peer->name;
  ev->from_port = port->name;
  ev->control_seq = port->next_control_seq_to_send++;
  peer->next_control_seq_to_receive++;
  cm_port_queue_insert(peer, ev);
  *notify = NULL;
  if (cm_port_queue_has_next(peer)) {
    cm_port_retain(peer); /* for the notification, made unlocked */
    *notify = peer;
  }
  return true;
}

MojoResult cm_node_send_user_message(cm_node *node, const cm_port_ref *ref, cm_event *ev) {
  if (!ev)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (!node || !port_of(node, ref) || ev->type != CM_EVENT_USER_MESSAGE) {
    cm_event_destroy(ev);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  pthread_mutex_lock(&node->lock);
  cm_port *port = ref->port;
  cm_port *notify;
  if (send_to_local_peer(node, port, ev, &notify)) {
    pthread_mutex_unlock(&node->lock);
    if (notify) {
      cm_port_ref peer = {notify->name, notify};
      if (node->delegate.port_status_changed)
        node->delegate.port_status_changed(node->delegate.context, &peer);
      cm_port_release(notify);
    }
    return MOJO_RESULT_OK;
  }
  cm_op op;
  cm_op_init(&op, node);
  ev->u.user.seq = 0;
  MojoResult rv = check_carried(port, ev);
  cm_node_name target;
  if (rv == MOJO_RESULT_OK)
    rv = cm_route_prepare_forward(&op, port, CM_PORT_RECEIVING, false, ev, &target);
  if (rv == MOJO_RESULT_OK) {
    cm_op_emit(&op, &target, ev);
  } else {
    /* The message is consumed: the ports it carries are closed (so their
     * peers see closure), except the sending port itself. */
    for (size_t i = 0; i < ev->u.user.num_ports; i++) {
      if (cm_name_equal(&ev->u.user.ports[i], &port->name))
        ev->u.user.ports[i] = (cm_port_name){0, 0};
    }
    cm_op_dead(&op, ev);
  }
  finish(&op);
  return rv;
}

MojoResult cm_node_get_message(cm_node *node, const cm_port_ref *ref, cm_event **out) {
  if (!node || !port_of(node, ref) || !out)
    return MOJO_RESULT_INVALID_ARGUMENT;
  pthread_mutex_lock(&node->lock);
  cm_port *port = ref->port;
  MojoResult rv = MOJO_RESULT_OK;
  cm_event *ev = NULL;
  cm_event *ack = NULL;
  if (port->state != CM_PORT_RECEIVING) {
    rv = MOJO_RESULT_INVALID_ARGUMENT;
  } else if (!cm_port_can_accept_more(port)) {
    rv = MOJO_RESULT_FAILED_PRECONDITION;
  } else {
    ev = cm_port_queue_pop_next(port);
    if (!ev) {
      rv = MOJO_RESULT_SHOULD_WAIT;
    } else if (port->seq_to_ack != 0 && ev->u.user.seq == port->seq_to_ack) {
      ack = cm_event_new(CM_EVENT_USER_MESSAGE_READ_ACK, &port->peer_port, &port->name,
                         port->next_control_seq_to_send++);
      ack->u.ack.seq_acked = port->seq_to_ack;
    }
  }
  if (ev) {
    /* The caller may send this event again: it then gets a new number. */
    ev->u.user.seq = 0;
    *out = ev;
  }
  if (!ack) {
    pthread_mutex_unlock(&node->lock); /* the common case: nothing to deliver */
    return rv;
  }
  cm_op op;
  cm_op_init(&op, node);
  cm_op_emit(&op, &port->peer_node, ack);
  finish(&op);
  return rv;
}

MojoResult cm_node_close_port(cm_node *node, const cm_port_ref *ref) {
  if (!node || !port_of(node, ref))
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_op op;
  lock(node, &op);
  MojoResult rv = cm_route_close_port(&op, ref->port);
  finish(&op);
  return rv;
}

MojoResult cm_node_merge_ports(cm_node *node, const cm_port_ref *ref, const cm_node_name *dest_node,
                               const cm_port_name *dest_port) {
  if (!node || !port_of(node, ref) || !dest_node || !dest_port || !cm_name_is_valid(dest_node) ||
      !cm_name_is_valid(dest_port))
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_op op;
  lock(node, &op);
  cm_port *port = ref->port;
  if (port->state != CM_PORT_RECEIVING) {
    pthread_mutex_unlock(&node->lock);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  cm_port_name new_name = port->name;
  cm_port_descriptor desc;
  cm_route_convert_to_proxy(&op, port, dest_node, &new_name, &desc);
  if (cm_node_is_self(node, &desc.peer_node) && !cm_node_is_self(node, dest_node)) {
    cm_port *peer = cm_node_lookup(node, &desc.peer_port);
    if (peer)
      cm_op_status(&op, peer); /* its peer is now remote */
  }
  cm_event *ev = cm_event_new(CM_EVENT_MERGE_PORT, dest_port, NULL, CM_SEQ_INVALID);
  ev->u.merge.new_port = new_name;
  ev->u.merge.descriptor = desc;
  cm_op_emit(&op, dest_node, ev);
  finish(&op);
  return MOJO_RESULT_OK;
}

MojoResult cm_node_merge_local_ports(cm_node *node, const cm_port_ref *a, const cm_port_ref *b) {
  if (!node || !port_of(node, a) || !port_of(node, b) || a->port == b->port)
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_op op;
  lock(node, &op);
  MojoResult rv = cm_route_merge(&op, a->port, b->port, true);
  finish(&op);
  return rv;
}

MojoResult cm_node_accept_event(cm_node *node, const cm_node_name *from, cm_event *ev) {
  if (!ev)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (!node || !from || !cm_name_is_valid(from)) {
    cm_event_destroy(ev);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  cm_op op;
  lock(node, &op);
  ev->next = NULL;
  MojoResult rv = cm_route_accept_event(&op, from, ev);
  finish(&op);
  return rv;
}

MojoResult cm_node_lost_connection_to_node(cm_node *node, const cm_node_name *lost) {
  if (!node || !lost || !cm_name_is_valid(lost) || cm_node_is_self(node, lost))
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_op op;
  lock(node, &op);
  cm_node_note_lost(node, lost);
  cm_route_destroy_ports_with_peer(&op, lost, NULL);
  cm_route_drop_pending_merges(&op, lost);
  finish(&op);
  return MOJO_RESULT_OK;
}

MojoResult cm_node_set_acknowledge_request_interval(cm_node *node, const cm_port_ref *ref,
                                                    uint64_t interval) {
  if (!node || !port_of(node, ref))
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_op op;
  lock(node, &op);
  cm_port *port = ref->port;
  if (port->state != CM_PORT_RECEIVING) {
    pthread_mutex_unlock(&node->lock);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  port->ack_interval = interval;
  if (interval != 0) {
    uint64_t want = cm_port_next_ack_wanted(port);
    cm_event *ev = cm_event_new(CM_EVENT_USER_MESSAGE_READ_ACK_REQUEST, &port->peer_port,
                                &port->name, port->next_control_seq_to_send++);
    ev->u.ack_request.seq_to_ack = want;
    cm_op_emit(&op, &port->peer_node, ev);
  }
  finish(&op);
  return MOJO_RESULT_OK;
}
