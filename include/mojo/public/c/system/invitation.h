/* Invitations: how a process joins another process's graph of nodes.
 *
 * A process that already belongs to a graph (the broker, or a process that
 * accepted an invitation earlier) creates an invitation, attaches named
 * message pipes to it and sends it over a transport endpoint (one end of a
 * Unix socket) to a new process. The new process accepts it from the other
 * end and extracts the pipes by name; from then on the two processes, and
 * every other process of the graph, can exchange any Mojo handle.
 *
 * cmojo specifics (see docs/invitations.md):
 * - The broker is the process initialized with MOJO_INITIALIZE_FLAG_AS_BROKER,
 *   or else the first process of a graph: a process that sends a
 *   (non-isolated) invitation without ever having accepted one acts as the
 *   broker of its graph. A broker cannot accept a non-isolated invitation,
 *   and a process accepts at most one (FAILED_PRECONDITION otherwise).
 * - Transports: MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL (a connected Unix
 *   stream socket fd) and MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL_SERVER (a
 *   listening Unix socket fd; the first connection accepted on it carries
 *   the invitation). CHANNEL_ASYNC is treated as CHANNEL: cmojo never blocks
 *   while an invitation is accepted.
 * - Process handles are pids and are used for diagnostics only.
 *
 * See functions.h for the conventions on threads, options and outputs. */

#ifndef MOJO_PUBLIC_C_SYSTEM_INVITATION_H_
#define MOJO_PUBLIC_C_SYSTEM_INVITATION_H_

#include <stdint.h>

#include "mojo/public/c/system/macros.h"
#include "mojo/public/c/system/platform_handle.h"
#include "mojo/public/c/system/system_export.h"
#include "mojo/public/c/system/types.h"

/* Flags of MojoProcessErrorDetails. */
typedef uint32_t MojoProcessErrorFlags;

#define MOJO_PROCESS_ERROR_FLAG_NONE ((MojoProcessErrorFlags)0)

/* The connection to the process is gone: no further error reports come for
 * it, and every pipe that led there is (or is about to be) disconnected. */
#define MOJO_PROCESS_ERROR_FLAG_DISCONNECTED ((MojoProcessErrorFlags)1)

/* What a process error handler is told. */
struct MOJO_ALIGNAS(8) MojoProcessErrorDetails {
  /* sizeof this struct as known to cmojo, for versioning. */
  uint32_t struct_size;

  /* Bytes of |error_message|, not counting a terminating NUL. */
  uint32_t error_message_length;

  /* Why: the text given to MojoNotifyBadMessage(), or the reason the
   * connection was dropped. Valid only during the handler's call. */
  MOJO_POINTER_FIELD(const char*, error_message);

  /* MOJO_PROCESS_ERROR_FLAG_* bits. */
  MojoProcessErrorFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoProcessErrorDetails) == 24,
                   "MojoProcessErrorDetails has wrong size");

/* The process an invitation goes to. On POSIX |value| is its pid. */
struct MOJO_ALIGNAS(8) MojoPlatformProcessHandle {
  /* sizeof this struct as known to the caller, for versioning. */
  uint32_t struct_size;

  /* The pid (0 if unknown). */
  uint64_t value;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoPlatformProcessHandle) == 16,
                   "MojoPlatformProcessHandle has wrong size");

/* The kind of transport endpoint an invitation travels over. */
typedef uint32_t MojoInvitationTransportType;

/* A connected channel: on POSIX one end of a Unix stream socket pair. */
#define MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL ((MojoInvitationTransportType)0)

/* A listening Unix socket: the side holding it accepts one connection and
 * uses that as the channel; the other side connects and uses CHANNEL. */
#define MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL_SERVER ((MojoInvitationTransportType)1)

/* Like CHANNEL; in Mojo it avoids a blocking step of the acceptor, which
 * cmojo never has. */
#define MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL_ASYNC ((MojoInvitationTransportType)2)

/* A transport endpoint for MojoSendInvitation() / MojoAcceptInvitation(). */
struct MOJO_ALIGNAS(8) MojoInvitationTransportEndpoint {
  /* sizeof this struct as known to the caller, for versioning. */
  uint32_t struct_size;

  /* A MOJO_INVITATION_TRANSPORT_TYPE_* value. */
  MojoInvitationTransportType type;

  /* Entries in |platform_handles|: exactly 1 on POSIX. */
  uint32_t num_platform_handles;

  /* The OS handle(s) of the endpoint: one socket fd. */
  MOJO_POINTER_FIELD(const struct MojoPlatformHandle*, platform_handles);
};
MOJO_STATIC_ASSERT(sizeof(struct MojoInvitationTransportEndpoint) == 24,
                   "MojoInvitationTransportEndpoint has wrong size");

/* MojoCreateInvitation() options. No flags are defined. */
typedef uint32_t MojoCreateInvitationFlags;
#define MOJO_CREATE_INVITATION_FLAG_NONE ((MojoCreateInvitationFlags)0)

struct MOJO_ALIGNAS(8) MojoCreateInvitationOptions {
  uint32_t struct_size;
  MojoCreateInvitationFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoCreateInvitationOptions) == 8,
                   "MojoCreateInvitationOptions has wrong size");

/* MojoAttachMessagePipeToInvitation() options. No flags are defined. */
typedef uint32_t MojoAttachMessagePipeToInvitationFlags;
#define MOJO_ATTACH_MESSAGE_PIPE_TO_INVITATION_FLAG_NONE ((MojoAttachMessagePipeToInvitationFlags)0)

struct MOJO_ALIGNAS(8) MojoAttachMessagePipeToInvitationOptions {
  uint32_t struct_size;
  MojoAttachMessagePipeToInvitationFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoAttachMessagePipeToInvitationOptions) == 8,
                   "MojoAttachMessagePipeToInvitationOptions has wrong size");

/* MojoExtractMessagePipeFromInvitation() options. No flags are defined. */
typedef uint32_t MojoExtractMessagePipeFromInvitationFlags;
#define MOJO_EXTRACT_MESSAGE_PIPE_FROM_INVITATION_FLAG_NONE \
  ((MojoExtractMessagePipeFromInvitationFlags)0)

struct MOJO_ALIGNAS(8) MojoExtractMessagePipeFromInvitationOptions {
  uint32_t struct_size;
  MojoExtractMessagePipeFromInvitationFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoExtractMessagePipeFromInvitationOptions) == 8,
                   "MojoExtractMessagePipeFromInvitationOptions has wrong size");

/* MojoSendInvitation() options. */
typedef uint32_t MojoSendInvitationFlags;
#define MOJO_SEND_INVITATION_FLAG_NONE ((MojoSendInvitationFlags)0)

/* Connect only the two processes, not their graphs: the receiver must
 * accept with MOJO_ACCEPT_INVITATION_FLAG_ISOLATED, and the invitation must
 * carry exactly one pipe, named by the four bytes "\0\0\0\0". Neither side
 * can reach the other's other processes through this connection. */
#define MOJO_SEND_INVITATION_FLAG_ISOLATED ((MojoSendInvitationFlags)1)

/* The receiver is less trusted. Accepted; cmojo treats every peer as
 * untrusted already, so it changes nothing. */
#define MOJO_SEND_INVITATION_FLAG_UNTRUSTED_PROCESS ((MojoSendInvitationFlags)2)

struct MOJO_ALIGNAS(8) MojoSendInvitationOptions {
  uint32_t struct_size;
  MojoSendInvitationFlags flags;

  /* With ISOLATED: a name for the connection. When it is not empty, a new
   * isolated connection of the same name replaces (disconnects) the old. */
  MOJO_POINTER_FIELD(const char*, isolated_connection_name);
  uint32_t isolated_connection_name_length;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoSendInvitationOptions) == 24,
                   "MojoSendInvitationOptions has wrong size");

/* MojoAcceptInvitation() options. */
typedef uint32_t MojoAcceptInvitationFlags;
#define MOJO_ACCEPT_INVITATION_FLAG_NONE ((MojoAcceptInvitationFlags)0)

/* Accept an invitation sent with MOJO_SEND_INVITATION_FLAG_ISOLATED. */
#define MOJO_ACCEPT_INVITATION_FLAG_ISOLATED ((MojoAcceptInvitationFlags)1)

/* Never close the transport endpoint (it closes when the process exits), so
 * that the inviter can take a broken connection as this process's death.
 * Only for a process that accepts one invitation in its life. */
#define MOJO_ACCEPT_INVITATION_FLAG_LEAK_TRANSPORT_ENDPOINT ((MojoAcceptInvitationFlags)2)

struct MOJO_ALIGNAS(8) MojoAcceptInvitationOptions {
  uint32_t struct_size;
  MojoAcceptInvitationFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoAcceptInvitationOptions) == 8,
                   "MojoAcceptInvitationOptions has wrong size");

/* MojoSetDefaultProcessErrorHandler() options. No flags are defined. */
typedef uint32_t MojoSetDefaultProcessErrorHandlerFlags;
#define MOJO_SET_DEFAULT_PROCESS_ERROR_HANDLER_FLAG_NONE ((MojoSetDefaultProcessErrorHandlerFlags)0)

struct MOJO_ALIGNAS(8) MojoSetDefaultProcessErrorHandlerOptions {
  uint32_t struct_size;
  MojoSetDefaultProcessErrorHandlerFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoSetDefaultProcessErrorHandlerOptions) == 8,
                   "MojoSetDefaultProcessErrorHandlerOptions has wrong size");

#ifdef __cplusplus
extern "C" {
#endif

/* Told about a process this process invited: a message from it was
 * reported bad (MojoNotifyBadMessage, here or in any process of the graph),
 * or its connection ended (flag DISCONNECTED, always the last call).
 * |context| is the value given to MojoSendInvitation(). Runs on cmojo's I/O
 * thread (or inside cmojo_process() in embedder mode), or on the thread
 * that called MojoNotifyBadMessage(); it may call the API. */
typedef void (*MojoProcessErrorHandler)(uintptr_t context,
                                        const struct MojoProcessErrorDetails* details);

/* The same, for processes this process did not invite. */
typedef void (*MojoDefaultProcessErrorHandler)(const struct MojoProcessErrorDetails* details);

/* Creates an empty invitation to send.
 * Returns:
 *   OK                  *invitation_handle is the new invitation; close it
 *                       with MojoClose() if it is never sent.
 *   INVALID_ARGUMENT    |options| is malformed or |invitation_handle| NULL.
 *   RESOURCE_EXHAUSTED  no memory or handle for it.
 *   FAILED_PRECONDITION MojoInitialize() was not called. */
MOJO_SYSTEM_EXPORT MojoResult MojoCreateInvitation(
    const struct MojoCreateInvitationOptions* options, MojoHandle* invitation_handle);

/* Creates a message pipe, attaches one end to the invitation under |name|
 * (name_num_bytes bytes, at most 4096, may be empty) and returns the other.
 * Returns:
 *   OK                  *message_pipe_handle is the local end.
 *   INVALID_ARGUMENT    not an invitation created here (or already sent),
 *                       |options| malformed, |message_pipe_handle| NULL,
 *                       |name| NULL with a length, or the name too long.
 *   ALREADY_EXISTS      the invitation has a pipe of that name already.
 *   RESOURCE_EXHAUSTED  no memory or handle. */
MOJO_SYSTEM_EXPORT MojoResult MojoAttachMessagePipeToInvitation(
    MojoHandle invitation_handle, const void* name, uint32_t name_num_bytes,
    const struct MojoAttachMessagePipeToInvitationOptions* options,
    MojoHandle* message_pipe_handle);

/* Takes the pipe named |name| out of an invitation.
 * On an accepted invitation: returns at once a pipe end whose other end is
 * the inviter's pipe of that name; if the inviter attached no such pipe (or
 * it was extracted before), the pipe signals PEER_CLOSED once the inviter
 * says so. On an invitation created here and not sent: detaches the pipe
 * (the receiver will not see it) and returns its attached end.
 * Returns:
 *   OK                  *message_pipe_handle is the pipe end.
 *   INVALID_ARGUMENT    not an invitation, |options| malformed,
 *                       |message_pipe_handle| NULL, |name| NULL with a
 *                       length, or the name too long.
 *   NOT_FOUND           an invitation created here has no pipe of that name.
 *   RESOURCE_EXHAUSTED  no memory or handle. */
MOJO_SYSTEM_EXPORT MojoResult MojoExtractMessagePipeFromInvitation(
    MojoHandle invitation_handle, const void* name, uint32_t name_num_bytes,
    const struct MojoExtractMessagePipeFromInvitationOptions* options,
    MojoHandle* message_pipe_handle);

/* Sends an invitation over |transport_endpoint|, whose other end belongs
 * (or will belong) to the process |process_handle| names. |error_handler|
 * (may be NULL) is called with |error_handler_context| about that process:
 * bad messages reported from it, and the end of its connection. On OK the
 * endpoint's fd and the invitation belong to cmojo (the invitation handle is
 * closed); on failure both stay the caller's.
 * Returns:
 *   OK                  the handshake is under way (the receiver may still
 *                       never accept: the attached pipes then see
 *                       PEER_CLOSED when the connection ends).
 *   INVALID_ARGUMENT    not an unsent invitation, |transport_endpoint| NULL
 *                       or malformed (not exactly one fd, not a Unix stream
 *                       socket, resp. not a listening one for
 *                       CHANNEL_SERVER), |process_handle| or |options|
 *                       malformed, or ISOLATED with other than exactly one
 *                       pipe named "\0\0\0\0".
 *   FAILED_PRECONDITION no pipe attached.
 *   UNIMPLEMENTED       an unknown transport type.
 *   RESOURCE_EXHAUSTED  no memory or fds for the connection. */
MOJO_SYSTEM_EXPORT MojoResult MojoSendInvitation(
    MojoHandle invitation_handle, const struct MojoPlatformProcessHandle* process_handle,
    const struct MojoInvitationTransportEndpoint* transport_endpoint,
    MojoProcessErrorHandler error_handler, uintptr_t error_handler_context,
    const struct MojoSendInvitationOptions* options);

/* Accepts an invitation arriving on |transport_endpoint|. Does not wait for
 * it: pipes can be extracted at once and work as soon as the handshake is
 * done. The endpoint's fd belongs to cmojo on OK (and stays the caller's on
 * failure). Close the invitation handle when done; pipes not extracted by
 * then are closed.
 * Returns:
 *   OK                  *invitation_handle is the accepted invitation.
 *   INVALID_ARGUMENT    |transport_endpoint| NULL or malformed, |options|
 *                       malformed, or |invitation_handle| NULL.
 *   FAILED_PRECONDITION not ISOLATED, and this process is a broker or has
 *                       accepted a non-isolated invitation already.
 *   UNIMPLEMENTED       an unknown transport type.
 *   RESOURCE_EXHAUSTED  no memory, fd or handle. */
MOJO_SYSTEM_EXPORT MojoResult MojoAcceptInvitation(
    const struct MojoInvitationTransportEndpoint* transport_endpoint,
    const struct MojoAcceptInvitationOptions* options, MojoHandle* invitation_handle);

/* Sets (or with NULL, removes) the handler told about errors concerning
 * processes this process did not invite: a bad message from one of them
 * reported here, or a connection to one dropped for bad input.
 * Returns:
 *   OK                  set or removed.
 *   ALREADY_EXISTS      |handler| is not NULL and one is set already.
 *   INVALID_ARGUMENT    |options| malformed.
 *   FAILED_PRECONDITION MojoInitialize() was not called. */
MOJO_SYSTEM_EXPORT MojoResult
MojoSetDefaultProcessErrorHandler(MojoDefaultProcessErrorHandler handler,
                                  const struct MojoSetDefaultProcessErrorHandlerOptions* options);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOJO_PUBLIC_C_SYSTEM_INVITATION_H_ */
