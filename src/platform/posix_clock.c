/* The monotonic clock behind MojoGetTimeTicksNow().
 *
 * CLOCK_MONOTONIC is what Chromium's TimeTicks uses on Linux: it does not
 * jump with wall-clock changes and it stops while the machine is suspended,
 * so deadlines do not all expire at once on resume. */
#include <stdlib.h>
#include <time.h>

#include "platform/platform.h"

MojoTimeTicks cm_platform_time_now(void) {
  struct timespec ts;
  /* CLOCK_MONOTONIC with a valid pointer cannot fail on any Linux we support;
   * a failure would mean a broken libc/kernel pairing, not a runtime
   * condition a caller could handle. */
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
    abort();
  return (MojoTimeTicks)ts.tv_sec * 1000000 + (MojoTimeTicks)(ts.tv_nsec / 1000);
}
