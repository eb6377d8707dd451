/* libFuzzer target for the node controller's state machine, end to end
 * (src/core/node_controller*.c, docs/node-protocol.md): a real controller
 * in this process, initialized once in embedder mode as the broker
 * (cmojo_initialize_embedded(AS_BROKER): no I/O thread, everything runs
 * inside cmojo_process(), which this target calls), talks over a socketpair
 * to an "attacker" end that this target drives from the input.
 *
 * Input. Byte 0 is the configuration:
 *   bits 0-1  role of the controller: 0 inviter (non-isolated, so it acts as
 *             the broker of the attacker), 1 invitee (isolated: a broker
 *             accepts no other), 2 inviter of an isolated invitation,
 *             3 inviter over a CHANNEL_SERVER listener the attacker connects
 *             to (non-isolated)
 *   bit 2     non-isolated inviter: attach a second pipe ("p1");
 *             invitee: extract a second name ("p1") besides "\0\0\0\0"
 *   bit 3     raw mode: the rest of the input is cut into chunks, each a
 *             length byte, an fd code and that many bytes, written to the
 *             socket as they are (no framing help); after each chunk the
 *             controller runs
 *   bit 4     honest handshake first: the attacker answers HELLO and the
 *             invitation handshake and connects every pipe, as a well-behaved
 *             peer would, so the script starts with pipes that work
 * Structured mode (bit 3 clear): the rest is a script of steps, each an op
 * byte and the op's arguments (see the ops below). Arguments that run past
 * the end read as zero. Names (node, port, token) are given by a selector
 * byte: < 0xf0 picks a name from the pool of names the attacker has seen or
 * made (the controller's name and token learnt from its frames, every port
 * name in its events, the attacker's own node and ports), 0xf0-0xfe reads 16
 * literal bytes, 0xff is the zero name.
 *
 * Ops (op byte & 0x3f, modulo the count; op >> 6 picks the attacker
 * connection for the messages: 0 the main one, 1-3 channels it got from
 * BROKER_CLIENT_ADDED, its invitations (op 26) or socketpairs it made):
 *    0 settle: run the controller and read its frames until both are idle
 *    1 HELLO (versions, with or without capabilities)   2 GOODBYE
 *    3 ACCEPT_INVITEE  4 ACCEPT_INVITATION  5 ADD_BROKER_CLIENT
 *    6 BROKER_CLIENT_ADDED (with an fd)  7 ACCEPT_BROKER_CLIENT (fd or not)
 *    8 EVENT: a forged ports event (any type, names from the pool) and, for
 *      a user message, a core message (entries of every type, blobs, fds)
 *    9 REQUEST_PORT_MERGE  10 REQUEST_INTRODUCTION  11 INTRODUCE (fd or not)
 *   12 BROADCAST_EVENT  13 ACCEPT_PEER  14 BAD_MESSAGE_REPORT
 *   15 any type around input bytes, with fds  16 raw bytes and fds
 *   17 write on a controller pipe, once or (pipe byte bit 7) 64 times
 *      (payload: a length byte, 0xf0 and above
 *      meaning 64 KiB to 1 MiB; attached handles: a pipe end, a
 *      shared buffer, a wrapped fd, a data pipe end; or a context message
 *      that cannot be serialized)
 *   18 read the controller's pipes (closing what messages carry, or
 *      keeping the pipe ends as more pipes to write on; optionally
 *      MojoNotifyBadMessage)   19 close a controller pipe
 *   20 the attacker's node writes on one of its ports (optionally carrying
 *      a new pipe end, or a port whose peer is on an unknown third node,
 *      or a forged core message)   21 it reads its ports   22 closes one
 *   23 honest merge (request one, or answer the controller's requests)
 *   24 corrupt one byte of the next frame the attacker's node sends
 *   25 shut down or close an attacker connection
 *   26 the controller sends another invitation over a new socketpair
 *   27 the attacker stops (or resumes) reading its connections
 * Every forged message takes a last "tweak" byte: with bit 7 set, one byte
 * of the message is flipped.
 *
 * The attacker has a real ports node of its own (a second cm_node in this
 * process, named ATTACKER_NODE), fed with every event the controller sends
 * on the main connection and whose outgoing events become EVENT frames, so
 * that honest traffic (merges, user messages, closures, read acks) is cheap
 * to reach, and the ops mix it with forged messages and corruptions.
 *
 * Modes (once per process): by default the controller is the broker
 * (MOJO_INITIALIZE_FLAG_AS_BROKER); with CMOJO_FUZZ_NC_NONBROKER=1 it is
 * not, role 1 accepts a non-isolated invitation and the attacker is its
 * inviter and broker (roles 0 and 3 become role 1; see `nonbroker`).
 *
 * Checks (beyond the sanitizers):
 * - every frame the controller writes is a valid transport frame carrying a
 *   node message cm_node_message_parse accepts, and nothing but HELLO and
 *   GOODBYE goes out before the attacker's HELLO;
 * - the process error handler of every invitation sent gets DISCONNECTED
 *   exactly once, as its last call;
 * - once the attacker's end is closed (and the loop idle), every pipe of an
 *   invitation sees PEER_CLOSED;
 * - after each input (attacker end closed, every handle closed, the loop
 *   run until idle) the controller has no peer left and no broker link or
 *   backlog, its node holds as many ports as before the input, and the
 *   process as many fds as before.
 * A failed check prints what differs and aborts (a libFuzzer crash).
 *
 * Names are deterministic (cm_name_set_test_source, a counter restarted for
 * every input), so an input replays exactly. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cm_limits.h"
#include "cmojo/embedder.h"
#include "core/core.h"
#include "core/node_controller_internal.h"
#include "core/node_message.h"
#include "mojo/public/c/system/buffer.h"
#include "mojo/public/c/system/data_pipe.h"
#include "mojo/public/c/system/functions.h"
#include "mojo/public/c/system/invitation.h"
#include "mojo/public/c/system/message_pipe.h"
#include "mojo/public/c/system/platform_handle.h"
#include "ports/ports.h"
#include "ports/ports_internal.h" /* cm_name_set_test_source */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the last inputs reached (the replay test checks its seeds with it). */
typedef struct fuzz_nc_stats {
  size_t frames_from_controller;  /* valid frames the attacker read */
  size_t events_from_controller;  /* EVENT messages among them */
  size_t attacker_user_messages;  /* user messages read on attacker ports */
  size_t controller_user_messages; /* messages read on the controller's pipes */
  size_t goodbyes;                /* GOODBYE from the controller */
  size_t error_handler_calls;     /* process error handler calls */
} fuzz_nc_stats;
static fuzz_nc_stats fuzz_nc_stats_;

#define ATTACKER_NODE ((cm_node_name){0xa77ac3e5, 1})
#define MAX_CONNS 4
#define MAX_POOL 64
#define MAX_PIPES 16
#define MAX_APORTS 16
#define MAX_STEPS 96
#define MAX_FDS 8

/* ---- Input reader --------------------------------------------------------- */

typedef struct reader {
  const uint8_t *p;
  size_t n;
} reader;

static uint8_t rd8(reader *r) {
  if (!r->n)
    return 0;
  r->n--;
  return *r->p++;
}

static uint16_t rd16(reader *r) {
  uint16_t lo = rd8(r);
  return (uint16_t)(lo | (uint16_t)rd8(r) << 8);
}

static uint32_t rd32(reader *r) {
  uint32_t lo = rd16(r);
  return lo | (uint32_t)rd16(r) << 16;
}

static uint64_t rd64(reader *r) {
  uint64_t lo = rd32(r);
  return lo | (uint64_t)rd32(r) << 32;
}

/* Up to `max` bytes (count from the input), copied to out; returns the count. */
static size_t rd_bytes(reader *r, uint8_t *out, size_t count) {
  size_t k = count < r->n ? count : r->n;
  memcpy(out, r->p, k);
  memset(out + k, 0, count - k);
  r->p += k;
  r->n -= k;
  return count;
}

/* ---- Per-input state ------------------------------------------------------ */

typedef struct conn {
  int fd; /* attacker's end, -1 when closed */
  cm_node_name peer_as; /* who the attacker is on it (its node name) */
  bool hello_sent, raw_sent, goodbye_seen;
  uint8_t *rx;
  size_t rx_len, rx_cap;
  int rx_fds[512];
  size_t rx_nfds;
} conn;

typedef struct merge_req { /* a REQUEST_PORT_MERGE from the controller */
  cm_port_name port;
  uint8_t name[8];
  size_t name_len;
  bool done;
} merge_req;

typedef struct nc_state {
  uint8_t config;
  int role; /* 0..3, see the header comment */
  conn c[MAX_CONNS];
  cm_node_name pool[MAX_POOL];
  size_t pool_n;
  bool ctl_known;
  cm_node_name ctl_name, token;
  cm_node *an; /* the attacker's ports node */
  cm_port_ref aports[MAX_APORTS];
  size_t num_aports;
  merge_req merges[4];
  size_t num_merges;
  MojoHandle handles[MAX_PIPES]; /* every handle this input made */
  size_t num_handles;
  MojoHandle pipes[8]; /* the controller's pipes (among handles) */
  bool pipe_of_invitation[8]; /* else received in a message */
  size_t num_pipes;
  int corrupt_at; /* -1, or the byte of the next honest frame to change */
  uint8_t corrupt_xor;
  char sock_path[108];
  int listen_fd; /* role 3: the listener handed to MojoSendInvitation */
  bool stalled;  /* the attacker does not read (the controller queues) */
} nc_state;

static nc_state S;

/* CMOJO_FUZZ_NC_NONBROKER=1 (read once): the controller is initialized
 * without AS_BROKER, and in role 1 accepts a non-isolated invitation, so
 * the attacker is its inviter and (after ACCEPT_BROKER_CLIENT) its broker:
 * the non-broker side of the protocol (broker link, introductions, the
 * backlog, BROKER_CLIENT_ADDED for its own invitees). Roles 0 and 3 become
 * role 1 there (a non-isolated invitation sent first would make this
 * process a broker for good). */
static bool nonbroker;

static uint64_t name_counter;
static uint64_t next_name(void) {
  return ++name_counter;
}

static void pool_add(const cm_name *n) {
  if (!cm_name_is_valid(n))
    return;
  for (size_t i = 0; i < S.pool_n; i++)
    if (cm_name_equal(&S.pool[i], n))
      return;
  if (S.pool_n < MAX_POOL)
    S.pool[S.pool_n++] = *n;
}

static cm_name rd_name(reader *r) {
  uint8_t sel = rd8(r);
  cm_name n = {0, 0};
  if (sel == 0xff)
    return n;
  if (sel >= 0xf0 || S.pool_n == 0) {
    n.v1 = rd64(r);
    n.v2 = rd64(r);
    return n;
  }
  return S.pool[sel % S.pool_n];
}

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* Empties a connection slot (closed, or about to be reused). */
static void conn_clear(conn *c) {
  close_fd(&c->fd);
  for (size_t i = 0; i < c->rx_nfds; i++)
    close(c->rx_fds[i]);
  free(c->rx);
  memset(c, 0, sizeof(*c));
  c->fd = -1;
}

static void die(const char *what) {
  fprintf(stderr, "fuzz_node_controller: %s\n", what);
  abort();
}

/* ---- The controller's loop ------------------------------------------------ */

/* Runs cmojo_process() while its fd says there is work, at most `max` times. */
static void pump_n(int max) {
  for (int i = 0; i < max; i++) {
    struct pollfd p = {.fd = cmojo_get_fd(), .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
      return;
    (void)cmojo_process();
  }
}

static void pump(void) {
  pump_n(64);
}

/* ---- Fds the attacker attaches -------------------------------------------- */

/* One fd of kind code % 6: memfd, sealed memfd (4 KiB), pipe read end,
 * socketpair end, /dev/null, or a socket of a fresh pair whose other end
 * becomes an attacker connection when there is room. -1 on failure. */
static int make_fd(uint8_t code) {
  int fd = -1;
  switch (code % 6) {
    case 0:
    case 1: {
      fd = memfd_create("fuzz_nc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
      if (fd >= 0 && ftruncate(fd, 4096 + 128 * (code % 4)) != 0)
        close_fd(&fd);
      if (fd >= 0 && code % 6 == 1)
        (void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
      break;
    }
    case 2: {
      int p[2];
      if (pipe2(p, O_CLOEXEC) == 0) {
        close(p[1]);
        fd = p[0];
      }
      break;
    }
    case 3:
    case 5: {
      int sv[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
        fd = sv[0];
        bool kept = false;
        if (code % 6 == 5) {
          for (int i = 1; i < MAX_CONNS && !kept; i++) {
            if (S.c[i].fd < 0) {
              conn_clear(&S.c[i]);
              S.c[i].fd = sv[1];
              S.c[i].peer_as = (cm_node_name){0xa77ac3e5, 0x10 + (uint64_t)i};
              kept = true;
            }
          }
        }
        if (!kept)
          close(sv[1]);
      }
      break;
    }
    default:
      fd = open("/dev/null", O_RDWR | O_CLOEXEC);
      break;
  }
  return fd;
}

/* ---- Writing frames ------------------------------------------------------- */

/* Writes bytes[0..n) with fds (closed here whatever happens) in one
 * sendmsg, retrying while the controller drains the socket (bounded). */
static void send_raw(conn *c, const uint8_t *bytes, size_t n, int *fds, size_t nfds) {
  size_t off = 0;
  for (int tries = 0; c->fd >= 0 && off < n && tries < 200; tries++) {
    struct iovec iov = {.iov_base = (void *)(bytes + off), .iov_len = n - off};
    char cbuf[CMSG_SPACE(sizeof(int) * 128)];
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds && off == 0) {
      memset(cbuf, 0, sizeof(cbuf));
      mh.msg_control = cbuf;
      mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
      struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
      memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    ssize_t k = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k > 0) {
      off += (size_t)k;
      continue;
    }
    if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      break; /* the controller closed its end */
    pump();
  }
  for (size_t i = 0; i < nfds; i++)
    close_fd(&fds[i]);
}

/* One transport frame around msg[0..n) with its fds. */
static void send_frame(conn *c, const uint8_t *msg, size_t n, int *fds, size_t nfds) {
  size_t total = 16 + n, wire = (total + 7) & ~(size_t)7;
  uint8_t *f = calloc(1, wire);
  if (!f)
    abort();
  f[0] = (uint8_t)total, f[1] = (uint8_t)(total >> 8), f[2] = (uint8_t)(total >> 16),
  f[3] = (uint8_t)(total >> 24);
  f[4] = 16;
  f[6] = (uint8_t)nfds;
  f[8] = 1;
  memcpy(f + 16, msg, n);
  send_raw(c, f, wire, fds, nfds);
  free(f);
}

static void send_msg(conn *c, cm_node_message_buffer *buf, int *fds, size_t nfds) {
  if (buf->size >= 2) {
    uint16_t type = (uint16_t)(buf->bytes[0] | buf->bytes[1] << 8);
    if (type == CM_NODE_MESSAGE_HELLO)
      c->hello_sent = true;
  }
  send_frame(c, buf->bytes, buf->size, fds, nfds);
}

static void send_hello(conn *c) {
  cm_node_message_buffer b;
  cm_node_message_buffer_init(&b);
  if (cm_node_message_encode_hello(&b, 1, 1, 0) == MOJO_RESULT_OK)
    send_msg(c, &b, NULL, 0);
  cm_node_message_buffer_free(&b);
}

/* ---- The attacker's ports node -------------------------------------------- */

/* A user message payload on the attacker's node: core message bytes + fds. */
typedef struct blob {
  size_t n;
  size_t nfds;
  int fds[MAX_FDS];
  uint8_t bytes[];
} blob;

static void blob_destroy(void *p) {
  blob *b = p;
  if (!b)
    return;
  for (size_t i = 0; i < b->nfds; i++)
    close_fd(&b->fds[i]);
  free(b);
}

static const cm_payload_ops kBlobOps = {.destroy = blob_destroy};

static blob *blob_new(const void *bytes, size_t n) {
  blob *b = calloc(1, sizeof(*b) + n + 1);
  if (!b)
    abort();
  b->n = n;
  if (n)
    memcpy(b->bytes, bytes, n);
  return b;
}

static void an_forward(void *context, const cm_node_name *to, cm_event *ev) {
  (void)context;
  if (!S.ctl_known || !cm_name_equal(to, &S.ctl_name)) {
    cm_event_destroy(ev);
    cm_node_lost_connection_to_node(S.an, to);
    return;
  }
  size_t evn = cm_event_serialized_size(ev);
  bool user = cm_event_get_type(ev) == CM_EVENT_USER_MESSAGE;
  blob *b = user ? cm_event_payload(ev) : NULL;
  uint8_t empty[16] = {0, 0, 0, 0, 16, 0, 0, 0};
  const uint8_t *pay = b ? b->bytes : user ? empty : NULL;
  size_t payn = b ? b->n : user ? sizeof(empty) : 0;
  uint32_t handles = payn >= 4 ? (uint32_t)(pay[0] | pay[1] << 8 | pay[2] << 16 | (uint32_t)pay[3] << 24) : 0;
  int fds[MAX_FDS];
  size_t nfds = 0;
  if (b) {
    for (size_t i = 0; i < b->nfds; i++)
      fds[nfds++] = b->fds[i];
    b->nfds = 0;
  }
  cm_node_message_buffer buf;
  cm_node_message_buffer_init(&buf);
  void *ev_at = NULL, *pay_at = NULL;
  if (cm_node_message_encode_event(&buf, evn, payn, handles, nfds, &ev_at, &pay_at) ==
      MOJO_RESULT_OK) {
    cm_event_serialize(ev, ev_at);
    if (payn)
      memcpy(pay_at, pay, payn);
    if (S.corrupt_at >= 0) {
      buf.bytes[(size_t)S.corrupt_at % buf.size] ^= S.corrupt_xor ? S.corrupt_xor : 1;
      S.corrupt_at = -1;
    }
    send_msg(&S.c[0], &buf, fds, nfds);
  } else {
    for (size_t i = 0; i < nfds; i++)
      close_fd(&fds[i]);
  }
  cm_node_message_buffer_free(&buf);
  cm_event_destroy(ev);
}

static void an_broadcast(void *context, cm_event *ev) {
  (void)context;
  /* Honest: broadcasts go to the broker only (the controller when it
   * invited non-isolated as the broker, or nobody when the attacker is the
   * controller's broker, or there is none). */
  if (nonbroker || S.role == 1 || S.role == 2) {
    cm_event_destroy(ev);
    return;
  }
  size_t n = cm_event_serialized_size(ev);
  uint8_t *e = malloc(n);
  if (!e)
    abort();
  cm_event_serialize(ev, e);
  cm_event_destroy(ev);
  cm_node_message_buffer buf;
  cm_node_message_buffer_init(&buf);
  cm_node_name me = ATTACKER_NODE;
  if (cm_node_message_encode_broadcast_event(&buf, &me, e, n) == MOJO_RESULT_OK)
    send_msg(&S.c[0], &buf, NULL, 0);
  cm_node_message_buffer_free(&buf);
  free(e);
}

static void an_status(void *context, const cm_port_ref *port) {
  (void)context;
  (void)port;
}

static void aport_add(cm_port_ref *ref) {
  pool_add(&ref->name);
  if (S.num_aports < MAX_APORTS) {
    S.aports[S.num_aports++] = *ref;
  } else {
    cm_node_close_port(S.an, ref);
    cm_port_ref_release(ref);
  }
}

/* ---- Reading the controller's frames -------------------------------------- */

static void learn_event_names(const uint8_t *ev, size_t n) {
  cm_name a;
  if (n >= 40) {
    memcpy(&a, ev + 8, 16);
    pool_add(&a);
    memcpy(&a, ev + 24, 16);
    pool_add(&a);
  }
  uint32_t type = ev[0] | ev[1] << 8 | ev[2] << 16 | (uint32_t)ev[3] << 24;
  if (type == CM_EVENT_MERGE_PORT && n >= 64) {
    memcpy(&a, ev + 48, 16);
    pool_add(&a);
  }
}

/* A message the controller sent on connection c. */
static void on_controller_message(conn *c, const cm_node_message *m, int *fds, size_t nfds) {
  bool main = c == &S.c[0];
  fuzz_nc_stats_.frames_from_controller++;
  if (!c->hello_sent && !c->raw_sent && m->type != CM_NODE_MESSAGE_HELLO &&
      m->type != CM_NODE_MESSAGE_GOODBYE) {
    fprintf(stderr, "controller sent %s before the peer's HELLO\n",
            cm_node_message_type_name(m->type));
    die("protocol violation by the controller");
  }
  switch (m->type) {
    case CM_NODE_MESSAGE_GOODBYE:
      c->goodbye_seen = true;
      fuzz_nc_stats_.goodbyes++;
      if (getenv("CMOJO_FUZZ_NC_VERBOSE"))
        fprintf(stderr, "fuzz_node_controller: GOODBYE on connection %d: %.*s\n",
                (int)(c - S.c), (int)m->u.goodbye.text_num_bytes, m->u.goodbye.text);
      break;
    case CM_NODE_MESSAGE_ACCEPT_INVITEE:
      if (main && !S.ctl_known) {
        S.ctl_known = true;
        S.ctl_name = m->u.accept_invitee.inviter_name;
        S.token = m->u.accept_invitee.token;
      }
      pool_add(&m->u.accept_invitee.inviter_name);
      pool_add(&m->u.accept_invitee.token);
      break;
    case CM_NODE_MESSAGE_ACCEPT_INVITATION:
      if (main && !S.ctl_known) {
        S.ctl_known = true;
        S.ctl_name = m->u.accept_invitation.invitee_name;
      }
      pool_add(&m->u.accept_invitation.invitee_name);
      break;
    case CM_NODE_MESSAGE_REQUEST_PORT_MERGE:
      pool_add(&m->u.request_port_merge.port_name);
      if (main && S.num_merges < 4) {
        merge_req *q = &S.merges[S.num_merges++];
        q->port = m->u.request_port_merge.port_name;
        q->name_len = m->u.request_port_merge.name_num_bytes < 8
                          ? m->u.request_port_merge.name_num_bytes
                          : 8;
        memcpy(q->name, m->u.request_port_merge.name, q->name_len);
        q->done = false;
      }
      break;
    case CM_NODE_MESSAGE_BROKER_CLIENT_ADDED:
      /* The client's end of a channel to the controller: the attacker may
       * talk on it as that client. (INTRODUCE's fds are ends of a pair
       * between two attacker connections: nothing of the controller's is
       * behind them, so they are closed below.) */
      for (int i = 1; i < MAX_CONNS && nfds; i++) {
        if (S.c[i].fd < 0) {
          conn_clear(&S.c[i]);
          S.c[i].fd = fds[0];
          S.c[i].peer_as = m->u.broker_client_added.client_name;
          fds[0] = -1;
          break;
        }
      }
      break;
    case CM_NODE_MESSAGE_EVENT: {
      fuzz_nc_stats_.events_from_controller++;
      learn_event_names(m->u.event.event, m->u.event.event_num_bytes);
      if (!main || !S.ctl_known || !S.an)
        break;
      cm_event *ev = NULL;
      size_t used = 0;
      if (cm_event_deserialize(m->u.event.event, m->u.event.event_num_bytes, &ev, &used) !=
          MOJO_RESULT_OK)
        die("controller sent an event that does not deserialize");
      if (used != m->u.event.event_num_bytes)
        die("controller sent an event with trailing bytes");
      if (cm_event_get_type(ev) == CM_EVENT_USER_MESSAGE) {
        blob *b = blob_new(m->u.event.payload, m->u.event.payload_num_bytes);
        for (size_t i = 0; i < nfds && i < MAX_FDS; i++) {
          b->fds[b->nfds++] = fds[i];
          fds[i] = -1;
        }
        cm_event_set_payload(ev, b, &kBlobOps, b->n);
        for (size_t i = 0; i < cm_event_num_ports(ev); i++)
          pool_add(&cm_event_ports(ev)[i]);
      }
      (void)cm_node_accept_event(S.an, &S.ctl_name, ev);
      break;
    }
    case CM_NODE_MESSAGE_BROADCAST_EVENT: {
      if (!main || !S.ctl_known || !S.an)
        break;
      cm_event *ev = NULL;
      size_t used = 0;
      if (cm_event_deserialize(m->u.broadcast_event.event, m->u.broadcast_event.event_num_bytes,
                               &ev, &used) != MOJO_RESULT_OK)
        die("controller sent a broadcast that does not deserialize");
      (void)cm_node_accept_event(S.an, &m->u.broadcast_event.origin, ev);
      break;
    }
    default:
      break;
  }
  for (size_t i = 0; i < nfds; i++)
    close_fd(&fds[i]);
}

/* Reads what connection c has (without waiting) and handles whole frames. */
static bool drain_conn(conn *c) {
  bool progress = false;
  for (int rounds = 0; c->fd >= 0 && rounds < 64; rounds++) {
    if (c->rx_cap - c->rx_len < 65536) {
      size_t cap = c->rx_cap ? c->rx_cap * 2 : 131072;
      uint8_t *nb = realloc(c->rx, cap);
      if (!nb)
        abort();
      c->rx = nb;
      c->rx_cap = cap;
    }
    char cbuf[CMSG_SPACE(sizeof(int) * 253)];
    struct iovec iov = {.iov_base = c->rx + c->rx_len, .iov_len = c->rx_cap - c->rx_len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                        .msg_controllen = sizeof(cbuf)};
    ssize_t k = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (k <= 0)
      break;
    progress = true;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
      if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
        continue;
      size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int *in = (int *)CMSG_DATA(cm);
      for (size_t i = 0; i < count; i++) {
        if (c->rx_nfds < sizeof(c->rx_fds) / sizeof(c->rx_fds[0]))
          c->rx_fds[c->rx_nfds++] = in[i];
        else
          close(in[i]);
      }
    }
    c->rx_len += (size_t)k;
    /* Whole frames. */
    size_t at = 0;
    while (c->rx_len - at >= 16) {
      const uint8_t *h = c->rx + at;
      size_t total = h[0] | h[1] << 8 | h[2] << 16 | (size_t)h[3] << 24;
      size_t hb = h[4] | h[5] << 8, nh = h[6] | h[7] << 8;
      if (hb != 16 || total < hb || h[8] != 1 || h[9] != 0 || nh > 253 ||
          total > CM_MAX_FRAME_PAYLOAD_BYTES)
        die("controller wrote a malformed frame header");
      for (int i = 10; i < 16; i++)
        if (h[i])
          die("controller wrote nonzero reserved frame bytes");
      size_t wire = (total + 7) & ~(size_t)7;
      if (c->rx_len - at < wire)
        break;
      for (size_t i = total; i < wire; i++)
        if (h[i])
          die("controller wrote nonzero frame padding");
      if (c->rx_nfds < nh)
        die("controller's frame announces more fds than it sent");
      int fds[253];
      memcpy(fds, c->rx_fds, nh * sizeof(int));
      memmove(c->rx_fds, c->rx_fds + nh, (c->rx_nfds - nh) * sizeof(int));
      c->rx_nfds -= nh;
      cm_node_message m;
      cm_node_message_error e = cm_node_message_parse(h + 16, total - 16, nh, &m);
      if (e != CM_NODE_MESSAGE_OK) {
        fprintf(stderr, "parse: %s\n", cm_node_message_error_string(e));
        die("controller wrote a node message its own parser refuses");
      }
      on_controller_message(c, &m, fds, nh);
      at += wire;
    }
    memmove(c->rx, c->rx + at, c->rx_len - at);
    c->rx_len -= at;
  }
  return progress;
}

/* Runs the controller and reads its frames until neither has anything to
 * do (bounded). */
static void settle(void) {
  for (int i = 0; i < 16; i++) {
    pump();
    bool progress = false;
    for (int k = 0; k < MAX_CONNS && !S.stalled; k++)
      progress |= drain_conn(&S.c[k]);
    if (!progress) {
      struct pollfd p = {.fd = cmojo_get_fd(), .events = POLLIN};
      if (poll(&p, 1, 0) <= 0)
        return;
    }
  }
}

/* ---- Honest attacker behaviour -------------------------------------------- */

static const uint8_t kIsolatedName[4] = {0, 0, 0, 0};

static void pipe_name(int i, const uint8_t **name, size_t *n) {
  static const uint8_t names[2][2] = {{'p', '0'}, {'p', '1'}};
  if (i == 0 && (S.role == 1 || S.role == 2)) {
    *name = kIsolatedName;
    *n = 4;
  } else {
    *name = names[i & 1];
    *n = 2;
  }
}

/* Invitee side: asks the controller to merge pipe `i` with a new port. */
static void honest_request_merge(int i) {
  if (!S.ctl_known || !S.an)
    return;
  cm_port_ref x, y;
  if (cm_node_create_port_pair(S.an, &x, &y) != MOJO_RESULT_OK)
    return;
  cm_node_allow_port_merge(S.an, &x, &S.ctl_name);
  const uint8_t *name;
  size_t n;
  pipe_name(i, &name, &n);
  cm_node_message_buffer b;
  cm_node_message_buffer_init(&b);
  if (cm_node_message_encode_request_port_merge(&b, &x.name, name, n) == MOJO_RESULT_OK)
    send_msg(&S.c[0], &b, NULL, 0);
  cm_node_message_buffer_free(&b);
  pool_add(&x.name);
  aport_add(&x); /* kept so that it can be closed; merged away when it works */
  aport_add(&y);
}

/* Inviter side: merges a port of ours with each port the controller asked
 * for (a known name), or with a fresh one closed at once (unknown). */
static void honest_answer_merges(void) {
  for (size_t i = 0; i < S.num_merges; i++) {
    merge_req *q = &S.merges[i];
    if (q->done || !S.ctl_known || !S.an)
      continue;
    q->done = true;
    cm_port_ref r, mine;
    if (cm_node_create_port_pair(S.an, &r, &mine) != MOJO_RESULT_OK)
      continue;
    cm_node_merge_ports(S.an, &r, &S.ctl_name, &q->port);
    cm_port_ref_release(&r);
    aport_add(&mine);
  }
}

static void honest_handshake(void) {
  cm_node_message_buffer b;
  cm_node_message_buffer_init(&b);
  send_hello(&S.c[0]);
  settle();
  cm_node_name me = ATTACKER_NODE;
  if (S.role == 1) {
    /* We invite the controller: ACCEPT_INVITEE(us, token). */
    cm_node_name token = {0x70c3e, 0x1};
    S.ctl_known = false;
    if (cm_node_message_encode_accept_invitee(&b, &me, &token) == MOJO_RESULT_OK)
      send_msg(&S.c[0], &b, NULL, 0);
    settle();
    honest_answer_merges();
    if (nonbroker && !(S.config & 32)) {
      /* The attacker is the broker itself: no channel. */
      settle();
      if (cm_node_message_encode_accept_broker_client(&b, &me, false) == MOJO_RESULT_OK)
        send_msg(&S.c[0], &b, NULL, 0);
    }
  } else if (S.ctl_known) {
    if (cm_node_message_encode_accept_invitation(&b, &S.token, &me) == MOJO_RESULT_OK)
      send_msg(&S.c[0], &b, NULL, 0);
    settle();
    int pipes = (S.role == 0 || S.role == 3) && (S.config & 4) ? 2 : 1;
    for (int i = 0; i < pipes; i++)
      honest_request_merge(i);
  }
  settle();
  cm_node_message_buffer_free(&b);
}

/* ---- Building forged messages --------------------------------------------- */

typedef struct out {
  uint8_t b[8192];
  size_t n;
} out;

static void put(out *o, const void *p, size_t n) {
  if (o->n + n > sizeof(o->b))
    n = sizeof(o->b) - o->n;
  memcpy(o->b + o->n, p, n);
  o->n += n;
}

static void put32(out *o, uint32_t v) {
  put(o, &v, 4);
}

static void put64(out *o, uint64_t v) {
  put(o, &v, 8);
}

static void put_name(out *o, cm_name n) {
  put64(o, n.v1);
  put64(o, n.v2);
}

static uint64_t small_seq(reader *r) {
  uint8_t b = rd8(r);
  if (b == 0xff)
    return UINT64_MAX;
  if (b == 0xfe)
    return rd64(r);
  return b;
}

/* A ports event (docs/ports.md, "Wire format"), names from the pool. */
static void build_event(reader *r, out *o, bool allow_user) {
  uint32_t type = rd8(r) % 9;
  if (!allow_user && type == 0)
    type = 2;
  put32(o, type);
  put32(o, 0);
  put_name(o, rd_name(r));
  put_name(o, rd_name(r));
  put64(o, small_seq(r));
  switch (type) {
    case 0: {
      put64(o, small_seq(r));
      uint32_t n = rd8(r) % 3;
      put32(o, n);
      put32(o, 0);
      for (uint32_t i = 0; i < n; i++) {
        for (int k = 0; k < 4; k++)
          put_name(o, rd_name(r));
        put64(o, small_seq(r));
        put64(o, small_seq(r));
        put64(o, small_seq(r));
        put64(o, rd8(r) & 1);
      }
      for (uint32_t i = 0; i < n; i++)
        put_name(o, rd_name(r));
      break;
    }
    case 2:
    case 8:
      for (int k = 0; k < (type == 2 ? 4 : 2); k++)
        put_name(o, rd_name(r));
      break;
    case 3:
    case 4:
    case 6:
    case 7:
      put64(o, small_seq(r));
      break;
    case 5:
      put_name(o, rd_name(r));
      for (int k = 0; k < 4; k++)
        put_name(o, rd_name(r));
      put64(o, small_seq(r));
      put64(o, small_seq(r));
      put64(o, small_seq(r));
      put64(o, rd8(r) & 1);
      break;
    default:
      break;
  }
}

/* A core message (docs/message-format.md): entries of fuzz-chosen types,
 * blobs from the input, then a payload. Adds the fds it wants to fds[]. */
static void build_core(reader *r, out *o, int *fds, size_t *nfds, uint32_t *num_handles) {
  uint8_t mode = rd8(r);
  uint32_t d = (mode >> 2) % 4;
  size_t start = o->n;
  if (mode % 4 == 3) { /* raw bytes */
    uint8_t len = rd8(r);
    uint8_t tmp[256];
    rd_bytes(r, tmp, len);
    put(o, tmp, len);
    *num_handles = d;
    return;
  }
  put32(o, d);
  put32(o, 0); /* header bytes, patched below */
  put32(o, 0); /* payload bytes, patched below */
  put32(o, 0);
  uint32_t types[4], sizes[4];
  for (uint32_t i = 0; i < d; i++) {
    uint8_t t = rd8(r);
    uint32_t type = t % 5 + 1, size = 0, ports = 0, handles = 0;
    switch (type) {
      case 1: ports = 1; break;
      case 2: case 3: size = 40; ports = 1; handles = 1; break;
      case 4: size = 32; handles = (t >> 3) & 1 ? 2 : 1; break;
      default: handles = 1; break;
    }
    if (t & 0x80)
      size = rd8(r); /* a wrong shape now and then */
    types[i] = type;
    sizes[i] = size;
    put32(o, type);
    put32(o, size);
    put32(o, ports);
    put32(o, handles);
    for (uint32_t k = 0; k < handles && *nfds < MAX_FDS; k++) {
      int fd = make_fd(rd8(r));
      if (fd >= 0)
        fds[(*nfds)++] = fd;
    }
  }
  for (uint32_t i = 0; i < d; i++) {
    uint8_t blob_bytes[264] = {0};
    size_t padded = (sizes[i] + 7) & ~(size_t)7;
    if (types[i] == 2 || types[i] == 3) { /* a plausible ring */
      uint32_t f[4] = {1, 4096, rd8(r), rd8(r)};
      memcpy(blob_bytes, f, 16);
      blob_bytes[16] = 1;
      blob_bytes[32] = rd8(r) & 3;
    } else if (types[i] == 4) {
      uint64_t nb = 1 + rd16(r);
      memcpy(blob_bytes, &nb, 8);
      blob_bytes[8] = 1;
      blob_bytes[24] = rd8(r) % 4;
    } else {
      rd_bytes(r, blob_bytes, sizes[i] < 264 ? sizes[i] : 264);
    }
    put(o, blob_bytes, padded < 264 ? padded : 264);
  }
  uint32_t header = (uint32_t)(o->n - start);
  uint8_t plen = rd8(r);
  uint8_t tmp[256];
  rd_bytes(r, tmp, plen);
  put(o, tmp, plen);
  if (o->n - start >= 12) {
    memcpy(o->b + start + 4, &header, 4);
    uint32_t p = plen;
    memcpy(o->b + start + 8, &p, 4);
  }
  *num_handles = d;
}

/* Sends a forged node message on connection c: a 16-byte header (type,
 * fds) around `body` and `tail`; tweak (op argument) may break it. */
static void send_forged(conn *c, uint16_t type, const out *body, const out *tail, int *fds,
                        size_t nfds, uint8_t tweak) {
  out m;
  m.n = 0;
  uint8_t h[16] = {0};
  h[0] = (uint8_t)type, h[1] = (uint8_t)(type >> 8);
  h[4] = 16;
  h[6] = (uint8_t)nfds;
  uint32_t bb = (uint32_t)body->n;
  memcpy(h + 8, &bb, 4);
  put(&m, h, 16);
  put(&m, body->b, body->n);
  if (tail)
    put(&m, tail->b, tail->n);
  if (tweak & 0x80) /* flip one byte */
    m.b[(tweak & 0x3f) % m.n] ^= (uint8_t)(1u << (tweak & 7));
  if (type == CM_NODE_MESSAGE_HELLO)
    c->hello_sent = true;
  send_frame(c, m.b, m.n, fds, nfds);
}

/* ---- Controller API ------------------------------------------------------- */

static void track(MojoHandle h) {
  if (h == MOJO_HANDLE_INVALID)
    return;
  if (S.num_handles < MAX_PIPES)
    S.handles[S.num_handles++] = h;
  else
    MojoClose(h);
}

static void add_pipe(MojoHandle h, bool of_invitation) {
  if (S.num_pipes < 8) {
    S.pipe_of_invitation[S.num_pipes] = of_invitation;
    S.pipes[S.num_pipes++] = h;
  }
}

static void untrack(MojoHandle h) {
  for (size_t i = 0; i < S.num_handles; i++)
    if (S.handles[i] == h)
      S.handles[i] = MOJO_HANDLE_INVALID;
  for (size_t i = 0; i < S.num_pipes; i++)
    if (S.pipes[i] == h)
      S.pipes[i] = MOJO_HANDLE_INVALID;
}

/* Per invitation sent (the handler's context is its index): the handler
 * must be told DISCONNECTED exactly once, as its last call
 * (docs/processes.md, "Errors and bad messages"). */
#define MAX_INVITATIONS 8
static struct {
  size_t sent;
  bool disconnected[MAX_INVITATIONS];
} invs;

static void on_process_error(uintptr_t context, const struct MojoProcessErrorDetails *details) {
  fuzz_nc_stats_.error_handler_calls++;
  if (context >= invs.sent)
    die("error handler called with a context no invitation was sent with");
  if (invs.disconnected[context])
    die("error handler called after DISCONNECTED");
  if (details->flags & MOJO_PROCESS_ERROR_FLAG_DISCONNECTED)
    invs.disconnected[context] = true;
}

/* Sends with the next handler context; OK or the API's failure. */
static MojoResult send_invitation_checked(MojoHandle inv,
                                          const struct MojoPlatformProcessHandle *pid,
                                          const struct MojoInvitationTransportEndpoint *ep,
                                          const struct MojoSendInvitationOptions *so) {
  if (invs.sent == MAX_INVITATIONS)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  uintptr_t ctx = invs.sent++;
  invs.disconnected[ctx] = false;
  MojoResult r = MojoSendInvitation(inv, pid, ep, on_process_error, ctx, so);
  if (r != MOJO_RESULT_OK)
    invs.disconnected[ctx] = true; /* never sent: nothing to expect */
  return r;
}

/* A handle to send along: a pipe end, a shared buffer, a wrapped fd, a data
 * pipe consumer (the other ends are tracked and closed at the end). */
static MojoHandle make_attachment(uint8_t kind) {
  MojoHandle a = MOJO_HANDLE_INVALID, b = MOJO_HANDLE_INVALID;
  switch (kind % 4) {
    case 0:
      if (MojoCreateMessagePipe(NULL, &a, &b) == MOJO_RESULT_OK)
        track(b);
      break;
    case 1:
      (void)MojoCreateSharedBuffer(4096, NULL, &a);
      break;
    case 2: {
      int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      struct MojoPlatformHandle ph = {.struct_size = sizeof(ph),
                                      .type = MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR,
                                      .value = (uint64_t)fd};
      if (fd >= 0 && MojoWrapPlatformHandle(&ph, NULL, &a) != MOJO_RESULT_OK) {
        close(fd);
        a = MOJO_HANDLE_INVALID;
      }
      break;
    }
    default:
      if (MojoCreateDataPipe(NULL, &b, &a) == MOJO_RESULT_OK)
        track(b);
      break;
  }
  return a;
}

static void api_write_one(uint8_t which, uint8_t len, uint8_t att);

/* which bit 7: the same message 64 times (a connection that is not active
 * yet holds at most 4096 frames). */
static void api_write(reader *r) {
  uint8_t which = rd8(r), len = rd8(r), att = rd8(r);
  if (which & 0x80 && len >= 0xf0)
    len = 0xef; /* not 64 large ones */
  for (int i = 0; i < (which & 0x80 ? 64 : 1); i++)
    api_write_one(which, len, att);
}

static void api_write_one(uint8_t which, uint8_t len, uint8_t att) {
  if (!S.num_pipes)
    return;
  MojoHandle pipe = S.pipes[which % S.num_pipes];
  MojoMessageHandle msg;
  if (MojoCreateMessage(NULL, &msg) != MOJO_RESULT_OK)
    return;
  if ((att & 0x3c) == 0x3c) {
    /* A message with a context and no serializer: it cannot leave the
     * process, so the controller sends a stand-in (fallback_message). */
    if (MojoSetMessageContext(msg, 0x5eed, NULL, NULL, NULL) != MOJO_RESULT_OK) {
      MojoDestroyMessage(msg);
      return;
    }
    (void)MojoWriteMessage(pipe, msg, NULL);
    return;
  }
  MojoHandle hs[2];
  uint32_t nh = 0;
  for (int i = 0; i < (att >> 6); i++) {
    MojoHandle h = make_attachment((uint8_t)(att >> (2 * i)));
    if (h != MOJO_HANDLE_INVALID)
      hs[nh++] = h;
    if (nh == 2)
      break;
  }
  void *buf = NULL;
  uint32_t cap = 0;
  /* 0xf0 and above: 64 KiB to 1 MiB, more than the socket takes at once. */
  uint32_t size = len >= 0xf0 ? (uint32_t)(len - 0xef) << 16 : len;
  struct MojoAppendMessageDataOptions opts = {.struct_size = sizeof(opts),
                                              .flags = MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  if (MojoAppendMessageData(msg, size, nh ? hs : NULL, nh, &opts, &buf, &cap) == MOJO_RESULT_OK) {
    if (buf && size)
      memset(buf, 0x5a, size);
  } else {
    for (uint32_t i = 0; i < nh; i++)
      MojoClose(hs[i]);
  }
  MojoResult wr = MojoWriteMessage(pipe, msg, NULL); /* consumes msg, whatever it returns */
  if (getenv("CMOJO_FUZZ_NC_VERBOSE"))
    fprintf(stderr, "fuzz_node_controller: write on handle %u: %d\n", (unsigned)pipe, (int)wr);
}

static void api_read(reader *r) {
  uint8_t flags = rd8(r);
  for (size_t i = 0; i < S.num_pipes; i++) {
    for (int k = 0; k < 8 && S.pipes[i] != MOJO_HANDLE_INVALID; k++) {
      MojoMessageHandle msg;
      if (MojoReadMessage(S.pipes[i], NULL, &msg) != MOJO_RESULT_OK)
        break;
      fuzz_nc_stats_.controller_user_messages++;
      void *buf;
      uint32_t n = 0, nh = 0;
      MojoResult rv = MojoGetMessageData(msg, NULL, &buf, &n, NULL, &nh);
      if (rv == MOJO_RESULT_RESOURCE_EXHAUSTED && nh <= 64) {
        MojoHandle hs[64];
        if (MojoGetMessageData(msg, NULL, &buf, &n, hs, &nh) == MOJO_RESULT_OK) {
          for (uint32_t j = 0; j < nh; j++) {
            /* flags bit 1: keep the handles (pipe ends become pipes the
             * script can write on; the rest is closed at the end). */
            if ((flags & 2) && S.num_handles < MAX_PIPES) {
              track(hs[j]);
              add_pipe(hs[j], false);
            } else {
              MojoClose(hs[j]);
            }
          }
        }
      }
      if (flags & 1)
        (void)MojoNotifyBadMessage(msg, "fuzz", 4, NULL);
      MojoDestroyMessage(msg);
    }
  }
}

static void api_close(reader *r) {
  uint8_t which = rd8(r);
  if (!S.num_pipes)
    return;
  MojoHandle h = S.pipes[which % S.num_pipes];
  if (h != MOJO_HANDLE_INVALID) {
    MojoClose(h);
    untrack(h);
  }
}

/* ---- Attacker ports ops --------------------------------------------------- */

static void attacker_write(reader *r) {
  uint8_t which = rd8(r), opt = rd8(r);
  if (!S.num_aports || !S.an)
    return;
  cm_port_ref *port = &S.aports[which % S.num_aports];
  out core;
  core.n = 0;
  int fds[MAX_FDS];
  size_t nfds = 0;
  uint32_t nh = 0;
  size_t carry = 0;
  bool has_y = false;
  cm_port_ref x, y;
  if ((opt & 1) && cm_node_create_port_pair(S.an, &x, &y) == MOJO_RESULT_OK) {
    carry = 1;
    has_y = true;
  } else if (opt & 4) {
    /* A port whose peer lives on a node the controller has never heard of
     * (a third process, as far as it can tell). */
    cm_node_name z = rd_name(r);
    cm_port_name pz = rd_name(r);
    if (!cm_name_is_valid(&z))
      z = (cm_node_name){0x2e40, 1};
    if (!cm_name_is_valid(&pz))
      pz = (cm_port_name){0x2e40, 2};
    if (cm_node_create_uninitialized_port(S.an, &x) == MOJO_RESULT_OK) {
      if (cm_node_initialize_port(S.an, &x, &z, &pz) == MOJO_RESULT_OK) {
        carry = 1;
      } else {
        cm_node_close_port(S.an, &x);
        cm_port_ref_release(&x);
      }
    }
  }
  if (opt & 2) {
    build_core(r, &core, fds, &nfds, &nh);
  } else {
    /* A valid message: the carried port as a pipe entry, a payload. */
    uint32_t hdr[4] = {(uint32_t)carry, 16 + 16 * (uint32_t)carry, opt >> 4, 0};
    put(&core, hdr, 16);
    if (carry) {
      uint32_t e[4] = {1, 0, 1, 0};
      put(&core, e, 16);
    }
    uint8_t pay[16];
    memset(pay, 0xa5, sizeof(pay));
    put(&core, pay, opt >> 4);
  }
  blob *b = blob_new(core.b, core.n);
  for (size_t i = 0; i < nfds; i++)
    b->fds[b->nfds++] = fds[i];
  cm_event *ev = cm_event_user_message_create(b, &kBlobOps, b->n, carry);
  if (!ev) {
    if (carry) {
      cm_node_close_port(S.an, &x);
      cm_port_ref_release(&x);
    }
    if (has_y) {
      cm_node_close_port(S.an, &y);
      cm_port_ref_release(&y);
    }
    return;
  }
  if (carry) {
    cm_event_ports(ev)[0] = x.name;
    cm_port_ref_release(&x);
    if (has_y)
      aport_add(&y);
  }
  (void)cm_node_send_user_message(S.an, port, ev);
}

static void attacker_read(reader *r) {
  (void)r;
  for (size_t i = 0; i < S.num_aports && S.an; i++) {
    for (int k = 0; k < 8; k++) {
      cm_event *ev = NULL;
      if (cm_node_get_message(S.an, &S.aports[i], &ev) != MOJO_RESULT_OK)
        break;
      fuzz_nc_stats_.attacker_user_messages++;
      for (size_t j = 0; j < cm_event_num_ports(ev); j++) {
        cm_port_ref p;
        if (cm_node_get_port(S.an, &cm_event_ports(ev)[j], &p) == MOJO_RESULT_OK)
          aport_add(&p);
      }
      cm_event_destroy(ev);
    }
  }
}

static void attacker_close(reader *r) {
  uint8_t which = rd8(r);
  if (!S.num_aports || !S.an)
    return;
  size_t i = which % S.num_aports;
  cm_node_close_port(S.an, &S.aports[i]);
  cm_port_ref_release(&S.aports[i]);
  S.aports[i] = S.aports[--S.num_aports];
}

/* Another invitation from the controller, over a new socketpair whose other
 * end becomes an attacker connection (the attacker is the invitee there,
 * answering by hand). Non-isolated when the argument's bit 0 is clear and
 * that cannot make this process a broker it was not (non-broker mode: only
 * after the accepted invitation). */
static void send_invitation(uint8_t arg) {
  int k = 1;
  while (k < MAX_CONNS && S.c[k].fd >= 0)
    k++;
  if (k == MAX_CONNS || S.num_pipes == 8)
    return;
  pthread_mutex_lock(&ctl.mu);
  bool may_join = !nonbroker || ctl.accepted;
  pthread_mutex_unlock(&ctl.mu);
  bool isolated = (arg & 1) || !may_join;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return;
  conn_clear(&S.c[k]);
  S.c[k].fd = sv[0];
  S.c[k].peer_as = (cm_node_name){0xa77ac3e5, 0x20 + (uint64_t)k};
  pool_add(&S.c[k].peer_as);
  MojoHandle inv, h;
  if (MojoCreateInvitation(NULL, &inv) != MOJO_RESULT_OK) {
    close(sv[1]);
    return;
  }
  const uint8_t *name = kIsolatedName;
  if (MojoAttachMessagePipeToInvitation(inv, name, 4, NULL, &h) == MOJO_RESULT_OK) {
    track(h);
    add_pipe(h, true);
  }
  struct MojoPlatformHandle ph = {.struct_size = sizeof(ph),
                                  .type = MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR,
                                  .value = (uint64_t)sv[1]};
  struct MojoInvitationTransportEndpoint ep = {.struct_size = sizeof(ep),
                                               .type = MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL,
                                               .num_platform_handles = 1,
                                               .platform_handles = &ph};
  struct MojoSendInvitationOptions so = {
      .struct_size = sizeof(so),
      .flags = isolated ? MOJO_SEND_INVITATION_FLAG_ISOLATED : MOJO_SEND_INVITATION_FLAG_NONE};
  struct MojoPlatformProcessHandle pid = {.struct_size = sizeof(pid), .value = 4242};
  if (send_invitation_checked(inv, &pid, &ep, &so) != MOJO_RESULT_OK) {
    MojoClose(inv);
    close(sv[1]);
  }
}

/* ---- Structured steps ----------------------------------------------------- */

enum {
  OP_SETTLE,
  OP_HELLO,
  OP_GOODBYE,
  OP_ACCEPT_INVITEE,
  OP_ACCEPT_INVITATION,
  OP_ADD_BROKER_CLIENT,
  OP_BROKER_CLIENT_ADDED,
  OP_ACCEPT_BROKER_CLIENT,
  OP_EVENT,
  OP_REQUEST_PORT_MERGE,
  OP_REQUEST_INTRODUCTION,
  OP_INTRODUCE,
  OP_BROADCAST_EVENT,
  OP_ACCEPT_PEER,
  OP_BAD_MESSAGE_REPORT,
  OP_RAW_MESSAGE,
  OP_RAW_FRAME,
  OP_API_WRITE,
  OP_API_READ,
  OP_API_CLOSE,
  OP_ATTACKER_WRITE,
  OP_ATTACKER_READ,
  OP_ATTACKER_CLOSE,
  OP_HONEST_MERGE,
  OP_CORRUPT_NEXT,
  OP_CLOSE_CONN,
  OP_SEND_INVITATION,
  OP_STALL,
  OP_COUNT
};

static void step(reader *r) {
  uint8_t op = rd8(r);
  /* The high bits pick the connection for the messages that take one. */
  conn *c = &S.c[(op >> 6) % MAX_CONNS];
  if (c->fd < 0)
    c = &S.c[0];
  op = (uint8_t)((op & 0x3f) % OP_COUNT);
  out body, tail;
  body.n = tail.n = 0;
  int fds[MAX_FDS];
  size_t nfds = 0;
  uint8_t tweak = 0;
  uint16_t type = 0;
  switch (op) {
    case OP_SETTLE:
      settle();
      return;
    case OP_HELLO: {
      uint8_t v = rd8(r);
      put32(&body, v & 0x0f ? v & 0x0f : 1);
      put32(&body, v >> 4 ? v >> 4 : 1);
      if (!(rd8(r) & 1))
        put64(&body, rd8(r));
      type = CM_NODE_MESSAGE_HELLO;
      break;
    }
    case OP_GOODBYE: {
      put32(&body, rd8(r));
      uint8_t n = rd8(r) % 32;
      put32(&body, n);
      uint8_t t[32];
      rd_bytes(r, t, n);
      put(&tail, t, n);
      type = CM_NODE_MESSAGE_GOODBYE;
      break;
    }
    case OP_ACCEPT_INVITEE:
    case OP_ACCEPT_INVITATION:
    case OP_ACCEPT_PEER:
      put_name(&body, rd_name(r));
      put_name(&body, rd_name(r));
      if (op == OP_ACCEPT_PEER)
        put_name(&body, rd_name(r));
      type = op == OP_ACCEPT_INVITEE     ? CM_NODE_MESSAGE_ACCEPT_INVITEE
             : op == OP_ACCEPT_INVITATION ? CM_NODE_MESSAGE_ACCEPT_INVITATION
                                          : CM_NODE_MESSAGE_ACCEPT_PEER;
      break;
    case OP_ADD_BROKER_CLIENT:
      put_name(&body, rd_name(r));
      put64(&body, rd8(r));
      type = CM_NODE_MESSAGE_ADD_BROKER_CLIENT;
      break;
    case OP_BROKER_CLIENT_ADDED:
    case OP_ACCEPT_BROKER_CLIENT:
    case OP_INTRODUCE:
    case OP_REQUEST_INTRODUCTION: {
      put_name(&body, rd_name(r));
      uint8_t f = rd8(r);
      if (op != OP_REQUEST_INTRODUCTION && (f & 1 || op == OP_BROKER_CLIENT_ADDED)) {
        int fd = make_fd(f >> 1);
        if (fd >= 0)
          fds[nfds++] = fd;
      }
      type = op == OP_BROKER_CLIENT_ADDED    ? CM_NODE_MESSAGE_BROKER_CLIENT_ADDED
             : op == OP_ACCEPT_BROKER_CLIENT ? CM_NODE_MESSAGE_ACCEPT_BROKER_CLIENT
             : op == OP_INTRODUCE            ? CM_NODE_MESSAGE_INTRODUCE
                                             : CM_NODE_MESSAGE_REQUEST_INTRODUCTION;
      break;
    }
    case OP_EVENT: {
      out ev, core;
      ev.n = core.n = 0;
      build_event(r, &ev, true);
      uint32_t nh = 0;
      uint32_t evtype;
      memcpy(&evtype, ev.b, 4);
      if (evtype == 0)
        build_core(r, &core, fds, &nfds, &nh);
      put32(&body, (uint32_t)ev.n);
      put32(&body, (uint32_t)core.n);
      put32(&body, nh);
      put32(&body, 0);
      put(&tail, ev.b, ev.n);
      put(&tail, core.b, core.n);
      type = CM_NODE_MESSAGE_EVENT;
      tweak = rd8(r);
      break;
    }
    case OP_REQUEST_PORT_MERGE: {
      put_name(&body, rd_name(r));
      uint8_t sel = rd8(r);
      const uint8_t *name;
      size_t n;
      pipe_name(sel & 1, &name, &n);
      uint8_t lit[8];
      if (sel & 2) {
        n = (sel >> 2) % 9;
        rd_bytes(r, lit, n);
        name = lit;
      }
      put32(&body, (uint32_t)n);
      put32(&body, 0);
      put(&tail, name, n);
      type = CM_NODE_MESSAGE_REQUEST_PORT_MERGE;
      break;
    }
    case OP_BROADCAST_EVENT: {
      out ev;
      ev.n = 0;
      put_name(&body, rd_name(r));
      build_event(r, &ev, false);
      put32(&body, (uint32_t)ev.n);
      put32(&body, 0);
      put(&tail, ev.b, ev.n);
      type = CM_NODE_MESSAGE_BROADCAST_EVENT;
      break;
    }
    case OP_BAD_MESSAGE_REPORT: {
      put_name(&body, rd_name(r));
      put_name(&body, rd_name(r));
      uint8_t n = rd8(r) % 32;
      put32(&body, n);
      put32(&body, 0);
      uint8_t t[32];
      rd_bytes(r, t, n);
      put(&tail, t, n);
      type = CM_NODE_MESSAGE_BAD_MESSAGE_REPORT;
      break;
    }
    case OP_RAW_MESSAGE: {
      type = rd8(r) % 16;
      uint8_t n = rd8(r), f = rd8(r);
      uint8_t t[256];
      rd_bytes(r, t, n);
      put(&body, t, n);
      for (int i = 0; i < (f & 3); i++) {
        int fd = make_fd(f >> 2);
        if (fd >= 0)
          fds[nfds++] = fd;
      }
      send_forged(c, type, &body, NULL, fds, nfds, 0);
      c->raw_sent = true;
      settle();
      return;
    }
    case OP_RAW_FRAME: {
      uint8_t n = rd8(r), f = rd8(r);
      uint8_t t[256];
      rd_bytes(r, t, n);
      for (int i = 0; i < (f & 3); i++) {
        int fd = make_fd(f >> 2);
        if (fd >= 0)
          fds[nfds++] = fd;
      }
      c->raw_sent = true;
      send_raw(c, t, n, fds, nfds);
      settle();
      return;
    }
    case OP_API_WRITE:
      api_write(r);
      settle();
      return;
    case OP_API_READ:
      api_read(r);
      settle();
      return;
    case OP_API_CLOSE:
      api_close(r);
      settle();
      return;
    case OP_ATTACKER_WRITE:
      attacker_write(r);
      settle();
      return;
    case OP_ATTACKER_READ:
      attacker_read(r);
      settle();
      return;
    case OP_ATTACKER_CLOSE:
      attacker_close(r);
      settle();
      return;
    case OP_HONEST_MERGE:
      if (S.role == 1)
        honest_answer_merges();
      else
        honest_request_merge(rd8(r) & 1);
      settle();
      return;
    case OP_CORRUPT_NEXT:
      S.corrupt_at = rd16(r) & 0x3ff;
      S.corrupt_xor = rd8(r);
      return;
    case OP_CLOSE_CONN:
      if (rd8(r) & 1)
        (void)shutdown(c->fd, SHUT_WR);
      else if (c != &S.c[0])
        close_fd(&c->fd);
      settle();
      return;
    case OP_STALL:
      S.stalled = !S.stalled;
      settle();
      return;
    case OP_SEND_INVITATION:
      send_invitation(rd8(r));
      settle();
      return;
    default:
      return;
  }
  if (op != OP_EVENT)
    tweak = rd8(r);
  send_forged(c, type, &body, tail.n ? &tail : NULL, fds, nfds, tweak);
  settle();
}

/* ---- Raw mode ------------------------------------------------------------- */

static void raw_stream(reader *r) {
  for (int i = 0; i < MAX_STEPS && r->n; i++) {
    uint8_t n = rd8(r), f = rd8(r);
    uint8_t t[256];
    size_t k = n < r->n ? n : r->n;
    rd_bytes(r, t, k);
    int fds[MAX_FDS];
    size_t nfds = 0;
    for (int j = 0; j < (f & 3); j++) {
      int fd = make_fd(f >> 2);
      if (fd >= 0)
        fds[nfds++] = fd;
    }
    S.c[0].raw_sent = true;
    send_raw(&S.c[0], t, k, fds, nfds);
    settle();
  }
}

/* ---- Setup and teardown --------------------------------------------------- */

static int count_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 4096; fd++)
    if (fcntl(fd, F_GETFD) >= 0)
      n++;
  return n;
}

static size_t count_peers(void) {
  pthread_mutex_lock(&ctl.mu);
  size_t n = 0;
  for (cm_peer *p = ctl.peers; p; p = p->next)
    n++;
  pthread_mutex_unlock(&ctl.mu);
  return n;
}

static void init_once(void) {
  static bool done;
  if (done)
    return;
  done = true;
  const char *e = getenv("CMOJO_FUZZ_NC_NONBROKER");
  nonbroker = e && *e == '1';
  name_counter = 0x100;
  cm_name_set_test_source(next_name);
  struct MojoInitializeOptions o = {.struct_size = sizeof(o),
                                    .flags = nonbroker ? 0 : MOJO_INITIALIZE_FLAG_AS_BROKER};
  if (cmojo_initialize_embedded(&o) != MOJO_RESULT_OK)
    die("cmojo_initialize_embedded failed");
}

/* Starts the controller's side of the connection. False: nothing to do. */
static bool start_controller(int their_end) {
  struct MojoPlatformHandle ph = {.struct_size = sizeof(ph),
                                  .type = MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR,
                                  .value = (uint64_t)their_end};
  struct MojoInvitationTransportEndpoint ep = {
      .struct_size = sizeof(ep),
      .type = S.role == 3 ? MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL_SERVER
                          : MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL,
      .num_platform_handles = 1,
      .platform_handles = &ph};
  if (S.role == 1) {
    struct MojoAcceptInvitationOptions ao = {
        .struct_size = sizeof(ao), .flags = nonbroker ? 0 : MOJO_ACCEPT_INVITATION_FLAG_ISOLATED};
    MojoHandle inv;
    if (MojoAcceptInvitation(&ep, &ao, &inv) != MOJO_RESULT_OK)
      die("MojoAcceptInvitation failed");
    int names = S.config & 4 ? 2 : 1;
    for (int i = 0; i < names; i++) {
      const uint8_t *name;
      size_t n;
      pipe_name(i, &name, &n);
      MojoHandle h;
      if (MojoExtractMessagePipeFromInvitation(inv, name, (uint32_t)n, NULL, &h) ==
          MOJO_RESULT_OK) {
        track(h);
        add_pipe(h, true);
      }
    }
    MojoClose(inv);
    return true;
  }
  MojoHandle inv;
  if (MojoCreateInvitation(NULL, &inv) != MOJO_RESULT_OK)
    die("MojoCreateInvitation failed");
  int names = S.role != 2 && (S.config & 4) ? 2 : 1;
  for (int i = 0; i < names; i++) {
    const uint8_t *name;
    size_t n;
    pipe_name(i, &name, &n);
    MojoHandle h;
    if (MojoAttachMessagePipeToInvitation(inv, name, (uint32_t)n, NULL, &h) == MOJO_RESULT_OK) {
      track(h);
      add_pipe(h, true);
    }
  }
  struct MojoSendInvitationOptions so = {.struct_size = sizeof(so),
                                         .flags = S.role == 2 ? MOJO_SEND_INVITATION_FLAG_ISOLATED
                                                              : MOJO_SEND_INVITATION_FLAG_NONE};
  if (send_invitation_checked(inv, NULL, &ep, &so) != MOJO_RESULT_OK) {
    MojoClose(inv);
    die("MojoSendInvitation failed");
  }
  return true;
}

/* The attacker's end for the roles: a socketpair, or a connection to a
 * listener. Returns the controller's end (taken by the API). */
static int make_transport(void) {
  if (S.role == 3) {
    snprintf(S.sock_path, sizeof(S.sock_path), "/tmp/fuzz_nc.%d.sock", (int)getpid());
    unlink(S.sock_path);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, S.sock_path, strlen(S.sock_path) + 1);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 1) != 0)
      die("cannot listen");
    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) != 0)
      die("cannot connect");
    S.c[0].fd = c;
    return l;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    die("socketpair failed");
  S.c[0].fd = sv[0];
  return sv[1];
}

/* A node remembers every node it was told is lost, and every port announced
 * dead, for the rest of its life (ports_internal.h). The next input reuses
 * the same names (they are deterministic), so the controller's node forgets
 * them once an input is over and nothing of it is left: every input then
 * meets the controller as a fresh process would. (Without this the list
 * also grows by a few names per input and is scanned linearly.) */
static void forget_lost_nodes(cm_node *node) {
  pthread_mutex_lock(&node->lock);
  /* Both are open-addressing sets whose empty slot is the zero name. */
  if (node->lost)
    memset(node->lost, 0, node->cap_lost * sizeof(*node->lost));
  node->num_lost = 0;
  if (node->dead)
    memset(node->dead, 0, node->cap_dead * sizeof(*node->dead));
  node->num_dead = 0;
  pthread_mutex_unlock(&node->lock);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  init_once();
  pump_n(1000); /* anything the last input left to run */
  name_counter = 0x10000;
  int fds_before = count_fds();
  size_t ports_before = cm_node_num_ports(cm_core_node());

  fuzz_nc_stats stats_before = fuzz_nc_stats_;
  memset(&invs, 0, sizeof(invs));
  memset(&S, 0, sizeof(S));
  for (int i = 0; i < MAX_CONNS; i++)
    S.c[i].fd = -1;
  S.corrupt_at = -1;
  S.listen_fd = -1;
  S.config = data[0];
  S.role = data[0] & 3;
  if (nonbroker && (S.role == 0 || S.role == 3))
    S.role = 1;
  reader r = {.p = data + 1, .n = size - 1};
  cm_node_delegate d = {.forward_event = an_forward,
                        .broadcast_event = an_broadcast,
                        .port_status_changed = an_status};
  cm_node_name me = ATTACKER_NODE;
  if (cm_node_create(&me, &d, &S.an) != MOJO_RESULT_OK)
    die("cm_node_create failed");
  S.c[0].peer_as = me;
  pool_add(&me);

  int theirs = make_transport();
  if (start_controller(theirs)) {
    if (S.role == 3) /* the listener accepts the attacker's connection */
      settle();
    if (S.config & 8) {
      raw_stream(&r);
    } else {
      if (S.config & 16)
        honest_handshake();
      for (int i = 0; i < MAX_STEPS && r.n; i++)
        step(&r);
    }
  }

  if (getenv("CMOJO_FUZZ_NC_VERBOSE")) {
    pthread_mutex_lock(&ctl.mu);
    fprintf(stderr, "fuzz_node_controller: before teardown:");
    for (cm_peer *p = ctl.peers; p; p = p->next)
      fprintf(stderr, " [kind %d state %d name %llx%s]", (int)p->kind, (int)p->state,
              (unsigned long long)p->name.v1, p->queue_head ? " queued" : "");
    fprintf(stderr, " accepted %d broker %p\n", (int)ctl.accepted, (void *)ctl.broker);
    pthread_mutex_unlock(&ctl.mu);
  }
  /* Teardown: the attacker goes away, then every handle. */
  for (int k = 0; k < MAX_CONNS; k++)
    close_fd(&S.c[k].fd);
  if (S.sock_path[0])
    unlink(S.sock_path);
  settle();
  /* With the attacker gone, every pipe of an invitation sees its peer
   * closed (its other end lived there, or was never connected). */
  for (size_t i = 0; i < S.num_pipes; i++) {
    MojoHandleSignalsState st;
    if (S.pipes[i] != MOJO_HANDLE_INVALID && S.pipe_of_invitation[i] &&
        MojoQueryHandleSignalsState(S.pipes[i], &st) == MOJO_RESULT_OK &&
        !(st.satisfied_signals & MOJO_HANDLE_SIGNAL_PEER_CLOSED)) {
      fprintf(stderr, "fuzz_node_controller: pipe %zu: signals %x/%x\n", i,
              (unsigned)st.satisfied_signals, (unsigned)st.satisfiable_signals);
      die("an invitation's pipe does not see PEER_CLOSED after its peer process is gone");
    }
  }
  for (size_t i = 0; i < S.num_handles; i++)
    if (S.handles[i] != MOJO_HANDLE_INVALID)
      MojoClose(S.handles[i]);
  for (size_t i = 0; i < S.num_aports; i++) {
    cm_node_close_port(S.an, &S.aports[i]);
    cm_port_ref_release(&S.aports[i]);
  }
  cm_node_destroy(S.an);
  S.an = NULL;
  for (int k = 0; k < MAX_CONNS; k++)
    conn_clear(&S.c[k]);
  pump_n(1000);

  if (getenv("CMOJO_FUZZ_NC_VERBOSE") && S.pool_n) {
    fprintf(stderr, "fuzz_node_controller: name pool:");
    for (size_t i = 0; i < S.pool_n; i++)
      fprintf(stderr, " %zu=%llx:%llx", i, (unsigned long long)S.pool[i].v1,
              (unsigned long long)S.pool[i].v2);
    fprintf(stderr, "\n");
  }
  if (getenv("CMOJO_FUZZ_NC_VERBOSE"))
    fprintf(stderr,
            "fuzz_node_controller: role %d: %zu frames (%zu events, %zu goodbyes) from the "
            "controller, %zu messages read by the attacker, %zu by the controller's pipes, "
            "%zu error handler calls\n",
            S.role, fuzz_nc_stats_.frames_from_controller - stats_before.frames_from_controller,
            fuzz_nc_stats_.events_from_controller - stats_before.events_from_controller,
            fuzz_nc_stats_.goodbyes - stats_before.goodbyes,
            fuzz_nc_stats_.attacker_user_messages - stats_before.attacker_user_messages,
            fuzz_nc_stats_.controller_user_messages - stats_before.controller_user_messages,
            fuzz_nc_stats_.error_handler_calls - stats_before.error_handler_calls);
  pthread_mutex_lock(&ctl.mu);
  bool broker_left = ctl.broker != NULL;
  bool backlog_left = ctl.broker_backlog_head != NULL;
  /* A fresh process for the next input (the accepted invitation's inviter
   * is gone with the input). */
  if (nonbroker)
    ctl.accepted = false;
  pthread_mutex_unlock(&ctl.mu);
  if (broker_left || backlog_left) {
    fprintf(stderr, "fuzz_node_controller: after the input: broker link %s, backlog %s\n",
            broker_left ? "left" : "gone", backlog_left ? "left" : "empty");
    abort();
  }
  for (size_t i = 0; i < invs.sent; i++)
    if (!invs.disconnected[i])
      die("an invitation's connection ended without DISCONNECTED for its error handler");
  size_t peers = count_peers();
  size_t ports_after = cm_node_num_ports(cm_core_node());
  int fds_after = count_fds();
  if (peers || ports_after != ports_before || fds_after != fds_before) {
    fprintf(stderr,
            "fuzz_node_controller: leak after the input: %zu peers left, ports %zu -> %zu, "
            "fds %d -> %d\n",
            peers, ports_before, ports_after, fds_before, fds_after);
    abort();
  }
  forget_lost_nodes(cm_core_node());
  return 0;
}
