#include "core/core.h"

#include <pthread.h>
#include <stdatomic.h>

#include "core/handle_table.h"
#include "core/node_controller.h"
#include "cmojo/embedder.h"
#include "mojo/public/c/system/functions.h"
#include "platform/platform.h"

enum { CORE_NONE = 0, CORE_LOADED = 1, CORE_READY = 2 };

static struct {
  atomic_int state;
  pthread_mutex_t init_lock;
  cm_node *node;
} core = {.init_lock = PTHREAD_MUTEX_INITIALIZER};

/* Striped locks guarding port user data (see core.h). */
#define OBSERVER_STRIPES 64
static pthread_mutex_t observer_locks[OBSERVER_STRIPES] = {
    [0 ... OBSERVER_STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER};

static pthread_mutex_t *observer_lock(const cm_port_ref *port) {
  uintptr_t p = (uintptr_t)port->port;
  return &observer_locks[(p >> 6) % OBSERVER_STRIPES];
}

bool cm_core_is_initialized(void) {
  return atomic_load_explicit(&core.state, memory_order_acquire) == CORE_READY;
}

cm_node *cm_core_node(void) {
  return core.node;
}

void cm_core_observe_port(const cm_port_ref *port, cm_dispatcher *d) {
  cm_dispatcher_ref(d);
  pthread_mutex_t *lock = observer_lock(port);
  pthread_mutex_lock(lock);
  cm_dispatcher *old = cm_port_get_user_data(port);
  cm_port_set_user_data(port, d);
  pthread_mutex_unlock(lock);
  if (old) cm_dispatcher_unref(old);
}

void cm_core_unobserve_port(const cm_port_ref *port) {
  pthread_mutex_t *lock = observer_lock(port);
  pthread_mutex_lock(lock);
  cm_dispatcher *old = cm_port_get_user_data(port);
  cm_port_set_user_data(port, NULL);
  pthread_mutex_unlock(lock);
  if (old) cm_dispatcher_unref(old);
}

MojoResult cm_core_pipe_result(MojoResult r) {
  switch (r) {
    case MOJO_RESULT_OK:
    case MOJO_RESULT_SHOULD_WAIT:
    case MOJO_RESULT_FAILED_PRECONDITION:
    case MOJO_RESULT_RESOURCE_EXHAUSTED:
      return r;
    default:
      /* Unknown port, wrong state, sending a pipe's own end or its peer. */
      return MOJO_RESULT_INVALID_ARGUMENT;
  }
}

/* ---- Node delegate ------------------------------------------------------ */

static void on_forward_event(void *context, const cm_node_name *to, cm_event *ev) {
  (void)context;
  cm_node_controller_forward_event(to, ev);
}

static void on_broadcast_event(void *context, cm_event *ev) {
  (void)context;
  cm_node_controller_broadcast_event(ev);
}

static void on_port_status_changed(void *context, const cm_port_ref *port) {
  (void)context;
  pthread_mutex_t *lock = observer_lock(port);
  pthread_mutex_lock(lock);
  cm_dispatcher *d = cm_port_get_user_data(port);
  /* A change nobody watches needs no work on a message pipe (the common
   * case: most handles are read when the application gets to it). The
   * port's reference keeps d alive while the stripe lock is held. A trigger
   * added right after this check reads the state itself. */
  if (d && d->ops->port_status_only_when_watched && !atomic_load(&d->watched)) d = NULL;
  if (d) cm_dispatcher_ref(d);
  pthread_mutex_unlock(lock);
  if (!d) return;

  cm_request_context rc;
  cm_request_context_begin(&rc, MOJO_TRAP_EVENT_FLAG_WITHIN_API_CALL);
  if (d->ops->on_port_status) d->ops->on_port_status(d, port);
  cm_request_context_end(&rc);
  cm_dispatcher_unref(d);
}

static MojoResult load_locked(void) {
  cm_node_name name;
  cm_name_random(&name);
  cm_node_delegate delegate = {
      .context = NULL,
      .forward_event = on_forward_event,
      .broadcast_event = on_broadcast_event,
      .port_status_changed = on_port_status_changed,
  };
  MojoResult rv = cm_node_create(&name, &delegate, &core.node);
  return rv == MOJO_RESULT_OK ? rv : MOJO_RESULT_RESOURCE_EXHAUSTED;
}

/* ---- API ---------------------------------------------------------------- */

/* MojoInitialize and cmojo_initialize_embedded. */
static MojoResult initialize(const struct MojoInitializeOptions *options, bool embedded) {
  MojoInitializeFlags flags = MOJO_INITIALIZE_FLAG_NONE;
  if (options) {
    /* Fields past struct_size are absent; flags must at least be there. */
    if (options->struct_size < 8) return MOJO_RESULT_INVALID_ARGUMENT;
    flags = options->flags;
  }
  MojoResult rv = MOJO_RESULT_OK;
  pthread_mutex_lock(&core.init_lock);
  int state = atomic_load(&core.state);
  if (state == CORE_READY) {
    rv = MOJO_RESULT_FAILED_PRECONDITION;
  } else if ((flags & MOJO_INITIALIZE_FLAG_LOAD_ONLY) && state == CORE_LOADED) {
    rv = MOJO_RESULT_ALREADY_EXISTS;
  } else {
    if (state == CORE_NONE) rv = load_locked();
    if (rv == MOJO_RESULT_OK) {
      if (flags & MOJO_INITIALIZE_FLAG_LOAD_ONLY) {
        atomic_store(&core.state, CORE_LOADED);
      } else {
        /* FORCE_DIRECT_SHARED_MEMORY_ALLOCATION changes nothing here: every
         * process creates its own shared memory (memfd) already. */
        rv = cm_node_controller_init(core.node, flags & MOJO_INITIALIZE_FLAG_AS_BROKER, embedded);
        if (rv == MOJO_RESULT_OK)
          atomic_store_explicit(&core.state, CORE_READY, memory_order_release);
      }
    }
  }
  pthread_mutex_unlock(&core.init_lock);
  return rv;
}

MojoResult MojoInitialize(const struct MojoInitializeOptions *options) {
  return initialize(options, false);
}

MojoResult cmojo_initialize_embedded(const struct MojoInitializeOptions *options) {
  return initialize(options, true);
}

MojoTimeTicks MojoGetTimeTicksNow(void) {
  return cm_platform_time_now();
}

MojoResult MojoClose(MojoHandle handle) {
  CM_API_BEGIN(rc);
  cm_dispatcher *d;
  MojoResult rv = cm_handles_remove(handle, &d);
  if (rv != MOJO_RESULT_OK) CM_API_RETURN(rc, rv);
  cm_dispatcher_close(d);
  cm_dispatcher_unref(d);
  CM_API_RETURN(rc, MOJO_RESULT_OK);
}

MojoResult MojoQueryHandleSignalsState(MojoHandle handle, MojoHandleSignalsState *signals_state) {
  CM_API_BEGIN(rc);
  cm_dispatcher *d = cm_handles_get(handle);
  if (!d || !signals_state) {
    if (d) cm_dispatcher_unref(d);
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  }
  MojoResult rv = cm_dispatcher_query_signals(d, signals_state);
  cm_dispatcher_unref(d);
  CM_API_RETURN(rc, rv);
}
