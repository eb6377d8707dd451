/* core: the process-wide instance behind the Mojo C API.
 *
 * One core per process, set up by MojoInitialize(): the local ports node
 * (with a random name) and its delegate, which turns port status changes into
 * dispatcher signal updates. The handle table (handle_table.h) is the other
 * piece of process-wide state.
 *
 * Ports and dispatchers are joined through the port's user data: a port
 * observed by a dispatcher holds a reference on it. Reading that pointer and
 * taking the reference happen under one of a set of striped locks, so a
 * dispatcher closing on one thread cannot be freed under a status change
 * delivered on another.
 *
 * Every API entry point runs inside CM_API_BEGIN/CM_API_END, which checks
 * initialization and opens a request context (request_context.h) so trap
 * events run after all locks are released.
 */
#ifndef CMOJO_CORE_CORE_H_
#define CMOJO_CORE_CORE_H_

#include <stdbool.h>

#include "core/dispatcher.h"
#include "core/request_context.h"
#include "ports/ports.h"

/* True once MojoInitialize() has fully succeeded. */
bool cm_core_is_initialized(void);

/* The process's ports node. Only valid once initialized. */
cm_node *cm_core_node(void);

/* Makes `d` the observer of `port`: status changes of the port reach
 * d->ops->on_port_status. Takes a reference on `d`. */
void cm_core_observe_port(const cm_port_ref *port, cm_dispatcher *d);
/* Stops observing; drops that reference. Safe to call when not observed. */
void cm_core_unobserve_port(const cm_port_ref *port);

/* A message pipe handle for `port` (a receiving port of this node; the
 * reference is taken). On failure the port is closed. OK or
 * RESOURCE_EXHAUSTED. */
MojoResult cm_message_pipe_wrap_port(cm_port_ref *port, MojoHandle *out);

/* Maps a ports-layer result for a message pipe operation to the API's. */
MojoResult cm_core_pipe_result(MojoResult ports_result);

#define CM_API_BEGIN(rc)                                             \
  cm_request_context rc;                                             \
  if (!cm_core_is_initialized()) return MOJO_RESULT_FAILED_PRECONDITION; \
  cm_request_context_begin(&rc, MOJO_TRAP_EVENT_FLAG_WITHIN_API_CALL)

#define CM_API_RETURN(rc, value)    \
  do {                              \
    MojoResult cm_api_rv_ = (value); \
    cm_request_context_end(&rc);    \
    return cm_api_rv_;              \
  } while (0)

/* options == NULL or options->struct_size covers the declared struct. */
#define CM_OPTIONS_OK(options) (!(options) || (options)->struct_size >= sizeof(*(options)))

#endif /* CMOJO_CORE_CORE_H_ */
