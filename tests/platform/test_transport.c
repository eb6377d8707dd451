/* Tests of the POSIX transport: framing, fds over SCM_RIGHTS, the write
 * queue, hostile raw bytes from the peer, peer credentials, and the two ways
 * of connecting two processes (an inherited socketpair end named by
 * --mojo-platform-channel-handle, and a named endpoint), with real child
 * processes (this binary re-executed in a child role). Every test checks that
 * the process's fd count is back to its baseline. */
#include "test_support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm_limits.h"
#include "platform/platform.h"

/* ------------------------------------------------------------ frame sink */

#define MAX_FRAMES 4096

typedef struct frame {
  uint8_t *bytes;
  size_t num_bytes;
  int fds[CM_MAX_OS_HANDLES_PER_FRAME];
  size_t num_fds;
} frame;

typedef struct sink {
  frame frames[MAX_FRAMES];
  size_t num_frames;
  MojoResult error;
  const char *why;
  int errors;
  int interest_changes;
  bool want_write;
  /* Optional: a transport to shut down from inside on_frame. */
  cm_platform_transport *shutdown_on_frame;
} sink;

static void sink_on_frame(void *ctx, const void *bytes, size_t n, cm_platform_handle *h,
                          size_t nh) {
  sink *s = ctx;
  assert_true(s->num_frames < MAX_FRAMES);
  /* Frames are padded to 8 bytes on the wire so payloads arrive aligned. */
  assert_int_equal((uintptr_t)bytes % 8, 0);
  frame *f = &s->frames[s->num_frames++];
  f->bytes = malloc(n ? n : 1);
  assert_non_null(f->bytes);
  if (n)
    memcpy(f->bytes, bytes, n);
  f->num_bytes = n;
  f->num_fds = nh;
  for (size_t i = 0; i < nh; i++) {
    f->fds[i] = cm_platform_handle_fd(h[i]);
    assert_true(f->fds[i] >= 0);
    h[i] = cm_platform_handle_invalid();
  }
  if (s->shutdown_on_frame)
    cm_platform_transport_shutdown(s->shutdown_on_frame);
}

static void sink_on_error(void *ctx, MojoResult reason, const char *why) {
  sink *s = ctx;
  s->errors++;
  s->error = reason;
  s->why = why;
}

static void sink_on_interest(void *ctx, bool want) {
  sink *s = ctx;
  s->interest_changes++;
  s->want_write = want;
}

static const cm_platform_transport_delegate kDelegate = {sink_on_frame, sink_on_error,
                                                         sink_on_interest};

static sink *sink_new(void) {
  sink *s = calloc(1, sizeof(*s));
  assert_non_null(s);
  return s;
}

/* Closes every fd the sink received and frees it. */
static void sink_free(sink *s) {
  for (size_t i = 0; i < s->num_frames; i++) {
    for (size_t j = 0; j < s->frames[i].num_fds; j++)
      close(s->frames[i].fds[j]);
    free(s->frames[i].bytes);
  }
  free(s);
}

static cm_platform_transport *transport_new(cm_platform_handle h, sink *s) {
  cm_platform_transport *t = NULL;
  assert_int_equal(cm_platform_transport_create(&h, &kDelegate, s, &t), MOJO_RESULT_OK);
  assert_false(cm_platform_handle_is_valid(h));
  return t;
}

/* ------------------------------------------------------------ pumping */

/* Runs the readiness loop over up to two transports until done(arg) or the
 * time runs out (then fails the test). */
static void pump(cm_platform_transport *a, cm_platform_transport *b, bool (*done)(void *),
                 void *arg) {
  cm_platform_transport *ts[2] = {a, b};
  for (int rounds = 0; rounds < 200000; rounds++) {
    if (done(arg))
      return;
    struct pollfd pfd[2];
    int n = 0;
    cm_platform_transport *which[2];
    for (int i = 0; i < 2; i++) {
      if (!ts[i])
        continue;
      pfd[n].fd = cm_platform_handle_fd(cm_platform_transport_handle(ts[i]));
      pfd[n].events = POLLIN | (cm_platform_transport_wants_write(ts[i]) ? POLLOUT : 0);
      which[n++] = ts[i];
    }
    int rc = poll(pfd, (nfds_t)n, 10);
    assert_true(rc >= 0 || errno == EINTR);
    for (int i = 0; i < n; i++) {
      if (pfd[i].revents & (POLLOUT | POLLERR))
        cm_platform_transport_on_writable(which[i]);
      if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
        cm_platform_transport_on_readable(which[i]);
    }
  }
  fail_msg("pump: condition not reached in time");
}

typedef struct want_frames {
  sink *s;
  size_t n;
} want_frames;

static bool have_frames(void *arg) {
  want_frames *w = arg;
  return w->s->num_frames >= w->n || w->s->errors;
}

static bool have_error(void *arg) {
  return ((sink *)arg)->errors > 0;
}

static void pump_frames(cm_platform_transport *a, cm_platform_transport *b, sink *s, size_t n) {
  want_frames w = {s, n};
  pump(a, b, have_frames, &w);
  assert_int_equal(s->errors, 0);
  assert_int_equal(s->num_frames, n);
}

/* ------------------------------------------------------------ fixtures */

typedef struct pair {
  cm_platform_transport *a, *b;
  sink *sa, *sb;
} pair;

static pair pair_new(void) {
  pair p;
  cm_platform_handle ha, hb;
  assert_int_equal(cm_platform_channel_create_pair(&ha, &hb), MOJO_RESULT_OK);
  p.sa = sink_new();
  p.sb = sink_new();
  p.a = transport_new(ha, p.sa);
  p.b = transport_new(hb, p.sb);
  return p;
}

static void pair_free(pair *p) {
  cm_platform_transport_destroy(p->a);
  cm_platform_transport_destroy(p->b);
  sink_free(p->sa);
  sink_free(p->sb);
}

/* A transport on one end and the raw socket of the other, for tests that
 * play a hostile or unusual peer. */
typedef struct raw_pair {
  cm_platform_transport *t;
  sink *s;
  int raw;
} raw_pair;

static raw_pair raw_pair_new(void) {
  raw_pair p;
  cm_platform_handle ha, hb;
  assert_int_equal(cm_platform_channel_create_pair(&ha, &hb), MOJO_RESULT_OK);
  p.s = sink_new();
  p.t = transport_new(ha, p.s);
  p.raw = cm_platform_handle_fd(hb);
  return p;
}

static void raw_pair_free(raw_pair *p) {
  cm_platform_transport_destroy(p->t);
  if (p->raw >= 0)
    close(p->raw);
  sink_free(p->s);
}

/* Builds a frame header as docs/transport.md describes it. */
static void make_header(uint8_t h[16], uint32_t total, uint16_t header_bytes, uint16_t num_fds) {
  memset(h, 0, 16);
  h[0] = (uint8_t)total, h[1] = (uint8_t)(total >> 8), h[2] = (uint8_t)(total >> 16),
  h[3] = (uint8_t)(total >> 24);
  h[4] = (uint8_t)header_bytes, h[5] = (uint8_t)(header_bytes >> 8);
  h[6] = (uint8_t)num_fds, h[7] = (uint8_t)(num_fds >> 8);
  h[8] = 1; /* version */
  h[9] = 0; /* type: data */
}

static void raw_send(int fd, const void *bytes, size_t n, const int *fds, size_t num_fds) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(CM_MAX_OS_HANDLES_PER_FRAME * sizeof(int))];
  } control;
  struct iovec iov = {(void *)bytes, n};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (num_fds) {
    memset(&control, 0, sizeof(control));
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(num_fds * sizeof(int));
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(num_fds * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, num_fds * sizeof(int));
  }
  ssize_t rc = sendmsg(fd, &msg, MSG_NOSIGNAL);
  assert_int_equal(rc, (ssize_t)n);
}

/* Makes n fds with distinct identities (pipe write ends; their read ends
 * are closed at once) and records each one's inode. */
static void make_fds(cm_platform_handle *h, ino_t *ino, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    close(p[0]);
    struct stat st;
    assert_int_equal(fstat(p[1], &st), 0);
    ino[i] = st.st_ino;
    h[i] = cm_platform_handle_from_fd(p[1]);
  }
}

static ino_t inode_of(int fd) {
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  return st.st_ino;
}

static void assert_cloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  assert_true(flags >= 0);
  assert_true(flags & FD_CLOEXEC);
}

/* ------------------------------------------------------------ round trips */

static void test_roundtrip_bytes(void **state) {
  (void)state;
  pair p = pair_new();
  static const size_t sizes[] = {0, 1, 7, 8, 15, 16, 4095, 4096, 65536, 1u << 20, 3u << 20};
  enum { N = sizeof(sizes) / sizeof(sizes[0]) };
  uint8_t *buf = malloc(3u << 20);
  assert_non_null(buf);
  for (size_t i = 0; i < (3u << 20); i++)
    buf[i] = (uint8_t)(i * 31 + 7);
  for (size_t i = 0; i < N; i++)
    assert_int_equal(cm_platform_transport_write(p.a, buf, sizes[i], NULL, 0), MOJO_RESULT_OK);
  pump_frames(p.a, p.b, p.sb, N);
  for (size_t i = 0; i < N; i++) {
    assert_int_equal(p.sb->frames[i].num_bytes, sizes[i]);
    assert_int_equal(p.sb->frames[i].num_fds, 0);
    if (sizes[i])
      assert_memory_equal(p.sb->frames[i].bytes, buf, sizes[i]);
  }
  /* And the other way. */
  assert_int_equal(cm_platform_transport_write(p.b, "pong", 4, NULL, 0), MOJO_RESULT_OK);
  pump_frames(p.b, p.a, p.sa, 1);
  assert_memory_equal(p.sa->frames[0].bytes, "pong", 4);
  free(buf);
  pair_free(&p);
}

static void roundtrip_fds(size_t n) {
  pair p = pair_new();
  cm_platform_handle h[CM_MAX_OS_HANDLES_PER_FRAME];
  ino_t ino[CM_MAX_OS_HANDLES_PER_FRAME];
  make_fds(h, ino, n);
  char msg[64];
  snprintf(msg, sizeof(msg), "%zu fds", n);
  assert_int_equal(cm_platform_transport_write(p.a, msg, strlen(msg), h, n), MOJO_RESULT_OK);
  for (size_t i = 0; i < n; i++)
    assert_false(cm_platform_handle_is_valid(h[i]));
  /* A frame without fds right behind it must not get any. */
  assert_int_equal(cm_platform_transport_write(p.a, "after", 5, NULL, 0), MOJO_RESULT_OK);
  pump_frames(p.a, p.b, p.sb, 2);
  frame *f = &p.sb->frames[0];
  assert_int_equal(f->num_bytes, strlen(msg));
  assert_memory_equal(f->bytes, msg, strlen(msg));
  assert_int_equal(f->num_fds, n);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(inode_of(f->fds[i]), ino[i]);
    assert_cloexec(f->fds[i]);
  }
  assert_int_equal(p.sb->frames[1].num_fds, 0);
  pair_free(&p);
}

static void test_fds_1(void **state) {
  (void)state;
  roundtrip_fds(1);
}
static void test_fds_128(void **state) {
  (void)state;
  roundtrip_fds(128);
}
static void test_fds_129(void **state) {
  (void)state;
  roundtrip_fds(129);
}
static void test_fds_253(void **state) {
  (void)state;
  roundtrip_fds(253);
}

static void test_fds_many_frames(void **state) {
  (void)state;
  /* Frames with 253, 0, 1, 129, 0, 128 fds back to back, so that one read
   * sees the end of one frame and the fds of the next. */
  static const size_t counts[] = {253, 0, 1, 129, 0, 128, 2};
  enum { N = sizeof(counts) / sizeof(counts[0]) };
  pair p = pair_new();
  ino_t ino[N][CM_MAX_OS_HANDLES_PER_FRAME];
  for (size_t i = 0; i < N; i++) {
    cm_platform_handle h[CM_MAX_OS_HANDLES_PER_FRAME];
    make_fds(h, ino[i], counts[i]);
    uint8_t body[40];
    memset(body, (int)i, sizeof(body));
    assert_int_equal(cm_platform_transport_write(p.a, body, 17 + i, h, counts[i]), MOJO_RESULT_OK);
  }
  pump_frames(p.a, p.b, p.sb, N);
  for (size_t i = 0; i < N; i++) {
    frame *f = &p.sb->frames[i];
    assert_int_equal(f->num_bytes, 17 + i);
    assert_int_equal(f->bytes[0], (uint8_t)i);
    assert_int_equal(f->num_fds, counts[i]);
    for (size_t j = 0; j < counts[i]; j++)
      assert_int_equal(inode_of(f->fds[j]), ino[i][j]);
  }
  pair_free(&p);
}

static void test_write_refuses_bad_arguments(void **state) {
  (void)state;
  pair p = pair_new();
  cm_platform_handle h[CM_MAX_OS_HANDLES_PER_FRAME + 1];
  ino_t ino[CM_MAX_OS_HANDLES_PER_FRAME + 1];
  make_fds(h, ino, CM_MAX_OS_HANDLES_PER_FRAME + 1);
  /* Too many: refused, and the caller keeps every handle. */
  assert_int_equal(cm_platform_transport_write(p.a, "x", 1, h, CM_MAX_OS_HANDLES_PER_FRAME + 1),
                   MOJO_RESULT_RESOURCE_EXHAUSTED);
  for (size_t i = 0; i <= CM_MAX_OS_HANDLES_PER_FRAME; i++) {
    assert_true(cm_platform_handle_is_valid(h[i]));
    assert_int_equal(cm_platform_handle_check(h[i]), MOJO_RESULT_OK);
  }
  /* An invalid entry: refused, nothing taken. */
  cm_platform_handle bad[2] = {h[0], cm_platform_handle_invalid()};
  assert_int_equal(cm_platform_transport_write(p.a, "x", 1, bad, 2), MOJO_RESULT_INVALID_ARGUMENT);
  assert_true(cm_platform_handle_is_valid(bad[0]));
  assert_int_equal(cm_platform_transport_write(p.a, NULL, 1, NULL, 0),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_platform_transport_write(p.a, "x", 1, NULL, 1), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_platform_transport_write(NULL, "x", 1, NULL, 0),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(
      cm_platform_transport_write(p.a, "x", (size_t)CM_MAX_FRAME_PAYLOAD_BYTES + 1, NULL, 0),
      MOJO_RESULT_RESOURCE_EXHAUSTED);
  for (size_t i = 0; i <= CM_MAX_OS_HANDLES_PER_FRAME; i++)
    cm_platform_handle_close(&h[i]);
  /* Nothing reached the peer. */
  assert_int_equal(cm_platform_transport_write(p.a, "ok", 2, NULL, 0), MOJO_RESULT_OK);
  pump_frames(p.a, p.b, p.sb, 1);
  assert_int_equal(p.sb->frames[0].num_bytes, 2);
  pair_free(&p);
}

static void test_create_refuses_non_sockets(void **state) {
  (void)state;
  int pp[2];
  assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
  sink *s = sink_new();
  cm_platform_transport *t = NULL;
  cm_platform_handle h = cm_platform_handle_from_fd(pp[0]);
  /* Not a socket: refused, and the handle is consumed (closed). */
  assert_int_equal(cm_platform_transport_create(&h, &kDelegate, s, &t),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_false(cm_platform_handle_is_valid(h));
  assert_null(t);
  assert_int_equal(fcntl(pp[0], F_GETFD), -1);
  close(pp[1]);
  /* A datagram socket is not a channel endpoint either. */
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
  h = cm_platform_handle_from_fd(sv[0]);
  assert_int_equal(cm_platform_transport_create(&h, &kDelegate, s, &t),
                   MOJO_RESULT_INVALID_ARGUMENT);
  close(sv[1]);
  /* A listening socket is not a channel endpoint. */
  char dir[] = "/tmp/cmojo-transport-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof(path), "%s/l.sock", dir);
  cm_platform_handle l;
  assert_int_equal(cm_platform_channel_listen(path, &l), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_transport_create(&l, &kDelegate, s, &t),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_false(cm_platform_handle_is_valid(l));
  assert_int_equal(cm_platform_channel_unlink(path), MOJO_RESULT_OK);
  assert_int_equal(rmdir(dir), 0);
  /* Missing callbacks. */
  cm_platform_handle a, b;
  assert_int_equal(cm_platform_channel_create_pair(&a, &b), MOJO_RESULT_OK);
  cm_platform_transport_delegate d = {sink_on_frame, NULL, NULL};
  assert_int_equal(cm_platform_transport_create(&a, &d, s, &t), MOJO_RESULT_INVALID_ARGUMENT);
  assert_false(cm_platform_handle_is_valid(a));
  cm_platform_handle_close(&b);
  sink_free(s);
}

/* ------------------------------------------------------------ the queue */

static void test_queue_fill_and_drain(void **state) {
  (void)state;
  pair p = pair_new();
  enum { kChunk = 64 * 1024 };
  uint8_t *buf = malloc(kChunk);
  assert_non_null(buf);
  /* Write without reading until the kernel refuses and frames queue up. */
  size_t n = 0;
  while (!cm_platform_transport_wants_write(p.a)) {
    memset(buf, (int)n, kChunk);
    assert_int_equal(cm_platform_transport_write(p.a, buf, kChunk, NULL, 0), MOJO_RESULT_OK);
    n++;
    assert_true(n < 1000);
  }
  assert_true(p.sa->want_write);
  assert_int_equal(p.sa->interest_changes, 1);
  /* More frames (with fds) go behind the queue, in order. */
  cm_platform_handle h[3];
  ino_t ino[3];
  make_fds(h, ino, 3);
  for (int i = 0; i < 20; i++) {
    memset(buf, (int)n, kChunk);
    assert_int_equal(
        cm_platform_transport_write(p.a, buf, kChunk, i == 5 ? h : NULL, i == 5 ? 3 : 0),
        MOJO_RESULT_OK);
    n++;
  }
  pump_frames(p.a, p.b, p.sb, n);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(p.sb->frames[i].num_bytes, kChunk);
    assert_int_equal(p.sb->frames[i].bytes[0], (uint8_t)i);
    assert_int_equal(p.sb->frames[i].bytes[kChunk - 1], (uint8_t)i);
  }
  size_t with_fds = n - 20 + 5;
  assert_int_equal(p.sb->frames[with_fds].num_fds, 3);
  for (int i = 0; i < 3; i++)
    assert_int_equal(inode_of(p.sb->frames[with_fds].fds[i]), ino[i]);
  /* Drained: no more interest in writability. */
  for (int i = 0; i < 100 && cm_platform_transport_wants_write(p.a); i++)
    cm_platform_transport_on_writable(p.a);
  assert_false(cm_platform_transport_wants_write(p.a));
  assert_false(p.sa->want_write);
  assert_int_equal(p.sa->interest_changes, 2);
  free(buf);
  pair_free(&p);
}

/* ------------------------------------------------------------ raw streams */

/* Builds `count` frames back to back into out (returned length); frame i has
 * a payload of i*3 bytes of value i. */
static size_t build_stream(uint8_t *out, int count) {
  size_t len = 0;
  for (int i = 0; i < count; i++) {
    size_t body = (size_t)i * 3;
    make_header(out + len, (uint32_t)(16 + body), 16, 0);
    len += 16;
    memset(out + len, i, body);
    len += body;
    while (len % 8) /* padding */
      out[len++] = 0;
  }
  return len;
}

static void check_stream_frames(sink *s, int count) {
  assert_int_equal(s->errors, 0);
  assert_int_equal(s->num_frames, (size_t)count);
  for (int i = 0; i < count; i++) {
    assert_int_equal(s->frames[i].num_bytes, (size_t)i * 3);
    for (size_t j = 0; j < s->frames[i].num_bytes; j++)
      assert_int_equal(s->frames[i].bytes[j], (uint8_t)i);
  }
}

static void drain_readable(cm_platform_transport *t) {
  /* A socketpair delivers what was sent before send() returned. */
  cm_platform_transport_on_readable(t);
}

static void test_split_at_every_byte(void **state) {
  (void)state;
  enum { kFrames = 12 };
  uint8_t stream[4096];
  size_t len = build_stream(stream, kFrames);
  for (size_t cut = 0; cut <= len; cut++) {
    raw_pair p = raw_pair_new();
    if (cut)
      raw_send(p.raw, stream, cut, NULL, 0);
    drain_readable(p.t);
    if (cut < len)
      raw_send(p.raw, stream + cut, len - cut, NULL, 0);
    drain_readable(p.t);
    check_stream_frames(p.s, kFrames);
    raw_pair_free(&p);
  }
  /* One byte at a time. */
  raw_pair p = raw_pair_new();
  for (size_t i = 0; i < len; i++) {
    raw_send(p.raw, stream + i, 1, NULL, 0);
    drain_readable(p.t);
  }
  check_stream_frames(p.s, kFrames);
  /* The peer leaving at a frame boundary is a plain disconnect. */
  close(p.raw);
  p.raw = -1;
  drain_readable(p.t);
  assert_int_equal(p.s->errors, 1);
  assert_int_equal(p.s->error, MOJO_RESULT_FAILED_PRECONDITION);
  assert_string_equal(p.s->why, "peer closed the connection");
  raw_pair_free(&p);
}

static void test_fds_split_across_reads(void **state) {
  (void)state;
  /* One frame announcing 3 fds, sent as: header byte 0 with 2 fds, bytes
   * one by one, and the third fd with the last byte. Legal: every fd comes
   * with or before the bytes that complete its frame. */
  raw_pair p = raw_pair_new();
  uint8_t fr[16 + 5 + 3] = {0}; /* + padding to 8 */
  make_header(fr, 16 + 5, 16, 3);
  memcpy(fr + 16, "hello", 5);
  cm_platform_handle h[3];
  ino_t ino[3];
  make_fds(h, ino, 3);
  int fds[3] = {cm_platform_handle_fd(h[0]), cm_platform_handle_fd(h[1]),
                cm_platform_handle_fd(h[2])};
  raw_send(p.raw, fr, 1, fds, 2);
  drain_readable(p.t);
  for (size_t i = 1; i < sizeof(fr) - 1; i++) {
    raw_send(p.raw, fr + i, 1, NULL, 0);
    drain_readable(p.t);
  }
  assert_int_equal(p.s->num_frames, 0);
  raw_send(p.raw, fr + sizeof(fr) - 1, 1, fds + 2, 1);
  drain_readable(p.t);
  assert_int_equal(p.s->errors, 0);
  assert_int_equal(p.s->num_frames, 1);
  assert_int_equal(p.s->frames[0].num_fds, 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(inode_of(p.s->frames[0].fds[i]), ino[i]);
    cm_platform_handle_close(&h[i]);
  }
  raw_pair_free(&p);
}

/* ------------------------------------------------------------ hostile peers */

typedef struct hostile_case {
  const char *name;
  uint32_t total;
  uint16_t header_bytes;
  uint16_t num_fds;
  uint8_t version, type, reserved;
  size_t send_bytes;   /* bytes of the frame actually sent */
  size_t fds_attached; /* fds sent with the first byte */
  bool close_after;    /* EOF after the bytes */
  MojoResult reason;
  const char *why;
} hostile_case;

static const hostile_case kHostile[] = {
    {"total below header", 8, 16, 0, 1, 0, 0, 16, 0, false, MOJO_RESULT_INVALID_ARGUMENT,
     "frame header: total size smaller than the header"},
    {"header size 8", 24, 8, 0, 1, 0, 0, 16, 0, false, MOJO_RESULT_INVALID_ARGUMENT,
     "frame header: header size too small or not a multiple of 8"},
    {"header size 20", 40, 20, 0, 1, 0, 0, 16, 0, false, MOJO_RESULT_INVALID_ARGUMENT,
     "frame header: header size too small or not a multiple of 8"},
    {"header beyond total", 20, 24, 0, 1, 0, 0, 16, 0, false, MOJO_RESULT_INVALID_ARGUMENT,
     "frame header: total size smaller than the header"},
    {"4 GiB frame", 0xffffffffu, 16, 0, 1, 0, 0, 16, 0, false, MOJO_RESULT_INVALID_ARGUMENT,
     "frame header: payload larger than the frame size limit"},
    {"just over the limit", (uint32_t)(CM_MAX_FRAME_PAYLOAD_BYTES + 17), 16, 0, 1, 0, 0, 16, 0,
     false, MOJO_RESULT_INVALID_ARGUMENT, "frame header: payload larger than the frame size limit"},
    {"254 handles", 16, 16, 254, 1, 0, 0, 16, 0, false, MOJO_RESULT_INVALID_ARGUMENT,
     "frame header: more handles than a frame may carry"},
    {"version 2", 16, 16, 0, 2, 0, 0, 16, 0, false, MOJO_RESULT_INVALID_ARGUMENT,
     "frame header: unknown version"},
    {"type 7", 16, 16, 0, 1, 7, 0, 16, 0, false, MOJO_RESULT_INVALID_ARGUMENT,
     "frame header: unknown frame type"},
    {"reserved byte", 16, 16, 0, 1, 0, 1, 16, 0, false, MOJO_RESULT_INVALID_ARGUMENT,
     "frame header: reserved bytes not zero"},
    {"fewer fds than announced", 32, 16, 3, 1, 0, 0, 32, 2, false, MOJO_RESULT_INVALID_ARGUMENT,
     "fewer handles received than the frame announces"},
    {"fds but none announced", 32, 16, 0, 1, 0, 0, 32, 2, false, MOJO_RESULT_INVALID_ARGUMENT,
     "more handles received than the frame announces"},
    {"fds with a partial header, then EOF", 32, 16, 0, 1, 0, 0, 3, 1, true,
     MOJO_RESULT_FAILED_PRECONDITION, "peer closed the connection in a frame"},
    {"more fds than announced, frame open", 64, 16, 1, 1, 0, 0, 20, 2, false,
     MOJO_RESULT_INVALID_ARGUMENT, "more handles received than the frame announces"},
    {"truncated frame at EOF", 64, 16, 0, 1, 0, 0, 30, 0, true, MOJO_RESULT_FAILED_PRECONDITION,
     "peer closed the connection in a frame"},
    {"truncated header at EOF, with fds", 64, 16, 2, 1, 0, 0, 5, 2, true,
     MOJO_RESULT_FAILED_PRECONDITION, "peer closed the connection in a frame"},
    {"header complete, fds pending, EOF", 64, 16, 2, 1, 0, 0, 16, 2, true,
     MOJO_RESULT_FAILED_PRECONDITION, "peer closed the connection in a frame"},
};

static void test_hostile_frames(void **state) {
  (void)state;
  for (size_t c = 0; c < sizeof(kHostile) / sizeof(kHostile[0]); c++) {
    const hostile_case *hc = &kHostile[c];
    print_message("hostile: %s\n", hc->name);
    int before = cm_test_count_open_fds();
    raw_pair p = raw_pair_new();
    uint8_t bytes[64] = {0};
    make_header(bytes, hc->total, hc->header_bytes, hc->num_fds);
    bytes[8] = hc->version;
    bytes[9] = hc->type;
    bytes[15] = hc->reserved;
    cm_platform_handle h[4];
    ino_t ino[4];
    int fds[4];
    make_fds(h, ino, hc->fds_attached);
    for (size_t i = 0; i < hc->fds_attached; i++)
      fds[i] = cm_platform_handle_fd(h[i]);
    raw_send(p.raw, bytes, hc->send_bytes, fds, hc->fds_attached);
    for (size_t i = 0; i < hc->fds_attached; i++)
      cm_platform_handle_close(&h[i]);
    if (hc->close_after) {
      close(p.raw);
      p.raw = -1;
    }
    cm_platform_transport_on_readable(p.t);
    assert_int_equal(p.s->errors, 1);
    assert_int_equal(p.s->error, hc->reason);
    assert_string_equal(p.s->why, hc->why);
    assert_int_equal(p.s->num_frames, 0);
    /* Nothing more happens after the error. */
    cm_platform_transport_on_readable(p.t);
    cm_platform_transport_on_writable(p.t);
    assert_int_equal(p.s->errors, 1);
    raw_pair_free(&p);
    assert_int_equal(cm_test_count_open_fds(), before);
  }
}

static void test_padding_must_be_zero(void **state) {
  (void)state;
  /* A 20-byte frame occupies 24 bytes; padding bytes other than zero are a
   * malformed frame. And a frame is not delivered before its padding is in. */
  raw_pair p = raw_pair_new();
  uint8_t fr[48] = {0};
  make_header(fr, 20, 16, 0);
  memcpy(fr + 16, "abcd", 4);
  raw_send(p.raw, fr, 20, NULL, 0);
  cm_platform_transport_on_readable(p.t);
  assert_int_equal(p.s->num_frames, 0);
  raw_send(p.raw, fr + 20, 4, NULL, 0);
  cm_platform_transport_on_readable(p.t);
  assert_int_equal(p.s->num_frames, 1);
  assert_int_equal(p.s->frames[0].num_bytes, 4);
  make_header(fr + 24, 20, 16, 0);
  fr[24 + 22] = 0x55;
  raw_send(p.raw, fr + 24, 24, NULL, 0);
  cm_platform_transport_on_readable(p.t);
  assert_int_equal(p.s->num_frames, 1);
  assert_int_equal(p.s->errors, 1);
  assert_int_equal(p.s->error, MOJO_RESULT_INVALID_ARGUMENT);
  assert_string_equal(p.s->why, "frame padding not zero");
  raw_pair_free(&p);
}

static void test_fds_arriving_after_their_frame(void **state) {
  (void)state;
  /* Frame 1 announces 1 fd but its bytes come alone; the fd arrives with
   * the next frame's first byte: too late. */
  raw_pair p = raw_pair_new();
  uint8_t fr[32];
  make_header(fr, 16, 16, 1);
  make_header(fr + 16, 16, 16, 0);
  raw_send(p.raw, fr, 16, NULL, 0);
  /* Read frame 1 on its own (one read could otherwise take frame 2's fd
   * along, which no receiver can tell from an fd sent with frame 1). */
  cm_platform_transport_on_readable(p.t);
  cm_platform_handle h[1];
  ino_t ino[1];
  make_fds(h, ino, 1);
  int fd = cm_platform_handle_fd(h[0]);
  raw_send(p.raw, fr + 16, 16, &fd, 1);
  cm_platform_handle_close(&h[0]);
  cm_platform_transport_on_readable(p.t);
  assert_int_equal(p.s->errors, 1);
  assert_int_equal(p.s->error, MOJO_RESULT_INVALID_ARGUMENT);
  assert_string_equal(p.s->why, "fewer handles received than the frame announces");
  assert_int_equal(p.s->num_frames, 0);
  raw_pair_free(&p);
}

static void test_ctrunc_closes_what_arrived(void **state) {
  (void)state;
  /* The receiver's control buffer holds CM_MAX_OS_HANDLES_PER_SENDMSG fds;
   * a peer passing more in one sendmsg gets them truncated by the kernel. */
  enum { kFds = 200 };
  int before = cm_test_count_open_fds();
  raw_pair p = raw_pair_new();
  uint8_t fr[16];
  make_header(fr, 16, 16, kFds);
  cm_platform_handle h[kFds];
  ino_t ino[kFds];
  int fds[kFds];
  make_fds(h, ino, kFds);
  for (int i = 0; i < kFds; i++)
    fds[i] = cm_platform_handle_fd(h[i]);
  raw_send(p.raw, fr, sizeof(fr), fds, kFds);
  for (int i = 0; i < kFds; i++)
    cm_platform_handle_close(&h[i]);
  cm_platform_transport_on_readable(p.t);
  assert_int_equal(p.s->errors, 1);
  assert_int_equal(p.s->error, MOJO_RESULT_RESOURCE_EXHAUSTED);
  assert_string_equal(p.s->why, "handles truncated by the kernel (control buffer too small)");
  assert_int_equal(p.s->num_frames, 0);
  raw_pair_free(&p);
  assert_int_equal(cm_test_count_open_fds(), before);
}

/* Random streams: valid frames with random payloads and fds, cut at random
 * points, one frame in some streams corrupted (a header byte changed, or the
 * fds attached differing from the count announced), sometimes EOF at the end.
 * Whatever happens: the frames before the corrupted one arrive intact, at
 * most one error, nothing after it, and no fd leaks. */
static uint64_t next_rand(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

static void test_random_hostile_streams(void **state) {
  (void)state;
  uint64_t seed = cm_test_seed(0x5eed7a45u);
  print_message("seed %llu (CMOJO_TEST_SEED)\n", (unsigned long long)seed);
  uint64_t rnd = seed | 1;
  enum { kIters = 400, kMaxFrames = 12 };
  for (int iter = 0; iter < kIters; iter++) {
    int before = cm_test_count_open_fds();
    raw_pair p = raw_pair_new();
    int frames = 1 + (int)(next_rand(&rnd) % kMaxFrames);
    int bad = next_rand(&rnd) % 2 ? (int)(next_rand(&rnd) % (uint64_t)frames) : -1;
    uint8_t payload[600];
    for (int f = 0; f < frames; f++) {
      size_t n = next_rand(&rnd) % 500;
      size_t total = 16 + n, wire = (total + 7) & ~(size_t)7;
      uint8_t buf[16 + 600] = {0};
      size_t nfds = next_rand(&rnd) % 4 == 0 ? next_rand(&rnd) % 5 : 0;
      make_header(buf, (uint32_t)total, 16, (uint16_t)nfds);
      for (size_t i = 0; i < n; i++)
        payload[i] = buf[16 + i] = (uint8_t)(f * 7 + i);
      size_t attach = nfds;
      if (f == bad) {
        switch (next_rand(&rnd) % 3) {
          case 0: /* one header byte changed */
            buf[next_rand(&rnd) % 16] ^= (uint8_t)(1 + next_rand(&rnd) % 255);
            break;
          case 1: /* one fd more than announced */
            attach = nfds + 1;
            break;
          default: /* one fd fewer (or one byte of padding when there are none) */
            if (nfds)
              attach = nfds - 1;
            else if (wire > total)
              buf[total] = 1;
            else
              attach = 1;
            break;
        }
      }
      cm_platform_handle h[6];
      ino_t ino[6];
      int fds[6];
      make_fds(h, ino, attach);
      for (size_t i = 0; i < attach; i++)
        fds[i] = cm_platform_handle_fd(h[i]);
      /* Cut the frame at up to three random points; fds ride on piece one. */
      size_t cut1 = next_rand(&rnd) % wire, cut2 = cut1 + next_rand(&rnd) % (wire - cut1);
      if (cut1 == 0)
        cut1 = 1 < wire ? 1 : wire;
      if (cut2 < cut1)
        cut2 = cut1;
      raw_send(p.raw, buf, cut1, fds, attach);
      for (size_t i = 0; i < attach; i++)
        cm_platform_handle_close(&h[i]);
      if (next_rand(&rnd) % 2)
        cm_platform_transport_on_readable(p.t);
      if (cut2 > cut1)
        raw_send(p.raw, buf + cut1, cut2 - cut1, NULL, 0);
      if (wire > cut2)
        raw_send(p.raw, buf + cut2, wire - cut2, NULL, 0);
      if (next_rand(&rnd) % 2)
        cm_platform_transport_on_readable(p.t);
      /* Frames before the bad one arrive intact and in order. */
      if (bad < 0 || f < bad) {
        cm_platform_transport_on_readable(p.t);
        assert_int_equal(p.s->errors, 0);
        assert_int_equal(p.s->num_frames, (size_t)f + 1);
        assert_int_equal(p.s->frames[f].num_bytes, n);
        assert_int_equal(p.s->frames[f].num_fds, nfds);
        if (n)
          assert_memory_equal(p.s->frames[f].bytes, payload, n);
        for (size_t i = 0; i < nfds; i++)
          assert_int_equal(inode_of(p.s->frames[f].fds[i]), ino[i]);
      }
    }
    bool eof = next_rand(&rnd) % 2;
    if (eof) {
      close(p.raw);
      p.raw = -1;
    }
    cm_platform_transport_on_readable(p.t);
    assert_true(p.s->errors <= 1);
    if (bad < 0 && !eof)
      assert_int_equal(p.s->errors, 0);
    if (eof)
      assert_int_equal(p.s->errors, 1);
    assert_true(p.s->num_frames >= (size_t)(bad < 0 ? frames : bad));
    raw_pair_free(&p);
    assert_int_equal(cm_test_count_open_fds(), before);
  }
}

/* ------------------------------------------------------------ lifecycle */

static void test_shutdown(void **state) {
  (void)state;
  pair p = pair_new();
  /* Shut down from inside on_frame: the frame behind it is not delivered. */
  p.sb->shutdown_on_frame = p.b;
  assert_int_equal(cm_platform_transport_write(p.a, "one", 3, NULL, 0), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_transport_write(p.a, "two", 3, NULL, 0), MOJO_RESULT_OK);
  cm_platform_transport_on_readable(p.b);
  assert_int_equal(p.sb->num_frames, 1);
  cm_platform_transport_on_readable(p.b);
  assert_int_equal(p.sb->num_frames, 1);
  assert_int_equal(p.sb->errors, 0);
  /* Writes after shutdown fail and close the handles they were given. */
  cm_platform_handle h[1];
  ino_t ino[1];
  make_fds(h, ino, 1);
  int fd = cm_platform_handle_fd(h[0]);
  assert_int_equal(cm_platform_transport_write(p.b, "x", 1, h, 1), MOJO_RESULT_FAILED_PRECONDITION);
  assert_false(cm_platform_handle_is_valid(h[0]));
  assert_int_equal(fcntl(fd, F_GETFD), -1);
  /* The peer sees the connection end. */
  pump(p.a, NULL, have_error, p.sa);
  assert_int_equal(p.sa->error, MOJO_RESULT_FAILED_PRECONDITION);
  cm_platform_transport_shutdown(p.b); /* idempotent */
  pair_free(&p);
}

static void test_write_to_closed_peer(void **state) {
  (void)state;
  raw_pair p = raw_pair_new();
  close(p.raw);
  p.raw = -1;
  cm_platform_handle h[2];
  ino_t ino[2];
  make_fds(h, ino, 2);
  assert_int_equal(cm_platform_transport_write(p.t, "x", 1, h, 2), MOJO_RESULT_FAILED_PRECONDITION);
  assert_false(cm_platform_handle_is_valid(h[0]));
  /* The failure is reported from on_writable, once. */
  assert_true(cm_platform_transport_wants_write(p.t));
  cm_platform_transport_on_writable(p.t);
  assert_int_equal(p.s->errors, 1);
  assert_int_equal(p.s->error, MOJO_RESULT_FAILED_PRECONDITION);
  assert_false(cm_platform_transport_wants_write(p.t));
  cm_platform_transport_on_readable(p.t);
  assert_int_equal(p.s->errors, 1);
  assert_int_equal(cm_platform_transport_write(p.t, "x", 1, NULL, 0),
                   MOJO_RESULT_FAILED_PRECONDITION);
  raw_pair_free(&p);
}

static void test_destroy_with_queued_frames_and_pending_fds(void **state) {
  (void)state;
  pair p = pair_new();
  uint8_t *buf = calloc(1, 64 * 1024);
  assert_non_null(buf);
  cm_platform_handle h[5];
  ino_t ino[5];
  while (!cm_platform_transport_wants_write(p.a))
    assert_int_equal(cm_platform_transport_write(p.a, buf, 64 * 1024, NULL, 0), MOJO_RESULT_OK);
  make_fds(h, ino, 5);
  assert_int_equal(cm_platform_transport_write(p.a, buf, 100, h, 5), MOJO_RESULT_OK);
  /* B reads part of the stream (its fds are still on their way or queued). */
  cm_platform_transport_on_readable(p.b);
  free(buf);
  pair_free(&p); /* the fixture checks that the queued fds were closed */
}

/* ------------------------------------------------------------ credentials */

static void test_peer_credentials(void **state) {
  (void)state;
  pair p = pair_new();
  cm_platform_peer_credentials c;
  assert_int_equal(cm_platform_transport_peer_credentials(p.a, &c), MOJO_RESULT_OK);
  /* A socketpair records its creator: this process, on both ends. */
  assert_int_equal(c.pid, getpid());
  assert_int_equal(c.uid, getuid());
  assert_int_equal(c.gid, getgid());
  assert_true(cm_platform_handle_is_valid(c.pidfd));
  assert_cloexec(cm_platform_handle_fd(c.pidfd));
  print_message("pidfd exact (SO_PEERPIDFD): %d\n", c.pidfd_exact);
  assert_int_equal(cm_platform_transport_peer_credentials(p.a, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_platform_transport_peer_credentials(NULL, &c), MOJO_RESULT_INVALID_ARGUMENT);
  pair_free(&p);
}

/* ------------------------------------------------------------ switch */

static void test_switch_format_and_parse(void **state) {
  (void)state;
  cm_platform_handle a, b;
  assert_int_equal(cm_platform_channel_create_pair(&a, &b), MOJO_RESULT_OK);
  assert_cloexec(cm_platform_handle_fd(a));
  assert_cloexec(cm_platform_handle_fd(b));
  char sw[64];
  assert_int_equal(cm_platform_channel_format_switch(b, sw, sizeof(sw)), MOJO_RESULT_OK);
  char expect[64];
  snprintf(expect, sizeof(expect), "--mojo-platform-channel-handle=%d", cm_platform_handle_fd(b));
  assert_string_equal(sw, expect);
  char tiny[8];
  assert_int_equal(cm_platform_channel_format_switch(b, tiny, sizeof(tiny)),
                   MOJO_RESULT_RESOURCE_EXHAUSTED);
  assert_int_equal(cm_platform_channel_format_switch(cm_platform_handle_invalid(), sw, sizeof(sw)),
                   MOJO_RESULT_INVALID_ARGUMENT);
  /* Parsing gives the same fd back, close-on-exec again. */
  assert_int_equal(cm_platform_channel_prepare_for_exec(b), MOJO_RESULT_OK);
  assert_false(fcntl(cm_platform_handle_fd(b), F_GETFD) & FD_CLOEXEC);
  char *argv[] = {"prog", "--other", sw, NULL};
  cm_platform_handle got;
  assert_int_equal(cm_platform_channel_from_switch(3, argv, &got), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_handle_fd(got), cm_platform_handle_fd(b));
  assert_cloexec(cm_platform_handle_fd(got));
  /* Missing, malformed, or naming something that is not a channel. */
  char *none[] = {"prog", NULL};
  assert_int_equal(cm_platform_channel_from_switch(1, none, &got), MOJO_RESULT_NOT_FOUND);
  static char *bad_values[] = {
      "--mojo-platform-channel-handle=", "--mojo-platform-channel-handle=-1",
      "--mojo-platform-channel-handle=3x", "--mojo-platform-channel-handle=99999999999",
      "--mojo-platform-channel-handle=1000000"};
  for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
    char *v[] = {"prog", bad_values[i], NULL};
    assert_int_equal(cm_platform_channel_from_switch(2, v, &got), MOJO_RESULT_INVALID_ARGUMENT);
  }
  int pp[2];
  assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
  char pipe_sw[64];
  snprintf(pipe_sw, sizeof(pipe_sw), "--mojo-platform-channel-handle=%d", pp[0]);
  char *v[] = {"prog", pipe_sw, NULL};
  assert_int_equal(cm_platform_channel_from_switch(2, v, &got), MOJO_RESULT_INVALID_ARGUMENT);
  close(pp[0]);
  close(pp[1]);
  cm_platform_handle_close(&a);
  cm_platform_handle_close(&b);
}

/* ------------------------------------------------------------ child processes */

static char g_self[4096];

/* Child roles, selected by argv[1]. */
#define ROLE_ECHO "--transport-child=echo"
#define ROLE_CONNECT "--transport-child=connect"
#define ROLE_HALF "--transport-child=half-frame"

/* Blocks until the transport delivered a frame or failed. */
static void child_wait(cm_platform_transport *t, sink *s, size_t frames) {
  while (s->num_frames < frames && !s->errors) {
    struct pollfd pfd = {cm_platform_handle_fd(cm_platform_transport_handle(t)),
                         (short)(POLLIN | (cm_platform_transport_wants_write(t) ? POLLOUT : 0)), 0};
    if (poll(&pfd, 1, 10000) <= 0)
      _exit(90);
    if (pfd.revents & POLLOUT)
      cm_platform_transport_on_writable(t);
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
      cm_platform_transport_on_readable(t);
  }
}

static void child_flush(cm_platform_transport *t, sink *s) {
  while (cm_platform_transport_wants_write(t) && !s->errors) {
    struct pollfd pfd = {cm_platform_handle_fd(cm_platform_transport_handle(t)), POLLOUT, 0};
    if (poll(&pfd, 1, 10000) <= 0)
      _exit(91);
    cm_platform_transport_on_writable(t);
  }
}

/* Number of fds above 2, other than `except`, open without close-on-exec:
 * what a child would inherit from us (or, in a child, what it did). */
static int count_inherited_fds(int except) {
  int n = 0;
  for (int fd = 3; fd < 4096; fd++) {
    if (fd == except)
      continue;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC))
      n++;
  }
  return n;
}

/* Echoes every frame (bytes and fds) back, prefixed with a report of the
 * child's view: whether its end arrived close-on-exec, and its pid. Exits
 * 0 when the parent closes the connection. */
static int child_echo(int argc, char **argv) {
  cm_platform_handle h;
  if (cm_platform_channel_from_switch(argc, argv, &h) != MOJO_RESULT_OK)
    return 10;
  bool cloexec = fcntl(cm_platform_handle_fd(h), F_GETFD) & FD_CLOEXEC;
  int extra = count_inherited_fds(cm_platform_handle_fd(h));
  sink *s = calloc(1, sizeof(*s));
  cm_platform_transport *t = NULL;
  if (!s || cm_platform_transport_create(&h, &kDelegate, s, &t) != MOJO_RESULT_OK)
    return 11;
  char hello[64];
  int n =
      snprintf(hello, sizeof(hello), "child %d cloexec %d extra %d", (int)getpid(), cloexec, extra);
  if (cm_platform_transport_write(t, hello, (size_t)n, NULL, 0) != MOJO_RESULT_OK)
    return 12;
  for (size_t i = 0;; i++) {
    child_wait(t, s, i + 1);
    if (s->errors)
      break;
    frame *f = &s->frames[i];
    cm_platform_handle hs[CM_MAX_OS_HANDLES_PER_FRAME];
    for (size_t j = 0; j < f->num_fds; j++)
      hs[j] = cm_platform_handle_from_fd(f->fds[j]);
    if (cm_platform_transport_write(t, f->bytes, f->num_bytes, hs, f->num_fds) != MOJO_RESULT_OK)
      return 13;
    f->num_fds = 0; /* passed on */
    child_flush(t, s);
  }
  int rc = s->error == MOJO_RESULT_FAILED_PRECONDITION ? 0 : 14;
  cm_platform_transport_destroy(t);
  sink_free(s);
  return rc;
}

/* Connects to the named endpoint argv[2], says hello with its pid, waits
 * for one frame and exits. */
static int child_connect(int argc, char **argv) {
  if (argc < 3)
    return 20;
  cm_platform_handle h;
  if (cm_platform_channel_connect(argv[2], &h) != MOJO_RESULT_OK)
    return 21;
  sink *s = calloc(1, sizeof(*s));
  cm_platform_transport *t = NULL;
  if (!s || cm_platform_transport_create(&h, &kDelegate, s, &t) != MOJO_RESULT_OK)
    return 22;
  cm_platform_peer_credentials c;
  cm_platform_transport_peer_credentials(t, &c);
  char hello[64];
  int n = snprintf(hello, sizeof(hello), "%d %lld", (int)getpid(), (long long)c.pid);
  if (cm_platform_transport_write(t, hello, (size_t)n, NULL, 0) != MOJO_RESULT_OK)
    return 23;
  child_wait(t, s, 1);
  int rc = (s->num_frames == 1 && s->frames[0].num_bytes == 3) ? 0 : 24;
  cm_platform_transport_destroy(t);
  sink_free(s);
  return rc;
}

/* Writes half a frame (with an fd) and then waits to be killed. */
static int child_half_frame(int argc, char **argv) {
  cm_platform_handle h;
  if (cm_platform_channel_from_switch(argc, argv, &h) != MOJO_RESULT_OK)
    return 30;
  uint8_t fr[16 + 100] = {0};
  make_header(fr, 16 + 1000, 16, 1);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return 31;
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  memset(&control, 0, sizeof(control));
  struct iovec iov = {fr, sizeof(fr)};
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = control.buf,
                       .msg_controllen = sizeof(control.buf)};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &p[0], sizeof(int));
  if (sendmsg(cm_platform_handle_fd(h), &msg, MSG_NOSIGNAL) != (ssize_t)sizeof(fr))
    return 32;
  for (;;)
    pause();
}

/* Starts this binary in `role` with its end of a fresh pair inherited for
 * exactly this exec. Returns the child's pid; *parent_end is ours. */
static pid_t spawn_with_pair(const char *role, cm_platform_handle *parent_end) {
  cm_platform_handle mine, theirs;
  assert_int_equal(cm_platform_channel_create_pair(&mine, &theirs), MOJO_RESULT_OK);
  char sw[64];
  assert_int_equal(cm_platform_channel_format_switch(theirs, sw, sizeof(sw)), MOJO_RESULT_OK);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* Only async-signal-safe calls between fork and exec. */
    if (cm_platform_channel_prepare_for_exec(theirs) != MOJO_RESULT_OK)
      _exit(80);
    char *argv[] = {g_self, (char *)role, sw, NULL};
    execv(g_self, argv);
    _exit(81);
  }
  cm_platform_handle_close(&theirs);
  /* Our own end stayed close-on-exec. */
  assert_cloexec(cm_platform_handle_fd(mine));
  *parent_end = mine;
  return pid;
}

static int wait_child(pid_t pid) {
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

/* Starts the echo child through cm_platform_channel_spawn(). */
static pid_t spawn_echo(cm_platform_handle *parent_end) {
  cm_platform_handle mine, theirs;
  assert_int_equal(cm_platform_channel_create_pair(&mine, &theirs), MOJO_RESULT_OK);
  int theirs_fd = cm_platform_handle_fd(theirs);
  char *argv[] = {g_self, ROLE_ECHO, NULL};
  int64_t pid = -1;
  assert_int_equal(cm_platform_channel_spawn(g_self, argv, NULL, &theirs, &pid), MOJO_RESULT_OK);
  assert_false(cm_platform_handle_is_valid(theirs));
  assert_int_equal(fcntl(theirs_fd, F_GETFD), -1); /* our copy is closed */
  assert_true(pid > 0);
  *parent_end = mine;
  return (pid_t)pid;
}

static void echo_with_child(pid_t (*start)(cm_platform_handle *)) {
  int inheritable = count_inherited_fds(-1);
  cm_platform_handle h;
  pid_t pid = start(&h);
  sink *s = sink_new();
  cm_platform_transport *t = transport_new(h, s);
  pump_frames(t, NULL, s, 1);
  /* The child got its end inheritable (and made it close-on-exec again),
   * and inherited nothing else of ours beyond what was inheritable. */
  char expect[64];
  snprintf(expect, sizeof(expect), "child %d cloexec 1 extra %d", (int)pid, inheritable);
  assert_int_equal(s->frames[0].num_bytes, strlen(expect));
  assert_memory_equal(s->frames[0].bytes, expect, strlen(expect));
  /* Frames with 0, 1, 129 and 253 fds go there and back. */
  static const size_t counts[] = {0, 1, 129, 253};
  ino_t ino[4][CM_MAX_OS_HANDLES_PER_FRAME];
  uint8_t *big = malloc(1u << 20);
  assert_non_null(big);
  for (size_t i = 0; i < (1u << 20); i++)
    big[i] = (uint8_t)(i ^ (i >> 8));
  for (size_t i = 0; i < 4; i++) {
    cm_platform_handle hs[CM_MAX_OS_HANDLES_PER_FRAME];
    make_fds(hs, ino[i], counts[i]);
    size_t n = i == 3 ? (1u << 20) : 100 + i;
    assert_int_equal(cm_platform_transport_write(t, big, n, hs, counts[i]), MOJO_RESULT_OK);
  }
  pump_frames(t, NULL, s, 5);
  for (size_t i = 0; i < 4; i++) {
    frame *f = &s->frames[i + 1];
    size_t n = i == 3 ? (1u << 20) : 100 + i;
    assert_int_equal(f->num_bytes, n);
    assert_memory_equal(f->bytes, big, n);
    assert_int_equal(f->num_fds, counts[i]);
    for (size_t j = 0; j < counts[i]; j++)
      assert_int_equal(inode_of(f->fds[j]), ino[i][j]);
  }
  free(big);
  /* Closing our end ends the child cleanly. */
  cm_platform_transport_destroy(t);
  int status = wait_child(pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  sink_free(s);
}

static pid_t fork_echo(cm_platform_handle *parent_end) {
  return spawn_with_pair(ROLE_ECHO, parent_end);
}

static void test_child_process_echo_fork(void **state) {
  (void)state;
  echo_with_child(fork_echo);
}

static void test_child_process_echo_spawn(void **state) {
  (void)state;
  echo_with_child(spawn_echo);
}

static void test_spawn_errors(void **state) {
  (void)state;
  cm_platform_handle a, b;
  assert_int_equal(cm_platform_channel_create_pair(&a, &b), MOJO_RESULT_OK);
  char *argv[] = {"/nonexistent/cmojo-child", NULL};
  int64_t pid = 0;
  /* No such program: an error, and the child end is closed anyway. */
  assert_int_equal(cm_platform_channel_spawn(argv[0], argv, NULL, &b, &pid), MOJO_RESULT_NOT_FOUND);
  assert_false(cm_platform_handle_is_valid(b));
  assert_int_equal(pid, 0);
  cm_platform_handle none = cm_platform_handle_invalid();
  assert_int_equal(cm_platform_channel_spawn(g_self, argv, NULL, &none, &pid),
                   MOJO_RESULT_INVALID_ARGUMENT);
  cm_platform_handle_close(&a);
}

static void test_named_endpoint_with_unrelated_process(void **state) {
  (void)state;
  char dir[] = "/tmp/cmojo-transport-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof(path), "%s/endpoint.sock", dir);
  cm_platform_handle listener;
  assert_int_equal(cm_platform_channel_listen(path, &listener), MOJO_RESULT_OK);
  assert_cloexec(cm_platform_handle_fd(listener));
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISSOCK(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0600);
  /* Nobody waiting yet. */
  cm_platform_handle conn;
  assert_int_equal(cm_platform_channel_accept(listener, &conn), MOJO_RESULT_SHOULD_WAIT);

  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char *argv[] = {g_self, ROLE_CONNECT, path, NULL};
    execv(g_self, argv);
    _exit(81);
  }
  struct pollfd pfd = {cm_platform_handle_fd(listener), POLLIN, 0};
  assert_int_equal(poll(&pfd, 1, 10000), 1);
  assert_int_equal(cm_platform_channel_accept(listener, &conn), MOJO_RESULT_OK);
  assert_cloexec(cm_platform_handle_fd(conn));
  sink *s = sink_new();
  cm_platform_transport *t = transport_new(conn, s);
  /* A named endpoint knows the real peer: the child, not us. */
  cm_platform_peer_credentials c;
  assert_int_equal(cm_platform_transport_peer_credentials(t, &c), MOJO_RESULT_OK);
  assert_int_equal(c.pid, pid);
  assert_int_equal(c.uid, getuid());
  assert_true(cm_platform_handle_is_valid(c.pidfd));
  pump_frames(t, NULL, s, 1);
  /* The child saw us as its peer. */
  char expect[64];
  snprintf(expect, sizeof(expect), "%d %d", (int)pid, (int)getpid());
  assert_int_equal(s->frames[0].num_bytes, strlen(expect));
  assert_memory_equal(s->frames[0].bytes, expect, strlen(expect));
  assert_int_equal(cm_platform_transport_write(t, "bye", 3, NULL, 0), MOJO_RESULT_OK);
  int status = wait_child(pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  cm_platform_transport_destroy(t);
  sink_free(s);

  /* A live listener's name cannot be taken. Finding out costs a connection
   * attempt, which the live listener sees as a peer that leaves at once. */
  cm_platform_handle other;
  assert_int_equal(cm_platform_channel_listen(path, &other), MOJO_RESULT_ALREADY_EXISTS);
  assert_int_equal(cm_platform_channel_accept(listener, &conn), MOJO_RESULT_OK);
  s = sink_new();
  t = transport_new(conn, s);
  pump(t, NULL, have_error, s);
  assert_int_equal(s->error, MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(s->num_frames, 0);
  cm_platform_transport_destroy(t);
  sink_free(s);

  /* A stale socket file (its listener closed) is replaced. */
  cm_platform_handle_close(&listener);
  assert_int_equal(cm_platform_channel_listen(path, &listener), MOJO_RESULT_OK);
  cm_platform_handle_close(&listener);
  assert_int_equal(cm_platform_channel_connect(path, &conn), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(cm_platform_channel_unlink(path), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_channel_connect(path, &conn), MOJO_RESULT_NOT_FOUND);
  /* A file that is not a socket is never removed. */
  int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(cm_platform_channel_listen(path, &listener), MOJO_RESULT_ALREADY_EXISTS);
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  unlink(path);
  /* Bad paths. */
  char longpath[200];
  memset(longpath, 'a', sizeof(longpath) - 1);
  longpath[sizeof(longpath) - 1] = '\0';
  assert_int_equal(cm_platform_channel_listen(longpath, &listener), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_platform_channel_listen("", &listener), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_platform_channel_connect(longpath, &conn), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(rmdir(dir), 0);
}

static void test_peer_killed_mid_frame(void **state) {
  (void)state;
  for (int round = 0; round < 3; round++) {
    cm_platform_handle h;
    pid_t pid = spawn_with_pair(ROLE_HALF, &h);
    sink *s = sink_new();
    cm_platform_transport *t = transport_new(h, s);
    /* Wait for the half frame to arrive, then kill the peer. */
    struct pollfd pfd = {cm_platform_handle_fd(cm_platform_transport_handle(t)), POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    cm_platform_transport_on_readable(t);
    assert_int_equal(s->errors, 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = wait_child(pid);
    assert_true(WIFSIGNALED(status));
    pump(t, NULL, have_error, s);
    assert_int_equal(s->error, MOJO_RESULT_FAILED_PRECONDITION);
    assert_string_equal(s->why, "peer closed the connection in a frame");
    assert_int_equal(s->num_frames, 0);
    cm_platform_transport_destroy(t);
    sink_free(s);
  }
}

#define T(f) cmocka_unit_test_setup_teardown(f, cm_test_setup_resources, cm_test_teardown_resources)

int main(int argc, char **argv) {
  ssize_t n = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
  if (n <= 0)
    return 99;
  g_self[n] = '\0';
  if (argc > 1 && strcmp(argv[1], ROLE_ECHO) == 0)
    return child_echo(argc, argv);
  if (argc > 1 && strcmp(argv[1], ROLE_CONNECT) == 0)
    return child_connect(argc, argv);
  if (argc > 1 && strcmp(argv[1], ROLE_HALF) == 0)
    return child_half_frame(argc, argv);
  const struct CMUnitTest tests[] = {
      T(test_roundtrip_bytes),
      T(test_fds_1),
      T(test_fds_128),
      T(test_fds_129),
      T(test_fds_253),
      T(test_fds_many_frames),
      T(test_write_refuses_bad_arguments),
      T(test_create_refuses_non_sockets),
      T(test_queue_fill_and_drain),
      T(test_split_at_every_byte),
      T(test_fds_split_across_reads),
      T(test_hostile_frames),
      T(test_padding_must_be_zero),
      T(test_fds_arriving_after_their_frame),
      T(test_ctrunc_closes_what_arrived),
      T(test_random_hostile_streams),
      T(test_shutdown),
      T(test_write_to_closed_peer),
      T(test_destroy_with_queued_frames_and_pending_fds),
      T(test_peer_credentials),
      T(test_switch_format_and_parse),
      T(test_child_process_echo_fork),
      T(test_child_process_echo_spawn),
      T(test_spawn_errors),
      T(test_named_endpoint_with_unrelated_process),
      T(test_peer_killed_mid_frame),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
