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
 * Still to come, declared only once built: the Mach and Windows drivers
 * behind the same declarations. */
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

/* Number of OS handles a region of `access_mode` is made of on this OS (the
 * count wrap expects and unwrap hands out); 0 for an unknown mode. */
uint32_t cm_platform_shm_handles_for_mode(uint32_t access_mode);

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

/* Asks the OS to back every page of `mapping` now instead of at first touch
 * (Linux: MADV_POPULATE_WRITE / _READ, 5.14+). For memory that will be used
 * whole and soon, such as a data pipe's ring, where a page fault per page on
 * the streaming path costs more than the copy. Best effort: an OS without
 * it, or without the memory, just leaves the pages to fault in later. Any
 * thread. */
void cm_platform_shm_prefault(const cm_platform_mapping *mapping);

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

/* ----------------------------------------------------------------------------
 * I/O readiness: the poller
 *
 * A level-triggered readiness set (epoll on Linux) that is itself one
 * pollable OS handle, so an embedder can nest it in its own event loop, plus
 * a wakeup another thread can trigger (an eventfd on Linux). The I/O thread
 * and embedder mode of the core wait on one of these.
 *
 * Handles are borrowed: the poller never closes what it watches. Remove a
 * handle before closing it (a closed fd may be reused by a new object while
 * its registration lingers). Registration calls (add/modify/remove) and wake
 * may be made from any thread, also while another thread waits; wait itself
 * is for one thread at a time.
 * ------------------------------------------------------------------------- */

/* Interest and readiness bits. */
#define CM_PLATFORM_POLL_READ 1u  /* readable, or the peer hung up (read to see EOF) */
#define CM_PLATFORM_POLL_WRITE 2u /* writable */
#define CM_PLATFORM_POLL_ERROR 4u /* readiness only: error or hang-up on the handle */

/* The one tag callers may not register (the poller's own wakeup uses it). */
#define CM_PLATFORM_POLL_TAG_RESERVED UINT64_MAX

typedef struct cm_platform_poller cm_platform_poller;

/* One ready handle, as cm_platform_poller_wait() reports it. */
typedef struct cm_platform_poll_event {
  uint64_t tag;    /* the tag given to add/modify */
  uint32_t events; /* CM_PLATFORM_POLL_* bits */
} cm_platform_poll_event;

/* Creates a poller with nothing registered. Returns OK and *out;
 * RESOURCE_EXHAUSTED if out of fds or memory. */
MojoResult cm_platform_poller_create(cm_platform_poller **out);

/* Closes the poller's own OS handles and frees it. Watched handles are not
 * closed. NULL is a no-op. No other thread may be using the poller. */
void cm_platform_poller_destroy(cm_platform_poller *poller);

/* The poller's own handle: readable (level-triggered) whenever a wait would
 * report something or a wakeup is pending. Borrowed; valid until destroy. */
cm_platform_handle cm_platform_poller_handle(const cm_platform_poller *poller);

/* Starts watching h for `interest` (READ and/or WRITE; 0 watches for errors
 * and hang-ups only); events for it carry `tag`. Returns OK;
 * INVALID_ARGUMENT if h is not an open fd, is the poller's own, cannot be
 * polled (a regular file), interest has unknown bits or tag is
 * CM_PLATFORM_POLL_TAG_RESERVED;
 * ALREADY_EXISTS if h is already watched; RESOURCE_EXHAUSTED if the kernel
 * is out of memory or the user's epoll watch limit is reached. */
MojoResult cm_platform_poller_add(cm_platform_poller *poller, cm_platform_handle h,
                                  uint32_t interest, uint64_t tag);

/* Changes the interest and tag of a watched handle. Returns OK;
 * INVALID_ARGUMENT as for add; NOT_FOUND if h is not watched. */
MojoResult cm_platform_poller_modify(cm_platform_poller *poller, cm_platform_handle h,
                                     uint32_t interest, uint64_t tag);

/* Stops watching h. Returns OK; INVALID_ARGUMENT if h is not an open fd;
 * NOT_FOUND if it is not watched. */
MojoResult cm_platform_poller_remove(cm_platform_poller *poller, cm_platform_handle h);

/* Waits until at least one watched handle is ready, a wakeup arrives, or
 * `timeout_us` microseconds pass (negative: no limit; 0: just look; other
 * values are rounded up to whole milliseconds), then writes up to
 * max_events ready handles to events[] and their number to *num_events (0
 * after a wakeup or a timeout). A pending wakeup is consumed by the wait
 * that sees it. EINTR returns OK with 0 events rather than restarting with
 * a stale timeout. Returns OK; INVALID_ARGUMENT if events is NULL or
 * max_events is 0. */
MojoResult cm_platform_poller_wait(cm_platform_poller *poller, int64_t timeout_us,
                                   cm_platform_poll_event *events, size_t max_events,
                                   size_t *num_events);

/* Makes the current or next wait return. Any thread; async-signal-safe.
 * Several wakes before a wait count as one. Returns OK, or the mapped errno
 * if the eventfd write fails for a reason other than being full. */
MojoResult cm_platform_poller_wake(cm_platform_poller *poller);

/* ----------------------------------------------------------------------------
 * Connecting two processes
 *
 * A channel endpoint is a connected stream socket (AF_UNIX, SOCK_STREAM on
 * Linux) in a cm_platform_handle, ready to become a transport. There are two
 * ways to get one to another process:
 *
 * 1. A pair: cm_platform_channel_create_pair(), one end for us, the other
 *    handed to a child. Every fd is close-on-exec, so the child's end must be
 *    made inheritable for exactly the one exec that starts the child, and
 *    the switch "--mojo-platform-channel-handle=N" goes on its command line.
 *    cm_platform_channel_spawn() does both; a launcher that forks by itself
 *    calls cm_platform_channel_prepare_for_exec() between fork() and exec()
 *    in the child (it changes only the child's fd table) and formats the
 *    switch with cm_platform_channel_format_switch(). The child finds its end
 *    with cm_platform_channel_from_switch(), which makes it close-on-exec
 *    again.
 * 2. A named endpoint (Mojo's CHANNEL_SERVER): a listening Unix socket at a
 *    file system path; unrelated processes connect to it by name.
 * ------------------------------------------------------------------------- */

/* The switch that names an inherited channel end, as Chromium's. */
#define CM_PLATFORM_CHANNEL_SWITCH "--mojo-platform-channel-handle"

/* Creates a connected pair of channel endpoints, both close-on-exec. Returns
 * OK, *a and *b; RESOURCE_EXHAUSTED if out of fds. */
MojoResult cm_platform_channel_create_pair(cm_platform_handle *a, cm_platform_handle *b);

/* Clears close-on-exec on h so that it survives the next exec. For the child
 * side of a fork(), between fork() and exec(): the flag lives in the fd
 * table, which the child has its own copy of, so the parent's fd stays
 * close-on-exec and no other concurrently launched child inherits it.
 * Async-signal-safe. Returns OK, or INVALID_ARGUMENT if h is not an open fd. */
MojoResult cm_platform_channel_prepare_for_exec(cm_platform_handle h);

/* Writes "--mojo-platform-channel-handle=N" (N the fd of h, in decimal) and
 * a terminating NUL to buf. Returns OK; INVALID_ARGUMENT if h holds no fd;
 * RESOURCE_EXHAUSTED if buf (of buf_len bytes) is too small. Async-signal-
 * safe (no allocation, no locale). */
MojoResult cm_platform_channel_format_switch(cm_platform_handle h, char *buf, size_t buf_len);

/* Looks for "--mojo-platform-channel-handle=N" among argv[0..argc) (the last
 * occurrence wins) and takes the fd it names: checks that N is a plain
 * decimal fd number, that the fd is open and is a Unix stream socket, sets
 * close-on-exec on it, and writes it to *out (the caller now owns it).
 * Returns OK; NOT_FOUND if no argument has the switch; INVALID_ARGUMENT if
 * the value is malformed or names no open Unix stream socket. */
MojoResult cm_platform_channel_from_switch(int argc, char *const argv[], cm_platform_handle *out);

/* Whether h is a channel endpoint: a connected Unix stream socket, or with
 * `listening`, a listening one. */
bool cm_platform_channel_is_endpoint(cm_platform_handle h, bool listening);

/* Starts the program at `path` with arguments argv (NULL-terminated,
 * argv[0] included) followed by the switch naming *child_end, and
 * environment envp (NULL: this process's). The child inherits *child_end at
 * the same fd number and nothing else of ours that is close-on-exec; the fd
 * is made inheritable in the child only (posix_spawn's dup2-onto-itself,
 * which clears close-on-exec there), so no other child launched at the same
 * time gets it. Takes *child_end (closed in this process on success and
 * failure, reset to invalid). Does not wait for the child; reap it with
 * waitpid(). Returns OK and *pid; INVALID_ARGUMENT if an argument is NULL or
 * *child_end holds no fd; RESOURCE_EXHAUSTED if out of memory or processes;
 * NOT_FOUND if there is no program at path; PERMISSION_DENIED if it may not
 * be executed; another mapped errno for other failures to start it. */
MojoResult cm_platform_channel_spawn(const char *path, char *const argv[], char *const envp[],
                                     cm_platform_handle *child_end, int64_t *pid);

/* Listens on the Unix socket path `path` (at most 107 bytes on Linux). A
 * stale socket file at the path (a socket nobody listens on) is removed
 * first; a live one, or any other kind of file, is left alone (telling the
 * two apart takes a connection attempt, which a live listener sees as a
 * connection closed at once). The socket
 * file gets mode 0600 (only this user may connect). The file is created with
 * the process's umask and restricted right after, so put it in a directory
 * only this user can enter if that window matters. The listener is
 * non-blocking and close-on-exec; watch it for READ with a poller and call
 * cm_platform_channel_accept(). Returns OK and *listener;
 * INVALID_ARGUMENT if path is empty or too long; ALREADY_EXISTS if the
 * path is taken (by a live listener or a non-socket); a mapped errno for
 * other failures (PERMISSION_DENIED, NOT_FOUND for a missing directory). */
MojoResult cm_platform_channel_listen(const char *path, cm_platform_handle *listener);

/* Accepts one pending connection on a listener, without blocking. The new
 * endpoint is close-on-exec. Returns OK and *out; SHOULD_WAIT if nobody is
 * waiting to connect; INVALID_ARGUMENT if listener is not a listening
 * socket; RESOURCE_EXHAUSTED if out of fds. */
MojoResult cm_platform_channel_accept(cm_platform_handle listener, cm_platform_handle *out);

/* Connects to a listener at `path`. The connection itself does not block on
 * Linux (a full backlog gives SHOULD_WAIT). Returns OK and *out;
 * INVALID_ARGUMENT for a bad path; NOT_FOUND if nothing is at the path;
 * FAILED_PRECONDITION if nobody listens there; PERMISSION_DENIED if the
 * socket file's mode refuses us. */
MojoResult cm_platform_channel_connect(const char *path, cm_platform_handle *out);

/* Removes the socket file of a named endpoint (the listener itself is closed
 * with cm_platform_handle_close()). Returns OK or a mapped errno. */
MojoResult cm_platform_channel_unlink(const char *path);

/* ----------------------------------------------------------------------------
 * Transports
 *
 * A transport carries frames, each a run of bytes plus up to
 * CM_MAX_OS_HANDLES_PER_FRAME OS handles, between this process and the peer
 * at the other end of a channel endpoint. The framing is documented in
 * docs/transport.md. A shared memory region travels as its OS handles:
 * cm_platform_shm_unwrap() on the sending side, cm_platform_shm_wrap() with
 * CM_PLATFORM_SHM_WRAP_UNTRUSTED on the receiving side.
 * Everything received is untrusted: a frame whose header lies (sizes,
 * alignment, handle counts, with handles arriving split across reads) fails
 * the transport with a named reason; it never crashes, and every received OS
 * handle is closed on every failure path.
 *
 * Threads. cm_platform_transport_write() may be called from any thread at
 * any time (it takes the transport's write lock; it never blocks on the
 * peer). on_readable/on_writable/shutdown are called by one thread at a time
 * (the I/O thread or the embedder's loop); the delegate's on_frame and
 * on_error run only inside on_readable/on_writable, on that thread, with no
 * transport lock held, so they may call write() and shutdown() (not
 * destroy()). on_write_interest runs on whatever thread changes the wish,
 * with the write lock held: it must only record the wish (e.g. call
 * cm_platform_poller_modify()), never call back into the transport.
 *
 * Writes. A write goes straight to the socket when nothing is queued; what
 * the kernel does not take is copied to a queue and sent from on_writable.
 * The transport wants write readiness exactly while its queue is non-empty
 * (or a write failed and on_writable must report it).
 *
 * Errors. on_error is called at most once, after which no callback runs and
 * writes fail with FAILED_PRECONDITION (queued frames are dropped, their
 * handles closed; on_write_interest(false) comes first if needed).
 * Reasons: FAILED_PRECONDITION, the peer closed or reset the connection (also
 * in the middle of a frame); INVALID_ARGUMENT, the peer broke the framing
 * rules (a bad message; the string says which); RESOURCE_EXHAUSTED, a frame
 * could not be buffered, or the kernel truncated the handles it passed
 * (MSG_CTRUNC); another mapped errno for other socket failures. After
 * on_error the owner should stop watching the endpoint (it stays readable)
 * and destroy the transport.
 * ------------------------------------------------------------------------- */

typedef struct cm_platform_transport cm_platform_transport;

typedef struct cm_platform_transport_delegate {
  /* A complete frame: its payload bytes[0..num_bytes) (8-byte aligned,
   * valid only during the call) and its OS handles. The delegate takes every handle in
   * handles[0..num_handles) (it must close or keep each one); the array
   * itself belongs to the transport. */
  void (*on_frame)(void *context, const void *bytes, size_t num_bytes, cm_platform_handle *handles,
                   size_t num_handles);
  /* The transport failed for good; `why` is a static string naming the
   * cause. Called at most once. */
  void (*on_error)(void *context, MojoResult reason, const char *why);
  /* Optional (may be NULL): the transport's wish for write readiness
   * changed to `want` (see Threads above for the rules). */
  void (*on_write_interest)(void *context, bool want);
} cm_platform_transport_delegate;

/* Peer credentials: captured when the transport is created (SO_PEERCRED,
 * SO_PEERPIDFD), then replaced once by the credentials the kernel attaches
 * to the first data the peer writes (SO_PASSCRED), which name the process
 * that wrote it. The second step matters for socket pairs: the kernel
 * records the process that created a pair as both ends' peer, so a parent
 * would otherwise see itself for a child it launched, and a node for a
 * channel the broker made. Until the peer has written, they may be those of
 * the pair's creator. For a named endpoint both steps give the connecting
 * (or listening) process. */
typedef struct cm_platform_peer_credentials {
  int64_t pid;
  uint32_t uid;
  uint32_t gid;
  /* A pidfd for the peer process, or invalid where the kernel has none.
   * Borrowed: owned by the transport, valid until destroy (duplicate it to
   * keep it longer). */
  cm_platform_handle pidfd;
  /* true: the kernel tied the pidfd to the peer (SO_PEERPIDFD, Linux 6.5+).
   * false with a valid pidfd: it was opened from the pid afterwards
   * (pidfd_open), which is racy: the peer may have exited and its pid been
   * reused by an unrelated process in between. */
  bool pidfd_exact;
} cm_platform_peer_credentials;

/* Creates a transport over the channel endpoint *endpoint, which it takes
 * (on failure too; *endpoint is reset to invalid unless the arguments are
 * NULL). Makes the socket non-blocking and reads the peer credentials. The
 * delegate struct is copied; `context` is passed to its functions. Nothing
 * is read until on_readable is called. Returns OK and *out;
 * INVALID_ARGUMENT if an argument is NULL, on_frame or on_error is NULL, or
 * the endpoint is not a Unix stream socket or is a listening one; RESOURCE_EXHAUSTED if
 * out of memory. */
MojoResult cm_platform_transport_create(cm_platform_handle *endpoint,
                                        const cm_platform_transport_delegate *delegate,
                                        void *context, cm_platform_transport **out);

/* Closes the endpoint, every queued or received-but-undelivered OS handle,
 * and frees the transport. No callback runs. NULL is a no-op. No other
 * thread may be using the transport, and it must not be called from inside
 * one of its callbacks. Remove the endpoint from any poller first. */
void cm_platform_transport_destroy(cm_platform_transport *transport);

/* Sends one frame: bytes[0..num_bytes) (copied if it must be queued) and
 * handles[0..num_handles). Never blocks.
 * Ownership: if the arguments are refused (first three codes below) nothing
 * is touched and the caller keeps its handles. Otherwise the transport takes
 * every handle (success or not) and resets the entries to invalid; it closes
 * its copies once the kernel has passed them on, or on failure.
 * Returns OK (sent, or queued behind earlier frames);
 * INVALID_ARGUMENT if transport is NULL, bytes is NULL with num_bytes > 0,
 * handles is NULL with num_handles > 0, or a handle is not an fd;
 * RESOURCE_EXHAUSTED if num_handles exceeds CM_MAX_OS_HANDLES_PER_FRAME or
 * num_bytes exceeds CM_MAX_FRAME_PAYLOAD_BYTES, or (handles taken) the queue
 * cannot be allocated; FAILED_PRECONDITION (handles taken) if the transport
 * has been shut down or has failed, or the peer is gone (on_error follows
 * from on_writable). */
MojoResult cm_platform_transport_write(cm_platform_transport *transport, const void *bytes,
                                       size_t num_bytes, cm_platform_handle *handles,
                                       size_t num_handles);

/* The second piece of a frame's payload (cm_platform_transport_write2): its
 * bytes and, optionally, the buffer they live in (from
 * cm_platform_buffer_alloc), which the transport then owns. */
typedef struct cm_platform_tail {
  const void *bytes;
  size_t num_bytes;
  void *owner; /* NULL: the caller keeps the bytes */
  size_t owner_capacity;
} cm_platform_tail;

/* The same for a frame whose payload is in two pieces, bytes[0..num_bytes)
 * then the tail: neither is copied when the socket takes the whole frame,
 * so a large message goes out without being gathered first. What the socket
 * does not take is queued: the first piece (and, without an owner, the
 * tail) copied; with an owner the tail stays where it is and the transport
 * frees the owner once the frame is sent or dropped. The transport takes the
 * owner whatever the result (tail->owner is cleared). */
MojoResult cm_platform_transport_write2(cm_platform_transport *transport, const void *bytes,
                                        size_t num_bytes, cm_platform_tail *tail,
                                        cm_platform_handle *handles, size_t num_handles);

/* The endpoint to watch for readiness (borrowed, valid until destroy). */
cm_platform_handle cm_platform_transport_handle(const cm_platform_transport *transport);

/* Whether the transport wants to be told when the endpoint is writable. */
bool cm_platform_transport_wants_write(cm_platform_transport *transport);

/* Readiness callbacks for the owner's poller: read what the socket has (and
 * deliver complete frames), or flush the queue. A level-triggered poller
 * may call them spuriously. No-ops after shutdown or on_error. */
void cm_platform_transport_on_readable(cm_platform_transport *transport);
void cm_platform_transport_on_writable(cm_platform_transport *transport);

/* Stops the transport: discards queued frames (closing their handles), shuts
 * the socket down in both directions (the peer sees end of file), and no
 * callback runs once it returns (it may itself call on_write_interest(false)
 * if the transport wanted write readiness). Later writes fail with
 * FAILED_PRECONDITION. Idempotent. May be called from inside a callback. */
void cm_platform_transport_shutdown(cm_platform_transport *transport);

/* From inside on_frame only: takes the read buffer that holds the frame
 * being delivered, so the frame's bytes need not be copied out (they stay
 * where on_frame was told, now in *base, a cm_platform_buffer_alloc buffer of
 * *capacity bytes the caller frees with cm_platform_buffer_free). Works only
 * for a large frame (64 KiB and more) that has the buffer to itself; returns
 * false otherwise, changing nothing. The transport reads on into a new
 * buffer. */
bool cm_platform_transport_take_frame(cm_platform_transport *transport, void **base,
                                      size_t *capacity);

/* Copies the peer credentials known now to *out (pidfd borrowed, see the
 * struct). Returns OK; INVALID_ARGUMENT if an argument is NULL. */
MojoResult cm_platform_transport_peer_credentials(const cm_platform_transport *transport,
                                                  cm_platform_peer_credentials *out);

/* ---- Large buffers -------------------------------------------------------
 *
 * A pool of large byte buffers kept for reuse (buffer_pool.c), for the
 * payloads and frames that messages of 64 KiB and more need on every hop.
 * cm_platform_buffer_alloc returns a buffer of at least n bytes and its
 * capacity in *capacity (NULL and 0 when out of memory); small requests are
 * plain malloc. Give every such buffer back with cm_platform_buffer_free
 * and that same capacity (never to free() or realloc()). Thread-safe. */
void *cm_platform_buffer_alloc(size_t n, size_t *capacity);
void cm_platform_buffer_free(void *p, size_t capacity);

#endif /* CMOJO_SRC_PLATFORM_PLATFORM_H_ */
