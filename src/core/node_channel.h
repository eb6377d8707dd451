/* node_channel: one connection to one peer node, over one transport on an
 * I/O loop.
 *
 * Role. A channel turns a channel endpoint (a connected Unix stream socket)
 * into a stream of checked node messages (docs/node-protocol.md). It owns
 * the transport, watches it on a cm_io_loop, runs the protocol's first
 * state (HELLO: version negotiation), parses every frame with
 * cm_node_message_parse and hands each valid message, with its fds, to its
 * delegate. The states beyond "connected" (invitations, broker, roles)
 * belong to the node controller above, which sees them as messages here.
 *
 * States: NEW (created) -> AWAIT_HELLO (started: own HELLO sent) ->
 * CONNECTED (the peer's HELLO arrived and a version was agreed) -> CLOSED.
 *
 * Invariants.
 * - Nothing but HELLO and GOODBYE is sent before the peer's HELLO arrived:
 *   writes of other messages fail with SHOULD_WAIT until on_connected.
 * - A malformed frame or message, a message in the wrong state (anything
 *   but HELLO/GOODBYE before HELLO, a second HELLO) or of a type newer than
 *   the agreed version drops the connection: the fds that came with it are
 *   closed, GOODBYE with the reason is sent (best effort), the transport is
 *   shut down, and on_disconnect reports the reason.
 * - on_disconnect is called exactly once for a connection that ends other
 *   than by this node's cm_node_channel_close()/destroy() (peer GOODBYE,
 *   peer gone, bad input, transport failure). If this node closes first it
 *   is not called at all; if the loop thread got there first it may still
 *   be running when close() returns, but never once destroy() returned.
 * - Every fd received is owned by exactly one party at every moment: the
 *   delegate once on_message is called, else the channel, which closes it.
 *
 * Threads. The delegate's callbacks run on the loop thread (see io_loop.h),
 * one at a time, with no channel lock held; they may call every function
 * here except cm_node_channel_destroy() on their own channel. Writes may be
 * made from any thread at any time (they never wait for the loop). */
#ifndef CMOJO_CORE_NODE_CHANNEL_H_
#define CMOJO_CORE_NODE_CHANNEL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/io_loop.h"
#include "core/node_message.h"
#include "platform/platform.h"

typedef struct cm_node_channel cm_node_channel;

typedef struct cm_node_channel_delegate {
  /* Optional: the peer's HELLO arrived and `version` was agreed; the peer
   * announced `capabilities`. Messages of any type up to `version` may be
   * written from now on. */
  void (*on_connected)(void *context, uint32_t version, uint64_t capabilities);
  /* A valid message other than HELLO and GOODBYE, in the connected state.
   * `message` and what it points to are valid only during the call. The
   * delegate takes every handle in fds[0..num_fds) (closes or keeps each);
   * the array itself is the channel's. */
  void (*on_message)(void *context, const cm_node_message *message, cm_platform_handle *fds,
                     size_t num_fds);
  /* The connection ended. `reason`: the peer's GOODBYE reason (OK for an
   * orderly close) with its text; FAILED_PRECONDITION when the peer went
   * away (or no common version); INVALID_ARGUMENT for a bad frame or
   * message from the peer (text: the check that failed); another code for a
   * local failure. `text` is NUL-terminated and valid only during the
   * call. Called at most once. */
  void (*on_disconnect)(void *context, MojoResult reason, const char *text);
} cm_node_channel_delegate;

/* Creates a channel over the endpoint *endpoint, which it takes (on failure
 * too; *endpoint is reset to invalid unless an argument is NULL). The
 * delegate is copied. Nothing is sent or read before cm_node_channel_start.
 * Returns OK and *out; INVALID_ARGUMENT if an argument is NULL, on_message
 * or on_disconnect is NULL, or the endpoint is no Unix stream socket;
 * RESOURCE_EXHAUSTED if out of memory. */
MojoResult cm_node_channel_create(cm_io_loop *loop, cm_platform_handle *endpoint,
                                  const cm_node_channel_delegate *delegate, void *context,
                                  cm_node_channel **out);

/* Watches the transport on the loop and sends HELLO (this build's version
 * range, no capabilities). Returns OK; FAILED_PRECONDITION if already
 * started or closed; another code if watching or the first write fails (the
 * channel is then closed without on_disconnect). */
MojoResult cm_node_channel_start(cm_node_channel *channel);

/* Sends one encoded node message (bytes[0..num_bytes), as the
 * cm_node_message_encode_* functions write it) with fds[0..num_fds).
 * Ownership: the channel takes every fd, whatever the result (entries are
 * reset to invalid; on failure the fds are closed). Returns OK (sent or
 * queued); INVALID_ARGUMENT for a NULL argument with a length, bytes too
 * short to be a message, a HELLO (the channel sends its own), or a type
 * unknown or newer than the agreed version; SHOULD_WAIT before the peer's HELLO for anything
 * but GOODBYE; FAILED_PRECONDITION if not started or closed, or the peer is
 * gone (on_disconnect follows); RESOURCE_EXHAUSTED as the transport
 * reports it. */
MojoResult cm_node_channel_write(cm_node_channel *channel, const void *bytes, size_t num_bytes,
                                 cm_platform_handle *fds, size_t num_fds);

/* The same with the message in two pieces, bytes then tail (see
 * cm_platform_transport_write2, also for who owns the tail's buffer: the
 * channel takes it whatever the result): a large user message is sent from
 * where it is, not gathered behind its headers first. */
MojoResult cm_node_channel_write2(cm_node_channel *channel, const void *bytes, size_t num_bytes,
                                  cm_platform_tail *tail, cm_platform_handle *fds,
                                  size_t num_fds);

/* Encodes and sends an EVENT: the serialized ports event
 * event[0..event_num_bytes) and the user message payload[0..payload_num_bytes)
 * carrying num_handles Mojo handles, with fds[0..num_fds). The headers and
 * the event are laid out on the caller's stack (or heap, for a large
 * event); the user message goes out from where it is, as the frame's second
 * piece (cm_node_channel_write2). Ownership and results as
 * cm_node_channel_write, plus INVALID_ARGUMENT for what
 * cm_node_message_encode_event refuses and RESOURCE_EXHAUSTED if a large
 * event finds no memory. */
MojoResult cm_node_channel_send_event(cm_node_channel *channel, const void *event,
                                      size_t event_num_bytes, const void *payload,
                                      size_t payload_num_bytes, uint32_t num_handles,
                                      cm_platform_handle *fds, size_t num_fds);

/* Orderly or failed close by this node: sends GOODBYE(reason, text; a text
 * above CM_MAX_NODE_MESSAGE_TEXT_BYTES is cut), shuts the transport down and
 * stops watching it. on_disconnect is not called for it. Does not wait for
 * a callback running on the loop thread (destroy does). No-op when already
 * closed. text may be NULL. Any thread, also from the channel's callbacks. */
void cm_node_channel_close(cm_node_channel *channel, MojoResult reason, const char *text);

/* Closes (as cm_node_channel_close(OK, "") if still open) and frees the
 * channel. Not from the channel's own callbacks; no other thread may use
 * the channel any more. NULL is a no-op. */
void cm_node_channel_destroy(cm_node_channel *channel);

/* From inside on_message only: takes the buffer the message arrived in
 * (see cm_platform_transport_take_frame), so that what the parsed view
 * points to stays valid after the call, in *base. False (nothing taken) for
 * a small message or one that shares its buffer. */
bool cm_node_channel_take_frame(cm_node_channel *channel, void **base, size_t *capacity);

/* The agreed protocol version, or 0 before the peer's HELLO. */
uint32_t cm_node_channel_version(cm_node_channel *channel);

/* The peer credentials captured when the channel was created (pidfd
 * borrowed, valid until destroy). Returns OK; INVALID_ARGUMENT for NULL. */
MojoResult cm_node_channel_peer_credentials(const cm_node_channel *channel,
                                            cm_platform_peer_credentials *out);

#endif /* CMOJO_CORE_NODE_CHANNEL_H_ */
