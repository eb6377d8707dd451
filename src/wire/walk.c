/* Walks C values (decoded, or about to be encoded) to visit the handles they
 * hold, so that owners can close them without knowing the types. The values
 * are trusted: they are ours, not a peer's. */
#include <string.h>

#include "wire_internal.h"

typedef struct walk {
  void (*fn)(MojoHandle handle, void *ctx);
  void *ctx;
} walk;

static void walk_value(const walk *w, const cmojo_wire_type *t, const uint8_t *cval);

static void walk_struct(const walk *w, const cmojo_wire_struct *st, const uint8_t *c) {
  for (uint32_t i = 0; i < st->num_fields; i++) {
    const cmojo_wire_field *f = &st->fields[i];
    if (!cm_wire_is_value_kind(f->type->kind))
      walk_value(w, f->type, c + f->c_offset);
  }
}

static void walk_elements(const walk *w, const cmojo_wire_type *elem, uint32_t n,
                          const uint8_t *data) {
  if (!data || cm_wire_is_value_kind(elem->kind))
    return;
  size_t csize = cmojo_wire_c_size(elem);
  for (uint32_t i = 0; i < n; i++)
    walk_value(w, elem, data + i * csize);
}

static void walk_value(const walk *w, const cmojo_wire_type *t, const uint8_t *cval) {
  MojoHandle h = MOJO_HANDLE_INVALID;
  const uint8_t *p;
  switch (t->kind) {
    case CMOJO_WIRE_KIND_HANDLE:
    case CMOJO_WIRE_KIND_PENDING_RECEIVER:
      memcpy(&h, cval, sizeof(h));
      break;
    case CMOJO_WIRE_KIND_PENDING_REMOTE:
      h = ((const cmojo_pending_remote *)cval)->handle;
      break;
    case CMOJO_WIRE_KIND_ARRAY: {
      const cmojo_array *a = (const cmojo_array *)cval;
      walk_elements(w, t->element, a->count, a->data);
      return;
    }
    case CMOJO_WIRE_KIND_MAP: {
      const cmojo_map *m = (const cmojo_map *)cval;
      walk_elements(w, t->key, m->count, m->keys);
      walk_elements(w, t->element, m->count, m->values);
      return;
    }
    case CMOJO_WIRE_KIND_STRUCT:
      memcpy(&p, cval, sizeof(p));
      if (p)
        walk_struct(w, t->struct_type, p);
      return;
    case CMOJO_WIRE_KIND_UNION: {
      memcpy(&p, cval, sizeof(p));
      if (!p)
        return;
      uint32_t tag;
      memcpy(&tag, p, sizeof(tag));
      const cmojo_wire_union_field *f = cm_wire_union_find(t->union_type, tag);
      if (f)
        walk_value(w, f->type, p + t->union_type->c_value_offset);
      return;
    }
    default: /* strings, numbers, associated endpoints: no handles */
      return;
  }
  if (h != MOJO_HANDLE_INVALID)
    w->fn(h, w->ctx);
}

void cmojo_wire_for_each_handle(const cmojo_wire_struct *type, const void *params,
                                void (*fn)(MojoHandle handle, void *ctx), void *ctx) {
  if (!type || !params || !fn)
    return;
  walk w = {fn, ctx};
  walk_struct(&w, type, params);
}
