/* Descriptor tables of Mojo's control messages (mojo.interface_control and
 * mojo.pipe_control), the only tables the runtime itself ships: every
 * interface speaks them. Offsets are pack.py's plus the 8-byte header. */
#include <stddef.h>

#include "cmojo/wire_control.h"
#include "wire_internal.h"

#define N(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))
#define STRUCT_TYPE(desc) \
  { .kind = CMOJO_WIRE_KIND_STRUCT, .struct_type = &(desc) }
#define FIELD(ctype, member, t, off)                    \
  {                                                     \
    .name = #member, .type = &(t), .offset = 8 + (off), \
    .c_offset = (uint32_t)offsetof(ctype, member)       \
  }
#define TABLE(sym, ctype, fields_, nfields, size)                   \
  static const cmojo_wire_version sym##_versions[] = {{0, size}};   \
  static const cmojo_wire_struct sym = {.name = #ctype,             \
                                        .fields = fields_,          \
                                        .num_fields = nfields,      \
                                        .versions = sym##_versions, \
                                        .num_versions = 1,          \
                                        .c_size = sizeof(ctype),    \
                                        .c_align = _Alignof(ctype)}
#define UNION(sym, ctype, fields_)                                 \
  static const cmojo_wire_union sym = {.name = #ctype,             \
                                       .fields = fields_,          \
                                       .num_fields = N(fields_),   \
                                       .c_size = sizeof(ctype),    \
                                       .c_align = _Alignof(ctype), \
                                       .c_value_offset = (uint32_t)offsetof(ctype, value)}

static const cmojo_wire_type t_uint32 = {.kind = CMOJO_WIRE_KIND_UINT32};
static const cmojo_wire_type t_int64 = {.kind = CMOJO_WIRE_KIND_INT64};
static const cmojo_wire_type t_string = {.kind = CMOJO_WIRE_KIND_STRING};
static const cmojo_wire_type t_pipe = {.kind = CMOJO_WIRE_KIND_HANDLE,
                                       .handle_type = CMOJO_WIRE_HANDLE_MESSAGE_PIPE};

/* ---- mojo.interface_control ---- */

TABLE(empty, cmojo_control_empty, NULL, 0, 8);
static const cmojo_wire_type t_empty = STRUCT_TYPE(empty);

static const cmojo_wire_field qvr_fields[] = {
    FIELD(cmojo_control_QueryVersionResult, version, t_uint32, 0)};
TABLE(qvr, cmojo_control_QueryVersionResult, qvr_fields, 1, 16);
static const cmojo_wire_type t_qvr = STRUCT_TYPE(qvr);

static const cmojo_wire_field require_fields[] = {
    FIELD(cmojo_control_RequireVersion, version, t_uint32, 0)};
TABLE(require, cmojo_control_RequireVersion, require_fields, 1, 16);
static const cmojo_wire_type t_require = STRUCT_TYPE(require);

static const cmojo_wire_field idle_fields[] = {
    FIELD(cmojo_control_EnableIdleTracking, timeout_in_microseconds, t_int64, 0)};
TABLE(idle, cmojo_control_EnableIdleTracking, idle_fields, 1, 16);
static const cmojo_wire_type t_idle = STRUCT_TYPE(idle);

static const cmojo_wire_union_field run_input_fields[] = {
    {"query_version", CMOJO_WIRE_CONTROL_RUN_QUERY_VERSION, &t_empty},
    {"flush_for_testing", CMOJO_WIRE_CONTROL_RUN_FLUSH_FOR_TESTING, &t_empty},
};
UNION(run_input, cmojo_control_RunInput, run_input_fields);

static const cmojo_wire_union_field run_output_fields[] = {
    {"query_version_result", CMOJO_WIRE_CONTROL_RUN_OUTPUT_QUERY_VERSION_RESULT, &t_qvr},
};
UNION(run_output, cmojo_control_RunOutput, run_output_fields);

static const cmojo_wire_union_field rocp_input_fields[] = {
    {"require_version", CMOJO_WIRE_CONTROL_REQUIRE_VERSION, &t_require},
    {"enable_idle_tracking", CMOJO_WIRE_CONTROL_ENABLE_IDLE_TRACKING, &t_idle},
    {"message_ack", CMOJO_WIRE_CONTROL_MESSAGE_ACK, &t_empty},
    {"notify_idle", CMOJO_WIRE_CONTROL_NOTIFY_IDLE, &t_empty},
};
UNION(rocp_input, cmojo_control_RunOrClosePipeInput, rocp_input_fields);

static const cmojo_wire_type t_run_input = {.kind = CMOJO_WIRE_KIND_UNION,
                                            .union_type = &run_input};
static const cmojo_wire_type t_run_output = {
    .kind = CMOJO_WIRE_KIND_UNION, .nullable = 1, .union_type = &run_output};
static const cmojo_wire_type t_rocp_input = {.kind = CMOJO_WIRE_KIND_UNION,
                                             .union_type = &rocp_input};

/* Each params struct holds one inlined union: 8 + 16 bytes. */
static const cmojo_wire_field run_fields[] = {
    FIELD(cmojo_control_RunMessageParams, input, t_run_input, 0)};
TABLE(run, cmojo_control_RunMessageParams, run_fields, 1, 24);
static const cmojo_wire_field run_resp_fields[] = {
    FIELD(cmojo_control_RunResponseMessageParams, output, t_run_output, 0)};
TABLE(run_resp, cmojo_control_RunResponseMessageParams, run_resp_fields, 1, 24);
static const cmojo_wire_field rocp_fields[] = {
    FIELD(cmojo_control_RunOrClosePipeMessageParams, input, t_rocp_input, 0)};
TABLE(rocp, cmojo_control_RunOrClosePipeMessageParams, rocp_fields, 1, 24);

static const cmojo_wire_method interface_control_methods[] = {
    {.name = "Run", .ordinal = CMOJO_WIRE_CONTROL_RUN_NAME, .request = &run, .response = &run_resp},
    {.name = "RunOrClosePipe",
     .ordinal = CMOJO_WIRE_CONTROL_RUN_OR_CLOSE_PIPE_NAME,
     .request = &rocp},
};
const cmojo_wire_interface cmojo_wire_interface_control = {
    .name = "mojo.interface_control",
    .methods = interface_control_methods,
    .num_methods = N(interface_control_methods)};

/* ---- mojo.pipe_control ---- */

static const cmojo_wire_field reason_fields[] = {
    FIELD(cmojo_pipe_control_DisconnectReason, custom_reason, t_uint32, 0),
    FIELD(cmojo_pipe_control_DisconnectReason, description, t_string, 8)};
TABLE(reason, cmojo_pipe_control_DisconnectReason, reason_fields, 2, 24);
static const cmojo_wire_type t_nreason = {
    .kind = CMOJO_WIRE_KIND_STRUCT, .nullable = 1, .struct_type = &reason};

static const cmojo_wire_field closed_fields[] = {
    FIELD(cmojo_pipe_control_PeerAssociatedEndpointClosedEvent, id, t_uint32, 0),
    FIELD(cmojo_pipe_control_PeerAssociatedEndpointClosedEvent, disconnect_reason, t_nreason, 8)};
TABLE(closed, cmojo_pipe_control_PeerAssociatedEndpointClosedEvent, closed_fields, 2, 24);
static const cmojo_wire_type t_closed = STRUCT_TYPE(closed);

static const cmojo_wire_field pause_fields[] = {
    FIELD(cmojo_pipe_control_PauseUntilFlushCompletes, flush_pipe, t_pipe, 0)};
TABLE(pause, cmojo_pipe_control_PauseUntilFlushCompletes, pause_fields, 1, 16);
static const cmojo_wire_type t_pause = STRUCT_TYPE(pause);

static const cmojo_wire_field flush_fields[] = {
    FIELD(cmojo_pipe_control_FlushAsync, flusher_pipe, t_pipe, 0)};
TABLE(flush, cmojo_pipe_control_FlushAsync, flush_fields, 1, 16);
static const cmojo_wire_type t_flush = STRUCT_TYPE(flush);

static const cmojo_wire_union_field pipe_input_fields[] = {
    {"peer_associated_endpoint_closed_event",
     CMOJO_WIRE_PIPE_CONTROL_PEER_ASSOCIATED_ENDPOINT_CLOSED, &t_closed},
    {"pause_until_flush_completes", CMOJO_WIRE_PIPE_CONTROL_PAUSE_UNTIL_FLUSH_COMPLETES, &t_pause},
    {"flush_async", CMOJO_WIRE_PIPE_CONTROL_FLUSH_ASYNC, &t_flush},
};
UNION(pipe_input, cmojo_pipe_control_RunOrClosePipeInput, pipe_input_fields);
static const cmojo_wire_type t_pipe_input = {.kind = CMOJO_WIRE_KIND_UNION,
                                             .union_type = &pipe_input};

static const cmojo_wire_field pipe_rocp_fields[] = {
    FIELD(cmojo_pipe_control_RunOrClosePipeMessageParams, input, t_pipe_input, 0)};
TABLE(pipe_rocp, cmojo_pipe_control_RunOrClosePipeMessageParams, pipe_rocp_fields, 1, 24);

static const cmojo_wire_method pipe_control_methods[] = {
    {.name = "RunOrClosePipe",
     .ordinal = CMOJO_WIRE_PIPE_CONTROL_RUN_OR_CLOSE_PIPE_NAME,
     .request = &pipe_rocp},
};
const cmojo_wire_interface cmojo_wire_pipe_control = {.name = "mojo.pipe_control",
                                                      .methods = pipe_control_methods,
                                                      .num_methods = N(pipe_control_methods)};
