/* Tables and C types of Mojo's control messages, for the bindings layer.
 *
 * Interface-control messages (mojo.interface_control) travel on any
 * interface's id with name CMOJO_WIRE_CONTROL_RUN_NAME (Run, expects a
 * response) or CMOJO_WIRE_CONTROL_RUN_OR_CLOSE_PIPE_NAME (RunOrClosePipe).
 * Pipe-control messages (mojo.pipe_control) use interface id
 * CMOJO_WIRE_PIPE_CONTROL_INTERFACE_ID and name RunOrClosePipe.
 *
 * cmojo_wire_validate_message() lets control names through unchecked for
 * ordinary interfaces, as Mojo's generated validators do; validate them by
 * passing cmojo_wire_interface_control or cmojo_wire_pipe_control as the
 * interface, and encode/decode them with the method tables found there. The
 * union tags are the CMOJO_WIRE_CONTROL_* / CMOJO_WIRE_PIPE_CONTROL_*
 * constants of wire.h. Written by hand from the two .mojom files (they are
 * fixed by the protocol); layouts follow pack.py.
 */
#ifndef CMOJO_WIRE_CONTROL_H_
#define CMOJO_WIRE_CONTROL_H_

#include "cmojo/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Structs without fields still need a C member. */
typedef struct cmojo_control_empty {
  uint8_t reserved;
} cmojo_control_empty;

/* ---- mojo.interface_control ---- */
typedef cmojo_control_empty cmojo_control_QueryVersion;
typedef cmojo_control_empty cmojo_control_FlushForTesting;
typedef cmojo_control_empty cmojo_control_MessageAck;
typedef cmojo_control_empty cmojo_control_NotifyIdle;

typedef struct cmojo_control_QueryVersionResult {
  uint32_t version;
} cmojo_control_QueryVersionResult;

typedef struct cmojo_control_RequireVersion {
  uint32_t version;
} cmojo_control_RequireVersion;

typedef struct cmojo_control_EnableIdleTracking {
  int64_t timeout_in_microseconds;
} cmojo_control_EnableIdleTracking;

/* union RunInput; tags CMOJO_WIRE_CONTROL_RUN_* */
typedef struct cmojo_control_RunInput {
  uint32_t tag;
  union {
    cmojo_control_QueryVersion *query_version;
    cmojo_control_FlushForTesting *flush_for_testing;
  } value;
} cmojo_control_RunInput;

/* union RunOutput; tag CMOJO_WIRE_CONTROL_RUN_OUTPUT_QUERY_VERSION_RESULT */
typedef struct cmojo_control_RunOutput {
  uint32_t tag;
  union {
    cmojo_control_QueryVersionResult *query_version_result;
  } value;
} cmojo_control_RunOutput;

/* union RunOrClosePipeInput; tags CMOJO_WIRE_CONTROL_REQUIRE_VERSION.. */
typedef struct cmojo_control_RunOrClosePipeInput {
  uint32_t tag;
  union {
    cmojo_control_RequireVersion *require_version;
    cmojo_control_EnableIdleTracking *enable_idle_tracking;
    cmojo_control_MessageAck *message_ack;
    cmojo_control_NotifyIdle *notify_idle;
  } value;
} cmojo_control_RunOrClosePipeInput;

typedef struct cmojo_control_RunMessageParams {
  cmojo_control_RunInput *input;
} cmojo_control_RunMessageParams;

typedef struct cmojo_control_RunResponseMessageParams {
  cmojo_control_RunOutput *output; /* nullable */
} cmojo_control_RunResponseMessageParams;

typedef struct cmojo_control_RunOrClosePipeMessageParams {
  cmojo_control_RunOrClosePipeInput *input;
} cmojo_control_RunOrClosePipeMessageParams;

/* Methods: Run (ordinal 0xFFFFFFFF, with response) and RunOrClosePipe
 * (0xFFFFFFFE). */
CMOJO_WIRE_EXPORT extern const cmojo_wire_interface cmojo_wire_interface_control;

/* ---- mojo.pipe_control ---- */
typedef struct cmojo_pipe_control_DisconnectReason {
  uint32_t custom_reason;
  cmojo_array description; /* string */
} cmojo_pipe_control_DisconnectReason;

typedef struct cmojo_pipe_control_PeerAssociatedEndpointClosedEvent {
  uint32_t id;
  cmojo_pipe_control_DisconnectReason *disconnect_reason; /* nullable */
} cmojo_pipe_control_PeerAssociatedEndpointClosedEvent;

typedef struct cmojo_pipe_control_PauseUntilFlushCompletes {
  MojoHandle flush_pipe;
} cmojo_pipe_control_PauseUntilFlushCompletes;

typedef struct cmojo_pipe_control_FlushAsync {
  MojoHandle flusher_pipe;
} cmojo_pipe_control_FlushAsync;

/* union RunOrClosePipeInput; tags CMOJO_WIRE_PIPE_CONTROL_* */
typedef struct cmojo_pipe_control_RunOrClosePipeInput {
  uint32_t tag;
  union {
    cmojo_pipe_control_PeerAssociatedEndpointClosedEvent *peer_associated_endpoint_closed_event;
    cmojo_pipe_control_PauseUntilFlushCompletes *pause_until_flush_completes;
    cmojo_pipe_control_FlushAsync *flush_async;
  } value;
} cmojo_pipe_control_RunOrClosePipeInput;

typedef struct cmojo_pipe_control_RunOrClosePipeMessageParams {
  cmojo_pipe_control_RunOrClosePipeInput *input;
} cmojo_pipe_control_RunOrClosePipeMessageParams;

/* Method: RunOrClosePipe (0xFFFFFFFE), no response. */
CMOJO_WIRE_EXPORT extern const cmojo_wire_interface cmojo_wire_pipe_control;

#ifdef __cplusplus
}
#endif

#endif /* CMOJO_WIRE_CONTROL_H_ */
