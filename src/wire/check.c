/* Consistency checks of descriptor tables, for mojomc's tests and for
 * debugging hand-written tables. The runtime itself trusts its tables; these
 * functions say whether that trust is deserved: every field inside the size
 * of its version and aligned, no two fields sharing bytes, version rows
 * ascending, C members inside the C struct, the sub-tables each kind needs
 * present, enum values sorted, union tags distinct. */
#include "wire_internal.h"

static bool is_pointer_kind(uint8_t kind) {
  return kind == CMOJO_WIRE_KIND_STRING || kind == CMOJO_WIRE_KIND_ARRAY ||
         kind == CMOJO_WIRE_KIND_MAP || kind == CMOJO_WIRE_KIND_STRUCT;
}

static bool is_endpoint_kind(uint8_t kind) {
  return kind >= CMOJO_WIRE_KIND_HANDLE && kind <= CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER;
}

/* One level of a type: the sub-tables its kind needs. */
static bool type_ok(const cmojo_wire_type *t) {
  if (!t || t->kind < CMOJO_WIRE_KIND_BOOL || t->kind > CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER)
    return false;
  if (t->fixed_count && t->kind != CMOJO_WIRE_KIND_ARRAY)
    return false;
  switch (t->kind) {
    case CMOJO_WIRE_KIND_ENUM:
      return t->enum_type != NULL;
    case CMOJO_WIRE_KIND_ARRAY:
      return t->element != NULL;
    case CMOJO_WIRE_KIND_MAP:
      /* Keys: no nulls, no handles, no containers of their own. */
      return t->element && t->key && !t->key->nullable && !is_endpoint_kind(t->key->kind) &&
             t->key->kind != CMOJO_WIRE_KIND_ARRAY && t->key->kind != CMOJO_WIRE_KIND_MAP;
    case CMOJO_WIRE_KIND_STRUCT:
      return t->struct_type != NULL;
    case CMOJO_WIRE_KIND_UNION:
      return t->union_type != NULL;
    default:
      return true;
  }
}

static unsigned wire_align(uint8_t kind) {
  if (kind == CMOJO_WIRE_KIND_PENDING_REMOTE || kind == CMOJO_WIRE_KIND_PENDING_ASSOCIATED_REMOTE)
    return 4;
  unsigned s = cm_wire_wire_size(kind);
  return s > 8 ? 8 : (s ? s : 1);
}

/* A byte range a field occupies; bools also name their bit. */
typedef struct slot {
  uint32_t off, size;
  int bit; /* -1: whole bytes */
} slot;

static bool slots_overlap(slot a, slot b) {
  if (a.off + a.size <= b.off || b.off + b.size <= a.off)
    return false;
  return !(a.bit >= 0 && b.bit >= 0 && a.bit != b.bit);
}

static uint32_t version_size(const cmojo_wire_struct *st, uint32_t version, bool *found) {
  for (uint32_t i = 0; i < st->num_versions; i++)
    if (st->versions[i].version == version) {
      *found = true;
      return st->versions[i].num_bytes;
    }
  *found = false;
  return 0;
}

static bool versions_ok(const cmojo_wire_struct *st) {
  if (!st->versions || st->num_versions == 0 || st->versions[0].version != 0)
    return false;
  for (uint32_t i = 0; i < st->num_versions; i++) {
    const cmojo_wire_version *v = &st->versions[i];
    if (v->num_bytes < CM_WIRE_STRUCT_HEADER_SIZE || v->num_bytes % 8)
      return false;
    if (i > 0 && (v->version <= v[-1].version || v->num_bytes < v[-1].num_bytes))
      return false;
  }
  return true;
}

/* The field's slots (value, and has-value bit for T?), checked against the
 * size of its version and the C struct. */
static bool field_ok(const cmojo_wire_struct *st, const cmojo_wire_field *f, slot out[2],
                     int *num_slots) {
  const cmojo_wire_type *t = f->type;
  bool found;
  uint32_t limit = version_size(st, f->min_version, &found);
  if (!type_ok(t) || !found || f->bit > 7 || f->has_value_bit > 7)
    return false;
  /* Mojo allows non-nullable references only in version 0. */
  if (f->min_version > 0 && !t->nullable &&
      (is_pointer_kind(t->kind) || t->kind == CMOJO_WIRE_KIND_UNION))
    return false;
  bool is_bool = t->kind == CMOJO_WIRE_KIND_BOOL;
  unsigned size = is_bool ? 1 : cm_wire_wire_size(t->kind);
  out[0] = (slot){f->offset, size, is_bool ? f->bit : -1};
  *num_slots = 1;
  if (t->nullable && cm_wire_is_value_kind(t->kind))
    out[(*num_slots)++] = (slot){f->has_value_offset, 1, f->has_value_bit};
  for (int i = 0; i < *num_slots; i++)
    if (out[i].off < CM_WIRE_STRUCT_HEADER_SIZE || out[i].off + out[i].size > limit)
      return false;
  if (!is_bool && f->offset % wire_align(t->kind))
    return false;
  return (uint64_t)f->c_offset + cmojo_wire_c_size(t) <= st->c_size;
}

MojoResult cmojo_wire_check_struct(const cmojo_wire_struct *st) {
  if (!st || !versions_ok(st) || st->c_size == 0 || (st->num_fields && !st->fields))
    return MOJO_RESULT_INVALID_ARGUMENT;
  uint32_t last_version = 0;
  for (uint32_t i = 0; i < st->num_fields; i++) {
    slot a[2];
    int na;
    if (!field_ok(st, &st->fields[i], a, &na) || st->fields[i].min_version < last_version)
      return MOJO_RESULT_INVALID_ARGUMENT;
    last_version = st->fields[i].min_version;
    for (uint32_t j = 0; j < i; j++) {
      slot b[2];
      int nb;
      field_ok(st, &st->fields[j], b, &nb);
      for (int x = 0; x < na; x++)
        for (int y = 0; y < nb; y++)
          if (slots_overlap(a[x], b[y]))
            return MOJO_RESULT_INVALID_ARGUMENT;
    }
  }
  return MOJO_RESULT_OK;
}

MojoResult cmojo_wire_check_union(const cmojo_wire_union *u) {
  if (!u || !u->fields || u->num_fields == 0 || u->c_value_offset < sizeof(uint32_t))
    return MOJO_RESULT_INVALID_ARGUMENT;
  for (uint32_t i = 0; i < u->num_fields; i++) {
    const cmojo_wire_union_field *f = &u->fields[i];
    if (!type_ok(f->type) || (uint64_t)u->c_value_offset + cmojo_wire_c_size(f->type) > u->c_size)
      return MOJO_RESULT_INVALID_ARGUMENT;
    for (uint32_t j = 0; j < i; j++)
      if (u->fields[j].tag == f->tag)
        return MOJO_RESULT_INVALID_ARGUMENT;
  }
  if (u->extensible && !cm_wire_union_find(u, u->default_tag))
    return MOJO_RESULT_INVALID_ARGUMENT;
  return MOJO_RESULT_OK;
}

MojoResult cmojo_wire_check_enum(const cmojo_wire_enum *e) {
  if (!e || (e->num_values && !e->values))
    return MOJO_RESULT_INVALID_ARGUMENT;
  for (uint32_t i = 1; i < e->num_values; i++)
    if (e->values[i] <= e->values[i - 1])
      return MOJO_RESULT_INVALID_ARGUMENT;
  if (e->has_default && !cm_wire_enum_is_known(e, e->default_value))
    return MOJO_RESULT_INVALID_ARGUMENT;
  return MOJO_RESULT_OK;
}
