/* Data pipe consumer: its signals and the read side of the API
 * (MojoReadData, MojoBeginReadData, MojoEndReadData). See data_pipe.h. */
#include "core/core.h"
#include "core/data_pipe.h"
#include "mojo/public/c/system/data_pipe.h"

#define READ_MODE_FLAGS \
  (MOJO_READ_DATA_FLAG_DISCARD | MOJO_READ_DATA_FLAG_QUERY | MOJO_READ_DATA_FLAG_PEEK)

static MojoHandleSignalsState compute_signals(const cm_dispatcher *d) {
  const cm_data_pipe_end *e = (const cm_data_pipe_end *)d;
  MojoHandleSignalsState s = {0, 0};
  if (d->closed || e->transferred)
    return s;
  if (e->count > 0) {
    if (!e->in_two_phase) {
      s.satisfied_signals |= MOJO_HANDLE_SIGNAL_READABLE;
      if (e->new_data)
        s.satisfied_signals |= MOJO_HANDLE_SIGNAL_NEW_DATA_READABLE;
    }
    s.satisfiable_signals |= MOJO_HANDLE_SIGNAL_READABLE;
  } else if (!e->peer_closed) {
    s.satisfiable_signals |= MOJO_HANDLE_SIGNAL_READABLE;
  }
  /* New data can still be flagged while the producer may write, or while
   * the flag is up. */
  if (e->new_data || !e->peer_closed)
    s.satisfiable_signals |= MOJO_HANDLE_SIGNAL_NEW_DATA_READABLE;
  if (e->peer_closed) {
    s.satisfied_signals |= MOJO_HANDLE_SIGNAL_PEER_CLOSED;
  } else {
    s.satisfiable_signals |= MOJO_HANDLE_SIGNAL_PEER_REMOTE;
    if (e->peer_remote)
      s.satisfied_signals |= MOJO_HANDLE_SIGNAL_PEER_REMOTE;
  }
  s.satisfiable_signals |= MOJO_HANDLE_SIGNAL_PEER_CLOSED;
  return s;
}

MojoHandleSignalsState cm_data_pipe_consumer_signals(cm_dispatcher *d) {
  MojoHandleSignalsState s = compute_signals(d);
  cm_data_pipe_signals_computed(cm_data_pipe_end_from(d), &s);
  return s;
}

static cm_data_pipe_end *get_consumer(MojoHandle h) {
  return cm_data_pipe_get(h, CM_DISPATCHER_DATA_PIPE_CONSUMER);
}

/* How many bytes a read/peek/discard of `wanted` moves now, or why none. */
static MojoResult read_amount(const cm_data_pipe_end *e, uint32_t wanted, bool all_or_none,
                              uint32_t *n) {
  if (all_or_none) {
    if (wanted > e->count)
      return e->peer_closed ? MOJO_RESULT_FAILED_PRECONDITION : MOJO_RESULT_OUT_OF_RANGE;
    *n = wanted;
    return MOJO_RESULT_OK;
  }
  if (e->count == 0)
    return e->peer_closed ? MOJO_RESULT_FAILED_PRECONDITION : MOJO_RESULT_SHOULD_WAIT;
  *n = wanted < e->count ? wanted : e->count;
  return MOJO_RESULT_OK;
}

static MojoResult read_data(cm_data_pipe_end *e, MojoReadDataFlags flags, void *elements,
                            uint32_t *num_bytes) {
  if (!cm_data_pipe_lock_usable(e))
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (e->in_two_phase) {
    pthread_mutex_unlock(&e->base.lock);
    return MOJO_RESULT_BUSY;
  }
  cm_data_pipe_pull_locked(e);
  e->new_data = false; /* whatever the mode and the outcome (data_pipe.h) */
  uint32_t n = 0;
  MojoResult rv = MOJO_RESULT_OK;
  if (flags & MOJO_READ_DATA_FLAG_QUERY)
    n = e->count;
  else
    rv = read_amount(e, *num_bytes, flags & MOJO_READ_DATA_FLAG_ALL_OR_NONE, &n);
  if (rv != MOJO_RESULT_OK || (flags & MOJO_READ_DATA_FLAG_QUERY)) {
    if (rv == MOJO_RESULT_OK)
      *num_bytes = n;
    cm_data_pipe_finish(e, 0, CM_DATA_PIPE_DATA_WAS_READ);
    return rv;
  }
  if (!(flags & MOJO_READ_DATA_FLAG_DISCARD))
    cm_data_pipe_copy_out(e, e->offset, elements, n);
  *num_bytes = n;
  if (!(flags & MOJO_READ_DATA_FLAG_PEEK))
    cm_data_pipe_advance_locked(e, n);
  else
    n = 0; /* nothing to announce */
  cm_data_pipe_finish(e, n, CM_DATA_PIPE_DATA_WAS_READ);
  return MOJO_RESULT_OK;
}

/* Argument checks of MojoReadData, before anything changes. */
static bool read_args_ok(const cm_data_pipe_end *e, MojoReadDataFlags flags, const void *elements,
                         const uint32_t *num_bytes) {
  MojoReadDataFlags mode = flags & READ_MODE_FLAGS;
  if (!num_bytes || (mode & (mode - 1)) != 0)
    return false; /* at most one mode */
  if (mode == MOJO_READ_DATA_FLAG_QUERY)
    return true; /* input size ignored */
  if (*num_bytes % e->element_num_bytes != 0)
    return false;
  return elements || mode == MOJO_READ_DATA_FLAG_DISCARD;
}

MojoResult MojoReadData(MojoHandle data_pipe_consumer_handle,
                        const struct MojoReadDataOptions *options, void *elements,
                        uint32_t *num_bytes) {
  CM_API_BEGIN(rc);
  cm_data_pipe_end *e = get_consumer(data_pipe_consumer_handle);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  MojoReadDataFlags flags = options && CM_OPTIONS_OK(options) ? options->flags : 0;
  if (e && CM_OPTIONS_OK(options) && read_args_ok(e, flags, elements, num_bytes))
    rv = read_data(e, flags, elements, num_bytes);
  if (e)
    cm_dispatcher_unref(&e->base);
  CM_API_RETURN(rc, rv);
}

static MojoResult begin_read(cm_data_pipe_end *e, const void **buffer, uint32_t *buffer_num_bytes) {
  if (!cm_data_pipe_lock_usable(e))
    return MOJO_RESULT_INVALID_ARGUMENT;
  MojoResult rv = MOJO_RESULT_OK;
  if (e->in_two_phase) {
    rv = MOJO_RESULT_BUSY;
  } else {
    if (e->count < e->capacity - e->offset)
      cm_data_pipe_pull_locked(e);
    e->new_data = false;
    if (e->count == 0)
      rv = e->peer_closed ? MOJO_RESULT_FAILED_PRECONDITION : MOJO_RESULT_SHOULD_WAIT;
  }
  if (rv == MOJO_RESULT_OK) {
    /* The readable bytes up to the end of the ring. */
    uint32_t n = e->capacity - e->offset;
    if (n > e->count)
      n = e->count;
    e->in_two_phase = true;
    e->two_phase = n;
    *buffer = e->data + e->offset;
    *buffer_num_bytes = n;
  }
  if (rv != MOJO_RESULT_BUSY) {
    cm_data_pipe_finish(e, 0, CM_DATA_PIPE_DATA_WAS_READ);
    return rv;
  }
  pthread_mutex_unlock(&e->base.lock);
  return rv;
}

MojoResult MojoBeginReadData(MojoHandle data_pipe_consumer_handle,
                             const struct MojoBeginReadDataOptions *options, const void **buffer,
                             uint32_t *buffer_num_bytes) {
  CM_API_BEGIN(rc);
  cm_data_pipe_end *e = get_consumer(data_pipe_consumer_handle);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  if (e && buffer && buffer_num_bytes && CM_OPTIONS_OK(options))
    rv = begin_read(e, buffer, buffer_num_bytes);
  if (e)
    cm_dispatcher_unref(&e->base);
  CM_API_RETURN(rc, rv);
}

MojoResult MojoEndReadData(MojoHandle data_pipe_consumer_handle, uint32_t num_bytes_read,
                           const struct MojoEndReadDataOptions *options) {
  CM_API_BEGIN(rc);
  cm_data_pipe_end *e = get_consumer(data_pipe_consumer_handle);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  if (e && CM_OPTIONS_OK(options))
    rv = cm_data_pipe_end_two_phase(e, num_bytes_read, CM_DATA_PIPE_DATA_WAS_READ);
  if (e)
    cm_dispatcher_unref(&e->base);
  CM_API_RETURN(rc, rv);
}
