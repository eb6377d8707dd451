/* Hostile and misbehaving peers (DESIGN §1.4, §5): raw bad bytes written
 * into an invitation's transport by a forked child that does not speak the
 * protocol, while a well-behaved child keeps working; and bad messages
 * reported with MojoNotifyBadMessage, which must reach the error handler
 * of the sender's inviter: this process's for a child, the child's for a
 * grandchild (reached through the broker). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/node_message.h"
#include "process_support.h"

/* ------------------------------------------------------- raw transports */

typedef struct hostile {
  const char *name;
  uint8_t bytes[2048]; /* written first, plainly */
  size_t len;
  uint8_t fd_frame[64]; /* then sent with fds attached (if nfds) */
  size_t fd_len;
  int nfds;
} hostile;

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* Appends a transport frame (docs/transport.md) around payload[0..n). */
static size_t frame(uint8_t *out, const void *payload, size_t n, uint16_t announced_fds) {
  size_t total = 16 + n, padded = (total + 7) & ~(size_t)7;
  memset(out, 0, padded);
  put32(out, (uint32_t)total);
  out[4] = 16;
  out[6] = (uint8_t)announced_fds;
  out[8] = 1;
  if (n)
    memcpy(out + 16, payload, n);
  return padded;
}

static size_t hello_frame(uint8_t *out) {
  cm_node_message_buffer b;
  cm_node_message_buffer_init(&b);
  assert_int_equal(cm_node_message_encode_hello(&b, CM_NODE_PROTOCOL_VERSION_MIN,
                                                CM_NODE_PROTOCOL_VERSION_MAX, 0),
                   MOJO_RESULT_OK);
  size_t n = frame(out, b.bytes, b.size, 0);
  cm_node_message_buffer_free(&b);
  return n;
}

static void random_bytes(uint8_t *out, size_t n, uint64_t *rng) {
  for (size_t i = 0; i < n; i++)
    out[i] = (uint8_t)pt_rand(rng);
}

/* The cases, each a byte sequence a peer might write instead of HELLO. */
static void build_cases(hostile *h, size_t *count, uint64_t *rng) {
  size_t k = 0;
  h[k].name = "random bytes";
  random_bytes(h[k].bytes, 256, rng), h[k++].len = 256;

  h[k].name = "frame header with an oversized length";
  h[k].len = frame(h[k].bytes, NULL, 0, 0);
  put32(h[k++].bytes, 0xfffffff0u);

  h[k].name = "HELLO, then a node message of an unknown type";
  h[k].len = hello_frame(h[k].bytes);
  uint8_t bad[16] = {99, 0, 0, 0, 16, 0, 0, 0};
  h[k].len += frame(h[k].bytes + h[k].len, bad, sizeof(bad), 0), k++;

  h[k].name = "HELLO, then junk";
  h[k].len = hello_frame(h[k].bytes);
  random_bytes(h[k].bytes + h[k].len, 200, rng), h[k].len += 200, k++;

  h[k].name = "fds with a frame that does not announce them";
  h[k].fd_len = hello_frame(h[k].fd_frame), h[k++].nfds = 2;

  h[k].name = "HELLO, then ACCEPT_INVITATION with a token nobody sent";
  h[k].len = hello_frame(h[k].bytes);
  cm_node_message_buffer b;
  cm_node_message_buffer_init(&b);
  cm_node_name token = {pt_rand(rng) | 1, pt_rand(rng)}, name = {pt_rand(rng) | 1, 7};
  assert_int_equal(cm_node_message_encode_accept_invitation(&b, &token, &name), MOJO_RESULT_OK);
  h[k].len += frame(h[k].bytes + h[k].len, b.bytes, b.size, 0), k++;
  cm_node_message_buffer_free(&b);
  *count = k;
}

/* The forked peer: only async-signal-safe calls. Keeps nothing but its
 * socket (and the fds to send), writes the case, then reads until the
 * other side shuts the connection down. */
static _Noreturn void run_hostile_peer(const hostile *h, int sock, const int *fds) {
  /* Write errors are fine: the other side may have given up already. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (int fd = 3; fd < 1024; fd++) {
    if (fd != sock && (!h->nfds || (fd != fds[0] && fd != fds[1])))
      close(fd);
  }
  if (h->len && write(sock, h->bytes, h->len) < 0)
    _exit(0);
  if (h->nfds) {
    struct iovec iov = {(void *)h->fd_frame, h->fd_len};
    union {
      struct cmsghdr align;
      char b[CMSG_SPACE(2 * sizeof(int))];
    } control;
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.b,
                         .msg_controllen = sizeof(control.b)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET, cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, 2 * sizeof(int));
    if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
      _exit(0);
  }
  char sink[4096];
  while (read(sock, sink, sizeof(sink)) > 0) {
  }
  _exit(0);
}

static void run_hostile_case(const hostile *h, MojoHandle good, int round) {
  print_message("hostile case: %s\n", h->name);
  int sv[2], pfd[2] = {-1, -1};
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  if (h->nfds)
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    run_hostile_peer(h, sv[1], pfd);
  close(sv[1]);
  if (h->nfds)
    close(pfd[0]), close(pfd[1]);
  MojoHandle inv, a;
  assert_int_equal(MojoCreateInvitation(NULL, &inv), MOJO_RESULT_OK);
  assert_int_equal(MojoAttachMessagePipeToInvitation(inv, "a", 1, NULL, &a), MOJO_RESULT_OK);
  struct MojoPlatformHandle ph = {sizeof(ph), MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR,
                                  (uint64_t)sv[0]};
  struct MojoPlatformProcessHandle proc = {sizeof(proc), (uint64_t)pid};
  struct MojoInvitationTransportEndpoint t = {sizeof(t), MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL, 1,
                                              &ph};
  uintptr_t ctx = pt_new_context();
  assert_int_equal(MojoSendInvitation(inv, &proc, &t, pt_error_handler, ctx, NULL), MOJO_RESULT_OK);
  pt_error e;
  assert_true(pt_errors_wait(ctx, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED,
                             MOJO_PROCESS_ERROR_FLAG_DISCONNECTED, PT_TIMEOUT_MS, &e));
  print_message("  reported: %s\n", e.text);
  assert_true(e.length > 0 && e.text[0] != '\0');
  pt_expect_peer_closed(a);
  assert_int_equal(MojoClose(a), MOJO_RESULT_OK);
  pt_reap(pid, 0);
  /* The well-behaved child never noticed. */
  char text[32], want[40];
  snprintf(text, sizeof(text), "ping %d", round);
  snprintf(want, sizeof(want), "echo:%s", text);
  assert_int_equal(pt_send_str(good, text), MOJO_RESULT_OK);
  pt_expect_str(good, want);
}

static int child_echo(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle ctl = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  for (;;) {
    char buf[128], reply[160];
    MojoResult rv = pt_recv_str(ctl, buf, sizeof(buf), PT_TIMEOUT_MS);
    if (rv == MOJO_RESULT_FAILED_PRECONDITION)
      return 0;
    PT_OK(rv);
    snprintf(reply, sizeof(reply), "echo:%s", buf);
    PT_OK(pt_send_str(ctl, reply));
  }
}

static void test_raw_bad_bytes(void **state) {
  (void)state;
  uint64_t seed = cm_test_seed(0x686f7374);
  print_message("seed %llu (CMOJO_TEST_SEED replays)\n", (unsigned long long)seed);
  uint64_t rng = seed;
  const char *names[] = {"ctl"};
  MojoHandle good;
  uintptr_t good_ctx = pt_new_context();
  int64_t good_pid = pt_spawn("echo", NULL, names, 1, &good, pt_error_handler, good_ctx);
  hostile *cases = calloc(8, sizeof(*cases));
  size_t n;
  build_cases(cases, &n, &rng);
  for (size_t i = 0; i < n; i++)
    run_hostile_case(&cases[i], good, (int)i);
  free(cases);
  assert_int_equal(pt_errors_count(good_ctx, 0, 0), 0);
  assert_int_equal(MojoClose(good), MOJO_RESULT_OK);
  pt_reap(good_pid, 0);
}

/* ------------------------------------------------------ bad messages */

static int child_bad_sender(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle ctl = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  PT_OK(pt_send_str(ctl, "payload"));
  pt_child_finish(ctl);
  return 0;
}

static void test_notify_bad_message_from_child(void **state) {
  (void)state;
  const char *names[] = {"ctl"};
  MojoHandle ctl;
  uintptr_t ctx = pt_new_context();
  int64_t pid = pt_spawn("bad_sender", NULL, names, 1, &ctl, pt_error_handler, ctx);
  MojoMessageHandle m;
  assert_int_equal(pt_recv_message(ctl, PT_TIMEOUT_MS, &m), MOJO_RESULT_OK);
  struct MojoNotifyBadMessageOptions bad = {4, 0};
  assert_int_equal(MojoNotifyBadMessage(MOJO_MESSAGE_HANDLE_INVALID, "x", 1, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoNotifyBadMessage(m, NULL, 3, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoNotifyBadMessage(m, "x", 1, &bad), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoNotifyBadMessage(m, "bad thing", 9, NULL), MOJO_RESULT_OK);
  /* Not consumed: still ours to destroy. */
  assert_int_equal(MojoDestroyMessage(m), MOJO_RESULT_OK);
  pt_error e;
  assert_true(pt_errors_wait(ctx, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED, 0, PT_TIMEOUT_MS, &e));
  assert_int_equal(e.length, 9);
  assert_string_equal(e.text, "bad thing");
  /* The report does not cut the child off by itself. */
  assert_false(pt_signals(ctl) & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  assert_int_equal(pt_errors_count(ctx, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED,
                                   MOJO_PROCESS_ERROR_FLAG_DISCONNECTED),
                   0);
  /* A message from this process: the report goes nowhere, and says OK. */
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(pt_send_str(a, "local"), MOJO_RESULT_OK);
  assert_int_equal(pt_recv_message(b, PT_TIMEOUT_MS, &m), MOJO_RESULT_OK);
  assert_int_equal(MojoNotifyBadMessage(m, "local", 5, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoDestroyMessage(m), MOJO_RESULT_OK);
  MojoHandle all[] = {a, b, ctl};
  for (int i = 0; i < 3; i++)
    assert_int_equal(MojoClose(all[i]), MOJO_RESULT_OK);
  pt_reap(pid, 0);
  assert_true(pt_errors_wait(ctx, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED,
                             MOJO_PROCESS_ERROR_FLAG_DISCONNECTED, PT_TIMEOUT_MS, NULL));
  assert_int_equal(pt_errors_count(ctx, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED, 0), 1);
}

/* G: sends a pipe end to its inviter A, then answers every "ping" on it. */
static int child_grandchild(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle g = pt_child_extract(inv, "g", 1);
  PT_OK(MojoClose(inv));
  MojoHandle u, v;
  PT_OK(MojoCreateMessagePipe(NULL, &u, &v));
  PT_OK(pt_send(g, "v", 1, &v, 1));
  for (;;) {
    char buf[16];
    MojoResult rv = pt_recv_str(u, buf, sizeof(buf), PT_TIMEOUT_MS);
    if (rv == MOJO_RESULT_FAILED_PRECONDITION)
      break;
    PT_OK(rv);
    PT_OK(pt_send_str(u, "from G"));
  }
  pt_child_finish(g);
  return 0;
}

#define G_CONTEXT 42

/* A: invites G itself (so G joins through the broker), passes G's pipe end
 * to the parent and tells the parent what its error handler for G heard. */
static int child_inviter(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  MojoHandle ctl = pt_child_extract(inv, "ctl", 3);
  PT_OK(MojoClose(inv));
  char *gargv[] = {(char *)pt_self(), "--child=grandchild", NULL};
  struct MojoPlatformHandle ep = {sizeof(ep), 0, 0};
  int64_t gpid = 0;
  PT_OK(cmojo_launch(pt_self(), gargv, NULL, &ep, &gpid));
  MojoHandle ginv, g, v;
  PT_OK(MojoCreateInvitation(NULL, &ginv));
  PT_OK(MojoAttachMessagePipeToInvitation(ginv, "g", 1, NULL, &g));
  struct MojoPlatformProcessHandle proc = {sizeof(proc), (uint64_t)gpid};
  struct MojoInvitationTransportEndpoint t = {sizeof(t), MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL, 1,
                                              &ep};
  PT_OK(MojoSendInvitation(ginv, &proc, &t, pt_error_handler, G_CONTEXT, NULL));
  char buf[16];
  uint32_t n, nh = 1;
  PT_OK(pt_recv(g, buf, sizeof(buf), &n, &v, &nh, PT_TIMEOUT_MS));
  PT_OK(pt_send(ctl, "v", 1, &v, 1));
  pt_error e;
  PT_CHECK(pt_errors_wait(G_CONTEXT, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED, 0, PT_TIMEOUT_MS, &e));
  char reply[300];
  snprintf(reply, sizeof(reply), "reported:%s", e.text);
  PT_OK(pt_send_str(ctl, reply));
  pt_child_finish(ctl);
  PT_OK(MojoClose(g));
  int status = pt_wait_exit(gpid, PT_TIMEOUT_MS);
  PT_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return 0;
}

/* Messages from G may first come through A's proxy (then A is their
 * sender); once the route is direct they come from G, and the report must
 * reach A's handler for G. So: ping, report each answer, until A says. */
static void test_notify_bad_message_from_grandchild(void **state) {
  (void)state;
  const char *names[] = {"ctl"};
  MojoHandle ctl, v;
  uintptr_t ctx = pt_new_context();
  int64_t pid = pt_spawn("inviter", NULL, names, 1, &ctl, pt_error_handler, ctx);
  char buf[16];
  uint32_t n, nh = 1;
  assert_int_equal(pt_recv(ctl, buf, sizeof(buf), &n, &v, &nh, PT_TIMEOUT_MS), MOJO_RESULT_OK);
  assert_int_equal(nh, 1);
  bool told = false;
  for (int i = 0; i < 200 && !told; i++) {
    assert_int_equal(pt_send_str(v, "ping"), MOJO_RESULT_OK);
    MojoMessageHandle m;
    assert_int_equal(pt_recv_message(v, PT_TIMEOUT_MS, &m), MOJO_RESULT_OK);
    assert_int_equal(MojoNotifyBadMessage(m, "bad thing from G", 16, NULL), MOJO_RESULT_OK);
    assert_int_equal(MojoDestroyMessage(m), MOJO_RESULT_OK);
    told = pt_wait(ctl, MOJO_HANDLE_SIGNAL_READABLE, MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 20,
                   NULL) == MOJO_RESULT_OK;
  }
  pt_expect_str(ctl, "reported:bad thing from G");
  assert_int_equal(MojoClose(v), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(ctl), MOJO_RESULT_OK);
  pt_reap(pid, 0);
  /* Nothing about A but its end. */
  assert_true(pt_errors_wait(ctx, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED,
                             MOJO_PROCESS_ERROR_FLAG_DISCONNECTED, PT_TIMEOUT_MS, NULL));
}

static const pt_role kRoles[] = {
    {"echo", child_echo},
    {"bad_sender", child_bad_sender},
    {"inviter", child_inviter},
    {"grandchild", child_grandchild},
};

int main(int argc, char **argv) {
  int status;
  if (pt_main(argc, argv, kRoles, sizeof(kRoles) / sizeof(kRoles[0]), &status))
    return status;
  const struct CMUnitTest tests[] = {
      PT_TEST(test_raw_bad_bytes),
      PT_TEST(test_notify_bad_message_from_child),
      PT_TEST(test_notify_bad_message_from_grandchild),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
