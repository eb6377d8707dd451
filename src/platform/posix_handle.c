/* OS handles on POSIX: a cm_platform_handle holds an fd.
 *
 * Every fd the driver creates is born close-on-exec; duplication uses
 * F_DUPFD_CLOEXEC, never dup(), so a fork+exec racing in another thread
 * cannot inherit it. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "platform/platform.h"

MojoResult cm_platform_handle_check(cm_platform_handle h) {
  if (h.type != CM_PLATFORM_HANDLE_TYPE_FD)
    return MOJO_RESULT_INVALID_ARGUMENT;
  int fd = cm_platform_handle_fd(h);
  if (fd < 0)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (fcntl(fd, F_GETFD) < 0)
    return MOJO_RESULT_INVALID_ARGUMENT;
  return MOJO_RESULT_OK;
}

void cm_platform_handle_close(cm_platform_handle *h) {
  int fd = cm_platform_handle_fd(*h);
  *h = cm_platform_handle_invalid();
  if (fd < 0)
    return;
  /* Linux releases the fd even when close() reports EINTR or EIO, so a retry
   * could close an fd another thread has just been given. */
  int rc = close(fd);
  assert(rc == 0 || errno != EBADF);
  (void)rc;
}

MojoResult cm_platform_handle_duplicate(cm_platform_handle h, cm_platform_handle *out) {
  int fd = cm_platform_handle_fd(h);
  if (h.type != CM_PLATFORM_HANDLE_TYPE_FD || fd < 0)
    return MOJO_RESULT_INVALID_ARGUMENT;
  int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (nfd < 0)
    return cm_platform_result_from_errno(errno);
  *out = cm_platform_handle_from_fd(nfd);
  return MOJO_RESULT_OK;
}
