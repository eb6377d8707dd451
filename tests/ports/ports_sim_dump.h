/* Diagnostics of test_ports_sim.c: printing the ports of every node when a
 * run fails, and counting drained proxies left after a node loss. Reads the
 * nodes' internals (ports_internal.h) and the simulator's world `W`; only
 * included by test_ports_sim.c, after the world is defined. */
#ifndef CMOJO_TESTS_PORTS_SIM_DUMP_H_
#define CMOJO_TESTS_PORTS_SIM_DUMP_H_

/* Prints every port of node `n`, to explain a failed run. */
static inline void dump_node(int n) {
  cm_node *node = W.nodes[n];
  for (size_t b = 0; b < node->num_buckets; b++) {
    for (cm_port *p = node->buckets[b]; p; p = p->hash_next) {
      printf("  node %d port %016llx state %d peer %016llx@%d prev %016llx@%d queued %zu "
             "next_recv %llu next_send %llu last_recv %llu closed %d lost %d rm %d buffered %d "
             "pending %d\n",
             n, (unsigned long long)p->name.v1, (int)p->state,
             (unsigned long long)p->peer_port.v1, node_index(&p->peer_node),
             (unsigned long long)p->prev_port.v1, node_index(&p->prev_node), p->queued_count,
             (unsigned long long)p->next_seq_to_receive,
             (unsigned long long)p->next_seq_to_send,
             (unsigned long long)p->last_seq_to_receive, p->peer_closed,
             p->peer_lost_unexpectedly, p->remove_proxy_on_last_message, p->buffered != NULL,
             p->pending_head != NULL);
      for (cm_event *ev = p->buffered; ev; ev = ev->next)
        printf("    buffered type %d from %016llx@%d cseq %llu (want %llu)\n", (int)ev->type,
               (unsigned long long)ev->from_port.v1, node_index(&ev->route_node),
               (unsigned long long)ev->control_seq,
               (unsigned long long)p->next_control_seq_to_receive);
    }
  }
}

static size_t leaked_proxies;

/* Ports of node `n` that are proxies holding no message. */
static inline size_t count_stray_proxies(int n) {
  cm_node *node = W.nodes[n];
  size_t count = 0;
  for (size_t b = 0; b < node->num_buckets; b++) {
    for (cm_port *p = node->buckets[b]; p; p = p->hash_next)
      count += p->state == CM_PORT_PROXYING && p->queued_count == 0 && !p->buffered;
  }
  return count;
}

static inline void dump_world(void) {
  printf("  seed %llu fifo %d loss %d dead:", (unsigned long long)W.seed, W.fifo, W.loss);
  for (int n = 0; n < W.num_nodes; n++)
    printf(" %d", W.dead[n]);
  printf("\n");
  for (int n = 0; n < W.num_nodes; n++) {
    if (!W.dead[n])
      dump_node(n);
  }
  for (int i = 0; i < 2 * W.num_pipes; i++)
    printf("  end %d state %d node %d port %016llx sent %u received %u closure %d\n", i,
           (int)W.ends[i].state, W.ends[i].node,
           W.ends[i].state == END_LIVE ? (unsigned long long)W.ends[i].ref.name.v1 : 0ull,
           W.ends[i].sent, W.ends[i].received, W.ends[i].closure_seen);
}

#endif /* CMOJO_TESTS_PORTS_SIM_DUMP_H_ */
