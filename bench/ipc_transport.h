/* What bench_ipc needs from one way of talking between two processes.
 *
 * bench_ipc measures every transport the same way: its main process makes a
 * socketpair, then starts two fresh copies of itself (fork + exec, so no
 * library state or helper thread of an earlier measurement is inherited), a
 * server holding one end of the socketpair and a client holding the other.
 * The server runs `serve`; the client runs `connect`, then `exchange` in
 * timed rounds, then `disconnect`, and hands the best time per operation to
 * the main process. A transport is a `static const ipc_transport` built with
 * designated initializers; bench_ipc.c lists them in one table.
 *
 * What one operation is depends on the transport: for a ping-pong it is one
 * round trip (send e->size bytes, wait for the echo, receive it whole); for a
 * stream it is one chunk of e->size bytes delivered to the other process.
 *
 * Both processes may be pinned to CPU 0 before these functions run; threads a
 * library starts afterwards inherit that placement. Every function runs with
 * SIGALRM set to end the process if it hangs, so blocking without a timeout
 * is safe, but each should still fail rather than wait forever when the
 * other process is gone. */
#ifndef CMOJO_BENCH_IPC_TRANSPORT_H_
#define CMOJO_BENCH_IPC_TRANSPORT_H_

#include <stddef.h>

typedef struct ipc_endpoint {
  /* This process's end of a SOCK_STREAM socketpair joining the client and
   * the server (blocking, close-on-exec). Transports that rendezvous by name
   * use it only to say "listening" and to notice that the other side ended. */
  int fd;
  /* A path under /tmp unique to this measurement, for transports that need
   * a name (ipc:// sockets); nothing exists there yet, and the main process
   * removes whatever is left there once both processes have ended. */
  const char *path;
  /* Bytes per message (ping-pong) or per chunk (stream); at least 1. */
  size_t size;
} ipc_endpoint;

typedef struct ipc_transport {
  /* Short name used in report lines: ipc_rtt_<name>_16B_pinned. */
  const char *name;
  /* Server process: answers the client until the client ends the session.
   * Returns 0 when the session ended as agreed, -1 on any failure. */
  int (*serve)(const ipc_endpoint *e);
  /* Client process: connects to the server; returns the connection, or NULL
   * on failure. Need not wait until the server is ready: the first
   * `exchange` is not timed. */
  void *(*connect)(const ipc_endpoint *e);
  /* Client process: performs n operations. Returns 0, or -1 on failure. */
  int (*exchange)(void *conn, long n);
  /* Client process: tells the server to end (so that `serve` returns 0),
   * waits until it has taken note where the transport could otherwise drop
   * that word, and frees the connection. */
  void (*disconnect)(void *conn);
} ipc_transport;

/* The floors: a socketpair ping-pong in which each side waits in epoll_wait
 * before reading, and a one-way socketpair stream. */
extern const ipc_transport ipc_raw_pingpong;
/* The ping-pong with each side's epoll nested in an outer epoll (the cost of
 * handing an application one fd to poll, before any work of cmojo's). */
extern const ipc_transport ipc_raw_nested_pingpong;
extern const ipc_transport ipc_raw_stream;

/* cmojo: message pipe round trips in default and embedder mode, and a data
 * pipe stream (bench/ipc_cmojo.c). */
extern const ipc_transport ipc_cmojo_pingpong;
extern const ipc_transport ipc_cmojo_embedded_pingpong;
extern const ipc_transport ipc_cmojo_stream;

/* Peers a user might pick instead; each exists only when its library was
 * found at configure time. */
#ifdef CMOJO_BENCH_HAVE_SDBUS
extern const ipc_transport ipc_sdbus_pingpong;
#endif
#ifdef CMOJO_BENCH_HAVE_NNG
extern const ipc_transport ipc_nng_pingpong;
#endif
#ifdef CMOJO_BENCH_HAVE_ZMQ
extern const ipc_transport ipc_zmq_pingpong;
#endif

/* Helpers for transports that meet by name, over the endpoint's socketpair.
 * The server calls ipc_say_ready once it listens; the client's
 * ipc_await_ready returns 0 once it may connect. At the end the client's
 * ipc_await_gone returns 0 once the server has closed its end (exited).
 * Each waits at most `timeout_ms` and returns -1 on timeout or error. */
int ipc_say_ready(int fd);
int ipc_await_ready(int fd, int timeout_ms);
int ipc_await_gone(int fd, int timeout_ms);

/* How long a transport waits for the other process before giving up. */
enum { IPC_PEER_TIMEOUT_MS = 10000 };

#endif /* CMOJO_BENCH_IPC_TRANSPORT_H_ */
