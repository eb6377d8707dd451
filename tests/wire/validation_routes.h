/* Which validator each vector of Mojo's validation corpus goes through,
 * chosen by its file name as Chromium's validation_unittest.cc does. The
 * interface tables are what mojomc generates at build time from the .mojom
 * files in tests/wire/mojom (module mojo.test). */
#ifndef CMOJO_TESTS_WIRE_VALIDATION_ROUTES_H_
#define CMOJO_TESTS_WIRE_VALIDATION_ROUTES_H_

#include <stdbool.h>

#include "cmojo/wire.h"
#include "validation_test_associated_interfaces.mojom.h"
#include "validation_test_interfaces.mojom.h"

/* `both`: a header-only vector that the C++ harness runs on the request
 * side and on the response side. */
typedef struct cm_vector_route {
  const char *prefix;
  const cmojo_wire_interface *iface;
  cmojo_wire_direction direction;
  bool both;
} cm_vector_route;

/* The route for the vector `name` (without ".data"), or NULL. */
const cm_vector_route *cm_vector_route_for(const char *name);

#endif /* CMOJO_TESTS_WIRE_VALIDATION_ROUTES_H_ */
