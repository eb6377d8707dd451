/* data_pipe: the two dispatchers of a data pipe (producer and consumer end)
 * and what they share.
 *
 * Design (Mojo's, plus a shared header). The bytes of the stream live in a
 * ring buffer of `capacity` bytes inside a shared memory region that both
 * ends map; each end holds its own region object for it, so that either end
 * can later be sent to another process with its fd. The region starts with a
 * small header (cm_data_pipe_shared, CM_DATA_PIPE_HEADER_BYTES) and the ring
 * follows it. Each end keeps its own view of the ring,
 *   producer: write offset and free capacity (`count`),
 *   consumer: read offset and bytes available (`count`),
 * and publishes its position in the header (an offset plus a lap bit:
 * [0, 2 * capacity)) after the bytes it wrote are in the ring (or the bytes
 * it read are out of it). The ends also tell each other what changed with
 * 8-byte control messages {uint32 command; uint32 num_bytes} (little-endian)
 * over a port pair: DATA_WAS_WRITTEN from the producer, DATA_WAS_READ from
 * the consumer. The messages are what wakes the other end; the published
 * positions let an end catch up without one.
 *
 * Announcements. A message is sent only when the peer asked for the next
 * one: each direction has an `announced` flag in the header. The end that
 * moves sets it (atomic exchange) after publishing its position and sends a
 * message only if it was clear, carrying every byte moved since its last
 * message. The other end clears it (atomic exchange, then it reads the
 * position) when it wants to hear of the next change, which is whenever
 * more data (consumer) or more room (producer) would change its signals:
 * the consumer is no longer READABLE with NEW_DATA_READABLE up, the producer
 * no longer WRITABLE (see wants_wakeup in data_pipe.c). While the flag is
 * set, the end whose signals could not change anyway learns of the peer's
 * progress by reading the header when it needs its count (each read, write
 * and two-phase operation does). Because both sides use atomic exchanges on
 * the flag, either the mover sees it clear and sends a message, or the
 * clearing end's read of the position after its exchange sees the bytes:
 * no wakeup is lost. Streaming with a full ring thus costs one message per
 * ring fill in each direction instead of one per chunk.
 *
 * A control message is sent after the bytes it announces are in the ring (or
 * out of it), so the peer never reads bytes before they are written, nor
 * overwrites bytes before they are read. Closing an end closes its port after
 * its last control message, so the peer learns of the closure only after
 * everything sent before it, and reads the header after learning it: the
 * consumer sees PEER_CLOSED only once all data written before the close is
 * counted as available.
 *
 * Trust. The peer may be in another process and hostile. Every control
 * message is checked (size, command, count against what the peer could have
 * written or read); so is every position read from the header (below twice
 * the capacity, whole elements, at most `capacity` ahead of or behind this
 * end's own position as the direction requires). A bad one marks the peer
 * closed for good (`broken`), the same outcome as a peer that goes away; a
 * position that is merely behind what the view already counts changes
 * nothing. Counts learnt from the header and from messages are the same
 * bytes: `ahead` holds how many bytes the view learnt from the header that
 * no message has announced yet, and a message's count first goes against
 * it. An end writes only its own position and the two flags; the rest of
 * the ring memory is trusted for nothing but data.
 *
 * Threads and locks. Ring state and flags are under base.lock. Control
 * messages are sent and received with no lock held (ports may call back into
 * the peer's dispatcher): writers update the state under the lock, then send
 * the count after unlocking. Received messages are drained by one thread at a
 * time (`draining`, with `drain_again` for requests that arrive meanwhile),
 * which applies the counts it took under the lock and only then reads the
 * port's status and the header; the port reports the peer closed only once
 * every message has been read, so closure is never reported before the data
 * that preceded it. Triggers are told the signals only when they changed
 * (`signals_told`): a count that arrives while the signals stay the same
 * costs no trap lock.
 *
 * Transfer within a process: the dispatcher object itself moves in the
 * message (the ring mapping and view with it); only the control port is
 * handed to the ports layer and rebound on arrival. Ends in a two-phase
 * operation cannot be attached to a message (BUSY). An end rebuilt from
 * bytes in another process takes its lap bit from its own position in the
 * header (checked against the offset it was sent with) and trusts only the
 * header for counts from then on (its `ahead` is unknown, so messages only
 * wake it).
 */
#ifndef CMOJO_CORE_DATA_PIPE_H_
#define CMOJO_CORE_DATA_PIPE_H_

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/dispatcher.h"
#include "platform/platform.h"
#include "ports/ports.h"

/* Control message commands (Mojo's DataPipeCommand values). */
#define CM_DATA_PIPE_DATA_WAS_WRITTEN 0u
#define CM_DATA_PIPE_DATA_WAS_READ 1u

/* Capacity of a pipe created with capacity_num_bytes 0 (Mojo's default),
 * rounded down to whole elements (but at least one element). */
#define CM_DATA_PIPE_DEFAULT_CAPACITY_BYTES (64u * 1024u)

/* The header at the start of the ring region (the protocol is described at
 * the top of this file). Positions are in [0, 2 * capacity): the offset in the ring plus
 * `capacity` on odd laps, so that a full ring and an empty one differ. Each
 * side's position sits on its own cache line. */
typedef struct cm_data_pipe_shared {
  _Atomic uint32_t write_pos;       /* written by the producer */
  _Atomic uint32_t write_announced; /* set by the producer, cleared by the consumer */
  uint8_t pad0[56];
  _Atomic uint32_t read_pos;       /* written by the consumer */
  _Atomic uint32_t read_announced; /* set by the consumer, cleared by the producer */
  uint8_t pad1[56];
} cm_data_pipe_shared;

#define CM_DATA_PIPE_HEADER_BYTES 128u
_Static_assert(sizeof(cm_data_pipe_shared) == CM_DATA_PIPE_HEADER_BYTES, "header layout");

typedef struct cm_data_pipe_end {
  cm_dispatcher base;
  uint32_t element_num_bytes;
  uint32_t capacity;

  /* Fixed while the end is open: replaced only by rebind (port). */
  cm_port_ref port;
  cm_platform_shm_region *ring_region;
  cm_platform_mapping ring;    /* the header, then `capacity` bytes, read/write */
  cm_data_pipe_shared *shared; /* ring.base; NULL once closed */
  uint8_t *data;               /* the ring's bytes; NULL once closed */

  /* Under base.lock. */
  uint32_t offset;      /* producer: next write; consumer: next read */
  uint32_t count;       /* producer: free bytes; consumer: readable bytes */
  uint32_t two_phase;   /* bytes offered by the current two-phase operation */
  bool lap;             /* own position: offset, plus capacity when set */
  uint32_t unannounced; /* bytes moved since the last control message sent */
  uint64_t ahead;       /* bytes counted from the header that no message announced */
  bool in_two_phase;
  bool transferred; /* the port is in the ports layer's hands (sent) */
  bool peer_closed; /* the peer closed, after all its messages were read */
  bool peer_remote;
  bool broken;   /* the peer broke the protocol: treated as closed */
  bool new_data; /* consumer: data arrived since the last read */
  bool draining;
  bool drain_again;
  /* The signals the triggers were last told (cm_data_pipe_notify_locked),
   * and whether some trigger may have been given another state since (a
   * trigger added, a query, a notification from outside this module: any
   * computation of the signals that differs from signals_told sets it). */
  MojoHandleSignalsState signals_told;
  bool signals_stale;
} cm_data_pipe_end;

static inline cm_data_pipe_end *cm_data_pipe_end_from(cm_dispatcher *d) {
  return (cm_data_pipe_end *)d;
}

/* Ops tables (data_pipe.c); the signals of each end are computed by its own
 * file (data_pipe_producer.c, data_pipe_consumer.c). */
extern const cm_dispatcher_ops cm_data_pipe_producer_ops;
extern const cm_dispatcher_ops cm_data_pipe_consumer_ops;
MojoHandleSignalsState cm_data_pipe_producer_signals(cm_dispatcher *d);
MojoHandleSignalsState cm_data_pipe_consumer_signals(cm_dispatcher *d);

/* Tells the end's triggers its signals if they may not know them yet (it
 * replaces cm_dispatcher_notify_locked for data pipe ends). Lock held. */
void cm_data_pipe_notify_locked(cm_data_pipe_end *e);
/* Each signals op reports what it computed here (lock held), so that a
 * state handed to a trigger by someone else is noticed. */
void cm_data_pipe_signals_computed(cm_data_pipe_end *e, const MojoHandleSignalsState *s);

/* The end behind handle `h` if it is of `type`, with a new reference. */
cm_data_pipe_end *cm_data_pipe_get(MojoHandle h, cm_dispatcher_type type);

/* True (with base.lock held) when the end can be operated on: open, not
 * attached to a message, port not handed away. False: unlocked. */
bool cm_data_pipe_lock_usable(cm_data_pipe_end *e);

/* Tells the peer, over the end's control port `port` (a reference copied
 * under the lock), that `num_bytes` were written or read (by `command`).
 * Called with no lock held. Failure (peer gone, out of memory) is ignored:
 * a closed peer needs no news, and Mojo drops the count the same way. */
void cm_data_pipe_send(const cm_port_ref *port, uint32_t command, uint32_t num_bytes);

/* Brings the view up to date with the peer's position in the header (lock
 * held). Every operation that uses `count` calls it first. */
void cm_data_pipe_pull_locked(cm_data_pipe_end *e);

/* Moves the end's offset past `n` bytes it wrote or read (lock held): the
 * producer's count is free space, the consumer's is available data, so both
 * shrink. */
void cm_data_pipe_advance_locked(cm_data_pipe_end *e, uint32_t n);

/* Ends the lock of an operation that moved `n` bytes (0: none, or nothing
 * changed but flags): publishes the new position, asks the peer for news if
 * the end's signals now depend on it, tells triggers, unlocks, then sends
 * the control message `command` if the peer asked for one. */
void cm_data_pipe_finish(cm_data_pipe_end *e, uint32_t n, uint32_t command);

/* MojoEndWriteData / MojoEndReadData: ends the two-phase operation (over
 * whatever the result; a closed peer does not fail it), then commits `n`
 * bytes and announces them with `command`. INVALID_ARGUMENT for an unusable
 * end or a count that is more than was begun or not whole elements,
 * FAILED_PRECONDITION when no two-phase operation is in progress. */
MojoResult cm_data_pipe_end_two_phase(cm_data_pipe_end *e, uint32_t n, uint32_t command);

/* Copies between the ring and linear memory; `offset` < capacity and
 * `n` <= capacity, wrapping around the end of the ring. Lock held. */
void cm_data_pipe_copy_out(const cm_data_pipe_end *e, uint32_t offset, void *dst, uint32_t n);
void cm_data_pipe_copy_in(cm_data_pipe_end *e, uint32_t offset, const void *src, uint32_t n);

#endif /* CMOJO_CORE_DATA_PIPE_H_ */
