/* buffer_pool: large byte buffers kept for reuse (see platform.h).
 *
 * Why: a buffer of hundreds of KiB that malloc serves with a fresh mmap (or
 * from a heap top it trims on free) costs a page fault per 4 KiB page on
 * every use. A 1 MiB message crossing processes needs several such buffers
 * per hop (the payload, the frame, a queued tail, the receive buffer), and
 * on a virtual machine the faults cost more than the copies. Keeping a few
 * freed buffers per size class turns that into plain memory reuse.
 *
 * Classes are powers of two from CM_BUFFER_POOL_MIN_BYTES to
 * CM_BUFFER_POOL_MAX_BYTES; smaller requests go to malloc unchanged, larger
 * ones to malloc and free. One mutex guards the cache: it is taken once per
 * large buffer, next to a copy of at least 64 KiB. */
#include <pthread.h>
#include <stdlib.h>

#include "cm_limits.h"
#include "platform/platform.h"

enum { kClasses = 11 }; /* 64 KiB .. 64 MiB */
_Static_assert(((size_t)CM_BUFFER_POOL_MIN_BYTES << (kClasses - 1)) == CM_BUFFER_POOL_MAX_BYTES,
               "size classes must span the pool's range");

static struct {
  pthread_mutex_t mu;
  void *free[kClasses][CM_BUFFER_POOL_PER_CLASS];
  size_t count[kClasses];
  size_t cached_bytes;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The class whose buffers hold n bytes, or -1 outside the pooled range. */
static int class_for(size_t n) {
  if (n < CM_BUFFER_POOL_MIN_BYTES || n > CM_BUFFER_POOL_MAX_BYTES)
    return -1;
  int c = 0;
  while (((size_t)CM_BUFFER_POOL_MIN_BYTES << c) < n)
    c++;
  return c;
}

void *cm_platform_buffer_alloc(size_t n, size_t *capacity) {
  int c = class_for(n);
  if (c < 0) {
    *capacity = n;
    return malloc(n ? n : 1);
  }
  size_t size = (size_t)CM_BUFFER_POOL_MIN_BYTES << c;
  void *p = NULL;
  pthread_mutex_lock(&pool.mu);
  if (pool.count[c]) {
    p = pool.free[c][--pool.count[c]];
    pool.cached_bytes -= size;
  }
  pthread_mutex_unlock(&pool.mu);
  if (!p)
    p = malloc(size);
  *capacity = p ? size : 0;
  return p;
}

void cm_platform_buffer_free(void *p, size_t capacity) {
  if (!p)
    return;
  int c = class_for(capacity);
  /* Only buffers this pool made have exactly a class size. */
  if (c >= 0 && ((size_t)CM_BUFFER_POOL_MIN_BYTES << c) == capacity) {
    pthread_mutex_lock(&pool.mu);
    bool keep = pool.count[c] < CM_BUFFER_POOL_PER_CLASS &&
                pool.cached_bytes + capacity <= CM_BUFFER_POOL_CACHED_BYTES;
    if (keep) {
      pool.free[c][pool.count[c]++] = p;
      pool.cached_bytes += capacity;
    }
    pthread_mutex_unlock(&pool.mu);
    if (keep)
      return;
  }
  free(p);
}
