/* Random bytes from the kernel CSPRNG.
 *
 * getrandom() without flags reads the urandom pool once it is initialized and
 * blocks only before that; requests above 256 bytes may return short or be
 * interrupted by a signal, so the loop continues until the buffer is full. */
#include <errno.h>
#include <sys/random.h>

#include "platform/platform.h"

MojoResult cm_platform_random_bytes(void *buf, size_t len) {
  unsigned char *p = buf;
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return cm_platform_result_from_errno(errno);
    }
    p += n;
    len -= (size_t)n;
  }
  return MOJO_RESULT_OK;
}
