/* Unit tests of the ports layer: every public function and result code on
 * one or a few nodes, with every inter-node event going through bytes. */
#include "ports_test_net.h"

static int setup1(void **state) {
  (void)state;
  net_init(1);
  return 0;
}

static int setup2(void **state) {
  (void)state;
  net_init(2);
  return 0;
}

static int setup3(void **state) {
  (void)state;
  net_init(3);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  net_shutdown();
  return 0;
}

static void all_clean(void) {
  net_pump();
  for (int i = 0; i < g_net.num_nodes; i++) {
    if (!g_net.dead[i])
      assert_true(cm_node_can_shutdown_cleanly(g_net.nodes[i]));
  }
}

static void close_ref(int node, cm_port_ref *ref) {
  assert_int_equal(cm_node_close_port(g_net.nodes[node], ref), MOJO_RESULT_OK);
  cm_port_ref_release(ref);
}

static void test_names(void **state) {
  (void)state;
  enum { N = 2000 };
  static cm_name names[N];
  int bits[128] = {0};
  for (int i = 0; i < N; i++) {
    cm_name_random(&names[i]);
    assert_true(cm_name_is_valid(&names[i]));
    for (int b = 0; b < 64; b++) {
      bits[b] += (int)((names[i].v1 >> b) & 1);
      bits[64 + b] += (int)((names[i].v2 >> b) & 1);
    }
  }
  for (int i = 0; i < N; i++) {
    for (int j = i + 1; j < N; j++)
      assert_false(cm_name_equal(&names[i], &names[j]));
  }
  /* Every bit is set in roughly half the names (loose bound: 6 sigma). */
  for (int b = 0; b < 128; b++) {
    assert_in_range(bits[b], N / 2 - 140, N / 2 + 140);
  }
  cm_name zero = {0, 0};
  assert_false(cm_name_is_valid(&zero));
}

static void test_send_receive_in_order(void **state) {
  (void)state;
  cm_node *n = g_net.nodes[0];
  cm_port_ref a, b;
  assert_int_equal(cm_node_create_port_pair(n, &a, &b), MOJO_RESULT_OK);
  cm_port_status st = net_status_of(0, &b);
  assert_false(st.has_messages);
  assert_true(st.receiving_messages);
  assert_false(st.peer_closed);
  assert_false(st.peer_remote);

  cm_event *ev = NULL;
  assert_int_equal(cm_node_get_message(n, &b, &ev), MOJO_RESULT_SHOULD_WAIT);
  assert_null(ev);
  int before = g_net.status_calls;
  assert_int_equal(cm_node_send_user_message(n, &a, net_msg("one", 0)), MOJO_RESULT_OK);
  assert_int_equal(cm_node_send_user_message(n, &a, net_msg("two", 0)), MOJO_RESULT_OK);
  assert_int_equal(cm_node_send_user_message(n, &a, net_msg("three!", 0)), MOJO_RESULT_OK);
  assert_true(g_net.status_calls > before);
  st = net_status_of(0, &b);
  assert_true(st.has_messages);
  assert_int_equal(st.queued_message_count, 3);
  assert_int_equal(st.queued_num_bytes, 12);
  net_expect(0, &b, "one");
  net_expect(0, &b, "two");
  net_expect(0, &b, "three!");
  assert_int_equal(cm_node_get_message(n, &b, &ev), MOJO_RESULT_SHOULD_WAIT);
  /* And the other way. */
  assert_int_equal(cm_node_send_user_message(n, &b, net_msg("back", 0)), MOJO_RESULT_OK);
  net_expect(0, &a, "back");
  close_ref(0, &a);
  close_ref(0, &b);
  all_clean();
}

static void test_peer_closure_after_messages(void **state) {
  (void)state;
  cm_node *n = g_net.nodes[0];
  cm_port_ref a, b;
  assert_int_equal(cm_node_create_port_pair(n, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(cm_node_send_user_message(n, &a, net_msg("x", 0)), MOJO_RESULT_OK);
  assert_int_equal(cm_node_send_user_message(n, &a, net_msg("y", 0)), MOJO_RESULT_OK);
  close_ref(0, &a);
  cm_port_status st = net_status_of(0, &b);
  assert_true(st.peer_closed);
  assert_true(st.receiving_messages); /* two still to read */
  assert_int_equal(cm_node_send_user_message(n, &b, net_msg("z", 0)),
                   MOJO_RESULT_FAILED_PRECONDITION);
  net_expect(0, &b, "x");
  net_expect(0, &b, "y");
  cm_event *ev = NULL;
  assert_int_equal(cm_node_get_message(n, &b, &ev), MOJO_RESULT_FAILED_PRECONDITION);
  st = net_status_of(0, &b);
  assert_false(st.receiving_messages);
  /* Closed ports refuse everything. */
  assert_int_equal(cm_node_close_port(n, &a), MOJO_RESULT_INVALID_ARGUMENT);
  cm_port_ref stale;
  assert_int_equal(cm_node_get_port(n, &b.name, &stale), MOJO_RESULT_OK);
  close_ref(0, &b);
  assert_int_equal(cm_node_close_port(n, &stale), MOJO_RESULT_INVALID_ARGUMENT);
  cm_port_status st2;
  assert_int_equal(cm_node_get_status(n, &stale, &st2), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_node_get_message(n, &stale, &ev), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_node_send_user_message(n, &stale, net_msg("q", 0)),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_node_get_port(n, &b.name, &stale), MOJO_RESULT_NOT_FOUND);
  cm_port_ref_release(&stale);
  all_clean();
}

static void test_cannot_send_self_or_peer(void **state) {
  (void)state;
  cm_node *n = g_net.nodes[0];
  cm_port_ref a, b, c, d;
  assert_int_equal(cm_node_create_port_pair(n, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(cm_node_create_port_pair(n, &c, &d), MOJO_RESULT_OK);
  cm_event *ev = net_msg("self", 1);
  cm_event_ports(ev)[0] = a.name;
  assert_int_equal(cm_node_send_user_message(n, &a, ev), MOJO_RESULT_BUSY);
  /* The sending port survives its failed attempt to carry itself. */
  assert_int_equal(cm_node_send_user_message(n, &a, net_msg("ok", 0)), MOJO_RESULT_OK);
  net_expect(0, &b, "ok");

  ev = net_msg("peer", 1);
  cm_event_ports(ev)[0] = b.name;
  assert_int_equal(cm_node_send_user_message(n, &a, ev), MOJO_RESULT_PERMISSION_DENIED);
  /* As in Mojo, the failed send closed the carried peer. */
  assert_true(net_status_of(0, &a).peer_closed);
  close_ref(0, &a);
  cm_port_ref_release(&b);
  assert_int_equal(cm_node_create_port_pair(n, &a, &b), MOJO_RESULT_OK);

  /* A failed send closes the ports it carried: c's peer d sees closure. */
  ev = net_msg("carry", 2);
  cm_event_ports(ev)[0] = c.name;
  cm_event_ports(ev)[1] = c.name;
  assert_int_equal(cm_node_send_user_message(n, &a, ev), MOJO_RESULT_INVALID_ARGUMENT);
  assert_true(net_status_of(0, &d).peer_closed);
  cm_event *got;
  assert_int_equal(cm_node_get_message(n, &c, &got), MOJO_RESULT_INVALID_ARGUMENT);

  /* Unknown carried port. */
  ev = net_msg("ghost", 1);
  cm_name_random(&cm_event_ports(ev)[0]);
  assert_int_equal(cm_node_send_user_message(n, &a, ev), MOJO_RESULT_INVALID_ARGUMENT);
  close_ref(0, &b);
  cm_port_ref_release(&c);
  close_ref(0, &a);
  close_ref(0, &d);
  all_clean();
}

/* Sends `carried` inside a message over `via` and returns the port that
 * holds it on the receiving side (read from `recv`). */
static cm_port_ref transfer(int send_node, cm_port_ref *via, cm_port_ref *carried, int recv_node,
                            cm_port_ref *recv) {
  cm_event *ev = net_msg("carrier", 1);
  cm_event_ports(ev)[0] = carried->name;
  assert_int_equal(cm_node_send_user_message(g_net.nodes[send_node], via, ev), MOJO_RESULT_OK);
  cm_port_ref_release(carried);
  net_pump();
  cm_event *got = NULL;
  assert_int_equal(cm_node_get_message(g_net.nodes[recv_node], recv, &got), MOJO_RESULT_OK);
  assert_int_equal(cm_event_num_ports(got), 1);
  cm_port_ref out;
  assert_int_equal(cm_node_get_port(g_net.nodes[recv_node], &cm_event_ports(got)[0], &out),
                   MOJO_RESULT_OK);
  cm_event_destroy(got);
  return out;
}

static void test_transfer_within_node(void **state) {
  (void)state;
  cm_node *n = g_net.nodes[0];
  cm_port_ref a, b, c, d;
  assert_int_equal(cm_node_create_port_pair(n, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(cm_node_create_port_pair(n, &c, &d), MOJO_RESULT_OK);
  cm_port_name c_name = c.name;
  assert_int_equal(cm_node_send_user_message(n, &d, net_msg("early", 0)), MOJO_RESULT_OK);
  cm_port_ref c2 = transfer(0, &a, &c, 0, &b);
  /* Within one node the port keeps its name and its queue. */
  assert_true(cm_name_equal(&c2.name, &c_name));
  net_expect(0, &c2, "early");
  assert_int_equal(cm_node_send_user_message(n, &c2, net_msg("ping", 0)), MOJO_RESULT_OK);
  net_expect(0, &d, "ping");
  close_ref(0, &a);
  close_ref(0, &b);
  close_ref(0, &c2);
  assert_true(net_status_of(0, &d).peer_closed);
  close_ref(0, &d);
  all_clean();
}

static void test_transfer_across_nodes(void **state) {
  (void)state;
  cm_port_ref x0, x1; /* the route between node 0 and node 1 */
  net_connect(0, 1, &x0, &x1);
  cm_port_ref a, b;
  assert_int_equal(cm_node_create_port_pair(g_net.nodes[0], &a, &b), MOJO_RESULT_OK);
  /* Messages sent on a before and after b moves all arrive, in order. */
  assert_int_equal(cm_node_send_user_message(g_net.nodes[0], &a, net_msg("m1", 0)),
                   MOJO_RESULT_OK);
  cm_port_name b_name = b.name;
  cm_event *ev = net_msg("carrier", 1);
  cm_event_ports(ev)[0] = b.name;
  assert_int_equal(cm_node_send_user_message(g_net.nodes[0], &x0, ev), MOJO_RESULT_OK);
  cm_port_ref_release(&b);
  assert_int_equal(cm_node_send_user_message(g_net.nodes[0], &a, net_msg("m2", 0)),
                   MOJO_RESULT_OK);
  net_pump();
  assert_true(net_status_of(0, &a).peer_remote);
  cm_event *got = NULL;
  assert_int_equal(cm_node_get_message(g_net.nodes[1], &x1, &got), MOJO_RESULT_OK);
  assert_int_equal(cm_event_num_ports(got), 1);
  assert_false(cm_name_equal(&cm_event_ports(got)[0], &b_name));
  cm_port_ref b1;
  assert_int_equal(cm_node_get_port(g_net.nodes[1], &cm_event_ports(got)[0], &b1),
                   MOJO_RESULT_OK);
  cm_event_destroy(got);
  assert_int_equal(cm_node_send_user_message(g_net.nodes[0], &a, net_msg("m3", 0)),
                   MOJO_RESULT_OK);
  net_pump();
  net_expect(1, &b1, "m1");
  net_expect(1, &b1, "m2");
  net_expect(1, &b1, "m3");
  assert_true(net_status_of(1, &b1).peer_remote);
  assert_int_equal(cm_node_send_user_message(g_net.nodes[1], &b1, net_msg("reply", 0)),
                   MOJO_RESULT_OK);
  net_pump();
  net_expect(0, &a, "reply");
  /* The proxy left on node 0 is gone: node 0 holds only a and x0. */
  close_ref(0, &x0);
  close_ref(1, &x1);
  cm_port_ref probe;
  assert_int_equal(cm_node_get_port(g_net.nodes[0], &b_name, &probe), MOJO_RESULT_NOT_FOUND);
  close_ref(1, &b1);
  net_pump();
  assert_true(net_status_of(0, &a).peer_closed);
  close_ref(0, &a);
  all_clean();
}

static void test_transfer_back_and_forth(void **state) {
  (void)state;
  cm_port_ref x0, x1, y1, y2, z2, z0;
  net_connect(0, 1, &x0, &x1);
  net_connect(1, 2, &y1, &y2);
  net_connect(2, 0, &z2, &z0);
  cm_port_ref a, b;
  assert_int_equal(cm_node_create_port_pair(g_net.nodes[0], &a, &b), MOJO_RESULT_OK);
  char text[16];
  int sent = 0;
  /* b travels 0 -> 1 -> 2 -> 0 three times while a keeps sending. */
  for (int round = 0; round < 3; round++) {
    snprintf(text, sizeof(text), "m%d", sent++);
    assert_int_equal(cm_node_send_user_message(g_net.nodes[0], &a, net_msg(text, 0)),
                     MOJO_RESULT_OK);
    b = transfer(0, &x0, &b, 1, &x1);
    snprintf(text, sizeof(text), "m%d", sent++);
    assert_int_equal(cm_node_send_user_message(g_net.nodes[0], &a, net_msg(text, 0)),
                     MOJO_RESULT_OK);
    b = transfer(1, &y1, &b, 2, &y2);
    b = transfer(2, &z2, &b, 0, &z0);
  }
  net_pump();
  for (int i = 0; i < sent; i++) {
    snprintf(text, sizeof(text), "m%d", i);
    net_expect(0, &b, text);
  }
  assert_false(net_status_of(0, &b).peer_remote);
  close_ref(0, &a);
  close_ref(0, &b);
  close_ref(0, &x0);
  close_ref(1, &x1);
  close_ref(1, &y1);
  close_ref(2, &y2);
  close_ref(2, &z2);
  close_ref(0, &z0);
  all_clean();
}

static void test_close_with_queued_ports(void **state) {
  (void)state;
  cm_node *n = g_net.nodes[0];
  cm_port_ref a, b, c, d;
  assert_int_equal(cm_node_create_port_pair(n, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(cm_node_create_port_pair(n, &c, &d), MOJO_RESULT_OK);
  cm_event *ev = net_msg("carrier", 1);
  cm_event_ports(ev)[0] = c.name;
  assert_int_equal(cm_node_send_user_message(n, &a, ev), MOJO_RESULT_OK);
  cm_port_ref_release(&c);
  /* b closes without reading: c is closed with the message, d sees it. */
  close_ref(0, &b);
  assert_true(net_status_of(0, &d).peer_closed);
  close_ref(0, &a);
  close_ref(0, &d);
  all_clean();
}

static void test_close_with_queued_ports_remote(void **state) {
  (void)state;
  cm_port_ref x0, x1, c, d;
  net_connect(0, 1, &x0, &x1);
  assert_int_equal(cm_node_create_port_pair(g_net.nodes[0], &c, &d), MOJO_RESULT_OK);
  cm_event *ev = net_msg("carrier", 1);
  cm_event_ports(ev)[0] = c.name;
  assert_int_equal(cm_node_send_user_message(g_net.nodes[0], &x0, ev), MOJO_RESULT_OK);
  cm_port_ref_release(&c);
  net_pump();
  close_ref(1, &x1);
  net_pump();
  assert_true(net_status_of(0, &d).peer_closed);
  close_ref(0, &x0);
  close_ref(0, &d);
  all_clean();
}

static void test_merge_local(void **state) {
  (void)state;
  cm_node *n = g_net.nodes[0];
  cm_port_ref a, b, c, d;
  assert_int_equal(cm_node_create_port_pair(n, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(cm_node_create_port_pair(n, &c, &d), MOJO_RESULT_OK);
  assert_int_equal(cm_node_send_user_message(n, &a, net_msg("before", 0)), MOJO_RESULT_OK);
  assert_int_equal(cm_node_merge_local_ports(n, &b, &c), MOJO_RESULT_OK);
  net_expect(0, &d, "before");
  assert_int_equal(cm_node_send_user_message(n, &d, net_msg("to a", 0)), MOJO_RESULT_OK);
  net_expect(0, &a, "to a");
  cm_port_ref_release(&b);
  cm_port_ref_release(&c);

  /* Ports that sent something, or that are each other's peer, refuse. */
  cm_port_ref e, f, g, h;
  assert_int_equal(cm_node_create_port_pair(n, &e, &f), MOJO_RESULT_OK);
  assert_int_equal(cm_node_create_port_pair(n, &g, &h), MOJO_RESULT_OK);
  assert_int_equal(cm_node_send_user_message(n, &f, net_msg("used", 0)), MOJO_RESULT_OK);
  assert_int_equal(cm_node_merge_local_ports(n, &f, &g), MOJO_RESULT_FAILED_PRECONDITION);
  assert_true(net_status_of(0, &e).peer_closed); /* both were closed */
  assert_true(net_status_of(0, &h).peer_closed);
  cm_port_ref i, j;
  assert_int_equal(cm_node_create_port_pair(n, &i, &j), MOJO_RESULT_OK);
  assert_int_equal(cm_node_merge_local_ports(n, &i, &j), MOJO_RESULT_FAILED_PRECONDITION);
  cm_port_ref_release(&f);
  cm_port_ref_release(&g);
  cm_port_ref_release(&i);
  cm_port_ref_release(&j);
  close_ref(0, &e);
  close_ref(0, &h);
  close_ref(0, &a);
  close_ref(0, &d);
  all_clean();
}

static void test_merge_remote(void **state) {
  (void)state;
  cm_port_ref a, b, c, d;
  assert_int_equal(cm_node_create_port_pair(g_net.nodes[0], &a, &b), MOJO_RESULT_OK);
  assert_int_equal(cm_node_create_port_pair(g_net.nodes[1], &c, &d), MOJO_RESULT_OK);
  assert_int_equal(cm_node_send_user_message(g_net.nodes[1], &d, net_msg("from d", 0)),
                   MOJO_RESULT_OK);
  /* A merge into a port not designated for it is refused. */
  assert_int_equal(cm_node_merge_ports(g_net.nodes[0], &b, cm_node_get_name(g_net.nodes[1]),
                                       &c.name),
                   MOJO_RESULT_OK);
  net_pump();
  assert_true(net_status_of(0, &a).peer_closed);
  cm_port_status st = net_status_of(1, &c);
  assert_false(st.peer_closed);
  close_ref(0, &a);
  cm_port_ref_release(&b);

  assert_int_equal(cm_node_create_port_pair(g_net.nodes[0], &a, &b), MOJO_RESULT_OK);
  assert_int_equal(cm_node_allow_port_merge(g_net.nodes[1], &c, cm_node_get_name(g_net.nodes[0])),
                   MOJO_RESULT_OK);
  assert_int_equal(cm_node_merge_ports(g_net.nodes[0], &b, cm_node_get_name(g_net.nodes[1]),
                                       &c.name),
                   MOJO_RESULT_OK);
  assert_int_equal(cm_node_merge_ports(g_net.nodes[0], &b, cm_node_get_name(g_net.nodes[1]),
                                       &c.name),
                   MOJO_RESULT_INVALID_ARGUMENT);
  net_pump();
  net_expect(0, &a, "from d");
  assert_int_equal(cm_node_send_user_message(g_net.nodes[0], &a, net_msg("from a", 0)),
                   MOJO_RESULT_OK);
  net_pump();
  net_expect(1, &d, "from a");
  assert_true(net_status_of(0, &a).peer_remote);
  cm_port_ref_release(&b);
  cm_port_ref_release(&c);
  close_ref(0, &a);
  net_pump();
  assert_true(net_status_of(1, &d).peer_closed);
  close_ref(1, &d);
  all_clean();
}

static void test_lost_node(void **state) {
  (void)state;
  cm_port_ref x0, x1, a, b;
  net_connect(0, 1, &x0, &x1);
  assert_int_equal(cm_node_create_port_pair(g_net.nodes[0], &a, &b), MOJO_RESULT_OK);
  assert_int_equal(cm_node_send_user_message(g_net.nodes[1], &x1, net_msg("last", 0)),
                   MOJO_RESULT_OK);
  net_pump();
  /* b is on its way to node 1 (its proxy waits for PortAccepted) when
   * node 1 dies: a must see its peer closed. */
  cm_event *ev = net_msg("carrier", 1);
  cm_event_ports(ev)[0] = b.name;
  assert_int_equal(cm_node_send_user_message(g_net.nodes[0], &x0, ev), MOJO_RESULT_OK);
  cm_port_ref_release(&b);
  net_kill(1);
  net_pump();
  assert_true(net_status_of(0, &x0).peer_closed);
  assert_true(net_status_of(0, &a).peer_closed);
  /* What arrived before the loss can still be read. */
  net_expect(0, &x0, "last");
  cm_event *got;
  assert_int_equal(cm_node_get_message(g_net.nodes[0], &x0, &got),
                   MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(cm_node_lost_connection_to_node(g_net.nodes[0],
                                                   cm_node_get_name(g_net.nodes[0])),
                   MOJO_RESULT_INVALID_ARGUMENT);
  close_ref(0, &x0);
  close_ref(0, &a);
  cm_port_ref_release(&x1);
  all_clean();
}

static void test_lost_middle_node(void **state) {
  (void)state;
  /* a on node 0, b sent to node 2 via node 1; node 1 dies mid-way. */
  cm_port_ref x0, x1, y1, y2, a, b;
  net_connect(0, 1, &x0, &x1);
  net_connect(1, 2, &y1, &y2);
  assert_int_equal(cm_node_create_port_pair(g_net.nodes[0], &a, &b), MOJO_RESULT_OK);
  b = transfer(0, &x0, &b, 1, &x1);
  cm_event *ev = net_msg("carrier", 1);
  cm_event_ports(ev)[0] = b.name;
  assert_int_equal(cm_node_send_user_message(g_net.nodes[1], &y1, ev), MOJO_RESULT_OK);
  cm_port_ref_release(&b);
  /* Deliver only the carrier so the route still runs through node 1:
   * node 1 hears nothing more (not even node 2's PortAccepted). */
  g_net.dead[1] = true;
  cm_event *got = NULL;
  net_packet *keep = NULL;
  while (g_net.head) {
    net_packet *p = g_net.head;
    g_net.head = p->next;
    if (!g_net.head)
      g_net.tail = NULL;
    if (p->to == 2) {
      p->next = NULL;
      g_net.head = g_net.tail = p;
      net_pump();
    } else {
      p->next = keep;
      keep = p;
    }
  }
  while (keep) {
    net_packet *next = keep->next;
    free(keep);
    keep = next;
  }
  assert_int_equal(cm_node_get_message(g_net.nodes[2], &y2, &got), MOJO_RESULT_OK);
  cm_port_ref b2;
  assert_int_equal(cm_node_get_port(g_net.nodes[2], &cm_event_ports(got)[0], &b2),
                   MOJO_RESULT_OK);
  cm_event_destroy(got);
  net_kill(1);
  net_pump();
  assert_true(net_status_of(0, &a).peer_closed);
  assert_true(net_status_of(2, &b2).peer_closed);
  close_ref(0, &a);
  close_ref(2, &b2);
  close_ref(0, &x0);
  close_ref(2, &y2);
  cm_port_ref_release(&x1);
  cm_port_ref_release(&y1);
  all_clean();
}

static void test_acks(void **state) {
  (void)state;
  cm_port_ref a, b;
  net_connect(0, 1, &a, &b);
  assert_int_equal(cm_node_set_acknowledge_request_interval(g_net.nodes[0], &a, 2),
                   MOJO_RESULT_OK);
  for (int i = 0; i < 5; i++)
    assert_int_equal(cm_node_send_user_message(g_net.nodes[0], &a, net_msg("m", 0)),
                     MOJO_RESULT_OK);
  net_pump();
  assert_int_equal(net_status_of(0, &a).unacknowledged_message_count, 5);
  net_expect(1, &b, "m");
  net_pump();
  assert_int_equal(net_status_of(0, &a).unacknowledged_message_count, 5);
  net_expect(1, &b, "m");
  net_pump();
  assert_int_equal(net_status_of(0, &a).unacknowledged_message_count, 3);
  net_expect(1, &b, "m");
  net_expect(1, &b, "m");
  net_pump();
  assert_int_equal(net_status_of(0, &a).unacknowledged_message_count, 1);
  /* Without an interval nothing more is acknowledged. */
  assert_int_equal(cm_node_set_acknowledge_request_interval(g_net.nodes[0], &a, 0),
                   MOJO_RESULT_OK);
  net_expect(1, &b, "m");
  net_pump();
  assert_int_equal(net_status_of(0, &a).unacknowledged_message_count, 1);
  close_ref(1, &b);
  net_pump();
  assert_int_equal(net_status_of(0, &a).unacknowledged_message_count, 0);
  close_ref(0, &a);
  all_clean();
}

static void test_uninitialized_and_user_data(void **state) {
  (void)state;
  cm_node *n = g_net.nodes[0];
  cm_port_ref u;
  assert_int_equal(cm_node_create_uninitialized_port(n, &u), MOJO_RESULT_OK);
  cm_port_status st;
  assert_int_equal(cm_node_get_status(n, &u, &st), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_node_send_user_message(n, &u, net_msg("no", 0)),
                   MOJO_RESULT_INVALID_ARGUMENT);
  int tag;
  assert_null(cm_port_get_user_data(&u));
  cm_port_set_user_data(&u, &tag);
  cm_port_ref copy;
  cm_port_ref_copy(&copy, &u);
  assert_ptr_equal(cm_port_get_user_data(&copy), &tag);
  cm_port_ref_release(&copy);
  cm_port_name nowhere;
  cm_name_random(&nowhere);
  cm_node_name bad = {0, 0};
  assert_int_equal(cm_node_initialize_port(n, &u, &bad, &nowhere), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_node_initialize_port(n, &u, cm_node_get_name(n), &nowhere), MOJO_RESULT_OK);
  assert_int_equal(cm_node_initialize_port(n, &u, cm_node_get_name(n), &nowhere),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_false(cm_node_can_shutdown_cleanly(n));
  close_ref(0, &u);
  cm_port_ref v;
  assert_int_equal(cm_node_create_uninitialized_port(n, &v), MOJO_RESULT_OK);
  close_ref(0, &v);
  all_clean();
  /* A ref of another node's port is refused. */
  cm_node *other;
  cm_node_delegate d = {NULL, net_forward, net_broadcast, net_status};
  cm_node_name on;
  cm_name_random(&on);
  assert_int_equal(cm_node_create(&on, &d, &other), MOJO_RESULT_OK);
  cm_port_ref p, q;
  assert_int_equal(cm_node_create_port_pair(other, &p, &q), MOJO_RESULT_OK);
  assert_int_equal(cm_node_close_port(n, &p), MOJO_RESULT_INVALID_ARGUMENT);
  cm_port_ref_release(&p);
  cm_port_ref_release(&q);
  cm_node_destroy(other); /* with open ports: no leak, no events */
  assert_int_equal(cm_node_create(&bad, &d, &other), MOJO_RESULT_INVALID_ARGUMENT);
}


static void test_resend_read_message(void **state) {
  (void)state;
  cm_node *n = g_net.nodes[0];
  cm_port_ref a, b, c, d;
  assert_int_equal(cm_node_create_port_pair(n, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(cm_node_create_port_pair(n, &c, &d), MOJO_RESULT_OK);
  assert_int_equal(cm_node_send_user_message(n, &a, net_msg("relay", 0)), MOJO_RESULT_OK);
  assert_int_equal(cm_node_send_user_message(n, &a, net_msg("second", 0)), MOJO_RESULT_OK);
  cm_event *ev = NULL;
  assert_int_equal(cm_node_get_message(n, &b, &ev), MOJO_RESULT_OK);
  /* A read message can be sent again on another pipe, where it gets that
   * pipe's next number (1), not the one it had (1 of a/b). */
  assert_int_equal(cm_node_send_user_message(n, &c, net_msg("first on c", 0)), MOJO_RESULT_OK);
  assert_int_equal(cm_node_send_user_message(n, &c, ev), MOJO_RESULT_OK);
  net_expect(0, &d, "first on c");
  net_expect(0, &d, "relay");
  net_expect(0, &b, "second");
  /* Wrong-state calls. */
  cm_port_ref u;
  assert_int_equal(cm_node_create_uninitialized_port(n, &u), MOJO_RESULT_OK);
  assert_int_equal(cm_node_set_acknowledge_request_interval(n, &u, 1),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_node_merge_local_ports(n, &u, &u), MOJO_RESULT_INVALID_ARGUMENT);
  close_ref(0, &u);
  assert_int_equal(cm_node_allow_port_merge(n, &u, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  close_ref(0, &a);
  close_ref(0, &b);
  close_ref(0, &c);
  close_ref(0, &d);
  all_clean();
}

static void test_events_before_initialize(void **state) {
  (void)state;
  /* Node 0's end is ready and sends before node 1 initializes its end:
   * the events wait, and are processed once the port is initialized. */
  cm_port_ref a, b;
  assert_int_equal(cm_node_create_uninitialized_port(g_net.nodes[0], &a), MOJO_RESULT_OK);
  assert_int_equal(cm_node_create_uninitialized_port(g_net.nodes[1], &b), MOJO_RESULT_OK);
  assert_int_equal(cm_node_initialize_port(g_net.nodes[0], &a, cm_node_get_name(g_net.nodes[1]),
                                           &b.name),
                   MOJO_RESULT_OK);
  assert_int_equal(cm_node_send_user_message(g_net.nodes[0], &a, net_msg("early", 0)),
                   MOJO_RESULT_OK);
  close_ref(0, &a);
  net_pump();
  assert_int_equal(cm_node_initialize_port(g_net.nodes[1], &b, cm_node_get_name(g_net.nodes[0]),
                                           &a.name),
                   MOJO_RESULT_OK);
  net_expect(1, &b, "early");
  assert_true(net_status_of(1, &b).peer_closed);
  close_ref(1, &b);
  all_clean();
}

static void test_merge_with_closed_peer(void **state) {
  (void)state;
  cm_node *n = g_net.nodes[0];
  cm_port_ref a, b, c, d;
  assert_int_equal(cm_node_create_port_pair(n, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(cm_node_create_port_pair(g_net.nodes[1], &c, &d), MOJO_RESULT_OK);
  assert_int_equal(cm_node_send_user_message(n, &a, net_msg("last words", 0)), MOJO_RESULT_OK);
  close_ref(0, &a);
  /* b's peer is closed; merging b into c hands a's last message and its
   * closure on to d. */
  assert_int_equal(cm_node_allow_port_merge(g_net.nodes[1], &c, cm_node_get_name(g_net.nodes[0])),
                   MOJO_RESULT_OK);
  assert_int_equal(cm_node_merge_ports(n, &b, cm_node_get_name(g_net.nodes[1]), &c.name),
                   MOJO_RESULT_OK);
  net_pump();
  net_expect(1, &d, "last words");
  assert_true(net_status_of(1, &d).peer_closed);
  cm_event *ev;
  assert_int_equal(cm_node_get_message(g_net.nodes[1], &d, &ev), MOJO_RESULT_FAILED_PRECONDITION);
  cm_port_ref_release(&b);
  cm_port_ref_release(&c);
  close_ref(1, &d);
  all_clean();
}

static void test_merge_source_checked(void **state) {
  (void)state;
  /* c on node 1 waits for a merge from node 2; node 0's MergePort is
   * refused (the incoming port is closed, so a's side sees closure). */
  cm_port_ref a, b, c, d;
  assert_int_equal(cm_node_create_port_pair(g_net.nodes[0], &a, &b), MOJO_RESULT_OK);
  assert_int_equal(cm_node_create_port_pair(g_net.nodes[1], &c, &d), MOJO_RESULT_OK);
  assert_int_equal(cm_node_allow_port_merge(g_net.nodes[1], &c, cm_node_get_name(g_net.nodes[2])),
                   MOJO_RESULT_OK);
  assert_int_equal(cm_node_merge_ports(g_net.nodes[0], &b, cm_node_get_name(g_net.nodes[1]),
                                       &c.name),
                   MOJO_RESULT_OK);
  net_pump();
  assert_true(net_status_of(0, &a).peer_closed);
  assert_false(net_status_of(1, &d).peer_closed);
  /* Node 2 is lost before it merges: c is closed, d sees it. */
  net_kill(2);
  net_pump();
  assert_true(net_status_of(1, &d).peer_closed);
  cm_port_status st;
  assert_int_equal(cm_node_get_status(g_net.nodes[1], &c, &st), MOJO_RESULT_INVALID_ARGUMENT);
  cm_port_ref_release(&b);
  cm_port_ref_release(&c);
  close_ref(0, &a);
  close_ref(1, &d);
  all_clean();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test_setup_teardown(test_send_receive_in_order, setup1, teardown),
      cmocka_unit_test_setup_teardown(test_peer_closure_after_messages, setup1, teardown),
      cmocka_unit_test_setup_teardown(test_cannot_send_self_or_peer, setup1, teardown),
      cmocka_unit_test_setup_teardown(test_transfer_within_node, setup1, teardown),
      cmocka_unit_test_setup_teardown(test_transfer_across_nodes, setup2, teardown),
      cmocka_unit_test_setup_teardown(test_transfer_back_and_forth, setup3, teardown),
      cmocka_unit_test_setup_teardown(test_close_with_queued_ports, setup1, teardown),
      cmocka_unit_test_setup_teardown(test_close_with_queued_ports_remote, setup2, teardown),
      cmocka_unit_test_setup_teardown(test_merge_local, setup1, teardown),
      cmocka_unit_test_setup_teardown(test_merge_remote, setup2, teardown),
      cmocka_unit_test_setup_teardown(test_lost_node, setup2, teardown),
      cmocka_unit_test_setup_teardown(test_lost_middle_node, setup3, teardown),
      cmocka_unit_test_setup_teardown(test_acks, setup2, teardown),
      cmocka_unit_test_setup_teardown(test_uninitialized_and_user_data, setup1, teardown),
      cmocka_unit_test_setup_teardown(test_resend_read_message, setup1, teardown),
      cmocka_unit_test_setup_teardown(test_events_before_initialize, setup2, teardown),
      cmocka_unit_test_setup_teardown(test_merge_with_closed_peer, setup2, teardown),
      cmocka_unit_test_setup_teardown(test_merge_source_checked, setup3, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
