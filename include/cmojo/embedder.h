/* cmojo embedder mode: all of cmojo's I/O on the application's own thread,
 * inside the application's own event loop (DESIGN §3).
 *
 * By default MojoInitialize() starts one I/O thread that services every
 * connection to other processes. cmojo_initialize_embedded() starts none:
 * the application polls cmojo_get_fd() for readability in its loop (epoll,
 * poll, libuv, GLib, libevent...) and calls cmojo_process() when it is
 * readable. Messages from other processes are then read, and trap handlers
 * for their arrival run, only inside cmojo_process(), on the thread that
 * calls it. Writes never wait for the loop: a write goes to the socket at
 * once and is only queued when the kernel does not take it (the fd then
 * becomes readable when the queue can move). */
#ifndef CMOJO_EMBEDDER_H_
#define CMOJO_EMBEDDER_H_

#include <stdint.h>

#include "mojo/public/c/system/functions.h"
#include "mojo/public/c/system/system_export.h"
#include "mojo/public/c/system/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* MojoInitialize() without an I/O thread; same options and results. */
MOJO_SYSTEM_EXPORT MojoResult
cmojo_initialize_embedded(const struct MojoInitializeOptions* options);

/* The fd to watch for readability (level-triggered: readable as long as
 * cmojo_process() has work). -1 when not initialized in embedder mode.
 * Never close it. */
MOJO_SYSTEM_EXPORT int cmojo_get_fd(void);

/* Does the work that is ready, without waiting, and returns (one pass: if
 * more is left, the fd stays readable and the next call does it). Returns OK;
 * FAILED_PRECONDITION when not in embedder mode, or when called from inside
 * itself (a trap handler) or from two threads at once. */
MOJO_SYSTEM_EXPORT MojoResult cmojo_process(void);

/* How long the embedder may wait before calling cmojo_process() even if the
 * fd stays quiet, in microseconds, or -1 for no limit. cmojo keeps no timers:
 * everything it has to do makes the fd readable, so this is always -1 today;
 * a loop that honours it stays correct if a later version adds timers. */
MOJO_SYSTEM_EXPORT int64_t cmojo_get_timeout_us(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CMOJO_EMBEDDER_H_ */
