/* A data pipe consumer serialized and rebuilt over and over while another
 * thread keeps writing into the pipe: the producer's counts arrive (and are
 * drained, on the writer's thread) while the consumer is being sent, so the
 * snapshot taken at serialization must include every count already taken
 * off the control port, and the ones still queued must reach the rebuilt
 * end. Every byte must arrive once, in order. Run under ThreadSanitizer by
 * the threaded label. */
#include "test_support.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/message.h"
#include "core/message_serialize.h"
#include "mojo/public/c/system/core.h"

#define P MOJO_RESULT_OK
#define TOTAL (1u << 20)
#define TRIPS 200

static const struct MojoAppendMessageDataOptions commit_options = {
    sizeof(commit_options), MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};

static uint8_t pattern(uint32_t i) {
  return (uint8_t)(i % 251);
}

static void *writer(void *arg) {
  MojoHandle p = *(MojoHandle *)arg;
  uint8_t buf[1000];
  uint32_t sent = 0;
  while (sent < TOTAL) {
    uint32_t n = TOTAL - sent < sizeof(buf) ? TOTAL - sent : (uint32_t)sizeof(buf);
    for (uint32_t i = 0; i < n; i++)
      buf[i] = pattern(sent + i);
    MojoResult rv = MojoWriteData(p, buf, &n, NULL);
    if (rv == MOJO_RESULT_SHOULD_WAIT) {
      sched_yield();
      continue;
    }
    if (rv != P)
      abort();
    sent += n;
  }
  return NULL;
}

/* The consumer goes through bytes and back, landing on its own port. */
static MojoHandle round_trip(MojoHandle c) {
  MojoMessageHandle h;
  assert_int_equal(MojoCreateMessage(NULL, &h), P);
  assert_int_equal(MojoAppendMessageData(h, 0, &c, 1, &commit_options, NULL, NULL), P);
  cm_message *m = cm_message_from_handle(h);
  cm_port_name port;
  cm_message_get_ports(m, &port);
  cm_serialized_message w = {0};
  assert_int_equal(cm_message_serialize_for_transport(m, &port, 1, 0, &w), P);
  cm_message_destroy(m);
  cm_message *out = NULL;
  assert_int_equal(cm_message_deserialize(w.bytes, w.num_bytes, w.handles, w.num_handles, 1, &out),
                   P);
  cm_serialized_message_free(&w);
  cm_message_rebind(out, &port);
  uint32_t nh = 1;
  assert_int_equal(MojoGetMessageData((MojoMessageHandle)out, NULL, NULL, NULL, &c, &nh), P);
  MojoDestroyMessage((MojoMessageHandle)out);
  return c;
}

static void test_consumer_moves_while_written(void **state) {
  (void)state;
  MojoHandle p, c;
  struct MojoCreateDataPipeOptions o = {sizeof(o), 0, 1, 4096};
  assert_int_equal(MojoCreateDataPipe(&o, &p, &c), P);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, writer, &p), 0);
  uint32_t got = 0, trips = 0, reads = 0;
  uint8_t buf[700];
  while (got < TOTAL) {
    uint32_t n = sizeof(buf);
    MojoResult rv = MojoReadData(c, NULL, buf, &n);
    if (rv == MOJO_RESULT_SHOULD_WAIT) {
      sched_yield();
    } else {
      assert_int_equal(rv, P);
      for (uint32_t i = 0; i < n; i++)
        if (buf[i] != pattern(got + i))
          fail_msg("byte %u: %u, expected %u", got + i, buf[i], pattern(got + i));
      got += n;
    }
    if (trips < TRIPS && ++reads % 7 == 0) {
      c = round_trip(c);
      trips++;
    }
  }
  assert_int_equal(pthread_join(t, NULL), 0);
  print_message("%u round trips while %u bytes streamed\n", trips, got);
  assert_true(trips > 10);
  assert_int_equal(MojoClose(p), P);
  assert_int_equal(MojoClose(c), P);
}

int main(void) {
  assert_int_equal(MojoInitialize(NULL), P);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_consumer_moves_while_written, cm_test_setup_resources,
                                      cm_test_teardown_resources),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
