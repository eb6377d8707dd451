/* cmojo_demo's helpers: narration, a bounded wait built on a trap, and the
 * demo protocol's send, receive and check. See demo.h. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "demo.h"

static const char *role = "demo";

void demo_set_role(const char *name) {
  role = name;
}

void demo_say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("[%s] ", role);
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
}

bool demo_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fflush(stdout);
  fprintf(stderr, "[%s] FAILED: ", role);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  return false;
}

/* ---- Waiting with a trap and a deadline ---------------------------------- */

/* The trap's handler runs on cmojo's I/O thread (or inside a Mojo call);
 * it only wakes the waiting thread, which then looks at the signals. */
typedef struct waiter {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool woken;
} waiter;

static void on_trap_event(const struct MojoTrapEvent *event) {
  waiter *w = (waiter *)event->trigger_context;
  pthread_mutex_lock(&w->lock);
  w->woken = true;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

static void sleep_on(waiter *w, int timeout_ms) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&w->lock);
  int err = 0;
  while (!w->woken && err != ETIMEDOUT)
    err = pthread_cond_timedwait(&w->cond, &w->lock, &until);
  pthread_mutex_unlock(&w->lock);
}

static MojoResult signals_result(MojoHandle handle, MojoHandleSignals signals) {
  struct MojoHandleSignalsState s;
  MojoResult r = MojoQueryHandleSignalsState(handle, &s);
  if (r != MOJO_RESULT_OK)
    return r;
  if (s.satisfied_signals & signals)
    return MOJO_RESULT_OK;
  if (!(s.satisfiable_signals & signals))
    return MOJO_RESULT_FAILED_PRECONDITION;
  return MOJO_RESULT_DEADLINE_EXCEEDED;
}

MojoResult demo_wait(MojoHandle handle, MojoHandleSignals signals, int timeout_ms) {
  waiter w = {.woken = false};
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&w.cond, &attr);
  pthread_condattr_destroy(&attr);
  pthread_mutex_init(&w.lock, NULL);

  MojoHandle trap;
  MojoResult r = MojoCreateTrap(on_trap_event, NULL, &trap);
  if (r == MOJO_RESULT_OK) {
    r = MojoAddTrigger(trap, handle, signals, MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED,
                       (uintptr_t)&w, NULL);
    /* FAILED_PRECONDITION from arming: the answer is already known. */
    if (r == MOJO_RESULT_OK && MojoArmTrap(trap, NULL, NULL, NULL) == MOJO_RESULT_OK)
      sleep_on(&w, timeout_ms);
    /* Removal waits for a handler still running, so |w| may then go. */
    MojoRemoveTrigger(trap, (uintptr_t)&w, NULL);
    MojoClose(trap);
  }
  pthread_cond_destroy(&w.cond);
  pthread_mutex_destroy(&w.lock);
  return r == MOJO_RESULT_OK ? signals_result(handle, signals) : r;
}

/* ---- The protocol --------------------------------------------------------- */

static bool send_message(MojoHandle pipe, const struct demo_header *header, const void *text,
                         uint32_t text_bytes, MojoHandle *handles, uint32_t num_handles) {
  MojoMessageHandle m;
  void *buf;
  uint32_t header_bytes = header ? (uint32_t)sizeof(*header) : 0;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  MojoResult r = MojoCreateMessage(NULL, &m);
  if (r != MOJO_RESULT_OK)
    return demo_fail("MojoCreateMessage: result %u", (unsigned)r);
  r = MojoAppendMessageData(m, header_bytes + text_bytes, handles, num_handles, &commit, &buf,
                            NULL);
  if (r != MOJO_RESULT_OK) {
    MojoDestroyMessage(m);
    return demo_fail("MojoAppendMessageData: result %u", (unsigned)r);
  }
  if (header)
    memcpy(buf, header, header_bytes);
  memcpy((char *)buf + header_bytes, text, text_bytes);
  r = MojoWriteMessage(pipe, m, NULL); /* consumes the message, even on failure */
  if (r != MOJO_RESULT_OK)
    return demo_fail("MojoWriteMessage: result %u", (unsigned)r);
  return true;
}

bool demo_send(MojoHandle pipe, uint32_t kind, const char *text, MojoHandle *handles,
               uint32_t num_handles) {
  struct demo_header h = {kind, (uint32_t)strlen(text)};
  return send_message(pipe, &h, text, h.text_bytes, handles, num_handles);
}

bool demo_send_bytes(MojoHandle pipe, const void *bytes, uint32_t num_bytes) {
  return send_message(pipe, NULL, bytes, num_bytes, NULL, 0);
}

/* Fills out->kind, out->text and out->malformed from the message bytes. */
static void parse(const void *bytes, uint32_t num_bytes, demo_msg *out) {
  struct demo_header h;
  if (num_bytes < sizeof(h)) {
    snprintf(out->malformed, sizeof(out->malformed), "%u bytes, shorter than a header",
             (unsigned)num_bytes);
    return;
  }
  memcpy(&h, bytes, sizeof(h));
  out->kind = h.kind;
  uint32_t carried = num_bytes - (uint32_t)sizeof(h);
  if (h.text_bytes != carried) {
    snprintf(out->malformed, sizeof(out->malformed),
             "its header claims %u bytes of text but it carries %u", (unsigned)h.text_bytes,
             (unsigned)carried);
    return;
  }
  if (carried >= sizeof(out->text)) {
    snprintf(out->malformed, sizeof(out->malformed), "%u bytes of text is too long",
             (unsigned)carried);
    return;
  }
  memcpy(out->text, (const char *)bytes + sizeof(h), carried);
  out->text[carried] = '\0';
}

bool demo_receive(MojoHandle pipe, demo_msg *out) {
  memset(out, 0, sizeof(*out));
  MojoResult r = demo_wait(pipe, MOJO_HANDLE_SIGNAL_READABLE, DEMO_TIMEOUT_MS);
  if (r == MOJO_RESULT_OK)
    r = MojoReadMessage(pipe, NULL, &out->message);
  if (r == MOJO_RESULT_DEADLINE_EXCEEDED)
    return demo_fail("no message within %d ms", DEMO_TIMEOUT_MS);
  if (r == MOJO_RESULT_FAILED_PRECONDITION)
    return demo_fail("the pipe's other end closed before a message came");
  if (r != MOJO_RESULT_OK)
    return demo_fail("reading a message: result %u", (unsigned)r);
  void *bytes;
  uint32_t num_bytes;
  out->num_handles = 2;
  r = MojoGetMessageData(out->message, NULL, &bytes, &num_bytes, out->handles, &out->num_handles);
  if (r == MOJO_RESULT_RESOURCE_EXHAUSTED) {
    /* More handles than the protocol ever sends: they stay in the message
     * and close with it. */
    out->num_handles = 0;
    snprintf(out->malformed, sizeof(out->malformed), "it carries too many handles");
    return true;
  }
  if (r != MOJO_RESULT_OK) {
    demo_release(out);
    return demo_fail("MojoGetMessageData: result %u", (unsigned)r);
  }
  parse(bytes, num_bytes, out);
  return true;
}

bool demo_expect(MojoHandle pipe, uint32_t kind, demo_msg *out) {
  if (!demo_receive(pipe, out))
    return false;
  if (out->malformed[0]) {
    demo_release(out);
    return demo_fail("a malformed message: %s", out->malformed);
  }
  if (kind != 0 && out->kind != kind) {
    demo_release(out);
    return demo_fail("message kind %u where %u was expected", (unsigned)out->kind, (unsigned)kind);
  }
  return true;
}

void demo_release(demo_msg *m) {
  for (uint32_t i = 0; i < m->num_handles; i++) {
    if (m->handles[i] != MOJO_HANDLE_INVALID)
      MojoClose(m->handles[i]);
  }
  m->num_handles = 0;
  if (m->message)
    MojoDestroyMessage(m->message);
  m->message = 0;
}

uint64_t demo_fnv1a(uint64_t h, const void *bytes, size_t n) {
  const uint8_t *p = bytes;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}
