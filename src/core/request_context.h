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

/* Starts a context on this thread. `flags` is what events collected by it
 * carry (MOJO_TRAP_EVENT_FLAG_WITHIN_API_CALL for API calls). */
void cm_request_context_begin(cm_request_context *rc, MojoTrapEventFlags flags);
/* Ends it; the outermost context runs the collected events. */
void cm_request_context_end(cm_request_context *rc);

/* Queues an event for `trigger` (a reference is taken) into the current
 * thread's outermost context. Callers always run inside a context. */
void cm_request_context_add(cm_trigger *trigger, MojoResult result,
                            const MojoHandleSignalsState *state);

#endif /* CMOJO_CORE_REQUEST_CONTEXT_H_ */
