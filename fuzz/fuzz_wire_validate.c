/* libFuzzer target for the wire runtime: a message goes through the header
 * validator and a test interface's request or response validator and, when
 * it passes, through the decoder. Rejection is a normal outcome; crashes,
 * leaks and sanitizer reports are the bugs. Input layout: fuzz_wire.h. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const cmojo_wire_interface *iface = cm_fuzz_wire_interface(data[0] & 7);
  cmojo_wire_direction dir = (data[0] >> 3) & 1;
  uint32_t num_handles = data[0] >> 4;
  /* A tight copy: any read past the message is an ASan report. */
  size_t n = size - 1;
  uint8_t *msg = malloc(n ? n : 1);
  if (!msg)
    return 0;
  memcpy(msg, data + 1, n);
  const cmojo_wire_method *m = NULL;
  cmojo_wire_error e = cmojo_wire_validate_message(msg, n, num_handles, iface, dir, NULL, &m);
  if (e == CMOJO_WIRE_ERROR_NONE && m) {
    MojoHandle handles[16];
    for (uint32_t i = 0; i < 16; i++)
      handles[i] = 1000 + i;
    void *value = NULL;
    const cmojo_wire_struct *t = dir ? m->response : m->request;
    if (cmojo_wire_decode_message(msg, n, handles, num_handles, t, &value, NULL) != MOJO_RESULT_OK)
      abort(); /* a message that validated must decode */
    cmojo_wire_free(value);
  }
  free(msg);
  return 0;
}
