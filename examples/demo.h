/* cmojo_demo's shared parts: the little protocol the browser and its
 * renderers speak, and the helpers all three processes use (narration,
 * bounded waits, reading and checking a message, a checksum).
 *
 * Every message is a demo_header followed by exactly header.text_bytes bytes
 * of text, plus any handles. A message that breaks that rule is malformed:
 * the browser reports such a message with MojoNotifyBadMessage(). */
#ifndef CMOJO_DEMO_H_
#define CMOJO_DEMO_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mojo/public/c/system/core.h"

/* The switch that starts the binary as a renderer ("=A" or "=B"), and the
 * one that tells the renderer its parent's pid (to check that it did not
 * die before the renderer asked to die with it). */
#define DEMO_RENDERER_SWITCH "--demo-renderer="
#define DEMO_BROWSER_PID_SWITCH "--demo-browser-pid="

/* The name of the pipe each invitation carries. */
#define DEMO_PIPE_NAME "browser"

/* How long any single wait may last before the demo gives up. */
#define DEMO_TIMEOUT_MS 10000

enum demo_kind {
  DEMO_WELCOME = 1,    /* browser -> renderer: the first message on the invitation's pipe */
  DEMO_HELLO,          /* renderer -> browser: the answer; text: its pid */
  DEMO_TAKE_PEER_PIPE, /* browser -> renderer: one end of a pipe to the other one */
  DEMO_PEER_REPORT,    /* renderer -> browser: how the talk with the other one went */
  DEMO_GREETING,       /* renderer <-> renderer: a greeting, or the answer to one */
  DEMO_STREAM,         /* browser -> A: a data pipe consumer; text: the file name */
  DEMO_STREAM_RESULT,  /* A -> browser: "BYTES CHECKSUM" of what it read */
  DEMO_PAINT,          /* browser -> B: a shared buffer to write a frame into */
  DEMO_PAINTED,        /* B -> browser: the frame is in the buffer */
  DEMO_STATUS_REQUEST, /* browser -> B: how are you? */
  DEMO_STATUS,         /* B -> browser: the answer (B sends it malformed) */
  DEMO_CHECK_PEER,     /* browser -> A: look at your pipe to B */
  DEMO_PEER_GONE,      /* A -> browser: that pipe signals PEER_CLOSED */
  DEMO_QUIT,           /* browser -> renderer: close everything and exit 0 */
};

struct demo_header {
  uint32_t kind;
  uint32_t text_bytes;
};

/* A message read by demo_receive(). |message| stays valid (for
 * MojoNotifyBadMessage) until demo_release(); the handles are the reader's. */
typedef struct demo_msg {
  MojoMessageHandle message;
  uint32_t kind;
  char text[256];
  MojoHandle handles[2];
  uint32_t num_handles;
  char malformed[160]; /* empty, or why the message breaks the protocol */
} demo_msg;

/* Narration: "[role] text". demo_fail() prints to stderr and returns false. */
void demo_set_role(const char *role);
void demo_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool demo_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Waits up to |timeout_ms| until one of |signals| is satisfied on |handle|,
 * with a trap. Returns OK, FAILED_PRECONDITION (they never can be) or
 * DEADLINE_EXCEEDED. */
MojoResult demo_wait(MojoHandle handle, MojoHandleSignals signals, int timeout_ms);

/* Sends |kind| with |text| and |num_handles| handles (which it consumes). */
bool demo_send(MojoHandle pipe, uint32_t kind, const char *text, MojoHandle *handles,
               uint32_t num_handles);

/* Sends raw bytes, bypassing the protocol (for the misbehaving renderer). */
bool demo_send_bytes(MojoHandle pipe, const void *bytes, uint32_t num_bytes);

/* Reads the next message, waiting up to DEMO_TIMEOUT_MS, and checks it
 * against the protocol (a failed check fills |out->malformed|). Returns
 * false, having said why, if no message came. */
bool demo_receive(MojoHandle pipe, demo_msg *out);

/* demo_receive() plus: the message is well formed and of |kind| (any
 * kind if 0). On false nothing is left to release. */
bool demo_expect(MojoHandle pipe, uint32_t kind, demo_msg *out);

/* Destroys the message and closes the handles nobody took (set to
 * MOJO_HANDLE_INVALID the ones taken). */
void demo_release(demo_msg *m);

/* FNV-1a, 64 bits: start with DEMO_FNV_START. */
#define DEMO_FNV_START 0xcbf29ce484222325ull
uint64_t demo_fnv1a(uint64_t h, const void *bytes, size_t n);

/* The renderer's main: for argv[1] starting with DEMO_RENDERER_SWITCH. */
int demo_renderer_main(int argc, char **argv);

#endif /* CMOJO_DEMO_H_ */
