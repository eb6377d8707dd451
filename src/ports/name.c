/* Random 128-bit names for nodes and ports.
 *
 * Names come from the platform's random source (getrandom() on Linux).
 * Creating a message pipe makes two names, so
 * each thread keeps a small cache of random bytes to amortize the system
 * call. A forked child must never hand out names its parent also holds, so a
 * fork handler bumps a generation counter that invalidates every cache.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "platform/platform.h"
#include "ports_internal.h"

#define NAME_CACHE_SIZE 32

static atomic_uint fork_generation = 1;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static _Thread_local struct {
  unsigned generation;
  unsigned next;
  cm_name names[NAME_CACHE_SIZE];
} cache;

static void on_fork_child(void) {
  atomic_fetch_add(&fork_generation, 1);
}

static void install_atfork(void) {
  pthread_atfork(NULL, NULL, on_fork_child);
}

static void fill_random(void *buf, size_t len) {
  MojoResult rv = cm_platform_random_bytes(buf, len);
  if (rv != MOJO_RESULT_OK) {
    /* Without a kernel entropy source no name can be trusted. */
    fprintf(stderr, "cmojo: no random source (result %u)\n", (unsigned)rv);
    abort();
  }
}

static uint64_t (*test_source)(void);

void cm_name_set_test_source(uint64_t (*source)(void)) {
  test_source = source;
}

void cm_name_random(cm_name *out) {
  if (test_source) {
    do {
      out->v1 = test_source();
      out->v2 = test_source();
    } while (!cm_name_is_valid(out));
    return;
  }
  pthread_once(&atfork_once, install_atfork);
  unsigned gen = atomic_load(&fork_generation);
  for (;;) {
    if (cache.generation != gen || cache.next >= NAME_CACHE_SIZE) {
      fill_random(cache.names, sizeof(cache.names));
      cache.generation = gen;
      cache.next = 0;
    }
    cm_name n = cache.names[cache.next++];
    if (cm_name_is_valid(&n)) {
      *out = n;
      return;
    }
  }
}
