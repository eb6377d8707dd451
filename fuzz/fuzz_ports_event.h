/* The node that fuzz_ports_event.c feeds each parsed event to, shared with
 * its seed generator and replay test (tests/ports/test_ports_fuzz_replay.c).
 *
 * Names are drawn from a counter (cm_name_set_test_source) restarted for
 * every input, so the node's ports always have the same names and seeds can
 * address them: FUZZ_PORT_A and FUZZ_PORT_B are a local pair (B has one
 * unread message from A), FUZZ_PORT_C is connected to port FUZZ_PEER_PORT of
 * node FUZZ_PEER (the sender of every event) and has sent one message there,
 * FUZZ_PORT_D is connected to FUZZ_PEER_PORT_D and may be merged into by
 * FUZZ_PEER. */
#ifndef CMOJO_FUZZ_PORTS_EVENT_H_
#define CMOJO_FUZZ_PORTS_EVENT_H_

#include <stdlib.h>

#include "ports/ports_internal.h"

#define FUZZ_NODE ((cm_node_name){0xf0, 0x01})
#define FUZZ_PEER ((cm_node_name){0xf0, 0x02})
#define FUZZ_PEER_PORT ((cm_port_name){0xf0, 0x03})
#define FUZZ_PEER_PORT_D ((cm_port_name){0xf0, 0x04})
/* The node's hash key takes the counter's first two values. */
#define FUZZ_PORT_A ((cm_port_name){3, 4})
#define FUZZ_PORT_B ((cm_port_name){5, 6})
#define FUZZ_PORT_C ((cm_port_name){7, 8})
#define FUZZ_PORT_D ((cm_port_name){9, 10})

static uint64_t fuzz_ports_counter;

static inline uint64_t fuzz_ports_next_name(void) {
  return ++fuzz_ports_counter;
}

static inline void fuzz_ports_send(cm_node *node, const cm_port_ref *from) {
  cm_event *ev = cm_event_user_message_create(NULL, NULL, 0, 0);
  if (!ev || cm_node_send_user_message(node, from, ev) != MOJO_RESULT_OK)
    abort();
}

/* Builds the node described above; the caller destroys it. */
static inline cm_node *fuzz_ports_node_create(const cm_node_delegate *delegate) {
  fuzz_ports_counter = 0;
  cm_name_set_test_source(fuzz_ports_next_name);
  cm_node *node = NULL;
  cm_port_ref a, b, c, d;
  if (cm_node_create(&FUZZ_NODE, delegate, &node) != MOJO_RESULT_OK ||
      cm_node_create_port_pair(node, &a, &b) != MOJO_RESULT_OK ||
      cm_node_create_uninitialized_port(node, &c) != MOJO_RESULT_OK ||
      cm_node_initialize_port(node, &c, &FUZZ_PEER, &FUZZ_PEER_PORT) != MOJO_RESULT_OK ||
      cm_node_create_uninitialized_port(node, &d) != MOJO_RESULT_OK ||
      cm_node_initialize_port(node, &d, &FUZZ_PEER, &FUZZ_PEER_PORT_D) != MOJO_RESULT_OK ||
      cm_node_allow_port_merge(node, &d, &FUZZ_PEER) != MOJO_RESULT_OK)
    abort();
  fuzz_ports_send(node, &a);
  fuzz_ports_send(node, &c);
  cm_port_ref_release(&a);
  cm_port_ref_release(&b);
  cm_port_ref_release(&c);
  cm_port_ref_release(&d);
  return node;
}

#endif /* CMOJO_FUZZ_PORTS_EVENT_H_ */
