/* Shared buffers: memory that can be mapped into any process holding a
 * handle to it. A buffer lives while any handle to it (in any process) or
 * any mapping of it exists. Handles can be duplicated, sent over message
 * pipes, and duplicated read-only; once read-only handles exist, no new
 * writable handle can be made, and vice versa. See functions.h for the
 * conventions on threads, options and outputs that apply here. */

#ifndef MOJO_PUBLIC_C_SYSTEM_BUFFER_H_
#define MOJO_PUBLIC_C_SYSTEM_BUFFER_H_

#include <stdint.h>

#include "mojo/public/c/system/macros.h"
#include "mojo/public/c/system/system_export.h"
#include "mojo/public/c/system/types.h"

/* MojoCreateSharedBuffer() options. No flags are defined. */
typedef uint32_t MojoCreateSharedBufferFlags;
#define MOJO_CREATE_SHARED_BUFFER_FLAG_NONE ((uint32_t)0)

struct MOJO_ALIGNAS(8) MojoCreateSharedBufferOptions {
  uint32_t struct_size;
  MojoCreateSharedBufferFlags flags;
};
MOJO_STATIC_ASSERT(MOJO_ALIGNOF(int64_t) <= 8, "int64_t has odd alignment");
MOJO_STATIC_ASSERT(sizeof(struct MojoCreateSharedBufferOptions) == 8,
                   "MojoCreateSharedBufferOptions has wrong size");

/* MojoGetBufferInfo() options. No flags are defined. */
typedef uint32_t MojoGetBufferInfoFlags;
#define MOJO_GET_BUFFER_INFO_FLAG_NONE ((uint32_t)0)

struct MOJO_ALIGNAS(8) MojoGetBufferInfoOptions {
  uint32_t struct_size;
  MojoGetBufferInfoFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoGetBufferInfoOptions) == 8,
                   "MojoGetBufferInfoOptions has wrong size");

/* Filled in by MojoGetBufferInfo(). The caller sets struct_size. */
struct MOJO_ALIGNAS(8) MojoSharedBufferInfo {
  /* sizeof this struct as known to the caller, for versioning. */
  uint32_t struct_size;

  /* Size of the buffer in bytes. */
  uint64_t size;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoSharedBufferInfo) == 16,
                   "MojoSharedBufferInfo has wrong size");

/* MojoDuplicateBufferHandle() options. */
typedef uint32_t MojoDuplicateBufferHandleFlags;
/* Duplicate as a writable handle. Once a buffer has been duplicated this way,
 * none of its handles can later be duplicated read-only. */
#define MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_NONE ((uint32_t)0)
/* Duplicate as a read-only handle: every mapping made through it is
 * read-only. Once this succeeds, the buffer's handles can only ever be
 * duplicated read-only again. */
#define MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_READ_ONLY ((uint32_t)1 << 0)

/* Unlike the other options structs, Mojo declares this one and
 * MojoMapBufferOptions without MOJO_ALIGNAS(8); kept identical. */
struct MojoDuplicateBufferHandleOptions {
  uint32_t struct_size;
  MojoDuplicateBufferHandleFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoDuplicateBufferHandleOptions) == 8,
                   "MojoDuplicateBufferHandleOptions has wrong size");

/* MojoMapBuffer() options. No flags are defined. */
typedef uint32_t MojoMapBufferFlags;
#define MOJO_MAP_BUFFER_FLAG_NONE ((uint32_t)0)

struct MojoMapBufferOptions {
  uint32_t struct_size;
  MojoMapBufferFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoMapBufferOptions) == 8, "MojoMapBufferOptions has wrong size");

#ifdef __cplusplus
extern "C" {
#endif

/* Creates a shared buffer of |num_bytes| bytes (zero-filled) and stores a
 * writable handle to it in |*shared_buffer_handle|; the caller owns it. To
 * reach the memory, map it with MojoMapBuffer(). On failure the output is
 * not touched.
 *
 * Returns:
 *   MOJO_RESULT_OK                 the handle was stored.
 *   MOJO_RESULT_INVALID_ARGUMENT   |num_bytes| is 0, |shared_buffer_handle|
 *                                  is NULL, or |options| is malformed.
 *   MOJO_RESULT_RESOURCE_EXHAUSTED |num_bytes| exceeds the maximum segment
 *                                  size (1 GiB), or the system could not
 *                                  provide the memory, a file descriptor or
 *                                  a handle.
 *   MOJO_RESULT_UNIMPLEMENTED      |options| has a flag this version does
 *                                  not know. */
MOJO_SYSTEM_EXPORT MojoResult
MojoCreateSharedBuffer(uint64_t num_bytes, const struct MojoCreateSharedBufferOptions* options,
                       MojoHandle* shared_buffer_handle);

/* Makes a new handle to the same buffer as |buffer_handle| and stores it in
 * |*new_buffer_handle|; the caller owns both. With READ_ONLY the new handle
 * maps read-only. See the flags for the one-way rules between writable and
 * read-only duplicates.
 *
 * Returns:
 *   MOJO_RESULT_OK                  the new handle was stored.
 *   MOJO_RESULT_INVALID_ARGUMENT    |buffer_handle| is not a shared buffer
 *                                   handle, |new_buffer_handle| is NULL, or
 *                                   |options| is malformed.
 *   MOJO_RESULT_FAILED_PRECONDITION READ_ONLY was asked but the buffer was
 *                                   already duplicated writable, or a
 *                                   writable duplicate was asked but the
 *                                   buffer was already duplicated read-only
 *                                   (this includes asking for a writable
 *                                   duplicate of a read-only handle).
 *   MOJO_RESULT_RESOURCE_EXHAUSTED  (cmojo) no handle or file descriptor
 *                                   could be allocated.
 *   MOJO_RESULT_UNIMPLEMENTED       |options| has a flag this version does
 *                                   not know. */
MOJO_SYSTEM_EXPORT MojoResult MojoDuplicateBufferHandle(
    MojoHandle buffer_handle, const struct MojoDuplicateBufferHandleOptions* options,
    MojoHandle* new_buffer_handle);

/* Maps bytes [|offset|, |offset| + |num_bytes|) of the buffer into this
 * process and stores their address in |*buffer|. Mappings of a read-only
 * handle are read-only, others are read-write. A handle may have any number
 * of mappings; each stays valid, even after the handle is closed, until it
 * is passed to MojoUnmapBuffer(). On failure |*buffer| is not touched.
 *
 * Returns:
 *   MOJO_RESULT_OK                 |*buffer| holds the mapping's address.
 *   MOJO_RESULT_INVALID_ARGUMENT   |buffer_handle| is not a shared buffer
 *                                  handle, |buffer| is NULL, |num_bytes| is
 *                                  0, the range overflows or does not lie
 *                                  within the buffer, or |options| is
 *                                  malformed.
 *   MOJO_RESULT_RESOURCE_EXHAUSTED the mapping itself failed (e.g. no
 *                                  address space). */
MOJO_SYSTEM_EXPORT MojoResult MojoMapBuffer(MojoHandle buffer_handle, uint64_t offset,
                                            uint64_t num_bytes,
                                            const struct MojoMapBufferOptions* options,
                                            void** buffer);

/* Removes a whole mapping made by MojoMapBuffer(). |buffer| must be exactly
 * the address that call returned (not a pointer inside the mapping); each
 * mapping can be unmapped once. Callable from any thread.
 *
 * Returns:
 *   MOJO_RESULT_OK               the mapping was removed.
 *   MOJO_RESULT_INVALID_ARGUMENT |buffer| is not the address of a current
 *                                mapping (never mapped, already unmapped,
 *                                or an interior pointer). */
MOJO_SYSTEM_EXPORT MojoResult MojoUnmapBuffer(void* buffer);

/* Reports the size of the buffer behind |buffer_handle| in |info->size|.
 * The caller must set |info->struct_size| (to sizeof(struct
 * MojoSharedBufferInfo)) before the call. On failure |*info| is not
 * touched.
 *
 * Returns:
 *   MOJO_RESULT_OK               |info->size| holds the size.
 *   MOJO_RESULT_INVALID_ARGUMENT |buffer_handle| is not a shared buffer
 *                                handle, |info| is NULL or its struct_size
 *                                is too small, or |options| is malformed. */
MOJO_SYSTEM_EXPORT MojoResult MojoGetBufferInfo(MojoHandle buffer_handle,
                                                const struct MojoGetBufferInfoOptions* options,
                                                struct MojoSharedBufferInfo* info);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOJO_PUBLIC_C_SYSTEM_BUFFER_H_ */
