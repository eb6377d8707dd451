/* Input layout of the wire fuzz target, shared with the seed writer and the
 * replay test: byte 0 selects the validator, the rest is the message.
 *   bits 0-2  interface (cm_fuzz_wire_interface, modulo the count)
 *   bit  3    direction (0 request, 1 response)
 *   bits 4-7  number of attached handles (0-15)
 */
#ifndef CMOJO_FUZZ_FUZZ_WIRE_H_
#define CMOJO_FUZZ_FUZZ_WIRE_H_

#include <stdint.h>

#include "cmojo/wire.h"
#include "roundtrip.mojom.h"
#include "validation_routes.h"

#define CM_FUZZ_WIRE_NUM_INTERFACES 5u

static inline const cmojo_wire_interface *cm_fuzz_wire_interface(unsigned index) {
  switch (index % CM_FUZZ_WIRE_NUM_INTERFACES) {
    case 0:
      return &mojo_test_ConformanceTestInterface_desc;
    case 1:
      return &mojo_test_AssociatedConformanceTestInterface_desc;
    case 2:
      return &mojo_test_BoundsCheckTestInterface_desc;
    case 3:
      return &mojo_test_IntegrationTestInterface_desc;
    default:
      return &test_wire_RoundTrip_desc;
  }
}

/* The selector byte for `iface`, or -1 if it is not one of ours. */
static inline int cm_fuzz_wire_selector(const cmojo_wire_interface *iface,
                                        cmojo_wire_direction direction, uint32_t num_handles) {
  if (num_handles > 15)
    return -1;
  for (unsigned i = 0; i < CM_FUZZ_WIRE_NUM_INTERFACES; i++)
    if (cm_fuzz_wire_interface(i) == iface)
      return (int)(i | (unsigned)direction << 3 | num_handles << 4);
  return -1;
}

#endif /* CMOJO_FUZZ_FUZZ_WIRE_H_ */
