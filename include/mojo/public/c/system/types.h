/* Types and constants shared by every part of the Mojo C system API: handles,
 * result codes, handle signals, time, and the options of MojoInitialize().
 *
 * Every name, value and struct layout here matches Chromium's
 * mojo/public/c/system/types.h, so that code written against Mojo's C API
 * compiles unchanged. Compiles as C99, C11 and C++. */

#ifndef MOJO_PUBLIC_C_SYSTEM_TYPES_H_
#define MOJO_PUBLIC_C_SYSTEM_TYPES_H_

#include <stdint.h>

#include "mojo/public/c/system/macros.h"

/* MojoTimeTicks: a time or time span in microseconds. For absolute values
 * (MojoGetTimeTicksNow()) the origin is unspecified; only differences mean
 * something. */
typedef int64_t MojoTimeTicks;

/* MojoHandle: names a Mojo object (message pipe end, data pipe producer or
 * consumer, shared buffer, wrapped platform handle, trap) owned by the calling
 * process. Values are only meaningful within one process and are never
 * reused while the object is open. MOJO_HANDLE_INVALID is never a valid
 * handle. */
typedef uintptr_t MojoHandle;

#define MOJO_HANDLE_INVALID ((MojoHandle)0)

/* MojoResult: the outcome of a Mojo call. Zero (MOJO_RESULT_OK) is the only
 * success value; every other value, including values this header does not
 * know, is a failure.
 *   OK                  success.
 *   CANCELLED           the operation was cancelled (typically by the caller,
 *                       e.g. a trap trigger removed or its handle closed).
 *   UNKNOWN             failure with no more specific code.
 *   INVALID_ARGUMENT    an argument is invalid whatever the state of the
 *                       system (bad handle, null output pointer, bad flags,
 *                       malformed options struct...).
 *   DEADLINE_EXCEEDED   a deadline passed before the operation finished.
 *   NOT_FOUND           a requested entity does not exist.
 *   ALREADY_EXISTS      the entity or condition to create already exists.
 *   PERMISSION_DENIED   the caller may not perform the operation (not used
 *                       for resource exhaustion).
 *   RESOURCE_EXHAUSTED  a resource (memory, handle table, a quota, a size
 *                       limit) needed by the call is exhausted.
 *   FAILED_PRECONDITION the system is not in the state the operation needs;
 *                       the caller must change that state before retrying
 *                       (e.g. the peer is closed).
 *   ABORTED             the system gave up, e.g. due to concurrency; the
 *                       caller may retry at a higher level.
 *   OUT_OF_RANGE        the operation went past a valid range that may change
 *                       with the state of the system.
 *   UNIMPLEMENTED       the operation is not implemented, supported or
 *                       enabled.
 *   INTERNAL            an internal invariant was broken (a bug).
 *   UNAVAILABLE         temporarily unavailable; retrying may succeed.
 *   DATA_LOSS           unrecoverable loss or corruption of data.
 *   BUSY                a resource involved is in use (possibly on another
 *                       thread) in a way that prevents the operation, e.g.
 *                       a two-phase read or write is in progress.
 *   SHOULD_WAIT         cannot complete now (e.g. nothing to read yet); wait
 *                       for the right signal with a trap and try again.
 * Values 0..15 follow Google's canonical error space. */
typedef uint32_t MojoResult;

#define MOJO_RESULT_OK ((MojoResult)0)
#define MOJO_RESULT_CANCELLED ((MojoResult)1)
#define MOJO_RESULT_UNKNOWN ((MojoResult)2)
#define MOJO_RESULT_INVALID_ARGUMENT ((MojoResult)3)
#define MOJO_RESULT_DEADLINE_EXCEEDED ((MojoResult)4)
#define MOJO_RESULT_NOT_FOUND ((MojoResult)5)
#define MOJO_RESULT_ALREADY_EXISTS ((MojoResult)6)
#define MOJO_RESULT_PERMISSION_DENIED ((MojoResult)7)
#define MOJO_RESULT_RESOURCE_EXHAUSTED ((MojoResult)8)
#define MOJO_RESULT_FAILED_PRECONDITION ((MojoResult)9)
#define MOJO_RESULT_ABORTED ((MojoResult)10)
#define MOJO_RESULT_OUT_OF_RANGE ((MojoResult)11)
#define MOJO_RESULT_UNIMPLEMENTED ((MojoResult)12)
#define MOJO_RESULT_INTERNAL ((MojoResult)13)
#define MOJO_RESULT_UNAVAILABLE ((MojoResult)14)
#define MOJO_RESULT_DATA_LOSS ((MojoResult)15)
#define MOJO_RESULT_BUSY ((MojoResult)16)
#define MOJO_RESULT_SHOULD_WAIT ((MojoResult)17)

/* Flags for MojoInitializeOptions.flags. */
typedef uint32_t MojoInitializeFlags;

/* No flags: initialize fully as an ordinary (non-broker) process. */
#define MOJO_INITIALIZE_FLAG_NONE ((MojoInitializeFlags)0)

/* This process is the broker of its IPC network. A connected network of
 * processes has exactly one broker, which is its first member; a broker can
 * never be invited into another network. Ignored together with LOAD_ONLY. */
#define MOJO_INITIALIZE_FLAG_AS_BROKER ((MojoInitializeFlags)1)

/* Although not the broker, this process allocates shared memory itself
 * instead of asking the broker (for privileged, unsandboxed processes).
 * Ignored together with LOAD_ONLY. */
#define MOJO_INITIALIZE_FLAG_FORCE_DIRECT_SHARED_MEMORY_ALLOCATION ((MojoInitializeFlags)2)

/* First phase of a two-phase initialization: set up global state but do not
 * start IPC support (which may start a background thread, unwelcome before
 * fork() or sandboxing). All other API functions stay unavailable until
 * MojoInitialize() is called again without this flag. */
#define MOJO_INITIALIZE_FLAG_LOAD_ONLY ((MojoInitializeFlags)4)

/* Options for MojoInitialize(). A null options pointer means defaults. */
struct MOJO_ALIGNAS(8) MojoInitializeOptions {
  /* sizeof(struct MojoInitializeOptions) as known to the caller (versioning:
   * fields past struct_size are treated as absent, i.e. defaulted). */
  uint32_t struct_size;

  /* A combination of MOJO_INITIALIZE_FLAG_* values. */
  MojoInitializeFlags flags;

  /* UTF-8 path (not NUL-terminated; length in bytes) of a Mojo Core shared
   * library to load. Mojo uses it to find a dynamically loaded core; cmojo is
   * always linked in, so it ignores these two fields. */
  MOJO_POINTER_FIELD(const char*, mojo_core_path);
  uint32_t mojo_core_path_length;

  /* argc/argv of the process's main(), on POSIX. Only the first successful
   * full initialization looks at them. */
  int32_t argc;
  MOJO_POINTER_FIELD(const char* const*, argv);
};
MOJO_STATIC_ASSERT(sizeof(struct MojoInitializeOptions) == 32,
                   "MojoInitializeOptions has wrong size");

/* Flags and options of Mojo's MojoShutdown(). cmojo has no dynamically
 * loaded core to unload and does not provide MojoShutdown(); the types are
 * kept only so that code mentioning them still compiles. */
typedef uint32_t MojoShutdownFlags;

#define MOJO_SHUTDOWN_FLAG_NONE ((MojoShutdownFlags)0)

struct MOJO_ALIGNAS(8) MojoShutdownOptions {
  uint32_t struct_size;
  MojoShutdownFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoShutdownOptions) == 8, "MojoShutdownOptions has wrong size");

/* MojoHandleSignals: a bitmask of conditions of a handle that can be queried
 * and watched with a trap.
 *   NONE              no signal. A trigger watching no signal can never be
 *                     satisfied: arming fails with FAILED_PRECONDITION.
 *   READABLE          a message (message pipe) or data (data pipe consumer)
 *                     can be read now.
 *   WRITABLE          a write can be made now (message pipe: the peer is
 *                     open; data pipe producer: there is free capacity).
 *   PEER_CLOSED       the other end is closed. Once set it stays set.
 *   NEW_DATA_READABLE data pipe consumer only: READABLE is set and data has
 *                     arrived since the last MojoReadData() or
 *                     MojoBeginReadData() on this handle.
 *   PEER_REMOTE       the other end lives in another process. Best effort:
 *                     may briefly lag behind the peer's real location.
 *   QUOTA_EXCEEDED    at least one quota set with MojoSetQuota() on this
 *                     handle is currently exceeded. */
typedef uint32_t MojoHandleSignals;

#define MOJO_HANDLE_SIGNAL_NONE ((MojoHandleSignals)0)
#define MOJO_HANDLE_SIGNAL_READABLE ((MojoHandleSignals)1 << 0)
#define MOJO_HANDLE_SIGNAL_WRITABLE ((MojoHandleSignals)1 << 1)
#define MOJO_HANDLE_SIGNAL_PEER_CLOSED ((MojoHandleSignals)1 << 2)
#define MOJO_HANDLE_SIGNAL_NEW_DATA_READABLE ((MojoHandleSignals)1 << 3)
#define MOJO_HANDLE_SIGNAL_PEER_REMOTE ((MojoHandleSignals)1 << 4)
#define MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED ((MojoHandleSignals)1 << 5)

/* MojoHandleSignalsState: the signal state of one handle at one moment.
 *   satisfied_signals   signals that held at that moment.
 *   satisfiable_signals signals that could still become (or remain)
 *                       satisfied; a signal missing here can never be
 *                       satisfied again (e.g. READABLE after the peer
 *                       closed and the queue drained). Always a superset of
 *                       satisfied_signals.
 * This struct has no struct_size and is never extended; it holds only 32-bit
 * fields and is therefore 4-byte aligned. */
MOJO_STATIC_ASSERT(MOJO_ALIGNOF(int32_t) == 4, "int32_t has odd alignment");
struct MOJO_ALIGNAS(4) MojoHandleSignalsState {
  MojoHandleSignals satisfied_signals;
  MojoHandleSignals satisfiable_signals;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoHandleSignalsState) == 8,
                   "MojoHandleSignalsState has wrong size");

/* Older names of the trap trigger conditions (defined in trap.h), kept
 * because Mojo still offers them. */
#define MOJO_WATCH_CONDITION_SATISFIED MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED
#define MOJO_WATCH_CONDITION_NOT_SATISFIED MOJO_TRIGGER_CONDITION_SIGNALS_UNSATISFIED

#endif /* MOJO_PUBLIC_C_SYSTEM_TYPES_H_ */
