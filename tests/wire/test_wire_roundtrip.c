/* Encoder and decoder: C values -> bytes -> validation -> C values for every
 * kind, byte-exact encodings worked out by hand (written in the corpus text
 * format), the header version the writer picks, encoder argument checks,
 * and re-encoding of the corpus's valid messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmojo/wire.h"
#include "roundtrip.mojom.h"
#include "test_support.h"
#include "validation_input.h"
#include "validation_routes.h"

static void assert_str(cmojo_array a, const char *s) {
  assert_non_null(a.data);
  assert_int_equal(a.count, strlen(s));
  assert_memory_equal(a.data, s, a.count);
  assert_int_equal(((char *)a.data)[a.count], 0); /* decoder adds a NUL */
}

/* ---- a fully populated Everything ---- */

static test_wire_Inner inner_a = {7, {5, "inner"}};
static test_wire_Inner inner_b = {-8, {0, ""}};
static test_wire_U2 u2_str = {1, {.str = {3, "u2s"}}};
static test_wire_U u_nested = {test_wire_U_Tag_nested, {.nested = &u2_str}};
static test_wire_U au_h = {test_wire_U_Tag_h, {.h = 16}};
static test_wire_U au_big = {test_wire_U_Tag_big, {.big = -1234567890123ll}};
static test_wire_U au_inner = {test_wire_U_Tag_inner, {.inner = &inner_a}};
static test_wire_U au_e = {test_wire_U_Tag_e, {.e = -3}};
static test_wire_U au_flag = {test_wire_U_Tag_flag, {.flag = true}};
static test_wire_U au_s = {test_wire_U_Tag_s, {.s = {2, "hi"}}};
static test_wire_XU xu_b = {1, {.b = {4, "xu-b"}}};

static int16_t a16_data[] = {-1, 2, 0x7fff};
static bool ab_data[] = {true, false, true, true, false, false, false, false, true};
static cmojo_opt_bool anb_data[] = {{true, true}, {false, false}, {true, false}};
static cmojo_opt_int64 ani64_data[] = {{false, 0}, {true, -5}, {true, 1ll << 40}};
static cmojo_array astr_data[] = {{3, "one"}, {0, ""}, {5, "three"}};
static uint8_t u8_a[] = {1, 2}, u8_b[] = {9};
static cmojo_array aau8_data[] = {{2, u8_a}, {0, u8_b}, {1, u8_b}};
static uint8_t fixed_data[] = {0xa, 0xb, 0xc};
static cmojo_array msi_keys[] = {{1, "a"}, {2, "bb"}};
static int32_t msi_values[] = {100, -200};
static int32_t mis_keys[] = {3, 4};
static test_wire_Inner *mis_values[] = {&inner_b, NULL};
static MojoHandle ah_data[] = {14, 15};
static test_wire_U *au_data[] = {&au_h, &au_big, &au_inner, &au_e, &au_flag, &au_s};
static test_wire_Inner *ains_data[] = {NULL, &inner_a};
static cmojo_opt_int32 ane_data[] = {{true, 10}, {false, 0}, {true, -3}};

#define ARR(a) \
  { (uint32_t)(sizeof(a) / sizeof((a)[0])), (void *)(a) }

static test_wire_Everything full_value(void) {
  test_wire_Everything v = {.b0 = true,
                            .b1 = false,
                            .i8 = -100,
                            .u8 = 200,
                            .i16 = -30000,
                            .u16 = 60000,
                            .i32 = -2000000000,
                            .u32 = 4000000000u,
                            .i64 = -9000000000000000000ll,
                            .u64 = 18000000000000000000ull,
                            .f = 1.5f,
                            .e = 10,
                            .d = -0.25,
                            .xe = 2,
                            .nb = {true, false},
                            .ni32 = {true, -7},
                            .nd = {false, 0},
                            .s = {5, "hello"},
                            .ns = {0, NULL},
                            .a16 = ARR(a16_data),
                            .ab = ARR(ab_data),
                            .anb = ARR(anb_data),
                            .ani64 = ARR(ani64_data),
                            .astr = ARR(astr_data),
                            .aau8 = ARR(aau8_data),
                            .fixed = ARR(fixed_data),
                            .msi = {2, msi_keys, msi_values},
                            .mis = {2, mis_keys, mis_values},
                            .inner = &inner_a,
                            .ninner = NULL,
                            .u = &u_nested,
                            .nu = NULL,
                            .xu = &xu_b,
                            .h = 11,
                            .nh = MOJO_HANDLE_INVALID,
                            .pr = {12, 3},
                            .prc = 13,
                            .ar = {0x80000001u, 4},
                            .arc = 5,
                            .ah = ARR(ah_data),
                            .au = ARR(au_data),
                            .ains = ARR(ains_data),
                            .ne = {true, 1},
                            .ane = ARR(ane_data)};
  return v;
}

static void check_scalars(const test_wire_Everything *g, const test_wire_Everything *w) {
  assert_int_equal(g->b0, w->b0);
  assert_int_equal(g->b1, w->b1);
  assert_int_equal(g->i8, w->i8);
  assert_int_equal(g->u8, w->u8);
  assert_int_equal(g->i16, w->i16);
  assert_int_equal(g->u16, w->u16);
  assert_int_equal(g->i32, w->i32);
  assert_int_equal(g->u32, w->u32);
  assert_true(g->i64 == w->i64);
  assert_true(g->u64 == w->u64);
  assert_true(g->f == w->f);
  assert_int_equal(g->e, w->e);
  assert_true(g->d == w->d);
  assert_int_equal(g->xe, w->xe);
  assert_int_equal(g->nb.has_value, w->nb.has_value);
  assert_int_equal(g->nb.value, w->nb.value);
  assert_int_equal(g->ni32.has_value, w->ni32.has_value);
  assert_int_equal(g->ni32.value, w->ni32.value);
  assert_int_equal(g->nd.has_value, w->nd.has_value);
  assert_int_equal(g->ne.has_value, w->ne.has_value);
  assert_int_equal(g->ne.value, w->ne.value);
}

static void check_inner(const test_wire_Inner *g, const test_wire_Inner *w) {
  assert_non_null(g);
  assert_int_equal(g->x, w->x);
  assert_int_equal(g->name.count, w->name.count);
  assert_memory_equal(g->name.data, w->name.data, w->name.count);
}

static void check_arrays(const test_wire_Everything *g) {
  assert_str(g->s, "hello");
  assert_null(g->ns.data);
  assert_int_equal(g->a16.count, 3);
  assert_memory_equal(g->a16.data, a16_data, sizeof(a16_data));
  assert_int_equal(g->ab.count, 9);
  assert_memory_equal(g->ab.data, ab_data, sizeof(ab_data));
  assert_int_equal(g->anb.count, 3);
  const cmojo_opt_bool *nb = g->anb.data;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(nb[i].has_value, anb_data[i].has_value);
    assert_int_equal(nb[i].value, anb_data[i].value);
  }
  const cmojo_opt_int64 *n64 = g->ani64.data;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(n64[i].has_value, ani64_data[i].has_value);
    assert_true(n64[i].value == ani64_data[i].value);
  }
  const cmojo_array *as = g->astr.data;
  assert_int_equal(g->astr.count, 3);
  assert_str(as[0], "one");
  assert_str(as[1], "");
  assert_str(as[2], "three");
  const cmojo_array *aa = g->aau8.data;
  assert_int_equal(g->aau8.count, 3);
  assert_int_equal(aa[0].count, 2);
  assert_memory_equal(aa[0].data, u8_a, 2);
  assert_int_equal(aa[1].count, 0);
  assert_non_null(aa[1].data); /* empty, not null */
  assert_int_equal(((uint8_t *)aa[2].data)[0], 9);
  assert_int_equal(g->fixed.count, 3);
  assert_memory_equal(g->fixed.data, fixed_data, 3);
  const cmojo_opt_int32 *ne = g->ane.data;
  assert_int_equal(g->ane.count, 3);
  assert_true(ne[0].has_value && ne[0].value == 10);
  assert_false(ne[1].has_value);
  assert_true(ne[2].has_value && ne[2].value == -3);
}

static void check_objects(const test_wire_Everything *g) {
  assert_int_equal(g->msi.count, 2);
  assert_str(((cmojo_array *)g->msi.keys)[1], "bb");
  assert_int_equal(((int32_t *)g->msi.values)[1], -200);
  assert_int_equal(g->mis.count, 2);
  assert_int_equal(((int32_t *)g->mis.keys)[0], 3);
  check_inner(((test_wire_Inner **)g->mis.values)[0], &inner_b);
  assert_null(((test_wire_Inner **)g->mis.values)[1]);
  check_inner(g->inner, &inner_a);
  assert_null(g->ninner);
  assert_int_equal(g->u->tag, test_wire_U_Tag_nested);
  assert_int_equal(g->u->value.nested->tag, 1);
  assert_str(g->u->value.nested->value.str, "u2s");
  assert_null(g->nu);
  assert_int_equal(g->xu->tag, 1);
  assert_str(g->xu->value.b, "xu-b");
  test_wire_U **au = g->au.data;
  assert_int_equal(g->au.count, 6);
  assert_int_equal(au[0]->value.h, 16);
  assert_true(au[1]->value.big == -1234567890123ll);
  check_inner(au[2]->value.inner, &inner_a);
  assert_int_equal(au[3]->value.e, -3);
  assert_true(au[4]->value.flag);
  assert_str(au[5]->value.s, "hi");
  test_wire_Inner **ains = g->ains.data;
  assert_null(ains[0]);
  check_inner(ains[1], &inner_a);
}

static void check_endpoints(const test_wire_Everything *g) {
  assert_int_equal(g->h, 11);
  assert_int_equal(g->nh, MOJO_HANDLE_INVALID);
  assert_int_equal(g->pr.handle, 12);
  assert_int_equal(g->pr.version, 3);
  assert_int_equal(g->prc, 13);
  assert_int_equal(g->ar.interface_id, 0x80000001u);
  assert_int_equal(g->ar.version, 4);
  assert_int_equal(g->arc, 5);
  assert_int_equal(((MojoHandle *)g->ah.data)[1], 15);
}

static void collect(MojoHandle h, void *ctx) {
  MojoHandle **p = ctx;
  *(*p)++ = h;
}

static void test_everything(void **state) {
  (void)state;
  test_wire_Everything v = full_value();
  cmojo_wire_header in = {.name = 1, .flags = CMOJO_WIRE_FLAG_EXPECTS_RESPONSE, .request_id = 77};
  cmojo_wire_message m;
  assert_int_equal(cmojo_wire_encode_message(&in, &test_wire_Everything_desc, &v, &m),
                   MOJO_RESULT_OK);
  assert_int_equal(m.num_bytes % 8, 0);
  /* Handles in traversal order: h, pr, prc, ah[0..1], au[0]. */
  static const MojoHandle order[] = {11, 12, 13, 14, 15, 16};
  assert_int_equal(m.num_handles, 6);
  assert_memory_equal(m.handles, order, sizeof(order));

  cmojo_wire_header h;
  const cmojo_wire_method *method;
  assert_int_equal(
      cmojo_wire_validate_message(m.bytes, m.num_bytes, m.num_handles, &test_wire_RoundTrip_desc,
                                  CMOJO_WIRE_REQUEST, &h, &method),
      CMOJO_WIRE_ERROR_NONE);
  assert_int_equal(h.version, 2); /* associated ids force v2 */
  assert_int_equal(h.num_interface_ids, 2);
  assert_true(h.request_id == 77);
  assert_int_equal(method->ordinal, 1);

  MojoHandle handles[6];
  memcpy(handles, m.handles, sizeof(handles));
  void *out = NULL;
  cmojo_wire_error err = CMOJO_WIRE_ERROR_MAX_RECURSION_DEPTH;
  assert_int_equal(cmojo_wire_decode_message(m.bytes, m.num_bytes, handles, 6,
                                             &test_wire_Everything_desc, &out, &err),
                   MOJO_RESULT_OK);
  assert_int_equal(err, CMOJO_WIRE_ERROR_NONE);
  for (int i = 0; i < 6; i++)
    assert_int_equal(handles[i], 0); /* taken */
  const test_wire_Everything *g = out;
  check_scalars(g, &v);
  check_arrays(g);
  check_objects(g);
  check_endpoints(g);

  MojoHandle seen[8], *cursor = seen;
  cmojo_wire_for_each_handle(&test_wire_Everything_desc, g, collect, &cursor);
  assert_int_equal(cursor - seen, 6);
  assert_memory_equal(seen, order, sizeof(order));
  cmojo_wire_free(out);

  /* Re-encoding the decoded value gives the same bytes. */
  cmojo_wire_message again;
  void *out2;
  memcpy(handles, m.handles, sizeof(handles));
  assert_int_equal(cmojo_wire_decode_message(m.bytes, m.num_bytes, handles, 6,
                                             &test_wire_Everything_desc, &out2, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(cmojo_wire_encode_message(&in, &test_wire_Everything_desc, out2, &again),
                   MOJO_RESULT_OK);
  assert_int_equal(again.num_bytes, m.num_bytes);
  assert_memory_equal(again.bytes, m.bytes, m.num_bytes);
  cmojo_wire_free(out2);
  cmojo_wire_message_free(&again);
  cmojo_wire_message_free(&m);
  assert_null(m.bytes);
}

/* Decoded unknown values of [Extensible] types take the [Default]. */
static void test_extensible_defaults(void **state) {
  (void)state;
  test_wire_Everything v = full_value();
  v.xu = &(test_wire_XU){0, {.a = 5}};
  cmojo_wire_header in = {.name = 0};
  cmojo_wire_message m;
  assert_int_equal(cmojo_wire_encode_message(&in, &test_wire_Everything_desc, &v, &m),
                   MOJO_RESULT_OK);
  /* Everything starts after the 48-byte v2 header; xe at 8+48, xu at
   * 8+200 (size, tag, value). */
  uint8_t *p = m.bytes + 48;
  assert_int_equal(p[8 + 48], 2);
  p[8 + 48] = 99;     /* unknown OpenEnum value */
  p[8 + 200 + 4] = 7; /* unknown XU tag */
  assert_int_equal(cmojo_wire_validate_message(m.bytes, m.num_bytes, 6, &test_wire_RoundTrip_desc,
                                               CMOJO_WIRE_REQUEST, NULL, NULL),
                   CMOJO_WIRE_ERROR_NONE);
  MojoHandle handles[6];
  memcpy(handles, m.handles, sizeof(handles));
  void *out;
  assert_int_equal(cmojo_wire_decode_message(m.bytes, m.num_bytes, handles, 6,
                                             &test_wire_Everything_desc, &out, NULL),
                   MOJO_RESULT_OK);
  const test_wire_Everything *g = out;
  assert_int_equal(g->xe, 1);
  assert_int_equal(g->xu->tag, 0);
  assert_int_equal(g->xu->value.a, 0);
  cmojo_wire_free(out);
  /* A closed enum is checked: BasicEnum e at 8+36 must be -3, 0, 1 or 10. */
  p[8 + 36] = 2;
  assert_int_equal(cmojo_wire_validate_message(m.bytes, m.num_bytes, 6, &test_wire_RoundTrip_desc,
                                               CMOJO_WIRE_REQUEST, NULL, NULL),
                   CMOJO_WIRE_ERROR_UNKNOWN_ENUM_VALUE);
  cmojo_wire_message_free(&m);
}

/* ---- byte-exact encodings, computed by hand ---- */

static void check_bytes(const cmojo_wire_message *m, const char *text) {
  cm_vinput want;
  char err[128];
  if (cm_vinput_parse(text, strlen(text), &want, err, sizeof(err)))
    fail_msg("bad expectation: %s", err);
  if (m->num_bytes != want.num_bytes || memcmp(m->bytes, want.bytes, want.num_bytes)) {
    for (size_t i = 0; i < m->num_bytes || i < want.num_bytes; i++)
      print_message("%3zu: got %02x want %02x\n", i, i < m->num_bytes ? m->bytes[i] : 0xee,
                    i < want.num_bytes ? want.bytes[i] : 0xee);
    fail_msg("encoding differs");
  }
  cm_vinput_free(&want);
}

static MojoResult encode(const cmojo_wire_interface *iface, uint32_t name, uint32_t flags,
                         const void *params, cmojo_wire_message *m) {
  const cmojo_wire_method *method = cmojo_wire_find_method(iface, name);
  cmojo_wire_header in = {.name = name, .flags = flags};
  const cmojo_wire_struct *t =
      flags & CMOJO_WIRE_FLAG_IS_RESPONSE ? method->response : method->request;
  return cmojo_wire_encode_message(&in, t, params, m);
}

static void test_exact_method2(void **state) {
  (void)state;
  mojo_test_StructA a = {0x1122334455667788ull}, a2 = {7};
  mojo_test_StructB b = {&a};
  struct {
    mojo_test_StructB *p0;
    mojo_test_StructA *p1;
  } params = {&b, &a2};
  cmojo_wire_message m;
  assert_int_equal(encode(&mojo_test_ConformanceTestInterface_desc, 2, 0, &params, &m),
                   MOJO_RESULT_OK);
  check_bytes(&m,
              "[u4]24 [u4]0 [u4]0 [u4]2 [u4]0 [u4]0 " /* header v0 */
              "[u4]24 [u4]0 [dist8]b [dist8]a2 "      /* params */
              "[anchr]b [u4]16 [u4]0 [dist8]a "       /* StructB */
              "[anchr]a [u4]16 [u4]0 [u8]0x1122334455667788 "
              "[anchr]a2 [u4]16 [u4]0 [u8]7");
  assert_int_equal(m.num_handles, 0);
  cmojo_wire_message_free(&m);
}

static void test_exact_headers(void **state) {
  (void)state;
  uint8_t x = 0x42;
  cmojo_wire_message m;
  /* A request expecting a response has a v1 header with request_id. */
  cmojo_wire_header in = {.interface_id = 3,
                          .name = 0,
                          .trace_nonce = 9,
                          .flags = CMOJO_WIRE_FLAG_EXPECTS_RESPONSE | CMOJO_WIRE_FLAG_IS_SYNC,
                          .request_id = 5};
  const cmojo_wire_struct *req = mojo_test_BoundsCheckTestInterface_desc.methods[0].request;
  assert_int_equal(cmojo_wire_encode_message(&in, req, &x, &m), MOJO_RESULT_OK);
  check_bytes(&m,
              "[u4]32 [u4]1 [u4]3 [u4]0 [u4]5 [u4]9 [u8]5 "
              "[u4]16 [u4]0 [u1]0x42 0 0 0 [u4]0");
  cmojo_wire_message_free(&m);
  /* A creation time makes it v3, payload pointer set, no id array. */
  cmojo_wire_header in3 = {.name = 1, .creation_timeticks_us = 1234};
  assert_int_equal(cmojo_wire_encode_message(
                       &in3, mojo_test_BoundsCheckTestInterface_desc.methods[1].request, &x, &m),
                   MOJO_RESULT_OK);
  check_bytes(&m,
              "[u4]56 [u4]3 [u4]0 [u4]1 [u4]0 [u4]0 [u8]0 "
              "[dist8]payload [u8]0 [u8]1234 "
              "[anchr]payload [u4]16 [u4]0 [u1]0x42 0 0 0 [u4]0");
  cmojo_wire_header h;
  assert_int_equal(cmojo_wire_validate_header(m.bytes, m.num_bytes, &h), CMOJO_WIRE_ERROR_NONE);
  assert_true(h.creation_timeticks_us == 1234);
  assert_int_equal(h.payload_offset, 56);
  cmojo_wire_message_free(&m);
  assert_int_equal(cmojo_wire_header_version_for(0, 0, 0), 0);
  assert_int_equal(cmojo_wire_header_version_for(CMOJO_WIRE_FLAG_IS_RESPONSE, 0, 0), 1);
  assert_int_equal(cmojo_wire_header_version_for(0, 1, 0), 2);
  assert_int_equal(cmojo_wire_header_version_for(0, 1, 5), 3);
}

static void test_exact_associated(void **state) {
  (void)state;
  cmojo_pending_associated_remote ars[] = {{4, 14}, {9, 18}};
  mojo_test_AssociatedConformanceTestInterface_Method3_Params p = {ARR(ars)};
  cmojo_wire_message m;
  assert_int_equal(encode(&mojo_test_AssociatedConformanceTestInterface_desc, 3, 0, &p, &m),
                   MOJO_RESULT_OK);
  check_bytes(&m,
              "[u4]48 [u4]2 [u4]0 [u4]3 [u4]0 [u4]0 [u8]0 "
              "[dist8]payload [dist8]ids "
              "[anchr]payload [u4]16 [u4]0 [dist8]arr "
              "[anchr]arr [u4]24 [u4]2 [u4]0 [u4]14 [u4]1 [u4]18 "
              "[anchr]ids [u4]16 [u4]2 [u4]4 [u4]9");
  cmojo_wire_message_free(&m);
}

static void test_exact_nullable_arrays(void **state) {
  (void)state;
  cmojo_opt_bool nb[] = {{true, true}, {false, false}, {true, false}};
  cmojo_opt_uint32 nu[] = {{false, 0}, {true, 7}};
  mojo_test_ConformanceTestInterface_Method23_Params p = {ARR(nb), ARR(nu)};
  cmojo_wire_message m;
  assert_int_equal(encode(&mojo_test_ConformanceTestInterface_desc, 23, 0, &p, &m), MOJO_RESULT_OK);
  check_bytes(&m,
              "[u4]24 [u4]0 [u4]0 [u4]23 [u4]0 [u4]0 "
              "[u4]24 [u4]0 [dist8]a0 [dist8]a1 "
              "[anchr]a0 [u4]10 [u4]3 [b]00000101 [b]00000001 0 0 0 0 0 0 "
              "[anchr]a1 [u4]20 [u4]2 [b]00000010 0 0 0 [u4]0 [u4]7 [u4]0");
  cmojo_wire_message_free(&m);
}

/* ---- the encoder refuses values the receiver would reject ---- */

static void test_encoder_rejects(void **state) {
  (void)state;
  cmojo_wire_message m = {.num_bytes = 12345};
  const cmojo_wire_header in = {0};
  test_wire_Everything v = full_value();
  v.inner = NULL; /* non-nullable struct */
  assert_int_equal(cmojo_wire_encode_message(&in, &test_wire_Everything_desc, &v, &m),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(m.num_bytes, 12345); /* untouched on failure */
  struct {
    test_wire_Everything v;
    const char *what;
  } cases[6];
  for (int i = 0; i < 6; i++)
    cases[i].v = full_value();
  cases[0].v.h = MOJO_HANDLE_INVALID, cases[0].what = "invalid handle";
  cases[1].v.fixed.count = 2, cases[1].what = "fixed size";
  cases[2].v.e = 2, cases[2].what = "closed enum";
  static test_wire_U bad_tag = {42, {.big = 0}};
  cases[3].v.u = &bad_tag, cases[3].what = "union tag";
  cases[4].v.s = (cmojo_array){3, NULL}, cases[4].what = "count, NULL";
  cases[5].v.ar.interface_id = 0, cases[5].what = "primary id";
  for (int i = 0; i < 6; i++) {
    MojoResult r = cmojo_wire_encode_message(&in, &test_wire_Everything_desc, &cases[i].v, &m);
    if (r != MOJO_RESULT_INVALID_ARGUMENT)
      fail_msg("%s", cases[i].what);
  }
  /* Non-nullable {0, NULL} arrays are empty arrays; nullable ones null. */
  v = full_value();
  v.s = (cmojo_array){0, NULL};
  v.ns = (cmojo_array){0, NULL};
  assert_int_equal(cmojo_wire_encode_message(&in, &test_wire_Everything_desc, &v, &m),
                   MOJO_RESULT_OK);
  MojoHandle handles[6];
  memcpy(handles, m.handles, sizeof(handles));
  void *out;
  assert_int_equal(cmojo_wire_decode_message(m.bytes, m.num_bytes, handles, 6,
                                             &test_wire_Everything_desc, &out, NULL),
                   MOJO_RESULT_OK);
  assert_non_null(((test_wire_Everything *)out)->s.data);
  assert_int_equal(((test_wire_Everything *)out)->s.count, 0);
  assert_null(((test_wire_Everything *)out)->ns.data);
  cmojo_wire_free(out);
  cmojo_wire_message_free(&m);
}

/* ---- the corpus's valid messages survive decode -> encode ---- */

static void roundtrip_vector(const char *name, const cmojo_wire_interface *f,
                             cmojo_wire_direction dir, int *canonical) {
  char path[512], err[128];
  size_t len;
  snprintf(path, sizeof(path), CMOJO_SHARED_DIR "/conformance/mojo-validation/%s.data", name);
  char *text = cm_vinput_read_file(path, &len);
  assert_non_null(text);
  cm_vinput in;
  assert_int_equal(cm_vinput_parse(text, len, &in, err, sizeof(err)), 0);
  free(text);
  cmojo_wire_header h;
  const cmojo_wire_method *m;
  assert_int_equal(
      cmojo_wire_validate_message(in.bytes, in.num_bytes, in.num_handles, f, dir, &h, &m),
      CMOJO_WIRE_ERROR_NONE);
  const cmojo_wire_struct *t = dir == CMOJO_WIRE_RESPONSE ? m->response : m->request;
  MojoHandle handles[16] = {0};
  for (uint32_t i = 0; i < in.num_handles; i++)
    handles[i] = 1 + i;
  void *value;
  assert_int_equal(
      cmojo_wire_decode_message(in.bytes, in.num_bytes, handles, in.num_handles, t, &value, NULL),
      MOJO_RESULT_OK);
  cmojo_wire_message once, twice;
  assert_int_equal(cmojo_wire_encode_message(&h, t, value, &once), MOJO_RESULT_OK);
  cmojo_wire_free(value);
  assert_int_equal(
      cmojo_wire_validate_message(once.bytes, once.num_bytes, once.num_handles, f, dir, NULL, NULL),
      CMOJO_WIRE_ERROR_NONE);
  assert_int_equal(cmojo_wire_decode_message(once.bytes, once.num_bytes, once.handles,
                                             once.num_handles, t, &value, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(cmojo_wire_encode_message(&h, t, value, &twice), MOJO_RESULT_OK);
  cmojo_wire_free(value);
  assert_int_equal(twice.num_bytes, once.num_bytes);
  assert_memory_equal(twice.bytes, once.bytes, once.num_bytes);
  /* The C++ writer pads the message to 8 bytes; hand-written vectors often
   * stop at the last array element. */
  bool same = once.num_bytes >= in.num_bytes && once.num_bytes - in.num_bytes < 8 &&
              !memcmp(once.bytes, in.bytes, in.num_bytes);
  for (size_t i = in.num_bytes; same && i < once.num_bytes; i++)
    same = once.bytes[i] == 0;
  if (same)
    (*canonical)++;
  else
    print_message("not canonical: %s\n", name);
  cmojo_wire_message_free(&once);
  cmojo_wire_message_free(&twice);
  cm_vinput_free(&in);
}

static void test_corpus_reencode(void **state) {
  (void)state;
  /* Valid vectors that carry a payload (the others are header tests). */
  static const char *const conformance[] = {
      "conformance_mthd0_good",
      "conformance_mthd1_good",
      "conformance_mthd2_good",
      "conformance_mthd3_good",
      "conformance_mthd4_good",
      "conformance_mthd5_good",
      "conformance_mthd6_good",
      "conformance_mthd7_good",
      "conformance_mthd8_good",
      "conformance_mthd9_good",
      "conformance_mthd9_good_null_array",
      "conformance_mthd10_good",
      "conformance_mthd10_good_non_unique_keys",
      "conformance_mthd11_good_version0",
      "conformance_mthd11_good_version1",
      "conformance_mthd11_good_version2",
      "conformance_mthd11_good_version3",
      "conformance_mthd11_good_version_newer_than_known_1",
      "conformance_mthd11_good_version_newer_than_known_2",
      "conformance_mthd13_good_1",
      "conformance_mthd13_good_2",
      "conformance_mthd14_good_known_enum_values",
      "conformance_mthd14_good_uknown_extensible_enum_value",
      "conformance_mthd15_good_empy_enum_array",
      "conformance_mthd15_good_known_enum_array_values",
      "conformance_mthd15_good_uknown_extensible_enum_array_value",
      "conformance_mthd17_good",
      "conformance_mthd18_good",
      "conformance_mthd20_good",
      "conformance_mthd21_empty_extensible_enum_accepts_any_value",
      "conformance_mthd23_good",
      "conformance_mthd24_good"};
  int canonical = 0;
  for (size_t i = 0; i < sizeof(conformance) / sizeof(conformance[0]); i++)
    roundtrip_vector(conformance[i], &mojo_test_ConformanceTestInterface_desc, CMOJO_WIRE_REQUEST,
                     &canonical);
  static const char *const assoc[] = {
      "associated_conformance_mthd0_good", "associated_conformance_mthd1_good",
      "associated_conformance_mthd2_good", "associated_conformance_mthd3_good"};
  for (size_t i = 0; i < 4; i++)
    roundtrip_vector(assoc[i], &mojo_test_AssociatedConformanceTestInterface_desc,
                     CMOJO_WIRE_REQUEST, &canonical);
  roundtrip_vector("integration_intf_rqst_mthd0_good", &mojo_test_IntegrationTestInterface_desc,
                   CMOJO_WIRE_REQUEST, &canonical);
  roundtrip_vector("integration_intf_resp_mthd0_good", &mojo_test_IntegrationTestInterface_desc,
                   CMOJO_WIRE_RESPONSE, &canonical);
  print_message("%d vectors re-encode to their original bytes\n", canonical);
}

/* Reading a header and writing it back (with a new request id) changes
 * only the request id, for every header version. */
static void test_write_header(void **state) {
  (void)state;
  cmojo_pending_associated_remote ars[] = {{4, 14}, {9, 18}};
  mojo_test_AssociatedConformanceTestInterface_Method3_Params p = {ARR(ars)};
  uint8_t x = 1;
  const cmojo_wire_struct *b0 = mojo_test_BoundsCheckTestInterface_desc.methods[0].request;
  const cmojo_wire_struct *a3 =
      mojo_test_AssociatedConformanceTestInterface_desc.methods[3].request;
  struct {
    cmojo_wire_header in;
    const cmojo_wire_struct *t;
    const void *v;
  } cases[] = {
      {{.name = 0}, b0, &x},
      {{.name = 0, .flags = CMOJO_WIRE_FLAG_IS_RESPONSE, .request_id = 2}, b0, &x},
      {{.name = 3, .request_id = 2}, a3, &p},
      {{.name = 3, .creation_timeticks_us = 99}, a3, &p},
  };
  for (uint32_t i = 0; i < 4; i++) {
    cmojo_wire_message m;
    assert_int_equal(cmojo_wire_encode_message(&cases[i].in, cases[i].t, cases[i].v, &m),
                     MOJO_RESULT_OK);
    cmojo_wire_header h;
    assert_int_equal(cmojo_wire_validate_header(m.bytes, m.num_bytes, &h), CMOJO_WIRE_ERROR_NONE);
    assert_int_equal(h.version, i);
    uint8_t *copy = malloc(m.num_bytes);
    memcpy(copy, m.bytes, m.num_bytes);
    h.request_id = 0x1122334455667788ull;
    assert_int_equal(cmojo_wire_write_header(copy, m.num_bytes, &h), h.num_bytes);
    cmojo_wire_header h2;
    assert_int_equal(cmojo_wire_validate_header(copy, m.num_bytes, &h2), CMOJO_WIRE_ERROR_NONE);
    if (i >= 1) {
      assert_true(h2.request_id == 0x1122334455667788ull);
      memcpy(copy + 24, m.bytes + 24, 8);
    }
    assert_memory_equal(copy, m.bytes, m.num_bytes);
    assert_int_equal(cmojo_wire_write_header(copy, h.num_bytes - 1, &h), 0);
    free(copy);
    cmojo_wire_message_free(&m);
  }
  cmojo_wire_header bad = {.version = 4};
  uint8_t buf[64];
  assert_int_equal(cmojo_wire_write_header(buf, sizeof(buf), &bad), 0);
  bad.version = 2;
  bad.payload_offset = 40; /* inside the header */
  assert_int_equal(cmojo_wire_write_header(buf, sizeof(buf), &bad), 0);
}

/* Fields newer than the sender's version decode as zero/null. */
static void test_old_version_fields(void **state) {
  (void)state;
  static const char text[] =
      "[u4]24 [u4]0 [u4]0 [u4]11 [u4]0 [u4]0 "
      "[u4]16 [u4]0 [dist8]g "
      "[anchr]g [u4]16 [u4]0 [s4]-5 [u4]0xffffffff";
  cm_vinput in;
  char err[64];
  assert_int_equal(cm_vinput_parse(text, strlen(text), &in, err, sizeof(err)), 0);
  void *out;
  const cmojo_wire_struct *t =
      cmojo_wire_find_method(&mojo_test_ConformanceTestInterface_desc, 11)->request;
  assert_int_equal(cmojo_wire_decode_message(in.bytes, in.num_bytes, NULL, 0, t, &out, NULL),
                   MOJO_RESULT_OK);
  mojo_test_StructG *g = ((mojo_test_ConformanceTestInterface_Method11_Params *)out)->param0;
  assert_int_equal(g->i, -5);
  assert_false(g->b); /* bit set in padding, but b is a v3 field */
  assert_null(g->struct_a);
  assert_null(g->str.data);
  cmojo_wire_free(out);
  cm_vinput_free(&in);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_everything),       cmocka_unit_test(test_extensible_defaults),
      cmocka_unit_test(test_exact_method2),    cmocka_unit_test(test_exact_headers),
      cmocka_unit_test(test_exact_associated), cmocka_unit_test(test_exact_nullable_arrays),
      cmocka_unit_test(test_encoder_rejects),  cmocka_unit_test(test_corpus_reencode),
      cmocka_unit_test(test_write_header),     cmocka_unit_test(test_old_version_fields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
