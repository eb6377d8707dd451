/* errno -> MojoResult, the one place the driver translates OS errors.
 *
 * The mapping chooses the code a Mojo caller would expect for the situation
 * the errno describes, not a literal rename: a write to a socket whose peer
 * is gone is FAILED_PRECONDITION (as writing to a pipe whose peer closed),
 * running out of fds or memory is RESOURCE_EXHAUSTED (as a full handle
 * table). */
#include <errno.h>

#include "platform/platform.h"

MojoResult cm_platform_result_from_errno(int err) {
  switch (err) {
    case 0:
      return MOJO_RESULT_OK;
    case EBADF:
    case EINVAL:
    case EFAULT:
    case ENOTSOCK:
    case ENAMETOOLONG:
    case ENOTDIR:
    case EISDIR:
    case ESPIPE:
      return MOJO_RESULT_INVALID_ARGUMENT;
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case ENOSPC:
    case ENOBUFS:
    case EFBIG:
    case EDQUOT:
    case EMSGSIZE:
    case ETOOMANYREFS:
      return MOJO_RESULT_RESOURCE_EXHAUSTED;
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EAGAIN:
    case EINPROGRESS:
    case EALREADY:
      return MOJO_RESULT_SHOULD_WAIT;
    case EPIPE:
    case ECONNRESET:
    case ECONNREFUSED:
    case ECONNABORTED:
    case ENOTCONN:
    case ESHUTDOWN:
      return MOJO_RESULT_FAILED_PRECONDITION;
    case EACCES:
    case EPERM:
    case EROFS:
      return MOJO_RESULT_PERMISSION_DENIED;
    case ENOENT:
    case ESRCH:
    case ENXIO:
    case ENODEV:
      return MOJO_RESULT_NOT_FOUND;
    case EEXIST:
    case EADDRINUSE:
    case EISCONN:
      return MOJO_RESULT_ALREADY_EXISTS;
    case ETIMEDOUT:
      return MOJO_RESULT_DEADLINE_EXCEEDED;
    case EINTR:
      return MOJO_RESULT_ABORTED;
    case ECANCELED:
      return MOJO_RESULT_CANCELLED;
    case ENOSYS:
    case EOPNOTSUPP:
#if ENOTSUP != EOPNOTSUPP
    case ENOTSUP:
#endif
    case EAFNOSUPPORT:
    case EPROTONOSUPPORT:
      return MOJO_RESULT_UNIMPLEMENTED;
    case EBUSY:
    case ETXTBSY:
      return MOJO_RESULT_BUSY;
    case ERANGE:
    case EOVERFLOW:
      return MOJO_RESULT_OUT_OF_RANGE;
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EHOSTDOWN:
      return MOJO_RESULT_UNAVAILABLE;
    default:
      return MOJO_RESULT_UNKNOWN;
  }
}
