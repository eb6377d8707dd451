/* Node channels on an I/O loop with a thread of its own (default mode):
 * closures posted from many threads, channels written from many threads at
 * once while the loop thread delivers, a child process echoing under
 * concurrent senders and then killed, and channels destroyed from another
 * thread while their peer floods them. Run under ThreadSanitizer by the
 * "threaded" label. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cm_limits.h"
#include "core/io_loop.h"
#include "core/node_channel.h"
#include "core/node_message.h"
#include "platform/platform.h"
#include "test_support.h"

#define ROLE_ECHO "--node-channel-mt-child=echo"
enum { kSenders = 2, kPerSender = 300, kMaxSenders = 4 };

static char g_self[4096];

/* ------------------------------------------------------------------ peers */

typedef struct mt_peer {
  cm_node_channel *channel;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int connected;
  int disconnects;
  MojoResult reason;
  int received;
  int fds_received;
  uint32_t next_seq[kMaxSenders]; /* per sender: order is kept */
  int out_of_order;
  bool echo;
} mt_peer;

typedef struct stamp {
  uint32_t sender;
  uint32_t seq;
} stamp;

static void on_connected(void *context, uint32_t version, uint64_t capabilities) {
  mt_peer *p = context;
  (void)version, (void)capabilities;
  pthread_mutex_lock(&p->mu);
  p->connected++;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

static void on_message(void *context, const cm_node_message *m, cm_platform_handle *fds,
                       size_t num_fds) {
  mt_peer *p = context;
  if (p->echo) {
    if (cm_node_channel_send_event(p->channel, m->u.event.event, m->u.event.event_num_bytes,
                                   m->u.event.payload, m->u.event.payload_num_bytes,
                                   m->u.event.num_handles, fds, num_fds) != MOJO_RESULT_OK)
      _exit(70);
    return;
  }
  stamp st = {0, 0};
  if (m->type == CM_NODE_MESSAGE_EVENT && m->u.event.payload_num_bytes >= sizeof(st))
    memcpy(&st, m->u.event.payload, sizeof(st));
  for (size_t i = 0; i < num_fds; i++)
    cm_platform_handle_close(&fds[i]);
  pthread_mutex_lock(&p->mu);
  if (st.sender < kMaxSenders) {
    if (st.seq != p->next_seq[st.sender])
      p->out_of_order++;
    p->next_seq[st.sender] = st.seq + 1;
  }
  p->received++;
  p->fds_received += (int)num_fds;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

static void on_disconnect(void *context, MojoResult reason, const char *text) {
  mt_peer *p = context;
  (void)text;
  pthread_mutex_lock(&p->mu);
  p->disconnects++;
  p->reason = reason;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

static const cm_node_channel_delegate kDelegate = {
    .on_connected = on_connected,
    .on_message = on_message,
    .on_disconnect = on_disconnect,
};

static void peer_init(mt_peer *p) {
  memset(p, 0, sizeof(*p));
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
}

static void peer_fini(mt_peer *p) {
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
}

/* Waits until *field >= want (read under the peer's lock); fails after 20 s. */
static void wait_for(mt_peer *p, const int *field, int want) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 20;
  pthread_mutex_lock(&p->mu);
  while (*field < want) {
    if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) != 0)
      break;
  }
  int got = *field;
  pthread_mutex_unlock(&p->mu);
  assert_true(got >= want);
}

static int read_field(mt_peer *p, const int *field) {
  pthread_mutex_lock(&p->mu);
  int v = *field;
  pthread_mutex_unlock(&p->mu);
  return v;
}

static void fill_event(uint8_t *ev, size_t len) {
  memset(ev, 0x5a, len);
  ev[0] = CM_EVENT_USER_MESSAGE, ev[1] = ev[2] = ev[3] = 0;
}

/* --------------------------------------------------------------- posting */

typedef struct post_ctx {
  cm_io_loop *loop;
  atomic_int ran;
  atomic_int off_thread;
} post_ctx;

static void count_closure(void *context) {
  post_ctx *c = context;
  if (!cm_io_loop_on_loop_thread(c->loop))
    atomic_fetch_add(&c->off_thread, 1);
  atomic_fetch_add(&c->ran, 1);
}

static void *poster(void *arg) {
  post_ctx *c = arg;
  for (int i = 0; i < 1000; i++)
    if (cm_io_loop_post(c->loop, count_closure, c) != MOJO_RESULT_OK)
      abort();
  return NULL;
}

static void test_thread_start_stop_post(void **state) {
  (void)state;
  post_ctx c;
  assert_int_equal(cm_io_loop_create(&c.loop), MOJO_RESULT_OK);
  atomic_init(&c.ran, 0);
  atomic_init(&c.off_thread, 0);
  for (int round = 0; round < 2; round++) {
    assert_int_equal(cm_io_loop_start(c.loop), MOJO_RESULT_OK);
    assert_int_equal(cm_io_loop_start(c.loop), MOJO_RESULT_FAILED_PRECONDITION);
    assert_int_equal(cm_io_loop_run_once(c.loop, 0), MOJO_RESULT_FAILED_PRECONDITION);
    assert_false(cm_io_loop_on_loop_thread(c.loop));
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
      assert_int_equal(pthread_create(&t[i], NULL, poster, &c), 0);
    for (int i = 0; i < 4; i++)
      pthread_join(t[i], NULL);
    /* Everything posted before stop has run when stop returns. */
    cm_io_loop_stop(c.loop);
    assert_int_equal(atomic_load(&c.ran), 4000 * (round + 1));
    assert_int_equal(atomic_load(&c.off_thread), 0);
  }
  /* Stopped: run_once works again, on this thread. */
  assert_int_equal(cm_io_loop_post(c.loop, count_closure, &c), MOJO_RESULT_OK);
  assert_int_equal(cm_io_loop_run_once(c.loop, 0), MOJO_RESULT_OK);
  assert_int_equal(atomic_load(&c.ran), 8001);
  cm_io_loop_stop(c.loop);
  cm_io_loop_destroy(c.loop);
}

/* ------------------------------------------------------ concurrent senders */

typedef struct sender_arg {
  cm_node_channel *channel;
  uint32_t id;
  int count;
  atomic_bool *stop; /* NULL: send `count`; else until set (failures end it) */
} sender_arg;

static void *sender(void *arg) {
  sender_arg *a = arg;
  uint8_t ev[48];
  fill_event(ev, sizeof(ev));
  uint8_t payload[200];
  memset(payload, 0xab, sizeof(payload));
  for (uint32_t seq = 0; a->stop ? !atomic_load(a->stop) : seq < (uint32_t)a->count; seq++) {
    stamp st = {a->id, seq};
    memcpy(payload, &st, sizeof(st));
    size_t plen = sizeof(st) + seq % 150;
    cm_platform_handle fds[1];
    size_t nfds = 0;
    int pfd[2] = {-1, -1};
    if (seq % 10 == 0) {
      if (pipe2(pfd, O_CLOEXEC) != 0)
        abort();
      fds[0] = cm_platform_handle_from_fd(pfd[0]);
      nfds = 1;
    }
    MojoResult r = cm_node_channel_send_event(a->channel, ev, sizeof(ev), payload, plen,
                                              (uint32_t)nfds, fds, nfds);
    if (pfd[1] >= 0)
      close(pfd[1]);
    if (r != MOJO_RESULT_OK) {
      if (a->stop)
        break;
      abort();
    }
  }
  return NULL;
}

static void open_pair(cm_io_loop *loop, mt_peer *a, mt_peer *b) {
  cm_platform_handle x, y;
  assert_int_equal(cm_platform_channel_create_pair(&x, &y), MOJO_RESULT_OK);
  peer_init(a);
  peer_init(b);
  assert_int_equal(cm_node_channel_create(loop, &x, &kDelegate, a, &a->channel), MOJO_RESULT_OK);
  assert_int_equal(cm_node_channel_create(loop, &y, &kDelegate, b, &b->channel), MOJO_RESULT_OK);
  assert_int_equal(cm_node_channel_start(a->channel), MOJO_RESULT_OK);
  assert_int_equal(cm_node_channel_start(b->channel), MOJO_RESULT_OK);
  wait_for(a, &a->connected, 1);
  wait_for(b, &b->connected, 1);
}

static void test_concurrent_senders(void **state) {
  (void)state;
  cm_io_loop *loop;
  assert_int_equal(cm_io_loop_create(&loop), MOJO_RESULT_OK);
  assert_int_equal(cm_io_loop_start(loop), MOJO_RESULT_OK);
  mt_peer a, b;
  open_pair(loop, &a, &b);
  pthread_t t[4];
  sender_arg args[4];
  for (int i = 0; i < 4; i++) {
    /* Senders 0 and 1 write A -> B, 2 and 3 write B -> A, all at once. */
    args[i] = (sender_arg){
        .channel = i < 2 ? a.channel : b.channel, .id = (uint32_t)(i % 2), .count = kPerSender};
    assert_int_equal(pthread_create(&t[i], NULL, sender, &args[i]), 0);
  }
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  wait_for(&b, &b.received, kSenders * kPerSender);
  wait_for(&a, &a.received, kSenders * kPerSender);
  assert_int_equal(read_field(&a, &a.out_of_order), 0);
  assert_int_equal(read_field(&b, &b.out_of_order), 0);
  assert_int_equal(read_field(&b, &b.fds_received), kSenders * kPerSender / 10);
  assert_int_equal(read_field(&a, &a.disconnects) + read_field(&b, &b.disconnects), 0);
  /* Destroyed from this thread while the loop thread runs. */
  cm_node_channel_destroy(a.channel);
  wait_for(&b, &b.disconnects, 1);
  assert_int_equal(b.reason, MOJO_RESULT_OK);
  cm_node_channel_destroy(b.channel);
  cm_io_loop_destroy(loop);
  peer_fini(&a);
  peer_fini(&b);
}

/* Destroying a channel from another thread while its peer floods it and
 * the loop thread is busy delivering to it. */
static void test_destroy_under_flood(void **state) {
  (void)state;
  for (int iter = 0; iter < 20; iter++) {
    cm_io_loop *loop;
    assert_int_equal(cm_io_loop_create(&loop), MOJO_RESULT_OK);
    assert_int_equal(cm_io_loop_start(loop), MOJO_RESULT_OK);
    mt_peer a, b;
    open_pair(loop, &a, &b);
    atomic_bool stop;
    atomic_init(&stop, false);
    sender_arg arg = {.channel = a.channel, .id = 0, .stop = &stop};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sender, &arg), 0);
    wait_for(&b, &b.received, 1 + iter * 5);
    cm_node_channel_destroy(b.channel);
    wait_for(&a, &a.disconnects, 1);
    atomic_store(&stop, true);
    pthread_join(t, NULL);
    cm_node_channel_destroy(a.channel);
    cm_io_loop_destroy(loop);
    peer_fini(&a);
    peer_fini(&b);
  }
}

/* Channels made, started, used and destroyed by several threads at once on
 * one running loop: registration and removal are thread-safe. */
typedef struct churn_arg {
  cm_io_loop *loop;
  int rounds;
} churn_arg;

static void *churn(void *arg) {
  churn_arg *c = arg;
  uint8_t ev[48];
  fill_event(ev, sizeof(ev));
  for (int i = 0; i < c->rounds; i++) {
    mt_peer a, b;
    cm_platform_handle x, y;
    if (cm_platform_channel_create_pair(&x, &y) != MOJO_RESULT_OK)
      abort();
    peer_init(&a);
    peer_init(&b);
    if (cm_node_channel_create(c->loop, &x, &kDelegate, &a, &a.channel) != MOJO_RESULT_OK ||
        cm_node_channel_create(c->loop, &y, &kDelegate, &b, &b.channel) != MOJO_RESULT_OK ||
        cm_node_channel_start(a.channel) != MOJO_RESULT_OK ||
        cm_node_channel_start(b.channel) != MOJO_RESULT_OK)
      abort();
    wait_for(&a, &a.connected, 1);
    stamp st = {0, 0};
    if (cm_node_channel_send_event(a.channel, ev, sizeof(ev), &st, sizeof(st), 0, NULL, 0) !=
        MOJO_RESULT_OK)
      abort();
    wait_for(&b, &b.received, 1);
    /* Half the time the receiver goes first, half the sender. */
    cm_node_channel_destroy(i % 2 ? a.channel : b.channel);
    cm_node_channel_destroy(i % 2 ? b.channel : a.channel);
    peer_fini(&a);
    peer_fini(&b);
  }
  return NULL;
}

static void test_concurrent_registration(void **state) {
  (void)state;
  cm_io_loop *loop;
  assert_int_equal(cm_io_loop_create(&loop), MOJO_RESULT_OK);
  assert_int_equal(cm_io_loop_start(loop), MOJO_RESULT_OK);
  churn_arg arg = {.loop = loop, .rounds = 50};
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&t[i], NULL, churn, &arg), 0);
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  cm_io_loop_destroy(loop);
}

/* --------------------------------------------------------- child processes */

static int child_echo(int argc, char **argv) {
  cm_platform_handle h;
  if (cm_platform_channel_from_switch(argc, argv, &h) != MOJO_RESULT_OK)
    return 10;
  cm_io_loop *loop;
  if (cm_io_loop_create(&loop) != MOJO_RESULT_OK || cm_io_loop_start(loop) != MOJO_RESULT_OK)
    return 11;
  mt_peer *p = malloc(sizeof(*p));
  if (!p)
    return 12;
  peer_init(p);
  p->echo = true;
  if (cm_node_channel_create(loop, &h, &kDelegate, p, &p->channel) != MOJO_RESULT_OK ||
      cm_node_channel_start(p->channel) != MOJO_RESULT_OK)
    return 13;
  pthread_mutex_lock(&p->mu);
  while (!p->disconnects)
    pthread_cond_wait(&p->cv, &p->mu);
  pthread_mutex_unlock(&p->mu);
  cm_node_channel_destroy(p->channel);
  cm_io_loop_destroy(loop);
  peer_fini(p);
  free(p);
  return 0;
}

static void test_child_echo_then_kill(void **state) {
  (void)state;
  cm_io_loop *loop;
  assert_int_equal(cm_io_loop_create(&loop), MOJO_RESULT_OK);
  assert_int_equal(cm_io_loop_start(loop), MOJO_RESULT_OK);
  cm_platform_handle mine, theirs;
  assert_int_equal(cm_platform_channel_create_pair(&mine, &theirs), MOJO_RESULT_OK);
  char sw[64];
  assert_int_equal(cm_platform_channel_format_switch(theirs, sw, sizeof(sw)), MOJO_RESULT_OK);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (cm_platform_channel_prepare_for_exec(theirs) != MOJO_RESULT_OK)
      _exit(80);
    char *argv[] = {g_self, (char *)ROLE_ECHO, sw, NULL};
    execv(g_self, argv);
    _exit(81);
  }
  cm_platform_handle_close(&theirs);
  mt_peer a;
  peer_init(&a);
  assert_int_equal(cm_node_channel_create(loop, &mine, &kDelegate, &a, &a.channel), MOJO_RESULT_OK);
  assert_int_equal(cm_node_channel_start(a.channel), MOJO_RESULT_OK);
  wait_for(&a, &a.connected, 1);
  pthread_t t[kSenders];
  sender_arg args[kSenders];
  for (int i = 0; i < kSenders; i++) {
    args[i] = (sender_arg){.channel = a.channel, .id = (uint32_t)i, .count = kPerSender};
    assert_int_equal(pthread_create(&t[i], NULL, sender, &args[i]), 0);
  }
  for (int i = 0; i < kSenders; i++)
    pthread_join(t[i], NULL);
  wait_for(&a, &a.received, kSenders * kPerSender);
  assert_int_equal(read_field(&a, &a.out_of_order), 0);
  assert_int_equal(read_field(&a, &a.fds_received), kSenders * kPerSender / 10);
  /* Killed while a sender is still writing: the end is reported once. */
  atomic_bool stop;
  atomic_init(&stop, false);
  sender_arg more = {.channel = a.channel, .id = 3, .stop = &stop};
  pthread_t t2;
  assert_int_equal(pthread_create(&t2, NULL, sender, &more), 0);
  assert_int_equal(kill(pid, SIGKILL), 0);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  wait_for(&a, &a.disconnects, 1);
  atomic_store(&stop, true);
  pthread_join(t2, NULL);
  assert_int_equal(a.reason, MOJO_RESULT_FAILED_PRECONDITION);
  cm_node_channel_destroy(a.channel);
  cm_io_loop_destroy(loop);
  assert_int_equal(a.disconnects, 1);
  peer_fini(&a);
}

#define T(f) cmocka_unit_test_setup_teardown(f, cm_test_setup_resources, cm_test_teardown_resources)

int main(int argc, char **argv) {
  ssize_t n = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
  if (n <= 0)
    return 99;
  g_self[n] = '\0';
  if (argc > 1 && strcmp(argv[1], ROLE_ECHO) == 0)
    return child_echo(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      T(test_thread_start_stop_post),  T(test_concurrent_senders),   T(test_destroy_under_flood),
      T(test_concurrent_registration), T(test_child_echo_then_kill),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
