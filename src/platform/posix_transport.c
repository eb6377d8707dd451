/* Transports on POSIX: framed bytes plus fds over a connected AF_UNIX stream
 * socket. The frame format is in docs/transport.md.
 *
 * Write side. Any thread may write; the write lock serializes the queue and
 * the socket's output. A frame goes straight to the socket when nothing is
 * queued, and whatever the kernel does not take is copied into the queue and
 * flushed from on_writable. fds travel in SCM_RIGHTS, at most
 * CM_MAX_OS_HANDLES_PER_SENDMSG per sendmsg(); a frame with more sends each
 * earlier batch with exactly one byte of the frame, so that every fd arrives
 * with (never after) the bytes of the frame that announces it. Once a
 * sendmsg() has taken at least one byte, the kernel has taken its fds too and
 * our copies are closed.
 *
 * Read side. One thread at a time (the owner's poller thread) reads into a
 * growable buffer and appends the fds that come along to a FIFO. The FIFO
 * invariant checked after every read: the fds held are no more than the
 * frame in progress may carry (its announced count once its header is in,
 * else CM_MAX_OS_HANDLES_PER_FRAME, and none when no frame is in progress).
 * When a frame's last byte is in, its announced fds must all be in the FIFO.
 * Both checks together catch a header that announces more fds than arrive or
 * fewer than were sent, whichever way the kernel splits the stream.
 *
 * Ownership of received fds: the FIFO owns them until on_frame hands them to
 * the delegate; every failure path and destroy close what is left. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cm_limits.h"
#include "platform/platform.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* Frame header, little-endian on the wire (docs/transport.md). */
enum {
  kHeaderBytes = 16,
  kFrameVersion = 1,
  kFrameTypeData = 0,
  kInitialReadBuffer = 16 * 1024,
  /* After a large frame, the read buffer stays large for this many frames
   * (so a stream of large frames is read whole, in one recvmsg each when
   * the socket has them, instead of growing from the small size each time). */
  kLargeFrameHysteresis = 16,
  kMaxReadsPerCall = 64,
  /* Before a recvmsg the FIFO holds at most one frame's fds; one recvmsg adds
   * at most one sendmsg's worth. */
  kFdFifoCapacity = CM_MAX_OS_HANDLES_PER_FRAME + CM_MAX_OS_HANDLES_PER_SENDMSG,
};

_Static_assert(CM_MAX_FRAME_PAYLOAD_BYTES + 64 * 1024 < UINT32_MAX,
               "frame size field is 32 bits wide");

/* Zero bytes that pad frames to a multiple of 8 on the wire. */
static const uint8_t kPadding[8];

static size_t padding_for(size_t frame_bytes) {
  return (8 - frame_bytes % 8) % 8;
}

/* What is left to send of one frame: a 16-byte header, a body, zero padding
 * to the next multiple of 8, and fds. */
typedef struct frame_cursor {
  uint8_t header[kHeaderBytes];
  const uint8_t *body; /* the payload: body, then tail */
  size_t body_len;
  const uint8_t *tail;
  size_t tail_len;
  size_t pad_len;
  size_t offset; /* bytes of header + body + padding already sent */
  int *fds;
  size_t num_fds;
  size_t fds_sent;
} frame_cursor;

typedef struct queued_frame {
  struct queued_frame *next;
  size_t capacity; /* of this allocation (cm_platform_buffer_alloc) */
  /* With an owned tail: the cursor's tail points into this buffer, which
   * the frame frees (cm_platform_buffer_free) when it is sent or dropped. */
  void *tail_owner;
  size_t tail_owner_capacity;
  frame_cursor cursor;
  /* fds[num_fds], then the body bytes */
  int storage[];
} queued_frame;

struct cm_platform_transport {
  int fd;
  cm_platform_transport_delegate delegate;
  void *context;
  /* Under creds_lock: written on the reading thread when the first frame's
   * credentials arrive, read by any thread. */
  pthread_mutex_t creds_lock;
  cm_platform_peer_credentials creds;
  bool creds_from_frame;
  /* The connect-time pidfd once replaced: someone may still borrow it. */
  cm_platform_handle retired_pidfd;

  /* Write side, under write_lock. */
  pthread_mutex_t write_lock;
  queued_frame *queue_head, *queue_tail;
  size_t queued_bytes; /* body bytes in the queue */
  bool wants_write;
  bool write_closed;      /* shut down or failed: refuse writes */
  MojoResult write_error; /* a failure on_writable is to report */
  const char *write_error_why;

  /* Read side, used by the one reading thread. */
  uint8_t *buf;
  size_t buf_cap, buf_start, buf_end;
  /* During on_frame: the frame's first byte, for cm_platform_transport_take_frame. */
  const uint8_t *frame_now;
  /* Frames left before a large read buffer is given back; its size. */
  int large_frames_left;
  size_t large_buffer_bytes;
  int fds[kFdFifoCapacity];
  size_t num_fds;

  /* Set once: no callback runs afterwards. */
  atomic_bool stopped;
};

/* ---------------------------------------------------------------- helpers */

static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}
static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}
static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t get_u16(const uint8_t *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}

static void close_fds(int *fds, size_t n) {
  for (size_t i = 0; i < n; i++) {
    cm_platform_handle h = cm_platform_handle_from_fd(fds[i]);
    cm_platform_handle_close(&h);
  }
}

static void set_wants_write(cm_platform_transport *t, bool want);
static void drop_queue(cm_platform_transport *t);

/* Reports a failure once; later ones (and every later callback) are dropped.
 * Called on the thread that drives the transport, with no lock held. */
static void fail(cm_platform_transport *t, MojoResult reason, const char *why) {
  bool was = atomic_exchange(&t->stopped, true);
  if (was)
    return;
  /* A failed transport takes no more writes and sends nothing more. */
  pthread_mutex_lock(&t->write_lock);
  t->write_closed = true;
  drop_queue(t);
  set_wants_write(t, false);
  pthread_mutex_unlock(&t->write_lock);
  /* What was received but not delivered belongs to no frame any more. */
  close_fds(t->fds, t->num_fds);
  t->num_fds = 0;
  t->delegate.on_error(t->context, reason, why);
}

static bool is_stopped(cm_platform_transport *t) {
  return atomic_load(&t->stopped);
}

/* ---------------------------------------------------------------- creation */

static void capture_credentials(cm_platform_transport *t) {
  t->creds.pid = -1;
  t->creds.uid = (uint32_t)-1;
  t->creds.gid = (uint32_t)-1;
  t->creds.pidfd = cm_platform_handle_invalid();
  struct ucred uc;
  socklen_t len = sizeof(uc);
  if (getsockopt(t->fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0 && len == sizeof(uc)) {
    t->creds.pid = uc.pid;
    t->creds.uid = uc.uid;
    t->creds.gid = uc.gid;
  }
  int pidfd = -1;
  len = sizeof(pidfd);
  if (getsockopt(t->fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0) {
    t->creds.pidfd_exact = true;
  } else if (t->creds.pid > 0) {
#ifdef SYS_pidfd_open
    /* Racy (see the header): the pid may name another process by now. */
    pidfd = (int)syscall(SYS_pidfd_open, (pid_t)t->creds.pid, 0);
#endif
  }
  if (pidfd >= 0) {
    /* pidfds are close-on-exec from birth; make sure on kernels that differ. */
    int flags = fcntl(pidfd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC))
      fcntl(pidfd, F_SETFD, flags | FD_CLOEXEC);
    t->creds.pidfd = cm_platform_handle_from_fd(pidfd);
  }
}

MojoResult cm_platform_transport_create(cm_platform_handle *endpoint,
                                        const cm_platform_transport_delegate *delegate,
                                        void *context, cm_platform_transport **out) {
  if (!endpoint)
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_platform_handle h = *endpoint;
  *endpoint = cm_platform_handle_invalid();
  int fd = cm_platform_handle_fd(h);
  MojoResult r = MOJO_RESULT_INVALID_ARGUMENT;
  if (!delegate || !delegate->on_frame || !delegate->on_error || !out || fd < 0)
    goto fail_close;
  if (!cm_platform_channel_is_endpoint(h, false))
    goto fail_close;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    goto fail_close;
  r = MOJO_RESULT_RESOURCE_EXHAUSTED;
  cm_platform_transport *t = calloc(1, sizeof(*t));
  if (!t)
    goto fail_close;
  t->buf = malloc(kInitialReadBuffer);
  if (!t->buf || pthread_mutex_init(&t->write_lock, NULL) != 0) {
    free(t->buf);
    free(t);
    goto fail_close;
  }
  if (pthread_mutex_init(&t->creds_lock, NULL) != 0) {
    pthread_mutex_destroy(&t->write_lock);
    free(t->buf);
    free(t);
    goto fail_close;
  }
  t->buf_cap = kInitialReadBuffer;
  t->fd = fd;
  t->delegate = *delegate;
  t->context = context;
  t->write_error = MOJO_RESULT_OK;
  atomic_init(&t->stopped, false);
  t->retired_pidfd = cm_platform_handle_invalid();
  capture_credentials(t);
  /* The kernel then attaches the sender's credentials to what it reads:
   * see note_frame_credentials. */
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
  *out = t;
  return MOJO_RESULT_OK;
fail_close:
  cm_platform_handle_close(&h);
  return r;
}

static void queued_frame_free(queued_frame *q) {
  cm_platform_buffer_free(q->tail_owner, q->tail_owner_capacity);
  cm_platform_buffer_free(q, q->capacity);
}

static void drop_queue(cm_platform_transport *t) {
  queued_frame *q = t->queue_head;
  while (q) {
    queued_frame *next = q->next;
    close_fds(q->cursor.fds + q->cursor.fds_sent, q->cursor.num_fds - q->cursor.fds_sent);
    queued_frame_free(q);
    q = next;
  }
  t->queue_head = t->queue_tail = NULL;
  t->queued_bytes = 0;
}

void cm_platform_transport_destroy(cm_platform_transport *t) {
  if (!t)
    return;
  drop_queue(t);
  close_fds(t->fds, t->num_fds);
  cm_platform_handle_close(&t->creds.pidfd);
  cm_platform_handle_close(&t->retired_pidfd);
  pthread_mutex_destroy(&t->creds_lock);
  close(t->fd);
  pthread_mutex_destroy(&t->write_lock);
  cm_platform_buffer_free(t->buf, t->buf_cap);
  free(t);
}

cm_platform_handle cm_platform_transport_handle(const cm_platform_transport *t) {
  return cm_platform_handle_from_fd(t ? t->fd : -1);
}

MojoResult cm_platform_transport_peer_credentials(const cm_platform_transport *t,
                                                  cm_platform_peer_credentials *out) {
  if (!t || !out)
    return MOJO_RESULT_INVALID_ARGUMENT;
  pthread_mutex_t *lock = (pthread_mutex_t *)&t->creds_lock;
  pthread_mutex_lock(lock);
  *out = t->creds;
  pthread_mutex_unlock(lock);
  return MOJO_RESULT_OK;
}

/* ---------------------------------------------------------------- writing */

/* Sends as much of c as the socket takes. Returns OK when all is sent,
 * SHOULD_WAIT when the socket is full, or the failure. Caller holds the
 * write lock. */
static MojoResult send_cursor(cm_platform_transport *t, frame_cursor *c) {
  size_t total = kHeaderBytes + c->body_len + c->tail_len + c->pad_len;
  while (c->offset < total) {
    size_t batch = c->num_fds - c->fds_sent;
    if (batch > CM_MAX_OS_HANDLES_PER_SENDMSG)
      batch = CM_MAX_OS_HANDLES_PER_SENDMSG;
    /* While more batches follow this one, send a single byte with it, so
     * the later batches still have bytes of this frame to ride on. */
    size_t limit = (c->num_fds - c->fds_sent > batch) ? 1 : total - c->offset;
    const struct {
      const uint8_t *base;
      size_t len;
    } pieces[4] = {{c->header, kHeaderBytes},
                   {c->body, c->body_len},
                   {c->tail, c->tail_len},
                   {kPadding, c->pad_len}};
    struct iovec iov[4];
    int niov = 0;
    size_t skip = c->offset;
    for (int i = 0; i < 4 && limit > 0; i++) {
      if (skip >= pieces[i].len) {
        skip -= pieces[i].len;
        continue;
      }
      size_t n = pieces[i].len - skip < limit ? pieces[i].len - skip : limit;
      iov[niov].iov_base = (void *)(pieces[i].base + skip);
      iov[niov++].iov_len = n;
      limit -= n;
      skip = 0;
    }
    union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(CM_MAX_OS_HANDLES_PER_SENDMSG * sizeof(int))];
    } control;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
    if (batch > 0) {
      memset(&control, 0, sizeof(control));
      msg.msg_control = control.buf;
      msg.msg_controllen = CMSG_SPACE(batch * sizeof(int));
      struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN(batch * sizeof(int));
      memcpy(CMSG_DATA(cm), c->fds + c->fds_sent, batch * sizeof(int));
    }
    ssize_t n = sendmsg(t->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return MOJO_RESULT_SHOULD_WAIT;
      return cm_platform_result_from_errno(errno);
    }
    if (n > 0 && batch > 0) {
      /* The kernel holds its own references now. */
      close_fds(c->fds + c->fds_sent, batch);
      c->fds_sent += batch;
    }
    c->offset += (size_t)n;
  }
  return MOJO_RESULT_OK;
}

/* Caller holds the write lock. */
static void set_wants_write(cm_platform_transport *t, bool want) {
  if (t->wants_write == want)
    return;
  t->wants_write = want;
  if (t->delegate.on_write_interest)
    t->delegate.on_write_interest(t->context, want);
}

/* Records a write failure for on_writable to report. Caller holds the lock. */
static void record_write_error(cm_platform_transport *t, MojoResult r) {
  t->write_closed = true;
  t->write_error = r;
  t->write_error_why = r == MOJO_RESULT_FAILED_PRECONDITION ? "peer closed the connection"
                       : r == MOJO_RESULT_RESOURCE_EXHAUSTED
                           ? "the peer does not read: queued bytes over the limit"
                           : "socket write failed";
  drop_queue(t);
  set_wants_write(t, true);
}

/* Copies what is left of c (fds and the unsent part of the payload) into a
 * queued frame. Without an owner for the tail, both pieces are copied and
 * made one; with one (`keep_tail`), the unsent part of the tail stays where
 * it is and the queued frame takes the owner. */
static queued_frame *queue_copy(const frame_cursor *c, bool keep_tail) {
  size_t fd_bytes = (c->num_fds - c->fds_sent) * sizeof(int);
  size_t payload_len = c->body_len + c->tail_len;
  size_t done = c->offset > kHeaderBytes ? c->offset - kHeaderBytes : 0;
  if (done > payload_len)
    done = payload_len;
  size_t from_body = done < c->body_len ? c->body_len - done : 0;
  size_t tail_done = done > c->body_len ? done - c->body_len : 0;
  size_t tail_left = c->tail_len - tail_done;
  size_t copied = keep_tail ? from_body : payload_len - done;
  size_t capacity;
  queued_frame *q = cm_platform_buffer_alloc(sizeof(*q) + fd_bytes + copied, &capacity);
  if (!q)
    return NULL;
  q->next = NULL;
  q->capacity = capacity;
  q->tail_owner = NULL;
  q->tail_owner_capacity = 0;
  q->cursor = *c;
  q->cursor.fds = q->storage;
  q->cursor.num_fds = c->num_fds - c->fds_sent;
  q->cursor.fds_sent = 0;
  memcpy(q->storage, c->fds + c->fds_sent, fd_bytes);
  uint8_t *body = (uint8_t *)q->storage + fd_bytes;
  if (from_body)
    memcpy(body, c->body + done, from_body);
  if (keep_tail) {
    q->cursor.tail = c->tail + tail_done;
    q->cursor.tail_len = tail_left;
  } else {
    if (tail_left)
      memcpy(body + from_body, c->tail + tail_done, tail_left);
    q->cursor.tail = NULL;
    q->cursor.tail_len = 0;
  }
  /* Only the unsent part is kept; the cursor then counts as if the frame's
   * payload were that part. */
  q->cursor.body = body;
  q->cursor.body_len = copied;
  q->cursor.offset = c->offset - done;
  return q;
}

MojoResult cm_platform_transport_write(cm_platform_transport *t, const void *bytes,
                                       size_t num_bytes, cm_platform_handle *handles,
                                       size_t num_handles) {
  cm_platform_tail tail = {NULL, 0, NULL, 0};
  return cm_platform_transport_write2(t, bytes, num_bytes, &tail, handles, num_handles);
}

MojoResult cm_platform_transport_write2(cm_platform_transport *t, const void *bytes,
                                        size_t num_bytes, cm_platform_tail *tail_in,
                                        cm_platform_handle *handles, size_t num_handles) {
  cm_platform_tail tail = *tail_in;
  /* The owner is ours from here on, whatever happens. */
  tail_in->owner = NULL;
  MojoResult bad = MOJO_RESULT_OK;
  if (!t || (!bytes && num_bytes) || (!tail.bytes && tail.num_bytes) || (!handles && num_handles))
    bad = MOJO_RESULT_INVALID_ARGUMENT;
  else if (num_handles > CM_MAX_OS_HANDLES_PER_FRAME || num_bytes > CM_MAX_FRAME_PAYLOAD_BYTES ||
           tail.num_bytes > CM_MAX_FRAME_PAYLOAD_BYTES - num_bytes)
    bad = MOJO_RESULT_RESOURCE_EXHAUSTED;
  int fds[CM_MAX_OS_HANDLES_PER_FRAME];
  for (size_t i = 0; bad == MOJO_RESULT_OK && i < num_handles; i++) {
    fds[i] = cm_platform_handle_fd(handles[i]);
    if (fds[i] < 0)
      bad = MOJO_RESULT_INVALID_ARGUMENT;
  }
  if (bad != MOJO_RESULT_OK) {
    cm_platform_buffer_free(tail.owner, tail.owner_capacity);
    return bad;
  }
  /* From here on the fds are ours. */
  for (size_t i = 0; i < num_handles; i++)
    handles[i] = cm_platform_handle_invalid();

  size_t payload = num_bytes + tail.num_bytes;
  frame_cursor c = {.body = bytes,
                    .body_len = num_bytes,
                    .tail = tail.bytes,
                    .tail_len = tail.num_bytes,
                    .pad_len = padding_for(kHeaderBytes + payload),
                    .fds = fds,
                    .num_fds = num_handles};
  put_u32(c.header, (uint32_t)(kHeaderBytes + payload));
  put_u16(c.header + 4, kHeaderBytes);
  put_u16(c.header + 6, (uint16_t)num_handles);
  c.header[8] = kFrameVersion;
  c.header[9] = kFrameTypeData;

  MojoResult r;
  pthread_mutex_lock(&t->write_lock);
  if (t->write_closed) {
    r = MOJO_RESULT_FAILED_PRECONDITION;
    goto out_close;
  }
  if (!t->queue_head) {
    r = send_cursor(t, &c);
    if (r == MOJO_RESULT_OK)
      goto out;
    if (r != MOJO_RESULT_SHOULD_WAIT) {
      record_write_error(t, r);
      r = MOJO_RESULT_FAILED_PRECONDITION;
      goto out_close;
    }
  }
  if (t->queued_bytes + payload > CM_MAX_QUEUED_BYTES_PER_CONNECTION) {
    /* A peer that stops reading may not make this process hold without
     * bound what is written to it: the connection fails instead. */
    record_write_error(t, MOJO_RESULT_RESOURCE_EXHAUSTED);
    r = MOJO_RESULT_FAILED_PRECONDITION;
    goto out_close;
  }
  queued_frame *q = queue_copy(&c, tail.owner != NULL);
  if (!q) {
    r = MOJO_RESULT_RESOURCE_EXHAUSTED;
    if (c.offset > 0) /* half a frame is on the wire: the stream is lost */
      record_write_error(t, r);
    goto out_close;
  }
  if (tail.owner) {
    q->tail_owner = tail.owner;
    q->tail_owner_capacity = tail.owner_capacity;
    tail.owner = NULL;
  }
  t->queued_bytes += q->cursor.body_len + q->cursor.tail_len;
  if (t->queue_tail)
    t->queue_tail->next = q;
  else
    t->queue_head = q;
  t->queue_tail = q;
  set_wants_write(t, true);
  r = MOJO_RESULT_OK;
  goto out;
out_close:
  close_fds(c.fds + c.fds_sent, c.num_fds - c.fds_sent);
out:
  pthread_mutex_unlock(&t->write_lock);
  /* Sent whole, refused, or copied: the tail's buffer is not needed. */
  cm_platform_buffer_free(tail.owner, tail.owner_capacity);
  return r;
}

bool cm_platform_transport_wants_write(cm_platform_transport *t) {
  pthread_mutex_lock(&t->write_lock);
  bool w = t->wants_write;
  pthread_mutex_unlock(&t->write_lock);
  return w;
}

void cm_platform_transport_on_writable(cm_platform_transport *t) {
  MojoResult err = MOJO_RESULT_OK;
  const char *why = NULL;
  pthread_mutex_lock(&t->write_lock);
  while (t->queue_head && t->write_error == MOJO_RESULT_OK) {
    queued_frame *q = t->queue_head;
    MojoResult r = send_cursor(t, &q->cursor);
    if (r == MOJO_RESULT_SHOULD_WAIT)
      break;
    if (r != MOJO_RESULT_OK) {
      record_write_error(t, r);
      break;
    }
    t->queue_head = q->next;
    if (!t->queue_head)
      t->queue_tail = NULL;
    t->queued_bytes -= q->cursor.body_len + q->cursor.tail_len;
    queued_frame_free(q);
  }
  if (t->write_error != MOJO_RESULT_OK) {
    err = t->write_error;
    why = t->write_error_why;
    set_wants_write(t, false);
  } else if (!t->queue_head) {
    set_wants_write(t, false);
  }
  pthread_mutex_unlock(&t->write_lock);
  if (err != MOJO_RESULT_OK)
    fail(t, err, why);
}

void cm_platform_transport_shutdown(cm_platform_transport *t) {
  if (!t)
    return;
  atomic_store(&t->stopped, true);
  pthread_mutex_lock(&t->write_lock);
  t->write_closed = true;
  drop_queue(t);
  set_wants_write(t, false);
  pthread_mutex_unlock(&t->write_lock);
  shutdown(t->fd, SHUT_RDWR);
}

/* ---------------------------------------------------------------- reading */

/* Makes room for `need` more bytes after buf_end, moving the unread bytes to
 * the front first. Returns false if memory runs out. */
static bool reserve(cm_platform_transport *t, size_t need) {
  /* buf_start only ever moves by whole (padded) frames, so it is a multiple
   * of 8 and moving the unread bytes to offset 0 keeps frames aligned. */
  size_t held = t->buf_end - t->buf_start;
  if (t->buf_start > 0 && t->buf_cap - t->buf_end < need) {
    memmove(t->buf, t->buf + t->buf_start, held);
    t->buf_start = 0;
    t->buf_end = held;
  }
  if (t->buf_cap - t->buf_end >= need)
    return true;
  /* Doubling for small frames; exactly the frame for big ones, so a 257 MiB
   * frame does not reserve 512 MiB. */
  size_t want = t->buf_cap * 2;
  if (want < held + need)
    want = held + need;
  size_t cap;
  uint8_t *nb = cm_platform_buffer_alloc(want, &cap);
  if (!nb)
    return false;
  memcpy(nb, t->buf + t->buf_start, held);
  cm_platform_buffer_free(t->buf, t->buf_cap);
  t->buf = nb;
  t->buf_cap = cap;
  t->buf_start = 0;
  t->buf_end = held;
  return true;
}

/* Checks a frame header. Returns NULL if it is acceptable, else the reason. */
static const char *check_header(const uint8_t *h, uint32_t *total, uint16_t *header_bytes,
                                uint16_t *num_fds) {
  *total = get_u32(h);
  *header_bytes = get_u16(h + 4);
  *num_fds = get_u16(h + 6);
  if (h[8] != kFrameVersion)
    return "frame header: unknown version";
  if (h[9] != kFrameTypeData)
    return "frame header: unknown frame type";
  for (int i = 10; i < kHeaderBytes; i++) {
    if (h[i] != 0)
      return "frame header: reserved bytes not zero";
  }
  if (*header_bytes < kHeaderBytes || *header_bytes % 8 != 0)
    return "frame header: header size too small or not a multiple of 8";
  if (*total < *header_bytes)
    return "frame header: total size smaller than the header";
  if ((uint64_t)*total - *header_bytes > CM_MAX_FRAME_PAYLOAD_BYTES)
    return "frame header: payload larger than the frame size limit";
  if (*num_fds > CM_MAX_OS_HANDLES_PER_FRAME)
    return "frame header: more handles than a frame may carry";
  return NULL;
}

/* The delegate took the read buffer with its frame: a fresh one, as large
 * while large frames keep coming. */
static bool replace_taken_buffer(cm_platform_transport *t) {
  size_t want = t->large_frames_left ? t->large_buffer_bytes : kInitialReadBuffer;
  t->buf = cm_platform_buffer_alloc(want, &t->buf_cap);
  if (t->buf)
    return true;
  t->buf_cap = 0;
  fail(t, MOJO_RESULT_RESOURCE_EXHAUSTED, "out of memory for the read buffer");
  return false;
}

bool cm_platform_transport_take_frame(cm_platform_transport *t, void **base, size_t *capacity) {
  /* Only a large frame that has the buffer to itself: it starts the buffer
   * and nothing read after it waits there. */
  if (!t->frame_now || t->frame_now != t->buf || t->buf_start != t->buf_end ||
      t->buf_cap < CM_BUFFER_POOL_MIN_BYTES)
    return false;
  *base = t->buf;
  *capacity = t->buf_cap;
  t->buf = NULL;
  t->buf_cap = 0;
  t->frame_now = NULL;
  return true;
}

/* Delivers every complete frame in the buffer, then checks the fd FIFO
 * against the frame in progress. Returns false once the transport failed or
 * was shut down (by a check here or by the delegate). */
static bool parse_frames(cm_platform_transport *t) {
  for (;;) {
    size_t held = t->buf_end - t->buf_start;
    if (held == 0 && t->buf_cap > 4 * kInitialReadBuffer && t->large_frames_left == 0) {
      /* Give back what large frames made us grow to, once they stopped
       * coming (to the buffer pool, so the next large frame finds it). */
      size_t cap;
      uint8_t *nb = cm_platform_buffer_alloc(kInitialReadBuffer, &cap);
      if (nb) {
        cm_platform_buffer_free(t->buf, t->buf_cap);
        t->buf = nb;
        t->buf_cap = cap;
        t->buf_start = t->buf_end = 0;
      }
    }
    if (held < kHeaderBytes) {
      size_t allowed = held ? CM_MAX_OS_HANDLES_PER_FRAME : 0;
      if (t->num_fds > allowed) {
        fail(t, MOJO_RESULT_INVALID_ARGUMENT, "handles received that no frame announces");
        return false;
      }
      if (!reserve(t, kHeaderBytes)) {
        fail(t, MOJO_RESULT_RESOURCE_EXHAUSTED, "out of memory for the read buffer");
        return false;
      }
      return true;
    }
    const uint8_t *p = t->buf + t->buf_start;
    uint32_t total;
    uint16_t header_bytes, num_fds;
    const char *bad = check_header(p, &total, &header_bytes, &num_fds);
    if (bad) {
      fail(t, MOJO_RESULT_INVALID_ARGUMENT, bad);
      return false;
    }
    /* On the wire a frame is padded to a multiple of 8, so every frame (and
     * hence every payload, header_bytes being a multiple of 8 too) starts
     * 8-byte aligned in the buffer. */
    size_t wire = (size_t)total + padding_for(total);
    if (held < wire) {
      if (t->num_fds > num_fds) {
        fail(t, MOJO_RESULT_INVALID_ARGUMENT, "more handles received than the frame announces");
        return false;
      }
      /* Room for the rest of the frame, so the next read can finish it. */
      if (!reserve(t, wire - held)) {
        fail(t, MOJO_RESULT_RESOURCE_EXHAUSTED, "out of memory for a frame");
        return false;
      }
      return true;
    }
    if (t->num_fds < num_fds) {
      fail(t, MOJO_RESULT_INVALID_ARGUMENT, "fewer handles received than the frame announces");
      return false;
    }
    /* A sendmsg never spans two frames, so fds beyond this frame's count
     * can only belong to a later frame if some of its bytes are here. */
    if (t->num_fds > num_fds && held == wire) {
      fail(t, MOJO_RESULT_INVALID_ARGUMENT, "more handles received than the frame announces");
      return false;
    }
    if (memcmp(p + total, kPadding, wire - total) != 0) {
      fail(t, MOJO_RESULT_INVALID_ARGUMENT, "frame padding not zero");
      return false;
    }
    cm_platform_handle handles[CM_MAX_OS_HANDLES_PER_FRAME];
    for (size_t i = 0; i < num_fds; i++)
      handles[i] = cm_platform_handle_from_fd(t->fds[i]);
    /* The handles leave the FIFO before the call: the delegate owns them. */
    t->num_fds -= num_fds;
    memmove(t->fds, t->fds + num_fds, t->num_fds * sizeof(int));
    t->buf_start += wire;
    if (t->buf_start == t->buf_end)
      t->buf_start = t->buf_end = 0;
    /* The payload stays valid during the call: nothing touches buf until we
     * return here (the delegate may not read on this transport), and after
     * it if the delegate took the buffer with the frame. */
    if (wire >= CM_BUFFER_POOL_MIN_BYTES) {
      t->large_frames_left = kLargeFrameHysteresis;
      t->large_buffer_bytes = t->buf_cap;
    } else if (t->large_frames_left > 0) {
      t->large_frames_left--;
    }
    t->frame_now = p;
    t->delegate.on_frame(t->context, p + header_bytes, total - header_bytes, handles, num_fds);
    t->frame_now = NULL;
    if (!t->buf && !replace_taken_buffer(t))
      return false;
    if (is_stopped(t))
      return false;
  }
}

/* A socket pair's SO_PEERCRED names the process that made the pair, which
 * for a launched child or a broker-made channel is not the peer. The
 * credentials the kernel attaches to the first bytes the peer writes name
 * the writer: they replace the connect-time ones, once. */
static void note_frame_credentials(cm_platform_transport *t, const struct ucred *uc) {
  if (t->creds_from_frame)
    return;
  t->creds_from_frame = true;
  /* Once is enough: attaching credentials to every read costs time. */
  int zero = 0;
  (void)setsockopt(t->fd, SOL_SOCKET, SO_PASSCRED, &zero, sizeof(zero));
  int pidfd = -1;
  if (uc->pid > 0 && uc->pid != t->creds.pid) {
#ifdef SYS_pidfd_open
    pidfd = (int)syscall(SYS_pidfd_open, uc->pid, 0);
#endif
  }
  pthread_mutex_lock(&t->creds_lock);
  if (uc->pid > 0 && uc->pid != t->creds.pid) {
    t->retired_pidfd = t->creds.pidfd;
    t->creds.pidfd = pidfd >= 0 ? cm_platform_handle_from_fd(pidfd) : cm_platform_handle_invalid();
    t->creds.pidfd_exact = false;
  }
  t->creds.pid = uc->pid;
  t->creds.uid = uc->uid;
  t->creds.gid = uc->gid;
  pthread_mutex_unlock(&t->creds_lock);
}

/* Takes the fds out of a received message's control data into the FIFO.
 * Returns NULL, or the reason to fail (having closed every fd received). */
static const char *take_fds(cm_platform_transport *t, struct msghdr *msg) {
  const char *bad = NULL;
  if (msg->msg_flags & MSG_CTRUNC)
    bad = "handles truncated by the kernel (control buffer too small)";
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
        cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      struct ucred uc;
      memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
      note_frame_credentials(t, &uc);
      continue;
    }
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
      bad = bad ? bad : "unexpected control message";
      continue;
    }
    size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int *in = (int *)(void *)CMSG_DATA(cm);
    for (size_t i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, in + i, sizeof(fd));
      if (!bad && t->num_fds < kFdFifoCapacity) {
        t->fds[t->num_fds++] = fd;
      } else {
        cm_platform_handle h = cm_platform_handle_from_fd(fd);
        cm_platform_handle_close(&h);
        bad = bad ? bad : "too many handles received";
      }
    }
  }
  return bad;
}

void cm_platform_transport_on_readable(cm_platform_transport *t) {
  for (int reads = 0; reads < kMaxReadsPerCall && !is_stopped(t); reads++) {
    union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(CM_MAX_OS_HANDLES_PER_SENDMSG * sizeof(int)) +
               CMSG_SPACE(sizeof(struct ucred))];
    } control;
    struct iovec iov = {t->buf + t->buf_end, t->buf_cap - t->buf_end};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    ssize_t n = recvmsg(t->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return;
      int err = errno;
      fail(t, cm_platform_result_from_errno(err),
           err == ECONNRESET ? "connection reset by peer" : "socket read failed");
      return;
    }
    const char *bad = take_fds(t, &msg);
    if (bad) {
      fail(t,
           msg.msg_flags & MSG_CTRUNC ? MOJO_RESULT_RESOURCE_EXHAUSTED
                                      : MOJO_RESULT_INVALID_ARGUMENT,
           bad);
      return;
    }
    if (n == 0) {
      if (t->buf_end != t->buf_start || t->num_fds)
        fail(t, MOJO_RESULT_FAILED_PRECONDITION, "peer closed the connection in a frame");
      else
        fail(t, MOJO_RESULT_FAILED_PRECONDITION, "peer closed the connection");
      return;
    }
    t->buf_end += (size_t)n;
    if (!parse_frames(t))
      return;
    /* A short read that ended on a frame boundary most likely drained the
     * socket: the poller reports what comes later, so the read that would
     * only say EAGAIN is saved. With part of a frame held, the rest is
     * probably there already (the kernel ends a read where fds were
     * attached), so reading goes on. */
    if ((size_t)n < iov.iov_len && t->buf_start == t->buf_end)
      return;
  }
}
