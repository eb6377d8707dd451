/* cmojo inside a plain epoll loop, on the process's only thread.
 *
 * cmojo_initialize_embedded() starts no I/O thread. The loop below watches
 * two fds: cmojo_get_fd() (level-triggered: readable while cmojo has work)
 * and a timerfd of its own. When cmojo's fd is readable it calls
 * cmojo_process(), which reads what the child sent and runs the trap
 * handler of embed_pingpong.c; when the timer fires it starts the exchange
 * (first tick) and reaps the child. The process has one thread from start
 * to end, which the example checks in /proc/self/task.
 *
 * Usage: embed_epoll [ROUNDS [BYTES]]   (exits 0 when all rounds were played) */
#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cmojo/embedder.h"
#include "embed_pingpong.h"

int main(int argc, char **argv) {
  int status;
  if (pingpong_child(argc, argv, &status))
    return status;

  pingpong pp;
  pingpong_start(&pp, "epoll", argc, argv);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (ep < 0 || timer < 0) {
    perror("epoll_create1/timerfd_create");
    return 1;
  }
  struct itimerspec period = {{0, PINGPONG_TICK_MS * 1000000L}, {0, PINGPONG_TICK_MS * 1000000L}};
  timerfd_settime(timer, 0, &period, NULL);

  /* No EPOLLET: cmojo's fd is level-triggered, so the loop needs no "drain
   * until EAGAIN" step; it simply comes back while work remains. */
  int mojo_fd = cmojo_get_fd();
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = mojo_fd};
  epoll_ctl(ep, EPOLL_CTL_ADD, mojo_fd, &ev);
  ev = (struct epoll_event){.events = EPOLLIN, .data.fd = timer};
  epoll_ctl(ep, EPOLL_CTL_ADD, timer, &ev);

  for (bool done = false; !done;) {
    struct epoll_event events[4];
    /* cmojo has no timers today (-1), but a loop that honours the timeout
     * stays right if it ever has: when it elapses, call cmojo_process(). */
    int timeout = pingpong_timeout_ms();
    int n = epoll_wait(ep, events, 4, timeout);
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      break;
    }
    if (n == 0 && timeout >= 0 && !pingpong_process(&pp))
      break;
    for (int i = 0; i < n && !done; i++) {
      if (events[i].data.fd == mojo_fd) {
        if (!pingpong_process(&pp))
          done = true;
      } else {
        uint64_t expirations;
        if (read(timer, &expirations, sizeof(expirations)) > 0)
          done = pingpong_tick(&pp);
      }
    }
  }
  close(timer);
  close(ep);
  return pingpong_finish(&pp);
}
