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

/* Number of shared memory mappings of this process (lines of
 * /proc/self/maps naming a memfd). Counting only these, rather than every
 * mapping, keeps the check exact under sanitizers, whose allocators map
 * memory as they please. */
int cm_test_count_shm_mappings(void);

/* cmocka setup/teardown pair that fails a test which leaves more (or fewer)
 * open fds or shared memory mappings than it found. */
int cm_test_setup_resources(void **state);
int cm_test_teardown_resources(void **state);

/* A seed for randomized tests: CMOJO_TEST_SEED from the environment when set,
 * else `fallback`. Tests print the seed they use so a failure can be replayed. */
uint64_t cm_test_seed(uint64_t fallback);

#endif /* CMOJO_TESTS_TEST_SUPPORT_H_ */
