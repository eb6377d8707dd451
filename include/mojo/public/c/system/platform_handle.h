/* Wrapping operating-system handles (file descriptors, shared memory
 * regions) in Mojo handles, so that they can be sent over message pipes, and
 * unwrapping them again. A wrapped OS handle is owned by its Mojo handle:
 * closing the Mojo handle closes the OS handle. See functions.h for the
 * conventions on threads, options and outputs that apply here. */

#ifndef MOJO_PUBLIC_C_SYSTEM_PLATFORM_HANDLE_H_
#define MOJO_PUBLIC_C_SYSTEM_PLATFORM_HANDLE_H_

#include <stdint.h>

#include "mojo/public/c/system/macros.h"
#include "mojo/public/c/system/system_export.h"
#include "mojo/public/c/system/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What MojoPlatformHandle.value holds. cmojo runs on Linux/POSIX and accepts
 * only FILE_DESCRIPTOR (and INVALID where noted); the other types exist so
 * that code for other systems compiles. */
typedef uint32_t MojoPlatformHandleType;

/* No handle; the value is ignored. */
#define MOJO_PLATFORM_HANDLE_TYPE_INVALID ((MojoPlatformHandleType)0)
/* A POSIX file descriptor. */
#define MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR ((MojoPlatformHandleType)1)
/* Old name of MACH_SEND_RIGHT. */
#define MOJO_PLATFORM_HANDLE_TYPE_MACH_PORT ((MojoPlatformHandleType)2)
/* A Windows HANDLE. */
#define MOJO_PLATFORM_HANDLE_TYPE_WINDOWS_HANDLE ((MojoPlatformHandleType)3)
/* A Fuchsia zx_handle_t. */
#define MOJO_PLATFORM_HANDLE_TYPE_FUCHSIA_HANDLE ((MojoPlatformHandleType)4)
/* A Mach send right (macOS). */
#define MOJO_PLATFORM_HANDLE_TYPE_MACH_SEND_RIGHT MOJO_PLATFORM_HANDLE_TYPE_MACH_PORT
/* A Mach receive right (macOS). */
#define MOJO_PLATFORM_HANDLE_TYPE_MACH_RECEIVE_RIGHT ((MojoPlatformHandleType)5)
/* An Android IBinder reference. */
#define MOJO_PLATFORM_HANDLE_TYPE_BINDER ((MojoPlatformHandleType)6)

/* One OS handle, in a form independent of the OS. */
struct MOJO_ALIGNAS(8) MojoPlatformHandle {
  /* sizeof this struct as known to the caller, for versioning. */
  uint32_t struct_size;

  /* A MOJO_PLATFORM_HANDLE_TYPE_* value saying how to read |value|. */
  MojoPlatformHandleType type;

  /* The handle itself (for FILE_DESCRIPTOR, the fd number). Ignored when
   * |type| is INVALID. */
  uint64_t value;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoPlatformHandle) == 16, "MojoPlatformHandle has wrong size");

/* MojoWrapPlatformHandle() options. No flags are defined. */
typedef uint32_t MojoWrapPlatformHandleFlags;
#define MOJO_WRAP_PLATFORM_HANDLE_FLAG_NONE ((MojoWrapPlatformHandleFlags)0)

struct MOJO_ALIGNAS(8) MojoWrapPlatformHandleOptions {
  uint32_t struct_size;
  MojoWrapPlatformHandleFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoWrapPlatformHandleOptions) == 8,
                   "MojoWrapPlatformHandleOptions has wrong size");

/* MojoUnwrapPlatformHandle() options. No flags are defined. */
typedef uint32_t MojoUnwrapPlatformHandleFlags;
#define MOJO_UNWRAP_PLATFORM_HANDLE_FLAG_NONE ((MojoUnwrapPlatformHandleFlags)0)

struct MOJO_ALIGNAS(8) MojoUnwrapPlatformHandleOptions {
  uint32_t struct_size;
  MojoUnwrapPlatformHandleFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoUnwrapPlatformHandleOptions) == 8,
                   "MojoUnwrapPlatformHandleOptions has wrong size");

/* A 128-bit identity of the shared memory region behind a buffer handle; it
 * stays the same across duplicates and processes. */
struct MOJO_ALIGNAS(8) MojoSharedBufferGuid {
  uint64_t high;
  uint64_t low;
};

/* How a wrapped shared memory region may be accessed. This describes the
 * region; it does not enforce anything. The caller must make sure the OS
 * handles it wraps really are restricted as the mode says. */
typedef uint32_t MojoPlatformSharedMemoryRegionAccessMode;

/* Any number of handles map the region read-only; at most one writable
 * mapping exists somewhere. */
#define MOJO_PLATFORM_SHARED_MEMORY_REGION_ACCESS_MODE_READ_ONLY \
  ((MojoPlatformSharedMemoryRegionAccessMode)0)
/* Exactly one handle refers to the region, and it maps read-write. */
#define MOJO_PLATFORM_SHARED_MEMORY_REGION_ACCESS_MODE_WRITABLE \
  ((MojoPlatformSharedMemoryRegionAccessMode)1)
/* Any number of handles, all of which may map read-write. */
#define MOJO_PLATFORM_SHARED_MEMORY_REGION_ACCESS_MODE_UNSAFE \
  ((MojoPlatformSharedMemoryRegionAccessMode)2)

/* MojoWrapPlatformSharedMemoryRegion() options. No flags are defined. */
typedef uint32_t MojoWrapPlatformSharedMemoryRegionFlags;
#define MOJO_WRAP_PLATFORM_SHARED_BUFFER_HANDLE_FLAG_NONE \
  ((MojoWrapPlatformSharedMemoryRegionFlags)0)

struct MOJO_ALIGNAS(8) MojoWrapPlatformSharedMemoryRegionOptions {
  uint32_t struct_size;
  MojoWrapPlatformSharedMemoryRegionFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoWrapPlatformSharedMemoryRegionOptions) == 8,
                   "MojoWrapPlatformSharedMemoryRegionOptions has wrong size");

/* MojoUnwrapPlatformSharedMemoryRegion() options. No flags are defined. */
typedef uint32_t MojoUnwrapPlatformSharedMemoryRegionFlags;
#define MOJO_UNWRAP_PLATFORM_SHARED_BUFFER_HANDLE_FLAG_NONE \
  ((MojoUnwrapPlatformSharedMemoryRegionFlags)0)

struct MOJO_ALIGNAS(8) MojoUnwrapPlatformSharedMemoryRegionOptions {
  uint32_t struct_size;
  MojoUnwrapPlatformSharedMemoryRegionFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoUnwrapPlatformSharedMemoryRegionOptions) == 8,
                   "MojoUnwrapPlatformSharedMemoryRegionOptions has wrong size");

/* Wraps the OS handle described by |*platform_handle| in a new Mojo handle,
 * stored in |*mojo_handle|, which can be sent over message pipes.
 *
 * Ownership: on success the Mojo handle owns the OS handle (MojoClose()
 * closes it); the caller must no longer use or close it directly. On
 * failure the caller keeps the OS handle.
 *
 * Returns:
 *   MOJO_RESULT_OK                 |*mojo_handle| holds the wrapper.
 *   MOJO_RESULT_INVALID_ARGUMENT   |platform_handle| or |mojo_handle| is NULL,
 *                                  |platform_handle->struct_size| is too
 *                                  small, the type is not one this system
 *                                  supports (on Linux: FILE_DESCRIPTOR), the
 *                                  value is not a plausible handle (e.g. a
 *                                  negative or out-of-range fd), or
 *                                  |options| is malformed. A value that is
 *                                  plausible but not open cannot always be
 *                                  detected.
 *   MOJO_RESULT_RESOURCE_EXHAUSTED the handle table is full. */
MOJO_SYSTEM_EXPORT MojoResult MojoWrapPlatformHandle(
    const struct MojoPlatformHandle* platform_handle,
    const struct MojoWrapPlatformHandleOptions* options, MojoHandle* mojo_handle);

/* Takes the OS handle back out of a wrapper made by MojoWrapPlatformHandle()
 * (possibly received from another process) and stores it in
 * |*platform_handle|; the caller then owns the OS handle.
 * |platform_handle->struct_size| must be set by the caller.
 *
 * Ownership: |mojo_handle| is closed by this call when it is a valid
 * platform handle wrapper, whatever the result. A valid handle of another
 * type is rejected with MOJO_RESULT_INVALID_ARGUMENT and left open.
 *
 * Returns:
 *   MOJO_RESULT_OK               |*platform_handle| holds the OS handle.
 *   MOJO_RESULT_INVALID_ARGUMENT |mojo_handle| is not a wrapped platform
 *                                handle, |platform_handle| is NULL or its
 *                                struct_size is too small, or |options| is
 *                                malformed. */
MOJO_SYSTEM_EXPORT MojoResult MojoUnwrapPlatformHandle(
    MojoHandle mojo_handle, const struct MojoUnwrapPlatformHandleOptions* options,
    struct MojoPlatformHandle* platform_handle);

/* Wraps an OS shared memory region of |num_bytes| bytes, identified by
 * |*guid|, as a shared buffer handle (stored in |*mojo_handle|) that behaves
 * exactly like one from MojoCreateSharedBuffer(). |access_mode| records how
 * the region may be used (see the warning on the access modes).
 *
 * |platform_handles| holds |num_platform_handles| OS handles: on POSIX a
 * WRITABLE region takes two file descriptors, the first mappable read-write
 * and the second opened for read-only mapping; every other case takes one.
 *
 * Ownership: on success the new handle owns every OS handle given; on
 * failure the caller keeps them all.
 *
 * Returns:
 *   MOJO_RESULT_OK                 |*mojo_handle| holds the buffer handle.
 *   MOJO_RESULT_INVALID_ARGUMENT   |platform_handles|, |guid| or
 *                                  |mojo_handle| is NULL, the handle count
 *                                  is wrong for |access_mode|, a handle is
 *                                  not a valid shared memory handle of a
 *                                  supported type, |num_bytes| is 0,
 *                                  |access_mode| is unknown, or |options| is
 *                                  malformed.
 *   MOJO_RESULT_RESOURCE_EXHAUSTED (cmojo) the handle table is full. */
MOJO_SYSTEM_EXPORT MojoResult MojoWrapPlatformSharedMemoryRegion(
    const struct MojoPlatformHandle* platform_handles, uint32_t num_platform_handles,
    uint64_t num_bytes, const struct MojoSharedBufferGuid* guid,
    MojoPlatformSharedMemoryRegionAccessMode access_mode,
    const struct MojoWrapPlatformSharedMemoryRegionOptions* options, MojoHandle* mojo_handle);

/* Takes the OS shared memory region out of the shared buffer handle
 * |mojo_handle|. On input |*num_platform_handles| is the capacity of
 * |platform_handles| (at least 1) and each element's struct_size is set.
 * On success the caller owns the OS handles: |platform_handles| receives
 * them (on POSIX, a WRITABLE region gives two fds, read-write then
 * read-only; every other case gives one), |*num_platform_handles| their
 * count, |*num_bytes| the region size, |*guid| its identity and
 * |*access_mode| its access mode.
 *
 * Ownership: |mojo_handle| is closed by this call when it is a valid shared
 * buffer handle, whatever the result (Mojo's rule: on failure the region is
 * lost). A valid handle of another type is rejected with
 * MOJO_RESULT_INVALID_ARGUMENT and left open.
 *
 * Returns:
 *   MOJO_RESULT_OK               the outputs hold the region.
 *   MOJO_RESULT_INVALID_ARGUMENT |mojo_handle| is not a shared buffer handle,
 *                                an output pointer is NULL, the capacity in
 *                                |*num_platform_handles| is too small for
 *                                the region's handles, or |options| is
 *                                malformed. */
MOJO_SYSTEM_EXPORT MojoResult MojoUnwrapPlatformSharedMemoryRegion(
    MojoHandle mojo_handle, const struct MojoUnwrapPlatformSharedMemoryRegionOptions* options,
    struct MojoPlatformHandle* platform_handles, uint32_t* num_platform_handles,
    uint64_t* num_bytes, struct MojoSharedBufferGuid* guid,
    MojoPlatformSharedMemoryRegionAccessMode* access_mode);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOJO_PUBLIC_C_SYSTEM_PLATFORM_HANDLE_H_ */
