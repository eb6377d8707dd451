/* Traps: the way to wait for signals. A trap is a handle holding triggers;
 * each trigger watches some signals of one message pipe or data pipe handle
 * and names a condition (signals becoming satisfied, or becoming
 * unsatisfied). When an ARMED trap sees a trigger's condition met, it
 * disarms itself and calls its event handler once per trigger involved. The
 * caller re-arms it when ready for more. See functions.h for the
 * conventions on threads, options and outputs that apply here.
 *
 * Handler rules: the handler runs on whichever thread caused the change
 * (possibly inside that thread's own Mojo call, flagged WITHIN_API_CALL, or
 * on cmojo's I/O thread), with no cmojo lock held, so it may call any API
 * function. Calls for one trigger never overlap, and a handler is never
 * re-entered: events caused by the handler itself are delivered after it
 * returns. */

#ifndef MOJO_PUBLIC_C_SYSTEM_TRAP_H_
#define MOJO_PUBLIC_C_SYSTEM_TRAP_H_

#include <stdint.h>

#include "mojo/public/c/system/macros.h"
#include "mojo/public/c/system/system_export.h"
#include "mojo/public/c/system/types.h"

/* Flags of MojoTrapEvent.flags. */
typedef uint32_t MojoTrapEventFlags;

#define MOJO_TRAP_EVENT_FLAG_NONE ((MojoTrapEventFlags)0)
/* The event is delivered from inside a Mojo call the application made on
 * this thread (e.g. a MojoWriteMessage() to an in-process pipe whose other
 * end is watched): the handler is re-entering application code. */
#define MOJO_TRAP_EVENT_FLAG_WITHIN_API_CALL ((MojoTrapEventFlags)1 << 0)

/* What a trap's event handler receives. */
struct MOJO_ALIGNAS(8) MojoTrapEvent {
  /* sizeof this struct, for versioning. */
  uint32_t struct_size;

  /* MOJO_TRAP_EVENT_FLAG_* values. */
  MojoTrapEventFlags flags;

  /* The context given to MojoAddTrigger() for the trigger that fired. */
  MOJO_POINTER_FIELD(uintptr_t, trigger_context);

  /* Why the event fired:
   *   MOJO_RESULT_OK                  the trigger's condition was met.
   *   MOJO_RESULT_FAILED_PRECONDITION the watched handle changed so that the
   *                                   condition can never be met again
   *                                   (e.g. READABLE watched, peer closed
   *                                   and nothing left to read).
   *   MOJO_RESULT_CANCELLED           the trigger is gone: removed with
   *                                   MojoRemoveTrigger(), or its trap or its
   *                                   watched handle was closed. This is
   *                                   always the trigger's last event, and is
   *                                   delivered even while the trap is
   *                                   disarmed. */
  MojoResult result;

  /* The watched handle's signal state when the event fired. */
  struct MojoHandleSignalsState signals_state;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoTrapEvent) == 32, "MojoTrapEvent has wrong size");

/* MojoAddTrigger() conditions. */
typedef uint32_t MojoTriggerCondition;

/* Fire when any watched signal goes from satisfied to unsatisfied. */
#define MOJO_TRIGGER_CONDITION_SIGNALS_UNSATISFIED ((MojoTriggerCondition)0)
/* Fire when any watched signal goes from unsatisfied to satisfied, or when
 * none of them can ever be satisfied again. */
#define MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED ((MojoTriggerCondition)1)

/* MojoCreateTrap() options. No flags are defined. */
typedef uint32_t MojoCreateTrapFlags;
#define MOJO_CREATE_TRAP_FLAG_NONE ((MojoCreateTrapFlags)0)

struct MOJO_ALIGNAS(8) MojoCreateTrapOptions {
  uint32_t struct_size;
  MojoCreateTrapFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoCreateTrapOptions) == 8,
                   "MojoCreateTrapOptions has wrong size");

/* MojoAddTrigger() options. No flags are defined. */
typedef uint32_t MojoAddTriggerFlags;
#define MOJO_ADD_TRIGGER_FLAG_NONE ((MojoAddTriggerFlags)0)

struct MOJO_ALIGNAS(8) MojoAddTriggerOptions {
  uint32_t struct_size;
  MojoAddTriggerFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoAddTriggerOptions) == 8,
                   "MojoAddTriggerOptions has wrong size");

/* MojoRemoveTrigger() options. No flags are defined. */
typedef uint32_t MojoRemoveTriggerFlags;
#define MOJO_REMOVE_TRIGGER_FLAG_NONE ((MojoRemoveTriggerFlags)0)

struct MOJO_ALIGNAS(8) MojoRemoveTriggerOptions {
  uint32_t struct_size;
  MojoRemoveTriggerFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoRemoveTriggerOptions) == 8,
                   "MojoRemoveTriggerOptions has wrong size");

/* MojoArmTrap() options. No flags are defined. */
typedef uint32_t MojoArmTrapFlags;
#define MOJO_ARM_TRAP_FLAG_NONE ((MojoArmTrapFlags)0)

struct MOJO_ALIGNAS(8) MojoArmTrapOptions {
  uint32_t struct_size;
  MojoArmTrapFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoArmTrapOptions) == 8, "MojoArmTrapOptions has wrong size");

#ifdef __cplusplus
extern "C" {
#endif

/* A trap's event handler; |event| is valid only during the call. */
typedef void (*MojoTrapEventHandler)(const struct MojoTrapEvent* event);

/* Creates a trap, disarmed and with no triggers, whose events go to
 * |handler|, and stores its handle in |*trap_handle|; the caller owns it.
 * Closing the trap removes all its triggers (each gets a CANCELLED event).
 *
 * Returns:
 *   MOJO_RESULT_OK                 |*trap_handle| holds the trap.
 *   MOJO_RESULT_INVALID_ARGUMENT   |handler| or |trap_handle| is NULL, or
 *                                  |options| is malformed.
 *   MOJO_RESULT_RESOURCE_EXHAUSTED no handle could be allocated. */
MOJO_SYSTEM_EXPORT MojoResult MojoCreateTrap(MojoTrapEventHandler handler,
                                             const struct MojoCreateTrapOptions* options,
                                             MojoHandle* trap_handle);

/* Adds to |trap_handle| a trigger that watches |signals| on |handle| (a
 * message pipe or data pipe handle) for |condition|. |context| identifies
 * the trigger: it is passed back in MojoTrapEvent.trigger_context and to
 * MojoRemoveTrigger(), and must be unique within the trap; a trap watches a
 * given handle with at most one trigger. Adding a trigger
 * does not arm the trap and fires no event by itself (apart from a later
 * CANCELLED). The trap does not own |handle|; closing |handle| cancels the
 * trigger.
 *
 * Returns:
 *   MOJO_RESULT_OK               the trigger is in place.
 *   MOJO_RESULT_INVALID_ARGUMENT |trap_handle| is not a trap, |handle| is
 *                                not a message pipe or data pipe handle,
 *                                |signals| has bits that are not
 *                                MOJO_HANDLE_SIGNAL_* values, |condition|
 *                                is not a known condition, or |options| is
 *                                malformed.
 *   MOJO_RESULT_ALREADY_EXISTS   the trap already has a trigger with
 *                                |context|, or already has a trigger
 *                                watching |handle|. */
MOJO_SYSTEM_EXPORT MojoResult MojoAddTrigger(MojoHandle trap_handle, MojoHandle handle,
                                             MojoHandleSignals signals,
                                             MojoTriggerCondition condition, uintptr_t context,
                                             const struct MojoAddTriggerOptions* options);

/* Removes the trigger identified by |context| from |trap_handle|. Its final
 * event, with result CANCELLED, is delivered to the handler (armed or not)
 * before this returns; if the handler is running for this trigger on
 * another thread, removal first waits for it to return. When called from
 * inside a trap event handler, the CANCELLED event is instead delivered
 * right after that handler returns, since handlers are never re-entered.
 *
 * Returns:
 *   MOJO_RESULT_OK               the trigger was removed.
 *   MOJO_RESULT_INVALID_ARGUMENT |trap_handle| is not a trap or |options| is
 *                                malformed.
 *   MOJO_RESULT_NOT_FOUND        the trap has no trigger with |context|. */
MOJO_SYSTEM_EXPORT MojoResult MojoRemoveTrigger(MojoHandle trap_handle, uintptr_t context,
                                                const struct MojoRemoveTriggerOptions* options);

/* Arms |trap_handle| so that its handler runs the next time one of its
 * triggers' conditions is met. Arming fails if some trigger's condition is
 * already met (or can never be met): the caller should handle those first,
 * since the trap would otherwise never fire for them.
 *
 * |num_blocking_events| and |blocking_events| are optional and used only on
 * FAILED_PRECONDITION: |*num_blocking_events| is the capacity of
 * |blocking_events| on input and the number of events written on output.
 * Each event written (its struct_size set by cmojo) describes one trigger
 * that blocked arming, with result OK or FAILED_PRECONDITION as a handler
 * would see it. When more triggers block than fit, which ones are reported
 * is unspecified, but successive calls rotate through them so that no
 * trigger is starved.
 *
 * Returns:
 *   MOJO_RESULT_OK                  the trap is armed (the event arguments
 *                                   are not touched).
 *   MOJO_RESULT_INVALID_ARGUMENT    |trap_handle| is not a trap,
 *                                   |num_blocking_events| is not NULL but
 *                                   |blocking_events| is NULL, or |options|
 *                                   is malformed.
 *   MOJO_RESULT_NOT_FOUND           the trap has no triggers.
 *   MOJO_RESULT_FAILED_PRECONDITION at least one trigger's condition is
 *                                   already met or can never be met; the
 *                                   trap stays disarmed and blocking events
 *                                   are reported as described above. */
MOJO_SYSTEM_EXPORT MojoResult MojoArmTrap(MojoHandle trap_handle,
                                          const struct MojoArmTrapOptions* options,
                                          uint32_t* num_blocking_events,
                                          struct MojoTrapEvent* blocking_events);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOJO_PUBLIC_C_SYSTEM_TRAP_H_ */
