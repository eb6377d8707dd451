/* Hand-written stand-in for mojomc output, to be replaced when the emitter
 * lands: descriptor tables for module mojo.test's validation interfaces,
 * in the public table format of cmojo/wire.h. Offsets are pack.py's plus
 * the 8-byte struct header. */
#include "validation_tables.h"

#include <stddef.h>
#include <string.h>

#define N(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))
#define T(k) \
  { .kind = CMOJO_WIRE_KIND_##k }
#define NT(k) \
  { .kind = CMOJO_WIRE_KIND_##k, .nullable = 1 }
#define F(ctype, member, t, off)                        \
  {                                                     \
    .name = #member, .type = &(t), .offset = 8 + (off), \
    .c_offset = (uint32_t)offsetof(ctype, member)       \
  }
#define STRUCT_V0(sym, ctype, size)                               \
  static const cmojo_wire_version sym##_versions[] = {{0, size}}; \
  const cmojo_wire_struct sym = {.name = #ctype,                  \
                                 .fields = sym##_fields,          \
                                 .num_fields = N(sym##_fields),   \
                                 .versions = sym##_versions,      \
                                 .num_versions = 1,               \
                                 .c_size = sizeof(ctype),         \
                                 .c_align = _Alignof(ctype)}

/* Forward declarations: the types below point at these. */
extern const cmojo_wire_struct mojo_test_StructB_desc;
extern const cmojo_wire_struct mojo_test_StructC_desc;
extern const cmojo_wire_struct mojo_test_StructD_desc;
extern const cmojo_wire_struct mojo_test_StructE_desc;
extern const cmojo_wire_struct mojo_test_StructF_desc;
extern const cmojo_wire_struct mojo_test_BasicStruct_desc;
extern const cmojo_wire_struct mojo_test_Recursive_desc;

/* ---- primitive and handle types ---- */
static const cmojo_wire_type t_bool = T(BOOL);
static const cmojo_wire_type t_uint8 = T(UINT8);
static const cmojo_wire_type t_uint32 = T(UINT32);
static const cmojo_wire_type t_uint64 = T(UINT64);
static const cmojo_wire_type t_int32 = T(INT32);
static const cmojo_wire_type t_float = T(FLOAT);
static const cmojo_wire_type t_nbool = NT(BOOL);
static const cmojo_wire_type t_nuint32 = NT(UINT32);
static const cmojo_wire_type t_nuint64 = NT(UINT64);
static const cmojo_wire_type t_string = T(STRING);
static const cmojo_wire_type t_nstring = NT(STRING);
static const cmojo_wire_type t_handle_mp = {.kind = CMOJO_WIRE_KIND_HANDLE,
                                            .handle_type = CMOJO_WIRE_HANDLE_MESSAGE_PIPE};
static const cmojo_wire_type t_handle_dpc = {.kind = CMOJO_WIRE_KIND_HANDLE,
                                             .handle_type = CMOJO_WIRE_HANDLE_DATA_PIPE_CONSUMER};
static const cmojo_wire_type t_handle_dpp = {.kind = CMOJO_WIRE_KIND_HANDLE,
                                             .handle_type = CMOJO_WIRE_HANDLE_DATA_PIPE_PRODUCER};
static const cmojo_wire_type t_nhandle = NT(HANDLE);

/* ---- enums ---- */
static const int32_t enum_a_values[] = {0, 1};
static const cmojo_wire_enum enum_a = {
    .name = "mojo.test.EnumA", .values = enum_a_values, .num_values = 2};
static const int32_t enum_b_values[] = {0, 1, 2};
static const cmojo_wire_enum enum_b = {
    .name = "mojo.test.EnumB", .values = enum_b_values, .num_values = 3, .extensible = 1};
static const cmojo_wire_enum empty_enum = {.name = "mojo.test.EmptyEnum"};
static const cmojo_wire_enum ext_empty_enum = {.name = "mojo.test.ExtensibleEmptyEnum",
                                               .extensible = 1};
static const cmojo_wire_type t_enum_a = {.kind = CMOJO_WIRE_KIND_ENUM, .enum_type = &enum_a};
static const cmojo_wire_type t_enum_b = {.kind = CMOJO_WIRE_KIND_ENUM, .enum_type = &enum_b};
static const cmojo_wire_type t_empty_enum = {.kind = CMOJO_WIRE_KIND_ENUM,
                                             .enum_type = &empty_enum};
static const cmojo_wire_type t_ext_empty_enum = {.kind = CMOJO_WIRE_KIND_ENUM,
                                                 .enum_type = &ext_empty_enum};

/* ---- interfaces used as endpoint types ---- */
static const cmojo_wire_interface interface_a = {.name = "mojo.test.InterfaceA"};
static const cmojo_wire_interface interface_x = {.name = "mojo.test.InterfaceX"};
static const cmojo_wire_type t_remote_a = {.kind = CMOJO_WIRE_KIND_PENDING_REMOTE,
                                           .interface = &interface_a};
static const cmojo_wire_type t_nremote_a = {
    .kind = CMOJO_WIRE_KIND_PENDING_REMOTE, .nullable = 1, .interface = &interface_a};
static const cmojo_wire_type t_aremote_x = {.kind = CMOJO_WIRE_KIND_PENDING_ASSOCIATED_REMOTE,
                                            .interface = &interface_x};
static const cmojo_wire_type t_naremote_x = {
    .kind = CMOJO_WIRE_KIND_PENDING_ASSOCIATED_REMOTE, .nullable = 1, .interface = &interface_x};
static const cmojo_wire_type t_areceiver_x = {.kind = CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER,
                                              .interface = &interface_x};

/* ---- struct-typed references ---- */
static const cmojo_wire_type t_struct_a = {.kind = CMOJO_WIRE_KIND_STRUCT,
                                           .struct_type = &mojo_test_StructA_desc};
static const cmojo_wire_type t_nstruct_a = {
    .kind = CMOJO_WIRE_KIND_STRUCT, .nullable = 1, .struct_type = &mojo_test_StructA_desc};
static const cmojo_wire_type t_struct_b = {.kind = CMOJO_WIRE_KIND_STRUCT,
                                           .struct_type = &mojo_test_StructB_desc};
static const cmojo_wire_type t_struct_c = {.kind = CMOJO_WIRE_KIND_STRUCT,
                                           .struct_type = &mojo_test_StructC_desc};
static const cmojo_wire_type t_struct_d = {.kind = CMOJO_WIRE_KIND_STRUCT,
                                           .struct_type = &mojo_test_StructD_desc};
static const cmojo_wire_type t_struct_e = {.kind = CMOJO_WIRE_KIND_STRUCT,
                                           .struct_type = &mojo_test_StructE_desc};
static const cmojo_wire_type t_struct_f = {.kind = CMOJO_WIRE_KIND_STRUCT,
                                           .struct_type = &mojo_test_StructF_desc};
static const cmojo_wire_type t_struct_g = {.kind = CMOJO_WIRE_KIND_STRUCT,
                                           .struct_type = &mojo_test_StructG_desc};
static const cmojo_wire_type t_basic = {.kind = CMOJO_WIRE_KIND_STRUCT,
                                        .struct_type = &mojo_test_BasicStruct_desc};
static const cmojo_wire_type t_recursive = {.kind = CMOJO_WIRE_KIND_STRUCT,
                                            .struct_type = &mojo_test_Recursive_desc};
static const cmojo_wire_type t_nrecursive = {
    .kind = CMOJO_WIRE_KIND_STRUCT, .nullable = 1, .struct_type = &mojo_test_Recursive_desc};

/* ---- union UnionA ---- */
static const cmojo_wire_union_field union_a_fields[] = {
    {.name = "struct_a", .tag = MOJO_TEST_UNION_A_STRUCT_A, .type = &t_struct_a},
    {.name = "b", .tag = MOJO_TEST_UNION_A_B, .type = &t_bool},
};
static const cmojo_wire_union union_a = {
    .name = "mojo.test.UnionA",
    .fields = union_a_fields,
    .num_fields = N(union_a_fields),
    .c_size = sizeof(mojo_test_UnionA),
    .c_align = _Alignof(mojo_test_UnionA),
    .c_value_offset = (uint32_t)offsetof(mojo_test_UnionA, value)};
static const cmojo_wire_type t_nunion_a = {
    .kind = CMOJO_WIRE_KIND_UNION, .nullable = 1, .union_type = &union_a};

/* ---- arrays and maps ---- */
#define ARRAY(name, elem, n, null)      \
  static const cmojo_wire_type name = { \
      .kind = CMOJO_WIRE_KIND_ARRAY, .nullable = null, .element = &(elem), .fixed_count = n}
ARRAY(a_uint8, t_uint8, 0, 0);
ARRAY(a_bool, t_bool, 0, 0);
ARRAY(a_handle_mp, t_handle_mp, 0, 0);
ARRAY(a_uint8_3, t_uint8, 3, 0);
ARRAY(na_uint8_3, t_uint8, 3, 1);
ARRAY(a_na_uint8_3_2, na_uint8_3, 2, 0);
ARRAY(a_a_uint8, a_uint8, 0, 0);
ARRAY(na_string, t_string, 0, 1);
ARRAY(a_na_string, na_string, 0, 0);
ARRAY(a_nhandle, t_nhandle, 0, 0);
ARRAY(na_a_nhandle, a_nhandle, 0, 1);
ARRAY(na_enum_a, t_enum_a, 0, 1);
ARRAY(na_enum_b, t_enum_b, 0, 1);
ARRAY(a_remote_a, t_remote_a, 0, 0);
ARRAY(a_nbool, t_nbool, 0, 0);
ARRAY(a_nuint32, t_nuint32, 0, 0);
ARRAY(a_aremote_x, t_aremote_x, 0, 0);

#define MAP(name, k, v, null)           \
  static const cmojo_wire_type name = { \
      .kind = CMOJO_WIRE_KIND_MAP, .nullable = null, .key = &(k), .element = &(v)}
MAP(m_string_uint8, t_string, t_uint8, 0);
MAP(nm_enum_a_enum_a, t_enum_a, t_enum_a, 1);
MAP(m_struct_b_uint8, t_struct_b, t_uint8, 0);
MAP(m_uint32_nbool, t_uint32, t_nbool, 0);
MAP(m_uint32_nuint64, t_uint32, t_nuint64, 0);

/* ---- structs ---- */
static const cmojo_wire_field mojo_test_StructA_desc_fields[] = {
    F(mojo_test_StructA, i, t_uint64, 0)};
STRUCT_V0(mojo_test_StructA_desc, mojo_test_StructA, 16);

static const cmojo_wire_field mojo_test_StructB_desc_fields[] = {
    F(mojo_test_StructB, struct_a, t_struct_a, 0)};
STRUCT_V0(mojo_test_StructB_desc, mojo_test_StructB, 16);

static const cmojo_wire_field mojo_test_StructC_desc_fields[] = {
    F(mojo_test_StructC, data, a_uint8, 0)};
STRUCT_V0(mojo_test_StructC_desc, mojo_test_StructC, 16);

static const cmojo_wire_field mojo_test_StructD_desc_fields[] = {
    F(mojo_test_StructD, message_pipes, a_handle_mp, 0)};
STRUCT_V0(mojo_test_StructD_desc, mojo_test_StructD, 16);

static const cmojo_wire_field mojo_test_StructE_desc_fields[] = {
    F(mojo_test_StructE, struct_d, t_struct_d, 0),
    F(mojo_test_StructE, data_pipe_consumer, t_handle_dpc, 8)};
STRUCT_V0(mojo_test_StructE_desc, mojo_test_StructE, 24);

static const cmojo_wire_field mojo_test_StructF_desc_fields[] = {
    F(mojo_test_StructF, fixed_size_array, a_uint8_3, 0)};
STRUCT_V0(mojo_test_StructF_desc, mojo_test_StructF, 16);

/* StructG: i@0, b@4 bit 0 (v3), struct_a@8 (v1), str@16 (v3). */
static const cmojo_wire_field struct_g_fields[] = {
    F(mojo_test_StructG, i, t_int32, 0),
    {.name = "struct_a",
     .type = &t_nstruct_a,
     .offset = 8 + 8,
     .min_version = 1,
     .c_offset = (uint32_t)offsetof(mojo_test_StructG, struct_a)},
    {.name = "str",
     .type = &t_nstring,
     .offset = 8 + 16,
     .min_version = 3,
     .c_offset = (uint32_t)offsetof(mojo_test_StructG, str)},
    {.name = "b",
     .type = &t_bool,
     .offset = 8 + 4,
     .bit = 0,
     .min_version = 3,
     .c_offset = (uint32_t)offsetof(mojo_test_StructG, b)},
};
static const cmojo_wire_version struct_g_versions[] = {{0, 16}, {1, 24}, {3, 32}};
const cmojo_wire_struct mojo_test_StructG_desc = {.name = "mojo_test_StructG",
                                                  .fields = struct_g_fields,
                                                  .num_fields = N(struct_g_fields),
                                                  .versions = struct_g_versions,
                                                  .num_versions = N(struct_g_versions),
                                                  .c_size = sizeof(mojo_test_StructG),
                                                  .c_align = _Alignof(mojo_test_StructG)};

static const cmojo_wire_field mojo_test_BasicStruct_desc_fields[] = {
    F(mojo_test_BasicStruct, a, t_int32, 0)};
STRUCT_V0(mojo_test_BasicStruct_desc, mojo_test_BasicStruct, 16);

static const cmojo_wire_field mojo_test_Recursive_desc_fields[] = {
    F(mojo_test_Recursive, recursive, t_nrecursive, 0)};
STRUCT_V0(mojo_test_Recursive_desc, mojo_test_Recursive, 16);

/* ---- ConformanceTestInterface parameter structs ---- */
/* One parameter at offset 0 of a 16-byte struct, C member `param0`. */
#define PARAMS1(sym, ctype_member, t)                                        \
  typedef struct sym##_c {                                                   \
    ctype_member param0;                                                     \
  } sym##_c;                                                                 \
  static const cmojo_wire_field sym##_fields[] = {F(sym##_c, param0, t, 0)}; \
  static const cmojo_wire_version sym##_versions[] = {{0, 16}};              \
  static const cmojo_wire_struct sym = {.name = #sym,                        \
                                        .fields = sym##_fields,              \
                                        .num_fields = 1,                     \
                                        .versions = sym##_versions,          \
                                        .num_versions = 1,                   \
                                        .c_size = sizeof(sym##_c),           \
                                        .c_align = _Alignof(sym##_c)}
/* Two parameters at offsets 0 and 8 of a 24-byte struct. */
#define PARAMS2(sym, ctype0, t0, ctype1, t1)                                  \
  typedef struct sym##_c {                                                    \
    ctype0 param0;                                                            \
    ctype1 param1;                                                            \
  } sym##_c;                                                                  \
  static const cmojo_wire_field sym##_fields[] = {F(sym##_c, param0, t0, 0),  \
                                                  F(sym##_c, param1, t1, 8)}; \
  static const cmojo_wire_version sym##_versions[] = {{0, 24}};               \
  static const cmojo_wire_struct sym = {.name = #sym,                         \
                                        .fields = sym##_fields,               \
                                        .num_fields = 2,                      \
                                        .versions = sym##_versions,           \
                                        .num_versions = 1,                    \
                                        .c_size = sizeof(sym##_c),            \
                                        .c_align = _Alignof(sym##_c)}

PARAMS1(c_m0, float, t_float);
PARAMS1(c_m1, mojo_test_StructA *, t_struct_a);
PARAMS2(c_m2, mojo_test_StructB *, t_struct_b, mojo_test_StructA *, t_struct_a);
PARAMS1(c_m3, cmojo_array, a_bool);
PARAMS2(c_m4, mojo_test_StructC *, t_struct_c, cmojo_array, a_uint8);
PARAMS2(c_m5, mojo_test_StructE *, t_struct_e, MojoHandle, t_handle_dpp);
PARAMS1(c_m6, cmojo_array, a_a_uint8);
PARAMS2(c_m7, mojo_test_StructF *, t_struct_f, cmojo_array, a_na_uint8_3_2);
PARAMS1(c_m8, cmojo_array, a_na_string);
PARAMS1(c_m9, cmojo_array, na_a_nhandle);
PARAMS1(c_m10, cmojo_map, m_string_uint8);
PARAMS1(c_m11, mojo_test_StructG *, t_struct_g);
PARAMS1(c_m12, float, t_float);
PARAMS1(c_m12_resp, float, t_float);
PARAMS2(c_m15, cmojo_array, na_enum_a, cmojo_array, na_enum_b);
PARAMS1(c_m16, cmojo_map, nm_enum_a_enum_a);
PARAMS1(c_m17, cmojo_array, a_remote_a);
PARAMS1(c_m19, mojo_test_Recursive *, t_recursive);
PARAMS1(c_m20, cmojo_map, m_struct_b_uint8);
PARAMS1(c_m21, int32_t, t_ext_empty_enum);
PARAMS1(c_m22, int32_t, t_empty_enum);
PARAMS2(c_m23, cmojo_array, a_nbool, cmojo_array, a_nuint32);
PARAMS2(c_m24, cmojo_map, m_uint32_nbool, cmojo_map, m_uint32_nuint64);

/* Method13: p0@0 (8 bytes, align 4), p1@8, p2@12; 32 bytes. */
static const cmojo_wire_field c_m13_fields[] = {
    F(mojo_test_Method13_Params, param0, t_nremote_a, 0),
    F(mojo_test_Method13_Params, param1, t_uint32, 8),
    F(mojo_test_Method13_Params, param2, t_nremote_a, 12)};
static const cmojo_wire_version c_m13_versions[] = {{0, 32}};
static const cmojo_wire_struct c_m13 = {.name = "c_m13",
                                        .fields = c_m13_fields,
                                        .num_fields = 3,
                                        .versions = c_m13_versions,
                                        .num_versions = 1,
                                        .c_size = sizeof(mojo_test_Method13_Params),
                                        .c_align = _Alignof(mojo_test_Method13_Params)};

/* Method14: EnumA@0, EnumB@4; 16 bytes. */
typedef struct c_m14_c {
  int32_t param0, param1;
} c_m14_c;
static const cmojo_wire_field c_m14_fields[] = {F(c_m14_c, param0, t_enum_a, 0),
                                                F(c_m14_c, param1, t_enum_b, 4)};
static const cmojo_wire_version c_m14_versions[] = {{0, 16}};
static const cmojo_wire_struct c_m14 = {.name = "c_m14",
                                        .fields = c_m14_fields,
                                        .num_fields = 2,
                                        .versions = c_m14_versions,
                                        .num_versions = 1,
                                        .c_size = sizeof(c_m14_c),
                                        .c_align = _Alignof(c_m14_c)};

/* Method18: an inlined UnionA? at 0; 24 bytes. */
static const cmojo_wire_field c_m18_fields[] = {
    F(mojo_test_Method18_Params, param0, t_nunion_a, 0)};
static const cmojo_wire_version c_m18_versions[] = {{0, 24}};
static const cmojo_wire_struct c_m18 = {.name = "c_m18",
                                        .fields = c_m18_fields,
                                        .num_fields = 1,
                                        .versions = c_m18_versions,
                                        .num_versions = 1,
                                        .c_size = sizeof(mojo_test_Method18_Params),
                                        .c_align = _Alignof(mojo_test_Method18_Params)};

#define METHOD(n, req) \
  { .name = "Method" #n, .ordinal = n, .request = &(req) }
static const cmojo_wire_method conformance_methods[] = {
    METHOD(0, c_m0),
    METHOD(1, c_m1),
    METHOD(2, c_m2),
    METHOD(3, c_m3),
    METHOD(4, c_m4),
    METHOD(5, c_m5),
    METHOD(6, c_m6),
    METHOD(7, c_m7),
    METHOD(8, c_m8),
    METHOD(9, c_m9),
    METHOD(10, c_m10),
    METHOD(11, c_m11),
    {.name = "Method12", .ordinal = 12, .request = &c_m12, .response = &c_m12_resp},
    METHOD(13, c_m13),
    METHOD(14, c_m14),
    METHOD(15, c_m15),
    METHOD(16, c_m16),
    METHOD(17, c_m17),
    METHOD(18, c_m18),
    METHOD(19, c_m19),
    METHOD(20, c_m20),
    METHOD(21, c_m21),
    METHOD(22, c_m22),
    METHOD(23, c_m23),
    METHOD(24, c_m24),
};
const cmojo_wire_interface mojo_test_ConformanceTestInterface = {
    .name = "mojo.test.ConformanceTestInterface",
    .methods = conformance_methods,
    .num_methods = N(conformance_methods)};

/* ---- BoundsCheckTestInterface ---- */
PARAMS1(b_m0, uint8_t, t_uint8);
PARAMS1(b_m0_resp, uint8_t, t_uint8);
PARAMS1(b_m1, uint8_t, t_uint8);
static const cmojo_wire_method bounds_methods[] = {
    {.name = "Method0", .ordinal = 0, .request = &b_m0, .response = &b_m0_resp},
    METHOD(1, b_m1),
};
const cmojo_wire_interface mojo_test_BoundsCheckTestInterface = {
    .name = "mojo.test.BoundsCheckTestInterface",
    .methods = bounds_methods,
    .num_methods = N(bounds_methods)};

/* ---- IntegrationTestInterface ---- */
PARAMS1(i_m0, mojo_test_BasicStruct *, t_basic);
PARAMS1(i_m0_resp, cmojo_array, a_uint8);
static const cmojo_wire_method integration_methods[] = {
    {.name = "Method0", .ordinal = 0, .request = &i_m0, .response = &i_m0_resp},
};
const cmojo_wire_interface mojo_test_IntegrationTestInterface = {
    .name = "mojo.test.IntegrationTestInterface",
    .methods = integration_methods,
    .num_methods = N(integration_methods)};

/* ---- AssociatedConformanceTestInterface ---- */
PARAMS1(a_m0, cmojo_pending_associated_remote, t_aremote_x);
PARAMS1(a_m1, uint32_t, t_areceiver_x);
PARAMS1(a_m2, cmojo_pending_associated_remote, t_naremote_x);
PARAMS1(a_m3, cmojo_array, a_aremote_x);
static const cmojo_wire_method associated_methods[] = {METHOD(0, a_m0), METHOD(1, a_m1),
                                                       METHOD(2, a_m2), METHOD(3, a_m3)};
const cmojo_wire_interface mojo_test_AssociatedConformanceTestInterface = {
    .name = "mojo.test.AssociatedConformanceTestInterface",
    .methods = associated_methods,
    .num_methods = N(associated_methods)};

/* ---- corpus routing ---- */
/* Longest prefixes first: "resp_conformance_" before "conformance_". */
static const cm_vector_route routes[] = {
    {"associated_conformance_", &mojo_test_AssociatedConformanceTestInterface, CMOJO_WIRE_REQUEST,
     false},
    {"resp_conformance_", &mojo_test_ConformanceTestInterface, CMOJO_WIRE_RESPONSE, false},
    {"resp_boundscheck_", &mojo_test_BoundsCheckTestInterface, CMOJO_WIRE_RESPONSE, false},
    {"conformance_", &mojo_test_ConformanceTestInterface, CMOJO_WIRE_REQUEST, false},
    {"boundscheck_", &mojo_test_BoundsCheckTestInterface, CMOJO_WIRE_REQUEST, false},
    /* The C++ harness feeds these to a bound Receiver (requests) or Remote
     * (responses): the header validator, then the interface's validator. */
    {"integration_intf_rqst", &mojo_test_IntegrationTestInterface, CMOJO_WIRE_REQUEST, false},
    {"integration_intf_resp", &mojo_test_IntegrationTestInterface, CMOJO_WIRE_RESPONSE, false},
    {"integration_msghdr", &mojo_test_IntegrationTestInterface, CMOJO_WIRE_REQUEST, true},
};

const cm_vector_route *cm_vector_route_for(const char *name) {
  for (size_t i = 0; i < N(routes); i++)
    if (!strncmp(name, routes[i].prefix, strlen(routes[i].prefix)))
      return &routes[i];
  return NULL;
}
