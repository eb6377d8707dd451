/* Control messages (interface control and pipe control) through the wire
 * runtime's own tables, error names, and the union/enum error paths the
 * corpus does not reach. */
#include <string.h>

#include "cmojo/wire.h"
#include "cmojo/wire_control.h"
#include "roundtrip.mojom.h"
#include "test_support.h"
#include "validation_input.h"

static void check_bytes(const cmojo_wire_message *m, const char *text) {
  cm_vinput want;
  char err[128];
  if (cm_vinput_parse(text, strlen(text), &want, err, sizeof(err)))
    fail_msg("bad expectation: %s", err);
  assert_int_equal(m->num_bytes, want.num_bytes);
  assert_memory_equal(m->bytes, want.bytes, want.num_bytes);
  cm_vinput_free(&want);
}

static void test_query_version(void **state) {
  (void)state;
  cmojo_control_QueryVersion qv = {0};
  cmojo_control_RunInput input = {CMOJO_WIRE_CONTROL_RUN_QUERY_VERSION, {.query_version = &qv}};
  cmojo_control_RunMessageParams params = {&input};
  const cmojo_wire_method *run =
      cmojo_wire_find_method(&cmojo_wire_interface_control, CMOJO_WIRE_CONTROL_RUN_NAME);
  assert_non_null(run);
  cmojo_wire_header in = {.interface_id = 0,
                          .name = CMOJO_WIRE_CONTROL_RUN_NAME,
                          .flags = CMOJO_WIRE_FLAG_EXPECTS_RESPONSE,
                          .request_id = 3};
  cmojo_wire_message m;
  assert_int_equal(cmojo_wire_encode_message(&in, run->request, &params, &m), MOJO_RESULT_OK);
  check_bytes(&m,
              "[u4]32 [u4]1 [u4]0 [u4]0xffffffff [u4]1 [u4]0 [u8]3 "
              "[u4]24 [u4]0 [u4]16 [u4]0 [dist8]qv "
              "[anchr]qv [u4]8 [u4]0");
  /* A user interface lets it through for the control handler... */
  const cmojo_wire_method *method = run;
  assert_int_equal(cmojo_wire_validate_message(m.bytes, m.num_bytes, 0, &test_wire_RoundTrip_desc,
                                               CMOJO_WIRE_REQUEST, NULL, &method),
                   CMOJO_WIRE_ERROR_NONE);
  assert_null(method);
  /* ...which validates and decodes it with the control tables. */
  assert_int_equal(
      cmojo_wire_validate_message(m.bytes, m.num_bytes, 0, &cmojo_wire_interface_control,
                                  CMOJO_WIRE_REQUEST, NULL, &method),
      CMOJO_WIRE_ERROR_NONE);
  assert_ptr_equal(method, run);
  void *out;
  assert_int_equal(
      cmojo_wire_decode_message(m.bytes, m.num_bytes, NULL, 0, run->request, &out, NULL),
      MOJO_RESULT_OK);
  cmojo_control_RunMessageParams *p = out;
  assert_int_equal(p->input->tag, CMOJO_WIRE_CONTROL_RUN_QUERY_VERSION);
  assert_non_null(p->input->value.query_version);
  cmojo_wire_free(out);
  /* An unknown RunInput tag is an error: the union is not extensible. */
  m.bytes[32 + 12] = 9;
  assert_int_equal(
      cmojo_wire_validate_message(m.bytes, m.num_bytes, 0, &cmojo_wire_interface_control,
                                  CMOJO_WIRE_REQUEST, NULL, NULL),
      CMOJO_WIRE_ERROR_UNKNOWN_UNION_TAG);
  cmojo_wire_message_free(&m);

  /* The reply: RunOutput? carrying the version. */
  cmojo_control_QueryVersionResult result = {7};
  cmojo_control_RunOutput output = {CMOJO_WIRE_CONTROL_RUN_OUTPUT_QUERY_VERSION_RESULT,
                                    {.query_version_result = &result}};
  cmojo_control_RunResponseMessageParams resp = {&output};
  in.flags = CMOJO_WIRE_FLAG_IS_RESPONSE;
  assert_int_equal(cmojo_wire_encode_message(&in, run->response, &resp, &m), MOJO_RESULT_OK);
  assert_int_equal(
      cmojo_wire_validate_message(m.bytes, m.num_bytes, 0, &cmojo_wire_interface_control,
                                  CMOJO_WIRE_RESPONSE, NULL, NULL),
      CMOJO_WIRE_ERROR_NONE);
  assert_int_equal(
      cmojo_wire_decode_message(m.bytes, m.num_bytes, NULL, 0, run->response, &out, NULL),
      MOJO_RESULT_OK);
  cmojo_control_RunResponseMessageParams *r = out;
  assert_int_equal(r->output->value.query_version_result->version, 7);
  cmojo_wire_free(out);
  cmojo_wire_message_free(&m);
}

static void test_pipe_control(void **state) {
  (void)state;
  cmojo_pipe_control_DisconnectReason reason = {42, {3, "bye"}};
  cmojo_pipe_control_PeerAssociatedEndpointClosedEvent closed = {0x80000002u, &reason};
  cmojo_pipe_control_RunOrClosePipeInput input = {
      CMOJO_WIRE_PIPE_CONTROL_PEER_ASSOCIATED_ENDPOINT_CLOSED,
      {.peer_associated_endpoint_closed_event = &closed}};
  cmojo_pipe_control_RunOrClosePipeMessageParams params = {&input};
  const cmojo_wire_method *m0 = &cmojo_wire_pipe_control.methods[0];
  cmojo_wire_header in = {.interface_id = CMOJO_WIRE_PIPE_CONTROL_INTERFACE_ID,
                          .name = CMOJO_WIRE_PIPE_CONTROL_RUN_OR_CLOSE_PIPE_NAME};
  cmojo_wire_message m;
  assert_int_equal(cmojo_wire_encode_message(&in, m0->request, &params, &m), MOJO_RESULT_OK);
  cmojo_wire_header h;
  assert_int_equal(cmojo_wire_validate_message(m.bytes, m.num_bytes, 0, &cmojo_wire_pipe_control,
                                               CMOJO_WIRE_REQUEST, &h, NULL),
                   CMOJO_WIRE_ERROR_NONE);
  assert_int_equal(h.interface_id, CMOJO_WIRE_INVALID_INTERFACE_ID);
  void *out;
  assert_int_equal(
      cmojo_wire_decode_message(m.bytes, m.num_bytes, NULL, 0, m0->request, &out, NULL),
      MOJO_RESULT_OK);
  cmojo_pipe_control_RunOrClosePipeMessageParams *p = out;
  const cmojo_pipe_control_PeerAssociatedEndpointClosedEvent *ev =
      p->input->value.peer_associated_endpoint_closed_event;
  assert_int_equal(ev->id, 0x80000002u);
  assert_int_equal(ev->disconnect_reason->custom_reason, 42);
  assert_string_equal(ev->disconnect_reason->description.data, "bye");
  cmojo_wire_free(out);
  cmojo_wire_message_free(&m);

  /* FlushAsync carries a pipe; it moves to the decoded value. */
  cmojo_pipe_control_FlushAsync flush = {77};
  input.tag = CMOJO_WIRE_PIPE_CONTROL_FLUSH_ASYNC;
  input.value.flush_async = &flush;
  assert_int_equal(cmojo_wire_encode_message(&in, m0->request, &params, &m), MOJO_RESULT_OK);
  assert_int_equal(m.num_handles, 1);
  assert_int_equal(cmojo_wire_validate_message(m.bytes, m.num_bytes, 0, &cmojo_wire_pipe_control,
                                               CMOJO_WIRE_REQUEST, NULL, NULL),
                   CMOJO_WIRE_ERROR_ILLEGAL_HANDLE); /* handle not attached */
  assert_int_equal(
      cmojo_wire_decode_message(m.bytes, m.num_bytes, m.handles, 1, m0->request, &out, NULL),
      MOJO_RESULT_OK);
  assert_int_equal(m.handles[0], MOJO_HANDLE_INVALID);
  p = out;
  assert_int_equal(p->input->value.flush_async->flusher_pipe, 77);
  cmojo_wire_free(out);
  cmojo_wire_message_free(&m);
}

static void test_error_names(void **state) {
  (void)state;
  static const char *const names[] = {
      "VALIDATION_ERROR_NONE",
      "VALIDATION_ERROR_MISALIGNED_OBJECT",
      "VALIDATION_ERROR_ILLEGAL_MEMORY_RANGE",
      "VALIDATION_ERROR_UNEXPECTED_STRUCT_HEADER",
      "VALIDATION_ERROR_UNEXPECTED_ARRAY_HEADER",
      "VALIDATION_ERROR_ILLEGAL_HANDLE",
      "VALIDATION_ERROR_UNEXPECTED_INVALID_HANDLE",
      "VALIDATION_ERROR_ILLEGAL_POINTER",
      "VALIDATION_ERROR_UNEXPECTED_NULL_POINTER",
      "VALIDATION_ERROR_ILLEGAL_INTERFACE_ID",
      "VALIDATION_ERROR_UNEXPECTED_INVALID_INTERFACE_ID",
      "VALIDATION_ERROR_MESSAGE_HEADER_INVALID_FLAGS",
      "VALIDATION_ERROR_MESSAGE_HEADER_MISSING_REQUEST_ID",
      "VALIDATION_ERROR_MESSAGE_HEADER_UNKNOWN_METHOD",
      "VALIDATION_ERROR_DIFFERENT_SIZED_ARRAYS_IN_MAP",
      "VALIDATION_ERROR_UNKNOWN_UNION_TAG",
      "VALIDATION_ERROR_UNKNOWN_ENUM_VALUE",
      "VALIDATION_ERROR_DESERIALIZATION_FAILED",
      "VALIDATION_ERROR_MAX_RECURSION_DEPTH",
  };
  for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
    assert_string_equal(cmojo_wire_error_string((cmojo_wire_error)i), names[i]);
  assert_string_equal(cmojo_wire_error_string((cmojo_wire_error)99), "VALIDATION_ERROR_UNKNOWN");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_query_version),
      cmocka_unit_test(test_pipe_control),
      cmocka_unit_test(test_error_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
