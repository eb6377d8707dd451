/* handle_table: MojoHandle values and the dispatchers behind them.
 *
 * A handle is a slot index plus a generation count, so a stale handle value
 * (closed, then its slot reused) is rejected instead of reaching another
 * object. The table holds one reference on each dispatcher it maps. One mutex
 * guards the table; it is a leaf lock except for begin_transit, which takes
 * dispatcher locks inside it (table lock before dispatcher lock).
 */
#ifndef CMOJO_CORE_HANDLE_TABLE_H_
#define CMOJO_CORE_HANDLE_TABLE_H_

#include <stddef.h>
#include <stdint.h>

#include "core/dispatcher.h"

/* Adds `d` (the table takes over the caller's reference) and returns its
 * handle; RESOURCE_EXHAUSTED when full (the reference stays the caller's). */
MojoResult cm_handles_add(cm_dispatcher *d, MojoHandle *out);

/* Adds several at once: either all are added or none. */
MojoResult cm_handles_add_many(cm_dispatcher *const *ds, size_t n, MojoHandle *out);

/* The dispatcher behind `h` with a new reference, or NULL. */
cm_dispatcher *cm_handles_get(MojoHandle h);

/* Removes `h` and gives the table's reference to *out. INVALID_ARGUMENT if
 * `h` is not a handle, BUSY if it is being attached to a message. */
MojoResult cm_handles_remove(MojoHandle h, cm_dispatcher **out);

/* Moves the dispatchers of `handles` out of the table for attaching to a
 * message: all or nothing. Each must be valid (INVALID_ARGUMENT), listed
 * once and transferable now (BUSY). On success out[i] holds the reference
 * the table had, and each dispatcher is marked in transit. */
MojoResult cm_handles_begin_transit(const MojoHandle *handles, size_t n, cm_dispatcher **out);

/* Number of open handles (for tests and leak checks). */
size_t cm_handles_count(void);

#endif /* CMOJO_CORE_HANDLE_TABLE_H_ */
