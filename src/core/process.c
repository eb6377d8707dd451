/* process: cmojo's process helpers (cmojo/process.h) over the platform's
 * channel functions and the node controller's connection records. */
#include "cmojo/process.h"

#include <string.h>

#include "core/core.h"
#include "core/message.h"
#include "core/node_controller.h"

MojoResult cmojo_launch(const char *path, char *const argv[], char *const envp[],
                        struct MojoPlatformHandle *endpoint_handle, int64_t *pid) {
  if (!path || !argv || !endpoint_handle || !pid)
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_platform_handle ours, theirs;
  MojoResult r = cm_platform_channel_create_pair(&ours, &theirs);
  if (r != MOJO_RESULT_OK)
    return r;
  r = cm_platform_channel_spawn(path, argv, envp, &theirs, pid);
  if (r != MOJO_RESULT_OK) {
    cm_platform_handle_close(&ours);
    return r;
  }
  endpoint_handle->struct_size = sizeof(*endpoint_handle);
  endpoint_handle->type = MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR;
  endpoint_handle->value = (uint64_t)cm_platform_handle_fd(ours);
  return MOJO_RESULT_OK;
}

MojoResult cmojo_endpoint_from_command_line(int argc, char *const argv[],
                                            struct MojoPlatformHandle *endpoint_handle) {
  if (!argv || !endpoint_handle)
    return MOJO_RESULT_INVALID_ARGUMENT;
  cm_platform_handle h;
  MojoResult r = cm_platform_channel_from_switch(argc, argv, &h);
  if (r != MOJO_RESULT_OK)
    return r;
  endpoint_handle->struct_size = sizeof(*endpoint_handle);
  endpoint_handle->type = MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR;
  endpoint_handle->value = (uint64_t)cm_platform_handle_fd(h);
  return MOJO_RESULT_OK;
}

MojoResult cmojo_get_message_sender(MojoMessageHandle message, struct cmojo_peer_credentials *out) {
  if (!cm_core_is_initialized())
    return MOJO_RESULT_FAILED_PRECONDITION;
  if (!message || !out || out->struct_size < 8)
    return MOJO_RESULT_INVALID_ARGUMENT;
  const cm_message *m = cm_message_from_handle(message);
  if (!cm_name_is_valid(&m->source_node))
    return MOJO_RESULT_NOT_FOUND;
  cm_platform_peer_credentials c;
  if (cm_node_controller_peer_credentials(&m->source_node, &c) != MOJO_RESULT_OK)
    return MOJO_RESULT_FAILED_PRECONDITION;
  struct cmojo_peer_credentials full = {
      .struct_size = out->struct_size < sizeof(full) ? out->struct_size : (uint32_t)sizeof(full),
      .pidfd = cm_platform_handle_is_valid(c.pidfd) ? cm_platform_handle_fd(c.pidfd) : -1,
      .pid = c.pid,
      .uid = c.uid,
      .gid = c.gid,
  };
  memcpy(out, &full, full.struct_size);
  return MOJO_RESULT_OK;
}
