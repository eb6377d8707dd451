/* Replays the inputs of fuzz/fuzz_node_message.c through the fuzz target as
 * an ordinary test: one valid message of every type and variant (the samples
 * of node_message_samples.h, plus a newer sender's longer body and header
 * and an older HELLO), generated here, and the inputs kept in
 * fuzz/corpus/node_message/ (the same seeds, written by this program, and
 * minimized reproducers of what the fuzzer finds).
 *
 * An input is the target's format: byte 0 the fd count, then the message.
 *
 * `test_node_message_fuzz_replay --write-seeds DIR` writes the generated
 * seeds to DIR instead, as a starting corpus for libFuzzer.
 *
 * The fuzz target's source is compiled into this test by inclusion, so the
 * tests' glob is the only build rule needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fuzz/fuzz_node_message.c"
#include "node_message_samples.h"
#include "test_support.h"

#define SAVED_DIR CMOJO_SOURCE_DIR "/fuzz/corpus/node_message"

typedef cm_test_input_fn seed_fn;

static void emit(seed_fn fn, void *ctx, const char *name, size_t fds, const uint8_t *msg,
                 size_t n) {
  uint8_t *input = malloc(n + 1);
  if (!input)
    abort();
  input[0] = (uint8_t)fds;
  memcpy(input + 1, msg, n);
  fn(name, input, n + 1, ctx);
  free(input);
}

static void for_each_seed(seed_fn fn, void *ctx) {
  nm_sample s[NM_NUM_SAMPLES];
  nm_samples_build(s);
  for (int i = 0; i < NM_NUM_SAMPLES; i++)
    emit(fn, ctx, s[i].name, s[i].num_fds, s[i].buf.bytes, s[i].buf.size);
  /* A newer sender: 8 more bytes of body and of header. */
  const nm_sample *hello = &s[0];
  uint8_t newer[48];
  memcpy(newer, hello->buf.bytes, 32);
  memset(newer + 32, 0xab, 8);
  newer[8] = 24;
  emit(fn, ctx, "version_newer_body", 0, newer, 40);
  memcpy(newer, hello->buf.bytes, 16);
  memset(newer + 16, 0xcd, 8);
  memcpy(newer + 24, hello->buf.bytes + 16, 16);
  newer[4] = 24;
  emit(fn, ctx, "version_newer_header", 0, newer, 40);
  /* An older sender's HELLO, without capabilities. */
  uint8_t older[24];
  memcpy(older, hello->buf.bytes, 24);
  older[8] = 8;
  emit(fn, ctx, "version_older_hello", 0, older, 24);
  nm_samples_free(s);
}

static void run_one(const char *name, const uint8_t *data, size_t size, void *ctx) {
  size_t *count = ctx;
  if (count) {
    /* A generated seed must be valid, or it teaches the fuzzer little. */
    cm_node_message m;
    cm_node_message_error e = cm_node_message_parse(data + 1, size - 1, data[0], &m);
    if (e != CM_NODE_MESSAGE_OK)
      fail_msg("seed %s does not parse: %s", name, cm_node_message_error_string(e));
    (*count)++;
  }
  assert_int_equal(LLVMFuzzerTestOneInput(data, size), 0);
}

static void test_replay_generated(void **state) {
  (void)state;
  size_t count = 0;
  for_each_seed(run_one, &count);
  print_message("replayed %zu generated seeds\n", count);
  assert_int_equal(count, NM_NUM_SAMPLES + 3);
}

static void test_replay_saved(void **state) {
  (void)state;
  size_t count = cm_test_replay_dir(SAVED_DIR, run_one, NULL);
  print_message("replayed %zu saved inputs\n", count);
  assert_true(count >= NM_NUM_SAMPLES + 3);
}

static void write_one(const char *name, const uint8_t *data, size_t size, void *ctx) {
  cm_test_write_file(ctx, name, data, size);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--write-seeds")) {
    for_each_seed(write_one, argv[2]);
    printf("wrote the generated seeds to %s\n", argv[2]);
    return 0;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_replay_generated),
      cmocka_unit_test(test_replay_saved),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
