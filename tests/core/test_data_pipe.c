/* Data pipes through the C API: creation options, copying and two-phase
 * reads and writes with every flag, element sizes, wrap-around of the ring,
 * signals (NEW_DATA_READABLE, PEER_CLOSED ordering), transfer of either end
 * through a message pipe, and BUSY while in a two-phase operation (a peer
 * that breaks the control protocol: test_data_pipe_protocol.c). Every test
 * must leave the process's fd and shared memory mapping counts where it found
 * them. */
#include "data_pipe_support.h"

#include <stdio.h>
#include <string.h>

#include "mojo/public/c/system/core.h"

#define P MOJO_RESULT_OK
#define SIG_R MOJO_HANDLE_SIGNAL_READABLE
#define SIG_W MOJO_HANDLE_SIGNAL_WRITABLE
#define SIG_PC MOJO_HANDLE_SIGNAL_PEER_CLOSED
#define SIG_NEW MOJO_HANDLE_SIGNAL_NEW_DATA_READABLE
#define SIG_REMOTE MOJO_HANDLE_SIGNAL_PEER_REMOTE

/* ---- Fixtures and helpers ----------------------------------------------- */

/* Reads exactly n bytes and compares them with `expect`. */
static void read_expect(MojoHandle c, const void *expect, uint32_t n) {
  unsigned char buf[256];
  assert_true(n <= sizeof(buf));
  uint32_t k = n;
  assert_int_equal(read_flags(c, buf, &k, MOJO_READ_DATA_FLAG_ALL_OR_NONE), P);
  assert_int_equal(k, n);
  assert_memory_equal(buf, expect, n);
}

/* Sends handle `h` in a message on `from` and returns its new value,
 * received on `to`. */
static MojoHandle pass_handle(MojoHandle from, MojoHandle to, MojoHandle h) {
  MojoMessageHandle m;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  assert_int_equal(MojoCreateMessage(NULL, &m), P);
  assert_int_equal(MojoAppendMessageData(m, 0, &h, 1, &commit, NULL, NULL), P);
  assert_int_equal(MojoWriteMessage(from, m, NULL), P);
  assert_int_equal(MojoReadMessage(to, NULL, &m), P);
  MojoHandle out = MOJO_HANDLE_INVALID;
  uint32_t nh = 1;
  void *buf;
  uint32_t nb;
  assert_int_equal(MojoGetMessageData(m, NULL, &buf, &nb, &out, &nh), P);
  assert_int_equal(nh, 1);
  assert_int_equal(MojoDestroyMessage(m), P);
  return out;
}

/* ---- Creation ----------------------------------------------------------- */

static void test_create_options(void **state) {
  (void)state;
  MojoHandle p = 0, c = 0;
  assert_int_equal(MojoCreateDataPipe(NULL, &p, &c), P);
  assert_int_not_equal(p, c);
  /* Default capacity: 64 KiB of 1-byte elements. */
  static unsigned char big[64 * 1024 + 1];
  uint32_t n = sizeof(big);
  assert_int_equal(write_flags(p, big, &n, MOJO_WRITE_DATA_FLAG_ALL_OR_NONE),
                   MOJO_RESULT_OUT_OF_RANGE);
  write_all(p, big, 64 * 1024);
  close_all(p, c);

  struct MojoCreateDataPipeOptions o = {sizeof(o), 0, 1, 0};
  MojoHandle untouched = 77;
  p = c = untouched;
  o.struct_size = 4;
  assert_int_equal(MojoCreateDataPipe(&o, &p, &c), MOJO_RESULT_INVALID_ARGUMENT);
  o = (struct MojoCreateDataPipeOptions){sizeof(o), 0, 0, 0};
  assert_int_equal(MojoCreateDataPipe(&o, &p, &c), MOJO_RESULT_INVALID_ARGUMENT);
  o = (struct MojoCreateDataPipeOptions){sizeof(o), 0, 4, 10};
  assert_int_equal(MojoCreateDataPipe(&o, &p, &c), MOJO_RESULT_INVALID_ARGUMENT);
  o = (struct MojoCreateDataPipeOptions){sizeof(o), 0, 8, 4};
  assert_int_equal(MojoCreateDataPipe(&o, &p, &c), MOJO_RESULT_INVALID_ARGUMENT);
  o = (struct MojoCreateDataPipeOptions){sizeof(o), 1, 1, 0};
  assert_int_equal(MojoCreateDataPipe(&o, &p, &c), MOJO_RESULT_UNIMPLEMENTED);
  o = (struct MojoCreateDataPipeOptions){sizeof(o), 0, 1, 0xFFFFFFFFu};
  assert_int_equal(MojoCreateDataPipe(&o, &p, &c), MOJO_RESULT_RESOURCE_EXHAUSTED);
  o = (struct MojoCreateDataPipeOptions){sizeof(o), 0, 1, 16};
  assert_int_equal(MojoCreateDataPipe(&o, NULL, &c), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoCreateDataPipe(&o, &p, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(p, untouched);
  assert_int_equal(c, untouched);

  /* Fields beyond struct_size take defaults: 8 bytes = flags only. */
  o = (struct MojoCreateDataPipeOptions){8, 0, 0, 3};
  assert_int_equal(MojoCreateDataPipe(&o, &p, &c), P);
  write_all(p, big, 64 * 1024);
  close_all(p, c);

  /* Default capacity rounds down to whole elements... */
  create_pipe(3, 0, &p, &c);
  n = 65535;
  assert_int_equal(write_flags(p, big, &n, 0), P);
  assert_int_equal(n, 65535);
  n = 3;
  assert_int_equal(write_flags(p, big, &n, 0), MOJO_RESULT_SHOULD_WAIT);
  close_all(p, c);
  /* ...and is one element when an element is larger than 64 KiB. */
  create_pipe(sizeof(big), 0, &p, &c);
  write_all(p, big, sizeof(big));
  assert_int_equal(query(c), sizeof(big));
  close_all(p, c);
}

/* ---- Copying writes and reads ------------------------------------------- */

static void test_write_read_basic(void **state) {
  (void)state;
  MojoHandle p, c, mp0, mp1;
  create_pipe(1, 16, &p, &c);
  assert_int_equal(MojoCreateMessagePipe(NULL, &mp0, &mp1), P);
  unsigned char buf[16];
  uint32_t n = sizeof(buf);
  assert_int_equal(MojoReadData(c, NULL, buf, &n), MOJO_RESULT_SHOULD_WAIT);
  n = 5;
  assert_int_equal(MojoWriteData(p, "hello", &n, NULL), P);
  assert_int_equal(n, 5);
  n = 0;
  assert_int_equal(MojoWriteData(p, NULL, &n, NULL), P); /* 0 bytes: nothing */
  assert_int_equal(query(c), 5);
  n = sizeof(buf);
  assert_int_equal(MojoReadData(c, NULL, buf, &n), P);
  assert_int_equal(n, 5);
  assert_memory_equal(buf, "hello", 5);
  n = sizeof(buf);
  assert_int_equal(MojoReadData(c, NULL, buf, &n), MOJO_RESULT_SHOULD_WAIT);

  /* Argument errors. */
  n = 3;
  assert_int_equal(MojoWriteData(p, NULL, &n, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoWriteData(p, "abc", NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoWriteData(c, "abc", &n, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoWriteData(mp0, "abc", &n, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoWriteData(MOJO_HANDLE_INVALID, "abc", &n, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoWriteDataOptions bad_w = {4, 0};
  assert_int_equal(MojoWriteData(p, "abc", &n, &bad_w), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoReadData(p, NULL, buf, &n), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoReadData(mp1, NULL, buf, &n), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoReadData(c, NULL, buf, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoReadData(c, NULL, NULL, &n), MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoReadDataOptions bad_r = {4, 0};
  assert_int_equal(MojoReadData(c, &bad_r, buf, &n), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(query(c), 0); /* nothing above touched the pipe */

  /* Partial write when not all fits; SHOULD_WAIT when full. */
  n = 20;
  unsigned char src[20];
  for (int i = 0; i < 20; i++)
    src[i] = (unsigned char)i;
  assert_int_equal(MojoWriteData(p, src, &n, NULL), P);
  assert_int_equal(n, 16);
  n = 1;
  assert_int_equal(MojoWriteData(p, src, &n, NULL), MOJO_RESULT_SHOULD_WAIT);
  read_expect(c, src, 16);
  close_all(p, c);
  close_all(mp0, mp1);
  /* Closed handles are gone. */
  assert_int_equal(MojoWriteData(p, src, &n, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoClose(p), MOJO_RESULT_INVALID_ARGUMENT);
}

static void test_element_size(void **state) {
  (void)state;
  MojoHandle p, c;
  create_pipe(4, 16, &p, &c);
  const char *src = "0123456789abcdefghij";
  uint32_t n = 3;
  assert_int_equal(MojoWriteData(p, src, &n, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  n = 20;
  assert_int_equal(MojoWriteData(p, src, &n, NULL), P);
  assert_int_equal(n, 16); /* whole elements only */
  char buf[16];
  n = 6;
  assert_int_equal(MojoReadData(c, NULL, buf, &n), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(read_flags(c, NULL, &n, MOJO_READ_DATA_FLAG_DISCARD),
                   MOJO_RESULT_INVALID_ARGUMENT);
  n = 8;
  assert_int_equal(MojoReadData(c, NULL, buf, &n), P);
  assert_memory_equal(buf, "01234567", 8);
  /* Two-phase ends must be whole elements too. */
  void *w;
  assert_int_equal(MojoBeginWriteData(p, NULL, &w, &n), P);
  assert_int_equal(n, 8);
  assert_int_equal(MojoEndWriteData(p, 2, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  const void *r;
  assert_int_equal(MojoBeginReadData(c, NULL, &r, &n), P);
  assert_int_equal(n, 8);
  assert_int_equal(MojoEndReadData(c, 5, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(query(c), 8);
  close_all(p, c);
}

static void test_all_or_none(void **state) {
  (void)state;
  MojoHandle p, c;
  create_pipe(1, 10, &p, &c);
  uint32_t n = 11;
  char buf[16];
  assert_int_equal(write_flags(p, "abcdefghijk", &n, MOJO_WRITE_DATA_FLAG_ALL_OR_NONE),
                   MOJO_RESULT_OUT_OF_RANGE);
  assert_int_equal(query(c), 0);
  write_all(p, "abcdef", 6);
  n = 5;
  assert_int_equal(write_flags(p, "ghijk", &n, MOJO_WRITE_DATA_FLAG_ALL_OR_NONE),
                   MOJO_RESULT_OUT_OF_RANGE);
  n = 7;
  assert_int_equal(read_flags(c, buf, &n, MOJO_READ_DATA_FLAG_ALL_OR_NONE),
                   MOJO_RESULT_OUT_OF_RANGE);
  n = 7;
  assert_int_equal(
      read_flags(c, NULL, &n, MOJO_READ_DATA_FLAG_ALL_OR_NONE | MOJO_READ_DATA_FLAG_DISCARD),
      MOJO_RESULT_OUT_OF_RANGE);
  n = 0;
  assert_int_equal(read_flags(c, buf, &n, MOJO_READ_DATA_FLAG_ALL_OR_NONE), P);
  assert_int_equal(n, 0);
  n = 2;
  assert_int_equal(
      read_flags(c, NULL, &n, MOJO_READ_DATA_FLAG_ALL_OR_NONE | MOJO_READ_DATA_FLAG_DISCARD), P);
  assert_int_equal(query(c), 4);
  assert_int_equal(MojoClose(p), P);
  /* Producer gone: what is missing will never come. */
  n = 5;
  assert_int_equal(read_flags(c, buf, &n, MOJO_READ_DATA_FLAG_ALL_OR_NONE),
                   MOJO_RESULT_FAILED_PRECONDITION);
  read_expect(c, "cdef", 4);
  n = 1;
  assert_int_equal(MojoReadData(c, NULL, buf, &n), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoClose(c), P);
}

static void test_peek_discard_query(void **state) {
  (void)state;
  MojoHandle p, c;
  create_pipe(1, 8, &p, &c);
  write_all(p, "abcdef", 6);
  char buf[8];
  uint32_t n = 3;
  assert_int_equal(read_flags(c, buf, &n, MOJO_READ_DATA_FLAG_PEEK), P);
  assert_int_equal(n, 3);
  assert_memory_equal(buf, "abc", 3);
  assert_int_equal(query(c), 6);
  n = 2;
  assert_int_equal(read_flags(c, NULL, &n, MOJO_READ_DATA_FLAG_DISCARD), P);
  assert_int_equal(n, 2);
  n = 8;
  assert_int_equal(read_flags(c, buf, &n, MOJO_READ_DATA_FLAG_PEEK), P);
  assert_int_equal(n, 4);
  assert_memory_equal(buf, "cdef", 4);
  /* Mutually exclusive modes, NULL buffer for a copying read. */
  const MojoReadDataFlags bad[] = {
      MOJO_READ_DATA_FLAG_QUERY | MOJO_READ_DATA_FLAG_PEEK,
      MOJO_READ_DATA_FLAG_QUERY | MOJO_READ_DATA_FLAG_DISCARD,
      MOJO_READ_DATA_FLAG_DISCARD | MOJO_READ_DATA_FLAG_PEEK,
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    n = 1;
    assert_int_equal(read_flags(c, buf, &n, bad[i]), MOJO_RESULT_INVALID_ARGUMENT);
  }
  n = 1;
  assert_int_equal(read_flags(c, NULL, &n, MOJO_READ_DATA_FLAG_PEEK), MOJO_RESULT_INVALID_ARGUMENT);
  /* QUERY ignores ALL_OR_NONE and the input size. */
  n = 999;
  assert_int_equal(
      read_flags(c, NULL, &n, MOJO_READ_DATA_FLAG_QUERY | MOJO_READ_DATA_FLAG_ALL_OR_NONE), P);
  assert_int_equal(n, 4);
  n = 4;
  assert_int_equal(read_flags(c, NULL, &n, MOJO_READ_DATA_FLAG_DISCARD), P);
  assert_int_equal(MojoClose(p), P);
  assert_int_equal(query(c), 0); /* empty and closed: QUERY still succeeds */
  n = 1;
  assert_int_equal(read_flags(c, buf, &n, MOJO_READ_DATA_FLAG_PEEK),
                   MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoClose(c), P);
}

/* ---- Ring wrap-around ---------------------------------------------------- */

static void test_wraparound(void **state) {
  (void)state;
  MojoHandle p, c;
  create_pipe(2, 14, &p, &c);
  unsigned char src[64], dst[64];
  uint8_t next_w = 0, next_r = 0;
  /* Odd-sized steps walk the offsets through every position of the ring. */
  for (int round = 0; round < 200; round++) {
    uint32_t want = (uint32_t)(2 * (1 + round % 7));
    for (uint32_t i = 0; i < want; i++)
      src[i] = (uint8_t)(next_w + i);
    uint32_t n = want;
    MojoResult rv = MojoWriteData(p, src, &n, NULL);
    assert_true(rv == P || rv == MOJO_RESULT_SHOULD_WAIT);
    if (rv == P)
      next_w = (uint8_t)(next_w + n);
    n = (uint32_t)(2 * (1 + round % 5));
    rv = MojoReadData(c, NULL, dst, &n);
    assert_true(rv == P || rv == MOJO_RESULT_SHOULD_WAIT);
    for (uint32_t i = 0; rv == P && i < n; i++)
      assert_int_equal(dst[i], (uint8_t)(next_r + i));
    if (rv == P)
      next_r = (uint8_t)(next_r + n);
  }
  /* Two-phase near the end of the ring offers only the part before it. */
  uint32_t n = 64;
  assert_int_equal(read_flags(c, NULL, &n, MOJO_READ_DATA_FLAG_DISCARD), P);
  n = 10;
  assert_int_equal(MojoWriteData(p, src, &n, NULL), P);
  n = 10;
  assert_int_equal(read_flags(c, NULL, &n, MOJO_READ_DATA_FLAG_DISCARD), P);
  void *w;
  assert_int_equal(MojoBeginWriteData(p, NULL, &w, &n), P);
  uint32_t tail = n;
  assert_true(tail < 14);
  memset(w, 0xAB, tail);
  assert_int_equal(MojoEndWriteData(p, tail, NULL), P);
  assert_int_equal(MojoBeginWriteData(p, NULL, &w, &n), P); /* from the start */
  assert_int_equal(n, 14 - tail);
  memset(w, 0xCD, n);
  assert_int_equal(MojoEndWriteData(p, n, NULL), P);
  const void *r;
  assert_int_equal(MojoBeginReadData(c, NULL, &r, &n), P);
  assert_int_equal(n, tail);
  assert_int_equal(((const unsigned char *)r)[0], 0xAB);
  assert_int_equal(MojoEndReadData(c, n, NULL), P);
  n = sizeof(dst);
  assert_int_equal(MojoReadData(c, NULL, dst, &n), P);
  assert_int_equal(n, 14 - tail);
  assert_int_equal(dst[0], 0xCD);
  close_all(p, c);
}

/* ---- Two-phase ----------------------------------------------------------- */

static void test_two_phase_write(void **state) {
  (void)state;
  MojoHandle p, c;
  create_pipe(1, 8, &p, &c);
  void *w = NULL;
  uint32_t n = 0;
  assert_int_equal(MojoEndWriteData(p, 0, NULL), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoBeginWriteData(p, NULL, NULL, &n), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoBeginWriteData(p, NULL, &w, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoBeginWriteData(c, NULL, &w, &n), MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoBeginWriteDataOptions bad_begin = {4, 0};
  struct MojoEndWriteDataOptions bad_end = {4, 0};
  assert_int_equal(MojoBeginWriteData(p, &bad_begin, &w, &n), MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoBeginWriteDataOptions aon = {sizeof(aon), MOJO_BEGIN_WRITE_DATA_FLAG_ALL_OR_NONE};
  n = 9;
  assert_int_equal(MojoBeginWriteData(p, &aon, &w, &n), MOJO_RESULT_OUT_OF_RANGE);
  n = 8;
  assert_int_equal(MojoBeginWriteData(p, &aon, &w, &n), P);
  assert_int_equal(n, 8);
  assert_signals(p, 0, SIG_W | SIG_PC | SIG_REMOTE); /* not WRITABLE meanwhile */
  uint32_t k = 1;
  assert_int_equal(MojoWriteData(p, "x", &k, NULL), MOJO_RESULT_BUSY);
  assert_int_equal(MojoBeginWriteData(p, NULL, &w, &k), MOJO_RESULT_BUSY);
  memcpy(w, "twophase", 8);
  /* Refused before they look at the two-phase write: it goes on. */
  assert_int_equal(MojoEndWriteData(c, 1, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoEndWriteData(p, 1, &bad_end), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoEndWriteData(p, 9, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  /* That ended it, with nothing written. */
  assert_int_equal(MojoEndWriteData(p, 0, NULL), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(query(c), 0);
  assert_int_equal(MojoBeginWriteData(p, NULL, &w, &n), P);
  memcpy(w, "twophase", 8);
  assert_int_equal(MojoEndWriteData(p, 3, NULL), P);
  assert_signals(p, SIG_W, SIG_W | SIG_PC | SIG_REMOTE);
  read_expect(c, "two", 3);
  n = 8;
  assert_int_equal(MojoWriteData(p, "12345678", &n, NULL), P);
  assert_int_equal(n, 8);
  /* Full: SHOULD_WAIT, or OUT_OF_RANGE for a minimum that cannot be met. */
  assert_int_equal(MojoBeginWriteData(p, NULL, &w, &n), MOJO_RESULT_SHOULD_WAIT);
  n = 1;
  assert_int_equal(MojoBeginWriteData(p, &aon, &w, &n), MOJO_RESULT_OUT_OF_RANGE);
  n = 8;
  assert_int_equal(read_flags(c, NULL, &n, MOJO_READ_DATA_FLAG_DISCARD), P);
  /* A closed consumer does not fail the end of a write already begun... */
  assert_int_equal(MojoBeginWriteData(p, NULL, &w, &n), P);
  assert_int_equal(MojoClose(c), P);
  assert_int_equal(MojoEndWriteData(p, 1, NULL), P);
  /* ...but no new one can start. */
  assert_int_equal(MojoBeginWriteData(p, NULL, &w, &n), MOJO_RESULT_FAILED_PRECONDITION);
  k = 1;
  assert_int_equal(MojoWriteData(p, "x", &k, NULL), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoClose(p), P);
}

static void test_two_phase_read(void **state) {
  (void)state;
  MojoHandle p, c;
  create_pipe(1, 8, &p, &c);
  const void *r = NULL;
  uint32_t n = 0;
  assert_int_equal(MojoBeginReadData(c, NULL, &r, &n), MOJO_RESULT_SHOULD_WAIT);
  assert_int_equal(MojoEndReadData(c, 0, NULL), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoBeginReadData(c, NULL, NULL, &n), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoBeginReadData(c, NULL, &r, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoBeginReadData(p, NULL, &r, &n), MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoBeginReadDataOptions bad_begin = {4, 0};
  struct MojoEndReadDataOptions bad_end = {4, 0};
  assert_int_equal(MojoBeginReadData(c, &bad_begin, &r, &n), MOJO_RESULT_INVALID_ARGUMENT);
  write_all(p, "abcdef", 6);
  assert_int_equal(MojoBeginReadData(c, NULL, &r, &n), P);
  assert_int_equal(n, 6);
  assert_memory_equal(r, "abcdef", 6);
  assert_signals(c, 0, SIG_R | SIG_NEW | SIG_PC | SIG_REMOTE); /* not READABLE meanwhile */
  char buf[8];
  uint32_t k = 1;
  assert_int_equal(MojoReadData(c, NULL, buf, &k), MOJO_RESULT_BUSY);
  assert_int_equal(read_flags(c, NULL, &k, MOJO_READ_DATA_FLAG_QUERY), MOJO_RESULT_BUSY);
  assert_int_equal(MojoBeginReadData(c, NULL, &r, &k), MOJO_RESULT_BUSY);
  assert_int_equal(MojoEndReadData(p, 1, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoEndReadData(c, 1, &bad_end), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoEndReadData(c, 7, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoEndReadData(c, 0, NULL), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(query(c), 6); /* the failed end consumed nothing */
  assert_int_equal(MojoBeginReadData(c, NULL, &r, &n), P);
  assert_int_equal(MojoEndReadData(c, 2, NULL), P);
  assert_signals(c, SIG_R, SIG_R | SIG_NEW | SIG_PC | SIG_REMOTE);
  read_expect(c, "cdef", 4);
  /* The freed space went back to the producer: the ring holds 8 again, and
   * a two-phase read stops where the ring wraps (offset 6 of 8). */
  write_all(p, "12345678", 8);
  assert_int_equal(MojoBeginReadData(c, NULL, &r, &n), P);
  assert_int_equal(n, 2);
  assert_memory_equal(r, "12", 2);
  assert_int_equal(MojoClose(p), P);
  assert_int_equal(MojoEndReadData(c, n, NULL), P);
  read_expect(c, "345678", 6);
  assert_int_equal(MojoBeginReadData(c, NULL, &r, &n), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoClose(c), P);
}

/* ---- Signals ------------------------------------------------------------- */

static void test_signals_and_closure(void **state) {
  (void)state;
  MojoHandle p, c;
  create_pipe(1, 4, &p, &c);
  assert_signals(p, SIG_W, SIG_W | SIG_PC | SIG_REMOTE);
  assert_signals(c, 0, SIG_R | SIG_NEW | SIG_PC | SIG_REMOTE);
  write_all(p, "ab", 2);
  assert_signals(c, SIG_R | SIG_NEW, SIG_R | SIG_NEW | SIG_PC | SIG_REMOTE);
  /* Any read that gets past argument checks clears NEW_DATA_READABLE, even
   * one that moves nothing. */
  uint32_t n = 3;
  char buf[4];
  assert_int_equal(read_flags(c, buf, &n, MOJO_READ_DATA_FLAG_ALL_OR_NONE),
                   MOJO_RESULT_OUT_OF_RANGE);
  assert_signals(c, SIG_R, SIG_R | SIG_NEW | SIG_PC | SIG_REMOTE);
  write_all(p, "cd", 2);
  assert_signals(c, SIG_R | SIG_NEW, SIG_R | SIG_NEW | SIG_PC | SIG_REMOTE);
  assert_int_equal(query(c), 4);
  assert_signals(c, SIG_R, SIG_R | SIG_NEW | SIG_PC | SIG_REMOTE);
  assert_signals(p, 0, SIG_W | SIG_PC | SIG_REMOTE); /* full */
  read_expect(c, "a", 1);
  assert_signals(p, SIG_W, SIG_W | SIG_PC | SIG_REMOTE);
  write_all(p, "e", 1);
  /* Closing the producer: PEER_CLOSED comes with all data written before. */
  assert_int_equal(MojoClose(p), P);
  assert_signals(c, SIG_R | SIG_NEW | SIG_PC, SIG_R | SIG_NEW | SIG_PC);
  assert_int_equal(query(c), 4);
  assert_signals(c, SIG_R | SIG_PC, SIG_R | SIG_PC);
  read_expect(c, "bcde", 4);
  assert_signals(c, SIG_PC, SIG_PC);
  assert_int_equal(MojoClose(c), P);

  create_pipe(1, 4, &p, &c);
  assert_int_equal(MojoClose(c), P);
  assert_signals(p, SIG_PC, SIG_PC);
  n = 1;
  assert_int_equal(MojoWriteData(p, "x", &n, NULL), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoClose(p), P);
}

struct trap_log {
  int count;
  MojoResult result;
  struct MojoHandleSignalsState state;
  MojoHandle consumer;
  uint32_t available_at_event;
};
static struct trap_log trap_log;

static void on_trap_event(const struct MojoTrapEvent *ev) {
  if (ev->result == MOJO_RESULT_CANCELLED)
    return;
  trap_log.count++;
  trap_log.result = ev->result;
  trap_log.state = ev->signals_state;
  /* Handlers run with no lock held, so the API is usable from here. */
  trap_log.available_at_event = query(trap_log.consumer);
}

static void test_traps(void **state) {
  (void)state;
  MojoHandle p, c, trap;
  create_pipe(1, 64, &p, &c);
  memset(&trap_log, 0, sizeof(trap_log));
  trap_log.consumer = c;
  assert_int_equal(MojoCreateTrap(on_trap_event, NULL, &trap), P);
  assert_int_equal(
      MojoAddTrigger(trap, c, SIG_NEW, MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 1, NULL), P);
  assert_int_equal(MojoArmTrap(trap, NULL, NULL, NULL), P);
  write_all(p, "abc", 3);
  assert_int_equal(trap_log.count, 1);
  assert_int_equal(trap_log.result, P);
  assert_true(trap_log.state.satisfied_signals & SIG_NEW);
  /* The handler's QUERY cleared the flag: arming works again, and the next
   * write fires again although the pipe was READABLE all along. */
  assert_int_equal(MojoArmTrap(trap, NULL, NULL, NULL), P);
  write_all(p, "d", 1);
  assert_int_equal(trap_log.count, 2);
  assert_int_equal(MojoRemoveTrigger(trap, 1, NULL), P);

  /* PEER_CLOSED fires only once all data written before is counted. */
  assert_int_equal(
      MojoAddTrigger(trap, c, SIG_PC, MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 2, NULL), P);
  assert_int_equal(MojoArmTrap(trap, NULL, NULL, NULL), P);
  write_all(p, "efgh", 4);
  assert_int_equal(MojoClose(p), P);
  assert_int_equal(trap_log.count, 3);
  assert_int_equal(trap_log.available_at_event, 8);
  close_all(trap, c);
}

/* ---- Transfer ------------------------------------------------------------ */

static void test_transfer_ends(void **state) {
  (void)state;
  MojoHandle p, c, m0, m1;
  create_pipe(1, 32, &p, &c);
  assert_int_equal(MojoCreateMessagePipe(NULL, &m0, &m1), P);
  write_all(p, "before", 6);
  MojoHandle c2 = pass_handle(m0, m1, c);
  assert_int_equal(MojoQueryHandleSignalsState(c, &(struct MojoHandleSignalsState){0, 0}),
                   MOJO_RESULT_INVALID_ARGUMENT); /* the old value is gone */
  write_all(p, "+after", 6);
  read_expect(c2, "before+after", 12);
  MojoHandle p2 = pass_handle(m1, m0, p);
  write_all(p2, "moved", 5);
  read_expect(c2, "moved", 5);
  /* Both, in flight together, and the stream goes on. */
  write_all(p2, "xy", 2);
  MojoHandle pair[2] = {p2, c2};
  MojoMessageHandle m;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  assert_int_equal(MojoCreateMessage(NULL, &m), P);
  assert_int_equal(MojoAppendMessageData(m, 0, pair, 2, &commit, NULL, NULL), P);
  assert_int_equal(MojoWriteMessage(m0, m, NULL), P);
  assert_int_equal(MojoReadMessage(m1, NULL, &m), P);
  uint32_t nh = 2;
  assert_int_equal(MojoGetMessageData(m, NULL, NULL, NULL, pair, &nh), P);
  assert_int_equal(MojoDestroyMessage(m), P);
  write_all(pair[0], "z", 1);
  read_expect(pair[1], "xyz", 3);
  /* Closure still reaches the moved peer. */
  assert_int_equal(MojoClose(pair[0]), P);
  assert_signals(pair[1], SIG_PC, SIG_PC);
  assert_int_equal(MojoClose(pair[1]), P);

  /* A consumer whose producer is gone keeps both its data and the closure
   * on the way. */
  create_pipe(1, 8, &p, &c);
  write_all(p, "tail", 4);
  assert_int_equal(MojoClose(p), P);
  c2 = pass_handle(m0, m1, c);
  assert_signals(c2, SIG_R | SIG_NEW | SIG_PC, SIG_R | SIG_NEW | SIG_PC);
  read_expect(c2, "tail", 4);
  uint32_t n = 1;
  char byte;
  assert_int_equal(MojoReadData(c2, NULL, &byte, &n), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoClose(c2), P);
  close_all(m0, m1);
}

static void test_busy_in_two_phase(void **state) {
  (void)state;
  MojoHandle p, c, m0, m1;
  create_pipe(1, 8, &p, &c);
  assert_int_equal(MojoCreateMessagePipe(NULL, &m0, &m1), P);
  MojoMessageHandle m;
  assert_int_equal(MojoCreateMessage(NULL, &m), P);
  void *w;
  uint32_t n;
  assert_int_equal(MojoBeginWriteData(p, NULL, &w, &n), P);
  assert_int_equal(MojoAppendMessageData(m, 0, &p, 1, NULL, NULL, NULL), MOJO_RESULT_BUSY);
  memcpy(w, "ab", 2);
  assert_int_equal(MojoEndWriteData(p, 2, NULL), P); /* the handle is still ours */
  const void *r;
  assert_int_equal(MojoBeginReadData(c, NULL, &r, &n), P);
  assert_int_equal(MojoAppendMessageData(m, 0, &c, 1, NULL, NULL, NULL), MOJO_RESULT_BUSY);
  assert_int_equal(MojoEndReadData(c, 0, NULL), P);
  /* Out of two-phase, both can go. */
  MojoHandle c2 = pass_handle(m0, m1, c);
  read_expect(c2, "ab", 2);
  assert_int_equal(MojoDestroyMessage(m), P);
  close_all(p, c2);
  close_all(m0, m1);
}

static void test_ends_dropped_in_messages(void **state) {
  (void)state;
  MojoHandle p, c, m0, m1;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  /* A message never sent closes the end it holds. */
  create_pipe(1, 8, &p, &c);
  MojoMessageHandle m;
  assert_int_equal(MojoCreateMessage(NULL, &m), P);
  assert_int_equal(MojoAppendMessageData(m, 0, &c, 1, &commit, NULL, NULL), P);
  assert_int_equal(MojoDestroyMessage(m), P);
  assert_signals(p, SIG_PC, SIG_PC);
  assert_int_equal(MojoClose(p), P);
  /* So does a message sent but never read. */
  create_pipe(1, 8, &p, &c);
  assert_int_equal(MojoCreateMessagePipe(NULL, &m0, &m1), P);
  assert_int_equal(MojoCreateMessage(NULL, &m), P);
  assert_int_equal(MojoAppendMessageData(m, 0, &p, 1, &commit, NULL, NULL), P);
  assert_int_equal(MojoWriteMessage(m0, m, NULL), P);
  assert_int_equal(MojoClose(m1), P);
  assert_signals(c, SIG_PC, SIG_PC);
  close_all(c, m0);
}

static int group_setup(void **state) {
  (void)state;
  MojoResult rv = MojoInitialize(NULL);
  if (rv != P && rv != MOJO_RESULT_FAILED_PRECONDITION)
    return -1;
  /* Warm up whatever grows once per process (handle table, allocator
   * arenas), so that per-test counts compare like with like. */
  MojoHandle h[8];
  for (int i = 0; i < 4; i++)
    if (MojoCreateDataPipe(NULL, &h[2 * i], &h[2 * i + 1]) != P)
      return -1;
  for (int i = 0; i < 8; i++)
    MojoClose(h[i]);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, cm_test_setup_resources, cm_test_teardown_resources)
      T(test_create_options),
      T(test_write_read_basic),
      T(test_element_size),
      T(test_all_or_none),
      T(test_peek_discard_query),
      T(test_wraparound),
      T(test_two_phase_write),
      T(test_two_phase_read),
      T(test_signals_and_closure),
      T(test_traps),
      T(test_transfer_ends),
      T(test_busy_in_two_phase),
      T(test_ends_dropped_in_messages),
#undef T
  };
  return cmocka_run_group_tests(tests, group_setup, NULL);
}
