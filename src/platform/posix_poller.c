/* I/O readiness on Linux: an epoll set plus an eventfd for wakeups.
 *
 * The epoll fd is the poller's one pollable handle (an epoll fd is readable
 * while any of its members is ready, which is what lets an embedder nest it
 * in another loop). The eventfd is a member like any other, registered under
 * the one tag callers may not use, and is drained by the wait that sees it.
 * Registrations are level-triggered: a handle that stays ready is reported by
 * every wait, so a consumer that stops halfway loses nothing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "platform/platform.h"

struct cm_platform_poller {
  int epfd;   /* the epoll set: the caller's fds plus wakefd */
  int wakefd; /* eventfd, registered under CM_PLATFORM_POLL_TAG_RESERVED */
};

#define EVENTS_ALL (CM_PLATFORM_POLL_READ | CM_PLATFORM_POLL_WRITE)

static uint32_t epoll_interest(uint32_t interest) {
  uint32_t ev = 0;
  if (interest & CM_PLATFORM_POLL_READ)
    ev |= EPOLLIN | EPOLLRDHUP;
  if (interest & CM_PLATFORM_POLL_WRITE)
    ev |= EPOLLOUT;
  return ev;
}

MojoResult cm_platform_poller_create(cm_platform_poller **out) {
  if (!out)
    return MOJO_RESULT_INVALID_ARGUMENT;
  MojoResult r;
  cm_platform_poller *p = malloc(sizeof(*p));
  if (!p)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  p->epfd = epoll_create1(EPOLL_CLOEXEC);
  p->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p->epfd < 0 || p->wakefd < 0)
    goto fail_errno;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = CM_PLATFORM_POLL_TAG_RESERVED};
  if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->wakefd, &ev) < 0)
    goto fail_errno;
  *out = p;
  return MOJO_RESULT_OK;
fail_errno:
  r = cm_platform_result_from_errno(errno);
  cm_platform_poller_destroy(p);
  return r;
}

void cm_platform_poller_destroy(cm_platform_poller *p) {
  if (!p)
    return;
  if (p->epfd >= 0)
    close(p->epfd);
  if (p->wakefd >= 0)
    close(p->wakefd);
  free(p);
}

cm_platform_handle cm_platform_poller_handle(const cm_platform_poller *p) {
  return cm_platform_handle_from_fd(p ? p->epfd : -1);
}

static MojoResult ctl(cm_platform_poller *p, int op, cm_platform_handle h, uint32_t interest,
                      uint64_t tag) {
  int fd = cm_platform_handle_fd(h);
  if (!p || fd < 0 || (interest & ~(uint32_t)EVENTS_ALL) || tag == CM_PLATFORM_POLL_TAG_RESERVED)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (fd == p->epfd || fd == p->wakefd)
    return MOJO_RESULT_INVALID_ARGUMENT;
  struct epoll_event ev = {.events = epoll_interest(interest), .data.u64 = tag};
  if (epoll_ctl(p->epfd, op, fd, op == EPOLL_CTL_DEL ? NULL : &ev) < 0) {
    if (errno == ENOENT)
      return MOJO_RESULT_NOT_FOUND;
    if (errno == EPERM) /* regular files cannot be polled */
      return MOJO_RESULT_INVALID_ARGUMENT;
    return cm_platform_result_from_errno(errno);
  }
  return MOJO_RESULT_OK;
}

MojoResult cm_platform_poller_add(cm_platform_poller *p, cm_platform_handle h, uint32_t interest,
                                  uint64_t tag) {
  return ctl(p, EPOLL_CTL_ADD, h, interest, tag);
}

MojoResult cm_platform_poller_modify(cm_platform_poller *p, cm_platform_handle h, uint32_t interest,
                                     uint64_t tag) {
  return ctl(p, EPOLL_CTL_MOD, h, interest, tag);
}

MojoResult cm_platform_poller_remove(cm_platform_poller *p, cm_platform_handle h) {
  return ctl(p, EPOLL_CTL_DEL, h, 0, 0);
}

static int timeout_ms(int64_t timeout_us) {
  if (timeout_us < 0)
    return -1;
  int64_t ms = timeout_us / 1000 + (timeout_us % 1000 != 0);
  return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Consumes a pending wakeup (reading an eventfd resets its counter). */
static void drain_wakeup(cm_platform_poller *p) {
  uint64_t v;
  ssize_t rc = read(p->wakefd, &v, sizeof(v));
  (void)rc; /* EAGAIN: another wait consumed it first */
}

MojoResult cm_platform_poller_wait(cm_platform_poller *p, int64_t timeout_us,
                                   cm_platform_poll_event *events, size_t max_events,
                                   size_t *num_events) {
  if (!p || !events || max_events == 0 || !num_events)
    return MOJO_RESULT_INVALID_ARGUMENT;
  enum { kBatch = 64 };
  struct epoll_event evs[kBatch];
  /* One slot more than the caller can take, for the wakeup's entry. */
  int cap = max_events + 1 < kBatch ? (int)max_events + 1 : kBatch;
  int n = epoll_wait(p->epfd, evs, cap, timeout_ms(timeout_us));
  if (n < 0) {
    if (errno == EINTR) {
      *num_events = 0;
      return MOJO_RESULT_OK;
    }
    return cm_platform_result_from_errno(errno);
  }
  size_t k = 0;
  for (int i = 0; i < n; i++) {
    if (evs[i].data.u64 == CM_PLATFORM_POLL_TAG_RESERVED) {
      drain_wakeup(p);
      continue;
    }
    if (k == max_events)
      continue; /* level-triggered: the next wait reports it again */
    uint32_t e = evs[i].events, r = 0;
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
      r |= CM_PLATFORM_POLL_READ;
    if (e & (EPOLLOUT | EPOLLERR))
      r |= CM_PLATFORM_POLL_WRITE;
    if (e & (EPOLLHUP | EPOLLERR))
      r |= CM_PLATFORM_POLL_ERROR;
    events[k].tag = evs[i].data.u64;
    events[k].events = r;
    k++;
  }
  *num_events = k;
  return MOJO_RESULT_OK;
}

MojoResult cm_platform_poller_wake(cm_platform_poller *p) {
  if (!p)
    return MOJO_RESULT_INVALID_ARGUMENT;
  uint64_t one = 1;
  for (;;) {
    if (write(p->wakefd, &one, sizeof(one)) == (ssize_t)sizeof(one))
      return MOJO_RESULT_OK;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN) /* counter saturated: a wakeup is pending anyway */
      return MOJO_RESULT_OK;
    return cm_platform_result_from_errno(errno);
  }
}
