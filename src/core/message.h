/* message: the object behind a MojoMessageHandle.
 *
 * A message is in one of three forms:
 *   - empty: just created;
 *   - context: an opaque in-process value with an optional serializer and
 *     destructor (lazy serialization: the serializer runs only if the
 *     message must become bytes);
 *   - serialized: a payload buffer plus attached dispatchers (the objects
 *     behind the handles given to MojoAppendMessageData), complete once
 *     committed.
 * Within one process a message moves from the writer's port to the reader's
 * as the same object: no copy, no serialization.
 *
 * Ownership of attached dispatchers: the message holds one reference on
 * each. Until the message is written, the dispatchers own their ports and
 * destroying the message closes them. When it is written, each dispatcher
 * hands its ports to the event (get_ports marks it transferred): they belong
 * to the ports layer until a reader takes the message out and rebinds each
 * dispatcher to its new local ports (cm_message_rebind).
 */
#ifndef CMOJO_CORE_MESSAGE_H_
#define CMOJO_CORE_MESSAGE_H_

#include <stdbool.h>
#include <stdint.h>

#include "core/dispatcher.h"
#include "mojo/public/c/system/message_pipe.h"
#include "ports/ports.h"

/* Small payloads live inside the message object itself, so a short message
 * costs one allocation. */
#define CM_MESSAGE_INLINE_BYTES 128

/* A buffer (cm_platform_buffer_alloc) a received message's payload lives in
 * without a copy: the frame it arrived in. */
typedef struct cm_message_block {
  void *base;
  size_t capacity;
} cm_message_block;

typedef struct cm_message {
  uintptr_t context;
  MojoMessageContextSerializer serializer;
  MojoMessageContextDestructor destructor;

  bool serialized; /* has a payload buffer (maybe empty) */
  bool committed;
  bool unlimited_size;
  bool handles_taken; /* MojoGetMessageData moved the handles out */

  uint8_t *payload;
  uint32_t payload_size;
  uint32_t payload_capacity;

  cm_dispatcher **dispatchers;
  uint32_t num_dispatchers;
  uint32_t dispatcher_capacity;

  /* The node the message came from; zero for one written in this process. */
  cm_node_name source_node;
  /* When set, `payload` points into this block, which the message owns
   * (instead of owning `payload` itself). */
  cm_message_block payload_block;

  uint8_t inline_payload[CM_MESSAGE_INLINE_BYTES] __attribute__((aligned(16)));
} cm_message;

static inline cm_message *cm_message_from_handle(MojoMessageHandle h) {
  return (cm_message *)h;
}

/* Payload operations handed to the ports layer with each message event. */
extern const cm_payload_ops cm_message_payload_ops;

/* A new empty message (from a per-thread cache when possible); NULL when out
 * of memory. cm_message_destroy() gives it back. */
cm_message *cm_message_alloc(void);
void cm_message_destroy(cm_message *m);

/* Runs a context message's serializer (MojoSerializeMessage semantics). */
MojoResult cm_message_serialize(cm_message *m);

/* OK if the message can be written (it has a context or committed data),
 * NOT_FOUND if there is nothing to send, INVALID_ARGUMENT if it has data
 * that was never committed. */
MojoResult cm_message_check_sendable(const cm_message *m);

/* Number of ports the attached dispatchers carry, and their names. */
size_t cm_message_num_ports(const cm_message *m);
void cm_message_get_ports(const cm_message *m, cm_port_name *out);

/* Gives away the buffer the payload lives in (from cm_platform_buffer_alloc:
 * *owner and *capacity; NULL when the payload is inline), for a sender that
 * hands it to a transport instead of copying it; the message is left with
 * an empty payload. Pointers into the old payload stay valid as long as
 * *owner is. */
void cm_message_release_payload(cm_message *m, void **owner, size_t *capacity);

/* After a read: binds the attached dispatchers to their new local ports
 * (`names`, as many as cm_message_num_ports()). */
void cm_message_rebind(cm_message *m, const cm_port_name *names);

#endif /* CMOJO_CORE_MESSAGE_H_ */
