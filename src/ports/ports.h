/* ports: routing of messages between ports on nodes, as pure logic.
 *
 * A node owns ports. Two conjugate ports form a route (a message pipe); a user
 * message sent on one port is received, in send order, exactly once, on its
 * peer. A port may travel inside a user message: the sending side's port then
 * becomes a proxy that forwards whatever still reaches it, the route is
 * re-targeted to the port's new home (ObserveProxy / ObserveProxyAck) and the
 * proxy disappears once nothing more can arrive. Closing a port tells the
 * peer the last sequence number it will ever send, so nothing sent before a
 * close is lost. Losing a whole node closes every route that ran through it.
 *
 * This layer does no I/O, starts no threads and reads no clocks. Events come
 * in through cm_node_accept_event(); events for other nodes and port status
 * changes go out through the delegate. Every function is safe to call from
 * any thread. Delegate callbacks are made from the calling thread with no
 * lock of this layer held, so a delegate may call back into the node.
 *
 * Results are MojoResult values:
 *   MOJO_RESULT_OK                  success
 *   MOJO_RESULT_NOT_FOUND           no port of that name on this node
 *   MOJO_RESULT_ALREADY_EXISTS      a port of that name exists already
 *   MOJO_RESULT_INVALID_ARGUMENT    port in the wrong state for the call
 *                                   (e.g. closed, proxying, uninitialized)
 *   MOJO_RESULT_FAILED_PRECONDITION the peer is closed (send, or read of an
 *                                   empty queue that will never refill)
 *   MOJO_RESULT_SHOULD_WAIT         read of an empty queue that may refill
 *   MOJO_RESULT_BUSY                a message tried to carry its own sending
 *                                   port (cannot send self)
 *   MOJO_RESULT_PERMISSION_DENIED   a message tried to carry the sending
 *                                   port's peer (cannot send peer)
 *   MOJO_RESULT_RESOURCE_EXHAUSTED  out of memory at an entry point that
 *                                   could fail cleanly (creating ports or
 *                                   events); out of memory in the middle of
 *                                   routing (an internal control event that
 *                                   must be sent) aborts, as in Chromium
 *   MOJO_RESULT_DATA_LOSS           malformed serialized event
 *
 * Known limits (docs/ports.md): a cycle of pipe ends carried inside each
 * other's unread messages is never read and never freed (Mojo leaks it
 * too); a node remembers the nodes reported lost and the ports announced
 * dead for its whole life.
 */
#ifndef CMOJO_PORTS_PORTS_H_
#define CMOJO_PORTS_PORTS_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mojo/public/c/system/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A 128-bit name. Node and port names come from getrandom(); {0,0} is the
 * invalid name. */
typedef struct cm_name {
  uint64_t v1;
  uint64_t v2;
} cm_name;

typedef cm_name cm_node_name;
typedef cm_name cm_port_name;

static inline bool cm_name_equal(const cm_name *a, const cm_name *b) {
  return a->v1 == b->v1 && a->v2 == b->v2;
}
static inline bool cm_name_is_valid(const cm_name *n) {
  return n->v1 != 0 || n->v2 != 0;
}

/* Fills *out with a fresh random valid name. Never fails (falls back to
 * retrying getrandom; aborts only if the kernel has no entropy source). */
void cm_name_random(cm_name *out);

typedef struct cm_node cm_node;
typedef struct cm_port cm_port;

/* A counted reference to a port of a node. Copy with cm_port_ref_copy(),
 * release with cm_port_ref_release(). A reference keeps the port's memory
 * alive, not the port open. */
typedef struct cm_port_ref {
  cm_port_name name;
  cm_port *port;
} cm_port_ref;

void cm_port_ref_copy(cm_port_ref *dst, const cm_port_ref *src);
void cm_port_ref_release(cm_port_ref *ref);

/* Opaque user data attached to a port by its owner (core's dispatcher). The
 * ports layer never dereferences it. */
void cm_port_set_user_data(const cm_port_ref *ref, void *user_data);
void *cm_port_get_user_data(const cm_port_ref *ref);

/* ---- Events ------------------------------------------------------------ */

typedef enum cm_event_type {
  CM_EVENT_USER_MESSAGE = 0,
  CM_EVENT_PORT_ACCEPTED = 1,
  CM_EVENT_OBSERVE_PROXY = 2,
  CM_EVENT_OBSERVE_PROXY_ACK = 3,
  CM_EVENT_OBSERVE_CLOSURE = 4,
  CM_EVENT_MERGE_PORT = 5,
  CM_EVENT_USER_MESSAGE_READ_ACK_REQUEST = 6,
  CM_EVENT_USER_MESSAGE_READ_ACK = 7,
  CM_EVENT_UPDATE_PREVIOUS_PEER = 8,
} cm_event_type;

typedef struct cm_event cm_event;

/* What the ports layer needs to know about the payload a user message
 * carries (core's message object). */
typedef struct cm_payload_ops {
  /* Frees the payload; called when a message is dropped (e.g. its port was
   * closed with the message still queued) or destroyed with the event. */
  void (*destroy)(void *payload);
} cm_payload_ops;

/* Who closes the ports a user message carries (lead's rule, matching Mojo's
 * Node): once cm_node_send_user_message() has been called with an event, the
 * ports named in it belong to the ports layer. If the send fails, the node
 * closes those ports itself (so their peers observe closure). If the node
 * drops a queued message unread (its receiving port closed, or its node was
 * lost), the node closes the ports the message carries (by their new names).
 * A message handed to the owner by cm_node_get_message() gives its ports to
 * the owner, who must close them. cm_event_destroy() never closes ports. */

/* Creates a user message event that carries `payload` (ownership moves into
 * the event; ops->destroy frees it with the event) and room for `num_ports`
 * attached ports. `payload_num_bytes` is what the message counts for in
 * memory quotas. Returns NULL when out of memory or when `num_ports` is above
 * 4096 (the payload is then destroyed). */
cm_event *cm_event_user_message_create(void *payload, const cm_payload_ops *ops,
                                       size_t payload_num_bytes, size_t num_ports);

/* Attached ports of a user message event. Before sending, the sender writes
 * the names of the local ports to transfer; after receipt, the names are
 * those of the new local ports that now hold the transferred routes. */
size_t cm_event_num_ports(const cm_event *ev);
cm_port_name *cm_event_ports(cm_event *ev);

/* For a user message the node forwards to another node: the names its
 * carried ports had on this node (now proxies; cm_event_ports names the
 * ports they become on the destination). These are the names the payload's
 * objects still hold. Writes cm_event_num_ports(ev) names. */
void cm_event_get_sent_ports(const cm_event *ev, cm_port_name *out);

/* The payload of a user message event, and taking it out (the event then
 * owns no payload, and destroying it does not free it). */
void *cm_event_payload(const cm_event *ev);
void *cm_event_take_payload(cm_event *ev);

cm_event_type cm_event_get_type(const cm_event *ev);
/* The port an event is addressed to. */
const cm_port_name *cm_event_port_name(const cm_event *ev);

void cm_event_destroy(cm_event *ev);

/* Serialization, for carrying events between nodes in different processes.
 * The serialized form is the event's header and body (for a user message:
 * sequence number and the descriptors of attached ports); a user message's
 * payload bytes are not included: the caller appends them after
 * cm_event_serialized_size() bytes and handles them itself. */
size_t cm_event_serialized_size(const cm_event *ev);
void cm_event_serialize(const cm_event *ev, void *buf);

/* Parses an untrusted serialized event. On success *out is a new event and
 * *consumed the number of bytes it used (the rest is a user message's
 * payload; attach it with cm_event_set_payload()). Returns DATA_LOSS for any
 * malformed input, never reads outside [buf, buf + len). */
MojoResult cm_event_deserialize(const void *buf, size_t len, cm_event **out, size_t *consumed);
/* Gives a user message event `payload` (destroying the one it had). On any
 * other event the payload is destroyed at once. */
void cm_event_set_payload(cm_event *ev, void *payload, const cm_payload_ops *ops,
                          size_t payload_num_bytes);

/* ---- Nodes ------------------------------------------------------------- */

typedef struct cm_node_delegate {
  void *context;
  /* An event for another node. Ownership of `ev` moves to the delegate.
   * Never called for this node's own events (those are handled inside).
   * If `to` cannot be reached (unknown, or its connection is gone), the
   * embedder must drop the event and call cm_node_lost_connection_to_node()
   * for `to` (from inside this callback, since no lock is held, or later),
   * even if it reported that loss before: a route may have been pointed at
   * the lost node since. */
  void (*forward_event)(void *context, const cm_node_name *to, cm_event *ev);
  /* An event for every other node (announces a port that died on a route
   * broken by a lost node, so ports elsewhere that still point at it go
   * too). Deliver it to every node this one may share routes with, not back
   * to this node (which handled it already); receivers must accept it with
   * this node as `from` (a relay passes the origin on): a node may only
   * announce its own ports. Ownership moves to the delegate. */
  void (*broadcast_event)(void *context, cm_event *ev);
  /* Something observable about `port` changed: a message arrived, the peer
   * closed, the port became or stopped being remote, a read ack arrived.
   * The reference is valid for the duration of the call only. The port may
   * have changed again since (closed, or sent away): cm_node_get_status()
   * then says INVALID_ARGUMENT, which the delegate must tolerate. A port
   * carried in a message not read yet can get calls (its user data is
   * still NULL) and gets none for what happened before it arrived: whoever
   * takes it out of the message should look at its status then. */
  void (*port_status_changed)(void *context, const cm_port_ref *port);
} cm_node_delegate;

typedef struct cm_port_status {
  bool has_messages;           /* the next message in sequence is queued */
  bool receiving_messages;     /* the port can still receive */
  bool peer_closed;            /* the peer closed or was lost */
  bool peer_remote;            /* the peer lives on another node */
  size_t queued_message_count; /* messages queued, in order or not */
  size_t queued_num_bytes;     /* payload bytes queued */
  size_t unacknowledged_message_count; /* sent, not yet read by the peer */
} cm_port_status;

/* Creates a node named `name`. The delegate is copied. */
MojoResult cm_node_create(const cm_node_name *name, const cm_node_delegate *delegate,
                          cm_node **out);
/* Destroys the node and every port it still has, without sending events. */
void cm_node_destroy(cm_node *node);
const cm_node_name *cm_node_get_name(const cm_node *node);
/* True when no port of the node is open (receiving or proxying). */
bool cm_node_can_shutdown_cleanly(cm_node *node);
/* How many ports (of any state but closed) the node holds; for diagnostics
 * and tests (e.g. checking that no proxy is left behind). */
size_t cm_node_num_ports(cm_node *node);

/* A connected pair of ports on this node. */
MojoResult cm_node_create_port_pair(cm_node *node, cm_port_ref *a, cm_port_ref *b);
/* A port with no peer yet, to be connected with cm_node_initialize_port()
 * (the other end of a route being set up between two nodes). */
MojoResult cm_node_create_uninitialized_port(cm_node *node, cm_port_ref *out);
MojoResult cm_node_initialize_port(cm_node *node, const cm_port_ref *port,
                                   const cm_node_name *peer_node, const cm_port_name *peer_port);

MojoResult cm_node_get_port(cm_node *node, const cm_port_name *name, cm_port_ref *out);
MojoResult cm_node_get_status(cm_node *node, const cm_port_ref *port, cm_port_status *out);

/* Sends a user message event on `port`; the event is consumed even on
 * failure. Ports named in the event are transferred (they must be local,
 * receiving, and neither `port` nor its peer); from this call on they belong
 * to the message. On failure (INVALID_ARGUMENT: `port` not receiving, a
 * carried port unknown/not receiving/named twice; FAILED_PRECONDITION: peer
 * closed; BUSY: carries `port`; PERMISSION_DENIED: carries the peer) every
 * carried port except `port` itself is closed, as Mojo does.
 *
 * Who closes the ports a message carries:
 *  - while the message is inside the ports layer (queued, in flight,
 *    dropped because its receiver closed or could not take it), the node
 *    closes them when it drops the message, so their peers see closure;
 *  - once cm_node_get_message() returns the message, its ports (named by
 *    cm_event_ports(), now receiving ports of this node) belong to the
 *    caller, who must send them on or close them with cm_node_close_port();
 *    cm_event_destroy() never closes ports (an event knows no node). */
MojoResult cm_node_send_user_message(cm_node *node, const cm_port_ref *port, cm_event *ev);

/* Takes the next in-order message of `port` into *out (OK); SHOULD_WAIT when
 * none is ready yet; FAILED_PRECONDITION when none will ever come (the peer
 * closed and everything it sent has been read); INVALID_ARGUMENT when the
 * port is not receiving. The message's sequence number is reset, so it may
 * be sent again on any port. */
MojoResult cm_node_get_message(cm_node *node, const cm_port_ref *port, cm_event **out);

/* Closes the port. Queued messages are destroyed (ports they carry are
 * closed too); the peer observes closure after everything sent before. */
MojoResult cm_node_close_port(cm_node *node, const cm_port_ref *port);

/* Joins the route of local `port` with the route of `dest_port` on
 * `dest_node`: both ports disappear and their peers become each other's
 * peers. Used to connect a pipe named in an invitation. `dest_port` must
 * have been allowed to merge (cm_node_allow_port_merge) on its node.
 * INVALID_ARGUMENT when `port` is not receiving; the rest happens
 * asynchronously (a refused merge closes both routes). */
MojoResult cm_node_merge_ports(cm_node *node, const cm_port_ref *port,
                               const cm_node_name *dest_node, const cm_port_name *dest_port);
/* Same with two ports of this node (MojoFuseMessagePipes): both must be
 * receiving, must not be each other's peer and must never have sent or read
 * a user message (messages queued unread are passed on), else
 * FAILED_PRECONDITION; both ports are closed by the merge either way. The
 * same conditions apply to both ports of cm_node_merge_ports(); there a
 * failure closes the ports on the destination node. */
MojoResult cm_node_merge_local_ports(cm_node *node, const cm_port_ref *a, const cm_port_ref *b);

/* Marks `port` as one that a MergePort event from node `from` may merge
 * into (the port named in an invitation; NULL `from`: any node). A
 * MergePort aimed at any other port, or sent by another node, is refused,
 * so a peer cannot hijack ports whose names it knows. If `from` is lost
 * before its MergePort arrives, cm_node_lost_connection_to_node() closes
 * the port (its peer sees closure). INVALID_ARGUMENT when the port is not
 * receiving or uninitialized; FAILED_PRECONDITION when `from` was reported
 * lost already (the caller closes the port: no merge can come). */
MojoResult cm_node_allow_port_merge(cm_node *node, const cm_port_ref *port,
                                    const cm_node_name *from);

/* An event from node `from` (or from this node). Consumed even on failure.
 * OK: processed, or dropped because it arrived late (its port is gone).
 * NOT_FOUND: an event that needs its port found none (harmless).
 * DATA_LOSS: an event no honest node sends (a replayed control number, a
 * user message carrying the port it is addressed to, a
 * carried port whose name collides with one of ours or whose referring node
 * is not `from`, a merge into a port not allowed to merge, ...); the embedder
 * may treat it as a reason to drop the connection to `from`. */
MojoResult cm_node_accept_event(cm_node *node, const cm_node_name *from, cm_event *ev);

/* `lost` is gone: every route through it is closed (peer_closed on the
 * surviving ends) and proxies waiting on it are removed. */
MojoResult cm_node_lost_connection_to_node(cm_node *node, const cm_node_name *lost);

/* Ask the peer to acknowledge reads every `interval` messages (0 = stop);
 * drives unacknowledged_message_count, used by MOJO_QUOTA_TYPE_UNREAD_MESSAGE_COUNT. */
MojoResult cm_node_set_acknowledge_request_interval(cm_node *node, const cm_port_ref *port,
                                                    uint64_t interval);

#ifdef __cplusplus
}
#endif

#endif /* CMOJO_PORTS_PORTS_H_ */
