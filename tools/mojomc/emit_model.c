/* The table model of a packed module; see emit_model.h. */
#include "emit_model.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "pack.h"

const char *mc_c_name(struct mc_arena *arena, const struct mc_decl *d) {
  char *s = mc_arena_printf(arena, "%s", d->full_name);
  for (char *p = s; *p; p++)
    if (*p == '.')
      *p = '_';
  return s;
}

/* C11 and C++17 keywords a mojom name may spell (mojom's own keywords, such
 * as `struct` or `union`, cannot be names in the first place). */
static const char *const keywords[] = {
    "alignas",
    "alignof",
    "and",
    "and_eq",
    "asm",
    "auto",
    "bitand",
    "bitor",
    "bool",
    "break",
    "case",
    "catch",
    "char",
    "char16_t",
    "char32_t",
    "class",
    "compl",
    "const",
    "const_cast",
    "constexpr",
    "continue",
    "decltype",
    "delete",
    "do",
    "double",
    "dynamic_cast",
    "else",
    "explicit",
    "export",
    "extern",
    "float",
    "for",
    "friend",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "mutable",
    "namespace",
    "new",
    "noexcept",
    "not",
    "not_eq",
    "nullptr",
    "operator",
    "or",
    "or_eq",
    "private",
    "protected",
    "public",
    "register",
    "reinterpret_cast",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "static_assert",
    "static_cast",
    "switch",
    "template",
    "this",
    "thread_local",
    "throw",
    "try",
    "typedef",
    "typeid",
    "typename",
    "unsigned",
    "using",
    "virtual",
    "void",
    "volatile",
    "wchar_t",
    "while",
    "xor",
    "xor_eq",
};

const char *mc_c_member(struct mc_arena *arena, const char *name) {
  for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
    if (strcmp(name, keywords[i]) == 0)
      return mc_arena_printf(arena, "%s_", name);
  /* C's own underscore keywords (_Bool, _Alignas...) are valid mojom names;
   * a suffix keeps every such name compiling. */
  if (name[0] == '_')
    return mc_arena_printf(arena, "%s_", name);
  return name;
}

/* ---- types ---- */

struct builder {
  struct mc_arena *arena;
  struct mc_wmodel *model;
  struct mc_wtype **tail;
  bool failed;
};

static bool same_type(const struct mc_wtype *a, const struct mc_wtype *b) {
  return a->kind == b->kind && a->nullable == b->nullable && a->handle_type == b->handle_type &&
         a->fixed_count == b->fixed_count && a->element == b->element && a->key == b->key &&
         a->decl == b->decl;
}

static const struct mc_wtype *intern(struct builder *b, struct mc_wtype want) {
  for (struct mc_wtype *t = b->model->types; t; t = t->next)
    if (same_type(t, &want))
      return t;
  struct mc_wtype *t = mc_arena_alloc(b->arena, sizeof *t);
  *t = want;
  t->index = (uint32_t)b->model->num_types++;
  *b->tail = t;
  b->tail = &t->next;
  return t;
}

/* Handle kinds of mojom and cmojo_wire_handle_type, in the order of wire.h. */
static uint8_t handle_type_of(enum mc_type_kind k) {
  switch (k) {
    case MC_T_MSGPIPE:
      return 1;
    case MC_T_DCPIPE:
      return 2;
    case MC_T_DPPIPE:
      return 3;
    case MC_T_SHAREDBUFFER:
      return 4;
    case MC_T_PLATFORM:
      return 5;
    default:
      return 0;
  }
}

static const struct mc_wtype *type_of(struct builder *b, const struct mc_type *t);

/* The kind of a type that needs no sub-type, or 0. */
static enum mc_wkind simple_kind(enum mc_type_kind k) {
  static const enum mc_wkind numbers[] = {
      [MC_T_BOOL] = MC_WK_BOOL,           [MC_T_INT8] = MC_WK_INT8,
      [MC_T_UINT8] = MC_WK_UINT8,         [MC_T_INT16] = MC_WK_INT16,
      [MC_T_UINT16] = MC_WK_UINT16,       [MC_T_INT32] = MC_WK_INT32,
      [MC_T_UINT32] = MC_WK_UINT32,       [MC_T_INT64] = MC_WK_INT64,
      [MC_T_UINT64] = MC_WK_UINT64,       [MC_T_FLOAT] = MC_WK_FLOAT,
      [MC_T_DOUBLE] = MC_WK_DOUBLE,       [MC_T_STRING] = MC_WK_STRING,
      [MC_T_HANDLE] = MC_WK_HANDLE,       [MC_T_MSGPIPE] = MC_WK_HANDLE,
      [MC_T_SHAREDBUFFER] = MC_WK_HANDLE, [MC_T_DCPIPE] = MC_WK_HANDLE,
      [MC_T_DPPIPE] = MC_WK_HANDLE,       [MC_T_PLATFORM] = MC_WK_HANDLE,
  };
  return (size_t)k < sizeof numbers / sizeof numbers[0] ? numbers[k] : (enum mc_wkind)0;
}

static enum mc_wkind decl_kind(enum mc_type_kind k) {
  switch (k) {
    case MC_T_STRUCT:
      return MC_WK_STRUCT;
    case MC_T_UNION:
      return MC_WK_UNION;
    case MC_T_ENUM:
      return MC_WK_ENUM;
    case MC_T_PENDING_REMOTE:
      return MC_WK_PENDING_REMOTE;
    case MC_T_PENDING_RECEIVER:
      return MC_WK_PENDING_RECEIVER;
    case MC_T_PENDING_ASSOC_REMOTE:
      return MC_WK_PENDING_ASSOCIATED_REMOTE;
    case MC_T_PENDING_ASSOC_RECEIVER:
      return MC_WK_PENDING_ASSOCIATED_RECEIVER;
    default:
      return (enum mc_wkind)0;
  }
}

static const struct mc_wtype *type_of(struct builder *b, const struct mc_type *t) {
  struct mc_wtype want = {.nullable = t->nullable, .source = t};
  if (t->kind == MC_T_ARRAY) {
    want.kind = MC_WK_ARRAY;
    want.element = type_of(b, t->elem);
    want.fixed_count = t->fixed_size;
  } else if (t->kind == MC_T_MAP) {
    want.kind = MC_WK_MAP;
    want.key = type_of(b, t->key);
    want.element = type_of(b, t->elem);
  } else if ((want.kind = simple_kind(t->kind)) != 0) {
    want.handle_type = handle_type_of(t->kind);
  } else if ((want.kind = decl_kind(t->kind)) != 0) {
    want.decl = t->decl;
    if (t->kind == MC_T_STRUCT && !t->decl->has_body) {
      mc_error(t->loc, "the C emitter cannot serialize [Native] struct '%s'", t->decl->full_name);
      b->failed = true;
    }
  } else {
    mc_error(t->loc, "the C emitter has no wire form for '%s'", mc_type_spell(b->arena, t));
    b->failed = true;
    want.kind = MC_WK_UINT8; /* keeps the model well-formed until the error stops it */
  }
  return intern(b, want);
}

/* ---- structs ---- */

/* One model field per mojom field: plain fields are one packed field,
 * nullable values two (has-value flag, then the value). */
static struct mc_wstruct *struct_of(struct builder *b, const char *c_name, const char *mojom_name,
                                    struct mc_field *fields, const struct mc_struct_layout *l) {
  struct mc_wstruct *s = mc_arena_alloc(b->arena, sizeof *s);
  s->c_name = c_name;
  s->mojom_name = mojom_name;
  s->decl_fields = fields;
  s->layout = l;
  s->fields = mc_arena_alloc(b->arena, (l->count + 1) * sizeof *s->fields);
  for (size_t i = 0; i < l->count; i++) {
    const struct mc_packed_field *p = &l->fields[i];
    struct mc_wfield *w = &s->fields[s->num_fields];
    if (p->role == MC_PACKED_VALUE) {
      w[-1].offset = 8 + p->offset;
      w[-1].bit = p->bit;
      continue;
    }
    w->field = p->field;
    w->type = type_of(b, p->field->type);
    w->min_version = p->min_version;
    if (p->role == MC_PACKED_FLAG) {
      w->has_value_offset = 8 + p->offset;
      w->has_value_bit = p->bit;
    } else {
      w->offset = 8 + p->offset;
      w->bit = p->bit;
    }
    s->num_fields++;
  }
  return s;
}

/* ---- unions and enums ---- */

static struct mc_wunion *union_of(struct builder *b, const struct mc_decl *d) {
  struct mc_wunion *u = mc_arena_alloc(b->arena, sizeof *u);
  u->decl = d;
  u->c_name = mc_c_name(b->arena, d);
  u->extensible = mc_attr_flag(d->attrs, "Extensible");
  for (const struct mc_field *f = d->fields; f; f = f->next)
    u->num_fields++;
  u->fields = mc_arena_alloc(b->arena, (u->num_fields + 1) * sizeof *u->fields);
  uint32_t tag = 0;
  /* Tags are declaration positions, as Chromium's C++ bindings number them. */
  for (const struct mc_field *f = d->fields; f; f = f->next, tag++) {
    u->fields[tag] = (struct mc_wunion_field){f, tag, type_of(b, f->type)};
    if (mc_attr_find(f->attrs, "Default"))
      u->default_tag = tag;
  }
  return u;
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

static struct mc_wenum *enum_of(struct builder *b, const struct mc_decl *d) {
  struct mc_wenum *e = mc_arena_alloc(b->arena, sizeof *e);
  e->decl = d;
  e->c_name = mc_c_name(b->arena, d);
  /* A [Native] enum has no declared values: any int32 is acceptable. */
  e->extensible = mc_attr_flag(d->attrs, "Extensible") || !d->has_body;
  size_t n = 0;
  for (const struct mc_enum_value *v = d->values; v; v = v->next)
    n++;
  e->values = mc_arena_alloc(b->arena, (n + 1) * sizeof *e->values);
  for (const struct mc_enum_value *v = d->values; v; v = v->next) {
    e->values[e->num_values++] = (int32_t)v->number;
    if (mc_attr_find(v->attrs, "Default")) {
      e->has_default = true;
      e->default_value = (int32_t)v->number;
    }
  }
  qsort(e->values, e->num_values, sizeof *e->values, cmp_i32);
  size_t distinct = 0;
  for (size_t i = 0; i < e->num_values; i++)
    if (i == 0 || e->values[i] != e->values[distinct - 1])
      e->values[distinct++] = e->values[i];
  e->num_values = distinct;
  return e;
}

/* ---- interfaces ---- */

static uint32_t method_flags(const struct mc_method *m) {
  uint32_t flags = 0;
  if (mc_attr_flag(m->attrs, "Sync"))
    flags |= MC_WM_SYNC;
  if (mc_attr_flag(m->attrs, "NoInterrupt"))
    flags |= MC_WM_NO_INTERRUPT;
  if (mc_attr_flag(m->attrs, "SupportsUrgent"))
    flags |= MC_WM_SUPPORTS_URGENT;
  if (mc_attr_flag(m->attrs, "UnlimitedSize"))
    flags |= MC_WM_UNLIMITED_SIZE;
  return flags;
}

static struct mc_winterface *interface_of(struct builder *b, const struct mc_decl *d) {
  struct mc_winterface *w = mc_arena_alloc(b->arena, sizeof *w);
  w->decl = d;
  w->c_name = mc_c_name(b->arena, d);
  w->version = d->version;
  for (const struct mc_method *m = d->methods; m; m = m->next)
    w->num_methods++;
  w->methods = mc_arena_alloc(b->arena, (w->num_methods + 1) * sizeof *w->methods);
  size_t i = 0;
  for (const struct mc_method *m = d->methods; m; m = m->next, i++) {
    struct mc_wmethod *wm = &w->methods[i];
    wm->method = m;
    wm->c_name = mc_arena_printf(b->arena, "%s_%s", w->c_name, m->name);
    wm->ordinal = (uint32_t)m->ordinal;
    wm->min_version = m->min_version;
    wm->flags = method_flags(m);
    wm->request = struct_of(b, mc_arena_printf(b->arena, "%s_Params", wm->c_name),
                            mc_arena_printf(b->arena, "%s.%s_Params", d->full_name, m->name),
                            m->params, m->param_layout);
    if (m->result_ok) {
      /* Chromium's generators do not serialize result<T, E> yet either. */
      mc_error(m->loc, "the C emitter cannot serialize result<T, E> responses");
      b->failed = true;
    } else if (m->has_response) {
      wm->response =
          struct_of(b, mc_arena_printf(b->arena, "%s_ResponseParams", wm->c_name),
                    mc_arena_printf(b->arena, "%s.%s_ResponseParams", d->full_name, m->name),
                    m->response, m->response_layout);
    }
  }
  return w;
}

/* ---- the module ---- */

/* Definitions of every kind, nested enums included: a bound for each list. */
static size_t count_decls(const struct mc_module *mod) {
  size_t n = 0;
  for (const struct mc_decl *d = mod->decls; d; d = d->next) {
    n++;
    for (const struct mc_decl *k = d->members; k; k = k->next)
      n++;
  }
  return n + 1;
}

static void add_enums(struct builder *b, const struct mc_decl *d) {
  struct mc_wmodel *m = b->model;
  if (d->kind == MC_DECL_ENUM)
    m->enums[m->num_enums++] = enum_of(b, d);
  for (const struct mc_decl *k = d->members; k; k = k->next)
    if (k->kind == MC_DECL_ENUM)
      m->enums[m->num_enums++] = enum_of(b, k);
}

struct mc_wmodel *mc_wmodel_build(struct mc_arena *arena, const struct mc_module *mod) {
  struct mc_wmodel *m = mc_arena_alloc(arena, sizeof *m);
  struct builder b = {arena, m, &m->types, false};
  m->module = mod;
  size_t n = count_decls(mod);
  m->structs = mc_arena_alloc(arena, n * sizeof *m->structs);
  m->unions = mc_arena_alloc(arena, n * sizeof *m->unions);
  m->enums = mc_arena_alloc(arena, n * sizeof *m->enums);
  m->interfaces = mc_arena_alloc(arena, n * sizeof *m->interfaces);
  for (const struct mc_decl *d = mod->decls; d; d = d->next) {
    add_enums(&b, d);
    if (d->kind == MC_DECL_STRUCT && d->has_body) {
      const char *c_name = mc_c_name(arena, d);
      struct mc_wstruct *s = struct_of(&b, c_name, d->full_name, d->fields, d->layout);
      s->decl = d;
      m->structs[m->num_structs++] = s;
    } else if (d->kind == MC_DECL_UNION) {
      m->unions[m->num_unions++] = union_of(&b, d);
    } else if (d->kind == MC_DECL_INTERFACE) {
      m->interfaces[m->num_interfaces++] = interface_of(&b, d);
    }
  }
  return b.failed ? NULL : m;
}
