/* cmojo demo: the Mojo C System API at work inside one process.
 *
 *  1. A worker thread answers messages on a pipe, woken by a trap.
 *  2. A message pipe end travels inside a message; the two ends then talk.
 *  3. A data pipe streams a file from the worker, checked with a checksum.
 *  4. A shared buffer is written by the worker and read by the main thread.
 *
 * Usage: cmojo_demo [FILE]   (FILE defaults to the demo's own executable) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mojo/public/c/system/core.h"

#define CHECK(expr)                                                            \
  do {                                                                         \
    MojoResult rv_ = (expr);                                                   \
    if (rv_ != MOJO_RESULT_OK) {                                               \
      fprintf(stderr, "demo: %s failed with result %u\n", #expr, (unsigned)rv_); \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

/* ---- Small helpers on top of the C API ------------------------------------- */

static void send(MojoHandle pipe, const void *bytes, uint32_t n, MojoHandle *handles,
                 uint32_t num_handles) {
  MojoMessageHandle m;
  void *buf;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  CHECK(MojoCreateMessage(NULL, &m));
  CHECK(MojoAppendMessageData(m, n, handles, num_handles, &commit, &buf, NULL));
  memcpy(buf, bytes, n);
  CHECK(MojoWriteMessage(pipe, m, NULL));
}

/* Blocks until `pipe` is readable, using a trap and a condition variable. */
typedef struct waiter {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int signalled;
} waiter;

static void on_event(const struct MojoTrapEvent *event) {
  waiter *w = (waiter *)event->trigger_context;
  pthread_mutex_lock(&w->lock);
  w->signalled = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

static void wait_for(MojoHandle handle, MojoHandleSignals signals) {
  waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
  MojoHandle trap;
  CHECK(MojoCreateTrap(on_event, NULL, &trap));
  CHECK(MojoAddTrigger(trap, handle, signals, MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED,
                       (uintptr_t)&w, NULL));
  if (MojoArmTrap(trap, NULL, NULL, NULL) == MOJO_RESULT_OK) {
    pthread_mutex_lock(&w.lock);
    while (!w.signalled) pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
  }
  /* Closing the trap delivers CANCELLED, which also signals; harmless. */
  MojoClose(trap);
}

/* Reads one message (waiting for it); returns its size, copies up to `cap`
 * bytes and takes up to one handle. */
static uint32_t receive(MojoHandle pipe, void *out, uint32_t cap, MojoHandle *handle) {
  MojoMessageHandle m;
  while (MojoReadMessage(pipe, NULL, &m) == MOJO_RESULT_SHOULD_WAIT)
    wait_for(pipe, MOJO_HANDLE_SIGNAL_READABLE);
  void *buf;
  uint32_t n, nh = handle ? 1 : 0;
  CHECK(MojoGetMessageData(m, NULL, &buf, &n, handle, &nh));
  memcpy(out, buf, n < cap ? n : cap);
  MojoDestroyMessage(m);
  return n;
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

/* ---- The worker ------------------------------------------------------------- */

typedef struct request {
  char verb[16];
  char arg[240];
} request;

static void *worker(void *arg) {
  MojoHandle pipe = (MojoHandle)(uintptr_t)arg;
  for (;;) {
    request req;
    MojoHandle h = MOJO_HANDLE_INVALID;
    memset(&req, 0, sizeof(req));
    receive(pipe, &req, sizeof(req), &h);
    if (!strcmp(req.verb, "echo")) {
      printf("  [worker] got \"%s\", answering\n", req.arg);
      char reply[256];
      snprintf(reply, sizeof(reply), "echo: %s", req.arg);
      send(pipe, reply, (uint32_t)strlen(reply) + 1, NULL, 0);
    } else if (!strcmp(req.verb, "pipe")) {
      printf("  [worker] got a pipe end inside a message; greeting through it\n");
      const char hello[] = "hello over the pipe you sent me";
      send(h, hello, sizeof(hello), NULL, 0);
      MojoClose(h);
    } else if (!strcmp(req.verb, "stream")) {
      printf("  [worker] streaming %s into a data pipe\n", req.arg);
      FILE *f = fopen(req.arg, "rb");
      uint8_t chunk[16384];
      size_t got;
      while (f && (got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        size_t off = 0;
        while (off < got) {
          uint32_t n = (uint32_t)(got - off);
          MojoResult rv = MojoWriteData(h, chunk + off, &n, NULL);
          if (rv == MOJO_RESULT_SHOULD_WAIT) wait_for(h, MOJO_HANDLE_SIGNAL_WRITABLE);
          else if (rv == MOJO_RESULT_OK) off += n;
          else break;
        }
      }
      if (f) fclose(f);
      MojoClose(h); /* the consumer sees PEER_CLOSED after the last byte */
    } else if (!strcmp(req.verb, "fill")) {
      void *mem;
      struct MojoSharedBufferInfo info = {sizeof(info), 0};
      CHECK(MojoGetBufferInfo(h, NULL, &info));
      CHECK(MojoMapBuffer(h, 0, info.size, NULL, &mem));
      for (uint64_t i = 0; i < info.size; i++) ((uint8_t *)mem)[i] = (uint8_t)(i * 7);
      printf("  [worker] wrote %llu bytes into the shared buffer\n",
             (unsigned long long)info.size);
      CHECK(MojoUnmapBuffer(mem));
      MojoClose(h);
      send(pipe, "filled", 7, NULL, 0);
    } else {
      printf("  [worker] got \"%s\": stopping\n", req.verb);
      break;
    }
  }
  MojoClose(pipe);
  return NULL;
}

static void ask(MojoHandle pipe, const char *verb, const char *arg, MojoHandle *handle) {
  request req;
  memset(&req, 0, sizeof(req));
  snprintf(req.verb, sizeof(req.verb), "%s", verb);
  snprintf(req.arg, sizeof(req.arg), "%s", arg);
  send(pipe, &req, sizeof(req), handle, handle ? 1 : 0);
}

int main(int argc, char **argv) {
  const char *file = argc > 1 ? argv[1] : "/proc/self/exe";
  CHECK(MojoInitialize(NULL));

  printf("1. A message pipe between the main thread and a worker thread\n");
  MojoHandle mine, theirs;
  CHECK(MojoCreateMessagePipe(NULL, &mine, &theirs));
  pthread_t thread;
  pthread_create(&thread, NULL, worker, (void *)(uintptr_t)theirs);
  ask(mine, "echo", "ping", NULL);
  char text[256];
  receive(mine, text, sizeof(text), NULL);
  printf("  [main]   got \"%s\"\n", text);

  printf("2. Sending one end of a new pipe inside a message\n");
  MojoHandle keep, give;
  CHECK(MojoCreateMessagePipe(NULL, &keep, &give));
  ask(mine, "pipe", "", &give);
  receive(keep, text, sizeof(text), NULL);
  printf("  [main]   the sent end answered: \"%s\"\n", text);
  MojoClose(keep);

  printf("3. Streaming a file through a data pipe\n");
  MojoHandle producer, consumer;
  CHECK(MojoCreateDataPipe(NULL, &producer, &consumer));
  ask(mine, "stream", file, &producer);
  uint64_t sum = 0xcbf29ce484222325ull, total = 0;
  for (;;) {
    const void *buf;
    uint32_t n;
    MojoResult rv = MojoBeginReadData(consumer, NULL, &buf, &n);
    if (rv == MOJO_RESULT_SHOULD_WAIT) {
      wait_for(consumer, MOJO_HANDLE_SIGNAL_READABLE | MOJO_HANDLE_SIGNAL_PEER_CLOSED);
      continue;
    }
    if (rv != MOJO_RESULT_OK) break; /* FAILED_PRECONDITION: producer gone, all read */
    sum = fnv1a(sum, buf, n);
    total += n;
    CHECK(MojoEndReadData(consumer, n, NULL));
  }
  MojoClose(consumer);
  uint64_t expect = 0xcbf29ce484222325ull, expect_total = 0;
  FILE *f = fopen(file, "rb");
  uint8_t chunk[16384];
  size_t got;
  while (f && (got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    expect = fnv1a(expect, chunk, got);
    expect_total += got;
  }
  if (f) fclose(f);
  printf("  [main]   received %llu bytes, checksum %016llx (file: %016llx) %s\n",
         (unsigned long long)total, (unsigned long long)sum, (unsigned long long)expect,
         sum == expect && total == expect_total ? "match" : "MISMATCH");
  if (sum != expect || total != expect_total) return 1;

  printf("4. A shared buffer written by the worker, read by the main thread\n");
  MojoHandle buffer, dup;
  CHECK(MojoCreateSharedBuffer(1 << 20, NULL, &buffer));
  CHECK(MojoDuplicateBufferHandle(buffer, NULL, &dup));
  ask(mine, "fill", "", &dup);
  receive(mine, text, sizeof(text), NULL);
  void *mem;
  CHECK(MojoMapBuffer(buffer, 0, 1 << 20, NULL, &mem));
  int ok = 1;
  for (uint32_t i = 0; i < (1u << 20); i++) ok &= ((uint8_t *)mem)[i] == (uint8_t)(i * 7);
  printf("  [main]   worker said \"%s\"; the mapping shows its bytes: %s\n", text,
         ok ? "yes" : "NO");
  CHECK(MojoUnmapBuffer(mem));
  MojoClose(buffer);

  ask(mine, "quit", "", NULL);
  pthread_join(thread, NULL);
  MojoClose(mine);
  printf("done: all four scenarios worked\n");
  return ok ? 0 : 1;
}
