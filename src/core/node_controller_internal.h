/* What node_controller.c (connections, frames, events) and
 * node_controller_protocol.c (the messages above HELLO) share. Private to
 * those two files. */
#ifndef CMOJO_CORE_NODE_CONTROLLER_INTERNAL_H_
#define CMOJO_CORE_NODE_CONTROLLER_INTERNAL_H_

#include <pthread.h>
#include <stdatomic.h>

#include "core/node_channel.h"
#include "core/node_controller.h"
#include "core/node_message.h"

/* What a connection is for. */
typedef enum peer_kind {
  PEER_INVITEE,    /* we sent it an invitation */
  PEER_INVITER,    /* we accepted its invitation */
  PEER_BROKER,     /* our link to the broker (the broker gave us the channel) */
  PEER_CLIENT,     /* the broker's link to a client another node invited */
  PEER_INTRODUCED, /* the broker introduced us (or will: no channel yet) */
} peer_kind;

typedef enum peer_state {
  PEER_AWAIT_CONNECTION,        /* no channel yet (listener, or introduction) */
  PEER_AWAIT_HELLO,             /* channel started, HELLO not answered */
  PEER_AWAIT_ACCEPT_INVITATION, /* inviter: ACCEPT_INVITEE sent */
  PEER_AWAIT_ACCEPT_INVITEE,    /* invitee: waiting for the inviter */
  PEER_ACTIVE,
  PEER_CLOSED,
} peer_state;

/* A frame waiting for its connection to become active. */
typedef struct queued_frame {
  struct queued_frame *next;
  uint8_t *bytes;
  size_t num_bytes;
  cm_platform_handle *fds;
  size_t num_fds;
} queued_frame;

/* A merge request waiting for the inviter's name (ACCEPT_INVITEE). */
typedef struct pending_merge {
  struct pending_merge *next;
  cm_port_ref port;
  uint32_t name_num_bytes;
  uint8_t name[];
} pending_merge;

struct cm_peer {
  atomic_uint refs;
  struct cm_peer *next; /* ctl.peers, while not closed */
  peer_kind kind;
  bool isolated;

  /* Under ctl.mu. */
  peer_state state;
  bool has_name;
  cm_node_name name;
  cm_node_name token; /* invitation token */
  queued_frame *queue_head, *queue_tail;
  size_t queued_bytes, queued_fds; /* in the queue, bounded (cm_limits.h) */
  size_t queued_introductions;     /* INTRODUCE halves in the queue */
  bool overflowed;                  /* past the bounds: being dropped */
  cm_attachment *attachments;  /* PEER_INVITEE: pipes not merged yet */
  pending_merge *merges;       /* PEER_INVITER: before ACCEPT_INVITEE */
  bool awaiting_broker_client; /* PEER_INVITEE: ADD_BROKER_CLIENT sent */
  bool got_broker_client;      /* PEER_INVITER: ACCEPT_BROKER_CLIENT seen */
  bool has_inviter_name;       /* PEER_CLIENT: who invited it */
  cm_node_name inviter_name;
  char *isolated_name; /* PEER_INVITEE, isolated: connection name */
  uint32_t isolated_name_num_bytes;

  /* Set at creation, then read-only. */
  bool invited_by_us;
  MojoProcessErrorHandler handler;
  uintptr_t handler_context;
  int64_t pid;
  bool leak_endpoint;

  /* The connection: set when it exists (under ctl.mu), read by senders
   * that hold a reference. Destroyed with the last reference. */
  cm_node_channel *channel;
  cm_platform_handle listener; /* before the connection: a listening socket */
  cm_io_watch *listener_watch;
};

/* The controller's state (one per process). */
typedef struct controller {
  pthread_mutex_t mu;
  cm_node *node;
  cm_node_name name;
  cm_io_loop *loop;
  bool embedded;

  /* Under mu. */
  bool is_broker;
  bool accepted; /* a non-isolated invitation was accepted */
  cm_peer *peers;
  size_t num_peers; /* in `peers`, at most CM_MAX_PEERS_PER_NODE */
  size_t num_introductions; /* of them PEER_INTRODUCED (kind fixed at creation) */
  cm_peer *broker;  /* our link to the broker (not a broker), with a ref */
  queued_frame *broker_backlog_head, *broker_backlog_tail;
  MojoDefaultProcessErrorHandler default_handler;
} controller;

extern controller ctl;

/* ---- node_controller.c ---------------------------------------------------
 * "_locked": the caller holds ctl.mu. */

/* A new peer record (one reference, the list's), linked into ctl.peers. */
cm_peer *peer_new_locked(peer_kind kind, peer_state state);
/* The live peer known by `name`, or NULL. */
cm_peer *peer_find_locked(const cm_node_name *name);
/* Gives the peer a channel over `endpoint` (taken) and starts it. */
MojoResult peer_connect(cm_peer *p, cm_platform_handle *endpoint);
/* Sends a frame (bytes copied when queued; fds taken) to the peer, or queues
 * it until the peer is active. Drops it (closing the fds) if the peer is
 * closed. */
void peer_send_locked(cm_peer *p, const uint8_t *bytes, size_t n, cm_platform_handle *fds,
                      size_t num_fds);
/* The same, for a frame that is sent regardless of the peer's state (the
 * handshake itself); the channel must exist. */
void peer_send_now(cm_peer *p, const uint8_t *bytes, size_t n, cm_platform_handle *fds,
                   size_t num_fds);
/* Asks the broker (ctl.broker, set) to introduce the waiting peer p. */
void request_introduction_locked(cm_peer *p);
/* To the broker, or into the backlog until there is one. */
void broker_send_locked(const uint8_t *bytes, size_t n, cm_platform_handle *fds, size_t num_fds);
/* The peer becomes active: queued frames go out. */
void peer_activate_locked(cm_peer *p);
/* Names the peer; false (nothing changed) if the name is ours or taken. */
bool peer_set_name_locked(cm_peer *p, const cm_node_name *name);
/* Ends the connection (once; later calls do nothing): `text` goes to the
 * peer in GOODBYE and to the error handler, the ports layer hears the node
 * is lost, and the list's reference goes. Not with ctl.mu held. */
void peer_drop(cm_peer *p, MojoResult reason, const char *text);

/* ---- node_controller_protocol.c ------------------------------------------ */

/* The handshake step when the channel is connected (HELLO done). */
void protocol_on_connected(cm_peer *p);
/* One message other than HELLO/GOODBYE/EVENT. Returns NULL if handled, else
 * the reason to drop the connection (static text). Takes the fds. */
const char *protocol_on_message(cm_peer *p, const cm_node_message *m, cm_platform_handle *fds,
                                size_t num_fds);
/* Allows the merge and sends REQUEST_PORT_MERGE for `m` to the inviter `p`
 * (active, named); frees m (its port is closed if that fails). */
void protocol_send_merge_request(cm_peer *p, pending_merge *m);
/* What a dropped peer leaves behind: its attachments and merges. */
void protocol_release(cm_attachment *attachments, pending_merge *merges);
/* Calls the error handler that applies to `p` (its invitation's, else the
 * default one when `use_default`). */
void protocol_report(cm_peer *p, const char *text, size_t n, MojoProcessErrorFlags flags,
                     bool use_default);

#endif /* CMOJO_CORE_NODE_CONTROLLER_INTERNAL_H_ */
