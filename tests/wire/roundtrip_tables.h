/* Tables for the round-trip and mutation tests: one struct that uses every
 * kind the wire runtime knows (module test.wire), in the public table
 * format. Hand-written, like validation_tables.c. */
#ifndef CMOJO_TESTS_WIRE_ROUNDTRIP_TABLES_H_
#define CMOJO_TESTS_WIRE_ROUNDTRIP_TABLES_H_

#include "cmojo/wire.h"

typedef struct test_wire_Inner {
  int32_t x;
  cmojo_array name; /* string */
} test_wire_Inner;

/* union U2 { uint32 n; string str; } */
typedef struct test_wire_U2 {
  uint32_t tag;
  union {
    uint32_t n;
    cmojo_array str;
  } value;
} test_wire_U2;

/* union U { int64 big; string s; Inner inner; U2 nested; handle h;
 *           BasicEnum e; bool flag; } */
enum { U_BIG, U_S, U_INNER, U_NESTED, U_H, U_E, U_FLAG };
typedef struct test_wire_U {
  uint32_t tag;
  union {
    int64_t big;
    cmojo_array s;
    test_wire_Inner *inner;
    test_wire_U2 *nested;
    MojoHandle h;
    int32_t e;
    bool flag;
  } value;
} test_wire_U;

/* [Extensible] union XU { [Default] int32 a; string b; } */
typedef struct test_wire_XU {
  uint32_t tag;
  union {
    int32_t a;
    cmojo_array b;
  } value;
} test_wire_XU;

/* Closed enum BasicEnum {A=0, B=1, C=A, D=-3, E=10}; [Extensible] enum
 * OpenEnum {X, [Default] Y, Z}. */
typedef struct test_wire_Everything {
  bool b0, b1;
  int8_t i8;
  uint8_t u8;
  int16_t i16;
  uint16_t u16;
  int32_t i32;
  uint32_t u32;
  int64_t i64;
  uint64_t u64;
  float f;
  int32_t e; /* BasicEnum */
  double d;
  int32_t xe; /* OpenEnum */
  cmojo_opt_bool nb;
  cmojo_opt_int32 ni32;
  cmojo_opt_double nd;
  cmojo_array s, ns; /* string, string? */
  cmojo_array a16;   /* int16_t */
  cmojo_array ab;    /* bool */
  cmojo_array anb;   /* cmojo_opt_bool */
  cmojo_array ani64; /* cmojo_opt_int64 */
  cmojo_array astr;  /* cmojo_array (string) */
  cmojo_array aau8;  /* cmojo_array (uint8_t) */
  cmojo_array fixed; /* uint8_t[3] */
  cmojo_map msi;     /* string -> int32_t */
  cmojo_map mis;     /* int32_t -> test_wire_Inner* (nullable) */
  test_wire_Inner *inner, *ninner;
  test_wire_U *u, *nu;
  test_wire_XU *xu;
  MojoHandle h, nh;
  cmojo_pending_remote pr;
  MojoHandle prc;
  cmojo_pending_associated_remote ar;
  uint32_t arc;
  cmojo_array ah;     /* MojoHandle */
  cmojo_array au;     /* test_wire_U* (non-null elements) */
  cmojo_array ains;   /* test_wire_Inner* (nullable elements) */
  cmojo_opt_int32 ne; /* BasicEnum? */
  cmojo_array ane;    /* cmojo_opt_int32: array<BasicEnum?> */
} test_wire_Everything;

extern const cmojo_wire_struct test_wire_Everything_desc;
extern const cmojo_wire_struct test_wire_Inner_desc;
/* Method 0: Everything, no reply. Method 1: Everything => (Inner). */
extern const cmojo_wire_interface test_wire_RoundTrip;

#endif /* CMOJO_TESTS_WIRE_ROUNDTRIP_TABLES_H_ */
