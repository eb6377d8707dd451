/* Driving the C emitter: output paths, files, and the C spellings of types
 * and values that the header and the source share; see emit_c.h. */
#include "emit_c.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diag.h"

/* ---- paths ---- */

const char *mc_module_rel_path(struct mc_ctx *ctx, const struct mc_module *mod) {
  char dir[PATH_MAX];
  for (size_t i = 0; i < ctx->include_count; i++) {
    if (!realpath(ctx->include_dirs[i], dir))
      continue;
    size_t n = strlen(dir);
    if (strncmp(mod->real_path, dir, n) == 0 && mod->real_path[n] == '/')
      return mod->real_path + n + 1;
  }
  const char *slash = strrchr(mod->real_path, '/');
  return slash ? slash + 1 : mod->real_path;
}

/* Creates every directory of `path` up to its last slash. */
static bool make_parents(struct mc_arena *arena, const char *path) {
  char *p = mc_arena_printf(arena, "%s", path);
  for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
    *s = 0;
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      mc_error_plain("cannot create directory '%s': %s", p, strerror(errno));
      return false;
    }
    *s = '/';
  }
  return true;
}

static bool write_one(struct mc_emitter *e, const char *path, void (*writer)(struct mc_emitter *)) {
  if (!make_parents(e->arena, path))
    return false;
  FILE *f = fopen(path, "w");
  if (!f) {
    mc_error_plain("cannot write '%s': %s", path, strerror(errno));
    return false;
  }
  e->out = f;
  writer(e);
  bool ok = !ferror(f);
  if (fclose(f) != 0)
    ok = false;
  if (!ok)
    mc_error_plain("cannot write '%s'", path);
  return ok;
}

static bool emit_module(struct mc_ctx *ctx, struct mc_module *mod, const char *outdir) {
  struct mc_wmodel *model = mc_wmodel_build(ctx->arena, mod);
  if (!model)
    return false;
  struct mc_emitter e = {NULL, ctx->arena, ctx, model, mc_module_rel_path(ctx, mod)};
  const char *base = mc_arena_printf(ctx->arena, "%s/%s", outdir, e.rel_path);
  return write_one(&e, mc_arena_printf(ctx->arena, "%s.h", base), mc_emit_header) &&
         write_one(&e, mc_arena_printf(ctx->arena, "%s.c", base), mc_emit_source);
}

bool mc_emit_c(struct mc_ctx *ctx, struct mc_module *const *roots, size_t count,
               const char *outdir) {
  for (size_t i = 0; i < count; i++) {
    bool seen = false;
    for (size_t j = 0; j < i; j++)
      seen |= roots[j] == roots[i];
    if (!seen && !emit_module(ctx, roots[i], outdir))
      return false;
  }
  return true;
}

/* ---- C spellings of types ---- */

static const char *value_c_type(enum mc_type_kind k) {
  static const char *const names[] = {
      [MC_T_BOOL] = "bool",       [MC_T_INT8] = "int8_t",     [MC_T_UINT8] = "uint8_t",
      [MC_T_INT16] = "int16_t",   [MC_T_UINT16] = "uint16_t", [MC_T_INT32] = "int32_t",
      [MC_T_UINT32] = "uint32_t", [MC_T_INT64] = "int64_t",   [MC_T_UINT64] = "uint64_t",
      [MC_T_FLOAT] = "float",     [MC_T_DOUBLE] = "double",
  };
  return (size_t)k < sizeof names / sizeof names[0] ? names[k] : NULL;
}

const char *mc_c_type(struct mc_arena *arena, const struct mc_type *t) {
  const char *v = value_c_type(t->kind);
  if (v && t->nullable) { /* cmojo_opt_int32 from "int32_t", cmojo_opt_float from "float" */
    size_t n = strlen(v);
    if (n > 2 && strcmp(v + n - 2, "_t") == 0)
      n -= 2;
    return mc_arena_printf(arena, "cmojo_opt_%.*s", (int)n, v);
  }
  if (v)
    return v;
  switch (t->kind) {
    case MC_T_ENUM:
      return t->nullable ? "cmojo_opt_int32" : mc_c_name(arena, t->decl);
    case MC_T_STRING:
    case MC_T_ARRAY:
      return "cmojo_array";
    case MC_T_MAP:
      return "cmojo_map";
    case MC_T_STRUCT:
    case MC_T_UNION:
      return mc_arena_printf(arena, "%s *", mc_c_name(arena, t->decl));
    case MC_T_PENDING_REMOTE:
      return "cmojo_pending_remote";
    case MC_T_PENDING_ASSOC_REMOTE:
      return "cmojo_pending_associated_remote";
    case MC_T_PENDING_ASSOC_RECEIVER:
      return "uint32_t"; /* the interface id */
    default:
      return "MojoHandle"; /* handle<...>, pending_receiver<I> */
  }
}

const char *mc_c_decl(struct mc_arena *arena, const struct mc_type *t, const char *name) {
  const char *type = mc_c_type(arena, t);
  size_t n = strlen(type);
  return mc_arena_printf(arena, "%s%s%s", type, type[n - 1] == '*' ? "" : " ", name);
}

/* The element type as the C array holds it, e.g. "uint8_t" or "cmojo_array". */
static const char *element_c(struct mc_arena *arena, const struct mc_type *t) {
  const char *c = mc_c_type(arena, t);
  size_t n = strlen(c);
  return c[n - 1] == '*' ? mc_arena_printf(arena, "%.*s*", (int)(n - 1), c) : c;
}

const char *mc_c_elements(struct mc_arena *arena, const struct mc_type *t) {
  if (t->kind == MC_T_STRING)
    return "UTF-8 bytes";
  if (t->kind == MC_T_ARRAY)
    return mc_arena_printf(arena, "%s[count]", element_c(arena, t->elem));
  if (t->kind == MC_T_MAP)
    return mc_arena_printf(arena, "keys %s[count], values %s[count]", element_c(arena, t->key),
                           element_c(arena, t->elem));
  return NULL;
}

/* ---- C spellings of constant values ---- */

/* An integer literal in the C form of `kind`, exact even at the limits
 * (the most negative values cannot be written as one literal). */
static const char *c_integer(struct mc_arena *arena, enum mc_type_kind kind, bool neg,
                             uint64_t mag) {
  const char *type = value_c_type(kind);
  bool wide = kind == MC_T_INT64 || kind == MC_T_UINT64;
  const char *wrap = kind == MC_T_UINT64 ? "UINT64_C" : kind == MC_T_INT64 ? "INT64_C" : "";
  const char *open = *wrap ? "(" : "";
  const char *close = *wrap ? ")" : "";
  if (!neg)
    return mc_arena_printf(arena, "((%s)%s%s%llu%s%s)", type, wrap, open, (unsigned long long)mag,
                           kind == MC_T_UINT32 ? "u" : "", close);
  if (mag > (wide ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX))
    return mc_arena_printf(arena, "((%s)(-%s%s%llu%s - 1))", type, wrap, open,
                           (unsigned long long)(mag - 1), close);
  return mc_arena_printf(arena, "((%s)-%s%s%llu%s)", type, wrap, open, (unsigned long long)mag,
                         close);
}

/* A C string literal; octal escapes cannot swallow the characters after
 * them the way hex escapes do. */
static const char *c_string(struct mc_arena *arena, const char *s) {
  size_t n = strlen(s);
  char *out = mc_arena_alloc(arena, 4 * n + 3), *p = out;
  *p++ = '"';
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\' || c == '?') /* '?' avoids trigraphs */
      p += sprintf(p, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f)
      p += sprintf(p, "\\%03o", c);
    else
      *p++ = (char)c;
  }
  *p++ = '"';
  return out;
}

static const char *c_builtin(const char *name, bool *needs_math) {
  *needs_math = true;
  if (strstr(name, "NEGATIVE_INFINITY"))
    return name[0] == 'f' ? "(-HUGE_VALF)" : "(-HUGE_VAL)";
  if (strstr(name, "INFINITY"))
    return name[0] == 'f' ? "(HUGE_VALF)" : "(HUGE_VAL)";
  return name[0] == 'f' ? "((float)NAN)" : "((double)NAN)";
}

const char *mc_c_value(struct mc_arena *arena, const struct mc_type *t,
                       const struct mc_resolved_value *v, bool *needs_math) {
  if (v->kind == MC_RV_BUILTIN)
    return c_builtin(v->builtin, needs_math);
  if (v->kind == MC_RV_ENUM_VALUE)
    return mc_arena_printf(arena, "%s_%s", mc_c_name(arena, v->enum_decl), v->enum_value->name);
  const struct mc_value *lit = v->literal;
  switch (lit->kind) {
    case MC_VAL_TRUE:
      return "true";
    case MC_VAL_FALSE:
      return "false";
    case MC_VAL_STRING:
      return c_string(arena, lit->text);
    case MC_VAL_FLOAT:
      return mc_arena_printf(arena, "((%s)%s)", value_c_type(t->kind), lit->text);
    default:
      break;
  }
  bool neg = false;
  uint64_t mag = 0;
  mc_parse_int(lit->text, &neg, &mag);
  if (t->kind == MC_T_FLOAT || t->kind == MC_T_DOUBLE)
    return mc_arena_printf(arena, "((%s)%s%llu.0)", value_c_type(t->kind), neg ? "-" : "",
                           (unsigned long long)mag);
  return c_integer(arena, t->kind, neg, mag);
}
