/* Internal helpers shared by the wire runtime's validator, encoder and
 * decoder (src/wire/).
 *
 * The runtime addresses message bytes by 64-bit offsets from the message
 * start, never by pointer arithmetic on peer-controlled values, and loads
 * and stores little-endian values byte by byte so neither the host's byte
 * order nor the buffer's alignment matters. Loads are bounds-checked against
 * the buffer size and read 0 outside it: after validation every load is in
 * bounds, and before validation nothing here is trusted.
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

#include "cmojo/wire.h"

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

/* Our own bound on recursive calls (on top of Mojo's struct depth), so that
 * types recursive through unions cannot exhaust the stack. Real types nest
 * far less between two structs. */
#define CM_WIRE_MAX_NESTING 1000

static inline uint64_t cm_wire_load(const uint8_t *bytes, uint64_t size, uint64_t off, unsigned n) {
  if (off > size || size - off < n)
    return 0;
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++)
    v |= (uint64_t)bytes[off + i] << (8 * i);
  return v;
}

static inline uint32_t cm_wire_load32(const uint8_t *bytes, uint64_t size, uint64_t off) {
  return (uint32_t)cm_wire_load(bytes, size, off, 4);
}

static inline void cm_wire_store(uint8_t *bytes, uint64_t off, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    bytes[off + i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t cm_wire_align8(uint64_t v) {
  return (v + 7) & ~7ull;
}

/* True for bool, the numbers and enums: the kinds whose `T?` is a separate
 * has-value bit (in structs) or bitfield (in arrays). */
static inline bool cm_wire_is_value_kind(uint8_t kind) {
  return kind >= CMOJO_WIRE_KIND_BOOL && kind <= CMOJO_WIRE_KIND_ENUM;
}

/* Bytes one value of `kind` takes on the wire (0 for bool: one bit). */
unsigned cm_wire_wire_size(uint8_t kind);

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
