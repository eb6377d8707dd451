/* The decoder: validated message bytes -> C values in one heap block.
 *
 * The validator, which runs first anyway, adds up the blocks decoding will
 * allocate (cm_wire_validate_payload_sized); decoding then fills one zeroed
 * allocation of that size in a single pass. The first block (the parameter
 * struct) sits at the start, so one free() releases everything.
 *
 * The decoder only ever runs on bytes the validator accepted, which is what
 * makes it simple: every pointer is in bounds and forward, every object is
 * visited once (so the work is linear), nesting is bounded, and handle and
 * interface-id indices are in range and distinct. Loads still go through
 * the bounds-checked helpers as a second line of defence.
 */
#include <stdlib.h>
#include <string.h>

#include "wire_internal.h"

typedef struct dec {
  const uint8_t *bytes;
  uint64_t size;
  MojoHandle *handles;
  uint32_t num_handles;
  uint64_t ids_off; /* first interface id */
  uint32_t num_ids;
  uint8_t *arena; /* one zeroed block of `cap` bytes */
  size_t used, cap;
} dec;

static void decode_value(dec *d, const cmojo_wire_type *t, uint64_t off, uint8_t bit, uint8_t *dst,
                         bool inlined);

static uint64_t ld(const dec *d, uint64_t off, unsigned n) {
  return cm_wire_load(d->bytes, d->size, off, n);
}

/* Returns zeroed memory from the block. The validator counted the very
 * blocks decoding allocates (see cm_wire_validate_payload_sized), so running
 * out would be a bug in this runtime, not a property of the message: abort
 * rather than write past the block. The wire tests decode every corpus
 * vector and mutation under the sanitizers. */
static uint8_t *dec_alloc(dec *d, size_t n) {
  size_t start = (d->used + CM_WIRE_ARENA_ALIGN - 1) & ~(size_t)(CM_WIRE_ARENA_ALIGN - 1);
  if (start > d->cap || n > d->cap - start)
    abort();
  d->used = start + n;
  return d->arena + start;
}

static uint64_t target_of(const dec *d, uint64_t ptr_off) {
  uint64_t v = ld(d, ptr_off, 8);
  return v ? ptr_off + v : 0;
}

static void *decode_struct(dec *d, const cmojo_wire_struct *st, uint64_t off) {
  uint8_t *c = dec_alloc(d, st->c_size);
  uint32_t version = (uint32_t)ld(d, off + 4, 4);
  for (uint32_t i = 0; i < st->num_fields; i++) {
    const cmojo_wire_field *f = &st->fields[i];
    if (f->min_version > version)
      break; /* absent: stays zero */
    uint8_t *member = c + f->c_offset;
    if (cm_wire_is_plain_number(f->type)) {
      /* The common case, without decode_value's dispatch. */
      unsigned s = cm_wire_wire_size(f->type->kind);
      uint64_t v = ld(d, off + f->offset, s);
      cm_wire_copy_value(member, &v, s);
      continue;
    }
    if (f->type->nullable && cm_wire_is_value_kind(f->type->kind)) {
      uint8_t flag = (uint8_t)ld(d, off + f->has_value_offset, 1);
      if (!(flag & (1u << f->has_value_bit)))
        continue;
      *(bool *)member = true;
      member += cm_wire_opt_value_offset(f->type->kind);
    }
    decode_value(d, f->type, off + f->offset, f->bit, member, true);
  }
  return c;
}

static void decode_packed_elements(dec *d, const cmojo_wire_type *t, uint64_t storage, uint32_t n,
                                   uint8_t *data) {
  size_t csize = cmojo_wire_c_size(t);
  if (t->kind == CMOJO_WIRE_KIND_BOOL && !t->nullable) {
    for (uint32_t i = 0; i < n; i++)
      ((bool *)data)[i] = (ld(d, storage + i / 8, 1) >> (i % 8)) & 1;
    return;
  }
  uint64_t values = storage + cm_wire_nullable_values_offset(t, n);
  size_t voff = cm_wire_opt_value_offset(t->kind);
  unsigned s = cm_wire_wire_size(t->kind);
  for (uint32_t i = 0; i < n; i++) {
    uint8_t *el = data + (size_t)i * csize;
    if (!((ld(d, storage + i / 8, 1) >> (i % 8)) & 1))
      continue;
    *(bool *)el = true;
    if (s == 0)
      *(bool *)(el + voff) = (ld(d, values + i / 8, 1) >> (i % 8)) & 1;
    else
      decode_value(d, t, values + (uint64_t)i * s, 0, el + voff, true);
  }
}

static void decode_array(dec *d, const cmojo_wire_type *elem, uint64_t off, bool is_string,
                         cmojo_array *out) {
  uint32_t n = (uint32_t)ld(d, off + 4, 4);
  size_t csize = cmojo_wire_c_size(elem);
  size_t total;
  if (__builtin_mul_overflow((size_t)n, csize, &total) || total > SIZE_MAX - 1)
    abort(); /* the validator's count fit in size_t: a runtime bug, as in dec_alloc */
  uint8_t *data = dec_alloc(d, total + (is_string ? 1 : 0));
  out->count = n;
  out->data = data;
  uint64_t storage = off + CM_WIRE_ARRAY_HEADER_SIZE;
  if (elem->kind == CMOJO_WIRE_KIND_BOOL || (elem->nullable && cm_wire_is_value_kind(elem->kind))) {
    decode_packed_elements(d, elem, storage, n, data);
    return;
  }
  unsigned s = cm_wire_wire_size(elem->kind);
  if (cm_wire_is_plain_number(elem)) {
    /* Strings, blobs and number arrays: the wire elements are the C
     * elements. Validation proved them in bounds; the check stays as the
     * second line of defence (out of bounds reads as zeros, like ld). */
    if (n && storage <= d->size && (d->size - storage) / s >= n)
      memcpy(data, d->bytes + storage, total);
    return;
  }
  for (uint32_t i = 0; i < n; i++)
    decode_value(d, elem, storage + (uint64_t)i * s, 0, data + (size_t)i * csize, true);
}

static void *decode_union(dec *d, const cmojo_wire_union *u, uint64_t off) {
  uint8_t *c = dec_alloc(d, u->c_size);
  uint32_t tag = (uint32_t)ld(d, off + 4, 4);
  const cmojo_wire_union_field *f = cm_wire_union_find(u, tag);
  if (!f) { /* only extensible unions get here: the [Default] member */
    memcpy(c, &u->default_tag, sizeof(uint32_t));
    return c;
  }
  memcpy(c, &tag, sizeof(tag));
  decode_value(d, f->type, off + 8, 0, c + u->c_value_offset, false);
  return c;
}

static void decode_object(dec *d, const cmojo_wire_type *t, uint64_t off, uint8_t *dst,
                          bool inlined) {
  if (t->kind == CMOJO_WIRE_KIND_UNION && inlined) {
    void *p = ld(d, off, 4) ? decode_union(d, t->union_type, off) : NULL;
    memcpy(dst, &p, sizeof(p));
    return;
  }
  uint64_t target = target_of(d, off);
  if (!target)
    return; /* null: the zeroed member already says so */
  if (t->kind == CMOJO_WIRE_KIND_STRING) {
    decode_array(d, &cm_wire_string_element, target, true, (cmojo_array *)dst);
  } else if (t->kind == CMOJO_WIRE_KIND_ARRAY) {
    decode_array(d, t->element, target, false, (cmojo_array *)dst);
  } else if (t->kind == CMOJO_WIRE_KIND_MAP) {
    cmojo_array keys = {0}, values = {0};
    decode_array(d, t->key, target_of(d, target + 8), false, &keys);
    decode_array(d, t->element, target_of(d, target + 16), false, &values);
    cmojo_map m = {.count = keys.count, .keys = keys.data, .values = values.data};
    memcpy(dst, &m, sizeof(m));
  } else {
    void *p = t->kind == CMOJO_WIRE_KIND_STRUCT ? decode_struct(d, t->struct_type, target)
                                                : decode_union(d, t->union_type, target);
    memcpy(dst, &p, sizeof(p));
  }
}

static MojoHandle take_handle(dec *d, uint32_t index) {
  if (index == CMOJO_WIRE_INVALID_INDEX || index >= d->num_handles)
    return MOJO_HANDLE_INVALID;
  MojoHandle h = d->handles[index];
  d->handles[index] = MOJO_HANDLE_INVALID;
  return h;
}

static uint32_t interface_id(const dec *d, uint32_t index) {
  if (index == CMOJO_WIRE_INVALID_INDEX || index >= d->num_ids)
    return CMOJO_WIRE_INVALID_INTERFACE_ID;
  return (uint32_t)ld(d, d->ids_off + 4ull * index, 4);
}

static void decode_value(dec *d, const cmojo_wire_type *t, uint64_t off, uint8_t bit, uint8_t *dst,
                         bool inlined) {
  switch (t->kind) {
    case CMOJO_WIRE_KIND_STRING:
    case CMOJO_WIRE_KIND_ARRAY:
    case CMOJO_WIRE_KIND_MAP:
    case CMOJO_WIRE_KIND_STRUCT:
    case CMOJO_WIRE_KIND_UNION:
      decode_object(d, t, off, dst, inlined);
      return;
    default:
      break;
  }
  uint32_t u32 = (uint32_t)ld(d, off, 4);
  switch (t->kind) {
    case CMOJO_WIRE_KIND_BOOL:
      *(bool *)dst = (ld(d, off, 1) >> bit) & 1;
      break;
    case CMOJO_WIRE_KIND_ENUM: {
      int32_t v = (int32_t)u32;
      const cmojo_wire_enum *en = t->enum_type;
      if (en->extensible && en->has_default && !cm_wire_enum_is_known(en, v))
        v = en->default_value;
      memcpy(dst, &v, sizeof(v));
      break;
    }
    case CMOJO_WIRE_KIND_HANDLE:
    case CMOJO_WIRE_KIND_PENDING_RECEIVER:
      *(MojoHandle *)dst = take_handle(d, u32);
      break;
    case CMOJO_WIRE_KIND_PENDING_REMOTE: {
      cmojo_pending_remote pr = {.handle = take_handle(d, u32),
                                 .version = (uint32_t)ld(d, off + 4, 4)};
      memcpy(dst, &pr, sizeof(pr));
      break;
    }
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_REMOTE: {
      cmojo_pending_associated_remote ar = {.interface_id = interface_id(d, u32),
                                            .version = (uint32_t)ld(d, off + 4, 4)};
      memcpy(dst, &ar, sizeof(ar));
      break;
    }
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER: {
      uint32_t id = interface_id(d, u32);
      memcpy(dst, &id, sizeof(id));
      break;
    }
    default: {
      unsigned s = cm_wire_wire_size(t->kind);
      uint64_t v = ld(d, off, s);
      cm_wire_copy_value(dst, &v, s); /* little-endian host assumed, see docs */
      break;
    }
  }
}

MojoResult cmojo_wire_decode_message(const void *bytes, size_t num_bytes, MojoHandle *handles,
                                     uint32_t num_handles, const cmojo_wire_struct *type,
                                     void **out_params, cmojo_wire_error *out_error) {
  if (!type || !out_params || (num_handles && !handles))
    return MOJO_RESULT_INVALID_ARGUMENT;
  cmojo_wire_header h;
  uint64_t c_bytes = 0;
  cmojo_wire_error err = cmojo_wire_validate_header(bytes, num_bytes, &h);
  if (!err)
    err = cm_wire_validate_payload_sized(bytes, num_bytes, &h, num_handles, type, &c_bytes);
  if (out_error)
    *out_error = err;
  if (err)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (c_bytes > SIZE_MAX)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  dec d = {.bytes = bytes,
           .size = num_bytes,
           .handles = handles,
           .num_handles = num_handles,
           .ids_off = h.interface_ids_offset,
           .num_ids = h.num_interface_ids};
  d.cap = c_bytes ? (size_t)c_bytes : 1;
  d.arena = calloc(1, d.cap);
  if (!d.arena)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  *out_params = decode_struct(&d, type, h.payload_offset);
  return MOJO_RESULT_OK;
}

void cmojo_wire_free(void *params) {
  free(params);
}
