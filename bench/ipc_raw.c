/* The floors of bench_ipc: what the kernel alone costs.
 *
 * Ping-pong: both processes hold a non-blocking end of a socketpair watched
 * by their own epoll instance, as an event loop would. To take a message a
 * side waits in epoll_wait, then reads until it has the whole message (going
 * back to epoll_wait when a large one arrives in parts); to send it writes
 * until the socket is full and then waits for room the same way. The server
 * echoes each message; the client's end-of-file ends the session.
 *
 * Stream: the client announces a count, then writes that many chunks with
 * blocking writes; the server reads them into one chunk-sized buffer and
 * answers with one byte when all have arrived, so the client's clock stops
 * only once the last byte was read by the other process. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_report.h"
#include "ipc_transport.h"

/* ---- waiting on the socketpair (also used by the named transports) ------- */

/* Waits until fd is readable or hung up, at most until `deadline_ns`.
 * Returns 0 when it is, -1 on timeout or error. */
static int wait_readable(int fd, uint64_t deadline_ns) {
  for (;;) {
    uint64_t now = bench_now_ns();
    if (now >= deadline_ns)
      return -1;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, (int)((deadline_ns - now) / 1000000 + 1));
    if (r > 0)
      return 0;
    if (r < 0 && errno != EINTR)
      return -1;
  }
}

int ipc_say_ready(int fd) {
  const char ready = 'R';
  return send(fd, &ready, 1, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int ipc_await_ready(int fd, int timeout_ms) {
  uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000;
  char c;
  if (wait_readable(fd, deadline) != 0)
    return -1;
  return read(fd, &c, 1) == 1 && c == 'R' ? 0 : -1;
}

int ipc_await_gone(int fd, int timeout_ms) {
  uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000;
  char buf[64];
  for (;;) {
    if (wait_readable(fd, deadline) != 0)
      return -1;
    ssize_t r = read(fd, buf, sizeof(buf));
    if (r == 0)
      return 0;
    if (r < 0 && errno != EINTR && errno != EAGAIN)
      return -1;
  }
}

/* ---- ping-pong ------------------------------------------------------------ */

typedef struct raw_conn {
  int fd, epoll;
  int outer; /* nested variant: an epoll watching `epoll`, as an embedder's loop would; else -1 */
  uint32_t interest; /* what fd is registered for: EPOLLIN or EPOLLOUT */
  size_t size;
  uint8_t *buf;
} raw_conn;

static void raw_close(raw_conn *c) {
  if (c->outer >= 0)
    close(c->outer);
  if (c->epoll >= 0)
    close(c->epoll);
  close(c->fd);
  free(c->buf);
  free(c);
}

static raw_conn *raw_open_as(const ipc_endpoint *e, bool nested) {
  raw_conn *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  c->outer = -1;
  if (nested) {
    c->outer = epoll_create1(EPOLL_CLOEXEC);
    if (c->outer < 0) {
      free(c);
      return NULL;
    }
  }
  c->fd = e->fd;
  c->size = e->size;
  c->interest = EPOLLIN;
  c->buf = malloc(e->size);
  c->epoll = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN};
  int flags = fcntl(c->fd, F_GETFL);
  if (!c->buf || c->epoll < 0 || flags < 0 || fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
      epoll_ctl(c->epoll, EPOLL_CTL_ADD, c->fd, &ev) != 0 ||
      (c->outer >= 0 && epoll_ctl(c->outer, EPOLL_CTL_ADD, c->epoll, &ev) != 0)) {
    raw_close(c);
    return NULL;
  }
  memset(c->buf, 0x5a, c->size);
  return c;
}

static raw_conn *raw_open(const ipc_endpoint *e) {
  return raw_open_as(e, false);
}

/* Waits in epoll_wait until the socket is ready for `events`, registering
 * for them first when it is registered for the other direction. */
static int raw_wait(raw_conn *c, uint32_t events) {
  if (c->interest != events) {
    struct epoll_event ev = {.events = events};
    if (epoll_ctl(c->epoll, EPOLL_CTL_MOD, c->fd, &ev) != 0)
      return -1;
    c->interest = events;
  }
  for (;;) {
    struct epoll_event ev;
    /* Nested: the outer loop wakes for the inner epoll, which is then asked
     * what is ready without waiting, as cmojo_process() asks its own. */
    int r = c->outer >= 0 ? epoll_wait(c->outer, &ev, 1, IPC_PEER_TIMEOUT_MS) : 1;
    if (r == 1)
      r = epoll_wait(c->epoll, &ev, 1, c->outer >= 0 ? 0 : IPC_PEER_TIMEOUT_MS);
    if (r == 1)
      return 0;
    if (r == 0 && c->outer >= 0)
      continue;
    if (r == 0 || errno != EINTR)
      return -1;
  }
}

/* Takes one whole message. Returns 0, 1 when the other side closed the
 * socket between messages, -1 on failure. */
static int raw_recv(raw_conn *c) {
  size_t got = 0;
  while (got < c->size) {
    if (raw_wait(c, EPOLLIN) != 0)
      return -1;
    ssize_t r = 0;
    while (got < c->size && (r = read(c->fd, c->buf + got, c->size - got)) > 0)
      got += (size_t)r;
    if (got == c->size)
      break;
    if (r == 0)
      return got == 0 ? 1 : -1;
    if (errno != EAGAIN && errno != EINTR)
      return -1;
  }
  return 0;
}

static int raw_send(raw_conn *c) {
  size_t sent = 0;
  while (sent < c->size) {
    ssize_t r = send(c->fd, c->buf + sent, c->size - sent, MSG_NOSIGNAL);
    if (r > 0) {
      sent += (size_t)r;
    } else if (r < 0 && errno == EAGAIN) {
      if (raw_wait(c, EPOLLOUT) != 0)
        return -1;
    } else if (r == 0 || errno != EINTR) {
      return -1;
    }
  }
  return 0;
}

/* Echoes until the client closes its end. */
static int raw_serve_as(const ipc_endpoint *e, bool nested) {
  raw_conn *c = raw_open_as(e, nested);
  if (!c)
    return -1;
  int r;
  while ((r = raw_recv(c)) == 0 && raw_send(c) == 0) {
  }
  raw_close(c);
  return r == 1 ? 0 : -1;
}

static int raw_serve(const ipc_endpoint *e) {
  return raw_serve_as(e, false);
}

static void *raw_connect(const ipc_endpoint *e) {
  return raw_open(e);
}

static int raw_roundtrips(void *conn, long n) {
  raw_conn *c = conn;
  for (long i = 0; i < n; i++) {
    if (raw_send(c) != 0 || raw_recv(c) != 0)
      return -1;
  }
  return 0;
}

/* Closing the socket is the server's signal to end. */
static void raw_disconnect(void *conn) {
  raw_close(conn);
}

const ipc_transport ipc_raw_pingpong = {
    .name = "raw",
    .serve = raw_serve,
    .connect = raw_connect,
    .exchange = raw_roundtrips,
    .disconnect = raw_disconnect,
};

/* The same with each side's epoll nested in an outer one: what any library
 * that hands an application one fd to poll (cmojo's embedder mode, sd-bus,
 * Wayland) pays before doing anything of its own. */
static int raw_nested_serve(const ipc_endpoint *e) {
  return raw_serve_as(e, true);
}

static void *raw_nested_connect(const ipc_endpoint *e) {
  return raw_open_as(e, true);
}

const ipc_transport ipc_raw_nested_pingpong = {
    .name = "raw_nested",
    .serve = raw_nested_serve,
    .connect = raw_nested_connect,
    .exchange = raw_roundtrips,
    .disconnect = raw_disconnect,
};

/* ---- stream --------------------------------------------------------------- */

typedef struct stream_conn {
  int fd;
  size_t size;
  uint8_t *buf;
} stream_conn;

static void stream_close(stream_conn *c) {
  close(c->fd);
  free(c->buf);
  free(c);
}

/* Blocking socket with timeouts, so that a vanished peer fails a call
 * instead of hanging it. */
static stream_conn *stream_open(const ipc_endpoint *e) {
  stream_conn *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  c->fd = e->fd;
  c->size = e->size;
  c->buf = malloc(e->size);
  struct timeval tv = {.tv_sec = IPC_PEER_TIMEOUT_MS / 1000};
  if (!c->buf || setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
      setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
    stream_close(c);
    return NULL;
  }
  memset(c->buf, 0x5a, c->size);
  return c;
}

static int write_all(int fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len > 0) {
    ssize_t r = send(fd, p, len, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    p += r;
    len -= (size_t)r;
  }
  return 0;
}

/* Reads exactly len bytes. Returns 0, 1 on end-of-file before the first
 * byte, -1 on failure. */
static int read_all(int fd, void *buf, size_t len) {
  uint8_t *p = buf;
  size_t got = 0;
  while (got < len) {
    ssize_t r = read(fd, p + got, len - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0 && got == 0)
      return 1;
    if (r <= 0)
      return -1;
    got += (size_t)r;
  }
  return 0;
}

/* Reads `total` bytes in reads of at most one chunk, as a consumer that
 * processes the data chunk by chunk would. */
static int stream_drain(stream_conn *c, uint64_t total) {
  while (total > 0) {
    size_t want = total < c->size ? (size_t)total : c->size;
    ssize_t r = read(c->fd, c->buf, want);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    total -= (uint64_t)r;
  }
  return 0;
}

static int stream_serve(const ipc_endpoint *e) {
  stream_conn *c = stream_open(e);
  if (!c)
    return -1;
  uint64_t chunks;
  int r;
  const char ack = 'A';
  while ((r = read_all(c->fd, &chunks, sizeof(chunks))) == 0) {
    if (stream_drain(c, chunks * c->size) != 0 || write_all(c->fd, &ack, 1) != 0) {
      r = -1;
      break;
    }
  }
  stream_close(c);
  return r == 1 ? 0 : -1;
}

static void *stream_connect(const ipc_endpoint *e) {
  return stream_open(e);
}

static int stream_send_chunks(void *conn, long n) {
  stream_conn *c = conn;
  uint64_t chunks = (uint64_t)n;
  char ack;
  if (write_all(c->fd, &chunks, sizeof(chunks)) != 0)
    return -1;
  for (long i = 0; i < n; i++) {
    if (write_all(c->fd, c->buf, c->size) != 0)
      return -1;
  }
  return read_all(c->fd, &ack, 1) == 0 && ack == 'A' ? 0 : -1;
}

static void stream_disconnect(void *conn) {
  stream_close(conn);
}

const ipc_transport ipc_raw_stream = {
    .name = "raw",
    .serve = stream_serve,
    .connect = stream_connect,
    .exchange = stream_send_chunks,
    .disconnect = stream_disconnect,
};
