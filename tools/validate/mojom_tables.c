/* Building runtime tables from the table model; see mojom_tables.h. */
#include "mojom_tables.h"

#include <string.h>

#include "emit_model.h"
#include "pack.h"

/* The model's enums are copies of the runtime's; the tables are only right
 * if the numbers agree. */
#define SAME(a, b) _Static_assert((int)(a) == (int)(b), #a " must equal " #b)
SAME(MC_WK_BOOL, CMOJO_WIRE_KIND_BOOL);
SAME(MC_WK_INT8, CMOJO_WIRE_KIND_INT8);
SAME(MC_WK_UINT8, CMOJO_WIRE_KIND_UINT8);
SAME(MC_WK_INT16, CMOJO_WIRE_KIND_INT16);
SAME(MC_WK_UINT16, CMOJO_WIRE_KIND_UINT16);
SAME(MC_WK_INT32, CMOJO_WIRE_KIND_INT32);
SAME(MC_WK_UINT32, CMOJO_WIRE_KIND_UINT32);
SAME(MC_WK_INT64, CMOJO_WIRE_KIND_INT64);
SAME(MC_WK_UINT64, CMOJO_WIRE_KIND_UINT64);
SAME(MC_WK_FLOAT, CMOJO_WIRE_KIND_FLOAT);
SAME(MC_WK_DOUBLE, CMOJO_WIRE_KIND_DOUBLE);
SAME(MC_WK_ENUM, CMOJO_WIRE_KIND_ENUM);
SAME(MC_WK_STRING, CMOJO_WIRE_KIND_STRING);
SAME(MC_WK_ARRAY, CMOJO_WIRE_KIND_ARRAY);
SAME(MC_WK_MAP, CMOJO_WIRE_KIND_MAP);
SAME(MC_WK_STRUCT, CMOJO_WIRE_KIND_STRUCT);
SAME(MC_WK_UNION, CMOJO_WIRE_KIND_UNION);
SAME(MC_WK_HANDLE, CMOJO_WIRE_KIND_HANDLE);
SAME(MC_WK_PENDING_REMOTE, CMOJO_WIRE_KIND_PENDING_REMOTE);
SAME(MC_WK_PENDING_RECEIVER, CMOJO_WIRE_KIND_PENDING_RECEIVER);
SAME(MC_WK_PENDING_ASSOCIATED_REMOTE, CMOJO_WIRE_KIND_PENDING_ASSOCIATED_REMOTE);
SAME(MC_WK_PENDING_ASSOCIATED_RECEIVER, CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER);
SAME(MC_WM_SYNC, CMOJO_WIRE_METHOD_SYNC);
SAME(MC_WM_NO_INTERRUPT, CMOJO_WIRE_METHOD_NO_INTERRUPT);
SAME(MC_WM_SUPPORTS_URGENT, CMOJO_WIRE_METHOD_SUPPORTS_URGENT);
SAME(MC_WM_UNLIMITED_SIZE, CMOJO_WIRE_METHOD_UNLIMITED_SIZE);
/* emit_model.c numbers handle types in wire.h's order. */
SAME(1, CMOJO_WIRE_HANDLE_MESSAGE_PIPE);
SAME(2, CMOJO_WIRE_HANDLE_DATA_PIPE_CONSUMER);
SAME(3, CMOJO_WIRE_HANDLE_DATA_PIPE_PRODUCER);
SAME(4, CMOJO_WIRE_HANDLE_SHARED_BUFFER);
SAME(5, CMOJO_WIRE_HANDLE_PLATFORM);
#undef SAME

/* A definition and the table built for it. */
struct binding {
  const struct mc_decl *decl;
  void *table;
};

struct cv_tables {
  struct mc_arena *arena;
  struct binding *bindings;
  size_t num_bindings, cap_bindings;
  struct mc_wmodel **models;
  size_t num_models;
};

static void *alloc(struct cv_tables *t, size_t n, size_t size) {
  return mc_arena_alloc(t->arena, (n ? n : 1) * size);
}

static void bind(struct cv_tables *t, const struct mc_decl *decl, void *table) {
  if (t->num_bindings == t->cap_bindings) {
    size_t cap = t->cap_bindings ? 2 * t->cap_bindings : 64;
    struct binding *more = alloc(t, cap, sizeof *more);
    if (t->num_bindings)
      memcpy(more, t->bindings, t->num_bindings * sizeof *more);
    t->bindings = more;
    t->cap_bindings = cap;
  }
  t->bindings[t->num_bindings++] = (struct binding){decl, table};
}

static void *lookup(const struct cv_tables *t, const struct mc_decl *decl) {
  for (size_t i = 0; i < t->num_bindings; i++)
    if (t->bindings[i].decl == decl)
      return t->bindings[i].table;
  return NULL;
}

/* Phase 1: an empty table for every definition, so types can point at any. */
static void declare(struct cv_tables *t, const struct mc_wmodel *m) {
  for (size_t i = 0; i < m->num_structs; i++)
    bind(t, m->structs[i]->decl, alloc(t, 1, sizeof(cmojo_wire_struct)));
  for (size_t i = 0; i < m->num_unions; i++)
    bind(t, m->unions[i]->decl, alloc(t, 1, sizeof(cmojo_wire_union)));
  for (size_t i = 0; i < m->num_enums; i++)
    bind(t, m->enums[i]->decl, alloc(t, 1, sizeof(cmojo_wire_enum)));
  for (size_t i = 0; i < m->num_interfaces; i++)
    bind(t, m->interfaces[i]->decl, alloc(t, 1, sizeof(cmojo_wire_interface)));
}

/* The model lists types after the types they use, so one pass suffices. */
static cmojo_wire_type *build_types(struct cv_tables *t, const struct mc_wmodel *m) {
  cmojo_wire_type *types = alloc(t, m->num_types, sizeof *types);
  for (const struct mc_wtype *w = m->types; w; w = w->next) {
    cmojo_wire_type *c = &types[w->index];
    c->kind = (uint8_t)w->kind;
    c->nullable = w->nullable;
    c->handle_type = w->handle_type;
    c->fixed_count = w->fixed_count;
    c->element = w->element ? &types[w->element->index] : NULL;
    c->key = w->key ? &types[w->key->index] : NULL;
    void *sub = w->decl ? lookup(t, w->decl) : NULL;
    if (w->kind == MC_WK_STRUCT)
      c->struct_type = sub;
    else if (w->kind == MC_WK_UNION)
      c->union_type = sub;
    else if (w->kind == MC_WK_ENUM)
      c->enum_type = sub;
    else if (w->decl)
      c->interface = sub;
  }
  return types;
}

static void fill_struct(struct cv_tables *t, cmojo_wire_struct *c, const struct mc_wstruct *s,
                        const cmojo_wire_type *types) {
  cmojo_wire_field *fields = alloc(t, s->num_fields, sizeof *fields);
  for (size_t i = 0; i < s->num_fields; i++) {
    const struct mc_wfield *f = &s->fields[i];
    fields[i] = (cmojo_wire_field){.name = f->field->name,
                                   .type = &types[f->type->index],
                                   .offset = f->offset,
                                   .bit = f->bit,
                                   .has_value_bit = f->has_value_bit,
                                   .has_value_offset = f->has_value_offset,
                                   .min_version = f->min_version};
  }
  const struct mc_struct_layout *l = s->layout;
  cmojo_wire_version *versions = alloc(t, l->version_count, sizeof *versions);
  for (size_t i = 0; i < l->version_count; i++)
    versions[i] = (cmojo_wire_version){l->versions[i].version, l->versions[i].num_bytes};
  *c = (cmojo_wire_struct){.name = s->mojom_name,
                           .fields = fields,
                           .num_fields = (uint32_t)s->num_fields,
                           .versions = versions,
                           .num_versions = (uint32_t)l->version_count};
}

static void fill_union(struct cv_tables *t, const struct mc_wunion *u,
                       const cmojo_wire_type *types) {
  cmojo_wire_union_field *fields = alloc(t, u->num_fields, sizeof *fields);
  for (size_t i = 0; i < u->num_fields; i++)
    fields[i] = (cmojo_wire_union_field){u->fields[i].field->name, u->fields[i].tag,
                                         &types[u->fields[i].type->index]};
  *(cmojo_wire_union *)lookup(t, u->decl) =
      (cmojo_wire_union){.name = u->decl->full_name,
                         .fields = fields,
                         .num_fields = (uint32_t)u->num_fields,
                         .extensible = u->extensible,
                         .default_tag = u->default_tag};
}

static void fill_enum(struct cv_tables *t, const struct mc_wenum *e) {
  *(cmojo_wire_enum *)lookup(t, e->decl) = (cmojo_wire_enum){.name = e->decl->full_name,
                                                             .values = e->values,
                                                             .num_values = (uint32_t)e->num_values,
                                                             .extensible = e->extensible,
                                                             .has_default = e->has_default,
                                                             .default_value = e->default_value};
}

static void fill_interface(struct cv_tables *t, const struct mc_winterface *w,
                           const cmojo_wire_type *types) {
  cmojo_wire_method *methods = alloc(t, w->num_methods, sizeof *methods);
  for (size_t i = 0; i < w->num_methods; i++) {
    const struct mc_wmethod *m = &w->methods[i];
    cmojo_wire_struct *request = alloc(t, 1, sizeof *request);
    fill_struct(t, request, m->request, types);
    cmojo_wire_struct *response = NULL;
    if (m->response) {
      response = alloc(t, 1, sizeof *response);
      fill_struct(t, response, m->response, types);
    }
    methods[i] = (cmojo_wire_method){m->method->name, m->ordinal, m->min_version,
                                     m->flags,        request,    response};
  }
  *(cmojo_wire_interface *)lookup(t, w->decl) =
      (cmojo_wire_interface){w->decl->full_name, w->version, methods, (uint32_t)w->num_methods};
}

/* Phase 2: the contents, now that every table has an address. */
static void define(struct cv_tables *t, const struct mc_wmodel *m) {
  const cmojo_wire_type *types = build_types(t, m);
  for (size_t i = 0; i < m->num_structs; i++)
    fill_struct(t, lookup(t, m->structs[i]->decl), m->structs[i], types);
  for (size_t i = 0; i < m->num_unions; i++)
    fill_union(t, m->unions[i], types);
  for (size_t i = 0; i < m->num_enums; i++)
    fill_enum(t, m->enums[i]);
  for (size_t i = 0; i < m->num_interfaces; i++)
    fill_interface(t, m->interfaces[i], types);
}

struct cv_tables *cv_tables_build(struct mc_ctx *ctx) {
  struct cv_tables *t = mc_arena_alloc(ctx->arena, sizeof *t);
  t->arena = ctx->arena;
  for (struct mc_module *m = ctx->modules; m; m = m->next)
    t->num_models++;
  t->models = alloc(t, t->num_models, sizeof *t->models);
  size_t i = 0;
  for (struct mc_module *m = ctx->modules; m; m = m->next, i++) {
    t->models[i] = mc_wmodel_build(ctx->arena, m);
    if (!t->models[i])
      return NULL;
    declare(t, t->models[i]);
  }
  for (i = 0; i < t->num_models; i++)
    define(t, t->models[i]);
  return t;
}

const cmojo_wire_interface *cv_tables_find_interface(const struct cv_tables *t,
                                                     const struct mc_module *root,
                                                     const char *name) {
  for (size_t i = 0; i < t->num_models; i++) {
    const struct mc_wmodel *m = t->models[i];
    for (size_t j = 0; j < m->num_interfaces; j++) {
      const struct mc_decl *d = m->interfaces[j]->decl;
      if (strcmp(d->full_name, name) == 0 || (m->module == root && strcmp(d->name, name) == 0))
        return lookup(t, d);
    }
  }
  return NULL;
}
