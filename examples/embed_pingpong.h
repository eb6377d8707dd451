/* The Mojo side of the embedder-mode examples (embed_epoll.c,
 * embed_libevent.c), the same whichever event loop drives it.
 *
 * The parent initializes cmojo in embedder mode (no I/O thread), launches a
 * copy of its own program as a child, invites it and plays ping-pong with it
 * over a message pipe: a Mojo trap watches the pipe, and its handler, which
 * runs on the parent's only thread inside cmojo_process(), reads each pong
 * and writes the next ping. The child runs in cmojo's default mode (with an
 * I/O thread) and just answers.
 *
 * Nothing here waits or polls. The example's event loop calls
 * cmojo_process() when cmojo_get_fd() is readable and pingpong_tick() from a
 * timer of its own; the first tick sends the first ping, later ones reap the
 * child and enforce PINGPONG_TIMEOUT_MS, so a broken peer fails the example
 * instead of hanging it. */
#ifndef CMOJO_EXAMPLES_EMBED_PINGPONG_H_
#define CMOJO_EXAMPLES_EMBED_PINGPONG_H_

#include <stdbool.h>
#include <stdint.h>

#include "mojo/public/c/system/core.h"

/* The bound on the whole exchange, the child's exit included. */
#define PINGPONG_TIMEOUT_MS 20000

/* The period of the timer each example runs beside cmojo's fd. */
#define PINGPONG_TICK_MS 20

/* Rounds when the command line does not say. */
#define PINGPONG_DEFAULT_ROUNDS 20

/* The largest ping the command line may ask for (Mojo's default limit on
 * a message is 256 MiB; this keeps the example's memory use modest). */
#define PINGPONG_MAX_PAYLOAD (64u << 20)

/* The parent's state. Fields are the examples' to read, not to write. */
typedef struct pingpong {
  const char *loop_name;        /* "epoll", "libevent": for the printed lines */
  int rounds;                   /* pings to send */
  uint32_t payload;             /* bytes of each ping and pong (0: just the text) */
  int sent, received;           /* pings sent, pongs received */
  int handler_calls;            /* trap events other than CANCELLED */
  int handler_calls_in_process; /* ... of which ran inside cmojo_process() */
  int process_calls;            /* cmojo_process() calls the loop made */
  int ticks;                    /* pingpong_tick() calls */
  MojoHandle pipe, trap;
  int64_t pid;      /* the child's; 0 once reaped */
  int child_status; /* its waitpid() status once reaped */
  bool quit_sent, peer_closed, disconnected, failed;
  bool in_process; /* inside pingpong_process()'s cmojo_process() */
  int64_t deadline_ms;
} pingpong;

/* If argv names the child role, runs it and returns true with its exit
 * status in *status; otherwise returns false. Call first thing in main(). */
bool pingpong_child(int argc, char **argv, int *status);

/* Threads of this process (entries of /proc/self/task), -1 if unknown. */
int pingpong_thread_count(void);

/* Reads the command line ([ROUNDS [BYTES]]: the rounds to play and the size
 * of each ping and pong), initializes cmojo in embedder mode as the broker,
 * checks that the process still has only its main thread, launches and
 * invites the child and sets the trap up. Prints what it does; exits the
 * process on failure. */
void pingpong_start(pingpong *pp, const char *loop_name, int argc, char **argv);

/* Calls cmojo_process() (the loop saw cmojo's fd readable, or the timeout
 * of cmojo_get_timeout_us() passed), counting the calls and the handler
 * calls made inside it. Returns false if cmojo_process() failed. */
bool pingpong_process(pingpong *pp);

/* The loop's own timer fired. Returns true once the example is over: all
 * rounds played, the child gone and reaped, its connection reported closed;
 * or a failure, or the deadline passed. */
bool pingpong_tick(pingpong *pp);

/* Closes the trap and the pipe, kills the child if it still runs, prints a
 * summary and returns the exit status of the example (0: success). */
int pingpong_finish(pingpong *pp);

/* How long the loop may sleep, in milliseconds, given its timer and
 * cmojo_get_timeout_us(): -1 (no limit) or a bound rounded up. */
int pingpong_timeout_ms(void);

#endif /* CMOJO_EXAMPLES_EMBED_PINGPONG_H_ */
