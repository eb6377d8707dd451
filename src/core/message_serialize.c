/* A core message as bytes plus OS handles and back (message_serialize.h,
 * docs/message-format.md). */
#include "core/message_serialize.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cm_limits.h"

#define HEADER CM_MESSAGE_WIRE_HEADER_BYTES
#define ENTRY CM_MESSAGE_WIRE_ENTRY_BYTES

static uint64_t pad8(uint64_t n) {
  return (n + 7) & ~(uint64_t)7;
}

void cm_platform_handles_close(cm_platform_handle *handles, size_t n) {
  for (size_t i = 0; i < n; i++)
    cm_platform_handle_close(&handles[i]);
}

void cm_serialized_message_free(cm_serialized_message *s) {
  cm_platform_handles_close(s->handles, s->num_handles);
  free(s->handles);
  cm_platform_buffer_free(s->bytes, s->capacity);
  memset(s, 0, sizeof(*s));
}

/* ---- Serializing -------------------------------------------------------- */

/* What one dispatcher contributes (serialized_size). */
typedef struct shape {
  uint32_t num_bytes, num_ports, num_handles;
} shape;

/* Asks every dispatcher for its shape and adds them up; checks the frame
 * limits. Changes nothing. */
static MojoResult measure(const cm_message *m, uint32_t n, size_t num_event_ports, size_t headroom,
                          shape *shapes, uint64_t *total_bytes, uint64_t *total_handles) {
  uint64_t bytes = HEADER + (uint64_t)ENTRY * n, ports = 0, handles = 0;
  for (uint32_t i = 0; i < n; i++) {
    cm_dispatcher *d = m->dispatchers[i];
    shape *s = &shapes[i];
    if (!d->ops->serialized_size ||
        d->ops->serialized_size(d, &s->num_bytes, &s->num_ports, &s->num_handles) != MOJO_RESULT_OK)
      return MOJO_RESULT_INVALID_ARGUMENT;
    bytes += pad8(s->num_bytes);
    ports += s->num_ports;
    handles += s->num_handles;
  }
  if (ports != num_event_ports)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (handles > CM_MAX_OS_HANDLES_PER_FRAME)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  /* Each term is far below 2^40, so the sum cannot wrap. */
  uint64_t total = (uint64_t)headroom + bytes + m->payload_size;
  if (headroom > CM_MAX_FRAME_PAYLOAD_BYTES || total > CM_MAX_FRAME_PAYLOAD_BYTES)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  *total_bytes = total;
  *total_handles = handles;
  return MOJO_RESULT_OK;
}

/* Writes header, entries, blobs and payload into out (allocated to the
 * measured sizes), moving the dispatchers' handles into out->handles. */
static MojoResult write_message(cm_message *m, uint32_t n, const shape *shapes,
                                const cm_port_name *event_ports, size_t headroom,
                                bool payload_apart, cm_serialized_message *out) {
  uint8_t *base = out->bytes + headroom;
  uint8_t *entry = base + HEADER;
  uint8_t *blob = entry + (size_t)ENTRY * n;
  size_t handle_index = 0, port_index = 0;
  for (uint32_t i = 0; i < n; i++) {
    cm_dispatcher *d = m->dispatchers[i];
    const shape *s = &shapes[i];
    cm_port_name ports[1]; /* every type carries at most one port */
    /* No handle array at all when no object has OS handles. */
    cm_platform_handle *handles = out->handles ? out->handles + handle_index : NULL;
    if (s->num_ports > 1 || d->ops->serialize(d, blob, ports, handles) != MOJO_RESULT_OK)
      return MOJO_RESULT_INVALID_ARGUMENT;
    handle_index += s->num_handles;
    /* An object that arrived from another node and was never read has no
     * port of its own (its ports are the event's, named on arrival): a
     * proxy passing the message on keeps the order it came in. */
    for (uint32_t k = 0; k < s->num_ports; k++, port_index++)
      if (cm_name_is_valid(&ports[k]) && !cm_name_equal(&ports[k], &event_ports[port_index]))
        return MOJO_RESULT_INVALID_ARGUMENT;
    cm_le_put32(entry + 0, (uint32_t)cm_dispatcher_get_type(d));
    cm_le_put32(entry + 4, s->num_bytes);
    cm_le_put32(entry + 8, s->num_ports);
    cm_le_put32(entry + 12, s->num_handles);
    entry += ENTRY;
    blob += pad8(s->num_bytes);
  }
  cm_le_put32(base + 0, n);
  cm_le_put32(base + 4, (uint32_t)(blob - base));
  cm_le_put32(base + 8, m->payload_size);
  cm_le_put32(base + 12, 0);
  if (payload_apart) {
    out->tail = m->payload;
    out->tail_num_bytes = m->payload_size;
  } else if (m->payload_size) {
    memcpy(blob, m->payload, m->payload_size);
  }
  return MOJO_RESULT_OK;
}

MojoResult cm_message_serialize_for_transport(cm_message *m, const cm_port_name *event_ports,
                                              size_t num_event_ports, size_t headroom,
                                              cm_serialized_message *out) {
  return cm_message_serialize_for_transport_ex(m, event_ports, num_event_ports, headroom, false,
                                               out);
}

MojoResult cm_message_serialize_for_transport_ex(cm_message *m, const cm_port_name *event_ports,
                                                 size_t num_event_ports, size_t headroom,
                                                 bool payload_apart, cm_serialized_message *out) {
  if (m->context) {
    /* A context message has no dispatchers until its serializer attaches
     * some, and their ports were never handed to the ports layer: whatever
     * happens next, they own their ports (destroying the message closes
     * them: no get_ports marked them transferred). If they carry ports, the event does
     * not name them and the count check below refuses the message: such a
     * serializer must run before the ports layer takes the event's ports
     * (message_serialize.h). */
    MojoResult rv = cm_message_serialize(m);
    if (rv != MOJO_RESULT_OK)
      return rv;
  }
  if (!m->serialized || !m->committed)
    return MOJO_RESULT_FAILED_PRECONDITION;
  /* Handles taken out by a reader that wrote the message again belong to
   * the handle table: the message carries none. */
  uint32_t n = m->handles_taken ? 0 : m->num_dispatchers;

  shape *shapes = NULL;
  if (n) {
    shapes = calloc(n, sizeof(*shapes));
    if (!shapes)
      return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  uint64_t num_bytes = 0, num_handles = 0;
  MojoResult rv = measure(m, n, num_event_ports, headroom, shapes, &num_bytes, &num_handles);
  if (payload_apart)
    num_bytes -= m->payload_size;
  cm_serialized_message s = {.num_bytes = (size_t)num_bytes, .num_handles = (size_t)num_handles};
  if (rv == MOJO_RESULT_OK) {
    s.bytes = cm_platform_buffer_alloc((size_t)num_bytes, &s.capacity);
    /* Zeroed up to the payload, which is copied over whole: padding and
     * headroom must not leak this process's memory. */
    if (s.bytes)
      memset(s.bytes, 0, (size_t)num_bytes - (payload_apart ? 0 : m->payload_size));
    s.handles = num_handles ? calloc(num_handles, sizeof(*s.handles)) : NULL;
    if (!s.bytes || (num_handles && !s.handles))
      rv = MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  if (rv == MOJO_RESULT_OK)
    rv = write_message(m, n, shapes, event_ports, headroom, payload_apart, &s);
  free(shapes);
  if (rv != MOJO_RESULT_OK) {
    /* calloc'd entries are {0, 0}: invalid handles, so closing is safe. */
    cm_serialized_message_free(&s);
    return rv;
  }
  *out = s;
  return MOJO_RESULT_OK;
}

/* ---- Deserializing ------------------------------------------------------ */

/* One parsed entry. */
typedef struct entry {
  uint32_t type, num_bytes, num_ports, num_handles;
  uint64_t blob; /* offset of the blob from the start of the message */
} entry;

/* Whether an entry has the shape its type requires. The blob is in bounds
 * (checked by the caller). */
static bool shape_ok(const entry *e, const uint8_t *p) {
  switch (e->type) {
    case CM_DISPATCHER_MESSAGE_PIPE:
      return e->num_bytes == 0 && e->num_ports == 1 && e->num_handles == 0;
    case CM_DISPATCHER_DATA_PIPE_PRODUCER:
    case CM_DISPATCHER_DATA_PIPE_CONSUMER:
      return e->num_bytes == CM_MESSAGE_WIRE_DATA_PIPE_BLOB_BYTES && e->num_ports == 1 &&
             e->num_handles == 1;
    case CM_DISPATCHER_SHARED_BUFFER:
      return e->num_bytes == CM_MESSAGE_WIRE_SHARED_BUFFER_BLOB_BYTES && e->num_ports == 0 &&
             e->num_handles == cm_platform_shm_handles_for_mode(cm_le_get32(p + e->blob + 24));
    case CM_DISPATCHER_PLATFORM_HANDLE:
      return e->num_bytes == 0 && e->num_ports == 0 && e->num_handles == 1;
    default:
      return false; /* unknown, or a trap: never transferable */
  }
}

static bool zero(const uint8_t *p, uint64_t n) {
  for (uint64_t i = 0; i < n; i++)
    if (p[i])
      return false;
  return true;
}

/* Checks the whole layout and fills entries[]; no handle is touched. */
static bool parse(const uint8_t *p, size_t len, size_t num_handles, size_t num_event_ports,
                  uint32_t n, entry *entries, uint64_t *payload_offset) {
  uint64_t offset = HEADER + (uint64_t)ENTRY * n; /* n <= 2^20: no wrap */
  uint64_t ports = 0, handles = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *q = p + HEADER + (size_t)ENTRY * i;
    entry *e = &entries[i];
    e->type = cm_le_get32(q);
    e->num_bytes = cm_le_get32(q + 4);
    e->num_ports = cm_le_get32(q + 8);
    e->num_handles = cm_le_get32(q + 12);
    e->blob = offset;
    /* offset <= len <= SIZE_MAX and num_bytes < 2^32: no wrap in 64 bits. */
    uint64_t end = offset + pad8(e->num_bytes);
    if (end > len || !shape_ok(e, p) ||
        !zero(p + offset + e->num_bytes, end - offset - e->num_bytes))
      return false;
    offset = end;
    ports += e->num_ports;
    handles += e->num_handles;
  }
  uint64_t header_size = cm_le_get32(p + 4), payload_size = cm_le_get32(p + 8);
  if (header_size != offset || cm_le_get32(p + 12) != 0 || payload_size > CM_MAX_MESSAGE_BYTES ||
      offset + payload_size != len)
    return false;
  if (ports != num_event_ports || handles != num_handles || handles > CM_MAX_OS_HANDLES_PER_FRAME)
    return false;
  *payload_offset = offset;
  return true;
}

/* A committed, sent message with room for n dispatchers and the payload.
 * With a block (*block set), the payload is used where it is, inside the
 * block, which the message takes (*block is cleared). */
static cm_message *message_new(uint32_t n, const uint8_t *payload, uint32_t payload_size,
                               cm_message_block *block) {
  cm_message *m = cm_message_alloc();
  if (!m)
    return NULL;
  if (block && block->base) {
    m->payload = (uint8_t *)payload;
    m->payload_capacity = payload_size;
    m->payload_block = *block;
    block->base = NULL;
  } else if (payload_size > CM_MESSAGE_INLINE_BYTES) {
    size_t cap;
    m->payload = cm_platform_buffer_alloc(payload_size, &cap);
    m->payload_capacity = (uint32_t)cap;
  }
  if (n)
    m->dispatchers = malloc((size_t)n * sizeof(*m->dispatchers));
  if (!m->payload || (n && !m->dispatchers)) {
    m->payload_capacity = 0;
    cm_message_destroy(m);
    return NULL;
  }
  m->dispatcher_capacity = n;
  if (payload_size && m->payload != payload)
    memcpy(m->payload, payload, payload_size);
  m->payload_size = payload_size;
  m->serialized = m->committed = true;
  /* The dispatchers are unbound (transferred): the carried ports are the
   * ports layer's until the read rebinds them. */
  return m;
}

/* Builds the dispatchers, in order, into m. Every handle is taken. */
static MojoResult materialize(cm_message *m, const uint8_t *p, const entry *entries, uint32_t n,
                              cm_platform_handle *handles, size_t num_handles) {
  size_t next = 0;
  for (uint32_t i = 0; i < n; i++) {
    const entry *e = &entries[i];
    cm_dispatcher *d = NULL;
    /* handles is NULL when no OS handle came (nothing to offset). */
    MojoResult rv = cm_dispatcher_deserialize(e->type, p + e->blob, e->num_bytes, NULL, 0,
                                              handles ? handles + next : NULL, e->num_handles, &d);
    next += e->num_handles;
    if (rv != MOJO_RESULT_OK) {
      if (handles)
        cm_platform_handles_close(handles + next, num_handles - next);
      return rv;
    }
    d->in_transit = true; /* attached to a message, as begin_transit leaves it */
    m->dispatchers[m->num_dispatchers++] = d;
  }
  return MOJO_RESULT_OK;
}

MojoResult cm_message_deserialize(const void *bytes, size_t num_bytes, cm_platform_handle *handles,
                                  size_t num_handles, size_t num_event_ports, cm_message **out) {
  return cm_message_deserialize_ex(bytes, num_bytes, handles, num_handles, num_event_ports, NULL,
                                   out);
}

MojoResult cm_message_deserialize_ex(const void *bytes, size_t num_bytes,
                                     cm_platform_handle *handles, size_t num_handles,
                                     size_t num_event_ports, cm_message_block *block,
                                     cm_message **out) {
  const uint8_t *p = bytes;
  entry *entries = NULL;
  cm_message *m = NULL;
  uint64_t payload = 0;
  MojoResult rv = MOJO_RESULT_DATA_LOSS;
  uint32_t n = num_bytes >= HEADER ? cm_le_get32(p) : 0;
  /* Entries must fit in the input before anything is allocated for them,
   * and, as every transferable type carries at least one port or OS handle,
   * there cannot be more of them than the event's ports and the frame's
   * handles together (which bounds what a peer makes us build). */
  if (num_bytes < HEADER || n > CM_MAX_HANDLES_PER_MESSAGE ||
      (uint64_t)ENTRY * n > num_bytes - HEADER ||
      (uint64_t)n > (uint64_t)num_event_ports + num_handles)
    goto fail;
  if (n) {
    entries = malloc((size_t)n * sizeof(*entries));
    if (!entries) {
      rv = MOJO_RESULT_RESOURCE_EXHAUSTED;
      goto fail;
    }
  }
  if (!parse(p, num_bytes, num_handles, num_event_ports, n, entries, &payload))
    goto fail;
  m = message_new(n, p + payload, (uint32_t)(num_bytes - payload), block);
  if (!m) {
    rv = MOJO_RESULT_RESOURCE_EXHAUSTED;
    goto fail;
  }
  rv = materialize(m, p, entries, n, handles, num_handles);
  free(entries);
  if (rv != MOJO_RESULT_OK) {
    cm_message_destroy(m); /* closes what was built; ports untouched (sent) */
    return rv;
  }
  *out = m;
  return MOJO_RESULT_OK;

fail:
  free(entries);
  cm_platform_handles_close(handles, num_handles);
  if (block && block->base) {
    cm_platform_buffer_free(block->base, block->capacity);
    block->base = NULL;
  }
  return rv;
}

MojoResult cm_dispatcher_deserialize(uint32_t type, const uint8_t *blob, uint32_t num_bytes,
                                     const cm_port_name *ports, uint32_t num_ports,
                                     cm_platform_handle *handles, uint32_t num_handles,
                                     cm_dispatcher **out) {
  cm_dispatcher *d = NULL;
  MojoResult rv;
  switch (type) {
    case CM_DISPATCHER_MESSAGE_PIPE:
      rv = cm_message_pipe_deserialize(blob, num_bytes, handles, num_handles, &d);
      break;
    case CM_DISPATCHER_DATA_PIPE_PRODUCER:
    case CM_DISPATCHER_DATA_PIPE_CONSUMER:
      rv = cm_data_pipe_deserialize((cm_dispatcher_type)type, blob, num_bytes, handles, num_handles,
                                    &d);
      break;
    case CM_DISPATCHER_SHARED_BUFFER:
      rv = cm_shared_buffer_deserialize(blob, num_bytes, handles, num_handles, &d);
      break;
    case CM_DISPATCHER_PLATFORM_HANDLE:
      rv = cm_platform_handle_deserialize(blob, num_bytes, handles, num_handles, &d);
      break;
    default:
      cm_platform_handles_close(handles, num_handles);
      return MOJO_RESULT_DATA_LOSS;
  }
  if (rv != MOJO_RESULT_OK)
    return rv;
  if (ports) {
    size_t expected = d->ops->num_ports ? d->ops->num_ports(d) : 0;
    if (expected != num_ports || (expected && !d->ops->rebind_ports(d, ports))) {
      cm_dispatcher_close(d);
      cm_dispatcher_unref(d);
      return MOJO_RESULT_INVALID_ARGUMENT;
    }
  }
  *out = d;
  return MOJO_RESULT_OK;
}
