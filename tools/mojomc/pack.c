/* Struct packing and version tables; see pack.h. */
#include "pack.h"

void mc_wire_size(const struct mc_type *t, enum mc_type_kind kind, uint32_t *size,
                  uint32_t *align) {
  switch (kind) {
    case MC_T_BOOL:
    case MC_T_INT8:
    case MC_T_UINT8:
      *size = 1;
      break;
    case MC_T_INT16:
    case MC_T_UINT16:
      *size = 2;
      break;
    case MC_T_INT32:
    case MC_T_UINT32:
    case MC_T_FLOAT:
    case MC_T_ENUM:
    case MC_T_HANDLE:
    case MC_T_MSGPIPE:
    case MC_T_SHAREDBUFFER:
    case MC_T_DCPIPE:
    case MC_T_DPPIPE:
    case MC_T_PLATFORM:
    case MC_T_PENDING_RECEIVER:
    case MC_T_PENDING_ASSOC_RECEIVER:
      *size = 4;
      break;
    case MC_T_UNION:
      *size = 16, *align = 8;
      return;
    /* {handle or interface-id index, version}: 8 bytes, but 4-aligned. */
    case MC_T_INTERFACE:
    case MC_T_PENDING_REMOTE:
    case MC_T_PENDING_ASSOC_REMOTE:
      *size = 8, *align = 4;
      return;
    default:
      *size = 8;
      break; /* 64-bit numbers and pointers */
  }
  (void)t;
  *align = *size;
}

static uint32_t align_up(uint32_t v, uint32_t a) {
  return (v + a - 1) / a * a;
}

/* Where `f` goes if placed right after `last` (pack.py's GetFieldOffset). */
static void offset_after(const struct mc_packed_field *f, const struct mc_packed_field *last,
                         uint32_t *offset, uint8_t *bit) {
  if (f->kind == MC_T_BOOL && last->kind == MC_T_BOOL && last->bit < 7) {
    *offset = last->offset;
    *bit = (uint8_t)(last->bit + 1);
    return;
  }
  *offset = align_up(last->offset + last->size, f->align);
  *bit = 0;
}

/* Expands the fields, in ordinal order, into packed fields. */
static size_t expand_fields(struct mc_arena *arena, struct mc_field *fields,
                            struct mc_packed_field *out) {
  size_t n, count = 0;
  struct mc_field **sorted = mc_fields_by_ordinal(arena, fields, &n);
  for (size_t i = 0; i < n; i++) {
    struct mc_field *f = sorted[i];
    bool split = f->type->nullable && mc_type_is_value(f->type);
    for (int sub = 0; sub < (split ? 2 : 1); sub++) {
      struct mc_packed_field *p = &out[count++];
      p->field = f;
      p->role = !split ? MC_PACKED_PLAIN : sub == 0 ? MC_PACKED_FLAG : MC_PACKED_VALUE;
      p->kind = p->role == MC_PACKED_FLAG ? MC_T_BOOL : f->type->kind;
      p->ordinal = (uint32_t)f->ordinal;
      p->min_version = f->min_version;
      mc_wire_size(f->type, p->kind, &p->size, &p->align);
    }
  }
  return count;
}

/* Places each field in the first gap that fits, else at the end. */
static void place_fields(struct mc_struct_layout *l) {
  struct mc_packed_field **dst = l->by_offset;
  size_t placed = 0;
  for (size_t i = 0; i < l->count; i++) {
    struct mc_packed_field *f = &l->fields[i];
    if (placed == 0) {
      dst[placed++] = f;
      continue;
    }
    size_t at = placed;
    for (size_t j = 1; j < placed; j++) {
      uint32_t off;
      uint8_t bit;
      offset_after(f, dst[j - 1], &off, &bit);
      if (off + f->size <= dst[j]->offset) {
        f->offset = off;
        f->bit = bit;
        at = j;
        break;
      }
    }
    if (at == placed)
      offset_after(f, dst[placed - 1], &f->offset, &f->bit);
    for (size_t k = placed; k > at; k--)
      dst[k] = dst[k - 1];
    dst[at] = f;
    placed++;
  }
}

/* One entry per distinct MinVersion (pack.py's GetVersionInfo). */
static void build_versions(struct mc_arena *arena, struct mc_struct_layout *l) {
  l->versions = mc_arena_alloc(arena, (l->count + 1) * sizeof *l->versions);
  struct mc_version_entry cur = {0, 0, 0, 8};
  uint32_t payload = 0;
  for (size_t i = 0; i < l->count; i++) {
    const struct mc_packed_field *f = &l->fields[i];
    if (f->min_version != cur.version) {
      l->versions[l->version_count++] = cur;
      cur.version = f->min_version;
    }
    if (f->role != MC_PACKED_VALUE)
      cur.num_fields++;
    cur.num_packed_fields++;
    uint32_t end = align_up(f->offset + f->size, 8);
    if (end > payload)
      payload = end;
    cur.num_bytes = 8 + payload;
  }
  l->versions[l->version_count++] = cur;
}

static struct mc_struct_layout *layout_fields(struct mc_arena *arena, const char *name,
                                              struct mc_field *fields) {
  size_t n = 0;
  for (struct mc_field *f = fields; f; f = f->next)
    n++;
  struct mc_struct_layout *l = mc_arena_alloc(arena, sizeof *l);
  l->name = name;
  l->fields = mc_arena_alloc(arena, (2 * n + 1) * sizeof *l->fields);
  l->count = expand_fields(arena, fields, l->fields);
  l->by_offset = mc_arena_alloc(arena, (l->count + 1) * sizeof *l->by_offset);
  place_fields(l);
  build_versions(arena, l);
  return l;
}

static uint32_t newest(const struct mc_struct_layout *l) {
  return l->versions[l->version_count - 1].version;
}

static void pack_interface(struct mc_arena *arena, struct mc_decl *d) {
  d->version = 0;
  for (struct mc_method *m = d->methods; m; m = m->next) {
    const char *base = mc_arena_printf(arena, "%s_%s", d->name, m->name);
    m->param_layout = layout_fields(arena, mc_arena_printf(arena, "%s_Params", base), m->params);
    if (m->min_version > d->version)
      d->version = m->min_version;
    if (newest(m->param_layout) > d->version)
      d->version = newest(m->param_layout);
    /* result<T, E> responses are parsed but, as in Chromium, not serialized yet. */
    if (!m->has_response || m->result_ok)
      continue;
    m->response_layout =
        layout_fields(arena, mc_arena_printf(arena, "%s_ResponseParams", base), m->response);
    if (newest(m->response_layout) > d->version)
      d->version = newest(m->response_layout);
  }
}

void mc_pack(struct mc_arena *arena, struct mc_module *mod) {
  for (struct mc_decl *d = mod->decls; d; d = d->next) {
    if (d->kind == MC_DECL_STRUCT && d->has_body)
      d->layout = layout_fields(arena, d->name, d->fields);
    else if (d->kind == MC_DECL_INTERFACE)
      pack_interface(arena, d);
  }
}
