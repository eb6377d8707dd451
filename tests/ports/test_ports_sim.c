/* A simulated network of ports nodes, driven by a seeded random schedule.
 *
 * Each run builds 4 or 5 nodes and 4 to 8 pipes whose ends sit on random
 * nodes, then interleaves at random: event deliveries, plain sends in both
 * directions, reads, moves of pipe ends inside messages (so ends hop across
 * nodes many times, through proxies), closes, merges of unused ends (local
 * and remote, in 2/3 of the seeds), and in 1/5 of the
 * seeds the death of a node (the others learn of it at random later
 * moments, and again whenever they send to it). Every event that leaves a
 * node is serialized to bytes (with a small payload appended) and parsed
 * again on delivery.
 *
 * Delivery order. Real node channels are FIFO per pair of nodes, but the
 * ports protocol does not rely on that: every event that travels along a
 * route carries its sender port and a per-link control sequence number, and
 * a port processes the events of its previous port strictly in that order,
 * buffering everything else (user messages are additionally ordered by
 * their own sequence numbers). So half of the seeds keep per-pair FIFO and
 * randomize only the interleaving between pairs and with local actions
 * (what a real system does), and the other half deliver any queued event in
 * any order (strictly harder; it proves the per-link ordering is complete).
 *
 * Invariants checked: every message is read exactly once and in order per
 * direction (a read must be exactly the next number); without node loss,
 * every message sent before a close (explicit, or implicit when the message
 * carrying a pipe end is dropped) is read; every surviving end whose peer is
 * gone observes peer closure, through port_status_changed, exactly once
 * (the flag never goes back); after the drain no node holds more ports than
 * the pipe ends living on it (no proxy left); after closing everything every
 * node can shut down cleanly; ASan checks leaks.
 *
 * With node loss the checks are: reads still exactly in order (a prefix of
 * what was sent), every end whose peer is gone sees closure exactly once,
 * and after closing everything no port is left on any surviving node.
 *
 * CMOJO_TEST_SEED=N replays one seed exactly (port names come from a
 * seeded stream too); CMOJO_SOAK_SEEDS=N runs N seeds instead of the
 * default 5000, starting at CMOJO_SIM_FIRST_SEED (default 1);
 * CMOJO_SIM_TRACE=1 prints deliveries, CMOJO_PORTS_TRACE=1 every event,
 * CMOJO_SIM_STRICT=0 counts drained proxies left after a node loss instead
 * of failing, CMOJO_SIM_MERGE_LOSS=0 merges only in seeds without loss.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ports/ports_internal.h" /* only to print a node when a run fails */
#include "test_support.h"

#define MAX_NODES 5
#define MAX_PIPES 8
#define MAX_ENDS (2 * MAX_PIPES)
#define MAX_CARGO 2

/* ---- Random ------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void) {
  uint64_t x = rng_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng_state = x;
  return x * 0x2545f4914f6cdd1dull;
}

static uint32_t below(uint32_t n) {
  return (uint32_t)(rnd() % n);
}

static bool chance(uint32_t percent) {
  return below(100) < percent;
}

/* ---- The world ------------------------------------------------------- */

typedef enum end_state {
  END_LIVE,     /* a receiving port on `node` */
  END_INFLIGHT, /* inside a message not read yet */
  END_CLOSED,   /* closed by the test */
  END_IMPLICIT, /* closed by the node with a message nobody will read */
  END_GONE,     /* died with its node */
  END_MERGED,   /* merged away: its peer now talks to another end */
} end_state;

typedef struct end {
  int pipe, side;
  int peer; /* index of the end this one talks to (changes on merges) */
  end_state state;
  int node;
  cm_port_ref ref;
  uint32_t sent;      /* messages sent from this end */
  uint32_t received;  /* messages read at this end */
  bool closure_seen;  /* peer closure observed via port_status_changed */
  int closure_events; /* times that flag went from false to true */
  /* While in flight: the message that carries it. */
  int carrier_end; /* the end it is addressed to */
  uint32_t carrier_seq;
} end;

typedef struct packet {
  struct packet *next;
  int from, to; /* node indices; to < 0: loss notice for node `from` */
  size_t len;
  unsigned char bytes[];
} packet;

typedef struct world {
  int num_nodes, num_pipes;
  cm_node *nodes[MAX_NODES];
  int ctx[MAX_NODES];
  bool dead[MAX_NODES];
  end ends[MAX_ENDS];
  packet *chan[MAX_NODES][MAX_NODES + 1]; /* [from][to]; to == num: notices */
  size_t pending;
  bool fifo, loss, merges, trace;
  uint64_t seed;
} world;

static world W;
static size_t merges_done, moves_done, losses_done;

static end *peer_of(const end *e) {
  return &W.ends[e->peer];
}

/* ---- Payload: pipe, side, seq, cargo ids ------------------------------- */

typedef struct payload {
  size_t len;
  unsigned char bytes[];
} payload;

static void payload_free(void *p) {
  free(p);
}

static const cm_payload_ops payload_ops = {.destroy = payload_free};

static payload *payload_new(size_t len) {
  payload *p = malloc(sizeof(*p) + len);
  assert_non_null(p);
  p->len = len;
  return p;
}

static void put32(unsigned char *b, uint32_t v) {
  memcpy(b, &v, 4);
}

static uint32_t get32(const unsigned char *b) {
  uint32_t v;
  memcpy(&v, b, 4);
  return v;
}

/* ---- Delegate ---------------------------------------------------------- */

static void enqueue(int from, int to, const void *bytes, size_t len) {
  packet *p = malloc(sizeof(*p) + len);
  assert_non_null(p);
  p->next = NULL;
  p->from = from;
  p->to = to;
  p->len = len;
  memcpy(p->bytes, bytes, len);
  int slot = to < 0 ? W.num_nodes : to;
  packet **link = &W.chan[from][slot];
  while (*link)
    link = &(*link)->next;
  *link = p;
  W.pending++;
}

static void send_bytes(int from, int to, const cm_event *ev) {
  if (W.dead[from])
    return;
  if (W.dead[to]) {
    /* As an embedder does when it cannot reach a node: report the loss
     * (again), since the route just created may point there. */
    enqueue(from, -1, cm_node_get_name(W.nodes[to]), sizeof(cm_node_name));
    return;
  }
  size_t hdr = cm_event_serialized_size(ev);
  const payload *pl = cm_event_payload(ev);
  size_t plen = pl ? pl->len : 0;
  unsigned char *buf = malloc(hdr + plen + 1);
  assert_non_null(buf);
  cm_event_serialize(ev, buf);
  if (plen)
    memcpy(buf + hdr, pl->bytes, plen);
  enqueue(from, to, buf, hdr + plen);
  free(buf);
}

static int node_index(const cm_node_name *name) {
  for (int i = 0; i < W.num_nodes; i++) {
    if (cm_name_equal(cm_node_get_name(W.nodes[i]), name))
      return i;
  }
  return -1;
}

static void sim_forward(void *context, const cm_node_name *to, cm_event *ev) {
  int from = *(int *)context;
  int t = node_index(to);
  assert_true(t >= 0 && t != from);
  send_bytes(from, t, ev);
  cm_event_destroy(ev);
}

static void sim_broadcast(void *context, cm_event *ev) {
  int from = *(int *)context;
  for (int i = 0; i < W.num_nodes; i++) {
    if (i != from)
      send_bytes(from, i, ev);
  }
  cm_event_destroy(ev);
}

/* What a core does on a status change: look at the port (this calls back
 * into the node, which must not deadlock) and note peer closure. */
static void observe(end *e, bool from_notification) {
  cm_port_status st;
  assert_int_equal(cm_node_get_status(W.nodes[e->node], &e->ref, &st), MOJO_RESULT_OK);
  if (st.peer_closed && !e->closure_seen) {
    e->closure_seen = true;
    e->closure_events++;
  }
  if (!st.peer_closed && e->closure_seen && from_notification)
    fail_msg("seed %llu: end %d: peer closure went away", (unsigned long long)W.seed,
             (int)(e - W.ends));
  assert_true(e->closure_events <= 1);
}

static void sim_status(void *context, const cm_port_ref *ref) {
  (void)context;
  end *e = cm_port_get_user_data(ref);
  if (!e || e->state != END_LIVE || e->ref.port != ref->port)
    return; /* a port the end has left (now a proxy, or closed) */
  observe(e, true);
}

/* ---- Setup ------------------------------------------------------------- */

static void bind_end(end *e, int node, cm_port_ref *ref) {
  e->state = END_LIVE;
  e->node = node;
  e->ref = *ref;
  cm_port_set_user_data(&e->ref, e);
}

/* Port and node names come from their own seeded stream, so a replay of a
 * seed makes the same names and therefore the same hash-table orders. */
static uint64_t name_state;

static uint64_t name_source(void) {
  name_state += 0x9e3779b97f4a7c15ull;
  uint64_t z = name_state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void world_init(uint64_t seed) {
  memset(&W, 0, sizeof(W));
  W.seed = seed;
  rng_state = seed * 0x9e3779b97f4a7c15ull + 0x1234567ull;
  rnd();
  name_state = seed;
  cm_name_set_test_source(name_source);
  W.num_nodes = 4 + (int)below(2);
  W.num_pipes = 4 + (int)below(MAX_PIPES - 3);
  W.fifo = (seed & 1) == 0;
  W.loss = seed % 5 == 2;
  /* Merges run in two thirds of the seeds, with or without node loss
   * (CMOJO_SIM_MERGE_LOSS=0 keeps them out of loss seeds). */
  const char *merge_loss = getenv("CMOJO_SIM_MERGE_LOSS");
  W.merges = seed % 3 != 0 && (!W.loss || !merge_loss || strcmp(merge_loss, "0") != 0);
  W.trace = getenv("CMOJO_SIM_TRACE") != NULL;
  for (int i = 0; i < W.num_nodes; i++) {
    W.ctx[i] = i;
    cm_node_delegate d = {&W.ctx[i], sim_forward, sim_broadcast, sim_status};
    cm_node_name name;
    cm_name_random(&name);
    assert_int_equal(cm_node_create(&name, &d, &W.nodes[i]), MOJO_RESULT_OK);
  }
  for (int p = 0; p < W.num_pipes; p++) {
    int a = (int)below((uint32_t)W.num_nodes), b = (int)below((uint32_t)W.num_nodes);
    cm_port_ref ra, rb;
    if (a == b) {
      assert_int_equal(cm_node_create_port_pair(W.nodes[a], &ra, &rb), MOJO_RESULT_OK);
    } else {
      assert_int_equal(cm_node_create_uninitialized_port(W.nodes[a], &ra), MOJO_RESULT_OK);
      assert_int_equal(cm_node_create_uninitialized_port(W.nodes[b], &rb), MOJO_RESULT_OK);
      assert_int_equal(cm_node_initialize_port(W.nodes[a], &ra, cm_node_get_name(W.nodes[b]),
                                               &rb.name),
                       MOJO_RESULT_OK);
      assert_int_equal(cm_node_initialize_port(W.nodes[b], &rb, cm_node_get_name(W.nodes[a]),
                                               &ra.name),
                       MOJO_RESULT_OK);
    }
    for (int s = 0; s < 2; s++) {
      end *e = &W.ends[2 * p + s];
      e->pipe = p;
      e->side = s;
      e->peer = 2 * p + (1 - s);
    }
    bind_end(&W.ends[2 * p], a, &ra);
    bind_end(&W.ends[2 * p + 1], b, &rb);
  }
}

/* ---- Delivery ---------------------------------------------------------- */

/* Header fields for tracing (see docs/ports.md for the layout). */
static uint64_t get_from_port(const packet *p) {
  uint64_t v;
  memcpy(&v, p->bytes + 24, 8);
  return v;
}

static uint64_t get_cseq(const packet *p) {
  uint64_t v;
  memcpy(&v, p->bytes + 40, 8);
  return v;
}

static void deliver(packet *p) {
  W.pending--;
  if (p->to < 0) {
    if (W.trace)
      fprintf(stderr, "notice to node %d (dead %d)\n", p->from, W.dead[p->from]);
    if (!W.dead[p->from]) {
      cm_node_name lost;
      memcpy(&lost, p->bytes, sizeof(lost));
      assert_int_equal(cm_node_lost_connection_to_node(W.nodes[p->from], &lost),
                       MOJO_RESULT_OK);
    }
    free(p);
    return;
  }
  if (W.dead[p->to] || W.dead[p->from]) {
    free(p);
    return;
  }
  cm_event *ev = NULL;
  size_t used = 0;
  assert_int_equal(cm_event_deserialize(p->bytes, p->len, &ev, &used), MOJO_RESULT_OK);
  if (cm_event_get_type(ev) == CM_EVENT_USER_MESSAGE) {
    payload *pl = payload_new(p->len - used);
    memcpy(pl->bytes, p->bytes + used, pl->len);
    cm_event_set_payload(ev, pl, &payload_ops, pl->len);
  } else {
    assert_int_equal(used, p->len);
  }
  if (W.trace && p->to >= 0)
    fprintf(stderr, "deliver %d->%d type %d port %016llx from %016llx cseq %lld\n", p->from, p->to,
           (int)cm_event_get_type(ev), (unsigned long long)cm_event_port_name(ev)->v1,
           (unsigned long long)get_from_port(p), (long long)get_cseq(p));
  MojoResult rv = cm_node_accept_event(W.nodes[p->to], cm_node_get_name(W.nodes[p->from]), ev);
  (void)rv; /* late events for ports that are gone are normal */
  free(p);
}

/* Picks one queued packet: the head of a random channel (FIFO seeds) or
 * any packet of a random channel (reordering seeds). */
static bool deliver_one(void) {
  if (W.pending == 0)
    return false;
  int slots = W.num_nodes * (W.num_nodes + 1);
  int start = (int)below((uint32_t)slots);
  for (int k = 0; k < slots; k++) {
    int s = (start + k) % slots;
    packet **link = &W.chan[s / (W.num_nodes + 1)][s % (W.num_nodes + 1)];
    if (!*link)
      continue;
    if (!W.fifo) {
      size_t n = 0;
      for (packet *q = *link; q; q = q->next)
        n++;
      for (size_t skip = below((uint32_t)n); skip > 0; skip--)
        link = &(*link)->next;
    }
    packet *p = *link;
    *link = p->next;
    deliver(p);
    return true;
  }
  fail_msg("pending count out of sync");
  return false;
}

static void quiesce(void) {
  while (deliver_one()) {
  }
}

/* ---- Actions ----------------------------------------------------------- */

static end *random_live_end(void) {
  int start = (int)below(MAX_ENDS);
  for (int k = 0; k < 2 * W.num_pipes; k++) {
    end *e = &W.ends[(start + k) % (2 * W.num_pipes)];
    if (e->state == END_LIVE)
      return e;
  }
  return NULL;
}

static bool is_closed(const end *e) {
  return e->state == END_CLOSED || e->state == END_IMPLICIT;
}

static void close_implicitly(end *e);

/* An end that will never read again takes down whatever is in flight to
 * it: the node closes the ports of messages it drops. */
static void drop_cargo_for(const end *r) {
  for (int i = 0; i < 2 * W.num_pipes; i++) {
    end *f = &W.ends[i];
    if (f->state == END_INFLIGHT && f->carrier_end == (int)(r - W.ends) &&
        f->carrier_seq > r->received)
      close_implicitly(f);
  }
}

static void close_implicitly(end *e) {
  e->state = END_IMPLICIT;
  drop_cargo_for(e);
}

static void send_plain(end *e) {
  payload *pl = payload_new(16);
  put32(pl->bytes, (uint32_t)(e - W.ends));
  put32(pl->bytes + 4, 0);
  put32(pl->bytes + 8, e->sent + 1);
  put32(pl->bytes + 12, 0);
  cm_event *ev = cm_event_user_message_create(pl, &payload_ops, pl->len, 0);
  MojoResult rv = cm_node_send_user_message(W.nodes[e->node], &e->ref, ev);
  if (rv == MOJO_RESULT_OK) {
    e->sent++;
  } else {
    assert_int_equal(rv, MOJO_RESULT_FAILED_PRECONDITION);
    assert_true(is_closed(peer_of(e)) || peer_of(e)->state == END_GONE || W.loss);
  }
}

/* Whether sending `f` to end `to` would put it inside a message that
 * (through a chain of messages in flight) is inside `f` itself. Such a cycle
 * can never be read: Mojo leaks it, and the proxies it leaves can chase the
 * messages between nodes forever, so applications must not build one; the
 * simulator does not either. */
static bool makes_cycle(const end *f, const end *to) {
  for (const end *t = to; t->state == END_INFLIGHT; t = &W.ends[t->carrier_end]) {
    if (&W.ends[t->carrier_end] == f)
      return true;
  }
  return false;
}

/* Sends up to MAX_CARGO other ends of the same node inside a message. */
static void send_cargo(end *e) {
  end *cargo[MAX_CARGO];
  int n = 0;
  for (int i = 0; i < 2 * W.num_pipes && n < MAX_CARGO; i++) {
    end *f = &W.ends[(i + (int)below(MAX_ENDS)) % (2 * W.num_pipes)];
    if (f->state == END_LIVE && f->node == e->node && f != e && f != peer_of(e) &&
        !makes_cycle(f, peer_of(e)) && chance(60)) {
      bool dup = false;
      for (int j = 0; j < n; j++)
        dup |= cargo[j] == f;
      if (!dup)
        cargo[n++] = f;
    }
  }
  if (n == 0) {
    send_plain(e);
    return;
  }
  payload *pl = payload_new(16 + 4 * (size_t)n);
  put32(pl->bytes, (uint32_t)(e - W.ends));
  put32(pl->bytes + 4, 0);
  put32(pl->bytes + 8, e->sent + 1);
  put32(pl->bytes + 12, (uint32_t)n);
  cm_event *ev = cm_event_user_message_create(pl, &payload_ops, pl->len, (size_t)n);
  for (int j = 0; j < n; j++) {
    put32(pl->bytes + 16 + 4 * j, (uint32_t)(cargo[j] - W.ends));
    cm_event_ports(ev)[j] = cargo[j]->ref.name;
  }
  /* In flight from now on: status calls made during the send must not
   * treat the ports as the ends' homes any more. */
  end *to = peer_of(e);
  for (int j = 0; j < n; j++) {
    cargo[j]->state = END_INFLIGHT;
    cargo[j]->carrier_end = (int)(to - W.ends);
    cargo[j]->carrier_seq = e->sent + 1;
  }
  MojoResult rv = cm_node_send_user_message(W.nodes[e->node], &e->ref, ev);
  moves_done += (size_t)n;
  for (int j = 0; j < n; j++) {
    cm_port_ref_release(&cargo[j]->ref);
    if (rv != MOJO_RESULT_OK || is_closed(to))
      close_implicitly(cargo[j]);
  }
  if (rv == MOJO_RESULT_OK)
    e->sent++;
  else
    assert_int_equal(rv, MOJO_RESULT_FAILED_PRECONDITION);
}

/* Reads everything readable at `e`; returns how many messages it read. */
static int read_all(end *e) {
  int count = 0;
  for (;;) {
    cm_event *ev = NULL;
    MojoResult rv = cm_node_get_message(W.nodes[e->node], &e->ref, &ev);
    if (rv != MOJO_RESULT_OK) {
      assert_true(rv == MOJO_RESULT_SHOULD_WAIT || rv == MOJO_RESULT_FAILED_PRECONDITION);
      return count;
    }
    count++;
    const payload *pl = cm_event_payload(ev);
    assert_non_null(pl);
    assert_true(pl->len >= 16);
    uint32_t n = get32(pl->bytes + 12);
    assert_int_equal(pl->len, 16 + 4 * (size_t)n);
    /* From the end it talks to (merges change which one that is). */
    assert_int_equal(get32(pl->bytes), (uint32_t)e->peer);
    if (get32(pl->bytes + 8) != e->received + 1)
      fail_msg("seed %llu: end %d read #%u, expected #%u", (unsigned long long)W.seed,
               (int)(e - W.ends), get32(pl->bytes + 8), e->received + 1);
    e->received++;
    assert_int_equal(cm_event_num_ports(ev), n);
    for (uint32_t j = 0; j < n; j++) {
      end *f = &W.ends[get32(pl->bytes + 16 + 4 * j)];
      assert_int_equal(f->state, END_INFLIGHT);
      cm_port_ref ref;
      assert_int_equal(cm_node_get_port(W.nodes[e->node], &cm_event_ports(ev)[j], &ref),
                       MOJO_RESULT_OK);
      bind_end(f, e->node, &ref);
      observe(f, false); /* a core checks a port it receives */
    }
    cm_event_destroy(ev);
  }
}

static void close_end(end *e) {
  assert_int_equal(cm_node_close_port(W.nodes[e->node], &e->ref), MOJO_RESULT_OK);
  cm_port_ref_release(&e->ref);
  e->state = END_CLOSED;
  drop_cargo_for(e);
}

static void kill_node(int idx) {
  W.dead[idx] = true;
  losses_done++;
  if (W.trace)
    fprintf(stderr, "kill node %d\n", idx);
  for (int i = 0; i < 2 * W.num_pipes; i++) {
    end *e = &W.ends[i];
    if (e->state == END_LIVE && e->node == idx) {
      cm_port_ref_release(&e->ref);
      e->state = END_GONE;
    }
  }
  /* Every other node learns of the loss at a random later moment. */
  for (int i = 0; i < W.num_nodes; i++) {
    if (i != idx && !W.dead[i])
      enqueue(i, -1, cm_node_get_name(W.nodes[idx]), sizeof(cm_node_name));
  }
}

/* Whether the ends in flight, with carriers re-addressed by `remap` (old
 * carrier end -> new one, or -1), would contain a cycle (see makes_cycle). */
static bool carriers_cycle(const int *remap) {
  int n = 2 * W.num_pipes;
  for (int i = 0; i < n; i++) {
    int at = i, hops = 0;
    while (W.ends[at].state == END_INFLIGHT) {
      int next = W.ends[at].carrier_end;
      if (remap[next] >= 0)
        next = remap[next];
      if (next == i || ++hops > n)
        return true;
      at = next;
    }
  }
  return false;
}

/* Joins the pipes of two unused ends: their peers become peers. Local
 * merges use merge_local_ports, remote ones merge_ports with the target
 * allowed to merge. */
static void merge_ends(void) {
  end *a = NULL, *b = NULL;
  int first = (int)below(MAX_ENDS);
  for (int k = 0; k < 2 * W.num_pipes && !a; k++) {
    end *f = &W.ends[(first + k) % (2 * W.num_pipes)];
    if (f->state == END_LIVE && f->sent == 0 && f->received == 0)
      a = f;
  }
  if (!a)
    return;
  int start = (int)below(MAX_ENDS);
  for (int k = 0; k < 2 * W.num_pipes && !b; k++) {
    end *f = &W.ends[(start + k) % (2 * W.num_pipes)];
    if (f != a && f != peer_of(a) && f->state == END_LIVE && f->sent == 0 && f->received == 0)
      b = f;
  }
  if (!b)
    return;
  end *pa = peer_of(a), *pb = peer_of(b);
  /* Messages waiting at a go on to b's peer and the other way round; that
   * must not close a cycle of ends carried inside each other. */
  int remap[MAX_ENDS];
  for (int i = 0; i < MAX_ENDS; i++)
    remap[i] = -1;
  remap[a - W.ends] = (int)(pb - W.ends);
  remap[b - W.ends] = (int)(pa - W.ends);
  if (carriers_cycle(remap))
    return;
  for (int i = 0; i < 2 * W.num_pipes; i++) {
    end *f = &W.ends[i];
    if (f->state == END_INFLIGHT && f->carrier_end == (int)(a - W.ends))
      f->carrier_end = (int)(pb - W.ends);
    else if (f->state == END_INFLIGHT && f->carrier_end == (int)(b - W.ends))
      f->carrier_end = (int)(pa - W.ends);
  }
  a->state = END_MERGED;
  b->state = END_MERGED;
  pa->peer = (int)(pb - W.ends);
  pb->peer = (int)(pa - W.ends);
  if (a->node == b->node) {
    assert_int_equal(cm_node_merge_local_ports(W.nodes[a->node], &a->ref, &b->ref),
                     MOJO_RESULT_OK);
  } else {
    assert_int_equal(cm_node_allow_port_merge(W.nodes[b->node], &b->ref,
                                              cm_node_get_name(W.nodes[a->node])),
                     MOJO_RESULT_OK);
    assert_int_equal(cm_node_merge_ports(W.nodes[a->node], &a->ref,
                                         cm_node_get_name(W.nodes[b->node]), &b->ref.name),
                     MOJO_RESULT_OK);
  }
  cm_port_ref_release(&a->ref);
  cm_port_ref_release(&b->ref);
  merges_done++;
  /* Cargo already dropped at a closed end stays dropped; cargo that now
   * heads for a closed end will be dropped there. */
  if (is_closed(pa))
    drop_cargo_for(pa);
  if (is_closed(pb))
    drop_cargo_for(pb);
}

static void step(void) {
  if (W.pending > 0 && chance(55)) {
    deliver_one();
    return;
  }
  if (W.merges && chance(3)) {
    merge_ends();
    return;
  }
  end *e = random_live_end();
  if (!e)
    return;
  uint32_t r = below(100);
  if (r < 35)
    send_plain(e);
  else if (r < 55)
    send_cargo(e);
  else if (r < 90)
    read_all(e);
  else if (r < 92)
    close_end(e);
  else if (r < 94 && W.loss) {
    int alive = 0;
    for (int i = 0; i < W.num_nodes; i++)
      alive += !W.dead[i];
    int victim = (int)below((uint32_t)W.num_nodes);
    if (alive > 3 && !W.dead[victim])
      kill_node(victim);
  }
}

#include "ports_sim_dump.h"

/* ---- Final checks ---------------------------------------------------- */

static void drain(void) {
  for (;;) {
    quiesce();
    int got = 0;
    for (int i = 0; i < 2 * W.num_pipes; i++) {
      if (W.ends[i].state == END_LIVE)
        got += read_all(&W.ends[i]);
    }
    if (got == 0 && W.pending == 0)
      return;
  }
}

static bool peer_is_gone(const end *e) {
  const end *p = peer_of(e);
  return is_closed(p) || p->state == END_GONE;
}

static void check_end(end *e) {
  const end *p = peer_of(e);
  if (peer_is_gone(e) && !e->closure_seen && (dump_world(), true))
    fail_msg("seed %llu: end %d never saw its peer (state %d) close", (unsigned long long)W.seed,
             (int)(e - W.ends), (int)p->state);
  if (W.loss)
    return;
  if (p->state == END_LIVE) {
    assert_false(e->closure_seen);
    assert_int_equal(e->received, p->sent);
  } else if (is_closed(p)) {
    if (e->received != p->sent && (dump_world(), true))
      fail_msg("seed %llu: end %d read %u of %u messages", (unsigned long long)W.seed,
               (int)(e - W.ends), e->received, p->sent);
    cm_event *ev = NULL;
    assert_int_equal(cm_node_get_message(W.nodes[e->node], &e->ref, &ev),
                     MOJO_RESULT_FAILED_PRECONDITION);
  }
}

static void finish_world(void) {
  drain();
  size_t live_on[MAX_NODES] = {0};
  for (int i = 0; i < 2 * W.num_pipes; i++) {
    end *e = &W.ends[i];
    if (e->state == END_LIVE) {
      live_on[e->node]++;
      check_end(e);
    } else if (!W.loss) {
      assert_true(e->state != END_INFLIGHT);
    }
  }
  if (!W.loss) {
    /* Every proxy is gone: each node holds exactly its live ends. */
    for (int n = 0; n < W.num_nodes; n++) {
      if (cm_node_num_ports(W.nodes[n]) != live_on[n] && (dump_world(), true))
        fail_msg("seed %llu: node %d holds %zu ports for %zu live ends",
                 (unsigned long long)W.seed, n, cm_node_num_ports(W.nodes[n]), live_on[n]);
    }
  }
  /* Close the rest one by one; each survivor must see its peer go. */
  for (;;) {
    end *e = random_live_end();
    if (!e)
      break;
    if (peer_is_gone(e) && !e->closure_seen)
      fail_msg("seed %llu: end %d missed closure", (unsigned long long)W.seed,
               (int)(e - W.ends));
    close_end(e);
    drain();
  }
  quiesce();
  for (int n = 0; n < W.num_nodes; n++) {
    if (W.dead[n] || cm_node_can_shutdown_cleanly(W.nodes[n]))
      continue;
    size_t stray = count_stray_proxies(n);
    const char *strict = getenv("CMOJO_SIM_STRICT");
    if (W.loss && stray == cm_node_num_ports(W.nodes[n]) && strict && !strcmp(strict, "0")) {
      /* CMOJO_SIM_STRICT=0: after a node loss, count drained proxies left
       * behind instead of failing (to measure a regression's rate). */
      leaked_proxies += stray;
      continue;
    }
    dump_world();
    fail_msg("seed %llu: node %d still holds %zu ports", (unsigned long long)W.seed, n,
             cm_node_num_ports(W.nodes[n]));
  }
  for (int i = 0; i < 2 * W.num_pipes; i++)
    assert_true(W.ends[i].closure_events <= 1);
  for (int n = 0; n < W.num_nodes; n++)
    cm_node_destroy(W.nodes[n]);
  cm_name_set_test_source(NULL);
}

static void run_seed(uint64_t seed, int steps) {
  world_init(seed);
  for (int i = 0; i < steps; i++)
    step();
  finish_world();
}

/* Seeds that once failed (stray proxies and a missed closure after node
 * losses, with and without merges), run on top of the default range. */
static const uint64_t kRegressionSeeds[] = {
    7747,  8567,  12457, 20772, 21172, 21457,  24497,  26942,  29282,
    29707, 33757, 68332, 69562, 86812, 103417, 108737, 162057,
};

static void test_simulated_network(void **state) {
  (void)state;
  const char *soak = getenv("CMOJO_SOAK_SEEDS");
  uint64_t count = soak ? strtoull(soak, NULL, 10) : 5000;
  if (getenv("CMOJO_TEST_SEED")) {
    uint64_t seed = cm_test_seed(0);
    printf("replaying seed %llu\n", (unsigned long long)seed);
    run_seed(seed, 400);
    printf("%zu stray proxies after node loss\n", leaked_proxies);
    return;
  }
  const char *first_env = getenv("CMOJO_SIM_FIRST_SEED");
  uint64_t first = first_env ? strtoull(first_env, NULL, 10) : 1;
  for (uint64_t seed = first; seed < first + count; seed++)
    run_seed(seed, 400);
  if (!soak) {
    for (size_t i = 0; i < sizeof(kRegressionSeeds) / sizeof(kRegressionSeeds[0]); i++)
      run_seed(kRegressionSeeds[i], 400);
  }
  printf("%llu seeds passed: %zu moves, %zu merges, %zu node losses; %zu stray proxies "
         "after node loss\n",
         (unsigned long long)count, moves_done, merges_done, losses_done, leaked_proxies);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_simulated_network),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
