/* Facts about kinds shared by the validator, the encoder and the decoder:
 * wire and C sizes, array storage rules, enum and union lookups, and Mojo's
 * names for validation errors. */
#include <stddef.h>

#include "wire_internal.h"

const cmojo_wire_type cm_wire_string_element = {.kind = CMOJO_WIRE_KIND_UINT8};

/* Mojo bounds the element count so that the storage size fits in 32 bits;
 * for nullable numbers the bound also covers the has-value bitfield and the
 * padding after it. Computing the same bound keeps first errors identical. */
static uint64_t max_elements(const cmojo_wire_type *elem) {
  uint64_t s = cm_wire_wire_size(elem->kind);
  if (elem->kind == CMOJO_WIRE_KIND_BOOL)
    return UINT32_MAX - 7u;
  if (elem->nullable && cm_wire_is_value_kind(elem->kind))
    return (8u * (UINT32_MAX - CM_WIRE_ARRAY_HEADER_SIZE - s) + 1u) / (8u * s + 1u);
  return (UINT32_MAX - CM_WIRE_ARRAY_HEADER_SIZE) / s;
}

uint64_t cm_wire_nullable_values_offset(const cmojo_wire_type *elem, uint32_t n) {
  uint64_t bits = ((uint64_t)n + 7) / 8;
  uint64_t s = cm_wire_wire_size(elem->kind);
  if (s == 0)
    return bits; /* bool?: flag bits, then value bits */
  return (bits + s - 1) / s * s;
}

bool cm_wire_array_storage(const cmojo_wire_type *elem, uint32_t n, uint64_t *out_bytes) {
  if (n > max_elements(elem))
    return false;
  uint64_t bits = ((uint64_t)n + 7) / 8;
  uint64_t body;
  if (elem->kind == CMOJO_WIRE_KIND_BOOL)
    body = elem->nullable ? 2 * bits : bits;
  else if (elem->nullable && cm_wire_is_value_kind(elem->kind))
    body = cm_wire_nullable_values_offset(elem, n) + (uint64_t)n * cm_wire_wire_size(elem->kind);
  else
    body = (uint64_t)n * cm_wire_wire_size(elem->kind);
  *out_bytes = CM_WIRE_ARRAY_HEADER_SIZE + body;
  return true;
}

bool cm_wire_enum_is_known(const cmojo_wire_enum *e, int32_t value) {
  uint32_t lo = 0, hi = e->num_values;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (e->values[mid] == value)
      return true;
    if (e->values[mid] < value)
      lo = mid + 1;
    else
      hi = mid;
  }
  return false;
}

const cmojo_wire_union_field *cm_wire_union_find(const cmojo_wire_union *u, uint32_t tag) {
  for (uint32_t i = 0; i < u->num_fields; i++)
    if (u->fields[i].tag == tag)
      return &u->fields[i];
  return NULL;
}

size_t cm_wire_opt_value_offset(uint8_t kind) {
  switch (kind) {
    case CMOJO_WIRE_KIND_BOOL:
      return offsetof(cmojo_opt_bool, value);
    case CMOJO_WIRE_KIND_INT8:
    case CMOJO_WIRE_KIND_UINT8:
      return offsetof(cmojo_opt_int8, value);
    case CMOJO_WIRE_KIND_INT16:
    case CMOJO_WIRE_KIND_UINT16:
      return offsetof(cmojo_opt_int16, value);
    case CMOJO_WIRE_KIND_INT64:
    case CMOJO_WIRE_KIND_UINT64:
      return offsetof(cmojo_opt_int64, value);
    case CMOJO_WIRE_KIND_DOUBLE:
      return offsetof(cmojo_opt_double, value);
    case CMOJO_WIRE_KIND_FLOAT:
      return offsetof(cmojo_opt_float, value);
    default: /* 32-bit integers and enums */
      return offsetof(cmojo_opt_int32, value);
  }
}

static size_t opt_size(uint8_t kind) {
  switch (kind) {
    case CMOJO_WIRE_KIND_BOOL:
      return sizeof(cmojo_opt_bool);
    case CMOJO_WIRE_KIND_INT8:
    case CMOJO_WIRE_KIND_UINT8:
      return sizeof(cmojo_opt_int8);
    case CMOJO_WIRE_KIND_INT16:
    case CMOJO_WIRE_KIND_UINT16:
      return sizeof(cmojo_opt_int16);
    case CMOJO_WIRE_KIND_INT64:
    case CMOJO_WIRE_KIND_UINT64:
      return sizeof(cmojo_opt_int64);
    case CMOJO_WIRE_KIND_DOUBLE:
      return sizeof(cmojo_opt_double);
    case CMOJO_WIRE_KIND_FLOAT:
      return sizeof(cmojo_opt_float);
    default:
      return sizeof(cmojo_opt_int32);
  }
}

size_t cmojo_wire_c_size(const cmojo_wire_type *type) {
  if (type->nullable && cm_wire_is_value_kind(type->kind))
    return opt_size(type->kind);
  switch (type->kind) {
    case CMOJO_WIRE_KIND_BOOL:
      return sizeof(bool);
    case CMOJO_WIRE_KIND_STRING:
    case CMOJO_WIRE_KIND_ARRAY:
      return sizeof(cmojo_array);
    case CMOJO_WIRE_KIND_MAP:
      return sizeof(cmojo_map);
    case CMOJO_WIRE_KIND_STRUCT:
    case CMOJO_WIRE_KIND_UNION:
      return sizeof(void *);
    case CMOJO_WIRE_KIND_HANDLE:
    case CMOJO_WIRE_KIND_PENDING_RECEIVER:
      return sizeof(MojoHandle);
    case CMOJO_WIRE_KIND_PENDING_REMOTE:
      return sizeof(cmojo_pending_remote);
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_REMOTE:
      return sizeof(cmojo_pending_associated_remote);
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER:
      return sizeof(uint32_t);
    default:
      return cm_wire_wire_size(type->kind);
  }
}

const cmojo_wire_method *cmojo_wire_find_method(const cmojo_wire_interface *iface, uint32_t name) {
  if (!iface)
    return NULL;
  for (uint32_t i = 0; i < iface->num_methods; i++)
    if (iface->methods[i].ordinal == name)
      return &iface->methods[i];
  return NULL;
}

const char *cmojo_wire_error_string(cmojo_wire_error error) {
  static const char *const names[] = {
      [CMOJO_WIRE_ERROR_NONE] = "VALIDATION_ERROR_NONE",
      [CMOJO_WIRE_ERROR_MISALIGNED_OBJECT] = "VALIDATION_ERROR_MISALIGNED_OBJECT",
      [CMOJO_WIRE_ERROR_ILLEGAL_MEMORY_RANGE] = "VALIDATION_ERROR_ILLEGAL_MEMORY_RANGE",
      [CMOJO_WIRE_ERROR_UNEXPECTED_STRUCT_HEADER] = "VALIDATION_ERROR_UNEXPECTED_STRUCT_HEADER",
      [CMOJO_WIRE_ERROR_UNEXPECTED_ARRAY_HEADER] = "VALIDATION_ERROR_UNEXPECTED_ARRAY_HEADER",
      [CMOJO_WIRE_ERROR_ILLEGAL_HANDLE] = "VALIDATION_ERROR_ILLEGAL_HANDLE",
      [CMOJO_WIRE_ERROR_UNEXPECTED_INVALID_HANDLE] = "VALIDATION_ERROR_UNEXPECTED_INVALID_HANDLE",
      [CMOJO_WIRE_ERROR_ILLEGAL_POINTER] = "VALIDATION_ERROR_ILLEGAL_POINTER",
      [CMOJO_WIRE_ERROR_UNEXPECTED_NULL_POINTER] = "VALIDATION_ERROR_UNEXPECTED_NULL_POINTER",
      [CMOJO_WIRE_ERROR_ILLEGAL_INTERFACE_ID] = "VALIDATION_ERROR_ILLEGAL_INTERFACE_ID",
      [CMOJO_WIRE_ERROR_UNEXPECTED_INVALID_INTERFACE_ID] =
          "VALIDATION_ERROR_UNEXPECTED_INVALID_INTERFACE_ID",
      [CMOJO_WIRE_ERROR_MESSAGE_HEADER_INVALID_FLAGS] =
          "VALIDATION_ERROR_MESSAGE_HEADER_INVALID_FLAGS",
      [CMOJO_WIRE_ERROR_MESSAGE_HEADER_MISSING_REQUEST_ID] =
          "VALIDATION_ERROR_MESSAGE_HEADER_MISSING_REQUEST_ID",
      [CMOJO_WIRE_ERROR_MESSAGE_HEADER_UNKNOWN_METHOD] =
          "VALIDATION_ERROR_MESSAGE_HEADER_UNKNOWN_METHOD",
      [CMOJO_WIRE_ERROR_DIFFERENT_SIZED_ARRAYS_IN_MAP] =
          "VALIDATION_ERROR_DIFFERENT_SIZED_ARRAYS_IN_MAP",
      [CMOJO_WIRE_ERROR_UNKNOWN_UNION_TAG] = "VALIDATION_ERROR_UNKNOWN_UNION_TAG",
      [CMOJO_WIRE_ERROR_UNKNOWN_ENUM_VALUE] = "VALIDATION_ERROR_UNKNOWN_ENUM_VALUE",
      [CMOJO_WIRE_ERROR_DESERIALIZATION_FAILED] = "VALIDATION_ERROR_DESERIALIZATION_FAILED",
      [CMOJO_WIRE_ERROR_MAX_RECURSION_DEPTH] = "VALIDATION_ERROR_MAX_RECURSION_DEPTH",
  };
  if ((unsigned)error >= sizeof(names) / sizeof(names[0]))
    return "VALIDATION_ERROR_UNKNOWN";
  return names[error];
}
