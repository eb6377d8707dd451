/* Replays the seeds of fuzz/fuzz_wire_validate.c through the fuzz target as
 * an ordinary test: Mojo's validation corpus converted to bytes (with the
 * selector byte its file name implies), plus any inputs kept in
 * fuzz/corpus/wire_validate/ (e.g. minimized crash reproducers).
 *
 * `test_wire_fuzz_replay --write-seeds DIR` writes the converted corpus to
 * DIR instead, as a starting corpus for libFuzzer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_wire.h"
#include "test_support.h"
#include "validation_input.h"

#define CORPUS_DIR CMOJO_SHARED_DIR "/conformance/mojo-validation"
#define SEED_DIR CMOJO_SOURCE_DIR "/fuzz/corpus/wire_validate"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Calls fn(name, input, size, ctx) for each corpus vector as fuzz input
 * (twice for vectors both directions see). Returns the number of inputs. */
static size_t for_each_seed(cm_test_input_fn fn, void *ctx) {
  size_t count, inputs = 0;
  char **names = cm_vinput_list(CORPUS_DIR, ".data", &count);
  assert_non_null(names);
  for (size_t i = 0; i < count; i++) {
    const cm_vector_route *r = cm_vector_route_for(names[i]);
    assert_non_null(r);
    char path[512], err[128];
    size_t len;
    snprintf(path, sizeof(path), "%s/%s.data", CORPUS_DIR, names[i]);
    char *text = cm_vinput_read_file(path, &len);
    assert_non_null(text);
    cm_vinput in;
    assert_int_equal(cm_vinput_parse(text, len, &in, err, sizeof(err)), 0);
    free(text);
    uint8_t *input = malloc(in.num_bytes + 1);
    assert_non_null(input);
    if (in.num_bytes)
      memcpy(input + 1, in.bytes, in.num_bytes);
    for (int dir = 0; dir < 2; dir++) {
      if (dir != (int)r->direction && !r->both)
        continue;
      int sel = cm_fuzz_wire_selector(r->iface, (cmojo_wire_direction)dir, in.num_handles);
      assert_true(sel >= 0);
      input[0] = (uint8_t)sel;
      char name[300];
      snprintf(name, sizeof(name), "%s%s", names[i], dir ? "_r" : "");
      fn(name, input, in.num_bytes + 1, ctx);
      inputs++;
    }
    free(input);
    cm_vinput_free(&in);
    free(names[i]);
  }
  free(names);
  return inputs;
}

static void run_one(const char *name, const uint8_t *data, size_t size, void *ctx) {
  (void)name;
  (void)ctx;
  assert_int_equal(LLVMFuzzerTestOneInput(data, size), 0);
}

static void test_replay_corpus(void **state) {
  (void)state;
  size_t n = for_each_seed(run_one, NULL);
  print_message("replayed %zu corpus inputs\n", n);
  assert_true(n >= 120);
}

static void test_replay_saved(void **state) {
  (void)state;
  if (access(SEED_DIR, F_OK) != 0) {
    print_message("no %s, nothing saved to replay\n", SEED_DIR);
    return;
  }
  size_t count = cm_test_replay_dir(SEED_DIR, run_one, NULL);
  print_message("replayed %zu saved inputs\n", count);
}

static void write_one(const char *name, const uint8_t *data, size_t size, void *ctx) {
  cm_test_write_file(ctx, name, data, size);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--write-seeds")) {
    size_t n = for_each_seed(write_one, argv[2]);
    printf("wrote %zu seeds to %s\n", n, argv[2]);
    return 0;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_replay_corpus),
      cmocka_unit_test(test_replay_saved),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
