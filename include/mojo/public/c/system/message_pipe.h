/* Message pipes and message objects.
 *
 * A message pipe is a pair of connected endpoints; each message written to
 * one end arrives, in order and exactly once, at the other end, wherever in
 * the process graph that end has been sent. A message is a separate object
 * (MojoMessageHandle) holding either serialized bytes plus attached handles,
 * or an unserialized in-process "context" that is serialized only if the
 * message must leave the process. See functions.h for the conventions on
 * threads, options and outputs that apply here. */

#ifndef MOJO_PUBLIC_C_SYSTEM_MESSAGE_PIPE_H_
#define MOJO_PUBLIC_C_SYSTEM_MESSAGE_PIPE_H_

#include <stdint.h>

#include "mojo/public/c/system/macros.h"
#include "mojo/public/c/system/system_export.h"
#include "mojo/public/c/system/types.h"

/* Names a message object. Message handles are a separate space from
 * MojoHandle: they are not closed with MojoClose() but consumed by
 * MojoWriteMessage() or freed with MojoDestroyMessage(). */
typedef uintptr_t MojoMessageHandle;

#define MOJO_MESSAGE_HANDLE_INVALID ((MojoMessageHandle)0)

/* MojoCreateMessagePipe() options. No flags are defined. */
typedef uint32_t MojoCreateMessagePipeFlags;
#define MOJO_CREATE_MESSAGE_PIPE_FLAG_NONE ((uint32_t)0)

struct MOJO_ALIGNAS(8) MojoCreateMessagePipeOptions {
  uint32_t struct_size; /* sizeof this struct, for versioning */
  MojoCreateMessagePipeFlags flags;
};
MOJO_STATIC_ASSERT(MOJO_ALIGNOF(int64_t) <= 8, "int64_t has odd alignment");
MOJO_STATIC_ASSERT(sizeof(struct MojoCreateMessagePipeOptions) == 8,
                   "MojoCreateMessagePipeOptions has wrong size");

/* MojoWriteMessage() options. No flags are defined. */
typedef uint32_t MojoWriteMessageFlags;
#define MOJO_WRITE_MESSAGE_FLAG_NONE ((uint32_t)0)

struct MOJO_ALIGNAS(8) MojoWriteMessageOptions {
  uint32_t struct_size;
  MojoWriteMessageFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoWriteMessageOptions) == 8,
                   "MojoWriteMessageOptions has wrong size");

/* MojoReadMessage() options. No flags are defined. */
typedef uint32_t MojoReadMessageFlags;
#define MOJO_READ_MESSAGE_FLAG_NONE ((uint32_t)0)

struct MOJO_ALIGNAS(8) MojoReadMessageOptions {
  uint32_t struct_size;
  MojoReadMessageFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoReadMessageOptions) == 8,
                   "MojoReadMessageOptions has wrong size");

/* MojoFuseMessagePipes() options. No flags are defined. */
typedef uint32_t MojoFuseMessagePipesFlags;
#define MOJO_FUSE_MESSAGE_PIPES_FLAG_NONE ((uint32_t)0)

struct MOJO_ALIGNAS(8) MojoFuseMessagePipesOptions {
  uint32_t struct_size;
  MojoFuseMessagePipesFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoFuseMessagePipesOptions) == 8,
                   "MojoFuseMessagePipesOptions has wrong size");

/* MojoCreateMessage() options. */
typedef uint32_t MojoCreateMessageFlags;
#define MOJO_CREATE_MESSAGE_FLAG_NONE ((uint32_t)0)
/* Lift the process-wide maximum message size for this message. Without the
 * flag, a message whose serialized size passes the maximum (256 MiB by
 * default) fails when it is serialized. */
#define MOJO_CREATE_MESSAGE_FLAG_UNLIMITED_SIZE ((uint32_t)1)

struct MOJO_ALIGNAS(8) MojoCreateMessageOptions {
  uint32_t struct_size;
  MojoCreateMessageFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoCreateMessageOptions) == 8,
                   "MojoCreateMessageOptions has wrong size");

/* MojoSerializeMessage() options. No flags are defined. */
typedef uint32_t MojoSerializeMessageFlags;
#define MOJO_SERIALIZE_MESSAGE_FLAG_NONE ((uint32_t)0)

struct MOJO_ALIGNAS(8) MojoSerializeMessageOptions {
  uint32_t struct_size;
  MojoSerializeMessageFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoSerializeMessageOptions) == 8,
                   "MojoSerializeMessageOptions has wrong size");

/* MojoAppendMessageData() options. */
typedef uint32_t MojoAppendMessageDataFlags;
#define MOJO_APPEND_MESSAGE_DATA_FLAG_NONE ((uint32_t)0)
/* The payload size and handle count reached by this call are final: the
 * message becomes complete and can be written or read back. */
#define MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE ((MojoAppendMessageDataFlags)1)

struct MOJO_ALIGNAS(8) MojoAppendMessageDataOptions {
  uint32_t struct_size;
  MojoAppendMessageDataFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoAppendMessageDataOptions) == 8,
                   "MojoAppendMessageDataOptions has wrong size");

/* MojoGetMessageData() options. */
typedef uint32_t MojoGetMessageDataFlags;
#define MOJO_GET_MESSAGE_DATA_FLAG_NONE ((uint32_t)0)
/* Return only the payload; attached handles stay in (and owned by) the
 * message, and the handle arguments are ignored. */
#define MOJO_GET_MESSAGE_DATA_FLAG_IGNORE_HANDLES ((uint32_t)1)

struct MOJO_ALIGNAS(8) MojoGetMessageDataOptions {
  uint32_t struct_size;
  MojoGetMessageDataFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoGetMessageDataOptions) == 8,
                   "MojoGetMessageDataOptions has wrong size");

/* MojoSetMessageContext() options. No flags are defined. */
typedef uint32_t MojoSetMessageContextFlags;
#define MOJO_SET_MESSAGE_CONTEXT_FLAG_NONE ((uint32_t)0)

struct MOJO_ALIGNAS(8) MojoSetMessageContextOptions {
  uint32_t struct_size;
  MojoSetMessageContextFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoSetMessageContextOptions) == 8,
                   "MojoSetMessageContextOptions has wrong size");

/* MojoGetMessageContext() options. No flags are defined. */
typedef uint32_t MojoGetMessageContextFlags;
#define MOJO_GET_MESSAGE_CONTEXT_FLAG_NONE ((uint32_t)0)

struct MOJO_ALIGNAS(8) MojoGetMessageContextOptions {
  uint32_t struct_size;
  MojoGetMessageContextFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoGetMessageContextOptions) == 8,
                   "MojoGetMessageContextOptions has wrong size");

/* MojoNotifyBadMessage() options. No flags are defined. */
typedef uint32_t MojoNotifyBadMessageFlags;
#define MOJO_NOTIFY_BAD_MESSAGE_FLAG_NONE ((uint32_t)0)

struct MOJO_ALIGNAS(8) MojoNotifyBadMessageOptions {
  uint32_t struct_size;
  MojoNotifyBadMessageFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoNotifyBadMessageOptions) == 8,
                   "MojoNotifyBadMessageOptions has wrong size");

#ifdef __cplusplus
extern "C" {
#endif

/* Serializes a context message. Called with the message and the context that
 * was attached to it; the context has already been detached when it runs.
 * The serializer fills the message with MojoAppendMessageData() (and must
 * finish with MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE). Right after it
 * returns, the context's destructor (if any) is called. */
typedef void (*MojoMessageContextSerializer)(MojoMessageHandle message, uintptr_t context);

/* Frees a message context: called once, either after the context was
 * serialized or when a message still holding the context is destroyed. */
typedef void (*MojoMessageContextDestructor)(uintptr_t context);

/* Creates a new message pipe and stores its two endpoints in
 * |*message_pipe_handle0| and |*message_pipe_handle1|. Both ends start
 * WRITABLE, not READABLE; the caller owns both handles.
 *
 * Returns:
 *   MOJO_RESULT_OK                 both handles were stored.
 *   MOJO_RESULT_INVALID_ARGUMENT   |options| is malformed, or an output
 *                                  pointer is NULL.
 *   MOJO_RESULT_RESOURCE_EXHAUSTED a limit (handle table, memory) was hit;
 *                                  nothing was created. */
MOJO_SYSTEM_EXPORT MojoResult
MojoCreateMessagePipe(const struct MojoCreateMessagePipeOptions* options,
                      MojoHandle* message_pipe_handle0, MojoHandle* message_pipe_handle1);

/* Queues |message| for delivery to the peer of |message_pipe_handle|.
 *
 * Ownership: the call ALWAYS consumes |message|, whatever it returns; the
 * caller must not use or destroy it afterwards. Handles attached to the
 * message travel with it; if the message is dropped, they are closed.
 *
 * A message must be complete: either a context was set on it, or its data
 * was committed (MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE).
 *
 * Returns:
 *   MOJO_RESULT_OK                  the message was queued. Success does not
 *                                   prove delivery: if the peer closes
 *                                   concurrently (or in another process), the
 *                                   message is silently dropped.
 *   MOJO_RESULT_INVALID_ARGUMENT    |message_pipe_handle| is not a message
 *                                   pipe handle, or |message| is not a valid
 *                                   message, or |options| is malformed.
 *   MOJO_RESULT_FAILED_PRECONDITION the peer is already known to be closed;
 *                                   the message is destroyed.
 *   MOJO_RESULT_NOT_FOUND           |message| has neither a context nor
 *                                   committed data, so there is nothing to
 *                                   send; the message is destroyed.
 *   MOJO_RESULT_RESOURCE_EXHAUSTED  (cmojo) the serialized message exceeds
 *                                   the maximum message size and was not
 *                                   created with UNLIMITED_SIZE; the message
 *                                   is destroyed. */
MOJO_SYSTEM_EXPORT MojoResult MojoWriteMessage(MojoHandle message_pipe_handle,
                                               MojoMessageHandle message,
                                               const struct MojoWriteMessageOptions* options);

/* Takes the next queued message off |message_pipe_handle| and stores it in
 * |*message|. The caller owns the message and must eventually pass it to
 * MojoDestroyMessage() (or forward it with MojoWriteMessage()). Its bytes and
 * handles are reached with MojoGetMessageData(), or its context with
 * MojoGetMessageContext() if it never left the process.
 *
 * Returns:
 *   MOJO_RESULT_OK                  a message was dequeued into |*message|.
 *   MOJO_RESULT_INVALID_ARGUMENT    |message_pipe_handle| is not a message
 *                                   pipe handle, |message| is NULL, or
 *                                   |options| is malformed.
 *   MOJO_RESULT_SHOULD_WAIT         no message is queued but the peer is
 *                                   open: wait for READABLE.
 *   MOJO_RESULT_FAILED_PRECONDITION no message is queued and the peer is
 *                                   closed: no message will ever arrive. */
MOJO_SYSTEM_EXPORT MojoResult MojoReadMessage(MojoHandle message_pipe_handle,
                                              const struct MojoReadMessageOptions* options,
                                              MojoMessageHandle* message);

/* Joins two pipes into one. Given pipes A<->B and C<->D, fusing B and C
 * leaves the single pipe A<->D: messages still queued at B go on to D, and
 * those queued at C go on to A.
 *
 * Ownership: the call ALWAYS consumes both handles: every valid handle
 * passed (whatever its type) is closed, whatever the call returns. Only
 * endpoints that have never been written to can be fused.
 *
 * Returns:
 *   MOJO_RESULT_OK                  the pipes were fused.
 *   MOJO_RESULT_INVALID_ARGUMENT    a handle is invalid or not a message
 *                                   pipe handle, both arguments are the same
 *                                   handle, or |options| is malformed. Any
 *                                   valid handle among them is still closed.
 *   MOJO_RESULT_FAILED_PRECONDITION both are message pipe handles but they
 *                                   cannot be fused (e.g. one of them was
 *                                   written to); both handles are closed. */
MOJO_SYSTEM_EXPORT MojoResult MojoFuseMessagePipes(
    MojoHandle handle0, MojoHandle handle1, const struct MojoFuseMessagePipesOptions* options);

/* Creates an empty message object and stores it in |*message|; the caller
 * owns it. Before it can be written it needs a context
 * (MojoSetMessageContext()) or committed data (MojoAppendMessageData()).
 * Message objects are not thread-safe: use each from one thread at a time.
 *
 * Returns:
 *   MOJO_RESULT_OK                 |*message| holds the new message.
 *   MOJO_RESULT_INVALID_ARGUMENT   |message| is NULL or |options| is
 *                                  malformed.
 *   MOJO_RESULT_RESOURCE_EXHAUSTED (cmojo) out of memory. */
MOJO_SYSTEM_EXPORT MojoResult MojoCreateMessage(const struct MojoCreateMessageOptions* options,
                                                MojoMessageHandle* message);

/* Frees a message that was created or read and not yet written: closes every
 * handle still attached to it, and calls the context's destructor if a
 * context is still attached. A message passed to MojoWriteMessage() is gone
 * and must not be destroyed.
 *
 * Returns:
 *   MOJO_RESULT_OK               the message was freed.
 *   MOJO_RESULT_INVALID_ARGUMENT |message| is not a valid message. */
MOJO_SYSTEM_EXPORT MojoResult MojoDestroyMessage(MojoMessageHandle message);

/* Turns a context message into a serialized one in place, by calling its
 * serializer (then its destructor). Messages normally serialize lazily, only
 * when they must leave the process; this forces it now.
 *
 * Returns:
 *   MOJO_RESULT_OK                  the message held a context and is now
 *                                   serialized (data committed).
 *   MOJO_RESULT_INVALID_ARGUMENT    |message| is not a valid message or
 *                                   |options| is malformed.
 *   MOJO_RESULT_FAILED_PRECONDITION the message is already serialized.
 *   MOJO_RESULT_NOT_FOUND           the message cannot be serialized: its
 *                                   context has no serializer (or it has
 *                                   neither context nor data).
 *   MOJO_RESULT_BUSY                a handle the serializer attached was busy
 *                                   (in use on another thread); handles
 *                                   serialized so far are closed.
 *   MOJO_RESULT_ABORTED             serialization failed for another reason
 *                                   (e.g. the serializer did not commit);
 *                                   handles serialized so far are closed. */
MOJO_SYSTEM_EXPORT MojoResult
MojoSerializeMessage(MojoMessageHandle message, const struct MojoSerializeMessageOptions* options);

/* Preallocates room for |payload_buffer_size| bytes of payload in a new
 * message, so later MojoAppendMessageData() calls need not reallocate. Only
 * valid on a fresh message: no context and no data appended yet. If
 * |buffer_size| is not NULL it receives the capacity actually reserved
 * (at least |payload_buffer_size|).
 *
 * Returns:
 *   MOJO_RESULT_OK                  the capacity was reserved.
 *   MOJO_RESULT_INVALID_ARGUMENT    |message| is not a valid message.
 *   MOJO_RESULT_FAILED_PRECONDITION the message has a context, or data was
 *                                   already appended or committed.
 *   MOJO_RESULT_RESOURCE_EXHAUSTED  (cmojo) the size exceeds the message
 *                                   size limit or memory is exhausted. */
MOJO_SYSTEM_EXPORT MojoResult MojoReserveMessageCapacity(MojoMessageHandle message,
                                                         uint32_t payload_buffer_size,
                                                         uint32_t* buffer_size);

/* Grows the payload of |message| by |payload_size| bytes and attaches the
 * |num_handles| handles in |handles| after any attached before. On success
 * |*buffer| (if |buffer| is not NULL) receives the payload's address and
 * |*buffer_size| (if not NULL) its capacity, which may exceed the bytes
 * requested so far; only the requested bytes are part of the message. The
 * payload may move on every call (earlier contents are kept), so use the
 * newest |*buffer|. It stays writable until the message is written or
 * destroyed, even after the commit.
 *
 * With MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE the sizes reached are
 * final and the message can be sent. |payload_size| and |num_handles| may
 * both be 0 (e.g. to commit).
 *
 * Ownership: the handles move into the message if and only if the call
 * returns MOJO_RESULT_OK; on any failure the caller still owns all of them.
 *
 * Returns:
 *   MOJO_RESULT_OK                  data grown, handles attached.
 *   MOJO_RESULT_INVALID_ARGUMENT    |message| is not a valid message,
 *                                   |num_handles| is non-zero but |handles|
 *                                   is NULL, a handle is invalid or appears
 *                                   twice, or |options| is malformed.
 *   MOJO_RESULT_RESOURCE_EXHAUSTED  the total payload or handle count would
 *                                   exceed a limit (message size limit
 *                                   unless UNLIMITED_SIZE; 1,048,576 handles
 *                                   per message) or memory is exhausted.
 *   MOJO_RESULT_FAILED_PRECONDITION the message has a context attached, or
 *                                   its size was already committed.
 *   MOJO_RESULT_BUSY                a handle in |handles| is busy (being
 *                                   transferred or used by a two-phase
 *                                   operation). */
MOJO_SYSTEM_EXPORT MojoResult
MojoAppendMessageData(MojoMessageHandle message, uint32_t payload_size, const MojoHandle* handles,
                      uint32_t num_handles, const struct MojoAppendMessageDataOptions* options,
                      void** buffer, uint32_t* buffer_size);

/* Gives access to a serialized message's payload and takes out its handles.
 * |*buffer| receives the payload address (owned by the message, valid while
 * the message lives) and |*num_bytes| its size. |num_handles| is in/out: on
 * input the capacity of |handles|, on output the number of attached handles.
 *
 * Ownership: on success without IGNORE_HANDLES the attached handles move to
 * the caller (copied into |handles|); afterwards only calls with
 * MOJO_GET_MESSAGE_DATA_FLAG_IGNORE_HANDLES succeed on this message. With
 * IGNORE_HANDLES the handles stay in the message and |handles| and
 * |num_handles| are not used.
 *
 * Returns:
 *   MOJO_RESULT_OK                  payload returned (and handles taken, see
 *                                   above).
 *   MOJO_RESULT_INVALID_ARGUMENT    |message| is not a valid message,
 *                                   |*num_handles| is non-zero but |handles|
 *                                   is NULL, or |options| is malformed.
 *   MOJO_RESULT_FAILED_PRECONDITION the message is not fully serialized: it
 *                                   holds a context (see
 *                                   MojoSerializeMessage()) or its data was
 *                                   never committed.
 *   MOJO_RESULT_NOT_FOUND           the handles were already taken out by an
 *                                   earlier call.
 *   MOJO_RESULT_RESOURCE_EXHAUSTED  the message carries handles and
 *                                   |num_handles| is NULL or |*num_handles|
 *                                   is too small, or the payload is not
 *                                   empty and |buffer| or |num_bytes| is
 *                                   NULL. Nothing is taken out. As an
 *                                   exception to the outputs rule, Mojo
 *                                   still stores the payload size in
 *                                   |*num_bytes| and the number of attached
 *                                   handles in |*num_handles| (when those
 *                                   pointers are not NULL), so the caller
 *                                   can size its array and retry.
 *   MOJO_RESULT_ABORTED             the message's contents are unrecoverable
 *                                   (e.g. its handles could not be rebuilt
 *                                   after transfer); every later call
 *                                   returns the same. */
MOJO_SYSTEM_EXPORT MojoResult MojoGetMessageData(MojoMessageHandle message,
                                                 const struct MojoGetMessageDataOptions* options,
                                                 void** buffer, uint32_t* num_bytes,
                                                 MojoHandle* handles, uint32_t* num_handles);

/* Attaches an opaque |context| (typically a pointer to a heap object that
 * the message then owns) to a message that has no data, so that it can move
 * between endpoints of this process without serialization. If the message
 * must be serialized (it leaves the process, or MojoSerializeMessage()),
 * |serializer| is called with the message and context; after serialization
 * or when the message is destroyed with the context still attached,
 * |destructor| (if not NULL) is called with the context.
 *
 * A NULL |serializer| makes the message unserializable: sending it to
 * another process fails and MojoSerializeMessage() returns NOT_FOUND.
 * A |context| of 0 (with NULL serializer and destructor) detaches the
 * current context without calling its destructor; it is how a caller
 * reclaims the context.
 *
 * Returns:
 *   MOJO_RESULT_OK                  the context was set (or cleared).
 *   MOJO_RESULT_INVALID_ARGUMENT    |message| is not a valid message,
 *                                   |options| is malformed, or |context| is
 *                                   0 while |serializer| or |destructor| is
 *                                   not NULL.
 *   MOJO_RESULT_ALREADY_EXISTS      the message already has a non-zero
 *                                   context and |context| is non-zero.
 *   MOJO_RESULT_FAILED_PRECONDITION the message already has data attached. */
MOJO_SYSTEM_EXPORT MojoResult MojoSetMessageContext(
    MojoMessageHandle message, uintptr_t context, MojoMessageContextSerializer serializer,
    MojoMessageContextDestructor destructor, const struct MojoSetMessageContextOptions* options);

/* Stores the message's context in |*context| (0 if it has none). The
 * context stays attached and owned by the message.
 *
 * Returns:
 *   MOJO_RESULT_OK               |*context| holds the context (maybe 0).
 *   MOJO_RESULT_INVALID_ARGUMENT |message| is not a valid message,
 *                                |context| is NULL, or |options| is
 *                                malformed. */
MOJO_SYSTEM_EXPORT MojoResult
MojoGetMessageContext(MojoMessageHandle message, const struct MojoGetMessageContextOptions* options,
                      uintptr_t* context);

/* Reports that |message|, received from a pipe, is malformed or abusive by
 * the caller's rules. |error| (|error_num_bytes| bytes, need not be
 * NUL-terminated) describes the problem. The report goes to the process
 * error handler the sending process was invited with, which may then cut
 * off or kill that process; if the message came from this process, or the
 * connection to its sender is already gone, the report may go nowhere. The
 * message itself is not consumed: the caller still destroys it.
 *
 * Returns:
 *   MOJO_RESULT_OK               the report was made (or silently dropped as
 *                                described above).
 *   MOJO_RESULT_INVALID_ARGUMENT |message| is not a valid message,
 *                                |error| is NULL while |error_num_bytes| is
 *                                non-zero, or |options| is malformed. */
MOJO_SYSTEM_EXPORT MojoResult
MojoNotifyBadMessage(MojoMessageHandle message, const char* error, uint32_t error_num_bytes,
                     const struct MojoNotifyBadMessageOptions* options);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOJO_PUBLIC_C_SYSTEM_MESSAGE_PIPE_H_ */
