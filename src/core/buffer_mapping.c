/* The mapping table: a chained hash table keyed by the mapped address. It
 * grows (doubling) when it holds more entries than buckets, so lookups stay
 * O(1) for processes with many mappings; it never shrinks, since its size
 * is bounded by the largest number of mappings the process ever held. */
#include "core/buffer_mapping.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct mapping_entry {
  cm_platform_mapping mapping;
  struct mapping_entry *next;
} mapping_entry;

#define INITIAL_BUCKETS 64u

static struct {
  pthread_mutex_t lock;
  mapping_entry **buckets;
  size_t num_buckets; /* a power of two, or 0 before the first mapping */
  size_t count;
} table = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t bucket_of(const void *address, size_t num_buckets) {
  /* Fibonacci hashing: addresses share their low (alignment) bits and
   * often their high bits, the multiply mixes the middle ones in. */
  uint64_t h = (uint64_t)(uintptr_t)address * 0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 32) & (num_buckets - 1);
}

/* Rehashes into twice as many buckets. On allocation failure the table
 * keeps its current size, which only makes chains longer. */
static void grow_locked(void) {
  size_t n = table.num_buckets ? table.num_buckets * 2 : INITIAL_BUCKETS;
  mapping_entry **b = calloc(n, sizeof(*b));
  if (!b)
    return;
  for (size_t i = 0; i < table.num_buckets; i++) {
    mapping_entry *e = table.buckets[i];
    while (e) {
      mapping_entry *next = e->next;
      size_t k = bucket_of(e->mapping.base, n);
      e->next = b[k];
      b[k] = e;
      e = next;
    }
  }
  free(table.buckets);
  table.buckets = b;
  table.num_buckets = n;
}

MojoResult cm_buffer_mapping_add(const cm_platform_mapping *mapping) {
  mapping_entry *e = malloc(sizeof(*e));
  if (!e) {
    cm_platform_mapping m = *mapping;
    cm_platform_shm_unmap(&m);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  e->mapping = *mapping;
  pthread_mutex_lock(&table.lock);
  if (table.count >= table.num_buckets)
    grow_locked();
  if (table.num_buckets == 0) {
    pthread_mutex_unlock(&table.lock);
    free(e);
    cm_platform_mapping m = *mapping;
    cm_platform_shm_unmap(&m);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  size_t k = bucket_of(e->mapping.base, table.num_buckets);
  e->next = table.buckets[k];
  table.buckets[k] = e;
  table.count++;
  pthread_mutex_unlock(&table.lock);
  return MOJO_RESULT_OK;
}

MojoResult cm_buffer_mapping_remove(void *address) {
  mapping_entry *found = NULL;
  pthread_mutex_lock(&table.lock);
  if (address && table.num_buckets) {
    mapping_entry **link = &table.buckets[bucket_of(address, table.num_buckets)];
    while (*link && (*link)->mapping.base != address)
      link = &(*link)->next;
    found = *link;
    if (found) {
      *link = found->next;
      table.count--;
    }
  }
  pthread_mutex_unlock(&table.lock);
  if (!found)
    return MOJO_RESULT_INVALID_ARGUMENT;
  /* Unmapped outside the lock: munmap can take a while for big mappings. */
  cm_platform_shm_unmap(&found->mapping);
  free(found);
  return MOJO_RESULT_OK;
}
