/* Nodes: lifecycle, the port table, and the per-call op that defers every
 * outside effect until the node lock is released.
 *
 * The port table is a chained hash table keyed by port name. Port names are
 * random, but a peer node picks the names of the ports it sends us, so the
 * hash mixes in a per-node random key to keep a hostile peer from aiming at
 * one chain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ports_internal.h"

#define INITIAL_BUCKETS 64u

static size_t bucket_of(const cm_node *node, const cm_port_name *name) {
  uint64_t h = (name->v1 ^ node->hash_k0) * 0x9e3779b97f4a7c15ull;
  h ^= (name->v2 ^ node->hash_k1) + (h >> 29);
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return (size_t)h & (node->num_buckets - 1);
}

cm_port *cm_node_lookup(cm_node *node, const cm_port_name *name) {
  cm_port *p = node->buckets[bucket_of(node, name)];
  while (p && !cm_name_equal(&p->name, name))
    p = p->hash_next;
  return p;
}

/* Doubles the bucket array when the table gets crowded. Failing to grow only
 * makes chains longer, so allocation failure is ignored. */
static void maybe_grow(cm_node *node) {
  if (node->num_ports < node->num_buckets)
    return;
  size_t n = node->num_buckets * 2;
  cm_port **b = calloc(n, sizeof(*b));
  if (!b)
    return;
  cm_port **old = node->buckets;
  size_t old_n = node->num_buckets;
  node->buckets = b;
  node->num_buckets = n;
  for (size_t i = 0; i < old_n; i++) {
    cm_port *p = old[i];
    while (p) {
      cm_port *next = p->hash_next;
      size_t k = bucket_of(node, &p->name);
      p->hash_next = b[k];
      b[k] = p;
      p = next;
    }
  }
  free(old);
}

MojoResult cm_node_insert_port(cm_node *node, cm_port *port) {
  if (cm_node_lookup(node, &port->name))
    return MOJO_RESULT_ALREADY_EXISTS;
  maybe_grow(node);
  size_t k = bucket_of(node, &port->name);
  port->hash_next = node->buckets[k];
  node->buckets[k] = port;
  port->owner = node;
  node->num_ports++;
  return MOJO_RESULT_OK;
}

static void unlink_port(cm_node *node, cm_port *port) {
  cm_port **link = &node->buckets[bucket_of(node, &port->name)];
  while (*link && *link != port)
    link = &(*link)->hash_next;
  if (*link) {
    *link = port->hash_next;
    node->num_ports--;
  }
  port->hash_next = NULL;
}

/* Moves a list of events into the op (see cm_op_drop). */
static void drop_events(cm_op *op, cm_event *ev) {
  while (ev) {
    cm_event *next = ev->next;
    cm_op_drop(op, ev);
    ev = next;
  }
}

/* Tells every node (this one included: ports here may point at it too)
 * that port `name` of this node died on a route broken by a lost node. */
static void announce_death(cm_op *op, const cm_port_name *name) {
  cm_event *bc = cm_event_new(CM_EVENT_OBSERVE_PROXY, NULL, NULL, CM_SEQ_INVALID);
  bc->u.observe_proxy.proxy_node = op->node->name;
  bc->u.observe_proxy.proxy_port = *name;
  cm_event *local = cm_event_new(CM_EVENT_OBSERVE_PROXY, NULL, NULL, CM_SEQ_INVALID);
  local->u.observe_proxy = bc->u.observe_proxy;
  cm_op_broadcast(op, bc);
  cm_op_emit(op, &op->node->name, local);
}

void cm_node_erase_port(cm_op *op, cm_port *port) {
  if (port->state == CM_PORT_CLOSED)
    return;
  /* On a route broken by a lost node, ports that still lead here (proxies
   * whose sender will never re-target, ports moved inside messages lost
   * with a node) would wait forever for a closure that cannot come: the
   * death is announced so that they go too. A healthy route needs no
   * announcement: closure and proxy removal travel along it. */
  if (port->peer_lost_unexpectedly)
    announce_death(op, &port->name);
  unlink_port(op->node, port);
  port->state = CM_PORT_CLOSED;
  drop_events(op, port->queue_head);
  port->queue_head = port->queue_tail = NULL;
  port->queued_count = 0;
  port->queued_bytes = 0;
  drop_events(op, port->buffered);
  port->buffered = NULL;
  drop_events(op, port->pending_head);
  port->pending_head = port->pending_tail = NULL;
  drop_events(op, port->send_on_removal);
  port->send_on_removal = NULL;
  cm_port_release(port); /* the table's reference */
}

/* The set of lost nodes: an open-addressing set of names, grown at half
 * load, hashed with the node's random key. It is consulted on every route
 * change, and a peer can make it grow (each connection that ends, each
 * unknown node an event names, adds a name), so a lookup must not cost
 * more as it grows. The all-zero name marks an empty slot (never lost). */
static size_t lost_slot(const cm_node *node, const cm_node_name *n) {
  uint64_t h = (n->v1 ^ node->hash_k1) * 0x9e3779b97f4a7c15ull;
  h ^= (n->v2 ^ node->hash_k0) + (h >> 29);
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return (size_t)h & (node->cap_lost - 1);
}

static void lost_insert(cm_node *node, const cm_node_name *name) {
  size_t i = lost_slot(node, name);
  while (cm_name_is_valid(&node->lost[i]))
    i = (i + 1) & (node->cap_lost - 1);
  node->lost[i] = *name;
}

void cm_node_note_lost(cm_node *node, const cm_node_name *name) {
  if (!cm_name_is_valid(name) || cm_node_is_lost(node, name))
    return;
  if ((node->num_lost + 1) * 2 > node->cap_lost) {
    size_t old_cap = node->cap_lost;
    cm_node_name *old = node->lost;
    size_t cap = old_cap ? old_cap * 2 : 16;
    cm_node_name *n = calloc(cap, sizeof(*n));
    if (!n)
      cm_ports_out_of_memory();
    node->lost = n;
    node->cap_lost = cap;
    for (size_t i = 0; i < old_cap; i++)
      if (cm_name_is_valid(&old[i]))
        lost_insert(node, &old[i]);
    free(old);
  }
  lost_insert(node, name);
  node->num_lost++;
}

bool cm_node_is_lost(const cm_node *node, const cm_node_name *name) {
  if (!node->cap_lost)
    return false;
  for (size_t i = lost_slot(node, name); cm_name_is_valid(&node->lost[i]);
       i = (i + 1) & (node->cap_lost - 1)) {
    if (cm_name_equal(&node->lost[i], name))
      return true;
  }
  return false;
}

/* Ports announced dead: an open-addressing set of (node, port) names, grown
 * at half load, hashed with the node's random key (a peer picks the names
 * it announces). An entry is 32 bytes and only ports that died on a route
 * broken by a lost node are announced, so the set stays the size of what
 * node losses broke; CM_PORTS_MAX_DEAD_PORTS bounds what a node flooding
 * announcements of its own ports can make us keep. */
static size_t dead_slot(const cm_node *node, const cm_node_name *n, const cm_port_name *p) {
  uint64_t h = (n->v1 ^ node->hash_k1) * 0x9e3779b97f4a7c15ull;
  h ^= (n->v2 + (h >> 31)) * 0xbf58476d1ce4e5b9ull;
  h ^= (p->v1 ^ node->hash_k0) + (h >> 29);
  h *= 0x94d049bb133111ebull;
  h ^= (p->v2 + (h >> 32)) * 0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
  return (size_t)h & (node->cap_dead - 1);
}

static bool dead_equal(const cm_node_dead_port *d, const cm_node_name *n, const cm_port_name *p) {
  return cm_name_equal(&d->node, n) && cm_name_equal(&d->port, p);
}

static void dead_put(cm_node *node, const cm_node_name *n, const cm_port_name *p) {
  size_t i = dead_slot(node, n, p);
  while (cm_name_is_valid(&node->dead[i].port)) {
    if (dead_equal(&node->dead[i], n, p))
      return;
    i = (i + 1) & (node->cap_dead - 1);
  }
  node->dead[i].node = *n;
  node->dead[i].port = *p;
  node->num_dead++;
}

void cm_node_note_dead_port(cm_node *node, const cm_node_name *n, const cm_port_name *p) {
  if (!cm_name_is_valid(p) || node->num_dead >= CM_PORTS_MAX_DEAD_PORTS)
    return;
  if (2 * (node->num_dead + 1) > node->cap_dead) {
    cm_node_dead_port *old = node->dead;
    size_t old_cap = node->cap_dead;
    size_t cap = old_cap ? old_cap * 2 : 16;
    node->dead = calloc(cap, sizeof(*node->dead));
    if (!node->dead)
      cm_ports_out_of_memory();
    node->cap_dead = cap;
    node->num_dead = 0;
    for (size_t i = 0; i < old_cap; i++) {
      if (cm_name_is_valid(&old[i].port))
        dead_put(node, &old[i].node, &old[i].port);
    }
    free(old);
  }
  dead_put(node, n, p);
}

bool cm_node_is_dead_port(const cm_node *node, const cm_node_name *n, const cm_port_name *p) {
  if (node->num_dead == 0)
    return false;
  size_t i = dead_slot(node, n, p);
  while (cm_name_is_valid(&node->dead[i].port)) {
    if (dead_equal(&node->dead[i], n, p))
      return true;
    i = (i + 1) & (node->cap_dead - 1);
  }
  return false;
}

/* ---- Ops --------------------------------------------------------------- */

static void append(cm_event **head, cm_event **tail, cm_event *ev) {
  ev->next = NULL;
  if (*tail)
    (*tail)->next = ev;
  else
    *head = ev;
  *tail = ev;
}

void cm_op_emit(cm_op *op, const cm_node_name *to, cm_event *ev) {
  cm_route_trace_if(op, "->", to, ev);
  ev->route_node = *to;
  if (cm_node_is_self(op->node, to))
    append(&op->local_head, &op->local_tail, ev);
  else
    append(&op->out_head, &op->out_tail, ev);
}

void cm_op_broadcast(cm_op *op, cm_event *ev) {
  append(&op->bcast_head, &op->bcast_tail, ev);
}

void cm_op_status(cm_op *op, cm_port *port) {
  /* Repeats within one call tell the delegate nothing new. */
  if (op->num_status > 0 && op->status[op->num_status - 1] == port)
    return;
  if (op->num_status == op->cap_status) {
    size_t cap = op->cap_status * 2;
    cm_port **s = malloc(cap * sizeof(*s));
    if (!s)
      cm_ports_out_of_memory();
    memcpy(s, op->status, op->num_status * sizeof(*s));
    if (op->status != op->status_inline)
      free(op->status);
    op->status = s;
    op->cap_status = cap;
  }
  cm_port_retain(port);
  op->status[op->num_status++] = port;
}

void cm_op_dead(cm_op *op, cm_event *ev) {
  ev->next = op->dead_head;
  op->dead_head = ev;
}

void cm_op_destroy_later(cm_op *op, cm_event *ev) {
  ev->next = op->destroy_head;
  op->destroy_head = ev;
}

void cm_op_drop(cm_op *op, cm_event *ev) {
  if (ev->type == CM_EVENT_USER_MESSAGE)
    cm_op_dead(op, ev);
  else
    cm_op_destroy_later(op, ev);
}

void cm_op_drain(cm_op *op) {
  for (;;) {
    if (op->local_head) {
      cm_event *ev = op->local_head;
      op->local_head = ev->next;
      if (!op->local_head)
        op->local_tail = NULL;
      ev->next = NULL;
      cm_route_accept_event(op, &op->node->name, ev);
    } else if (op->dead_head) {
      /* A user message nobody will read: the ports it carries are this
       * node's ports and nobody else will ever close them. */
      cm_event *ev = op->dead_head;
      op->dead_head = ev->next;
      for (size_t i = 0; i < ev->u.user.num_ports; i++) {
        cm_port *p = cm_node_lookup(op->node, &ev->u.user.ports[i]);
        if (p)
          cm_route_close_port(op, p);
      }
      cm_op_destroy_later(op, ev);
    } else {
      return;
    }
  }
}

void cm_op_finish(cm_op *op) {
  cm_node *node = op->node;
  pthread_mutex_unlock(&node->lock);
  const cm_node_delegate *d = &node->delegate;

  for (cm_event *ev = op->out_head, *next; ev; ev = next) {
    next = ev->next;
    ev->next = NULL;
    cm_node_name to = ev->route_node;
    if (d->forward_event)
      d->forward_event(d->context, &to, ev);
    else
      cm_event_destroy(ev);
  }
  for (cm_event *ev = op->bcast_head, *next; ev; ev = next) {
    next = ev->next;
    ev->next = NULL;
    if (d->broadcast_event)
      d->broadcast_event(d->context, ev);
    else
      cm_event_destroy(ev);
  }
  for (size_t i = 0; i < op->num_status; i++) {
    cm_port_ref ref = {op->status[i]->name, op->status[i]};
    if (d->port_status_changed)
      d->port_status_changed(d->context, &ref);
    cm_port_release(op->status[i]);
  }
  if (op->status != op->status_inline)
    free(op->status);
  for (cm_event *ev = op->destroy_head, *next; ev; ev = next) {
    next = ev->next;
    cm_event_destroy(ev);
  }
}

/* ---- Lifecycle --------------------------------------------------------- */

MojoResult cm_node_create(const cm_node_name *name, const cm_node_delegate *delegate,
                          cm_node **out) {
  if (!name || !cm_name_is_valid(name) || !delegate || !out)
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_node *node = calloc(1, sizeof(*node));
  if (!node)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  node->buckets = calloc(INITIAL_BUCKETS, sizeof(*node->buckets));
  if (!node->buckets) {
    free(node);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  node->num_buckets = INITIAL_BUCKETS;
  node->name = *name;
  node->delegate = *delegate;
  cm_name key;
  cm_name_random(&key);
  node->hash_k0 = key.v1;
  node->hash_k1 = key.v2;
  pthread_mutex_init(&node->lock, NULL);
  *out = node;
  return MOJO_RESULT_OK;
}

static void free_event_list(cm_event *ev) {
  while (ev) {
    cm_event *next = ev->next;
    cm_event_destroy(ev);
    ev = next;
  }
}

void cm_node_destroy(cm_node *node) {
  if (!node)
    return;
  for (size_t i = 0; i < node->num_buckets; i++) {
    cm_port *p = node->buckets[i];
    while (p) {
      cm_port *next = p->hash_next;
      p->hash_next = NULL;
      p->state = CM_PORT_CLOSED;
      free_event_list(p->queue_head);
      free_event_list(p->buffered);
      free_event_list(p->pending_head);
      free_event_list(p->send_on_removal);
      p->queue_head = p->queue_tail = p->buffered = NULL;
      p->pending_head = p->pending_tail = p->send_on_removal = NULL;
      p->queued_count = 0;
      p->queued_bytes = 0;
      cm_port_release(p);
      p = next;
    }
  }
  free(node->buckets);
  free(node->lost);
  free(node->dead);
  pthread_mutex_destroy(&node->lock);
  free(node);
}

const cm_node_name *cm_node_get_name(const cm_node *node) {
  return &node->name;
}

bool cm_node_can_shutdown_cleanly(cm_node *node) {
  pthread_mutex_lock(&node->lock);
  bool empty = node->num_ports == 0;
  pthread_mutex_unlock(&node->lock);
  return empty;
}

size_t cm_node_num_ports(cm_node *node) {
  pthread_mutex_lock(&node->lock);
  size_t n = node->num_ports;
  pthread_mutex_unlock(&node->lock);
  return n;
}
