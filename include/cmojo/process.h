/* cmojo process helpers: launching a child with a transport endpoint, finding
 * that endpoint in the child, and learning which process a message came from.
 *
 * These are cmojo's additions to Mojo's C API (Chromium keeps the same
 * helpers in C++, in mojo/public/cpp/platform). */
#ifndef CMOJO_PROCESS_H_
#define CMOJO_PROCESS_H_

#include <stdint.h>

#include "mojo/public/c/system/invitation.h"
#include "mojo/public/c/system/message_pipe.h"
#include "mojo/public/c/system/platform_handle.h"
#include "mojo/public/c/system/system_export.h"
#include "mojo/public/c/system/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The command-line switch that names the child's endpoint fd, as Chromium
 * names it: "--mojo-platform-channel-handle=N". */
#define CMOJO_PLATFORM_CHANNEL_SWITCH "--mojo-platform-channel-handle"

/* Spawns |path| with |argv| (NULL-terminated; argv[0] included) plus one more
 * argument, CMOJO_PLATFORM_CHANNEL_SWITCH "=N", where N is the child's end of
 * a new socket pair (the only fd besides 0-2 the child inherits from this
 * call); |envp| NULL means this process's environment. The child is started
 * with posix_spawn-like semantics (no code of the parent runs in it).
 * On OK, *endpoint is this process's end (type CHANNEL, one fd, close-on-exec),
 * ready for MojoSendInvitation(), whose platform handle array is
 * endpoint_handle; *pid is the child's pid (reap it with waitpid()).
 * Returns OK; INVALID_ARGUMENT for a NULL argument; NOT_FOUND if |path|
 * cannot be executed; RESOURCE_EXHAUSTED if out of fds, memory or processes.
 */
MOJO_SYSTEM_EXPORT MojoResult cmojo_launch(const char* path, char* const argv[], char* const envp[],
                                           struct MojoPlatformHandle* endpoint_handle,
                                           int64_t* pid);

/* In a child started by cmojo_launch() (or by any launcher that passes the
 * same switch): finds CMOJO_PLATFORM_CHANNEL_SWITCH in argv[0..argc), checks
 * that the fd is a Unix stream socket, makes it close-on-exec and returns it
 * in *endpoint_handle for MojoAcceptInvitation(). Returns OK; NOT_FOUND if
 * the switch is absent; INVALID_ARGUMENT if malformed or not such a socket. */
MOJO_SYSTEM_EXPORT MojoResult cmojo_endpoint_from_command_line(
    int argc, char* const argv[], struct MojoPlatformHandle* endpoint_handle);

/* Who is at the other end of a connection, as the kernel told at connect
 * time (SO_PEERCRED, SO_PEERPIDFD where the kernel has it). */
struct cmojo_peer_credentials {
  /* sizeof this struct as known to the caller; filled up to that size. */
  uint32_t struct_size;
  /* A pidfd of the peer process, borrowed (valid while the connection
   * lives), or -1 when the kernel cannot give one. Prefer it to the pid,
   * which may be reused once the process is gone. */
  int32_t pidfd;
  int64_t pid;
  uint32_t uid;
  uint32_t gid;
};

/* The credentials of the process that the message |message| (read from a
 * pipe) arrived from. Returns OK; NOT_FOUND if it was written in this
 * process; INVALID_ARGUMENT for a bad message handle, a NULL |out| or a
 * struct_size below 8; FAILED_PRECONDITION if the connection it came over
 * is already closed. */
MOJO_SYSTEM_EXPORT MojoResult cmojo_get_message_sender(MojoMessageHandle message,
                                                       struct cmojo_peer_credentials* out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CMOJO_PROCESS_H_ */
