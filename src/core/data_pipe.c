/* Data pipes: what both ends share (dispatcher plumbing, the control
 * channel, ring copies) and MojoCreateDataPipe(). See data_pipe.h. */
#include "core/data_pipe.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "cm_limits.h"
#include "core/core.h"
#include "core/handle_table.h"
#include "core/message.h"
#include "core/message_serialize.h"
#include "core/trap.h"
#include "mojo/public/c/system/data_pipe.h"

/* Rings up to this size are backed by memory when mapped rather than page by
 * page as data first flows: a fault per page of shared memory costs more than
 * the copy into it, and a ring is used whole within its first lap. Larger
 * rings (up to the 1 GiB limit, possibly sized by a peer) fault in as used,
 * so no one can make this process commit a huge ring up front. */
#define PREFAULT_MAX_BYTES (4u * 1024u * 1024u)

#define CONTROL_MESSAGE_BYTES 8u

static bool is_producer(const cm_data_pipe_end *e) {
  return e->base.ops->type == CM_DISPATCHER_DATA_PIPE_PRODUCER;
}

/* ---- Ring --------------------------------------------------------------- */

void cm_data_pipe_copy_out(const cm_data_pipe_end *e, uint32_t offset, void *dst, uint32_t n) {
  const uint8_t *ring = e->data;
  uint32_t first = e->capacity - offset < n ? e->capacity - offset : n;
  memcpy(dst, ring + offset, first);
  if (n > first)
    memcpy((uint8_t *)dst + first, ring, n - first);
}

void cm_data_pipe_copy_in(cm_data_pipe_end *e, uint32_t offset, const void *src, uint32_t n) {
  uint8_t *ring = e->data;
  uint32_t first = e->capacity - offset < n ? e->capacity - offset : n;
  memcpy(ring + offset, src, first);
  if (n > first)
    memcpy(ring, (const uint8_t *)src + first, n - first);
}

/* ---- Shared positions (data_pipe.h: Announcements) ----------------------- */

/* `ahead` when nothing is known of what messages announced (an end rebuilt
 * from bytes): messages then never add to the count; the header does. Also
 * the ceiling that keeps the sum from overflowing. */
#define AHEAD_UNKNOWN (1ull << 62)

static _Atomic uint32_t *own_pos(cm_data_pipe_end *e) {
  return is_producer(e) ? &e->shared->write_pos : &e->shared->read_pos;
}
static _Atomic uint32_t *own_announced(cm_data_pipe_end *e) {
  return is_producer(e) ? &e->shared->write_announced : &e->shared->read_announced;
}
static _Atomic uint32_t *peer_pos(cm_data_pipe_end *e) {
  return is_producer(e) ? &e->shared->read_pos : &e->shared->write_pos;
}
static _Atomic uint32_t *peer_announced(cm_data_pipe_end *e) {
  return is_producer(e) ? &e->shared->read_announced : &e->shared->write_announced;
}

static uint32_t position(const cm_data_pipe_end *e) {
  return e->offset + (e->lap ? e->capacity : 0);
}

static void mark_broken(cm_data_pipe_end *e) {
  e->broken = true;
  e->peer_closed = true;
}

/* Takes `more` bytes (free space or data) the view did not count yet. */
static void count_more(cm_data_pipe_end *e, uint32_t more) {
  e->count += more;
  if (!is_producer(e))
    e->new_data = true;
}

void cm_data_pipe_pull_locked(cm_data_pipe_end *e) {
  if (!e->shared || e->broken)
    return;
  uint32_t p = atomic_load_explicit(peer_pos(e), memory_order_acquire);
  uint64_t two = 2ull * e->capacity, own = position(e);
  if (p >= two || p % e->element_num_bytes != 0) {
    mark_broken(e);
    return;
  }
  /* Producer: how far the reader is behind us; consumer: how far the
   * writer is ahead of us. Either is at most a ring. */
  uint64_t gap = is_producer(e) ? (own + two - p) % two : (p + two - own) % two;
  if (gap > e->capacity) {
    mark_broken(e);
    return;
  }
  uint32_t fresh = is_producer(e) ? e->capacity - (uint32_t)gap : (uint32_t)gap;
  if (fresh <= e->count)
    return; /* nothing new, or behind what messages already announced */
  uint32_t more = fresh - e->count;
  e->ahead = e->ahead + more < AHEAD_UNKNOWN ? e->ahead + more : AHEAD_UNKNOWN;
  count_more(e, more);
}

/* Whether more bytes from the peer (data for a consumer, room for a
 * producer) would change the end's signals. Closure needs no asking: the
 * port reports it. */
static bool wants_wakeup(const cm_data_pipe_end *e) {
  if (e->broken || e->peer_closed || e->in_two_phase || e->base.closed || e->transferred)
    return false;
  if (is_producer(e))
    return e->count == 0;
  return e->count < e->capacity && !(e->count > 0 && e->new_data);
}

/* Asks the peer to announce its next move, if the end's signals depend on
 * it, and catches up with the moves made before the request. Lock held. */
static void rearm_locked(cm_data_pipe_end *e) {
  if (!e->shared || !wants_wakeup(e))
    return;
  _Atomic uint32_t *f = peer_announced(e);
  /* Clear already: the peer's next move after our last exchange sends a
   * message, and every move before it was visible to the read that
   * followed that exchange. */
  if (atomic_load_explicit(f, memory_order_relaxed) == 0)
    return;
  atomic_exchange_explicit(f, 0, memory_order_acq_rel);
  cm_data_pipe_pull_locked(e);
}

/* Publishes the end's position after it moved `n` bytes and returns how
 * many bytes to announce in a control message (0: the peer did not ask).
 * Lock held. */
static uint32_t publish_locked(cm_data_pipe_end *e, uint32_t n) {
  if (!e->shared)
    return 0;
  atomic_store_explicit(own_pos(e), position(e), memory_order_release);
  /* A peer only ever needs the header to count; capping what a message
   * says at a ring keeps it a valid count (an honest peer's `ahead` takes
   * the rest). */
  e->unannounced = n > e->capacity - e->unannounced ? e->capacity : e->unannounced + n;
  if (atomic_exchange_explicit(own_announced(e), 1, memory_order_acq_rel) != 0)
    return 0;
  uint32_t k = e->unannounced;
  e->unannounced = 0;
  return k;
}

/* ---- Control messages --------------------------------------------------- */

static void put_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Control messages are ordinary committed message objects, so that once
 * ends live in other processes they cross the node channel like any user
 * message. */
void cm_data_pipe_send(const cm_port_ref *port, uint32_t command, uint32_t num_bytes) {
  MojoMessageHandle h;
  void *buf = NULL;
  struct MojoAppendMessageDataOptions commit = {sizeof(commit),
                                                MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE};
  if (MojoCreateMessage(NULL, &h) != MOJO_RESULT_OK)
    return;
  if (MojoAppendMessageData(h, CONTROL_MESSAGE_BYTES, NULL, 0, &commit, &buf, NULL) !=
      MOJO_RESULT_OK) {
    MojoDestroyMessage(h);
    return;
  }
  put_le32(buf, command);
  put_le32((uint8_t *)buf + 4, num_bytes);
  cm_event *ev = cm_event_user_message_create(cm_message_from_handle(h), &cm_message_payload_ops,
                                              CONTROL_MESSAGE_BYTES, 0);
  if (ev)
    (void)cm_node_send_user_message(cm_core_node(), port, ev);
}

/* Ports a message carries belong to whoever took the message out; a
 * control message has no business carrying any, so they are closed. */
static void close_carried_ports(cm_event *ev) {
  cm_port_name *names = cm_event_ports(ev);
  for (size_t i = 0; i < cm_event_num_ports(ev); i++) {
    cm_port_ref ref;
    if (cm_node_get_port(cm_core_node(), &names[i], &ref) != MOJO_RESULT_OK)
      continue;
    cm_node_close_port(cm_core_node(), &ref);
    cm_port_ref_release(&ref);
  }
}

/* Reads a control message. False if it is malformed in any way. */
static bool parse_control(cm_event *ev, uint32_t *command, uint32_t *num_bytes) {
  const cm_message *m = cm_event_payload(ev);
  bool ok = cm_event_num_ports(ev) == 0 && m && m->serialized && m->committed &&
            m->num_dispatchers == 0 && m->payload_size == CONTROL_MESSAGE_BYTES;
  if (ok) {
    *command = get_le32(m->payload);
    *num_bytes = get_le32(m->payload + 4);
  }
  close_carried_ports(ev);
  return ok;
}

/* What one pass of a drain took off the control port, before it is applied
 * to the end's view. Checks that need no state are made as each message is
 * taken; the bound on the total needs the count (apply_locked). */
typedef struct control_batch {
  uint64_t num_bytes; /* sum of the counts taken (64-bit: no wrap) */
  bool bad;           /* a message broke the protocol; nothing after it taken */
} control_batch;

/* Takes up to `limit` control messages off `port` (no lock held). A message
 * is bad when malformed, of the wrong command (a producer only hears
 * DATA_WAS_READ, a consumer DATA_WAS_WRITTEN) or not whole elements. */
static void take_messages(const cm_data_pipe_end *e, const cm_port_ref *port, uint32_t limit,
                          control_batch *b) {
  uint32_t expected = is_producer(e) ? CM_DATA_PIPE_DATA_WAS_READ : CM_DATA_PIPE_DATA_WAS_WRITTEN;
  b->num_bytes = 0;
  b->bad = false;
  for (uint32_t i = 0; i < limit; i++) {
    cm_event *ev = NULL;
    if (cm_node_get_message(cm_core_node(), port, &ev) != MOJO_RESULT_OK)
      return;
    uint32_t command = 0, num_bytes = 0;
    bool ok = parse_control(ev, &command, &num_bytes);
    cm_event_destroy(ev);
    if (!ok || command != expected || num_bytes % e->element_num_bytes != 0) {
      b->bad = true;
      return;
    }
    b->num_bytes += num_bytes;
  }
}

/* Applies a batch to the end's view. Lock held. A bad message, or counts
 * that claim more than could be outstanding (more data than free space was
 * ever offered, or more bytes read than were ever written), mean the peer
 * broke the protocol: it is treated as closed, for good. Counts first go
 * against `ahead` (bytes the header showed already). Checking the sum is the
 * same as checking each count in turn, since every prefix sum is below it. */
static void apply_locked(cm_data_pipe_end *e, const control_batch *b) {
  if (b->bad) {
    mark_broken(e);
    return;
  }
  /* Bytes the view counted from the header already. */
  uint64_t n = b->num_bytes;
  if (n <= e->ahead) {
    e->ahead -= n;
    return;
  }
  n -= e->ahead;
  e->ahead = 0;
  if (n > e->capacity - e->count) {
    mark_broken(e);
    return;
  }
  count_more(e, (uint32_t)n);
}

/* Closure and locality, from the port. Only the draining thread calls this,
 * after applying what it took, so "no more messages will come" means every
 * count the peer sent has been applied. Lock held (cm_node_get_status never
 * calls back). Returns whether more messages are waiting. */
static bool update_peer_locked(cm_data_pipe_end *e, const cm_port_ref *port) {
  cm_port_status st;
  if (cm_node_get_status(cm_core_node(), port, &st) != MOJO_RESULT_OK) {
    e->peer_closed = true;
    return false;
  }
  e->peer_remote = st.peer_remote;
  if (!st.receiving_messages)
    e->peer_closed = true;
  return st.has_messages;
}

/* Tells the triggers the end's signals, unless they are the ones last told
 * and no trigger may have been given another state since (signals_stale, see
 * cm_data_pipe_signals_computed). Most control messages change nothing a
 * trigger sees (e.g. more data for a consumer that is already readable), so
 * this spares every watching trap's lock on the path of each message. Lock
 * held. */
void cm_data_pipe_notify_locked(cm_data_pipe_end *e) {
  cm_dispatcher *d = &e->base;
  if (!d->triggers || d->closed)
    return;
  MojoHandleSignalsState s = d->ops->signals(d);
  if (!e->signals_stale && s.satisfied_signals == e->signals_told.satisfied_signals &&
      s.satisfiable_signals == e->signals_told.satisfiable_signals)
    return;
  cm_trigger_notify_all_locked(d->triggers, &s);
  e->signals_told = s;
  e->signals_stale = false;
}

void cm_data_pipe_signals_computed(cm_data_pipe_end *e, const MojoHandleSignalsState *s) {
  if (s->satisfied_signals != e->signals_told.satisfied_signals ||
      s->satisfiable_signals != e->signals_told.satisfiable_signals)
    e->signals_stale = true;
}

/* Brings the end's view up to date with its control port. One thread at a
 * time drains; a request that comes in meanwhile makes it go round again.
 * Each pass takes messages with the lock dropped, then applies them and
 * reads the port's status under the lock. The first pass takes one message,
 * which is what a status change usually brings: the status read (which the
 * pass needs anyway) then says whether to go on, which costs less than a
 * fruitless extra read. */
static void drain(cm_data_pipe_end *e) {
  cm_dispatcher *d = &e->base;
  pthread_mutex_lock(&d->lock);
  if (e->draining) {
    e->drain_again = true;
    pthread_mutex_unlock(&d->lock);
    return;
  }
  e->draining = true;
  uint32_t limit = 1;
  for (;;) {
    e->drain_again = false;
    if (d->closed || e->transferred || e->broken)
      break;
    cm_port_ref port;
    cm_port_ref_copy(&port, &e->port);
    pthread_mutex_unlock(&d->lock);
    control_batch b;
    take_messages(e, &port, limit, &b);
    pthread_mutex_lock(&d->lock);
    /* What was taken belongs to this end's view even if the end was
     * closed or sent meanwhile (the object travels with its counts). */
    bool more = false;
    if (!e->broken) {
      apply_locked(e, &b);
      if (!e->broken && !d->closed && !e->transferred) {
        more = update_peer_locked(e, &port);
        /* After the status: a peer seen closed has published all it did. */
        cm_data_pipe_pull_locked(e);
      }
    }
    cm_port_ref_release(&port);
    if (!more && !e->drain_again)
      break;
    limit = UINT32_MAX;
  }
  e->draining = false;
  if (!d->in_transit && !e->transferred) {
    rearm_locked(e);
    cm_data_pipe_notify_locked(e);
  }
  pthread_mutex_unlock(&d->lock);
}

/* ---- Dispatcher ops ----------------------------------------------------- */

static void end_close(cm_dispatcher *d) {
  cm_data_pipe_end *e = cm_data_pipe_end_from(d);
  pthread_mutex_lock(&d->lock);
  bool owns_port = !e->transferred;
  e->transferred = true;
  cm_platform_mapping ring = e->ring;
  cm_platform_shm_region *region = e->ring_region;
  memset(&e->ring, 0, sizeof(e->ring));
  e->shared = NULL;
  e->data = NULL;
  e->ring_region = NULL;
  pthread_mutex_unlock(&d->lock);
  cm_core_unobserve_port(&e->port);
  /* After this end's last control message, so the peer hears of the
   * closure only once it has counted everything sent before it. */
  if (owns_port)
    cm_node_close_port(cm_core_node(), &e->port);
  cm_platform_shm_unmap(&ring);
  cm_platform_shm_destroy(region);
}

static void end_destroy(cm_dispatcher *d) {
  cm_data_pipe_end *e = cm_data_pipe_end_from(d);
  /* Ends dropped before they were ever closed (a failed creation) still
   * hold their ring. */
  cm_platform_shm_unmap(&e->ring);
  cm_platform_shm_destroy(e->ring_region);
  cm_port_ref_release(&e->port);
  free(e);
}

static MojoResult end_begin_transit(cm_dispatcher *d) {
  cm_data_pipe_end *e = cm_data_pipe_end_from(d);
  if (e->transferred)
    return MOJO_RESULT_INVALID_ARGUMENT;
  return e->in_two_phase ? MOJO_RESULT_BUSY : MOJO_RESULT_OK;
}

static size_t end_num_ports(cm_dispatcher *d) {
  (void)d;
  return 1;
}

static void end_get_ports(cm_dispatcher *d, cm_port_name *out) {
  cm_data_pipe_end *e = cm_data_pipe_end_from(d);
  pthread_mutex_lock(&d->lock);
  out[0] = e->port.name;
  e->transferred = true;
  pthread_mutex_unlock(&d->lock);
  cm_core_unobserve_port(&e->port);
}

static bool end_rebind_ports(cm_dispatcher *d, const cm_port_name *names) {
  cm_data_pipe_end *e = cm_data_pipe_end_from(d);
  cm_port_ref ref;
  if (cm_node_get_port(cm_core_node(), &names[0], &ref) != MOJO_RESULT_OK)
    return false;
  pthread_mutex_lock(&d->lock);
  cm_port_ref old = e->port;
  e->port = ref;
  e->transferred = false;
  pthread_mutex_unlock(&d->lock);
  cm_port_ref_release(&old);
  cm_core_observe_port(&e->port, d);
  /* Counts that reached the port while it travelled raised no status
   * change for this end: take them now. */
  drain(e);
  return true;
}

static void end_on_port_status(cm_dispatcher *d, const cm_port_ref *port) {
  (void)port;
  drain(cm_data_pipe_end_from(d));
}

/* ---- Serialization (docs/message-format.md) ---------------------------- */

static MojoResult end_serialized_size(cm_dispatcher *d, uint32_t *num_bytes, uint32_t *num_ports,
                                      uint32_t *num_handles) {
  cm_data_pipe_end *e = cm_data_pipe_end_from(d);
  pthread_mutex_lock(&d->lock);
  bool ok = !d->closed && e->ring_region;
  pthread_mutex_unlock(&d->lock);
  if (!ok)
    return MOJO_RESULT_INVALID_ARGUMENT;
  *num_bytes = CM_MESSAGE_WIRE_DATA_PIPE_BLOB_BYTES;
  *num_ports = 1;
  *num_handles = 1;
  return MOJO_RESULT_OK;
}

/* Snapshots the end's view of the ring (offset, count, flags) and moves the
 * ring's OS handle out. The port was sent already, so no new drain starts;
 * one that began before may still hold counts it took off the port but has
 * not applied (data_pipe.h: they belong to this view), so wait for it. */
static MojoResult end_serialize(cm_dispatcher *d, uint8_t *bytes, cm_port_name *ports,
                                cm_platform_handle *handles) {
  cm_data_pipe_end *e = cm_data_pipe_end_from(d);
  pthread_mutex_lock(&d->lock);
  while (e->draining) {
    pthread_mutex_unlock(&d->lock);
    sched_yield();
    pthread_mutex_lock(&d->lock);
  }
  cm_platform_shm_region *region = e->ring_region;
  if (d->closed || !region) {
    pthread_mutex_unlock(&d->lock);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  cm_platform_shm_guid guid = cm_platform_shm_get_guid(region);
  uint32_t flags = 0;
  if (e->broken)
    flags |= CM_MESSAGE_WIRE_DATA_PIPE_BROKEN;
  if (e->new_data)
    flags |= CM_MESSAGE_WIRE_DATA_PIPE_NEW_DATA;
  cm_le_put32(bytes + 0, e->element_num_bytes);
  cm_le_put32(bytes + 4, e->capacity);
  cm_le_put32(bytes + 8, e->offset);
  cm_le_put32(bytes + 12, e->count);
  cm_le_put64(bytes + 16, guid.high);
  cm_le_put64(bytes + 24, guid.low);
  cm_le_put32(bytes + 32, flags);
  ports[0] = e->port.name;
  /* The ring stays mapped here until the end is closed; only the region
   * (its fd) leaves. */
  e->ring_region = NULL;
  pthread_mutex_unlock(&d->lock);
  cm_platform_handle out[CM_PLATFORM_SHM_MAX_HANDLES];
  cm_platform_shm_unwrap(region, out); /* a ring is UNSAFE: one handle */
  handles[0] = out[0];
  return MOJO_RESULT_OK;
}

/* The view a blob describes, checked against itself: whole elements, a
 * capacity within the limit, an offset inside the ring and a count no
 * larger than it. */
typedef struct end_view {
  uint32_t element, capacity, offset, count, flags;
  cm_platform_shm_guid guid;
} end_view;

static bool parse_view(const uint8_t *blob, end_view *v) {
  v->element = cm_le_get32(blob + 0);
  v->capacity = cm_le_get32(blob + 4);
  v->offset = cm_le_get32(blob + 8);
  v->count = cm_le_get32(blob + 12);
  v->guid.high = cm_le_get64(blob + 16);
  v->guid.low = cm_le_get64(blob + 24);
  v->flags = cm_le_get32(blob + 32);
  uint32_t known = CM_MESSAGE_WIRE_DATA_PIPE_BROKEN | CM_MESSAGE_WIRE_DATA_PIPE_NEW_DATA;
  return v->element != 0 && v->capacity >= v->element && v->capacity % v->element == 0 &&
         v->capacity <= CM_MAX_DATA_PIPE_CAPACITY_BYTES && v->offset < v->capacity &&
         v->offset % v->element == 0 && v->count <= v->capacity && v->count % v->element == 0 &&
         (v->flags & ~known) == 0 && cm_le_get32(blob + 36) == 0;
}

MojoResult cm_data_pipe_deserialize(cm_dispatcher_type type, const uint8_t *blob,
                                    uint32_t num_bytes, cm_platform_handle *handles,
                                    uint32_t num_handles, cm_dispatcher **out) {
  end_view v;
  if ((type != CM_DISPATCHER_DATA_PIPE_PRODUCER && type != CM_DISPATCHER_DATA_PIPE_CONSUMER) ||
      num_bytes != CM_MESSAGE_WIRE_DATA_PIPE_BLOB_BYTES || num_handles != 1 ||
      !parse_view(blob, &v)) {
    cm_platform_handles_close(handles, num_handles);
    return MOJO_RESULT_DATA_LOSS;
  }
  /* The ring size was checked against the limit above; wrap checks the fd
   * (a sealed memfd at least header plus ring long, read/write) before
   * anything maps. */
  uint64_t region_bytes = (uint64_t)CM_DATA_PIPE_HEADER_BYTES + v.capacity;
  cm_platform_shm_region *region;
  if (cm_platform_shm_wrap(handles, 1, region_bytes, v.guid, CM_PLATFORM_SHM_ACCESS_UNSAFE,
                           CM_PLATFORM_SHM_WRAP_UNTRUSTED, &region) != MOJO_RESULT_OK)
    return MOJO_RESULT_DATA_LOSS; /* the handle is closed */
  cm_platform_mapping ring;
  MojoResult rv = cm_platform_shm_map(region, 0, region_bytes, &ring);
  if (rv != MOJO_RESULT_OK) {
    cm_platform_shm_destroy(region);
    return rv == MOJO_RESULT_RESOURCE_EXHAUSTED ? rv : MOJO_RESULT_DATA_LOSS;
  }
  if (v.capacity <= PREFAULT_MAX_BYTES) cm_platform_shm_prefault(&ring);
  cm_data_pipe_end *e = calloc(1, sizeof(*e));
  if (!e) {
    cm_platform_shm_unmap(&ring);
    cm_platform_shm_destroy(region);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  cm_dispatcher_init(&e->base, type == CM_DISPATCHER_DATA_PIPE_PRODUCER
                                   ? &cm_data_pipe_producer_ops
                                   : &cm_data_pipe_consumer_ops);
  e->element_num_bytes = v.element;
  e->capacity = v.capacity;
  e->ring_region = region;
  e->ring = ring;
  e->shared = ring.base;
  e->data = (uint8_t *)ring.base + CM_DATA_PIPE_HEADER_BYTES;
  e->offset = v.offset;
  e->count = v.count;
  e->broken = (v.flags & CM_MESSAGE_WIRE_DATA_PIPE_BROKEN) != 0;
  e->peer_closed = e->broken;
  e->new_data = (v.flags & CM_MESSAGE_WIRE_DATA_PIPE_NEW_DATA) != 0;
  /* The lap bit is not in the blob: the end's own position in the header
   * has it, and must agree with the offset. What messages announced before
   * is unknown, so from now on counts come from the header only. */
  uint32_t own = atomic_load_explicit(own_pos(e), memory_order_acquire);
  if (own % v.capacity != v.offset || own / v.capacity > 1)
    mark_broken(e);
  e->lap = own >= v.capacity;
  e->ahead = AHEAD_UNKNOWN;
  /* Unbound until rebind_ports names its new control port. */
  e->transferred = true;
  *out = &e->base;
  return MOJO_RESULT_OK;
}

const cm_dispatcher_ops cm_data_pipe_producer_ops = {
    .type = CM_DISPATCHER_DATA_PIPE_PRODUCER,
    .close = end_close,
    .destroy = end_destroy,
    .signals = cm_data_pipe_producer_signals,
    .begin_transit = end_begin_transit,
    .num_ports = end_num_ports,
    .get_ports = end_get_ports,
    .rebind_ports = end_rebind_ports,
    .on_port_status = end_on_port_status,
    .serialized_size = end_serialized_size,
    .serialize = end_serialize,
};

const cm_dispatcher_ops cm_data_pipe_consumer_ops = {
    .type = CM_DISPATCHER_DATA_PIPE_CONSUMER,
    .close = end_close,
    .destroy = end_destroy,
    .signals = cm_data_pipe_consumer_signals,
    .begin_transit = end_begin_transit,
    .num_ports = end_num_ports,
    .get_ports = end_get_ports,
    .rebind_ports = end_rebind_ports,
    .on_port_status = end_on_port_status,
    .serialized_size = end_serialized_size,
    .serialize = end_serialize,
};

/* ---- Shared helpers for the API files ----------------------------------- */

cm_data_pipe_end *cm_data_pipe_get(MojoHandle h, cm_dispatcher_type type) {
  cm_dispatcher *d = cm_handles_get(h);
  if (d && cm_dispatcher_get_type(d) != type) {
    cm_dispatcher_unref(d);
    d = NULL;
  }
  return d ? cm_data_pipe_end_from(d) : NULL;
}

bool cm_data_pipe_lock_usable(cm_data_pipe_end *e) {
  pthread_mutex_lock(&e->base.lock);
  if (!e->base.closed && !e->base.in_transit && !e->transferred && e->ring.base)
    return true;
  pthread_mutex_unlock(&e->base.lock);
  return false;
}

/* ---- Creation ----------------------------------------------------------- */

/* Validated MojoCreateDataPipeOptions: fields beyond struct_size take their
 * defaults (functions.h). */
static MojoResult parse_options(const struct MojoCreateDataPipeOptions *o, uint32_t *element,
                                uint32_t *capacity) {
  uint32_t flags = 0, el = 1, cap = 0;
  if (o) {
    if (o->struct_size < 8)
      return MOJO_RESULT_INVALID_ARGUMENT;
    flags = o->flags;
    if (o->struct_size >= 12)
      el = o->element_num_bytes;
    if (o->struct_size >= 16)
      cap = o->capacity_num_bytes;
  }
  if (el == 0)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (cap == 0) {
    cap = CM_DATA_PIPE_DEFAULT_CAPACITY_BYTES / el * el;
    if (cap == 0)
      cap = el;
  } else if (cap % el != 0) {
    return MOJO_RESULT_INVALID_ARGUMENT; /* includes capacity below one element */
  }
  if (flags != MOJO_CREATE_DATA_PIPE_FLAG_NONE)
    return MOJO_RESULT_UNIMPLEMENTED;
  if (cap > CM_MAX_DATA_PIPE_CAPACITY_BYTES)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  *element = el;
  *capacity = cap;
  return MOJO_RESULT_OK;
}

/* A new end over `region` (taken over, even on failure) and `port` (the
 * reference is taken over on success only), with its ring mapped. */
static cm_data_pipe_end *end_new(const cm_dispatcher_ops *ops, uint32_t element, uint32_t capacity,
                                 cm_platform_shm_region *region, const cm_port_ref *port) {
  cm_data_pipe_end *e = calloc(1, sizeof(*e));
  if (!e) {
    cm_platform_shm_destroy(region);
    return NULL;
  }
  cm_dispatcher_init(&e->base, ops);
  e->element_num_bytes = element;
  e->capacity = capacity;
  e->ring_region = region;
  e->count = ops == &cm_data_pipe_producer_ops ? capacity : 0;
  if (cm_platform_shm_map(region, 0, (uint64_t)CM_DATA_PIPE_HEADER_BYTES + capacity, &e->ring) !=
      MOJO_RESULT_OK) {
    cm_dispatcher_unref(&e->base);
    return NULL;
  }
  if (capacity <= PREFAULT_MAX_BYTES) cm_platform_shm_prefault(&e->ring);
  e->shared = e->ring.base; /* zero-filled: both positions 0, no flags */
  e->data = (uint8_t *)e->ring.base + CM_DATA_PIPE_HEADER_BYTES;
  e->port = *port;
  return e;
}

/* The ring region (header and ring), and a second region object for the
 * same memory (each end owns one). Both end up UNSAFE: two writable
 * handles. A capacity within CM_DATA_PIPE_HEADER_BYTES of the shared memory
 * limit leaves no room for the header: RESOURCE_EXHAUSTED, as above it. */
static MojoResult create_rings(uint32_t capacity, cm_platform_shm_region **a,
                               cm_platform_shm_region **b) {
  if (cm_platform_shm_create((uint64_t)CM_DATA_PIPE_HEADER_BYTES + capacity, a) != MOJO_RESULT_OK)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  if (cm_platform_shm_duplicate(*a, false, b) != MOJO_RESULT_OK) {
    cm_platform_shm_destroy(*a);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  return MOJO_RESULT_OK;
}

static MojoResult create_pipe(uint32_t element, uint32_t capacity, MojoHandle out[2]) {
  cm_platform_shm_region *ra, *rb;
  cm_port_ref pa, pb;
  if (create_rings(capacity, &ra, &rb) != MOJO_RESULT_OK)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  if (cm_node_create_port_pair(cm_core_node(), &pa, &pb) != MOJO_RESULT_OK) {
    cm_platform_shm_destroy(ra);
    cm_platform_shm_destroy(rb);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  cm_data_pipe_end *p = end_new(&cm_data_pipe_producer_ops, element, capacity, ra, &pa);
  cm_data_pipe_end *c = end_new(&cm_data_pipe_consumer_ops, element, capacity, rb, &pb);
  cm_dispatcher *ds[2] = {p ? &p->base : NULL, c ? &c->base : NULL};
  if (p && c && cm_handles_add_many(ds, 2, out) == MOJO_RESULT_OK) {
    cm_core_observe_port(&p->port, &p->base);
    cm_core_observe_port(&c->port, &c->base);
    return MOJO_RESULT_OK;
  }
  cm_node_close_port(cm_core_node(), &pa);
  cm_node_close_port(cm_core_node(), &pb);
  if (p)
    cm_dispatcher_unref(&p->base);
  else
    cm_port_ref_release(&pa);
  if (c)
    cm_dispatcher_unref(&c->base);
  else
    cm_port_ref_release(&pb);
  return MOJO_RESULT_RESOURCE_EXHAUSTED;
}

MojoResult MojoCreateDataPipe(const struct MojoCreateDataPipeOptions *options,
                              MojoHandle *data_pipe_producer_handle,
                              MojoHandle *data_pipe_consumer_handle) {
  CM_API_BEGIN(rc);
  uint32_t element, capacity;
  if (!data_pipe_producer_handle || !data_pipe_consumer_handle)
    CM_API_RETURN(rc, MOJO_RESULT_INVALID_ARGUMENT);
  MojoResult rv = parse_options(options, &element, &capacity);
  MojoHandle h[2];
  if (rv == MOJO_RESULT_OK)
    rv = create_pipe(element, capacity, h);
  if (rv == MOJO_RESULT_OK) {
    *data_pipe_producer_handle = h[0];
    *data_pipe_consumer_handle = h[1];
  }
  CM_API_RETURN(rc, rv);
}

void cm_data_pipe_advance_locked(cm_data_pipe_end *e, uint32_t n) {
  uint64_t o = (uint64_t)e->offset + n; /* n <= count <= capacity: one wrap at most */
  if (o >= e->capacity) {
    o -= e->capacity;
    e->lap = !e->lap;
  }
  e->offset = (uint32_t)o;
  e->count -= n;
}

void cm_data_pipe_finish(cm_data_pipe_end *e, uint32_t n, uint32_t command) {
  uint32_t announce = n ? publish_locked(e, n) : 0;
  cm_port_ref port;
  if (announce)
    cm_port_ref_copy(&port, &e->port);
  rearm_locked(e);
  cm_data_pipe_notify_locked(e);
  pthread_mutex_unlock(&e->base.lock);
  if (announce) {
    cm_data_pipe_send(&port, command, announce);
    cm_port_ref_release(&port);
  }
}

MojoResult cm_data_pipe_end_two_phase(cm_data_pipe_end *e, uint32_t n, uint32_t command) {
  if (!cm_data_pipe_lock_usable(e))
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (!e->in_two_phase) {
    pthread_mutex_unlock(&e->base.lock);
    return MOJO_RESULT_FAILED_PRECONDITION;
  }
  e->in_two_phase = false;
  if (n > e->two_phase || n % e->element_num_bytes != 0) {
    cm_data_pipe_finish(e, 0, command);
    return MOJO_RESULT_INVALID_ARGUMENT;
  }
  cm_data_pipe_advance_locked(e, n);
  cm_data_pipe_finish(e, n, command);
  return MOJO_RESULT_OK;
}
