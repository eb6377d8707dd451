/* Replays the inputs of fuzz/fuzz_message_deserialize.c as an ordinary test:
 * seeds generated here from real messages (every kind of handle, alone and
 * together), each of which must parse, then the inputs kept in
 * fuzz/corpus/message_deserialize/ (the same seeds, written by this
 * program, and any reproducer the fuzzer found), which must merely not
 * crash or leak.
 *
 * `test_message_serialize_fuzz_replay --write-seeds DIR` writes the
 * generated seeds to DIR instead, as a starting corpus for libFuzzer.
 *
 * The fuzz target's source is compiled into this test by inclusion, so no
 * build rule is needed beyond the tests' glob. */
#include <stdio.h>
#include <string.h>

#include "../../fuzz/fuzz_message_deserialize.c"
#include "core/core.h"
#include "mojo/public/c/system/core.h"
#include "test_support.h"

#define SAVED_DIR CMOJO_SOURCE_DIR "/fuzz/corpus/message_deserialize"
#define P MOJO_RESULT_OK

typedef cm_test_input_fn seed_fn;

static const struct MojoAppendMessageDataOptions commit_options = {
    sizeof(commit_options), MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};

/* Serializes a message carrying `handles` as the fuzz input that describes
 * it (kinds: the fuzz target's handle kinds, in the order the message's OS
 * handles go), hands it to fn, and cleans up the sending side. */
static void emit(seed_fn fn, void *ctx, const char *name, const uint8_t *kinds, size_t num_kinds,
                 const MojoHandle *handles, uint32_t num_handles) {
  MojoMessageHandle h;
  void *buf;
  assert_int_equal(MojoCreateMessage(NULL, &h), P);
  assert_int_equal(MojoAppendMessageData(h, 5, handles, num_handles, &commit_options, &buf, NULL),
                   P);
  memcpy(buf, "seed!", 5);
  cm_message *m = cm_message_from_handle(h);
  size_t num_ports = cm_message_num_ports(m);
  cm_port_name ports[8];
  assert_true(num_ports <= 8);
  cm_message_get_ports(m, ports);
  cm_serialized_message w = {0};
  assert_int_equal(cm_message_serialize_for_transport(m, ports, num_ports, 0, &w), P);
  cm_message_destroy(m);

  size_t size = 2 + num_kinds + w.num_bytes;
  uint8_t *seed = malloc(size);
  assert_non_null(seed);
  seed[0] = (uint8_t)num_kinds;
  seed[1] = (uint8_t)num_ports;
  if (num_kinds)
    memcpy(seed + 2, kinds, num_kinds);
  memcpy(seed + 2 + num_kinds, w.bytes, w.num_bytes);
  fn(name, seed, size, ctx);
  free(seed);
  cm_serialized_message_free(&w);
  /* The ports the message carried are nobody's now. */
  for (size_t i = 0; i < num_ports; i++) {
    cm_port_ref ref;
    assert_int_equal(cm_node_get_port(cm_core_node(), &ports[i], &ref), P);
    cm_node_close_port(cm_core_node(), &ref);
    cm_port_ref_release(&ref);
  }
}

static MojoHandle wrapped_dev_null(void) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  struct MojoPlatformHandle ph = {sizeof(ph), MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR,
                                  (uint64_t)fd};
  MojoHandle h;
  assert_int_equal(MojoWrapPlatformHandle(&ph, NULL, &h), P);
  return h;
}

static void generate(seed_fn fn, void *ctx) {
  static const uint8_t k_ring[] = {1}, k_writable[] = {0}, k_read_only[] = {2}, k_fd[] = {3},
                       k_all[] = {1, 0, 3};
  MojoHandle a, b, p, c, buf, ro;
  struct MojoCreateDataPipeOptions dpo = {sizeof(dpo), 0, 4, 256};

  emit(fn, ctx, "empty", NULL, 0, NULL, 0);

  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), P);
  emit(fn, ctx, "pipe", NULL, 0, &a, 1);
  MojoClose(b);

  assert_int_equal(MojoCreateDataPipe(&dpo, &p, &c), P);
  uint32_t n = 40;
  assert_int_equal(MojoWriteData(p, "0123456789012345678901234567890123456789", &n, NULL), P);
  emit(fn, ctx, "data_pipe_consumer", k_ring, 1, &c, 1);
  emit(fn, ctx, "data_pipe_producer", k_ring, 1, &p, 1);

  assert_int_equal(MojoCreateSharedBuffer(4096, NULL, &buf), P);
  emit(fn, ctx, "buffer_writable", k_writable, 1, &buf, 1);

  assert_int_equal(MojoCreateSharedBuffer(4096, NULL, &buf), P);
  struct MojoDuplicateBufferHandleOptions o = {sizeof(o),
                                               MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_READ_ONLY};
  assert_int_equal(MojoDuplicateBufferHandle(buf, &o, &ro), P);
  MojoClose(buf);
  emit(fn, ctx, "buffer_read_only", k_read_only, 1, &ro, 1);

  MojoHandle fd = wrapped_dev_null();
  emit(fn, ctx, "platform_handle", k_fd, 1, &fd, 1);

  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), P);
  assert_int_equal(MojoCreateDataPipe(&dpo, &p, &c), P);
  assert_int_equal(MojoCreateSharedBuffer(4096, NULL, &buf), P);
  MojoHandle all[4] = {a, c, buf, wrapped_dev_null()};
  emit(fn, ctx, "all_kinds", k_all, 3, all, 4);
  MojoClose(b);
  MojoClose(p);
}

static void run_seed(const char *name, const uint8_t *data, size_t size, void *ctx) {
  MojoResult rv = cm_fuzz_message_deserialize(data, size);
  if (rv != MOJO_RESULT_OK)
    fail_msg("seed %s: result %u", name, (unsigned)rv);
  (*(size_t *)ctx)++;
}

static void test_generated_seeds(void **state) {
  (void)state;
  size_t count = 0;
  generate(run_seed, &count);
  print_message("%zu generated seeds\n", count);
  assert_int_equal(count, 8);
}

static void run_saved(const char *name, const uint8_t *data, size_t size, void *ctx) {
  (void)name, (void)ctx;
  (void)cm_fuzz_message_deserialize(data, size); /* any result; no crash, no leak */
}

static void test_saved_inputs(void **state) {
  (void)state;
  size_t count = cm_test_replay_dir(SAVED_DIR, run_saved, NULL);
  print_message("%zu saved inputs\n", count);
  assert_true(count >= 8); /* at least the generated seeds */
}

static void write_seed(const char *name, const uint8_t *data, size_t size, void *ctx) {
  cm_test_write_file(ctx, name, data, size);
}

int main(int argc, char **argv) {
  if (MojoInitialize(NULL) != MOJO_RESULT_OK)
    return 1;
  if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) {
    generate(write_seed, argv[2]);
    return 0;
  }
#define T(f) cmocka_unit_test_setup_teardown(f, cm_test_setup_resources, cm_test_teardown_resources)
  const struct CMUnitTest tests[] = {T(test_generated_seeds), T(test_saved_inputs)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
