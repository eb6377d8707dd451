/* libFuzzer target for the core message parser (cm_message_deserialize,
 * docs/message-format.md): what a peer process sends after a user message
 * event, with the OS handles that arrive beside it.
 *
 * Input: byte 0 is the number of OS handle kinds that follow (0-7, low 3
 * bits), byte 1 the number of ports the event carries, then one byte per
 * kind, then the message bytes. Kinds (byte % 4), each made fresh per input:
 *   0  a 4 KiB sealed memfd region as a WRITABLE region travels: its
 *      read/write fd then its read-only fd (two handles)
 *   1  the read/write fd of such a region (a data pipe ring, an UNSAFE
 *      buffer)
 *   2  the read-only fd of such a region (a READ_ONLY buffer)
 *   3  /dev/null (a wrapped fd; wrong for anything else)
 * A parsed message must account for exactly the event's ports; it is then
 * destroyed, which closes every fd and unmaps every ring it took. DATA_LOSS
 * is a normal outcome; the sanitizers judge, and leaks of fds show up as
 * the process running out of them. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/message_serialize.h"
#include "mojo/public/c/system/functions.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
MojoResult cm_fuzz_message_deserialize(const uint8_t *data, size_t size);

#define MAX_HANDLES 14

/* Appends the handles of one kind; false if out of fds or memory. */
static bool add_kind(uint8_t kind, cm_platform_handle *h, size_t *n) {
  if (kind % 4 == 3) {
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    h[(*n)++] = cm_platform_handle_from_fd(fd);
    return fd >= 0;
  }
  cm_platform_shm_region *region;
  if (cm_platform_shm_create(4096, &region) != MOJO_RESULT_OK)
    return false;
  cm_platform_handle pair[CM_PLATFORM_SHM_MAX_HANDLES];
  cm_platform_shm_unwrap(region, pair); /* WRITABLE: read/write, read-only */
  if (kind % 4 == 0 || kind % 4 == 1)
    h[(*n)++] = pair[0];
  else
    cm_platform_handle_close(&pair[0]);
  if (kind % 4 == 0 || kind % 4 == 2)
    h[(*n)++] = pair[1];
  else
    cm_platform_handle_close(&pair[1]);
  return true;
}

MojoResult cm_fuzz_message_deserialize(const uint8_t *data, size_t size) {
  static bool initialized; /* a replaying test may have initialized already */
  if (!initialized) {
    (void)MojoInitialize(NULL);
    initialized = true;
  }
  if (size < 2 || size - 2 < (size_t)(data[0] & 7))
    return MOJO_RESULT_INVALID_ARGUMENT;
  size_t kinds = data[0] & 7, num_ports = data[1], n = 0;
  cm_platform_handle h[MAX_HANDLES];
  for (size_t i = 0; i < kinds; i++) {
    if (!add_kind(data[2 + i], h, &n)) {
      cm_platform_handles_close(h, n);
      return MOJO_RESULT_RESOURCE_EXHAUSTED;
    }
  }
  const uint8_t *bytes = data + 2 + kinds;
  cm_message *m = NULL;
  MojoResult rv = cm_message_deserialize(bytes, size - 2 - kinds, h, n, num_ports, &m);
  for (size_t i = 0; i < n; i++)
    if (cm_platform_handle_is_valid(h[i]))
      abort(); /* every handle must have been taken */
  if (rv == MOJO_RESULT_OK) {
    if (cm_message_num_ports(m) != num_ports || !m->committed)
      abort();
    cm_message_destroy(m);
  }
  return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)cm_fuzz_message_deserialize(data, size);
  return 0;
}
