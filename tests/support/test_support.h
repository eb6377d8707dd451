/* Helpers shared by the test programs: cmocka, plus the counts of what a
 * process holds (fds, memory mappings) that tests compare before and after. */
#ifndef CMOJO_TESTS_TEST_SUPPORT_H_
#define CMOJO_TESTS_TEST_SUPPORT_H_

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Number of open file descriptors of this process (entries of /proc/self/fd,
 * not counting the one used to list them). */
int cm_test_count_open_fds(void);

/* Number of memory mappings of this process (lines of /proc/self/maps). */
int cm_test_count_mappings(void);

/* A seed for randomized tests: CMOJO_TEST_SEED from the environment when set,
 * else `fallback`. Tests print the seed they use so a failure can be replayed. */
uint64_t cm_test_seed(uint64_t fallback);

#endif /* CMOJO_TESTS_TEST_SUPPORT_H_ */
