/* Several threads hammering one node at once: sends, reads, port transfers,
 * status queries from inside port_status_changed (which must not deadlock),
 * and closes racing with reads. Meant to run under ThreadSanitizer.
 *
 * Threads form a ring: thread i writes to pipe i and reads pipe i-1. Every
 * few messages it creates a fresh pair, writes a message on one end and
 * sends the other end inside the next ring message; the reader takes the
 * carried port out, reads that message from it and closes it. At the end
 * each thread closes its writing end; its reader must have read every
 * message, in order, before it sees FAILED_PRECONDITION.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ports/ports.h"
#include "test_support.h"

#define THREADS 4
#define MESSAGES 20000

typedef struct msg {
  uint32_t thread;
  uint32_t seq;
} msg;

static void msg_free(void *p) {
  free(p);
}

static const cm_payload_ops msg_ops = {.destroy = msg_free};

static cm_node *g_node;
static cm_port_ref g_write[THREADS], g_read[THREADS];
static atomic_int g_status_calls;
static atomic_int g_failures;

static void forward(void *context, const cm_node_name *to, cm_event *ev) {
  (void)context;
  (void)to;
  atomic_fetch_add(&g_failures, 1); /* one node: nothing may leave it */
  cm_event_destroy(ev);
}

static void broadcast(void *context, cm_event *ev) {
  (void)context;
  cm_event_destroy(ev);
}

static void status_changed(void *context, const cm_port_ref *port) {
  (void)context;
  cm_port_status st;
  /* Calls back into the node, as the core does. Ports may be closed by
   * their owner meanwhile: then the node says INVALID_ARGUMENT. */
  MojoResult rv = cm_node_get_status(g_node, port, &st);
  if (rv != MOJO_RESULT_OK && rv != MOJO_RESULT_INVALID_ARGUMENT)
    atomic_fetch_add(&g_failures, 1);
  atomic_fetch_add(&g_status_calls, 1);
}

static cm_event *make(uint32_t thread, uint32_t seq, size_t ports) {
  msg *m = malloc(sizeof(*m));
  if (!m)
    abort();
  m->thread = thread;
  m->seq = seq;
  cm_event *ev = cm_event_user_message_create(m, &msg_ops, sizeof(*m), ports);
  if (!ev)
    abort();
  return ev;
}

#define CHECK(cond)                                                                     \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
      atomic_fetch_add(&g_failures, 1);                                                 \
      return;                                                                           \
    }                                                                                   \
  } while (0)

/* Takes the carried port out of `ev`, reads its message and closes it. */
static void take_carried(cm_event *ev, uint32_t from, uint32_t seq) {
  cm_port_ref side;
  CHECK(cm_node_get_port(g_node, &cm_event_ports(ev)[0], &side) == MOJO_RESULT_OK);
  cm_event *inner = NULL;
  CHECK(cm_node_get_message(g_node, &side, &inner) == MOJO_RESULT_OK);
  const msg *m = cm_event_payload(inner);
  CHECK(m->thread == from + 100 && m->seq == seq);
  cm_event_destroy(inner);
  CHECK(cm_node_close_port(g_node, &side) == MOJO_RESULT_OK);
  cm_port_ref_release(&side);
}

/* Reads what is there; returns false once the writer closed and all its
 * messages were read. */
static bool read_some(uint32_t me, uint32_t *expected) {
  uint32_t from = (me + THREADS - 1) % THREADS;
  for (int i = 0; i < 16; i++) {
    cm_event *ev = NULL;
    MojoResult rv = cm_node_get_message(g_node, &g_read[me], &ev);
    if (rv == MOJO_RESULT_SHOULD_WAIT)
      return true;
    if (rv == MOJO_RESULT_FAILED_PRECONDITION) {
      if (*expected != MESSAGES + 1)
        atomic_fetch_add(&g_failures, 1);
      return false;
    }
    const msg *m = cm_event_payload(ev);
    if (rv != MOJO_RESULT_OK || m->thread != from || m->seq != *expected) {
      fprintf(stderr, "thread %u: got %u/%u, expected %u/%u\n", me, m ? m->thread : 0,
              m ? m->seq : 0, from, *expected);
      atomic_fetch_add(&g_failures, 1);
      cm_event_destroy(ev);
      return false;
    }
    if (cm_event_num_ports(ev) == 1)
      take_carried(ev, from, m->seq);
    (*expected)++;
    cm_event_destroy(ev);
  }
  return true;
}

static void send_one(uint32_t me, uint32_t seq) {
  if (seq % 7 != 0) {
    if (cm_node_send_user_message(g_node, &g_write[me], make(me, seq, 0)) != MOJO_RESULT_OK)
      atomic_fetch_add(&g_failures, 1);
    return;
  }
  cm_port_ref x, y;
  if (cm_node_create_port_pair(g_node, &x, &y) != MOJO_RESULT_OK) {
    atomic_fetch_add(&g_failures, 1);
    return;
  }
  if (cm_node_send_user_message(g_node, &x, make(me + 100, seq, 0)) != MOJO_RESULT_OK)
    atomic_fetch_add(&g_failures, 1);
  cm_event *ev = make(me, seq, 1);
  cm_event_ports(ev)[0] = y.name;
  if (cm_node_send_user_message(g_node, &g_write[me], ev) != MOJO_RESULT_OK)
    atomic_fetch_add(&g_failures, 1);
  cm_port_ref_release(&y);
  /* Close x at once: the message it sent must still be read on y. */
  cm_node_close_port(g_node, &x);
  cm_port_ref_release(&x);
}

static void *thread_main(void *arg) {
  uint32_t me = (uint32_t)(uintptr_t)arg;
  uint32_t expected = 1;
  bool reading = true;
  for (uint32_t seq = 1; seq <= MESSAGES; seq++) {
    send_one(me, seq);
    if (reading && seq % 3 == 0)
      reading = read_some(me, &expected);
    if (seq % 500 == 0) {
      cm_port_status st;
      if (cm_node_get_status(g_node, &g_write[me], &st) != MOJO_RESULT_OK)
        atomic_fetch_add(&g_failures, 1);
    }
  }
  cm_node_close_port(g_node, &g_write[me]);
  while (reading) {
    reading = read_some(me, &expected);
    sched_yield();
  }
  cm_node_close_port(g_node, &g_read[me]);
  return NULL;
}

static void test_threads_hammer_one_node(void **state) {
  (void)state;
  cm_node_delegate d = {NULL, forward, broadcast, status_changed};
  cm_node_name name;
  cm_name_random(&name);
  assert_int_equal(cm_node_create(&name, &d, &g_node), MOJO_RESULT_OK);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(cm_node_create_port_pair(g_node, &g_write[i], &g_read[(i + 1) % THREADS]),
                     MOJO_RESULT_OK);
  pthread_t t[THREADS];
  for (uintptr_t i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, thread_main, (void *)i), 0);
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  assert_int_equal(atomic_load(&g_failures), 0);
  assert_true(atomic_load(&g_status_calls) > 0);
  assert_true(cm_node_can_shutdown_cleanly(g_node));
  for (int i = 0; i < THREADS; i++) {
    cm_port_ref_release(&g_write[i]);
    cm_port_ref_release(&g_read[i]);
  }
  cm_node_destroy(g_node);
}

/* ---- Two nodes, each with a delivery thread ------------------------------ */

typedef struct packet {
  struct packet *next;
  size_t len;
  unsigned char bytes[];
} packet;

typedef struct inbox {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  packet *head, *tail;
  bool stop;
} inbox;

static cm_node *g_nodes[2];
static inbox g_inbox[2];
static int g_index[2] = {0, 1};
static atomic_int g_in_flight;

/* What a transport does: bytes, with the payload appended. */
static void deliver_to(int to, const cm_event *ev) {
  size_t hdr = cm_event_serialized_size(ev);
  const msg *m = cm_event_payload(ev);
  size_t plen = m ? sizeof(*m) : 0;
  packet *p = malloc(sizeof(*p) + hdr + plen);
  if (!p)
    abort();
  p->next = NULL;
  p->len = hdr + plen;
  cm_event_serialize(ev, p->bytes);
  if (m)
    memcpy(p->bytes + hdr, m, plen);
  atomic_fetch_add(&g_in_flight, 1);
  inbox *in = &g_inbox[to];
  pthread_mutex_lock(&in->lock);
  if (in->tail)
    in->tail->next = p;
  else
    in->head = p;
  in->tail = p;
  pthread_cond_signal(&in->cond);
  pthread_mutex_unlock(&in->lock);
}

static void net_forward(void *context, const cm_node_name *to, cm_event *ev) {
  int from = *(int *)context;
  if (!cm_name_equal(to, cm_node_get_name(g_nodes[1 - from])))
    atomic_fetch_add(&g_failures, 1);
  deliver_to(1 - from, ev);
  cm_event_destroy(ev);
}

static void net_broadcast(void *context, cm_event *ev) {
  int from = *(int *)context;
  deliver_to(1 - from, ev);
  cm_event_destroy(ev);
}

static void net_status(void *context, const cm_port_ref *port) {
  int me = *(int *)context;
  cm_port_status st;
  MojoResult rv = cm_node_get_status(g_nodes[me], port, &st);
  if (rv != MOJO_RESULT_OK && rv != MOJO_RESULT_INVALID_ARGUMENT)
    atomic_fetch_add(&g_failures, 1);
  atomic_fetch_add(&g_status_calls, 1);
}

static void *delivery_main(void *arg) {
  int me = *(int *)arg;
  inbox *in = &g_inbox[me];
  for (;;) {
    pthread_mutex_lock(&in->lock);
    while (!in->head && !in->stop)
      pthread_cond_wait(&in->cond, &in->lock);
    packet *p = in->head;
    if (p) {
      in->head = p->next;
      if (!in->head)
        in->tail = NULL;
    }
    pthread_mutex_unlock(&in->lock);
    if (!p)
      return NULL; /* stopped, and nothing left */
    cm_event *ev = NULL;
    size_t used = 0;
    if (cm_event_deserialize(p->bytes, p->len, &ev, &used) != MOJO_RESULT_OK) {
      atomic_fetch_add(&g_failures, 1);
    } else {
      if (p->len > used) {
        msg *m = malloc(sizeof(*m));
        if (!m || p->len - used != sizeof(*m))
          abort();
        memcpy(m, p->bytes + used, sizeof(*m));
        cm_event_set_payload(ev, m, &msg_ops, sizeof(*m));
      }
      cm_node_accept_event(g_nodes[me], cm_node_get_name(g_nodes[1 - me]), ev);
    }
    free(p);
    atomic_fetch_sub(&g_in_flight, 1);
  }
}

#define CROSS_MESSAGES 3000
#define CROSS_KEPT (CROSS_MESSAGES / 5)

/* g_out[i]: node i's end of the route it writes to; g_in[i]: the end it
 * reads from. */
static cm_port_ref g_out[2], g_in[2];

/* Reads one message from the other node, if any; answers on the pipe end it
 * carries and closes that end. Returns false once the writer closed and
 * everything was read. */
static bool cross_read(uint32_t me, uint32_t *expected) {
  cm_event *ev = NULL;
  MojoResult rv = cm_node_get_message(g_nodes[me], &g_in[me], &ev);
  if (rv == MOJO_RESULT_SHOULD_WAIT)
    return true;
  if (rv == MOJO_RESULT_FAILED_PRECONDITION) {
    if (*expected != CROSS_MESSAGES + 1)
      atomic_fetch_add(&g_failures, 1);
    return false;
  }
  const msg *m = cm_event_payload(ev);
  if (rv != MOJO_RESULT_OK || m->thread != 1 - me || m->seq != *expected) {
    atomic_fetch_add(&g_failures, 1);
    cm_event_destroy(ev);
    return false;
  }
  (*expected)++;
  if (cm_event_num_ports(ev) == 1) {
    cm_port_ref y;
    if (cm_node_get_port(g_nodes[me], &cm_event_ports(ev)[0], &y) != MOJO_RESULT_OK) {
      atomic_fetch_add(&g_failures, 1);
    } else {
      if (cm_node_send_user_message(g_nodes[me], &y, make(me, m->seq, 0)) != MOJO_RESULT_OK)
        atomic_fetch_add(&g_failures, 1);
      cm_node_close_port(g_nodes[me], &y);
      cm_port_ref_release(&y);
    }
  }
  cm_event_destroy(ev);
  return true;
}

/* Waits for the answer on a kept end, then for its peer's closure. */
static void await_answer(uint32_t me, cm_port_ref *x) {
  bool answered = false;
  for (long spins = 0; spins < 50000000; spins++) {
    cm_event *ev = NULL;
    MojoResult rv = cm_node_get_message(g_nodes[me], x, &ev);
    if (rv == MOJO_RESULT_OK) {
      const msg *m = cm_event_payload(ev);
      if (answered || m->thread != 1 - me)
        atomic_fetch_add(&g_failures, 1);
      answered = true;
      cm_event_destroy(ev);
    } else if (rv == MOJO_RESULT_FAILED_PRECONDITION) {
      if (!answered)
        atomic_fetch_add(&g_failures, 1);
      cm_node_close_port(g_nodes[me], x);
      cm_port_ref_release(x);
      return;
    } else {
      sched_yield();
    }
  }
  fprintf(stderr, "node %u: no answer on a kept pipe end\n", me);
  atomic_fetch_add(&g_failures, 1);
}

static void *cross_main(void *arg) {
  uint32_t me = (uint32_t)(uintptr_t)arg;
  cm_node *node = g_nodes[me];
  static cm_port_ref kept[2][CROSS_KEPT];
  size_t num_kept = 0;
  uint32_t expected = 1;
  bool reading = true;
  for (uint32_t seq = 1; seq <= CROSS_MESSAGES; seq++) {
    cm_event *ev;
    if (seq % 5 == 0) {
      /* A fresh pipe: one end stays, the other crosses to the other node
       * with a message already queued on it. */
      cm_port_ref x, y;
      if (cm_node_create_port_pair(node, &x, &y) != MOJO_RESULT_OK)
        abort();
      cm_node_send_user_message(node, &x, make(me, 0, 0));
      ev = make(me, seq, 1);
      cm_event_ports(ev)[0] = y.name;
      cm_port_ref_release(&y);
      kept[me][num_kept++] = x;
    } else {
      ev = make(me, seq, 0);
    }
    if (cm_node_send_user_message(node, &g_out[me], ev) != MOJO_RESULT_OK)
      atomic_fetch_add(&g_failures, 1);
    if (reading)
      reading = cross_read(me, &expected);
  }
  cm_node_close_port(node, &g_out[me]);
  for (long spins = 0; reading; spins++) {
    reading = cross_read(me, &expected);
    if (spins > 50000000) {
      atomic_fetch_add(&g_failures, 1);
      break;
    }
    sched_yield();
  }
  cm_node_close_port(node, &g_in[me]);
  for (size_t i = 0; i < num_kept; i++)
    await_answer(me, &kept[me][i]);
  return NULL;
}

static void test_two_nodes_with_delivery_threads(void **state) {
  (void)state;
  atomic_store(&g_failures, 0);
  for (int i = 0; i < 2; i++) {
    cm_node_delegate d = {&g_index[i], net_forward, net_broadcast, net_status};
    cm_node_name name;
    cm_name_random(&name);
    assert_int_equal(cm_node_create(&name, &d, &g_nodes[i]), MOJO_RESULT_OK);
    pthread_mutex_init(&g_inbox[i].lock, NULL);
    pthread_cond_init(&g_inbox[i].cond, NULL);
  }
  /* Two routes between the nodes, one per direction. */
  for (int i = 0; i < 2; i++) {
    assert_int_equal(cm_node_create_uninitialized_port(g_nodes[i], &g_out[i]), MOJO_RESULT_OK);
    assert_int_equal(cm_node_create_uninitialized_port(g_nodes[1 - i], &g_in[1 - i]),
                     MOJO_RESULT_OK);
  }
  for (int i = 0; i < 2; i++) {
    assert_int_equal(cm_node_initialize_port(g_nodes[i], &g_out[i],
                                             cm_node_get_name(g_nodes[1 - i]), &g_in[1 - i].name),
                     MOJO_RESULT_OK);
    assert_int_equal(cm_node_initialize_port(g_nodes[1 - i], &g_in[1 - i],
                                             cm_node_get_name(g_nodes[i]), &g_out[i].name),
                     MOJO_RESULT_OK);
  }
  pthread_t delivery[2], workers[2];
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&delivery[i], NULL, delivery_main, &g_index[i]), 0);
  for (uintptr_t i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&workers[i], NULL, cross_main, (void *)i), 0);
  for (int i = 0; i < 2; i++)
    pthread_join(workers[i], NULL);
  /* Let the last events (closures, proxy removal) settle. */
  while (atomic_load(&g_in_flight) > 0)
    sched_yield();
  for (int i = 0; i < 2; i++) {
    pthread_mutex_lock(&g_inbox[i].lock);
    g_inbox[i].stop = true;
    pthread_cond_signal(&g_inbox[i].cond);
    pthread_mutex_unlock(&g_inbox[i].lock);
    pthread_join(delivery[i], NULL);
  }
  assert_int_equal(atomic_load(&g_failures), 0);
  for (int i = 0; i < 2; i++) {
    assert_true(cm_node_can_shutdown_cleanly(g_nodes[i]));
    cm_port_ref_release(&g_out[i]);
    cm_port_ref_release(&g_in[i]);
    cm_node_destroy(g_nodes[i]);
    pthread_mutex_destroy(&g_inbox[i].lock);
    pthread_cond_destroy(&g_inbox[i].cond);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threads_hammer_one_node),
      cmocka_unit_test(test_two_nodes_with_delivery_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
