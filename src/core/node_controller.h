/* node_controller: this process's node among other processes' nodes.
 *
 * Role. The ports layer routes events between nodes by name; the controller
 * is what reaches the other nodes. It owns one node channel per peer node
 * (node_channel.h) on the process's I/O loop, runs the protocol states above
 * HELLO (docs/node-protocol.md: invitations, the broker, introductions,
 * broadcasts, bad-message reports) and carries the ports layer's events:
 * forward_event serializes an event (and its user message, with the OS
 * handles beside it) into one EVENT frame for its destination; an EVENT that
 * arrives is parsed, its user message rebuilt (message_serialize.h) and the
 * event given to cm_node_accept_event with the connection's peer as `from`.
 *
 * Peers. Every connection is a peer record: what the connection is for (an
 * invitation we sent or accepted, the broker link, a broker client, an
 * introduction), its state, the peer's node name once the handshake says
 * it, and the frames waiting for the connection to become active. An event
 * for a node this node has no connection to waits in a peer record without a
 * channel while the broker is asked to introduce the two (a broker answers
 * for itself: it knows every node of its graph).
 *
 * The broker. MojoInitialize(AS_BROKER) makes it; otherwise the first
 * process of a graph becomes the broker when it sends its first
 * non-isolated invitation without having accepted one.
 *
 * Failure. Anything a peer sends that the protocol does not allow drops
 * that connection only (GOODBYE with the reason, the peer reported lost to
 * the ports layer so routes through it close, its error handler told);
 * the process and its other connections go on.
 *
 * Threads. Every function may be called from any thread. Protocol messages
 * are handled on the loop thread (the I/O thread, or inside cmojo_process()
 * in embedder mode). Sends go straight to the transport from the calling
 * thread. One mutex guards the controller's tables; it is never held while
 * a context serializer, an error handler, the ports layer or a channel
 * callback runs, only around table updates and transport writes. */
#ifndef CMOJO_CORE_NODE_CONTROLLER_H_
#define CMOJO_CORE_NODE_CONTROLLER_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/io_loop.h"
#include "mojo/public/c/system/invitation.h"
#include "platform/platform.h"
#include "ports/ports.h"

/* A pipe attached to an invitation: the port reserved for it, under a name. */
typedef struct cm_attachment {
  struct cm_attachment *next;
  cm_port_ref port;
  uint32_t name_num_bytes;
  uint8_t name[];
} cm_attachment;

/* One connection to another node (opaque outside the controller). */
typedef struct cm_peer cm_peer;

/* Sets up the controller for `node`: the I/O loop, started on a thread of
 * its own unless `embedded`. `as_broker` makes this node its graph's broker.
 * Called once, by MojoInitialize. Returns OK or RESOURCE_EXHAUSTED. */
MojoResult cm_node_controller_init(cm_node *node, bool as_broker, bool embedded);

/* The loop; NULL before init. */
cm_io_loop *cm_node_controller_loop(void);
bool cm_node_controller_embedded(void);

/* The ports layer's delegate calls (core.c forwards them). */
void cm_node_controller_forward_event(const cm_node_name *to, cm_event *ev);
void cm_node_controller_broadcast_event(cm_event *ev);

/* Invitations (invitation.c validates the arguments first).
 *
 * send: takes `endpoint` (a connected socket, or a listening one when
 * `listener`) and the attachments list on OK only. `isolated_name` (may be
 * NULL/0) replaces an earlier isolated connection of that name.
 * A non-isolated invitation from a node that neither is a broker nor
 * accepted an invitation makes it the broker of its graph.
 * Returns OK, RESOURCE_EXHAUSTED, or INVALID_ARGUMENT for an endpoint that
 * is no suitable socket. */
MojoResult cm_node_controller_send_invitation(cm_platform_handle endpoint, bool listener,
                                              cm_attachment **attachments, int64_t pid,
                                              MojoProcessErrorHandler handler,
                                              uintptr_t handler_context, bool isolated,
                                              const char *isolated_name,
                                              uint32_t isolated_name_num_bytes);

/* accept: takes `endpoint` on OK. *out is the inviter's peer record, with a
 * reference for the caller (the invitation). FAILED_PRECONDITION when a
 * non-isolated invitation comes to a broker or to a node that accepted one
 * already. */
MojoResult cm_node_controller_accept_invitation(cm_platform_handle endpoint, bool listener,
                                                bool isolated, bool leak_endpoint, cm_peer **out);

/* For an accepted invitation: asks the inviter to merge its pipe named
 * name[0..n) with `port` (a fresh receiving port of this node, whose peer
 * the caller keeps). Takes `port` (the reference and the port): if the
 * inviter is gone, or never answers because the connection ends, the port is
 * closed, so the caller's end sees PEER_CLOSED. */
void cm_node_controller_request_merge(cm_peer *inviter, cm_port_ref *port, const void *name,
                                      uint32_t n);

void cm_peer_ref(cm_peer *p);
void cm_peer_unref(cm_peer *p);

/* MojoNotifyBadMessage on a message that came from node `source`. */
void cm_node_controller_notify_bad_message(const cm_node_name *source, const char *error,
                                           size_t error_num_bytes);

MojoResult cm_node_controller_set_default_error_handler(MojoDefaultProcessErrorHandler handler);

/* The credentials of the process behind the connection to `node`: OK;
 * NOT_FOUND if there is none (any more). The pidfd is borrowed. */
MojoResult cm_node_controller_peer_credentials(const cm_node_name *node,
                                               cm_platform_peer_credentials *out);

#endif /* CMOJO_CORE_NODE_CONTROLLER_H_ */
