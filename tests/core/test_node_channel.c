/* Node channels on an I/O loop driven from the test's own thread (embedder
 * mode): the HELLO handshake, EVENT messages with bytes and fds, GOODBYE,
 * peers that vanish mid-frame or are killed, hostile bytes written straight
 * into the socket, a real child process (this binary re-executed) echoing
 * events, and the loop's fd nested in a plain epoll loop. Every test checks
 * that the process holds the fds it held before. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm_limits.h"
#include "core/io_loop.h"
#include "core/node_channel.h"
#include "core/node_message.h"
#include "platform/platform.h"
#include "test_support.h"

#define ROLE_ECHO "--node-channel-child=echo"

static char g_self[4096];

/* ------------------------------------------------------------------ peers */

typedef struct received {
  uint8_t *event;
  size_t event_len;
  uint8_t *payload;
  size_t payload_len;
  uint32_t num_handles;
  cm_node_message_type type;
  int fds[8];
  size_t num_fds;
} received;

typedef struct peer {
  cm_node_channel *channel;
  int connected;
  uint32_t version;
  received msgs[64];
  size_t num_msgs;
  int disconnects;
  MojoResult reason;
  char text[CM_MAX_NODE_MESSAGE_TEXT_BYTES + 1];
  bool echo; /* send every EVENT back */
} peer;

static void on_connected(void *context, uint32_t version, uint64_t capabilities) {
  peer *p = context;
  (void)capabilities;
  p->connected++;
  p->version = version;
}

static void on_message(void *context, const cm_node_message *m, cm_platform_handle *fds,
                       size_t num_fds) {
  peer *p = context;
  if (p->echo && m->type == CM_NODE_MESSAGE_EVENT) {
    MojoResult r = cm_node_channel_send_event(
        p->channel, m->u.event.event, m->u.event.event_num_bytes, m->u.event.payload,
        m->u.event.payload_num_bytes, m->u.event.num_handles, fds, num_fds);
    if (r != MOJO_RESULT_OK)
      _exit(70);
    return;
  }
  if (p->num_msgs >= 64 || num_fds > 8)
    abort();
  received *rec = &p->msgs[p->num_msgs++];
  memset(rec, 0, sizeof(*rec));
  rec->type = m->type;
  if (m->type == CM_NODE_MESSAGE_EVENT) {
    rec->event_len = m->u.event.event_num_bytes;
    rec->event = malloc(rec->event_len + 1);
    memcpy(rec->event, m->u.event.event, rec->event_len);
    rec->payload_len = m->u.event.payload_num_bytes;
    rec->payload = malloc(rec->payload_len + 1);
    if (rec->payload_len)
      memcpy(rec->payload, m->u.event.payload, rec->payload_len);
    rec->num_handles = m->u.event.num_handles;
  }
  rec->num_fds = num_fds;
  for (size_t i = 0; i < num_fds; i++) {
    rec->fds[i] = cm_platform_handle_fd(fds[i]);
    fds[i] = cm_platform_handle_invalid();
  }
}

static void on_disconnect(void *context, MojoResult reason, const char *text) {
  peer *p = context;
  p->disconnects++;
  p->reason = reason;
  snprintf(p->text, sizeof(p->text), "%s", text);
}

static const cm_node_channel_delegate kDelegate = {
    .on_connected = on_connected,
    .on_message = on_message,
    .on_disconnect = on_disconnect,
};

static void peer_free_msgs(peer *p) {
  for (size_t i = 0; i < p->num_msgs; i++) {
    free(p->msgs[i].event);
    free(p->msgs[i].payload);
    for (size_t j = 0; j < p->msgs[i].num_fds; j++)
      close(p->msgs[i].fds[j]);
  }
  p->num_msgs = 0;
}

static void peer_open(peer *p, cm_io_loop *loop, cm_platform_handle *end) {
  memset(p, 0, sizeof(*p));
  assert_int_equal(cm_node_channel_create(loop, end, &kDelegate, p, &p->channel), MOJO_RESULT_OK);
  assert_false(cm_platform_handle_is_valid(*end));
}

static void peer_close(peer *p) {
  cm_node_channel_destroy(p->channel);
  p->channel = NULL;
  peer_free_msgs(p);
}

/* Runs the loop until *flag >= want, or fails the test after 10 s. */
static void pump_until(cm_io_loop *loop, const int *flag, int want) {
  MojoTimeTicks deadline = cm_platform_time_now() + 10 * 1000 * 1000;
  while (*flag < want) {
    assert_true(cm_platform_time_now() < deadline);
    assert_int_equal(cm_io_loop_run_once(loop, 10 * 1000), MOJO_RESULT_OK);
  }
}

static void pump_until_msgs(cm_io_loop *loop, peer *p, size_t want) {
  MojoTimeTicks deadline = cm_platform_time_now() + 10 * 1000 * 1000;
  while (p->num_msgs < want) {
    assert_true(cm_platform_time_now() < deadline);
    assert_int_equal(cm_io_loop_run_once(loop, 10 * 1000), MOJO_RESULT_OK);
  }
}

/* A serialized ports event of `len` bytes whose header says user message;
 * the channel does not look further inside. */
static void fill_event(uint8_t *ev, size_t len, uint8_t seed) {
  for (size_t i = 0; i < len; i++)
    ev[i] = (uint8_t)(seed + i * 7);
  ev[0] = CM_EVENT_USER_MESSAGE, ev[1] = ev[2] = ev[3] = 0;
}

/* Two connected channels over a socketpair, on one loop. */
typedef struct pair_fixture {
  cm_io_loop *loop;
  peer a, b;
} pair_fixture;

static void pair_open(pair_fixture *f) {
  assert_int_equal(cm_io_loop_create(&f->loop), MOJO_RESULT_OK);
  cm_platform_handle x, y;
  assert_int_equal(cm_platform_channel_create_pair(&x, &y), MOJO_RESULT_OK);
  peer_open(&f->a, f->loop, &x);
  peer_open(&f->b, f->loop, &y);
  assert_int_equal(cm_node_channel_start(f->a.channel), MOJO_RESULT_OK);
  assert_int_equal(cm_node_channel_start(f->b.channel), MOJO_RESULT_OK);
  pump_until(f->loop, &f->a.connected, 1);
  pump_until(f->loop, &f->b.connected, 1);
}

static void pair_close(pair_fixture *f) {
  peer_close(&f->a);
  peer_close(&f->b);
  cm_io_loop_destroy(f->loop);
}

/* ------------------------------------------------------------ loop basics */

static int g_order[8];
static int g_num_order;
static cm_io_loop *g_loop;

static void record_closure(void *context) {
  assert_true(cm_io_loop_on_loop_thread(g_loop));
  g_order[g_num_order++] = (int)(intptr_t)context;
}

static void test_loop_post_and_fd(void **state) {
  (void)state;
  assert_int_equal(cm_io_loop_create(&g_loop), MOJO_RESULT_OK);
  int lfd = cm_platform_handle_fd(cm_io_loop_handle(g_loop));
  assert_true(lfd >= 0);
  assert_false(cm_io_loop_on_loop_thread(g_loop));
  assert_int_equal(cm_io_loop_post(g_loop, NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  /* Nothing to do: the fd is not readable, run_once(0) returns at once. */
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN};
  assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev), 0);
  assert_int_equal(epoll_wait(ep, &ev, 1, 0), 0);
  assert_int_equal(cm_io_loop_run_once(g_loop, 0), MOJO_RESULT_OK);
  g_num_order = 0;
  for (int i = 0; i < 3; i++)
    assert_int_equal(cm_io_loop_post(g_loop, record_closure, (void *)(intptr_t)i), MOJO_RESULT_OK);
  /* A post makes the fd readable until a run consumes the wakeup. */
  assert_int_equal(epoll_wait(ep, &ev, 1, 0), 1);
  assert_int_equal(g_num_order, 0);
  assert_int_equal(cm_io_loop_run_once(g_loop, 0), MOJO_RESULT_OK);
  assert_int_equal(g_num_order, 3);
  for (int i = 0; i < 3; i++)
    assert_int_equal(g_order[i], i);
  assert_int_equal(epoll_wait(ep, &ev, 1, 0), 0);
  close(ep);
  cm_io_loop_destroy(g_loop);
  g_loop = NULL;
}

/* -------------------------------------------------------------- handshake */

static void test_handshake(void **state) {
  (void)state;
  pair_fixture f;
  pair_open(&f);
  assert_int_equal(f.a.version, CM_NODE_PROTOCOL_VERSION_MAX);
  assert_int_equal(f.b.version, CM_NODE_PROTOCOL_VERSION_MAX);
  assert_int_equal(cm_node_channel_version(f.a.channel), 1);
  assert_int_equal(f.a.disconnects + f.b.disconnects, 0);
  cm_platform_peer_credentials creds;
  assert_int_equal(cm_node_channel_peer_credentials(f.a.channel, &creds), MOJO_RESULT_OK);
  assert_int_equal(creds.pid, getpid());
  /* A second start is refused. */
  assert_int_equal(cm_node_channel_start(f.a.channel), MOJO_RESULT_FAILED_PRECONDITION);
  pair_close(&f);
}

static void test_create_and_write_refusals(void **state) {
  (void)state;
  cm_io_loop *loop;
  assert_int_equal(cm_io_loop_create(&loop), MOJO_RESULT_OK);
  cm_platform_handle x, y;
  assert_int_equal(cm_platform_channel_create_pair(&x, &y), MOJO_RESULT_OK);
  cm_node_channel *c = NULL;
  cm_node_channel_delegate none = {0};
  /* Refused arguments still consume the endpoint. */
  assert_int_equal(cm_node_channel_create(loop, &x, &none, NULL, &c), MOJO_RESULT_INVALID_ARGUMENT);
  assert_false(cm_platform_handle_is_valid(x));
  peer p;
  peer_open(&p, loop, &y);
  uint8_t ev[48];
  fill_event(ev, sizeof(ev), 1);
  int pipefd[2];
  assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
  cm_platform_handle fds[1] = {cm_platform_handle_from_fd(pipefd[0])};
  /* Not started: refused, and the fd is closed (taken) anyway. */
  assert_int_equal(cm_node_channel_send_event(p.channel, ev, sizeof(ev), "x", 1, 1, fds, 1),
                   MOJO_RESULT_FAILED_PRECONDITION);
  assert_false(cm_platform_handle_is_valid(fds[0]));
  assert_int_equal(fcntl(pipefd[0], F_GETFD), -1);
  /* Started, no HELLO from the peer (nobody reads the other end, which is
   * closed): only GOODBYE may go. */
  assert_int_equal(cm_node_channel_start(p.channel), MOJO_RESULT_OK);
  fds[0] = cm_platform_handle_from_fd(pipefd[1]);
  assert_int_equal(cm_node_channel_send_event(p.channel, ev, sizeof(ev), "x", 1, 1, fds, 1),
                   MOJO_RESULT_SHOULD_WAIT);
  assert_int_equal(fcntl(pipefd[1], F_GETFD), -1);
  /* Encoder refusals: an event below 48 bytes. */
  assert_int_equal(cm_node_channel_send_event(p.channel, ev, 40, NULL, 0, 0, NULL, 0),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_node_channel_write(p.channel, ev, 8, NULL, 0), MOJO_RESULT_INVALID_ARGUMENT);
  /* HELLO is the channel's own to send; unknown types are refused. */
  cm_node_message_buffer hb;
  cm_node_message_buffer_init(&hb);
  assert_int_equal(cm_node_message_encode_hello(&hb, 1, 1, 0), MOJO_RESULT_OK);
  assert_int_equal(cm_node_channel_write(p.channel, hb.bytes, hb.size, NULL, 0),
                   MOJO_RESULT_INVALID_ARGUMENT);
  hb.bytes[0] = 99;
  assert_int_equal(cm_node_channel_write(p.channel, hb.bytes, hb.size, NULL, 0),
                   MOJO_RESULT_INVALID_ARGUMENT);
  cm_node_message_buffer_free(&hb);
  /* The peer's end was closed at create: the loop reports it. */
  pump_until(loop, &p.disconnects, 1);
  assert_int_equal(p.reason, MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(p.connected, 0);
  assert_int_equal(cm_node_channel_send_event(p.channel, ev, sizeof(ev), NULL, 0, 0, NULL, 0),
                   MOJO_RESULT_FAILED_PRECONDITION);
  peer_close(&p);
  cm_io_loop_destroy(loop);
}

/* ------------------------------------------------------------ event round trips */

/* Sends an event with `payload_len` bytes and `nfds` fresh pipe read ends
 * from `from` and checks what `to` receives: bytes exact, fds working. */
static void send_and_check(pair_fixture *f, peer *from, peer *to, size_t event_len,
                           size_t payload_len, size_t nfds) {
  uint8_t *ev = malloc(event_len);
  uint8_t *payload = malloc(payload_len + 1);
  fill_event(ev, event_len, (uint8_t)payload_len);
  for (size_t i = 0; i < payload_len; i++)
    payload[i] = (uint8_t)(i * 31 + nfds);
  int writers[8];
  cm_platform_handle fds[8];
  for (size_t i = 0; i < nfds; i++) {
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    fds[i] = cm_platform_handle_from_fd(pfd[0]);
    writers[i] = pfd[1];
  }
  size_t before = to->num_msgs;
  assert_int_equal(cm_node_channel_send_event(from->channel, ev, event_len, payload, payload_len,
                                              (uint32_t)nfds, fds, nfds),
                   MOJO_RESULT_OK);
  for (size_t i = 0; i < nfds; i++)
    assert_false(cm_platform_handle_is_valid(fds[i]));
  pump_until_msgs(f->loop, to, before + 1);
  received *r = &to->msgs[before];
  assert_int_equal(r->type, CM_NODE_MESSAGE_EVENT);
  assert_int_equal(r->event_len, event_len);
  assert_memory_equal(r->event, ev, event_len);
  assert_int_equal(r->payload_len, payload_len);
  if (payload_len)
    assert_memory_equal(r->payload, payload, payload_len);
  assert_int_equal(r->num_handles, nfds);
  assert_int_equal(r->num_fds, nfds);
  for (size_t i = 0; i < nfds; i++) {
    char c = (char)('a' + i), got = 0;
    assert_int_equal(write(writers[i], &c, 1), 1);
    assert_int_equal(read(r->fds[i], &got, 1), 1);
    assert_int_equal(got, c);
    assert_true(fcntl(r->fds[i], F_GETFD) & FD_CLOEXEC);
    close(writers[i]);
  }
  free(ev);
  free(payload);
}

static void test_event_round_trips(void **state) {
  (void)state;
  pair_fixture f;
  pair_open(&f);
  send_and_check(&f, &f.a, &f.b, 48, 0, 0);
  send_and_check(&f, &f.b, &f.a, 48, 1, 1);
  send_and_check(&f, &f.a, &f.b, 96, 1000, 3);
  send_and_check(&f, &f.b, &f.a, 48, 4096, 8);
  /* Larger than a socket buffer: queued, then flushed on writability. */
  send_and_check(&f, &f.a, &f.b, 64, 3 * 1024 * 1024 + 5, 2);
  send_and_check(&f, &f.b, &f.a, 48, 777, 0);
  /* Many small ones, in order. */
  uint8_t ev[48];
  for (int i = 0; i < 40; i++) {
    fill_event(ev, sizeof(ev), (uint8_t)i);
    uint32_t seq = (uint32_t)i;
    assert_int_equal(
        cm_node_channel_send_event(f.a.channel, ev, sizeof(ev), &seq, sizeof(seq), 0, NULL, 0),
        MOJO_RESULT_OK);
  }
  peer_free_msgs(&f.b);
  pump_until_msgs(f.loop, &f.b, 40);
  for (int i = 0; i < 40; i++) {
    uint32_t seq;
    memcpy(&seq, f.b.msgs[i].payload, sizeof(seq));
    assert_int_equal(seq, (uint32_t)i);
  }
  /* A non-EVENT message of version 1 reaches on_message too. */
  cm_node_message_buffer buf;
  cm_node_message_buffer_init(&buf);
  cm_name n = {1, 2};
  assert_int_equal(cm_node_message_encode_request_introduction(&buf, &n), MOJO_RESULT_OK);
  peer_free_msgs(&f.a);
  assert_int_equal(cm_node_channel_write(f.b.channel, buf.bytes, buf.size, NULL, 0),
                   MOJO_RESULT_OK);
  pump_until_msgs(f.loop, &f.a, 1);
  assert_int_equal(f.a.msgs[0].type, CM_NODE_MESSAGE_REQUEST_INTRODUCTION);
  cm_node_message_buffer_free(&buf);
  assert_int_equal(f.a.disconnects + f.b.disconnects, 0);
  pair_close(&f);
}

/* ---------------------------------------------------------------- GOODBYE */

static void test_goodbye(void **state) {
  (void)state;
  pair_fixture f;
  pair_open(&f);
  cm_node_channel_close(f.a.channel, MOJO_RESULT_OK, "shutting down");
  cm_node_channel_close(f.a.channel, MOJO_RESULT_OK, "twice is a no-op");
  pump_until(f.loop, &f.b.disconnects, 1);
  assert_int_equal(f.b.reason, MOJO_RESULT_OK);
  assert_string_equal(f.b.text, "shutting down");
  /* Writes after the close fail; nobody hears twice. */
  uint8_t ev[48];
  fill_event(ev, sizeof(ev), 0);
  assert_int_equal(cm_node_channel_send_event(f.a.channel, ev, sizeof(ev), NULL, 0, 0, NULL, 0),
                   MOJO_RESULT_FAILED_PRECONDITION);
  for (int i = 0; i < 5; i++)
    cm_io_loop_run_once(f.loop, 1000);
  assert_int_equal(f.a.disconnects, 0);
  assert_int_equal(f.b.disconnects, 1);
  pair_close(&f);

  /* A failing close carries its reason; a long text is cut. */
  pair_open(&f);
  char *big = malloc(10000);
  memset(big, 'z', 9999);
  big[9999] = '\0';
  cm_node_channel_close(f.b.channel, MOJO_RESULT_DATA_LOSS, big);
  free(big);
  pump_until(f.loop, &f.a.disconnects, 1);
  assert_int_equal(f.a.reason, MOJO_RESULT_DATA_LOSS);
  assert_int_equal(strlen(f.a.text), CM_MAX_NODE_MESSAGE_TEXT_BYTES);
  pair_close(&f);

  /* Destroying an open channel says GOODBYE(OK) too. */
  pair_open(&f);
  cm_node_channel_destroy(f.a.channel);
  f.a.channel = NULL;
  pump_until(f.loop, &f.b.disconnects, 1);
  assert_int_equal(f.b.reason, MOJO_RESULT_OK);
  pair_close(&f);
}

/* ----------------------------------------------------- raw bytes from a peer */

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

/* Writes one transport frame carrying payload[0..n) and fds by hand. */
static void raw_frame(int sock, const void *payload, size_t n, const int *fds, size_t nfds) {
  size_t total = 16 + n, padded = (total + 7) & ~(size_t)7;
  uint8_t *buf = calloc(1, padded);
  put32(buf, (uint32_t)total);
  put16(buf + 4, 16);
  put16(buf + 6, (uint16_t)nfds);
  buf[8] = 1;
  if (n)
    memcpy(buf + 16, payload, n);
  struct iovec iov = {buf, padded};
  union {
    struct cmsghdr align;
    char b[CMSG_SPACE(8 * sizeof(int))];
  } control;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (nfds) {
    msg.msg_control = control.b;
    msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
  }
  assert_int_equal(sendmsg(sock, &msg, MSG_NOSIGNAL), (ssize_t)padded);
  free(buf);
}

static void raw_hello(int sock, uint32_t min, uint32_t max) {
  cm_node_message_buffer buf;
  cm_node_message_buffer_init(&buf);
  assert_int_equal(cm_node_message_encode_hello(&buf, min, max, 0), MOJO_RESULT_OK);
  raw_frame(sock, buf.bytes, buf.size, NULL, 0);
  cm_node_message_buffer_free(&buf);
}

/* Reads every frame the channel wrote to the raw end until end of stream
 * (the channel shuts the socket down after a drop) and returns the type of
 * the last one, with a GOODBYE's reason and text. Closes any fd received. */
static uint32_t raw_read_last(int sock, MojoResult *reason, char *text, size_t text_len) {
  uint8_t *all = NULL;
  size_t len = 0;
  for (;;) {
    uint8_t chunk[65536];
    union {
      struct cmsghdr align;
      char b[CMSG_SPACE(128 * sizeof(int))];
    } control;
    struct iovec iov = {chunk, sizeof(chunk)};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.b,
                         .msg_controllen = sizeof(control.b)};
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0)
      break;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
      size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int *in = (int *)(void *)CMSG_DATA(cm);
      for (size_t i = 0; i < k; i++)
        close(in[i]);
    }
    all = realloc(all, len + (size_t)n);
    memcpy(all + len, chunk, (size_t)n);
    len += (size_t)n;
  }
  uint32_t last = 0;
  size_t off = 0;
  while (off + 16 <= len) {
    uint32_t total =
        all[off] | all[off + 1] << 8 | all[off + 2] << 16 | (uint32_t)all[off + 3] << 24;
    size_t padded = ((size_t)total + 7) & ~(size_t)7;
    if (off + padded > len)
      break;
    cm_node_message m;
    if (cm_node_message_parse(all + off + 16, total - 16, 0, &m) == CM_NODE_MESSAGE_OK) {
      last = m.type;
      if (m.type == CM_NODE_MESSAGE_GOODBYE) {
        *reason = m.u.goodbye.reason;
        snprintf(text, text_len, "%.*s", (int)m.u.goodbye.text_num_bytes, m.u.goodbye.text);
      }
    }
    off += padded;
  }
  free(all);
  return last;
}

typedef enum hostile_kind {
  H_FRAME_VERSION,  /* transport header with version 2 */
  H_NODE_FLAGS,     /* node header flags set */
  H_EVENT_EARLY,    /* EVENT before HELLO */
  H_SECOND_HELLO,   /* HELLO twice */
  H_NO_COMMON,      /* HELLO 2..5 */
  H_FD_MISMATCH,    /* EVENT says 1 fd, 2 arrive */
  H_FDS_ON_INVITEE, /* ACCEPT_INVITEE with an fd */
  H_SHORT_MESSAGE,  /* 8-byte node message */
  H_HALF_FRAME,     /* half a frame, then end of stream */
  H_HALF_FRAME_FDS, /* half a frame with its fds, then end of stream */
  H_GARBAGE,        /* random bytes */
  H_GOODBYE_EARLY,  /* the peer gives up before HELLO, with a reason */
  H_COUNT_
} hostile_kind;

typedef struct hostile_case {
  hostile_kind kind;
  MojoResult reason;
  const char *text; /* NULL: any */
  bool goodbye;     /* the channel answers with GOODBYE */
} hostile_case;

static void run_hostile(const hostile_case *hc) {
  cm_io_loop *loop;
  assert_int_equal(cm_io_loop_create(&loop), MOJO_RESULT_OK);
  cm_platform_handle x, y;
  assert_int_equal(cm_platform_channel_create_pair(&x, &y), MOJO_RESULT_OK);
  int raw = cm_platform_handle_fd(y);
  peer p;
  peer_open(&p, loop, &x);
  assert_int_equal(cm_node_channel_start(p.channel), MOJO_RESULT_OK);

  cm_node_message_buffer buf;
  cm_node_message_buffer_init(&buf);
  int pfd[2];
  assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
  uint8_t ev[48];
  fill_event(ev, sizeof(ev), 3);
  void *event_at, *payload_at;
  switch (hc->kind) {
    case H_FRAME_VERSION: {
      uint8_t frame[24] = {0};
      put32(frame, 24);
      put16(frame + 4, 16);
      frame[8] = 2;
      assert_int_equal(write(raw, frame, sizeof(frame)), (ssize_t)sizeof(frame));
      break;
    }
    case H_NODE_FLAGS:
      raw_hello(raw, 1, 1);
      assert_int_equal(cm_node_message_encode_hello(&buf, 1, 1, 0), MOJO_RESULT_OK);
      buf.bytes[2] = 1;
      raw_frame(raw, buf.bytes, buf.size, NULL, 0);
      break;
    case H_EVENT_EARLY:
      assert_int_equal(cm_node_message_encode_event(&buf, 48, 4, 1, 2, &event_at, &payload_at),
                       MOJO_RESULT_OK);
      memcpy(event_at, ev, 48);
      memset(payload_at, 0, 4);
      raw_frame(raw, buf.bytes, buf.size, pfd, 2);
      break;
    case H_SECOND_HELLO:
      raw_hello(raw, 1, 1);
      raw_hello(raw, 1, 1);
      break;
    case H_NO_COMMON:
      raw_hello(raw, 2, 5);
      break;
    case H_FD_MISMATCH:
      raw_hello(raw, 1, 1);
      assert_int_equal(cm_node_message_encode_event(&buf, 48, 0, 1, 1, &event_at, &payload_at),
                       MOJO_RESULT_OK);
      memcpy(event_at, ev, 48);
      raw_frame(raw, buf.bytes, buf.size, pfd, 2);
      break;
    case H_FDS_ON_INVITEE: {
      raw_hello(raw, 1, 1);
      cm_name a = {5, 6}, b = {7, 8};
      assert_int_equal(cm_node_message_encode_accept_invitee(&buf, &a, &b), MOJO_RESULT_OK);
      buf.bytes[6] = 1; /* the header admits the fd; the type does not */
      raw_frame(raw, buf.bytes, buf.size, pfd, 1);
      break;
    }
    case H_SHORT_MESSAGE: {
      raw_hello(raw, 1, 1);
      uint8_t eight[8] = {8, 0, 0, 0, 0, 0, 0, 0};
      raw_frame(raw, eight, sizeof(eight), NULL, 0);
      break;
    }
    case H_HALF_FRAME:
    case H_HALF_FRAME_FDS: {
      raw_hello(raw, 1, 1);
      uint8_t frame[16 + 64] = {0};
      put32(frame, 16 + 200);
      put16(frame + 4, 16);
      size_t nfds = hc->kind == H_HALF_FRAME_FDS ? 2 : 0;
      put16(frame + 6, (uint16_t)nfds);
      frame[8] = 1;
      struct iovec iov = {frame, sizeof(frame)};
      union {
        struct cmsghdr align;
        char b[CMSG_SPACE(2 * sizeof(int))];
      } control;
      struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
      if (nfds) {
        msg.msg_control = control.b;
        msg.msg_controllen = sizeof(control.b);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
        memcpy(CMSG_DATA(cm), pfd, 2 * sizeof(int));
      }
      assert_int_equal(sendmsg(raw, &msg, MSG_NOSIGNAL), (ssize_t)sizeof(frame));
      shutdown(raw, SHUT_WR);
      break;
    }
    case H_GARBAGE: {
      uint8_t junk[256];
      uint64_t s = 0x9e3779b97f4a7c15ull;
      for (size_t i = 0; i < sizeof(junk); i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        junk[i] = (uint8_t)s;
      }
      assert_int_equal(write(raw, junk, sizeof(junk)), (ssize_t)sizeof(junk));
      break;
    }
    case H_GOODBYE_EARLY:
      assert_int_equal(
          cm_node_message_encode_goodbye(&buf, MOJO_RESULT_PERMISSION_DENIED, "go away", 7),
          MOJO_RESULT_OK);
      raw_frame(raw, buf.bytes, buf.size, NULL, 0);
      break;
    case H_COUNT_:
      break;
  }
  /* Our copies of the pipe ends: whatever the channel received of them it
   * must close, which the fd count at teardown checks. */
  close(pfd[0]);
  close(pfd[1]);
  cm_node_message_buffer_free(&buf);

  pump_until(loop, &p.disconnects, 1);
  assert_int_equal(p.reason, hc->reason);
  if (hc->text)
    assert_string_equal(p.text, hc->text);
  assert_int_equal(p.num_msgs, 0);
  /* The channel shut the socket down: the raw end reads to end of stream,
   * finding GOODBYE last when the channel could still write. */
  MojoResult said = MOJO_RESULT_UNKNOWN;
  char text[CM_MAX_NODE_MESSAGE_TEXT_BYTES + 1] = "";
  uint32_t last = raw_read_last(raw, &said, text, sizeof(text));
  if (hc->goodbye) {
    assert_int_equal(last, CM_NODE_MESSAGE_GOODBYE);
    assert_int_equal(said, hc->reason);
    assert_string_equal(text, p.text);
  } else {
    assert_int_not_equal(last, CM_NODE_MESSAGE_GOODBYE);
  }
  for (int i = 0; i < 3; i++)
    cm_io_loop_run_once(loop, 1000);
  assert_int_equal(p.disconnects, 1);
  close(raw);
  peer_close(&p);
  cm_io_loop_destroy(loop);
}

static void test_hostile_peers(void **state) {
  (void)state;
  const hostile_case cases[] = {
      {H_FRAME_VERSION, MOJO_RESULT_INVALID_ARGUMENT, "frame header: unknown version", false},
      {H_NODE_FLAGS, MOJO_RESULT_INVALID_ARGUMENT,
       cm_node_message_error_string(CM_NODE_MESSAGE_E_FLAGS), true},
      {H_EVENT_EARLY, MOJO_RESULT_INVALID_ARGUMENT, "unexpected EVENT before HELLO", true},
      {H_SECOND_HELLO, MOJO_RESULT_INVALID_ARGUMENT, "unexpected HELLO on a connected channel",
       true},
      {H_NO_COMMON, MOJO_RESULT_FAILED_PRECONDITION, "no common protocol version", true},
      {H_FD_MISMATCH, MOJO_RESULT_INVALID_ARGUMENT,
       cm_node_message_error_string(CM_NODE_MESSAGE_E_FD_MISMATCH), true},
      {H_FDS_ON_INVITEE, MOJO_RESULT_INVALID_ARGUMENT,
       cm_node_message_error_string(CM_NODE_MESSAGE_E_FD_COUNT), true},
      {H_SHORT_MESSAGE, MOJO_RESULT_INVALID_ARGUMENT,
       cm_node_message_error_string(CM_NODE_MESSAGE_E_SHORT_HEADER), true},
      {H_HALF_FRAME, MOJO_RESULT_FAILED_PRECONDITION, "peer closed the connection in a frame",
       false},
      {H_HALF_FRAME_FDS, MOJO_RESULT_FAILED_PRECONDITION, "peer closed the connection in a frame",
       false},
      {H_GARBAGE, MOJO_RESULT_INVALID_ARGUMENT, NULL, false},
      {H_GOODBYE_EARLY, MOJO_RESULT_PERMISSION_DENIED, "go away", false},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    print_message("hostile case %zu\n", i);
    run_hostile(&cases[i]);
  }
}

/* Random frames of random node-message bytes (valid framing, so they reach
 * the parser), after a valid HELLO: any outcome but a crash, a leak or a
 * second report is fine. */
static void test_random_node_messages(void **state) {
  (void)state;
  uint64_t seed = cm_test_seed(0x5eedc0de);
  print_message("seed %llu\n", (unsigned long long)seed);
  uint64_t s = seed | 1;
  for (int iter = 0; iter < 200; iter++) {
    cm_io_loop *loop;
    assert_int_equal(cm_io_loop_create(&loop), MOJO_RESULT_OK);
    cm_platform_handle x, y;
    assert_int_equal(cm_platform_channel_create_pair(&x, &y), MOJO_RESULT_OK);
    int raw = cm_platform_handle_fd(y);
    peer p;
    peer_open(&p, loop, &x);
    assert_int_equal(cm_node_channel_start(p.channel), MOJO_RESULT_OK);
    raw_hello(raw, 1, 1);
    uint8_t msg[128];
    for (int k = 0; k < 4; k++) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      size_t n = (size_t)(s % sizeof(msg));
      for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        msg[i] = (uint8_t)s;
      }
      /* Often a plausible header, so deeper checks are reached. */
      if (n >= 16 && (s & 1)) {
        msg[0] = (uint8_t)(1 + (s >> 8) % 14), msg[1] = 0, msg[2] = msg[3] = 0;
        put16(msg + 4, 16), put16(msg + 6, 0);
        put32(msg + 8, (uint32_t)((n - 16) & ~(size_t)7)), put32(msg + 12, 0);
      }
      raw_frame(raw, msg, n, NULL, 0);
    }
    close(raw);
    pump_until(loop, &p.disconnects, 1);
    for (int i = 0; i < 2; i++)
      cm_io_loop_run_once(loop, 0);
    assert_int_equal(p.disconnects, 1);
    peer_close(&p);
    cm_io_loop_destroy(loop);
  }
}

/* --------------------------------------------------------- child processes */

/* The child: takes its end from the switch, runs a loop on this thread,
 * echoes every EVENT (bytes and fds) until the parent says GOODBYE. Exit
 * status 0 after an orderly GOODBYE. */
static int child_echo(int argc, char **argv) {
  cm_platform_handle h;
  if (cm_platform_channel_from_switch(argc, argv, &h) != MOJO_RESULT_OK)
    return 10;
  cm_io_loop *loop;
  if (cm_io_loop_create(&loop) != MOJO_RESULT_OK)
    return 11;
  peer *p = calloc(1, sizeof(*p));
  if (!p || cm_node_channel_create(loop, &h, &kDelegate, p, &p->channel) != MOJO_RESULT_OK)
    return 12;
  p->echo = true;
  if (cm_node_channel_start(p->channel) != MOJO_RESULT_OK)
    return 13;
  MojoTimeTicks deadline = cm_platform_time_now() + 30 * 1000 * 1000;
  while (!p->disconnects && cm_platform_time_now() < deadline)
    cm_io_loop_run_once(loop, 100 * 1000);
  int status = p->disconnects && p->reason == MOJO_RESULT_OK && p->connected == 1 ? 0 : 20;
  cm_node_channel_destroy(p->channel);
  cm_io_loop_destroy(loop);
  free(p);
  return status;
}

/* Starts this binary in the echo role with its end of a fresh pair
 * inherited through exactly this exec; *mine is the parent's end. */
static pid_t spawn_child(cm_platform_handle *mine) {
  cm_platform_handle theirs;
  assert_int_equal(cm_platform_channel_create_pair(mine, &theirs), MOJO_RESULT_OK);
  char sw[64];
  assert_int_equal(cm_platform_channel_format_switch(theirs, sw, sizeof(sw)), MOJO_RESULT_OK);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (cm_platform_channel_prepare_for_exec(theirs) != MOJO_RESULT_OK)
      _exit(80);
    char *argv[] = {g_self, (char *)ROLE_ECHO, sw, NULL};
    execv(g_self, argv);
    _exit(81);
  }
  cm_platform_handle_close(&theirs);
  return pid;
}

static void test_child_echo(void **state) {
  (void)state;
  cm_io_loop *loop;
  assert_int_equal(cm_io_loop_create(&loop), MOJO_RESULT_OK);
  cm_platform_handle mine;
  pid_t pid = spawn_child(&mine);
  pair_fixture f = {.loop = loop};
  peer_open(&f.a, loop, &mine);
  assert_int_equal(cm_node_channel_start(f.a.channel), MOJO_RESULT_OK);
  pump_until(loop, &f.a.connected, 1);
  /* Each event comes back as it went, fds included (they are the same pipes,
   * through the child and back). */
  send_and_check(&f, &f.a, &f.a, 48, 16, 0);
  send_and_check(&f, &f.a, &f.a, 48, 1024, 1);
  send_and_check(&f, &f.a, &f.a, 80, 65536, 4);
  send_and_check(&f, &f.a, &f.a, 48, 1024 * 1024, 2);
  cm_node_channel_close(f.a.channel, MOJO_RESULT_OK, "done");
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_int_equal(f.a.disconnects, 0);
  peer_close(&f.a);
  cm_io_loop_destroy(loop);
}

static void test_child_killed(void **state) {
  (void)state;
  cm_io_loop *loop;
  assert_int_equal(cm_io_loop_create(&loop), MOJO_RESULT_OK);
  cm_platform_handle mine;
  pid_t pid = spawn_child(&mine);
  pair_fixture f = {.loop = loop};
  peer_open(&f.a, loop, &mine);
  assert_int_equal(cm_node_channel_start(f.a.channel), MOJO_RESULT_OK);
  pump_until(loop, &f.a.connected, 1);
  send_and_check(&f, &f.a, &f.a, 48, 100, 1);
  /* Leave an event with an fd in flight, then kill the child. */
  uint8_t ev[48];
  fill_event(ev, sizeof(ev), 9);
  int pfd[2];
  assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
  cm_platform_handle fds[1] = {cm_platform_handle_from_fd(pfd[0])};
  assert_int_equal(cm_node_channel_send_event(f.a.channel, ev, sizeof(ev), "x", 1, 1, fds, 1),
                   MOJO_RESULT_OK);
  close(pfd[1]);
  assert_int_equal(kill(pid, SIGKILL), 0);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  /* What the child echoed before dying may still arrive; then the end. */
  pump_until(loop, &f.a.disconnects, 1);
  assert_int_equal(f.a.reason, MOJO_RESULT_FAILED_PRECONDITION);
  for (int i = 0; i < 3; i++)
    cm_io_loop_run_once(loop, 1000);
  assert_int_equal(f.a.disconnects, 1);
  peer_close(&f.a);
  cm_io_loop_destroy(loop);
}

/* kill -9 of the child at random points: before, during or after the
 * handshake, with events and fds in flight both ways. The end is reported
 * exactly once, and nothing is left behind. */
static void test_child_killed_at_random_points(void **state) {
  (void)state;
  uint64_t s = cm_test_seed(0xdeadbeef) | 1;
  for (int iter = 0; iter < 30; iter++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    cm_io_loop *loop;
    assert_int_equal(cm_io_loop_create(&loop), MOJO_RESULT_OK);
    cm_platform_handle mine;
    pid_t pid = spawn_child(&mine);
    peer a;
    peer_open(&a, loop, &mine);
    assert_int_equal(cm_node_channel_start(a.channel), MOJO_RESULT_OK);
    int phase = (int)(s % 3);
    if (phase > 0)
      pump_until(loop, &a.connected, 1);
    if (phase > 1) {
      uint8_t ev[48];
      fill_event(ev, sizeof(ev), 1);
      int sends = (int)((s >> 8) % 20);
      for (int i = 0; i < sends; i++) {
        int pfd[2];
        assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
        cm_platform_handle fds[1] = {cm_platform_handle_from_fd(pfd[0])};
        MojoResult r =
            cm_node_channel_send_event(a.channel, ev, sizeof(ev), &i, sizeof(i), 1, fds, 1);
        assert_true(r == MOJO_RESULT_OK || r == MOJO_RESULT_FAILED_PRECONDITION);
        close(pfd[1]);
        if (i % 4 == 0)
          cm_io_loop_run_once(loop, 0);
      }
    }
    if ((s >> 16) & 1)
      usleep((useconds_t)((s >> 20) % 2000));
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    pump_until(loop, &a.disconnects, 1);
    assert_int_equal(a.reason, MOJO_RESULT_FAILED_PRECONDITION);
    for (int i = 0; i < 3; i++)
      cm_io_loop_run_once(loop, 1000);
    assert_int_equal(a.disconnects, 1);
    peer_close(&a);
    cm_io_loop_destroy(loop);
  }
}

/* ------------------------------------------------------------- embedder mode */

/* The test's own epoll loop nests the loop's one fd and calls run_once(0)
 * only when epoll says it is readable. */
static void embedder_pump(int ep, cm_io_loop *loop, const int *flag, int want) {
  MojoTimeTicks deadline = cm_platform_time_now() + 10 * 1000 * 1000;
  while (*flag < want) {
    assert_true(cm_platform_time_now() < deadline);
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, 100);
    assert_true(n >= 0 || errno == EINTR);
    if (n == 1)
      assert_int_equal(cm_io_loop_run_once(loop, 0), MOJO_RESULT_OK);
  }
}

static void test_embedder_epoll(void **state) {
  (void)state;
  cm_io_loop *loop;
  assert_int_equal(cm_io_loop_create(&loop), MOJO_RESULT_OK);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event reg = {.events = EPOLLIN};
  assert_int_equal(
      epoll_ctl(ep, EPOLL_CTL_ADD, cm_platform_handle_fd(cm_io_loop_handle(loop)), &reg), 0);
  cm_platform_handle mine;
  pid_t pid = spawn_child(&mine);
  peer a;
  peer_open(&a, loop, &mine);
  assert_int_equal(cm_node_channel_start(a.channel), MOJO_RESULT_OK);
  embedder_pump(ep, loop, &a.connected, 1);
  uint8_t ev[48];
  for (int i = 0; i < 20; i++) {
    fill_event(ev, sizeof(ev), (uint8_t)i);
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    cm_platform_handle fds[1] = {cm_platform_handle_from_fd(pfd[0])};
    assert_int_equal(
        cm_node_channel_send_event(a.channel, ev, sizeof(ev), &i, sizeof(i), 1, fds, 1),
        MOJO_RESULT_OK);
    close(pfd[1]);
  }
  MojoTimeTicks deadline = cm_platform_time_now() + 10 * 1000 * 1000;
  while (a.num_msgs < 20) {
    assert_true(cm_platform_time_now() < deadline);
    struct epoll_event e;
    if (epoll_wait(ep, &e, 1, 100) == 1)
      assert_int_equal(cm_io_loop_run_once(loop, 0), MOJO_RESULT_OK);
  }
  for (int i = 0; i < 20; i++) {
    int seq;
    memcpy(&seq, a.msgs[i].payload, sizeof(seq));
    assert_int_equal(seq, i);
    assert_int_equal(a.msgs[i].num_fds, 1);
  }
  /* Idle: the fd is not readable (level-triggered, nothing pending). */
  for (int i = 0; i < 3; i++)
    cm_io_loop_run_once(loop, 0);
  struct epoll_event e;
  assert_int_equal(epoll_wait(ep, &e, 1, 50), 0);
  /* kill -9 in embedder mode reaches on_disconnect through the epoll loop. */
  assert_int_equal(kill(pid, SIGKILL), 0);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  embedder_pump(ep, loop, &a.disconnects, 1);
  assert_int_equal(a.reason, MOJO_RESULT_FAILED_PRECONDITION);
  close(ep);
  peer_close(&a);
  cm_io_loop_destroy(loop);
}

#define T(f) cmocka_unit_test_setup_teardown(f, cm_test_setup_resources, cm_test_teardown_resources)

int main(int argc, char **argv) {
  ssize_t n = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
  if (n <= 0)
    return 99;
  g_self[n] = '\0';
  if (argc > 1 && strcmp(argv[1], ROLE_ECHO) == 0)
    return child_echo(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      T(test_loop_post_and_fd),
      T(test_handshake),
      T(test_create_and_write_refusals),
      T(test_event_round_trips),
      T(test_goodbye),
      T(test_hostile_peers),
      T(test_random_node_messages),
      T(test_child_echo),
      T(test_child_killed),
      T(test_child_killed_at_random_points),
      T(test_embedder_epoll),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
