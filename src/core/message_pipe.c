/* Message pipe ends: dispatchers over one port each, plus the API functions
 * that act on them (create, write, read, fuse, quotas). */
#include <stdlib.h>

#include "core/core.h"
#include "core/handle_table.h"
#include "core/message.h"
#include "core/message_serialize.h"
#include "mojo/public/c/system/message_pipe.h"
#include "mojo/public/c/system/quota.h"

#define NUM_QUOTA_TYPES 3

typedef struct message_pipe {
  cm_dispatcher base;
  /* Fixed for the life of the dispatcher, except when a transfer lands it on
   * a port of another name (rebind, while no handle names it): API calls use
   * it without copying, as their dispatcher reference keeps it alive. */
  cm_port_ref port;
  /* The port was handed to the ports layer in a message. Written under
   * base.lock, read without it on the write/read paths. */
  atomic_bool transferred;
  uint64_t quota[NUM_QUOTA_TYPES]; /* under base.lock */
} message_pipe;

static message_pipe *as_pipe(cm_dispatcher *d) {
  return (message_pipe *)d;
}

static bool quota_exceeded(const message_pipe *p, const cm_port_status *st) {
  return (p->quota[MOJO_QUOTA_TYPE_RECEIVE_QUEUE_LENGTH] != MOJO_QUOTA_LIMIT_NONE &&
          st->queued_message_count > p->quota[MOJO_QUOTA_TYPE_RECEIVE_QUEUE_LENGTH]) ||
         (p->quota[MOJO_QUOTA_TYPE_RECEIVE_QUEUE_MEMORY_SIZE] != MOJO_QUOTA_LIMIT_NONE &&
          st->queued_num_bytes > p->quota[MOJO_QUOTA_TYPE_RECEIVE_QUEUE_MEMORY_SIZE]) ||
         (p->quota[MOJO_QUOTA_TYPE_UNREAD_MESSAGE_COUNT] != MOJO_QUOTA_LIMIT_NONE &&
          st->unacknowledged_message_count > p->quota[MOJO_QUOTA_TYPE_UNREAD_MESSAGE_COUNT]);
}

static MojoHandleSignalsState pipe_signals(cm_dispatcher *d) {
  message_pipe *p = as_pipe(d);
  MojoHandleSignalsState s = {0, 0};
  cm_port_status st;
  if (d->closed || atomic_load(&p->transferred) ||
      cm_node_get_status(cm_core_node(), &p->port, &st) != MOJO_RESULT_OK)
    return s;
  if (st.has_messages) {
    s.satisfied_signals |= MOJO_HANDLE_SIGNAL_READABLE;
    s.satisfiable_signals |= MOJO_HANDLE_SIGNAL_READABLE;
  }
  if (st.receiving_messages) s.satisfiable_signals |= MOJO_HANDLE_SIGNAL_READABLE;
  if (!st.peer_closed) {
    s.satisfied_signals |= MOJO_HANDLE_SIGNAL_WRITABLE;
    s.satisfiable_signals |= MOJO_HANDLE_SIGNAL_WRITABLE | MOJO_HANDLE_SIGNAL_READABLE |
                             MOJO_HANDLE_SIGNAL_PEER_REMOTE;
    if (st.peer_remote) s.satisfied_signals |= MOJO_HANDLE_SIGNAL_PEER_REMOTE;
  } else {
    s.satisfied_signals |= MOJO_HANDLE_SIGNAL_PEER_CLOSED;
  }
  if (quota_exceeded(p, &st)) s.satisfied_signals |= MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED;
  s.satisfiable_signals |= MOJO_HANDLE_SIGNAL_PEER_CLOSED | MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED;
  return s;
}

static void pipe_close(cm_dispatcher *d) {
  message_pipe *p = as_pipe(d);
  pthread_mutex_lock(&d->lock);
  bool owns_port = !atomic_load(&p->transferred);
  atomic_store(&p->transferred, true);
  pthread_mutex_unlock(&d->lock);
  cm_core_unobserve_port(&p->port);
  if (owns_port) cm_node_close_port(cm_core_node(), &p->port);
}

static void pipe_destroy(cm_dispatcher *d) {
  message_pipe *p = as_pipe(d);
  cm_port_ref_release(&p->port);
  free(p);
}

static MojoResult pipe_begin_transit(cm_dispatcher *d) {
  return atomic_load(&as_pipe(d)->transferred) ? MOJO_RESULT_INVALID_ARGUMENT : MOJO_RESULT_OK;
}

static size_t pipe_num_ports(cm_dispatcher *d) {
  (void)d;
  return 1;
}

static void pipe_get_ports(cm_dispatcher *d, cm_port_name *out) {
  message_pipe *p = as_pipe(d);
  pthread_mutex_lock(&d->lock);
  out[0] = p->port.name;
  atomic_store(&p->transferred, true);
  pthread_mutex_unlock(&d->lock);
  cm_core_unobserve_port(&p->port);
}

static bool pipe_rebind_ports(cm_dispatcher *d, const cm_port_name *names) {
  message_pipe *p = as_pipe(d);
  cm_port_ref ref;
  if (cm_name_equal(&names[0], &p->port.name)) {
    /* Moved within this node: the same port, still ours. */
    atomic_store(&p->transferred, false);
    cm_core_observe_port(&p->port, d);
    return true;
  }
  if (cm_node_get_port(cm_core_node(), &names[0], &ref) != MOJO_RESULT_OK) return false;
  pthread_mutex_lock(&d->lock);
  cm_port_ref old = p->port;
  p->port = ref;
  atomic_store(&p->transferred, false);
  pthread_mutex_unlock(&d->lock);
  cm_port_ref_release(&old);
  cm_core_observe_port(&p->port, d);
  return true;
}

static void pipe_on_port_status(cm_dispatcher *d, const cm_port_ref *port) {
  (void)port;
  if (!atomic_load(&d->watched)) return; /* nobody to tell */
  pthread_mutex_lock(&d->lock);
  if (!atomic_load(&as_pipe(d)->transferred) && !d->in_transit) cm_dispatcher_notify_locked(d);
  pthread_mutex_unlock(&d->lock);
}

/* A pipe end carries its port and nothing else: no blob, no OS handle. */
static MojoResult pipe_serialized_size(cm_dispatcher *d, uint32_t *num_bytes, uint32_t *num_ports,
                                       uint32_t *num_handles) {
  (void)d;
  *num_bytes = 0;
  *num_ports = 1;
  *num_handles = 0;
  return MOJO_RESULT_OK;
}

static MojoResult pipe_serialize(cm_dispatcher *d, uint8_t *bytes, cm_port_name *ports,
                                 cm_platform_handle *handles) {
  (void)bytes;
  (void)handles;
  pthread_mutex_lock(&d->lock);
  ports[0] = as_pipe(d)->port.name;
  pthread_mutex_unlock(&d->lock);
  return MOJO_RESULT_OK;
}

static const cm_dispatcher_ops pipe_ops = {
    .type = CM_DISPATCHER_MESSAGE_PIPE,
    .close = pipe_close,
    .destroy = pipe_destroy,
    .signals = pipe_signals,
    .begin_transit = pipe_begin_transit,
    .num_ports = pipe_num_ports,
    .get_ports = pipe_get_ports,
    .rebind_ports = pipe_rebind_ports,
    .on_port_status = pipe_on_port_status,
    .port_status_only_when_watched = true,
    .serialized_size = pipe_serialized_size,
    .serialize = pipe_serialize,
};

static message_pipe *pipe_new(const cm_port_ref *port) {
  message_pipe *p = calloc(1, sizeof(*p));
  if (!p) return NULL;
  cm_dispatcher_init(&p->base, &pipe_ops);
  p->port = *port;
  for (int i = 0; i < NUM_QUOTA_TYPES; i++) p->quota[i] = MOJO_QUOTA_LIMIT_NONE;
  return p;
}

MojoResult cm_message_pipe_deserialize(const uint8_t *blob, uint32_t num_bytes,
                                       cm_platform_handle *handles, uint32_t num_handles,
                                       cm_dispatcher **out) {
  (void)blob;
  if (num_bytes != 0 || num_handles != 0) {
    cm_platform_handles_close(handles, num_handles);
    return MOJO_RESULT_DATA_LOSS;
  }
  /* Unbound until rebind_ports names its new port (message_serialize.h). */
  cm_port_ref none = {{0, 0}, NULL};
  message_pipe *p = pipe_new(&none);
  if (!p)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  atomic_store(&p->transferred, true);
  *out = &p->base;
  return MOJO_RESULT_OK;
}

/* The port of an untransferred pipe, used without a copy (see the struct);
 * NULL once it was given away. A close racing with the caller is caught by
 * the ports layer, which refuses a closed port. */
static const cm_port_ref *pipe_port(cm_dispatcher *d) {
  message_pipe *p = as_pipe(d);
  return atomic_load(&p->transferred) ? NULL : &p->port;
}

static cm_dispatcher *get_pipe(MojoHandle h) {
  cm_dispatcher *d = cm_handles_get(h);
  if (d && cm_dispatcher_get_type(d) != CM_DISPATCHER_MESSAGE_PIPE) {
    cm_dispatcher_unref(d);
    d = NULL;
  }
  return d;
}

/* ---- API ---------------------------------------------------------------- */

MojoResult MojoCreateMessagePipe(const struct MojoCreateMessagePipeOptions *options,
                                 MojoHandle *message_pipe_handle0,
                                 MojoHandle *message_pipe_handle1) {
  CM_API_BEGIN(rc);
  if (!message_pipe_handle0 || !message_pipe_handle1 || !CM_OPTIONS_OK(options))
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  cm_node *node = cm_core_node();
  cm_port_ref a, b;
  if (cm_node_create_port_pair(node, &a, &b) != MOJO_RESULT_OK)
    CM_API_RETURN(rc, MOJO_RESULT_RESOURCE_EXHAUSTED);
  message_pipe *p0 = pipe_new(&a), *p1 = pipe_new(&b);
  MojoHandle h[2];
  cm_dispatcher *ds[2] = {p0 ? &p0->base : NULL, p1 ? &p1->base : NULL};
  if (p0 && p1 && cm_handles_add_many(ds, 2, h) == MOJO_RESULT_OK) {
    cm_core_observe_port(&p0->port, &p0->base);
    cm_core_observe_port(&p1->port, &p1->base);
    *message_pipe_handle0 = h[0];
    *message_pipe_handle1 = h[1];
    CM_API_RETURN(rc, MOJO_RESULT_OK);
  }
  cm_node_close_port(node, &a);
  cm_node_close_port(node, &b);
  if (p0) cm_dispatcher_unref(&p0->base);
  else cm_port_ref_release(&a);
  if (p1) cm_dispatcher_unref(&p1->base);
  else cm_port_ref_release(&b);
  CM_API_RETURN(rc, MOJO_RESULT_RESOURCE_EXHAUSTED);
}

MojoResult cm_message_pipe_wrap_port(cm_port_ref *port, MojoHandle *out) {
  message_pipe *p = pipe_new(port);
  if (!p) {
    cm_node_close_port(cm_core_node(), port);
    cm_port_ref_release(port);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  if (cm_handles_add(&p->base, out) != MOJO_RESULT_OK) {
    cm_node_close_port(cm_core_node(), &p->port);
    cm_dispatcher_unref(&p->base);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  cm_core_observe_port(&p->port, &p->base);
  return MOJO_RESULT_OK;
}

static MojoResult write_message(cm_dispatcher *d, cm_message *m) {
  const cm_port_ref *port = pipe_port(d);
  if (!port) {
    cm_message_destroy(m);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  size_t num_ports = cm_message_num_ports(m);
  size_t num_bytes = m->serialized ? m->payload_size : 0;
  cm_event *ev = cm_event_user_message_create(m, &cm_message_payload_ops, num_bytes, num_ports);
  MojoResult rv = MOJO_RESULT_RESOURCE_EXHAUSTED;
  if (ev) {
    /* From here on the carried ports belong to the ports layer, whether the
     * send succeeds or not (see ports.h). */
    cm_message_get_ports(m, cm_event_ports(ev));
    rv = cm_core_pipe_result(cm_node_send_user_message(cm_core_node(), port, ev));
  }
  if (rv == MOJO_RESULT_OK) cm_dispatcher_notify(d); /* e.g. the unread count grew */
  return rv;
}

MojoResult MojoWriteMessage(MojoHandle message_pipe_handle, MojoMessageHandle message,
                            const struct MojoWriteMessageOptions *options) {
  CM_API_BEGIN(rc);
  cm_message *m = cm_message_from_handle(message);
  if (!m) CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  MojoResult rv = CM_OPTIONS_OK(options) ? cm_message_check_sendable(m)
                                         : MOJO_RESULT_INVALID_ARGUMENT;
  cm_dispatcher *d = rv == MOJO_RESULT_OK ? get_pipe(message_pipe_handle) : NULL;
  if (rv == MOJO_RESULT_OK && !d) rv = MOJO_RESULT_INVALID_ARGUMENT;
  if (rv != MOJO_RESULT_OK) {
    cm_message_destroy(m);
    CM_API_RETURN(rc, rv);
  }
  rv = write_message(d, m);
  cm_dispatcher_unref(d);
  CM_API_RETURN(rc, rv);
}

static MojoResult read_message(cm_dispatcher *d, MojoMessageHandle *out) {
  const cm_port_ref *port = pipe_port(d);
  if (!port) return MOJO_RESULT_INVALID_ARGUMENT;
  cm_event *ev = NULL;
  MojoResult rv = cm_core_pipe_result(cm_node_get_message(cm_core_node(), port, &ev));
  if (rv != MOJO_RESULT_OK) return rv;

  cm_message *m = cm_event_take_payload(ev);
  if (cm_event_num_ports(ev)) cm_message_rebind(m, cm_event_ports(ev));
  cm_event_destroy(ev);
  cm_dispatcher_notify(d); /* maybe no longer readable */
  *out = (MojoMessageHandle)m;
  return MOJO_RESULT_OK;
}

MojoResult MojoReadMessage(MojoHandle message_pipe_handle,
                           const struct MojoReadMessageOptions *options,
                           MojoMessageHandle *message) {
  CM_API_BEGIN(rc);
  cm_dispatcher *d = get_pipe(message_pipe_handle);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  if (d && message && CM_OPTIONS_OK(options)) rv = read_message(d, message);
  if (d) cm_dispatcher_unref(d);
  CM_API_RETURN(rc, rv);
}

/* Closes a pipe dispatcher whose port was given away (fused). */
static void close_transferred(cm_dispatcher *d) {
  pthread_mutex_lock(&d->lock);
  atomic_store(&as_pipe(d)->transferred, true);
  pthread_mutex_unlock(&d->lock);
  cm_dispatcher_close(d);
  cm_dispatcher_unref(d);
}

MojoResult MojoFuseMessagePipes(MojoHandle handle0, MojoHandle handle1,
                                const struct MojoFuseMessagePipesOptions *options) {
  CM_API_BEGIN(rc);
  cm_dispatcher *d0 = NULL, *d1 = NULL;
  if (cm_handles_remove(handle0, &d0) != MOJO_RESULT_OK) d0 = NULL;
  if (cm_handles_remove(handle1, &d1) != MOJO_RESULT_OK) d1 = NULL;
  if (!d0 || !d1 || !CM_OPTIONS_OK(options) ||
      cm_dispatcher_get_type(d0) != CM_DISPATCHER_MESSAGE_PIPE ||
      cm_dispatcher_get_type(d1) != CM_DISPATCHER_MESSAGE_PIPE) {
    for (int i = 0; i < 2; i++) {
      cm_dispatcher *d = i ? d1 : d0;
      if (!d) continue;
      cm_dispatcher_close(d);
      cm_dispatcher_unref(d);
    }
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  }
  /* The ports stay alive with d0 and d1, whose references we hold. */
  const cm_port_ref *p0 = &as_pipe(d0)->port, *p1 = &as_pipe(d1)->port;
  cm_core_unobserve_port(p0);
  cm_core_unobserve_port(p1);
  /* The merge consumes both ports whatever it returns (ports.h). */
  MojoResult rv = cm_node_merge_local_ports(cm_core_node(), p0, p1);
  close_transferred(d0);
  close_transferred(d1);
  CM_API_RETURN(rc, rv == MOJO_RESULT_OK ? MOJO_RESULT_OK : MOJO_RESULT_FAILED_PRECONDITION);
}

static MojoResult set_quota(cm_dispatcher *d, MojoQuotaType type, uint64_t limit) {
  message_pipe *p = as_pipe(d);
  if (type >= NUM_QUOTA_TYPES) return MOJO_RESULT_INVALID_ARGUMENT;
  const cm_port_ref *port = pipe_port(d);
  if (!port) return MOJO_RESULT_INVALID_ARGUMENT;
  pthread_mutex_lock(&d->lock);
  p->quota[type] = limit;
  pthread_mutex_unlock(&d->lock);
  if (type == MOJO_QUOTA_TYPE_UNREAD_MESSAGE_COUNT) {
    /* Ask for a read ack every half limit, so acks keep pace with a sender
     * that stays within the limit. */
    uint64_t interval = limit == MOJO_QUOTA_LIMIT_NONE ? 0 : limit / 2 + 1;
    cm_node_set_acknowledge_request_interval(cm_core_node(), port, interval);
  }
  cm_dispatcher_notify(d);
  return MOJO_RESULT_OK;
}

MojoResult MojoSetQuota(MojoHandle handle, MojoQuotaType type, uint64_t limit,
                        const struct MojoSetQuotaOptions *options) {
  CM_API_BEGIN(rc);
  cm_dispatcher *d = get_pipe(handle);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  if (d && CM_OPTIONS_OK(options)) rv = set_quota(d, type, limit);
  if (d) cm_dispatcher_unref(d);
  CM_API_RETURN(rc, rv);
}

static MojoResult query_quota(cm_dispatcher *d, MojoQuotaType type, uint64_t *limit,
                              uint64_t *usage) {
  message_pipe *p = as_pipe(d);
  if (type >= NUM_QUOTA_TYPES) return MOJO_RESULT_INVALID_ARGUMENT;
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  cm_port_status st;
  pthread_mutex_lock(&d->lock);
  if (!d->closed && !atomic_load(&p->transferred) &&
      cm_node_get_status(cm_core_node(), &p->port, &st) == MOJO_RESULT_OK) {
    uint64_t used = type == MOJO_QUOTA_TYPE_RECEIVE_QUEUE_LENGTH       ? st.queued_message_count
                    : type == MOJO_QUOTA_TYPE_RECEIVE_QUEUE_MEMORY_SIZE ? st.queued_num_bytes
                                                                        : st.unacknowledged_message_count;
    if (limit) *limit = p->quota[type];
    if (usage) *usage = used;
    rv = MOJO_RESULT_OK;
  }
  pthread_mutex_unlock(&d->lock);
  return rv;
}

MojoResult MojoQueryQuota(MojoHandle handle, MojoQuotaType type,
                          const struct MojoQueryQuotaOptions *options, uint64_t *limit,
                          uint64_t *usage) {
  CM_API_BEGIN(rc);
  cm_dispatcher *d = get_pipe(handle);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  if (d && CM_OPTIONS_OK(options)) rv = query_quota(d, type, limit, usage);
  if (d) cm_dispatcher_unref(d);
  CM_API_RETURN(rc, rv);
}
