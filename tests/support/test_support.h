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

/* What a fuzz replay test does with one input: `name` its file (or seed)
 * name, `data` and `size` its bytes. */
typedef void (*cm_test_input_fn)(const char *name, const uint8_t *data, size_t size, void *ctx);

/* Calls fn for every file in `dir` (names starting with '.' skipped), in
 * name order, with the file's whole contents in a buffer of exactly its size,
 * so a sanitizer build sees any read past the end. Fails the current test if
 * `dir` or one of its files cannot be read. Returns the number of files. */
size_t cm_test_replay_dir(const char *dir, cm_test_input_fn fn, void *ctx);

/* Writes `data` to the file `dir`/`name` (a fuzz replay test's
 * --write-seeds); exits the process if it cannot. */
void cm_test_write_file(const char *dir, const char *name, const uint8_t *data, size_t size);

#endif /* CMOJO_TESTS_TEST_SUPPORT_H_ */
