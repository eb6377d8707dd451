/* request_context: trap events wait here until no lock is held.
 *
 * Trap handlers must run with no core lock held (Mojo's rule, so a handler
 * may call any API function). Events are therefore produced under locks but
 * queued into the request context of the current thread, and run when the
 * outermost API call (or delivery callback) of that thread finishes.
 * Contexts nest: only the outermost one of a thread collects and runs events.
 * Cancellations run before other events, so a trigger's CANCELLED event is
 * the last one its handler sees.
 */
#ifndef CMOJO_CORE_REQUEST_CONTEXT_H_
#define CMOJO_CORE_REQUEST_CONTEXT_H_

#include <stdbool.h>
#include <stddef.h>

#include "mojo/public/c/system/trap.h"

/* Mojo's C headers name these structs without typedefs; inside the core we
 * use the short names (C11 allows the identical typedef to repeat). */
typedef struct MojoHandleSignalsState MojoHandleSignalsState;
typedef struct MojoTrapEvent MojoTrapEvent;

typedef struct cm_trigger cm_trigger;

typedef struct cm_pending_event {
  cm_trigger *trigger; /* holds a reference */
  MojoResult result;
  MojoHandleSignalsState state;
} cm_pending_event;

#define CM_REQUEST_CONTEXT_INLINE_EVENTS 4

typedef struct cm_request_context {
  bool outermost;
  MojoTrapEventFlags flags;
  size_t num_events;
  size_t capacity;
  cm_pending_event *events;
  cm_pending_event inline_events[CM_REQUEST_CONTEXT_INLINE_EVENTS];
} cm_request_context;

/* The current thread's outermost context, or NULL. initial-exec: a plain
 * %fs-relative access on every API call instead of a __tls_get_addr call;
 * the variable is tiny, so even a dlopen()ed libcmojo fits in the static TLS
 * surplus glibc keeps for that. */
extern _Thread_local cm_request_context *cm_current_request_context
    __attribute__((tls_model("initial-exec")));

void cm_request_context_run(cm_request_context *rc);

/* Starts a context on this thread. `flags` is what events collected by it
 * carry (MOJO_TRAP_EVENT_FLAG_WITHIN_API_CALL for API calls). Inline: every
 * API call opens one, and almost none collects an event. */
/* Storing the address of the caller's local context in a thread-local is
 * the point (cm_request_context_end clears it before the caller returns);
 * gcc 12 cannot see the pairing through the API macros and warns. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
static inline void cm_request_context_begin(cm_request_context *rc, MojoTrapEventFlags flags) {
  rc->outermost = cm_current_request_context == NULL;
  rc->flags = flags;
  rc->num_events = 0;
  rc->capacity = 0; /* events[] is set up by the first cm_request_context_add */
  if (rc->outermost) cm_current_request_context = rc;
}
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif

/* Ends it; the outermost context runs the collected events. */
static inline void cm_request_context_end(cm_request_context *rc) {
  if (!rc->outermost) return;
  /* Handlers may call the API: they get contexts of their own. */
  cm_current_request_context = NULL;
  if (rc->num_events) cm_request_context_run(rc);
}

/* Queues an event for `trigger` (a reference is taken) into the current
 * thread's outermost context. Callers always run inside a context. */
void cm_request_context_add(cm_trigger *trigger, MojoResult result,
                            const MojoHandleSignalsState *state);

#endif /* CMOJO_CORE_REQUEST_CONTEXT_H_ */
