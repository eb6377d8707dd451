/* node_channel: HELLO, then checked node messages, over one transport on an
 * I/O loop (see node_channel.h).
 *
 * Locking. `mu` guards the state and the agreed version: the loop thread
 * changes them as messages arrive, writers on any thread read them, and
 * close() may claim CLOSED from any thread. Whoever moves the state to
 * CLOSED does the closing (GOODBYE, shutdown, stop watching), so it happens
 * once. `interest_mu` orders the transport's write-readiness wishes (reported
 * under its write lock, from any thread) with start's registration on the
 * loop; inside it only the poller is called. None of them is held while the
 * delegate runs or across a transport write. */
#include "core/node_channel.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_limits.h"

typedef enum channel_state {
  STATE_NEW,
  STATE_AWAIT_HELLO,
  STATE_CONNECTED,
  STATE_CLOSED,
} channel_state;

struct cm_node_channel {
  cm_io_loop *loop;
  cm_platform_transport *transport;
  /* Set by start under interest_mu (and the loop's lock) before the loop
   * can run a callback of ours. */
  cm_io_watch *watch;
  /* The transport's wish for write readiness, recorded so that start can
   * watch with the wish the HELLO write left behind. interest_mu orders the
   * wishes (made under the transport's write lock) with start. */
  pthread_mutex_t interest_mu;
  bool want_write;
  cm_node_channel_delegate delegate;
  void *context;

  pthread_mutex_t mu;
  channel_state state;
  uint32_t version;
};

static void close_fds(cm_platform_handle *fds, size_t n) {
  for (size_t i = 0; i < n; i++)
    cm_platform_handle_close(&fds[i]);
}

/* Moves the state to CLOSED. Returns false if it already was. */
static bool claim_closed(cm_node_channel *c) {
  pthread_mutex_lock(&c->mu);
  bool was_open = c->state != STATE_CLOSED;
  c->state = STATE_CLOSED;
  pthread_mutex_unlock(&c->mu);
  return was_open;
}

/* After claim_closed: says GOODBYE (if asked, best effort), ends the
 * transport and stops the loop's reports for it. */
static void shut(cm_node_channel *c, bool say_goodbye, MojoResult reason, const char *text) {
  if (say_goodbye && c->watch) {
    size_t len = text ? strlen(text) : 0;
    if (len > CM_MAX_NODE_MESSAGE_TEXT_BYTES)
      len = CM_MAX_NODE_MESSAGE_TEXT_BYTES;
    cm_node_message_buffer buf;
    cm_node_message_buffer_init(&buf);
    if (cm_node_message_encode_goodbye(&buf, reason, text ? text : "", len) == MOJO_RESULT_OK)
      (void)cm_platform_transport_write(c->transport, buf.bytes, buf.size, NULL, 0);
    cm_node_message_buffer_free(&buf);
  }
  /* Shutting down first ends the transport's write-interest reports, so
   * none reaches the poller after the watch stops. */
  cm_platform_transport_shutdown(c->transport);
  cm_io_loop_watch_stop(c->watch);
}

/* Drops the connection from the loop thread: for bad input (with GOODBYE)
 * or because the peer is gone or said GOODBYE (without). */
static void drop(cm_node_channel *c, bool say_goodbye, MojoResult reason, const char *text) {
  if (!claim_closed(c))
    return;
  shut(c, say_goodbye, reason, text);
  c->delegate.on_disconnect(c->context, reason, text);
}

static void drop_format(cm_node_channel *c, MojoResult reason, const char *fmt, const char *what) {
  char text[128];
  snprintf(text, sizeof(text), fmt, what);
  drop(c, true, reason, text);
}

static void on_hello(cm_node_channel *c, const cm_node_message *m) {
  uint32_t agreed;
  if (!cm_node_protocol_negotiate(CM_NODE_PROTOCOL_VERSION_MIN, CM_NODE_PROTOCOL_VERSION_MAX,
                                  m->u.hello.min_version, m->u.hello.max_version, &agreed)) {
    drop(c, true, MOJO_RESULT_FAILED_PRECONDITION, "no common protocol version");
    return;
  }
  pthread_mutex_lock(&c->mu);
  bool open = c->state == STATE_AWAIT_HELLO;
  if (open) {
    c->state = STATE_CONNECTED;
    c->version = agreed;
  }
  pthread_mutex_unlock(&c->mu);
  if (open && c->delegate.on_connected)
    c->delegate.on_connected(c->context, agreed, m->u.hello.capabilities);
}

static void on_goodbye(cm_node_channel *c, const cm_node_message *m) {
  /* The peer's text is not NUL-terminated; the delegate gets a string. */
  char text[CM_MAX_NODE_MESSAGE_TEXT_BYTES + 1];
  size_t len = m->u.goodbye.text_num_bytes;
  if (len > CM_MAX_NODE_MESSAGE_TEXT_BYTES)
    len = CM_MAX_NODE_MESSAGE_TEXT_BYTES;
  if (len)
    memcpy(text, m->u.goodbye.text, len);
  text[len] = '\0';
  drop(c, false, m->u.goodbye.reason, text);
}

/* Transport delegate: one complete frame, on the loop thread. */
static void on_frame(void *context, const void *bytes, size_t num_bytes,
                     cm_platform_handle *handles, size_t num_handles) {
  cm_node_channel *c = context;
  cm_node_message m;
  cm_node_message_error err = cm_node_message_parse(bytes, num_bytes, num_handles, &m);
  if (err != CM_NODE_MESSAGE_OK) {
    close_fds(handles, num_handles);
    drop(c, true, MOJO_RESULT_INVALID_ARGUMENT, cm_node_message_error_string(err));
    return;
  }
  pthread_mutex_lock(&c->mu);
  channel_state state = c->state;
  uint32_t version = c->version;
  pthread_mutex_unlock(&c->mu);
  if (state == STATE_CLOSED) { /* closed by this node a moment ago */
    close_fds(handles, num_handles);
    return;
  }
  const char *type = cm_node_message_type_name(m.type);
  if (m.type == CM_NODE_MESSAGE_GOODBYE) {
    on_goodbye(c, &m);
  } else if (m.type == CM_NODE_MESSAGE_HELLO) {
    if (state == STATE_AWAIT_HELLO)
      on_hello(c, &m);
    else
      drop(c, true, MOJO_RESULT_INVALID_ARGUMENT, "unexpected HELLO on a connected channel");
  } else if (state != STATE_CONNECTED) {
    close_fds(handles, num_handles);
    drop_format(c, MOJO_RESULT_INVALID_ARGUMENT, "unexpected %s before HELLO", type);
  } else if (cm_node_message_type_version(m.type) > version) {
    close_fds(handles, num_handles);
    drop_format(c, MOJO_RESULT_INVALID_ARGUMENT, "%s is newer than the agreed protocol version",
                type);
  } else {
    c->delegate.on_message(c->context, &m, handles, num_handles);
  }
}

/* Transport delegate: the transport failed (peer gone, bad framing). Its
 * writes fail from now on, so no GOODBYE can go out. */
static void on_transport_error(void *context, MojoResult reason, const char *why) {
  drop(context, false, reason, why);
}

/* Transport delegate: runs under the transport's write lock, on any thread. */
static void on_write_interest(void *context, bool want) {
  cm_node_channel *c = context;
  pthread_mutex_lock(&c->interest_mu);
  c->want_write = want;
  if (c->watch)
    cm_io_loop_watch_set_write_interest(c->watch, want);
  pthread_mutex_unlock(&c->interest_mu);
}

static const cm_platform_transport_delegate kTransportDelegate = {
    .on_frame = on_frame,
    .on_error = on_transport_error,
    .on_write_interest = on_write_interest,
};

MojoResult cm_node_channel_create(cm_io_loop *loop, cm_platform_handle *endpoint,
                                  const cm_node_channel_delegate *delegate, void *context,
                                  cm_node_channel **out) {
  if (!endpoint)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (!loop || !delegate || !out || !delegate->on_message || !delegate->on_disconnect) {
    cm_platform_handle_close(endpoint);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  cm_node_channel *c = calloc(1, sizeof(*c));
  if (!c) {
    cm_platform_handle_close(endpoint);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  c->loop = loop;
  c->delegate = *delegate;
  c->context = context;
  c->state = STATE_NEW;
  if (pthread_mutex_init(&c->mu, NULL) != 0) {
    free(c);
    cm_platform_handle_close(endpoint);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  if (pthread_mutex_init(&c->interest_mu, NULL) != 0) {
    pthread_mutex_destroy(&c->mu);
    free(c);
    cm_platform_handle_close(endpoint);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  MojoResult r = cm_platform_transport_create(endpoint, &kTransportDelegate, c, &c->transport);
  if (r != MOJO_RESULT_OK) {
    pthread_mutex_destroy(&c->interest_mu);
    pthread_mutex_destroy(&c->mu);
    free(c);
    return r;
  }
  *out = c;
  return MOJO_RESULT_OK;
}

MojoResult cm_node_channel_start(cm_node_channel *c) {
  if (!c)
    return MOJO_RESULT_INVALID_ARGUMENT;
  pthread_mutex_lock(&c->mu);
  bool fresh = c->state == STATE_NEW;
  if (fresh)
    c->state = STATE_AWAIT_HELLO;
  pthread_mutex_unlock(&c->mu);
  if (!fresh)
    return MOJO_RESULT_FAILED_PRECONDITION;
  /* HELLO goes out before the loop can deliver the peer's HELLO, so nothing
   * a delegate writes from on_connected can overtake it. What the kernel
   * does not take is queued, and the wish for write readiness recorded. */
  cm_node_message_buffer buf;
  cm_node_message_buffer_init(&buf);
  MojoResult r = cm_node_message_encode_hello(
      &buf, CM_NODE_PROTOCOL_VERSION_MIN, CM_NODE_PROTOCOL_VERSION_MAX, CM_NODE_CAPABILITY_NONE);
  if (r == MOJO_RESULT_OK)
    r = cm_platform_transport_write(c->transport, buf.bytes, buf.size, NULL, 0);
  cm_node_message_buffer_free(&buf);
  /* FAILED_PRECONDITION: the peer is gone already, which the loop reports
   * as on_disconnect (the failed write asked for write readiness). */
  if (r != MOJO_RESULT_OK && r != MOJO_RESULT_FAILED_PRECONDITION) {
    if (claim_closed(c))
      cm_platform_transport_shutdown(c->transport);
    return r;
  }
  pthread_mutex_lock(&c->interest_mu);
  r = cm_io_loop_watch(c->loop, c->transport, c->want_write, &c->watch);
  pthread_mutex_unlock(&c->interest_mu);
  if (r != MOJO_RESULT_OK) {
    if (claim_closed(c))
      cm_platform_transport_shutdown(c->transport);
    return r;
  }
  return MOJO_RESULT_OK;
}

/* The message type of encoded bytes (the header's first field). */
static uint32_t peek_type(const void *bytes) {
  const uint8_t *p = bytes;
  return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

MojoResult cm_node_channel_write(cm_node_channel *c, const void *bytes, size_t num_bytes,
                                 cm_platform_handle *fds, size_t num_fds) {
  cm_platform_tail tail = {NULL, 0, NULL, 0};
  return cm_node_channel_write2(c, bytes, num_bytes, &tail, fds, num_fds);
}

MojoResult cm_node_channel_write2(cm_node_channel *c, const void *bytes, size_t num_bytes,
                                  cm_platform_tail *tail, cm_platform_handle *fds, size_t num_fds) {
  MojoResult r = MOJO_RESULT_OK;
  if (!fds && num_fds) {
    cm_platform_buffer_free(tail->owner, tail->owner_capacity);
    tail->owner = NULL;
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  if (!c || !bytes || num_bytes < CM_NODE_MESSAGE_HEADER_BYTES) {
    r = MOJO_RESULT_INVALID_ARGUMENT;
    goto fail;
  }
  pthread_mutex_lock(&c->mu);
  channel_state state = c->state;
  uint32_t version = c->version;
  pthread_mutex_unlock(&c->mu);
  uint32_t type = peek_type(bytes);
  /* HELLO is the channel's own; an unknown type, or one newer than the
   * agreed version, would make the peer drop the connection. */
  if (type == CM_NODE_MESSAGE_HELLO || cm_node_message_type_version(type) == 0) {
    r = MOJO_RESULT_INVALID_ARGUMENT;
    goto fail;
  }
  if (state == STATE_CONNECTED && cm_node_message_type_version(type) > version) {
    r = MOJO_RESULT_INVALID_ARGUMENT;
    goto fail;
  }
  if (state == STATE_NEW || state == STATE_CLOSED) {
    r = MOJO_RESULT_FAILED_PRECONDITION;
    goto fail;
  }
  if (state == STATE_AWAIT_HELLO && type != CM_NODE_MESSAGE_GOODBYE) {
    r = MOJO_RESULT_SHOULD_WAIT;
    goto fail;
  }
  r = cm_platform_transport_write2(c->transport, bytes, num_bytes, tail, fds, num_fds);
  /* The transport resets what it took to invalid; what it refused is still
   * here and is closed below (a no-op for invalid entries). */
  if (r == MOJO_RESULT_OK)
    return r;
fail:
  close_fds(fds, num_fds);
  cm_platform_buffer_free(tail->owner, tail->owner_capacity);
  tail->owner = NULL;
  return r;
}

MojoResult cm_node_channel_send_event(cm_node_channel *c, const void *event, size_t event_num_bytes,
                                      const void *payload, size_t payload_num_bytes,
                                      uint32_t num_handles, cm_platform_handle *fds,
                                      size_t num_fds) {
  if ((!fds && num_fds) || !c || (!event && event_num_bytes) || (!payload && payload_num_bytes)) {
    close_fds(fds, fds ? num_fds : 0);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  /* Header, body and event in one piece; the user message goes as the
   * frame's second piece, not copied behind them. */
  uint8_t local[256];
  size_t head = CM_NODE_MESSAGE_EVENT_PREFIX_BYTES + event_num_bytes;
  uint8_t *bytes = head <= sizeof(local) ? local : malloc(head);
  MojoResult r = bytes ? cm_node_message_write_event_prefix(bytes, event_num_bytes,
                                                            payload_num_bytes, num_handles, num_fds)
                       : MOJO_RESULT_RESOURCE_EXHAUSTED;
  if (r != MOJO_RESULT_OK) {
    if (bytes != local)
      free(bytes);
    close_fds(fds, num_fds);
    return r;
  }
  memcpy(bytes + CM_NODE_MESSAGE_EVENT_PREFIX_BYTES, event, event_num_bytes);
  cm_platform_tail tail = {payload, payload_num_bytes, NULL, 0};
  r = cm_node_channel_write2(c, bytes, head, &tail, fds, num_fds);
  if (bytes != local)
    free(bytes);
  return r;
}

void cm_node_channel_close(cm_node_channel *c, MojoResult reason, const char *text) {
  if (!c || !claim_closed(c))
    return;
  if (c->watch)
    shut(c, true, reason, text);
  else
    cm_platform_transport_shutdown(c->transport);
}

void cm_node_channel_destroy(cm_node_channel *c) {
  if (!c)
    return;
  cm_node_channel_close(c, MOJO_RESULT_OK, "");
  /* Waits for a callback of ours running on the loop thread to return; after
   * it nothing refers to the transport or to us. */
  cm_io_loop_unwatch(c->watch);
  cm_platform_transport_destroy(c->transport);
  pthread_mutex_destroy(&c->interest_mu);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

bool cm_node_channel_take_frame(cm_node_channel *c, void **base, size_t *capacity) {
  return cm_platform_transport_take_frame(c->transport, base, capacity);
}

uint32_t cm_node_channel_version(cm_node_channel *c) {
  pthread_mutex_lock(&c->mu);
  uint32_t v = c->version;
  pthread_mutex_unlock(&c->mu);
  return v;
}

MojoResult cm_node_channel_peer_credentials(const cm_node_channel *c,
                                            cm_platform_peer_credentials *out) {
  if (!c || !out)
    return MOJO_RESULT_INVALID_ARGUMENT;
  return cm_platform_transport_peer_credentials(c->transport, out);
}
