/* Helpers shared by the data pipe tests (test_data_pipe.c,
 * test_data_pipe_protocol.c). Static inline in a header rather than in
 * test_support.c, which every test program links, including those of layers
 * below the C API that have no Mojo* functions to call. */
#ifndef CMOJO_TESTS_DATA_PIPE_SUPPORT_H_
#define CMOJO_TESTS_DATA_PIPE_SUPPORT_H_

#include "mojo/public/c/system/core.h"
#include "test_support.h"

static inline void create_pipe(uint32_t element, uint32_t capacity, MojoHandle *p, MojoHandle *c) {
  struct MojoCreateDataPipeOptions o = {sizeof(o), 0, element, capacity};
  assert_int_equal(MojoCreateDataPipe(&o, p, c), MOJO_RESULT_OK);
}

static inline struct MojoHandleSignalsState signals_of(MojoHandle h) {
  struct MojoHandleSignalsState s;
  assert_int_equal(MojoQueryHandleSignalsState(h, &s), MOJO_RESULT_OK);
  return s;
}

static inline void assert_signals(MojoHandle h, MojoHandleSignals satisfied,
                                  MojoHandleSignals satisfiable) {
  struct MojoHandleSignalsState s = signals_of(h);
  assert_int_equal(s.satisfied_signals, satisfied);
  assert_int_equal(s.satisfiable_signals, satisfiable);
}

static inline MojoResult write_flags(MojoHandle p, const void *b, uint32_t *n,
                                     MojoWriteDataFlags flags) {
  struct MojoWriteDataOptions o = {sizeof(o), flags};
  return MojoWriteData(p, b, n, &o);
}

static inline MojoResult read_flags(MojoHandle c, void *b, uint32_t *n, MojoReadDataFlags flags) {
  struct MojoReadDataOptions o = {sizeof(o), flags};
  return MojoReadData(c, &o, b, n);
}

/* Writes exactly n bytes (asserting they all fit). */
static inline void write_all(MojoHandle p, const void *b, uint32_t n) {
  uint32_t k = n;
  assert_int_equal(write_flags(p, b, &k, MOJO_WRITE_DATA_FLAG_ALL_OR_NONE), MOJO_RESULT_OK);
  assert_int_equal(k, n);
}

/* The number of bytes readable on consumer `c`. */
static inline uint32_t query(MojoHandle c) {
  uint32_t n = 12345;
  assert_int_equal(read_flags(c, NULL, &n, MOJO_READ_DATA_FLAG_QUERY), MOJO_RESULT_OK);
  return n;
}

static inline void close_all(MojoHandle a, MojoHandle b) {
  assert_int_equal(MojoClose(a), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(b), MOJO_RESULT_OK);
}

#endif /* CMOJO_TESTS_DATA_PIPE_SUPPORT_H_ */
