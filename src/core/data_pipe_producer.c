/* Data pipe producer: its signals and the write side of the API
 * (MojoWriteData, MojoBeginWriteData, MojoEndWriteData). See data_pipe.h. */
#include "core/core.h"
#include "core/data_pipe.h"
#include "mojo/public/c/system/data_pipe.h"

static MojoHandleSignalsState compute_signals(const cm_dispatcher *d) {
  const cm_data_pipe_end *e = (const cm_data_pipe_end *)d;
  MojoHandleSignalsState s = {0, 0};
  if (d->closed || e->transferred)
    return s;
  if (!e->peer_closed) {
    if (!e->in_two_phase && e->count > 0)
      s.satisfied_signals |= MOJO_HANDLE_SIGNAL_WRITABLE;
    if (e->peer_remote)
      s.satisfied_signals |= MOJO_HANDLE_SIGNAL_PEER_REMOTE;
    s.satisfiable_signals |= MOJO_HANDLE_SIGNAL_WRITABLE | MOJO_HANDLE_SIGNAL_PEER_REMOTE;
  } else {
    s.satisfied_signals |= MOJO_HANDLE_SIGNAL_PEER_CLOSED;
  }
  s.satisfiable_signals |= MOJO_HANDLE_SIGNAL_PEER_CLOSED;
  return s;
}

MojoHandleSignalsState cm_data_pipe_producer_signals(cm_dispatcher *d) {
  MojoHandleSignalsState s = compute_signals(d);
  cm_data_pipe_signals_computed(cm_data_pipe_end_from(d), &s);
  return s;
}

static cm_data_pipe_end *get_producer(MojoHandle h) {
  return cm_data_pipe_get(h, CM_DISPATCHER_DATA_PIPE_PRODUCER);
}

static MojoResult write_data(cm_data_pipe_end *e, const void *elements, uint32_t *num_bytes,
                             MojoWriteDataFlags flags) {
  if (!cm_data_pipe_lock_usable(e))
    return MOJO_RESULT_INVALID_ARGUMENT;
  MojoResult rv = MOJO_RESULT_OK;
  uint32_t n = *num_bytes;
  if (e->count < n)
    cm_data_pipe_pull_locked(e);
  if (e->in_two_phase)
    rv = MOJO_RESULT_BUSY;
  else if (e->peer_closed)
    rv = MOJO_RESULT_FAILED_PRECONDITION;
  else if (n == 0)
    rv = MOJO_RESULT_OK;
  else if ((flags & MOJO_WRITE_DATA_FLAG_ALL_OR_NONE) && n > e->count)
    rv = MOJO_RESULT_OUT_OF_RANGE; /* waiting for WRITABLE may never make room */
  else if (e->count == 0)
    rv = MOJO_RESULT_SHOULD_WAIT;
  if (rv != MOJO_RESULT_OK || n == 0) {
    /* A pull may have changed the view: finish tells triggers. */
    cm_data_pipe_finish(e, 0, CM_DATA_PIPE_DATA_WAS_WRITTEN);
    return rv;
  }
  if (n > e->count)
    n = e->count; /* whole elements: both are multiples */
  cm_data_pipe_copy_in(e, e->offset, elements, n);
  cm_data_pipe_advance_locked(e, n);
  *num_bytes = n;
  cm_data_pipe_finish(e, n, CM_DATA_PIPE_DATA_WAS_WRITTEN);
  return MOJO_RESULT_OK;
}

MojoResult MojoWriteData(MojoHandle data_pipe_producer_handle, const void *elements,
                         uint32_t *num_bytes, const struct MojoWriteDataOptions *options) {
  CM_API_BEGIN(rc);
  cm_data_pipe_end *e = get_producer(data_pipe_producer_handle);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  if (e && num_bytes && CM_OPTIONS_OK(options) && *num_bytes % e->element_num_bytes == 0 &&
      (elements || *num_bytes == 0))
    rv = write_data(e, elements, num_bytes, options ? options->flags : 0);
  if (e)
    cm_dispatcher_unref(&e->base);
  CM_API_RETURN(rc, rv);
}

static MojoResult begin_write(cm_data_pipe_end *e, MojoBeginWriteDataFlags flags, void **buffer,
                              uint32_t *buffer_num_bytes) {
  if (!cm_data_pipe_lock_usable(e))
    return MOJO_RESULT_INVALID_ARGUMENT;
  /* The buffer offered is the free space up to the end of the ring. */
  uint32_t room = e->capacity - e->offset;
  if (e->count < room)
    cm_data_pipe_pull_locked(e);
  if (room > e->count)
    room = e->count;
  MojoResult rv = MOJO_RESULT_OK;
  if (e->in_two_phase)
    rv = MOJO_RESULT_BUSY;
  else if (e->peer_closed)
    rv = MOJO_RESULT_FAILED_PRECONDITION;
  else if ((flags & MOJO_BEGIN_WRITE_DATA_FLAG_ALL_OR_NONE) && *buffer_num_bytes > room)
    rv = MOJO_RESULT_OUT_OF_RANGE;
  else if (room == 0)
    rv = MOJO_RESULT_SHOULD_WAIT;
  if (rv == MOJO_RESULT_OK) {
    e->in_two_phase = true;
    e->two_phase = room;
    *buffer = e->data + e->offset;
    *buffer_num_bytes = room;
  }
  /* No longer WRITABLE, or a pull changed the view. */
  cm_data_pipe_finish(e, 0, CM_DATA_PIPE_DATA_WAS_WRITTEN);
  return rv;
}

MojoResult MojoBeginWriteData(MojoHandle data_pipe_producer_handle,
                              const struct MojoBeginWriteDataOptions *options, void **buffer,
                              uint32_t *buffer_num_bytes) {
  CM_API_BEGIN(rc);
  cm_data_pipe_end *e = get_producer(data_pipe_producer_handle);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  if (e && buffer && buffer_num_bytes && CM_OPTIONS_OK(options))
    rv = begin_write(e, options ? options->flags : 0, buffer, buffer_num_bytes);
  if (e)
    cm_dispatcher_unref(&e->base);
  CM_API_RETURN(rc, rv);
}

MojoResult MojoEndWriteData(MojoHandle data_pipe_producer_handle, uint32_t num_bytes_written,
                            const struct MojoEndWriteDataOptions *options) {
  CM_API_BEGIN(rc);
  cm_data_pipe_end *e = get_producer(data_pipe_producer_handle);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  if (e && CM_OPTIONS_OK(options))
    rv = cm_data_pipe_end_two_phase(e, num_bytes_written, CM_DATA_PIPE_DATA_WAS_WRITTEN);
  if (e)
    cm_dispatcher_unref(&e->base);
  CM_API_RETURN(rc, rv);
}
