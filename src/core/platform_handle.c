/* Wrapped OS handles (the dispatcher) and the API functions that wrap and
 * unwrap OS handles and shared memory regions. */
#include "core/platform_handle.h"

#include <stdlib.h>

#include "core/core.h"
#include "core/handle_table.h"
#include "core/message_serialize.h"
#include "core/shared_buffer.h"
#include "mojo/public/c/system/platform_handle.h"

typedef struct wrapper {
  cm_dispatcher base;
  cm_platform_handle handle; /* under base.lock; invalid once closed or taken */
} wrapper;

static wrapper *as_wrapper(cm_dispatcher *d) {
  return (wrapper *)d;
}

static void wrapper_close(cm_dispatcher *d) {
  /* In a process the OS handle travels inside the dispatcher: a wrapper in
   * a message that was sent but never read still owns it. */
  pthread_mutex_lock(&d->lock);
  cm_platform_handle h = as_wrapper(d)->handle;
  as_wrapper(d)->handle = cm_platform_handle_invalid();
  pthread_mutex_unlock(&d->lock);
  cm_platform_handle_close(&h);
}

static void wrapper_destroy(cm_dispatcher *d) {
  cm_platform_handle_close(&as_wrapper(d)->handle);
  free(d);
}

static MojoResult wrapper_begin_transit(cm_dispatcher *d) {
  return cm_platform_handle_is_valid(as_wrapper(d)->handle) ? MOJO_RESULT_OK
                                                            : MOJO_RESULT_INVALID_ARGUMENT;
}

/* ---- Serialization (docs/message-format.md) ---------------------------- */

static MojoResult wrapper_serialized_size(cm_dispatcher *d, uint32_t *num_bytes,
                                          uint32_t *num_ports, uint32_t *num_handles) {
  pthread_mutex_lock(&d->lock);
  bool ok = !d->closed && cm_platform_handle_is_valid(as_wrapper(d)->handle);
  pthread_mutex_unlock(&d->lock);
  if (!ok)
    return MOJO_RESULT_INVALID_ARGUMENT;
  *num_bytes = 0;
  *num_ports = 0;
  *num_handles = 1;
  return MOJO_RESULT_OK;
}

/* No blob: the OS handle itself moves out. */
static MojoResult wrapper_serialize(cm_dispatcher *d, uint8_t *bytes, cm_port_name *ports,
                                    cm_platform_handle *handles) {
  (void)bytes;
  (void)ports;
  pthread_mutex_lock(&d->lock);
  cm_platform_handle h = d->closed ? cm_platform_handle_invalid() : as_wrapper(d)->handle;
  as_wrapper(d)->handle = cm_platform_handle_invalid();
  pthread_mutex_unlock(&d->lock);
  if (!cm_platform_handle_is_valid(h))
    return MOJO_RESULT_INVALID_ARGUMENT;
  handles[0] = h;
  return MOJO_RESULT_OK;
}

static const cm_dispatcher_ops wrapper_ops = {
    .type = CM_DISPATCHER_PLATFORM_HANDLE,
    .close = wrapper_close,
    .destroy = wrapper_destroy,
    .begin_transit = wrapper_begin_transit,
    .serialized_size = wrapper_serialized_size,
    .serialize = wrapper_serialize,
};

cm_dispatcher *cm_platform_handle_wrapper_create(cm_platform_handle handle) {
  wrapper *w = calloc(1, sizeof(*w));
  if (!w)
    return NULL;
  cm_dispatcher_init(&w->base, &wrapper_ops);
  w->handle = handle;
  return &w->base;
}

MojoResult cm_platform_handle_deserialize(const uint8_t *blob, uint32_t num_bytes,
                                          cm_platform_handle *handles, uint32_t num_handles,
                                          cm_dispatcher **out) {
  (void)blob;
  /* Whatever the fd is, the receiver may have it: only its presence and
   * kind (an fd, as the transport delivers) are checked. */
  if (num_bytes != 0 || num_handles != 1 || handles[0].type != CM_PLATFORM_HANDLE_TYPE_FD) {
    cm_platform_handles_close(handles, num_handles);
    return MOJO_RESULT_DATA_LOSS;
  }
  cm_dispatcher *d = cm_platform_handle_wrapper_create(handles[0]);
  if (!d) {
    cm_platform_handles_close(handles, 1);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  handles[0] = cm_platform_handle_invalid();
  *out = d;
  return MOJO_RESULT_OK;
}

/* Removes `h` from the handle table if it is a handle of `type`. NULL (and
 * the handle stays) otherwise. */
static cm_dispatcher *remove_typed(MojoHandle h, cm_dispatcher_type type) {
  cm_dispatcher *d = cm_handles_get(h);
  if (!d)
    return NULL;
  bool match = cm_dispatcher_get_type(d) == type;
  cm_dispatcher_unref(d);
  /* Handle values carry a generation count, so if another thread closed
   * `h` in between, the removal fails instead of taking another object. */
  if (!match || cm_handles_remove(h, &d) != MOJO_RESULT_OK)
    return NULL;
  return d;
}

/* A MojoPlatformHandle from the caller, as the driver's type. Only the
 * struct's size is checked here; the driver judges type and value. */
static bool from_mojo(const struct MojoPlatformHandle *in, cm_platform_handle *out) {
  if (!in || in->struct_size < sizeof(*in))
    return false;
  out->type = in->type;
  out->value = in->value;
  return true;
}

static void to_mojo(cm_platform_handle h, struct MojoPlatformHandle *out) {
  out->type = h.type; /* the driver's numbering is MojoPlatformHandleType's */
  out->value = h.value;
}

/* ---- Single OS handles -------------------------------------------------- */

MojoResult MojoWrapPlatformHandle(const struct MojoPlatformHandle *platform_handle,
                                  const struct MojoWrapPlatformHandleOptions *options,
                                  MojoHandle *mojo_handle) {
  CM_API_BEGIN(rc);
  cm_platform_handle h;
  if (!mojo_handle || !CM_OPTIONS_OK(options) || !from_mojo(platform_handle, &h) ||
      cm_platform_handle_check(h) != MOJO_RESULT_OK)
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  cm_dispatcher *d = cm_platform_handle_wrapper_create(h);
  if (!d)
    CM_API_RETURN(rc, MOJO_RESULT_RESOURCE_EXHAUSTED);
  MojoResult rv = cm_handles_add(d, mojo_handle);
  if (rv != MOJO_RESULT_OK) {
    /* The caller keeps the OS handle on failure: take it back out first. */
    as_wrapper(d)->handle = cm_platform_handle_invalid();
    cm_dispatcher_unref(d);
  }
  CM_API_RETURN(rc, rv);
}

MojoResult MojoUnwrapPlatformHandle(MojoHandle mojo_handle,
                                    const struct MojoUnwrapPlatformHandleOptions *options,
                                    struct MojoPlatformHandle *platform_handle) {
  CM_API_BEGIN(rc);
  cm_dispatcher *d = remove_typed(mojo_handle, CM_DISPATCHER_PLATFORM_HANDLE);
  if (!d)
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  pthread_mutex_lock(&d->lock);
  cm_platform_handle h = as_wrapper(d)->handle;
  as_wrapper(d)->handle = cm_platform_handle_invalid();
  pthread_mutex_unlock(&d->lock);
  cm_dispatcher_close(d);
  cm_dispatcher_unref(d);
  /* The Mojo handle is gone whatever follows (platform_handle.h); with
   * nowhere to put the OS handle, it is closed too. */
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  if (platform_handle && platform_handle->struct_size >= sizeof(*platform_handle) &&
      CM_OPTIONS_OK(options) && cm_platform_handle_is_valid(h)) {
    to_mojo(h, platform_handle);
    rv = MOJO_RESULT_OK;
  } else {
    cm_platform_handle_close(&h);
  }
  CM_API_RETURN(rc, rv);
}

/* ---- Shared memory regions ---------------------------------------------- */

/* Copies the caller's OS handles into `dups` as duplicates, so that a failed
 * wrap (which closes what it was given) leaves the caller's own handles
 * untouched, as platform_handle.h promises. */
static MojoResult duplicate_all(const struct MojoPlatformHandle *in, uint32_t n,
                                cm_platform_handle dups[CM_PLATFORM_SHM_MAX_HANDLES]) {
  for (uint32_t i = 0; i < n; i++) {
    cm_platform_handle h;
    MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
    if (from_mojo(&in[i], &h) && cm_platform_handle_check(h) == MOJO_RESULT_OK)
      rv = cm_platform_handle_duplicate(h, &dups[i]);
    if (rv != MOJO_RESULT_OK) {
      while (i > 0)
        cm_platform_handle_close(&dups[--i]);
      return rv;
    }
  }
  return MOJO_RESULT_OK;
}

static MojoResult wrap_region(const struct MojoPlatformHandle *handles, uint32_t n,
                              uint64_t num_bytes, const struct MojoSharedBufferGuid *guid,
                              uint32_t access_mode, MojoHandle *out) {
  cm_platform_handle dups[CM_PLATFORM_SHM_MAX_HANDLES];
  uint32_t needed = cm_platform_shm_handles_for_mode(access_mode);
  if (!needed || n != needed || num_bytes == 0)
    return MOJO_RESULT_INVALID_ARGUMENT;
  MojoResult rv = duplicate_all(handles, n, dups);
  if (rv != MOJO_RESULT_OK)
    return rv == MOJO_RESULT_INVALID_ARGUMENT ? rv : MOJO_RESULT_RESOURCE_EXHAUSTED;
  cm_platform_shm_region *region;
  cm_platform_shm_guid g = {guid->high, guid->low};
  rv = cm_platform_shm_wrap(dups, n, num_bytes, g, access_mode, CM_PLATFORM_SHM_WRAP_NONE, &region);
  if (rv != MOJO_RESULT_OK)
    return rv; /* the duplicates are closed by now */
  cm_dispatcher *d = cm_shared_buffer_create(region);
  if (!d)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  rv = cm_handles_add(d, out);
  if (rv != MOJO_RESULT_OK) {
    cm_dispatcher_close(d);
    cm_dispatcher_unref(d);
    return rv;
  }
  /* The new handle owns the memory now; the caller's handles are spent. */
  for (uint32_t i = 0; i < n; i++) {
    cm_platform_handle h = {handles[i].type, handles[i].value};
    cm_platform_handle_close(&h);
  }
  return MOJO_RESULT_OK;
}

MojoResult MojoWrapPlatformSharedMemoryRegion(
    const struct MojoPlatformHandle *platform_handles, uint32_t num_platform_handles,
    uint64_t num_bytes, const struct MojoSharedBufferGuid *guid,
    MojoPlatformSharedMemoryRegionAccessMode access_mode,
    const struct MojoWrapPlatformSharedMemoryRegionOptions *options, MojoHandle *mojo_handle) {
  CM_API_BEGIN(rc);
  if (!platform_handles || !guid || !mojo_handle || !CM_OPTIONS_OK(options))
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  CM_API_RETURN(rc, wrap_region(platform_handles, num_platform_handles, num_bytes, guid,
                                access_mode, mojo_handle));
}

/* Whether the caller's output array can take `n` handles. */
static bool outputs_fit(const struct MojoPlatformHandle *handles, uint32_t capacity, uint32_t n) {
  if (!handles || capacity < n)
    return false;
  for (uint32_t i = 0; i < n; i++)
    if (handles[i].struct_size < sizeof(handles[i]))
      return false;
  return true;
}

MojoResult MojoUnwrapPlatformSharedMemoryRegion(
    MojoHandle mojo_handle, const struct MojoUnwrapPlatformSharedMemoryRegionOptions *options,
    struct MojoPlatformHandle *platform_handles, uint32_t *num_platform_handles,
    uint64_t *num_bytes, struct MojoSharedBufferGuid *guid,
    MojoPlatformSharedMemoryRegionAccessMode *access_mode) {
  CM_API_BEGIN(rc);
  cm_dispatcher *d = remove_typed(mojo_handle, CM_DISPATCHER_SHARED_BUFFER);
  if (!d)
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  cm_platform_shm_region *region = cm_shared_buffer_take_region(d);
  cm_dispatcher_unref(d);
  /* From here the Mojo handle is gone; on failure the region is lost too. */
  if (!region || !num_platform_handles || !num_bytes || !guid || !access_mode ||
      !CM_OPTIONS_OK(options) ||
      !outputs_fit(platform_handles, *num_platform_handles, cm_platform_shm_handle_count(region))) {
    cm_platform_shm_destroy(region);
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  }
  *num_bytes = cm_platform_shm_size(region);
  cm_platform_shm_guid g = cm_platform_shm_get_guid(region);
  guid->high = g.high;
  guid->low = g.low;
  *access_mode = cm_platform_shm_access_mode(region);
  cm_platform_handle out[CM_PLATFORM_SHM_MAX_HANDLES];
  uint32_t n = cm_platform_shm_unwrap(region, out);
  for (uint32_t i = 0; i < n; i++)
    to_mojo(out[i], &platform_handles[i]);
  *num_platform_handles = n;
  CM_API_RETURN(rc, MOJO_RESULT_OK);
}
