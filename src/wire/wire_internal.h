/* Internal helpers shared by the wire runtime's validator, encoder and
 * decoder (src/wire/).
 *
 * The runtime addresses message bytes by 64-bit offsets from the message
 * start, never by pointer arithmetic on peer-controlled values, and loads
 * and stores values with fixed-size memcpy, so the buffer's alignment does
 * not matter (the host must be little-endian, like the wire). Loads are
 * bounds-checked against the buffer size and read 0 outside it: after
 * validation every load is in bounds, and before validation nothing here is
 * trusted.
 *
 * Invariants the files rely on: descriptor tables are well formed (field
 * offsets inside the struct size of their min_version, enum values sorted,
 * union tags distinct); wire sizes below match Mojo's pack.py.
 */
#ifndef CMOJO_SRC_WIRE_WIRE_INTERNAL_H_
#define CMOJO_SRC_WIRE_WIRE_INTERNAL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cm_limits.h"
#include "cmojo/wire.h"

/* The public constant and the project's limit are one number. */
_Static_assert(CMOJO_WIRE_MAX_DEPTH == CM_MAX_NESTING_DEPTH,
               "cm_limits.h and cmojo/wire.h disagree on the nesting depth");

/* C values are copied with the host's byte order; the wire is little-endian
 * and so, for now, must the host be. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the cmojo wire runtime assumes a little-endian host"
#endif

/* Size of the struct header and of an array header. */
#define CM_WIRE_STRUCT_HEADER_SIZE 8u
#define CM_WIRE_ARRAY_HEADER_SIZE 8u
/* An inlined union: {uint32 size; uint32 tag; 8-byte data}. */
#define CM_WIRE_UNION_SIZE 16u
/* A map is a struct of exactly this size holding two array pointers. */
#define CM_WIRE_MAP_SIZE 24u


/* memcpy of a value of 1, 2, 4 or 8 bytes, with the size a constant in
 * each branch so that it compiles to one move rather than a library call
 * (the byte loops this replaced were the runtime's hottest code). */
static inline void cm_wire_copy_value(void *dst, const void *src, unsigned n) {
  switch (n) {
    case 1:
      memcpy(dst, src, 1);
      break;
    case 2:
      memcpy(dst, src, 2);
      break;
    case 4:
      memcpy(dst, src, 4);
      break;
    case 8:
      memcpy(dst, src, 8);
      break;
    default:
      memcpy(dst, src, n);
      break;
  }
}

/* The n-byte little-endian value at `off`, 0 if it is not inside `size`. */
static inline uint64_t cm_wire_load(const uint8_t *bytes, uint64_t size, uint64_t off, unsigned n) {
  if (off > size || size - off < n)
    return 0;
  uint64_t v = 0; /* the low n bytes receive the value: little-endian host */
  cm_wire_copy_value(&v, bytes + off, n);
  return v;
}

static inline uint32_t cm_wire_load32(const uint8_t *bytes, uint64_t size, uint64_t off) {
  return (uint32_t)cm_wire_load(bytes, size, off, 4);
}

/* Stores the low n bytes of v, little-endian, at `off`. */
static inline void cm_wire_store(uint8_t *bytes, uint64_t off, uint64_t v, unsigned n) {
  cm_wire_copy_value(bytes + off, &v, n);
}

static inline uint64_t cm_wire_align8(uint64_t v) {
  return (v + 7) & ~7ull;
}

/* True for bool, the numbers and enums: the kinds whose `T?` is a separate
 * has-value bit (in structs) or bitfield (in arrays). */
static inline bool cm_wire_is_value_kind(uint8_t kind) {
  return kind >= CMOJO_WIRE_KIND_BOOL && kind <= CMOJO_WIRE_KIND_ENUM;
}

/* True for a non-nullable integer or floating-point type: its C array is
 * its wire array (same size, little-endian, no per-element rule), so
 * arrays of it are copied as one block. */
static inline bool cm_wire_is_plain_number(const cmojo_wire_type *t) {
  return !t->nullable && t->kind >= CMOJO_WIRE_KIND_INT8 && t->kind <= CMOJO_WIRE_KIND_DOUBLE;
}

/* Bytes one value of `kind` takes on the wire (0 for bool: one bit).
 * Inline: every field and element the runtime touches asks. */
static inline unsigned cm_wire_wire_size(uint8_t kind) {
  switch (kind) {
    case CMOJO_WIRE_KIND_BOOL:
      return 0;
    case CMOJO_WIRE_KIND_INT8:
    case CMOJO_WIRE_KIND_UINT8:
      return 1;
    case CMOJO_WIRE_KIND_INT16:
    case CMOJO_WIRE_KIND_UINT16:
      return 2;
    case CMOJO_WIRE_KIND_INT32:
    case CMOJO_WIRE_KIND_UINT32:
    case CMOJO_WIRE_KIND_FLOAT:
    case CMOJO_WIRE_KIND_ENUM:
    case CMOJO_WIRE_KIND_HANDLE:
    case CMOJO_WIRE_KIND_PENDING_RECEIVER:
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER:
      return 4;
    case CMOJO_WIRE_KIND_UNION:
      return CM_WIRE_UNION_SIZE;
    default: /* 64-bit numbers, pointers, remotes */
      return 8;
  }
}

/* The decoder's blocks (structs, unions, array data) start at multiples of
 * this inside its single allocation. */
#define CM_WIRE_ARENA_ALIGN 16u

/* cmojo_wire_validate_payload, which on success also sets *out_c_bytes to
 * the memory the decoder will take for the value: every block it allocates,
 * each rounded up to CM_WIRE_ARENA_ALIGN. The validator visits exactly the
 * objects the decoder decodes, so the decoder needs no measuring pass of
 * its own. */
cmojo_wire_error cm_wire_validate_payload_sized(const void *bytes, size_t num_bytes,
                                                const cmojo_wire_header *header,
                                                uint32_t num_handles,
                                                const cmojo_wire_struct *params,
                                                uint64_t *out_c_bytes);

/* Array storage: the header plus elements of `elem`, without padding, for
 * `n` elements; false if `n` exceeds what Mojo allows for the element type
 * (the UNEXPECTED_ARRAY_HEADER "too many elements" rule). */
bool cm_wire_array_storage(const cmojo_wire_type *elem, uint32_t n, uint64_t *out_bytes);

/* Offset of the first value after the has-value bitfield of a nullable
 * value-kind array of `n` elements (relative to the element storage). */
uint64_t cm_wire_nullable_values_offset(const cmojo_wire_type *elem, uint32_t n);

/* The element type of a string: uint8, not nullable. */
extern const cmojo_wire_type cm_wire_string_element;

/* True if `value` is a declared value of the (closed or open) enum. */
bool cm_wire_enum_is_known(const cmojo_wire_enum *e, int32_t value);

/* The union member with wire tag `tag`, or NULL. */
const cmojo_wire_union_field *cm_wire_union_find(const cmojo_wire_union *u, uint32_t tag);

/* Offset of `value` inside the cmojo_opt_<T> of a value kind. */
size_t cm_wire_opt_value_offset(uint8_t kind);

#endif /* CMOJO_SRC_WIRE_WIRE_INTERNAL_H_ */
