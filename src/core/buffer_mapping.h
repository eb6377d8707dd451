/* buffer_mapping: the process-wide table of mappings made by MojoMapBuffer().
 *
 * MojoUnmapBuffer() receives nothing but an address, and must refuse any
 * address it did not hand out (an interior pointer, a pointer unmapped
 * already, a pointer to memory that is not ours), because unmapping the
 * wrong pages would corrupt the process. So every mapping is registered here
 * under the exact address returned to the caller, and unmapping is only done
 * through the table. Mappings belong to the table, not to the buffer handle
 * they came from: they outlive the handle until unmapped.
 *
 * Invariants: addresses in the table are distinct (each is inside its own
 * OS mapping); an entry is removed and unmapped exactly once. One mutex
 * guards the table; it is a leaf lock (nothing is called while it is held
 * except memory allocation). Safe from any thread.
 */
#ifndef CMOJO_CORE_BUFFER_MAPPING_H_
#define CMOJO_CORE_BUFFER_MAPPING_H_

#include "mojo/public/c/system/types.h"
#include "platform/platform.h"

/* Takes over *mapping (a live mapping from cm_platform_shm_map()). OK, or
 * RESOURCE_EXHAUSTED if the table could not grow: the mapping is then
 * unmapped here, so the caller never owns it after the call. */
MojoResult cm_buffer_mapping_add(const cm_platform_mapping *mapping);

/* Unmaps the mapping registered under `address`. INVALID_ARGUMENT if no
 * mapping was registered under exactly that address. */
MojoResult cm_buffer_mapping_remove(void *address);

#endif /* CMOJO_CORE_BUFFER_MAPPING_H_ */
