/* The --dump-layout text format; see dump.h. */
#include "dump.h"

#include <stdlib.h>

#include "pack.h"

/* Strings are shown C-escaped so every dump is plain printable ASCII. */
static void print_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f)
      fprintf(out, "\\x%02x", c);
    else
      fputc(c, out);
  }
  fputc('"', out);
}

static void print_value(FILE *out, const struct mc_resolved_value *rv) {
  switch (rv->kind) {
    case MC_RV_LITERAL:
      if (rv->literal->kind == MC_VAL_STRING)
        print_string(out, rv->literal->text);
      else
        fputs(rv->literal->text, out);
      break;
    case MC_RV_ENUM_VALUE:
      fprintf(out, "%s.%s(%lld)", rv->enum_decl->full_name, rv->enum_value->name,
              (long long)rv->enum_value->number);
      break;
    case MC_RV_BUILTIN:
      fputs(rv->builtin, out);
      break;
    case MC_RV_NONE:
      fputs("?", out);
      break;
  }
}

static void dump_layout(FILE *out, struct mc_arena *arena, const struct mc_struct_layout *l,
                        const char *indent) {
  for (size_t i = 0; i < l->count; i++) {
    const struct mc_packed_field *p = l->by_offset[i];
    const char *suffix = p->role == MC_PACKED_FLAG    ? "$flag"
                         : p->role == MC_PACKED_VALUE ? "$value"
                                                      : "";
    const char *type = p->role == MC_PACKED_FLAG    ? "bool"
                       : p->role == MC_PACKED_VALUE ? mc_type_kind_name(p->kind)
                                                    : mc_type_spell(arena, p->field->type);
    if (p->role == MC_PACKED_VALUE && p->kind == MC_T_ENUM)
      type = p->field->type->decl->full_name;
    fprintf(out, "%sfield %s%s: %s ordinal=%u min_version=%u offset=%u", indent, p->field->name,
            suffix, type, (unsigned)p->ordinal, (unsigned)p->min_version, (unsigned)p->offset);
    if (p->kind == MC_T_BOOL)
      fprintf(out, " bit=%u", (unsigned)p->bit);
    fprintf(out, " size=%u", (unsigned)p->size);
    if (p->role != MC_PACKED_FLAG && p->field->default_resolved.kind != MC_RV_NONE) {
      fputs(" default=", out);
      print_value(out, &p->field->default_resolved);
    }
    fputc('\n', out);
  }
  for (size_t i = 0; i < l->version_count; i++) {
    const struct mc_version_entry *v = &l->versions[i];
    fprintf(out, "%sversion %u: fields=%u packed_fields=%u size=%u\n", indent, (unsigned)v->version,
            (unsigned)v->num_fields, (unsigned)v->num_packed_fields, (unsigned)v->num_bytes);
  }
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void dump_enum(FILE *out, struct mc_arena *arena, const struct mc_decl *d) {
  bool extensible = mc_attr_find(d->attrs, "Extensible") != NULL;
  fprintf(out, "enum %s%s%s\n", d->full_name, d->has_body ? "" : " native",
          extensible ? " extensible" : "");
  size_t n = 0;
  for (const struct mc_enum_value *v = d->values; v; v = v->next)
    n++;
  int64_t *sorted = mc_arena_alloc(arena, (n + 1) * sizeof *sorted);
  n = 0;
  for (const struct mc_enum_value *v = d->values; v; v = v->next) {
    fprintf(out, "  value %s = %lld%s\n", v->name, (long long)v->number,
            mc_attr_find(v->attrs, "Default") ? " default" : "");
    sorted[n++] = v->number;
  }
  /* The distinct values, sorted: what a validator of a closed enum accepts. */
  qsort(sorted, n, sizeof *sorted, cmp_i64);
  fputs("  valid:", out);
  for (size_t i = 0; i < n; i++)
    if (i == 0 || sorted[i] != sorted[i - 1])
      fprintf(out, " %lld", (long long)sorted[i]);
  fputc('\n', out);
}

static void dump_union(FILE *out, struct mc_arena *arena, const struct mc_decl *d) {
  fprintf(out, "union %s%s\n", d->full_name,
          mc_attr_find(d->attrs, "Extensible") ? " extensible" : "");
  /* Tags are declaration positions, as the C++ bindings number them. */
  unsigned tag = 0;
  for (const struct mc_field *f = d->fields; f; f = f->next, tag++)
    fprintf(out, "  tag %u %s: %s ordinal=%lld%s\n", tag, f->name, mc_type_spell(arena, f->type),
            (long long)f->ordinal, mc_attr_find(f->attrs, "Default") ? " default" : "");
}

static void dump_method(FILE *out, struct mc_arena *arena, const struct mc_method *m) {
  fprintf(out, "  method %s ordinal=%lld min_version=%u", m->name, (long long)m->ordinal,
          (unsigned)m->min_version);
  if (mc_attr_find(m->attrs, "Sync"))
    fputs(" sync", out);
  if (mc_attr_find(m->attrs, "NoInterrupt"))
    fputs(" no_interrupt", out);
  if (!m->has_response)
    fputs(" response=none\n", out);
  else if (m->result_ok)
    fprintf(out, " response=result<%s, %s> (not serialized)\n", mc_type_spell(arena, m->result_ok),
            mc_type_spell(arena, m->result_err));
  else
    fputs(" response=params\n", out);
  fprintf(out, "    struct %s\n", m->param_layout->name);
  dump_layout(out, arena, m->param_layout, "      ");
  if (m->response_layout) {
    fprintf(out, "    struct %s\n", m->response_layout->name);
    dump_layout(out, arena, m->response_layout, "      ");
  }
}

static void dump_decl(FILE *out, struct mc_arena *arena, const struct mc_decl *d) {
  switch (d->kind) {
    case MC_DECL_STRUCT:
      fprintf(out, "struct %s%s\n", d->full_name, d->has_body ? "" : " native");
      if (d->layout)
        dump_layout(out, arena, d->layout, "  ");
      break;
    case MC_DECL_UNION:
      dump_union(out, arena, d);
      break;
    case MC_DECL_ENUM:
      dump_enum(out, arena, d);
      break;
    case MC_DECL_INTERFACE:
      fprintf(out, "interface %s version=%u\n", d->full_name, (unsigned)d->version);
      for (const struct mc_method *m = d->methods; m; m = m->next)
        dump_method(out, arena, m);
      break;
    case MC_DECL_CONST:
      fprintf(out, "const %s: %s = ", d->full_name, mc_type_spell(arena, d->const_type));
      print_value(out, &d->const_resolved);
      fputc('\n', out);
      break;
    case MC_DECL_FEATURE:
      fprintf(out, "feature %s\n", d->full_name);
      break;
  }
  for (const struct mc_decl *m = d->members; m; m = m->next)
    dump_decl(out, arena, m);
}

void mc_dump_module(FILE *out, struct mc_arena *arena, const struct mc_module *mod) {
  fprintf(out, "module %s\n", mod->namespace_[0] ? mod->namespace_ : "(none)");
  for (const struct mc_import *imp = mod->imports; imp; imp = imp->next) {
    fputs("import ", out);
    print_string(out, imp->path);
    fputc('\n', out);
  }
  for (const struct mc_decl *d = mod->decls; d; d = d->next)
    dump_decl(out, arena, d);
}
