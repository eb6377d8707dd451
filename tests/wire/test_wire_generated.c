/* What mojomc's generated C does at run time, on the emitter's golden input
 * (tests/mojomc_emit/input/emit/everything.mojom, generated at build time):
 * constants have their mojom values, enum checks know the declared values,
 * every generated table passes the runtime's checker, and the typed
 * wrappers build messages that the interface's validator accepts (method,
 * flags, request id, handles) and that decode back to what was sent. */
#include <math.h>
#include <string.h>

#include "cmojo/wire.h"
#include "emit/everything.mojom.h"
#include "test_support.h"

#define ARR(a) \
  { (uint32_t)(sizeof(a) / sizeof((a)[0])), (a) }

static cmojo_array str(const char *s) {
  cmojo_array a = {(uint32_t)strlen(s), (void *)s};
  return a;
}

static void assert_str(cmojo_array a, const char *s) {
  assert_non_null(a.data);
  assert_int_equal(a.count, strlen(s));
  assert_memory_equal(a.data, s, a.count);
}

static void test_constants(void **state) {
  (void)state;
  assert_true(emit_test_kFlag);
  assert_int_equal(emit_test_kInt8Min, INT8_MIN);
  assert_int_equal(emit_test_kInt16, -300);
  assert_true(emit_test_kInt32Min == INT32_MIN);
  assert_true(emit_test_kUint32Max == UINT32_MAX);
  assert_true(emit_test_kInt64Min == INT64_MIN);
  assert_true(emit_test_kUint64Max == UINT64_MAX);
  assert_true(emit_test_kFloat == 1.5f);
  assert_true(emit_test_kDouble == -2.0);
  assert_true(isinf(emit_test_kInfinity) && emit_test_kInfinity > 0);
  assert_true(isinf(emit_test_kNegInfinity) && emit_test_kNegInfinity < 0);
  assert_true(isnan(emit_test_kNan));
  assert_string_equal(emit_test_kText, "tab\there \"quoted\" back\\slash ?\?= end");
  assert_int_equal(emit_test_kColor, emit_shared_Color_GREEN);
  assert_int_equal(emit_test_Keywords_kInside, 7);
  assert_int_equal(emit_test_Service_kLimit, 10);
}

static void test_enums(void **state) {
  (void)state;
  assert_true(emit_test_Level_LOW == INT32_MIN && emit_test_Level_HIGH == INT32_MAX);
  assert_int_equal(emit_test_Level_ALSO_MID, emit_test_Level_MID);
  assert_true(emit_test_Level_is_known(INT32_MIN) && emit_test_Level_is_known(INT32_MAX));
  assert_false(emit_test_Level_is_known(1));
  assert_true(emit_test_Open_is_known(emit_test_Open_TWO) && emit_test_Open_TWO == 5);
  assert_false(emit_test_Open_is_known(2));
  assert_false(emit_test_Nothing_is_known(0));
  /* Tables: distinct sorted values, extensibility and default. */
  assert_int_equal(emit_test_Level_desc.num_values, 3);
  assert_int_equal(emit_test_Level_desc.values[0], INT32_MIN);
  assert_true(emit_test_Open_desc.extensible && emit_test_Open_desc.has_default);
  assert_int_equal(emit_test_Open_desc.default_value, emit_test_Open_UNKNOWN);
  assert_int_equal(emit_test_Nothing_desc.num_values, 0);
  assert_true(emit_test_OpenChoice_desc.extensible);
  assert_int_equal(emit_test_Choice_desc.fields[emit_test_Choice_Tag_list].tag, 4);
}

static void test_defaults(void **state) {
  (void)state;
  emit_test_Defaults d;
  memset(&d, 0xAB, sizeof d);
  emit_test_Defaults_init(&d);
  assert_int_equal(d.small, -5);
  assert_true(d.big == UINT64_MAX);
  assert_true(d.yes);
  assert_true(d.ratio == 0.25f);
  assert_true(isinf(d.inf));
  assert_str(d.greeting, "hi\n");
  assert_int_equal(d.level, emit_test_Level_HIGH);
  assert_true(d.maybe.has_value && d.maybe.value == 3);
  assert_null(d.empty); /* `= default` of a struct: left to the caller */
  assert_int_equal(d.none, 0);
}

static void test_tables_pass_checker(void **state) {
  (void)state;
  const cmojo_wire_struct *structs[] = {&emit_test_Empty_desc,      &emit_test_Keywords_desc,
                                        &emit_test_Versioned_desc,  &emit_test_Handles_desc,
                                        &emit_test_Containers_desc, &emit_shared_Point_desc};
  for (size_t i = 0; i < sizeof(structs) / sizeof(structs[0]); i++)
    assert_int_equal(cmojo_wire_check_struct(structs[i]), MOJO_RESULT_OK);
  const cmojo_wire_interface *ifaces[] = {&emit_test_Service_desc, &emit_shared_Listener_desc};
  for (size_t i = 0; i < 2; i++)
    for (uint32_t m = 0; m < ifaces[i]->num_methods; m++) {
      assert_int_equal(cmojo_wire_check_struct(ifaces[i]->methods[m].request), MOJO_RESULT_OK);
      if (ifaces[i]->methods[m].response)
        assert_int_equal(cmojo_wire_check_struct(ifaces[i]->methods[m].response), MOJO_RESULT_OK);
    }
  const cmojo_wire_union *unions[] = {&emit_test_Choice_desc, &emit_test_OpenChoice_desc,
                                      &emit_shared_Value_desc};
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(cmojo_wire_check_union(unions[i]), MOJO_RESULT_OK);
  const cmojo_wire_enum *enums[] = {&emit_test_Level_desc,        &emit_test_Open_desc,
                                    &emit_test_Nothing_desc,      &emit_test_Keywords_Inner_desc,
                                    &emit_test_Service_Mode_desc, &emit_shared_Color_desc};
  for (size_t i = 0; i < 6; i++)
    assert_int_equal(cmojo_wire_check_enum(enums[i]), MOJO_RESULT_OK);
  assert_int_equal(emit_test_Service_desc.version, 3);
  assert_int_equal(emit_test_Versioned_desc.num_versions, 3);
}

/* Validates `m` as a message of Service and returns the header. */
static cmojo_wire_header expect_valid(const cmojo_wire_message *m, cmojo_wire_direction direction,
                                      uint32_t ordinal) {
  cmojo_wire_header h;
  const cmojo_wire_method *method = NULL;
  assert_int_equal(cmojo_wire_validate_message(m->bytes, m->num_bytes, m->num_handles,
                                               &emit_test_Service_desc, direction, &h, &method),
                   CMOJO_WIRE_ERROR_NONE);
  assert_non_null(method);
  assert_int_equal(method->ordinal, ordinal);
  return h;
}

static void test_echo(void **state) {
  (void)state;
  cmojo_wire_message m;
  assert_int_equal(
      emit_test_Service_Echo_build_request(0, 41, str("hello"), emit_test_Service_Mode_SLOW, &m),
      MOJO_RESULT_OK);
  cmojo_wire_header h = expect_valid(&m, CMOJO_WIRE_REQUEST, emit_test_Service_Echo_ORDINAL);
  assert_int_equal(h.flags, CMOJO_WIRE_FLAG_EXPECTS_RESPONSE | CMOJO_WIRE_FLAG_IS_SYNC);
  assert_int_equal(h.request_id, 41);
  emit_test_Service_Echo_Params *p = NULL;
  assert_int_equal(emit_test_Service_Echo_decode_request(m.bytes, m.num_bytes, NULL, 0, &p, NULL),
                   MOJO_RESULT_OK);
  assert_str(p->text, "hello");
  assert_int_equal(p->mode, emit_test_Service_Mode_SLOW);
  cmojo_wire_free(p);
  cmojo_wire_message_free(&m);

  assert_int_equal(emit_test_Service_Echo_build_response(0, 41, str("olleh"), &m), MOJO_RESULT_OK);
  h = expect_valid(&m, CMOJO_WIRE_RESPONSE, emit_test_Service_Echo_ORDINAL);
  assert_int_equal(h.flags, CMOJO_WIRE_FLAG_IS_RESPONSE | CMOJO_WIRE_FLAG_IS_SYNC);
  assert_int_equal(h.request_id, 41);
  emit_test_Service_Echo_ResponseParams *r = NULL;
  assert_int_equal(emit_test_Service_Echo_decode_response(m.bytes, m.num_bytes, NULL, 0, &r, NULL),
                   MOJO_RESULT_OK);
  assert_str(r->text, "olleh");
  cmojo_wire_free(r);
  cmojo_wire_message_free(&m);
}

static void test_empty_params_and_keywords(void **state) {
  (void)state;
  cmojo_wire_message m;
  assert_int_equal(emit_test_Service_Ping_build_request(0, &m), MOJO_RESULT_OK);
  cmojo_wire_header h = expect_valid(&m, CMOJO_WIRE_REQUEST, emit_test_Service_Ping_ORDINAL);
  assert_int_equal(h.version, 0);
  assert_int_equal(h.flags, 0);
  assert_int_equal(m.num_bytes, CMOJO_WIRE_HEADER_V0_SIZE + 8); /* header + empty struct */
  cmojo_wire_message_free(&m);

  emit_test_Keywords k = {-1, true, {0, NULL}};
  assert_int_equal(emit_test_Service_Quiet_build_request(0, 2, &k, &m), MOJO_RESULT_OK);
  h = expect_valid(&m, CMOJO_WIRE_REQUEST, emit_test_Service_Quiet_ORDINAL);
  assert_int_equal(h.flags, CMOJO_WIRE_FLAG_EXPECTS_RESPONSE | CMOJO_WIRE_FLAG_IS_SYNC |
                                CMOJO_WIRE_FLAG_NO_INTERRUPT);
  emit_test_Service_Quiet_Params *p = NULL;
  assert_int_equal(emit_test_Service_Quiet_decode_request(m.bytes, m.num_bytes, NULL, 0, &p, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(p->keywords->auto_, -1);
  assert_true(p->keywords->class_);
  assert_null(p->keywords->register_.data); /* string? sent as null */
  cmojo_wire_free(p);
  cmojo_wire_message_free(&m);
  /* A null non-nullable struct is refused, as the receiver would refuse it. */
  assert_int_equal(emit_test_Service_Quiet_build_request(0, 2, NULL, &m),
                   MOJO_RESULT_INVALID_ARGUMENT);
}

static void test_handles(void **state) {
  (void)state;
  emit_test_Handles hs = {.any = 11,
                          .pipe = MOJO_HANDLE_INVALID,
                          .consumer = 12,
                          .producer = 13,
                          .buffer = 14,
                          .platform = 15,
                          .remote = {16, 2},
                          .receiver = MOJO_HANDLE_INVALID,
                          .assoc_remote = {0x80000005u, 1},
                          .assoc_receiver = CMOJO_WIRE_INVALID_INTERFACE_ID};
  emit_test_OpenChoice choice = {emit_test_OpenChoice_Tag_name, {.name = {3, "abc"}}};
  cmojo_wire_message m;
  assert_int_equal(emit_test_Service_Later_build_request(7, &hs, &choice, &m), MOJO_RESULT_OK);
  assert_int_equal(m.num_handles, 6);
  cmojo_wire_header h = expect_valid(&m, CMOJO_WIRE_REQUEST, emit_test_Service_Later_ORDINAL);
  assert_int_equal(h.version, 2); /* an associated endpoint forces the id array */
  assert_int_equal(h.interface_id, 7);
  assert_int_equal(h.num_interface_ids, 1);
  emit_test_Service_Later_Params *p = NULL;
  assert_int_equal(emit_test_Service_Later_decode_request(m.bytes, m.num_bytes, m.handles,
                                                          m.num_handles, &p, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(p->handles->any, 11);
  assert_int_equal(p->handles->pipe, MOJO_HANDLE_INVALID);
  assert_int_equal(p->handles->platform, 15);
  assert_int_equal(p->handles->remote.handle, 16);
  assert_int_equal(p->handles->remote.version, 2);
  assert_int_equal(p->handles->assoc_remote.interface_id, 0x80000005u);
  assert_int_equal(p->choice->tag, emit_test_OpenChoice_Tag_name);
  assert_str(p->choice->value.name, "abc");
  for (uint32_t i = 0; i < m.num_handles; i++)
    assert_int_equal(m.handles[i], MOJO_HANDLE_INVALID); /* all taken by the value */
  cmojo_wire_free(p);
  cmojo_wire_message_free(&m);
}

static void test_containers_and_versions(void **state) {
  (void)state;
  emit_shared_Point pts[] = {{1, 2}, {-3, 4}};
  emit_shared_Point *pt_ptrs[] = {&pts[0], &pts[1]}; /* struct elements are pointers */
  cmojo_opt_bool row[] = {{true, false}, {false, false}};
  cmojo_array grid[] = {ARR(row), ARR(row), {0, NULL}, ARR(row)};
  cmojo_array keys[] = {{1, "k"}};
  emit_shared_Value v = {emit_shared_Value_Tag_number, {.number = -9}};
  emit_shared_Value *vals[] = {&v};
  emit_shared_Color colors[] = {emit_shared_Color_BLUE};
  cmojo_opt_double ds[] = {{true, 0.25}};
  cmojo_array per_color[] = {ARR(ds)};
  emit_test_Choice choice = {emit_test_Choice_Tag_color, {.color = emit_shared_Color_RED}};
  emit_test_Containers c = {ARR(pt_ptrs),           {4, grid}, {1, keys, vals},
                            {1, colors, per_color}, &v,        &choice};
  cmojo_wire_message m;
  assert_int_equal(emit_test_Service_Fire_build_request(0, 9, &c, &m), MOJO_RESULT_OK);
  expect_valid(&m, CMOJO_WIRE_REQUEST, emit_test_Service_Fire_ORDINAL);
  emit_test_Service_Fire_Params *p = NULL;
  assert_int_equal(emit_test_Service_Fire_decode_request(m.bytes, m.num_bytes, NULL, 0, &p, NULL),
                   MOJO_RESULT_OK);
  emit_test_Containers *g = p->containers;
  assert_int_equal(g->points.count, 2);
  assert_int_equal(((emit_shared_Point **)g->points.data)[1]->x, -3);
  assert_int_equal(g->grid.count, 4);
  /* Inner arrays are not nullable: {0, NULL} went out as empty. */
  assert_int_equal(((cmojo_array *)g->grid.data)[2].count, 0);
  assert_non_null(((cmojo_array *)g->grid.data)[2].data);
  assert_true(((cmojo_opt_bool *)((cmojo_array *)g->grid.data)[0].data)[0].has_value);
  assert_int_equal(((emit_shared_Value **)g->values.values)[0]->value.number, -9);
  assert_int_equal(((emit_shared_Color *)g->by_color.keys)[0], emit_shared_Color_BLUE);
  assert_int_equal(g->choice->value.color, emit_shared_Color_RED);
  cmojo_wire_free(p);
  cmojo_wire_message_free(&m);
  /* A fixed-size array of the wrong length is refused. */
  c.grid.count = 3;
  assert_int_equal(emit_test_Service_Fire_build_request(0, 9, &c, &m),
                   MOJO_RESULT_INVALID_ARGUMENT);

  /* The response carries a versioned struct with nullable values. */
  emit_test_Versioned ver = {.a = 1,
                             .b = true,
                             .c = {true, 200},
                             .p = &pts[0],
                             .level = {true, emit_test_Level_HIGH},
                             .opens = {0, NULL}};
  assert_int_equal(emit_test_Service_Fire_build_response(0, 9, &ver, true, &m), MOJO_RESULT_OK);
  expect_valid(&m, CMOJO_WIRE_RESPONSE, emit_test_Service_Fire_ORDINAL);
  emit_test_Service_Fire_ResponseParams *r = NULL;
  assert_int_equal(emit_test_Service_Fire_decode_response(m.bytes, m.num_bytes, NULL, 0, &r, NULL),
                   MOJO_RESULT_OK);
  assert_true(r->ok);
  assert_true(r->result->c.has_value && r->result->c.value == 200);
  assert_int_equal(r->result->level.value, emit_test_Level_HIGH);
  assert_int_equal(r->result->p->y, 2);
  assert_null(r->result->opens.data);
  cmojo_wire_free(r);
  cmojo_wire_message_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_constants), cmocka_unit_test(test_enums),
      cmocka_unit_test(test_defaults),  cmocka_unit_test(test_tables_pass_checker),
      cmocka_unit_test(test_echo),      cmocka_unit_test(test_empty_params_and_keywords),
      cmocka_unit_test(test_handles),   cmocka_unit_test(test_containers_and_versions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
