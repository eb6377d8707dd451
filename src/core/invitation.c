/* invitation: the invitation object behind a MojoHandle and the functions
 * of invitation.h. The connections themselves are the node controller's
 * (node_controller_invite.c); this file checks the arguments and keeps
 * what an invitation holds until it is sent or accepted:
 *   - created here: the pipes attached so far (a reserved port per name);
 *   - accepted: the connection to the inviter, through which each
 *     extracted name asks for a merge.
 * An invitation can be neither watched (no signals) nor sent in a message. */
#include <stdlib.h>
#include <string.h>

#include "cm_limits.h"
#include "core/core.h"
#include "core/handle_table.h"
#include "core/node_controller.h"
#include "mojo/public/c/system/invitation.h"

typedef struct invitation {
  cm_dispatcher base;
  bool accepted;
  /* Under base.lock. */
  cm_attachment *attachments; /* created here, not sent */
  cm_peer *inviter;           /* accepted */
} invitation;

static invitation *as_invitation(cm_dispatcher *d) {
  return (invitation *)d;
}

static void close_attachments(cm_attachment *a) {
  while (a) {
    cm_attachment *next = a->next;
    cm_node_close_port(cm_core_node(), &a->port);
    cm_port_ref_release(&a->port);
    free(a);
    a = next;
  }
}

static void invitation_close(cm_dispatcher *d) {
  invitation *inv = as_invitation(d);
  pthread_mutex_lock(&d->lock);
  cm_attachment *a = inv->attachments;
  cm_peer *inviter = inv->inviter;
  inv->attachments = NULL;
  inv->inviter = NULL;
  pthread_mutex_unlock(&d->lock);
  close_attachments(a);
  cm_peer_unref(inviter);
}

static void invitation_destroy(cm_dispatcher *d) {
  free(as_invitation(d));
}

static const cm_dispatcher_ops invitation_ops = {
    .type = CM_DISPATCHER_INVITATION,
    .close = invitation_close,
    .destroy = invitation_destroy,
};

static invitation *invitation_new(void) {
  invitation *inv = calloc(1, sizeof(*inv));
  if (inv)
    cm_dispatcher_init(&inv->base, &invitation_ops);
  return inv;
}

/* The invitation behind h with a reference, or NULL. */
static invitation *get_invitation(MojoHandle h) {
  cm_dispatcher *d = cm_handles_get(h);
  if (d && cm_dispatcher_get_type(d) != CM_DISPATCHER_INVITATION) {
    cm_dispatcher_unref(d);
    d = NULL;
  }
  return d ? as_invitation(d) : NULL;
}

static bool name_ok(const void *name, uint32_t n) {
  return (name || n == 0) && n <= CM_MAX_INVITATION_NAME_BYTES;
}

static cm_attachment **find_attachment(invitation *inv, const void *name, uint32_t n) {
  cm_attachment **a = &inv->attachments;
  while (*a && !((*a)->name_num_bytes == n && (n == 0 || memcmp((*a)->name, name, n) == 0)))
    a = &(*a)->next;
  return a;
}

MojoResult MojoCreateInvitation(const struct MojoCreateInvitationOptions *options,
                                MojoHandle *invitation_handle) {
  CM_API_BEGIN(rc);
  if (!invitation_handle || !CM_OPTIONS_OK(options))
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  invitation *inv = invitation_new();
  if (!inv)
    CM_API_RETURN(rc, MOJO_RESULT_RESOURCE_EXHAUSTED);
  if (cm_handles_add(&inv->base, invitation_handle) != MOJO_RESULT_OK) {
    cm_dispatcher_unref(&inv->base);
    CM_API_RETURN(rc, MOJO_RESULT_RESOURCE_EXHAUSTED);
  }
  CM_API_RETURN(rc, MOJO_RESULT_OK);
}

static MojoResult attach(invitation *inv, const void *name, uint32_t n, MojoHandle *out) {
  cm_attachment *a = malloc(sizeof(*a) + n);
  cm_port_ref mine, theirs;
  if (!a)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  if (cm_node_create_port_pair(cm_core_node(), &mine, &theirs) != MOJO_RESULT_OK) {
    free(a);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  a->port = theirs;
  a->name_num_bytes = n;
  if (n)
    memcpy(a->name, name, n);
  MojoResult r = MOJO_RESULT_OK;
  pthread_mutex_lock(&inv->base.lock);
  if (inv->base.closed || inv->accepted) {
    r = MOJO_RESULT_INVALID_ARGUMENT;
  } else if (*find_attachment(inv, name, n)) {
    r = MOJO_RESULT_ALREADY_EXISTS;
  } else {
    a->next = inv->attachments;
    inv->attachments = a;
  }
  pthread_mutex_unlock(&inv->base.lock);
  if (r != MOJO_RESULT_OK) {
    a->next = NULL;
    close_attachments(a);
    cm_node_close_port(cm_core_node(), &mine);
    cm_port_ref_release(&mine);
    return r;
  }
  /* On failure the port closes: the attached end then only sees closure. */
  return cm_message_pipe_wrap_port(&mine, out);
}

static MojoResult extract(invitation *inv, const void *name, uint32_t n, MojoHandle *out) {
  pthread_mutex_lock(&inv->base.lock);
  if (inv->base.closed) {
    pthread_mutex_unlock(&inv->base.lock);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  if (!inv->accepted) {
    cm_attachment **slot = find_attachment(inv, name, n);
    cm_attachment *a = *slot;
    if (a)
      *slot = a->next;
    pthread_mutex_unlock(&inv->base.lock);
    if (!a)
      return MOJO_RESULT_NOT_FOUND;
    cm_port_ref port = a->port;
    free(a);
    return cm_message_pipe_wrap_port(&port, out);
  }
  cm_peer *inviter = inv->inviter;
  cm_peer_ref(inviter);
  pthread_mutex_unlock(&inv->base.lock);
  cm_port_ref mine, theirs;
  MojoResult r = MOJO_RESULT_RESOURCE_EXHAUSTED;
  if (cm_node_create_port_pair(cm_core_node(), &mine, &theirs) == MOJO_RESULT_OK) {
    r = cm_message_pipe_wrap_port(&mine, out);
    if (r == MOJO_RESULT_OK) {
      cm_node_controller_request_merge(inviter, &theirs, name, n);
    } else {
      cm_node_close_port(cm_core_node(), &theirs);
      cm_port_ref_release(&theirs);
    }
  }
  cm_peer_unref(inviter);
  return r;
}

typedef MojoResult (*pipe_op)(invitation *inv, const void *name, uint32_t n, MojoHandle *out);

/* Attach and extract: the same checks around a different operation. */
static MojoResult named_pipe_call(MojoHandle invitation_handle, const void *name, uint32_t n,
                                  bool options_ok, MojoHandle *out, pipe_op op) {
  CM_API_BEGIN(rc);
  if (!out || !options_ok || !name_ok(name, n))
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  invitation *inv = get_invitation(invitation_handle);
  if (!inv)
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  MojoResult r = op(inv, name, n, out);
  cm_dispatcher_unref(&inv->base);
  CM_API_RETURN(rc, r);
}

MojoResult MojoAttachMessagePipeToInvitation(
    MojoHandle invitation_handle, const void *name, uint32_t name_num_bytes,
    const struct MojoAttachMessagePipeToInvitationOptions *options,
    MojoHandle *message_pipe_handle) {
  return named_pipe_call(invitation_handle, name, name_num_bytes, CM_OPTIONS_OK(options),
                         message_pipe_handle, attach);
}

MojoResult MojoExtractMessagePipeFromInvitation(
    MojoHandle invitation_handle, const void *name, uint32_t name_num_bytes,
    const struct MojoExtractMessagePipeFromInvitationOptions *options,
    MojoHandle *message_pipe_handle) {
  return named_pipe_call(invitation_handle, name, name_num_bytes, CM_OPTIONS_OK(options),
                         message_pipe_handle, extract);
}

/* Checks an endpoint struct: OK and its fd, whether it is a listener. */
static MojoResult check_endpoint(const struct MojoInvitationTransportEndpoint *e,
                                 cm_platform_handle *fd, bool *listener) {
  if (!e || e->struct_size < sizeof(*e) || e->num_platform_handles != 1 || !e->platform_handles)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (e->type == MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL_SERVER)
    *listener = true;
  else if (e->type == MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL ||
           e->type == MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL_ASYNC)
    *listener = false;
  else
    return MOJO_RESULT_UNIMPLEMENTED;
  const struct MojoPlatformHandle *h = &e->platform_handles[0];
  if (h->struct_size < sizeof(*h) || h->type != MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR ||
      h->value > (uint64_t)INT32_MAX)
    return MOJO_RESULT_INVALID_ARGUMENT;
  *fd = cm_platform_handle_from_fd((int)h->value);
  return cm_platform_channel_is_endpoint(*fd, *listener) ? MOJO_RESULT_OK
                                                         : MOJO_RESULT_INVALID_ARGUMENT;
}

static const uint8_t kIsolatedName[4] = {0, 0, 0, 0};

/* Sends with the attachments taken from inv; gives them back on failure. */
static MojoResult send_invitation(invitation *inv, cm_platform_handle fd, bool listener,
                                  int64_t pid, MojoProcessErrorHandler handler, uintptr_t context,
                                  const struct MojoSendInvitationOptions *options) {
  bool isolated = options && (options->flags & MOJO_SEND_INVITATION_FLAG_ISOLATED);
  const char *iso_name = NULL;
  uint32_t iso_len = 0;
  if (isolated && options->struct_size >= sizeof(*options) &&
      options->isolated_connection_name_length) {
    iso_name = options->isolated_connection_name;
    iso_len = options->isolated_connection_name_length;
    if (!iso_name)
      return MOJO_RESULT_INVALID_ARGUMENT;
  }
  pthread_mutex_lock(&inv->base.lock);
  cm_attachment *a = inv->attachments;
  MojoResult r = MOJO_RESULT_OK;
  if (inv->base.closed || inv->accepted)
    r = MOJO_RESULT_INVALID_ARGUMENT;
  else if (!a)
    r = MOJO_RESULT_FAILED_PRECONDITION;
  else if (isolated && (a->next || a->name_num_bytes != sizeof(kIsolatedName) ||
                        memcmp(a->name, kIsolatedName, sizeof(kIsolatedName)) != 0))
    r = MOJO_RESULT_INVALID_ARGUMENT;
  if (r == MOJO_RESULT_OK)
    inv->attachments = NULL;
  pthread_mutex_unlock(&inv->base.lock);
  if (r != MOJO_RESULT_OK)
    return r;
  r = cm_node_controller_send_invitation(fd, listener, &a, pid, handler, context, isolated,
                                         iso_name, iso_len);
  if (r != MOJO_RESULT_OK) {
    pthread_mutex_lock(&inv->base.lock);
    inv->attachments = a;
    pthread_mutex_unlock(&inv->base.lock);
  }
  return r;
}

MojoResult MojoSendInvitation(MojoHandle invitation_handle,
                              const struct MojoPlatformProcessHandle *process_handle,
                              const struct MojoInvitationTransportEndpoint *transport_endpoint,
                              MojoProcessErrorHandler error_handler,
                              uintptr_t error_handler_context,
                              const struct MojoSendInvitationOptions *options) {
  CM_API_BEGIN(rc);
  if ((options && options->struct_size < 8) ||
      (process_handle && process_handle->struct_size < sizeof(*process_handle)))
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  cm_platform_handle fd;
  bool listener;
  MojoResult r = check_endpoint(transport_endpoint, &fd, &listener);
  if (r != MOJO_RESULT_OK)
    CM_API_RETURN(rc, r);
  invitation *inv = get_invitation(invitation_handle);
  if (!inv)
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  int64_t pid = process_handle ? (int64_t)process_handle->value : 0;
  r = send_invitation(inv, fd, listener, pid, error_handler, error_handler_context, options);
  if (r == MOJO_RESULT_OK) {
    /* Sent: the handle is spent (nothing is left in it to close). */
    cm_dispatcher *d;
    if (cm_handles_remove(invitation_handle, &d) == MOJO_RESULT_OK) {
      cm_dispatcher_close(d);
      cm_dispatcher_unref(d);
    }
  }
  cm_dispatcher_unref(&inv->base);
  CM_API_RETURN(rc, r);
}

MojoResult MojoAcceptInvitation(const struct MojoInvitationTransportEndpoint *transport_endpoint,
                                const struct MojoAcceptInvitationOptions *options,
                                MojoHandle *invitation_handle) {
  CM_API_BEGIN(rc);
  if (!invitation_handle || !CM_OPTIONS_OK(options))
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  cm_platform_handle fd;
  bool listener;
  MojoResult r = check_endpoint(transport_endpoint, &fd, &listener);
  if (r != MOJO_RESULT_OK)
    CM_API_RETURN(rc, r);
  MojoAcceptInvitationFlags flags = options ? options->flags : 0;
  cm_peer *inviter = NULL;
  r = cm_node_controller_accept_invitation(
      fd, listener, flags & MOJO_ACCEPT_INVITATION_FLAG_ISOLATED,
      flags & MOJO_ACCEPT_INVITATION_FLAG_LEAK_TRANSPORT_ENDPOINT, &inviter);
  if (r != MOJO_RESULT_OK)
    CM_API_RETURN(rc, r);
  /* The connection is under way already; without a handle nobody can
   * extract its pipes, and the inviter's see closure when it ends. */
  invitation *inv = invitation_new();
  if (!inv) {
    cm_peer_unref(inviter);
    CM_API_RETURN(rc, MOJO_RESULT_RESOURCE_EXHAUSTED);
  }
  inv->accepted = true;
  inv->inviter = inviter;
  if (cm_handles_add(&inv->base, invitation_handle) != MOJO_RESULT_OK) {
    cm_dispatcher_close(&inv->base);
    cm_dispatcher_unref(&inv->base);
    CM_API_RETURN(rc, MOJO_RESULT_RESOURCE_EXHAUSTED);
  }
  CM_API_RETURN(rc, MOJO_RESULT_OK);
}

MojoResult MojoSetDefaultProcessErrorHandler(
    MojoDefaultProcessErrorHandler handler,
    const struct MojoSetDefaultProcessErrorHandlerOptions *options) {
  CM_API_BEGIN(rc);
  if (!CM_OPTIONS_OK(options))
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  CM_API_RETURN(rc, cm_node_controller_set_default_error_handler(handler));
}
