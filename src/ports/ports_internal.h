/* ports_internal: the shared innards of the ports layer (events, ports,
 * nodes) for the files of src/ports/ only.
 *
 * Locking: each node has one mutex, node->lock, which guards the node's port
 * table and every field of every port of the node marked "(lock)" below. A
 * public call takes the lock once, does all its routing work (including the
 * handling of every event the node sends to itself, which goes through a
 * local FIFO instead of recursion), and collects what must leave the node in
 * a cm_op: events for other nodes, broadcasts, port status notifications and
 * user messages to destroy. The lock is released before any of those is
 * delivered, so delegate callbacks and payload destructors run lock-free and
 * may call back into the node.
 *
 * Invariants:
 *  - A port is in node->table exactly while its state is not CLOSED; the table
 *    holds one reference to it. Once removed ("erased") a port never returns.
 *  - A port's message queue is sorted by sequence number and holds only
 *    numbers >= the next one to read (older or duplicate numbers are refused).
 *  - An event is in at most one list at a time (ev->next is its only link).
 *  - Control sequence numbers are per link: a port numbers the events it
 *    sends to its current peer from 1, and restarts at 1 whenever its peer
 *    changes; the receiver processes events from its "previous" port in that
 *    order and buffers events from anyone else until told (UpdatePreviousPeer)
 *    that the sender is now its previous port. With the user sequence
 *    numbers, this makes the protocol independent of delivery order (even
 *    between the same two nodes).
 *  - Ports carried by a message from another node become ports of this node
 *    when the message arrives, before it waits for its turn, so every path
 *    that drops the message can close them by name.
 *  - A node remembers the nodes it was told are lost; a route pointed at one
 *    of them later is treated as lost at once.
 *  - Out of memory inside the routing protocol (an internal control event
 *    that must be sent) aborts the process, as Chromium does: losing such an
 *    event would silently break a route. Entry points that can fail cleanly
 *    (creating ports or events) return RESOURCE_EXHAUSTED instead.
 */
#ifndef CMOJO_PORTS_PORTS_INTERNAL_H_
#define CMOJO_PORTS_PORTS_INTERNAL_H_

#include <pthread.h>
#include <stdatomic.h>

#include "cm_limits.h"
#include "ports.h"

#define CM_SEQ_INITIAL ((uint64_t)1)
#define CM_SEQ_INVALID UINT64_MAX

typedef struct cm_port_descriptor {
  cm_node_name peer_node;
  cm_port_name peer_port;
  cm_node_name referring_node;
  cm_port_name referring_port;
  uint64_t next_seq_to_send;
  uint64_t next_seq_to_receive;
  uint64_t last_seq_to_receive;
  bool peer_closed;
} cm_port_descriptor;

struct cm_event {
  cm_event_type type;
  cm_port_name port_name;  /* target port */
  cm_port_name from_port;  /* sending port, for control ordering */
  uint64_t control_seq;    /* CM_SEQ_INVALID when not ordered */
  cm_event *next;          /* link in whichever list holds the event */
  cm_node_name route_node; /* destination (outbox) or source (buffer) */
  union {
    struct {
      uint64_t seq;
      size_t num_ports;
      cm_port_name *ports;            /* num_ports names, after the struct */
      cm_port_descriptor *descriptors; /* num_ports descriptors */
      void *payload;
      const cm_payload_ops *ops;
      size_t payload_num_bytes;
    } user;
    struct {
      cm_node_name proxy_node;
      cm_port_name proxy_port;
      cm_node_name target_node;
      cm_port_name target_port;
    } observe_proxy;
    struct {
      uint64_t last_seq; /* CM_SEQ_INVALID: re-send ObserveProxy */
    } observe_proxy_ack;
    struct {
      uint64_t last_seq;
    } observe_closure;
    struct {
      cm_port_name new_port;
      cm_port_descriptor descriptor;
    } merge;
    struct {
      uint64_t seq_to_ack;
    } ack_request;
    struct {
      uint64_t seq_acked;
    } ack;
    struct {
      cm_node_name new_node;
      cm_port_name new_port;
    } update_prev;
  } u;
};

/* Tests only: take names from `source` instead of getrandom() (NULL goes
 * back to getrandom), so that a seeded simulation replays exactly. Not for
 * use while other threads create names. */
void cm_name_set_test_source(uint64_t (*source)(void));

/* Reports running out of memory inside the protocol and aborts. */
_Noreturn void cm_ports_out_of_memory(void);

/* Allocates a control (non-user) event; aborts on out of memory (see above). */
cm_event *cm_event_new(cm_event_type type, const cm_port_name *port, const cm_port_name *from,
                       uint64_t control_seq);

typedef enum cm_port_state {
  CM_PORT_UNINITIALIZED,
  CM_PORT_RECEIVING,
  CM_PORT_BUFFERING, /* sent away; waiting for PortAccepted from the new home */
  CM_PORT_PROXYING,  /* forwards what reaches it until ObserveProxyAck/closure */
  CM_PORT_CLOSED,    /* erased from its node */
} cm_port_state;

struct cm_port {
  atomic_uint refs;
  cm_port_name name; /* immutable */
  cm_node *owner;    /* immutable: the node whose table held the port */
  _Atomic(void *) user_data;
  cm_port *hash_next; /* (lock) table chain */
  cm_port *work_next; /* (lock) scratch link for scans that erase ports */

  cm_port_state state; /* (lock) everything below */
  cm_node_name peer_node;
  cm_port_name peer_port;
  cm_node_name prev_node; /* whose ordered events this port accepts */
  cm_port_name prev_port;
  uint64_t next_control_seq_to_send;
  uint64_t next_control_seq_to_receive;
  uint64_t next_seq_to_send;
  uint64_t last_seq_acked;
  uint64_t ack_interval;
  uint64_t last_seq_to_receive;
  uint64_t seq_to_ack;

  /* User messages, sorted by sequence number. */
  cm_event *queue_head, *queue_tail;
  uint64_t next_seq_to_receive;
  size_t queued_count;
  size_t queued_bytes;

  cm_event *buffered;      /* control-ordered events not yet in turn */
  cm_event *pending_head;  /* BUFFERING: events to send once accepted */
  cm_event *pending_tail;
  cm_event *send_on_removal; /* delayed ObserveProxyAck, to the peer */

  bool pending_merge_peer;
  cm_node_name pending_merge_node; /* who may merge into it; invalid: any */
  bool remove_proxy_on_last_message;
  bool peer_gone; /* BUFFERING: the new home closed already; go once accepted */
  bool peer_closed;
  bool peer_lost_unexpectedly;
};

/* port.c: allocation, references and the message queue. */
cm_port *cm_port_new(const cm_port_name *name, uint64_t next_seq_to_send,
                     uint64_t next_seq_to_receive);
void cm_port_retain(cm_port *port);
void cm_port_release(cm_port *port);
/* Inserts a user message in sequence order. False (message not taken) when
 * its number was already read or is already queued. */
bool cm_port_queue_insert(cm_port *port, cm_event *ev);
bool cm_port_queue_has_next(const cm_port *port);
/* Removes and returns the next message in sequence, or NULL. */
cm_event *cm_port_queue_pop_next(cm_port *port);
/* Whether more user messages can still arrive (or be read) on the port. */
bool cm_port_can_accept_more(const cm_port *port);
/* The sequence number the next read-ack request asks for: ack_interval past
 * the last acknowledged one, saturating below CM_SEQ_INVALID. */
uint64_t cm_port_next_ack_wanted(const cm_port *port);

/* A per-call collection of effects to deliver once the node lock is dropped. */
typedef struct cm_op {
  cm_node *node;
  cm_event *out_head, *out_tail;       /* events for other nodes, FIFO */
  cm_event *bcast_head, *bcast_tail;   /* broadcasts */
  cm_event *local_head, *local_tail;   /* events for this node, FIFO */
  cm_event *dead_head;                 /* dropped user messages: close ports */
  cm_event *destroy_head;              /* events to free after unlocking */
  cm_port **status;                    /* ports to notify (referenced) */
  size_t num_status, cap_status;
  cm_port *status_inline[8];
} cm_op;

/* A port announced dead on a route broken by a lost node. */
typedef struct cm_node_dead_port {
  cm_node_name node;
  cm_port_name port; /* invalid: free slot */
} cm_node_dead_port;

struct cm_node {
  cm_node_name name;
  cm_node_delegate delegate;
  pthread_mutex_t lock;
  cm_port **buckets; /* (lock) */
  size_t num_buckets; /* power of two */
  size_t num_ports;
  uint64_t hash_k0, hash_k1; /* per-node random hash key */
  cm_node_name *lost;         /* (lock) nodes reported lost: a hash set (node.c) */
  size_t num_lost, cap_lost;
  cm_node_dead_port *dead;    /* (lock) ports announced dead (hash set) */
  size_t num_dead, cap_dead;
};

/* node.c: the port table and the op machinery. All need node->lock. */
cm_port *cm_node_lookup(cm_node *node, const cm_port_name *name);
MojoResult cm_node_insert_port(cm_node *node, cm_port *port);
/* Removes the port from the table (state becomes CLOSED) and moves whatever
 * it still holds into the op: user messages to the dead list, other events
 * to the destroy list. Drops the table's reference. */
void cm_node_erase_port(cm_op *op, cm_port *port);
/* Remembers that `name` was lost / asks whether it was. */
void cm_node_note_lost(cm_node *node, const cm_node_name *name);
bool cm_node_is_lost(const cm_node *node, const cm_node_name *name);
/* Remembers that port `port` of node `n` died on a broken route (its death
 * was announced) / asks whether it did. An event under way can point a
 * route at such a port after the announcement passed. */
void cm_node_note_dead_port(cm_node *node, const cm_node_name *n, const cm_port_name *port);
bool cm_node_is_dead_port(const cm_node *node, const cm_node_name *n, const cm_port_name *port);
/* Field by field, inline: every call makes an op, and the inline status
 * array needs no clearing (num_status says what is in it). */
static inline void cm_op_init(cm_op *op, cm_node *node) {
  op->node = node;
  op->out_head = op->out_tail = NULL;
  op->bcast_head = op->bcast_tail = NULL;
  op->local_head = op->local_tail = NULL;
  op->dead_head = NULL;
  op->destroy_head = NULL;
  op->status = op->status_inline;
  op->num_status = 0;
  op->cap_status = sizeof(op->status_inline) / sizeof(op->status_inline[0]);
}
/* Queues `ev` for node `to` (this node's own events go to the local FIFO). */
void cm_op_emit(cm_op *op, const cm_node_name *to, cm_event *ev);
void cm_op_broadcast(cm_op *op, cm_event *ev);
void cm_op_status(cm_op *op, cm_port *port);
void cm_op_dead(cm_op *op, cm_event *ev);
void cm_op_destroy_later(cm_op *op, cm_event *ev);
/* Drops an event nobody will handle: a user message goes to the dead list
 * (the ports it carries must be closed), anything else is destroyed. */
void cm_op_drop(cm_op *op, cm_event *ev);
/* Runs the local FIFO and the dead list until both are empty. */
void cm_op_drain(cm_op *op);
/* Unlocks the node and delivers everything collected. */
void cm_op_finish(cm_op *op);

/* node_route.c: the routing algorithm. All run with node->lock held. */
MojoResult cm_route_accept_event(cm_op *op, const cm_node_name *from, cm_event *ev);
MojoResult cm_route_close_port(cm_op *op, cm_port *port);
/* Tells the proxy that forwards to `port` (its previous port, when that is
 * not its peer) that `port` is gone, so that the proxy goes too. */
void cm_route_tell_prev_gone(cm_op *op, const cm_port *port);
/* Prepares `ev` to leave `port` (assigns sequence numbers, turns carried
 * ports into proxies when the target is another node); *target gets the
 * node to send it to. */
MojoResult cm_route_prepare_forward(cm_op *op, cm_port *port, cm_port_state expected,
                                    bool ignore_closed_peer, cm_event *ev,
                                    cm_node_name *target);
void cm_route_convert_to_proxy(cm_op *op, cm_port *port, const cm_node_name *to_node,
                               cm_port_name *name_inout, cm_port_descriptor *desc);
MojoResult cm_route_merge(cm_op *op, cm_port *p0, cm_port *p1, bool allow_close_on_bad_state);
void cm_route_destroy_ports_with_peer(cm_op *op, const cm_node_name *node,
                                      const cm_port_name *port);
/* Closes the ports waiting for a MergePort from `lost`: it will not come. */
void cm_route_drop_pending_merges(cm_op *op, const cm_node_name *lost);
/* Treats the route of `port` as broken (a receiving port sees its peer
 * closed, any other dies and announces its death) when its peer or previous
 * port is on a node this node has been told is lost, or is a port announced
 * dead (a route can be pointed there after the notice, by events that were
 * already under way). */
void cm_route_check_lost(cm_op *op, cm_port *port);
MojoResult cm_route_dispatch(cm_op *op, cm_port *port, const cm_node_name *from, cm_event *ev);
MojoResult cm_route_accept_port(cm_op *op, const cm_node_name *from, const cm_port_name *name,
                                const cm_port_descriptor *d);
/* Creates the ports a message from another node carries. On failure the
 * ones created so far are closed again and the message is destroyed. */
MojoResult cm_route_bind_ports(cm_op *op, const cm_node_name *from, cm_event *ev);
MojoResult cm_route_forward_from_proxy(cm_op *op, cm_port *port);
void cm_route_initiate_proxy_removal(cm_op *op, cm_port *port);
void cm_route_try_remove_proxy(cm_op *op, cm_port *port);
/* A control event from `port` to its peer, numbered on their link. */
cm_event *cm_route_to_peer(cm_port *port, cm_event_type type);
/* Sends to the peer, or keeps the event while the port is BUFFERING. */
void cm_route_send_to_peer(cm_op *op, cm_port *port, cm_event *ev);
/* CMOJO_PORTS_TRACE=1: prints `ev` with direction `what` ("<-" accepted
 * from `peer`, "->" sent to `peer`). Call through cm_route_trace_if(), which
 * costs one relaxed load while tracing is off. */
void cm_route_trace(const cm_op *op, const char *what, const cm_node_name *peer,
                    const cm_event *ev);
/* -1 until the environment was read, then 0 (off) or 1 (on). */
extern atomic_int cm_route_trace_state;
static inline bool cm_route_trace_maybe_on(void) {
  return atomic_load_explicit(&cm_route_trace_state, memory_order_relaxed) != 0;
}
static inline void cm_route_trace_if(const cm_op *op, const char *what,
                                     const cm_node_name *peer, const cm_event *ev) {
  if (cm_route_trace_maybe_on())
    cm_route_trace(op, what, peer, ev);
}
/* Processes buffered control-ordered events that are now in turn. */
void cm_route_run_buffered(cm_op *op, cm_port *port);
void cm_route_set_peer(cm_port *port, const cm_node_name *node, const cm_port_name *name);

static inline bool cm_node_is_self(const cm_node *node, const cm_node_name *n) {
  return cm_name_equal(&node->name, n);
}

#endif /* CMOJO_PORTS_PORTS_INTERNAL_H_ */
