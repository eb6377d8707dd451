/* libFuzzer target for the ports layer's event parser (cm_event_deserialize)
 * and for what a node does with the parsed events. The input is a sequence
 * of chunks, each a 2-byte little-endian length and that many bytes: one
 * serialized event as a peer node would send it (for a user message, the
 * bytes after the event are its payload). Parsing stops at the first
 * malformed chunk. A parsed event must serialize back to the bytes it was
 * read from; it is then accepted, from node FUZZ_PEER, by a node whose port
 * names come from a counter (seeds can aim at them, see fuzz_ports_event.h)
 * and whose delegate drops everything. At the end the node loses FUZZ_PEER.
 * DATA_LOSS is a normal outcome; the sanitizers judge. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_ports_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drop_event(void *c, const cm_node_name *to, cm_event *ev) {
  (void)c, (void)to, cm_event_destroy(ev);
}
static void drop_broadcast(void *c, cm_event *ev) {
  (void)c, cm_event_destroy(ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cm_node *node = fuzz_ports_node_create(&(cm_node_delegate){NULL, drop_event, drop_broadcast, NULL});
  cm_event *ev = NULL;
  size_t used = 0, len;
  while (size >= 2 && (len = data[0] | (size_t)data[1] << 8) <= size - 2 &&
         cm_event_deserialize(data + 2, len, &ev, &used) == MOJO_RESULT_OK) {
    unsigned char *again = malloc(used);
    if (used != cm_event_serialized_size(ev) || !again)
      abort();
    cm_event_serialize(ev, again);
    if (memcmp(again, data + 2, used) != 0)
      abort();
    free(again);
    cm_node_accept_event(node, &FUZZ_PEER, ev);
    data += 2 + len;
    size -= 2 + len;
  }
  cm_node_lost_connection_to_node(node, &FUZZ_PEER);
  cm_node_destroy(node);
  return 0;
}
