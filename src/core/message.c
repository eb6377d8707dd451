#include "core/message.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cm_limits.h"
#include "core/core.h"
#include "core/handle_table.h"
#include "core/node_controller.h"

/* ---- Message objects ---------------------------------------------------- */

/* A small per-thread cache of message objects: messages are created and
 * destroyed at a steady rate, and malloc/free of a 200-byte object is a
 * large share of a short message's cost. Objects cached by a thread are
 * freed when it exits. Under AddressSanitizer the cache is off, so that a
 * message used after MojoDestroyMessage is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define MESSAGE_CACHE_SIZE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MESSAGE_CACHE_SIZE 0
#endif
#endif
#ifndef MESSAGE_CACHE_SIZE
#define MESSAGE_CACHE_SIZE 8
#endif

#if MESSAGE_CACHE_SIZE > 0
typedef struct message_cache {
  cm_message *items[MESSAGE_CACHE_SIZE];
  unsigned count;
  bool registered; /* the thread-exit flush is set up */
} message_cache;

static _Thread_local message_cache cache __attribute__((tls_model("initial-exec")));
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_flush(void *unused) {
  (void)unused;
  while (cache.count)
    free(cache.items[--cache.count]);
}

static void cache_key_create(void) {
  pthread_key_create(&cache_key, cache_flush);
}
#endif

cm_message *cm_message_alloc(void) {
  cm_message *m;
#if MESSAGE_CACHE_SIZE > 0
  if (cache.count)
    m = cache.items[--cache.count];
  else
#endif
    m = malloc(sizeof(*m));
  if (!m)
    return NULL;
  memset(m, 0, offsetof(cm_message, inline_payload));
  m->payload = m->inline_payload;
  m->payload_capacity = CM_MESSAGE_INLINE_BYTES;
  return m;
}

/* Payload buffers come from the platform's buffer pool (large messages
 * reuse memory instead of faulting in fresh pages on every hop). */
static void free_payload(cm_message *m) {
  if (m->payload_block.base) {
    cm_platform_buffer_free(m->payload_block.base, m->payload_block.capacity);
    m->payload_block.base = NULL;
  } else if (m->payload != m->inline_payload) {
    cm_platform_buffer_free(m->payload, m->payload_capacity);
  }
}

void cm_message_release_payload(cm_message *m, void **owner, size_t *capacity) {
  *owner = NULL;
  *capacity = 0;
  if (m->payload_block.base) {
    *owner = m->payload_block.base;
    *capacity = m->payload_block.capacity;
    m->payload_block.base = NULL;
  } else if (m->payload != m->inline_payload) {
    *owner = m->payload;
    *capacity = m->payload_capacity;
  } else {
    return; /* inline: nothing to give */
  }
  m->payload = m->inline_payload;
  m->payload_capacity = CM_MESSAGE_INLINE_BYTES;
  m->payload_size = 0;
}

static void message_free(cm_message *m) {
#if MESSAGE_CACHE_SIZE > 0
  if (cache.count < MESSAGE_CACHE_SIZE) {
    if (!cache.registered) {
      pthread_once(&cache_once, cache_key_create);
      pthread_setspecific(cache_key, &cache);
      cache.registered = true;
    }
    cache.items[cache.count++] = m;
    return;
  }
#endif
  free(m);
}

/* ---- Internal ----------------------------------------------------------- */

static void release_dispatchers(cm_message *m) {
  if (!m->handles_taken) {
    for (uint32_t i = 0; i < m->num_dispatchers; i++) {
      cm_dispatcher_close(m->dispatchers[i]);
      cm_dispatcher_unref(m->dispatchers[i]);
    }
  }
  free(m->dispatchers);
  m->dispatchers = NULL;
  m->num_dispatchers = m->dispatcher_capacity = 0;
}

void cm_message_destroy(cm_message *m) {
  if (m->context && m->destructor)
    m->destructor(m->context);
  release_dispatchers(m);
  free_payload(m);
  message_free(m);
}

static void payload_destroy(void *payload) {
  cm_message_destroy(payload);
}

const cm_payload_ops cm_message_payload_ops = {.destroy = payload_destroy};

MojoResult cm_message_check_sendable(const cm_message *m) {
  if (m->context)
    return MOJO_RESULT_OK;
  if (m->serialized)
    return m->committed ? MOJO_RESULT_OK : MOJO_RESULT_INVALID_ARGUMENT;
  return MOJO_RESULT_NOT_FOUND;
}

size_t cm_message_num_ports(const cm_message *m) {
  size_t n = 0;
  if (m->handles_taken)
    return 0;
  for (uint32_t i = 0; i < m->num_dispatchers; i++) {
    cm_dispatcher *d = m->dispatchers[i];
    if (d->ops->num_ports)
      n += d->ops->num_ports(d);
  }
  return n;
}

void cm_message_get_ports(const cm_message *m, cm_port_name *out) {
  if (m->handles_taken)
    return;
  for (uint32_t i = 0; i < m->num_dispatchers; i++) {
    cm_dispatcher *d = m->dispatchers[i];
    if (!d->ops->num_ports)
      continue;
    size_t k = d->ops->num_ports(d);
    d->ops->get_ports(d, out);
    out += k;
  }
}

void cm_message_rebind(cm_message *m, const cm_port_name *names) {
  for (uint32_t i = 0; i < m->num_dispatchers; i++) {
    cm_dispatcher *d = m->dispatchers[i];
    if (!d->ops->num_ports)
      continue;
    size_t k = d->ops->num_ports(d);
    d->ops->rebind_ports(d, names);
    names += k;
  }
}

static MojoResult reserve_payload(cm_message *m, uint64_t needed) {
  if (needed <= m->payload_capacity)
    return MOJO_RESULT_OK;
  if (needed > UINT32_MAX)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  uint64_t want = (uint64_t)m->payload_capacity * 2;
  if (want < needed)
    want = needed;
  if (want > UINT32_MAX)
    want = UINT32_MAX;
  size_t cap;
  uint8_t *p = cm_platform_buffer_alloc((size_t)want, &cap);
  if (!p)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  if (cap > UINT32_MAX)
    cap = UINT32_MAX; /* cannot happen: the pool stops at 64 MiB */
  if (m->payload_size)
    memcpy(p, m->payload, m->payload_size);
  free_payload(m);
  m->payload = p;
  m->payload_capacity = (uint32_t)cap;
  return MOJO_RESULT_OK;
}

static MojoResult reserve_dispatchers(cm_message *m, uint64_t needed) {
  if (needed <= m->dispatcher_capacity)
    return MOJO_RESULT_OK;
  if (needed > CM_MAX_HANDLES_PER_MESSAGE)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  uint64_t cap = (uint64_t)m->dispatcher_capacity * 2;
  if (cap < needed)
    cap = needed;
  if (cap < 4)
    cap = 4;
  cm_dispatcher **p = realloc(m->dispatchers, cap * sizeof(*p));
  if (!p)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  m->dispatchers = p;
  m->dispatcher_capacity = (uint32_t)cap;
  return MOJO_RESULT_OK;
}

static bool size_allowed(const cm_message *m, uint64_t size) {
  return m->unlimited_size || size <= CM_MAX_MESSAGE_BYTES;
}

/* ---- API ---------------------------------------------------------------- */

MojoResult MojoCreateMessage(const struct MojoCreateMessageOptions *options,
                             MojoMessageHandle *message) {
  if (!cm_core_is_initialized())
    return MOJO_RESULT_FAILED_PRECONDITION;
  if (!message || !CM_OPTIONS_OK(options))
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_message *m = cm_message_alloc();
  if (!m)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  m->unlimited_size = options && (options->flags & MOJO_CREATE_MESSAGE_FLAG_UNLIMITED_SIZE);
  *message = (MojoMessageHandle)m;
  return MOJO_RESULT_OK;
}

MojoResult MojoDestroyMessage(MojoMessageHandle message) {
  CM_API_BEGIN(rc);
  if (!message)
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  cm_message_destroy(cm_message_from_handle(message));
  CM_API_RETURN(rc, MOJO_RESULT_OK);
}

MojoResult MojoReserveMessageCapacity(MojoMessageHandle message, uint32_t payload_buffer_size,
                                      uint32_t *buffer_size) {
  if (!cm_core_is_initialized())
    return MOJO_RESULT_FAILED_PRECONDITION;
  cm_message *m = cm_message_from_handle(message);
  if (!m)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (m->context || m->serialized)
    return MOJO_RESULT_FAILED_PRECONDITION;
  if (!size_allowed(m, payload_buffer_size))
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  MojoResult rv = reserve_payload(m, payload_buffer_size);
  if (rv != MOJO_RESULT_OK)
    return rv;
  m->serialized = true;
  if (buffer_size)
    *buffer_size = m->payload_capacity;
  return MOJO_RESULT_OK;
}

MojoResult MojoAppendMessageData(MojoMessageHandle message, uint32_t payload_size,
                                 const MojoHandle *handles, uint32_t num_handles,
                                 const struct MojoAppendMessageDataOptions *options, void **buffer,
                                 uint32_t *buffer_size) {
  CM_API_BEGIN(rc);
  cm_message *m = cm_message_from_handle(message);
  if (!m || (num_handles && !handles) || !CM_OPTIONS_OK(options))
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  if (m->context || m->committed)
    CM_API_RETURN(rc, MOJO_RESULT_FAILED_PRECONDITION);

  uint64_t new_size = (uint64_t)m->payload_size + payload_size;
  if (!size_allowed(m, new_size))
    CM_API_RETURN(rc, MOJO_RESULT_RESOURCE_EXHAUSTED);
  MojoResult rv = reserve_payload(m, new_size);
  if (rv == MOJO_RESULT_OK)
    rv = reserve_dispatchers(m, (uint64_t)m->num_dispatchers + num_handles);
  if (rv == MOJO_RESULT_OK && num_handles)
    rv = cm_handles_begin_transit(handles, num_handles, m->dispatchers + m->num_dispatchers);
  if (rv != MOJO_RESULT_OK)
    CM_API_RETURN(rc, rv);

  m->num_dispatchers += num_handles;
  m->payload_size = (uint32_t)new_size;
  m->serialized = true;
  if (options && (options->flags & MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE))
    m->committed = true;
  if (buffer)
    *buffer = m->payload;
  if (buffer_size)
    *buffer_size = m->payload_capacity;
  CM_API_RETURN(rc, MOJO_RESULT_OK);
}

/* Moves the attached dispatchers into the handle table. */
static MojoResult take_handles(cm_message *m, MojoHandle *handles) {
  MojoResult rv = cm_handles_add_many(m->dispatchers, m->num_dispatchers, handles);
  if (rv != MOJO_RESULT_OK)
    return rv;
  for (uint32_t i = 0; i < m->num_dispatchers; i++) {
    cm_dispatcher *d = m->dispatchers[i];
    pthread_mutex_lock(&d->lock);
    d->in_transit = false;
    cm_dispatcher_notify_locked(d);
    pthread_mutex_unlock(&d->lock);
  }
  m->handles_taken = true;
  return MOJO_RESULT_OK;
}

MojoResult MojoGetMessageData(MojoMessageHandle message,
                              const struct MojoGetMessageDataOptions *options, void **buffer,
                              uint32_t *num_bytes, MojoHandle *handles, uint32_t *num_handles) {
  CM_API_BEGIN(rc);
  cm_message *m = cm_message_from_handle(message);
  if (!m || (num_handles && *num_handles && !handles) || !CM_OPTIONS_OK(options))
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  if (!m->serialized || !m->committed)
    CM_API_RETURN(rc, MOJO_RESULT_FAILED_PRECONDITION);

  if (num_bytes)
    *num_bytes = m->payload_size;
  if (m->payload_size > 0) {
    if (!num_bytes || !buffer)
      CM_API_RETURN(rc, MOJO_RESULT_RESOURCE_EXHAUSTED);
    *buffer = m->payload;
  } else if (buffer) {
    *buffer = NULL;
  }
  if (options && (options->flags & MOJO_GET_MESSAGE_DATA_FLAG_IGNORE_HANDLES))
    CM_API_RETURN(rc, MOJO_RESULT_OK);

  uint32_t max = num_handles ? *num_handles : 0;
  if (num_handles)
    *num_handles = m->num_dispatchers;
  if (m->num_dispatchers > max)
    CM_API_RETURN(rc, MOJO_RESULT_RESOURCE_EXHAUSTED);
  if (m->num_dispatchers == 0)
    CM_API_RETURN(rc, MOJO_RESULT_OK);
  if (m->handles_taken)
    CM_API_RETURN(rc, MOJO_RESULT_NOT_FOUND);
  CM_API_RETURN(rc, take_handles(m, handles));
}

MojoResult MojoSetMessageContext(MojoMessageHandle message, uintptr_t context,
                                 MojoMessageContextSerializer serializer,
                                 MojoMessageContextDestructor destructor,
                                 const struct MojoSetMessageContextOptions *options) {
  if (!cm_core_is_initialized())
    return MOJO_RESULT_FAILED_PRECONDITION;
  cm_message *m = cm_message_from_handle(message);
  if (!m || !CM_OPTIONS_OK(options))
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (!context && (serializer || destructor))
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (context && m->context)
    return MOJO_RESULT_ALREADY_EXISTS;
  if (m->serialized)
    return MOJO_RESULT_FAILED_PRECONDITION;
  m->context = context;
  m->serializer = serializer;
  m->destructor = destructor;
  return MOJO_RESULT_OK;
}

MojoResult MojoGetMessageContext(MojoMessageHandle message,
                                 const struct MojoGetMessageContextOptions *options,
                                 uintptr_t *context) {
  if (!cm_core_is_initialized())
    return MOJO_RESULT_FAILED_PRECONDITION;
  cm_message *m = cm_message_from_handle(message);
  if (!m || !context || !CM_OPTIONS_OK(options))
    return MOJO_RESULT_INVALID_ARGUMENT;
  *context = m->context;
  return MOJO_RESULT_OK;
}

/* Throws away whatever a failed serializer left in the message. */
static void reset_serialized(cm_message *m) {
  release_dispatchers(m);
  free_payload(m);
  m->payload = m->inline_payload;
  m->payload_capacity = CM_MESSAGE_INLINE_BYTES;
  m->payload_size = 0;
  m->serialized = m->committed = false;
}

MojoResult cm_message_serialize(cm_message *m) {
  if (m->serialized)
    return MOJO_RESULT_FAILED_PRECONDITION;
  if (!m->context || !m->serializer)
    return MOJO_RESULT_NOT_FOUND;
  uintptr_t context = m->context;
  MojoMessageContextDestructor destructor = m->destructor;
  MojoMessageContextSerializer serializer = m->serializer;
  m->context = 0;
  m->serializer = NULL;
  m->destructor = NULL;
  serializer((MojoMessageHandle)m, context);
  if (destructor)
    destructor(context);
  if (!m->serialized || !m->committed) {
    reset_serialized(m);
    return MOJO_RESULT_ABORTED;
  }
  return MOJO_RESULT_OK;
}

MojoResult MojoSerializeMessage(MojoMessageHandle message,
                                const struct MojoSerializeMessageOptions *options) {
  CM_API_BEGIN(rc);
  cm_message *m = cm_message_from_handle(message);
  if (!m || !CM_OPTIONS_OK(options))
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  CM_API_RETURN(rc, cm_message_serialize(m));
}

MojoResult MojoNotifyBadMessage(MojoMessageHandle message, const char *error,
                                uint32_t error_num_bytes,
                                const struct MojoNotifyBadMessageOptions *options) {
  if (!cm_core_is_initialized())
    return MOJO_RESULT_FAILED_PRECONDITION;
  if (!message || (error_num_bytes && !error) || !CM_OPTIONS_OK(options))
    return MOJO_RESULT_INVALID_ARGUMENT;
  /* A message written in this process has nobody else to blame: the report
   * goes nowhere, as the API allows. */
  const cm_message *m = cm_message_from_handle(message);
  if (cm_name_is_valid(&m->source_node))
    cm_node_controller_notify_bad_message(&m->source_node, error, error_num_bytes);
  return MOJO_RESULT_OK;
}
