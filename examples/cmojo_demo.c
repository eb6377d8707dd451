/* cmojo demo: a browser and two renderers, the scenario Mojo was made for.
 *
 * The browser (this process, the broker of the graph) launches two renderer
 * processes, the same binary again, and invites each with a pipe. Then:
 *  1. Each renderer says hello; the kernel confirms who sent it.
 *  2. The browser hands renderer A and renderer B the two ends of a new pipe;
 *     the renderers talk over it directly, not through the browser.
 *  3. The browser streams a file to renderer A through a data pipe; both
 *     print its checksum.
 *  4. Renderer B paints into a shared buffer the browser has mapped too.
 *  5. Renderer B, compromised, sends a malformed message; the browser reports
 *     it with MojoNotifyBadMessage() and its error handler for B prints it.
 *  6. The browser kills renderer B (SIGKILL): B's pipe signals PEER_CLOSED,
 *     the error handler hears DISCONNECTED, and A's pipe to B closes too.
 *  7. Renderer A exits cleanly; the browser reaps it.
 * Exits 0 only if every step worked. Usage: cmojo_demo [FILE] (default: the
 * demo's own executable); the renderers' own lines are part of the story. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmojo/process.h"
#include "demo.h"

typedef struct child {
  const char *name; /* "renderer A" */
  char letter;
  int64_t pid;
  MojoHandle pipe;
  bool reaped;
  int status;
  /* What the process error handler heard, on cmojo's I/O thread (or on the
   * thread calling MojoNotifyBadMessage): guarded by |lock|. */
  pthread_mutex_t lock;
  pthread_cond_t changed;
  int bad_messages;
  bool disconnected;
} child;

typedef struct browser {
  child a, b;
  const char *file;
} browser;

/* ---- Processes ------------------------------------------------------------- */

static void on_process_error(uintptr_t context, const struct MojoProcessErrorDetails *details) {
  child *c = (child *)context;
  bool gone = details->flags & MOJO_PROCESS_ERROR_FLAG_DISCONNECTED;
  demo_say("error handler for %s (pid %lld): %s: \"%.*s\"", c->name, (long long)c->pid,
           gone ? "DISCONNECTED" : "bad message", (int)details->error_message_length,
           details->error_message);
  pthread_mutex_lock(&c->lock);
  if (gone)
    c->disconnected = true;
  else
    c->bad_messages++;
  pthread_cond_broadcast(&c->changed);
  pthread_mutex_unlock(&c->lock);
}

/* Waits until the handler has seen |bad_messages| reports, or the
 * disconnection if |disconnected|. */
static bool wait_for_handler(child *c, int bad_messages, bool disconnected) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += DEMO_TIMEOUT_MS / 1000;
  pthread_mutex_lock(&c->lock);
  int err = 0;
  while ((c->bad_messages < bad_messages || (disconnected && !c->disconnected)) && err != ETIMEDOUT)
    err = pthread_cond_timedwait(&c->changed, &c->lock, &until);
  pthread_mutex_unlock(&c->lock);
  if (err == ETIMEDOUT)
    return demo_fail("the error handler for %s was not called", c->name);
  return true;
}

static bool launch(child *c, const char *self) {
  char role[64], parent[64];
  snprintf(role, sizeof(role), DEMO_RENDERER_SWITCH "%c", c->letter);
  snprintf(parent, sizeof(parent), DEMO_BROWSER_PID_SWITCH "%d", (int)getpid());
  /* "/proc/self/exe" is resolved by the new process, which is still a copy
   * of this one at that point; argv[0] is just a name for ps. */
  char *argv[] = {(char *)self, role, parent, NULL};
  struct MojoPlatformHandle fd;
  MojoResult r = cmojo_launch("/proc/self/exe", argv, NULL, &fd, &c->pid);
  if (r != MOJO_RESULT_OK)
    return demo_fail("cmojo_launch: result %u", (unsigned)r);

  MojoHandle invitation = MOJO_HANDLE_INVALID;
  r = MojoCreateInvitation(NULL, &invitation);
  if (r == MOJO_RESULT_OK)
    r = MojoAttachMessagePipeToInvitation(invitation, DEMO_PIPE_NAME, strlen(DEMO_PIPE_NAME), NULL,
                                          &c->pipe);
  struct MojoPlatformProcessHandle process = {sizeof(process), (uint64_t)c->pid};
  struct MojoInvitationTransportEndpoint endpoint = {
      sizeof(endpoint), MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL, 1, &fd};
  if (r == MOJO_RESULT_OK)
    r = MojoSendInvitation(invitation, &process, &endpoint, on_process_error, (uintptr_t)c, NULL);
  if (r != MOJO_RESULT_OK) {
    close((int)fd.value);
    if (invitation != MOJO_HANDLE_INVALID)
      MojoClose(invitation);
    return demo_fail("inviting %s: result %u", c->name, (unsigned)r);
  }
  demo_say("launched %s as pid %lld and sent it an invitation with a pipe named \"%s\"", c->name,
           (long long)c->pid, DEMO_PIPE_NAME);
  /* The pipe works at once: this waits in the pipe until the renderer is
   * connected and reads it. */
  return demo_send(c->pipe, DEMO_WELCOME, "welcome", NULL, 0);
}

/* Reaps |c|, waiting at most DEMO_TIMEOUT_MS; kills it if it will not go. */
static bool reap(child *c) {
  for (int ms = 0; !c->reaped && ms < DEMO_TIMEOUT_MS; ms += 10) {
    pid_t got = waitpid((pid_t)c->pid, &c->status, WNOHANG);
    c->reaped = got == (pid_t)c->pid;
    if (!c->reaped)
      usleep(10000);
  }
  if (c->reaped)
    return true;
  kill((pid_t)c->pid, SIGKILL);
  c->reaped = waitpid((pid_t)c->pid, &c->status, 0) == (pid_t)c->pid;
  return demo_fail("%s did not exit; killed it", c->name);
}

/* ---- The steps --------------------------------------------------------------- */

static bool hello(child *c) {
  demo_msg m;
  if (!demo_expect(c->pipe, DEMO_HELLO, &m))
    return false;
  struct cmojo_peer_credentials who = {.struct_size = sizeof(who)};
  MojoResult r = cmojo_get_message_sender(m.message, &who);
  demo_release(&m);
  if (r != MOJO_RESULT_OK || who.pid != c->pid || atoll(m.text) != c->pid)
    return demo_fail("the hello on %s's pipe is not from pid %lld", c->name, (long long)c->pid);
  demo_say("%s said hello; the kernel confirms the sender is pid %lld", c->name,
           (long long)who.pid);
  return true;
}

static bool connect_renderers(browser *b) {
  demo_say("Step 2: giving renderer A and renderer B the two ends of a new message pipe");
  MojoHandle end_a, end_b;
  demo_msg ma, mb;
  if (MojoCreateMessagePipe(NULL, &end_a, &end_b) != MOJO_RESULT_OK)
    return demo_fail("MojoCreateMessagePipe");
  if (!demo_send(b->a.pipe, DEMO_TAKE_PEER_PIPE, "", &end_a, 1)) {
    MojoClose(end_b);
    return false;
  }
  /* A's report comes after B's answer, which B sends before its report:
   * read them in that order so the lines come out in the order they
   * happened. */
  if (!demo_send(b->b.pipe, DEMO_TAKE_PEER_PIPE, "", &end_b, 1) ||
      !demo_expect(b->a.pipe, DEMO_PEER_REPORT, &ma))
    return false;
  demo_release(&ma);
  demo_say("renderer A heard renderer B's answer \"%s\"", ma.text);
  if (!demo_expect(b->b.pipe, DEMO_PEER_REPORT, &mb))
    return false;
  demo_release(&mb);
  if (atoll(mb.text) != b->a.pid)
    return demo_fail("renderer B's greeting came from pid %s, not renderer A", mb.text);
  demo_say(
      "renderer B got its greeting straight from renderer A's pid %lld: the renderers "
      "talk directly, not through the browser",
      (long long)b->a.pid);
  return true;
}

/* Writes |f| into |producer| to its end; *sum and *total describe it. */
static bool pour(FILE *f, MojoHandle producer, uint64_t *sum, uint64_t *total) {
  uint8_t chunk[16384];
  size_t got;
  while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    *sum = demo_fnv1a(*sum, chunk, got);
    *total += got;
    for (size_t off = 0; off < got;) {
      uint32_t n = (uint32_t)(got - off);
      MojoResult r = MojoWriteData(producer, chunk + off, &n, NULL);
      if (r == MOJO_RESULT_SHOULD_WAIT)
        r = demo_wait(producer, MOJO_HANDLE_SIGNAL_WRITABLE, DEMO_TIMEOUT_MS);
      else if (r == MOJO_RESULT_OK)
        off += n;
      if (r != MOJO_RESULT_OK)
        return demo_fail("writing to the data pipe: result %u", (unsigned)r);
    }
  }
  return true;
}

static bool stream_file(browser *b) {
  demo_say("Step 3: streaming %s to renderer A through a data pipe", b->file);
  FILE *f = fopen(b->file, "rb");
  if (!f)
    return demo_fail("cannot open %s", b->file);
  MojoHandle producer, consumer;
  if (MojoCreateDataPipe(NULL, &producer, &consumer) != MOJO_RESULT_OK) {
    fclose(f);
    return demo_fail("MojoCreateDataPipe");
  }
  uint64_t sum = DEMO_FNV_START, total = 0;
  bool ok =
      demo_send(b->a.pipe, DEMO_STREAM, b->file, &consumer, 1) && pour(f, producer, &sum, &total);
  fclose(f);
  MojoClose(producer); /* renderer A sees the end of the stream */
  demo_msg m;
  if (!ok || !demo_expect(b->a.pipe, DEMO_STREAM_RESULT, &m))
    return false;
  demo_release(&m);
  char mine[64];
  snprintf(mine, sizeof(mine), "%" PRIu64 " %016" PRIx64, total, sum);
  demo_say("sent %" PRIu64 " bytes with checksum %016" PRIx64 "; renderer A got \"%s\": %s", total,
           sum, m.text, strcmp(mine, m.text) == 0 ? "they match" : "MISMATCH");
  return strcmp(mine, m.text) == 0 || demo_fail("the checksums differ");
}

/* Checks the frame renderer B painted, through the browser's own mapping. */
static bool frame_ok(const uint8_t *px, uint64_t size) {
  for (uint64_t i = 64; i < size; i++) {
    if (px[i] != (uint8_t)(i * 7))
      return false;
  }
  return strncmp((const char *)px, "frame 1, painted by renderer B", 30) == 0;
}

static bool share_buffer(browser *b) {
  const uint64_t size = 1 << 20;
  demo_say("Step 4: mapping a 1 MiB shared buffer and handing renderer B a handle to it");
  MojoHandle buffer, dup;
  void *mem = NULL;
  if (MojoCreateSharedBuffer(size, NULL, &buffer) != MOJO_RESULT_OK)
    return demo_fail("MojoCreateSharedBuffer");
  bool ok = MojoDuplicateBufferHandle(buffer, NULL, &dup) == MOJO_RESULT_OK &&
            MojoMapBuffer(buffer, 0, size, NULL, &mem) == MOJO_RESULT_OK;
  demo_msg m;
  ok = ok && demo_send(b->b.pipe, DEMO_PAINT, "", &dup, 1) &&
       demo_expect(b->b.pipe, DEMO_PAINTED, &m);
  if (ok) {
    demo_release(&m);
    ok = frame_ok(mem, size);
    demo_say("renderer B says it painted; my mapping shows \"%s\" and the pattern: %s",
             (const char *)mem, ok ? "same memory" : "WRONG BYTES");
  }
  if (mem)
    MojoUnmapBuffer(mem);
  MojoClose(buffer);
  return ok || demo_fail("sharing the buffer with renderer B");
}

static bool bad_message(browser *b) {
  demo_say("Step 5: asking renderer B for its status, checking the answer as untrusted input");
  demo_msg m;
  if (!demo_send(b->b.pipe, DEMO_STATUS_REQUEST, "", NULL, 0) || !demo_receive(b->b.pipe, &m))
    return false;
  if (!m.malformed[0]) {
    demo_release(&m);
    return demo_fail("renderer B's answer was well formed, yet B meant to misbehave");
  }
  char why[200];
  snprintf(why, sizeof(why), "status message: %s", m.malformed);
  demo_say("renderer B's answer is malformed (%s); reporting it with MojoNotifyBadMessage",
           m.malformed);
  MojoResult r = MojoNotifyBadMessage(m.message, why, (uint32_t)strlen(why), NULL);
  demo_release(&m);
  if (r != MOJO_RESULT_OK)
    return demo_fail("MojoNotifyBadMessage: result %u", (unsigned)r);
  return wait_for_handler(&b->b, 1, false);
}

static bool kill_renderer(browser *b) {
  child *c = &b->b;
  demo_say("Step 6: killing renderer B with SIGKILL, as a browser does after a bad message");
  if (kill((pid_t)c->pid, SIGKILL) != 0)
    return demo_fail("kill: %s", strerror(errno));
  if (!wait_for_handler(c, 1, true))
    return false;
  MojoResult r = demo_wait(c->pipe, MOJO_HANDLE_SIGNAL_PEER_CLOSED, DEMO_TIMEOUT_MS);
  if (r != MOJO_RESULT_OK)
    return demo_fail("renderer B's pipe does not signal PEER_CLOSED: result %u", (unsigned)r);
  demo_say("renderer B's pipe signals PEER_CLOSED");
  if (!reap(c) || !WIFSIGNALED(c->status) || WTERMSIG(c->status) != SIGKILL)
    return demo_fail("renderer B did not die of SIGKILL");
  demo_say("reaped renderer B: killed by signal %d; asking renderer A about its pipe to B",
           WTERMSIG(c->status));
  demo_msg m;
  if (!demo_send(b->a.pipe, DEMO_CHECK_PEER, "", NULL, 0) ||
      !demo_expect(b->a.pipe, DEMO_PEER_GONE, &m))
    return false;
  demo_release(&m);
  return true;
}

static bool finish(browser *b) {
  child *c = &b->a;
  demo_say("Step 7: telling renderer A to quit");
  if (!demo_send(c->pipe, DEMO_QUIT, "", NULL, 0) || !wait_for_handler(c, 0, true) ||
      demo_wait(c->pipe, MOJO_HANDLE_SIGNAL_PEER_CLOSED, DEMO_TIMEOUT_MS) != MOJO_RESULT_OK)
    return demo_fail("renderer A's connection did not close");
  if (!reap(c) || !WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0)
    return demo_fail("renderer A did not exit with status 0 (wait status %#x)", c->status);
  demo_say("reaped renderer A: exit status 0");
  return true;
}

/* ---- main -------------------------------------------------------------------- */

static bool run(browser *b, const char *self) {
  struct MojoInitializeOptions broker = {.struct_size = sizeof(broker),
                                         .flags = MOJO_INITIALIZE_FLAG_AS_BROKER};
  if (MojoInitialize(&broker) != MOJO_RESULT_OK)
    return demo_fail("MojoInitialize");
  demo_say("pid %d: initialized as the broker; Step 1: launching two renderers", (int)getpid());
  return launch(&b->a, self) && hello(&b->a) && launch(&b->b, self) && hello(&b->b) &&
         connect_renderers(b) && stream_file(b) && share_buffer(b) && bad_message(b) &&
         kill_renderer(b) && finish(b);
}

static void init_child(child *c, const char *name, char letter) {
  *c = (child){.name = name, .letter = letter, .pipe = MOJO_HANDLE_INVALID};
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->changed, NULL);
}

/* After a failure: no renderer outlives the browser's report. */
static void clean_up(child *c) {
  if (c->pid > 0 && !c->reaped) {
    kill((pid_t)c->pid, SIGKILL);
    c->reaped = waitpid((pid_t)c->pid, &c->status, 0) == (pid_t)c->pid;
  }
  if (c->pipe != MOJO_HANDLE_INVALID)
    MojoClose(c->pipe);
}

int main(int argc, char **argv) {
  if (argc > 1 && strncmp(argv[1], DEMO_RENDERER_SWITCH, strlen(DEMO_RENDERER_SWITCH)) == 0)
    return demo_renderer_main(argc, argv);
  setvbuf(stdout, NULL, _IOLBF, 0);
  demo_set_role("browser");
  /* Static: the error handlers may still run on cmojo's I/O thread while
   * the process exits after a failure. */
  static browser b;
  b.file = argc > 1 ? argv[1] : "/proc/self/exe";
  init_child(&b.a, "renderer A", 'A');
  init_child(&b.b, "renderer B", 'B');
  bool ok = run(&b, argv[0]);
  clean_up(&b.a);
  clean_up(&b.b);
  if (!ok) {
    fprintf(stderr, "[browser] the demo FAILED (see above)\n");
    return 1;
  }
  demo_say("every step worked");
  return 0;
}
