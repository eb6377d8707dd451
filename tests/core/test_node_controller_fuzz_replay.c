/* Replays the inputs of fuzz/fuzz_node_controller.c through the fuzz target
 * as an ordinary test: scripted seeds generated here (each checked against
 * what it is built to reach), then every file in
 * fuzz/corpus/node_controller/ (the same seeds, written by this program, and
 * inputs the fuzzer found or that showed a bug). The target itself checks,
 * after every input, that the controller kept no peer, port or fd (it
 * aborts otherwise).
 *
 * Input format: see the comment at the top of the fuzz target. Config byte
 * 0x10 = the controller invites (non-isolated, as the broker) and the
 * attacker does the handshake honestly; 0x11 the controller accepts an
 * isolated invitation; 0x12 it sends an isolated one; 0x13 it invites over a
 * listening socket; +0x04 a second pipe; 0x08 raw mode. Ops used below:
 *   0 settle, 1 HELLO, 2 GOODBYE, 4 ACCEPT_INVITATION, 5 ADD_BROKER_CLIENT,
 *   10 REQUEST_INTRODUCTION, 14 BAD_MESSAGE_REPORT, 17 write on a
 *   controller pipe (pipe, bytes, attachments), 18 read the controller's
 *   pipes (flags: 1 = MojoNotifyBadMessage), 20 write on an attacker port
 *   (port, options: bit 0 carries a new pipe end, bits 4-7 payload bytes),
 *   (bit 2: carries a port whose peer is on an unknown node, named by the
 *   next two name selectors), 21 read the attacker's ports, 23 honest merge
 *   request, 26 another invitation to a new attacker connection, 27 the
 *   attacker stops/resumes reading; an op byte with
 *   0x40 set goes to the attacker's second connection.
 *
 * Every input runs twice: in this process with the controller as the broker,
 * then in a child (this program with --nonbroker) with
 * CMOJO_FUZZ_NC_NONBROKER=1, where the attacker is the controller's inviter
 * and broker.
 *
 * `test_node_controller_fuzz_replay --write-seeds DIR` writes the generated
 * seeds to DIR instead, as a starting corpus for libFuzzer.
 *
 * The fuzz target's source is compiled into this test by inclusion, so the
 * tests' glob is the only build rule needed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../fuzz/fuzz_node_controller.c"
#include "test_support.h"

#define SAVED_DIR CMOJO_SOURCE_DIR "/fuzz/corpus/node_controller"

/* A literal name in a script: selector 0xf0, then v1 and v2. */
#define LIT(v1, v2)                                                                    \
  0xf0, (v1)&0xff, ((v1) >> 8) & 0xff, 0, 0, 0, 0, 0, 0, (v2)&0xff, 0, 0, 0, 0, 0, 0, 0
#define CLIENT LIT(0xc11e, 1)

/* What a seed must reach. */
enum { EXPECT_NOTHING = 0, EXPECT_EVENTS = 1, EXPECT_BOTH_WAYS = 2 };

typedef struct seed {
  const char *name;
  uint8_t bytes[96];
  size_t size;
  int expect;
} seed;

#define SEED(name, expect, ...)                                                   \
  {name, {__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__}), expect}

static const seed kSeeds[] = {
    /* Handshake, merge, one message each way. */
    SEED("active_inviter_event", EXPECT_BOTH_WAYS, 0x10, 17, 0, 8, 0, 21, 20, 1, 0x40, 18, 0),
    SEED("active_inviter_two_pipes", EXPECT_BOTH_WAYS, 0x14, 17, 0, 8, 0, 17, 1, 3, 0, 21, 20, 1,
         0x40, 20, 3, 0x30, 18, 0),
    SEED("active_invitee_event", EXPECT_BOTH_WAYS, 0x11, 17, 0, 8, 0, 21, 20, 0, 0x40, 18, 0),
    SEED("active_isolated_event", EXPECT_BOTH_WAYS, 0x12, 17, 0, 8, 0, 21, 20, 1, 0x40, 18, 0),
    SEED("active_listener_event", EXPECT_BOTH_WAYS, 0x13, 17, 0, 8, 0, 21, 20, 1, 0x40, 18, 0),
    /* The handshake by hand: HELLO, ACCEPT_INVITATION(token = pool[2],
     * name = pool[0], the attacker), then an honest merge request. */
    SEED("active_manual_handshake", EXPECT_BOTH_WAYS, 0x00, 1, 0x11, 0, 0, 0, 0, 4, 2, 0, 0, 0,
         23, 0, 17, 0, 8, 0, 21, 20, 1, 0x40, 18, 0),
    /* The attacker's message carries a new pipe end; the controller's
     * carries a wrapped fd. */
    SEED("active_carry_port", EXPECT_BOTH_WAYS, 0x10, 20, 1, 0x41, 18, 0, 17, 0, 3, 0x42, 21,
         18, 0),
    /* The broker's side: a client (ADD_BROKER_CLIENT, HELLO on the channel
     * it gets), an introduction to it, a bad-message report about it. */
    SEED("broker_client_intro_report", EXPECT_EVENTS, 0x10, 5, CLIENT, 7, 0, 0, 0x41, 0x11, 0,
         0, 0, 0, 10, CLIENT, 0, 0, 14, CLIENT, 0, 3, 'b', 'a', 'd', 0, 0, 17, 0, 4, 0x84, 21,
         18, 1),
    SEED("goodbye_active", EXPECT_EVENTS, 0x10, 17, 0, 8, 0, 21, 2, 0, 4, 'b', 'y', 'e', '!', 0),
    /* A name the inviter never attached: the honest inviter merges a fresh
     * port and closes it. */
    SEED("invitee_two_names", EXPECT_BOTH_WAYS, 0x15, 17, 0, 8, 0, 17, 1, 8, 0, 21, 20, 0, 0x40,
         18, 0),
    /* Raw mode: a chunk of 48 bytes without fds (one valid HELLO frame),
     * then a chunk of 8 bytes of garbage. */
    /* Non-broker mode (CMOJO_FUZZ_NC_NONBROKER=1; in the broker mode the
     * controller accepts isolated instead): the attacker invites the
     * controller and is its broker (ACCEPT_BROKER_CLIENT without a channel,
     * part of the honest handshake there; config bit 5 leaves it out), then
     * the controller invites the attacker's second connection (op 26),
     * which answers with pool[8] (the token it got) and pool[7] (its
     * name); the controller, no broker, asks the broker (ADD_BROKER_CLIENT)
     * and gets BROKER_CLIENT_ADDED with a channel from the attacker (op 6,
     * fd code 5: a socketpair whose other end the attacker keeps). */
    SEED("nb_active_event", EXPECT_BOTH_WAYS, 0x11, 17, 0, 8, 0, 21, 20, 0, 0x40, 18, 0),
    SEED("nb_no_broker_event", EXPECT_BOTH_WAYS, 0x31, 17, 0, 8, 0, 21, 20, 0, 0x40, 18, 0),
    SEED("nb_send_invitation", EXPECT_EVENTS, 0x11, 26, 0, 0x41, 0x11, 0, 0, 0, 0x44, 8, 7, 0, 6,
         7, 10, 0, 17, 1, 8, 0, 18, 0),
    SEED("nb_send_invitation_isolated", EXPECT_EVENTS, 0x11, 26, 1, 0x41, 0x11, 0, 0, 0, 0x44, 8,
         7, 0, 17, 1, 8, 0, 18, 0),
    /* The attacker's message carries a port whose peer is on a node the
     * controller never heard of (op 20, option 4; names 0xff: the default
     * node and port); reading it closes that pipe end, which sends events
     * to that node: the broker reports it lost; a non-broker waits for
     * an introduction, and (0x31) when its inviter goes before naming the
     * broker, the record must go too (the harness checks no peer is left). */
    SEED("third_node", EXPECT_EVENTS, 0x10, 20, 1, 0x04, 0xff, 0xff, 18, 0),
    SEED("nb_third_node", EXPECT_EVENTS, 0x11, 20, 0, 0x04, 0xff, 0xff, 18, 0),
    SEED("nb_third_node_no_broker", EXPECT_EVENTS, 0x31, 20, 0, 0x04, 0xff, 0xff, 18, 0),
    /* A message with a context and no serializer: the controller sends a
     * stand-in the attacker reads. */
    SEED("context_message", EXPECT_EVENTS, 0x10, 17, 0, 8, 0x3c, 21, 18, 0),
    /* Large messages (1 MiB with a pipe end, 576 KiB with two handles),
     * more than the socket takes at once: written while the attacker
     * reads, and while it does not (op 27 stops and resumes its reading,
     * so the controller queues). */
    SEED("large_messages", EXPECT_BOTH_WAYS, 0x10, 17, 0, 0xff, 0x40, 17, 0, 0xf8, 0x80, 21, 20,
         1, 0x40, 18, 0),
    SEED("large_messages_stalled", EXPECT_BOTH_WAYS, 0x10, 27, 17, 0, 0xff, 0x40, 17, 0, 0xf8,
         0x80, 27, 21, 20, 1, 0x40, 18, 0),
    SEED("raw_hello", EXPECT_NOTHING, 8, 48, 0, 48, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
         1, 0, 0, 0, 16, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
         0, 0, 0, 8, 0, 1, 1, 1, 1, 1, 1, 1, 1),
};

#define NUM_SEEDS (sizeof(kSeeds) / sizeof(kSeeds[0]))

static void check_seed(const seed *s, const fuzz_nc_stats *before) {
  /* The nb_ seeds are made for the non-broker mode, the others for the
   * broker: each is checked in its own mode only (both run in both). */
  if ((strncmp(s->name, "nb_", 3) == 0) != nonbroker)
    return;
  const fuzz_nc_stats *a = &fuzz_nc_stats_;
  size_t events = a->events_from_controller - before->events_from_controller;
  size_t theirs = a->attacker_user_messages - before->attacker_user_messages;
  size_t ours = a->controller_user_messages - before->controller_user_messages;
  size_t frames = a->frames_from_controller - before->frames_from_controller;
  if (frames == 0)
    fail_msg("seed %s: the controller sent nothing", s->name);
  if (s->expect >= EXPECT_EVENTS && events == 0)
    fail_msg("seed %s: no EVENT from the controller", s->name);
  if (s->expect >= EXPECT_BOTH_WAYS && (theirs == 0 || ours == 0))
    fail_msg("seed %s: messages read: %zu by the attacker, %zu by the controller's pipes",
             s->name, theirs, ours);
}

static void test_replay_generated(void **state) {
  (void)state;
  for (size_t i = 0; i < NUM_SEEDS; i++) {
    fuzz_nc_stats before = fuzz_nc_stats_;
    assert_int_equal(LLVMFuzzerTestOneInput(kSeeds[i].bytes, kSeeds[i].size), 0);
    check_seed(&kSeeds[i], &before);
    /* The same input again behaves the same (names are deterministic, and
     * nothing of the last input is left in the controller). */
    fuzz_nc_stats after = fuzz_nc_stats_;
    assert_int_equal(LLVMFuzzerTestOneInput(kSeeds[i].bytes, kSeeds[i].size), 0);
    assert_int_equal(fuzz_nc_stats_.frames_from_controller - after.frames_from_controller,
                     after.frames_from_controller - before.frames_from_controller);
  }
  print_message("replayed %zu generated seeds\n", NUM_SEEDS);
}

static void run_one(const char *name, const uint8_t *data, size_t size, void *ctx) {
  (void)name;
  (void)ctx;
  assert_int_equal(LLVMFuzzerTestOneInput(data, size), 0);
}

static void test_replay_saved(void **state) {
  (void)state;
  size_t count = cm_test_replay_dir(SAVED_DIR, run_one, NULL);
  print_message("replayed %zu saved inputs\n", count);
  assert_true(count >= NUM_SEEDS);
}

/* The same in the non-broker mode, which is chosen once per process: this
 * program again, with CMOJO_FUZZ_NC_NONBROKER=1 (bounded: killed after
 * 60 s). */
static void test_replay_nonbroker(void **state) {
  (void)state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setenv("CMOJO_FUZZ_NC_NONBROKER", "1", 1);
    execl("/proc/self/exe", "test_node_controller_fuzz_replay", "--nonbroker", (char *)NULL);
    _exit(127);
  }
  int status = 0;
  for (int i = 0; i < 6000; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      break;
    if (i == 5999) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      fail_msg("the non-broker replay did not finish in 60 s");
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--write-seeds")) {
    for (size_t i = 0; i < NUM_SEEDS; i++)
      cm_test_write_file(argv[2], kSeeds[i].name, kSeeds[i].bytes, kSeeds[i].size);
    printf("wrote the generated seeds to %s\n", argv[2]);
    return 0;
  }
  if (argc == 2 && !strcmp(argv[1], "--nonbroker")) {
    /* The child of test_replay_nonbroker (the environment chose the mode). */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_generated),
        cmocka_unit_test(test_replay_saved),
    };
    return cmocka_run_group_tests_name("nonbroker", tests, NULL, NULL);
  }
  unsetenv("CMOJO_FUZZ_NC_NONBROKER");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_replay_generated),
      cmocka_unit_test(test_replay_saved),
      cmocka_unit_test(test_replay_nonbroker),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
