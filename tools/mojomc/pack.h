/*
 * Wire layout of structs and method parameter structs (Chromium's pack.py).
 *
 * Fields are taken in ordinal order; each goes into the first gap among the
 * fields already placed where it fits at its alignment, or at the end. A bool
 * right after a bool whose bit is below 7 takes the next bit of the same
 * byte. A nullable value field (int32?, bool?, enum? ...) becomes two packed
 * fields with the same ordinal: a bool "has value" flag (sub-ordinal 0), then
 * the value itself (sub-ordinal 1).
 *
 * The version table has one entry per distinct MinVersion, in increasing
 * order, giving the struct size (8-byte header included, rounded up to 8)
 * a sender of that version writes. Layouts live in the arena. The gap search
 * is quadratic; the parser's list limit keeps it cheap on hostile input.
 */
#ifndef MOJOMC_PACK_H
#define MOJOMC_PACK_H

#include "ast.h"

enum mc_packed_role { MC_PACKED_PLAIN, MC_PACKED_FLAG, MC_PACKED_VALUE };

struct mc_packed_field {
  const struct mc_field *field;
  enum mc_packed_role role;
  enum mc_type_kind kind; /* the packed kind: MC_T_BOOL for a flag, non-null kind for a value */
  uint32_t ordinal;
  uint32_t min_version;
  uint32_t offset; /* from the end of the struct header */
  uint32_t size, align;
  uint8_t bit; /* bools only */
};

struct mc_version_entry {
  uint32_t version;
  uint32_t num_fields;        /* mojom fields present in this version */
  uint32_t num_packed_fields; /* packed fields present in this version */
  uint32_t num_bytes;         /* header included */
};

struct mc_struct_layout {
  const char *name;
  size_t count;
  struct mc_packed_field *fields;     /* ordinal order (then sub-ordinal) */
  struct mc_packed_field **by_offset; /* increasing offset, then bit */
  size_t version_count;
  struct mc_version_entry *versions;
};

/* Size and alignment of a field of type t inside a struct, union data aside. */
void mc_wire_size(const struct mc_type *t, enum mc_type_kind kind, uint32_t *size, uint32_t *align);

/* Lays out every struct and every method's parameter and response structs of
 * a checked module, and computes interface versions. */
void mc_pack(struct mc_arena *arena, struct mc_module *mod);

#endif
