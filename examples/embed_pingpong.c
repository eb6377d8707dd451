/* The Mojo side of the embedder-mode examples: see embed_pingpong.h. */
#include "embed_pingpong.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmojo/embedder.h"
#include "cmojo/process.h"

#define CHILD_SWITCH "--pingpong-child"
#define PIPE_NAME "pingpong"

/* Prints what failed and exits; the child dies with us (PR_SET_PDEATHSIG). */
#define CHECK(expr)                                                                   \
  do {                                                                                \
    MojoResult rv_ = (expr);                                                          \
    if (rv_ != MOJO_RESULT_OK) {                                                      \
      fprintf(stderr, "%s:%d: %s failed with result %u\n", __FILE__, __LINE__, #expr, \
              (unsigned)rv_);                                                         \
      exit(1);                                                                        \
    }                                                                                 \
  } while (0)

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool on_main_thread(void) {
  return gettid() == getpid();
}

int pingpong_thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  if (!d)
    return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

int pingpong_timeout_ms(void) {
  int64_t us = cmojo_get_timeout_us();
  if (us < 0)
    return -1;
  return us > (int64_t)PINGPONG_TIMEOUT_MS * 1000 ? PINGPONG_TIMEOUT_MS : (int)((us + 999) / 1000);
}

/* A message is a short text ("ping 3", "pong 3", "quit"), its NUL, then
 * filler up to the size asked for, which depends on the round so that large
 * messages check their bytes arrive intact and in place. */
static uint8_t filler(uint32_t i, int round) {
  return (uint8_t)(i * 131u + (unsigned)round);
}

/* Writes a message of max(size, strlen(text) + 1) bytes: text, NUL, filler
 * for `round`. Returns what the Mojo calls returned. */
static MojoResult send_message(MojoHandle pipe, const char *text, int round, uint32_t size) {
  uint32_t n = (uint32_t)strlen(text) + 1;
  if (size < n)
    size = n;
  MojoMessageHandle m;
  MojoResult rv = MojoCreateMessage(NULL, &m);
  if (rv != MOJO_RESULT_OK)
    return rv;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  uint8_t *buf;
  rv = MojoAppendMessageData(m, size, NULL, 0, &commit, (void **)&buf, NULL);
  if (rv != MOJO_RESULT_OK) {
    MojoDestroyMessage(m);
    return rv;
  }
  memcpy(buf, text, n);
  for (uint32_t i = n; i < size; i++)
    buf[i] = filler(i, round);
  return MojoWriteMessage(pipe, m, NULL); /* takes the message, even on failure */
}

/* Reads one message: its text into buf (cut to cap - 1 bytes), its size
 * into *size, and in *round the round its filler is for (-1: none fits).
 * Returns what MojoReadMessage returned; INVALID_ARGUMENT for a message
 * without a NUL. */
static MojoResult read_message(MojoHandle pipe, char *buf, size_t cap, uint32_t *size, int *round) {
  MojoMessageHandle m;
  MojoResult rv = MojoReadMessage(pipe, NULL, &m);
  if (rv != MOJO_RESULT_OK)
    return rv;
  uint8_t *data;
  rv = MojoGetMessageData(m, NULL, (void **)&data, size, NULL, NULL);
  const uint8_t *nul = rv == MOJO_RESULT_OK ? memchr(data, 0, *size) : NULL;
  if (rv == MOJO_RESULT_OK && !nul)
    rv = MOJO_RESULT_INVALID_ARGUMENT;
  if (rv == MOJO_RESULT_OK) {
    uint32_t n = (uint32_t)(nul - data) + 1;
    snprintf(buf, cap, "%s", (const char *)data);
    *round = -1;
    int k;
    if (sscanf(buf, "%*s %d", &k) == 1) {
      *round = k;
      for (uint32_t i = n; i < *size && *round >= 0; i++)
        if (data[i] != filler(i, k))
          *round = -1;
    }
  }
  MojoDestroyMessage(m);
  return rv;
}

/* ------------------------------------------------------------------ child */

/* The child's trap handler runs on its I/O thread and wakes the main thread
 * through an eventfd (the trigger's context). */
static void child_on_event(const struct MojoTrapEvent *event) {
  uint64_t one = 1;
  ssize_t rc = write((int)event->trigger_context, &one, sizeof(one));
  (void)rc;
}

static int child_run(int argc, char **argv) {
  const char *who = "[child]";
  CHECK(MojoInitialize(NULL));
  struct MojoPlatformHandle ph = {sizeof(ph), 0, 0};
  CHECK(cmojo_endpoint_from_command_line(argc, argv, &ph));
  struct MojoInvitationTransportEndpoint endpoint = {
      sizeof(endpoint), MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL, 1, &ph};
  MojoHandle invitation, pipe, trap;
  CHECK(MojoAcceptInvitation(&endpoint, NULL, &invitation));
  CHECK(
      MojoExtractMessagePipeFromInvitation(invitation, PIPE_NAME, strlen(PIPE_NAME), NULL, &pipe));
  CHECK(MojoClose(invitation));

  /* Never closed: the process ends right after the trap, and a handler may
   * still write to it until the trap's last (CANCELLED) event. */
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) {
    perror("eventfd");
    return 1;
  }
  CHECK(MojoCreateTrap(child_on_event, NULL, &trap));
  CHECK(MojoAddTrigger(trap, pipe, MOJO_HANDLE_SIGNAL_READABLE | MOJO_HANDLE_SIGNAL_PEER_CLOSED,
                       MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, (uintptr_t)efd, NULL));
  int64_t deadline = now_ms() + PINGPONG_TIMEOUT_MS;
  int answered = 0;
  for (bool quit = false; !quit;) {
    char text[64], reply[64];
    uint32_t size;
    int k, round;
    MojoResult rv = read_message(pipe, text, sizeof(text), &size, &round);
    if (rv == MOJO_RESULT_OK) {
      if (strcmp(text, "quit") == 0) {
        quit = true;
      } else if (sscanf(text, "ping %d", &k) == 1 && round == k) {
        /* The answer has the same size and filler as the question. */
        snprintf(reply, sizeof(reply), "pong %d", k);
        CHECK(send_message(pipe, reply, k, size));
        answered++;
      } else {
        fprintf(stderr, "%s unexpected message \"%s\"\n", who, text);
        return 1;
      }
      continue;
    }
    if (rv == MOJO_RESULT_FAILED_PRECONDITION) {
      fprintf(stderr, "%s the parent closed the pipe without saying quit\n", who);
      return 1;
    }
    if (rv != MOJO_RESULT_SHOULD_WAIT)
      CHECK(rv);
    rv = MojoArmTrap(trap, NULL, NULL, NULL);
    if (rv == MOJO_RESULT_FAILED_PRECONDITION)
      continue; /* something arrived meanwhile */
    CHECK(rv);
    int64_t left = deadline - now_ms();
    struct pollfd p = {efd, POLLIN, 0};
    if (left <= 0 || (poll(&p, 1, (int)left) < 0 && errno != EINTR)) {
      fprintf(stderr, "%s no message from the parent within %d ms\n", who, PINGPONG_TIMEOUT_MS);
      return 1;
    }
    uint64_t v;
    ssize_t rc = read(efd, &v, sizeof(v));
    (void)rc;
  }
  fprintf(stderr, "%s pid %d answered %d pings; got quit, closing and exiting\n", who,
          (int)getpid(), answered);
  CHECK(MojoClose(pipe));
  CHECK(MojoClose(trap));
  return 0;
}

bool pingpong_child(int argc, char **argv, int *status) {
  if (argc < 3 || strcmp(argv[1], CHILD_SWITCH) != 0)
    return false;
  /* cmojo_launch() runs no code of ours before exec, so the child asks to
   * die with its parent here, then checks the parent did not die first. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if ((long long)getppid() != atoll(argv[2])) {
    *status = 1;
    return true;
  }
  *status = child_run(argc, argv);
  return true;
}

/* ----------------------------------------------------------------- parent */

static void fail(pingpong *pp, const char *what) {
  fprintf(stderr, "[%s] FAILED: %s\n", pp->loop_name, what);
  pp->failed = true;
}

/* Reads every message waiting on the pipe, answering each pong with the
 * next ping (or "quit" after the last round). */
static void drain(pingpong *pp) {
  while (!pp->failed && !pp->peer_closed) {
    char text[64], want[64], next[64];
    uint32_t size;
    int round;
    MojoResult rv = read_message(pp->pipe, text, sizeof(text), &size, &round);
    if (rv == MOJO_RESULT_SHOULD_WAIT)
      return;
    if (rv == MOJO_RESULT_FAILED_PRECONDITION) {
      pp->peer_closed = true;
      printf("[%s] the pipe says PEER_CLOSED: the child closed its end\n", pp->loop_name);
      if (!pp->quit_sent)
        fail(pp, "the child closed the pipe before the last round");
      return;
    }
    if (rv != MOJO_RESULT_OK) {
      fail(pp, "MojoReadMessage");
      return;
    }
    snprintf(want, sizeof(want), "pong %d", pp->sent);
    if (strcmp(text, want) != 0 || round != pp->sent || size < pp->payload) {
      fprintf(stderr, "[%s] got \"%s\" (%u bytes, %s), wanted \"%s\" (%u bytes)\n", pp->loop_name,
              text, (unsigned)size, round == pp->sent ? "intact" : "corrupt", want,
              (unsigned)pp->payload);
      fail(pp, "wrong answer");
      return;
    }
    pp->received++;
    if (pp->sent < pp->rounds) {
      snprintf(next, sizeof(next), "ping %d", ++pp->sent);
    } else {
      snprintf(next, sizeof(next), "quit");
      pp->quit_sent = true;
    }
    printf("[%s] got \"%s\" (%u bytes) %s on the main thread; sending \"%s\"\n", pp->loop_name,
           text, (unsigned)size,
           pp->in_process ? "inside cmojo_process()" : "outside cmojo_process()", next);
    if (send_message(pp->pipe, next, pp->sent, pp->quit_sent ? 0 : pp->payload) != MOJO_RESULT_OK)
      fail(pp, "MojoWriteMessage");
  }
}

/* Reads what is there, then arms the trap; if arming finds the pipe ready
 * again (a message came in meanwhile), reads again. */
static void service(pingpong *pp) {
  for (;;) {
    drain(pp);
    if (pp->failed || pp->peer_closed)
      return; /* nothing left to wait for on the pipe */
    uint32_t num = 1;
    struct MojoTrapEvent blocking = {.struct_size = sizeof(blocking)};
    MojoResult rv = MojoArmTrap(pp->trap, NULL, &num, &blocking);
    if (rv == MOJO_RESULT_OK)
      return;
    if (rv != MOJO_RESULT_FAILED_PRECONDITION) {
      fail(pp, "MojoArmTrap");
      return;
    }
  }
}

/* The trap's handler. In embedder mode the pipe's peer is in another
 * process, so its messages only arrive inside cmojo_process(), which the
 * loop calls on the main thread: the handler runs there, and may call the
 * Mojo API (here it reads, writes and re-arms the trap). */
static void on_trap_event(const struct MojoTrapEvent *event) {
  pingpong *pp = (pingpong *)event->trigger_context;
  if (event->result == MOJO_RESULT_CANCELLED)
    return; /* the trap or the pipe was closed: the trigger's last event */
  pp->handler_calls++;
  if (pp->in_process)
    pp->handler_calls_in_process++;
  if (!on_main_thread()) {
    fail(pp, "a trap handler ran on a thread other than main");
    return;
  }
  if (pp->handler_calls_in_process == 1) {
    /* The one thing a handler may not do: cmojo_process() is not reentrant. */
    MojoResult rv = cmojo_process();
    printf("[%s] cmojo_process() from inside the trap handler: %s\n", pp->loop_name,
           rv == MOJO_RESULT_FAILED_PRECONDITION ? "FAILED_PRECONDITION, as documented"
                                                 : "unexpected result");
    if (rv != MOJO_RESULT_FAILED_PRECONDITION)
      fail(pp, "cmojo_process() reentered");
  }
  service(pp);
}

/* Told about the child's connection: bad messages, and its end. */
static void on_process_error(uintptr_t context, const struct MojoProcessErrorDetails *details) {
  pingpong *pp = (pingpong *)context;
  printf("[%s] process error handler: \"%.*s\"%s (%s)\n", pp->loop_name,
         (int)details->error_message_length, details->error_message ? details->error_message : "",
         details->flags & MOJO_PROCESS_ERROR_FLAG_DISCONNECTED ? ", DISCONNECTED" : "",
         !on_main_thread() ? "another thread!"
         : pp->in_process  ? "main thread, inside cmojo_process()"
                           : "main thread, outside cmojo_process()!");
  if (!on_main_thread() || !pp->in_process)
    fail(pp, "the process error handler ran outside cmojo_process()");
  if (details->flags & MOJO_PROCESS_ERROR_FLAG_DISCONNECTED)
    pp->disconnected = true;
}

static void launch_and_invite(pingpong *pp) {
  char self[4096], ppid[32];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) {
    perror("readlink /proc/self/exe");
    exit(1);
  }
  self[n] = '\0';
  snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
  char *child_argv[] = {self, CHILD_SWITCH, ppid, NULL};
  struct MojoPlatformHandle ph = {sizeof(ph), 0, 0};
  CHECK(cmojo_launch(self, child_argv, NULL, &ph, &pp->pid));

  MojoHandle invitation;
  CHECK(MojoCreateInvitation(NULL, &invitation));
  CHECK(
      MojoAttachMessagePipeToInvitation(invitation, PIPE_NAME, strlen(PIPE_NAME), NULL, &pp->pipe));
  struct MojoPlatformProcessHandle process = {sizeof(process), (uint64_t)pp->pid};
  struct MojoInvitationTransportEndpoint endpoint = {
      sizeof(endpoint), MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL, 1, &ph};
  CHECK(MojoSendInvitation(invitation, &process, &endpoint, on_process_error, (uintptr_t)pp, NULL));
  printf("[%s] launched child pid %lld and sent it an invitation with pipe \"%s\"\n", pp->loop_name,
         (long long)pp->pid, PIPE_NAME);
}

void pingpong_start(pingpong *pp, const char *loop_name, int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 0;
  long payload = argc > 2 ? atol(argv[2]) : 0;
  *pp = (pingpong){
      .loop_name = loop_name,
      .rounds = rounds > 0 ? rounds : PINGPONG_DEFAULT_ROUNDS,
      .payload = payload > 0 && payload <= PINGPONG_MAX_PAYLOAD ? (uint32_t)payload : 0,
  };
  pp->deadline_ms = now_ms() + PINGPONG_TIMEOUT_MS;
  /* A write to a dead child's socket must fail, not kill us. */
  signal(SIGPIPE, SIG_IGN);

  struct MojoInitializeOptions options = {.struct_size = sizeof(options),
                                          .flags = MOJO_INITIALIZE_FLAG_AS_BROKER};
  CHECK(cmojo_initialize_embedded(&options));
  int threads = pingpong_thread_count();
  printf(
      "[%s] cmojo initialized in embedder mode: fd %d, timeout %lld us, "
      "threads in this process: %d\n",
      loop_name, cmojo_get_fd(), (long long)cmojo_get_timeout_us(), threads);
  if (cmojo_get_fd() < 0 || threads != 1) {
    fprintf(stderr, "[%s] FAILED: wanted a pollable fd and exactly one thread\n", loop_name);
    exit(1);
  }

  if (pp->payload)
    printf("[%s] %d rounds, every ping and pong %u bytes\n", loop_name, pp->rounds,
           (unsigned)pp->payload);
  launch_and_invite(pp);
  CHECK(MojoCreateTrap(on_trap_event, NULL, &pp->trap));
  CHECK(MojoAddTrigger(pp->trap, pp->pipe,
                       MOJO_HANDLE_SIGNAL_READABLE | MOJO_HANDLE_SIGNAL_PEER_CLOSED,
                       MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, (uintptr_t)pp, NULL));
}

bool pingpong_process(pingpong *pp) {
  pp->process_calls++;
  pp->in_process = true;
  MojoResult rv = cmojo_process();
  pp->in_process = false;
  if (rv != MOJO_RESULT_OK) {
    fprintf(stderr, "[%s] cmojo_process() returned %u\n", pp->loop_name, (unsigned)rv);
    pp->failed = true;
  }
  return rv == MOJO_RESULT_OK;
}

static void reap(pingpong *pp) {
  int status;
  pid_t r = waitpid((pid_t)pp->pid, &status, WNOHANG);
  if (r == (pid_t)pp->pid) {
    printf("[%s] child pid %lld exited with status %d\n", pp->loop_name, (long long)pp->pid,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    pp->pid = 0;
    pp->child_status = status;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      fail(pp, "the child did not exit with status 0");
  } else if (r < 0 && errno != EINTR) {
    fail(pp, "waitpid");
  }
}

/* Everything the example waits for has happened. */
static bool complete(const pingpong *pp) {
  return pp->received == pp->rounds && pp->peer_closed && pp->pid == 0 && pp->disconnected;
}

bool pingpong_tick(pingpong *pp) {
  if (++pp->ticks == 1) {
    /* The loop's own source starts the exchange. */
    printf("[%s] first timer tick: sending \"ping 1\" and arming the trap\n", pp->loop_name);
    pp->sent = 1;
    if (send_message(pp->pipe, "ping 1", 1, pp->payload) != MOJO_RESULT_OK)
      fail(pp, "MojoWriteMessage");
    service(pp);
  }
  if (pp->pid)
    reap(pp);
  bool done = complete(pp);
  if (!done && !pp->failed && now_ms() > pp->deadline_ms) {
    fprintf(stderr,
            "[%s] after %d ms: %d/%d pongs, peer %s, child %s, connection %s reported closed\n",
            pp->loop_name, PINGPONG_TIMEOUT_MS, pp->received, pp->rounds,
            pp->peer_closed ? "closed" : "NOT closed", pp->pid ? "NOT exited" : "exited",
            pp->disconnected ? "" : "NOT");
    fail(pp, "timed out");
  }
  return done || pp->failed;
}

int pingpong_finish(pingpong *pp) {
  if (!pp->failed && !complete(pp))
    fail(pp, "the loop stopped before the end");
  /* Closing delivers the trigger's CANCELLED event, here on this thread. */
  if (pp->trap != MOJO_HANDLE_INVALID)
    MojoClose(pp->trap);
  if (pp->pipe != MOJO_HANDLE_INVALID)
    MojoClose(pp->pipe);
  if (pp->pid) {
    kill((pid_t)pp->pid, SIGKILL);
    waitpid((pid_t)pp->pid, NULL, 0);
    pp->pid = 0;
  }
  /* Level-triggered but never stuck: once nothing is left to do, one
   * cmojo_process() call makes the fd quiet, so a loop does not spin. */
  bool quiet = false;
  for (int i = 0; i < 20 && !quiet; i++) {
    pingpong_process(pp);
    struct pollfd p = {cmojo_get_fd(), POLLIN, 0};
    quiet = poll(&p, 1, 50) == 0;
  }
  printf("[%s] cmojo's fd with nothing left to do: %s\n", pp->loop_name,
         quiet ? "quiet" : "still readable");
  if (!quiet)
    fail(pp, "cmojo's fd stays readable with nothing to do");

  int threads = pingpong_thread_count();
  printf(
      "[%s] %d/%d rounds; %d cmojo_process() calls, %d timer ticks; the trap handler ran "
      "%d times, %d of them inside cmojo_process(); threads in this process: %d\n",
      pp->loop_name, pp->received, pp->rounds, pp->process_calls, pp->ticks, pp->handler_calls,
      pp->handler_calls_in_process, threads);
  if (threads != 1)
    fail(pp, "a thread other than main appeared");
  /* The pipe's peer is in the child, so only messages read by
   * cmojo_process() can make it readable: every handler call ran there. */
  if (pp->handler_calls == 0 || pp->handler_calls != pp->handler_calls_in_process)
    fail(pp, "the trap never fired, or fired outside cmojo_process()");
  printf("[%s] %s\n", pp->loop_name, pp->failed ? "FAILED" : "OK");
  fflush(stdout);
  return pp->failed ? 1 : 0;
}
