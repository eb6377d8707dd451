/* Data pipes: one-way streams of bytes, delivered in order, grouped in
 * fixed-size elements, through a bounded buffer shared by the two ends.
 * The producer handle writes, the consumer handle reads; either may be sent
 * to another process. Data can be copied in and out (MojoWriteData(),
 * MojoReadData()) or accessed in place with two-phase operations
 * (MojoBeginWriteData()/MojoEndWriteData(), MojoBeginReadData()/
 * MojoEndReadData()). See functions.h for the conventions on threads,
 * options and outputs that apply here.
 *
 * Signals: the producer is WRITABLE while the consumer is open, there is free
 * capacity and no two-phase write is in progress. The consumer is READABLE
 * while data is queued and no two-phase read is in progress, and
 * NEW_DATA_READABLE when, in addition, data arrived since its last read or
 * begin-read. Either end sees PEER_CLOSED once the other end is closed; the
 * consumer can still drain data queued before that. */

#ifndef MOJO_PUBLIC_C_SYSTEM_DATA_PIPE_H_
#define MOJO_PUBLIC_C_SYSTEM_DATA_PIPE_H_

#include <stdint.h>

#include "mojo/public/c/system/macros.h"
#include "mojo/public/c/system/system_export.h"
#include "mojo/public/c/system/types.h"

/* MojoCreateDataPipe() options. No flags are defined. */
typedef uint32_t MojoCreateDataPipeFlags;
#define MOJO_CREATE_DATA_PIPE_FLAG_NONE ((uint32_t)0)

struct MOJO_ALIGNAS(8) MojoCreateDataPipeOptions {
  /* sizeof this struct, for versioning. */
  uint32_t struct_size;

  /* See MojoCreateDataPipeFlags. */
  MojoCreateDataPipeFlags flags;

  /* Size of one element in bytes; every amount read or written is a whole
   * number of elements. Must not be 0. Default (no options): 1. */
  uint32_t element_num_bytes;

  /* Bytes the pipe can hold; a multiple of element_num_bytes. The pipe can
   * always queue at least this much. 0 picks the default capacity (64 KiB,
   * rounded to whole elements). */
  uint32_t capacity_num_bytes;
};
MOJO_STATIC_ASSERT(MOJO_ALIGNOF(int64_t) <= 8, "int64_t has odd alignment");
MOJO_STATIC_ASSERT(sizeof(struct MojoCreateDataPipeOptions) == 16,
                   "MojoCreateDataPipeOptions has wrong size");

/* MojoWriteData() options. */
typedef uint32_t MojoWriteDataFlags;
#define MOJO_WRITE_DATA_FLAG_NONE ((uint32_t)0)
/* Write everything or nothing: fail with OUT_OF_RANGE instead of writing
 * only what fits. */
#define MOJO_WRITE_DATA_FLAG_ALL_OR_NONE ((uint32_t)1 << 0)

struct MOJO_ALIGNAS(8) MojoWriteDataOptions {
  uint32_t struct_size;
  MojoWriteDataFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoWriteDataOptions) == 8, "MojoWriteDataOptions has wrong size");

/* MojoBeginWriteData() options. */
typedef uint32_t MojoBeginWriteDataFlags;
#define MOJO_BEGIN_WRITE_DATA_FLAG_NONE ((uint32_t)0)
/* The input *buffer_num_bytes is a minimum, not a hint: fail with
 * OUT_OF_RANGE unless a buffer at least that large can be offered. */
#define MOJO_BEGIN_WRITE_DATA_FLAG_ALL_OR_NONE ((uint32_t)1 << 0)

struct MOJO_ALIGNAS(8) MojoBeginWriteDataOptions {
  uint32_t struct_size;
  MojoBeginWriteDataFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoBeginWriteDataOptions) == 8,
                   "MojoBeginWriteDataOptions has wrong size");

/* MojoEndWriteData() options. No flags are defined. */
typedef uint32_t MojoEndWriteDataFlags;
#define MOJO_END_WRITE_DATA_FLAG_NONE ((uint32_t)0)

struct MOJO_ALIGNAS(8) MojoEndWriteDataOptions {
  uint32_t struct_size;
  MojoEndWriteDataFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoEndWriteDataOptions) == 8,
                   "MojoEndWriteDataOptions has wrong size");

/* MojoReadData() options. DISCARD, QUERY and PEEK are mutually exclusive. */
typedef uint32_t MojoReadDataFlags;
#define MOJO_READ_DATA_FLAG_NONE ((uint32_t)0)
/* Read (or discard) exactly the requested amount or nothing. Ignored with
 * QUERY. */
#define MOJO_READ_DATA_FLAG_ALL_OR_NONE ((uint32_t)1 << 0)
/* Drop the data instead of copying it out; |elements| is ignored. */
#define MOJO_READ_DATA_FLAG_DISCARD ((uint32_t)1 << 1)
/* Only report how many bytes are available; nothing is read. */
#define MOJO_READ_DATA_FLAG_QUERY ((uint32_t)1 << 2)
/* Copy the data out but leave it in the pipe for the next read. */
#define MOJO_READ_DATA_FLAG_PEEK ((uint32_t)1 << 3)

struct MOJO_ALIGNAS(8) MojoReadDataOptions {
  uint32_t struct_size;
  MojoReadDataFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoReadDataOptions) == 8, "MojoReadDataOptions has wrong size");

/* MojoBeginReadData() options. No flags are defined. */
typedef uint32_t MojoBeginReadDataFlags;
#define MOJO_BEGIN_READ_DATA_FLAG_NONE ((uint32_t)0)

struct MOJO_ALIGNAS(8) MojoBeginReadDataOptions {
  uint32_t struct_size;
  MojoBeginReadDataFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoBeginReadDataOptions) == 8,
                   "MojoBeginReadDataOptions has wrong size");

/* MojoEndReadData() options. No flags are defined. */
typedef uint32_t MojoEndReadDataFlags;
#define MOJO_END_READ_DATA_FLAG_NONE ((uint32_t)0)

struct MOJO_ALIGNAS(8) MojoEndReadDataOptions {
  uint32_t struct_size;
  MojoEndReadDataFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoEndReadDataOptions) == 8,
                   "MojoEndReadDataOptions has wrong size");

#ifdef __cplusplus
extern "C" {
#endif

/* Creates a data pipe and stores its producer end in
 * |*data_pipe_producer_handle| and its consumer end in
 * |*data_pipe_consumer_handle|; the caller owns both. NULL |options| gives
 * 1-byte elements and the default capacity. On failure neither output is
 * touched.
 *
 * Returns:
 *   MOJO_RESULT_OK                 both handles were stored.
 *   MOJO_RESULT_INVALID_ARGUMENT   |options| is malformed, element_num_bytes
 *                                  is 0, capacity_num_bytes is not a
 *                                  multiple of element_num_bytes (or is
 *                                  smaller than one element), or an output
 *                                  pointer is NULL.
 *   MOJO_RESULT_RESOURCE_EXHAUSTED a limit was hit (capacity too large for a
 *                                  shared memory segment, handle table full,
 *                                  out of memory or file descriptors).
 *   MOJO_RESULT_UNIMPLEMENTED      |options| has a flag this version does
 *                                  not know. */
MOJO_SYSTEM_EXPORT MojoResult MojoCreateDataPipe(const struct MojoCreateDataPipeOptions* options,
                                                 MojoHandle* data_pipe_producer_handle,
                                                 MojoHandle* data_pipe_consumer_handle);

/* Copies up to |*num_bytes| bytes from |elements| into the pipe.
 * |*num_bytes| must be a multiple of the element size. On success
 * |*num_bytes| is set to the number of bytes written (all of them with
 * ALL_OR_NONE; otherwise as many as fit, at least one element). Writing 0
 * bytes succeeds and does nothing. The data stays owned by the caller.
 *
 * Returns:
 *   MOJO_RESULT_OK                  |*num_bytes| bytes were written.
 *   MOJO_RESULT_INVALID_ARGUMENT    |data_pipe_producer_handle| is not a
 *                                   producer handle, |num_bytes| is NULL,
 *                                   |*num_bytes| is not a multiple of the
 *                                   element size, |elements| is NULL while
 *                                   |*num_bytes| is non-zero, or |options|
 *                                   is malformed.
 *   MOJO_RESULT_BUSY                a two-phase write is in progress on this
 *                                   handle.
 *   MOJO_RESULT_FAILED_PRECONDITION the consumer is closed.
 *   MOJO_RESULT_OUT_OF_RANGE        ALL_OR_NONE was given and the free
 *                                   capacity is smaller than |*num_bytes|
 *                                   (waiting for WRITABLE may not be enough,
 *                                   so this is not SHOULD_WAIT).
 *   MOJO_RESULT_SHOULD_WAIT         the pipe is full (and ALL_OR_NONE was
 *                                   not given): wait for WRITABLE. */
MOJO_SYSTEM_EXPORT MojoResult MojoWriteData(MojoHandle data_pipe_producer_handle,
                                            const void* elements, uint32_t* num_bytes,
                                            const struct MojoWriteDataOptions* options);

/* Starts a two-phase write: stores in |*buffer| the address of free space
 * inside the pipe and in |*buffer_num_bytes| its size (a whole number of
 * elements), into which the caller writes directly. On input
 * |*buffer_num_bytes| is a size hint (0 for none); with ALL_OR_NONE it is a
 * minimum and the buffer returned is at least that large.
 *
 * Until MojoEndWriteData() the producer is not WRITABLE and other writes
 * (MojoWriteData(), MojoBeginWriteData()) fail with BUSY; the handle also
 * cannot be sent in a message. The buffer is valid only until
 * MojoEndWriteData() or the handle is closed. When this call fails there is
 * no two-phase write to end.
 *
 * Returns:
 *   MOJO_RESULT_OK                  |*buffer| and |*buffer_num_bytes| are
 *                                   set; the two-phase write has begun.
 *   MOJO_RESULT_INVALID_ARGUMENT    |data_pipe_producer_handle| is not a
 *                                   producer handle, |buffer| or
 *                                   |buffer_num_bytes| is NULL, or |options|
 *                                   is malformed.
 *   MOJO_RESULT_BUSY                a two-phase write is already in
 *                                   progress.
 *   MOJO_RESULT_FAILED_PRECONDITION the consumer is closed.
 *   MOJO_RESULT_OUT_OF_RANGE        ALL_OR_NONE was given and no buffer of
 *                                   at least the requested size can be
 *                                   offered now.
 *   MOJO_RESULT_SHOULD_WAIT         the pipe is full: wait for WRITABLE. */
MOJO_SYSTEM_EXPORT MojoResult MojoBeginWriteData(MojoHandle data_pipe_producer_handle,
                                                 const struct MojoBeginWriteDataOptions* options,
                                                 void** buffer, uint32_t* buffer_num_bytes);

/* Finishes a two-phase write, making the first |num_bytes_written| bytes of
 * the buffer part of the stream. |num_bytes_written| must be a multiple of
 * the element size and at most the size MojoBeginWriteData() returned; 0 is
 * allowed (nothing is written). Whatever the result, the two-phase write is
 * over afterwards (on failure nothing is added to the pipe). Ending a write
 * whose consumer closed in the meantime still succeeds.
 *
 * Returns:
 *   MOJO_RESULT_OK                  the bytes were committed.
 *   MOJO_RESULT_INVALID_ARGUMENT    |data_pipe_producer_handle| is not a
 *                                   producer handle, |num_bytes_written| is
 *                                   too large or not a multiple of the
 *                                   element size, or |options| is
 *                                   malformed.
 *   MOJO_RESULT_FAILED_PRECONDITION no two-phase write is in progress. */
MOJO_SYSTEM_EXPORT MojoResult MojoEndWriteData(MojoHandle data_pipe_producer_handle,
                                               uint32_t num_bytes_written,
                                               const struct MojoEndWriteDataOptions* options);

/* Reads from the consumer, in one of four ways chosen by the flags:
 *  - default: copy up to |*num_bytes| bytes (a multiple of the element size)
 *    into |elements|, remove them from the pipe, and set |*num_bytes| to the
 *    amount read;
 *  - PEEK: the same, but the data stays in the pipe;
 *  - DISCARD: remove up to |*num_bytes| bytes without copying (|elements|
 *    is ignored) and set |*num_bytes| to the amount removed;
 *  - QUERY: set |*num_bytes| to the number of bytes available, reading
 *    nothing (|elements| and the input |*num_bytes| are ignored; it succeeds
 *    with 0 when the pipe is empty, even if the producer is closed).
 * With ALL_OR_NONE, read/peek/discard move exactly |*num_bytes| bytes or
 * none. Every call that gets past argument checking clears
 * NEW_DATA_READABLE, whichever mode it uses.
 *
 * Returns:
 *   MOJO_RESULT_OK                  see above for what |*num_bytes| holds.
 *   MOJO_RESULT_INVALID_ARGUMENT    |data_pipe_consumer_handle| is not a
 *                                   consumer handle, |num_bytes| is NULL,
 *                                   the flags combine two of DISCARD, QUERY
 *                                   and PEEK, |*num_bytes| is not a multiple
 *                                   of the element size, |elements| is NULL
 *                                   for a copying read, or |options| is
 *                                   malformed.
 *   MOJO_RESULT_BUSY                a two-phase read is in progress on this
 *                                   handle.
 *   MOJO_RESULT_FAILED_PRECONDITION the producer is closed and the data
 *                                   needed (any data, or with ALL_OR_NONE
 *                                   the full amount) is not in the pipe: it
 *                                   will never arrive.
 *   MOJO_RESULT_OUT_OF_RANGE        ALL_OR_NONE was given, fewer than
 *                                   |*num_bytes| bytes are available, and
 *                                   the producer is still open.
 *   MOJO_RESULT_SHOULD_WAIT         the pipe is empty, the producer is open,
 *                                   and ALL_OR_NONE was not given: wait for
 *                                   READABLE. */
MOJO_SYSTEM_EXPORT MojoResult MojoReadData(MojoHandle data_pipe_consumer_handle,
                                           const struct MojoReadDataOptions* options,
                                           void* elements, uint32_t* num_bytes);

/* Starts a two-phase read: stores in |*buffer| the address of readable data
 * inside the pipe and in |*buffer_num_bytes| its size (a whole number of
 * elements; possibly less than all available data, e.g. where the ring
 * buffer wraps). Until MojoEndReadData() the consumer is not READABLE,
 * other reads fail with BUSY and the handle cannot be sent in a message.
 * The buffer is valid only until MojoEndReadData() or the handle is closed.
 * Clears NEW_DATA_READABLE.
 *
 * Returns:
 *   MOJO_RESULT_OK                  |*buffer| and |*buffer_num_bytes| are
 *                                   set; the two-phase read has begun.
 *   MOJO_RESULT_INVALID_ARGUMENT    |data_pipe_consumer_handle| is not a
 *                                   consumer handle, |buffer| or
 *                                   |buffer_num_bytes| is NULL, or |options|
 *                                   is malformed.
 *   MOJO_RESULT_BUSY                a two-phase read is already in progress.
 *   MOJO_RESULT_FAILED_PRECONDITION the pipe is empty and the producer is
 *                                   closed.
 *   MOJO_RESULT_SHOULD_WAIT         the pipe is empty and the producer is
 *                                   open: wait for READABLE. */
MOJO_SYSTEM_EXPORT MojoResult MojoBeginReadData(MojoHandle data_pipe_consumer_handle,
                                                const struct MojoBeginReadDataOptions* options,
                                                const void** buffer, uint32_t* buffer_num_bytes);

/* Finishes a two-phase read, removing the first |num_bytes_read| bytes of
 * the buffer from the pipe. |num_bytes_read| must be a multiple of the
 * element size and at most the size MojoBeginReadData() returned; 0 leaves
 * all data in place. Whatever the result, the two-phase read is over
 * afterwards (on failure no data is removed).
 *
 * Returns:
 *   MOJO_RESULT_OK                  the bytes were consumed.
 *   MOJO_RESULT_INVALID_ARGUMENT    |data_pipe_consumer_handle| is not a
 *                                   consumer handle, |num_bytes_read| is too
 *                                   large or not a multiple of the element
 *                                   size, or |options| is malformed.
 *   MOJO_RESULT_FAILED_PRECONDITION no two-phase read is in progress. */
MOJO_SYSTEM_EXPORT MojoResult MojoEndReadData(MojoHandle data_pipe_consumer_handle,
                                              uint32_t num_bytes_read,
                                              const struct MojoEndReadDataOptions* options);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOJO_PUBLIC_C_SYSTEM_DATA_PIPE_H_ */
