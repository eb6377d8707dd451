/* Semantic checks on a resolved module; see check.h. */
#include "check.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "resolve.h"

/* ---- attributes ---- */

/* Which attributes each kind of element takes (mojom_attributes_check.py). */
#define COMMON "EnableIf", "EnableIfNot"
static const char *const module_attrs[] = {COMMON, "JavaConstantsClassName", "JavaPackage",
                                           "IncludeSendValidation", NULL};
static const char *const struct_attrs[] = {COMMON,   "CustomSerializer", "JavaClassName", "Native",
                                           "Stable", "RenamedFrom",      "Uuid",          NULL};
static const char *const field_attrs[] = {COMMON, "MinVersion", "RenamedFrom", NULL};
static const char *const union_attrs[] = {COMMON,        "Extensible", "Stable",
                                          "RenamedFrom", "Uuid",       NULL};
static const char *const union_field_attrs[] = {COMMON, "MinVersion", "RenamedFrom", "Default",
                                                NULL};
static const char *const enum_attrs[] = {COMMON,        "Extensible", "Native", "Stable",
                                         "RenamedFrom", "Uuid",       NULL};
static const char *const enum_value_attrs[] = {COMMON, "Default", "MinVersion", NULL};
static const char *const interface_attrs[] = {COMMON,
                                              "DispatchDebugAlias",
                                              "RenamedFrom",
                                              "RequireContext",
                                              "RuntimeFeature",
                                              "ServiceSandbox",
                                              "Stable",
                                              "Uuid",
                                              NULL};
static const char *const method_attrs[] = {COMMON,
                                           "AllowedContext",
                                           "EstimateSize",
                                           "MinVersion",
                                           "NoInterrupt",
                                           "RuntimeFeature",
                                           "SendValidation",
                                           "SupportsUrgent",
                                           "Sync",
                                           "UnlimitedSize",
                                           NULL};

/* Reports duplicate keys and, when `allowed` is given, keys it does not list. */
static bool check_attrs(const struct mc_attr *attrs, const char *what, const char *const *allowed) {
  bool ok = true;
  for (const struct mc_attr *a = attrs; a; a = a->next) {
    for (const struct mc_attr *b = attrs; b != a; b = b->next)
      if (strcmp(a->key, b->key) == 0) {
        mc_error(a->loc, "duplicate attribute '%s'", a->key);
        ok = false;
        break;
      }
    if (!allowed)
      continue;
    const char *hint = NULL;
    bool found = false;
    for (const char *const *k = allowed; *k && !found; k++) {
      found = strcmp(*k, a->key) == 0;
      if (strcasecmp(*k, a->key) == 0)
        hint = *k;
    }
    if (found)
      continue;
    if (hint)
      mc_error(a->loc, "attribute '%s' is not allowed on %s (did you mean '%s'?)", a->key, what,
               hint);
    else
      mc_error(a->loc, "attribute '%s' is not allowed on %s", a->key, what);
    ok = false;
  }
  return ok;
}

/* Reads [MinVersion=N]; N must be an integer in 0..4294967295. */
static bool read_min_version(const struct mc_attr *attrs, uint32_t *out, bool *has) {
  const struct mc_attr *a = mc_attr_find(attrs, "MinVersion");
  *out = 0;
  if (has)
    *has = a != NULL;
  if (!a)
    return true;
  bool neg = false;
  uint64_t v = 0;
  if (a->kind != MC_ATTR_VALUE || a->value.kind != MC_VAL_INT ||
      !mc_parse_int(a->value.text, &neg, &v) || (neg && v) || v > UINT32_MAX) {
    mc_error(a->loc, "MinVersion must be an integer between 0 and 4294967295");
    return false;
  }
  *out = (uint32_t)v;
  return true;
}

/* ---- names ---- */

static bool check_unique_decls(const struct mc_decl *list) {
  bool ok = true;
  for (const struct mc_decl *d = list; d; d = d->next)
    for (const struct mc_decl *e = list; e != d; e = e->next)
      if (strcmp(d->name, e->name) == 0) {
        mc_error(d->loc, "'%s' is already defined on line %d", d->name, e->loc.line);
        ok = false;
        break;
      }
  return ok;
}

static bool check_unique_fields(const struct mc_field *list) {
  bool ok = true;
  for (const struct mc_field *f = list; f; f = f->next)
    for (const struct mc_field *g = list; g != f; g = g->next)
      if (strcmp(f->name, g->name) == 0) {
        mc_error(f->loc, "'%s' is already defined on line %d", f->name, g->loc.line);
        ok = false;
        break;
      }
  return ok;
}

/* ---- types ---- */

/* Rules that hold wherever a type is written. */
static bool check_type(struct mc_arena *arena, const struct mc_type *t) {
  if (t->kind == MC_T_INTERFACE) {
    mc_error(t->loc,
             "interface '%s' is not a data type; use pending_remote<%s> or "
             "pending_receiver<%s>",
             t->name, t->name, t->name);
    return false;
  }
  /* An interface behind a RuntimeFeature may be unavailable, so whatever
   * passes one must allow it to be missing (mojom_interface_feature_check). */
  if (t->kind >= MC_T_PENDING_REMOTE && !t->nullable && t->decl &&
      mc_attr_find(t->decl->attrs, "RuntimeFeature")) {
    mc_error(t->loc, "interface '%s' has a RuntimeFeature, so %s must be nullable", t->decl->name,
             mc_type_spell(arena, t));
    return false;
  }
  if (t->kind == MC_T_MAP) {
    const struct mc_type *k = t->key;
    /* The grammar already limits keys to named types; of those, unions and
     * interfaces cannot be keys. */
    if (k->kind == MC_T_UNION || k->kind == MC_T_INTERFACE) {
      mc_error(k->loc, "%s cannot be a map key", mc_type_spell(arena, k));
      return false;
    }
  }
  if (t->elem && !check_type(arena, t->elem))
    return false;
  return !t->key || check_type(arena, t->key);
}

static bool check_field_types(struct mc_arena *arena, const struct mc_field *f) {
  bool ok = true;
  for (; f; f = f->next)
    ok &= check_type(arena, f->type);
  return ok;
}

/* ---- ordinals and versions ---- */

/* An implicit ordinal is one more than the previous one, which can pass the
 * largest the wire format holds (a uint32 message name or union tag);
 * truncated, it would collide with another element. */
static bool implicit_ordinal_fits(struct mc_loc loc, const char *name, int64_t ordinal) {
  if (ordinal <= (int64_t)UINT32_MAX)
    return true;
  mc_error(loc, "implicit ordinal of '%s' would be @%lld, past the largest ordinal @4294967295",
           name, (long long)ordinal);
  return false;
}

/* Fills in effective ordinals: explicit ones, else one more than the previous. */
static bool assign_ordinals(struct mc_field *f) {
  bool ok = true;
  int64_t next = 0;
  for (; f; f = f->next) {
    if (!f->explicit_ordinal) {
      ok &= implicit_ordinal_fits(f->loc, f->name, next);
      f->ordinal = next;
    }
    next = f->ordinal + 1;
  }
  return ok;
}

/* Struct fields need ordinals 0..n-1 (translate.py); parameters only
 * distinct ones. In ordinal order MinVersion may never go down, and a field
 * above version 0 must be nullable if it is a reference (pack.py). */
static bool check_ordinals(struct mc_arena *arena, struct mc_field *fields, bool dense,
                           const char *owner, struct mc_loc owner_loc) {
  size_t n;
  struct mc_field **sorted = mc_fields_by_ordinal(arena, fields, &n);
  for (size_t i = 1; i < n; i++)
    if (sorted[i]->ordinal == sorted[i - 1]->ordinal) {
      mc_error(sorted[i]->loc, "ordinal @%lld is already used by '%s'",
               (long long)sorted[i]->ordinal, sorted[i - 1]->name);
      return false;
    }
  for (size_t i = 0; dense && i < n; i++)
    if (sorted[i]->ordinal != (int64_t)i) {
      mc_error(owner_loc, "%s: ordinal @%zu is missing (ordinals must run from 0 to %zu)", owner, i,
               n - 1);
      return false;
    }
  uint32_t floor = 0;
  for (size_t i = 0; i < n; i++) {
    struct mc_field *f = sorted[i];
    if (!f->has_min_version && floor != 0) {
      mc_error(f->loc, "'%s' needs a [MinVersion]: an earlier field has [MinVersion=%u]", f->name,
               floor);
      return false;
    }
    if (f->has_min_version && f->min_version < floor) {
      mc_error(f->loc, "[MinVersion=%u] of '%s' is lower than the %u of an earlier field",
               f->min_version, f->name, floor);
      return false;
    }
    floor = f->min_version;
    if (floor && mc_type_is_reference(f->type) && !f->type->nullable) {
      mc_error(f->loc, "'%s' has [MinVersion=%u] and so must be nullable", f->name, floor);
      return false;
    }
  }
  return true;
}

static bool read_field_versions(struct mc_field *f, const char *what, const char *const *allowed) {
  bool ok = true;
  for (; f; f = f->next) {
    ok &= check_attrs(f->attrs, what, allowed);
    ok &= read_min_version(f->attrs, &f->min_version, &f->has_min_version);
  }
  return ok;
}

/* Checks a struct-like field list: names, attributes, types, ordinals, versions. */
static bool check_field_list(struct mc_arena *arena, struct mc_field *fields, bool dense,
                             const char *owner, struct mc_loc owner_loc, const char *what) {
  bool ok = check_unique_fields(fields);
  ok &= read_field_versions(fields, what, field_attrs);
  ok &= check_field_types(arena, fields);
  ok &= assign_ordinals(fields);
  return ok && check_ordinals(arena, fields, dense, owner, owner_loc);
}

/* ---- definitions ---- */

static bool check_native_body(const struct mc_decl *d, const char *what) {
  if (d->has_body || mc_attr_flag(d->attrs, "Native"))
    return true;
  mc_error(d->loc, "%s '%s' without a body must be marked [Native]", what, d->name);
  return false;
}

static bool check_decls(struct mc_arena *arena, struct mc_decl *list);

static bool check_struct(struct mc_arena *arena, struct mc_decl *d) {
  bool ok = check_attrs(d->attrs, "a struct", struct_attrs);
  ok &= check_native_body(d, "struct");
  ok &= check_unique_decls(d->members);
  ok &= check_decls(arena, d->members);
  const char *owner = mc_arena_printf(arena, "struct '%s'", d->name);
  return check_field_list(arena, d->fields, true, owner, d->loc, "a struct field") && ok;
}

/* The legacy [Extensible] enums Chromium lets go without a [Default]; only the
 * entries our own test interfaces need are listed. */
static const char *const extensible_without_default[] = {
    "mojo.test.EnumB", "mojo.test.ExtensibleEmptyEnum", "mojo.test.AnExtensibleEnum", NULL};

static bool check_enum(struct mc_decl *d) {
  bool ok = check_attrs(d->attrs, "an enum", enum_attrs);
  ok &= check_native_body(d, "enum");
  bool extensible = mc_attr_flag(d->attrs, "Extensible");
  if (mc_attr_flag(d->attrs, "Stable") && !extensible) {
    mc_error(d->loc, "[Stable] enum '%s' must also be [Extensible]", d->name);
    ok = false;
  }
  const struct mc_enum_value *dflt = NULL;
  for (struct mc_enum_value *v = d->values; v; v = v->next) {
    uint32_t unused;
    ok &= check_attrs(v->attrs, "an enum value", enum_value_attrs);
    ok &= read_min_version(v->attrs, &unused, NULL);
    for (const struct mc_enum_value *w = d->values; w != v; w = w->next)
      if (strcmp(v->name, w->name) == 0) {
        mc_error(v->loc, "'%s' is already defined on line %d", v->name, w->loc.line);
        ok = false;
        break;
      }
    if (!mc_attr_find(v->attrs, "Default"))
      continue;
    if (!extensible) {
      mc_error(v->loc, "[Default] is only allowed in [Extensible] enums");
      ok = false;
    } else if (dflt) {
      mc_error(v->loc, "enum '%s' has more than one [Default] value", d->name);
      ok = false;
    }
    dflt = v;
  }
  if (extensible && !dflt && d->has_body) {
    bool legacy = false;
    for (const char *const *n = extensible_without_default; *n; n++)
      legacy |= strcmp(*n, d->full_name) == 0;
    if (!legacy) {
      mc_error(d->loc, "[Extensible] enum '%s' needs one value marked [Default]", d->name);
      ok = false;
    }
  }
  return ok;
}

static bool check_union_field(struct mc_arena *arena, const struct mc_decl *d,
                              const struct mc_field *f) {
  bool ok = check_type(arena, f->type);
  if (f->type->decl == d && f->type->kind == MC_T_UNION) {
    mc_error(f->loc, "union '%s' cannot contain itself", d->name);
    ok = false;
  }
  if (f->type->nullable && mc_type_is_value(f->type)) {
    mc_error(f->loc, "union fields cannot be nullable %s", mc_type_spell(arena, f->type));
    ok = false;
  }
  /* Chromium's "integral" kinds include bool. */
  if (mc_attr_find(f->attrs, "Default") && !f->type->nullable && !mc_type_is_integral(f->type) &&
      f->type->kind != MC_T_BOOL) {
    mc_error(f->loc, "the [Default] field of a union must be nullable, a bool or an integer");
    ok = false;
  }
  for (const struct mc_field *g = d->fields; g != f; g = g->next)
    if (g->ordinal == f->ordinal) {
      mc_error(f->loc, "ordinal @%lld is already used by '%s'", (long long)f->ordinal, g->name);
      return false;
    }
  return ok;
}

static bool check_union(struct mc_arena *arena, struct mc_decl *d) {
  bool ok = check_attrs(d->attrs, "a union", union_attrs);
  ok &= check_unique_fields(d->fields);
  ok &= read_field_versions(d->fields, "a union field", union_field_attrs);
  ok &= assign_ordinals(d->fields);
  const struct mc_field *dflt = NULL;
  for (const struct mc_field *f = d->fields; f; f = f->next) {
    ok &= check_union_field(arena, d, f);
    if (!mc_attr_find(f->attrs, "Default"))
      continue;
    if (dflt) {
      mc_error(f->loc, "union '%s' has more than one [Default] field", d->name);
      ok = false;
    }
    dflt = f;
  }
  if (mc_attr_flag(d->attrs, "Extensible") && !dflt) {
    mc_error(d->loc, "[Extensible] union '%s' needs one field marked [Default]", d->name);
    ok = false;
  }
  return ok;
}

static bool check_method(struct mc_arena *arena, const struct mc_decl *iface, struct mc_method *m) {
  bool ok = check_attrs(m->attrs, "a method", method_attrs);
  ok &= read_min_version(m->attrs, &m->min_version, NULL);
  bool sync = mc_attr_flag(m->attrs, "Sync");
  if (sync && !m->has_response) {
    mc_error(m->loc, "[Sync] method '%s' needs a response; use '=> ()' if it returns nothing",
             m->name);
    ok = false;
  }
  if (mc_attr_flag(m->attrs, "NoInterrupt") && !sync) {
    mc_error(m->loc, "[NoInterrupt] is only allowed on [Sync] methods");
    ok = false;
  }
  const char *owner = mc_arena_printf(arena, "the parameters of %s.%s", iface->name, m->name);
  ok &= check_field_list(arena, m->params, false, owner, m->loc, "a parameter");
  owner = mc_arena_printf(arena, "the response of %s.%s", iface->name, m->name);
  ok &= check_field_list(arena, m->response, false, owner, m->loc, "a parameter");
  if (m->result_ok) {
    ok &= check_type(arena, m->result_ok);
    ok &= check_type(arena, m->result_err);
  }
  return ok;
}

static bool check_interface(struct mc_arena *arena, struct mc_decl *d) {
  bool ok = check_attrs(d->attrs, "an interface", interface_attrs);
  ok &= check_unique_decls(d->members);
  ok &= check_decls(arena, d->members);
  bool stable = mc_attr_flag(d->attrs, "Stable");
  int64_t next = 0;
  for (struct mc_method *m = d->methods; m; m = m->next) {
    if (stable && !m->explicit_ordinal) {
      mc_error(m->loc, "[Stable] interface '%s' needs explicit method ordinals ('%s@N')", d->name,
               m->name);
      ok = false;
    }
    if (!m->explicit_ordinal) {
      ok &= implicit_ordinal_fits(m->loc, m->name, next);
      m->ordinal = next;
    }
    next = m->ordinal + 1;
    for (const struct mc_method *n = d->methods; n != m; n = n->next) {
      if (strcmp(n->name, m->name) == 0) {
        mc_error(m->loc, "'%s' is already defined on line %d", m->name, n->loc.line);
        ok = false;
      } else if (n->ordinal == m->ordinal) {
        mc_error(m->loc, "ordinal @%lld is already used by '%s'", (long long)m->ordinal, n->name);
        ok = false;
      }
    }
    ok &= check_method(arena, d, m);
  }
  return ok;
}

static bool check_const(struct mc_arena *arena, const struct mc_decl *d) {
  bool ok = check_attrs(d->attrs, "a constant", NULL);
  ok &= check_type(arena, d->const_type);
  if (d->const_type->nullable) {
    mc_error(d->const_type->loc, "constants cannot have a nullable type");
    ok = false;
  }
  return ok;
}

static bool check_decls(struct mc_arena *arena, struct mc_decl *list) {
  bool ok = true;
  for (struct mc_decl *d = list; d; d = d->next) {
    switch (d->kind) {
      case MC_DECL_STRUCT:
        ok &= check_struct(arena, d);
        break;
      case MC_DECL_UNION:
        ok &= check_union(arena, d);
        break;
      case MC_DECL_ENUM:
        ok &= check_enum(d);
        break;
      case MC_DECL_INTERFACE:
        ok &= check_interface(arena, d);
        break;
      case MC_DECL_CONST:
        ok &= check_const(arena, d);
        break;
      case MC_DECL_FEATURE:
        ok &= check_attrs(d->attrs, "a feature", NULL);
        ok &= check_unique_decls(d->members);
        ok &= check_decls(arena, d->members);
        break;
    }
  }
  return ok;
}

/* ---- [Stable] ---- */

/* A [Stable] definition may only depend on user types that are [Stable] too. */
static bool stable_type(const struct mc_decl *owner, const struct mc_type *t) {
  if (t->elem && !stable_type(owner, t->elem))
    return false;
  if (t->key && !stable_type(owner, t->key))
    return false;
  if (!t->decl || mc_attr_flag(t->decl->attrs, "Stable"))
    return true;
  mc_error(t->loc, "'%s' is marked [Stable] but depends on '%s', which is not", owner->name,
           t->decl->name);
  return false;
}

static bool stable_fields(const struct mc_decl *owner, const struct mc_field *f) {
  bool ok = true;
  for (; f; f = f->next)
    ok &= stable_type(owner, f->type);
  return ok;
}

static bool check_stable(const struct mc_decl *d) {
  if (d->kind == MC_DECL_ENUM || d->kind == MC_DECL_CONST || !mc_attr_flag(d->attrs, "Stable"))
    return true;
  bool ok = stable_fields(d, d->fields);
  for (const struct mc_method *m = d->methods; m; m = m->next) {
    ok &= stable_fields(d, m->params);
    ok &= stable_fields(d, m->response);
    if (m->result_ok) {
      ok &= stable_type(d, m->result_ok);
      ok &= stable_type(d, m->result_err);
    }
  }
  return ok;
}

bool mc_check(struct mc_arena *arena, struct mc_module *mod) {
  bool ok = check_attrs(mod->module_attrs, "a module statement", module_attrs);
  for (const struct mc_import *imp = mod->imports; imp; imp = imp->next)
    ok &= check_attrs(imp->attrs, "an import", NULL);
  ok &= check_unique_decls(mod->decls);
  ok &= check_decls(arena, mod->decls);
  if (!ok)
    return false;
  for (const struct mc_decl *d = mod->decls; d; d = d->next)
    ok &= check_stable(d);
  return ok;
}
