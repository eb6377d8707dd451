/* cmojo_demo's renderers: the same binary, started by the browser with
 * DEMO_RENDERER_SWITCH "A" or "B". A renderer accepts the browser's
 * invitation, says hello, then does what each message asks until QUIT.
 * Renderer B plays a compromised renderer when asked for its status. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cmojo/process.h"
#include "demo.h"

typedef struct renderer {
  char name;          /* 'A' or 'B' */
  MojoHandle browser; /* the pipe of the invitation */
  MojoHandle peer;    /* the pipe to the other renderer, once given */
} renderer;

static const char *arg_value(int argc, char **argv, const char *prefix) {
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], prefix, strlen(prefix)) == 0)
      return argv[i] + strlen(prefix);
  }
  return NULL;
}

/* cmojo_launch() runs no code of ours between fork and exec, so the
 * renderer asks here to die with the browser, then checks that the browser
 * did not die first. */
static bool die_with_browser(int argc, char **argv) {
  const char *pid = arg_value(argc, argv, DEMO_BROWSER_PID_SWITCH);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  return pid && (long long)getppid() == atoll(pid);
}

static bool join_browser(int argc, char **argv, renderer *r) {
  struct MojoPlatformHandle fd;
  MojoResult rv = cmojo_endpoint_from_command_line(argc, argv, &fd);
  if (rv != MOJO_RESULT_OK)
    return demo_fail("no endpoint on the command line: result %u", (unsigned)rv);
  struct MojoInvitationTransportEndpoint endpoint = {
      sizeof(endpoint), MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL, 1, &fd};
  MojoHandle invitation;
  rv = MojoAcceptInvitation(&endpoint, NULL, &invitation);
  if (rv != MOJO_RESULT_OK) {
    close((int)fd.value);
    return demo_fail("MojoAcceptInvitation: result %u", (unsigned)rv);
  }
  rv = MojoExtractMessagePipeFromInvitation(invitation, DEMO_PIPE_NAME, strlen(DEMO_PIPE_NAME),
                                            NULL, &r->browser);
  MojoClose(invitation);
  if (rv != MOJO_RESULT_OK)
    return demo_fail("MojoExtractMessagePipeFromInvitation: result %u", (unsigned)rv);
  demo_msg welcome;
  if (!demo_expect(r->browser, DEMO_WELCOME, &welcome))
    return false;
  demo_release(&welcome);
  char pid[32];
  snprintf(pid, sizeof(pid), "%d", (int)getpid());
  demo_say("pid %s: accepted the browser's invitation; the browser says \"%s\"; saying hello", pid,
           welcome.text);
  return demo_send(r->browser, DEMO_HELLO, pid, NULL, 0);
}

/* ---- What each message asks ---------------------------------------------- */

/* The first greetings may reach B through the browser: A's end still
 * points at the browser's proxy for B's end until the pipe settles. B asks
 * for greetings until one comes straight from A; this many is plenty. */
#define MAX_GREETINGS 100

/* A greets B on their pipe until B answers for real. */
static bool greet_peer(renderer *r) {
  demo_say("got a pipe to renderer B from the browser; greeting B on it");
  for (int i = 1; i <= MAX_GREETINGS; i++) {
    char text[64];
    demo_msg m;
    snprintf(text, sizeof(text), "hello B, this is renderer A (greeting %d)", i);
    if (!demo_send(r->peer, DEMO_GREETING, text, NULL, 0) ||
        !demo_expect(r->peer, DEMO_GREETING, &m))
      return false;
    demo_release(&m);
    if (strcmp(m.text, "again") != 0) {
      demo_say("renderer B answered on our pipe: \"%s\"", m.text);
      return demo_send(r->browser, DEMO_PEER_REPORT, m.text, NULL, 0);
    }
  }
  return demo_fail("renderer B never heard from me directly");
}

/* Who sent |m|, as the kernel told cmojo; -1 if that cannot be known. */
static long long sender_of(demo_msg *m) {
  struct cmojo_peer_credentials who = {.struct_size = sizeof(who)};
  MojoResult rv = cmojo_get_message_sender(m->message, &who);
  if (rv != MOJO_RESULT_OK) {
    demo_fail("cmojo_get_message_sender: result %u", (unsigned)rv);
    return -1;
  }
  return (long long)who.pid;
}

/* B answers A's greetings, asking again while they come via the browser. */
static bool answer_peer(renderer *r) {
  long long browser = (long long)getppid();
  for (int i = 1; i <= MAX_GREETINGS; i++) {
    demo_msg m;
    if (!demo_expect(r->peer, DEMO_GREETING, &m))
      return false;
    long long pid = sender_of(&m);
    demo_release(&m); /* m.text is a copy and stays */
    if (pid < 0)
      return false;
    if (pid == browser) {
      demo_say(
          "got \"%s\" via the browser (pid %lld), which forwards on the pipe until "
          "its moved ends settle; asking A again",
          m.text, pid);
      if (!demo_send(r->peer, DEMO_GREETING, "again", NULL, 0))
        return false;
      continue;
    }
    demo_say("got \"%s\" straight from pid %lld, not through the browser (pid %lld)", m.text, pid,
             browser);
    char text[32];
    snprintf(text, sizeof(text), "%lld", pid);
    return demo_send(r->peer, DEMO_GREETING, "hi A, B here", NULL, 0) &&
           demo_send(r->browser, DEMO_PEER_REPORT, text, NULL, 0);
  }
  return demo_fail("renderer A never reached me directly");
}

/* A reads the data pipe to its end and reports size and checksum. */
static bool read_stream(renderer *r, MojoHandle consumer, const char *file) {
  demo_say("reading %s from a data pipe", file);
  uint64_t sum = DEMO_FNV_START, total = 0;
  for (;;) {
    const void *bytes;
    uint32_t n;
    MojoResult rv = MojoBeginReadData(consumer, NULL, &bytes, &n);
    if (rv == MOJO_RESULT_SHOULD_WAIT) {
      rv = demo_wait(consumer, MOJO_HANDLE_SIGNAL_READABLE | MOJO_HANDLE_SIGNAL_PEER_CLOSED,
                     DEMO_TIMEOUT_MS);
      if (rv == MOJO_RESULT_DEADLINE_EXCEEDED)
        return demo_fail("the data pipe stalled");
      continue;
    }
    if (rv == MOJO_RESULT_FAILED_PRECONDITION)
      break; /* the producer is closed and every byte has been read */
    if (rv != MOJO_RESULT_OK)
      return demo_fail("MojoBeginReadData: result %u", (unsigned)rv);
    sum = demo_fnv1a(sum, bytes, n);
    total += n;
    MojoEndReadData(consumer, n, NULL);
  }
  char result[64];
  snprintf(result, sizeof(result), "%llu %016llx", (unsigned long long)total,
           (unsigned long long)sum);
  demo_say("the stream ended after %llu bytes; my checksum is %016llx", (unsigned long long)total,
           (unsigned long long)sum);
  return demo_send(r->browser, DEMO_STREAM_RESULT, result, NULL, 0);
}

/* B paints a "frame" into the shared buffer: a caption, then a pattern. */
static bool paint(renderer *r, MojoHandle buffer) {
  struct MojoSharedBufferInfo info = {.struct_size = sizeof(info)};
  void *mem;
  MojoResult rv = MojoGetBufferInfo(buffer, NULL, &info);
  if (rv == MOJO_RESULT_OK)
    rv = MojoMapBuffer(buffer, 0, info.size, NULL, &mem);
  if (rv != MOJO_RESULT_OK)
    return demo_fail("mapping the shared buffer: result %u", (unsigned)rv);
  uint8_t *px = mem;
  for (uint64_t i = 64; i < info.size; i++)
    px[i] = (uint8_t)(i * 7);
  snprintf(mem, 64, "frame 1, painted by renderer B (pid %d)", (int)getpid());
  demo_say("painted a frame into the %llu-byte shared buffer", (unsigned long long)info.size);
  MojoUnmapBuffer(mem);
  return demo_send(r->browser, DEMO_PAINTED, "", NULL, 0);
}

/* B, compromised, answers with a header that lies about the text's size. */
static bool misbehave(renderer *r) {
  demo_say("(compromised) answering with a header that claims 4096 bytes of text, sending 5");
  unsigned char bytes[sizeof(struct demo_header) + 5];
  struct demo_header h = {DEMO_STATUS, 4096};
  memcpy(bytes, &h, sizeof(h));
  memcpy(bytes + sizeof(h), "fine!", 5);
  return demo_send_bytes(r->browser, bytes, sizeof(bytes));
}

/* A looks at its pipe to B, which should signal PEER_CLOSED by now. */
static bool check_peer(renderer *r) {
  MojoResult rv = demo_wait(r->peer, MOJO_HANDLE_SIGNAL_PEER_CLOSED, DEMO_TIMEOUT_MS);
  if (rv != MOJO_RESULT_OK)
    return demo_fail("my pipe to renderer B does not signal PEER_CLOSED: result %u", (unsigned)rv);
  demo_say("my pipe to renderer B signals PEER_CLOSED: B is gone");
  return demo_send(r->browser, DEMO_PEER_GONE, "", NULL, 0);
}

/* Runs one message; *quit is set on QUIT. Takes the handles it keeps. */
static bool handle(renderer *r, demo_msg *m, bool *quit) {
  MojoHandle h = m->num_handles == 1 ? m->handles[0] : MOJO_HANDLE_INVALID;
  switch (m->kind) {
    case DEMO_TAKE_PEER_PIPE:
      if (h == MOJO_HANDLE_INVALID || r->peer != MOJO_HANDLE_INVALID)
        return demo_fail("TAKE_PEER_PIPE without a pipe, or a second time");
      r->peer = h;
      m->handles[0] = MOJO_HANDLE_INVALID;
      return r->name == 'A' ? greet_peer(r) : answer_peer(r);
    case DEMO_STREAM:
      if (h == MOJO_HANDLE_INVALID)
        break;
      return read_stream(r, h, m->text); /* the consumer closes with |m| */
    case DEMO_PAINT:
      if (h == MOJO_HANDLE_INVALID)
        break;
      return paint(r, h); /* the buffer handle closes with |m| */
    case DEMO_STATUS_REQUEST:
      return misbehave(r);
    case DEMO_CHECK_PEER:
      if (r->peer == MOJO_HANDLE_INVALID)
        break;
      return check_peer(r);
    case DEMO_QUIT:
      demo_say("the browser says goodbye; closing my pipes and exiting");
      *quit = true;
      return true;
  }
  return demo_fail("message kind %u, without its handle or out of turn", (unsigned)m->kind);
}

int demo_renderer_main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  renderer r = {.name = argv[1][strlen(DEMO_RENDERER_SWITCH)],
                .browser = MOJO_HANDLE_INVALID,
                .peer = MOJO_HANDLE_INVALID};
  demo_set_role(r.name == 'A' ? "renderer A" : "renderer B");
  if (!die_with_browser(argc, argv))
    return 1;
  if (MojoInitialize(NULL) != MOJO_RESULT_OK || !join_browser(argc, argv, &r))
    return 1;
  bool ok = true, quit = false;
  while (ok && !quit) {
    demo_msg m;
    ok = demo_expect(r.browser, 0, &m) && handle(&r, &m, &quit);
    demo_release(&m);
  }
  MojoClose(r.browser);
  if (r.peer != MOJO_HANDLE_INVALID)
    MojoClose(r.peer);
  return ok ? 0 : 1;
}
