#include "core/trap.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "core/core.h"
#include "core/handle_table.h"
#include "core/request_context.h"

struct cm_trigger {
  atomic_uint refs;
  struct cm_trap *trap; /* reference held */
  cm_dispatcher *d;     /* reference held */
  uintptr_t context;
  MojoHandleSignals signals;
  MojoTriggerCondition condition;

  /* Under the trap's lock. */
  bool removed;
  cm_trigger *t_prev, *t_next;

  /* The last signals state the dispatcher reported (pack_state()), once
   * `known`. Written only with the watched dispatcher's lock held (every
   * notify, the first one at creation); read by arming and cancelling under
   * the trap's lock. Atomic because a notify that cannot fire the trap
   * updates them without the trap's lock (see trigger_notify_locked). The
   * trigger's result (OK, FAILED_PRECONDITION or SHOULD_WAIT) is always
   * evaluated from this state (last_result()), so the two never disagree. */
  _Atomic uint64_t last_state;
  atomic_bool known;

  /* Under the watched dispatcher's lock. */
  bool linked;
  cm_trigger *d_prev, *d_next;

  /* Serializes handler calls for this trigger across threads (same-thread
   * nesting is prevented by deferral, see cm_trigger_invoke). */
  pthread_mutex_t notify_lock;
  bool cancelled; /* under notify_lock */
};

typedef struct cm_trap {
  cm_dispatcher base; /* base.lock is the trap lock */
  MojoTrapEventHandler handler;
  /* Written under the trap lock; read without it by notifies (see
   * trigger_notify_locked). */
  atomic_bool armed;
  cm_trigger *triggers;
} cm_trap;

static uint64_t pack_state(const MojoHandleSignalsState *s) {
  return (uint64_t)s->satisfied_signals | (uint64_t)s->satisfiable_signals << 32;
}

static MojoHandleSignalsState last_state_of(const cm_trigger *t) {
  uint64_t v = atomic_load_explicit(&t->last_state, memory_order_relaxed);
  return (MojoHandleSignalsState){(MojoHandleSignals)(uint32_t)v,
                                  (MojoHandleSignals)(uint32_t)(v >> 32)};
}

static MojoResult evaluate(const cm_trigger *t, const MojoHandleSignalsState *s);

static cm_trap *as_trap(cm_dispatcher *d) {
  return (cm_trap *)d;
}

void cm_trigger_ref(cm_trigger *t) {
  atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void cm_trigger_unref(cm_trigger *t) {
  if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1) return;
  pthread_mutex_destroy(&t->notify_lock);
  cm_dispatcher_unref(&t->trap->base);
  cm_dispatcher_unref(t->d);
  free(t);
}

static void trap_list_remove(cm_trap *trap, cm_trigger *t) {
  if (t->t_prev) t->t_prev->t_next = t->t_next;
  else trap->triggers = t->t_next;
  if (t->t_next) t->t_next->t_prev = t->t_prev;
  t->t_prev = t->t_next = NULL;
}

/* Appends the chain head..tail (linked through t_next) to the trap list. */
static void trap_list_append(cm_trap *trap, cm_trigger *head, cm_trigger *tail) {
  cm_trigger *last = trap->triggers;
  while (last && last->t_next) last = last->t_next;
  head->t_prev = last;
  if (last) last->t_next = head;
  else trap->triggers = head;
  tail->t_next = NULL;
}

/* Unlinks `t` from its dispatcher's list if still there; drops that ref. */
static void dispatcher_list_remove(cm_trigger *t) {
  cm_dispatcher *d = t->d;
  bool was_linked;
  pthread_mutex_lock(&d->lock);
  was_linked = t->linked;
  if (was_linked) {
    if (t->d_prev) t->d_prev->d_next = t->d_next;
    else d->triggers = t->d_next;
    if (t->d_next) t->d_next->d_prev = t->d_prev;
    t->d_prev = t->d_next = NULL;
    t->linked = false;
    atomic_store(&d->watched, d->triggers != NULL);
  }
  pthread_mutex_unlock(&d->lock);
  if (was_linked) cm_trigger_unref(t);
}

static MojoResult evaluate(const cm_trigger *t, const MojoHandleSignalsState *s) {
  if (t->condition == MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED) {
    if (cm_signals_satisfy_any(s, t->signals)) return MOJO_RESULT_OK;
    if (!cm_signals_can_satisfy_any(s, t->signals)) return MOJO_RESULT_FAILED_PRECONDITION;
    return MOJO_RESULT_SHOULD_WAIT;
  }
  if (!cm_signals_satisfy_all(s, t->signals)) return MOJO_RESULT_OK;
  return MOJO_RESULT_SHOULD_WAIT;
}

/* The trigger's result in its last known state, and that state. */
static MojoResult last_result(const cm_trigger *t, MojoHandleSignalsState *state) {
  if (!atomic_load_explicit(&t->known, memory_order_seq_cst)) {
    *state = (MojoHandleSignalsState){0, 0};
    return MOJO_RESULT_SHOULD_WAIT;
  }
  uint64_t v = atomic_load_explicit(&t->last_state, memory_order_seq_cst);
  *state = (MojoHandleSignalsState){(MojoHandleSignals)(uint32_t)v,
                                    (MojoHandleSignals)(uint32_t)(v >> 32)};
  return evaluate(t, state);
}

/* Records the watched dispatcher's new state (its lock held) and fires the
 * trap if it is armed and the trigger just became ready. Most notifies
 * cannot fire (the result is unchanged, or not ready, or the trap is not
 * armed) and take no trap lock. The race with cm_trap_arm is settled by
 * sequential consistency: a notify stores the new state, then (after a full
 * fence) reads `armed`; arming sets `armed`, then reads every state. Either
 * the notify sees the trap armed (and decides under the trap lock, after
 * arming is done) or arming sees the trigger ready (and fails). A removed
 * trigger may still be told a state until it leaves the dispatcher's list:
 * nothing reads it any more. */
static void trigger_notify_locked(cm_trigger *t, const MojoHandleSignalsState *state) {
  cm_trap *trap = t->trap;
  MojoHandleSignalsState old;
  MojoResult prev = last_result(t, &old); /* our own last write: the dispatcher lock is held */
  MojoResult r = evaluate(t, state);
  uint64_t packed = pack_state(state);
  if (packed != atomic_load_explicit(&t->last_state, memory_order_relaxed))
    atomic_store_explicit(&t->last_state, packed, memory_order_relaxed);
  if (!atomic_load_explicit(&t->known, memory_order_relaxed))
    atomic_store_explicit(&t->known, true, memory_order_release); /* after the state */
  if (r == prev || r == MOJO_RESULT_SHOULD_WAIT)
    return;
  /* Only a trigger that just became ready can fire: its state is ordered
   * before the look at `armed` by a full fence (cm_trap_arm's side is
   * sequentially consistent). */
  atomic_thread_fence(memory_order_seq_cst);
  if (!atomic_load_explicit(&trap->armed, memory_order_relaxed))
    return;
  pthread_mutex_lock(&trap->base.lock);
  if (!t->removed && atomic_load_explicit(&trap->armed, memory_order_relaxed)) {
    atomic_store_explicit(&trap->armed, false, memory_order_relaxed);
    cm_request_context_add(t, r, state);
  }
  pthread_mutex_unlock(&trap->base.lock);
}

void cm_trigger_notify_all_locked(cm_trigger *list, const MojoHandleSignalsState *state) {
  for (cm_trigger *t = list; t; t = t->d_next) trigger_notify_locked(t, state);
}

cm_trigger *cm_trigger_take_all_locked(cm_dispatcher *d) {
  cm_trigger *list = d->triggers;
  d->triggers = NULL;
  atomic_store(&d->watched, false);
  for (cm_trigger *t = list; t; t = t->d_next) t->linked = false;
  return list;
}

void cm_trigger_cancel_taken(cm_trigger *list) {
  while (list) {
    cm_trigger *t = list;
    list = t->d_next;
    t->d_prev = t->d_next = NULL;
    cm_trap *trap = t->trap;
    bool cancel = false;
    MojoHandleSignalsState last;
    pthread_mutex_lock(&trap->base.lock);
    if (!t->removed) {
      t->removed = true;
      trap_list_remove(trap, t);
      cancel = true;
    }
    last = last_state_of(t);
    pthread_mutex_unlock(&trap->base.lock);
    if (cancel) {
      cm_request_context_add(t, MOJO_RESULT_CANCELLED, &last);
      cm_trigger_unref(t); /* the trap list's reference */
    }
    cm_trigger_unref(t); /* the dispatcher list's reference */
  }
}

/* Handlers for one trigger never nest on a thread: an event for a trigger
 * whose handler is already running on this thread (e.g. the handler removed
 * its own trigger) waits in that handler's frame and runs right after it
 * returns. Other threads wait on the trigger's notify_lock. */
typedef struct invoke_frame {
  cm_trigger *trigger;
  struct invoke_frame *outer;
  size_t num_deferred;
  size_t capacity;
  cm_pending_event *deferred;
} invoke_frame;

static _Thread_local invoke_frame *running_frames __attribute__((tls_model("initial-exec")));

static bool defer_if_running(cm_trigger *t, MojoResult result,
                             const MojoHandleSignalsState *state) {
  for (invoke_frame *f = running_frames; f; f = f->outer) {
    if (f->trigger != t) continue;
    if (f->num_deferred == f->capacity) {
      size_t cap = f->capacity ? f->capacity * 2 : 2;
      cm_pending_event *ev = realloc(f->deferred, cap * sizeof(*ev));
      if (!ev) return true; /* out of memory: the event is lost */
      f->deferred = ev;
      f->capacity = cap;
    }
    cm_trigger_ref(t);
    f->deferred[f->num_deferred++] = (cm_pending_event){t, result, *state};
    return true;
  }
  return false;
}

void cm_trigger_invoke(cm_trigger *t, MojoResult result, const MojoHandleSignalsState *state,
                       MojoTrapEventFlags flags) {
  if (defer_if_running(t, result, state)) return;
  invoke_frame frame = {.trigger = t, .outer = running_frames};
  pthread_mutex_lock(&t->notify_lock);
  if (!t->cancelled) {
    if (result == MOJO_RESULT_CANCELLED) t->cancelled = true;
    MojoTrapEvent event = {
        .struct_size = sizeof(event),
        .flags = flags,
        .trigger_context = t->context,
        .result = result,
        .signals_state = *state,
    };
    running_frames = &frame;
    t->trap->handler(&event);
    running_frames = frame.outer;
  }
  pthread_mutex_unlock(&t->notify_lock);
  for (size_t i = 0; i < frame.num_deferred; i++) {
    cm_pending_event *e = &frame.deferred[i];
    cm_trigger_invoke(e->trigger, e->result, &e->state, flags);
    cm_trigger_unref(e->trigger);
  }
  free(frame.deferred);
}

static void trap_close(cm_dispatcher *d) {
  cm_trap *trap = as_trap(d);
  pthread_mutex_lock(&d->lock);
  cm_trigger *list = trap->triggers;
  trap->triggers = NULL;
  atomic_store_explicit(&trap->armed, false, memory_order_relaxed);
  for (cm_trigger *t = list; t; t = t->t_next) {
    t->removed = true;
    MojoHandleSignalsState last = last_state_of(t);
    cm_request_context_add(t, MOJO_RESULT_CANCELLED, &last);
  }
  pthread_mutex_unlock(&d->lock);

  while (list) {
    cm_trigger *t = list;
    list = t->t_next;
    dispatcher_list_remove(t);
    cm_trigger_unref(t);
  }
}

static void trap_destroy(cm_dispatcher *d) {
  free(as_trap(d));
}

static const cm_dispatcher_ops trap_ops = {
    .type = CM_DISPATCHER_TRAP,
    .close = trap_close,
    .destroy = trap_destroy,
};

MojoResult cm_trap_create(MojoTrapEventHandler handler, cm_dispatcher **out) {
  cm_trap *trap = calloc(1, sizeof(*trap));
  if (!trap) return MOJO_RESULT_RESOURCE_EXHAUSTED;
  cm_dispatcher_init(&trap->base, &trap_ops);
  trap->handler = handler;
  *out = &trap->base;
  return MOJO_RESULT_OK;
}

static cm_trigger *find_trigger(cm_trap *trap, uintptr_t context, const cm_dispatcher *d) {
  for (cm_trigger *t = trap->triggers; t; t = t->t_next) {
    if (t->context == context || t->d == d) return t;
  }
  return NULL;
}

static cm_trigger *trigger_new(cm_trap *trap, cm_dispatcher *d, MojoHandleSignals signals,
                               MojoTriggerCondition condition, uintptr_t context) {
  cm_trigger *t = calloc(1, sizeof(*t));
  if (!t) return NULL;
  pthread_mutex_init(&t->notify_lock, NULL);
  atomic_init(&t->refs, 1); /* the trap list's reference */
  cm_dispatcher_ref(&trap->base);
  cm_dispatcher_ref(d);
  t->trap = trap;
  t->d = d;
  t->context = context;
  t->signals = signals;
  t->condition = condition;
  atomic_init(&t->last_state, 0);
  atomic_init(&t->known, false);
  return t;
}

MojoResult cm_trap_add_trigger(cm_dispatcher *td, cm_dispatcher *d, MojoHandleSignals signals,
                               MojoTriggerCondition condition, uintptr_t context) {
  cm_trap *trap = as_trap(td);
  if (condition != MOJO_TRIGGER_CONDITION_SIGNALS_UNSATISFIED &&
      condition != MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (!d->ops->signals) return MOJO_RESULT_INVALID_ARGUMENT;

  pthread_mutex_lock(&td->lock);
  if (td->closed) {
    pthread_mutex_unlock(&td->lock);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  if (find_trigger(trap, context, d)) {
    pthread_mutex_unlock(&td->lock);
    return MOJO_RESULT_ALREADY_EXISTS;
  }
  cm_trigger *t = trigger_new(trap, d, signals, condition, context);
  if (!t) {
    pthread_mutex_unlock(&td->lock);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  t->t_next = trap->triggers;
  if (trap->triggers) trap->triggers->t_prev = t;
  trap->triggers = t;
  pthread_mutex_unlock(&td->lock);

  /* Join the dispatcher's list and learn its state (dispatcher lock, then
   * trap lock inside cm_trigger_notify_locked). */
  bool dispatcher_closed;
  pthread_mutex_lock(&d->lock);
  dispatcher_closed = d->closed;
  if (!dispatcher_closed) {
    pthread_mutex_lock(&td->lock);
    bool removed = t->removed; /* the trap was closed meanwhile */
    pthread_mutex_unlock(&td->lock);
    if (!removed) {
      cm_trigger_ref(t);
      t->linked = true;
      t->d_next = d->triggers;
      if (d->triggers) d->triggers->d_prev = t;
      d->triggers = t;
      atomic_store(&d->watched, true);
      MojoHandleSignalsState s = d->ops->signals(d);
      trigger_notify_locked(t, &s);
    }
  }
  pthread_mutex_unlock(&d->lock);

  if (dispatcher_closed) {
    bool drop = false;
    pthread_mutex_lock(&td->lock);
    if (!t->removed) {
      t->removed = true;
      trap_list_remove(trap, t);
      drop = true;
    }
    pthread_mutex_unlock(&td->lock);
    if (drop) cm_trigger_unref(t);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  return MOJO_RESULT_OK;
}

MojoResult cm_trap_remove_trigger(cm_dispatcher *td, uintptr_t context) {
  cm_trap *trap = as_trap(td);
  pthread_mutex_lock(&td->lock);
  if (td->closed) {
    pthread_mutex_unlock(&td->lock);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  cm_trigger *t = trap->triggers;
  while (t && t->context != context) t = t->t_next;
  if (!t) {
    pthread_mutex_unlock(&td->lock);
    return MOJO_RESULT_NOT_FOUND;
  }
  t->removed = true;
  trap_list_remove(trap, t);
  MojoHandleSignalsState last = last_state_of(t);
  pthread_mutex_unlock(&td->lock);

  cm_request_context_add(t, MOJO_RESULT_CANCELLED, &last);
  dispatcher_list_remove(t);
  cm_trigger_unref(t);
  return MOJO_RESULT_OK;
}

MojoResult cm_trap_arm(cm_dispatcher *td, uint32_t *num_blocking_events,
                       MojoTrapEvent *blocking_events) {
  cm_trap *trap = as_trap(td);
  if (num_blocking_events && *num_blocking_events && !blocking_events)
    return MOJO_RESULT_INVALID_ARGUMENT;
  MojoResult rv = MOJO_RESULT_OK;
  pthread_mutex_lock(&td->lock);
  if (td->closed) {
    rv = MOJO_RESULT_INVALID_ARGUMENT;
  } else if (!trap->triggers) {
    rv = MOJO_RESULT_NOT_FOUND;
  } else {
    uint32_t max = num_blocking_events ? *num_blocking_events : 0;
    uint32_t n = 0;
    cm_trigger *reported = NULL, *reported_tail = NULL;
    /* Armed first, then the results (trigger_notify_locked): a notify that
     * makes a trigger ready after we looked sees the trap armed. */
    atomic_store_explicit(&trap->armed, true, memory_order_seq_cst);
    for (cm_trigger *t = trap->triggers, *next; t; t = next) {
      next = t->t_next;
      MojoHandleSignalsState state;
      MojoResult result = last_result(t, &state);
      if (result == MOJO_RESULT_SHOULD_WAIT) continue;
      rv = MOJO_RESULT_FAILED_PRECONDITION;
      if (n >= max) break;
      blocking_events[n++] = (MojoTrapEvent){
          .struct_size = sizeof(MojoTrapEvent),
          .flags = MOJO_TRAP_EVENT_FLAG_WITHIN_API_CALL,
          .trigger_context = t->context,
          .result = result,
          .signals_state = state,
      };
      /* Reported triggers go to the back so that the next call reports the
       * others first. */
      trap_list_remove(trap, t);
      t->t_prev = reported_tail;
      if (reported_tail) reported_tail->t_next = t;
      else reported = t;
      reported_tail = t;
    }
    if (reported) trap_list_append(trap, reported, reported_tail);
    if (rv != MOJO_RESULT_OK) atomic_store_explicit(&trap->armed, false, memory_order_relaxed);
    if (rv == MOJO_RESULT_FAILED_PRECONDITION && num_blocking_events)
      *num_blocking_events = n;
  }
  pthread_mutex_unlock(&td->lock);
  return rv;
}

/* ---- API ---------------------------------------------------------------- */

static cm_dispatcher *get_trap(MojoHandle h) {
  cm_dispatcher *d = cm_handles_get(h);
  if (d && cm_dispatcher_get_type(d) != CM_DISPATCHER_TRAP) {
    cm_dispatcher_unref(d);
    d = NULL;
  }
  return d;
}

MojoResult MojoCreateTrap(MojoTrapEventHandler handler,
                          const struct MojoCreateTrapOptions *options, MojoHandle *trap_handle) {
  CM_API_BEGIN(rc);
  if (!handler || !trap_handle || !CM_OPTIONS_OK(options))
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  cm_dispatcher *d;
  MojoResult rv = cm_trap_create(handler, &d);
  if (rv == MOJO_RESULT_OK) {
    rv = cm_handles_add(d, trap_handle);
    if (rv != MOJO_RESULT_OK) cm_dispatcher_unref(d);
  }
  CM_API_RETURN(rc, rv);
}

MojoResult MojoAddTrigger(MojoHandle trap_handle, MojoHandle handle, MojoHandleSignals signals,
                          MojoTriggerCondition condition, uintptr_t context,
                          const struct MojoAddTriggerOptions *options) {
  CM_API_BEGIN(rc);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  cm_dispatcher *trap = get_trap(trap_handle);
  cm_dispatcher *d = cm_handles_get(handle);
  if (trap && d && CM_OPTIONS_OK(options))
    rv = cm_trap_add_trigger(trap, d, signals, condition, context);
  if (trap) cm_dispatcher_unref(trap);
  if (d) cm_dispatcher_unref(d);
  CM_API_RETURN(rc, rv);
}

MojoResult MojoRemoveTrigger(MojoHandle trap_handle, uintptr_t context,
                             const struct MojoRemoveTriggerOptions *options) {
  CM_API_BEGIN(rc);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  cm_dispatcher *trap = get_trap(trap_handle);
  if (trap && CM_OPTIONS_OK(options)) rv = cm_trap_remove_trigger(trap, context);
  if (trap) cm_dispatcher_unref(trap);
  CM_API_RETURN(rc, rv);
}

MojoResult MojoArmTrap(MojoHandle trap_handle, const struct MojoArmTrapOptions *options,
                       uint32_t *num_blocking_events, struct MojoTrapEvent *blocking_events) {
  CM_API_BEGIN(rc);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  cm_dispatcher *trap = get_trap(trap_handle);
  if (trap && CM_OPTIONS_OK(options)) rv = cm_trap_arm(trap, num_blocking_events, blocking_events);
  if (trap) cm_dispatcher_unref(trap);
  CM_API_RETURN(rc, rv);
}
