/* The platform driver contract: every service cmojo needs from the operating
 * system, and the only header through which the layers above reach the OS.
 *
 * Role. platform/ is the one place that makes system calls. ports/ makes none;
 * core/ and the layers above call the functions declared here (plus plain
 * libc and pthreads, see "Threads" below) and never include <sys/socket.h>,
 * <sys/mman.h> or <fcntl.h>. A driver is a set of source files implementing
 * this header for one OS family; today there is the POSIX/Linux driver
 * (src/platform/posix_*.c). macOS (Mach ports) and Windows (HANDLEs, named
 * pipes) drivers are to implement the same declarations later, which is why
 * OS objects are a tagged cm_platform_handle rather than a bare int, and why
 * a shared memory region may hold more than one OS handle.
 *
 * Conventions and invariants.
 * - Errors are MojoResult values, the same codes the C API returns, so the
 *   core passes them through untranslated. errno is turned into a MojoResult
 *   in exactly one place, cm_platform_result_from_errno().
 * - Every OS handle a driver creates is close-on-exec from birth (no window
 *   in which a concurrent fork+exec in another thread could leak it).
 * - Outputs are written only on success. Functions that consume a handle say
 *   so, and consume it on failure too, so a caller never has to guess whether
 *   it still owns something.
 * - Anything received from another process (OS handles, sizes, GUIDs, access
 *   modes) is checked here before use; functions that accept such values say
 *   which checks they make.
 * - All functions may be called from any thread. Objects (a region, a
 *   mapping) are not internally locked: the caller serializes use of one
 *   object, as the core's dispatchers already do.
 *
 * Threads. The driver offers no mutex/condvar/thread wrapper: the core uses
 * pthreads directly. pthreads gives what the core needs and C11 <threads.h>
 * lacks (condition variables on CLOCK_MONOTONIC for MojoTimeTicks deadlines,
 * error-checking mutexes in debug builds), ThreadSanitizer models it natively,
 * and every target OS has it or a thin shim (winpthreads on Windows). If the
 * Windows driver needs its own primitives, the core's few uses (mutex, cond,
 * once, thread create/join) are mechanical to route through here then.
 *
 * Still to come in this header (the next issue), declared only once built:
 * - Transports: a connected pair of endpoints (socketpair(AF_UNIX,
 *   SOCK_STREAM) on Linux) carrying framed bytes plus OS handles out of band
 *   (SCM_RIGHTS with MSG_CMSG_CLOEXEC, at most CM_MAX_OS_HANDLES_PER_FRAME
 *   per frame; every received fd owned by exactly one object, all closed on
 *   MSG_CTRUNC or any parse failure), non-blocking writes that queue only what
 *   the kernel refuses, and peer credentials (pid/uid/gid, pidfd) captured at
 *   connection time. Serializing a shared memory region for a transport uses
 *   cm_platform_shm_unwrap() on the sending side and cm_platform_shm_wrap()
 *   with CM_PLATFORM_SHM_WRAP_UNTRUSTED on the receiving side.
 * - I/O readiness: an epoll-based poller (level-triggered, itself one pollable
 *   fd so embedders can nest it in their own loop), plus an eventfd-style
 *   wakeup, used by the I/O thread and by embedder mode.
 * - Process launch helpers: passing a transport endpoint to a child process
 *   across exec (the one place where close-on-exec is deliberately cleared,
 *   on the child's copy only). */
#ifndef CMOJO_SRC_PLATFORM_PLATFORM_H_
#define CMOJO_SRC_PLATFORM_PLATFORM_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mojo/public/c/system/types.h"

/* ----------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------- */

/* Maps an errno value to the MojoResult the API reports for it (0 maps to
 * MOJO_RESULT_OK, unknown values to MOJO_RESULT_UNKNOWN). The mapping, in
 * short: bad descriptor or argument -> INVALID_ARGUMENT; out of memory, fds,
 * space -> RESOURCE_EXHAUSTED; would block -> SHOULD_WAIT; peer gone (EPIPE,
 * ECONNRESET...) -> FAILED_PRECONDITION; EACCES/EPERM -> PERMISSION_DENIED;
 * not supported -> UNIMPLEMENTED; EINTR -> ABORTED (callers retry EINTR
 * themselves; seeing ABORTED means they chose not to). */
MojoResult cm_platform_result_from_errno(int err);

/* ----------------------------------------------------------------------------
 * Random bytes and time
 * ------------------------------------------------------------------------- */

/* Fills buf[0..len) with bytes from the kernel's CSPRNG (getrandom() on
 * Linux). Port names, node names and region GUIDs come from here, so there is
 * no user-space generator whose state could leak one name from another.
 * Blocks only until the kernel pool is first initialized (early boot).
 * Returns OK, or the mapped errno if the kernel refuses (e.g. a seccomp
 * filter returning ENOSYS); buf contents are then unspecified and the caller
 * must fail whatever needed the randomness. len 0 is OK. */
MojoResult cm_platform_random_bytes(void *buf, size_t len);

/* Current time of a monotonic clock in microseconds (CLOCK_MONOTONIC on
 * Linux, as Chromium's TimeTicks). Only differences are meaningful. Never
 * decreases, never fails. Backs MojoGetTimeTicksNow(). */
MojoTimeTicks cm_platform_time_now(void);

/* ----------------------------------------------------------------------------
 * OS handles
 * ------------------------------------------------------------------------- */

/* Kinds of OS handle. The numbering is MojoPlatformHandleType's, so a
 * MojoPlatformHandle {type, value} converts to and from cm_platform_handle
 * by copying both fields; cm_platform_handle_check() then says whether this
 * driver accepts it. The Mach driver will add MACH_SEND_RIGHT (2) and
 * MACH_RECEIVE_RIGHT (5), the Windows driver WINDOWS_HANDLE (3). */
#define CM_PLATFORM_HANDLE_TYPE_INVALID 0u
#define CM_PLATFORM_HANDLE_TYPE_FD 1u

/* One OS handle: an fd now; a Mach port name or a Windows HANDLE (both fit in
 * 64 bits) later. Plain value type: copying it does not duplicate the OS
 * object, so exactly one copy must be considered the owner. */
typedef struct cm_platform_handle {
  uint32_t type;  /* CM_PLATFORM_HANDLE_TYPE_* */
  uint64_t value; /* the fd, port name or HANDLE bits */
} cm_platform_handle;

static inline cm_platform_handle cm_platform_handle_invalid(void) {
  cm_platform_handle h = {CM_PLATFORM_HANDLE_TYPE_INVALID, 0};
  return h;
}

/* Wraps an fd (the caller keeps ownership until it hands the result on).
 * A negative fd gives the invalid handle. */
static inline cm_platform_handle cm_platform_handle_from_fd(int fd) {
  cm_platform_handle h = {CM_PLATFORM_HANDLE_TYPE_INVALID, 0};
  if (fd >= 0) {
    h.type = CM_PLATFORM_HANDLE_TYPE_FD;
    h.value = (uint64_t)fd;
  }
  return h;
}

static inline bool cm_platform_handle_is_valid(cm_platform_handle h) {
  return h.type != CM_PLATFORM_HANDLE_TYPE_INVALID;
}

/* The fd held by h, or -1 if h does not hold one. */
static inline int cm_platform_handle_fd(cm_platform_handle h) {
  return (h.type == CM_PLATFORM_HANDLE_TYPE_FD && h.value <= (uint64_t)INT32_MAX) ? (int)h.value
                                                                                  : -1;
}

/* Checks a handle that came from outside the driver (a MojoPlatformHandle
 * given to MojoWrapPlatformHandle, say): OK if its type is one this driver
 * supports, its value is in range for that type and it names an open object
 * (fcntl(F_GETFD) succeeds). INVALID_ARGUMENT otherwise. Does not take
 * ownership and changes nothing. */
MojoResult cm_platform_handle_check(cm_platform_handle h);

/* Closes the OS object *h holds (if any) and resets *h to invalid. Accepts an
 * invalid handle (no-op). EINTR is not retried: on Linux the fd is released
 * whatever close() reports. Closing an fd that is not open is a bug in the
 * caller (it may be someone else's fd by now) and asserts in debug builds. */
void cm_platform_handle_close(cm_platform_handle *h);

/* Duplicates h into a new, independent handle to the same OS object; the new
 * fd is close-on-exec (F_DUPFD_CLOEXEC) whatever h's flags. h is unchanged.
 * Returns OK and writes *out; INVALID_ARGUMENT if h is invalid or not open;
 * RESOURCE_EXHAUSTED if the process is out of fds. */
MojoResult cm_platform_handle_duplicate(cm_platform_handle h, cm_platform_handle *out);

/* ----------------------------------------------------------------------------
 * Shared memory regions
 *
 * A region is a block of shared memory of a fixed size, with a 128-bit GUID
 * (random at creation, carried along when the region is duplicated, wrapped
 * or sent) and an access mode, exactly as Mojo's PlatformSharedMemoryRegion:
 *
 *   READ_ONLY (0)  no handle to this memory can ever be mapped writable by
 *                  whoever holds this region. POSIX: one fd, opened O_RDONLY.
 *   WRITABLE  (1)  the only handle to the memory, mappable read/write, and
 *                  convertible to READ_ONLY. POSIX: two fds to the same file,
 *                  one O_RDWR and one O_RDONLY (kept so that conversion needs
 *                  no reopening and works after the region crossed a process
 *                  boundary).
 *   UNSAFE    (2)  any number of read/write handles may exist; can never
 *                  become read-only. POSIX: one O_RDWR fd.
 *
 * Duplication rule (cm_platform_shm_duplicate, Mojo's
 * SharedBufferDispatcher::DuplicateBufferHandle; it may change the SOURCE):
 *
 *   source      read-only dup requested         writable dup requested
 *   READ_ONLY   OK, new READ_ONLY                FAILED_PRECONDITION
 *   WRITABLE    source becomes READ_ONLY first,  source becomes UNSAFE first,
 *               then OK, new READ_ONLY           then OK, new UNSAFE
 *   UNSAFE      FAILED_PRECONDITION              OK, new UNSAFE
 *
 * So after a read-only duplicate of a writable buffer, no handle can create a
 * writable mapping any more (the original handle included); mappings made
 * before the conversion stay writable, which is how a producer keeps writing
 * what read-only consumers see. On Linux the conversion also seals the memfd
 * with F_SEAL_FUTURE_WRITE, so not even reopening the O_RDONLY fd through
 * /proc/self/fd with O_RDWR yields a writable mapping or a successful write().
 *
 * Regions created here are memfds sealed against shrinking and growing
 * (F_SEAL_SHRINK | F_SEAL_GROW), so no holder of a handle can truncate the
 * file under someone else's mapping (which would SIGBUS the mapper).
 * ------------------------------------------------------------------------- */

#define CM_PLATFORM_SHM_ACCESS_READ_ONLY 0u
#define CM_PLATFORM_SHM_ACCESS_WRITABLE 1u
#define CM_PLATFORM_SHM_ACCESS_UNSAFE 2u

/* Most OS handles one region consists of (WRITABLE on POSIX). */
#define CM_PLATFORM_SHM_MAX_HANDLES 2u

/* A region's GUID, laid out like MojoSharedBufferGuid. {0, 0} is never a
 * valid GUID (Mojo rejects it as an UnguessableToken). */
typedef struct cm_platform_shm_guid {
  uint64_t high;
  uint64_t low;
} cm_platform_shm_guid;

/* Opaque: owns its OS handles. */
typedef struct cm_platform_shm_region cm_platform_shm_region;

/* A mapping of (part of) a region into this address space. `base` and `size`
 * are what the caller asked for: base points at the requested offset, which
 * need not be page aligned. The other fields belong to the driver (the page
 * aligned span actually mapped). A mapping is independent of its region: it
 * stays valid after the region is destroyed, until cm_platform_shm_unmap(). */
typedef struct cm_platform_mapping {
  void *base;      /* first byte of the requested range */
  size_t size;     /* bytes requested */
  bool writable;   /* false: writing through base faults */
  void *map_start; /* driver: page-aligned start of the OS mapping */
  size_t map_len;  /* driver: length of the OS mapping */
} cm_platform_mapping;

/* Creates a WRITABLE region of `size` zeroed bytes with a fresh random GUID.
 * Returns OK and *out; INVALID_ARGUMENT if size is 0; RESOURCE_EXHAUSTED if
 * size exceeds CM_MAX_SHARED_MEMORY_BYTES or the OS is out of memory or fds;
 * another mapped errno for other OS failures (e.g. /proc not mounted, which
 * the read-only fd is opened through). */
MojoResult cm_platform_shm_create(uint64_t size, cm_platform_shm_region **out);

/* Closes the region's OS handles and frees it. NULL is a no-op. Existing
 * mappings are not affected. */
void cm_platform_shm_destroy(cm_platform_shm_region *region);

uint64_t cm_platform_shm_size(const cm_platform_shm_region *region);
cm_platform_shm_guid cm_platform_shm_get_guid(const cm_platform_shm_region *region);
uint32_t cm_platform_shm_access_mode(const cm_platform_shm_region *region);

/* Number of OS handles cm_platform_shm_unwrap() will hand out (1 or 2). */
uint32_t cm_platform_shm_handle_count(const cm_platform_shm_region *region);

/* Makes a second region for the same memory following the duplication rule
 * above; may convert `region` itself (only once the duplicate is sure to
 * succeed: on failure `region` is unchanged). Returns OK and *out;
 * FAILED_PRECONDITION for the two forbidden cases; RESOURCE_EXHAUSTED if out
 * of fds or memory. */
MojoResult cm_platform_shm_duplicate(cm_platform_shm_region *region, bool read_only,
                                     cm_platform_shm_region **out);

/* Maps bytes [offset, offset + size) of the region: read-only for READ_ONLY
 * regions, read/write otherwise. offset need not be page aligned (the driver
 * maps whole pages around the range and points mapping->base inside).
 * Returns OK and fills *mapping; INVALID_ARGUMENT if size is 0 or the range
 * does not lie within the region (checked without overflow);
 * RESOURCE_EXHAUSTED if the OS cannot map it; PERMISSION_DENIED if the OS
 * refuses the protection (e.g. someone else sealed the file). */
MojoResult cm_platform_shm_map(cm_platform_shm_region *region, uint64_t offset, uint64_t size,
                               cm_platform_mapping *mapping);

/* Unmaps a mapping made by cm_platform_shm_map() and clears *mapping. A
 * cleared (all-zero) mapping is a no-op. */
void cm_platform_shm_unmap(cm_platform_mapping *mapping);

/* Flags for cm_platform_shm_wrap(). */
#define CM_PLATFORM_SHM_WRAP_NONE 0u
/* The handles come from another process (a received message): also require
 * that the file is sealed against shrinking (F_SEAL_SHRINK), because the
 * sender could otherwise truncate it under our mapping and crash us with
 * SIGBUS. Regions made by cm_platform_shm_create() always pass. */
#define CM_PLATFORM_SHM_WRAP_UNTRUSTED 1u

/* Builds a region from existing OS handles: handles[0..num_handles) (2 for
 * WRITABLE, the O_RDWR fd first, then the O_RDONLY one; 1 otherwise), `size`
 * bytes, `guid` and `access_mode` as Mojo's
 * MojoWrapPlatformSharedMemoryRegion.
 * Ownership: if handles is NULL, access_mode is unknown or num_handles is not
 * the count that mode needs, returns INVALID_ARGUMENT and touches nothing
 * (the caller still owns the handles; Mojo also checks the count before
 * taking them). Otherwise it takes every handle of the array: on success they
 * belong to the region, on failure they are closed; either way the entries
 * are reset to invalid.
 * Checks made once it owns them (all give INVALID_ARGUMENT): every handle an
 * fd naming a regular file (memfds are), not O_PATH; size nonzero and not
 * beyond the file's length; guid not {0, 0}; flags known; fd access modes as
 * the access mode requires (O_RDONLY for READ_ONLY; O_RDWR for UNSAFE; O_RDWR
 * then O_RDONLY, on the same file, for WRITABLE); with
 * CM_PLATFORM_SHM_WRAP_UNTRUSTED, F_SEAL_SHRINK present (which only memfds
 * can have). A size above CM_MAX_SHARED_MEMORY_BYTES, or failing to allocate
 * the region, gives RESOURCE_EXHAUSTED. Returns OK and *out. */
MojoResult cm_platform_shm_wrap(cm_platform_handle *handles, uint32_t num_handles, uint64_t size,
                                cm_platform_shm_guid guid, uint32_t access_mode, uint32_t flags,
                                cm_platform_shm_region **out);

/* Takes the region apart: moves its cm_platform_shm_handle_count() handles
 * into out[] (in the order cm_platform_shm_wrap() expects), fills the unused
 * entries with invalid handles, and frees the region. Read size, GUID and
 * access mode with the getters first. Returns the number of handles. Cannot
 * fail. */
uint32_t cm_platform_shm_unwrap(cm_platform_shm_region *region,
                                cm_platform_handle out[CM_PLATFORM_SHM_MAX_HANDLES]);

#endif /* CMOJO_SRC_PLATFORM_PLATFORM_H_ */
