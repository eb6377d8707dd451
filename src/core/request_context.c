#include "core/request_context.h"

#include <stdlib.h>
#include <string.h>

#include "core/trap.h"

_Thread_local cm_request_context *cm_current_request_context
    __attribute__((tls_model("initial-exec")));

static void run_events(cm_request_context *rc, bool cancellations) {
  for (size_t i = 0; i < rc->num_events; i++) {
    cm_pending_event *e = &rc->events[i];
    if (!e->trigger) continue;
    if ((e->result == MOJO_RESULT_CANCELLED) != cancellations) continue;
    cm_trigger_invoke(e->trigger, e->result, &e->state, rc->flags);
    cm_trigger_unref(e->trigger);
    e->trigger = NULL;
  }
}

void cm_request_context_run(cm_request_context *rc) {
  run_events(rc, true);
  run_events(rc, false);
  if (rc->events != rc->inline_events) free(rc->events);
}

void cm_request_context_add(cm_trigger *trigger, MojoResult result,
                            const MojoHandleSignalsState *state) {
  cm_request_context *rc = cm_current_request_context;
  if (!rc) return; /* every caller runs inside a context; see header */
  if (rc->capacity == 0) {
    rc->events = rc->inline_events;
    rc->capacity = CM_REQUEST_CONTEXT_INLINE_EVENTS;
  }
  if (rc->num_events == rc->capacity) {
    size_t cap = rc->capacity * 2;
    cm_pending_event *ev = malloc(cap * sizeof(*ev));
    if (!ev) return; /* out of memory: the event is lost, the trap stays armed-off */
    memcpy(ev, rc->events, rc->num_events * sizeof(*ev));
    if (rc->events != rc->inline_events) free(rc->events);
    rc->events = ev;
    rc->capacity = cap;
  }
  cm_trigger_ref(trigger);
  rc->events[rc->num_events++] = (cm_pending_event){trigger, result, *state};
}
