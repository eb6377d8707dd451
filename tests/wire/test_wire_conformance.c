/* Mojo's validation corpus: every `.data` message of
 * shared/conformance/mojo-validation must give the result in its `.expected`
 * file (PASS or the name of the first validation error), through the
 * validator the file-name prefix selects, as Chromium's harness does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmojo/wire.h"
#include "test_support.h"
#include "validation_input.h"
#include "validation_routes.h"

#define CORPUS_DIR CMOJO_SHARED_DIR "/conformance/mojo-validation"
#define CORPUS_SIZE 120

/* Sorted list of corpus base names (without ".data"). */
static char **list_corpus(size_t *count) {
  char **names = cm_vinput_list(CORPUS_DIR, ".data", count);
  assert_non_null(names);
  return names;
}

static char *read_expected(const char *name) {
  char path[512];
  size_t len;
  snprintf(path, sizeof(path), "%s/%s.expected", CORPUS_DIR, name);
  char *text = cm_vinput_read_file(path, &len);
  assert_non_null(text);
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
    text[--len] = 0;
  return text;
}

static cm_vinput load_data(const char *name) {
  char path[512], err[256];
  size_t len;
  snprintf(path, sizeof(path), "%s/%s.data", CORPUS_DIR, name);
  char *text = cm_vinput_read_file(path, &len);
  assert_non_null(text);
  cm_vinput in;
  if (cm_vinput_parse(text, len, &in, err, sizeof(err)) != 0)
    fail_msg("%s: parse error: %s", name, err);
  free(text);
  return in;
}

static const char *result_name(cmojo_wire_error e) {
  return e == CMOJO_WIRE_ERROR_NONE ? "PASS" : cmojo_wire_error_string(e);
}

/* Decoding a vector that passed must work and take only real handles. */
static void check_decode(const char *name, const cm_vinput *in, const cmojo_wire_interface *iface,
                         cmojo_wire_direction direction) {
  cmojo_wire_header h;
  const cmojo_wire_method *m;
  assert_int_equal(cmojo_wire_validate_message(in->bytes, in->num_bytes, in->num_handles, iface,
                                               direction, &h, &m),
                   CMOJO_WIRE_ERROR_NONE);
  if (!m)
    return; /* a control message */
  const cmojo_wire_struct *params = direction == CMOJO_WIRE_RESPONSE ? m->response : m->request;
  MojoHandle handles[16];
  assert_true(in->num_handles <= 16);
  for (uint32_t i = 0; i < in->num_handles; i++)
    handles[i] = 100 + i;
  void *value = NULL;
  cmojo_wire_error err;
  MojoResult r = cmojo_wire_decode_message(in->bytes, in->num_bytes, handles, in->num_handles,
                                           params, &value, &err);
  if (r != MOJO_RESULT_OK)
    fail_msg("%s: decode failed %u", name, r);
  assert_non_null(value);
  cmojo_wire_free(value);
}

static void test_corpus(void **state) {
  (void)state;
  size_t count;
  char **names = list_corpus(&count);
  assert_int_equal(count, CORPUS_SIZE);
  int failures = 0, passes = 0;
  for (size_t i = 0; i < count; i++) {
    const cm_vector_route *r = cm_vector_route_for(names[i]);
    if (!r)
      fail_msg("no validator for %s", names[i]);
    cm_vinput in = load_data(names[i]);
    char *expected = read_expected(names[i]);
    cmojo_wire_error e = cmojo_wire_validate_message(in.bytes, in.num_bytes, in.num_handles,
                                                     r->iface, r->direction, NULL, NULL);
    const char *got = result_name(e);
    if (r->both) {
      cmojo_wire_error e2 = cmojo_wire_validate_message(in.bytes, in.num_bytes, in.num_handles,
                                                        r->iface, CMOJO_WIRE_RESPONSE, NULL, NULL);
      if (e2 != e)
        got = "(request and response disagree)";
    }
    if (strcmp(got, expected) != 0) {
      print_error("MISMATCH %s: expected %s, got %s\n", names[i], expected, got);
      failures++;
    } else if (e == CMOJO_WIRE_ERROR_NONE) {
      check_decode(names[i], &in, r->iface, r->direction);
      passes++;
    }
    free(expected);
    cm_vinput_free(&in);
    free(names[i]);
  }
  free(names);
  print_message("corpus: %zu vectors, %d mismatches, %d PASS decoded\n", count, failures, passes);
  assert_int_equal(failures, 0);
  assert_int_equal(passes, 38);
}

/* The parser itself: each item type, anchors both ways, and errors. */
static void test_parser(void **state) {
  (void)state;
  static const char text[] =
      "[handles]3 // comment\n"
      "[u1]1 2 [u2]0x0304 [u4]5 [u8]6 [s1]-1 [s2]-2 [s4]-3 [s8]-4\n"
      "[b]00000101 [f]1.5 [d]-2.0 [dist4]end [dist8]end [anchr]end";
  static const uint8_t want[] = {
      1,    2,    4,    3,    5,    0,    0,    0,    6,    0,    0,    0,    0,    0,
      0,    0,    0xff, 0xfe, 0xff, 0xfd, 0xff, 0xff, 0xff, 0xfc, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 5,    0,    0,    0xc0, 0x3f, 0,    0,    0,    0,    0,    0,
      0,    0xc0, 12,   0,    0,    0,    8,    0,    0,    0,    0,    0,    0,    0};
  char err[128];
  cm_vinput in;
  assert_int_equal(cm_vinput_parse(text, strlen(text), &in, err, sizeof(err)), 0);
  assert_int_equal(in.num_handles, 3);
  assert_int_equal(in.num_bytes, sizeof(want));
  assert_memory_equal(in.bytes, want, sizeof(want));
  cm_vinput_free(&in);
  static const char *const bad[] = {"[u1]256",        "[u9]1",        "[b]0101",
                                    "[dist4]nowhere", "1 [handles]2", "[anchr]a [anchr]a",
                                    "[s1]128",        "[zz]1",        "[u4]x"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(cm_vinput_parse(bad[i], strlen(bad[i]), &in, err, sizeof(err)), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parser),
      cmocka_unit_test(test_corpus),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
