/* A small in-process network of ports nodes for the unit tests: every event
 * that leaves a node is serialized to bytes (its payload appended), queued,
 * and parsed again when pump() delivers it, so every test also exercises the
 * wire format. Delivery is FIFO over one queue; the simulator test
 * (test_ports_sim.c) has its own randomized network.
 */
#ifndef CMOJO_TESTS_PORTS_TEST_NET_H_
#define CMOJO_TESTS_PORTS_TEST_NET_H_

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ports/ports.h"
#include "test_support.h"

#define NET_MAX_NODES 4

typedef struct net_payload {
  size_t len;
  char bytes[];
} net_payload;

static inline void net_payload_free(void *p) {
  free(p);
}

static const cm_payload_ops net_payload_ops = {.destroy = net_payload_free};

typedef struct net_packet {
  struct net_packet *next;
  int to;
  int from;
  size_t len;
  unsigned char bytes[];
} net_packet;

typedef struct net {
  cm_node *nodes[NET_MAX_NODES];
  bool dead[NET_MAX_NODES];
  int num_nodes;
  net_packet *head, *tail;
  int status_calls;
  int delivered;
} net;

static net g_net;

typedef struct net_ctx {
  int idx;
} net_ctx;

static net_ctx g_ctx[NET_MAX_NODES];

static inline int net_find(const cm_node_name *name) {
  for (int i = 0; i < g_net.num_nodes; i++) {
    if (cm_name_equal(cm_node_get_name(g_net.nodes[i]), name))
      return i;
  }
  return -1;
}

static inline void net_queue_bytes(int from, int to, const cm_event *ev) {
  size_t hdr = cm_event_serialized_size(ev);
  const net_payload *pl = cm_event_payload(ev);
  size_t plen = pl ? pl->len : 0;
  net_packet *p = malloc(sizeof(*p) + hdr + plen);
  assert_non_null(p);
  p->next = NULL;
  p->to = to;
  p->from = from;
  p->len = hdr + plen;
  cm_event_serialize(ev, p->bytes);
  if (plen)
    memcpy(p->bytes + hdr, pl->bytes, plen);
  if (g_net.tail)
    g_net.tail->next = p;
  else
    g_net.head = p;
  g_net.tail = p;
}

static inline void net_forward(void *context, const cm_node_name *to, cm_event *ev) {
  net_ctx *c = context;
  int t = net_find(to);
  if (t >= 0 && !g_net.dead[t])
    net_queue_bytes(c->idx, t, ev);
  cm_event_destroy(ev);
}

static inline void net_broadcast(void *context, cm_event *ev) {
  net_ctx *c = context;
  for (int i = 0; i < g_net.num_nodes; i++) {
    if (i != c->idx && !g_net.dead[i])
      net_queue_bytes(c->idx, i, ev);
  }
  cm_event_destroy(ev);
}

static inline void net_status(void *context, const cm_port_ref *port) {
  (void)context;
  (void)port;
  g_net.status_calls++;
}

static inline void net_init(int n) {
  memset(&g_net, 0, sizeof(g_net));
  g_net.num_nodes = n;
  for (int i = 0; i < n; i++) {
    g_ctx[i].idx = i;
    cm_node_delegate d = {&g_ctx[i], net_forward, net_broadcast, net_status};
    cm_node_name name;
    cm_name_random(&name);
    assert_int_equal(cm_node_create(&name, &d, &g_net.nodes[i]), MOJO_RESULT_OK);
  }
}

/* Delivers queued packets until none is left. */
static inline void net_pump(void) {
  while (g_net.head) {
    net_packet *p = g_net.head;
    g_net.head = p->next;
    if (!g_net.head)
      g_net.tail = NULL;
    if (!g_net.dead[p->to]) {
      cm_event *ev = NULL;
      size_t used = 0;
      assert_int_equal(cm_event_deserialize(p->bytes, p->len, &ev, &used), MOJO_RESULT_OK);
      if (cm_event_get_type(ev) == CM_EVENT_USER_MESSAGE) {
        net_payload *pl = malloc(sizeof(*pl) + (p->len - used));
        assert_non_null(pl);
        pl->len = p->len - used;
        memcpy(pl->bytes, p->bytes + used, pl->len);
        cm_event_set_payload(ev, pl, &net_payload_ops, pl->len);
      }
      cm_node_accept_event(g_net.nodes[p->to], cm_node_get_name(g_net.nodes[p->from]), ev);
      g_net.delivered++;
    }
    free(p);
  }
}

static inline void net_kill(int idx) {
  g_net.dead[idx] = true;
  for (int i = 0; i < g_net.num_nodes; i++) {
    if (i != idx && !g_net.dead[i])
      cm_node_lost_connection_to_node(g_net.nodes[i], cm_node_get_name(g_net.nodes[idx]));
  }
}

static inline void net_shutdown(void) {
  net_pump();
  for (int i = 0; i < g_net.num_nodes; i++)
    cm_node_destroy(g_net.nodes[i]);
  memset(&g_net, 0, sizeof(g_net));
}

static inline cm_event *net_msg(const char *text, size_t num_ports) {
  size_t len = strlen(text);
  net_payload *pl = malloc(sizeof(*pl) + len);
  assert_non_null(pl);
  pl->len = len;
  memcpy(pl->bytes, text, len);
  cm_event *ev = cm_event_user_message_create(pl, &net_payload_ops, len, num_ports);
  assert_non_null(ev);
  return ev;
}

/* Reads the next message of `port` and checks its text. */
static inline void net_expect(int node, const cm_port_ref *port, const char *text) {
  cm_event *ev = NULL;
  assert_int_equal(cm_node_get_message(g_net.nodes[node], port, &ev), MOJO_RESULT_OK);
  const net_payload *pl = cm_event_payload(ev);
  assert_non_null(pl);
  assert_int_equal(pl->len, strlen(text));
  assert_memory_equal(pl->bytes, text, pl->len);
  cm_event_destroy(ev);
}

/* A route between a port on node `a` and one on node `b`, made the way an
 * embedder connects two nodes: two uninitialized ports pointed at each
 * other. */
static inline void net_connect(int a, int b, cm_port_ref *pa, cm_port_ref *pb) {
  assert_int_equal(cm_node_create_uninitialized_port(g_net.nodes[a], pa), MOJO_RESULT_OK);
  assert_int_equal(cm_node_create_uninitialized_port(g_net.nodes[b], pb), MOJO_RESULT_OK);
  assert_int_equal(cm_node_initialize_port(g_net.nodes[a], pa, cm_node_get_name(g_net.nodes[b]),
                                           &pb->name),
                   MOJO_RESULT_OK);
  assert_int_equal(cm_node_initialize_port(g_net.nodes[b], pb, cm_node_get_name(g_net.nodes[a]),
                                           &pa->name),
                   MOJO_RESULT_OK);
}

static inline cm_port_status net_status_of(int node, const cm_port_ref *port) {
  cm_port_status st;
  assert_int_equal(cm_node_get_status(g_net.nodes[node], port, &st), MOJO_RESULT_OK);
  return st;
}

#endif /* CMOJO_TESTS_PORTS_TEST_NET_H_ */
