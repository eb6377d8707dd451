/* Hostile input: valid messages with bits flipped, bytes overwritten and
 * tails cut off, and absurdly deep nesting. The validator must never crash
 * (the sanitizer builds judge that), the decoder must succeed exactly when
 * validation passes, and a failed decode must leave the handles alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmojo/wire.h"
#include "roundtrip.mojom.h"
#include "test_support.h"
#include "validation_routes.h"

#define MAX_HANDLES 8

typedef struct sample {
  uint8_t *bytes;
  size_t num_bytes;
  uint32_t num_handles;
  const cmojo_wire_interface *iface;
} sample;

static uint64_t rng_state;

static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Validates and decodes one (possibly broken) message and checks that the
 * two agree. Returns true if the message was valid. */
static bool probe(const sample *s, const uint8_t *bytes, size_t n) {
  cmojo_wire_header h;
  const cmojo_wire_method *m = NULL;
  cmojo_wire_error e =
      cmojo_wire_validate_message(bytes, n, s->num_handles, s->iface, CMOJO_WIRE_REQUEST, &h, &m);
  const cmojo_wire_method *method0 = &s->iface->methods[0];
  const cmojo_wire_struct *t = m ? m->request : method0->request;
  MojoHandle handles[MAX_HANDLES], before[MAX_HANDLES];
  for (uint32_t i = 0; i < MAX_HANDLES; i++)
    before[i] = handles[i] = 50 + i;
  void *out = NULL;
  cmojo_wire_error derr;
  MojoResult r = cmojo_wire_decode_message(bytes, n, handles, s->num_handles, t, &out, &derr);
  cmojo_wire_error payload_err = CMOJO_WIRE_ERROR_NONE;
  cmojo_wire_header hh;
  payload_err = cmojo_wire_validate_header(bytes, n, &hh);
  if (!payload_err)
    payload_err = cmojo_wire_validate_payload(bytes, n, &hh, s->num_handles, t);
  /* The decoder validates first and reports the same error. */
  assert_int_equal(derr, payload_err);
  if (payload_err) {
    assert_int_equal(r, MOJO_RESULT_INVALID_ARGUMENT);
    assert_null(out);
    assert_memory_equal(handles, before, sizeof(handles));
  } else {
    assert_int_equal(r, MOJO_RESULT_OK);
    assert_non_null(out);
    cmojo_wire_free(out);
  }
  /* A message valid for its method is valid as that method's payload. */
  if (e == CMOJO_WIRE_ERROR_NONE && m)
    assert_int_equal(payload_err, CMOJO_WIRE_ERROR_NONE);
  return e == CMOJO_WIRE_ERROR_NONE;
}

static sample encode_sample(const cmojo_wire_interface *iface, uint32_t name, const void *params) {
  const cmojo_wire_method *m = cmojo_wire_find_method(iface, name);
  cmojo_wire_header in = {.name = name,
                          .flags = m->response ? CMOJO_WIRE_FLAG_EXPECTS_RESPONSE : 0};
  cmojo_wire_message msg;
  assert_int_equal(cmojo_wire_encode_message(&in, m->request, params, &msg), MOJO_RESULT_OK);
  assert_true(msg.num_handles <= MAX_HANDLES);
  sample s = {msg.bytes, msg.num_bytes, msg.num_handles, iface};
  free(msg.handles);
  return s;
}

/* A spread of valid messages touching every validator path. */
static size_t make_samples(sample *out) {
  static test_wire_Inner inner = {1, {2, "ab"}};
  static test_wire_U2 u2 = {1, {.str = {1, "z"}}};
  static test_wire_U u_nested = {test_wire_U_Tag_nested, {.nested = &u2}};
  static test_wire_U u_h = {test_wire_U_Tag_h, {.h = 9}};
  static test_wire_U *au[] = {&u_h, &u_nested};
  static test_wire_XU xu = {0, {.a = 3}};
  static bool ab[] = {true, false, true};
  static cmojo_opt_int32 ane[] = {{true, 1}, {false, 0}};
  static MojoHandle ah[] = {7};
  static cmojo_array keys[] = {{1, "k"}};
  static int32_t values[] = {4};
  static test_wire_Inner *ains[] = {&inner, NULL};
  test_wire_Everything v = {.e = 1,
                            .xe = 0,
                            .s = {1, "s"},
                            .ab = {3, ab},
                            .fixed = {3, "abc"},
                            .msi = {1, keys, values},
                            .inner = &inner,
                            .u = &u_nested,
                            .xu = &xu,
                            .h = 1,
                            .pr = {2, 0},
                            .prc = 3,
                            .ar = {10, 0},
                            .arc = 11,
                            .ah = {1, ah},
                            .au = {2, au},
                            .ains = {2, ains},
                            .ne = {true, -3},
                            .ane = {2, ane}};
  size_t n = 0;
  out[n++] = encode_sample(&test_wire_RoundTrip_desc, 0, &v);
  mojo_test_StructA a = {42};
  mojo_test_StructG g = {.i = 5, .struct_a = &a, .str = {3, "str"}, .b = true};
  mojo_test_ConformanceTestInterface_Method11_Params p11 = {&g};
  out[n++] = encode_sample(&mojo_test_ConformanceTestInterface_desc, 11, &p11);
  mojo_test_StructB b = {&a};
  mojo_test_StructB *kb[] = {&b};
  uint8_t vb[] = {1};
  mojo_test_ConformanceTestInterface_Method20_Params p20 = {{1, kb, vb}};
  out[n++] = encode_sample(&mojo_test_ConformanceTestInterface_desc, 20, &p20);
  static uint8_t fixed_a[] = {1, 2, 3};
  static cmojo_array inner_arrays[] = {{3, fixed_a}, {0, NULL}};
  mojo_test_StructF f = {{3, fixed_a}};
  mojo_test_ConformanceTestInterface_Method7_Params p7 = {&f, {2, inner_arrays}};
  out[n++] = encode_sample(&mojo_test_ConformanceTestInterface_desc, 7, &p7);
  mojo_test_UnionA ua = {mojo_test_UnionA_Tag_struct_a, {.struct_a = &a}};
  mojo_test_ConformanceTestInterface_Method18_Params p18 = {&ua};
  out[n++] = encode_sample(&mojo_test_ConformanceTestInterface_desc, 18, &p18);
  return n;
}

static void test_bit_flips(void **state) {
  (void)state;
  sample samples[8];
  size_t n = make_samples(samples);
  size_t valid = 0, total = 0;
  for (size_t i = 0; i < n; i++) {
    sample *s = &samples[i];
    assert_true(probe(s, s->bytes, s->num_bytes));
    uint8_t *copy = malloc(s->num_bytes);
    for (size_t bit = 0; bit < s->num_bytes * 8; bit++) {
      memcpy(copy, s->bytes, s->num_bytes);
      copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      valid += probe(s, copy, s->num_bytes);
      total++;
    }
    free(copy);
  }
  print_message("bit flips: %zu of %zu still valid\n", valid, total);
  assert_true(valid < total);
  for (size_t i = 0; i < n; i++)
    free(samples[i].bytes);
}

static void test_truncation(void **state) {
  (void)state;
  sample samples[8];
  size_t n = make_samples(samples);
  for (size_t i = 0; i < n; i++) {
    sample *s = &samples[i];
    /* Cutting into the last object must fail; only the writer's final
     * padding (under 8 bytes) may go. A copy in a tight heap block lets
     * ASan catch any read past the end. */
    size_t first_valid = s->num_bytes;
    for (size_t len = 0; len < s->num_bytes; len++) {
      uint8_t *copy = malloc(len ? len : 1);
      memcpy(copy, s->bytes, len);
      bool ok = probe(s, copy, len);
      if (ok && first_valid == s->num_bytes)
        first_valid = len;
      if (first_valid != s->num_bytes)
        assert_true(ok);
      free(copy);
    }
    assert_true(first_valid + 8 > s->num_bytes);
    free(s->bytes);
  }
}

static void test_random_overwrites(void **state) {
  (void)state;
  rng_state = cm_test_seed(0x5eed1234abcdull) | 1;
  print_message("seed %llu (set CMOJO_TEST_SEED to replay)\n", (unsigned long long)rng_state);
  static const uint8_t interesting[] = {0, 1, 7, 8, 16, 0x7f, 0x80, 0xff};
  sample samples[8];
  size_t n = make_samples(samples);
  for (int iter = 0; iter < 100000; iter++) {
    sample *s = &samples[rng() % n];
    uint8_t *copy = malloc(s->num_bytes);
    memcpy(copy, s->bytes, s->num_bytes);
    int edits = 1 + (int)(rng() % 6);
    for (int k = 0; k < edits; k++) {
      size_t at = rng() % s->num_bytes;
      copy[at] = (rng() & 1) ? interesting[rng() % sizeof(interesting)] : (uint8_t)rng();
    }
    probe(s, copy, s->num_bytes);
    free(copy);
  }
  for (size_t i = 0; i < n; i++)
    free(samples[i].bytes);
}

/* ---- deep nesting ---- */

/* A chain of `levels` Recursive structs under Method19. */
static uint8_t *recursive_chain(uint32_t levels, size_t *len) {
  size_t n = 24 + 16 + (size_t)levels * 16;
  uint8_t *b = calloc(1, n);
  uint32_t *w = (uint32_t *)b; /* little-endian host, as the runtime */
  w[0] = 24, w[3] = 19;        /* v0 header, name 19 */
  for (size_t off = 24; off + 16 <= n; off += 16) {
    w[off / 4] = 16;
    if (off + 32 <= n)
      b[off + 8] = 8; /* pointer to the next struct */
  }
  *len = n;
  return b;
}

static void test_deep_recursion(void **state) {
  (void)state;
  const cmojo_wire_interface *f = &mojo_test_ConformanceTestInterface_desc;
  size_t len;
  /* Params is depth 0; struct k of the chain is depth k: 200 is the limit
   * (a null pointer at depth 201 still counts, as in Mojo). */
  uint8_t *ok = recursive_chain(199, &len);
  assert_int_equal(cmojo_wire_validate_message(ok, len, 0, f, CMOJO_WIRE_REQUEST, NULL, NULL),
                   CMOJO_WIRE_ERROR_NONE);
  free(ok);
  uint8_t *over = recursive_chain(200, &len);
  assert_int_equal(cmojo_wire_validate_message(over, len, 0, f, CMOJO_WIRE_REQUEST, NULL, NULL),
                   CMOJO_WIRE_ERROR_MAX_RECURSION_DEPTH);
  free(over);
  uint8_t *huge = recursive_chain(1000000, &len);
  assert_int_equal(cmojo_wire_validate_message(huge, len, 0, f, CMOJO_WIRE_REQUEST, NULL, NULL),
                   CMOJO_WIRE_ERROR_MAX_RECURSION_DEPTH);
  void *out;
  assert_int_equal(cmojo_wire_decode_message(huge, len, NULL, 0,
                                             cmojo_wire_find_method(f, 19)->request, &out, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  free(huge);
}

/* union RU { RU next; uint32 n; } nests without any struct, so Mojo's
 * depth count never grows; the runtime's own nesting bound must stop it. */
static const cmojo_wire_type t_uint32 = {.kind = CMOJO_WIRE_KIND_UINT32};
static const cmojo_wire_union ru;
static const cmojo_wire_type t_ru = {.kind = CMOJO_WIRE_KIND_UNION, .union_type = &ru};
static const cmojo_wire_union_field ru_fields[] = {{.name = "next", .tag = 0, .type = &t_ru},
                                                   {.name = "n", .tag = 1, .type = &t_uint32}};
static const cmojo_wire_union ru = {.name = "RU",
                                    .fields = ru_fields,
                                    .num_fields = 2,
                                    .c_size = 16,
                                    .c_align = 8,
                                    .c_value_offset = 8};
static const cmojo_wire_field ru_params_fields[] = {{.name = "u", .type = &t_ru, .offset = 8}};
static const cmojo_wire_version ru_params_versions[] = {{0, 24}};
static const cmojo_wire_struct ru_params = {.name = "RUParams",
                                            .fields = ru_params_fields,
                                            .num_fields = 1,
                                            .versions = ru_params_versions,
                                            .num_versions = 1,
                                            .c_size = 8,
                                            .c_align = 8};
static const cmojo_wire_method ru_methods[] = {{.name = "M", .ordinal = 0, .request = &ru_params}};
static const cmojo_wire_interface ru_iface = {
    .name = "RUIface", .methods = ru_methods, .num_methods = 1};

static void test_deep_unions(void **state) {
  (void)state;
  for (uint32_t levels = 10; levels <= 200000; levels *= 20) {
    size_t n = 24 + 24 + (size_t)levels * 16;
    uint8_t *b = calloc(1, n);
    uint32_t *w = (uint32_t *)b;
    w[0] = 24;
    w[6] = 24; /* params header */
    /* Inlined union at 32, then `levels` out-of-line unions. */
    for (size_t off = 32; off + 16 <= n; off += 16) {
      w[off / 4] = 16;
      bool last = off + 16 == n;
      w[off / 4 + 1] = last ? 1 : 0;
      if (!last)
        b[off + 8] = 8; /* data at off+8, next union at off+16 */
    }
    cmojo_wire_error e =
        cmojo_wire_validate_message(b, n, 0, &ru_iface, CMOJO_WIRE_REQUEST, NULL, NULL);
    if (levels < 900)
      assert_int_equal(e, CMOJO_WIRE_ERROR_NONE);
    else
      assert_int_equal(e, CMOJO_WIRE_ERROR_MAX_RECURSION_DEPTH);
    free(b);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bit_flips),         cmocka_unit_test(test_truncation),
      cmocka_unit_test(test_random_overwrites), cmocka_unit_test(test_deep_recursion),
      cmocka_unit_test(test_deep_unions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
