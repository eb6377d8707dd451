/* Recursive-descent parser for mojom definitions; grammar as accepted by
 * Chromium's parser.py. The terms they are built from are in parse_terms.c. */
#include "parser.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "parse_internal.h"

/* ---- definitions ---- */

static struct mc_decl *new_decl(struct parser *p, enum mc_decl_kind kind, struct mc_attr *attrs,
                                const struct mc_token *name) {
  struct mc_decl *d = mc_arena_alloc(p->arena, sizeof *d);
  d->kind = kind;
  d->attrs = attrs;
  d->name = mp_tok_str(p, name);
  d->loc = name->loc;
  d->has_body = true;
  return d;
}

/* const: CONST typename name '=' constant ';' (after the attributes). */
static struct mc_decl *parse_const(struct parser *p, struct mc_attr *attrs) {
  take(p);
  struct mc_type *type = mp_parse_type(p);
  const struct mc_token *name = mp_parse_name(p);
  if (!type || !name || !mp_expect(p, MC_TOK_EQUALS, "'='"))
    return NULL;
  struct mc_decl *d = new_decl(p, MC_DECL_CONST, attrs, name);
  d->const_type = type;
  d->const_value = mp_parse_constant(p);
  if (!d->const_value || !mp_expect(p, MC_TOK_SEMI, "';'"))
    return NULL;
  return d;
}

/* enum_value: attrs name ['=' (int | identifier)] */
static struct mc_enum_value *parse_enum_value(struct parser *p) {
  struct mc_attr *attrs = mp_parse_attributes(p);
  const struct mc_token *name = mp_parse_name(p);
  if (!name)
    return NULL;
  struct mc_enum_value *v = mc_arena_alloc(p->arena, sizeof *v);
  v->attrs = attrs;
  v->name = mp_tok_str(p, name);
  v->loc = name->loc;
  if (at(p, MC_TOK_EQUALS)) {
    take(p);
    if (at(p, MC_TOK_NAME) || at(p, MC_TOK_FEATURE)) {
      struct mc_loc loc = cur(p)->loc;
      char *id = mp_parse_identifier(p, NULL);
      v->value = id ? mp_new_value(p, MC_VAL_IDENT, id, loc) : NULL;
    } else {
      v->value = mp_parse_number(p, false);
    }
    if (!v->value)
      return NULL;
  }
  return v;
}

/* enum: ENUM name (';' | '{' [value {',' value} [',']] '}' ';') */
static struct mc_decl *parse_enum(struct parser *p, struct mc_attr *attrs) {
  take(p);
  const struct mc_token *name = mp_parse_name(p);
  if (!name)
    return NULL;
  struct mc_decl *d = new_decl(p, MC_DECL_ENUM, attrs, name);
  if (at(p, MC_TOK_SEMI)) {
    take(p);
    d->has_body = false;
    return d;
  }
  if (!mp_expect(p, MC_TOK_LBRACE, "'{' or ';'"))
    return NULL;
  struct mc_enum_value **tail = &d->values;
  size_t items = 0;
  while (!at(p, MC_TOK_RBRACE)) {
    if (!mp_count_item(p, &items))
      return NULL;
    struct mc_enum_value *v = parse_enum_value(p);
    if (!v)
      return NULL;
    *tail = v;
    tail = &v->next;
    if (!at(p, MC_TOK_COMMA))
      break;
    take(p);
  }
  if (!mp_expect(p, MC_TOK_RBRACE, "',' or '}'") || !mp_expect(p, MC_TOK_SEMI, "';'"))
    return NULL;
  return d;
}

/* attrs typename name [ordinal] — the part struct fields, union fields and
 * parameters share. */
static struct mc_field *parse_field_head(struct parser *p, struct mc_attr *attrs) {
  struct mc_type *type = mp_parse_type(p);
  const struct mc_token *name = mp_parse_name(p);
  if (!type || !name)
    return NULL;
  struct mc_field *f = mc_arena_alloc(p->arena, sizeof *f);
  f->attrs = attrs;
  f->type = type;
  f->name = mp_tok_str(p, name);
  f->loc = name->loc;
  if (!mp_parse_ordinal(p, &f->ordinal, &f->explicit_ordinal))
    return NULL;
  return f;
}

/* Appends a nested definition or a field to the right list of a struct,
 * interface or feature body. */
static void add_member(struct mc_decl ***members_tail, struct mc_decl *member) {
  **members_tail = member;
  *members_tail = &member->next;
}

static bool parse_struct_body(struct parser *p, struct mc_decl *d) {
  struct mc_decl **members = &d->members;
  struct mc_field **fields = &d->fields;
  size_t items = 0;
  while (!p->failed && !at(p, MC_TOK_RBRACE)) {
    if (!mp_count_item(p, &items))
      return false;
    struct mc_attr *attrs = mp_parse_attributes(p);
    if (at(p, MC_TOK_CONST) || at(p, MC_TOK_ENUM)) {
      struct mc_decl *m = at(p, MC_TOK_CONST) ? parse_const(p, attrs) : parse_enum(p, attrs);
      if (!m)
        return false;
      add_member(&members, m);
      continue;
    }
    struct mc_field *f = parse_field_head(p, attrs);
    if (!f)
      return false;
    if (at(p, MC_TOK_EQUALS)) {
      take(p);
      f->default_value = mp_parse_constant(p);
    }
    if (!mp_expect(p, MC_TOK_SEMI, "';'"))
      return false;
    *fields = f;
    fields = &f->next;
  }
  return !p->failed;
}

/* struct: STRUCT name (';' | '{' body '}' ';') */
static struct mc_decl *parse_struct(struct parser *p, struct mc_attr *attrs) {
  take(p);
  const struct mc_token *name = mp_parse_name(p);
  if (!name)
    return NULL;
  struct mc_decl *d = new_decl(p, MC_DECL_STRUCT, attrs, name);
  if (at(p, MC_TOK_SEMI)) {
    take(p);
    d->has_body = false;
    return d;
  }
  if (!mp_expect(p, MC_TOK_LBRACE, "'{' or ';'") || !parse_struct_body(p, d) ||
      !mp_expect(p, MC_TOK_RBRACE, "'}'") || !mp_expect(p, MC_TOK_SEMI, "';'"))
    return NULL;
  return d;
}

static struct mc_decl *parse_union(struct parser *p, struct mc_attr *attrs) {
  take(p);
  const struct mc_token *name = mp_parse_name(p);
  if (!name || !mp_expect(p, MC_TOK_LBRACE, "'{'"))
    return NULL;
  struct mc_decl *d = new_decl(p, MC_DECL_UNION, attrs, name);
  struct mc_field **fields = &d->fields;
  size_t items = 0;
  while (!p->failed && !at(p, MC_TOK_RBRACE)) {
    if (!mp_count_item(p, &items))
      return NULL;
    struct mc_field *f = parse_field_head(p, mp_parse_attributes(p));
    if (!f || !mp_expect(p, MC_TOK_SEMI, "';'"))
      return NULL;
    *fields = f;
    fields = &f->next;
  }
  if (!mp_expect(p, MC_TOK_RBRACE, "'}'") || !mp_expect(p, MC_TOK_SEMI, "';'"))
    return NULL;
  return d;
}

/* parameter_list: [parameter {',' parameter}], up to the closing ')'. */
static bool parse_params(struct parser *p, struct mc_field **list) {
  if (!mp_expect(p, MC_TOK_LPAREN, "'('"))
    return false;
  if (!at(p, MC_TOK_RPAREN)) {
    size_t items = 0;
    for (;;) {
      if (!mp_count_item(p, &items))
        return false;
      struct mc_field *f = parse_field_head(p, mp_parse_attributes(p));
      if (!f)
        return false;
      *list = f;
      list = &f->next;
      if (!at(p, MC_TOK_COMMA))
        break;
      take(p);
    }
  }
  return mp_expect(p, MC_TOK_RPAREN, "',' or ')'") != NULL;
}

/* The part after '=>': '(' params ')' or result<T, E>. */
static bool parse_response(struct parser *p, struct mc_method *m) {
  m->has_response = true;
  const struct mc_token *t = cur(p);
  if (t->kind == MC_TOK_NAME && t->len == 6 && memcmp(t->text, "result", 6) == 0) {
    take(p);
    if (!mp_expect(p, MC_TOK_LANGLE, "'<' after 'result'"))
      return false;
    m->result_ok = mp_parse_type(p);
    if (!m->result_ok || !mp_expect(p, MC_TOK_COMMA, "','"))
      return false;
    m->result_err = mp_parse_type(p);
    return m->result_err && mp_expect(p, MC_TOK_RANGLE, "'>'");
  }
  if (!at(p, MC_TOK_LPAREN)) {
    mp_unexpected(p, "'(' or 'result'");
    return false;
  }
  return parse_params(p, &m->response);
}

/* method: attrs name [ordinal] '(' params ')' ['=>' response] ';' */
static struct mc_method *parse_method(struct parser *p, struct mc_attr *attrs) {
  const struct mc_token *name = mp_parse_name(p);
  if (!name)
    return NULL;
  struct mc_method *m = mc_arena_alloc(p->arena, sizeof *m);
  m->attrs = attrs;
  m->name = mp_tok_str(p, name);
  m->loc = name->loc;
  if (!mp_parse_ordinal(p, &m->ordinal, &m->explicit_ordinal) || !parse_params(p, &m->params))
    return NULL;
  if (at(p, MC_TOK_RESPONSE)) {
    take(p);
    if (!parse_response(p, m))
      return NULL;
  }
  return mp_expect(p, MC_TOK_SEMI, "';'") ? m : NULL;
}

static struct mc_decl *parse_interface(struct parser *p, struct mc_attr *attrs) {
  take(p);
  const struct mc_token *name = mp_parse_name(p);
  if (!name || !mp_expect(p, MC_TOK_LBRACE, "'{'"))
    return NULL;
  struct mc_decl *d = new_decl(p, MC_DECL_INTERFACE, attrs, name);
  struct mc_decl **members = &d->members;
  struct mc_method **methods = &d->methods;
  size_t items = 0;
  while (!p->failed && !at(p, MC_TOK_RBRACE)) {
    if (!mp_count_item(p, &items))
      return NULL;
    struct mc_attr *a = mp_parse_attributes(p);
    if (at(p, MC_TOK_CONST) || at(p, MC_TOK_ENUM)) {
      struct mc_decl *m = at(p, MC_TOK_CONST) ? parse_const(p, a) : parse_enum(p, a);
      if (!m)
        return NULL;
      add_member(&members, m);
      continue;
    }
    struct mc_method *m = parse_method(p, a);
    if (!m)
      return NULL;
    *methods = m;
    methods = &m->next;
  }
  if (!mp_expect(p, MC_TOK_RBRACE, "'}'") || !mp_expect(p, MC_TOK_SEMI, "';'"))
    return NULL;
  return d;
}

/* feature: FEATURE name '{' {attrs const} '}' ';' */
static struct mc_decl *parse_feature(struct parser *p, struct mc_attr *attrs) {
  take(p);
  const struct mc_token *name = mp_parse_name(p);
  if (!name || !mp_expect(p, MC_TOK_LBRACE, "'{'"))
    return NULL;
  struct mc_decl *d = new_decl(p, MC_DECL_FEATURE, attrs, name);
  struct mc_decl **members = &d->members;
  size_t items = 0;
  while (!p->failed && !at(p, MC_TOK_RBRACE)) {
    if (!mp_count_item(p, &items))
      return NULL;
    struct mc_attr *a = mp_parse_attributes(p);
    if (!at(p, MC_TOK_CONST)) {
      mp_unexpected(p, "'const' or '}'");
      return NULL;
    }
    struct mc_decl *c = parse_const(p, a);
    if (!c)
      return NULL;
    add_member(&members, c);
  }
  if (!mp_expect(p, MC_TOK_RBRACE, "'}'") || !mp_expect(p, MC_TOK_SEMI, "';'"))
    return NULL;
  return d;
}

static struct mc_decl *parse_definition(struct parser *p, struct mc_attr *attrs) {
  switch (cur(p)->kind) {
    case MC_TOK_STRUCT:
      return parse_struct(p, attrs);
    case MC_TOK_UNION:
      return parse_union(p, attrs);
    case MC_TOK_INTERFACE:
      return parse_interface(p, attrs);
    case MC_TOK_ENUM:
      return parse_enum(p, attrs);
    case MC_TOK_CONST:
      return parse_const(p, attrs);
    case MC_TOK_FEATURE:
      return parse_feature(p, attrs);
    default:
      mp_unexpected(p, "a definition");
      return NULL;
  }
}

static bool parse_module_stmt(struct parser *p, struct mc_module *mod, struct mc_attr *attrs,
                              bool any_before) {
  const struct mc_token *kw = take(p);
  if (mod->namespace_) {
    mp_fail_at(p, kw->loc, "only one module statement is allowed");
    return false;
  }
  if (any_before) {
    mp_fail_at(p, kw->loc, "the module statement must come before imports and definitions");
    return false;
  }
  mod->module_attrs = attrs;
  mod->module_loc = kw->loc;
  mod->namespace_ = mp_parse_identifier(p, NULL);
  return mod->namespace_ && mp_expect(p, MC_TOK_SEMI, "';'");
}

static struct mc_import *parse_import(struct parser *p, struct mc_attr *attrs, bool after_defs) {
  const struct mc_token *kw = take(p);
  if (after_defs) {
    mp_fail_at(p, kw->loc, "imports must come before definitions");
    return NULL;
  }
  struct mc_loc loc = cur(p)->loc;
  const struct mc_token *s = mp_expect(p, MC_TOK_STRING, "a quoted file name");
  if (!s || !mp_expect(p, MC_TOK_SEMI, "';'"))
    return NULL;
  struct mc_import *imp = mc_arena_alloc(p->arena, sizeof *imp);
  imp->attrs = attrs;
  imp->path = mp_decode_string(p, s);
  imp->loc = loc;
  return imp;
}

static void parse_file(struct parser *p, struct mc_module *mod) {
  struct mc_import **imports = &mod->imports;
  struct mc_decl **decls = &mod->decls;
  size_t items = 0;
  while (!p->failed && !at(p, MC_TOK_EOF)) {
    if (!mp_count_item(p, &items))
      return;
    struct mc_attr *attrs = mp_parse_attributes(p);
    if (p->failed)
      return;
    if (at(p, MC_TOK_MODULE)) {
      parse_module_stmt(p, mod, attrs, mod->imports || mod->decls);
    } else if (at(p, MC_TOK_IMPORT)) {
      struct mc_import *imp = parse_import(p, attrs, mod->decls != NULL);
      if (imp) {
        *imports = imp;
        imports = &imp->next;
      }
    } else {
      struct mc_decl *d = parse_definition(p, attrs);
      if (d) {
        *decls = d;
        decls = &d->next;
      }
    }
  }
}

struct mc_module *mc_parse(struct mc_arena *arena, struct mc_source *src) {
  struct parser p = {.arena = arena};
  size_t count;
  if (!mc_lex(src, &p.toks, &count))
    return NULL;
  struct mc_module *mod = mc_arena_alloc(arena, sizeof *mod);
  mod->src = src;
  parse_file(&p, mod);
  free(p.toks);
  if (p.failed)
    return NULL;
  if (!mod->namespace_)
    mod->namespace_ = "";
  return mod;
}
