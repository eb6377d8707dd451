/* node_message: the node-to-node protocol's messages, as bytes.
 *
 * Role. Two nodes (processes) talk over one transport (docs/transport.md);
 * every transport frame carries exactly one node message. This module turns
 * each message type into bytes (the cm_node_message_encode_* functions) and
 * bytes back into a checked view (cm_node_message_parse). It is pure: no I/O,
 * no threads, no clocks, no global state. The protocol itself (types, byte
 * layouts, who may send what in which connection state, versioning) is
 * documented in docs/node-protocol.md; the node controller owns the states.
 *
 * Invariants.
 * - Everything the parser accepts, the matching encoder could have written,
 *   and everything an encoder writes, the parser accepts (the encoders refuse
 *   the same bad arguments the parser refuses: zero names, counts above the
 *   limits of src/cm_limits.h).
 * - The parser never reads outside bytes[0..n), does checked arithmetic on
 *   every length the peer states, and on success gives a view whose pointers
 *   point into the input (nothing is copied or allocated; names are decoded
 *   by value). The view is valid as long as the input bytes are.
 * - OS handles (fds) never appear in the bytes: the caller passes them to
 *   the transport beside the message. The header states how many go with
 *   the message, and the parser checks that count against the number that
 *   actually arrived and against what the type allows.
 * - All integers on the wire are little-endian; every part of a message
 *   (header, body) is a multiple of 8 bytes.
 *
 * Threads: every function may be called from any thread; a buffer or view
 * is used by one thread at a time. */
#ifndef CMOJO_CORE_NODE_MESSAGE_H_
#define CMOJO_CORE_NODE_MESSAGE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mojo/public/c/system/types.h"
#include "ports/ports.h"

/* Protocol versions this build speaks (HELLO's range). Version 1 is the only
 * one so far. */
#define CM_NODE_PROTOCOL_VERSION_MIN 1u
#define CM_NODE_PROTOCOL_VERSION_MAX 1u

/* Capability bits a node announces in HELLO. Unknown bits are ignored by a
 * receiver (a newer peer may announce more). None is defined in version 1;
 * bit 0 is kept for a later shared-memory channel upgrade (what Mojo calls
 * SUPPORTS_UPGRADE). */
#define CM_NODE_CAPABILITY_NONE UINT64_C(0)

/* Size of the node message header (version 1 writes exactly this). */
#define CM_NODE_MESSAGE_HEADER_BYTES 16u

/* Smallest serialized ports event: its 48-byte header (docs/ports.md). */
#define CM_NODE_MESSAGE_MIN_EVENT_BYTES 48u
/* Body of an EVENT message (its event and user message follow it), and the
 * header plus that body: where an EVENT's event starts. */
#define CM_NODE_MESSAGE_EVENT_BODY_BYTES 16u
#define CM_NODE_MESSAGE_EVENT_PREFIX_BYTES \
  (CM_NODE_MESSAGE_HEADER_BYTES + CM_NODE_MESSAGE_EVENT_BODY_BYTES)

/* Message types (the header's 16-bit type). Values never change and are
 * never reused; a new type takes the next value and the protocol version
 * that introduced it (cm_node_message_type_version). 0 is not a type, so a
 * zeroed header is never a message. */
typedef enum cm_node_message_type {
  CM_NODE_MESSAGE_HELLO = 1,
  CM_NODE_MESSAGE_GOODBYE = 2,
  CM_NODE_MESSAGE_ACCEPT_INVITEE = 3,
  CM_NODE_MESSAGE_ACCEPT_INVITATION = 4,
  CM_NODE_MESSAGE_ADD_BROKER_CLIENT = 5,
  CM_NODE_MESSAGE_BROKER_CLIENT_ADDED = 6,
  CM_NODE_MESSAGE_ACCEPT_BROKER_CLIENT = 7,
  CM_NODE_MESSAGE_EVENT = 8,
  CM_NODE_MESSAGE_REQUEST_PORT_MERGE = 9,
  CM_NODE_MESSAGE_REQUEST_INTRODUCTION = 10,
  CM_NODE_MESSAGE_INTRODUCE = 11,
  CM_NODE_MESSAGE_BROADCAST_EVENT = 12,
  CM_NODE_MESSAGE_ACCEPT_PEER = 13,
  CM_NODE_MESSAGE_BAD_MESSAGE_REPORT = 14,
} cm_node_message_type;

#define CM_NODE_MESSAGE_TYPE_FIRST CM_NODE_MESSAGE_HELLO
#define CM_NODE_MESSAGE_TYPE_LAST CM_NODE_MESSAGE_BAD_MESSAGE_REPORT

/* Why the parser refused a message. Each value is one check; the reason
 * strings (cm_node_message_error_string) are what the controller logs and
 * passes to the peer's error handler when it drops the connection. */
typedef enum cm_node_message_error {
  CM_NODE_MESSAGE_OK = 0,
  CM_NODE_MESSAGE_E_ARGUMENT,           /* caller error: NULL bytes or out */
  CM_NODE_MESSAGE_E_SHORT_HEADER,       /* fewer than 16 bytes */
  CM_NODE_MESSAGE_E_HEADER_SIZE,        /* header size < 16 or not 8-aligned */
  CM_NODE_MESSAGE_E_HEADER_OVERRUN,     /* header size beyond the message */
  CM_NODE_MESSAGE_E_FLAGS,              /* flags not zero */
  CM_NODE_MESSAGE_E_RESERVED,           /* a reserved field not zero */
  CM_NODE_MESSAGE_E_UNKNOWN_TYPE,       /* type 0 or above the last known */
  CM_NODE_MESSAGE_E_FD_MISMATCH,        /* header's fd count != fds received */
  CM_NODE_MESSAGE_E_FD_COUNT,           /* fd count not allowed for the type */
  CM_NODE_MESSAGE_E_BODY_SIZE,          /* body below the minimum / unaligned */
  CM_NODE_MESSAGE_E_BODY_OVERRUN,       /* body beyond the message */
  CM_NODE_MESSAGE_E_TAIL_OVERRUN,       /* a stated length beyond the message */
  CM_NODE_MESSAGE_E_TRAILING_BYTES,     /* bytes after what the message states */
  CM_NODE_MESSAGE_E_VERSION_RANGE,      /* HELLO: version 0 or min > max */
  CM_NODE_MESSAGE_E_ZERO_NODE_NAME,     /* a required node name is zero */
  CM_NODE_MESSAGE_E_ZERO_PORT_NAME,     /* a required port name is zero */
  CM_NODE_MESSAGE_E_ZERO_TOKEN,         /* a required token is zero */
  CM_NODE_MESSAGE_E_SAME_NAMES,         /* a token equals the name beside it */
  CM_NODE_MESSAGE_E_EVENT_SIZE,         /* event < 48 bytes or not 8-aligned */
  CM_NODE_MESSAGE_E_EVENT_TOO_LARGE,    /* event above CM_MAX_NODE_EVENT_BYTES */
  CM_NODE_MESSAGE_E_PAYLOAD_TOO_LARGE,  /* user message above the limit */
  CM_NODE_MESSAGE_E_TOO_MANY_HANDLES,   /* handle count above the limit */
  CM_NODE_MESSAGE_E_CONTROL_ATTACHMENT, /* non-user event with payload/fds */
  CM_NODE_MESSAGE_E_BROADCAST_USER,     /* broadcast of a user message */
  CM_NODE_MESSAGE_E_NAME_TOO_LONG,      /* invitation attachment name */
  CM_NODE_MESSAGE_E_TEXT_TOO_LONG,      /* goodbye / bad-message text */
  CM_NODE_MESSAGE_E_COUNT_
} cm_node_message_error;

/* A growable byte buffer an encoder writes one message into. Start it with
 * cm_node_message_buffer_init (or zero it); it keeps its memory between
 * messages, so one buffer per connection allocates only when a message is
 * larger than any before. */
typedef struct cm_node_message_buffer {
  uint8_t *bytes;
  size_t size;     /* bytes of the message written last */
  size_t capacity; /* bytes allocated */
} cm_node_message_buffer;

void cm_node_message_buffer_init(cm_node_message_buffer *buf);
/* Frees the buffer's memory; the buffer is empty (and usable) again. */
void cm_node_message_buffer_free(cm_node_message_buffer *buf);

/* The parsed view of a message. Names are decoded values; `const void *`
 * members point into the parsed bytes. Fields that an older (shorter) body
 * lacks hold the defaults docs/node-protocol.md gives. */
typedef struct cm_node_message {
  cm_node_message_type type;
  uint32_t body_num_bytes; /* as sent; longer than known = a newer sender */
  size_t num_fds;          /* OS handles that came with the message */
  union {
    struct {
      uint32_t min_version;
      uint32_t max_version;
      uint64_t capabilities; /* default 0 (8-byte body) */
    } hello;
    struct {
      MojoResult reason; /* why the sender closes (OK: orderly shutdown) */
      const char *text;  /* not NUL-terminated; may be empty */
      size_t text_num_bytes;
    } goodbye;
    struct {
      cm_node_name inviter_name;
      cm_node_name token; /* the invitee's temporary name */
    } accept_invitee;
    struct {
      cm_node_name token;
      cm_node_name invitee_name; /* the invitee's real name */
    } accept_invitation;
    struct {
      cm_node_name client_name;
      uint64_t process_id; /* 0: unknown */
    } add_broker_client;
    struct {
      cm_node_name client_name; /* fd 0: the client's end of its broker channel */
    } broker_client_added;
    struct {
      cm_node_name broker_name;
      bool has_broker_channel; /* one fd: the channel to the broker */
    } accept_broker_client;
    struct {
      const void *event; /* a serialized ports event (cm_event_deserialize) */
      size_t event_num_bytes;
      uint32_t event_type; /* the event header's type field, unchecked */
      const void *payload; /* the user message, opaque here */
      size_t payload_num_bytes;
      uint32_t num_handles; /* Mojo handles the user message carries */
    } event;
    struct {
      cm_port_name port_name;
      const void *name; /* the invitation's attachment name */
      size_t name_num_bytes;
    } request_port_merge;
    struct {
      cm_node_name peer_name;
    } request_introduction;
    struct {
      cm_node_name peer_name;
      bool has_channel; /* false: the broker does not know the peer */
    } introduce;
    struct {
      cm_node_name origin; /* the node whose ports the event is about */
      const void *event;
      size_t event_num_bytes;
      uint32_t event_type;
    } broadcast_event;
    struct {
      cm_node_name token;
      cm_node_name peer_name;
      cm_port_name port_name;
    } accept_peer;
    struct {
      cm_node_name subject;  /* the node that sent the bad message */
      cm_node_name reporter; /* the node that found it bad */
      const char *error;     /* not NUL-terminated; may be empty */
      size_t error_num_bytes;
    } bad_message_report;
  } u;
} cm_node_message;

/* Parses one node message: bytes[0..n), received with num_fds OS handles.
 * Checks everything docs/node-protocol.md lists under "What the parser
 * rejects" and never reads outside the input. Returns CM_NODE_MESSAGE_OK
 * and fills *out (pointing into bytes), or the first failed check (then *out
 * is untouched). Does not check the message against the connection's state
 * or the names the controller knows: that is the controller's job. */
cm_node_message_error cm_node_message_parse(const void *bytes, size_t n, size_t num_fds,
                                            cm_node_message *out);

/* A fixed sentence naming the failed check (static storage). */
const char *cm_node_message_error_string(cm_node_message_error err);
/* "HELLO", "EVENT", ... ; "?" for an unknown value. For traces and logs. */
const char *cm_node_message_type_name(uint32_t type);
/* The protocol version that introduced `type` (0 for an unknown type): a
 * node may send a type only if the agreed version is at least this. */
uint32_t cm_node_message_type_version(uint32_t type);

/* The version two nodes speak after exchanging HELLO: the highest both
 * speak. Returns false (nothing written) when the ranges do not meet. */
bool cm_node_protocol_negotiate(uint32_t my_min, uint32_t my_max, uint32_t their_min,
                                uint32_t their_max, uint32_t *agreed);

/* ---- Encoders -----------------------------------------------------------
 * Each writes one complete message into buf (replacing what it held:
 * buf->size becomes the message's size) and returns
 *   MOJO_RESULT_OK                 written;
 *   MOJO_RESULT_INVALID_ARGUMENT   an argument the parser would refuse (a
 *                                  zero name, a length or count above its
 *                                  limit, a NULL pointer with a length);
 *   MOJO_RESULT_RESOURCE_EXHAUSTED the buffer could not grow.
 * On failure buf is unchanged. The fds a message announces are passed to the
 * transport beside buf's bytes, in the order the type documents. */

MojoResult cm_node_message_encode_hello(cm_node_message_buffer *buf, uint32_t min_version,
                                        uint32_t max_version, uint64_t capabilities);
MojoResult cm_node_message_encode_goodbye(cm_node_message_buffer *buf, MojoResult reason,
                                          const char *text, size_t text_num_bytes);
MojoResult cm_node_message_encode_accept_invitee(cm_node_message_buffer *buf,
                                                 const cm_node_name *inviter_name,
                                                 const cm_node_name *token);
MojoResult cm_node_message_encode_accept_invitation(cm_node_message_buffer *buf,
                                                    const cm_node_name *token,
                                                    const cm_node_name *invitee_name);
MojoResult cm_node_message_encode_add_broker_client(cm_node_message_buffer *buf,
                                                    const cm_node_name *client_name,
                                                    uint64_t process_id);
/* Goes with exactly one fd: the client's end of a new broker channel. */
MojoResult cm_node_message_encode_broker_client_added(cm_node_message_buffer *buf,
                                                      const cm_node_name *client_name);
/* With has_broker_channel, goes with one fd: the channel to the broker. */
MojoResult cm_node_message_encode_accept_broker_client(cm_node_message_buffer *buf,
                                                       const cm_node_name *broker_name,
                                                       bool has_broker_channel);
/* Lays out an EVENT message whose event and user message the caller writes
 * in place: on success *event_at points to event_num_bytes bytes and
 * *payload_at to payload_num_bytes bytes inside buf, which the caller must
 * fill completely (cm_event_serialize, then the user message) before
 * sending. Either may be NULL when its length is 0. Goes with num_fds fds
 * (the user message's, in the order its layout gives; fds need at least
 * one handle). INVALID_ARGUMENT also for an event length below 48 or not a
 * multiple of 8. The event written must be a user message when there is a
 * payload, a handle or an fd (the parser refuses it otherwise), which this
 * function cannot see: it is the caller's to keep. */
MojoResult cm_node_message_encode_event(cm_node_message_buffer *buf, size_t event_num_bytes,
                                        size_t payload_num_bytes, uint32_t num_handles,
                                        size_t num_fds, void **event_at, void **payload_at);
/* Writes only the first CM_NODE_MESSAGE_EVENT_PREFIX_BYTES of such an EVENT
 * (header and body) at `out`, for a sender that lays out the event and the
 * user message itself (possibly in separate buffers sent as one frame).
 * Same arguments and refusals as cm_node_message_encode_event. */
MojoResult cm_node_message_write_event_prefix(uint8_t *out, size_t event_num_bytes,
                                              size_t payload_num_bytes, uint32_t num_handles,
                                              size_t num_fds);
MojoResult cm_node_message_encode_request_port_merge(cm_node_message_buffer *buf,
                                                     const cm_port_name *port_name,
                                                     const void *name, size_t name_num_bytes);
MojoResult cm_node_message_encode_request_introduction(cm_node_message_buffer *buf,
                                                       const cm_node_name *peer_name);
/* With has_channel, goes with one fd: this node's end of a channel to peer. */
MojoResult cm_node_message_encode_introduce(cm_node_message_buffer *buf,
                                            const cm_node_name *peer_name, bool has_channel);
/* The event bytes are copied (broadcasts are rare and small). */
MojoResult cm_node_message_encode_broadcast_event(cm_node_message_buffer *buf,
                                                  const cm_node_name *origin, const void *event,
                                                  size_t event_num_bytes);
MojoResult cm_node_message_encode_accept_peer(cm_node_message_buffer *buf,
                                              const cm_node_name *token,
                                              const cm_node_name *peer_name,
                                              const cm_port_name *port_name);
MojoResult cm_node_message_encode_bad_message_report(cm_node_message_buffer *buf,
                                                     const cm_node_name *subject,
                                                     const cm_node_name *reporter,
                                                     const char *error, size_t error_num_bytes);

/* Writes the message a parsed view describes, in this build's form (a body
 * of the current size, a 16-byte header): re-encoding what the parser
 * accepted gives back the same bytes unless the sender was older or newer.
 * For tests, fuzzing and relays; copies every part. */
MojoResult cm_node_message_encode(cm_node_message_buffer *buf, const cm_node_message *m);

#endif /* CMOJO_CORE_NODE_MESSAGE_H_ */
