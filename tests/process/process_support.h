/* Helpers for the multi-process tests (tests/process/test_*.c).
 *
 * Every test program here is its own child: the parent (the broker, which
 * runs the cmocka tests) re-executes /proc/self/exe with cmojo_launch() and
 * argv {exe, "--child=ROLE", args..., NULL}; pt_main() sees the switch and
 * runs ROLE's function instead of the tests. A child exits 0 when it did
 * its part and nonzero otherwise, after saying why on stderr (PT_CHECK and
 * PT_OK do both), and dies with its parent (PR_SET_PDEATHSIG).
 *
 * Every wait is bounded (PT_TIMEOUT_MS unless told otherwise), so a broken
 * implementation fails a test instead of hanging it. The functions that
 * return MojoResult never assert and are used on both sides; those that
 * assert (pt_spawn, pt_reap, ...) are for the parent, inside a cmocka test.
 */
#ifndef CMOJO_TESTS_PROCESS_SUPPORT_H_
#define CMOJO_TESTS_PROCESS_SUPPORT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* core.h first: cmojo/process.h uses MojoMessageHandle without including
 * message_pipe.h (reported to the lead). */
#include "mojo/public/c/system/core.h"
#include "cmojo/process.h"
#include "mojo/public/c/system/invitation.h"
#include "test_support.h"

/* The bound on every wait for another process. */
#define PT_TIMEOUT_MS 20000

/* pt_reap()'s wanted status for a child killed with SIGKILL. */
#define PT_KILLED (-9)

/* --------------------------------------------------------------- both sides */

/* A child role: runs in the child, returns its exit status. */
typedef int (*pt_role_fn)(int argc, char **argv);
typedef struct pt_role {
  const char *name; /* the ROLE of --child=ROLE */
  pt_role_fn run;
} pt_role;

/* Call first in main(). In a child (argv[1] is --child=ROLE) runs the role
 * and returns true with its exit status in *status. In the parent ignores
 * SIGPIPE, initializes Mojo with MOJO_INITIALIZE_FLAG_AS_BROKER and returns
 * false (true with status 1 if that fails). */
bool pt_main(int argc, char **argv, const pt_role *roles, size_t num_roles, int *status);

/* This program's path (/proc/self/exe, resolved). */
const char *pt_self(void);

/* Milliseconds on a monotonic clock. */
int64_t pt_now_ms(void);

/* xorshift64*: the tests' only source of randomness, so a seed replays. */
uint64_t pt_rand(uint64_t *state);

/* Waits until `h`'s `signals` become satisfied (condition
 * MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED) or unsatisfied (..._UNSATISFIED),
 * using a trap whose handler wakes this thread. Returns OK when the
 * condition holds, FAILED_PRECONDITION when it never can, DEADLINE_EXCEEDED
 * after timeout_ms, or what MojoAddTrigger returned (a bad handle). The
 * signals state seen is stored in *state when not NULL. */
MojoResult pt_wait(MojoHandle h, MojoHandleSignals signals, MojoTriggerCondition condition,
                   int timeout_ms, struct MojoHandleSignalsState *state);

/* Shorthand: waits for `signals` to be satisfied within PT_TIMEOUT_MS. */
MojoResult pt_wait_for(MojoHandle h, MojoHandleSignals signals);

/* Current signals of h (0 satisfied if h is bad). */
MojoHandleSignals pt_signals(MojoHandle h);

/* Writes one message of n bytes carrying nh handles (which it takes). */
MojoResult pt_send(MojoHandle pipe, const void *bytes, uint32_t n, const MojoHandle *handles,
                   uint32_t nh);
MojoResult pt_send_str(MojoHandle pipe, const char *s);

/* Waits for a message and reads it. Returns what MojoReadMessage does, or
 * what pt_wait does if none came (FAILED_PRECONDITION: the peer closed and
 * nothing is left). */
MojoResult pt_recv_message(MojoHandle pipe, int timeout_ms, MojoMessageHandle *message);

/* Waits for a message and copies its payload to buf (*n: its size; a
 * payload above cap is OUT_OF_RANGE) and its handles to handles (*nh in:
 * capacity, out: count; nh NULL means "none expected": a message with
 * handles is RESOURCE_EXHAUSTED). */
MojoResult pt_recv(MojoHandle pipe, void *buf, uint32_t cap, uint32_t *n, MojoHandle *handles,
                   uint32_t *nh, int timeout_ms);

/* The same for a text message without handles; buf is NUL-terminated. */
MojoResult pt_recv_str(MojoHandle pipe, char *buf, uint32_t cap, int timeout_ms);

/* Waits (polling, bounded) for the process `pid` to end. Returns its raw
 * waitpid status, or -1 after timeout_ms (the process is left running). */
int pt_wait_exit(int64_t pid, int timeout_ms);

/* Writes `len` bytes of the stream numbered `seed` at stream offset `off`:
 * the pattern every data pipe test sends and checks. */
void pt_pattern(uint64_t seed, uint64_t off, uint8_t *out, size_t len);

/* ------------------------------------------------------------- child side */

/* Fails the child: prints "[child ROLE pid] file:line: what (value)" on
 * stderr and exits with status 1. */
_Noreturn void pt_fail(const char *file, int line, const char *what, long long value);

#define PT_CHECK(cond)                       \
  do {                                       \
    if (!(cond))                             \
      pt_fail(__FILE__, __LINE__, #cond, 0); \
  } while (0)

#define PT_OK(expr)                                          \
  do {                                                       \
    MojoResult pt_rv_ = (expr);                              \
    if (pt_rv_ != MOJO_RESULT_OK)                            \
      pt_fail(__FILE__, __LINE__, #expr, (long long)pt_rv_); \
  } while (0)

#define PT_EQ(expr, want)                                     \
  do {                                                        \
    long long pt_v_ = (long long)(expr);                      \
    if (pt_v_ != (long long)(want))                           \
      pt_fail(__FILE__, __LINE__, #expr " != " #want, pt_v_); \
  } while (0)

/* MojoInitialize(NULL), cmojo_endpoint_from_command_line() and
 * MojoAcceptInvitation() with `flags`; returns the invitation. */
MojoHandle pt_child_accept(int argc, char **argv, MojoAcceptInvitationFlags flags);

/* MojoExtractMessagePipeFromInvitation(name) (n bytes), checked. */
MojoHandle pt_child_extract(MojoHandle invitation, const void *name, uint32_t n);

/* argv[2 + i] as an integer (the role's i-th own argument). */
uint64_t pt_arg(int argc, char **argv, int i);

/* The child's last step: waits until the parent closes `pipe` (so nothing
 * this child wrote can still be queued when it exits). */
void pt_child_finish(MojoHandle pipe);

/* Reads one text message (no handles) from `pipe` and fails the child
 * unless it equals `want`. */
void pt_child_expect_str(MojoHandle pipe, const char *want);

/* ------------------------------------------------------------ parent side */

/* Spawns this program as --child=role with the NULL-terminated `args` (NULL
 * for none), invites it with the pipes named names[0..n) (their local ends
 * in pipes[]) and `handler`/`context` as its error handler. Returns its pid. */
int64_t pt_spawn(const char *role, const char *const *args, const char *const *names, size_t n,
                 MojoHandle *pipes, MojoProcessErrorHandler handler, uintptr_t context);

/* Just cmojo_launch(): the child's pid; *endpoint the parent's end. */
int64_t pt_launch(const char *role, const char *const *args, struct MojoPlatformHandle *endpoint);

/* Reaps `pid` within PT_TIMEOUT_MS (killing it if it overstays) and asserts
 * it exited with `want` (PT_KILLED: was killed by SIGKILL). */
void pt_reap(int64_t pid, int want);

/* Reads one text message from `pipe` and asserts it equals `want`. */
void pt_expect_str(MojoHandle pipe, const char *want);

/* Asserts that `h` reaches PEER_CLOSED within PT_TIMEOUT_MS. */
void pt_expect_peer_closed(MojoHandle h);

/* cmocka setup/teardown: the teardown waits (up to PT_TIMEOUT_MS) for the
 * fd and shared memory mapping counts to come back to the setup's, since
 * the I/O thread closes a dead peer's connection asynchronously, then
 * asserts they did. */
int pt_setup(void **state);
int pt_teardown(void **state);

/* Polls until the fd and shm mapping counts equal the given ones or the
 * deadline passes; asserts they do. */
void pt_expect_resources(int fds, int shm_mappings);

#define PT_TEST(f) cmocka_unit_test_setup_teardown(f, pt_setup, pt_teardown)

/* ------------------------------------------------- process error reports */

/* One call of a process error handler. */
typedef struct pt_error {
  uintptr_t context;
  MojoProcessErrorFlags flags;
  uint32_t length; /* error_message_length */
  char text[256];  /* the message, cut and NUL-terminated */
} pt_error;

/* A MojoProcessErrorHandler that records every call (thread-safe). */
void pt_error_handler(uintptr_t context, const struct MojoProcessErrorDetails *details);

/* A context no other handler registration of this process uses. */
uintptr_t pt_new_context(void);

/* Waits until a call for `context` with (flags & mask) == want is recorded;
 * copies the first such to *out (may be NULL). False after timeout_ms. */
bool pt_errors_wait(uintptr_t context, MojoProcessErrorFlags mask, MojoProcessErrorFlags want,
                    int timeout_ms, pt_error *out);

/* Number of recorded calls for `context` with (flags & mask) == want. */
size_t pt_errors_count(uintptr_t context, MojoProcessErrorFlags mask, MojoProcessErrorFlags want);

#endif /* CMOJO_TESTS_PROCESS_SUPPORT_H_ */
