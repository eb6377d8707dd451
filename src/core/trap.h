/* trap: MojoCreateTrap and friends, and the triggers that join a trap to the
 * handles it watches.
 *
 * A trigger belongs to one trap and watches one dispatcher. It remembers the
 * last signals state the dispatcher reported and whether its condition is met
 * (OK), can never be met (FAILED_PRECONDITION) or neither (SHOULD_WAIT); a
 * trigger in one of the first two states is "ready". Arming fails while any
 * trigger is ready. An armed trap that sees a trigger become ready disarms
 * and queues one event. Removing a trigger, closing its handle or closing the
 * trap queues exactly one CANCELLED event, after which the handler never
 * hears of that trigger again. Handlers for one trigger never run
 * concurrently (a per-trigger notification lock, recursive so that a handler
 * may remove its own trigger).
 */
#ifndef CMOJO_CORE_TRAP_H_
#define CMOJO_CORE_TRAP_H_

#include "core/dispatcher.h"
#include "mojo/public/c/system/trap.h"

MojoResult cm_trap_create(MojoTrapEventHandler handler, cm_dispatcher **out);
MojoResult cm_trap_add_trigger(cm_dispatcher *trap, cm_dispatcher *d, MojoHandleSignals signals,
                               MojoTriggerCondition condition, uintptr_t context);
MojoResult cm_trap_remove_trigger(cm_dispatcher *trap, uintptr_t context);
MojoResult cm_trap_arm(cm_dispatcher *trap, uint32_t *num_blocking_events,
                       MojoTrapEvent *blocking_events);

/* Called by a dispatcher, with its lock held, when its signals change:
 * tells every trigger of its list. */
void cm_trigger_notify_all_locked(cm_trigger *list, const MojoHandleSignalsState *state);
/* A closing dispatcher takes every trigger off its list (lock held), then
 * cancels them (no lock held). */
cm_trigger *cm_trigger_take_all_locked(cm_dispatcher *d);
void cm_trigger_cancel_taken(cm_trigger *list);

/* Runs the handler for one queued event (no lock held). */
void cm_trigger_invoke(cm_trigger *t, MojoResult result, const MojoHandleSignalsState *state,
                       MojoTrapEventFlags flags);
void cm_trigger_ref(cm_trigger *t);
void cm_trigger_unref(cm_trigger *t);

#endif /* CMOJO_CORE_TRAP_H_ */
