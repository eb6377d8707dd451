/* Replays the inputs of fuzz/fuzz_transport_frame.c through the fuzz target
 * as an ordinary test: seeds generated here (valid streams of 1-5 frames with
 * and without fds, cut at frame boundaries and inside frames, the way the
 * transport itself sends 129 and 253 fds, plus hostile streams for the rows
 * of docs/transport.md's error table), each checked against the outcome it
 * is built for, then every file in fuzz/corpus/transport_frame/ (the same
 * seeds, written by this program, and reproducers of what the fuzzer finds).
 *
 * `test_transport_fuzz_replay --write-seeds DIR` writes the generated seeds
 * to DIR instead, as a starting corpus for libFuzzer.
 *
 * The fuzz target's source is compiled into this test by inclusion, so the
 * tests' glob is the only build rule needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fuzz/fuzz_transport_frame.c"
#include "test_support.h"

#define SAVED_DIR CMOJO_SOURCE_DIR "/fuzz/corpus/transport_frame"

/* Fd codes of the input format (see the fuzz target). */
#define FDS(n) ((uint8_t)((n) < 8 ? (n) : 0x80 + (n)-126))

enum { kMaxStream = 80 * 1024 };

/* One seed: a stream, where it is cut, the fds each chunk carries, and the
 * outcome the target must report for it. */
typedef struct seed {
  const char *name;
  uint8_t flags;
  uint8_t stream[kMaxStream];
  size_t len;
  size_t num_chunks;
  size_t cut[kMaxChunks]; /* chunk i starts at cut[i]; cut[0] == 0 */
  uint8_t code[kMaxChunks];
  /* Expected: frames delivered and the error (NULL: shut down, no error). */
  size_t frames;
  MojoResult reason;
  const char *why;
} seed;

static void seed_start(seed *s, const char *name, uint8_t flags) {
  memset(s, 0, sizeof(*s));
  s->name = name;
  s->flags = flags;
  s->num_chunks = 1;
  s->reason = MOJO_RESULT_FAILED_PRECONDITION;
  s->why = "peer closed the connection";
}

/* Appends a frame: a header as docs/transport.md describes it, `payload`
 * bytes of a pattern, zero padding. Returns the frame's offset. */
static size_t add_frame_ex(seed *s, size_t payload, uint16_t header_bytes, uint16_t handles,
                           uint32_t total_override) {
  size_t at = s->len;
  size_t total = header_bytes + payload, wire = (total + 7) & ~(size_t)7;
  assert_true(at + wire <= kMaxStream);
  uint8_t *h = s->stream + at;
  memset(h, 0, wire);
  uint32_t t = total_override ? total_override : (uint32_t)total;
  h[0] = (uint8_t)t, h[1] = (uint8_t)(t >> 8), h[2] = (uint8_t)(t >> 16), h[3] = (uint8_t)(t >> 24);
  h[4] = (uint8_t)header_bytes, h[5] = (uint8_t)(header_bytes >> 8);
  h[6] = (uint8_t)handles, h[7] = (uint8_t)(handles >> 8);
  h[8] = 1;
  for (size_t i = 0; i < payload; i++)
    h[header_bytes + i] = (uint8_t)(at + i * 13 + 1);
  s->len = at + wire;
  return at;
}

static size_t add_frame(seed *s, size_t payload, uint16_t handles) {
  return add_frame_ex(s, payload, 16, handles, 0);
}

/* Starts a new chunk at stream offset `at`, carrying `code`'s fds. */
static void cut_at(seed *s, size_t at, uint8_t code) {
  if (at == 0) {
    s->code[0] = code;
    return;
  }
  assert_true(s->num_chunks < kMaxChunks);
  assert_true(at > s->cut[s->num_chunks - 1]);
  s->cut[s->num_chunks] = at;
  s->code[s->num_chunks++] = code;
}

static void expect(seed *s, size_t frames, MojoResult reason, const char *why) {
  s->frames = frames;
  s->reason = reason;
  s->why = why;
}

/* The input in the target's format. Returns its size. */
static size_t seed_encode(const seed *s, uint8_t *out) {
  size_t n = 0;
  out[n++] = (uint8_t)(s->flags | (s->num_chunks - 1));
  for (size_t i = 0; i + 1 < s->num_chunks; i++) {
    size_t len = s->cut[i + 1] - s->cut[i];
    assert_true(len <= 0xffff);
    out[n++] = (uint8_t)len;
    out[n++] = (uint8_t)(len >> 8);
    out[n++] = s->code[i];
  }
  out[n++] = s->code[s->num_chunks - 1];
  memcpy(out + n, s->stream, s->len);
  return n + s->len;
}

typedef void (*seed_fn)(const seed *s, void *ctx);

/* Valid streams. */
static void valid_seeds(seed *s, seed_fn fn, void *ctx) {
  seed_start(s, "valid_one_frame", 0);
  add_frame(s, 5, 0);
  expect(s, 1, MOJO_RESULT_FAILED_PRECONDITION, "peer closed the connection");
  fn(s, ctx);

  seed_start(s, "valid_empty_frame", 0);
  add_frame(s, 0, 0);
  s->frames = 1;
  fn(s, ctx);

  seed_start(s, "valid_one_frame_one_fd", 0);
  add_frame(s, 12, 1);
  cut_at(s, 0, FDS(1));
  s->frames = 1;
  fn(s, ctx);

  /* Three frames, one chunk each, the middle one with 2 fds. */
  for (int each = 0; each < 2; each++) {
    seed_start(s, each ? "valid_three_frames_read_each" : "valid_three_frames",
               each ? kFlagReadEachChunk : 0);
    add_frame(s, 3, 0);
    cut_at(s, add_frame(s, 24, 2), FDS(2));
    cut_at(s, add_frame(s, 1, 0), 0);
    s->frames = 3;
    fn(s, ctx);
  }

  /* Five frames of 0, 1, 7, 8 and 100 bytes with 0, 1, 0, 3, 0 fds, cut
   * inside headers and payloads; fds ride on the first chunk of their
   * frame. */
  for (int each = 0; each < 2; each++) {
    seed_start(s, each ? "valid_five_frames_split_read_each" : "valid_five_frames_split",
               each ? kFlagReadEachChunk : 0);
    size_t f0 = add_frame(s, 0, 0), f1 = add_frame(s, 1, 1);
    size_t f2 = add_frame(s, 7, 0), f3 = add_frame(s, 8, 3);
    add_frame(s, 100, 0);
    cut_at(s, f0 + 5, 0);
    cut_at(s, f1, FDS(1));
    cut_at(s, f1 + 9, 0);
    cut_at(s, f2 + 20, 0);
    cut_at(s, f3, FDS(3));
    cut_at(s, f3 + 16, 0);
    cut_at(s, s->len - 3, 0);
    s->frames = 5;
    fn(s, ctx);
  }

  /* The transport's own way with more fds than one sendmsg() may carry: a
   * batch with one byte, the rest with the rest of the frame. */
  seed_start(s, "valid_129_fds", 0);
  add_frame(s, 10, 129);
  cut_at(s, 0, FDS(128));
  cut_at(s, 1, FDS(1));
  add_frame(s, 4, 0);
  cut_at(s, s->len - 24, 0);
  s->frames = 2;
  fn(s, ctx);

  seed_start(s, "valid_253_fds", kFlagReadEachChunk);
  add_frame(s, 10, 253);
  cut_at(s, 0, FDS(126));
  cut_at(s, 1, FDS(127));
  s->frames = 1;
  fn(s, ctx);

  /* A later version's longer header, which version 1 skips. */
  seed_start(s, "valid_longer_header", 0);
  add_frame_ex(s, 9, 24, 0, 0);
  add_frame(s, 2, 0);
  s->frames = 2;
  fn(s, ctx);

  /* Bigger than the first read buffer, written in pieces. */
  seed_start(s, "valid_big_frame", 0);
  add_frame(s, 40000, 2);
  cut_at(s, 0, FDS(2));
  cut_at(s, 30000, 0);
  add_frame(s, 6, 0);
  s->frames = 2;
  fn(s, ctx);

  /* Past four times the first read buffer, which is given back after it. */
  seed_start(s, "valid_huge_frame_then_small", 0);
  add_frame(s, 70000, 0);
  cut_at(s, 60000, 0);
  add_frame(s, 6, 1);
  cut_at(s, s->len - 24, FDS(1));
  add_frame(s, 7, 0);
  s->frames = 3;
  fn(s, ctx);

  seed_start(s, "valid_small_pieces_read_each", kFlagReadEachChunk);
  add_frame(s, 40, 1);
  for (size_t i = 0; i < kMaxChunks; i++)
    cut_at(s, i * 7, i == 0 ? FDS(1) : 0);
  s->frames = 1;
  fn(s, ctx);

  seed_start(s, "valid_then_reset", kFlagReset);
  add_frame(s, 5, 0);
  add_frame(s, 6, 0);
  expect(s, 2, MOJO_RESULT_FAILED_PRECONDITION, "connection reset by peer");
  fn(s, ctx);

  seed_start(s, "valid_shutdown_in_frame_3", kFlagShutdownInFrame3 | kFlagReadEachChunk);
  for (int i = 0; i < 4; i++)
    cut_at(s, add_frame(s, 8, 1), FDS(1));
  expect(s, 3, MOJO_RESULT_OK, NULL);
  fn(s, ctx);
}

/* Streams that break a rule. */
static void hostile_seeds(seed *s, seed_fn fn, void *ctx) {
  seed_start(s, "bad_version", 0);
  add_frame(s, 4, 0);
  s->stream[8] = 2;
  expect(s, 0, MOJO_RESULT_INVALID_ARGUMENT, "frame header: unknown version");
  fn(s, ctx);

  seed_start(s, "bad_reserved_after_a_frame", 0);
  add_frame(s, 4, 0);
  size_t f1 = add_frame(s, 4, 0);
  s->stream[f1 + 12] = 0x40;
  expect(s, 1, MOJO_RESULT_INVALID_ARGUMENT, "frame header: reserved bytes not zero");
  fn(s, ctx);

  seed_start(s, "bad_4gib_frame", 0);
  add_frame_ex(s, 0, 16, 0, 0xffffffffu);
  expect(s, 0, MOJO_RESULT_INVALID_ARGUMENT,
         "frame header: payload larger than the frame size limit");
  fn(s, ctx);

  seed_start(s, "bad_254_handles", 0);
  add_frame(s, 0, 254);
  expect(s, 0, MOJO_RESULT_INVALID_ARGUMENT, "frame header: more handles than a frame may carry");
  fn(s, ctx);

  seed_start(s, "bad_padding", 0);
  add_frame(s, 3, 0);
  s->stream[20] = 7;
  expect(s, 0, MOJO_RESULT_INVALID_ARGUMENT, "frame padding not zero");
  fn(s, ctx);

  seed_start(s, "bad_fewer_fds", 0);
  add_frame(s, 8, 2);
  cut_at(s, 0, FDS(1));
  expect(s, 0, MOJO_RESULT_INVALID_ARGUMENT, "fewer handles received than the frame announces");
  fn(s, ctx);

  seed_start(s, "bad_more_fds", 0);
  add_frame(s, 8, 1);
  cut_at(s, 0, FDS(3));
  expect(s, 0, MOJO_RESULT_INVALID_ARGUMENT, "more handles received than the frame announces");
  fn(s, ctx);

  /* The fd of frame 1 arrives with frame 2's bytes, read separately. */
  seed_start(s, "bad_fd_after_its_frame", kFlagReadEachChunk);
  add_frame(s, 0, 1);
  cut_at(s, add_frame(s, 0, 0), FDS(1));
  expect(s, 0, MOJO_RESULT_INVALID_ARGUMENT, "fewer handles received than the frame announces");
  fn(s, ctx);

  seed_start(s, "bad_200_fds_in_one_sendmsg", 0);
  add_frame(s, 0, 200);
  cut_at(s, 0, FDS(200));
  expect(s, 0, MOJO_RESULT_RESOURCE_EXHAUSTED,
         "handles truncated by the kernel (control buffer too small)");
  fn(s, ctx);

  /* Two batches of 128 before a header is complete: more than any frame
   * may carry. */
  seed_start(s, "bad_256_fds_before_the_header", 0);
  add_frame(s, 8, 253);
  cut_at(s, 0, FDS(128));
  cut_at(s, 1, FDS(128));
  cut_at(s, 2, 0);
  expect(s, 0, MOJO_RESULT_INVALID_ARGUMENT, "handles received that no frame announces");
  fn(s, ctx);

  seed_start(s, "bad_truncated_frame", 0);
  add_frame(s, 48, 0);
  s->len = 30;
  expect(s, 0, MOJO_RESULT_FAILED_PRECONDITION, "peer closed the connection in a frame");
  fn(s, ctx);

  seed_start(s, "bad_header_then_fds_then_eof", kFlagReadEachChunk);
  add_frame(s, 48, 2);
  cut_at(s, 0, FDS(2));
  s->len = 16;
  expect(s, 0, MOJO_RESULT_FAILED_PRECONDITION, "peer closed the connection in a frame");
  fn(s, ctx);

  /* A header announcing the largest frame allowed, then the writer leaves:
   * the receiver must not wait for (or keep) the bytes it was promised. */
  seed_start(s, "bad_largest_frame_announced", 0);
  add_frame_ex(s, 8, 16, 0, (uint32_t)(CM_MAX_FRAME_PAYLOAD_BYTES + 16));
  expect(s, 0, MOJO_RESULT_FAILED_PRECONDITION, "peer closed the connection in a frame");
  fn(s, ctx);
}

static void for_each_seed(seed_fn fn, void *ctx) {
  seed *s = malloc(sizeof(*s));
  assert_non_null(s);
  valid_seeds(s, fn, ctx);
  hostile_seeds(s, fn, ctx);
  free(s);
}

static void run_seed(const seed *s, void *ctx) {
  size_t *count = ctx;
  uint8_t *input = malloc(4 * kMaxChunks + s->len);
  assert_non_null(input);
  size_t n = seed_encode(s, input);
  tf_outcome out;
  tf_run_input(input, n, &out);
  free(input);
  print_message("%s: %zu frames, %s\n", s->name, out.frames, out.why ? out.why : "shut down");
  assert_int_equal(out.frames, s->frames);
  if (s->why) {
    assert_int_equal(out.errors, 1);
    assert_int_equal(out.reason, s->reason);
    assert_string_equal(out.why, s->why);
  } else {
    assert_int_equal(out.errors, 0);
    assert_true(out.shut_down);
  }
  (*count)++;
}

static void test_replay_generated(void **state) {
  (void)state;
  size_t count = 0;
  for_each_seed(run_seed, &count);
  print_message("replayed %zu generated seeds\n", count);
  assert_true(count >= 20);
}

static void run_saved(const char *name, const uint8_t *data, size_t size, void *ctx) {
  (void)name, (void)ctx;
  assert_int_equal(LLVMFuzzerTestOneInput(data, size), 0);
}

static void test_replay_saved(void **state) {
  (void)state;
  size_t count = cm_test_replay_dir(SAVED_DIR, run_saved, NULL);
  print_message("replayed %zu saved inputs\n", count);
  assert_true(count >= 20);
}

static void write_seed(const seed *s, void *ctx) {
  uint8_t *input = malloc(4 * kMaxChunks + s->len);
  if (!input)
    abort();
  size_t n = seed_encode(s, input);
  cm_test_write_file(ctx, s->name, input, n);
  free(input);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--write-seeds")) {
    for_each_seed(write_seed, argv[2]);
    printf("wrote the generated seeds to %s\n", argv[2]);
    return 0;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_replay_generated, cm_test_setup_resources,
                                      cm_test_teardown_resources),
      cmocka_unit_test_setup_teardown(test_replay_saved, cm_test_setup_resources,
                                      cm_test_teardown_resources),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
