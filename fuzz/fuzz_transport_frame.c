/* libFuzzer target for the receiving side of the transport framing
 * (docs/transport.md): a hostile peer writes bytes and fds to a real
 * socketpair and cm_platform_transport_on_readable() reads them.
 *
 * Input: a few bytes that say how to cut the stream and which fds ride
 * along, then the stream itself.
 *
 *   byte 0     flags. Bits 0-2: C; the stream goes out in C + 1 chunks, one
 *              sendmsg() each. Bit 3: the reader runs after every chunk (else
 *              only when the socket is full and after the writer has left,
 *              so the kernel decides how the chunks coalesce). Bit 4: the
 *              reader first sends a frame that the writer never reads, so
 *              the writer's close is a reset (ECONNRESET), not an end of
 *              stream. Bit 5: the delegate shuts the transport down inside
 *              the third frame. Bits 6-7: ignored.
 *   C times    3 bytes: a chunk's length (u16 little-endian, clamped to what
 *              is left of the stream), then its fd code.
 *   1 byte     the last chunk's fd code; the last chunk is the rest.
 *   the rest   the stream.
 *
 * fd code f: the chunk carries f & 7 fds if f < 0x80, else f - 0x80 + 126
 * (126..253: around the receiver's 128 per read, up to the kernel's
 * SCM_MAX_FD), at most kMaxFdsPerInput per input. A chunk's fds are copies
 * of one pipe made for that chunk, so its inode says which chunk an fd came
 * with. Empty chunks are not sent (a stream socket passes no fds without
 * bytes).
 *
 * Checked for every input (abort() when broken):
 * - every fd is closed again (/proc/self/fd counted before and after);
 * - on_error at most once, no callback after it or after shutdown, and
 *   exactly one on_error in the end unless shut down (the writer leaves);
 * - on_error's (reason, string) is a row of the table in docs/transport.md;
 * - the k-th frame delivered is the k-th frame of the stream: a header the
 *   contract accepts, zero padding, its payload as sent (8-byte aligned),
 *   and exactly the handles it announces, each open and close-on-exec; the
 *   handles of all frames, in order, are a prefix of the fds sent;
 * - after the writer leaves, "peer closed the connection" iff every byte and
 *   fd sent was delivered, "... in a frame" iff not;
 * - a stream the transport's own sender could have written (whole valid
 *   frames; each chunk's fds, at most 128, inside the frame announcing them)
 *   is delivered in full, whatever the cuts and the kernel's coalescing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm_limits.h"
#include "platform/platform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
  kMaxChunks = 8,
  kMaxFdsPerInput = 512, /* in flight at once stays under RLIMIT_NOFILE */
  kFlagReadEachChunk = 1 << 3,
  kFlagReset = 1 << 4,
  kFlagShutdownInFrame3 = 1 << 5,
  kMaxStalls = 10000,
  kMaxDrives = 100000,
};

#define TF_CHECK(cond, what)                               \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "fuzz_transport_frame: %s\n", what); \
      abort();                                             \
    }                                                      \
  } while (0)

/* What one input did, for the replay test's expectations. */
typedef struct tf_outcome {
  size_t frames;
  size_t fds_delivered;
  int errors;
  MojoResult reason;
  const char *why;
  bool shut_down;
} tf_outcome;

typedef struct tf_run {
  cm_platform_transport *t;
  const uint8_t *stream;
  size_t written; /* stream bytes the socket took */
  size_t next;    /* stream offset of the next frame to be delivered */
  ino_t run_ino[kMaxChunks];
  size_t run_len[kMaxChunks];
  size_t num_runs, fds_sent;
  size_t run_pos, run_off; /* where the next delivered fd must come from */
  bool shutdown_in_frame3;
  tf_outcome out;
} tf_run;

static const struct {
  MojoResult reason;
  const char *why;
} kDocumentedErrors[] = {
    {MOJO_RESULT_INVALID_ARGUMENT, "frame header: unknown version"},
    {MOJO_RESULT_INVALID_ARGUMENT, "frame header: unknown frame type"},
    {MOJO_RESULT_INVALID_ARGUMENT, "frame header: reserved bytes not zero"},
    {MOJO_RESULT_INVALID_ARGUMENT, "frame header: header size too small or not a multiple of 8"},
    {MOJO_RESULT_INVALID_ARGUMENT, "frame header: total size smaller than the header"},
    {MOJO_RESULT_INVALID_ARGUMENT, "frame header: payload larger than the frame size limit"},
    {MOJO_RESULT_INVALID_ARGUMENT, "frame header: more handles than a frame may carry"},
    {MOJO_RESULT_INVALID_ARGUMENT, "frame padding not zero"},
    {MOJO_RESULT_INVALID_ARGUMENT, "fewer handles received than the frame announces"},
    {MOJO_RESULT_INVALID_ARGUMENT, "more handles received than the frame announces"},
    {MOJO_RESULT_INVALID_ARGUMENT, "handles received that no frame announces"},
    {MOJO_RESULT_INVALID_ARGUMENT, "unexpected control message"},
    {MOJO_RESULT_RESOURCE_EXHAUSTED, "handles truncated by the kernel (control buffer too small)"},
    {MOJO_RESULT_FAILED_PRECONDITION, "peer closed the connection"},
    {MOJO_RESULT_FAILED_PRECONDITION, "peer closed the connection in a frame"},
    {MOJO_RESULT_FAILED_PRECONDITION, "connection reset by peer"},
    {MOJO_RESULT_RESOURCE_EXHAUSTED, "out of memory for a frame"},
};

static int count_open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  TF_CHECK(d, "cannot list /proc/self/fd");
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static uint32_t tf_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t fds_for_code(uint8_t code) {
  return code < 0x80 ? (size_t)(code & 7) : (size_t)code - 0x80 + 126;
}

/* The handle must be the next fd sent: same pipe, in sending order. */
static void check_handle(tf_run *r, int fd) {
  TF_CHECK(fd >= 0, "frame handle is not an fd");
  int flags = fcntl(fd, F_GETFD);
  TF_CHECK(flags >= 0 && (flags & FD_CLOEXEC), "received fd not open or not close-on-exec");
  while (r->run_pos < r->num_runs && r->run_off == r->run_len[r->run_pos]) {
    r->run_pos++;
    r->run_off = 0;
  }
  TF_CHECK(r->run_pos < r->num_runs, "more handles delivered than fds sent");
  struct stat st;
  TF_CHECK(fstat(fd, &st) == 0, "fstat of a received fd failed");
  TF_CHECK(st.st_ino == r->run_ino[r->run_pos], "handles delivered out of sending order");
  r->run_off++;
  r->out.fds_delivered++;
}

static void tf_on_frame(void *ctx, const void *bytes, size_t num_bytes, cm_platform_handle *handles,
                        size_t num_handles) {
  tf_run *r = ctx;
  TF_CHECK(!r->out.errors && !r->out.shut_down, "frame delivered after on_error or shutdown");
  TF_CHECK((uintptr_t)bytes % 8 == 0, "payload not 8-byte aligned");
  TF_CHECK(r->written - r->next >= 16, "frame delivered before its header was sent");
  const uint8_t *h = r->stream + r->next;
  uint32_t total = tf_u32(h);
  size_t header_bytes = (size_t)(h[4] | h[5] << 8), announced = (size_t)(h[6] | h[7] << 8);
  TF_CHECK(h[8] == 1 && h[9] == 0 && !(h[10] | h[11] | h[12] | h[13] | h[14] | h[15]),
           "frame delivered with a bad version, type or reserved byte");
  TF_CHECK(header_bytes >= 16 && header_bytes % 8 == 0 && total >= header_bytes,
           "frame delivered with bad sizes");
  TF_CHECK(total - header_bytes <= CM_MAX_FRAME_PAYLOAD_BYTES, "frame over the size limit");
  TF_CHECK(announced <= CM_MAX_OS_HANDLES_PER_FRAME, "frame over the handle limit");
  size_t wire = ((size_t)total + 7) & ~(size_t)7;
  TF_CHECK(r->written - r->next >= wire, "frame delivered before all its bytes were sent");
  for (size_t i = total; i < wire; i++)
    TF_CHECK(h[i] == 0, "frame delivered with padding not zero");
  TF_CHECK(num_bytes == total - header_bytes, "payload size differs from the header's");
  TF_CHECK(!num_bytes || !memcmp(bytes, h + header_bytes, num_bytes), "payload differs");
  TF_CHECK(num_handles == announced, "frame delivered with another number of handles");
  for (size_t i = 0; i < num_handles; i++) {
    check_handle(r, cm_platform_handle_fd(handles[i]));
    cm_platform_handle_close(&handles[i]);
  }
  r->next += wire;
  if (++r->out.frames == 3 && r->shutdown_in_frame3) {
    cm_platform_transport_shutdown(r->t);
    r->out.shut_down = true;
  }
}

static void tf_on_error(void *ctx, MojoResult reason, const char *why) {
  tf_run *r = ctx;
  TF_CHECK(!r->out.errors, "on_error called twice");
  TF_CHECK(!r->out.shut_down, "on_error after shutdown");
  bool documented = false;
  for (size_t i = 0; i < sizeof(kDocumentedErrors) / sizeof(kDocumentedErrors[0]); i++)
    documented |= reason == kDocumentedErrors[i].reason && !strcmp(why, kDocumentedErrors[i].why);
  if (!documented)
    fprintf(stderr, "fuzz_transport_frame: on_error(%d, \"%s\")\n", (int)reason, why);
  TF_CHECK(documented, "on_error with a reason and string not in docs/transport.md");
  r->out.errors++;
  r->out.reason = reason;
  r->out.why = why;
}

static bool tf_stopped(const tf_run *r) {
  return r->out.errors || r->out.shut_down;
}

/* Sends one chunk with nfds copies of a fresh pipe attached to its first
 * sendmsg(). While the socket is full the reader drains it. Returns false
 * when the socket takes no more (the reader failed or shut down). */
static bool send_chunk(tf_run *r, int w, const uint8_t *bytes, size_t len, size_t nfds) {
  int src = -1;
  ino_t ino = 0;
  if (nfds) {
    int p[2];
    struct stat st;
    TF_CHECK(pipe2(p, O_CLOEXEC) == 0 && fstat(p[1], &st) == 0, "cannot make a pipe");
    close(p[0]);
    src = p[1];
    ino = st.st_ino;
  }
  bool ok = true;
  for (size_t off = 0, stalls = 0; off < len && ok;) {
    union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(CM_MAX_OS_HANDLES_PER_FRAME * sizeof(int))];
    } control;
    struct iovec iov = {(void *)(bytes + off), len - off};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds) {
      memset(&control, 0, sizeof(control));
      msg.msg_control = control.buf;
      msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
      struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
      for (size_t i = 0; i < nfds; i++)
        memcpy(CMSG_DATA(cm) + i * sizeof(int), &src, sizeof(int));
    }
    ssize_t n = sendmsg(w, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN && !tf_stopped(r)) {
      TF_CHECK(++stalls < kMaxStalls, "reader does not drain a full socket");
      cm_platform_transport_on_readable(r->t);
      continue;
    }
    if (n <= 0) {
      ok = false;
      break;
    }
    stalls = 0;
    if (nfds) {
      r->run_ino[r->num_runs] = ino;
      r->run_len[r->num_runs++] = nfds;
      r->fds_sent += nfds;
      nfds = 0;
    }
    off += (size_t)n;
    r->written += (size_t)n;
  }
  if (src >= 0)
    close(src);
  return ok;
}

/* Whether the stream is one the transport's own sender could have written:
 * whole frames with headers the contract accepts and zero padding, and every
 * chunk with fds (at most one sendmsg()'s worth) lying inside the frame that
 * announces them, each frame getting exactly its count. Such a stream must be
 * delivered in full however the kernel splits it. */
static bool tf_well_formed(const uint8_t *stream, size_t len, const size_t *start,
                           const size_t *clen, const size_t *nfds, size_t num_chunks,
                           size_t *num_frames) {
  size_t c = 0, off = 0;
  *num_frames = 0;
  while (off < len) {
    if (len - off < 16)
      return false;
    const uint8_t *h = stream + off;
    uint32_t total = tf_u32(h);
    size_t header_bytes = (size_t)(h[4] | h[5] << 8), announced = (size_t)(h[6] | h[7] << 8);
    if (h[8] != 1 || h[9] != 0 || (h[10] | h[11] | h[12] | h[13] | h[14] | h[15]) ||
        header_bytes < 16 || header_bytes % 8 || total < header_bytes ||
        announced > CM_MAX_OS_HANDLES_PER_FRAME)
      return false;
    size_t wire = ((size_t)total + 7) & ~(size_t)7;
    if (len - off < wire)
      return false;
    for (size_t i = total; i < wire; i++) {
      if (h[i])
        return false;
    }
    size_t end = off + wire, got = 0;
    for (; c < num_chunks && start[c] < end; c++) {
      if (!nfds[c])
        continue;
      if (start[c] < off || start[c] + clen[c] > end || nfds[c] > CM_MAX_OS_HANDLES_PER_SENDMSG)
        return false;
      got += nfds[c];
    }
    if (got != announced)
      return false;
    off = end;
    ++*num_frames;
  }
  return true;
}

static void tf_run_input(const uint8_t *data, size_t size, tf_outcome *out) {
  memset(out, 0, sizeof(*out));
  size_t num_chunks = size ? (size_t)(data[0] & 7) + 1 : 0;
  size_t prefix = 1 + 3 * (num_chunks - 1) + 1;
  if (size < prefix)
    return;
  /* Where each chunk starts, its length and its fds (none on empty chunks,
   * which are not sent). */
  size_t stream_len = size - prefix, start[kMaxChunks], clen[kMaxChunks], nfds[kMaxChunks];
  size_t off = 0, fd_budget = kMaxFdsPerInput;
  for (size_t c = 0; c < num_chunks; c++) {
    const uint8_t *d = data + 1 + 3 * c;
    size_t len = stream_len - off;
    if (c + 1 < num_chunks && (size_t)(d[0] | d[1] << 8) < len)
      len = (size_t)(d[0] | d[1] << 8);
    size_t n = len ? fds_for_code(c + 1 < num_chunks ? d[2] : d[0]) : 0;
    nfds[c] = n < fd_budget ? n : fd_budget;
    fd_budget -= nfds[c];
    start[c] = off;
    clen[c] = len;
    off += len;
  }
  size_t frames_sent;
  bool well_formed =
      tf_well_formed(data + prefix, stream_len, start, clen, nfds, num_chunks, &frames_sent);

  int before = count_open_fds();
  tf_run r = {.stream = data + prefix, .shutdown_in_frame3 = data[0] & kFlagShutdownInFrame3};
  int sv[2];
  TF_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair failed");
  static const cm_platform_transport_delegate delegate = {tf_on_frame, tf_on_error, NULL};
  cm_platform_handle end = cm_platform_handle_from_fd(sv[0]);
  TF_CHECK(cm_platform_transport_create(&end, &delegate, &r, &r.t) == MOJO_RESULT_OK,
           "cannot create the transport");
  if (data[0] & kFlagReset)
    TF_CHECK(cm_platform_transport_write(r.t, "unread", 6, NULL, 0) == MOJO_RESULT_OK,
             "cannot write the unread frame");
  for (size_t c = 0; c < num_chunks; c++) {
    if (!clen[c])
      continue;
    if (!send_chunk(&r, sv[1], r.stream + start[c], clen[c], nfds[c]))
      break;
    if ((data[0] & kFlagReadEachChunk) && !tf_stopped(&r))
      cm_platform_transport_on_readable(r.t);
  }
  close(sv[1]);
  for (int i = 0; !tf_stopped(&r); i++) {
    TF_CHECK(i < kMaxDrives, "the writer left but the transport reports nothing");
    cm_platform_transport_on_readable(r.t);
  }
  TF_CHECK(r.out.shut_down || r.out.errors == 1, "no on_error after the writer left");
  /* Readiness callbacks after the end are no-ops (the delegate checks). */
  cm_platform_transport_on_readable(r.t);
  cm_platform_transport_on_writable(r.t);
  bool all_in = r.next == r.written && r.out.fds_delivered == r.fds_sent;
  if (r.out.errors && !strcmp(r.out.why, "peer closed the connection"))
    TF_CHECK(all_in, "clean end of stream reported with bytes or fds undelivered");
  if (r.out.errors && !strcmp(r.out.why, "peer closed the connection in a frame"))
    TF_CHECK(!all_in, "end of stream in a frame reported with nothing left undelivered");
  if (well_formed && !r.out.shut_down) {
    TF_CHECK(r.out.frames == frames_sent, "a well-formed stream was not delivered in full");
    TF_CHECK(!strcmp(r.out.why, data[0] & kFlagReset ? "connection reset by peer"
                                                     : "peer closed the connection"),
             "a well-formed stream ended in an error");
  }
  cm_platform_transport_destroy(r.t);
  TF_CHECK(count_open_fds() == before, "fd leak");
  *out = r.out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tf_outcome out;
  tf_run_input(data, size, &out);
  return 0;
}
