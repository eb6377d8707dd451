/* Message pipes and message objects through the public C API: every result
 * code the headers document, handle transfer, lazy serialization, fusing and
 * quotas. Each test checks that fds and handles return to their baseline. */
#include <stdio.h>
#include <string.h>

#include "core/handle_table.h"
#include "mojo/public/c/system/core.h"
#include "test_support.h"

typedef struct MojoHandleSignalsState signals_t;

static int baseline_fds;
static size_t baseline_handles;

static int setup(void **state) {
  (void)state;
  baseline_fds = cm_test_count_open_fds();
  baseline_handles = cm_handles_count();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  assert_int_equal(cm_test_count_open_fds(), baseline_fds);
  assert_int_equal(cm_handles_count(), baseline_handles);
  return 0;
}

static MojoMessageHandle make_message(const void *bytes, uint32_t n, const MojoHandle *handles,
                                      uint32_t num_handles) {
  MojoMessageHandle m;
  assert_int_equal(MojoCreateMessage(NULL, &m), MOJO_RESULT_OK);
  struct MojoAppendMessageDataOptions opts = {sizeof(opts),
                                              MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  void *buf = NULL;
  uint32_t cap = 0;
  assert_int_equal(MojoAppendMessageData(m, n, handles, num_handles, &opts, &buf, &cap),
                   MOJO_RESULT_OK);
  assert_true(cap >= n);
  if (n) memcpy(buf, bytes, n);
  return m;
}

static MojoResult write_bytes(MojoHandle h, const char *s) {
  return MojoWriteMessage(h, make_message(s, (uint32_t)strlen(s), NULL, 0), NULL);
}

/* Reads one message and checks its bytes equal `s` and it carries no handle. */
static void expect_read(MojoHandle h, const char *s) {
  MojoMessageHandle m;
  assert_int_equal(MojoReadMessage(h, NULL, &m), MOJO_RESULT_OK);
  void *buf;
  uint32_t n, nh = 0;
  assert_int_equal(MojoGetMessageData(m, NULL, &buf, &n, NULL, &nh), MOJO_RESULT_OK);
  assert_int_equal(n, strlen(s));
  assert_memory_equal(buf, s, n);
  assert_int_equal(nh, 0);
  assert_int_equal(MojoDestroyMessage(m), MOJO_RESULT_OK);
}

static signals_t query(MojoHandle h) {
  signals_t s;
  assert_int_equal(MojoQueryHandleSignalsState(h, &s), MOJO_RESULT_OK);
  return s;
}

static void test_initialize(void **state) {
  (void)state;
  /* main() initialized already. */
  assert_int_equal(MojoInitialize(NULL), MOJO_RESULT_FAILED_PRECONDITION);
  struct MojoInitializeOptions bad = {4, 0, 0, 0, 0, 0};
  assert_int_equal(MojoInitialize(&bad), MOJO_RESULT_INVALID_ARGUMENT);
  MojoTimeTicks a = MojoGetTimeTicksNow(), b = MojoGetTimeTicksNow();
  assert_true(a > 0 && b >= a);
}

static void test_create_and_close(void **state) {
  (void)state;
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, NULL, &b), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoCreateMessagePipeOptions small = {4, 0};
  assert_int_equal(MojoCreateMessagePipe(&small, &a, &b), MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoCreateMessagePipeOptions opts = {sizeof(opts), 0};
  assert_int_equal(MojoCreateMessagePipe(&opts, &a, &b), MOJO_RESULT_OK);
  assert_true(a != MOJO_HANDLE_INVALID && b != MOJO_HANDLE_INVALID && a != b);

  signals_t s = query(a);
  assert_int_equal(s.satisfied_signals, MOJO_HANDLE_SIGNAL_WRITABLE);
  assert_true(s.satisfiable_signals & MOJO_HANDLE_SIGNAL_READABLE);
  assert_true(s.satisfiable_signals & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  assert_int_equal(MojoQueryHandleSignalsState(a, NULL), MOJO_RESULT_INVALID_ARGUMENT);

  assert_int_equal(MojoClose(a), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(a), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoQueryHandleSignalsState(a, &s), MOJO_RESULT_INVALID_ARGUMENT);
  s = query(b);
  assert_int_equal(s.satisfied_signals, MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  /* As in Mojo, QUOTA_EXCEEDED stays satisfiable (a quota can be set). */
  assert_int_equal(s.satisfiable_signals,
                   MOJO_HANDLE_SIGNAL_PEER_CLOSED | MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED);
  assert_int_equal(MojoClose(b), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(MOJO_HANDLE_INVALID), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoClose((MojoHandle)0x123456789), MOJO_RESULT_INVALID_ARGUMENT);
}

static void test_write_read_order(void **state) {
  (void)state;
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  MojoMessageHandle m;
  assert_int_equal(MojoReadMessage(b, NULL, &m), MOJO_RESULT_SHOULD_WAIT);
  assert_int_equal(MojoReadMessage(b, NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  char text[32];
  for (int i = 0; i < 100; i++) {
    snprintf(text, sizeof(text), "message %d", i);
    assert_int_equal(write_bytes(a, text), MOJO_RESULT_OK);
  }
  assert_true(query(b).satisfied_signals & MOJO_HANDLE_SIGNAL_READABLE);
  for (int i = 0; i < 100; i++) {
    snprintf(text, sizeof(text), "message %d", i);
    expect_read(b, text);
  }
  assert_false(query(b).satisfied_signals & MOJO_HANDLE_SIGNAL_READABLE);
  /* Both directions. */
  assert_int_equal(write_bytes(b, "back"), MOJO_RESULT_OK);
  expect_read(a, "back");
  MojoClose(a);
  MojoClose(b);
}

/* In-process delivery moves the message object: the reader gets the very
 * buffer the writer filled, for small (inline) and large payloads alike. */
static void test_delivery_moves_not_copies(void **state) {
  (void)state;
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  static const uint32_t sizes[] = {16, 100000};
  for (int i = 0; i < 2; i++) {
    MojoMessageHandle m;
    void *written, *read;
    uint32_t n;
    struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                  MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
    assert_int_equal(MojoCreateMessage(NULL, &m), MOJO_RESULT_OK);
    assert_int_equal(MojoAppendMessageData(m, sizes[i], NULL, 0, &commit, &written, NULL),
                     MOJO_RESULT_OK);
    memset(written, 0x42, sizes[i]);
    MojoMessageHandle sent = m;
    assert_int_equal(MojoWriteMessage(a, m, NULL), MOJO_RESULT_OK);
    assert_int_equal(MojoReadMessage(b, NULL, &m), MOJO_RESULT_OK);
    assert_true(m == sent);
    assert_int_equal(MojoGetMessageData(m, NULL, &read, &n, NULL, NULL), MOJO_RESULT_OK);
    assert_ptr_equal(read, written);
    assert_int_equal(n, sizes[i]);
    MojoDestroyMessage(m);
  }
  MojoClose(a);
  MojoClose(b);
}

static void test_peer_closed_keeps_messages(void **state) {
  (void)state;
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(write_bytes(a, "one"), MOJO_RESULT_OK);
  assert_int_equal(write_bytes(a, "two"), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(a), MOJO_RESULT_OK);
  signals_t s = query(b);
  assert_int_equal(s.satisfied_signals, MOJO_HANDLE_SIGNAL_READABLE | MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  assert_int_equal(s.satisfiable_signals, MOJO_HANDLE_SIGNAL_READABLE | MOJO_HANDLE_SIGNAL_PEER_CLOSED |
                                              MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED);
  expect_read(b, "one");
  expect_read(b, "two");
  MojoMessageHandle m;
  assert_int_equal(MojoReadMessage(b, NULL, &m), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(write_bytes(b, "into the void"), MOJO_RESULT_FAILED_PRECONDITION);
  MojoClose(b);
}

static void test_write_errors_consume_message(void **state) {
  (void)state;
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  /* Invalid pipe: the message (and the handle it carries) is consumed. */
  MojoHandle c, d;
  assert_int_equal(MojoCreateMessagePipe(NULL, &c, &d), MOJO_RESULT_OK);
  MojoMessageHandle m = make_message("x", 1, &c, 1);
  assert_int_equal(MojoWriteMessage(MOJO_HANDLE_INVALID, m, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_true(query(d).satisfied_signals & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  MojoClose(d);
  assert_int_equal(MojoWriteMessage(a, MOJO_MESSAGE_HANDLE_INVALID, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  /* Uncommitted data. */
  assert_int_equal(MojoCreateMessage(NULL, &m), MOJO_RESULT_OK);
  assert_int_equal(MojoAppendMessageData(m, 8, NULL, 0, NULL, NULL, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoWriteMessage(a, m, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  /* Nothing at all. */
  assert_int_equal(MojoCreateMessage(NULL, &m), MOJO_RESULT_OK);
  assert_int_equal(MojoWriteMessage(a, m, NULL), MOJO_RESULT_NOT_FOUND);
  /* Bad options. */
  struct MojoWriteMessageOptions small = {0, 0};
  assert_int_equal(MojoWriteMessage(a, make_message("y", 1, NULL, 0), &small),
                   MOJO_RESULT_INVALID_ARGUMENT);
  /* A pipe handle that is not a pipe: a trap. */
  assert_int_equal(MojoReadMessage(b, NULL, &m), MOJO_RESULT_SHOULD_WAIT);
  MojoClose(a);
  MojoClose(b);
}

static void test_transfer_pipe(void **state) {
  (void)state;
  MojoHandle a, b, c, d;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(MojoCreateMessagePipe(NULL, &c, &d), MOJO_RESULT_OK);
  assert_int_equal(write_bytes(c, "queued before transfer"), MOJO_RESULT_OK);
  assert_int_equal(MojoWriteMessage(a, make_message("here", 4, &d, 1), NULL), MOJO_RESULT_OK);
  /* d moved into the message. */
  assert_int_equal(MojoClose(d), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(write_bytes(c, "queued while in flight"), MOJO_RESULT_OK);

  MojoMessageHandle m;
  assert_int_equal(MojoReadMessage(b, NULL, &m), MOJO_RESULT_OK);
  void *buf;
  uint32_t n, nh = 0;
  MojoHandle got[2];
  assert_int_equal(MojoGetMessageData(m, NULL, &buf, &n, NULL, &nh),
                   MOJO_RESULT_RESOURCE_EXHAUSTED);
  assert_int_equal(nh, 1);
  assert_int_equal(n, 4);
  assert_int_equal(MojoGetMessageData(m, NULL, &buf, &n, got, &nh), MOJO_RESULT_OK);
  assert_int_equal(nh, 1);
  assert_memory_equal(buf, "here", 4);
  nh = 2;
  assert_int_equal(MojoGetMessageData(m, NULL, &buf, &n, got + 1, &nh), MOJO_RESULT_NOT_FOUND);
  struct MojoGetMessageDataOptions ignore = {sizeof(ignore),
                                             MOJO_GET_MESSAGE_DATA_FLAG_IGNORE_HANDLES};
  assert_int_equal(MojoGetMessageData(m, &ignore, &buf, &n, NULL, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoDestroyMessage(m), MOJO_RESULT_OK);

  MojoHandle d2 = got[0];
  expect_read(d2, "queued before transfer");
  expect_read(d2, "queued while in flight");
  assert_int_equal(write_bytes(d2, "after"), MOJO_RESULT_OK);
  expect_read(c, "after");
  assert_int_equal(write_bytes(c, "again"), MOJO_RESULT_OK);
  expect_read(d2, "again");
  MojoClose(d2);
  assert_true(query(c).satisfied_signals & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  MojoClose(a);
  MojoClose(b);
  MojoClose(c);
}

static void test_transfer_many_hops(void **state) {
  (void)state;
  enum { HOPS = 20 };
  MojoHandle x, y;
  assert_int_equal(MojoCreateMessagePipe(NULL, &x, &y), MOJO_RESULT_OK);
  MojoHandle carried = y;
  for (int i = 0; i < HOPS; i++) {
    char text[16];
    snprintf(text, sizeof(text), "%d", i);
    assert_int_equal(write_bytes(x, text), MOJO_RESULT_OK);
    MojoHandle a, b;
    assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
    assert_int_equal(MojoWriteMessage(a, make_message("", 0, &carried, 1), NULL), MOJO_RESULT_OK);
    MojoMessageHandle m;
    assert_int_equal(MojoReadMessage(b, NULL, &m), MOJO_RESULT_OK);
    uint32_t nh = 1, n;
    void *buf;
    assert_int_equal(MojoGetMessageData(m, NULL, &buf, &n, &carried, &nh), MOJO_RESULT_OK);
    assert_int_equal(n, 0);
    assert_null(buf);
    MojoDestroyMessage(m);
    MojoClose(a);
    MojoClose(b);
  }
  for (int i = 0; i < HOPS; i++) {
    char text[16];
    snprintf(text, sizeof(text), "%d", i);
    expect_read(carried, text);
  }
  MojoClose(x);
  MojoClose(carried);
}

static void test_cannot_send_self_or_peer(void **state) {
  (void)state;
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  /* Attaching a moves the handle into the message: writing on it fails. */
  MojoMessageHandle m = make_message("self", 4, &a, 1);
  assert_int_equal(MojoWriteMessage(a, m, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  /* The message was destroyed and a with it: b sees its peer closed. */
  assert_true(query(b).satisfied_signals & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  MojoClose(b);

  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  m = make_message("peer", 4, &b, 1);
  assert_int_equal(MojoWriteMessage(a, m, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_true(query(a).satisfied_signals & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  MojoClose(a);
}

static void test_append_errors(void **state) {
  (void)state;
  MojoMessageHandle m;
  assert_int_equal(MojoCreateMessage(NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  struct MojoCreateMessageOptions small = {0, 0};
  assert_int_equal(MojoCreateMessage(&small, &m), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoCreateMessage(NULL, &m), MOJO_RESULT_OK);
  assert_int_equal(MojoAppendMessageData(0, 1, NULL, 0, NULL, NULL, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoAppendMessageData(m, 1, NULL, 1, NULL, NULL, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  MojoHandle bogus = (MojoHandle)0xdead0000beefull;
  assert_int_equal(MojoAppendMessageData(m, 1, &bogus, 1, NULL, NULL, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  MojoHandle twice[2] = {a, a};
  assert_int_equal(MojoAppendMessageData(m, 0, twice, 2, NULL, NULL, NULL), MOJO_RESULT_BUSY);
  /* Nothing was taken on failure: a is still ours. */
  assert_int_equal(write_bytes(a, "still mine"), MOJO_RESULT_OK);
  expect_read(b, "still mine");
  assert_int_equal(MojoAppendMessageData(m, 300, NULL, 0, NULL, NULL, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoAppendMessageData(m, 0x7fffffffu, NULL, 0, NULL, NULL, NULL),
                   MOJO_RESULT_RESOURCE_EXHAUSTED);
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  void *buf;
  uint32_t cap;
  assert_int_equal(MojoAppendMessageData(m, 0, NULL, 0, &commit, &buf, &cap), MOJO_RESULT_OK);
  assert_true(cap >= 300);
  assert_int_equal(MojoAppendMessageData(m, 1, NULL, 0, NULL, NULL, NULL),
                   MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoSetMessageContext(m, 1, NULL, NULL, NULL), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoReserveMessageCapacity(m, 10, NULL), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoDestroyMessage(m), MOJO_RESULT_OK);
  assert_int_equal(MojoDestroyMessage(0), MOJO_RESULT_INVALID_ARGUMENT);

  /* Reserve, then fill. */
  assert_int_equal(MojoCreateMessage(NULL, &m), MOJO_RESULT_OK);
  assert_int_equal(MojoReserveMessageCapacity(m, 5000, &cap), MOJO_RESULT_OK);
  assert_true(cap >= 5000);
  assert_int_equal(MojoReserveMessageCapacity(m, 10, &cap), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoAppendMessageData(m, 5000, NULL, 0, &commit, &buf, &cap), MOJO_RESULT_OK);
  memset(buf, 0xab, 5000);
  assert_int_equal(MojoWriteMessage(a, m, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoReadMessage(b, NULL, &m), MOJO_RESULT_OK);
  uint32_t n;
  assert_int_equal(MojoGetMessageData(m, NULL, NULL, &n, NULL, NULL),
                   MOJO_RESULT_RESOURCE_EXHAUSTED);
  assert_int_equal(n, 5000);
  assert_int_equal(MojoGetMessageData(m, NULL, &buf, &n, NULL, NULL), MOJO_RESULT_OK);
  assert_int_equal(((uint8_t *)buf)[4999], 0xab);
  MojoDestroyMessage(m);

  /* An unlimited message may pass the size limit checks at append time. */
  struct MojoCreateMessageOptions unlimited = {sizeof(unlimited),
                                               MOJO_CREATE_MESSAGE_FLAG_UNLIMITED_SIZE};
  assert_int_equal(MojoCreateMessage(&unlimited, &m), MOJO_RESULT_OK);
  assert_int_equal(MojoDestroyMessage(m), MOJO_RESULT_OK);
  MojoClose(a);
  MojoClose(b);
}

/* ---- Context messages ---------------------------------------------------- */

static int serializer_calls, destructor_calls;

static void serialize_ctx(MojoMessageHandle m, uintptr_t context) {
  serializer_calls++;
  const char *text = (const char *)context;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  void *buf;
  uint32_t cap;
  assert_int_equal(MojoAppendMessageData(m, (uint32_t)strlen(text), NULL, 0, &commit, &buf, &cap),
                   MOJO_RESULT_OK);
  memcpy(buf, text, strlen(text));
}

static void destroy_ctx(uintptr_t context) {
  (void)context;
  destructor_calls++;
}

static void test_context_messages(void **state) {
  (void)state;
  static const char text[] = "lazy";
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  serializer_calls = destructor_calls = 0;

  MojoMessageHandle m;
  uintptr_t ctx;
  assert_int_equal(MojoCreateMessage(NULL, &m), MOJO_RESULT_OK);
  assert_int_equal(MojoGetMessageContext(m, NULL, &ctx), MOJO_RESULT_OK);
  assert_int_equal(ctx, 0);
  assert_int_equal(MojoGetMessageContext(m, NULL, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoSetMessageContext(m, 0, serialize_ctx, NULL, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoSerializeMessage(m, NULL), MOJO_RESULT_NOT_FOUND);
  assert_int_equal(MojoSetMessageContext(m, (uintptr_t)text, serialize_ctx, destroy_ctx, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(MojoSetMessageContext(m, 7, NULL, NULL, NULL), MOJO_RESULT_ALREADY_EXISTS);
  assert_int_equal(MojoAppendMessageData(m, 1, NULL, 0, NULL, NULL, NULL),
                   MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoReserveMessageCapacity(m, 1, NULL), MOJO_RESULT_FAILED_PRECONDITION);

  /* In-process delivery moves the object: no serialization. */
  assert_int_equal(MojoWriteMessage(a, m, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoReadMessage(b, NULL, &m), MOJO_RESULT_OK);
  assert_int_equal(serializer_calls, 0);
  assert_int_equal(MojoGetMessageContext(m, NULL, &ctx), MOJO_RESULT_OK);
  assert_ptr_equal((const char *)ctx, text);
  void *buf;
  uint32_t n;
  assert_int_equal(MojoGetMessageData(m, NULL, &buf, &n, NULL, NULL),
                   MOJO_RESULT_FAILED_PRECONDITION);

  /* Forced serialization runs the serializer, then the destructor. */
  assert_int_equal(MojoSerializeMessage(m, NULL), MOJO_RESULT_OK);
  assert_int_equal(serializer_calls, 1);
  assert_int_equal(destructor_calls, 1);
  assert_int_equal(MojoSerializeMessage(m, NULL), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoGetMessageData(m, NULL, &buf, &n, NULL, NULL), MOJO_RESULT_OK);
  assert_int_equal(n, 4);
  assert_memory_equal(buf, "lazy", 4);
  MojoDestroyMessage(m);

  /* Destroying a message with a context runs the destructor only. */
  assert_int_equal(MojoCreateMessage(NULL, &m), MOJO_RESULT_OK);
  assert_int_equal(MojoSetMessageContext(m, (uintptr_t)text, NULL, destroy_ctx, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(MojoSerializeMessage(m, NULL), MOJO_RESULT_NOT_FOUND);
  assert_int_equal(MojoDestroyMessage(m), MOJO_RESULT_OK);
  assert_int_equal(destructor_calls, 2);
  assert_int_equal(serializer_calls, 1);

  /* Clearing the context with 0 does not run the destructor. */
  assert_int_equal(MojoCreateMessage(NULL, &m), MOJO_RESULT_OK);
  assert_int_equal(MojoSetMessageContext(m, (uintptr_t)text, NULL, destroy_ctx, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(MojoSetMessageContext(m, 0, NULL, NULL, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoDestroyMessage(m), MOJO_RESULT_OK);
  assert_int_equal(destructor_calls, 2);
  MojoClose(a);
  MojoClose(b);
}

static void serialize_without_commit(MojoMessageHandle m, uintptr_t context) {
  (void)context;
  assert_int_equal(MojoAppendMessageData(m, 4, NULL, 0, NULL, NULL, NULL), MOJO_RESULT_OK);
}

static void test_serializer_must_commit(void **state) {
  (void)state;
  MojoMessageHandle m;
  assert_int_equal(MojoCreateMessage(NULL, &m), MOJO_RESULT_OK);
  assert_int_equal(MojoSetMessageContext(m, 1, serialize_without_commit, NULL, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(MojoSerializeMessage(m, NULL), MOJO_RESULT_ABORTED);
  MojoDestroyMessage(m);
}

static void test_notify_bad_message(void **state) {
  (void)state;
  MojoMessageHandle m = make_message("bad", 3, NULL, 0);
  assert_int_equal(MojoNotifyBadMessage(0, "x", 1, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoNotifyBadMessage(m, NULL, 4, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoNotifyBadMessage(m, "it is bad", 9, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoDestroyMessage(m), MOJO_RESULT_OK);
}

static void test_fuse(void **state) {
  (void)state;
  MojoHandle a, b, c, d;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(MojoCreateMessagePipe(NULL, &c, &d), MOJO_RESULT_OK);
  assert_int_equal(write_bytes(a, "a to d"), MOJO_RESULT_OK);
  assert_int_equal(write_bytes(d, "d to a"), MOJO_RESULT_OK);
  assert_int_equal(MojoFuseMessagePipes(b, c, NULL), MOJO_RESULT_OK);
  assert_int_equal(MojoClose(b), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoClose(c), MOJO_RESULT_INVALID_ARGUMENT);
  expect_read(d, "a to d");
  expect_read(a, "d to a");
  assert_int_equal(write_bytes(a, "fused"), MOJO_RESULT_OK);
  expect_read(d, "fused");

  /* Bad arguments close whatever was valid. */
  MojoHandle e, f;
  assert_int_equal(MojoCreateMessagePipe(NULL, &e, &f), MOJO_RESULT_OK);
  assert_int_equal(MojoFuseMessagePipes(e, MOJO_HANDLE_INVALID, NULL),
                   MOJO_RESULT_INVALID_ARGUMENT);
  assert_true(query(f).satisfied_signals & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  MojoClose(f);
  /* An end that was written to cannot be fused; both handles are gone. */
  MojoHandle g, h, i2, j;
  assert_int_equal(MojoCreateMessagePipe(NULL, &g, &h), MOJO_RESULT_OK);
  assert_int_equal(MojoCreateMessagePipe(NULL, &i2, &j), MOJO_RESULT_OK);
  assert_int_equal(write_bytes(h, "spoils it"), MOJO_RESULT_OK);
  assert_int_equal(MojoFuseMessagePipes(h, i2, NULL), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoClose(h), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoClose(i2), MOJO_RESULT_INVALID_ARGUMENT);
  assert_true(query(g).satisfied_signals & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  assert_true(query(j).satisfied_signals & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  MojoClose(g);
  MojoClose(j);
  /* Two ends of the same pipe cannot be fused. */
  assert_int_equal(MojoCreateMessagePipe(NULL, &e, &f), MOJO_RESULT_OK);
  assert_int_equal(MojoFuseMessagePipes(e, f, NULL), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(MojoClose(e), MOJO_RESULT_INVALID_ARGUMENT);
  MojoClose(a);
  MojoClose(d);
}

static void test_quotas(void **state) {
  (void)state;
  MojoHandle a, b;
  uint64_t limit, usage;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  assert_int_equal(MojoQueryQuota(b, MOJO_QUOTA_TYPE_RECEIVE_QUEUE_LENGTH, NULL, &limit, &usage),
                   MOJO_RESULT_OK);
  assert_true(limit == MOJO_QUOTA_LIMIT_NONE && usage == 0);
  assert_int_equal(MojoSetQuota(b, 17, 1, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoSetQuota(MOJO_HANDLE_INVALID, 0, 1, NULL), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoQueryQuota(b, 17, NULL, &limit, &usage), MOJO_RESULT_INVALID_ARGUMENT);

  /* Receive queue length: exceeded when usage passes the limit. */
  assert_int_equal(MojoSetQuota(b, MOJO_QUOTA_TYPE_RECEIVE_QUEUE_LENGTH, 2, NULL), MOJO_RESULT_OK);
  for (int i = 0; i < 3; i++) {
    assert_false(query(b).satisfied_signals & MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED);
    assert_int_equal(write_bytes(a, "q"), MOJO_RESULT_OK);
  }
  assert_true(query(b).satisfied_signals & MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED);
  assert_int_equal(MojoQueryQuota(b, MOJO_QUOTA_TYPE_RECEIVE_QUEUE_LENGTH, NULL, &limit, &usage),
                   MOJO_RESULT_OK);
  assert_true(limit == 2 && usage == 3);
  expect_read(b, "q");
  assert_false(query(b).satisfied_signals & MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED);
  expect_read(b, "q");
  expect_read(b, "q");
  assert_int_equal(MojoSetQuota(b, MOJO_QUOTA_TYPE_RECEIVE_QUEUE_LENGTH, MOJO_QUOTA_LIMIT_NONE,
                                NULL),
                   MOJO_RESULT_OK);

  /* Receive queue memory. */
  assert_int_equal(MojoSetQuota(b, MOJO_QUOTA_TYPE_RECEIVE_QUEUE_MEMORY_SIZE, 10, NULL),
                   MOJO_RESULT_OK);
  assert_int_equal(write_bytes(a, "0123456789"), MOJO_RESULT_OK);
  assert_false(query(b).satisfied_signals & MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED);
  assert_int_equal(write_bytes(a, "x"), MOJO_RESULT_OK);
  assert_true(query(b).satisfied_signals & MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED);
  assert_int_equal(
      MojoQueryQuota(b, MOJO_QUOTA_TYPE_RECEIVE_QUEUE_MEMORY_SIZE, NULL, &limit, &usage),
      MOJO_RESULT_OK);
  assert_true(limit == 10 && usage == 11);
  expect_read(b, "0123456789");
  assert_false(query(b).satisfied_signals & MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED);
  expect_read(b, "x");

  /* Unread message count, seen from the sender. */
  assert_int_equal(MojoSetQuota(a, MOJO_QUOTA_TYPE_UNREAD_MESSAGE_COUNT, 4, NULL), MOJO_RESULT_OK);
  for (int i = 0; i < 5; i++) assert_int_equal(write_bytes(a, "u"), MOJO_RESULT_OK);
  assert_int_equal(MojoQueryQuota(a, MOJO_QUOTA_TYPE_UNREAD_MESSAGE_COUNT, NULL, &limit, &usage),
                   MOJO_RESULT_OK);
  assert_int_equal(limit, 4);
  assert_int_equal(usage, 5);
  assert_true(query(a).satisfied_signals & MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED);
  for (int i = 0; i < 5; i++) expect_read(b, "u");
  assert_int_equal(MojoQueryQuota(a, MOJO_QUOTA_TYPE_UNREAD_MESSAGE_COUNT, NULL, &limit, &usage),
                   MOJO_RESULT_OK);
  assert_true(usage < 4);
  assert_false(query(a).satisfied_signals & MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED);
  MojoClose(a);
  MojoClose(b);
}

static void test_stale_handle_rejected(void **state) {
  (void)state;
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), MOJO_RESULT_OK);
  MojoClose(a);
  MojoClose(b);
  MojoHandle c, d;
  assert_int_equal(MojoCreateMessagePipe(NULL, &c, &d), MOJO_RESULT_OK);
  /* The slots may be reused, but the old values must not reach the new pipe. */
  assert_int_equal(write_bytes(a, "stale"), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(MojoClose(b), MOJO_RESULT_INVALID_ARGUMENT);
  MojoMessageHandle m;
  assert_int_equal(MojoReadMessage(d, NULL, &m), MOJO_RESULT_SHOULD_WAIT);
  MojoClose(c);
  MojoClose(d);
}

int main(void) {
  assert_int_equal(MojoInitialize(NULL), MOJO_RESULT_OK);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_initialize, setup, teardown),
      cmocka_unit_test_setup_teardown(test_create_and_close, setup, teardown),
      cmocka_unit_test_setup_teardown(test_write_read_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_delivery_moves_not_copies, setup, teardown),
      cmocka_unit_test_setup_teardown(test_peer_closed_keeps_messages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_write_errors_consume_message, setup, teardown),
      cmocka_unit_test_setup_teardown(test_transfer_pipe, setup, teardown),
      cmocka_unit_test_setup_teardown(test_transfer_many_hops, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cannot_send_self_or_peer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_append_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_context_messages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_serializer_must_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_notify_bad_message, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fuse, setup, teardown),
      cmocka_unit_test_setup_teardown(test_quotas, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stale_handle_rejected, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
