/* Invitations between real processes: the broker (this test) invites a copy
 * of itself with named pipes and talks on them both ways; every argument
 * error of MojoCreateInvitation / Attach / Extract / Send / Accept and
 * MojoSetDefaultProcessErrorHandler the header lists; an invitation nobody
 * accepts; isolated invitations; a CHANNEL_SERVER endpoint that an unrelated
 * process connects to; a child in embedder mode; and who sent a message
 * (cmojo_get_message_sender). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmojo/embedder.h"
#include "process_support.h"

#define FD_TYPE MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR
#define CHANNEL MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL
#define ROUNDS 100

static const char kIsolatedName[4] = {0, 0, 0, 0};

/* ------------------------------------------------------------ child roles */

/* Refusals only a process that accepted an invitation can see. */
static void child_check_accepted_refusals(MojoHandle inv) {
  int sv[2];
  PT_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  struct MojoPlatformHandle ph = {sizeof(ph), FD_TYPE, (uint64_t)sv[0]};
  struct MojoInvitationTransportEndpoint t = {sizeof(t), CHANNEL, 1, &ph};
  MojoHandle h;
  /* A second non-isolated accept, and attachments to an accepted one. */
  PT_EQ(MojoAcceptInvitation(&t, NULL, &h), MOJO_RESULT_FAILED_PRECONDITION);
  PT_CHECK(fcntl(sv[0], F_GETFD) != -1);
  close(sv[0]);
  close(sv[1]);
  PT_EQ(MojoAttachMessagePipeToInvitation(inv, "x", 1, NULL, &h), MOJO_RESULT_INVALID_ARGUMENT);
}

static int child_basic(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_NONE);
  child_check_accepted_refusals(inv);
  MojoHandle a = pt_child_extract(inv, "a", 1), b = pt_child_extract(inv, "b", 1);
  MojoHandle missing = pt_child_extract(inv, "missing", 7);
  PT_OK(MojoClose(inv));
  PT_OK(pt_send_str(a, "child:a"));
  PT_OK(pt_send_str(b, "child:b"));
  char want[64], reply[64];
  for (int i = 0; i < ROUNDS; i++) {
    for (int k = 0; k < 2; k++) {
      snprintf(want, sizeof(want), "p:%c:%d", "ab"[k], i);
      snprintf(reply, sizeof(reply), "c:%c:%d", "ab"[k], i);
      pt_child_expect_str(k ? b : a, want);
      PT_OK(pt_send_str(k ? b : a, reply));
    }
  }
  /* The parent's messages come from the parent's process. */
  MojoMessageHandle m;
  PT_OK(pt_recv_message(a, PT_TIMEOUT_MS, &m));
  struct cmojo_peer_credentials cr = {.struct_size = sizeof(cr)};
  PT_OK(cmojo_get_message_sender(m, &cr));
  PT_EQ(cr.pid, getppid());
  PT_OK(MojoDestroyMessage(m));
  /* The inviter attached no "missing": its peer is closed, nothing to read. */
  PT_OK(pt_wait_for(missing, MOJO_HANDLE_SIGNAL_PEER_CLOSED));
  PT_CHECK(!(pt_signals(missing) & MOJO_HANDLE_SIGNAL_READABLE));
  PT_OK(MojoClose(missing));
  pt_child_finish(a);
  pt_child_finish(b);
  return 0;
}

/* Takes a pipe end in a message on the isolated pipe and answers on it. */
static int child_isolated(int argc, char **argv) {
  MojoHandle inv = pt_child_accept(argc, argv, MOJO_ACCEPT_INVITATION_FLAG_ISOLATED);
  MojoHandle p = pt_child_extract(inv, kIsolatedName, sizeof(kIsolatedName));
  PT_OK(MojoClose(inv));
  char buf[16];
  uint32_t n = 0, nh = 1;
  MojoHandle x;
  PT_OK(pt_recv(p, buf, sizeof(buf), &n, &x, &nh, PT_TIMEOUT_MS));
  PT_CHECK(n == 4 && memcmp(buf, "ping", 4) == 0 && nh == 1);
  PT_OK(pt_send_str(x, "pong"));
  PT_OK(MojoClose(x));
  PT_OK(pt_send_str(p, "done"));
  pt_child_finish(p);
  return 0;
}

/* Started without the switch: connects to the path in argv[2]. */
static int child_connect(int argc, char **argv) {
  PT_CHECK(argc >= 3);
  PT_OK(MojoInitialize(NULL));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[2]);
  PT_CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
  struct MojoPlatformHandle ph = {sizeof(ph), FD_TYPE, (uint64_t)fd};
  struct MojoInvitationTransportEndpoint t = {sizeof(t), CHANNEL, 1, &ph};
  MojoHandle inv;
  PT_OK(MojoAcceptInvitation(&t, NULL, &inv));
  MojoHandle p = pt_child_extract(inv, "srv", 3);
  PT_OK(MojoClose(inv));
  char buf[128], reply[160];
  PT_OK(pt_recv_str(p, buf, sizeof(buf), PT_TIMEOUT_MS));
  snprintf(reply, sizeof(reply), "echo:%s", buf);
  PT_OK(pt_send_str(p, reply));
  pt_child_finish(p);
  return 0;
}

/* Embedder mode: no I/O thread, so everything happens in cmojo_process(),
 * called when cmojo_get_fd() polls readable. Echoes until "quit". */
static bool embedded_pump(void) {
  struct pollfd p = {cmojo_get_fd(), POLLIN, 0};
  int64_t t = cmojo_get_timeout_us();
  int ms = t < 0 || t > 100000 ? 100 : (int)(t / 1000);
  if (poll(&p, 1, ms) < 0 && errno != EINTR)
    return false;
  return cmojo_process() == MOJO_RESULT_OK;
}

static int child_embedded(int argc, char **argv) {
  PT_OK(cmojo_initialize_embedded(NULL));
  PT_EQ(MojoInitialize(NULL), MOJO_RESULT_FAILED_PRECONDITION);
  PT_CHECK(cmojo_get_fd() >= 0);
  struct MojoPlatformHandle ph = {sizeof(ph), 0, 0};
  PT_OK(cmojo_endpoint_from_command_line(argc, argv, &ph));
  struct MojoInvitationTransportEndpoint t = {sizeof(t), CHANNEL, 1, &ph};
  MojoHandle inv;
  PT_OK(MojoAcceptInvitation(&t, NULL, &inv));
  MojoHandle e = pt_child_extract(inv, "e", 1);
  PT_OK(MojoClose(inv));
  int64_t deadline = pt_now_ms() + PT_TIMEOUT_MS;
  for (bool quit = false; !quit;) {
    PT_CHECK(pt_now_ms() < deadline);
    MojoMessageHandle m;
    MojoResult rv = MojoReadMessage(e, NULL, &m);
    if (rv == MOJO_RESULT_SHOULD_WAIT) {
      PT_CHECK(embedded_pump());
      continue;
    }
    PT_OK(rv);
    char *data, reply[160];
    uint32_t n;
    PT_OK(MojoGetMessageData(m, NULL, (void **)&data, &n, NULL, NULL));
    quit = n == 4 && memcmp(data, "quit", 4) == 0;
    snprintf(reply, sizeof(reply), "echo:%.*s", (int)n, data);
    PT_OK(MojoDestroyMessage(m));
    if (!quit)
      PT_OK(pt_send_str(e, reply));
  }
  while (!(pt_signals(e) & MOJO_HANDLE_SIGNAL_PEER_CLOSED)) {
    PT_CHECK(pt_now_ms() < deadline);
    PT_CHECK(embedded_pump());
  }
  return 0;
}

static const pt_role kRoles[] = {
    {"basic", child_basic},
    {"isolated", child_isolated},
    {"connect", child_connect},
    {"embedded", child_embedded},
};

/* ------------------------------------------------------------- the tests */

static void expect_disconnected_only(uintptr_t ctx) {
  pt_error e;
  assert_true(pt_errors_wait(ctx, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED,
                             MOJO_PROCESS_ERROR_FLAG_DISCONNECTED, PT_TIMEOUT_MS, &e));
  assert_int_equal(pt_errors_count(ctx, ~0u, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED), 1);
  assert_int_equal(pt_errors_count(ctx, MOJO_PROCESS_ERROR_FLAG_DISCONNECTED, 0), 0);
}

static void test_two_pipes_both_ways(void **state) {
  (void)state;
  const char *names[] = {"a", "b"};
  MojoHandle p[2];
  uintptr_t ctx = pt_new_context();
  int64_t pid = pt_spawn("basic", NULL, names, 2, p, pt_error_handler, ctx);
  /* The first message: its text, and the process it came from. */
  MojoMessageHandle m;
  assert_int_equal(pt_recv_message(p[0], PT_TIMEOUT_MS, &m), MOJO_RESULT_OK);
  struct cmojo_peer_credentials cr = {.struct_size = sizeof(cr)};
  assert_int_equal(cmojo_get_message_sender(m, &cr), MOJO_RESULT_OK);
  assert_int_equal(cr.pid, pid);
  assert_int_equal(cr.uid, getuid());
  assert_int_equal(MojoDestroyMessage(m), MOJO_RESULT_OK);
  pt_expect_str(p[1], "child:b");
  assert_int_equal(pt_wait_for(p[0], MOJO_HANDLE_SIGNAL_PEER_REMOTE), MOJO_RESULT_OK);
  char text[64];
  for (int i = 0; i < ROUNDS; i++) {
    for (int k = 0; k < 2; k++) {
      snprintf(text, sizeof(text), "p:%c:%d", "ab"[k], i);
      assert_int_equal(pt_send_str(p[k], text), MOJO_RESULT_OK);
    }
  }
  assert_int_equal(pt_send_str(p[0], "who"), MOJO_RESULT_OK);
  for (int i = 0; i < ROUNDS; i++) {
    for (int k = 0; k < 2; k++) {
      snprintf(text, sizeof(text), "c:%c:%d", "ab"[k], i);
      pt_expect_str(p[k], text);
    }
  }
  assert_int_equal(MojoClose(p[0]), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(p[1]), MOJO_RESULT_OK);
  pt_reap(pid, 0);
  expect_disconnected_only(ctx);
}

/* A message written in this process has no sender process. */
static void test_message_sender_local(void **state) {
  (void)state;
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(pt_send_str(a, "local"), MOJO_RESULT_OK);
  MojoMessageHandle m;
  assert_int_equal(pt_recv_message(b, PT_TIMEOUT_MS, &m), MOJO_RESULT_OK);
  struct cmojo_peer_credentials cr = {.struct_size = sizeof(cr)};
  assert_int_equal(cmojo_get_message_sender(m, &cr), MOJO_RESULT_NOT_FOUND);
  assert_int_equal(cmojo_get_message_sender(m, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  cr.struct_size = 4;
  assert_int_equal(cmojo_get_message_sender(m, &cr), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoDestroyMessage(m), MOJO_RESULT_OK);
  cr.struct_size = sizeof(cr);
  assert_int_equal(cmojo_get_message_sender(MOJO_MESSAGE_HANDLE_INVALID, &cr),
                   MOJO_RESULT_INVALID_ARGUMENT);
  MojoClose(a);
  MojoClose(b);
}

static void test_create_attach_extract_errors(void **state) {
  (void)state;
  MojoHandle inv, h, h2, mp0, mp1;
  struct MojoCreateInvitationOptions bad = {4, 0};
  assert_int_equal(MojoCreateInvitation(NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoCreateInvitation(&bad, &inv), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoCreateInvitation(NULL, &inv), MOJO_RESULT_OK);
  assert_int_equal(MojoCreateMessagePipe(NULL, &mp0, &mp1), MOJO_RESULT_OK);
  /* Attach: wrong handle type, NULL output, NULL name with a length, too long. */
  assert_int_equal(MojoAttachMessagePipeToInvitation(mp0, "a", 1, NULL, &h),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoAttachMessagePipeToInvitation(inv, "a", 1, NULL, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoAttachMessagePipeToInvitation(inv, NULL, 3, NULL, &h),
                   MOJO_RESULT_INVALID_ARGUMENT);
  char *longname = calloc(1, 4097);
  assert_int_equal(MojoAttachMessagePipeToInvitation(inv, longname, 4097, NULL, &h),
                   MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoAttachMessagePipeToInvitationOptions abad = {4, 0};
  assert_int_equal(MojoAttachMessagePipeToInvitation(inv, "a", 1, &abad, &h),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoAttachMessagePipeToInvitation(inv, longname, 4096, NULL, &h2),
                   MOJO_RESULT_OK);
  assert_int_equal(MojoClose(h2), MOJO_RESULT_OK);
  free(longname);
  assert_int_equal(MojoAttachMessagePipeToInvitation(inv, "a", 1, NULL, &h), MOJO_RESULT_OK);
  assert_int_equal(MojoAttachMessagePipeToInvitation(inv, "a", 1, NULL, &h2),
                   MOJO_RESULT_ALREADY_EXISTS);
  assert_int_equal(MojoAttachMessagePipeToInvitation(inv, NULL, 0, NULL, &h2), MOJO_RESULT_OK);
  /* Extract from an unsent invitation: errors, then the attached end back. */
  assert_int_equal(MojoExtractMessagePipeFromInvitation(mp0, "a", 1, NULL, &h2),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoExtractMessagePipeFromInvitation(inv, "a", 1, NULL, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoExtractMessagePipeFromInvitation(inv, NULL, 2, NULL, &h2),
                   MOJO_RESULT_INVALID_ARGUMENT);
  MojoHandle e;
  assert_int_equal(MojoExtractMessagePipeFromInvitation(inv, "zz", 2, NULL, &e),
                   MOJO_RESULT_NOT_FOUND);
  assert_int_equal(MojoExtractMessagePipeFromInvitation(inv, "a", 1, NULL, &e), MOJO_RESULT_OK);
  assert_int_equal(MojoExtractMessagePipeFromInvitation(inv, "a", 1, NULL, &h2),
                   MOJO_RESULT_NOT_FOUND);
  assert_int_equal(pt_send_str(h, "detached"), MOJO_RESULT_OK);
  pt_expect_str(e, "detached");
  /* Closing an unsent invitation closes what is attached: the empty-named
   * pipe's local end sees its peer go. */
  assert_int_equal(MojoClose(inv), MOJO_RESULT_OK);
  pt_expect_peer_closed(h2);
  MojoHandle all[] = {h, h2, e, mp0, mp1};
  for (size_t i = 0; i < 5; i++)
    assert_int_equal(MojoClose(all[i]), MOJO_RESULT_OK);
}

/* Every refused MojoSendInvitation leaves fd and invitation to the caller. */
static void expect_send_refused(MojoHandle inv, const struct MojoPlatformProcessHandle *proc,
                                const struct MojoInvitationTransportEndpoint *t,
                                const struct MojoSendInvitationOptions *o, MojoResult want,
                                int fd) {
  assert_int_equal(MojoSendInvitation(inv, proc, t, NULL, 0, o), want);
  assert_int_not_equal(fcntl(fd, F_GETFD), -1);
}

static void test_send_errors(void **state) {
  (void)state;
  int sv[2], pfd[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
  struct MojoPlatformHandle ph[2] = {{sizeof(ph[0]), FD_TYPE, (uint64_t)sv[0]},
                                     {sizeof(ph[0]), FD_TYPE, (uint64_t)sv[0]}};
  struct MojoPlatformHandle piph = {sizeof(piph), FD_TYPE, (uint64_t)pfd[0]};
  struct MojoPlatformProcessHandle proc = {sizeof(proc), 0}, badproc = {4, 0};
  struct MojoInvitationTransportEndpoint t = {sizeof(t), CHANNEL, 1, ph}, x;
  MojoHandle inv, h, mp0, mp1;
  assert_int_equal(MojoCreateMessagePipe(NULL, &mp0, &mp1), MOJO_RESULT_OK);
  assert_int_equal(MojoCreateInvitation(NULL, &inv), MOJO_RESULT_OK);
  expect_send_refused(inv, &proc, &t, NULL, MOJO_RESULT_FAILED_PRECONDITION, sv[0]);
  assert_int_equal(MojoAttachMessagePipeToInvitation(inv, "a", 1, NULL, &h), MOJO_RESULT_OK);
  expect_send_refused(mp0, &proc, &t, NULL, MOJO_RESULT_INVALID_ARGUMENT, sv[0]);
  expect_send_refused(inv, &proc, NULL, NULL, MOJO_RESULT_INVALID_ARGUMENT, sv[0]);
  expect_send_refused(inv, &badproc, &t, NULL, MOJO_RESULT_INVALID_ARGUMENT, sv[0]);
  x = t, x.struct_size = 4;
  expect_send_refused(inv, &proc, &x, NULL, MOJO_RESULT_INVALID_ARGUMENT, sv[0]);
  x = t, x.num_platform_handles = 0;
  expect_send_refused(inv, &proc, &x, NULL, MOJO_RESULT_INVALID_ARGUMENT, sv[0]);
  x = t, x.num_platform_handles = 2;
  expect_send_refused(inv, &proc, &x, NULL, MOJO_RESULT_INVALID_ARGUMENT, sv[0]);
  x = t, x.platform_handles = &piph; /* a pipe, not a socket */
  expect_send_refused(inv, &proc, &x, NULL, MOJO_RESULT_INVALID_ARGUMENT, pfd[0]);
  x = t, x.type = MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL_SERVER; /* not listening */
  expect_send_refused(inv, &proc, &x, NULL, MOJO_RESULT_INVALID_ARGUMENT, sv[0]);
  x = t, x.type = 99;
  expect_send_refused(inv, &proc, &x, NULL, MOJO_RESULT_UNIMPLEMENTED, sv[0]);
  struct MojoSendInvitationOptions obad = {4, 0, NULL, 0};
  struct MojoSendInvitationOptions oiso = {sizeof(oiso), MOJO_SEND_INVITATION_FLAG_ISOLATED, NULL,
                                           0};
  expect_send_refused(inv, &proc, &t, &obad, MOJO_RESULT_INVALID_ARGUMENT, sv[0]);
  expect_send_refused(inv, &proc, &t, &oiso, MOJO_RESULT_INVALID_ARGUMENT, sv[0]);
  /* Still an unsent invitation: sent now, nobody accepts it, the
   * connection ends, so the attached pipe sees PEER_CLOSED. */
  uintptr_t ctx = pt_new_context();
  assert_int_equal(MojoSendInvitation(inv, &proc, &t, pt_error_handler, ctx, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(inv), MOJO_RESULT_INVALID_ARGUMENT);
  close(sv[1]);
  pt_expect_peer_closed(h);
  expect_disconnected_only(ctx);
  MojoHandle all[] = {h, mp0, mp1};
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(MojoClose(all[i]), MOJO_RESULT_OK);
  close(pfd[0]);
  close(pfd[1]);
}

static void test_accept_errors(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  struct MojoPlatformHandle ph = {sizeof(ph), FD_TYPE, (uint64_t)sv[0]};
  struct MojoInvitationTransportEndpoint t = {sizeof(t), CHANNEL, 1, &ph}, x;
  struct MojoAcceptInvitationOptions obad = {4, 0};
  MojoHandle inv;
  assert_int_equal(MojoAcceptInvitation(NULL, NULL, &inv), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoAcceptInvitation(&t, NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoAcceptInvitation(&t, &obad, &inv), MOJO_RESULT_INVALID_ARGUMENT);
  x = t, x.num_platform_handles = 0;
  assert_int_equal(MojoAcceptInvitation(&x, NULL, &inv), MOJO_RESULT_INVALID_ARGUMENT);
  x = t, x.type = 99;
  assert_int_equal(MojoAcceptInvitation(&x, NULL, &inv), MOJO_RESULT_UNIMPLEMENTED);
  /* This process is the broker: it cannot join another graph. */
  assert_int_equal(MojoAcceptInvitation(&t, NULL, &inv), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_not_equal(fcntl(sv[0], F_GETFD), -1);
  close(sv[0]);
  close(sv[1]);
}

static void default_handler_a(const struct MojoProcessErrorDetails *d) {
  (void)d;
}
static void default_handler_b(const struct MojoProcessErrorDetails *d) {
  (void)d;
}

static void test_default_process_error_handler(void **state) {
  (void)state;
  struct MojoSetDefaultProcessErrorHandlerOptions bad = {4, 0};
  assert_int_equal(MojoSetDefaultProcessErrorHandler(NULL, &bad), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoSetDefaultProcessErrorHandler(default_handler_a, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoSetDefaultProcessErrorHandler(default_handler_b, NULL),
                   MOJO_RESULT_ALREADY_EXISTS);
  assert_int_equal(MojoSetDefaultProcessErrorHandler(default_handler_a, NULL),
                   MOJO_RESULT_ALREADY_EXISTS);
  assert_int_equal(MojoSetDefaultProcessErrorHandler(NULL, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoSetDefaultProcessErrorHandler(NULL, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoSetDefaultProcessErrorHandler(default_handler_b, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoSetDefaultProcessErrorHandler(NULL, NULL), MOJO_RESULT_OK);
}

static void test_isolated(void **state) {
  (void)state;
  struct MojoPlatformHandle ep;
  int64_t pid = pt_launch("isolated", NULL, &ep);
  MojoHandle inv, p, extra;
  assert_int_equal(MojoCreateInvitation(NULL, &inv), MOJO_RESULT_OK);
  assert_int_equal(MojoAttachMessagePipeToInvitation(inv, kIsolatedName, 4, NULL, &p),
                   MOJO_RESULT_OK);
  assert_int_equal(MojoAttachMessagePipeToInvitation(inv, "x", 1, NULL, &extra), MOJO_RESULT_OK);
  struct MojoPlatformProcessHandle proc = {sizeof(proc), (uint64_t)pid};
  struct MojoInvitationTransportEndpoint t = {sizeof(t), CHANNEL, 1, &ep};
  struct MojoSendInvitationOptions o = {sizeof(o), MOJO_SEND_INVITATION_FLAG_ISOLATED, NULL, 0};
  /* Two pipes: refused. With only "\0\0\0\0": sent. */
  uintptr_t ctx = pt_new_context();
  assert_int_equal(MojoSendInvitation(inv, &proc, &t, pt_error_handler, ctx, &o),
                   MOJO_RESULT_INVALID_ARGUMENT);
  MojoHandle extra2;
  assert_int_equal(MojoExtractMessagePipeFromInvitation(inv, "x", 1, NULL, &extra2),
                   MOJO_RESULT_OK);
  assert_int_equal(MojoSendInvitation(inv, &proc, &t, pt_error_handler, ctx, &o), MOJO_RESULT_OK);
  MojoHandle x, y;
  assert_int_equal(MojoCreateMessagePipe(NULL, &x, &y), MOJO_RESULT_OK);
  assert_int_equal(pt_send(p, "ping", 4, &y, 1), MOJO_RESULT_OK);
  pt_expect_str(x, "pong");
  pt_expect_str(p, "done");
  /* PEER_REMOTE is best effort: until the merged route is re-targeted,
   * p's peer is this process's own proxy (the port the merge used). */
  assert_int_equal(pt_wait_for(p, MOJO_HANDLE_SIGNAL_PEER_REMOTE), MOJO_RESULT_OK);
  MojoHandle all[] = {p, x, extra, extra2};
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(MojoClose(all[i]), MOJO_RESULT_OK);
  pt_reap(pid, 0);
  expect_disconnected_only(ctx);
}

static void test_channel_server(void **state) {
  (void)state;
  char dir[] = "/tmp/cmojo-inv-XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/sock", dir);
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(listen(lfd, 4), 0);
  MojoHandle inv, p;
  assert_int_equal(MojoCreateInvitation(NULL, &inv), MOJO_RESULT_OK);
  assert_int_equal(MojoAttachMessagePipeToInvitation(inv, "srv", 3, NULL, &p), MOJO_RESULT_OK);
  struct MojoPlatformHandle ph = {sizeof(ph), FD_TYPE, (uint64_t)lfd};
  struct MojoInvitationTransportEndpoint t = {
      sizeof(t), MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL_SERVER, 1, &ph};
  uintptr_t ctx = pt_new_context();
  assert_int_equal(MojoSendInvitation(inv, NULL, &t, pt_error_handler, ctx, NULL), MOJO_RESULT_OK);
  /* An unrelated process: plain fork + exec, no inherited endpoint. */
  char *argv[] = {(char *)pt_self(), "--child=connect", path, NULL};
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execv(argv[0], argv);
    _exit(127);
  }
  assert_int_equal(pt_send_str(p, "hello server"), MOJO_RESULT_OK);
  pt_expect_str(p, "echo:hello server");
  assert_int_equal(MojoClose(p), MOJO_RESULT_OK);
  pt_reap(pid, 0);
  expect_disconnected_only(ctx);
  unlink(path);
  rmdir(dir);
}

static void test_embedder_mode_child(void **state) {
  (void)state;
  /* This process has an I/O thread: the embedder calls are refused. */
  assert_int_equal(cmojo_get_fd(), -1);
  assert_int_equal(cmojo_process(), MOJO_RESULT_FAILED_PRECONDITION);
  const char *names[] = {"e"};
  MojoHandle e;
  int64_t pid = pt_spawn("embedded", NULL, names, 1, &e, NULL, 0);
  char text[64];
  for (int i = 0; i < 50; i++) {
    snprintf(text, sizeof(text), "m%d", i);
    assert_int_equal(pt_send_str(e, text), MOJO_RESULT_OK);
  }
  for (int i = 0; i < 50; i++) {
    snprintf(text, sizeof(text), "echo:m%d", i);
    pt_expect_str(e, text);
  }
  assert_int_equal(pt_send_str(e, "quit"), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(e), MOJO_RESULT_OK);
  pt_reap(pid, 0);
}

int main(int argc, char **argv) {
  int status;
  if (pt_main(argc, argv, kRoles, sizeof(kRoles) / sizeof(kRoles[0]), &status))
    return status;
  const struct CMUnitTest tests[] = {
      PT_TEST(test_two_pipes_both_ways),
      PT_TEST(test_message_sender_local),
      PT_TEST(test_create_attach_extract_errors),
      PT_TEST(test_send_errors),
      PT_TEST(test_accept_errors),
      PT_TEST(test_default_process_error_handler),
      PT_TEST(test_isolated),
      PT_TEST(test_channel_server),
      PT_TEST(test_embedder_mode_child),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
