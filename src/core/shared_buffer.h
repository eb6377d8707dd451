/* shared_buffer: the dispatcher behind a shared buffer handle.
 *
 * A shared buffer dispatcher owns one shared memory region
 * (platform/platform.h) until it is closed or the region is taken out of it
 * (MojoUnwrapPlatformSharedMemoryRegion). Each handle has its own region
 * object, so duplicating a handle makes a second region for the same memory,
 * following the platform's read-only/unsafe conversion rule, which is Mojo's
 * rule for MojoDuplicateBufferHandle. Mappings are not tied to the
 * dispatcher: they go to the process-wide table (buffer_mapping.h) and
 * outlive the handle.
 *
 * The dispatcher is not watchable (no signals) and carries no ports; it can be
 * attached to a message at any time while open, and within a process it
 * travels in the message as the same object, region included.
 */
#ifndef CMOJO_CORE_SHARED_BUFFER_H_
#define CMOJO_CORE_SHARED_BUFFER_H_

#include "core/dispatcher.h"
#include "platform/platform.h"

/* A new shared buffer dispatcher (one reference, the caller's) that takes
 * over `region`. NULL when out of memory: the region is then destroyed. */
cm_dispatcher *cm_shared_buffer_create(cm_platform_shm_region *region);

/* Takes the region out of a shared buffer dispatcher and closes the
 * dispatcher; the caller owns the region. NULL if `d` is not a shared
 * buffer or was closed already. */
cm_platform_shm_region *cm_shared_buffer_take_region(cm_dispatcher *d);

#endif /* CMOJO_CORE_SHARED_BUFFER_H_ */
