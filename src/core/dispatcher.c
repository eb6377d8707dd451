#include "core/dispatcher.h"

#include "core/trap.h"

void cm_dispatcher_init(cm_dispatcher *d, const cm_dispatcher_ops *ops) {
  d->ops = ops;
  atomic_init(&d->refs, 1);
  pthread_mutex_init(&d->lock, NULL);
  d->closed = false;
  d->in_transit = false;
  d->triggers = NULL;
  atomic_init(&d->watched, false);
}

void cm_dispatcher_ref(cm_dispatcher *d) {
  atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
}

void cm_dispatcher_unref(cm_dispatcher *d) {
  if (atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1) return;
  pthread_mutex_destroy(&d->lock);
  d->ops->destroy(d);
}

MojoResult cm_dispatcher_close(cm_dispatcher *d) {
  pthread_mutex_lock(&d->lock);
  if (d->closed) {
    pthread_mutex_unlock(&d->lock);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  d->closed = true;
  cm_trigger *list = cm_trigger_take_all_locked(d);
  pthread_mutex_unlock(&d->lock);

  cm_trigger_cancel_taken(list);
  d->ops->close(d);
  return MOJO_RESULT_OK;
}

MojoResult cm_dispatcher_query_signals(cm_dispatcher *d, MojoHandleSignalsState *out) {
  MojoResult rv = MOJO_RESULT_OK;
  pthread_mutex_lock(&d->lock);
  if (d->closed) rv = MOJO_RESULT_INVALID_ARGUMENT;
  else if (d->ops->signals) *out = d->ops->signals(d);
  else *out = (MojoHandleSignalsState){0, 0};
  pthread_mutex_unlock(&d->lock);
  return rv;
}

void cm_dispatcher_notify_locked(cm_dispatcher *d) {
  if (!d->triggers || d->closed) return;
  MojoHandleSignalsState s = d->ops->signals(d);
  cm_trigger_notify_all_locked(d->triggers, &s);
}

void cm_dispatcher_notify(cm_dispatcher *d) {
  if (!atomic_load(&d->watched)) return;
  pthread_mutex_lock(&d->lock);
  cm_dispatcher_notify_locked(d);
  pthread_mutex_unlock(&d->lock);
}
