/* libFuzzer target for the node message parser (cm_node_message_parse). The
 * input's byte 0 is the number of fds that came with the message; the rest
 * is the message, as a peer node would send it in one transport frame. A
 * refusal is a normal outcome. An accepted message is encoded again from its
 * view, which reads every part the view points at (so AddressSanitizer sees
 * a view pointing outside the input: libFuzzer's buffer is exactly `size`
 * bytes); one in this build's form (16-byte header, same size as its
 * re-encoding) must give back exactly the bytes it was read from. */
#include <stdlib.h>
#include <string.h>

#include "core/node_message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cm_node_message m;
  if (size < 1 || cm_node_message_parse(data + 1, size - 1, data[0], &m) != CM_NODE_MESSAGE_OK)
    return 0;
  const uint8_t *msg = data + 1;
  size_t n = size - 1;
  cm_node_message_buffer buf;
  cm_node_message_buffer_init(&buf);
  if (cm_node_message_encode(&buf, &m) != MOJO_RESULT_OK)
    abort();
  if (msg[4] == 16 && msg[5] == 0 && buf.size == n && memcmp(buf.bytes, msg, n) != 0)
    abort();
  cm_node_message_buffer_free(&buf);
  return 0;
}
