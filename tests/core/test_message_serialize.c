/* Core messages as bytes plus OS handles and back (core/message_serialize.h,
 * docs/message-format.md), within one process: round trips of messages
 * carrying each kind of handle, then used as a reader would (pipes talk,
 * data pipes stream with both ends' views intact, shared buffers share
 * memory, fds name the same file), context messages, empty payloads, 1,000
 * handles, the frame's OS handle limit; then every truncation and many
 * corruptions of a valid message, which must fail with no fd or mapping
 * left behind. Every test must leave the process's fd and shared memory
 * mapping counts where it found them.
 *
 * A message is "sent" here the way MojoWriteMessage leaves it with the ports
 * layer: its dispatchers' ports taken (cm_message_get_ports) and `sent` set.
 * The receiving side's new local ports are stood in for either by the same
 * ports (the route is then the original one: both ends of a data pipe keep
 * talking) or by a second port pair. */
#include "test_support.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm_limits.h"
#include "core/core.h"
#include "core/data_pipe.h"
#include "core/handle_table.h"
#include "core/message.h"
#include "core/message_serialize.h"
#include "mojo/public/c/system/core.h"

#define P MOJO_RESULT_OK
#define HEADROOM 24 /* stands for the node and event headers before the message */

/* ---- Helpers ------------------------------------------------------------ */

static const struct MojoAppendMessageDataOptions commit_options = {
    sizeof(commit_options), MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};

/* A message as the ports layer holds it after MojoWriteMessage. */
typedef struct sent {
  cm_message *m;
  cm_port_name *ports;
  size_t num_ports;
} sent;

static void take_ports(sent *s) {
  s->num_ports = cm_message_num_ports(s->m);
  s->ports = calloc(s->num_ports ? s->num_ports : 1, sizeof(*s->ports));
  assert_non_null(s->ports);
  cm_message_get_ports(s->m, s->ports);
}

static sent make_sent(const void *payload, uint32_t num_bytes, const MojoHandle *handles,
                      uint32_t num_handles) {
  MojoMessageHandle h;
  void *buf = NULL;
  assert_int_equal(MojoCreateMessage(NULL, &h), P);
  assert_int_equal(
      MojoAppendMessageData(h, num_bytes, handles, num_handles, &commit_options, &buf, NULL), P);
  if (num_bytes)
    memcpy(buf, payload, num_bytes);
  sent s = {cm_message_from_handle(h), NULL, 0};
  take_ports(&s);
  return s;
}

static cm_serialized_message serialize(sent *s) {
  cm_serialized_message out = {0};
  assert_int_equal(cm_message_serialize_for_transport(s->m, s->ports, s->num_ports, HEADROOM, &out),
                   P);
  assert_true(out.num_bytes >= HEADROOM + CM_MESSAGE_WIRE_HEADER_BYTES);
  return out;
}

/* Serializes, destroys the sender's message, deserializes. The new message
 * still needs its ports (receive()). */
static cm_message *round_trip(sent *s) {
  cm_serialized_message w = serialize(s);
  cm_message_destroy(s->m);
  s->m = NULL;
  cm_message *out = NULL;
  assert_int_equal(cm_message_deserialize(w.bytes + HEADROOM, w.num_bytes - HEADROOM, w.handles,
                                          w.num_handles, s->num_ports, &out),
                   P);
  for (size_t i = 0; i < w.num_handles; i++)
    assert_false(cm_platform_handle_is_valid(w.handles[i])); /* all taken */
  cm_serialized_message_free(&w);
  return out;
}

/* What MojoReadMessage does with a message that arrived, then
 * MojoGetMessageData. Returns the payload size; handles in out[]. */
static uint32_t receive(cm_message *m, const cm_port_name *new_ports, void *payload,
                        MojoHandle *out, uint32_t *num_handles) {
  if (new_ports)
    cm_message_rebind(m, new_ports);
  void *buf = NULL;
  uint32_t n = 0;
  assert_int_equal(MojoGetMessageData((MojoMessageHandle)m, NULL, &buf, &n, out, num_handles), P);
  if (n)
    memcpy(payload, buf, n);
  assert_int_equal(MojoDestroyMessage((MojoMessageHandle)m), P);
  return n;
}

static void write_text(MojoHandle pipe, const char *text) {
  MojoMessageHandle m;
  void *buf;
  uint32_t n = (uint32_t)strlen(text);
  assert_int_equal(MojoCreateMessage(NULL, &m), P);
  assert_int_equal(MojoAppendMessageData(m, n, NULL, 0, &commit_options, &buf, NULL), P);
  memcpy(buf, text, n);
  assert_int_equal(MojoWriteMessage(pipe, m, NULL), P);
}

static void expect_text(MojoHandle pipe, const char *text) {
  MojoMessageHandle m;
  void *buf;
  uint32_t n = 0;
  assert_int_equal(MojoReadMessage(pipe, NULL, &m), P);
  assert_int_equal(MojoGetMessageData(m, NULL, &buf, &n, NULL, NULL), P);
  assert_int_equal(n, strlen(text));
  assert_memory_equal(buf, text, n);
  MojoDestroyMessage(m);
}

static MojoHandleSignals satisfied(MojoHandle h) {
  MojoHandleSignalsState s;
  assert_int_equal(MojoQueryHandleSignalsState(h, &s), P);
  return s.satisfied_signals;
}

/* Closes a port of this node by name (the stand-in for what a route's
 * other node would own). */
static void close_port(const cm_port_name *name) {
  cm_port_ref ref;
  assert_int_equal(cm_node_get_port(cm_core_node(), name, &ref), P);
  cm_node_close_port(cm_core_node(), &ref);
  cm_port_ref_release(&ref);
}

static void create_data_pipe(uint32_t capacity, MojoHandle *p, MojoHandle *c) {
  struct MojoCreateDataPipeOptions o = {sizeof(o), 0, 1, capacity};
  assert_int_equal(MojoCreateDataPipe(&o, p, c), P);
}

static void write_all(MojoHandle p, const uint8_t *data, uint32_t n) {
  uint32_t k = n;
  struct MojoWriteDataOptions o = {sizeof(o), MOJO_WRITE_DATA_FLAG_ALL_OR_NONE};
  assert_int_equal(MojoWriteData(p, data, &k, &o), P);
  assert_int_equal(k, n);
}

static void read_all(MojoHandle c, uint8_t *data, uint32_t n) {
  uint32_t k = n;
  struct MojoReadDataOptions o = {sizeof(o), MOJO_READ_DATA_FLAG_ALL_OR_NONE};
  assert_int_equal(MojoReadData(c, &o, data, &k), P);
  assert_int_equal(k, n);
}

static void close_all_ends(MojoHandle a, MojoHandle b) {
  assert_int_equal(MojoClose(a), P);
  assert_int_equal(MojoClose(b), P);
}

static void fill(uint8_t *p, uint32_t n, uint8_t seed) {
  for (uint32_t i = 0; i < n; i++)
    p[i] = (uint8_t)(seed + i * 7);
}

/* ---- Round trips -------------------------------------------------------- */

static void test_pipe_same_ports(void **state) {
  (void)state;
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), P);
  sent s = make_sent("hello", 5, &a, 1);
  assert_int_equal(s.num_ports, 1);
  cm_message *m = round_trip(&s);
  char payload[8];
  MojoHandle h[1];
  uint32_t nh = 1;
  assert_int_equal(receive(m, s.ports, payload, h, &nh), 5);
  assert_memory_equal(payload, "hello", 5);
  assert_int_equal(nh, 1);
  write_text(h[0], "ping");
  expect_text(b, "ping");
  write_text(b, "pong");
  expect_text(h[0], "pong");
  assert_int_equal(MojoClose(h[0]), P);
  assert_true(satisfied(b) & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  assert_int_equal(MojoClose(b), P);
  free(s.ports);
}

/* The new end lands on a port of another pair, as it would on a port the
 * ports layer created for it: it talks to that pair's other port. */
static void test_pipe_new_ports(void **state) {
  (void)state;
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), P);
  sent s = make_sent(NULL, 0, &a, 1);
  cm_message *m = round_trip(&s);
  cm_port_ref x, y;
  assert_int_equal(cm_node_create_port_pair(cm_core_node(), &x, &y), P);
  MojoHandle h[1];
  uint32_t nh = 1;
  assert_int_equal(receive(m, &x.name, NULL, h, &nh), 0);
  write_text(h[0], "to y");
  cm_event *ev = NULL;
  assert_int_equal(cm_node_get_message(cm_core_node(), &y, &ev), P);
  const cm_message *got = cm_event_payload(ev);
  assert_int_equal(got->payload_size, 4);
  assert_memory_equal(got->payload, "to y", 4);
  cm_event_destroy(ev);
  assert_false(satisfied(h[0]) & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  cm_node_close_port(cm_core_node(), &y);
  assert_true(satisfied(h[0]) & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  /* The original port is the route the old node would close. */
  close_port(&s.ports[0]);
  assert_true(satisfied(b) & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  cm_port_ref_release(&x);
  cm_port_ref_release(&y);
  MojoClose(h[0]);
  MojoClose(b);
  free(s.ports);
}

/* A consumer with data in the ring (read offset not at 0) moves; it reads
 * what was in flight, then what the producer writes afterwards, wrapping
 * around the ring. */
static void test_data_pipe_consumer(void **state) {
  (void)state;
  MojoHandle p, c;
  uint8_t in[128], out[128];
  create_data_pipe(64, &p, &c);
  fill(in, sizeof(in), 1);
  write_all(p, in, 40);
  read_all(c, out, 10);
  assert_memory_equal(out, in, 10);
  sent s = make_sent("dp", 2, &c, 1);
  cm_message *m = round_trip(&s);
  MojoHandle h[1];
  uint32_t nh = 1;
  char payload[4];
  receive(m, s.ports, payload, h, &nh);
  MojoHandle c2 = h[0];
  assert_true(satisfied(c2) & MOJO_HANDLE_SIGNAL_READABLE);
  read_all(c2, out, 30);
  assert_memory_equal(out, in + 10, 30);
  write_all(p, in + 40, 50); /* wraps: the producer's offset is 40 of 64 */
  read_all(c2, out, 50);
  assert_memory_equal(out, in + 40, 50);
  assert_int_equal(MojoClose(p), P);
  assert_true(satisfied(c2) & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  assert_int_equal(MojoClose(c2), P);
  free(s.ports);
}

/* A producer with unread data in the ring moves; the consumer reads old
 * and new data, and the space it frees reaches the new producer. */
static void test_data_pipe_producer(void **state) {
  (void)state;
  MojoHandle p, c;
  uint8_t in[200], out[200];
  create_data_pipe(64, &p, &c);
  fill(in, sizeof(in), 9);
  write_all(p, in, 20);
  sent s = make_sent(NULL, 0, &p, 1);
  cm_message *m = round_trip(&s);
  MojoHandle h[1];
  uint32_t nh = 1;
  receive(m, s.ports, NULL, h, &nh);
  MojoHandle p2 = h[0];
  write_all(p2, in + 20, 44); /* exactly fills the ring: the snapshot count was right */
  uint32_t k = 1;
  assert_int_equal(MojoWriteData(p2, in, &k, NULL), MOJO_RESULT_SHOULD_WAIT);
  read_all(c, out, 64);
  assert_memory_equal(out, in, 64);
  write_all(p2, in + 64, 64); /* the reads reached the new producer */
  read_all(c, out, 64);
  assert_memory_equal(out, in + 64, 64);
  assert_int_equal(MojoClose(c), P);
  assert_true(satisfied(p2) & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  assert_int_equal(MojoClose(p2), P);
  free(s.ports);
}

/* The consumer's position in the ring's shared header (data_pipe.h), as a
 * hostile peer could rewrite it. */
static void set_consumer_position(MojoHandle p, uint32_t pos) {
  cm_dispatcher *d = cm_handles_get(p);
  assert_non_null(d);
  atomic_store(&cm_data_pipe_end_from(d)->shared->read_pos, pos);
  cm_dispatcher_unref(d);
}

/* An end on its second lap of the ring moves: the lap is not in the blob,
 * the rebuilt end takes it from its position in the shared header. One
 * whose header position disagrees with the blob's offset comes back with
 * its peer counted as broken, keeping only what the blob counted. */
static void test_data_pipe_lap_from_header(void **state) {
  (void)state;
  MojoHandle p, c;
  uint8_t in[128], out[128];
  create_data_pipe(64, &p, &c);
  fill(in, sizeof(in), 3);
  write_all(p, in, 64);
  read_all(c, out, 64); /* the consumer is at 64: offset 0, second lap */
  write_all(p, in + 64, 10);
  sent s = make_sent(NULL, 0, &c, 1);
  cm_message *m = round_trip(&s);
  MojoHandle h[1];
  uint32_t nh = 1;
  receive(m, s.ports, NULL, h, &nh);
  MojoHandle c2 = h[0];
  read_all(c2, out, 10);
  assert_memory_equal(out, in + 64, 10);
  write_all(p, in, 64); /* a full ring again: only right with the lap */
  read_all(c2, out, 64);
  assert_memory_equal(out, in, 64);
  assert_false(satisfied(c2) & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  close_all_ends(p, c2);
  free(s.ports);

  create_data_pipe(64, &p, &c);
  write_all(p, in, 8);
  read_all(c, out, 4);
  set_consumer_position(p, 12); /* the blob will say offset 4 */
  s = make_sent(NULL, 0, &c, 1);
  m = round_trip(&s);
  nh = 1;
  receive(m, s.ports, NULL, h, &nh);
  c2 = h[0];
  assert_true(satisfied(c2) & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  read_all(c2, out, 4);
  assert_memory_equal(out, in + 4, 4);
  uint32_t k = 1;
  assert_int_equal(MojoReadData(c2, NULL, out, &k), MOJO_RESULT_FAILED_PRECONDITION);
  close_all_ends(p, c2);
  free(s.ports);
}

static void *map_buffer(MojoHandle h, uint64_t size) {
  void *p = NULL;
  assert_int_equal(MojoMapBuffer(h, 0, size, NULL, &p), P);
  return p;
}

/* A writable buffer (two fds) and a read-only one (one fd). */
static void test_shared_buffer(void **state) {
  (void)state;
  MojoHandle w;
  assert_int_equal(MojoCreateSharedBuffer(8192, NULL, &w), P);
  char *before = map_buffer(w, 8192);
  strcpy(before, "written before");
  sent s = make_sent(NULL, 0, &w, 1);
  cm_serialized_message ser = serialize(&s);
  assert_int_equal(ser.num_handles, 2); /* WRITABLE: read/write and read-only fds */
  cm_serialized_message_free(&ser);
  cm_message_destroy(s.m);
  free(s.ports);

  assert_int_equal(MojoCreateSharedBuffer(8192, NULL, &w), P);
  char *m1 = map_buffer(w, 8192);
  strcpy(m1, "shared");
  s = make_sent(NULL, 0, &w, 1);
  cm_message *m = round_trip(&s);
  MojoHandle h[2];
  uint32_t nh = 1;
  receive(m, NULL, NULL, h, &nh);
  free(s.ports);
  struct MojoSharedBufferInfo info = {sizeof(info), 0};
  assert_int_equal(MojoGetBufferInfo(h[0], NULL, &info), P);
  assert_int_equal(info.size, 8192);
  char *m2 = map_buffer(h[0], 8192);
  assert_string_equal(m2, "shared");
  strcpy(m2 + 100, "back");
  assert_string_equal(m1 + 100, "back");

  /* A read-only duplicate (one fd) travels too and stays read-only: a
   * writable duplicate of it is refused (platform.h's rule). */
  struct MojoDuplicateBufferHandleOptions ro = {sizeof(ro),
                                                MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_READ_ONLY};
  MojoHandle r;
  assert_int_equal(MojoDuplicateBufferHandle(h[0], &ro, &r), P);
  s = make_sent(NULL, 0, &r, 1);
  ser = serialize(&s);
  assert_int_equal(ser.num_handles, 1);
  cm_message *m_ro = NULL;
  cm_message_destroy(s.m);
  assert_int_equal(cm_message_deserialize(ser.bytes + HEADROOM, ser.num_bytes - HEADROOM,
                                          ser.handles, ser.num_handles, 0, &m_ro),
                   P);
  cm_serialized_message_free(&ser);
  nh = 1;
  receive(m_ro, NULL, NULL, &h[1], &nh);
  char *m3 = map_buffer(h[1], 8192);
  assert_string_equal(m3 + 100, "back");
  struct MojoDuplicateBufferHandleOptions wr = {sizeof(wr), 0};
  MojoHandle no;
  assert_int_equal(MojoDuplicateBufferHandle(h[1], &wr, &no), MOJO_RESULT_FAILED_PRECONDITION);
  MojoUnmapBuffer(before);
  MojoUnmapBuffer(m1);
  MojoUnmapBuffer(m2);
  MojoUnmapBuffer(m3);
  MojoClose(h[0]);
  MojoClose(h[1]);
  free(s.ports);
}

static void test_platform_handle(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  struct stat st_before, st_after;
  assert_int_equal(fstat(fds[1], &st_before), 0);
  struct MojoPlatformHandle ph = {sizeof(ph), MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR,
                                  (uint64_t)fds[1]};
  MojoHandle w;
  assert_int_equal(MojoWrapPlatformHandle(&ph, NULL, &w), P);
  sent s = make_sent(NULL, 0, &w, 1);
  cm_message *m = round_trip(&s);
  MojoHandle h[1];
  uint32_t nh = 1;
  receive(m, NULL, NULL, h, &nh);
  struct MojoPlatformHandle out = {sizeof(out), 0, 0};
  assert_int_equal(MojoUnwrapPlatformHandle(h[0], NULL, &out), P);
  int fd = (int)out.value;
  assert_int_equal(fstat(fd, &st_after), 0);
  assert_int_equal(st_after.st_dev, st_before.st_dev);
  assert_int_equal(st_after.st_ino, st_before.st_ino);
  assert_int_equal(write(fd, "z", 1), 1);
  char c = 0;
  assert_int_equal(read(fds[0], &c, 1), 1);
  assert_int_equal(c, 'z');
  close(fd);
  close(fds[0]);
  free(s.ports);
}

static void test_empty(void **state) {
  (void)state;
  /* No payload, no handles: just the header. */
  sent s = make_sent(NULL, 0, NULL, 0);
  cm_serialized_message w = serialize(&s);
  assert_int_equal(w.num_bytes, HEADROOM + CM_MESSAGE_WIRE_HEADER_BYTES);
  assert_int_equal(w.num_handles, 0);
  cm_serialized_message_free(&w);
  cm_message *m = round_trip(&s);
  uint32_t nh = 0;
  assert_int_equal(receive(m, NULL, NULL, NULL, &nh), 0);
  assert_int_equal(nh, 0);
  free(s.ports);

  /* No payload, one handle. */
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), P);
  s = make_sent(NULL, 0, &a, 1);
  m = round_trip(&s);
  MojoHandle h[1];
  nh = 1;
  assert_int_equal(receive(m, s.ports, NULL, h, &nh), 0);
  assert_int_equal(nh, 1);
  MojoClose(h[0]);
  MojoClose(b);
  free(s.ports);
}

/* A message read, its handles taken out, and written again carries no
 * handles. */
static void test_handles_taken(void **state) {
  (void)state;
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), P);
  MojoMessageHandle mh;
  void *buf;
  assert_int_equal(MojoCreateMessage(NULL, &mh), P);
  assert_int_equal(MojoAppendMessageData(mh, 1, &a, 1, &commit_options, &buf, NULL), P);
  sent s = {cm_message_from_handle(mh), NULL, 0}; /* as a reader holds it */
  MojoHandle h[1];
  uint32_t nh = 1;
  assert_int_equal(MojoGetMessageData((MojoMessageHandle)s.m, NULL, NULL, NULL, h, &nh),
                   MOJO_RESULT_RESOURCE_EXHAUSTED); /* payload needs a buffer */
  uint32_t n;
  assert_int_equal(MojoGetMessageData((MojoMessageHandle)s.m, NULL, &buf, &n, h, &nh), P);
  assert_int_equal(cm_message_num_ports(s.m), 0);
  cm_serialized_message w = {0};
  assert_int_equal(cm_message_serialize_for_transport(s.m, NULL, 0, 0, &w), P);
  assert_int_equal(cm_le_get32(w.bytes), 0); /* no dispatchers */
  assert_int_equal(w.num_handles, 0);
  cm_message *m = NULL;
  assert_int_equal(cm_message_deserialize(w.bytes, w.num_bytes, w.handles, 0, 0, &m), P);
  assert_int_equal(m->payload_size, 1);
  cm_message_destroy(m);
  cm_serialized_message_free(&w);
  cm_message_destroy(s.m);
  /* The pipe end is the handle table's: it still works. */
  write_text(b, "still here");
  expect_text(h[0], "still here");
  MojoClose(h[0]);
  MojoClose(b);
}

/* ---- Context messages --------------------------------------------------- */

typedef struct context {
  const char *text;
  MojoHandle handle; /* attached by the serializer if valid */
  bool commit;
} context;

static void serialize_context(MojoMessageHandle message, uintptr_t c) {
  const context *ctx = (const context *)c;
  uint32_t n = (uint32_t)strlen(ctx->text);
  uint32_t nh = ctx->handle != MOJO_HANDLE_INVALID ? 1 : 0;
  struct MojoAppendMessageDataOptions o = {
      sizeof(o), ctx->commit ? MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE : 0};
  void *buf;
  assert_int_equal(MojoAppendMessageData(message, n, &ctx->handle, nh, &o, &buf, NULL), P);
  memcpy(buf, ctx->text, n);
}

static cm_message *context_message(context *ctx) {
  MojoMessageHandle h;
  assert_int_equal(MojoCreateMessage(NULL, &h), P);
  assert_int_equal(MojoSetMessageContext(h, (uintptr_t)ctx, serialize_context, NULL, NULL), P);
  return cm_message_from_handle(h);
}

static void test_context(void **state) {
  (void)state;
  /* The serializer writes bytes only: serialized on the way out. */
  context c1 = {"lazy bytes", MOJO_HANDLE_INVALID, true};
  sent s = {context_message(&c1), NULL, 0};
  take_ports(&s);
  cm_message *m = round_trip(&s);
  char payload[16];
  uint32_t nh = 0;
  assert_int_equal(receive(m, NULL, payload, NULL, &nh), 10);
  assert_memory_equal(payload, "lazy bytes", 10);
  free(s.ports);

  /* A serializer that attaches a handle must run before the event's ports
   * are taken (the ports are then in the event): done here by
   * cm_message_serialize, as the node controller must. */
  MojoHandle a, b;
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), P);
  context c2 = {"with a pipe", a, true};
  s = (sent){context_message(&c2), NULL, 0};
  assert_int_equal(cm_message_serialize(s.m), P);
  take_ports(&s);
  assert_int_equal(s.num_ports, 1);
  m = round_trip(&s);
  MojoHandle h[1];
  nh = 1;
  assert_int_equal(receive(m, s.ports, payload, h, &nh), 11);
  write_text(b, "through");
  expect_text(h[0], "through");
  MojoClose(h[0]);
  MojoClose(b);
  free(s.ports);

  /* Left to serialize_for_transport, the same serializer adds a port the
   * event does not carry: refused, and the message is still whole (its
   * destruction closes the pipe end it owns). */
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &b), P);
  context c3 = {"late pipe", a, true};
  s = (sent){context_message(&c3), NULL, 0};
  take_ports(&s);
  cm_serialized_message w = {0};
  assert_int_equal(cm_message_serialize_for_transport(s.m, s.ports, 0, 0, &w),
                   MOJO_RESULT_INVALID_ARGUMENT);
  cm_message_destroy(s.m);
  assert_true(satisfied(b) & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  MojoClose(b);
  free(s.ports);

  /* A serializer that never commits: the message cannot leave. */
  context c4 = {"never committed", MOJO_HANDLE_INVALID, false};
  s = (sent){context_message(&c4), NULL, 0};
  take_ports(&s);
  assert_int_equal(cm_message_serialize_for_transport(s.m, s.ports, 0, 0, &w), MOJO_RESULT_ABORTED);
  cm_message_destroy(s.m);
  free(s.ports);

  /* A context without a serializer cannot leave either. */
  MojoMessageHandle mh;
  assert_int_equal(MojoCreateMessage(NULL, &mh), P);
  assert_int_equal(MojoSetMessageContext(mh, 1, NULL, NULL, NULL), P);
  assert_int_equal(cm_message_serialize_for_transport(cm_message_from_handle(mh), NULL, 0, 0, &w),
                   MOJO_RESULT_NOT_FOUND);
  MojoDestroyMessage(mh);
}

/* ---- Many handles ------------------------------------------------------- */

#define MANY 1000

static void test_thousand_handles(void **state) {
  (void)state;
  MojoHandle *a = calloc(MANY, sizeof(*a)), *b = calloc(MANY, sizeof(*b));
  assert_non_null(a);
  assert_non_null(b);
  for (int i = 0; i < MANY; i++)
    assert_int_equal(MojoCreateMessagePipe(NULL, &a[i], &b[i]), P);
  sent s = make_sent("many", 4, a, MANY);
  assert_int_equal(s.num_ports, MANY);
  cm_message *m = round_trip(&s);
  uint32_t nh = MANY;
  char payload[4];
  assert_int_equal(receive(m, s.ports, payload, a, &nh), 4);
  assert_int_equal(nh, MANY);
  for (int i = 0; i < MANY; i += 97) {
    write_text(a[i], "n");
    expect_text(b[i], "n");
  }
  for (int i = 0; i < MANY; i++) {
    MojoClose(a[i]);
    MojoClose(b[i]);
  }
  free(a);
  free(b);
  free(s.ports);
}

/* More fds than a frame carries: refused, nothing taken from the message. */
static void test_too_many_fds(void **state) {
  (void)state;
  enum { N = CM_MAX_OS_HANDLES_PER_FRAME + 1 };
  MojoHandle h[N];
  for (int i = 0; i < N; i++) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct MojoPlatformHandle ph = {sizeof(ph), MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR,
                                    (uint64_t)fd};
    assert_int_equal(MojoWrapPlatformHandle(&ph, NULL, &h[i]), P);
  }
  sent s = make_sent(NULL, 0, h, N);
  cm_serialized_message w = {0};
  assert_int_equal(cm_message_serialize_for_transport(s.m, s.ports, 0, 0, &w),
                   MOJO_RESULT_RESOURCE_EXHAUSTED);
  assert_null(w.bytes);
  /* Still whole: a frame's worth of handles taken out again works. */
  MojoHandle *back = calloc(N, sizeof(*back));
  uint32_t nh = N;
  assert_int_equal(receive(s.m, NULL, NULL, back, &nh), 0);
  for (int i = 0; i < N; i++)
    MojoClose(back[i]);
  free(back);
  free(s.ports);
}

/* ---- Hostile input ------------------------------------------------------ */

/* A message with one of every transferable kind and a payload; the sender's
 * side is kept so the test can clean up. */
typedef struct sample {
  cm_serialized_message w;
  const uint8_t *bytes; /* the core message (after the headroom) */
  size_t num_bytes;
  cm_port_name *ports;
  size_t num_ports;
  MojoHandle keep[2]; /* the pipe's and the data pipe's other ends */
} sample;

static void make_sample(sample *x) {
  MojoHandle a, p, c, buf;
  int fds[2];
  assert_int_equal(MojoCreateMessagePipe(NULL, &a, &x->keep[0]), P);
  create_data_pipe(64, &p, &c);
  x->keep[1] = p;
  assert_int_equal(MojoCreateSharedBuffer(4096, NULL, &buf), P);
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  close(fds[0]);
  struct MojoPlatformHandle ph = {sizeof(ph), MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR,
                                  (uint64_t)fds[1]};
  MojoHandle wrapped;
  assert_int_equal(MojoWrapPlatformHandle(&ph, NULL, &wrapped), P);
  MojoHandle hs[4] = {a, c, buf, wrapped};
  sent s = make_sent("payload!!", 9, hs, 4);
  x->w = serialize(&s);
  cm_message_destroy(s.m);
  x->ports = s.ports;
  x->num_ports = s.num_ports;
  x->bytes = x->w.bytes + HEADROOM;
  x->num_bytes = x->w.num_bytes - HEADROOM;
  assert_int_equal(x->w.num_handles, 4); /* ring, two buffer fds, the pipe fd */
}

static void free_sample(sample *x) {
  cm_serialized_message_free(&x->w);
  for (size_t i = 0; i < x->num_ports; i++)
    close_port(&x->ports[i]);
  free(x->ports);
  MojoClose(x->keep[0]);
  MojoClose(x->keep[1]);
}

/* Duplicates of the sample's handles (deserialization takes what it gets). */
static void dup_handles(const sample *x, cm_platform_handle *out) {
  for (size_t i = 0; i < x->w.num_handles; i++)
    assert_int_equal(cm_platform_handle_duplicate(x->w.handles[i], &out[i]), P);
}

/* Deserializes bytes with fresh duplicates of the sample's handles; checks
 * every handle was taken. Returns the result; a message is destroyed. */
static MojoResult try_bytes(const sample *x, const uint8_t *bytes, size_t n, size_t num_handles,
                            size_t num_ports) {
  cm_platform_handle h[8];
  dup_handles(x, h);
  for (size_t i = x->w.num_handles; i < num_handles; i++)
    assert_int_equal(cm_platform_handle_duplicate(x->w.handles[0], &h[i]), P);
  size_t given = num_handles < x->w.num_handles ? num_handles : x->w.num_handles;
  for (size_t i = given; i < x->w.num_handles; i++)
    cm_platform_handle_close(&h[i]); /* not passed: ours to close */
  cm_message *m = NULL;
  MojoResult rv = cm_message_deserialize(bytes, n, h, num_handles, num_ports, &m);
  for (size_t i = 0; i < num_handles; i++)
    assert_false(cm_platform_handle_is_valid(h[i]));
  if (rv == MOJO_RESULT_OK)
    cm_message_destroy(m);
  return rv;
}

static void test_sample_valid(void **state) {
  (void)state;
  sample x;
  make_sample(&x);
  assert_int_equal(try_bytes(&x, x.bytes, x.num_bytes, 4, 2), P);
  free_sample(&x);
}

static void test_truncations(void **state) {
  (void)state;
  sample x;
  make_sample(&x);
  int fds = cm_test_count_open_fds();
  for (size_t n = 0; n < x.num_bytes; n++) {
    uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any overread */
    memcpy(copy, x.bytes, n);
    assert_int_equal(try_bytes(&x, copy, n, 4, 2), MOJO_RESULT_DATA_LOSS);
    free(copy);
  }
  /* One byte too many is as bad. */
  uint8_t *longer = calloc(1, x.num_bytes + 1);
  memcpy(longer, x.bytes, x.num_bytes);
  assert_int_equal(try_bytes(&x, longer, x.num_bytes + 1, 4, 2), MOJO_RESULT_DATA_LOSS);
  free(longer);
  assert_int_equal(cm_test_count_open_fds(), fds);
  free_sample(&x);
}

static void test_counts_must_match(void **state) {
  (void)state;
  sample x;
  make_sample(&x);
  assert_int_equal(try_bytes(&x, x.bytes, x.num_bytes, 3, 4), MOJO_RESULT_DATA_LOSS);
  assert_int_equal(try_bytes(&x, x.bytes, x.num_bytes, 5, 4), MOJO_RESULT_DATA_LOSS);
  assert_int_equal(try_bytes(&x, x.bytes, x.num_bytes, 0, 4), MOJO_RESULT_DATA_LOSS);
  assert_int_equal(try_bytes(&x, x.bytes, x.num_bytes, 4, 1), MOJO_RESULT_DATA_LOSS);
  assert_int_equal(try_bytes(&x, x.bytes, x.num_bytes, 4, 3), MOJO_RESULT_DATA_LOSS);
  free_sample(&x);
}

/* Every bit pattern flipped into each byte of the header and entries must
 * be refused (the layout is fully determined by them); flips in the blobs
 * and payload may make another valid message (a GUID, a smaller region
 * size, payload bytes) but never a crash or a leak. */
static void test_corruptions(void **state) {
  (void)state;
  sample x;
  make_sample(&x);
  static const uint8_t flips[] = {0x01, 0x02, 0x10, 0x80, 0xff};
  uint32_t fixed = CM_MESSAGE_WIRE_HEADER_BYTES + 4 * CM_MESSAGE_WIRE_ENTRY_BYTES;
  uint8_t *copy = malloc(x.num_bytes);
  int accepted = 0, refused = 0;
  for (size_t i = 0; i < x.num_bytes; i++) {
    for (size_t f = 0; f < sizeof(flips); f++) {
      memcpy(copy, x.bytes, x.num_bytes);
      copy[i] ^= flips[f];
      MojoResult rv = try_bytes(&x, copy, x.num_bytes, 4, 2);
      /* A consumer entry turned producer (3 -> 2) has the same shape. */
      bool same_shape =
          i == CM_MESSAGE_WIRE_HEADER_BYTES + CM_MESSAGE_WIRE_ENTRY_BYTES &&
          (CM_DISPATCHER_DATA_PIPE_CONSUMER ^ flips[f]) == CM_DISPATCHER_DATA_PIPE_PRODUCER;
      if (i < fixed && !same_shape)
        assert_int_equal(rv, MOJO_RESULT_DATA_LOSS);
      else
        assert_true(rv == P || rv == MOJO_RESULT_DATA_LOSS);
      if (rv == P)
        accepted++;
      else
        refused++;
    }
  }
  free(copy);
  print_message("corruptions: %d refused, %d still valid\n", refused, accepted);
  assert_true(refused > 0 && accepted > 0);
  free_sample(&x);
}

/* Offsets of the blobs in the sample: entries in order pipe, consumer,
 * buffer, fd; the pipe has no blob. */
#define DP_BLOB (CM_MESSAGE_WIRE_HEADER_BYTES + 4 * CM_MESSAGE_WIRE_ENTRY_BYTES)
#define SB_BLOB (DP_BLOB + CM_MESSAGE_WIRE_DATA_PIPE_BLOB_BYTES)

static MojoResult try_field32(const sample *x, size_t offset, uint32_t value) {
  uint8_t *copy = malloc(x->num_bytes);
  memcpy(copy, x->bytes, x->num_bytes);
  cm_le_put32(copy + offset, value);
  MojoResult rv = try_bytes(x, copy, x->num_bytes, 4, 2);
  free(copy);
  return rv;
}

static MojoResult try_field64(const sample *x, size_t offset, uint64_t value) {
  uint8_t *copy = malloc(x->num_bytes);
  memcpy(copy, x->bytes, x->num_bytes);
  cm_le_put64(copy + offset, value);
  MojoResult rv = try_bytes(x, copy, x->num_bytes, 4, 2);
  free(copy);
  return rv;
}

/* Values a hostile sender could pick, field by field. */
static void test_bad_values(void **state) {
  (void)state;
  sample x;
  make_sample(&x);
  const MojoResult L = MOJO_RESULT_DATA_LOSS;
  /* Header. */
  assert_int_equal(try_field32(&x, 0, CM_MAX_HANDLES_PER_MESSAGE + 1), L);
  assert_int_equal(try_field32(&x, 0, UINT32_MAX), L);
  assert_int_equal(try_field32(&x, 4, UINT32_MAX), L);
  assert_int_equal(try_field32(&x, 8, UINT32_MAX), L);
  /* Entries: a trap, an unknown type, huge sizes and counts. */
  assert_int_equal(try_field32(&x, 16, 6), L);
  assert_int_equal(try_field32(&x, 16, 0), L);
  assert_int_equal(try_field32(&x, 16, 0x80000001u), L);
  assert_int_equal(try_field32(&x, 20, UINT32_MAX), L);
  assert_int_equal(try_field32(&x, 24, UINT32_MAX), L);
  assert_int_equal(try_field32(&x, 28, UINT32_MAX), L);
  /* Data pipe: element 0, capacity not whole elements, capacity above the
   * limit (refused before any mapping), capacity beyond the ring's file,
   * offset and count past the capacity, unknown flags, a GUID of zero. */
  assert_int_equal(try_field32(&x, DP_BLOB + 0, 0), L);
  assert_int_equal(try_field32(&x, DP_BLOB + 0, 7), L);
  assert_int_equal(try_field32(&x, DP_BLOB + 4, 0x80000000u), L);
  assert_int_equal(try_field32(&x, DP_BLOB + 4, 1u << 20), L);
  assert_int_equal(try_field32(&x, DP_BLOB + 8, 64), L);
  assert_int_equal(try_field32(&x, DP_BLOB + 12, 65), L);
  assert_int_equal(try_field32(&x, DP_BLOB + 32, 4), L);
  assert_int_equal(try_field32(&x, DP_BLOB + 36, 1), L);
  uint8_t *copy = malloc(x.num_bytes);
  memcpy(copy, x.bytes, x.num_bytes);
  memset(copy + DP_BLOB + 16, 0, 16);
  assert_int_equal(try_bytes(&x, copy, x.num_bytes, 4, 2), L);
  free(copy);
  /* Still valid: a smaller ring, any offset and count within it. */
  assert_int_equal(try_field32(&x, DP_BLOB + 4, 32), P);
  assert_int_equal(try_field32(&x, DP_BLOB + 8, 63), P);
  /* Shared buffer: size 0, past its file, above the limit; access modes
   * that need another handle count or do not exist; reserved bits. */
  assert_int_equal(try_field64(&x, SB_BLOB + 0, 0), L);
  assert_int_equal(try_field64(&x, SB_BLOB + 0, 8192), L);
  assert_int_equal(try_field64(&x, SB_BLOB + 0, UINT64_MAX), L);
  assert_int_equal(try_field32(&x, SB_BLOB + 24, CM_PLATFORM_SHM_ACCESS_UNSAFE), L);
  assert_int_equal(try_field32(&x, SB_BLOB + 24, 3), L);
  assert_int_equal(try_field32(&x, SB_BLOB + 28, 1), L);
  assert_int_equal(try_field64(&x, SB_BLOB + 0, 100), P);
  free_sample(&x);
}

/* OS handles that are not what the blob says they are. */
static void test_wrong_handles(void **state) {
  (void)state;
  sample x;
  make_sample(&x);
  cm_platform_handle h[4];
  cm_message *m = NULL;
  /* The pipe fd where the ring's memfd goes. */
  dup_handles(&x, h);
  cm_platform_handle t = h[0];
  h[0] = h[3];
  h[3] = t;
  assert_int_equal(cm_message_deserialize(x.bytes, x.num_bytes, h, 4, 2, &m),
                   MOJO_RESULT_DATA_LOSS);
  /* The buffer's two fds swapped (read-only first). */
  dup_handles(&x, h);
  t = h[1];
  h[1] = h[2];
  h[2] = t;
  assert_int_equal(cm_message_deserialize(x.bytes, x.num_bytes, h, 4, 2, &m),
                   MOJO_RESULT_DATA_LOSS);
  /* A memfd that is not sealed against shrinking: the sender could
   * truncate it under our mapping. */
  dup_handles(&x, h);
  int fd = memfd_create("unsealed", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, 64), 0);
  cm_platform_handle_close(&h[0]);
  h[0] = cm_platform_handle_from_fd(fd);
  assert_int_equal(cm_message_deserialize(x.bytes, x.num_bytes, h, 4, 2, &m),
                   MOJO_RESULT_DATA_LOSS);
  for (int i = 0; i < 4; i++)
    assert_false(cm_platform_handle_is_valid(h[i]));
  free_sample(&x);
}

/* A dispatcher alone, bound at once to ports it is given. */
static void test_dispatcher_bound_at_once(void **state) {
  (void)state;
  cm_port_ref x, y;
  assert_int_equal(cm_node_create_port_pair(cm_core_node(), &x, &y), P);
  cm_dispatcher *d = NULL;
  cm_port_name bogus = {1, 2};
  assert_int_equal(
      cm_dispatcher_deserialize(CM_DISPATCHER_MESSAGE_PIPE, NULL, 0, &bogus, 1, NULL, 0, &d),
      MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_dispatcher_deserialize(CM_DISPATCHER_TRAP, NULL, 0, NULL, 0, NULL, 0, &d),
                   MOJO_RESULT_DATA_LOSS);
  assert_int_equal(
      cm_dispatcher_deserialize(CM_DISPATCHER_MESSAGE_PIPE, NULL, 0, &x.name, 1, NULL, 0, &d), P);
  MojoHandle h;
  assert_int_equal(cm_handles_add(d, &h), P);
  write_text(h, "bound");
  cm_event *ev = NULL;
  assert_int_equal(cm_node_get_message(cm_core_node(), &y, &ev), P);
  cm_event_destroy(ev);
  cm_node_close_port(cm_core_node(), &y);
  assert_true(satisfied(h) & MOJO_HANDLE_SIGNAL_PEER_CLOSED);
  MojoClose(h);
  cm_port_ref_release(&x);
  cm_port_ref_release(&y);
}

int main(void) {
  assert_int_equal(MojoInitialize(NULL), P);
#define T(f) cmocka_unit_test_setup_teardown(f, cm_test_setup_resources, cm_test_teardown_resources)
  const struct CMUnitTest tests[] = {
      T(test_pipe_same_ports),
      T(test_pipe_new_ports),
      T(test_data_pipe_consumer),
      T(test_data_pipe_producer),
      T(test_data_pipe_lap_from_header),
      T(test_shared_buffer),
      T(test_platform_handle),
      T(test_empty),
      T(test_handles_taken),
      T(test_context),
      T(test_thousand_handles),
      T(test_too_many_fds),
      T(test_sample_valid),
      T(test_truncations),
      T(test_counts_must_match),
      T(test_corruptions),
      T(test_bad_values),
      T(test_wrong_handles),
      T(test_dispatcher_bound_at_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
