/* data_pipe: the two dispatchers of a data pipe (producer and consumer end)
 * and what they share.
 *
 * Design (Mojo's). The bytes of the stream live in a ring buffer of
 * `capacity` bytes inside a shared memory region that both ends map; each
 * end holds its own region object for it, so that either end can later be
 * sent to another process with its fd. The ends share no memory for
 * bookkeeping: each keeps its own view of the ring,
 *   producer: write offset and free capacity (`count`),
 *   consumer: read offset and bytes available (`count`),
 * and they tell each other what changed with 8-byte control messages
 * {uint32 command; uint32 num_bytes} (little-endian) over a port pair:
 * DATA_WAS_WRITTEN from the producer, DATA_WAS_READ from the consumer. A
 * control message is sent after the bytes it announces are in the ring (or
 * out of it), so the peer never reads bytes before they are written, nor
 * overwrites bytes before they are read. Closing an end closes its port after
 * its last control message, so the peer learns of the closure only after
 * everything sent before it: the consumer sees PEER_CLOSED only once all
 * data written before the close is counted as available.
 *
 * Trust. The peer may be in another process and hostile. Every control
 * message is checked (size, command, count against what the peer could have
 * written or read); a bad one marks the peer closed for good (`broken`), the
 * same outcome as a peer that goes away. The ring memory itself is shared
 * with the peer and is never trusted for anything but data.
 *
 * Threads and locks. Ring state and flags are under base.lock. Control
 * messages are sent and received with no lock held (ports may call back into
 * the peer's dispatcher): writers update the state under the lock, then send
 * the count after unlocking. Received messages are drained by one thread at a
 * time (`draining`, with `drain_again` for requests that arrive meanwhile),
 * which applies the counts it took under the lock and only then reads the
 * port's status; the port reports the peer closed only once every message
 * has been read, so closure is never reported before the data that preceded
 * it. Triggers are told the signals only when they changed
 * (`signals_told`): a count that arrives while the signals stay the same
 * costs no trap lock.
 *
 * Transfer within a process: the dispatcher object itself moves in the
 * message (the ring mapping and view with it); only the control port is
 * handed to the ports layer and rebound on arrival. Ends in a two-phase
 * operation cannot be attached to a message (BUSY).
 */
#ifndef CMOJO_CORE_DATA_PIPE_H_
#define CMOJO_CORE_DATA_PIPE_H_

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

typedef struct cm_data_pipe_end {
  cm_dispatcher base;
  uint32_t element_num_bytes;
  uint32_t capacity;

  /* Fixed while the end is open: replaced only by rebind (port). */
  cm_port_ref port;
  cm_platform_shm_region *ring_region;
  cm_platform_mapping ring; /* ring.base: `capacity` bytes, read/write */

  /* Under base.lock. */
  uint32_t offset;    /* producer: next write; consumer: next read */
  uint32_t count;     /* producer: free bytes; consumer: readable bytes */
  uint32_t two_phase; /* bytes offered by the current two-phase operation */
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

/* Moves the end's offset past `n` bytes it wrote or read (lock held): the
 * producer's count is free space, the consumer's is available data, so both
 * shrink. Hands back the port to announce them on once the lock is dropped. */
void cm_data_pipe_advance_locked(cm_data_pipe_end *e, uint32_t n, cm_port_ref *port);

/* Ends the lock of a successful write or read: tells triggers, unlocks, then
 * announces the `n` bytes to the other end with `command` (if any). */
void cm_data_pipe_finish(cm_data_pipe_end *e, uint32_t n, cm_port_ref *port, uint32_t command);

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
