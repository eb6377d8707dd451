/* Descriptor tables and C types for Mojo's validation test interfaces
 * (module mojo.test: validation_test_interfaces.test-mojom and
 * validation_test_associated_interfaces.test-mojom).
 *
 * Hand-written stand-in for mojomc output, to be replaced when the emitter
 * lands: the layouts were packed by hand following pack.py and are checked
 * by the conformance corpus itself.
 */
#ifndef CMOJO_TESTS_WIRE_VALIDATION_TABLES_H_
#define CMOJO_TESTS_WIRE_VALIDATION_TABLES_H_

#include "cmojo/wire.h"

typedef struct mojo_test_StructA {
  uint64_t i;
} mojo_test_StructA;

typedef struct mojo_test_StructB {
  mojo_test_StructA *struct_a;
} mojo_test_StructB;

typedef struct mojo_test_StructC {
  cmojo_array data; /* uint8_t */
} mojo_test_StructC;

typedef struct mojo_test_StructD {
  cmojo_array message_pipes; /* MojoHandle */
} mojo_test_StructD;

typedef struct mojo_test_StructE {
  mojo_test_StructD *struct_d;
  MojoHandle data_pipe_consumer;
} mojo_test_StructE;

typedef struct mojo_test_StructF {
  cmojo_array fixed_size_array; /* uint8_t[3] */
} mojo_test_StructF;

typedef struct mojo_test_StructG {
  int32_t i;
  mojo_test_StructA *struct_a; /* MinVersion 1 */
  cmojo_array str;             /* MinVersion 3 */
  bool b;                      /* MinVersion 3 */
} mojo_test_StructG;

typedef struct mojo_test_BasicStruct {
  int32_t a;
} mojo_test_BasicStruct;

typedef struct mojo_test_Recursive {
  struct mojo_test_Recursive *recursive;
} mojo_test_Recursive;

#define MOJO_TEST_UNION_A_STRUCT_A 0u
#define MOJO_TEST_UNION_A_B 1u
typedef struct mojo_test_UnionA {
  uint32_t tag;
  union {
    mojo_test_StructA *struct_a;
    bool b;
  } value;
} mojo_test_UnionA;

/* Parameter structs used by the round-trip tests. */
typedef struct mojo_test_Method5_Params {
  mojo_test_StructE *param0;
  MojoHandle param1;
} mojo_test_Method5_Params;

typedef struct mojo_test_Method7_Params {
  mojo_test_StructF *param0;
  cmojo_array param1; /* cmojo_array (uint8_t[3], nullable) [2] */
} mojo_test_Method7_Params;

typedef struct mojo_test_Method10_Params {
  cmojo_map param0; /* cmojo_array (string) -> uint8_t */
} mojo_test_Method10_Params;

typedef struct mojo_test_Method11_Params {
  mojo_test_StructG *param0;
} mojo_test_Method11_Params;

typedef struct mojo_test_Method13_Params {
  cmojo_pending_remote param0;
  uint32_t param1;
  cmojo_pending_remote param2;
} mojo_test_Method13_Params;

typedef struct mojo_test_Method18_Params {
  mojo_test_UnionA *param0;
} mojo_test_Method18_Params;

typedef struct mojo_test_Method20_Params {
  cmojo_map param0; /* mojo_test_StructB* -> uint8_t */
} mojo_test_Method20_Params;

typedef struct mojo_test_Method23_Params {
  cmojo_array param0; /* cmojo_opt_bool */
  cmojo_array param1; /* cmojo_opt_uint32 */
} mojo_test_Method23_Params;

typedef struct mojo_test_Method24_Params {
  cmojo_map param0; /* uint32_t -> cmojo_opt_bool */
  cmojo_map param1; /* uint32_t -> cmojo_opt_uint64 */
} mojo_test_Method24_Params;

typedef struct mojo_test_AssocMethod3_Params {
  cmojo_array param0; /* cmojo_pending_associated_remote */
} mojo_test_AssocMethod3_Params;

extern const cmojo_wire_struct mojo_test_StructA_desc;
extern const cmojo_wire_struct mojo_test_StructG_desc;

extern const cmojo_wire_interface mojo_test_ConformanceTestInterface;
extern const cmojo_wire_interface mojo_test_BoundsCheckTestInterface;
extern const cmojo_wire_interface mojo_test_IntegrationTestInterface;
extern const cmojo_wire_interface mojo_test_AssociatedConformanceTestInterface;

/* Which validator a corpus vector goes through, from its file name, as in
 * Chromium's validation_unittest.cc. `both`: a header-only vector that the
 * C++ harness runs on the request side and on the response side. */
typedef struct cm_vector_route {
  const char *prefix;
  const cmojo_wire_interface *iface;
  cmojo_wire_direction direction;
  bool both;
} cm_vector_route;

/* The route for the vector `name` (without ".data"), or NULL. */
const cm_vector_route *cm_vector_route_for(const char *name);

#endif /* CMOJO_TESTS_WIRE_VALIDATION_TABLES_H_ */
