/* The encoder: C values -> message bytes, laid out as Chromium's C++
 * bindings lay them out.
 *
 * Objects are appended to one growing buffer in the order the validator
 * claims them (depth-first, fields in ordinal order), each at an 8-byte
 * boundary with zeroed padding; struct sizes come from the newest version
 * row, array num_bytes are unpadded. Since pointers are relative, the buffer
 * is addressed by offsets and may move when it grows. The payload is built
 * behind room for the header the flags and creation time call for; only if
 * associated interface ids are written (which makes the header v2) does it
 * slide up once at the end, which keeps every object's alignment because
 * all header sizes are multiples of 8. Arrays of plain numbers (strings
 * included) are copied as one block: their C and wire forms are the same.
 */
#include <stdlib.h>
#include <string.h>

#include "wire_internal.h"

typedef struct enc {
  uint8_t *buf;
  uint64_t len, cap;
  MojoHandle *handles;
  uint32_t num_handles, cap_handles;
  uint32_t *iids;
  uint32_t num_iids, cap_iids;
} enc;

#define EINVAL_ MOJO_RESULT_INVALID_ARGUMENT
#define ENOMEM_ MOJO_RESULT_RESOURCE_EXHAUSTED

static MojoResult encode_value(enc *e, const cmojo_wire_type *t, uint64_t off, uint8_t bit,
                               const uint8_t *cval, bool inlined);

/* Appends `n` zeroed bytes at the next 8-byte boundary. */
static MojoResult enc_alloc(enc *e, uint64_t n, uint64_t *off) {
  uint64_t start = e->len;
  /* Every offset must fit a 32-bit relative pointer. */
  if (n > UINT32_MAX)
    return EINVAL_;
  uint64_t end = cm_wire_align8(start + n);
  if (end > UINT32_MAX)
    return EINVAL_;
  if (end > e->cap) {
    uint64_t cap = e->cap ? e->cap : 256;
    while (cap < end)
      cap *= 2;
    uint8_t *p = realloc(e->buf, (size_t)cap);
    if (!p)
      return ENOMEM_;
    e->buf = p;
    e->cap = cap;
  }
  /* Zero what is handed out (padding included), not the whole capacity. */
  memset(e->buf + start, 0, (size_t)(end - start));
  e->len = end;
  *off = start;
  return MOJO_RESULT_OK;
}

static MojoResult push_u32(uint32_t **v, uint32_t *n, uint32_t *cap, uint32_t x) {
  if (*n == *cap) {
    uint32_t c = *cap ? *cap * 2 : 8;
    uint32_t *p = realloc(*v, (size_t)c * sizeof(*p));
    if (!p)
      return ENOMEM_;
    *v = p;
    *cap = c;
  }
  (*v)[(*n)++] = x;
  return MOJO_RESULT_OK;
}

static MojoResult add_handle(enc *e, MojoHandle h, bool nullable, uint64_t off) {
  if (h == MOJO_HANDLE_INVALID) {
    if (!nullable)
      return EINVAL_;
    cm_wire_store(e->buf, off, CMOJO_WIRE_INVALID_INDEX, 4);
    return MOJO_RESULT_OK;
  }
  if (e->num_handles == e->cap_handles) {
    uint32_t c = e->cap_handles ? e->cap_handles * 2 : 8;
    MojoHandle *p = realloc(e->handles, (size_t)c * sizeof(*p));
    if (!p)
      return ENOMEM_;
    e->handles = p;
    e->cap_handles = c;
  }
  cm_wire_store(e->buf, off, e->num_handles, 4);
  e->handles[e->num_handles++] = h;
  return MOJO_RESULT_OK;
}

static MojoResult add_iid(enc *e, uint32_t id, bool nullable, uint64_t off) {
  if (id == CMOJO_WIRE_INVALID_INTERFACE_ID) {
    if (!nullable)
      return EINVAL_;
    cm_wire_store(e->buf, off, CMOJO_WIRE_INVALID_INDEX, 4);
    return MOJO_RESULT_OK;
  }
  /* The receiver rejects the primary id in the id array. */
  if (id == CMOJO_WIRE_PRIMARY_INTERFACE_ID)
    return EINVAL_;
  cm_wire_store(e->buf, off, e->num_iids, 4);
  return push_u32(&e->iids, &e->num_iids, &e->cap_iids, id);
}

static MojoResult encode_struct(enc *e, const cmojo_wire_struct *st, const uint8_t *cval,
                                uint64_t *out_off) {
  if (st->num_versions == 0)
    return EINVAL_; /* a malformed table: see cmojo_wire_check_struct() */
  const cmojo_wire_version *newest = &st->versions[st->num_versions - 1];
  uint64_t off;
  MojoResult r = enc_alloc(e, newest->num_bytes, &off);
  if (r)
    return r;
  cm_wire_store(e->buf, off, newest->num_bytes, 4);
  cm_wire_store(e->buf, off + 4, newest->version, 4);
  for (uint32_t i = 0; i < st->num_fields; i++) {
    const cmojo_wire_field *f = &st->fields[i];
    const uint8_t *member = cval + f->c_offset;
    if (cm_wire_is_plain_number(f->type)) {
      /* The common case, without encode_value's dispatch. */
      cm_wire_copy_value(e->buf + off + f->offset, member, cm_wire_wire_size(f->type->kind));
      continue;
    }
    if (f->type->nullable && cm_wire_is_value_kind(f->type->kind)) {
      /* T?: a has-value bit plus the value, which stays 0 when absent.
       * Mojo validates that 0 even then, so a closed enum without a 0
       * value cannot be sent as null. */
      if (!*(const bool *)member) {
        const cmojo_wire_enum *en = f->type->enum_type;
        if (f->type->kind == CMOJO_WIRE_KIND_ENUM && !en->extensible &&
            !cm_wire_enum_is_known(en, 0))
          return EINVAL_;
        continue;
      }
      e->buf[off + f->has_value_offset] |= (uint8_t)(1u << f->has_value_bit);
      member += cm_wire_opt_value_offset(f->type->kind);
    }
    r = encode_value(e, f->type, off + f->offset, f->bit, member, true);
    if (r)
      return r;
  }
  *out_off = off;
  return MOJO_RESULT_OK;
}

/* Elements of bool, bool? and number? arrays, which are bit-packed. */
static MojoResult encode_packed_elements(enc *e, const cmojo_wire_type *t, uint64_t storage,
                                         const uint8_t *data, uint32_t n) {
  size_t csize = cmojo_wire_c_size(t);
  if (t->kind == CMOJO_WIRE_KIND_BOOL && !t->nullable) {
    for (uint32_t i = 0; i < n; i++)
      if (((const bool *)data)[i])
        e->buf[storage + i / 8] |= (uint8_t)(1u << (i % 8));
    return MOJO_RESULT_OK;
  }
  uint64_t values = storage + cm_wire_nullable_values_offset(t, n);
  size_t voff = cm_wire_opt_value_offset(t->kind);
  unsigned s = cm_wire_wire_size(t->kind);
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *el = data + (size_t)i * csize;
    if (!*(const bool *)el)
      continue;
    e->buf[storage + i / 8] |= (uint8_t)(1u << (i % 8));
    if (s == 0) {
      if (*(const bool *)(el + voff))
        e->buf[values + i / 8] |= (uint8_t)(1u << (i % 8));
    } else {
      uint64_t v = 0;
      cm_wire_copy_value(&v, el + voff, s); /* little-endian host assumed, see docs */
      if (t->kind == CMOJO_WIRE_KIND_ENUM && !t->enum_type->extensible &&
          !cm_wire_enum_is_known(t->enum_type, (int32_t)(uint32_t)v))
        return EINVAL_;
      cm_wire_store(e->buf, values + (uint64_t)i * s, v, s);
    }
  }
  return MOJO_RESULT_OK;
}

static MojoResult encode_array(enc *e, const cmojo_wire_type *elem, uint32_t fixed_count,
                               uint32_t n, const uint8_t *data, uint64_t *out_off) {
  uint64_t bytes, off;
  if (fixed_count != 0 && n != fixed_count)
    return EINVAL_;
  if (n && !data)
    return EINVAL_;
  if (!cm_wire_array_storage(elem, n, &bytes))
    return EINVAL_;
  MojoResult r = enc_alloc(e, bytes, &off);
  if (r)
    return r;
  cm_wire_store(e->buf, off, bytes, 4);
  cm_wire_store(e->buf, off + 4, n, 4);
  uint64_t storage = off + CM_WIRE_ARRAY_HEADER_SIZE;
  if (elem->kind == CMOJO_WIRE_KIND_BOOL || (elem->nullable && cm_wire_is_value_kind(elem->kind))) {
    r = encode_packed_elements(e, elem, storage, data, n);
    if (r)
      return r;
  } else if (cm_wire_is_plain_number(elem)) {
    /* The C elements are the wire elements: one copy (strings, blobs). */
    if (n)
      memcpy(e->buf + storage, data, (size_t)n * cm_wire_wire_size(elem->kind));
  } else {
    size_t csize = cmojo_wire_c_size(elem);
    unsigned s = cm_wire_wire_size(elem->kind);
    for (uint32_t i = 0; i < n; i++) {
      r = encode_value(e, elem, storage + (uint64_t)i * s, 0, data + (size_t)i * csize, true);
      if (r)
        return r;
    }
  }
  *out_off = off;
  return MOJO_RESULT_OK;
}

static MojoResult encode_map(enc *e, const cmojo_wire_type *t, const cmojo_map *m,
                             uint64_t *out_off) {
  uint64_t off, keys, values;
  MojoResult r = enc_alloc(e, CM_WIRE_MAP_SIZE, &off);
  if (r)
    return r;
  cm_wire_store(e->buf, off, CM_WIRE_MAP_SIZE, 4);
  r = encode_array(e, t->key, 0, m->count, m->keys, &keys);
  if (r)
    return r;
  cm_wire_store(e->buf, off + 8, keys - (off + 8), 8);
  r = encode_array(e, t->element, 0, m->count, m->values, &values);
  if (r)
    return r;
  cm_wire_store(e->buf, off + 16, values - (off + 16), 8);
  *out_off = off;
  return MOJO_RESULT_OK;
}

/* Fills the 16 bytes of a union at `off` from its C form. */
static MojoResult encode_union_body(enc *e, const cmojo_wire_union *u, const uint8_t *cu,
                                    uint64_t off) {
  uint32_t tag;
  memcpy(&tag, cu, sizeof(tag));
  const cmojo_wire_union_field *f = cm_wire_union_find(u, tag);
  if (!f)
    return EINVAL_;
  cm_wire_store(e->buf, off, CM_WIRE_UNION_SIZE, 4);
  cm_wire_store(e->buf, off + 4, tag, 4);
  const uint8_t *member = cu + u->c_value_offset;
  return encode_value(e, f->type, off + 8, 0, member, false);
}

/* Objects reached through a pointer slot at `off` (or an inlined union). */
static MojoResult encode_object(enc *e, const cmojo_wire_type *t, uint64_t off, const uint8_t *cval,
                                bool inlined) {
  uint64_t target = 0;
  MojoResult r = MOJO_RESULT_OK;
  if (t->kind == CMOJO_WIRE_KIND_STRING || t->kind == CMOJO_WIRE_KIND_ARRAY) {
    const cmojo_array *a = (const cmojo_array *)cval;
    if (!a->data && a->count)
      return EINVAL_;
    if (!a->data && t->nullable)
      return MOJO_RESULT_OK;
    const cmojo_wire_type *elem =
        t->kind == CMOJO_WIRE_KIND_STRING ? &cm_wire_string_element : t->element;
    r = encode_array(e, elem, t->fixed_count, a->count, a->data, &target);
  } else if (t->kind == CMOJO_WIRE_KIND_MAP) {
    const cmojo_map *m = (const cmojo_map *)cval;
    if ((!m->keys || !m->values) && m->count)
      return EINVAL_;
    if (!m->keys && !m->values && t->nullable)
      return MOJO_RESULT_OK;
    r = encode_map(e, t, m, &target);
  } else {
    const uint8_t *p;
    memcpy(&p, cval, sizeof(p));
    if (!p)
      return t->nullable ? MOJO_RESULT_OK : EINVAL_;
    if (t->kind == CMOJO_WIRE_KIND_STRUCT)
      r = encode_struct(e, t->struct_type, p, &target);
    else if (inlined)
      return encode_union_body(e, t->union_type, p, off);
    else if ((r = enc_alloc(e, CM_WIRE_UNION_SIZE, &target)) == 0)
      r = encode_union_body(e, t->union_type, p, target);
  }
  if (r)
    return r;
  cm_wire_store(e->buf, off, target - off, 8);
  return MOJO_RESULT_OK;
}

static MojoResult encode_value(enc *e, const cmojo_wire_type *t, uint64_t off, uint8_t bit,
                               const uint8_t *cval, bool inlined) {
  switch (t->kind) {
    case CMOJO_WIRE_KIND_BOOL:
      if (*(const bool *)cval)
        e->buf[off] |= (uint8_t)(1u << bit);
      return MOJO_RESULT_OK;
    case CMOJO_WIRE_KIND_ENUM: {
      int32_t v;
      memcpy(&v, cval, 4);
      if (!t->enum_type->extensible && !cm_wire_enum_is_known(t->enum_type, v))
        return EINVAL_;
      cm_wire_store(e->buf, off, (uint32_t)v, 4);
      return MOJO_RESULT_OK;
    }
    case CMOJO_WIRE_KIND_HANDLE:
    case CMOJO_WIRE_KIND_PENDING_RECEIVER:
      return add_handle(e, *(const MojoHandle *)cval, t->nullable, off);
    case CMOJO_WIRE_KIND_PENDING_REMOTE: {
      /* A null remote is written as {invalid, version 0}, as in Mojo. */
      const cmojo_pending_remote *pr = (const cmojo_pending_remote *)cval;
      if (pr->handle != MOJO_HANDLE_INVALID)
        cm_wire_store(e->buf, off + 4, pr->version, 4);
      return add_handle(e, pr->handle, t->nullable, off);
    }
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_REMOTE: {
      const cmojo_pending_associated_remote *ar = (const cmojo_pending_associated_remote *)cval;
      if (ar->interface_id != CMOJO_WIRE_INVALID_INTERFACE_ID)
        cm_wire_store(e->buf, off + 4, ar->version, 4);
      return add_iid(e, ar->interface_id, t->nullable, off);
    }
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER:
      return add_iid(e, *(const uint32_t *)cval, t->nullable, off);
    case CMOJO_WIRE_KIND_STRING:
    case CMOJO_WIRE_KIND_ARRAY:
    case CMOJO_WIRE_KIND_MAP:
    case CMOJO_WIRE_KIND_STRUCT:
    case CMOJO_WIRE_KIND_UNION:
      return encode_object(e, t, off, cval, inlined);
    default: {
      /* little-endian host assumed, see docs */
      cm_wire_copy_value(e->buf + off, cval, cm_wire_wire_size(t->kind));
      return MOJO_RESULT_OK;
    }
  }
}

uint32_t cmojo_wire_header_version_for(uint32_t flags, uint32_t num_interface_ids,
                                       int64_t creation_timeticks_us) {
  if (creation_timeticks_us > 0)
    return 3;
  if (num_interface_ids > 0)
    return 2;
  if (flags & (CMOJO_WIRE_FLAG_EXPECTS_RESPONSE | CMOJO_WIRE_FLAG_IS_RESPONSE))
    return 1;
  return 0;
}

static const uint32_t header_sizes[] = {CMOJO_WIRE_HEADER_V0_SIZE, CMOJO_WIRE_HEADER_V1_SIZE,
                                        CMOJO_WIRE_HEADER_V2_SIZE, CMOJO_WIRE_HEADER_V3_SIZE};

size_t cmojo_wire_write_header(void *dst, size_t capacity, const cmojo_wire_header *h) {
  if (!dst || !h || h->version > 3)
    return 0;
  uint32_t hsize = header_sizes[h->version];
  bool ids = h->version >= 2 && h->num_interface_ids > 0;
  if (capacity < hsize || (h->version >= 2 && h->payload_offset < hsize) ||
      (ids && h->interface_ids_offset < (uint64_t)h->payload_offset + 8))
    return 0;
  uint8_t *b = dst;
  memset(b, 0, hsize);
  cm_wire_store(b, 0, hsize, 4);
  cm_wire_store(b, 4, h->version, 4);
  cm_wire_store(b, 8, h->interface_id, 4);
  cm_wire_store(b, 12, h->name, 4);
  cm_wire_store(b, 16, h->flags, 4);
  cm_wire_store(b, 20, h->trace_nonce, 4);
  if (h->version >= 1)
    cm_wire_store(b, 24, h->request_id, 8);
  if (h->version >= 2) {
    /* Relative pointers from the fields at 32 and 40; the id pointer aims
     * at the array header, 8 bytes before the first id. */
    cm_wire_store(b, 32, h->payload_offset - 32u, 8);
    if (ids)
      cm_wire_store(b, 40, h->interface_ids_offset - 8u - 40u, 8);
  }
  if (h->version >= 3)
    cm_wire_store(b, 48, (uint64_t)h->creation_timeticks_us, 8);
  return hsize;
}

/* Appends the id array and writes the header into the `reserved` bytes
 * left for it before the payload. The room is what the header needs without
 * associated interface ids; when ids were written the version rises to 2
 * and the payload slides up to make room (the rare case). */
static MojoResult finish_message(enc *e, const cmojo_wire_header *in, uint32_t reserved) {
  uint64_t ids = 0;
  if (e->num_iids) {
    uint64_t bytes = CM_WIRE_ARRAY_HEADER_SIZE + 4ull * e->num_iids;
    MojoResult r = enc_alloc(e, bytes, &ids);
    if (r)
      return r;
    cm_wire_store(e->buf, ids, bytes, 4);
    cm_wire_store(e->buf, ids + 4, e->num_iids, 4);
    for (uint32_t i = 0; i < e->num_iids; i++)
      cm_wire_store(e->buf, ids + 8 + 4ull * i, e->iids[i], 4);
  }
  cmojo_wire_header h = *in;
  h.version = cmojo_wire_header_version_for(in->flags, e->num_iids, in->creation_timeticks_us);
  uint32_t hsize = header_sizes[h.version];
  if (hsize > reserved) {
    /* Header sizes are multiples of 8, so every object keeps its
     * alignment; relative pointers inside the payload do not change. */
    uint64_t grow = hsize - reserved, end = e->len, tail;
    MojoResult r = enc_alloc(e, grow, &tail);
    if (r)
      return r;
    memmove(e->buf + hsize, e->buf + reserved, (size_t)(end - reserved));
    if (ids)
      ids += grow;
  }
  h.payload_offset = hsize; /* the payload follows the header */
  h.num_interface_ids = e->num_iids;
  h.interface_ids_offset = ids ? (uint32_t)(ids + CM_WIRE_ARRAY_HEADER_SIZE) : 0;
  if (cmojo_wire_write_header(e->buf, (size_t)e->len, &h) != hsize)
    return EINVAL_;
  return MOJO_RESULT_OK;
}

MojoResult cmojo_wire_encode_message(const cmojo_wire_header *header, const cmojo_wire_struct *type,
                                     const void *params, cmojo_wire_message *out) {
  if (!header || !type || !params || !out)
    return EINVAL_;
  enc e = {0};
  uint64_t hdr, payload;
  /* Room for the header the message gets if no associated interface ids
   * turn up, which is known before encoding. */
  uint32_t reserved =
      header_sizes[cmojo_wire_header_version_for(header->flags, 0, header->creation_timeticks_us)];
  MojoResult r = enc_alloc(&e, reserved, &hdr);
  if (!r)
    r = encode_struct(&e, type, params, &payload);
  if (!r)
    r = finish_message(&e, header, reserved);
  free(e.iids);
  if (r) {
    free(e.buf);
    free(e.handles);
    return r;
  }
  out->bytes = e.buf;
  out->num_bytes = (size_t)e.len;
  out->handles = e.handles;
  out->num_handles = e.num_handles;
  return MOJO_RESULT_OK;
}

void cmojo_wire_message_free(cmojo_wire_message *message) {
  if (!message)
    return;
  free(message->bytes);
  free(message->handles);
  memset(message, 0, sizeof(*message));
}
