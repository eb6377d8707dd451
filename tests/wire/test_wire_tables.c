/* The table checker: every table the tests and the runtime use passes it,
 * and each kind of malformed table is caught. */
#include <string.h>

#include "cmojo/wire.h"
#include "cmojo/wire_control.h"
#include "roundtrip.mojom.h"
#include "test_support.h"
#include "validation_routes.h"

#define MAX_SEEN 256

typedef struct walk {
  const void *seen[MAX_SEEN];
  int num_seen;
  int structs, unions, enums;
} walk;

static bool first_visit(walk *w, const void *table) {
  for (int i = 0; i < w->num_seen; i++)
    if (w->seen[i] == table)
      return false;
  assert_true(w->num_seen < MAX_SEEN);
  w->seen[w->num_seen++] = table;
  return true;
}

static void visit_struct(walk *w, const cmojo_wire_struct *st);

/* Follows a type to the tables it refers to, checking each once. */
static void visit_type(walk *w, const cmojo_wire_type *t) {
  if (t->element)
    visit_type(w, t->element);
  if (t->key)
    visit_type(w, t->key);
  if (t->struct_type)
    visit_struct(w, t->struct_type);
  if (t->enum_type && first_visit(w, t->enum_type)) {
    if (cmojo_wire_check_enum(t->enum_type) != MOJO_RESULT_OK)
      fail_msg("bad enum %s", t->enum_type->name);
    w->enums++;
  }
  if (t->union_type && first_visit(w, t->union_type)) {
    const cmojo_wire_union *u = t->union_type;
    if (cmojo_wire_check_union(u) != MOJO_RESULT_OK)
      fail_msg("bad union %s", u->name);
    w->unions++;
    for (uint32_t i = 0; i < u->num_fields; i++)
      visit_type(w, u->fields[i].type);
  }
}

static void visit_struct(walk *w, const cmojo_wire_struct *st) {
  if (!first_visit(w, st))
    return;
  if (cmojo_wire_check_struct(st) != MOJO_RESULT_OK)
    fail_msg("bad struct %s", st->name);
  w->structs++;
  for (uint32_t i = 0; i < st->num_fields; i++)
    visit_type(w, st->fields[i].type);
}

static void test_all_tables_consistent(void **state) {
  (void)state;
  const cmojo_wire_interface *ifaces[] = {&mojo_test_ConformanceTestInterface_desc,
                                          &mojo_test_BoundsCheckTestInterface_desc,
                                          &mojo_test_IntegrationTestInterface_desc,
                                          &mojo_test_AssociatedConformanceTestInterface_desc,
                                          &test_wire_RoundTrip_desc,
                                          &cmojo_wire_interface_control,
                                          &cmojo_wire_pipe_control};
  walk w = {0};
  for (size_t i = 0; i < sizeof(ifaces) / sizeof(ifaces[0]); i++)
    for (uint32_t m = 0; m < ifaces[i]->num_methods; m++) {
      visit_struct(&w, ifaces[i]->methods[m].request);
      if (ifaces[i]->methods[m].response)
        visit_struct(&w, ifaces[i]->methods[m].response);
    }
  print_message("checked %d structs, %d unions, %d enums\n", w.structs, w.unions, w.enums);
  assert_true(w.structs > 50 && w.unions >= 8 && w.enums >= 6);
}

/* Copies of StructG's table with one thing broken at a time. */
static void test_malformed_structs(void **state) {
  (void)state;
  const cmojo_wire_struct *g = &mojo_test_StructG_desc;
  assert_int_equal(cmojo_wire_check_struct(g), MOJO_RESULT_OK);
  cmojo_wire_field fields[4];
  cmojo_wire_version versions[3];
  for (int c = 0; c < 8; c++) {
    memcpy(fields, g->fields, sizeof(fields));
    memcpy(versions, g->versions, sizeof(versions));
    cmojo_wire_struct bad = *g;
    bad.fields = fields;
    bad.versions = versions;
    switch (c) {
      case 0:
        fields[2].offset = 8 + 8;
        break; /* str on struct_a */
      case 1:
        fields[3].bit = 8;
        break; /* bit out of range */
      case 2:
        fields[0].offset = 8 + 2;
        break; /* misaligned int32 */
      case 3:
        fields[2].min_version = 2;
        break; /* no row for v2 */
      case 4:
        fields[1].offset = 8 + 16;
        break; /* past the v1 size */
      case 5:
        versions[1].version = 0;
        break; /* rows not ascending */
      case 6:
        bad.c_size = 8;
        break; /* C members outside */
      case 7:
        fields[0].offset = 4;
        break; /* inside the header */
    }
    if (cmojo_wire_check_struct(&bad) != MOJO_RESULT_INVALID_ARGUMENT)
      fail_msg("case %d not caught", c);
  }
  cmojo_wire_struct no_versions = *g;
  no_versions.num_versions = 0;
  assert_int_equal(cmojo_wire_check_struct(&no_versions), MOJO_RESULT_INVALID_ARGUMENT);
}

static void test_malformed_enums_unions(void **state) {
  (void)state;
  static const int32_t unsorted[] = {1, 0};
  cmojo_wire_enum e = {.name = "E", .values = unsorted, .num_values = 2};
  assert_int_equal(cmojo_wire_check_enum(&e), MOJO_RESULT_INVALID_ARGUMENT);
  static const int32_t sorted[] = {0, 1};
  e.values = sorted;
  assert_int_equal(cmojo_wire_check_enum(&e), MOJO_RESULT_OK);
  e.has_default = 1, e.default_value = 5;
  assert_int_equal(cmojo_wire_check_enum(&e), MOJO_RESULT_INVALID_ARGUMENT);

  static const cmojo_wire_type t_u32 = {.kind = CMOJO_WIRE_KIND_UINT32};
  cmojo_wire_union_field f[2] = {{"a", 0, &t_u32}, {"b", 0, &t_u32}};
  cmojo_wire_union u = {
      .name = "U", .fields = f, .num_fields = 2, .c_size = 16, .c_align = 8, .c_value_offset = 8};
  assert_int_equal(cmojo_wire_check_union(&u), MOJO_RESULT_INVALID_ARGUMENT); /* same tag */
  f[1].tag = 1;
  assert_int_equal(cmojo_wire_check_union(&u), MOJO_RESULT_OK);
  u.extensible = 1, u.default_tag = 4;
  assert_int_equal(cmojo_wire_check_union(&u), MOJO_RESULT_INVALID_ARGUMENT); /* no default */
  u.default_tag = 1;
  assert_int_equal(cmojo_wire_check_union(&u), MOJO_RESULT_OK);
  static const cmojo_wire_type t_bad_array = {.kind = CMOJO_WIRE_KIND_ARRAY};
  f[0].type = &t_bad_array; /* an array without an element type */
  assert_int_equal(cmojo_wire_check_union(&u), MOJO_RESULT_INVALID_ARGUMENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_tables_consistent),
      cmocka_unit_test(test_malformed_structs),
      cmocka_unit_test(test_malformed_enums_unions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
