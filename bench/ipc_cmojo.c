/* cmojo's side of bench_ipc: message pipe round trips and a data pipe
 * stream between two processes, through the Mojo C API only.
 *
 * The client is the broker and invites the server over the endpoint's
 * socketpair (one pipe, "p"). Both sides are driven by traps, the way an
 * application that wants low latency uses cmojo:
 *   - default mode: the message arrives on cmojo's I/O thread, whose trap
 *     handler reads it and writes the answer right there (no hop to another
 *     thread); the main thread only waits for the whole exchange to end;
 *   - embedder mode (cmojo_initialize_embedded): no I/O thread at all; the
 *     main thread polls cmojo_get_fd() and calls cmojo_process(), inside
 *     which the same trap handlers run.
 * The stream sends 64 KiB chunks through a data pipe (4 MiB ring) whose
 * consumer was sent to the server; the server takes each chunk in place
 * (two-phase read) and acknowledges the batch on the pipe. */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmojo/embedder.h"
#include "ipc_transport.h"
#include "mojo/public/c/system/core.h"

enum { kStreamCapacity = 4 * 1024 * 1024 };

/* One side's state; trap handlers get it as their context. */
typedef struct side {
  bool embedded;
  MojoHandle pipe, trap;
  MojoHandle data;      /* producer (client) or consumer (server); stream only */
  MojoHandle data_trap; /* stream only */
  MojoHandle consumer;  /* client: the consumer, until it is sent */
  size_t size;
  long remaining;      /* round trips or bytes still to go */
  uint64_t bytes_left; /* server: stream bytes of the current batch */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool done, failed;
} side;

static void finish(side *s, bool failed) {
  pthread_mutex_lock(&s->mu);
  s->done = true;
  s->failed = s->failed || failed;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* Waits until finish() was called: on the condvar (default mode) or by
 * running cmojo's loop on this thread (embedder mode). -1 on timeout or a
 * failure reported by finish(). */
static int wait_done(side *s) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += IPC_PEER_TIMEOUT_MS / 1000;
  if (s->embedded) {
    struct pollfd p = {.fd = cmojo_get_fd(), .events = POLLIN};
    while (!s->done) {
      if (poll(&p, 1, IPC_PEER_TIMEOUT_MS) <= 0 || cmojo_process() != MOJO_RESULT_OK)
        return -1;
    }
  } else {
    pthread_mutex_lock(&s->mu);
    int r = 0;
    while (!s->done && r == 0)
      r = pthread_cond_timedwait(&s->cv, &s->mu, &deadline);
    pthread_mutex_unlock(&s->mu);
    if (!s->done)
      return -1;
  }
  s->done = false;
  return s->failed ? -1 : 0;
}

static MojoResult arm(MojoHandle trap) {
  return MojoArmTrap(trap, NULL, NULL, NULL);
}

static MojoResult new_message(size_t size, MojoMessageHandle *out) {
  void *buf;
  uint32_t cap;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  MojoResult r = MojoCreateMessage(NULL, out);
  if (r == MOJO_RESULT_OK)
    r = MojoAppendMessageData(*out, (uint32_t)size, NULL, 0, &commit, &buf, &cap);
  if (r == MOJO_RESULT_OK)
    memset(buf, 0x5a, size);
  return r;
}

/* ---- set-up -------------------------------------------------------------- */

static MojoResult init(bool embedded, bool broker) {
  struct MojoInitializeOptions o = {.struct_size = sizeof(o),
                                    .flags = broker ? MOJO_INITIALIZE_FLAG_AS_BROKER : 0};
  return embedded ? cmojo_initialize_embedded(&o) : MojoInitialize(&o);
}

static struct MojoInvitationTransportEndpoint endpoint(struct MojoPlatformHandle *h, int fd) {
  h->struct_size = sizeof(*h);
  h->type = MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR;
  h->value = (uint64_t)fd;
  struct MojoInvitationTransportEndpoint e = {sizeof(e), MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL, 1,
                                              h};
  return e;
}

static side *side_new(bool embedded, size_t size) {
  side *s = calloc(1, sizeof(*s));
  if (!s)
    return NULL;
  s->embedded = embedded;
  s->size = size;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  return s;
}

static int watch(MojoHandle *trap, MojoTrapEventHandler fn, MojoHandle h, MojoHandleSignals sig,
                 side *s) {
  if (MojoCreateTrap(fn, NULL, trap) != MOJO_RESULT_OK ||
      MojoAddTrigger(*trap, h, sig, MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, (uintptr_t)s, NULL) !=
          MOJO_RESULT_OK)
    return -1;
  return 0;
}

/* Client: the broker, inviting the server. */
static side *client_open(const ipc_endpoint *e, bool embedded) {
  side *s = side_new(embedded, e->size);
  MojoHandle inv;
  struct MojoPlatformHandle h;
  struct MojoInvitationTransportEndpoint ep = endpoint(&h, e->fd);
  if (!s || init(embedded, true) != MOJO_RESULT_OK || MojoCreateInvitation(NULL, &inv) ||
      MojoAttachMessagePipeToInvitation(inv, "p", 1, NULL, &s->pipe) ||
      MojoSendInvitation(inv, NULL, &ep, NULL, 0, NULL)) {
    free(s);
    return NULL;
  }
  return s;
}

/* Server: accepts and returns its end of "p". */
static side *server_open(const ipc_endpoint *e, bool embedded) {
  side *s = side_new(embedded, e->size);
  MojoHandle inv;
  struct MojoPlatformHandle h;
  struct MojoInvitationTransportEndpoint ep = endpoint(&h, e->fd);
  if (!s || init(embedded, false) != MOJO_RESULT_OK || MojoAcceptInvitation(&ep, NULL, &inv) ||
      MojoExtractMessagePipeFromInvitation(inv, "p", 1, NULL, &s->pipe)) {
    free(s);
    return NULL;
  }
  MojoClose(inv);
  return s;
}

/* ---- ping-pong ----------------------------------------------------------- */

/* Both sides: each message read is written back, until `remaining` runs out
 * (client) or the peer goes (server). */
static void on_pingpong(const struct MojoTrapEvent *ev) {
  side *s = (side *)ev->trigger_context;
  if (ev->result != MOJO_RESULT_OK) {
    if (ev->result != MOJO_RESULT_CANCELLED)
      finish(s, false); /* the peer closed: the session is over */
    return;
  }
  for (;;) {
    MojoMessageHandle m;
    MojoResult r = MojoReadMessage(s->pipe, NULL, &m);
    if (r == MOJO_RESULT_SHOULD_WAIT)
      break;
    if (r != MOJO_RESULT_OK) {
      finish(s, true);
      return;
    }
    if (s->remaining > 0 && --s->remaining == 0) {
      MojoDestroyMessage(m);
      finish(s, false);
      return;
    }
    if (MojoWriteMessage(s->pipe, m, NULL) != MOJO_RESULT_OK) {
      finish(s, true);
      return;
    }
  }
  if (arm(s->trap) == MOJO_RESULT_FAILED_PRECONDITION)
    on_pingpong(ev); /* readable again meanwhile (or closed) */
}

static int pingpong_serve(const ipc_endpoint *e, bool embedded) {
  side *s = server_open(e, embedded);
  if (!s || watch(&s->trap, on_pingpong, s->pipe, MOJO_HANDLE_SIGNAL_READABLE, s) != 0)
    return -1;
  s->remaining = -1;
  struct MojoTrapEvent first = {.struct_size = sizeof(first), .trigger_context = (uintptr_t)s};
  on_pingpong(&first);
  int r = wait_done(s);
  MojoClose(s->trap);
  MojoClose(s->pipe);
  return r;
}

static void *pingpong_connect(const ipc_endpoint *e, bool embedded) {
  side *s = client_open(e, embedded);
  if (!s || watch(&s->trap, on_pingpong, s->pipe, MOJO_HANDLE_SIGNAL_READABLE, s) != 0)
    return NULL;
  return s;
}

static int pingpong_exchange(void *conn, long n) {
  side *s = conn;
  MojoMessageHandle m;
  s->remaining = n;
  if (new_message(s->size, &m) != MOJO_RESULT_OK || MojoWriteMessage(s->pipe, m, NULL) != 0)
    return -1;
  if (arm(s->trap) == MOJO_RESULT_FAILED_PRECONDITION) {
    struct MojoTrapEvent ev = {.struct_size = sizeof(ev), .trigger_context = (uintptr_t)s};
    on_pingpong(&ev);
  }
  return wait_done(s);
}

static void side_close(void *conn) {
  side *s = conn;
  MojoClose(s->trap);
  MojoClose(s->data_trap);
  MojoClose(s->data);
  MojoClose(s->pipe);
  free(s);
}

static int serve_default(const ipc_endpoint *e) {
  return pingpong_serve(e, false);
}
static int serve_embedded(const ipc_endpoint *e) {
  return pingpong_serve(e, true);
}
static void *connect_default(const ipc_endpoint *e) {
  return pingpong_connect(e, false);
}
static void *connect_embedded(const ipc_endpoint *e) {
  return pingpong_connect(e, true);
}

const ipc_transport ipc_cmojo_pingpong = {
    .name = "cmojo",
    .serve = serve_default,
    .connect = connect_default,
    .exchange = pingpong_exchange,
    .disconnect = side_close,
};

const ipc_transport ipc_cmojo_embedded_pingpong = {
    .name = "cmojo_embedded",
    .serve = serve_embedded,
    .connect = connect_embedded,
    .exchange = pingpong_exchange,
    .disconnect = side_close,
};

/* ---- stream -------------------------------------------------------------- */

/* Server: the first message names the consumer; later messages say how many
 * bytes the next batch has; the consumer's trap takes them and answers. */
static void on_consumer(const struct MojoTrapEvent *ev) {
  side *s = (side *)ev->trigger_context;
  if (ev->result != MOJO_RESULT_OK) {
    if (ev->result != MOJO_RESULT_CANCELLED)
      finish(s, false);
    return;
  }
  while (s->bytes_left > 0) {
    const void *buf;
    uint32_t n;
    MojoResult r = MojoBeginReadData(s->data, NULL, &buf, &n);
    if (r == MOJO_RESULT_SHOULD_WAIT)
      break;
    if (r != MOJO_RESULT_OK || MojoEndReadData(s->data, n, NULL) != MOJO_RESULT_OK) {
      finish(s, true);
      return;
    }
    s->bytes_left = n >= s->bytes_left ? 0 : s->bytes_left - n;
    if (s->bytes_left == 0) {
      MojoMessageHandle ack;
      if (new_message(1, &ack) != MOJO_RESULT_OK || MojoWriteMessage(s->pipe, ack, NULL))
        finish(s, true);
    }
  }
  if (arm(s->data_trap) == MOJO_RESULT_FAILED_PRECONDITION && s->bytes_left > 0)
    on_consumer(ev);
}

static void on_stream_control(const struct MojoTrapEvent *ev) {
  side *s = (side *)ev->trigger_context;
  if (ev->result != MOJO_RESULT_OK) {
    if (ev->result != MOJO_RESULT_CANCELLED)
      finish(s, false);
    return;
  }
  MojoMessageHandle m;
  while (MojoReadMessage(s->pipe, NULL, &m) == MOJO_RESULT_OK) {
    void *buf;
    uint32_t size, nh = 1;
    MojoHandle h = MOJO_HANDLE_INVALID;
    bool ok = MojoGetMessageData(m, NULL, &buf, &size, &h, &nh) == MOJO_RESULT_OK && size == 8;
    if (ok && nh == 1) {
      s->data = h;
      ok = watch(&s->data_trap, on_consumer, h, MOJO_HANDLE_SIGNAL_READABLE, s) == 0;
    }
    if (ok) {
      memcpy(&s->bytes_left, buf, 8);
      struct MojoTrapEvent first = {.struct_size = sizeof(first), .trigger_context = (uintptr_t)s};
      on_consumer(&first);
    }
    MojoDestroyMessage(m);
    if (!ok) {
      finish(s, true);
      return;
    }
  }
  if (arm(s->trap) == MOJO_RESULT_FAILED_PRECONDITION)
    on_stream_control(ev);
}

static int stream_serve(const ipc_endpoint *e) {
  side *s = server_open(e, false);
  if (!s || watch(&s->trap, on_stream_control, s->pipe, MOJO_HANDLE_SIGNAL_READABLE, s) != 0)
    return -1;
  struct MojoTrapEvent first = {.struct_size = sizeof(first), .trigger_context = (uintptr_t)s};
  on_stream_control(&first);
  int r = wait_done(s);
  side_close(s);
  return r;
}

/* Client: tells the batch size, then writes whenever the ring has room;
 * the batch is done when the server's ack arrives. */
static void on_producer(const struct MojoTrapEvent *ev);

static void produce(side *s) {
  static uint8_t chunk[64 * 1024];
  while (s->remaining > 0) {
    void *buf;
    uint32_t n = (uint32_t)s->size;
    MojoResult r = MojoBeginWriteData(s->data, NULL, &buf, &n);
    if (r == MOJO_RESULT_SHOULD_WAIT)
      break;
    if (r != MOJO_RESULT_OK) {
      finish(s, true);
      return;
    }
    if (n > s->size)
      n = (uint32_t)s->size;
    memcpy(buf, chunk, n);
    MojoEndWriteData(s->data, n, NULL);
    s->remaining -= n;
  }
  if (s->remaining > 0 && arm(s->data_trap) == MOJO_RESULT_FAILED_PRECONDITION)
    produce(s);
}

static void on_producer(const struct MojoTrapEvent *ev) {
  side *s = (side *)ev->trigger_context;
  if (ev->result == MOJO_RESULT_OK)
    produce(s);
  else if (ev->result != MOJO_RESULT_CANCELLED)
    finish(s, true);
}

static void on_ack(const struct MojoTrapEvent *ev) {
  side *s = (side *)ev->trigger_context;
  MojoMessageHandle m;
  if (ev->result != MOJO_RESULT_OK) {
    if (ev->result != MOJO_RESULT_CANCELLED)
      finish(s, true);
    return;
  }
  if (MojoReadMessage(s->pipe, NULL, &m) == MOJO_RESULT_OK) {
    MojoDestroyMessage(m);
    finish(s, false);
  } else if (arm(s->trap) == MOJO_RESULT_FAILED_PRECONDITION) {
    on_ack(ev);
  }
}

static void *stream_connect(const ipc_endpoint *e) {
  side *s = client_open(e, false);
  MojoHandle consumer;
  struct MojoCreateDataPipeOptions o = {sizeof(o), 0, 1, kStreamCapacity};
  if (!s || MojoCreateDataPipe(&o, &s->data, &consumer) != MOJO_RESULT_OK ||
      watch(&s->trap, on_ack, s->pipe, MOJO_HANDLE_SIGNAL_READABLE, s) != 0 ||
      watch(&s->data_trap, on_producer, s->data, MOJO_HANDLE_SIGNAL_WRITABLE, s) != 0)
    return NULL;
  /* The consumer travels with the first batch's announcement. */
  s->consumer = consumer;
  return s;
}

static int stream_exchange(void *conn, long n) {
  side *s = conn;
  uint64_t bytes = (uint64_t)n * s->size;
  MojoMessageHandle m;
  void *buf;
  uint32_t cap, nh = s->consumer != MOJO_HANDLE_INVALID;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  if (MojoCreateMessage(NULL, &m) != MOJO_RESULT_OK ||
      MojoAppendMessageData(m, 8, &s->consumer, nh, &commit, &buf, &cap) != MOJO_RESULT_OK)
    return -1;
  s->consumer = MOJO_HANDLE_INVALID;
  memcpy(buf, &bytes, 8);
  s->remaining = (long)bytes;
  if (MojoWriteMessage(s->pipe, m, NULL) != MOJO_RESULT_OK || arm(s->trap) != MOJO_RESULT_OK)
    return -1;
  produce(s);
  return wait_done(s);
}

const ipc_transport ipc_cmojo_stream = {
    .name = "cmojo",
    .serve = stream_serve,
    .connect = stream_connect,
    .exchange = stream_exchange,
    .disconnect = side_close,
};
