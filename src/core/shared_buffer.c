/* Shared buffers: the dispatcher over one shared memory region, and the API
 * functions that create, duplicate, map and describe them (buffer.h). */
#include "core/shared_buffer.h"

#include <stdlib.h>

#include "cm_limits.h"
#include "core/buffer_mapping.h"
#include "core/core.h"
#include "core/handle_table.h"
#include "core/message_serialize.h"
#include "mojo/public/c/system/buffer.h"

typedef struct shared_buffer {
  cm_dispatcher base;
  cm_platform_shm_region *region; /* under base.lock; NULL once closed or taken */
} shared_buffer;

static shared_buffer *as_buffer(cm_dispatcher *d) {
  return (shared_buffer *)d;
}

static void buffer_close(cm_dispatcher *d) {
  /* In a process the region travels inside the dispatcher, so a buffer in a
   * message that was sent but never read still owns it. */
  pthread_mutex_lock(&d->lock);
  cm_platform_shm_region *region = as_buffer(d)->region;
  as_buffer(d)->region = NULL;
  pthread_mutex_unlock(&d->lock);
  cm_platform_shm_destroy(region);
}

static void buffer_destroy(cm_dispatcher *d) {
  /* A dispatcher dropped without being closed (a failed creation) still
   * owns its region. */
  cm_platform_shm_destroy(as_buffer(d)->region);
  free(d);
}

static MojoResult buffer_begin_transit(cm_dispatcher *d) {
  return as_buffer(d)->region ? MOJO_RESULT_OK : MOJO_RESULT_INVALID_ARGUMENT;
}

/* ---- Serialization (docs/message-format.md) ---------------------------- */

static MojoResult buffer_serialized_size(cm_dispatcher *d, uint32_t *num_bytes, uint32_t *num_ports,
                                         uint32_t *num_handles) {
  pthread_mutex_lock(&d->lock);
  cm_platform_shm_region *region = d->closed ? NULL : as_buffer(d)->region;
  uint32_t n = region ? cm_platform_shm_handle_count(region) : 0;
  pthread_mutex_unlock(&d->lock);
  if (!region)
    return MOJO_RESULT_INVALID_ARGUMENT;
  *num_bytes = CM_MESSAGE_WIRE_SHARED_BUFFER_BLOB_BYTES;
  *num_ports = 0;
  *num_handles = n;
  return MOJO_RESULT_OK;
}

/* Size, GUID and access mode go in the blob; the region's fds move out. */
static MojoResult buffer_serialize(cm_dispatcher *d, uint8_t *bytes, cm_port_name *ports,
                                   cm_platform_handle *handles) {
  (void)ports;
  pthread_mutex_lock(&d->lock);
  cm_platform_shm_region *region = d->closed ? NULL : as_buffer(d)->region;
  as_buffer(d)->region = NULL;
  pthread_mutex_unlock(&d->lock);
  if (!region)
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_platform_shm_guid guid = cm_platform_shm_get_guid(region);
  cm_le_put64(bytes + 0, cm_platform_shm_size(region));
  cm_le_put64(bytes + 8, guid.high);
  cm_le_put64(bytes + 16, guid.low);
  cm_le_put32(bytes + 24, cm_platform_shm_access_mode(region));
  cm_platform_handle out[CM_PLATFORM_SHM_MAX_HANDLES];
  uint32_t n = cm_platform_shm_unwrap(region, out);
  for (uint32_t i = 0; i < n; i++)
    handles[i] = out[i];
  return MOJO_RESULT_OK;
}

MojoResult cm_shared_buffer_deserialize(const uint8_t *blob, uint32_t num_bytes,
                                        cm_platform_handle *handles, uint32_t num_handles,
                                        cm_dispatcher **out) {
  if (num_bytes != CM_MESSAGE_WIRE_SHARED_BUFFER_BLOB_BYTES) {
    cm_platform_handles_close(handles, num_handles);
    return MOJO_RESULT_DATA_LOSS;
  }
  uint64_t size = cm_le_get64(blob + 0);
  cm_platform_shm_guid guid = {cm_le_get64(blob + 8), cm_le_get64(blob + 16)};
  uint32_t mode = cm_le_get32(blob + 24);
  /* The count is checked before wrap, which would otherwise refuse to take
   * the handles and leave them to us. */
  if (cm_platform_shm_handles_for_mode(mode) != num_handles || cm_le_get32(blob + 28) != 0 || size == 0 ||
      size > CM_MAX_SHARED_MEMORY_BYTES) {
    cm_platform_handles_close(handles, num_handles);
    return MOJO_RESULT_DATA_LOSS;
  }
  cm_platform_shm_region *region;
  if (cm_platform_shm_wrap(handles, num_handles, size, guid, mode, CM_PLATFORM_SHM_WRAP_UNTRUSTED,
                           &region) != MOJO_RESULT_OK)
    return MOJO_RESULT_DATA_LOSS; /* the handles are closed */
  cm_dispatcher *d = cm_shared_buffer_create(region);
  if (!d)
    return MOJO_RESULT_RESOURCE_EXHAUSTED; /* the region is destroyed */
  *out = d;
  return MOJO_RESULT_OK;
}

static const cm_dispatcher_ops buffer_ops = {
    .type = CM_DISPATCHER_SHARED_BUFFER,
    .close = buffer_close,
    .destroy = buffer_destroy,
    .begin_transit = buffer_begin_transit,
    .serialized_size = buffer_serialized_size,
    .serialize = buffer_serialize,
};

cm_dispatcher *cm_shared_buffer_create(cm_platform_shm_region *region) {
  shared_buffer *b = calloc(1, sizeof(*b));
  if (!b) {
    cm_platform_shm_destroy(region);
    return NULL;
  }
  cm_dispatcher_init(&b->base, &buffer_ops);
  b->region = region;
  return &b->base;
}

cm_platform_shm_region *cm_shared_buffer_take_region(cm_dispatcher *d) {
  if (cm_dispatcher_get_type(d) != CM_DISPATCHER_SHARED_BUFFER)
    return NULL;
  pthread_mutex_lock(&d->lock);
  cm_platform_shm_region *region = d->closed ? NULL : as_buffer(d)->region;
  as_buffer(d)->region = NULL;
  pthread_mutex_unlock(&d->lock);
  if (region)
    cm_dispatcher_close(d);
  return region;
}

/* Adds a new dispatcher for `region` to the handle table. Consumes the
 * region whatever happens. */
static MojoResult add_buffer_handle(cm_platform_shm_region *region, MojoHandle *out) {
  cm_dispatcher *d = cm_shared_buffer_create(region);
  if (!d)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  MojoResult rv = cm_handles_add(d, out);
  if (rv != MOJO_RESULT_OK) {
    cm_dispatcher_close(d);
    cm_dispatcher_unref(d);
  }
  return rv;
}

static cm_dispatcher *get_buffer(MojoHandle h) {
  cm_dispatcher *d = cm_handles_get(h);
  if (d && cm_dispatcher_get_type(d) != CM_DISPATCHER_SHARED_BUFFER) {
    cm_dispatcher_unref(d);
    d = NULL;
  }
  return d;
}

/* The open region of `d`, with d->lock held on success (the caller
 * unlocks); NULL, unlocked, if the buffer is closed or in a message. */
static cm_platform_shm_region *lock_region(cm_dispatcher *d) {
  pthread_mutex_lock(&d->lock);
  if (!d->closed && !d->in_transit && as_buffer(d)->region)
    return as_buffer(d)->region;
  pthread_mutex_unlock(&d->lock);
  return NULL;
}

/* ---- API ---------------------------------------------------------------- */

MojoResult MojoCreateSharedBuffer(uint64_t num_bytes,
                                  const struct MojoCreateSharedBufferOptions *options,
                                  MojoHandle *shared_buffer_handle) {
  CM_API_BEGIN(rc);
  if (!shared_buffer_handle || !CM_OPTIONS_OK(options) || num_bytes == 0)
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  if (options && options->flags != MOJO_CREATE_SHARED_BUFFER_FLAG_NONE)
    CM_API_RETURN(rc, MOJO_RESULT_UNIMPLEMENTED);
  if (num_bytes > CM_MAX_SHARED_MEMORY_BYTES)
    CM_API_RETURN(rc, MOJO_RESULT_RESOURCE_EXHAUSTED);
  cm_platform_shm_region *region;
  if (cm_platform_shm_create(num_bytes, &region) != MOJO_RESULT_OK)
    CM_API_RETURN(rc, MOJO_RESULT_RESOURCE_EXHAUSTED);
  CM_API_RETURN(rc, add_buffer_handle(region, shared_buffer_handle));
}

static MojoResult duplicate(cm_dispatcher *d, bool read_only, MojoHandle *out) {
  cm_platform_shm_region *region = lock_region(d), *dup = NULL;
  if (!region)
    return MOJO_RESULT_INVALID_ARGUMENT;
  /* May convert `region` itself (to read-only or unsafe), hence the lock. */
  MojoResult rv = cm_platform_shm_duplicate(region, read_only, &dup);
  pthread_mutex_unlock(&d->lock);
  if (rv == MOJO_RESULT_FAILED_PRECONDITION)
    return rv;
  if (rv != MOJO_RESULT_OK)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  return add_buffer_handle(dup, out);
}

MojoResult MojoDuplicateBufferHandle(MojoHandle buffer_handle,
                                     const struct MojoDuplicateBufferHandleOptions *options,
                                     MojoHandle *new_buffer_handle) {
  CM_API_BEGIN(rc);
  cm_dispatcher *d = get_buffer(buffer_handle);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  if (d && new_buffer_handle && CM_OPTIONS_OK(options)) {
    MojoDuplicateBufferHandleFlags flags = options ? options->flags : 0;
    if (flags & ~MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_READ_ONLY)
      rv = MOJO_RESULT_UNIMPLEMENTED;
    else
      rv = duplicate(d, flags & MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_READ_ONLY, new_buffer_handle);
  }
  if (d)
    cm_dispatcher_unref(d);
  CM_API_RETURN(rc, rv);
}

MojoResult MojoMapBuffer(MojoHandle buffer_handle, uint64_t offset, uint64_t num_bytes,
                         const struct MojoMapBufferOptions *options, void **buffer) {
  CM_API_BEGIN(rc);
  cm_dispatcher *d = get_buffer(buffer_handle);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  cm_platform_shm_region *region = NULL;
  if (d && buffer && CM_OPTIONS_OK(options) && num_bytes != 0)
    region = lock_region(d);
  if (region) {
    cm_platform_mapping m;
    rv = cm_platform_shm_map(region, offset, num_bytes, &m);
    pthread_mutex_unlock(&d->lock);
    if (rv == MOJO_RESULT_OK)
      rv = cm_buffer_mapping_add(&m);
    else if (rv != MOJO_RESULT_INVALID_ARGUMENT)
      rv = MOJO_RESULT_RESOURCE_EXHAUSTED;
    if (rv == MOJO_RESULT_OK)
      *buffer = m.base;
  }
  if (d)
    cm_dispatcher_unref(d);
  CM_API_RETURN(rc, rv);
}

MojoResult MojoUnmapBuffer(void *buffer) {
  if (!cm_core_is_initialized())
    return MOJO_RESULT_FAILED_PRECONDITION;
  return cm_buffer_mapping_remove(buffer);
}

MojoResult MojoGetBufferInfo(MojoHandle buffer_handle,
                             const struct MojoGetBufferInfoOptions *options,
                             struct MojoSharedBufferInfo *info) {
  CM_API_BEGIN(rc);
  cm_dispatcher *d = get_buffer(buffer_handle);
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  cm_platform_shm_region *region = NULL;
  if (d && info && info->struct_size >= sizeof(*info) && CM_OPTIONS_OK(options))
    region = lock_region(d);
  if (region) {
    info->size = cm_platform_shm_size(region);
    pthread_mutex_unlock(&d->lock);
    rv = MOJO_RESULT_OK;
  }
  if (d)
    cm_dispatcher_unref(d);
  CM_API_RETURN(rc, rv);
}
