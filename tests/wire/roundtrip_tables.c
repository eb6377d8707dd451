/* Hand-written tables for test.wire (see roundtrip_tables.h), packed by
 * hand following pack.py; offsets below are pack.py's plus the 8-byte
 * struct header. */
#include "roundtrip_tables.h"

#include <stddef.h>

#define N(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))
#define T(k) \
  { .kind = CMOJO_WIRE_KIND_##k }
#define NT(k) \
  { .kind = CMOJO_WIRE_KIND_##k, .nullable = 1 }
#define F(member, t, off)                                        \
  {                                                              \
    .name = #member, .type = &(t), .offset = 8 + (off),          \
    .c_offset = (uint32_t)offsetof(test_wire_Everything, member) \
  }
#define FB(member, off, b)                                           \
  {                                                                  \
    .name = #member, .type = &t_bool, .offset = 8 + (off), .bit = b, \
    .c_offset = (uint32_t)offsetof(test_wire_Everything, member)     \
  }
#define FN(member, t, off, flag_off, flag_bit)                                              \
  {                                                                                         \
    .name = #member, .type = &(t), .offset = 8 + (off), .has_value_offset = 8 + (flag_off), \
    .has_value_bit = flag_bit, .c_offset = (uint32_t)offsetof(test_wire_Everything, member) \
  }

static const cmojo_wire_type t_bool = T(BOOL);
static const cmojo_wire_type t_int8 = T(INT8);
static const cmojo_wire_type t_uint8 = T(UINT8);
static const cmojo_wire_type t_int16 = T(INT16);
static const cmojo_wire_type t_uint16 = T(UINT16);
static const cmojo_wire_type t_int32 = T(INT32);
static const cmojo_wire_type t_uint32 = T(UINT32);
static const cmojo_wire_type t_int64 = T(INT64);
static const cmojo_wire_type t_uint64 = T(UINT64);
static const cmojo_wire_type t_float = T(FLOAT);
static const cmojo_wire_type t_double = T(DOUBLE);
static const cmojo_wire_type t_nbool = NT(BOOL);
static const cmojo_wire_type t_nint32 = NT(INT32);
static const cmojo_wire_type t_nint64 = NT(INT64);
static const cmojo_wire_type t_ndouble = NT(DOUBLE);
static const cmojo_wire_type t_string = T(STRING);
static const cmojo_wire_type t_nstring = NT(STRING);
static const cmojo_wire_type t_handle = T(HANDLE);
static const cmojo_wire_type t_nhandle = NT(HANDLE);

static const cmojo_wire_interface iface_i = {.name = "test.wire.I"};
static const cmojo_wire_type t_remote = {.kind = CMOJO_WIRE_KIND_PENDING_REMOTE,
                                         .interface = &iface_i};
static const cmojo_wire_type t_receiver = {.kind = CMOJO_WIRE_KIND_PENDING_RECEIVER,
                                           .interface = &iface_i};
static const cmojo_wire_type t_aremote = {.kind = CMOJO_WIRE_KIND_PENDING_ASSOCIATED_REMOTE,
                                          .interface = &iface_i};
static const cmojo_wire_type t_areceiver = {.kind = CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER,
                                            .interface = &iface_i};

static const int32_t basic_values[] = {-3, 0, 1, 10};
static const cmojo_wire_enum basic_enum = {
    .name = "test.wire.BasicEnum", .values = basic_values, .num_values = 4};
static const int32_t open_values[] = {0, 1, 2};
static const cmojo_wire_enum open_enum = {.name = "test.wire.OpenEnum",
                                          .values = open_values,
                                          .num_values = 3,
                                          .extensible = 1,
                                          .has_default = 1,
                                          .default_value = 1};
static const cmojo_wire_type t_basic = {.kind = CMOJO_WIRE_KIND_ENUM, .enum_type = &basic_enum};
static const cmojo_wire_type t_nbasic = {
    .kind = CMOJO_WIRE_KIND_ENUM, .nullable = 1, .enum_type = &basic_enum};
static const cmojo_wire_type t_open = {.kind = CMOJO_WIRE_KIND_ENUM, .enum_type = &open_enum};

/* ---- Inner { int32 x; string name; } ---- */
static const cmojo_wire_field inner_fields[] = {
    {.name = "x",
     .type = &t_int32,
     .offset = 8,
     .c_offset = (uint32_t)offsetof(test_wire_Inner, x)},
    {.name = "name",
     .type = &t_string,
     .offset = 16,
     .c_offset = (uint32_t)offsetof(test_wire_Inner, name)},
};
static const cmojo_wire_version inner_versions[] = {{0, 24}};
const cmojo_wire_struct test_wire_Inner_desc = {.name = "test.wire.Inner",
                                                .fields = inner_fields,
                                                .num_fields = N(inner_fields),
                                                .versions = inner_versions,
                                                .num_versions = 1,
                                                .c_size = sizeof(test_wire_Inner),
                                                .c_align = _Alignof(test_wire_Inner)};
static const cmojo_wire_type t_inner = {.kind = CMOJO_WIRE_KIND_STRUCT,
                                        .struct_type = &test_wire_Inner_desc};
static const cmojo_wire_type t_ninner = {
    .kind = CMOJO_WIRE_KIND_STRUCT, .nullable = 1, .struct_type = &test_wire_Inner_desc};

/* ---- unions ---- */
static const cmojo_wire_union_field u2_fields[] = {
    {.name = "n", .tag = 0, .type = &t_uint32},
    {.name = "str", .tag = 1, .type = &t_string},
};
static const cmojo_wire_union u2 = {.name = "test.wire.U2",
                                    .fields = u2_fields,
                                    .num_fields = N(u2_fields),
                                    .c_size = sizeof(test_wire_U2),
                                    .c_align = _Alignof(test_wire_U2),
                                    .c_value_offset = (uint32_t)offsetof(test_wire_U2, value)};
static const cmojo_wire_type t_u2 = {.kind = CMOJO_WIRE_KIND_UNION, .union_type = &u2};

static const cmojo_wire_union_field u_fields[] = {
    {.name = "big", .tag = U_BIG, .type = &t_int64},
    {.name = "s", .tag = U_S, .type = &t_string},
    {.name = "inner", .tag = U_INNER, .type = &t_inner},
    {.name = "nested", .tag = U_NESTED, .type = &t_u2},
    {.name = "h", .tag = U_H, .type = &t_handle},
    {.name = "e", .tag = U_E, .type = &t_basic},
    {.name = "flag", .tag = U_FLAG, .type = &t_bool},
};
static const cmojo_wire_union u = {.name = "test.wire.U",
                                   .fields = u_fields,
                                   .num_fields = N(u_fields),
                                   .c_size = sizeof(test_wire_U),
                                   .c_align = _Alignof(test_wire_U),
                                   .c_value_offset = (uint32_t)offsetof(test_wire_U, value)};
static const cmojo_wire_type t_u = {.kind = CMOJO_WIRE_KIND_UNION, .union_type = &u};
static const cmojo_wire_type t_nu = {
    .kind = CMOJO_WIRE_KIND_UNION, .nullable = 1, .union_type = &u};

static const cmojo_wire_union_field xu_fields[] = {
    {.name = "a", .tag = 0, .type = &t_int32},
    {.name = "b", .tag = 1, .type = &t_string},
};
static const cmojo_wire_union xu = {.name = "test.wire.XU",
                                    .fields = xu_fields,
                                    .num_fields = N(xu_fields),
                                    .extensible = 1,
                                    .default_tag = 0,
                                    .c_size = sizeof(test_wire_XU),
                                    .c_align = _Alignof(test_wire_XU),
                                    .c_value_offset = (uint32_t)offsetof(test_wire_XU, value)};
static const cmojo_wire_type t_xu = {.kind = CMOJO_WIRE_KIND_UNION, .union_type = &xu};

/* ---- arrays and maps ---- */
#define ARRAY(name, elem, n)            \
  static const cmojo_wire_type name = { \
      .kind = CMOJO_WIRE_KIND_ARRAY, .element = &(elem), .fixed_count = n}
ARRAY(a_int16, t_int16, 0);
ARRAY(a_bool, t_bool, 0);
ARRAY(a_nbool, t_nbool, 0);
ARRAY(a_nint64, t_nint64, 0);
ARRAY(a_string, t_string, 0);
ARRAY(a_uint8, t_uint8, 0);
ARRAY(a_a_uint8, a_uint8, 0);
ARRAY(a_uint8_3, t_uint8, 3);
ARRAY(a_handle, t_handle, 0);
ARRAY(a_u, t_u, 0);
ARRAY(a_ninner, t_ninner, 0);
ARRAY(a_nbasic, t_nbasic, 0);
static const cmojo_wire_type m_string_int32 = {
    .kind = CMOJO_WIRE_KIND_MAP, .key = &t_string, .element = &t_int32};
static const cmojo_wire_type m_int32_ninner = {
    .kind = CMOJO_WIRE_KIND_MAP, .key = &t_int32, .element = &t_ninner};

/* ---- Everything ---- */
static const cmojo_wire_field everything_fields[] = {
    FB(b0, 0, 0),
    FB(b1, 0, 1),
    F(i8, t_int8, 1),
    F(u8, t_uint8, 2),
    F(i16, t_int16, 4),
    F(u16, t_uint16, 6),
    F(i32, t_int32, 8),
    F(u32, t_uint32, 12),
    F(i64, t_int64, 16),
    F(u64, t_uint64, 24),
    F(f, t_float, 32),
    F(e, t_basic, 36),
    F(d, t_double, 40),
    F(xe, t_open, 48),
    {.name = "nb",
     .type = &t_nbool,
     .offset = 8,
     .bit = 3,
     .has_value_offset = 8,
     .has_value_bit = 2,
     .c_offset = (uint32_t)offsetof(test_wire_Everything, nb)},
    FN(ni32, t_nint32, 52, 0, 4),
    FN(nd, t_ndouble, 56, 0, 5),
    F(s, t_string, 64),
    F(ns, t_nstring, 72),
    F(a16, a_int16, 80),
    F(ab, a_bool, 88),
    F(anb, a_nbool, 96),
    F(ani64, a_nint64, 104),
    F(astr, a_string, 112),
    F(aau8, a_a_uint8, 120),
    F(fixed, a_uint8_3, 128),
    F(msi, m_string_int32, 136),
    F(mis, m_int32_ninner, 144),
    F(inner, t_inner, 152),
    F(ninner, t_ninner, 160),
    F(u, t_u, 168),
    F(nu, t_nu, 184),
    F(xu, t_xu, 200),
    F(h, t_handle, 216),
    F(nh, t_nhandle, 220),
    F(pr, t_remote, 224),
    F(prc, t_receiver, 232),
    F(ar, t_aremote, 236),
    F(arc, t_areceiver, 244),
    F(ah, a_handle, 248),
    F(au, a_u, 256),
    F(ains, a_ninner, 264),
    FN(ne, t_nbasic, 272, 0, 6),
    F(ane, a_nbasic, 280),
};
static const cmojo_wire_version everything_versions[] = {{0, 296}};
const cmojo_wire_struct test_wire_Everything_desc = {.name = "test.wire.Everything",
                                                     .fields = everything_fields,
                                                     .num_fields = N(everything_fields),
                                                     .versions = everything_versions,
                                                     .num_versions = 1,
                                                     .c_size = sizeof(test_wire_Everything),
                                                     .c_align = _Alignof(test_wire_Everything)};

/* ---- interface RoundTrip ---- */
typedef struct inner_params {
  test_wire_Inner *inner;
} inner_params;
static const cmojo_wire_field inner_params_fields[] = {
    {.name = "inner",
     .type = &t_inner,
     .offset = 8,
     .c_offset = (uint32_t)offsetof(inner_params, inner)},
};
static const cmojo_wire_version inner_params_versions[] = {{0, 16}};
static const cmojo_wire_struct inner_params_desc = {
    .name = "test.wire.RoundTrip_Method1_ResponseParams",
    .fields = inner_params_fields,
    .num_fields = 1,
    .versions = inner_params_versions,
    .num_versions = 1,
    .c_size = sizeof(inner_params),
    .c_align = _Alignof(inner_params)};

static const cmojo_wire_method roundtrip_methods[] = {
    {.name = "Method0", .ordinal = 0, .request = &test_wire_Everything_desc},
    {.name = "Method1",
     .ordinal = 1,
     .request = &test_wire_Everything_desc,
     .response = &inner_params_desc},
};
const cmojo_wire_interface test_wire_RoundTrip = {.name = "test.wire.RoundTrip",
                                                  .methods = roundtrip_methods,
                                                  .num_methods = N(roundtrip_methods)};
