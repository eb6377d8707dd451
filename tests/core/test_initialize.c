/* MojoInitialize and the state before it, in a process of its own (the core
 * is process-wide, so this program must not initialize it anywhere else). */
#include "mojo/public/c/system/core.h"
#include "test_support.h"

static void test_before_and_after(void **state) {
  (void)state;
  MojoHandle a, b;
  MojoMessageHandle m;
  /* Before initialization everything but the clock refuses politely. */
  assert_true(MojoGetTimeTicksNow() > 0);
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoCreateMessage(NULL, &m), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoClose(1), MOJO_RESULT_FAILED_PRECONDITION);
  MojoHandle p, c;
  assert_int_equal(MojoCreateDataPipe(NULL, &p, &c), MOJO_RESULT_FAILED_PRECONDITION);

  /* A malformed options struct changes nothing. */
  struct MojoInitializeOptions small = {4, 0, 0, 0, 0, 0};
  assert_int_equal(MojoInitialize(&small), MOJO_RESULT_INVALID_ARGUMENT);

  /* Two-phase initialization: LOAD_ONLY once, then the full call. */
  struct MojoInitializeOptions load = {sizeof(load), MOJO_INITIALIZE_FLAG_LOAD_ONLY, 0, 0, 0, 0};
  assert_int_equal(MojoInitialize(&load), MOJO_RESULT_OK);
  assert_int_equal(MojoInitialize(&load), MOJO_RESULT_ALREADY_EXISTS);
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoInitialize(NULL), MOJO_RESULT_OK);

  /* Fully initialized: the API works, and initializing again is refused. */
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(MojoInitialize(NULL), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoInitialize(&load), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoClose(a), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(b), MOJO_RESULT_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_before_and_after)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
