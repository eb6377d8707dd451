#include "core/request_context.h"

#include <stdlib.h>
#include <string.h>

#include "core/trap.h"

/* initial-exec: a plain %fs-relative load instead of a __tls_get_addr call
 * on every API call; the variable is tiny, so even a dlopen()ed libcmojo
 * fits in the static TLS surplus glibc keeps for that. */
static _Thread_local cm_request_context *current_context
    __attribute__((tls_model("initial-exec")));

void cm_request_context_begin(cm_request_context *rc, MojoTrapEventFlags flags) {
  rc->outermost = current_context == NULL;
  rc->flags = flags;
  rc->num_events = 0;
  rc->capacity = CM_REQUEST_CONTEXT_INLINE_EVENTS;
  rc->events = rc->inline_events;
  if (rc->outermost) current_context = rc;
}

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

void cm_request_context_end(cm_request_context *rc) {
  if (!rc->outermost) return;
  /* Handlers may call the API: they get contexts of their own. */
  current_context = NULL;
  run_events(rc, true);
  run_events(rc, false);
  if (rc->events != rc->inline_events) free(rc->events);
}

void cm_request_context_add(cm_trigger *trigger, MojoResult result,
                            const MojoHandleSignalsState *state) {
  cm_request_context *rc = current_context;
  if (!rc) return; /* every caller runs inside a context; see header */
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
