/* message_serialize: a core message as bytes plus OS handles, and back.
 *
 * When a user message event goes to a port on another node, the node
 * controller serializes the event (cm_event_serialize) and appends the core
 * message after it in the format of docs/message-format.md: a header, one
 * entry per attached dispatcher {type, blob bytes, ports, OS handles}, the
 * blobs, then the user payload. The OS handles travel beside the bytes (in
 * the transport frame's SCM_RIGHTS). On the other node the controller parses
 * the event, hands the bytes after it and the frame's handles to
 * cm_message_deserialize(), attaches the result to the event
 * (cm_event_set_payload) and gives the event to cm_node_accept_event().
 *
 * Both directions are pure functions: no I/O, no port operation, no core
 * lock. Deserialization treats its input as hostile: every count, size and
 * offset is checked with 64-bit arithmetic before use, and it never reads
 * outside [bytes, bytes + num_bytes).
 *
 * Materialization is eager: cm_message_deserialize() builds every
 * dispatcher at once (wrapping and checking each received fd, mapping data
 * pipe rings), so everything a peer can get wrong is found while the bytes
 * can still be blamed on the connection they came from. The dispatchers start
 * out unbound, as objects whose ports were sent, and the message is marked
 * `sent`: the ports the event carries are renamed when the ports layer
 * accepts it, and MojoReadMessage's ordinary rebind (cm_message_rebind with
 * cm_event_ports) binds each dispatcher to its new port, exactly as for a
 * message that never left the process. That path, and its zero copy, is
 * unchanged.
 *
 * Ownership of OS handles: on the sending side serialization MOVES each
 * dispatcher's OS handles into the output (the dispatchers are spent; the
 * message must then be destroyed, whatever happens to the bytes). On the
 * receiving side every handle passed in is taken: on success each belongs to
 * exactly one new dispatcher, on failure all are closed.
 */
#ifndef CMOJO_CORE_MESSAGE_SERIALIZE_H_
#define CMOJO_CORE_MESSAGE_SERIALIZE_H_

#include <stddef.h>
#include <stdint.h>

#include "core/dispatcher.h"
#include "core/message.h"
#include "platform/platform.h"
#include "ports/ports.h"

/* Format constants (docs/message-format.md). */
#define CM_MESSAGE_WIRE_HEADER_BYTES 16u
#define CM_MESSAGE_WIRE_ENTRY_BYTES 16u
#define CM_MESSAGE_WIRE_DATA_PIPE_BLOB_BYTES 40u
#define CM_MESSAGE_WIRE_SHARED_BUFFER_BLOB_BYTES 32u

/* Data pipe blob flags. */
#define CM_MESSAGE_WIRE_DATA_PIPE_BROKEN 1u   /* the peer broke the protocol */
#define CM_MESSAGE_WIRE_DATA_PIPE_NEW_DATA 2u /* consumer: NEW_DATA_READABLE pending */

/* A serialized message: bytes[0..headroom) are left for the caller's own
 * headers (e.g. the node message and event headers, so that the frame needs
 * no second copy), the core message follows. handles[] are owned by this
 * struct until the caller takes them (set an entry to invalid when taken). */
typedef struct cm_serialized_message {
  uint8_t *bytes;   /* from cm_platform_buffer_alloc, `capacity` bytes */
  size_t capacity;
  size_t num_bytes; /* headroom included */
  /* With payload_apart: the user payload, not copied; it points into the
   * message and is valid as long as the message is. */
  const uint8_t *tail;
  size_t tail_num_bytes;
  cm_platform_handle *handles;
  size_t num_handles;
} cm_serialized_message;

/* Serializes `m`, a message handed to the ports layer (its dispatchers'
 * ports were taken with cm_message_get_ports and are named, in the same
 * order, by event_ports[0..num_event_ports): the names those ports had on
 * this node, cm_event_get_sent_ports of an event forwarded elsewhere). A message
 * whose handles a reader took out (and then wrote again) carries none.
 *
 * A context message is serialized first with cm_message_serialize(). Its
 * serializer may attach handles; their ports were never given to the ports
 * layer, so `sent` is cleared (destroying the message closes them) and, if
 * they carry ports, the event cannot name them: the count check fails with
 * INVALID_ARGUMENT. A sender whose context serializer attaches pipes must
 * therefore have it run (cm_message_serialize, then cm_message_get_ports
 * into the event) before the ports layer processes the event's ports, as
 * Mojo does when a message is about to be routed to another node.
 *
 * Returns OK and fills *out (free it with cm_serialized_message_free).
 * Otherwise nothing was taken from the dispatchers and *out is untouched:
 *   NOT_FOUND / ABORTED   a context message without a serializer, or whose
 *                         serializer did not commit any data (see
 *                         cm_message_serialize): it cannot leave the process
 *   FAILED_PRECONDITION   the message was never committed (cannot happen for
 *                         a sent message)
 *   INVALID_ARGUMENT      the event's ports are not the dispatchers' ports,
 *                         or a dispatcher cannot be serialized (closed, a
 *                         type that cannot leave the process)
 *   RESOURCE_EXHAUSTED    more OS handles than one frame may carry
 *                         (CM_MAX_OS_HANDLES_PER_FRAME), more bytes than one
 *                         frame may carry (CM_MAX_FRAME_PAYLOAD_BYTES, the
 *                         headroom included), or out of memory.
 * On success the dispatchers' OS handles are in out->handles: `m` must be
 * destroyed afterwards, its dispatchers can only be closed. */
MojoResult cm_message_serialize_for_transport(cm_message *m, const cm_port_name *event_ports,
                                              size_t num_event_ports, size_t headroom,
                                              cm_serialized_message *out);

/* The same; with payload_apart the user payload is not copied behind the
 * rest but left in the message (out->tail), for a sender that writes both
 * pieces as one frame (cm_node_channel_write2). */
MojoResult cm_message_serialize_for_transport_ex(cm_message *m, const cm_port_name *event_ports,
                                                 size_t num_event_ports, size_t headroom,
                                                 bool payload_apart, cm_serialized_message *out);

/* Frees the bytes and closes the handles still held. Accepts a zeroed
 * struct; leaves it zeroed. */
void cm_serialized_message_free(cm_serialized_message *s);

/* Parses untrusted bytes[0..num_bytes) (the core message, i.e. what follows
 * the event) with the OS handles that arrived with them,
 * handles[0..num_handles), for a user message event carrying
 * num_event_ports ports. Takes every handle, whatever the result, and resets
 * the entries to invalid.
 *
 * Returns OK and *out: a committed message, marked sent, whose dispatchers
 * are unbound until cm_message_rebind() gives them their ports (the read
 * path does this). Otherwise *out is untouched and every handle is closed:
 *   DATA_LOSS           anything malformed: truncated or trailing bytes,
 *                       unknown or untransferable types, blob sizes, port or
 *                       handle counts that do not match the type, the
 *                       event, or what arrived, counts above the limits of
 *                       cm_limits.h, nonzero reserved or padding bytes,
 *                       values out of range (data pipe offsets and counts
 *                       against the capacity, sizes, access modes), and OS
 *                       handles that are not what the blob says (an fd that
 *                       is not a sealed memfd of the announced size, ...)
 *   RESOURCE_EXHAUSTED  out of memory or address space (a ring or region
 *                       that passed every check but could not be mapped). */
MojoResult cm_message_deserialize(const void *bytes, size_t num_bytes, cm_platform_handle *handles,
                                  size_t num_handles, size_t num_event_ports, cm_message **out);

/* The same, also taking `block` (may be NULL or empty): a buffer from
 * cm_platform_buffer_alloc that holds bytes[0..num_bytes) and that the
 * message may keep as the storage of its payload, which is then not copied
 * (a large frame received into a buffer of its own). The block is taken
 * whatever the result (block->base cleared). */
MojoResult cm_message_deserialize_ex(const void *bytes, size_t num_bytes,
                                     cm_platform_handle *handles, size_t num_handles,
                                     size_t num_event_ports, cm_message_block *block,
                                     cm_message **out);

/* One dispatcher from its blob (validated here again: these functions are
 * entry points of their own for tests and fuzzers), its OS handles (all
 * taken, whatever the result) and, optionally, the local ports it is to be
 * bound to at once (NULL: unbound, as in a deserialized message, bound later
 * by rebind_ports). The object returned has one reference, the caller's, and
 * no handle. DATA_LOSS or RESOURCE_EXHAUSTED as above; INVALID_ARGUMENT if
 * `ports` names a port this node does not have (the object is then closed). */
MojoResult cm_dispatcher_deserialize(uint32_t type, const uint8_t *blob, uint32_t num_bytes,
                                     const cm_port_name *ports, uint32_t num_ports,
                                     cm_platform_handle *handles, uint32_t num_handles,
                                     cm_dispatcher **out);

/* The per-type halves, each in its type's file, with the same contract
 * (unbound result). */
MojoResult cm_message_pipe_deserialize(const uint8_t *blob, uint32_t num_bytes,
                                       cm_platform_handle *handles, uint32_t num_handles,
                                       cm_dispatcher **out);
MojoResult cm_data_pipe_deserialize(cm_dispatcher_type type, const uint8_t *blob,
                                    uint32_t num_bytes, cm_platform_handle *handles,
                                    uint32_t num_handles, cm_dispatcher **out);
MojoResult cm_shared_buffer_deserialize(const uint8_t *blob, uint32_t num_bytes,
                                        cm_platform_handle *handles, uint32_t num_handles,
                                        cm_dispatcher **out);
MojoResult cm_platform_handle_deserialize(const uint8_t *blob, uint32_t num_bytes,
                                          cm_platform_handle *handles, uint32_t num_handles,
                                          cm_dispatcher **out);

/* Closes handles[0..n) and resets them to invalid. */
void cm_platform_handles_close(cm_platform_handle *handles, size_t n);

/* Little-endian field access for the blobs. */
static inline void cm_le_put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static inline void cm_le_put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t cm_le_get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t cm_le_get64(const uint8_t *p) {
  return (uint64_t)cm_le_get32(p) | (uint64_t)cm_le_get32(p + 4) << 32;
}

#endif /* CMOJO_CORE_MESSAGE_SERIALIZE_H_ */
