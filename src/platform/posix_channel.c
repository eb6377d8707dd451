/* Channel endpoints on POSIX: connected AF_UNIX stream sockets, made as a
 * pair (one end for a child process) or through a named listening socket.
 *
 * Every socket is born close-on-exec (SOCK_CLOEXEC, accept4). The flag is
 * cleared only in a child's own fd table, between its fork and its exec
 * (cm_platform_channel_prepare_for_exec(), or the dup2 action of
 * cm_platform_channel_spawn()), and the child sets it again as soon as it
 * takes its end from the command line. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "platform/platform.h"

MojoResult cm_platform_channel_create_pair(cm_platform_handle *a, cm_platform_handle *b) {
  if (!a || !b)
    return MOJO_RESULT_INVALID_ARGUMENT;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
    return cm_platform_result_from_errno(errno);
  *a = cm_platform_handle_from_fd(fds[0]);
  *b = cm_platform_handle_from_fd(fds[1]);
  return MOJO_RESULT_OK;
}

MojoResult cm_platform_channel_prepare_for_exec(cm_platform_handle h) {
  int fd = cm_platform_handle_fd(h);
  if (fd < 0)
    return MOJO_RESULT_INVALID_ARGUMENT;
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
    return MOJO_RESULT_INVALID_ARGUMENT;
  return MOJO_RESULT_OK;
}

MojoResult cm_platform_channel_format_switch(cm_platform_handle h, char *buf, size_t buf_len) {
  int fd = cm_platform_handle_fd(h);
  if (fd < 0 || !buf)
    return MOJO_RESULT_INVALID_ARGUMENT;
  /* Digits by hand: snprintf is not async-signal-safe, and a launcher may
   * format the switch in a forked child. */
  char digits[16];
  size_t nd = 0;
  unsigned v = (unsigned)fd;
  do {
    digits[nd++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  static const char prefix[] = CM_PLATFORM_CHANNEL_SWITCH "=";
  size_t np = sizeof(prefix) - 1;
  if (buf_len < np + nd + 1)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  memcpy(buf, prefix, np);
  for (size_t i = 0; i < nd; i++)
    buf[np + i] = digits[nd - 1 - i];
  buf[np + nd] = '\0';
  return MOJO_RESULT_OK;
}

/* Parses a plain decimal fd number (no sign, no spaces, at most INT_MAX). */
static bool parse_fd(const char *s, int *out) {
  if (!*s)
    return false;
  long v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return false;
    v = v * 10 + (*s - '0');
    if (v > INT_MAX)
      return false;
  }
  *out = (int)v;
  return true;
}

static bool is_unix_stream_socket(int fd) {
  int type = 0, domain = 0;
  socklen_t len = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
    return false;
  len = sizeof(domain);
  return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX;
}

bool cm_platform_channel_is_endpoint(cm_platform_handle h, bool listening) {
  int fd = cm_platform_handle_fd(h);
  int accepting = 0;
  socklen_t len = sizeof(accepting);
  return fd >= 0 && is_unix_stream_socket(fd) &&
         getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0 &&
         (accepting != 0) == listening;
}

MojoResult cm_platform_channel_from_switch(int argc, char *const argv[], cm_platform_handle *out) {
  if ((argc > 0 && !argv) || !out)
    return MOJO_RESULT_INVALID_ARGUMENT;
  static const char prefix[] = CM_PLATFORM_CHANNEL_SWITCH "=";
  const char *value = NULL;
  for (int i = 0; i < argc; i++) {
    if (argv[i] && strncmp(argv[i], prefix, sizeof(prefix) - 1) == 0)
      value = argv[i] + sizeof(prefix) - 1;
  }
  if (!value)
    return MOJO_RESULT_NOT_FOUND;
  int fd;
  if (!parse_fd(value, &fd))
    return MOJO_RESULT_INVALID_ARGUMENT;
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || !is_unix_stream_socket(fd))
    return MOJO_RESULT_INVALID_ARGUMENT;
  /* The end was inheritable for the exec that started us; from here on it is
   * ours alone, and no child we start may inherit it by accident. */
  if (fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
    return cm_platform_result_from_errno(errno);
  *out = cm_platform_handle_from_fd(fd);
  return MOJO_RESULT_OK;
}

extern char **environ;

MojoResult cm_platform_channel_spawn(const char *path, char *const argv[], char *const envp[],
                                     cm_platform_handle *child_end, int64_t *pid) {
  if (!child_end)
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_platform_handle end = *child_end;
  *child_end = cm_platform_handle_invalid();
  int fd = cm_platform_handle_fd(end);
  MojoResult r = MOJO_RESULT_INVALID_ARGUMENT;
  char **args = NULL;
  if (!path || !argv || !argv[0] || !pid || fd < 0)
    goto out;
  char sw[64];
  r = cm_platform_channel_format_switch(end, sw, sizeof(sw));
  if (r != MOJO_RESULT_OK)
    goto out;
  size_t argc = 0;
  while (argv[argc])
    argc++;
  r = MOJO_RESULT_RESOURCE_EXHAUSTED;
  args = calloc(argc + 2, sizeof(*args));
  if (!args)
    goto out;
  memcpy(args, argv, argc * sizeof(*args));
  args[argc] = sw;
  posix_spawn_file_actions_t actions;
  if (posix_spawn_file_actions_init(&actions) != 0)
    goto out;
  /* dup2 of an fd onto itself clears close-on-exec in the child only
   * (glibc 2.29, POSIX.1-2024); the parent's fd stays close-on-exec. */
  int err = posix_spawn_file_actions_adddup2(&actions, fd, fd);
  pid_t child = -1;
  if (err == 0)
    err = posix_spawn(&child, path, &actions, NULL, args, envp ? envp : environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) {
    r = err == EAGAIN ? MOJO_RESULT_RESOURCE_EXHAUSTED : cm_platform_result_from_errno(err);
    goto out;
  }
  *pid = child;
  r = MOJO_RESULT_OK;
out:
  free(args);
  cm_platform_handle_close(&end);
  return r;
}

static MojoResult make_address(const char *path, struct sockaddr_un *addr, socklen_t *len) {
  if (!path)
    return MOJO_RESULT_INVALID_ARGUMENT;
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof(addr->sun_path))
    return MOJO_RESULT_INVALID_ARGUMENT;
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  memcpy(addr->sun_path, path, n + 1);
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
  return MOJO_RESULT_OK;
}

static MojoResult connect_to(const struct sockaddr_un *addr, socklen_t len, int *out) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return cm_platform_result_from_errno(errno);
  int rc;
  do {
    rc = connect(fd, (const struct sockaddr *)addr, len);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int err = errno;
    close(fd);
    return err == ECONNREFUSED ? MOJO_RESULT_FAILED_PRECONDITION
                               : cm_platform_result_from_errno(err);
  }
  *out = fd;
  return MOJO_RESULT_OK;
}

/* Removes a socket file at `path` that nobody listens on. A live listener or
 * a file of another kind is left alone (ALREADY_EXISTS): listening must not
 * steal another server's name or delete a user's file. */
static MojoResult remove_stale(const char *path, const struct sockaddr_un *addr, socklen_t len) {
  struct stat st;
  if (lstat(path, &st) < 0)
    return errno == ENOENT ? MOJO_RESULT_OK : cm_platform_result_from_errno(errno);
  if (!S_ISSOCK(st.st_mode))
    return MOJO_RESULT_ALREADY_EXISTS;
  int fd;
  MojoResult r = connect_to(addr, len, &fd);
  if (r == MOJO_RESULT_OK) {
    close(fd);
    return MOJO_RESULT_ALREADY_EXISTS;
  }
  if (r != MOJO_RESULT_FAILED_PRECONDITION) /* not "refused": keep it */
    return r == MOJO_RESULT_SHOULD_WAIT ? MOJO_RESULT_ALREADY_EXISTS : r;
  if (unlink(path) < 0 && errno != ENOENT)
    return cm_platform_result_from_errno(errno);
  return MOJO_RESULT_OK;
}

MojoResult cm_platform_channel_listen(const char *path, cm_platform_handle *listener) {
  struct sockaddr_un addr;
  socklen_t len;
  if (!listener)
    return MOJO_RESULT_INVALID_ARGUMENT;
  MojoResult r = make_address(path, &addr, &len);
  if (r != MOJO_RESULT_OK)
    return r;
  r = remove_stale(path, &addr, len);
  if (r != MOJO_RESULT_OK)
    return r;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return cm_platform_result_from_errno(errno);
  if (bind(fd, (const struct sockaddr *)&addr, len) < 0) {
    r = errno == EADDRINUSE ? MOJO_RESULT_ALREADY_EXISTS : cm_platform_result_from_errno(errno);
    close(fd);
    return r;
  }
  if (chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
    r = cm_platform_result_from_errno(errno);
    unlink(path);
    close(fd);
    return r;
  }
  *listener = cm_platform_handle_from_fd(fd);
  return MOJO_RESULT_OK;
}

MojoResult cm_platform_channel_accept(cm_platform_handle listener, cm_platform_handle *out) {
  int lfd = cm_platform_handle_fd(listener);
  if (lfd < 0 || !out)
    return MOJO_RESULT_INVALID_ARGUMENT;
  for (;;) {
    /* The accepted socket is blocking; a transport made from it switches it
     * to non-blocking itself. */
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) {
      *out = cm_platform_handle_from_fd(fd);
      return MOJO_RESULT_OK;
    }
    /* A connection that died while queued: try the next one. */
    if (errno == EINTR || errno == ECONNABORTED)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return MOJO_RESULT_SHOULD_WAIT;
    if (errno == ENOTSOCK || errno == EOPNOTSUPP)
      return MOJO_RESULT_INVALID_ARGUMENT;
    return cm_platform_result_from_errno(errno);
  }
}

MojoResult cm_platform_channel_connect(const char *path, cm_platform_handle *out) {
  struct sockaddr_un addr;
  socklen_t len;
  if (!out)
    return MOJO_RESULT_INVALID_ARGUMENT;
  MojoResult r = make_address(path, &addr, &len);
  if (r != MOJO_RESULT_OK)
    return r;
  int fd;
  r = connect_to(&addr, len, &fd);
  if (r != MOJO_RESULT_OK)
    return r;
  *out = cm_platform_handle_from_fd(fd);
  return MOJO_RESULT_OK;
}

MojoResult cm_platform_channel_unlink(const char *path) {
  if (!path || !*path)
    return MOJO_RESULT_INVALID_ARGUMENT;
  return unlink(path) < 0 ? cm_platform_result_from_errno(errno) : MOJO_RESULT_OK;
}
