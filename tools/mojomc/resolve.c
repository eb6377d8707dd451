/* Symbol table, type-name lookup and constant evaluation; see resolve.h. */
#include "resolve.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"

/* ---- symbol table: full name -> definition, open addressing ---- */

enum sym_kind { SYM_TYPE, SYM_CONST, SYM_ENUM_VALUE };

struct sym {
  const char *key; /* NULL = empty slot */
  enum sym_kind kind;
  struct mc_decl *decl; /* type, const, or the enum of an enum value */
  struct mc_enum_value *value;
  const struct mc_module *module;
};

struct mc_symtab {
  struct sym *slots;
  size_t cap, used;
};

static size_t hash_str(const char *s) {
  size_t h = 1469598103934665603u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

static void st_insert(struct mc_symtab *st, struct sym sym) {
  if ((st->used + 1) * 2 > st->cap) {
    struct mc_symtab bigger = {calloc(st->cap ? st->cap * 2 : 256, sizeof(struct sym)),
                               st->cap ? st->cap * 2 : 256, 0};
    if (!bigger.slots) {
      mc_error_plain("out of memory");
      exit(1);
    }
    for (size_t i = 0; i < st->cap; i++)
      if (st->slots[i].key)
        st_insert(&bigger, st->slots[i]);
    free(st->slots);
    *st = bigger;
  }
  size_t i = hash_str(sym.key) & (st->cap - 1);
  while (st->slots[i].key)
    i = (i + 1) & (st->cap - 1);
  st->slots[i] = sym;
  st->used++;
}

static bool visible_from(const struct mc_module *from, const struct mc_module *owner) {
  if (from == owner)
    return true;
  for (const struct mc_import *imp = from->imports; imp; imp = imp->next)
    if (imp->module == owner)
      return true;
  return false;
}

/* Finds `key` among the symbols `from` can see: its own first, then its imports. */
static const struct sym *st_find(const struct mc_ctx *ctx, const struct mc_module *from,
                                 const char *key, bool want_value) {
  const struct mc_symtab *st = ctx->symtab;
  if (!st->cap)
    return NULL;
  const struct sym *found = NULL;
  for (size_t i = hash_str(key) & (st->cap - 1); st->slots[i].key; i = (i + 1) & (st->cap - 1)) {
    const struct sym *s = &st->slots[i];
    if ((s->kind != SYM_TYPE) != want_value || strcmp(s->key, key) != 0)
      continue;
    if (s->module == from)
      return s;
    if (!found && visible_from(from, s->module))
      found = s;
  }
  return found;
}

void mc_ctx_init(struct mc_ctx *ctx, struct mc_arena *arena) {
  memset(ctx, 0, sizeof *ctx);
  ctx->arena = arena;
  ctx->modules_tail = &ctx->modules;
  ctx->symtab = mc_arena_alloc(arena, sizeof *ctx->symtab);
}

void mc_ctx_release(struct mc_ctx *ctx) {
  free(ctx->symtab->slots);
  ctx->symtab->slots = NULL;
}

/* ---- registration ---- */

static const char *qualify(struct mc_ctx *ctx, const struct mc_module *mod,
                           const struct mc_decl *parent, const char *name) {
  const char *prefix = parent ? parent->full_name : mod->namespace_;
  if (!prefix[0])
    return name;
  return mc_arena_printf(ctx->arena, "%s.%s", prefix, name);
}

static void register_decl(struct mc_ctx *ctx, struct mc_module *mod, struct mc_decl *d,
                          struct mc_decl *parent) {
  d->module = mod;
  d->parent = parent;
  d->full_name = qualify(ctx, mod, parent, d->name);
  enum sym_kind kind = d->kind == MC_DECL_CONST ? SYM_CONST : SYM_TYPE;
  st_insert(ctx->symtab, (struct sym){d->full_name, kind, d, NULL, mod});
  for (struct mc_enum_value *v = d->values; v; v = v->next) {
    const char *key = mc_arena_printf(ctx->arena, "%s.%s", d->full_name, v->name);
    st_insert(ctx->symtab, (struct sym){key, SYM_ENUM_VALUE, d, v, mod});
  }
  for (struct mc_decl *m = d->members; m; m = m->next)
    register_decl(ctx, mod, m, d);
}

/* ---- scopes ---- */

/* Tries name lookups from the innermost scope outwards: for scope decl S
 * (nested in P) of module a.b that is a.b.P.S.name, a.b.P.name, a.b.name, name. */
static const struct sym *lookup_scoped(struct mc_ctx *ctx, const struct mc_module *mod,
                                       const struct mc_decl *scope, const char *name,
                                       bool want_value) {
  for (const struct mc_decl *s = scope; s; s = s->parent) {
    const struct sym *hit =
        st_find(ctx, mod, mc_arena_printf(ctx->arena, "%s.%s", s->full_name, name), want_value);
    if (hit)
      return hit;
  }
  if (mod->namespace_[0]) {
    const struct sym *hit =
        st_find(ctx, mod, mc_arena_printf(ctx->arena, "%s.%s", mod->namespace_, name), want_value);
    if (hit)
      return hit;
  }
  return st_find(ctx, mod, name, want_value);
}

/* ---- types ---- */

static bool resolve_type(struct mc_ctx *ctx, const struct mc_module *mod,
                         const struct mc_decl *scope, struct mc_type *t) {
  if (t->elem && !resolve_type(ctx, mod, scope, t->elem))
    return false;
  if (t->key && !resolve_type(ctx, mod, scope, t->key))
    return false;
  bool pending = t->kind >= MC_T_PENDING_REMOTE;
  if (t->kind != MC_T_UNRESOLVED && !pending)
    return true;
  const struct sym *s = lookup_scoped(ctx, mod, scope, t->name, false);
  if (!s) {
    mc_error(t->loc, "unknown type '%s'", t->name);
    return false;
  }
  struct mc_decl *d = s->decl;
  if (pending) {
    if (d->kind != MC_DECL_INTERFACE) {
      mc_error(t->loc, "%s needs an interface, but '%s' is not one", mc_type_kind_name(t->kind),
               t->name);
      return false;
    }
    t->decl = d;
    return true;
  }
  switch (d->kind) {
    case MC_DECL_STRUCT:
      t->kind = MC_T_STRUCT;
      break;
    case MC_DECL_UNION:
      t->kind = MC_T_UNION;
      break;
    case MC_DECL_ENUM:
      t->kind = MC_T_ENUM;
      break;
    case MC_DECL_INTERFACE:
      t->kind = MC_T_INTERFACE;
      break;
    default:
      mc_error(t->loc, "'%s' is not a type", t->name);
      return false;
  }
  t->decl = d;
  return true;
}

static bool resolve_fields(struct mc_ctx *ctx, const struct mc_module *mod,
                           const struct mc_decl *scope, struct mc_field *f) {
  bool ok = true;
  for (; f; f = f->next)
    ok &= resolve_type(ctx, mod, scope, f->type);
  return ok;
}

static bool resolve_decl_types(struct mc_ctx *ctx, const struct mc_module *mod, struct mc_decl *d) {
  bool ok = true;
  if (d->kind == MC_DECL_CONST)
    return resolve_type(ctx, mod, d->parent, d->const_type);
  ok &= resolve_fields(ctx, mod, d, d->fields);
  for (struct mc_method *m = d->methods; m; m = m->next) {
    ok &= resolve_fields(ctx, mod, d, m->params);
    ok &= resolve_fields(ctx, mod, d, m->response);
    if (m->result_ok) {
      ok &= resolve_type(ctx, mod, d, m->result_ok);
      ok &= resolve_type(ctx, mod, d, m->result_err);
    }
  }
  for (struct mc_decl *m = d->members; m; m = m->next)
    ok &= resolve_decl_types(ctx, mod, m);
  return ok;
}

/* ---- values ---- */

bool mc_parse_int(const char *text, bool *neg, uint64_t *mag) {
  *neg = false;
  if (*text == '+' || *text == '-')
    *neg = *text++ == '-';
  unsigned base = 10;
  if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
    base = 16, text += 2;
  uint64_t v = 0;
  for (; *text; text++) {
    unsigned d = *text <= '9' ? (unsigned)(*text - '0') : (unsigned)((*text | 0x20) - 'a' + 10);
    if (v > (UINT64_MAX - d) / base)
      return false;
    v = v * base + d;
  }
  *mag = v;
  return true;
}

/* Whether an integer literal fits [lo, hi]; hi is unsigned so uint64 works. */
static bool int_fits(const char *text, int64_t lo, uint64_t hi) {
  bool neg = false;
  uint64_t mag = 0;
  if (!mc_parse_int(text, &neg, &mag))
    return false;
  if (!neg)
    return mag <= hi;
  return mag == 0 || (lo < 0 && mag - 1 <= (uint64_t)(-(lo + 1)));
}

static bool eval_const(struct mc_ctx *ctx, struct mc_decl *c, int depth);
static bool eval_enum(struct mc_ctx *ctx, struct mc_decl *e, int depth);

static const char *const builtin_values[] = {
    "double.INFINITY", "double.NEGATIVE_INFINITY", "double.NAN",
    "float.INFINITY",  "float.NEGATIVE_INFINITY",  "float.NAN",
};

static bool use_enum_value(struct mc_ctx *ctx, const struct sym *s, const struct mc_value *v,
                           struct mc_resolved_value *out, int depth) {
  if (s->decl->enum_state != 1 && !eval_enum(ctx, s->decl, depth + 1))
    return false;
  if (s->value->state != 2) {
    mc_error(v->loc, "'%s' is used before its value is known", v->text);
    return false;
  }
  *out = (struct mc_resolved_value){
      .kind = MC_RV_ENUM_VALUE, .enum_value = s->value, .enum_decl = s->decl};
  return true;
}

/* Resolves a name used as a value: a constant, an enum value (also found in
 * the scope of `implied`, the enum type being assigned), or a builtin. */
static bool resolve_ident(struct mc_ctx *ctx, const struct mc_module *mod,
                          const struct mc_decl *scope, const struct mc_type *implied,
                          const struct mc_value *v, struct mc_resolved_value *out, int depth) {
  if (depth > MC_MAX_REF_DEPTH) {
    mc_error(v->loc, "chain of constant references is longer than %d", MC_MAX_REF_DEPTH);
    return false;
  }
  const struct sym *s = lookup_scoped(ctx, mod, scope, v->text, true);
  if (!s && implied && implied->kind == MC_T_ENUM && implied->decl)
    s = lookup_scoped(ctx, implied->decl->module, implied->decl, v->text, true);
  if (s && s->kind == SYM_ENUM_VALUE)
    return use_enum_value(ctx, s, v, out, depth);
  if (s) {
    if (!eval_const(ctx, s->decl, depth + 1))
      return false;
    *out = s->decl->const_resolved;
    return true;
  }
  for (size_t i = 0; i < sizeof builtin_values / sizeof builtin_values[0]; i++)
    if (strcmp(v->text, builtin_values[i]) == 0) {
      *out = (struct mc_resolved_value){.kind = MC_RV_BUILTIN, .builtin = builtin_values[i]};
      return true;
    }
  mc_error(v->loc, "unknown value '%s'", v->text);
  return false;
}

static bool resolve_value(struct mc_ctx *ctx, const struct mc_module *mod,
                          const struct mc_decl *scope, const struct mc_type *implied,
                          const struct mc_value *v, struct mc_resolved_value *out, int depth) {
  if (v->kind != MC_VAL_IDENT) {
    *out = (struct mc_resolved_value){.kind = MC_RV_LITERAL, .literal = v};
    return true;
  }
  return resolve_ident(ctx, mod, scope, implied, v, out, depth);
}

/* Checks that a resolved value can be stored in type `t`. */
static bool value_fits(struct mc_ctx *ctx, const struct mc_type *t,
                       const struct mc_resolved_value *rv, struct mc_loc loc, bool is_field) {
  const struct mc_value *lit = rv->kind == MC_RV_LITERAL ? rv->literal : NULL;
  enum mc_value_kind lk = lit ? lit->kind : MC_VAL_IDENT;
  bool ok;
  static const struct {
    int64_t lo;
    uint64_t hi;
  } ranges[] = {
      [MC_T_INT8] = {INT8_MIN, INT8_MAX},    [MC_T_UINT8] = {0, UINT8_MAX},
      [MC_T_INT16] = {INT16_MIN, INT16_MAX}, [MC_T_UINT16] = {0, UINT16_MAX},
      [MC_T_INT32] = {INT32_MIN, INT32_MAX}, [MC_T_UINT32] = {0, UINT32_MAX},
      [MC_T_INT64] = {INT64_MIN, INT64_MAX}, [MC_T_UINT64] = {0, UINT64_MAX},
  };
  switch (t->kind) {
    case MC_T_BOOL:
      ok = lk == MC_VAL_TRUE || lk == MC_VAL_FALSE;
      break;
    case MC_T_FLOAT:
    case MC_T_DOUBLE:
      ok = lk == MC_VAL_INT || lk == MC_VAL_FLOAT || rv->kind == MC_RV_BUILTIN;
      break;
    case MC_T_STRING:
      ok = lk == MC_VAL_STRING;
      break;
    case MC_T_ENUM:
      ok = rv->kind == MC_RV_ENUM_VALUE && rv->enum_decl == t->decl;
      break;
    case MC_T_STRUCT:
      ok = is_field && lk == MC_VAL_DEFAULT;
      break;
    default:
      if (mc_type_is_integral(t)) {
        ok = lk == MC_VAL_INT;
        if (ok && !int_fits(lit->text, ranges[t->kind].lo, ranges[t->kind].hi)) {
          mc_error(loc, "value %s does not fit in %s", lit->text, mc_type_kind_name(t->kind));
          return false;
        }
        break;
      }
      mc_error(loc, "a value of type %s cannot be given as a constant",
               mc_type_spell(ctx->arena, t));
      return false;
  }
  if (!ok)
    mc_error(loc, "this value cannot be used for type %s", mc_type_spell(ctx->arena, t));
  return ok;
}

static bool eval_const(struct mc_ctx *ctx, struct mc_decl *c, int depth) {
  if (c->const_state == 2)
    return c->const_resolved.kind != MC_RV_NONE;
  if (c->const_state == 1) {
    mc_error(c->loc, "constant '%s' depends on itself", c->name);
    return false;
  }
  c->const_state = 1;
  struct mc_resolved_value rv = {0};
  bool ok = resolve_value(ctx, c->module, c->parent, c->const_type, c->const_value, &rv, depth) &&
            value_fits(ctx, c->const_type, &rv, c->const_value->loc, false);
  c->const_state = 2;
  if (ok)
    c->const_resolved = rv;
  return ok;
}

/* The value of an integer literal if it fits int32. */
static bool int32_literal(const char *text, int64_t *out) {
  bool neg = false;
  uint64_t mag = 0;
  if (!mc_parse_int(text, &neg, &mag) || mag > (neg ? (uint64_t)INT32_MAX + 1 : INT32_MAX))
    return false;
  *out = neg ? -(int64_t)mag : (int64_t)mag;
  return true;
}

/* The number an explicit enumerator value stands for. */
static bool enum_number(struct mc_ctx *ctx, struct mc_decl *e, struct mc_enum_value *v,
                        int64_t *out, int depth) {
  if (v->value->kind == MC_VAL_INT) {
    if (int32_literal(v->value->text, out))
      return true;
    mc_error(v->value->loc, "enum value %s does not fit in int32", v->value->text);
    return false;
  }
  struct mc_resolved_value rv;
  if (!resolve_ident(ctx, e->module, e, NULL, v->value, &rv, depth))
    return false;
  if (rv.kind == MC_RV_ENUM_VALUE) {
    *out = rv.enum_value->number;
    return true;
  }
  if (rv.kind == MC_RV_LITERAL && rv.literal->kind == MC_VAL_INT &&
      int32_literal(rv.literal->text, out))
    return true;
  mc_error(v->value->loc, "enum value '%s' must name an int32 integer constant or enum value",
           v->value->text);
  return false;
}

static bool eval_enum(struct mc_ctx *ctx, struct mc_decl *e, int depth) {
  if (e->enum_state)
    return e->enum_state == 2;
  e->enum_state = 1;
  int64_t prev = -1;
  for (struct mc_enum_value *v = e->values; v; v = v->next) {
    if (!v->value) {
      if (prev == INT32_MAX) {
        mc_error(v->loc, "enum value '%s' would be larger than int32 allows", v->name);
        e->enum_state = 3;
        return false;
      }
      v->number = prev + 1;
    } else if (!enum_number(ctx, e, v, &v->number, depth)) {
      e->enum_state = 3; /* failed; reported once */
      return false;
    }
    /* Blink's hash tables reserve these two values of every enum. */
    if (v->number == -128 || v->number == -127) {
      mc_error(v->loc, "enum value '%s' is %lld, which is reserved and may not be used", v->name,
               (long long)v->number);
      e->enum_state = 3;
      return false;
    }
    v->state = 2;
    prev = v->number;
  }
  e->enum_state = 2;
  return true;
}

/* RequireContext and AllowedContext name enum values. Like Chromium, look
 * the name up from module scope and leave it unresolved when it names
 * nothing or something else; contexts.c reports that if it matters. */
static void resolve_context_attr(struct mc_ctx *ctx, const struct mc_module *mod,
                                 struct mc_attr *attrs, const char *key) {
  for (struct mc_attr *a = attrs; a; a = a->next) {
    if (strcmp(a->key, key) != 0 || a->kind != MC_ATTR_VALUE || a->value.kind != MC_VAL_IDENT)
      continue;
    const struct sym *s = lookup_scoped(ctx, mod, NULL, a->value.text, true);
    if (s && s->kind == SYM_ENUM_VALUE)
      use_enum_value(ctx, s, &a->value, &a->resolved, 0);
  }
}

static bool resolve_decl_values(struct mc_ctx *ctx, struct mc_decl *d) {
  bool ok = true;
  if (d->kind == MC_DECL_INTERFACE) {
    resolve_context_attr(ctx, d->module, d->attrs, "RequireContext");
    for (struct mc_method *m = d->methods; m; m = m->next)
      resolve_context_attr(ctx, d->module, m->attrs, "AllowedContext");
  }
  if (d->kind == MC_DECL_CONST)
    ok &= eval_const(ctx, d, 0);
  if (d->kind == MC_DECL_ENUM)
    ok &= eval_enum(ctx, d, 0);
  if (d->kind == MC_DECL_STRUCT)
    for (struct mc_field *f = d->fields; f; f = f->next) {
      if (!f->default_value)
        continue;
      struct mc_resolved_value rv = {0};
      if (resolve_value(ctx, d->module, d, f->type, f->default_value, &rv, 0) &&
          value_fits(ctx, f->type, &rv, f->default_value->loc, true))
        f->default_resolved = rv;
      else
        ok = false;
    }
  for (struct mc_decl *m = d->members; m; m = m->next)
    ok &= resolve_decl_values(ctx, m);
  return ok;
}

/* A struct, union or enum may be defined only once per full name among the
 * files a module can see (mojom_definitions_check.py): two imports, or an
 * import and the module itself, may not both define a.b.Name. */
static bool check_unique_types(struct mc_ctx *ctx, const struct mc_module *mod,
                               const struct mc_module *owner, struct mc_loc where) {
  const struct mc_symtab *st = ctx->symtab;
  if (!st->cap)
    return true;
  for (const struct mc_decl *d = owner->decls; d; d = d->next) {
    if (d->kind != MC_DECL_STRUCT && d->kind != MC_DECL_UNION && d->kind != MC_DECL_ENUM)
      continue;
    for (size_t i = hash_str(d->full_name) & (st->cap - 1); st->slots[i].key;
         i = (i + 1) & (st->cap - 1)) {
      const struct sym *s = &st->slots[i];
      /* Clashes inside one file are check.c's "already defined" error. */
      if (s->kind != SYM_TYPE || s->module == owner || s->decl->parent ||
          strcmp(s->key, d->full_name) != 0 || !visible_from(mod, s->module))
        continue;
      mc_error(owner == mod ? d->loc : where, "'%s' is defined in both %s and %s", d->full_name,
               s->module->src->path, owner->src->path);
      return false;
    }
  }
  return true;
}

bool mc_resolve(struct mc_ctx *ctx, struct mc_module *mod) {
  for (struct mc_decl *d = mod->decls; d; d = d->next)
    register_decl(ctx, mod, d, NULL);
  if (!check_unique_types(ctx, mod, mod, mod->module_loc))
    return false;
  for (const struct mc_import *imp = mod->imports; imp; imp = imp->next)
    if (!check_unique_types(ctx, mod, imp->module, imp->loc))
      return false;
  bool ok = true;
  for (struct mc_decl *d = mod->decls; d; d = d->next)
    ok &= resolve_decl_types(ctx, mod, d);
  if (!ok)
    return false;
  for (struct mc_decl *d = mod->decls; d; d = d->next)
    ok &= resolve_decl_values(ctx, d);
  return ok;
}
