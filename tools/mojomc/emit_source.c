/* The generated source: the descriptor tables of one module and its typed
 * wrappers; see emit_c.h. Static helper tables are named gen_*, which no
 * public name of a generated header starts with. */
#include "emit_c.h"
#include "pack.h"

static const char *const kind_names[] = {
    [MC_WK_BOOL] = "BOOL",
    [MC_WK_INT8] = "INT8",
    [MC_WK_UINT8] = "UINT8",
    [MC_WK_INT16] = "INT16",
    [MC_WK_UINT16] = "UINT16",
    [MC_WK_INT32] = "INT32",
    [MC_WK_UINT32] = "UINT32",
    [MC_WK_INT64] = "INT64",
    [MC_WK_UINT64] = "UINT64",
    [MC_WK_FLOAT] = "FLOAT",
    [MC_WK_DOUBLE] = "DOUBLE",
    [MC_WK_ENUM] = "ENUM",
    [MC_WK_STRING] = "STRING",
    [MC_WK_ARRAY] = "ARRAY",
    [MC_WK_MAP] = "MAP",
    [MC_WK_STRUCT] = "STRUCT",
    [MC_WK_UNION] = "UNION",
    [MC_WK_HANDLE] = "HANDLE",
    [MC_WK_PENDING_REMOTE] = "PENDING_REMOTE",
    [MC_WK_PENDING_RECEIVER] = "PENDING_RECEIVER",
    [MC_WK_PENDING_ASSOCIATED_REMOTE] = "PENDING_ASSOCIATED_REMOTE",
    [MC_WK_PENDING_ASSOCIATED_RECEIVER] = "PENDING_ASSOCIATED_RECEIVER",
};

static const char *const handle_names[] = {
    "ANY", "MESSAGE_PIPE", "DATA_PIPE_CONSUMER", "DATA_PIPE_PRODUCER", "SHARED_BUFFER", "PLATFORM",
};

/* _Alignof is C11; C99 compilers we support spell it __alignof__. */
static const char prologue[] =
    "#include <stddef.h>\n#include <string.h>\n\n"
    "#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L\n"
    "#define CMOJO_GENERATED_ALIGNOF(type) _Alignof(type)\n"
    "#else\n"
    "#define CMOJO_GENERATED_ALIGNOF(type) __alignof__(type)\n"
    "#endif\n";

static void emit_type(struct mc_emitter *e, const struct mc_wtype *t) {
  FILE *o = e->out;
  fprintf(o, "static const cmojo_wire_type gen_type_%u = {.kind = CMOJO_WIRE_KIND_%s",
          (unsigned)t->index, kind_names[t->kind]);
  if (t->nullable)
    fputs(", .nullable = 1", o);
  if (t->handle_type)
    fprintf(o, ", .handle_type = CMOJO_WIRE_HANDLE_%s", handle_names[t->handle_type]);
  if (t->fixed_count)
    fprintf(o, ", .fixed_count = %u", (unsigned)t->fixed_count);
  if (t->element)
    fprintf(o, ", .element = &gen_type_%u", (unsigned)t->element->index);
  if (t->key)
    fprintf(o, ", .key = &gen_type_%u", (unsigned)t->key->index);
  const char *member = t->kind == MC_WK_STRUCT  ? "struct_type"
                       : t->kind == MC_WK_UNION ? "union_type"
                       : t->kind == MC_WK_ENUM  ? "enum_type"
                       : t->decl                ? "interface"
                                                : NULL;
  if (member)
    fprintf(o, ", .%s = &%s_desc", member, mc_c_name(e->arena, t->decl));
  fprintf(o, "}; /* %s */\n", mc_type_spell(e->arena, t->source));
}

static void emit_enum(struct mc_emitter *e, const struct mc_wenum *en) {
  FILE *o = e->out;
  if (en->num_values) {
    fprintf(o, "static const int32_t gen_values_%s[] = {", en->c_name);
    for (size_t i = 0; i < en->num_values; i++)
      fprintf(o, "%s%s", i ? ", " : "", mc_i32_literal(e->arena, en->values[i]));
    fputs("};\n", o);
  }
  fprintf(o, "const cmojo_wire_enum %s_desc = {\n    .name = \"%s\",\n", en->c_name,
          en->decl->full_name);
  if (en->num_values)
    fprintf(o, "    .values = gen_values_%s,\n    .num_values = %u,\n", en->c_name,
            (unsigned)en->num_values);
  fprintf(o, "    .extensible = %d,\n    .has_default = %d,\n    .default_value = %s};\n",
          en->extensible, en->has_default, mc_i32_literal(e->arena, en->default_value));
}

static void emit_field(struct mc_emitter *e, const struct mc_wstruct *s,
                       const struct mc_wfield *f) {
  fprintf(e->out, "    {.name = \"%s\", .type = &gen_type_%u, .offset = %u", f->field->name,
          (unsigned)f->type->index, (unsigned)f->offset);
  if (f->bit)
    fprintf(e->out, ", .bit = %u", (unsigned)f->bit);
  if (f->has_value_offset)
    fprintf(e->out, ", .has_value_offset = %u, .has_value_bit = %u", (unsigned)f->has_value_offset,
            (unsigned)f->has_value_bit);
  if (f->min_version)
    fprintf(e->out, ", .min_version = %u", (unsigned)f->min_version);
  fprintf(e->out, ",\n     .c_offset = (uint32_t)offsetof(%s, %s)},\n", s->c_name,
          mc_c_member(e->arena, f->field->name));
}

static void emit_struct(struct mc_emitter *e, const struct mc_wstruct *s) {
  FILE *o = e->out;
  fputc('\n', o);
  if (s->num_fields) {
    fprintf(o, "static const cmojo_wire_field gen_fields_%s[] = {\n", s->c_name);
    for (size_t i = 0; i < s->num_fields; i++)
      emit_field(e, s, &s->fields[i]);
    fputs("};\n", o);
  }
  fprintf(o, "static const cmojo_wire_version gen_versions_%s[] = {", s->c_name);
  for (size_t i = 0; i < s->layout->version_count; i++)
    fprintf(o, "%s{%u, %u}", i ? ", " : "", (unsigned)s->layout->versions[i].version,
            (unsigned)s->layout->versions[i].num_bytes);
  fprintf(o, "};\nconst cmojo_wire_struct %s_desc = {\n    .name = \"%s\",\n", s->c_name,
          s->mojom_name);
  if (s->num_fields)
    fprintf(o, "    .fields = gen_fields_%s,\n    .num_fields = %u,\n", s->c_name,
            (unsigned)s->num_fields);
  fprintf(o,
          "    .versions = gen_versions_%s,\n    .num_versions = %u,\n"
          "    .c_size = sizeof(%s),\n    .c_align = CMOJO_GENERATED_ALIGNOF(%s)};\n",
          s->c_name, (unsigned)s->layout->version_count, s->c_name, s->c_name);
}

static void emit_union(struct mc_emitter *e, const struct mc_wunion *u) {
  FILE *o = e->out;
  fputc('\n', o);
  if (u->num_fields) {
    fprintf(o, "static const cmojo_wire_union_field gen_fields_%s[] = {\n", u->c_name);
    for (size_t i = 0; i < u->num_fields; i++)
      fprintf(o, "    {.name = \"%s\", .tag = %u, .type = &gen_type_%u},\n",
              u->fields[i].field->name, (unsigned)u->fields[i].tag,
              (unsigned)u->fields[i].type->index);
    fputs("};\n", o);
  }
  fprintf(o, "const cmojo_wire_union %s_desc = {\n    .name = \"%s\",\n", u->c_name,
          u->decl->full_name);
  if (u->num_fields)
    fprintf(o, "    .fields = gen_fields_%s,\n    .num_fields = %u,\n", u->c_name,
            (unsigned)u->num_fields);
  fprintf(o,
          "    .extensible = %d,\n    .default_tag = %u,\n    .c_size = sizeof(%s),\n"
          "    .c_align = CMOJO_GENERATED_ALIGNOF(%s),\n"
          "    .c_value_offset = (uint32_t)offsetof(%s, value)};\n",
          u->extensible, (unsigned)u->default_tag, u->c_name, u->c_name, u->c_name);
}

static const char *method_flag_names(struct mc_arena *arena, uint32_t flags) {
  static const char *const names[] = {"SYNC", "NO_INTERRUPT", "SUPPORTS_URGENT", "UNLIMITED_SIZE"};
  const char *out = "";
  for (unsigned i = 0; i < 4; i++)
    if (flags & (1u << i))
      out = mc_arena_printf(arena, "%s%sCMOJO_WIRE_METHOD_%s", out, *out ? " | " : "", names[i]);
  return *out ? out : "0";
}

static void emit_interface(struct mc_emitter *e, const struct mc_winterface *w) {
  FILE *o = e->out;
  for (size_t i = 0; i < w->num_methods; i++) {
    emit_struct(e, w->methods[i].request);
    if (w->methods[i].response)
      emit_struct(e, w->methods[i].response);
  }
  fputc('\n', o);
  if (w->num_methods) {
    fprintf(o, "static const cmojo_wire_method gen_methods_%s[] = {\n", w->c_name);
    for (size_t i = 0; i < w->num_methods; i++) {
      const struct mc_wmethod *m = &w->methods[i];
      fprintf(o,
              "    {.name = \"%s\", .ordinal = %uu, .min_version = %u, .flags = %s,\n"
              "     .request = &%s_desc, .response = ",
              m->method->name, (unsigned)m->ordinal, (unsigned)m->min_version,
              method_flag_names(e->arena, m->flags), m->request->c_name);
      if (m->response)
        fprintf(o, "&%s_desc},\n", m->response->c_name);
      else
        fputs("NULL},\n", o);
    }
    fputs("};\n", o);
  }
  fprintf(o, "const cmojo_wire_interface %s_desc = {\n    .name = \"%s\",\n    .version = %u",
          w->c_name, w->decl->full_name, (unsigned)w->version);
  if (w->num_methods)
    fprintf(o, ",\n    .methods = gen_methods_%s,\n    .num_methods = %u", w->c_name,
            (unsigned)w->num_methods);
  fputs("};\n", o);
}

/* ---- wrappers ---- */

/* Header flags of a message, as Chromium's generated proxies and responders
 * set them. */
static const char *header_flags(struct mc_arena *arena, const struct mc_wmethod *m, bool response) {
  const char *f = response      ? "CMOJO_WIRE_FLAG_IS_RESPONSE"
                  : m->response ? "CMOJO_WIRE_FLAG_EXPECTS_RESPONSE"
                                : "";
  if (m->flags & MC_WM_SYNC)
    f = mc_arena_printf(arena, "%s%sCMOJO_WIRE_FLAG_IS_SYNC", f, *f ? " | " : "");
  if (!response && (m->flags & MC_WM_NO_INTERRUPT))
    f = mc_arena_printf(arena, "%s%sCMOJO_WIRE_FLAG_NO_INTERRUPT", f, *f ? " | " : "");
  return *f ? f : "0";
}

static void emit_builder(struct mc_emitter *e, const struct mc_wmethod *m, bool response) {
  FILE *o = e->out;
  const struct mc_wstruct *s = response ? m->response : m->request;
  fprintf(o, "\n%s {\n  %s cmojo_params;\n  cmojo_wire_header cmojo_header;\n",
          mc_build_signature(e->arena, m, response), s->c_name);
  fputs(
      "  memset(&cmojo_params, 0, sizeof cmojo_params);\n"
      "  memset(&cmojo_header, 0, sizeof cmojo_header);\n",
      o);
  for (const struct mc_field *f = s->decl_fields; f; f = f->next) {
    const char *member = mc_c_member(e->arena, f->name);
    fprintf(o, "  cmojo_params.%s = %s;\n", member, member);
  }
  fprintf(o,
          "  cmojo_header.interface_id = cmojo_interface_id;\n"
          "  cmojo_header.name = %s_ORDINAL;\n  cmojo_header.flags = %s;\n",
          m->c_name, header_flags(e->arena, m, response));
  if (response || m->response)
    fputs("  cmojo_header.request_id = cmojo_request_id;\n", o);
  fprintf(o,
          "  return cmojo_wire_encode_message(&cmojo_header, &%s_desc, &cmojo_params, "
          "cmojo_out);\n}\n",
          s->c_name);
}

static void emit_decoder(struct mc_emitter *e, const struct mc_wmethod *m, bool response) {
  const struct mc_wstruct *s = response ? m->response : m->request;
  fprintf(e->out,
          "\n%s {\n  void *value = NULL;\n"
          "  MojoResult result = cmojo_wire_decode_message(bytes, num_bytes, handles, "
          "num_handles,\n      &%s_desc, &value, out_error);\n"
          "  if (result == MOJO_RESULT_OK)\n    *out_params = (%s *)value;\n"
          "  return result;\n}\n",
          mc_decode_signature(e->arena, m, response), s->c_name, s->c_name);
}

void mc_emit_source(struct mc_emitter *e) {
  const struct mc_wmodel *m = e->model;
  mc_emit_banner(e);
  fprintf(e->out, "#include \"%s.h\"\n\n%s\n", e->rel_path, prologue);
  if (m->num_types)
    fputs("/* Every distinct use of a type. */\n", e->out);
  for (const struct mc_wtype *t = m->types; t; t = t->next)
    emit_type(e, t);
  for (size_t i = 0; i < m->num_enums; i++) {
    fputc('\n', e->out);
    emit_enum(e, m->enums[i]);
  }
  for (size_t i = 0; i < m->num_structs; i++)
    emit_struct(e, m->structs[i]);
  for (size_t i = 0; i < m->num_unions; i++)
    emit_union(e, m->unions[i]);
  for (size_t i = 0; i < m->num_interfaces; i++) {
    emit_interface(e, m->interfaces[i]);
    for (size_t j = 0; j < m->interfaces[i]->num_methods; j++) {
      const struct mc_wmethod *mt = &m->interfaces[i]->methods[j];
      emit_builder(e, mt, false);
      emit_decoder(e, mt, false);
      if (mt->response) {
        emit_builder(e, mt, true);
        emit_decoder(e, mt, true);
      }
    }
  }
}
