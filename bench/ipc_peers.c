/* Peers a user might pick instead of cmojo, each in its plain documented
 * use, ping-ponging byte messages between two processes:
 *  - sd-bus, peer to peer (no bus daemon) over the endpoint's socketpair:
 *    the client calls a method taking and returning a byte array with
 *    sd_bus_call; the server answers from an object vtable;
 *  - nng, a pair1 socket over ipc:// (nng_send/nng_recv);
 *  - ZeroMQ, a PAIR socket over ipc:// (zmq_send/zmq_recv).
 * For nng and ZeroMQ the socketpair only orders the rendezvous (the server
 * says when it listens) and the ending: an empty message asks the server to
 * stop, and the client closes its socket only once the server has exited,
 * because neither library promises to deliver what is queued at close. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc_transport.h"

#ifdef CMOJO_BENCH_HAVE_SDBUS
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>
#endif
#ifdef CMOJO_BENCH_HAVE_NNG
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#endif
#ifdef CMOJO_BENCH_HAVE_ZMQ
#include <zmq.h>
#endif

#if defined(CMOJO_BENCH_HAVE_SDBUS) || defined(CMOJO_BENCH_HAVE_NNG) || \
    defined(CMOJO_BENCH_HAVE_ZMQ)
/* Says which call of which library failed, and why; returns -1. */
static int fail(const char *lib, const char *call, const char *why) {
  fprintf(stderr, "bench_ipc: %s: %s: %s\n", lib, call, why);
  return -1;
}

/* A client's message buffer, one byte longer than a message so that a reply
 * of the wrong size shows. */
static uint8_t *message_buffer(size_t size) {
  uint8_t *buf = malloc(size + 1);
  if (buf)
    memset(buf, 0x5a, size + 1);
  return buf;
}
#endif

/* ---- sd-bus --------------------------------------------------------------- */

#ifdef CMOJO_BENCH_HAVE_SDBUS
#define SDBUS_PATH "/org/cmojo/Bench"
#define SDBUS_IFACE "org.cmojo.Bench"
static const uint64_t sdbus_timeout_us = (uint64_t)IPC_PEER_TIMEOUT_MS * 1000;

static int sdbus_fail(const char *call, int r) {
  return fail("sd-bus", call, strerror(-r));
}

static int sdbus_echo(sd_bus_message *m, void *userdata, sd_bus_error *error) {
  (void)userdata;
  (void)error;
  const void *bytes;
  size_t len;
  sd_bus_message *reply = NULL;
  int r = sd_bus_message_read_array(m, 'y', &bytes, &len);
  if (r >= 0)
    r = sd_bus_message_new_method_return(m, &reply);
  if (r >= 0)
    r = sd_bus_message_append_array(reply, 'y', bytes, len);
  if (r >= 0)
    r = sd_bus_send(NULL, reply, NULL);
  sd_bus_message_unref(reply);
  return r < 0 ? r : 1;
}

static const sd_bus_vtable sdbus_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Echo", "ay", "ay", sdbus_echo, 0),
    SD_BUS_VTABLE_END,
};

/* A bus over the endpoint's socketpair, started as the server (with a
 * random id, as sd-bus requires) or as the client. */
static sd_bus *sdbus_open(const ipc_endpoint *e, bool server) {
  sd_bus *bus = NULL;
  sd_id128_t id;
  int r = sd_bus_new(&bus);
  if (r >= 0)
    r = sd_bus_set_fd(bus, e->fd, e->fd);
  if (r >= 0 && server)
    r = sd_id128_randomize(&id);
  if (r >= 0 && server)
    r = sd_bus_set_server(bus, 1, id);
  if (r >= 0 && server)
    r = sd_bus_add_object_vtable(bus, NULL, SDBUS_PATH, SDBUS_IFACE, sdbus_vtable, NULL);
  if (r >= 0)
    r = sd_bus_start(bus);
  if (r < 0) {
    sdbus_fail("setting up the bus", r);
    sd_bus_unref(bus);
    return NULL;
  }
  return bus;
}

/* The session ends when the client closes its end of the socketpair; sd-bus
 * reports that as a lost connection. */
static bool sdbus_hung_up(int r) {
  return r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE;
}

static int sdbus_serve(const ipc_endpoint *e) {
  sd_bus *bus = sdbus_open(e, true);
  if (!bus)
    return -1;
  int r;
  for (;;) {
    r = sd_bus_process(bus, NULL);
    if (r > 0)
      continue;
    if (r == 0)
      r = sd_bus_wait(bus, sdbus_timeout_us);
    if (r == 0)
      r = -ETIMEDOUT;
    if (r < 0)
      break;
  }
  sd_bus_close_unref(bus);
  if (sdbus_hung_up(r))
    return 0;
  return sdbus_fail("serving", r);
}

typedef struct sdbus_conn {
  sd_bus *bus;
  size_t size;
  uint8_t *buf;
} sdbus_conn;

static void *sdbus_connect(const ipc_endpoint *e) {
  sdbus_conn *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  c->size = e->size;
  c->buf = message_buffer(e->size);
  if (c->buf)
    c->bus = sdbus_open(e, false);
  if (!c->bus) {
    free(c->buf);
    free(c);
    return NULL;
  }
  return c;
}

static int sdbus_call_echo(sdbus_conn *c) {
  sd_bus_message *m = NULL, *reply = NULL;
  sd_bus_error error = SD_BUS_ERROR_NULL;
  const void *bytes;
  size_t len = 0;
  int r = sd_bus_message_new_method_call(c->bus, &m, NULL, SDBUS_PATH, SDBUS_IFACE, "Echo");
  if (r >= 0)
    r = sd_bus_message_append_array(m, 'y', c->buf, c->size);
  if (r >= 0)
    r = sd_bus_call(c->bus, m, sdbus_timeout_us, &error, &reply);
  if (r >= 0)
    r = sd_bus_message_read_array(reply, 'y', &bytes, &len);
  if (r >= 0 && len == c->size)
    memcpy(c->buf, bytes, len);
  sd_bus_message_unref(reply);
  sd_bus_message_unref(m);
  if (r < 0) {
    fail("sd-bus", "calling Echo", error.message ? error.message : strerror(-r));
  } else if (len != c->size) {
    r = fail("sd-bus", "calling Echo", "reply of the wrong size");
  }
  sd_bus_error_free(&error);
  return r < 0 ? -1 : 0;
}

static int sdbus_roundtrips(void *conn, long n) {
  for (long i = 0; i < n; i++) {
    if (sdbus_call_echo(conn) != 0)
      return -1;
  }
  return 0;
}

static void sdbus_disconnect(void *conn) {
  sdbus_conn *c = conn;
  sd_bus_flush_close_unref(c->bus);
  free(c->buf);
  free(c);
}

const ipc_transport ipc_sdbus_pingpong = {
    .name = "sdbus",
    .serve = sdbus_serve,
    .connect = sdbus_connect,
    .exchange = sdbus_roundtrips,
    .disconnect = sdbus_disconnect,
};
#endif /* CMOJO_BENCH_HAVE_SDBUS */

/* ---- nng ------------------------------------------------------------------ */

#ifdef CMOJO_BENCH_HAVE_NNG
static int nngpair_fail(const char *call, int r) {
  return fail("nng", call, nng_strerror(r));
}

static void nngpair_url(const ipc_endpoint *e, char *url, size_t cap) {
  snprintf(url, cap, "ipc://%s", e->path);
}

/* A pair1 socket that gives up after the peer timeout and takes messages of
 * any size (ipc:// caps them at 1 MiB by default). */
static int nngpair_open(nng_socket *s) {
  int r = nng_pair1_open(s);
  if (r != 0)
    return nngpair_fail("nng_pair1_open", r);
  if ((r = nng_socket_set_ms(*s, NNG_OPT_RECVTIMEO, IPC_PEER_TIMEOUT_MS)) != 0 ||
      (r = nng_socket_set_ms(*s, NNG_OPT_SENDTIMEO, IPC_PEER_TIMEOUT_MS)) != 0 ||
      (r = nng_socket_set_size(*s, NNG_OPT_RECVMAXSZ, 0)) != 0) {
    nng_close(*s);
    return nngpair_fail("setting socket options", r);
  }
  return 0;
}

static int nngpair_serve(const ipc_endpoint *e) {
  nng_socket s;
  char url[256];
  uint8_t *buf = malloc(e->size + 1);
  int r;
  if (!buf)
    return -1;
  if (nngpair_open(&s) != 0) {
    free(buf);
    return -1;
  }
  nngpair_url(e, url, sizeof(url));
  if ((r = nng_listen(s, url, NULL, 0)) != 0) {
    nngpair_fail("nng_listen", r);
  } else if ((r = ipc_say_ready(e->fd)) != 0) {
    fail("nng", "saying ready", strerror(errno));
  }
  while (r == 0) {
    size_t len = e->size + 1;
    if ((r = nng_recv(s, buf, &len, 0)) != 0) {
      nngpair_fail("nng_recv", r);
    } else if (len == 0) {
      break;
    } else if ((r = nng_send(s, buf, len, 0)) != 0) {
      nngpair_fail("nng_send", r);
    }
  }
  nng_close(s);
  free(buf);
  return r == 0 ? 0 : -1;
}

typedef struct nngpair_conn {
  nng_socket s;
  int fd;
  size_t size;
  uint8_t *buf;
} nngpair_conn;

static void *nngpair_connect(const ipc_endpoint *e) {
  nngpair_conn *c = calloc(1, sizeof(*c));
  char url[256];
  int r;
  if (!c)
    return NULL;
  c->fd = e->fd;
  c->size = e->size;
  c->buf = message_buffer(e->size);
  if (!c->buf || nngpair_open(&c->s) != 0)
    goto fail_buf;
  nngpair_url(e, url, sizeof(url));
  if (ipc_await_ready(e->fd, IPC_PEER_TIMEOUT_MS) != 0) {
    fail("nng", "waiting for the server", "no word from it");
    goto fail_socket;
  }
  if ((r = nng_dial(c->s, url, NULL, 0)) != 0) {
    nngpair_fail("nng_dial", r);
    goto fail_socket;
  }
  return c;
fail_socket:
  nng_close(c->s);
fail_buf:
  free(c->buf);
  free(c);
  return NULL;
}

static int nngpair_roundtrips(void *conn, long n) {
  nngpair_conn *c = conn;
  for (long i = 0; i < n; i++) {
    size_t len = c->size + 1;
    int r = nng_send(c->s, c->buf, c->size, 0);
    if (r != 0)
      return nngpair_fail("nng_send", r);
    if ((r = nng_recv(c->s, c->buf, &len, 0)) != 0)
      return nngpair_fail("nng_recv", r);
    if (len != c->size)
      return fail("nng", "nng_recv", "reply of the wrong size");
  }
  return 0;
}

static void nngpair_disconnect(void *conn) {
  nngpair_conn *c = conn;
  int r = nng_send(c->s, c->buf, 0, 0);
  if (r != 0) {
    nngpair_fail("sending the end", r);
  } else if (ipc_await_gone(c->fd, IPC_PEER_TIMEOUT_MS) != 0) {
    fail("nng", "waiting for the server to end", "it did not");
  }
  nng_close(c->s);
  close(c->fd);
  free(c->buf);
  free(c);
}

const ipc_transport ipc_nng_pingpong = {
    .name = "nng",
    .serve = nngpair_serve,
    .connect = nngpair_connect,
    .exchange = nngpair_roundtrips,
    .disconnect = nngpair_disconnect,
};
#endif /* CMOJO_BENCH_HAVE_NNG */

/* ---- ZeroMQ --------------------------------------------------------------- */

#ifdef CMOJO_BENCH_HAVE_ZMQ
typedef struct zmqpair_conn {
  void *ctx, *s;
  int fd;
  size_t size;
  uint8_t *buf;
} zmqpair_conn;

static int zmqpair_fail(const char *call) {
  return fail("zmq", call, zmq_strerror(zmq_errno()));
}

static void zmqpair_conn_free(zmqpair_conn *c) {
  if (c->s)
    zmq_close(c->s);
  if (c->ctx)
    zmq_ctx_term(c->ctx);
  free(c->buf);
  free(c);
}

/* A context and a PAIR socket that give up after the peer timeout and do
 * not linger at close (the ending is agreed over the socketpair). */
static zmqpair_conn *zmqpair_conn_new(const ipc_endpoint *e) {
  zmqpair_conn *c = calloc(1, sizeof(*c));
  int timeout = IPC_PEER_TIMEOUT_MS, linger = 0;
  if (!c)
    return NULL;
  c->fd = e->fd;
  c->size = e->size;
  c->buf = message_buffer(e->size);
  if (c->buf && (c->ctx = zmq_ctx_new()) != NULL)
    c->s = zmq_socket(c->ctx, ZMQ_PAIR);
  if (!c->s) {
    zmqpair_fail("creating the socket");
  } else if (zmq_setsockopt(c->s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout)) != 0 ||
             zmq_setsockopt(c->s, ZMQ_SNDTIMEO, &timeout, sizeof(timeout)) != 0 ||
             zmq_setsockopt(c->s, ZMQ_LINGER, &linger, sizeof(linger)) != 0) {
    zmqpair_fail("setting socket options");
  } else {
    return c;
  }
  zmqpair_conn_free(c);
  return NULL;
}

static void zmqpair_url(const ipc_endpoint *e, char *url, size_t cap) {
  snprintf(url, cap, "ipc://%s", e->path);
}

/* Receives one message of exactly `size` bytes, or an empty one when
 * `may_end`; returns its length, or -1. */
static long zmqpair_take(zmqpair_conn *c, bool may_end) {
  int len = zmq_recv(c->s, c->buf, c->size + 1, 0);
  if (len < 0)
    return zmqpair_fail("zmq_recv");
  if ((size_t)len != c->size && !(may_end && len == 0))
    return fail("zmq", "zmq_recv", "message of the wrong size");
  return len;
}

static int zmqpair_serve(const ipc_endpoint *e) {
  zmqpair_conn *c = zmqpair_conn_new(e);
  char url[256];
  long len;
  int r = -1;
  if (!c)
    return -1;
  zmqpair_url(e, url, sizeof(url));
  if (zmq_bind(c->s, url) != 0) {
    zmqpair_fail("zmq_bind");
  } else if (ipc_say_ready(e->fd) != 0) {
    fail("zmq", "saying ready", strerror(errno));
  } else {
    while ((len = zmqpair_take(c, true)) > 0 && zmq_send(c->s, c->buf, (size_t)len, 0) == len) {
    }
    r = len == 0 ? 0 : -1;
    if (len > 0)
      zmqpair_fail("zmq_send");
  }
  zmqpair_conn_free(c);
  return r;
}

static void *zmqpair_connect(const ipc_endpoint *e) {
  zmqpair_conn *c = zmqpair_conn_new(e);
  char url[256];
  if (!c)
    return NULL;
  zmqpair_url(e, url, sizeof(url));
  if (ipc_await_ready(e->fd, IPC_PEER_TIMEOUT_MS) != 0) {
    fail("zmq", "waiting for the server", "no word from it");
  } else if (zmq_connect(c->s, url) != 0) {
    zmqpair_fail("zmq_connect");
  } else {
    return c;
  }
  zmqpair_conn_free(c);
  return NULL;
}

static int zmqpair_roundtrips(void *conn, long n) {
  zmqpair_conn *c = conn;
  for (long i = 0; i < n; i++) {
    if (zmq_send(c->s, c->buf, c->size, 0) != (int)c->size)
      return zmqpair_fail("zmq_send");
    if (zmqpair_take(c, false) < 0)
      return -1;
  }
  return 0;
}

static void zmqpair_disconnect(void *conn) {
  zmqpair_conn *c = conn;
  if (zmq_send(c->s, c->buf, 0, 0) != 0) {
    zmqpair_fail("sending the end");
  } else if (ipc_await_gone(c->fd, IPC_PEER_TIMEOUT_MS) != 0) {
    fail("zmq", "waiting for the server to end", "it did not");
  }
  close(c->fd);
  zmqpair_conn_free(c);
}

const ipc_transport ipc_zmq_pingpong = {
    .name = "zmq",
    .serve = zmqpair_serve,
    .connect = zmqpair_connect,
    .exchange = zmqpair_roundtrips,
    .disconnect = zmqpair_disconnect,
};
#endif /* CMOJO_BENCH_HAVE_ZMQ */
