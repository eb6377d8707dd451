/* Ports: allocation, reference counting, user data and the message queue.
 *
 * A port's memory lives as long as a reference to it exists (the node's
 * table holds one while the port is open, cm_port_ref holders one each).
 * The message queue is a singly linked list sorted by sequence number with a
 * tail pointer: messages normally arrive in order and are appended in O(1);
 * a message that overtook others is inserted by a walk from the head.
 */
#include <stdlib.h>

#include "ports_internal.h"

cm_port *cm_port_new(const cm_port_name *name, uint64_t next_seq_to_send,
                     uint64_t next_seq_to_receive) {
  cm_port *port = calloc(1, sizeof(*port));
  if (!port)
    return NULL;
  atomic_init(&port->refs, 1);
  atomic_init(&port->user_data, NULL);
  port->name = *name;
  port->state = CM_PORT_UNINITIALIZED;
  port->next_control_seq_to_send = CM_SEQ_INITIAL;
  port->next_control_seq_to_receive = CM_SEQ_INITIAL;
  port->next_seq_to_send = next_seq_to_send;
  port->last_seq_acked = next_seq_to_send - 1;
  port->next_seq_to_receive = next_seq_to_receive;
  return port;
}

void cm_port_retain(cm_port *port) {
  atomic_fetch_add_explicit(&port->refs, 1, memory_order_relaxed);
}

void cm_port_release(cm_port *port) {
  if (!port)
    return;
  if (atomic_fetch_sub_explicit(&port->refs, 1, memory_order_acq_rel) == 1) {
    /* The node empties a port's lists when it erases it, and only erased
     * (or never inserted) ports lose their last reference. */
    free(port);
  }
}

void cm_port_ref_copy(cm_port_ref *dst, const cm_port_ref *src) {
  if (src->port)
    cm_port_retain(src->port);
  *dst = *src;
}

void cm_port_ref_release(cm_port_ref *ref) {
  if (!ref)
    return;
  cm_port *port = ref->port;
  ref->port = NULL;
  cm_port_release(port);
}

void cm_port_set_user_data(const cm_port_ref *ref, void *user_data) {
  if (ref && ref->port)
    atomic_store(&ref->port->user_data, user_data);
}

void *cm_port_get_user_data(const cm_port_ref *ref) {
  if (!ref || !ref->port)
    return NULL;
  return atomic_load(&ref->port->user_data);
}

bool cm_port_queue_insert(cm_port *port, cm_event *ev) {
  uint64_t seq = ev->u.user.seq;
  if (seq < port->next_seq_to_receive)
    return false;
  ev->next = NULL;
  if (!port->queue_head) {
    port->queue_head = port->queue_tail = ev;
  } else if (port->queue_tail->u.user.seq < seq) {
    port->queue_tail->next = ev;
    port->queue_tail = ev;
  } else {
    cm_event **link = &port->queue_head;
    while ((*link)->u.user.seq < seq)
      link = &(*link)->next;
    if ((*link)->u.user.seq == seq)
      return false; /* a duplicate: keep the first */
    ev->next = *link;
    *link = ev;
  }
  port->queued_count++;
  port->queued_bytes += ev->u.user.payload_num_bytes;
  return true;
}

bool cm_port_queue_has_next(const cm_port *port) {
  return port->queue_head && port->queue_head->u.user.seq == port->next_seq_to_receive;
}

cm_event *cm_port_queue_pop_next(cm_port *port) {
  if (!cm_port_queue_has_next(port))
    return NULL;
  cm_event *ev = port->queue_head;
  port->queue_head = ev->next;
  if (!port->queue_head)
    port->queue_tail = NULL;
  ev->next = NULL;
  port->queued_count--;
  port->queued_bytes -= ev->u.user.payload_num_bytes;
  port->next_seq_to_receive++;
  return ev;
}

uint64_t cm_port_next_ack_wanted(const cm_port *port) {
  uint64_t want = port->last_seq_acked + port->ack_interval;
  if (want < port->ack_interval || want == CM_SEQ_INVALID)
    want = CM_SEQ_INVALID - 1; /* saturate instead of wrapping */
  return want;
}

bool cm_port_can_accept_more(const cm_port *port) {
  if (port->state == CM_PORT_CLOSED)
    return false;
  if (port->peer_closed || port->remove_proxy_on_last_message) {
    /* After an unexpected loss nothing more arrives; what is queued in
     * order may still be read. */
    if (port->peer_lost_unexpectedly)
      return cm_port_queue_has_next(port);
    /* "<=" rather than "==": a peer that lied about its last number must
     * not keep the port open forever. */
    if (port->last_seq_to_receive <= port->next_seq_to_receive - 1)
      return false;
  }
  return true;
}
