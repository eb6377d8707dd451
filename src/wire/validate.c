/* The validator: checks peer bytes against descriptor tables with Mojo's
 * exact first-error semantics.
 *
 * Mojo walks the object graph depth-first in ordinal order and "claims"
 * memory with a cursor that only moves forward: every object must start at
 * or after the end of the previously claimed one. Handles and associated
 * interface ids are claimed the same way (strictly increasing indices). The
 * order of checks inside each function below follows Chromium's C++
 * validators one for one, because the corpus checks which error comes
 * first, not only that one does.
 */

#include "wire_internal.h"

typedef cmojo_wire_error werr;

typedef struct vctx {
  const uint8_t *bytes;
  uint64_t size;       /* readable bytes */
  uint64_t begin, end; /* the still claimable range */
  uint32_t handle_begin, handle_end;
  uint32_t iid_begin, iid_end;
  int depth;        /* Mojo's count of nested structs */
  int nesting;      /* our stack guard */
  uint64_t c_bytes; /* what the decoder will allocate, see count_c() */
} vctx;

static werr validate_value(vctx *c, const cmojo_wire_type *t, uint64_t off, bool inlined);

static uint32_t rd32(const vctx *c, uint64_t off) {
  return cm_wire_load32(c->bytes, c->size, off);
}

static bool valid_range(const vctx *c, uint64_t off, uint64_t n) {
  return n > 0 && off >= c->begin && off <= c->end && c->end - off >= n;
}

/* Adds one block of the decoder (cm_wire_validate_payload_sized). The sum
 * cannot overflow: a message under 4 GiB yields far less than 2^64 bytes of
 * C values. */
static void count_c(vctx *c, uint64_t n) {
  c->c_bytes += (n + CM_WIRE_ARENA_ALIGN - 1) & ~(uint64_t)(CM_WIRE_ARENA_ALIGN - 1);
}

static bool claim(vctx *c, uint64_t off, uint64_t n) {
  if (!valid_range(c, off, n))
    return false;
  c->begin = off + n;
  return true;
}

/* Decodes the relative pointer stored at `off`: 0 for null, else the
 * absolute target offset. Mojo rejects offsets beyond 32 bits. */
static werr read_pointer(const vctx *c, uint64_t off, uint64_t *target) {
  uint64_t v = cm_wire_load(c->bytes, c->size, off, 8);
  if (v > UINT32_MAX)
    return CMOJO_WIRE_ERROR_ILLEGAL_POINTER;
  *target = v ? off + v : 0;
  return CMOJO_WIRE_ERROR_NONE;
}

static werr struct_header_and_claim(vctx *c, uint64_t off) {
  if (off & 7)
    return CMOJO_WIRE_ERROR_MISALIGNED_OBJECT;
  if (!valid_range(c, off, CM_WIRE_STRUCT_HEADER_SIZE))
    return CMOJO_WIRE_ERROR_ILLEGAL_MEMORY_RANGE;
  uint32_t num_bytes = rd32(c, off);
  if (num_bytes < CM_WIRE_STRUCT_HEADER_SIZE)
    return CMOJO_WIRE_ERROR_UNEXPECTED_STRUCT_HEADER;
  if (!claim(c, off, num_bytes))
    return CMOJO_WIRE_ERROR_ILLEGAL_MEMORY_RANGE;
  return CMOJO_WIRE_ERROR_NONE;
}

/* Known version: the size must be that of the newest known version not
 * above it. Newer than known: at least the newest known size. */
static werr check_version_size(const cmojo_wire_struct *st, uint32_t version, uint32_t num_bytes) {
  const cmojo_wire_version *v = st->versions;
  uint32_t n = st->num_versions;
  if (n == 0) /* a malformed table: see cmojo_wire_check_struct() */
    return CMOJO_WIRE_ERROR_UNEXPECTED_STRUCT_HEADER;
  if (version <= v[n - 1].version) {
    for (uint32_t i = n; i-- > 0;) {
      if (version >= v[i].version) {
        if (num_bytes == v[i].num_bytes)
          return CMOJO_WIRE_ERROR_NONE;
        return CMOJO_WIRE_ERROR_UNEXPECTED_STRUCT_HEADER;
      }
    }
  } else if (num_bytes >= v[n - 1].num_bytes) {
    return CMOJO_WIRE_ERROR_NONE;
  }
  return CMOJO_WIRE_ERROR_UNEXPECTED_STRUCT_HEADER;
}

static werr validate_struct(vctx *c, const cmojo_wire_struct *st, uint64_t off) {
  werr e = struct_header_and_claim(c, off);
  if (e)
    return e;
  uint32_t version = rd32(c, off + 4);
  e = check_version_size(st, version, rd32(c, off));
  if (e)
    return e;
  count_c(c, st->c_size);
  for (uint32_t i = 0; i < st->num_fields; i++) {
    const cmojo_wire_field *f = &st->fields[i];
    /* Fields newer than the sender's version are absent. */
    if (f->min_version > version)
      break;
    /* Bools and numbers, nullable or not: any bit pattern is valid. */
    uint8_t k = f->type->kind;
    if (k >= CMOJO_WIRE_KIND_BOOL && k <= CMOJO_WIRE_KIND_DOUBLE)
      continue;
    e = validate_value(c, f->type, off + f->offset, true);
    if (e)
      return e;
  }
  return CMOJO_WIRE_ERROR_NONE;
}

static werr validate_elements(vctx *c, const cmojo_wire_type *elem, uint64_t storage, uint32_t n) {
  uint8_t k = elem->kind;
  if (k == CMOJO_WIRE_KIND_BOOL)
    return CMOJO_WIRE_ERROR_NONE;
  if (cm_wire_is_value_kind(k) && k != CMOJO_WIRE_KIND_ENUM)
    return CMOJO_WIRE_ERROR_NONE;
  uint64_t stride = cm_wire_wire_size(k);
  uint64_t values = storage;
  if (k == CMOJO_WIRE_KIND_ENUM && elem->nullable)
    values += cm_wire_nullable_values_offset(elem, n);
  for (uint32_t i = 0; i < n; i++) {
    if (k == CMOJO_WIRE_KIND_ENUM && elem->nullable) {
      uint8_t flags = (uint8_t)cm_wire_load(c->bytes, c->size, storage + i / 8, 1);
      if (!(flags & (1u << (i % 8))))
        continue;
    }
    werr e = validate_value(c, elem, values + i * stride, true);
    if (e)
      return e;
  }
  return CMOJO_WIRE_ERROR_NONE;
}

static werr validate_array(vctx *c, const cmojo_wire_type *elem, uint32_t fixed_count,
                           uint64_t off) {
  if (off & 7)
    return CMOJO_WIRE_ERROR_MISALIGNED_OBJECT;
  if (!valid_range(c, off, CM_WIRE_ARRAY_HEADER_SIZE))
    return CMOJO_WIRE_ERROR_ILLEGAL_MEMORY_RANGE;
  uint32_t num_bytes = rd32(c, off);
  uint32_t n = rd32(c, off + 4);
  uint64_t need;
  if (!cm_wire_array_storage(elem, n, &need) || num_bytes < need)
    return CMOJO_WIRE_ERROR_UNEXPECTED_ARRAY_HEADER;
  if (fixed_count != 0 && n != fixed_count)
    return CMOJO_WIRE_ERROR_UNEXPECTED_ARRAY_HEADER;
  if (!claim(c, off, num_bytes))
    return CMOJO_WIRE_ERROR_ILLEGAL_MEMORY_RANGE;
  /* The decoder gives strings (and only strings) a NUL after the bytes. */
  count_c(c, (uint64_t)n * cmojo_wire_c_size(elem) + (elem == &cm_wire_string_element));
  return validate_elements(c, elem, off + CM_WIRE_ARRAY_HEADER_SIZE, n);
}

/* A non-null pointer to a container (array, string, map): Mojo checks the
 * depth limit and the pointer encoding before the object itself. */
static werr validate_container_ptr(vctx *c, const cmojo_wire_type *t, uint64_t ptr_off,
                                   uint64_t *target);

static werr validate_map(vctx *c, const cmojo_wire_type *t, uint64_t off) {
  werr e = struct_header_and_claim(c, off);
  if (e)
    return e;
  if (rd32(c, off) != CM_WIRE_MAP_SIZE || rd32(c, off + 4) != 0)
    return CMOJO_WIRE_ERROR_UNEXPECTED_STRUCT_HEADER;
  cmojo_wire_type keys = {.kind = CMOJO_WIRE_KIND_ARRAY, .element = t->key};
  cmojo_wire_type values = {.kind = CMOJO_WIRE_KIND_ARRAY, .element = t->element};
  uint64_t kt, vt;
  if (cm_wire_load(c->bytes, c->size, off + 8, 8) == 0)
    return CMOJO_WIRE_ERROR_UNEXPECTED_NULL_POINTER;
  e = validate_container_ptr(c, &keys, off + 8, &kt);
  if (e)
    return e;
  if (cm_wire_load(c->bytes, c->size, off + 16, 8) == 0)
    return CMOJO_WIRE_ERROR_UNEXPECTED_NULL_POINTER;
  e = validate_container_ptr(c, &values, off + 16, &vt);
  if (e)
    return e;
  if (rd32(c, kt + 4) != rd32(c, vt + 4))
    return CMOJO_WIRE_ERROR_DIFFERENT_SIZED_ARRAYS_IN_MAP;
  return CMOJO_WIRE_ERROR_NONE;
}

static werr validate_container_ptr(vctx *c, const cmojo_wire_type *t, uint64_t ptr_off,
                                   uint64_t *target) {
  if (c->depth > CMOJO_WIRE_MAX_DEPTH)
    return CMOJO_WIRE_ERROR_MAX_RECURSION_DEPTH;
  werr e = read_pointer(c, ptr_off, target);
  if (e || *target == 0)
    return e;
  switch (t->kind) {
    case CMOJO_WIRE_KIND_STRING:
      return validate_array(c, &cm_wire_string_element, 0, *target);
    case CMOJO_WIRE_KIND_ARRAY:
      return validate_array(c, t->element, t->fixed_count, *target);
    default:
      return validate_map(c, t, *target);
  }
}

/* A union at `off`: inlined in a struct or array (16 bytes, size 0 = null)
 * or placed on its own because it is a member of another union. */
static werr validate_union(vctx *c, const cmojo_wire_union *u, uint64_t off, bool inlined) {
  if (!inlined) {
    if (off & 7)
      return CMOJO_WIRE_ERROR_MISALIGNED_OBJECT;
    if (!claim(c, off, CM_WIRE_UNION_SIZE) || rd32(c, off) != CM_WIRE_UNION_SIZE)
      return CMOJO_WIRE_ERROR_ILLEGAL_MEMORY_RANGE;
  }
  if (inlined && rd32(c, off) == 0)
    return CMOJO_WIRE_ERROR_NONE;
  count_c(c, u->c_size);
  const cmojo_wire_union_field *f = cm_wire_union_find(u, rd32(c, off + 4));
  if (!f)
    return u->extensible ? CMOJO_WIRE_ERROR_NONE : CMOJO_WIRE_ERROR_UNKNOWN_UNION_TAG;
  return validate_value(c, f->type, off + 8, false);
}

static werr validate_pointer_value(vctx *c, const cmojo_wire_type *t, uint64_t off) {
  uint64_t target;
  werr e;
  if (!t->nullable && cm_wire_load(c->bytes, c->size, off, 8) == 0)
    return CMOJO_WIRE_ERROR_UNEXPECTED_NULL_POINTER;
  switch (t->kind) {
    case CMOJO_WIRE_KIND_STRUCT:
      /* Only structs deepen Mojo's depth count, even when null. */
      c->depth++;
      if (c->depth > CMOJO_WIRE_MAX_DEPTH) {
        e = CMOJO_WIRE_ERROR_MAX_RECURSION_DEPTH;
      } else {
        e = read_pointer(c, off, &target);
        if (!e && target)
          e = validate_struct(c, t->struct_type, target);
      }
      c->depth--;
      return e;
    case CMOJO_WIRE_KIND_UNION: /* a union inside a union */
      if (c->depth > CMOJO_WIRE_MAX_DEPTH)
        return CMOJO_WIRE_ERROR_MAX_RECURSION_DEPTH;
      e = read_pointer(c, off, &target);
      if (e || !target)
        return e;
      return validate_union(c, t->union_type, target, false);
    default:
      return validate_container_ptr(c, t, off, &target);
  }
}

static werr claim_index(vctx *c, uint64_t off, bool associated, bool nullable) {
  uint32_t index = rd32(c, off);
  if (index == CMOJO_WIRE_INVALID_INDEX) {
    if (nullable)
      return CMOJO_WIRE_ERROR_NONE;
    return associated ? CMOJO_WIRE_ERROR_UNEXPECTED_INVALID_INTERFACE_ID
                      : CMOJO_WIRE_ERROR_UNEXPECTED_INVALID_HANDLE;
  }
  uint32_t *begin = associated ? &c->iid_begin : &c->handle_begin;
  uint32_t end = associated ? c->iid_end : c->handle_end;
  if (index < *begin || index >= end)
    return associated ? CMOJO_WIRE_ERROR_ILLEGAL_INTERFACE_ID : CMOJO_WIRE_ERROR_ILLEGAL_HANDLE;
  *begin = index + 1;
  return CMOJO_WIRE_ERROR_NONE;
}

/* Validates one value of type `t` stored at `off`: a struct field, an array
 * element or (inlined == false) a union member. */
static werr validate_value(vctx *c, const cmojo_wire_type *t, uint64_t off, bool inlined) {
  switch (t->kind) {
    case CMOJO_WIRE_KIND_ENUM: {
      /* Mojo checks the stored value even for a null enum? field. */
      int32_t v = (int32_t)rd32(c, off);
      if (!t->enum_type->extensible && !cm_wire_enum_is_known(t->enum_type, v))
        return CMOJO_WIRE_ERROR_UNKNOWN_ENUM_VALUE;
      return CMOJO_WIRE_ERROR_NONE;
    }
    case CMOJO_WIRE_KIND_STRING:
    case CMOJO_WIRE_KIND_ARRAY:
    case CMOJO_WIRE_KIND_MAP:
    case CMOJO_WIRE_KIND_STRUCT:
      break;
    case CMOJO_WIRE_KIND_UNION:
      if (!inlined)
        break;
      if (!t->nullable && rd32(c, off) == 0)
        return CMOJO_WIRE_ERROR_UNEXPECTED_NULL_POINTER;
      if (c->depth > CMOJO_WIRE_MAX_DEPTH)
        return CMOJO_WIRE_ERROR_MAX_RECURSION_DEPTH;
      break;
    case CMOJO_WIRE_KIND_HANDLE:
    case CMOJO_WIRE_KIND_PENDING_REMOTE:
    case CMOJO_WIRE_KIND_PENDING_RECEIVER:
      return claim_index(c, off, false, t->nullable);
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_REMOTE:
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER:
      return claim_index(c, off, true, t->nullable);
    default: /* bool and numbers: any bit pattern is valid */
      return CMOJO_WIRE_ERROR_NONE;
  }
  if (++c->nesting > CM_MAX_WIRE_CALL_NESTING) {
    c->nesting--;
    return CMOJO_WIRE_ERROR_MAX_RECURSION_DEPTH;
  }
  werr e = (t->kind == CMOJO_WIRE_KIND_UNION && inlined)
               ? validate_union(c, t->union_type, off, true)
               : validate_pointer_value(c, t, off);
  c->nesting--;
  return e;
}

/* ---------------------------------------------------------------------------
 * Messages.
 */

static bool header_size_ok(uint32_t version, uint32_t num_bytes) {
  switch (version) {
    case 0:
      return num_bytes == CMOJO_WIRE_HEADER_V0_SIZE;
    case 1:
      return num_bytes == CMOJO_WIRE_HEADER_V1_SIZE;
    case 2:
      return num_bytes == CMOJO_WIRE_HEADER_V2_SIZE;
    case 3:
      return num_bytes == CMOJO_WIRE_HEADER_V3_SIZE;
    default:
      return num_bytes >= CMOJO_WIRE_HEADER_V3_SIZE;
  }
}

/* The v2+ part: payload pointer and the interface-id array. */
static werr validate_header_v2(vctx *c, cmojo_wire_header *h) {
  uint64_t payload, ids;
  if (cm_wire_load(c->bytes, c->size, 32, 8) == 0)
    return CMOJO_WIRE_ERROR_UNEXPECTED_NULL_POINTER;
  werr e = read_pointer(c, 32, &payload);
  if (e)
    return e;
  /* Claiming one byte proves the payload is inside the message and before
   * the id array. Mojo fails here without naming an error; we name the
   * error the claim stands for. */
  if (!claim(c, payload, 1))
    return CMOJO_WIRE_ERROR_ILLEGAL_MEMORY_RANGE;
  static const cmojo_wire_type id_elem = {.kind = CMOJO_WIRE_KIND_UINT32};
  e = read_pointer(c, 40, &ids);
  if (e)
    return e;
  h->num_interface_ids = 0;
  h->interface_ids_offset = 0;
  if (ids) {
    e = validate_array(c, &id_elem, 0, ids);
    if (e)
      return e;
    h->num_interface_ids = rd32(c, ids + 4);
    h->interface_ids_offset = (uint32_t)(ids + CM_WIRE_ARRAY_HEADER_SIZE);
    for (uint32_t i = 0; i < h->num_interface_ids; i++) {
      uint32_t id = rd32(c, ids + CM_WIRE_ARRAY_HEADER_SIZE + 4ull * i);
      if (id == CMOJO_WIRE_INVALID_INTERFACE_ID || id == CMOJO_WIRE_PRIMARY_INTERFACE_ID)
        return CMOJO_WIRE_ERROR_ILLEGAL_INTERFACE_ID;
    }
  }
  h->payload_offset = (uint32_t)payload;
  h->payload_num_bytes = (uint32_t)((ids ? ids : c->size) - payload);
  return CMOJO_WIRE_ERROR_NONE;
}

cmojo_wire_error cmojo_wire_validate_header(const void *bytes, size_t num_bytes,
                                            cmojo_wire_header *out) {
  if (!bytes)
    num_bytes = 0;
  if (num_bytes > UINT32_MAX)
    return CMOJO_WIRE_ERROR_ILLEGAL_MEMORY_RANGE;
  vctx c = {.bytes = bytes, .size = num_bytes, .end = num_bytes};
  werr e = struct_header_and_claim(&c, 0);
  if (e)
    return e;
  cmojo_wire_header h = {0};
  h.num_bytes = rd32(&c, 0);
  h.version = rd32(&c, 4);
  if (!header_size_ok(h.version, h.num_bytes))
    return CMOJO_WIRE_ERROR_UNEXPECTED_STRUCT_HEADER;
  h.interface_id = rd32(&c, 8);
  h.name = rd32(&c, 12);
  h.flags = rd32(&c, 16);
  h.trace_nonce = rd32(&c, 20);
  const uint32_t id_flags = CMOJO_WIRE_FLAG_EXPECTS_RESPONSE | CMOJO_WIRE_FLAG_IS_RESPONSE;
  if (h.version == 0 && (h.flags & id_flags))
    return CMOJO_WIRE_ERROR_MESSAGE_HEADER_MISSING_REQUEST_ID;
  if ((h.flags & id_flags) == id_flags)
    return CMOJO_WIRE_ERROR_MESSAGE_HEADER_INVALID_FLAGS;
  if (h.version >= 1)
    h.request_id = cm_wire_load(c.bytes, c.size, 24, 8);
  if (h.version >= 3)
    h.creation_timeticks_us = (int64_t)cm_wire_load(c.bytes, c.size, 48, 8);
  if (h.version < 2) {
    h.payload_offset = h.num_bytes;
    h.payload_num_bytes = (uint32_t)(num_bytes - h.num_bytes);
  } else {
    e = validate_header_v2(&c, &h);
    if (e)
      return e;
  }
  if (out)
    *out = h;
  return CMOJO_WIRE_ERROR_NONE;
}

cmojo_wire_error cm_wire_validate_payload_sized(const void *bytes, size_t num_bytes,
                                                const cmojo_wire_header *header,
                                                uint32_t num_handles,
                                                const cmojo_wire_struct *params,
                                                uint64_t *out_c_bytes) {
  uint64_t begin = header->payload_offset;
  uint64_t end = begin + header->payload_num_bytes;
  if (!bytes || end > num_bytes)
    return CMOJO_WIRE_ERROR_ILLEGAL_MEMORY_RANGE;
  vctx c = {.bytes = bytes,
            .size = num_bytes,
            .begin = begin,
            .end = end,
            .handle_end = num_handles,
            .iid_end = header->num_interface_ids};
  werr e = validate_struct(&c, params, begin);
  if (!e && out_c_bytes)
    *out_c_bytes = c.c_bytes;
  return e;
}

cmojo_wire_error cmojo_wire_validate_payload(const void *bytes, size_t num_bytes,
                                             const cmojo_wire_header *header, uint32_t num_handles,
                                             const cmojo_wire_struct *params) {
  return cm_wire_validate_payload_sized(bytes, num_bytes, header, num_handles, params, NULL);
}

static bool is_control_message(uint32_t name) {
  return name == CMOJO_WIRE_CONTROL_RUN_NAME || name == CMOJO_WIRE_CONTROL_RUN_OR_CLOSE_PIPE_NAME;
}

static werr check_method_flags(const cmojo_wire_method *m, uint32_t flags,
                               cmojo_wire_direction direction) {
  bool expects = flags & CMOJO_WIRE_FLAG_EXPECTS_RESPONSE;
  bool is_response = flags & CMOJO_WIRE_FLAG_IS_RESPONSE;
  bool ok;
  if (direction == CMOJO_WIRE_RESPONSE)
    ok = is_response && !expects;
  else if (m->response)
    ok = expects && !is_response;
  else
    ok = !expects && !is_response;
  return ok ? CMOJO_WIRE_ERROR_NONE : CMOJO_WIRE_ERROR_MESSAGE_HEADER_INVALID_FLAGS;
}

cmojo_wire_error cmojo_wire_validate_message(const void *bytes, size_t num_bytes,
                                             uint32_t num_handles,
                                             const cmojo_wire_interface *iface,
                                             cmojo_wire_direction direction,
                                             cmojo_wire_header *out_header,
                                             const cmojo_wire_method **out_method) {
  cmojo_wire_header h;
  werr e = cmojo_wire_validate_header(bytes, num_bytes, &h);
  if (e)
    return e;
  /* Control messages belong to the control handler (which passes the
   * control tables as `iface`), as in Mojo's generated validators. */
  const cmojo_wire_method *m = cmojo_wire_find_method(iface, h.name);
  if (m || !is_control_message(h.name)) {
    if (!m || (direction == CMOJO_WIRE_RESPONSE && !m->response))
      return CMOJO_WIRE_ERROR_MESSAGE_HEADER_UNKNOWN_METHOD;
    e = check_method_flags(m, h.flags, direction);
    if (e)
      return e;
    const cmojo_wire_struct *params = direction == CMOJO_WIRE_RESPONSE ? m->response : m->request;
    e = cmojo_wire_validate_payload(bytes, num_bytes, &h, num_handles, params);
    if (e)
      return e;
  }
  if (out_header)
    *out_header = h;
  if (out_method)
    *out_method = m;
  return CMOJO_WIRE_ERROR_NONE;
}
