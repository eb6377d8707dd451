/* EnableIf / EnableIfNot filtering; see features.h. */
#include "features.h"

#include <string.h>

#include "diag.h"

static bool enabled(const struct mc_feature_set *fs, const char *name) {
  for (size_t i = 0; i < fs->count; i++)
    if (strcmp(fs->names[i], name) == 0)
      return true;
  return false;
}

/* Evaluates one attribute's condition; false in *ok when it is malformed. */
static bool condition_holds(const struct mc_attr *a, const struct mc_feature_set *fs, bool *ok) {
  switch (a->kind) {
    case MC_ATTR_VALUE:
      if (a->value.kind == MC_VAL_IDENT)
        return enabled(fs, a->value.text);
      break;
    case MC_ATTR_OR_LIST:
      for (const struct mc_name_list *n = a->names; n; n = n->next)
        if (enabled(fs, n->name))
          return true;
      return false;
    case MC_ATTR_AND_LIST:
      for (const struct mc_name_list *n = a->names; n; n = n->next)
        if (!enabled(fs, n->name))
          return false;
      return true;
    case MC_ATTR_FLAG:
      break;
  }
  mc_error(a->loc, "%s needs a feature name, or names joined by '|' or '&'", a->key);
  *ok = false;
  return false;
}

/* Decides whether an element with these attributes stays. */
static bool keep(const struct mc_attr *attrs, const struct mc_feature_set *fs, bool *ok) {
  const struct mc_attr *cond = NULL;
  for (const struct mc_attr *a = attrs; a; a = a->next) {
    bool is_if = strcmp(a->key, "EnableIf") == 0;
    if (!is_if && strcmp(a->key, "EnableIfNot") != 0)
      continue;
    if (cond) {
      mc_error(a->loc, "EnableIf/EnableIfNot may only be given once per element");
      *ok = false;
      return true;
    }
    cond = a;
  }
  if (!cond)
    return true;
  bool holds = condition_holds(cond, fs, ok);
  return strcmp(cond->key, "EnableIf") == 0 ? holds : !holds;
}

/* One filter per list type; they share the shape "unlink what is disabled". */
#define FILTER_LIST(fn, type)                                              \
  static void fn(type **list, const struct mc_feature_set *fs, bool *ok) { \
    while (*list) {                                                        \
      if (keep((*list)->attrs, fs, ok))                                    \
        list = &(*list)->next;                                             \
      else                                                                 \
        *list = (*list)->next;                                             \
    }                                                                      \
  }

FILTER_LIST(filter_fields, struct mc_field)
FILTER_LIST(filter_values, struct mc_enum_value)
FILTER_LIST(filter_methods_only, struct mc_method)
FILTER_LIST(filter_decls_only, struct mc_decl)
FILTER_LIST(filter_imports, struct mc_import)

static void filter_decls(struct mc_decl **list, const struct mc_feature_set *fs, bool *ok) {
  filter_decls_only(list, fs, ok);
  for (struct mc_decl *d = *list; d; d = d->next) {
    filter_fields(&d->fields, fs, ok);
    filter_values(&d->values, fs, ok);
    filter_methods_only(&d->methods, fs, ok);
    for (struct mc_method *m = d->methods; m; m = m->next) {
      filter_fields(&m->params, fs, ok);
      filter_fields(&m->response, fs, ok);
    }
    /* Nested enums and consts are one level deep: recursion ends here. */
    if (d->members)
      filter_decls(&d->members, fs, ok);
  }
}

bool mc_filter_features(struct mc_module *mod, const struct mc_feature_set *features) {
  bool ok = true;
  filter_imports(&mod->imports, features, &ok);
  filter_decls(&mod->decls, features, &ok);
  return ok;
}
