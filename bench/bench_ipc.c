/* Issue 3 benchmarks between two real processes (DESIGN §6):
 *  - message round trips of 16 B, 1 KiB, 4 KiB, 64 KiB and 1 MiB, beside a
 *    raw socketpair + epoll ping-pong of the same size (the floor);
 *  - 16 B and 4 KiB round trips beside the peers a user might pick instead:
 *    sd-bus (peer to peer), nng (pair1 over ipc://) and ZeroMQ (PAIR over
 *    ipc://), each when its library was found at configure time;
 *  - a one-way stream of 64 KiB chunks, beside a socketpair stream and
 *    memcpy bandwidth of the same chunks in one process.
 * Every figure is taken with both processes pinned to CPU 0 (the stable
 * figure: each hand-off is a context switch on one CPU) and unpinned (the
 * wake-up crosses CPUs, which costs tens of microseconds on virtual
 * machines).
 *
 * Each transport is an ipc_transport (ipc_transport.h) in the table below.
 * Until cmojo's own entries exist, the floors and peers are printed as
 * informational lines, `floor NAME VALUE UNIT`; with them, report_vs() adds
 * the `bench ... ours=... floor=... ratio=... target=...` lines.
 *
 * How one figure is taken: the main process makes a socketpair and starts
 * two fresh copies of this program (fork + exec: no library state or thread
 * of an earlier measurement is inherited), a server and a client, each of
 * which pins itself in the pinned variant. The client warms up, sizes its
 * rounds to about ROUND_NS, times ROUNDS of them and hands the best time per
 * operation to the main process through a pipe. Children get SIGKILL when
 * the main process dies, and an alarm as a last resort; the main process
 * waits for both, killing them when they overstay, and removes the session's
 * /tmp path. The main process itself never loads an IPC library. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_report.h"
#include "ipc_transport.h"

/* ---- what is measured ------------------------------------------------------ */

enum ipc_kind {
  IPC_RAW,   /* floor: socketpair + epoll ping-pong */
  IPC_RAW_NESTED, /* the same, each epoll nested in an outer one */
  IPC_OURS,  /* cmojo message pipe round trips between processes */
  IPC_OURS_EMBEDDED, /* the same with cmojo in embedder mode */
  IPC_SDBUS, /* peers */
  IPC_NNG,
  IPC_ZMQ,
  IPC_STREAM_RAW,  /* floor: socketpair stream of chunks */
  IPC_STREAM_OURS, /* cmojo data pipe between processes */
  IPC_KINDS
};

/* Kinds left out (NULL) are not built in. */
static const ipc_transport *const transports[IPC_KINDS] = {
    [IPC_RAW] = &ipc_raw_pingpong,
    [IPC_RAW_NESTED] = &ipc_raw_nested_pingpong,
    [IPC_OURS] = &ipc_cmojo_pingpong,
    [IPC_OURS_EMBEDDED] = &ipc_cmojo_embedded_pingpong,
    [IPC_STREAM_OURS] = &ipc_cmojo_stream,
#ifdef CMOJO_BENCH_HAVE_SDBUS
    [IPC_SDBUS] = &ipc_sdbus_pingpong,
#endif
#ifdef CMOJO_BENCH_HAVE_NNG
    [IPC_NNG] = &ipc_nng_pingpong,
#endif
#ifdef CMOJO_BENCH_HAVE_ZMQ
    [IPC_ZMQ] = &ipc_zmq_pingpong,
#endif
    [IPC_STREAM_RAW] = &ipc_raw_stream,
};

/* The ratios issue 3 holds cmojo to (lower is better; pinned figures are
 * the ones the targets refer to, unpinned ones are shown beside them):
 * up to 4 KiB, default mode within 2x and embedder mode within 1.2x of the
 * raw ping-pong; 64 KiB and more no slower than it; faster than every peer
 * in both modes; a data pipe at least 3x the raw stream (a rate, so the
 * ratio raw/ours is at most 1/3). memcpy is shown beside the stream with no
 * target of its own. */
static double target_rtt_vs_raw(size_t size, bool embedded) {
  if (size >= 64 * 1024)
    return 1.0;
  return embedded ? 1.2 : 2.0;
}
static const double target_rtt_vs_peer = 1.0;
static const double target_stream_vs_raw = 1.0 / 3.0;

static const size_t rtt_sizes[] = {16, 1024, 4096, 64 * 1024, 1024 * 1024};
static const enum ipc_kind peers[] = {IPC_SDBUS, IPC_NNG, IPC_ZMQ};
enum { STREAM_CHUNK = 64 * 1024 };

/* Timing of one figure: about 10 ms of warm-up while sizing the rounds, then
 * the best of ROUNDS rounds of about ROUND_NS each. */
enum { ROUNDS = 7 };
static const double calibrate_ns = 10e6, round_ns = 80e6;

/* How long the main process waits for a client's figure, then for each
 * process to exit; children end themselves with SIGALRM after CHILD_ALARM_S. */
enum { RESULT_TIMEOUT_MS = 45000, EXIT_GRACE_MS = 5000, CHILD_ALARM_S = 60 };

/* ---- the child processes -------------------------------------------------- */

static int pin_to_cpu0(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  if (sched_setaffinity(0, sizeof(set), &set) == 0)
    return 0;
  perror("bench_ipc: sched_setaffinity");
  return -1;
}

static int time_batch(const ipc_transport *t, void *conn, long n, double *ns) {
  uint64_t t0 = bench_now_ns();
  if (t->exchange(conn, n) != 0)
    return -1;
  *ns = (double)(bench_now_ns() - t0);
  return 0;
}

/* Doubles the batch until it lasts calibrate_ns (the warm-up), then times
 * ROUNDS batches of about round_ns and keeps the best time per operation. */
static int best_ns_per_op(const ipc_transport *t, void *conn, double *best) {
  long n = 1;
  double ns;
  do {
    if (time_batch(t, conn, n, &ns) != 0)
      return -1;
    n *= 2;
  } while (ns < calibrate_ns);
  n /= 2;
  long per_round = (long)((double)n * round_ns / ns) + 1;
  for (int r = 0; r < ROUNDS; r++) {
    if (time_batch(t, conn, per_round, &ns) != 0)
      return -1;
    ns /= (double)per_round;
    if (r == 0 || ns < *best)
      *best = ns;
  }
  return 0;
}

static int run_client(const ipc_transport *t, const ipc_endpoint *e, int result_fd) {
  void *conn = t->connect(e);
  if (!conn)
    return -1;
  double best = 0;
  int r = t->exchange(conn, 1) == 0 ? best_ns_per_op(t, conn, &best) : -1;
  t->disconnect(conn);
  if (r == 0 && dprintf(result_fd, "%.17g\n", best) < 0)
    r = -1;
  return r;
}

/* argv: --child client|server KIND SIZE PINNED PATH, with the socketpair on
 * fd 3 and, for the client, the result pipe on fd 4. */
static int child_main(char **argv) {
  bool server = strcmp(argv[2], "server") == 0;
  long kind = strtol(argv[3], NULL, 10);
  size_t size = (size_t)strtoull(argv[4], NULL, 10);
  bool pinned = strcmp(argv[5], "1") == 0;
  if (kind < 0 || kind >= IPC_KINDS || !transports[kind] || size == 0)
    return 2;
  alarm(CHILD_ALARM_S);
  if (pinned && pin_to_cpu0() != 0)
    return 1;
  const ipc_transport *t = transports[kind];
  ipc_endpoint e = {.fd = 3, .path = argv[6], .size = size};
  int r = server ? t->serve(&e) : run_client(t, &e, 4);
  if (r != 0)
    fprintf(stderr, "bench_ipc: %s %s failed\n", t->name, argv[2]);
  return r == 0 ? 0 : 1;
}

/* ---- the main process: one session of a client and a server ---------------- */

/* Sessions that failed; any makes the program exit with status 1. */
static int failures;

typedef struct session {
  enum ipc_kind kind;
  size_t size;
  bool pinned;
  char path[64];
} session;

/* Puts `sock` on fd 3 and `result` (if any) on fd 4, clear of close-on-exec,
 * going through fds above 10 so that neither overwrites the other. */
static int place_fds(int sock, int result) {
  int s = fcntl(sock, F_DUPFD_CLOEXEC, 10);
  int r = result >= 0 ? fcntl(result, F_DUPFD_CLOEXEC, 10) : -1;
  if (s < 0 || (result >= 0 && r < 0) || dup2(s, 3) != 3)
    return -1;
  return result < 0 || dup2(r, 4) == 4 ? 0 : -1;
}

static pid_t spawn(const session *s, const char *role, int sock, int result) {
  char kind_arg[16], size_arg[32];
  snprintf(kind_arg, sizeof(kind_arg), "%d", (int)s->kind);
  snprintf(size_arg, sizeof(size_arg), "%zu", s->size);
  /* execv's argv is not const for historical reasons; it writes nothing. */
  char *argv[] = {(char *)"bench_ipc",
                  (char *)"--child",
                  (char *)role,
                  kind_arg,
                  size_arg,
                  (char *)(s->pinned ? "1" : "0"),
                  (char *)s->path,
                  NULL};
  pid_t parent = getpid();
  fflush(NULL);
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  /* Checking the parent after asking for the signal closes the window in
   * which the parent could die unnoticed. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
    _exit(126);
  if (place_fds(sock, result) != 0)
    _exit(126);
  execv("/proc/self/exe", argv);
  _exit(127);
}

/* Reads the client's figure; NAN when none arrives in time. */
static double read_result(int fd) {
  char buf[64];
  size_t len = 0;
  uint64_t deadline = bench_now_ns() + (uint64_t)RESULT_TIMEOUT_MS * 1000000;
  while (len < sizeof(buf) - 1) {
    uint64_t now = bench_now_ns();
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (now >= deadline)
      return NAN;
    int r = poll(&p, 1, (int)((deadline - now) / 1000000 + 1));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return NAN;
    ssize_t got = read(fd, buf + len, sizeof(buf) - 1 - len);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    len += (size_t)got;
  }
  buf[len] = '\0';
  char *end;
  double ns = strtod(buf, &end);
  return len > 0 && *end == '\n' && ns > 0 ? ns : NAN;
}

/* Waits up to grace_ms for pid to exit, then kills it. Returns 0 when it
 * exited with status 0 by itself. */
static int reap(pid_t pid, int grace_ms) {
  const struct timespec tick = {.tv_nsec = 1000000};
  int status;
  for (int waited = 0;; waited++) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
    if (r < 0 && errno != EINTR)
      return -1;
    if (waited >= grace_ms)
      break;
    nanosleep(&tick, NULL);
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return -1;
}

/* Starts the server and the client on the socketpair sv and collects the
 * client's figure from the pipe res; closes all four fds. */
static double run_children(const session *s, const int sv[2], const int res[2]) {
  pid_t server = spawn(s, "server", sv[1], -1);
  pid_t client = server > 0 ? spawn(s, "client", sv[0], res[1]) : -1;
  /* Only the children may hold the ends: each side learns that the other
   * ended from end-of-file on its own. */
  close(sv[0]);
  close(sv[1]);
  close(res[1]);
  double ns = client > 0 ? read_result(res[0]) : NAN;
  close(res[0]);
  /* A failed client leaves the server waiting for its peer: no grace. */
  int grace = isnan(ns) ? 0 : EXIT_GRACE_MS;
  if (client > 0 && reap(client, grace) != 0)
    ns = NAN;
  if (server > 0 && reap(server, grace) != 0)
    ns = NAN;
  return ns;
}

/* Runs one session; returns the client's best nanoseconds per operation, or
 * NAN when anything failed (and says what on stderr). */
static double run_session(session *s) {
  static unsigned serial;
  int sv[2], res[2];
  double ns = NAN;
  snprintf(s->path, sizeof(s->path), "/tmp/cmojo-bench-ipc-%d-%u", (int)getpid(), serial++);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    perror("bench_ipc: socketpair");
  } else if (pipe2(res, O_CLOEXEC) != 0) {
    perror("bench_ipc: pipe2");
    close(sv[0]);
    close(sv[1]);
  } else {
    ns = run_children(s, sv, res);
  }
  if (unlink(s->path) != 0 && errno != ENOENT)
    perror("bench_ipc: removing the ipc path");
  if (isnan(ns)) {
    failures++;
    fprintf(stderr, "bench_ipc: %s, %zu B, %s: measurement failed\n", transports[s->kind]->name,
            s->size, s->pinned ? "pinned" : "unpinned");
  }
  return ns;
}

/* Microseconds per round trip of `size`-byte messages over transport
 * `kind`; NAN when the transport is not built in or the measurement
 * failed. */
static double measure_rtt(enum ipc_kind kind, size_t size, bool pinned) {
  if (!transports[kind])
    return NAN;
  session s = {.kind = kind, .size = size, .pinned = pinned};
  return run_session(&s) / 1000;
}

/* GB/s streamed in `chunk`-byte chunks over transport `kind`; NAN as
 * above. */
static double measure_stream(enum ipc_kind kind, size_t chunk, bool pinned) {
  if (!transports[kind])
    return NAN;
  session s = {.kind = kind, .size = chunk, .pinned = pinned};
  return (double)chunk / run_session(&s);
}

/* ---- memcpy floor ------------------------------------------------------------ */

/* 64 KiB chunks copied into a 4 MiB region at rotating offsets, reading one
 * byte of each copy so that none can be dropped. */
typedef struct copy_args {
  uint8_t *src, *dst;
  size_t chunk, region;
} copy_args;

static void copy_chunks(void *arg, long n) {
  copy_args *a = arg;
  volatile uint8_t sink = 0;
  size_t off = 0;
  for (long i = 0; i < n; i++) {
    memcpy(a->dst + off, a->src, a->chunk);
    sink = sink + a->dst[off + a->chunk - 1];
    off = off + a->chunk >= a->region ? 0 : off + a->chunk;
  }
}

static double memcpy_gbps(size_t chunk) {
  copy_args a = {.src = malloc(chunk), .dst = malloc(4u << 20), .chunk = chunk, .region = 4u << 20};
  if (!a.src || !a.dst) {
    failures++;
    fprintf(stderr, "bench_ipc: memcpy: out of memory\n");
    free(a.src);
    free(a.dst);
    return NAN;
  }
  memset(a.src, 0x5a, chunk);
  memset(a.dst, 0, a.region);
  double ns = bench_best_ns_per_op(copy_chunks, &a, (long)((512u << 20) / chunk), 9);
  free(a.src);
  free(a.dst);
  return (double)chunk / ns;
}

/* ---- report lines ------------------------------------------------------------ */

static void size_name(size_t size, char *buf, size_t cap) {
  if (size >= (1u << 20) && size % (1u << 20) == 0)
    snprintf(buf, cap, "%zuMiB", size >> 20);
  else if (size >= 1024 && size % 1024 == 0)
    snprintf(buf, cap, "%zuKiB", size >> 10);
  else
    snprintf(buf, cap, "%zuB", size);
}

/* An informational figure; `raw` (when a number) adds the ratio to the raw
 * floor of the same shape. A failed figure (NAN) was reported already. */
static void print_floor(const char *name, double value, const char *unit, double raw) {
  if (isnan(value))
    return;
  if (isnan(raw))
    printf("floor %s %.4g %s\n", name, value, unit);
  else
    printf("floor %s %.4g %s (%.2fx raw)\n", name, value, unit, value / raw);
  fflush(stdout);
}

/* The one place a `bench` line comes from: cmojo's figure beside a floor or
 * a peer's figure measured in the same run. Prints nothing while cmojo's
 * side is missing (or when either figure failed). */
static void report_vs(const char *name, double ours, double base, const char *unit, bool rate,
                      double target) {
  if (isnan(ours) || isnan(base))
    return;
  if (rate)
    bench_report_rate(name, ours, base, unit, target);
  else
    bench_report_time(name, ours, base, unit, target);
}

/* ---- the plan ------------------------------------------------------------------ */

static void bench_peers(size_t size, bool pinned, const double ours[2], double raw) {
  char sz[24], name[128];
  size_name(size, sz, sizeof(sz));
  const char *placement = pinned ? "pinned" : "unpinned";
  for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
    const ipc_transport *t = transports[peers[i]];
    if (!t)
      continue;
    double peer = measure_rtt(peers[i], size, pinned);
    snprintf(name, sizeof(name), "ipc_rtt_%s_%s_%s", t->name, sz, placement);
    print_floor(name, peer, "us/roundtrip", raw);
    for (int mode = 0; mode < 2; mode++) {
      snprintf(name, sizeof(name), "ipc_rtt%s_vs_%s_%s_%s", mode ? "_embedded" : "", t->name, sz,
               placement);
      report_vs(name, ours[mode], peer, "us/roundtrip", false, target_rtt_vs_peer);
    }
  }
}

static void bench_rtt(bool pinned) {
  char sz[24], name[128];
  const char *placement = pinned ? "pinned" : "unpinned";
  for (size_t i = 0; i < sizeof(rtt_sizes) / sizeof(rtt_sizes[0]); i++) {
    size_t size = rtt_sizes[i];
    size_name(size, sz, sizeof(sz));
    double raw = measure_rtt(IPC_RAW, size, pinned);
    double ours[2] = {measure_rtt(IPC_OURS, size, pinned),
                      measure_rtt(IPC_OURS_EMBEDDED, size, pinned)};
    snprintf(name, sizeof(name), "ipc_rtt_raw_%s_%s", sz, placement);
    print_floor(name, raw, "us/roundtrip", NAN);
    if (size <= 4096) {
      /* What embedder mode's one pollable fd costs by itself. */
      double nested = measure_rtt(IPC_RAW_NESTED, size, pinned);
      snprintf(name, sizeof(name), "ipc_rtt_raw_nested_%s_%s", sz, placement);
      print_floor(name, nested, "us/roundtrip", raw);
    }
    for (int mode = 0; mode < 2; mode++) {
      snprintf(name, sizeof(name), "ipc_rtt%s_%s_%s", mode ? "_embedded" : "", sz, placement);
      report_vs(name, ours[mode], raw, "us/roundtrip", false, target_rtt_vs_raw(size, mode));
    }
    if (size == 16 || size == 4096)
      bench_peers(size, pinned, ours, raw);
  }
}

static void bench_stream(void) {
  char sz[24], name[128];
  size_name(STREAM_CHUNK, sz, sizeof(sz));
  double copy = memcpy_gbps(STREAM_CHUNK);
  snprintf(name, sizeof(name), "memcpy_%s", sz);
  print_floor(name, copy, "GB/s", NAN);
  for (int p = 1; p >= 0; p--) {
    const char *placement = p ? "pinned" : "unpinned";
    double raw = measure_stream(IPC_STREAM_RAW, STREAM_CHUNK, p);
    double ours = measure_stream(IPC_STREAM_OURS, STREAM_CHUNK, p);
    snprintf(name, sizeof(name), "ipc_stream_raw_%s_%s", sz, placement);
    print_floor(name, raw, "GB/s", NAN);
    snprintf(name, sizeof(name), "ipc_stream_%s_%s", sz, placement);
    report_vs(name, ours, raw, "GB/s", true, target_stream_vs_raw);
    snprintf(name, sizeof(name), "ipc_stream_%s_%s_vs_memcpy", sz, placement);
    if (!isnan(ours))
      printf("info %s ours=%.4g GB/s memcpy=%.4g GB/s ratio=%.2f\n", name, ours, copy, copy / ours);
  }
}

static void say_what_is_missing(void) {
  for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
    static const char *const names[] = {[IPC_SDBUS] = "sd-bus (libsystemd-dev)",
                                        [IPC_NNG] = "nng (libnng-dev)",
                                        [IPC_ZMQ] = "ZeroMQ (libzmq3-dev)"};
    if (!transports[peers[i]])
      fprintf(stderr, "bench_ipc: built without %s; scripts/install-deps.sh installs it\n",
              names[peers[i]]);
  }
}

int main(int argc, char **argv) {
  if (argc == 7 && strcmp(argv[1], "--child") == 0)
    return child_main(argv);
  if (argc != 1) {
    fprintf(stderr, "usage: %s\n", argv[0]);
    return 2;
  }
  say_what_is_missing();
  bench_rtt(true);
  bench_rtt(false);
  bench_stream();
  return failures == 0 ? 0 : 1;
}
