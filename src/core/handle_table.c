#include "core/handle_table.h"

#include <pthread.h>
#include <stdlib.h>

#include "cm_limits.h"

/* Handle layout: low 32 bits = slot index + 1 (so 0 stays invalid), high 32
 * bits = the slot's generation when the handle was made. */
typedef struct slot {
  cm_dispatcher *d; /* NULL when free */
  uint32_t generation;
  uint32_t next_free; /* index + 1 of the next free slot, 0 = none */
  bool busy;          /* being moved into a message */
} slot;

static struct {
  pthread_mutex_t lock;
  slot *slots;
  uint32_t num_slots;
  uint32_t free_head; /* index + 1 */
  size_t count;
} table = {.lock = PTHREAD_MUTEX_INITIALIZER};

_Static_assert(sizeof(MojoHandle) >= 8, "handles carry a 32-bit generation");

static MojoHandle make_handle(uint32_t index) {
  return ((MojoHandle)table.slots[index].generation << 32) | (MojoHandle)(index + 1);
}

static slot *lookup_locked(MojoHandle h) {
  uint32_t index1 = (uint32_t)(h & 0xffffffffu);
  uint32_t gen = (uint32_t)(h >> 32);
  if (index1 == 0 || index1 > table.num_slots) return NULL;
  slot *s = &table.slots[index1 - 1];
  if (!s->d || s->generation != gen) return NULL;
  return s;
}

static bool grow_locked(void) {
  if (table.num_slots >= CM_MAX_HANDLES) return false;
  uint32_t n = table.num_slots ? table.num_slots * 2 : 64;
  if (n > CM_MAX_HANDLES) n = CM_MAX_HANDLES;
  slot *s = realloc(table.slots, (size_t)n * sizeof(*s));
  if (!s) return false;
  for (uint32_t i = table.num_slots; i < n; i++) {
    s[i] = (slot){.d = NULL, .generation = 1, .next_free = i + 2 <= n ? i + 2 : 0};
  }
  s[n - 1].next_free = table.free_head;
  table.free_head = table.num_slots + 1;
  table.slots = s;
  table.num_slots = n;
  return true;
}

static MojoResult add_locked(cm_dispatcher *d, MojoHandle *out) {
  if (!table.free_head && !grow_locked()) return MOJO_RESULT_RESOURCE_EXHAUSTED;
  uint32_t index = table.free_head - 1;
  slot *s = &table.slots[index];
  table.free_head = s->next_free;
  s->d = d;
  s->busy = false;
  table.count++;
  *out = make_handle(index);
  return MOJO_RESULT_OK;
}

static void free_slot_locked(slot *s) {
  s->d = NULL;
  s->busy = false;
  s->generation++;
  if (s->generation == 0) s->generation = 1;
  s->next_free = table.free_head;
  table.free_head = (uint32_t)(s - table.slots) + 1;
  table.count--;
}

MojoResult cm_handles_add(cm_dispatcher *d, MojoHandle *out) {
  pthread_mutex_lock(&table.lock);
  MojoResult rv = add_locked(d, out);
  pthread_mutex_unlock(&table.lock);
  return rv;
}

MojoResult cm_handles_add_many(cm_dispatcher *const *ds, size_t n, MojoHandle *out) {
  MojoResult rv = MOJO_RESULT_OK;
  size_t i;
  pthread_mutex_lock(&table.lock);
  for (i = 0; i < n; i++) {
    rv = add_locked(ds[i], &out[i]);
    if (rv != MOJO_RESULT_OK) break;
  }
  if (rv != MOJO_RESULT_OK) {
    while (i-- > 0) free_slot_locked(lookup_locked(out[i]));
  }
  pthread_mutex_unlock(&table.lock);
  return rv;
}

cm_dispatcher *cm_handles_get(MojoHandle h) {
  cm_dispatcher *d = NULL;
  pthread_mutex_lock(&table.lock);
  slot *s = lookup_locked(h);
  if (s) {
    d = s->d;
    cm_dispatcher_ref(d);
  }
  pthread_mutex_unlock(&table.lock);
  return d;
}

MojoResult cm_handles_remove(MojoHandle h, cm_dispatcher **out) {
  MojoResult rv = MOJO_RESULT_INVALID_ARGUMENT;
  pthread_mutex_lock(&table.lock);
  slot *s = lookup_locked(h);
  if (s && s->busy) {
    rv = MOJO_RESULT_BUSY;
  } else if (s) {
    *out = s->d;
    free_slot_locked(s);
    rv = MOJO_RESULT_OK;
  }
  pthread_mutex_unlock(&table.lock);
  return rv;
}

/* Undoes the first `n` successful steps of begin_transit. */
static void cancel_transit_locked(const MojoHandle *handles, size_t n) {
  for (size_t i = 0; i < n; i++) {
    slot *s = lookup_locked(handles[i]);
    s->busy = false;
    pthread_mutex_lock(&s->d->lock);
    s->d->in_transit = false;
    pthread_mutex_unlock(&s->d->lock);
  }
}

MojoResult cm_handles_begin_transit(const MojoHandle *handles, size_t n, cm_dispatcher **out) {
  MojoResult rv = MOJO_RESULT_OK;
  size_t i;
  pthread_mutex_lock(&table.lock);
  for (i = 0; i < n; i++) {
    slot *s = lookup_locked(handles[i]);
    if (!s) {
      rv = MOJO_RESULT_INVALID_ARGUMENT;
      break;
    }
    if (s->busy) {
      rv = MOJO_RESULT_BUSY;
      break;
    }
    cm_dispatcher *d = s->d;
    /* Checked and marked under one hold of the lock, so that no two-phase
     * operation can start in between. */
    pthread_mutex_lock(&d->lock);
    rv = d->ops->begin_transit ? d->ops->begin_transit(d) : MOJO_RESULT_INVALID_ARGUMENT;
    if (rv == MOJO_RESULT_OK) d->in_transit = true;
    pthread_mutex_unlock(&d->lock);
    if (rv != MOJO_RESULT_OK) break;
    s->busy = true;
    out[i] = d;
  }
  if (rv != MOJO_RESULT_OK) {
    cancel_transit_locked(handles, i);
  } else {
    for (i = 0; i < n; i++) free_slot_locked(lookup_locked(handles[i]));
  }
  pthread_mutex_unlock(&table.lock);
  return rv;
}

size_t cm_handles_count(void) {
  pthread_mutex_lock(&table.lock);
  size_t n = table.count;
  pthread_mutex_unlock(&table.lock);
  return n;
}
