/* Initialization, time, and the functions that apply to every kind of
 * handle: MojoInitialize(), MojoGetTimeTicksNow(), MojoClose(),
 * MojoQueryHandleSignalsState().
 *
 * Conventions shared by every function of the Mojo C API in cmojo (the other
 * headers refer to this paragraph instead of repeating it):
 *
 *  - Threads. Every function may be called from any thread, concurrently,
 *    except that a message object (MojoMessageHandle) must be used by one
 *    thread at a time. Trap event handlers may run on any thread and may call
 *    the API themselves.
 *  - Initialization. MojoInitialize() must fully succeed (a call without
 *    MOJO_INITIALIZE_FLAG_LOAD_ONLY) before any other function is used, apart
 *    from MojoGetTimeTicksNow(). Mojo leaves earlier calls undefined; cmojo
 *    makes them return MOJO_RESULT_FAILED_PRECONDITION and do nothing.
 *  - Options. Every `options` argument may be NULL, meaning defaults. When it
 *    is not NULL, options->struct_size says how much of the struct the
 *    caller knows (versioning): a value below 8, too small to hold
 *    struct_size and flags, makes the call return
 *    MOJO_RESULT_INVALID_ARGUMENT ("|options| is malformed") and do nothing;
 *    a field that does not lie entirely within struct_size bytes is treated
 *    as absent and takes its default; bytes beyond the struct as declared
 *    here (from a newer caller) are ignored. Flag bits this version does not
 *    define are ignored, except where a function lists
 *    MOJO_RESULT_UNIMPLEMENTED for them. Every struct here is plain data:
 *    code must name it with the `struct` keyword, as in Mojo (there are no
 *    typedefs for struct names).
 *  - Caller-filled structs that are not options (MojoPlatformHandle,
 *    MojoSharedBufferInfo) must have struct_size set to at least their size
 *    as declared here, otherwise the call returns
 *    MOJO_RESULT_INVALID_ARGUMENT.
 *  - Outputs. Output arguments are written only when the call returns
 *    MOJO_RESULT_OK, unless a function says otherwise (e.g. MojoArmTrap()
 *    reports blocking events on failure).
 *  - Handles. A MojoHandle is valid from the call that returns it until it is
 *    closed, or transferred (attached to a message, fused, unwrapped). After
 *    that the value is invalid and any use returns
 *    MOJO_RESULT_INVALID_ARGUMENT. */

#ifndef MOJO_PUBLIC_C_SYSTEM_FUNCTIONS_H_
#define MOJO_PUBLIC_C_SYSTEM_FUNCTIONS_H_

#include "mojo/public/c/system/system_export.h"
#include "mojo/public/c/system/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Initializes Mojo for this process. Must precede every other API call
 * (except MojoGetTimeTicksNow()).
 *
 * With MOJO_INITIALIZE_FLAG_LOAD_ONLY only the first phase runs (global state,
 * no thread started); a later call without the flag completes
 * initialization. Without the flag, one call does both phases. AS_BROKER
 * makes this process the broker of its IPC network; FORCE_DIRECT_SHARED_
 * MEMORY_ALLOCATION lets a non-broker allocate shared memory itself. Both are
 * ignored on a LOAD_ONLY call. cmojo is linked into the program, so the
 * mojo_core_path fields are ignored; argc/argv are recorded on the first
 * full initialization only.
 *
 * |options| may be NULL (defaults). Thread safety: may be called from any
 * thread, but the process must not race two MojoInitialize() calls against
 * each other.
 *
 * Returns:
 *   MOJO_RESULT_OK                  initialization (of the requested phase)
 *                                   succeeded.
 *   MOJO_RESULT_INVALID_ARGUMENT    |options| is not NULL and is malformed.
 *   MOJO_RESULT_FAILED_PRECONDITION Mojo is already fully initialized.
 *   MOJO_RESULT_ALREADY_EXISTS      LOAD_ONLY was given but the first phase
 *                                   was already done by an earlier LOAD_ONLY
 *                                   call.
 *   MOJO_RESULT_NOT_FOUND           (Mojo: the core library could not be
 *                                   loaded.) Never returned by cmojo, which
 *                                   has no separately loaded core.
 *   MOJO_RESULT_RESOURCE_EXHAUSTED  (cmojo) the process could not provide what
 *                                   initialization needs (memory, a thread,
 *                                   file descriptors); the call may be
 *                                   retried. */
MOJO_SYSTEM_EXPORT MojoResult MojoInitialize(const struct MojoInitializeOptions* options);

/* Returns a monotonic clock reading in microseconds since an unspecified
 * origin. Readings never decrease and are only comparable within one boot of
 * one machine. The resolution may be coarser than a microsecond. Never fails;
 * may be called from any thread, even before MojoInitialize(). */
MOJO_SYSTEM_EXPORT MojoTimeTicks MojoGetTimeTicksNow(void);

/* Closes |handle|, of any type, and releases what it owns: closing a pipe end
 * signals PEER_CLOSED to the other end, closing a trap cancels all its
 * triggers (each trigger's handler receives a final MOJO_RESULT_CANCELLED
 * event), closing a wrapped platform handle closes the OS handle, and
 * closing the handle a trigger watches cancels that trigger. Mappings made
 * with MojoMapBuffer() stay valid after their buffer handle is closed.
 *
 * Operations racing with the close on another thread either complete before
 * it, fail with MOJO_RESULT_INVALID_ARGUMENT after it, or (for operations
 * that were in progress, e.g. trap events) finish with
 * MOJO_RESULT_CANCELLED.
 *
 * Returns:
 *   MOJO_RESULT_OK               the handle was closed; its value is now
 *                                invalid.
 *   MOJO_RESULT_INVALID_ARGUMENT |handle| is not a valid handle (never opened,
 *                                already closed, or transferred).
 *   MOJO_RESULT_BUSY             |handle| is currently being transferred by a
 *                                concurrent call on another thread (for
 *                                example it is being attached to a message);
 *                                the handle stays open. */
MOJO_SYSTEM_EXPORT MojoResult MojoClose(MojoHandle handle);

/* Stores the current signal state of |handle| into |*signals_state|. The
 * state may change immediately after the call returns (another thread, or
 * another process, may act on the pipe); use a trap to wait for a change.
 * Handles that have no signals (shared buffers, wrapped platform handles,
 * traps) report zero satisfied and zero satisfiable signals.
 *
 * Returns:
 *   MOJO_RESULT_OK               |*signals_state| holds the state.
 *   MOJO_RESULT_INVALID_ARGUMENT |handle| is not a valid handle, or
 *                                |signals_state| is NULL. */
MOJO_SYSTEM_EXPORT MojoResult
MojoQueryHandleSignalsState(MojoHandle handle, struct MojoHandleSignalsState* signals_state);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOJO_PUBLIC_C_SYSTEM_FUNCTIONS_H_ */
