#include "process_support.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char g_self[4096];
static const char *g_role = "parent";

/* ---------------------------------------------------------------- basics */

const char *pt_self(void) {
  return g_self;
}

int64_t pt_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t pt_rand(uint64_t *state) {
  uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
  x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
  *state = x;
  return x * 0x2545f4914f6cdd1dull;
}

void pt_pattern(uint64_t seed, uint64_t off, uint8_t *out, size_t len) {
  for (size_t i = 0; i < len; i++) {
    uint64_t k = (off + i) * 0x9e3779b97f4a7c15ull + seed;
    out[i] = (uint8_t)(k >> 29 ^ k >> 47);
  }
}

_Noreturn void pt_fail(const char *file, int line, const char *what, long long value) {
  fprintf(stderr, "[child %s pid %d] %s:%d: failed: %s (value %lld)\n", g_role, (int)getpid(), file,
          line, what, value);
  _exit(1);
}

bool pt_main(int argc, char **argv, const pt_role *roles, size_t num_roles, int *status) {
  ssize_t n = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
  g_self[n > 0 ? n : 0] = '\0';
  signal(SIGPIPE, SIG_IGN);
  if (argc > 1 && strncmp(argv[1], "--child=", 8) == 0) {
    /* posix_spawn gives no hook before exec, so the child asks for it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (size_t i = 0; i < num_roles; i++) {
      if (strcmp(argv[1] + 8, roles[i].name) == 0) {
        g_role = roles[i].name;
        *status = roles[i].run(argc, argv);
        return true;
      }
    }
    fprintf(stderr, "unknown child role %s\n", argv[1]);
    *status = 2;
    return true;
  }
  struct MojoInitializeOptions opts = {sizeof(opts), MOJO_INITIALIZE_FLAG_AS_BROKER, 0, 0, 0, 0};
  MojoResult rv = MojoInitialize(&opts);
  if (rv != MOJO_RESULT_OK) {
    fprintf(stderr, "MojoInitialize(AS_BROKER) failed: %d\n", (int)rv);
    *status = 1;
    return true;
  }
  return false;
}

/* ------------------------------------------------------------------ waits */

/* One pt_wait: the trap handler records the event and wakes the waiter
 * through an eventfd. The waiter returns only after the trigger's final
 * CANCELLED event, so no handler can touch this (stack) struct later. */
typedef struct waiter {
  int efd;
  atomic_int fired; /* 0 none, 1 condition met, 2 never can be */
  atomic_int cancelled;
  struct MojoHandleSignalsState state;
} waiter;

static void on_wait_event(const struct MojoTrapEvent *e) {
  waiter *w = (waiter *)e->trigger_context;
  if (e->result == MOJO_RESULT_CANCELLED) {
    atomic_store(&w->cancelled, 1);
  } else {
    w->state = e->signals_state;
    atomic_store(&w->fired, e->result == MOJO_RESULT_OK ? 1 : 2);
  }
  uint64_t one = 1;
  ssize_t rc = write(w->efd, &one, sizeof(one));
  (void)rc;
}

/* Sleeps on the eventfd until *flag is set or the deadline passes. */
static void sleep_until(waiter *w, atomic_int *flag, int64_t deadline) {
  while (!atomic_load(flag)) {
    int64_t left = deadline - pt_now_ms();
    if (left <= 0)
      return;
    struct pollfd p = {w->efd, POLLIN, 0};
    if (poll(&p, 1, (int)(left > 100 ? 100 : left)) == 1) {
      uint64_t v;
      ssize_t rc = read(w->efd, &v, sizeof(v));
      (void)rc;
    }
  }
}

MojoResult pt_wait(MojoHandle h, MojoHandleSignals signals, MojoTriggerCondition condition,
                   int timeout_ms, struct MojoHandleSignalsState *state) {
  waiter w = {.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  if (w.efd < 0)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  int64_t deadline = pt_now_ms() + timeout_ms;
  MojoHandle trap;
  MojoResult rv = MojoCreateTrap(on_wait_event, NULL, &trap);
  if (rv != MOJO_RESULT_OK) {
    close(w.efd);
    return rv;
  }
  rv = MojoAddTrigger(trap, h, signals, condition, (uintptr_t)&w, NULL);
  if (rv != MOJO_RESULT_OK) {
    MojoClose(trap);
    close(w.efd);
    return rv;
  }
  uint32_t num = 1;
  struct MojoTrapEvent ev = {.struct_size = sizeof(ev)};
  MojoResult result;
  rv = MojoArmTrap(trap, NULL, &num, &ev);
  if (rv == MOJO_RESULT_FAILED_PRECONDITION && num == 1) {
    w.state = ev.signals_state;
    result = ev.result == MOJO_RESULT_OK ? MOJO_RESULT_OK : MOJO_RESULT_FAILED_PRECONDITION;
  } else if (rv != MOJO_RESULT_OK) {
    result = rv;
  } else {
    sleep_until(&w, &w.fired, deadline);
    int fired = atomic_load(&w.fired);
    result = fired == 1   ? MOJO_RESULT_OK
             : fired == 2 ? MOJO_RESULT_FAILED_PRECONDITION
                          : MOJO_RESULT_DEADLINE_EXCEEDED;
  }
  MojoClose(trap);
  sleep_until(&w, &w.cancelled, pt_now_ms() + PT_TIMEOUT_MS);
  if (!atomic_load(&w.cancelled)) {
    fprintf(stderr, "[%s] trap never delivered CANCELLED after MojoClose\n", g_role);
    abort(); /* the handler could still write to w */
  }
  close(w.efd);
  if (state)
    *state = w.state;
  return result;
}

MojoResult pt_wait_for(MojoHandle h, MojoHandleSignals signals) {
  return pt_wait(h, signals, MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, PT_TIMEOUT_MS, NULL);
}

MojoHandleSignals pt_signals(MojoHandle h) {
  struct MojoHandleSignalsState s = {0, 0};
  if (MojoQueryHandleSignalsState(h, &s) != MOJO_RESULT_OK)
    return 0;
  return s.satisfied_signals;
}

/* --------------------------------------------------------------- messages */

MojoResult pt_send(MojoHandle pipe, const void *bytes, uint32_t n, const MojoHandle *handles,
                   uint32_t nh) {
  MojoMessageHandle m;
  MojoResult rv = MojoCreateMessage(NULL, &m);
  if (rv != MOJO_RESULT_OK)
    return rv;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  void *buf = NULL;
  uint32_t cap = 0;
  rv = MojoAppendMessageData(m, n, handles, nh, &commit, &buf, &cap);
  if (rv != MOJO_RESULT_OK) {
    MojoDestroyMessage(m);
    return rv;
  }
  if (n)
    memcpy(buf, bytes, n);
  return MojoWriteMessage(pipe, m, NULL);
}

MojoResult pt_send_str(MojoHandle pipe, const char *s) {
  return pt_send(pipe, s, (uint32_t)strlen(s), NULL, 0);
}

MojoResult pt_recv_message(MojoHandle pipe, int timeout_ms, MojoMessageHandle *message) {
  int64_t deadline = pt_now_ms() + timeout_ms;
  for (;;) {
    MojoResult rv = MojoReadMessage(pipe, NULL, message);
    if (rv != MOJO_RESULT_SHOULD_WAIT)
      return rv;
    int64_t left = deadline - pt_now_ms();
    rv = pt_wait(pipe, MOJO_HANDLE_SIGNAL_READABLE, MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED,
                 left > 0 ? (int)left : 0, NULL);
    if (rv != MOJO_RESULT_OK)
      return rv;
  }
}

MojoResult pt_recv(MojoHandle pipe, void *buf, uint32_t cap, uint32_t *n, MojoHandle *handles,
                   uint32_t *nh, int timeout_ms) {
  MojoMessageHandle m;
  MojoResult rv = pt_recv_message(pipe, timeout_ms, &m);
  if (rv != MOJO_RESULT_OK)
    return rv;
  void *data = NULL;
  uint32_t len = 0, zero = 0;
  rv = MojoGetMessageData(m, NULL, &data, &len, handles, nh ? nh : &zero);
  if (rv == MOJO_RESULT_OK && len > cap) {
    if (nh) {
      for (uint32_t i = 0; i < *nh; i++)
        MojoClose(handles[i]);
    }
    rv = MOJO_RESULT_OUT_OF_RANGE;
  }
  if (rv == MOJO_RESULT_OK) {
    if (len)
      memcpy(buf, data, len);
    if (n)
      *n = len;
  }
  MojoDestroyMessage(m);
  return rv;
}

MojoResult pt_recv_str(MojoHandle pipe, char *buf, uint32_t cap, int timeout_ms) {
  uint32_t n = 0;
  MojoResult rv = pt_recv(pipe, buf, cap - 1, &n, NULL, NULL, timeout_ms);
  buf[rv == MOJO_RESULT_OK ? n : 0] = '\0';
  return rv;
}

/* -------------------------------------------------------------- processes */

int pt_wait_exit(int64_t pid, int timeout_ms) {
  int64_t deadline = pt_now_ms() + timeout_ms;
  for (useconds_t nap = 200;; nap = nap < 20000 ? nap * 2 : nap) {
    int status;
    pid_t r = waitpid((pid_t)pid, &status, WNOHANG);
    if (r == (pid_t)pid)
      return status;
    if (r < 0 && errno != EINTR)
      return -1;
    if (pt_now_ms() >= deadline)
      return -1;
    usleep(nap);
  }
}

MojoHandle pt_child_accept(int argc, char **argv, MojoAcceptInvitationFlags flags) {
  PT_OK(MojoInitialize(NULL));
  struct MojoPlatformHandle ep = {sizeof(ep), 0, 0};
  PT_OK(cmojo_endpoint_from_command_line(argc, argv, &ep));
  PT_EQ(ep.type, MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR);
  struct MojoInvitationTransportEndpoint t = {sizeof(t), MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL, 1,
                                              &ep};
  struct MojoAcceptInvitationOptions o = {sizeof(o), flags};
  MojoHandle inv = MOJO_HANDLE_INVALID;
  PT_OK(MojoAcceptInvitation(&t, &o, &inv));
  return inv;
}

MojoHandle pt_child_extract(MojoHandle invitation, const void *name, uint32_t n) {
  MojoHandle h = MOJO_HANDLE_INVALID;
  PT_OK(MojoExtractMessagePipeFromInvitation(invitation, name, n, NULL, &h));
  return h;
}

uint64_t pt_arg(int argc, char **argv, int i) {
  PT_CHECK(2 + i < argc);
  return strtoull(argv[2 + i], NULL, 0);
}

void pt_child_finish(MojoHandle pipe) {
  MojoResult rv = pt_wait_for(pipe, MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  PT_OK(rv);
}

void pt_child_expect_str(MojoHandle pipe, const char *want) {
  char buf[512];
  PT_OK(pt_recv_str(pipe, buf, sizeof(buf), PT_TIMEOUT_MS));
  if (strcmp(buf, want) != 0) {
    fprintf(stderr, "[child %s pid %d] got \"%s\", want \"%s\"\n", g_role, (int)getpid(), buf,
            want);
    _exit(1);
  }
}

int64_t pt_launch(const char *role, const char *const *args, struct MojoPlatformHandle *endpoint) {
  char sw[128];
  snprintf(sw, sizeof(sw), "--child=%s", role);
  char *argv[32] = {g_self, sw};
  int n = 2;
  for (; args && args[n - 2]; n++) {
    assert_true(n < 31);
    argv[n] = (char *)args[n - 2];
  }
  argv[n] = NULL;
  endpoint->struct_size = sizeof(*endpoint);
  int64_t pid = 0;
  assert_int_equal(cmojo_launch(g_self, argv, NULL, endpoint, &pid), MOJO_RESULT_OK);
  assert_true(pid > 0);
  assert_int_equal(endpoint->type, MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR);
  return pid;
}

int64_t pt_spawn(const char *role, const char *const *args, const char *const *names, size_t n,
                 MojoHandle *pipes, MojoProcessErrorHandler handler, uintptr_t context) {
  struct MojoPlatformHandle ep;
  int64_t pid = pt_launch(role, args, &ep);
  MojoHandle inv;
  assert_int_equal(MojoCreateInvitation(NULL, &inv), MOJO_RESULT_OK);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(MojoAttachMessagePipeToInvitation(inv, names[i], (uint32_t)strlen(names[i]),
                                                       NULL, &pipes[i]),
                     MOJO_RESULT_OK);
  }
  struct MojoPlatformProcessHandle process = {sizeof(process), (uint64_t)pid};
  struct MojoInvitationTransportEndpoint t = {sizeof(t), MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL, 1,
                                              &ep};
  assert_int_equal(MojoSendInvitation(inv, &process, &t, handler, context, NULL), MOJO_RESULT_OK);
  return pid;
}

void pt_reap(int64_t pid, int want) {
  int status = pt_wait_exit(pid, PT_TIMEOUT_MS);
  if (status == -1) {
    kill((pid_t)pid, SIGKILL);
    waitpid((pid_t)pid, &status, 0);
    fail_msg("child %lld did not end within %d ms", (long long)pid, PT_TIMEOUT_MS);
  }
  if (want == PT_KILLED) {
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
  } else {
    if (!WIFEXITED(status))
      fail_msg("child %lld died of signal %d", (long long)pid, WTERMSIG(status));
    assert_int_equal(WEXITSTATUS(status), want);
  }
}

void pt_expect_str(MojoHandle pipe, const char *want) {
  char buf[512];
  assert_int_equal(pt_recv_str(pipe, buf, sizeof(buf), PT_TIMEOUT_MS), MOJO_RESULT_OK);
  assert_string_equal(buf, want);
}

void pt_expect_peer_closed(MojoHandle h) {
  assert_int_equal(pt_wait_for(h, MOJO_HANDLE_SIGNAL_PEER_CLOSED), MOJO_RESULT_OK);
}

/* --------------------------------------------------------------- resources */

typedef struct baseline {
  int fds, maps;
} baseline;

void pt_expect_resources(int fds, int shm_mappings) {
  int64_t deadline = pt_now_ms() + PT_TIMEOUT_MS;
  int f, m;
  for (;;) {
    f = cm_test_count_open_fds();
    m = cm_test_count_shm_mappings();
    if ((f == fds && m == shm_mappings) || pt_now_ms() >= deadline)
      break;
    usleep(5000);
  }
  if (f != fds || m != shm_mappings)
    fail_msg("leak: fds %d -> %d, shm mappings %d -> %d", fds, f, shm_mappings, m);
}

int pt_setup(void **state) {
  static baseline b;
  b.fds = cm_test_count_open_fds();
  b.maps = cm_test_count_shm_mappings();
  *state = &b;
  return 0;
}

int pt_teardown(void **state) {
  const baseline *b = *state;
  pt_expect_resources(b->fds, b->maps);
  return 0;
}

/* ----------------------------------------------------------- error reports */

#define MAX_ERRORS 4096

static pthread_mutex_t g_errors_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_errors_cond = PTHREAD_COND_INITIALIZER;
static pt_error g_errors[MAX_ERRORS];
static size_t g_num_errors;
static atomic_uintptr_t g_next_context = 1000;

uintptr_t pt_new_context(void) {
  return atomic_fetch_add(&g_next_context, 1);
}

void pt_error_handler(uintptr_t context, const struct MojoProcessErrorDetails *details) {
  pthread_mutex_lock(&g_errors_lock);
  if (g_num_errors < MAX_ERRORS) {
    pt_error *e = &g_errors[g_num_errors++];
    memset(e, 0, sizeof(*e));
    e->context = context;
    e->flags = details->flags;
    e->length = details->error_message_length;
    size_t n = details->error_message_length;
    if (n >= sizeof(e->text))
      n = sizeof(e->text) - 1;
    if (n && details->error_message)
      memcpy(e->text, details->error_message, n);
  }
  pthread_cond_broadcast(&g_errors_cond);
  pthread_mutex_unlock(&g_errors_lock);
}

static const pt_error *find_error(uintptr_t context, MojoProcessErrorFlags mask,
                                  MojoProcessErrorFlags want, size_t *count) {
  const pt_error *first = NULL;
  *count = 0;
  for (size_t i = 0; i < g_num_errors; i++) {
    if (g_errors[i].context == context && (g_errors[i].flags & mask) == want) {
      if (!first)
        first = &g_errors[i];
      ++*count;
    }
  }
  return first;
}

bool pt_errors_wait(uintptr_t context, MojoProcessErrorFlags mask, MojoProcessErrorFlags want,
                    int timeout_ms, pt_error *out) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
  if (until.tv_nsec >= 1000000000)
    until.tv_sec++, until.tv_nsec -= 1000000000;
  pthread_mutex_lock(&g_errors_lock);
  size_t count;
  const pt_error *e;
  while (!(e = find_error(context, mask, want, &count))) {
    if (pthread_cond_timedwait(&g_errors_cond, &g_errors_lock, &until) == ETIMEDOUT) {
      e = find_error(context, mask, want, &count);
      break;
    }
  }
  if (e && out)
    *out = *e;
  pthread_mutex_unlock(&g_errors_lock);
  return e != NULL;
}

size_t pt_errors_count(uintptr_t context, MojoProcessErrorFlags mask, MojoProcessErrorFlags want) {
  size_t count;
  pthread_mutex_lock(&g_errors_lock);
  find_error(context, mask, want, &count);
  pthread_mutex_unlock(&g_errors_lock);
  return count;
}
