/* Hostile and unlucky peers of the node controller, found by review: each
 * test reproduces a way a peer (or bad timing) could make a node hold
 * resources without bound, cut off an honest node, or wait for ever.
 *
 *  - test_flooder_leaves_broker_resources: a peer invited by the broker
 *    (speaking raw node messages) sends ADD_BROKER_CLIENT for many made-up
 *    names, keeps the channel ends it gets (never says HELLO on them), asks
 *    for introductions to one of those never-connected "clients" (each
 *    queues an fd in that record at the broker), then closes its own
 *    connection. The broker must not keep a socket per made-up client, nor
 *    the queued introduction fds, once the flooder is gone (DESIGN §5: a
 *    limit fails that peer, never the process).
 *
 *  - test_flooder_fills_broker_peer_table: the same flood, up to
 *    CM_MAX_PEERS_PER_NODE made-up clients, each answered with a HELLO on
 *    its channel end (so the record is "active" and escapes any bound on
 *    clients that never connected): without a bound per announcer, a
 *    well-behaved child invited afterwards could not join.
 *
 *  - test_lying_grandchild_drops_honest_inviter: child A (honest, not the
 *    broker) invites a raw grandchild G that claims, in ACCEPT_INVITATION,
 *    the node name of another child C (unknown to A, known to the broker).
 *    A forwards ADD_BROKER_CLIENT(C) and the broker drops A's connection
 *    ("the client's name is ours or known"): a lying invitee got its
 *    honest inviter cut off from the broker. The broker now refuses the
 *    client and keeps A. (That A keeps the liar under the claimed name is a
 *    known gap: the refusal needs a protocol message, see docs/processes.md.)
 *
 *  - test_inviter_lost_before_broker_leaves_introductions_waiting: a child accepts
 *    an invitation from a raw inviter I (this process speaking raw node
 *    messages, a non-broker in effect). I merges the child's pipe with a
 *    port whose peer lives on a third node N (as when an inviter's pipe end
 *    was passed on before the invitee connected), then disappears before
 *    ACCEPT_BROKER_CLIENT. The pipe does see PEER_CLOSED (the ports layer's
 *    proxies still lead through I), but the child's record for N, with the
 *    frames queued in it, must not wait for ever for an introduction that
 *    can never be asked for: losing the inviter before it named the broker
 *    counts as losing the broker. (The child inspects its own controller
 *    state.)
 *
 *  - test_burst_to_node_being_introduced: child B gets a pipe end whose
 *    peer lives in child A, which B has no connection to yet, and writes
 *    20000 small messages at once. They wait in B's record for A while the
 *    two get connected (A's I/O thread is held up 1 s by an application
 *    trap handler, as handlers may be, so A answers B's HELLO late); no
 *    peer is at fault: what waits is bounded in bytes, like a write queue,
 *    not in frames, and every message must arrive.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>

#include "cm_limits.h"
#include "core/node_controller_internal.h"
#include "core/node_message.h"
#include "ports/ports_internal.h"
#include "process_support.h"

/* ------------------------------------------------ raw node-message peer */

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* Reads exactly n bytes, collecting SCM_RIGHTS fds. False on EOF/error. */
static bool read_full(int sock, uint8_t *out, size_t n, int *fds, size_t *nfds, size_t cap) {
  size_t got = 0;
  while (got < n) {
    struct iovec iov = {out + got, n - got};
    union {
      struct cmsghdr align;
      char b[CMSG_SPACE(253 * sizeof(int))];
    } control;
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.b,
                         .msg_controllen = sizeof(control.b)};
    ssize_t r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
        size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
          int fd;
          memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
          if (*nfds < cap)
            fds[(*nfds)++] = fd;
          else
            close(fd);
        }
      }
    }
    got += (size_t)r;
  }
  return true;
}

/* One frame's node message into buf (its size in *n), its fds appended to
 * fds[*nfds..]. False on EOF or a bad frame. */
static bool raw_read(int sock, uint8_t *buf, size_t cap, size_t *n, int *fds, size_t *nfds,
                     size_t fd_cap) {
  uint8_t h[16];
  if (!read_full(sock, h, 16, fds, nfds, fd_cap))
    return false;
  uint32_t total =
      (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
  uint32_t hb = (uint32_t)h[4] | (uint32_t)h[5] << 8;
  if (total < hb || hb != 16)
    return false;
  size_t wire = ((size_t)total + 7) & ~(size_t)7;
  size_t rest = wire - 16;
  if (rest > cap)
    return false;
  if (!read_full(sock, buf, rest, fds, nfds, fd_cap))
    return false;
  *n = total - 16;
  return true;
}

static bool raw_write(int sock, const uint8_t *payload, size_t n) {
  uint8_t out[512];
  size_t total = 16 + n, padded = (total + 7) & ~(size_t)7;
  if (padded > sizeof(out))
    return false;
  memset(out, 0, padded);
  put32(out, (uint32_t)total);
  out[4] = 16;
  out[8] = 1;
  memcpy(out + 16, payload, n);
  return send(sock, out, padded, MSG_NOSIGNAL) == (ssize_t)padded;
}

/* Reads node messages until one of `type` arrives (fds of others closed).
 * False on EOF. */
static bool raw_expect(int sock, cm_node_message_type type, uint8_t *buf, size_t cap,
                       cm_node_message *m, int *fd_out) {
  for (;;) {
    int fds[8];
    size_t nfds = 0, n = 0;
    if (!raw_read(sock, buf, cap, &n, fds, &nfds, 8))
      return false;
    if (cm_node_message_parse(buf, n, nfds, m) != CM_NODE_MESSAGE_OK)
      return false;
    if (m->type == type) {
      if (fd_out)
        *fd_out = nfds ? fds[0] : -1;
      for (size_t i = fd_out ? 1 : 0; i < nfds; i++)
        close(fds[i]);
      return true;
    }
    for (size_t i = 0; i < nfds; i++)
      close(fds[i]);
  }
}

static int raw_endpoint(int argc, char **argv) {
  struct MojoPlatformHandle ep;
  PT_OK(cmojo_endpoint_from_command_line(argc, argv, &ep));
  return (int)ep.value;
}

/* The invitee side of the handshake, claiming `name`: HELLO, wait for
 * ACCEPT_INVITEE, answer ACCEPT_INVITATION. */
static void raw_join(int sock, const cm_node_name *name, uint8_t *buf, size_t cap) {
  cm_node_message_buffer b;
  cm_node_message_buffer_init(&b);
  PT_OK(cm_node_message_encode_hello(&b, CM_NODE_PROTOCOL_VERSION_MIN, CM_NODE_PROTOCOL_VERSION_MAX,
                                     0));
  PT_CHECK(raw_write(sock, b.bytes, b.size));
  cm_node_message m;
  PT_CHECK(raw_expect(sock, CM_NODE_MESSAGE_ACCEPT_INVITEE, buf, cap, &m, NULL));
  cm_node_name token = m.u.accept_invitee.token;
  PT_OK(cm_node_message_encode_accept_invitation(&b, &token, name));
  PT_CHECK(raw_write(sock, b.bytes, b.size));
  cm_node_message_buffer_free(&b);
}

/* ------------------------------------------- flooder (child of the broker) */

/* As many unconnected clients as one node may announce, and more
 * introductions to one of them than the broker holds for it. */
#define FLOOD_CLIENTS ((int)CM_MAX_PENDING_CLIENTS_PER_PEER)
#define FLOOD_INTRODUCTIONS (4 * (int)CM_MAX_QUEUED_INTRODUCTIONS)

static int child_raw_flooder(int argc, char **argv) {
  int sock = raw_endpoint(argc, argv);
  static uint8_t buf[1 << 16];
  cm_node_name me;
  cm_name_random(&me);
  raw_join(sock, &me, buf, sizeof(buf));
  cm_node_message m;
  PT_CHECK(raw_expect(sock, CM_NODE_MESSAGE_ACCEPT_BROKER_CLIENT, buf, sizeof(buf), &m, NULL));
  cm_node_message_buffer b;
  cm_node_message_buffer_init(&b);
  cm_node_name clients[FLOOD_CLIENTS];
  int kept[FLOOD_CLIENTS];
  for (int i = 0; i < FLOOD_CLIENTS; i++) {
    cm_name_random(&clients[i]);
    PT_OK(cm_node_message_encode_add_broker_client(&b, &clients[i], 0));
    PT_CHECK(raw_write(sock, b.bytes, b.size));
  }
  for (int i = 0; i < FLOOD_CLIENTS; i++) {
    PT_CHECK(raw_expect(sock, CM_NODE_MESSAGE_BROKER_CLIENT_ADDED, buf, sizeof(buf), &m, &kept[i]));
    PT_CHECK(kept[i] >= 0); /* kept open, never spoken on */
  }
  /* Introductions to a "client" that never connects: each queues one
   * channel end in its record at the broker. */
  for (int i = 0; i < FLOOD_INTRODUCTIONS; i++) {
    PT_OK(cm_node_message_encode_request_introduction(&b, &clients[0]));
    PT_CHECK(raw_write(sock, b.bytes, b.size));
  }
  cm_node_message_buffer_free(&b);
  /* Drain the INTRODUCE answers so the broker has handled every request,
   * then leave: only our own connection ends. */
  for (int i = 0; i < FLOOD_INTRODUCTIONS; i++) {
    int fd = -1;
    PT_CHECK(raw_expect(sock, CM_NODE_MESSAGE_INTRODUCE, buf, sizeof(buf), &m, &fd));
    if (fd >= 0)
      close(fd);
  }
  close(sock);
  for (;;)
    pause(); /* holding kept[] until the parent kills us */
}

static void test_flooder_leaves_broker_resources(void **state) {
  (void)state;
  int base = cm_test_count_open_fds();
  const char *names[] = {"a"};
  MojoHandle a;
  uintptr_t ctx = pt_new_context();
  int64_t pid = pt_spawn("raw_flooder", NULL, names, 1, &a, pt_error_handler, ctx);
  pt_error e;
  assert_true(pt_errors_wait(ctx, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED,
                             MOJO_PROCESS_ERROR_FLAG_DISCONNECTED, PT_TIMEOUT_MS, &e));
  print_message("flooder dropped: %s\n", e.text);
  pt_expect_peer_closed(a);
  assert_int_equal(MojoClose(a), MOJO_RESULT_OK);
  /* The flooder is gone as a peer; what the broker made for it should be. */
  int64_t deadline = pt_now_ms() + 3000;
  int now;
  while ((now = cm_test_count_open_fds()) != base && pt_now_ms() < deadline)
    usleep(10000);
  kill((pid_t)pid, SIGKILL);
  pt_reap(pid, PT_KILLED);
  if (now != base)
    fail_msg(
        "the broker still holds %d fds for a dropped peer (%d made-up clients, %d "
        "introductions queued for one that never connected)",
        now - base, FLOOD_CLIENTS, FLOOD_INTRODUCTIONS);
}

/* One peer fills the broker's whole peer table (CM_MAX_PEERS_PER_NODE is
 * per node, not per requester): after it is dropped, no process can join. */
static int child_raw_table_filler(int argc, char **argv) {
  int sock = raw_endpoint(argc, argv);
  static uint8_t buf[1 << 16];
  static int kept[CM_MAX_PEERS_PER_NODE];
  cm_node_name me;
  cm_name_random(&me);
  raw_join(sock, &me, buf, sizeof(buf));
  cm_node_message m;
  PT_CHECK(raw_expect(sock, CM_NODE_MESSAGE_ACCEPT_BROKER_CLIENT, buf, sizeof(buf), &m, NULL));
  cm_node_message_buffer b;
  cm_node_message_buffer_init(&b);
  cm_node_message_buffer hello;
  cm_node_message_buffer_init(&hello);
  PT_OK(cm_node_message_encode_hello(&hello, CM_NODE_PROTOCOL_VERSION_MIN,
                                     CM_NODE_PROTOCOL_VERSION_MAX, 0));
  /* One at a time, keeping every channel end, until the broker gives up. */
  size_t sent = 0, got = 0;
  for (; sent < CM_MAX_PEERS_PER_NODE; sent++) {
    cm_node_name client;
    cm_name_random(&client);
    PT_OK(cm_node_message_encode_add_broker_client(&b, &client, 0));
    if (!raw_write(sock, b.bytes, b.size) ||
        !raw_expect(sock, CM_NODE_MESSAGE_BROKER_CLIENT_ADDED, buf, sizeof(buf), &m, &kept[got]))
      break;
    /* Say HELLO as the "client": its record becomes active, so no bound
     * on announced-but-unconnected clients applies to it any more. */
    PT_CHECK(raw_write(kept[got], hello.bytes, hello.size));
    got++;
  }
  cm_node_message_buffer_free(&b);
  cm_node_message_buffer_free(&hello);
  fprintf(stderr, "[raw_table_filler] %zu requests, %zu channel ends kept\n", sent, got);
  for (;;)
    pause();
}

static void test_flooder_fills_broker_peer_table(void **state) {
  (void)state;
  const char *names[] = {"a"};
  MojoHandle a;
  uintptr_t ctx = pt_new_context();
  int64_t pid = pt_spawn("raw_table_filler", NULL, names, 1, &a, pt_error_handler, ctx);
  /* Until the table is full or the broker drops the filler. */
  int64_t deadline = pt_now_ms() + PT_TIMEOUT_MS;
  size_t np = 0;
  while (pt_now_ms() < deadline) {
    pthread_mutex_lock(&ctl.mu);
    np = ctl.num_peers;
    pthread_mutex_unlock(&ctl.mu);
    if (np >= CM_MAX_PEERS_PER_NODE || pt_errors_count(ctx, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED,
                                                       MOJO_PROCESS_ERROR_FLAG_DISCONNECTED))
      break;
    usleep(20000);
  }
  pt_error e;
  if (pt_errors_wait(ctx, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED,
                     MOJO_PROCESS_ERROR_FLAG_DISCONNECTED, 500, &e))
    print_message("filler dropped: %s\n", e.text);
  print_message("peer records after the flood: %zu of %u\n", np, CM_MAX_PEERS_PER_NODE);
  assert_int_equal(MojoClose(a), MOJO_RESULT_OK);
  /* Two well-behaved children now try to join (the filler's own record
   * is gone, which frees exactly one slot). */
  MojoResult rv[2], echo[2];
  int64_t good[2];
  MojoHandle gs[2];
  for (int k = 0; k < 2; k++) {
    struct MojoPlatformHandle ep;
    good[k] = pt_launch("echo", NULL, &ep);
    MojoHandle inv, g;
    assert_int_equal(MojoCreateInvitation(NULL, &inv), MOJO_RESULT_OK);
    assert_int_equal(MojoAttachMessagePipeToInvitation(inv, "ctl", 3, NULL, &g), MOJO_RESULT_OK);
    struct MojoPlatformProcessHandle proc = {sizeof(proc), (uint64_t)good[k]};
    struct MojoInvitationTransportEndpoint t = {sizeof(t), MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL,
                                                1, &ep};
    pthread_mutex_lock(&ctl.mu);
    size_t before = ctl.num_peers;
    pthread_mutex_unlock(&ctl.mu);
    print_message("peer records before child %d joins: %zu of %u\n", k, before,
                  CM_MAX_PEERS_PER_NODE);
    rv[k] = MojoSendInvitation(inv, &proc, &t, NULL, 0, NULL);
    echo[k] = rv[k];
    if (rv[k] != MOJO_RESULT_OK) {
      print_message("well-behaved child %d cannot join: MojoSendInvitation = %d\n", k, (int)rv[k]);
      MojoClose(inv);
      close((int)ep.value);
    } else {
      echo[k] = pt_send_str(g, "hi");
      char b[32] = "";
      if (echo[k] == MOJO_RESULT_OK)
        echo[k] = pt_recv_str(g, b, sizeof(b), 5000);
    }
    gs[k] = g; /* kept open: child 0 holds its slot while child 1 tries */
  }
  MojoClose(gs[0]);
  MojoClose(gs[1]);
  kill((pid_t)pid, SIGKILL);
  pt_reap(pid, PT_KILLED);
  for (int k = 0; k < 2; k++) {
    if (rv[k] != MOJO_RESULT_OK)
      kill((pid_t)good[k], SIGKILL), waitpid((pid_t)good[k], NULL, 0);
    else
      pt_reap(good[k], 0);
  }
  for (int k = 0; k < 2; k++) {
    assert_int_equal(rv[k], MOJO_RESULT_OK);
    assert_int_equal(echo[k], MOJO_RESULT_OK);
  }
}

/* ------------------------------------ lying grandchild and honest inviter */

/* G (raw): joins A claiming the name given in argv (another node's). */
static int child_raw_liar(int argc, char **argv) {
  int sock = raw_endpoint(argc, argv);
  static uint8_t buf[1 << 16];
  cm_node_name claimed = {pt_arg(argc, argv, 0), pt_arg(argc, argv, 1)};
  raw_join(sock, &claimed, buf, sizeof(buf));
  cm_node_message m;
  while (raw_expect(sock, (cm_node_message_type)0xffff, buf, sizeof(buf), &m, NULL)) {
  }
  return 0;
}

/* A: invites the liar with C's name, then echoes on ctl. */
static int child_liar_inviter(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle cp = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  char *gargv[] = {(char *)pt_self(), "--child=raw_liar", argv[2], argv[3], NULL};
  struct MojoPlatformHandle ep = {sizeof(ep), 0, 0};
  int64_t gpid = 0;
  PT_OK(cmojo_launch(pt_self(), gargv, NULL, &ep, &gpid));
  MojoHandle ginv, g;
  PT_OK(MojoCreateInvitation(NULL, &ginv));
  PT_OK(MojoAttachMessagePipeToInvitation(ginv, "g", 1, NULL, &g));
  struct MojoPlatformProcessHandle proc = {sizeof(proc), (uint64_t)gpid};
  struct MojoInvitationTransportEndpoint t = {sizeof(t), MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL, 1,
                                              &ep};
  PT_OK(MojoSendInvitation(ginv, &proc, &t, pt_error_handler, 7, NULL));
  PT_OK(pt_send_str(cp, "sent"));
  for (;;) {
    char b[128], reply[160];
    MojoResult rv = pt_recv_str(cp, b, sizeof(b), PT_TIMEOUT_MS);
    if (rv == MOJO_RESULT_FAILED_PRECONDITION)
      break;
    PT_OK(rv);
    snprintf(reply, sizeof(reply), "echo:%s", b);
    PT_OK(pt_send_str(cp, reply));
  }
  kill((pid_t)gpid, SIGKILL);
  waitpid((pid_t)gpid, NULL, 0);
  return 0;
}

static int child_echo(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle cp = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  for (;;) {
    char b[128], reply[160];
    MojoResult rv = pt_recv_str(cp, b, sizeof(b), PT_TIMEOUT_MS);
    if (rv == MOJO_RESULT_FAILED_PRECONDITION)
      return 0;
    PT_OK(rv);
    snprintf(reply, sizeof(reply), "echo:%s", b);
    PT_OK(pt_send_str(cp, reply));
  }
}

/* The node name this (broker) process knows for the invitee `pid`. */
static bool name_of_invitee(int64_t pid, cm_node_name *out) {
  bool found = false;
  pthread_mutex_lock(&ctl.mu);
  for (cm_peer *p = ctl.peers; p; p = p->next) {
    if (p->kind == PEER_INVITEE && p->pid == pid && p->has_name) {
      *out = p->name;
      found = true;
    }
  }
  pthread_mutex_unlock(&ctl.mu);
  return found;
}

static void test_lying_grandchild_drops_honest_inviter(void **state) {
  (void)state;
  const char *names[] = {"ctl"};
  MojoHandle c_ctl, a_ctl;
  uintptr_t c_ctx = pt_new_context(), a_ctx = pt_new_context();
  int64_t c_pid = pt_spawn("echo", NULL, names, 1, &c_ctl, pt_error_handler, c_ctx);
  assert_int_equal(pt_send_str(c_ctl, "hi"), MOJO_RESULT_OK);
  pt_expect_str(c_ctl, "echo:hi");
  cm_node_name c_name;
  assert_true(name_of_invitee(c_pid, &c_name));
  char v1[32], v2[32];
  snprintf(v1, sizeof(v1), "%llu", (unsigned long long)c_name.v1);
  snprintf(v2, sizeof(v2), "%llu", (unsigned long long)c_name.v2);
  const char *args[] = {v1, v2, NULL};
  int64_t a_pid = pt_spawn("liar_inviter", args, names, 1, &a_ctl, pt_error_handler, a_ctx);
  pt_expect_str(a_ctl, "sent");
  pt_error e;
  bool dropped = pt_errors_wait(a_ctx, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED,
                                MOJO_PROCESS_ERROR_FLAG_DISCONNECTED, 3000, &e);
  if (dropped)
    print_message("honest inviter A dropped by the broker: %s\n", e.text);
  MojoResult echo_rv = pt_send_str(a_ctl, "ping");
  char b[64] = "";
  if (echo_rv == MOJO_RESULT_OK)
    echo_rv = pt_recv_str(a_ctl, b, sizeof(b), 3000);
  MojoHandle all[] = {a_ctl, c_ctl};
  for (int i = 0; i < 2; i++)
    assert_int_equal(MojoClose(all[i]), MOJO_RESULT_OK);
  pt_reap(c_pid, 0);
  pt_reap(a_pid, 0);
  assert_false(dropped);
  assert_int_equal(echo_rv, MOJO_RESULT_OK);
  assert_string_equal(b, "echo:ping");
}

/* ----------------------------- inviter lost before the broker link exists */

static int child_merge_victim(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle x = pt_child_extract(inv, "x", 1);
  PT_OK(MojoClose(inv));
  PT_OK(pt_send_str(x, "hello N"));
  MojoResult rv = pt_wait(x, MOJO_HANDLE_SIGNAL_PEER_CLOSED,
                          MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 8000, NULL);
  if (rv != MOJO_RESULT_OK) {
    fprintf(stderr, "[merge_victim] pipe to a node behind a lost inviter never closed (%d)\n",
            (int)rv);
    return 3;
  }
  /* The inviter is gone and no broker can come; what waits for one should
   * be gone too (pending introductions reported lost, backlog dropped). */
  usleep(500 * 1000);
  pthread_mutex_lock(&ctl.mu);
  size_t waiting = 0, queued = 0;
  for (cm_peer *p = ctl.peers; p; p = p->next) {
    if (p->kind == PEER_INTRODUCED && p->state == PEER_AWAIT_CONNECTION) {
      waiting++;
      for (queued_frame *q = p->queue_head; q; q = q->next)
        queued++;
    }
  }
  bool accepted_without_broker = ctl.accepted && !ctl.broker;
  pthread_mutex_unlock(&ctl.mu);
  if (waiting || accepted_without_broker) {
    fprintf(stderr,
            "[merge_victim] inviter lost before ACCEPT_BROKER_CLIENT: %zu record(s) still wait for "
            "an introduction (%zu frames queued), accepted=%d with no broker\n",
            waiting, queued, (int)accepted_without_broker);
    return 4;
  }
  return 0;
}

static void test_inviter_lost_before_broker_leaves_introductions_waiting(void **state) {
  (void)state;
  struct MojoPlatformHandle ep;
  int64_t pid = pt_launch("merge_victim", NULL, &ep);
  int sock = (int)ep.value;
  static uint8_t buf[1 << 16];
  cm_node_message_buffer b;
  cm_node_message_buffer_init(&b);
  assert_int_equal(cm_node_message_encode_hello(&b, CM_NODE_PROTOCOL_VERSION_MIN,
                                                CM_NODE_PROTOCOL_VERSION_MAX, 0),
                   MOJO_RESULT_OK);
  assert_true(raw_write(sock, b.bytes, b.size));
  cm_node_name inviter, token, third;
  cm_name_random(&inviter);
  cm_name_random(&token);
  cm_name_random(&third);
  assert_int_equal(cm_node_message_encode_accept_invitee(&b, &inviter, &token), MOJO_RESULT_OK);
  assert_true(raw_write(sock, b.bytes, b.size));
  cm_node_message m;
  assert_true(raw_expect(sock, CM_NODE_MESSAGE_ACCEPT_INVITATION, buf, sizeof(buf), &m, NULL));
  assert_true(raw_expect(sock, CM_NODE_MESSAGE_REQUEST_PORT_MERGE, buf, sizeof(buf), &m, NULL));
  cm_port_name target = m.u.request_port_merge.port_name;
  /* MergePort from "I": the merged port's peer lives on node N. */
  cm_event *ev = cm_event_new(CM_EVENT_MERGE_PORT, &target, NULL, CM_SEQ_INVALID);
  cm_name_random(&ev->u.merge.new_port);
  cm_port_descriptor *d = &ev->u.merge.descriptor;
  memset(d, 0, sizeof(*d));
  d->peer_node = third;
  cm_name_random(&d->peer_port);
  d->referring_node = inviter;
  cm_name_random(&d->referring_port);
  d->next_seq_to_send = 1;
  d->next_seq_to_receive = 1;
  size_t en = cm_event_serialized_size(ev);
  void *event_at = NULL;
  assert_int_equal(cm_node_message_encode_event(&b, en, 0, 0, 0, &event_at, NULL), MOJO_RESULT_OK);
  cm_event_serialize(ev, event_at);
  cm_event_destroy(ev);
  assert_true(raw_write(sock, b.bytes, b.size));
  cm_node_message_buffer_free(&b);
  /* Give the child a moment to merge and forward to N, then vanish. */
  int64_t until = pt_now_ms() + 500;
  while (pt_now_ms() < until) {
    struct pollfd p = {sock, POLLIN, 0};
    if (poll(&p, 1, 50) == 1) {
      int fds[8];
      size_t nfds = 0, n = 0;
      if (!raw_read(sock, buf, sizeof(buf), &n, fds, &nfds, 8))
        break;
      cm_node_message got;
      if (cm_node_message_parse(buf, n, nfds, &got) == CM_NODE_MESSAGE_OK) {
        print_message("  raw inviter got %s", cm_node_message_type_name(got.type));
        if (got.type == CM_NODE_MESSAGE_EVENT)
          print_message(" (ports event type %u)", (unsigned)got.u.event.event_type);
        if (got.type == CM_NODE_MESSAGE_GOODBYE)
          print_message(" (%.*s)", (int)got.u.goodbye.text_num_bytes, got.u.goodbye.text);
        print_message("\n");
      }
      for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
    }
  }
  close(sock);
  pt_reap(pid, 0);
}

/* ------------------------- a legitimate burst while an introduction runs */

#define BURST 20000

/* Runs on A's I/O thread when "sleep" arrives: the application's handler
 * takes a moment, as handlers may. Meanwhile A answers no HELLO. */
static void slow_handler(const struct MojoTrapEvent *e) {
  if (e->result == MOJO_RESULT_OK) {
    usleep(1000 * 1000);
  }
}

/* A: makes a pipe, sends one end to the parent, counts what arrives on the
 * other and reports the count. */
static int child_burst_reader(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle cp = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  MojoHandle u, v;
  PT_OK(MojoCreateMessagePipe(NULL, &u, &v));
  /* A's own I/O thread is held up for a moment (an application trap
   * handler that takes a while) when "sleep" arrives. */
  MojoHandle trap;
  PT_OK(MojoCreateTrap(slow_handler, NULL, &trap));
  PT_OK(MojoAddTrigger(trap, cp, MOJO_HANDLE_SIGNAL_READABLE,
                       MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 0, NULL));
  PT_OK(MojoArmTrap(trap, NULL, NULL, NULL));
  PT_OK(pt_send(cp, "v", 1, &v, 1));
  pt_child_expect_str(cp, "sleep");
  PT_OK(pt_send_str(cp, "zzz"));
  int count = 0;
  for (;;) {
    MojoMessageHandle m;
    MojoResult rv = pt_recv_message(u, 10000, &m);
    if (rv != MOJO_RESULT_OK)
      break;
    MojoDestroyMessage(m);
    if (++count == BURST)
      break;
  }
  char reply[64];
  snprintf(reply, sizeof(reply), "got %d", count);
  PT_OK(pt_send_str(cp, reply));
  pt_child_finish(cp);
  return 0;
}

/* B: gets the pipe end (its peer lives in A, which B has no connection to
 * yet) and writes BURST messages at once. */
static int child_burst_writer(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle cp = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  char b[8];
  uint32_t n, nh = 1;
  MojoHandle v;
  PT_OK(pt_recv(cp, b, sizeof(b), &n, &v, &nh, PT_TIMEOUT_MS));
  int failed = 0;
  int64_t t0 = pt_now_ms(), t4096 = 0;
  for (int i = 0; i < BURST; i++) {
    if (pt_send(v, "0123456789abcdef", 16, NULL, 0) != MOJO_RESULT_OK)
      failed++;
    if (i == 4096)
      t4096 = pt_now_ms();
  }
  fprintf(stderr, "[burst_writer] 4096 writes took %lld ms, all %lld ms\n", (long long)(t4096 - t0),
          (long long)(pt_now_ms() - t0));
  char reply[64];
  snprintf(reply, sizeof(reply), "write failures %d", failed);
  PT_OK(pt_send_str(cp, reply));
  pt_child_finish(cp);
  return 0;
}

static void test_burst_to_node_being_introduced(void **state) {
  (void)state;
  const char *names[] = {"ctl"};
  MojoHandle a_ctl, b_ctl, v;
  uintptr_t a_ctx = pt_new_context(), b_ctx = pt_new_context();
  int64_t a_pid = pt_spawn("burst_reader", NULL, names, 1, &a_ctl, pt_error_handler, a_ctx);
  int64_t b_pid = pt_spawn("burst_writer", NULL, names, 1, &b_ctl, pt_error_handler, b_ctx);
  char buf[64];
  uint32_t n, nh = 1;
  assert_int_equal(pt_recv(a_ctl, buf, sizeof(buf), &n, &v, &nh, PT_TIMEOUT_MS), MOJO_RESULT_OK);
  /* A's I/O thread is held up from "sleep" on; then v goes to B. */
  assert_int_equal(pt_send_str(a_ctl, "sleep"), MOJO_RESULT_OK);
  pt_expect_str(a_ctl, "zzz");
  assert_int_equal(pt_send(b_ctl, "v", 1, &v, 1), MOJO_RESULT_OK);
  char wrote[64] = "", got[64] = "";
  MojoResult r1 = pt_recv_str(b_ctl, wrote, sizeof(wrote), PT_TIMEOUT_MS);
  MojoResult r2 = pt_recv_str(a_ctl, got, sizeof(got), PT_TIMEOUT_MS);
  print_message("B: %s; A: %s\n", wrote, got);
  assert_int_equal(MojoClose(a_ctl), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(b_ctl), MOJO_RESULT_OK);
  pt_reap(a_pid, 0);
  pt_reap(b_pid, 0);
  assert_int_equal(r1, MOJO_RESULT_OK);
  assert_int_equal(r2, MOJO_RESULT_OK);
  char want[64];
  snprintf(want, sizeof(want), "got %d", BURST);
  assert_string_equal(got, want);
}

static const pt_role kRoles[] = {
    {"burst_reader", child_burst_reader}, {"burst_writer", child_burst_writer},
    {"merge_victim", child_merge_victim}, {"raw_flooder", child_raw_flooder},
    {"raw_liar", child_raw_liar},         {"raw_table_filler", child_raw_table_filler},
    {"liar_inviter", child_liar_inviter}, {"echo", child_echo},
};

int main(int argc, char **argv) {
  int status;
  if (pt_main(argc, argv, kRoles, sizeof(kRoles) / sizeof(kRoles[0]), &status))
    return status;
  const struct CMUnitTest tests[] = {
      PT_TEST(test_flooder_leaves_broker_resources),
      PT_TEST(test_flooder_fills_broker_peer_table),
      PT_TEST(test_lying_grandchild_drops_honest_inviter),
      PT_TEST(test_inviter_lost_before_broker_leaves_introductions_waiting),
      PT_TEST(test_burst_to_node_being_introduced),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
