/* dispatcher: the object behind every MojoHandle.
 *
 * A dispatcher is a reference-counted object of one type (message pipe end,
 * data pipe producer or consumer, shared buffer, wrapped platform handle,
 * trap). The handle table holds one reference per open handle; a message
 * holds one for each handle attached to it; API calls hold one while they
 * run. Closing is separate from freeing: cm_dispatcher_close() runs once and
 * releases what the object stands for (ports, fds, mappings); the memory
 * goes when the last reference does.
 *
 * Watchable dispatchers keep the list of trap triggers watching them. When
 * their signals change they call cm_dispatcher_notify_locked() with their
 * lock held; triggers turn that into trap events, which run later with no
 * lock held (see request_context.h). Lock order: handle table lock, then a
 * dispatcher lock, then a trap lock. Nothing that can call back into the
 * core (ports functions that report status, trap handlers) is called with a
 * dispatcher lock held, except cm_node_get_status(), which never calls back.
 *
 * Transit: attaching a handle to a message moves its dispatcher out of the
 * handle table into the message (begin_transit checks that it can go, e.g.
 * not in a two-phase operation). When the message is written, the ports the
 * dispatcher owns are handed to the ports layer inside the message event;
 * when the message is read, the dispatcher is rebound to the new local ports
 * and gets a handle again.
 *
 * Another process: cm_message_serialize_for_transport() asks each object
 * for its blob, ports and OS handles (serialized_size/serialize below);
 * cm_message_deserialize() builds new objects from them with the per-type
 * functions of message_serialize.h. A deserialized object starts as one
 * whose ports were sent (unbound, `transferred`), so the ordinary read path
 * (rebind_ports with the names the ports layer gave the carried ports on
 * arrival) binds it, exactly as for an object that never left the process.
 */
#ifndef CMOJO_CORE_DISPATCHER_H_
#define CMOJO_CORE_DISPATCHER_H_

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mojo/public/c/system/types.h"
#include "mojo/public/c/system/trap.h"
#include "platform/platform.h"
#include "ports/ports.h"

/* Mojo's C headers name these structs without typedefs; inside the core we
 * use the short names (C11 allows the identical typedef to repeat). */
typedef struct MojoHandleSignalsState MojoHandleSignalsState;
typedef struct MojoTrapEvent MojoTrapEvent;

typedef enum cm_dispatcher_type {
  CM_DISPATCHER_MESSAGE_PIPE = 1,
  CM_DISPATCHER_DATA_PIPE_PRODUCER = 2,
  CM_DISPATCHER_DATA_PIPE_CONSUMER = 3,
  CM_DISPATCHER_SHARED_BUFFER = 4,
  CM_DISPATCHER_PLATFORM_HANDLE = 5,
  CM_DISPATCHER_TRAP = 6,
  CM_DISPATCHER_INVITATION = 7,
} cm_dispatcher_type;

typedef struct cm_dispatcher cm_dispatcher;
typedef struct cm_trigger cm_trigger;

typedef struct cm_dispatcher_ops {
  cm_dispatcher_type type;
  /* Releases what the dispatcher stands for. Called once, with no lock held,
   * after triggers were cancelled. Ports handed to the ports layer (by
   * get_ports, when a message carrying the object was written) or never
   * bound (a deserialized object not yet read) are not the object's to
   * close: each kind records that when it happens. */
  void (*close)(cm_dispatcher *d);
  /* Frees the memory; the last reference is gone. */
  void (*destroy)(cm_dispatcher *d);
  /* Current signals. Called with d->lock held. NULL: not watchable (traps
   * and triggers reject it with INVALID_ARGUMENT; queries report nothing). */
  MojoHandleSignalsState (*signals)(cm_dispatcher *d);
  /* May the object be attached to a message now? Called with d->lock held.
   * OK, or BUSY (e.g. in a two-phase read/write). NULL: never transferable
   * (INVALID_ARGUMENT). */
  MojoResult (*begin_transit)(cm_dispatcher *d);
  /* Ports the object carries when sent (0 if NULL), written in order into
   * `out` at send time. */
  size_t (*num_ports)(cm_dispatcher *d);
  void (*get_ports)(cm_dispatcher *d, cm_port_name *out);
  /* After a message carrying the object is read: the new local ports, in the
   * same order. Returns false if they cannot be taken (the object is then
   * closed by the caller). */
  bool (*rebind_ports)(cm_dispatcher *d, const cm_port_name *names);
  /* A port the object observes (cm_core_observe_port) changed status.
   * Called with no lock held, inside a request context. */
  void (*on_port_status)(cm_dispatcher *d, const cm_port_ref *port);
  /* on_port_status only matters while a trigger watches the object (true
   * for message pipes, whose state lives in the port; false for data pipe
   * ends, which must drain their control messages on every change). */
  bool port_status_only_when_watched;

  /* Serialization for another process (docs/message-format.md), called by
   * cm_message_serialize_for_transport() on objects inside a message that
   * was sent (get_ports done), so no handle names them. NULL: the type
   * cannot leave the process (traps).
   *
   * serialized_size: how many blob bytes, ports and OS handles serialize()
   * writes. Changes nothing. OK, or INVALID_ARGUMENT if the object no longer
   * holds what it stands for (closed, region taken).
   *
   * serialize: writes the blob into bytes[0..num_bytes) (zeroed by the
   * caller), the carried port names into ports[] and MOVES the object's OS
   * handles into handles[] (the caller owns them from then on, success or
   * not). Takes the lock itself. Cannot fail once serialized_size said OK,
   * except for an object closed in between (INVALID_ARGUMENT, nothing
   * written). The object is spent afterwards: it can only be closed. */
  MojoResult (*serialized_size)(cm_dispatcher *d, uint32_t *num_bytes, uint32_t *num_ports,
                                uint32_t *num_handles);
  MojoResult (*serialize)(cm_dispatcher *d, uint8_t *bytes, cm_port_name *ports,
                          cm_platform_handle *handles);
} cm_dispatcher_ops;

struct cm_dispatcher {
  const cm_dispatcher_ops *ops;
  atomic_uint refs;
  pthread_mutex_t lock;
  /* Under lock. */
  bool closed;
  bool in_transit;
  cm_trigger *triggers; /* doubly linked through cm_trigger's d_prev/d_next */
  /* Mirrors triggers != NULL so that hot paths can skip computing signals
   * nobody watches without taking the lock. Written under lock, read
   * anywhere (a trigger added concurrently reads the state itself). */
  atomic_bool watched;
};

void cm_dispatcher_init(cm_dispatcher *d, const cm_dispatcher_ops *ops);
void cm_dispatcher_ref(cm_dispatcher *d);
void cm_dispatcher_unref(cm_dispatcher *d);

static inline cm_dispatcher_type cm_dispatcher_get_type(const cm_dispatcher *d) {
  return d->ops->type;
}

/* Closes the object: cancels every trigger watching it (CANCELLED events),
 * then ops->close(). Returns INVALID_ARGUMENT if it was closed already. */
MojoResult cm_dispatcher_close(cm_dispatcher *d);

/* Signals of a watchable object; INVALID_ARGUMENT if closed. */
MojoResult cm_dispatcher_query_signals(cm_dispatcher *d, MojoHandleSignalsState *out);

/* Tell every trigger the current signals. d->lock must be held. */
void cm_dispatcher_notify_locked(cm_dispatcher *d);
/* Same, taking the lock; does nothing (and takes no lock) when no trigger
 * watches `d`. */
void cm_dispatcher_notify(cm_dispatcher *d);

/* Signals helpers. */
static inline bool cm_signals_satisfy_any(const MojoHandleSignalsState *s, MojoHandleSignals sig) {
  return (s->satisfied_signals & sig) != 0;
}
static inline bool cm_signals_satisfy_all(const MojoHandleSignalsState *s, MojoHandleSignals sig) {
  return (s->satisfied_signals & sig) == sig;
}
static inline bool cm_signals_can_satisfy_any(const MojoHandleSignalsState *s,
                                              MojoHandleSignals sig) {
  return (s->satisfiable_signals & sig) != 0;
}

#endif /* CMOJO_CORE_DISPATCHER_H_ */
