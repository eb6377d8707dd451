/* node_controller_invite: the connections invitations create (see
 * node_controller.h): sending one, accepting one, the merge requests of an
 * accepted one, and listening sockets (CHANNEL_SERVER endpoints) that wait
 * on the loop for the one connection that carries the invitation. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/node_controller_internal.h"
#include "core/request_context.h"

static void listener_readable(cm_peer *p);

/* On the loop thread, outside any API call (see node_controller.c). */
static void on_listener_readable(void *context) {
  cm_request_context rc;
  cm_request_context_begin(&rc, MOJO_TRAP_EVENT_FLAG_NONE);
  listener_readable(context);
  cm_request_context_end(&rc);
}

static void listener_readable(cm_peer *p) {
  /* peer_drop takes the listener under ctl.mu, then waits for this callback
   * (cm_io_loop_unwatch) before closing it: read under the lock, it is
   * valid for the whole call. */
  pthread_mutex_lock(&ctl.mu);
  cm_platform_handle listener = p->listener;
  pthread_mutex_unlock(&ctl.mu);
  if (!cm_platform_handle_is_valid(listener))
    return;
  cm_platform_handle conn;
  MojoResult r = cm_platform_channel_accept(listener, &conn);
  if (r == MOJO_RESULT_SHOULD_WAIT)
    return;
  pthread_mutex_lock(&ctl.mu);
  bool closed = p->state == PEER_CLOSED;
  cm_io_watch *watch = closed ? NULL : p->listener_watch;
  if (!closed) {
    p->listener_watch = NULL;
    p->listener = cm_platform_handle_invalid();
  }
  pthread_mutex_unlock(&ctl.mu);
  if (closed) {
    /* Dropped meanwhile: peer_drop releases the listener. */
    if (r == MOJO_RESULT_OK)
      cm_platform_handle_close(&conn);
    return;
  }
  /* One connection per invitation: the listener has done its job. */
  cm_io_loop_unwatch(watch);
  cm_platform_handle_close(&listener);
  if (r != MOJO_RESULT_OK)
    peer_drop(p, r, "accepting a connection on the invitation's listener failed");
  else if (peer_connect(p, &conn) != MOJO_RESULT_OK)
    peer_drop(p, MOJO_RESULT_RESOURCE_EXHAUSTED, "cannot start the invitation's channel");
}

/* Connects p over `fd` (ours now), or waits on the loop for a connection
 * when it is a listener. */
static MojoResult start(cm_peer *p, cm_platform_handle fd, bool listener) {
  if (!listener)
    return peer_connect(p, &fd);
  int flags = fcntl(cm_platform_handle_fd(fd), F_GETFL);
  if (flags < 0 || fcntl(cm_platform_handle_fd(fd), F_SETFL, flags | O_NONBLOCK) < 0) {
    cm_platform_handle_close(&fd);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  pthread_mutex_lock(&ctl.mu);
  p->listener = fd;
  MojoResult r = cm_io_loop_watch_handle(ctl.loop, fd, on_listener_readable, p, &p->listener_watch);
  pthread_mutex_unlock(&ctl.mu);
  return r;
}

MojoResult cm_node_controller_send_invitation(cm_platform_handle endpoint, bool listener,
                                              cm_attachment **attachments, int64_t pid,
                                              MojoProcessErrorHandler handler,
                                              uintptr_t handler_context, bool isolated,
                                              const char *isolated_name,
                                              uint32_t isolated_name_num_bytes) {
  /* A copy of the caller's endpoint: on failure the original stays theirs,
   * untouched, as the API promises. */
  cm_platform_handle fd;
  MojoResult r = cm_platform_handle_duplicate(endpoint, &fd);
  if (r != MOJO_RESULT_OK)
    return r;
  char *name_copy = NULL;
  if (isolated_name_num_bytes) {
    name_copy = malloc(isolated_name_num_bytes);
    if (!name_copy) {
      cm_platform_handle_close(&fd);
      return MOJO_RESULT_RESOURCE_EXHAUSTED;
    }
    memcpy(name_copy, isolated_name, isolated_name_num_bytes);
  }
  pthread_mutex_lock(&ctl.mu);
  cm_peer *p = peer_new_locked(PEER_INVITEE, PEER_AWAIT_CONNECTION);
  cm_peer *replaced = NULL;
  if (p) {
    for (cm_peer *q = ctl.peers; q && name_copy; q = q->next) {
      if (q != p && q->isolated_name && q->isolated_name_num_bytes == isolated_name_num_bytes &&
          memcmp(q->isolated_name, name_copy, isolated_name_num_bytes) == 0) {
        replaced = q;
        cm_peer_ref(q);
        break;
      }
    }
    p->isolated = isolated;
    p->invited_by_us = true;
    p->handler = handler;
    p->handler_context = handler_context;
    p->pid = pid;
    p->attachments = *attachments;
    p->isolated_name = name_copy;
    p->isolated_name_num_bytes = isolated_name_num_bytes;
    cm_peer_ref(p);
  }
  pthread_mutex_unlock(&ctl.mu);
  if (!p) {
    free(name_copy);
    cm_platform_handle_close(&fd);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  if (replaced) {
    peer_drop(replaced, MOJO_RESULT_ALREADY_EXISTS, "replaced by a new isolated connection");
    cm_peer_unref(replaced);
  }
  r = start(p, fd, listener);
  if (r != MOJO_RESULT_OK) {
    /* The invitation stays the caller's: its pipes go back to it. */
    pthread_mutex_lock(&ctl.mu);
    *attachments = p->attachments;
    p->attachments = NULL;
    p->handler = NULL;
    pthread_mutex_unlock(&ctl.mu);
    peer_drop(p, r, "the invitation could not be sent");
  } else {
    *attachments = NULL;
    cm_platform_handle_close(&endpoint);
    /* The first process of a graph is its broker (once an invitation of
     * its is under way). */
    pthread_mutex_lock(&ctl.mu);
    if (!isolated && !ctl.accepted)
      ctl.is_broker = true;
    pthread_mutex_unlock(&ctl.mu);
  }
  cm_peer_unref(p);
  return r;
}

MojoResult cm_node_controller_accept_invitation(cm_platform_handle endpoint, bool listener,
                                                bool isolated, bool leak_endpoint, cm_peer **out) {
  /* A copy of the caller's endpoint: on failure the original stays theirs,
   * untouched, as the API promises. */
  cm_platform_handle fd;
  MojoResult r = cm_platform_handle_duplicate(endpoint, &fd);
  if (r != MOJO_RESULT_OK)
    return r;
  pthread_mutex_lock(&ctl.mu);
  cm_peer *p = NULL;
  if (!isolated && (ctl.is_broker || ctl.accepted)) {
    r = MOJO_RESULT_FAILED_PRECONDITION;
  } else if (!(p = peer_new_locked(PEER_INVITER, PEER_AWAIT_CONNECTION))) {
    r = MOJO_RESULT_RESOURCE_EXHAUSTED;
  } else {
    p->isolated = isolated;
    p->leak_endpoint = leak_endpoint;
    if (!isolated)
      ctl.accepted = true;
    cm_peer_ref(p);
  }
  pthread_mutex_unlock(&ctl.mu);
  if (r != MOJO_RESULT_OK) {
    cm_platform_handle_close(&fd);
    return r;
  }
  r = start(p, fd, listener);
  if (r != MOJO_RESULT_OK) {
    pthread_mutex_lock(&ctl.mu);
    if (!isolated)
      ctl.accepted = false;
    pthread_mutex_unlock(&ctl.mu);
    peer_drop(p, r, "the invitation could not be accepted");
    cm_peer_unref(p);
    return r;
  }
  /* LEAK_TRANSPORT_ENDPOINT: the caller's fd stays open for the life of the
   * process, so the inviter sees this process's death, not our close. */
  if (!leak_endpoint)
    cm_platform_handle_close(&endpoint);
  *out = p;
  return MOJO_RESULT_OK;
}

void cm_node_controller_request_merge(cm_peer *inviter, cm_port_ref *port, const void *name,
                                      uint32_t n) {
  pending_merge *m = malloc(sizeof(*m) + n);
  if (!m) {
    cm_node_close_port(ctl.node, port);
    cm_port_ref_release(port);
    return;
  }
  m->port = *port;
  m->name_num_bytes = n;
  if (n)
    memcpy(m->name, name, n);
  pthread_mutex_lock(&ctl.mu);
  peer_state state = inviter->state;
  if (state != PEER_ACTIVE && state != PEER_CLOSED) {
    /* Sent when ACCEPT_INVITEE names the inviter. */
    m->next = inviter->merges;
    inviter->merges = m;
    m = NULL;
  }
  pthread_mutex_unlock(&ctl.mu);
  if (!m)
    return;
  if (state == PEER_CLOSED) {
    cm_node_close_port(ctl.node, &m->port);
    cm_port_ref_release(&m->port);
    free(m);
    return;
  }
  /* Shares the path of merges that waited for the handshake. */
  protocol_send_merge_request(inviter, m);
}
