/* Corpus routing; see validation_routes.h. */
#include "validation_routes.h"

#include <string.h>

/* Longest prefixes first: "resp_conformance_" before "conformance_". */
static const cm_vector_route routes[] = {
    {"associated_conformance_", &mojo_test_AssociatedConformanceTestInterface_desc,
     CMOJO_WIRE_REQUEST, false},
    {"resp_conformance_", &mojo_test_ConformanceTestInterface_desc, CMOJO_WIRE_RESPONSE, false},
    {"resp_boundscheck_", &mojo_test_BoundsCheckTestInterface_desc, CMOJO_WIRE_RESPONSE, false},
    {"conformance_", &mojo_test_ConformanceTestInterface_desc, CMOJO_WIRE_REQUEST, false},
    {"boundscheck_", &mojo_test_BoundsCheckTestInterface_desc, CMOJO_WIRE_REQUEST, false},
    /* The C++ harness feeds these to a bound Receiver (requests) or Remote
     * (responses): the header validator, then the interface's validator. */
    {"integration_intf_rqst", &mojo_test_IntegrationTestInterface_desc, CMOJO_WIRE_REQUEST, false},
    {"integration_intf_resp", &mojo_test_IntegrationTestInterface_desc, CMOJO_WIRE_RESPONSE, false},
    {"integration_msghdr", &mojo_test_IntegrationTestInterface_desc, CMOJO_WIRE_REQUEST, true},
};

const cm_vector_route *cm_vector_route_for(const char *name) {
  for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
    if (!strncmp(name, routes[i].prefix, strlen(routes[i].prefix)))
      return &routes[i];
  return NULL;
}
