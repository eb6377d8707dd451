/* The parser's terms: names, literals, attributes, types and ordinals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "parse_internal.h"
#include "parser.h"

/* Reports the current token as unexpected; only the first error counts. */
void mp_unexpected(struct parser *p, const char *expected) {
  if (p->failed)
    return;
  p->failed = true;
  const struct mc_token *t = cur(p);
  const char *what = mc_tok_describe(t->kind);
  if (t->kind == MC_TOK_EOF)
    mc_error(t->loc, "unexpected end of file, expected %s", expected);
  else if (what && t->kind != MC_TOK_NAME)
    mc_error(t->loc, "unexpected %s '%.*s', expected %s", what, (int)(t->len > 40 ? 40 : t->len),
             t->text, expected);
  else
    mc_error(t->loc, "unexpected '%.*s', expected %s", (int)(t->len > 40 ? 40 : t->len), t->text,
             expected);
}

void mp_fail_at(struct parser *p, struct mc_loc loc, const char *msg) {
  if (p->failed)
    return;
  p->failed = true;
  mc_error(loc, "%s", msg);
}

/* Counts one more element of a list; fails once the list is too long. */
bool mp_count_item(struct parser *p, size_t *n) {
  if (++*n <= MC_MAX_LIST_ITEMS)
    return true;
  mp_fail_at(p, cur(p)->loc, "too many elements in this list (the limit is 4096)");
  return false;
}

const struct mc_token *mp_expect(struct parser *p, enum mc_tok kind, const char *expected) {
  if (p->failed)
    return NULL;
  if (!at(p, kind)) {
    mp_unexpected(p, expected);
    return NULL;
  }
  return take(p);
}

char *mp_tok_str(struct parser *p, const struct mc_token *t) {
  return mc_arena_strndup(p->arena, t->text, t->len);
}

/* `name`: a NAME, or the weak keyword `feature`. */
const struct mc_token *mp_parse_name(struct parser *p) {
  if (p->failed)
    return NULL;
  if (at(p, MC_TOK_NAME) || at(p, MC_TOK_FEATURE))
    return take(p);
  mp_unexpected(p, "a name");
  return NULL;
}

/* `identifier`: name { '.' name }, returned as one dotted string. */
char *mp_parse_identifier(struct parser *p, struct mc_loc *loc) {
  const struct mc_token *first = mp_parse_name(p);
  if (!first)
    return NULL;
  if (loc)
    *loc = first->loc;
  const struct mc_token *last = first;
  size_t items = 0;
  while (!p->failed && at(p, MC_TOK_DOT)) {
    if (!mp_count_item(p, &items))
      return NULL;
    take(p);
    last = mp_parse_name(p);
  }
  if (p->failed)
    return NULL;
  /* Rebuild the text from the tokens: blanks or comments may sit between them. */
  size_t n = 0;
  for (const struct mc_token *t = first; t <= last; t++)
    n += t->len;
  char *s = mc_arena_alloc(p->arena, n + 1);
  n = 0;
  for (const struct mc_token *t = first; t <= last; t++) {
    memcpy(s + n, t->text, t->len);
    n += t->len;
  }
  return s;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
    return (c | 0x20) - 'a' + 10;
  return -1;
}

/* Decodes a string literal token (quotes included) into its bytes. The lexer
 * has checked the escapes; as in C and Python, \xHH takes up to two hex
 * digits and \ddd up to three octal ones, any other escaped character stands
 * for itself except n, t and r. */
char *mp_decode_string(struct parser *p, const struct mc_token *t) {
  char *out = mc_arena_alloc(p->arena, t->len);
  size_t o = 0, end = t->len - 1; /* index of the closing quote */
  for (size_t i = 1; i < end; i++) {
    char c = t->text[i];
    if (c != '\\' || i + 1 >= end) {
      out[o++] = c;
      continue;
    }
    char e = t->text[++i];
    unsigned v = 0;
    if (e == 'x') {
      for (int k = 0; k < 2 && i + 1 < end && hex_value(t->text[i + 1]) >= 0; k++)
        v = v * 16 + (unsigned)hex_value(t->text[++i]);
      out[o++] = (char)v;
    } else if (e >= '0' && e <= '9') {
      v = (unsigned)(e - '0');
      for (int k = 1; k < 3 && i + 1 < end && t->text[i + 1] >= '0' && t->text[i + 1] <= '7'; k++)
        v = v * 8 + (unsigned)(t->text[++i] - '0');
      out[o++] = (char)v;
    } else {
      out[o++] = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
    }
  }
  out[o] = '\0';
  return out;
}

/* ---- literals and constants ---- */

struct mc_value *mp_new_value(struct parser *p, enum mc_value_kind kind, const char *text,
                              struct mc_loc loc) {
  struct mc_value *v = mc_arena_alloc(p->arena, sizeof *v);
  v->kind = kind;
  v->text = text;
  v->loc = loc;
  return v;
}

/* A signed number: [+|-] (INT | FLOAT); `allow_float` picks the grammar rule. */
struct mc_value *mp_parse_number(struct parser *p, bool allow_float) {
  struct mc_loc loc = cur(p)->loc;
  const char *sign = "";
  if (at(p, MC_TOK_PLUS) || at(p, MC_TOK_MINUS))
    sign = take(p)->kind == MC_TOK_MINUS ? "-" : "+";
  if (at(p, MC_TOK_INT_DEC) || at(p, MC_TOK_INT_HEX)) {
    const struct mc_token *t = take(p);
    return mp_new_value(p, MC_VAL_INT,
                        mc_arena_printf(p->arena, "%s%.*s", sign, (int)t->len, t->text), loc);
  }
  if (allow_float && at(p, MC_TOK_FLOAT)) {
    const struct mc_token *t = take(p);
    return mp_new_value(p, MC_VAL_FLOAT,
                        mc_arena_printf(p->arena, "%s%.*s", sign, (int)t->len, t->text), loc);
  }
  mp_unexpected(p, allow_float ? "a number" : "an integer");
  return NULL;
}

/* `constant`: literal | identifier. */
struct mc_value *mp_parse_constant(struct parser *p) {
  if (p->failed)
    return NULL;
  struct mc_loc loc = cur(p)->loc;
  switch (cur(p)->kind) {
    case MC_TOK_TRUE:
      take(p);
      return mp_new_value(p, MC_VAL_TRUE, "true", loc);
    case MC_TOK_FALSE:
      take(p);
      return mp_new_value(p, MC_VAL_FALSE, "false", loc);
    case MC_TOK_DEFAULT:
      take(p);
      return mp_new_value(p, MC_VAL_DEFAULT, "default", loc);
    case MC_TOK_STRING:
      return mp_new_value(p, MC_VAL_STRING, mp_decode_string(p, take(p)), loc);
    case MC_TOK_PLUS:
    case MC_TOK_MINUS:
    case MC_TOK_INT_DEC:
    case MC_TOK_INT_HEX:
    case MC_TOK_FLOAT:
      return mp_parse_number(p, true);
    case MC_TOK_NAME:
    case MC_TOK_FEATURE: {
      char *id = mp_parse_identifier(p, NULL);
      return id ? mp_new_value(p, MC_VAL_IDENT, id, loc) : NULL;
    }
    default:
      mp_unexpected(p, "a value");
      return NULL;
  }
}

/* ---- attributes ---- */

static struct mc_attr *parse_attribute(struct parser *p) {
  const struct mc_token *key = mp_parse_name(p);
  if (!key)
    return NULL;
  struct mc_attr *a = mc_arena_alloc(p->arena, sizeof *a);
  a->key = mp_tok_str(p, key);
  a->loc = key->loc;
  a->kind = MC_ATTR_FLAG;
  if (!at(p, MC_TOK_EQUALS))
    return a;
  take(p);
  if ((at(p, MC_TOK_NAME) || at(p, MC_TOK_FEATURE)) &&
      (p->toks[p->pos + 1].kind == MC_TOK_PIPE || p->toks[p->pos + 1].kind == MC_TOK_AMP)) {
    enum mc_tok sep = p->toks[p->pos + 1].kind;
    a->kind = sep == MC_TOK_PIPE ? MC_ATTR_OR_LIST : MC_ATTR_AND_LIST;
    struct mc_name_list **tail = &a->names;
    size_t items = 0;
    for (;;) {
      if (!mp_count_item(p, &items))
        return NULL;
      const struct mc_token *n = mp_parse_name(p);
      if (!n)
        return NULL;
      struct mc_name_list *item = mc_arena_alloc(p->arena, sizeof *item);
      item->name = mp_tok_str(p, n);
      *tail = item;
      tail = &item->next;
      if (!at(p, sep))
        return a;
      take(p);
    }
  }
  a->kind = MC_ATTR_VALUE;
  struct mc_value *v = mp_parse_constant(p);
  if (!v)
    return NULL;
  a->value = *v;
  return a;
}

/* attribute_section: nothing, or '[' [attribute {',' attribute}] ']'. */
struct mc_attr *mp_parse_attributes(struct parser *p) {
  if (p->failed || !at(p, MC_TOK_LBRACKET))
    return NULL;
  take(p);
  struct mc_attr *head = NULL, **tail = &head;
  if (!at(p, MC_TOK_RBRACKET)) {
    size_t items = 0;
    for (;;) {
      if (!mp_count_item(p, &items))
        return NULL;
      struct mc_attr *a = parse_attribute(p);
      if (!a)
        return NULL;
      *tail = a;
      tail = &a->next;
      if (!at(p, MC_TOK_COMMA))
        break;
      take(p);
    }
  }
  mp_expect(p, MC_TOK_RBRACKET, "',' or ']'");
  return head;
}

/* ---- types ---- */

static struct mc_type *new_type(struct parser *p, enum mc_type_kind kind, struct mc_loc loc) {
  struct mc_type *t = mc_arena_alloc(p->arena, sizeof *t);
  t->kind = kind;
  t->loc = loc;
  return t;
}

static enum mc_type_kind primitive_kind(const char *name) {
  static const struct {
    const char *name;
    enum mc_type_kind kind;
  } prims[] = {
      {"bool", MC_T_BOOL},     {"int8", MC_T_INT8},     {"uint8", MC_T_UINT8},
      {"int16", MC_T_INT16},   {"uint16", MC_T_UINT16}, {"int32", MC_T_INT32},
      {"uint32", MC_T_UINT32}, {"int64", MC_T_INT64},   {"uint64", MC_T_UINT64},
      {"float", MC_T_FLOAT},   {"double", MC_T_DOUBLE}, {"string", MC_T_STRING},
  };
  for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
    if (strcmp(prims[i].name, name) == 0)
      return prims[i].kind;
  return MC_T_UNRESOLVED;
}

/* A user or primitive type named by an identifier. */
static struct mc_type *parse_named_type(struct parser *p) {
  struct mc_loc loc;
  char *id = mp_parse_identifier(p, &loc);
  if (!id)
    return NULL;
  struct mc_type *t = new_type(p, primitive_kind(id), loc);
  t->name = id;
  return t;
}

static struct mc_type *parse_handle_type(struct parser *p, struct mc_loc loc) {
  static const struct {
    const char *name;
    enum mc_type_kind kind;
  } handles[] = {
      {"message_pipe", MC_T_MSGPIPE},      {"shared_buffer", MC_T_SHAREDBUFFER},
      {"data_pipe_consumer", MC_T_DCPIPE}, {"data_pipe_producer", MC_T_DPPIPE},
      {"platform", MC_T_PLATFORM},
  };
  if (!at(p, MC_TOK_LANGLE))
    return new_type(p, MC_T_HANDLE, loc);
  take(p);
  const struct mc_token *n = mp_parse_name(p);
  if (!n)
    return NULL;
  enum mc_type_kind kind = MC_T_UNRESOLVED;
  for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++)
    if (strlen(handles[i].name) == n->len && memcmp(handles[i].name, n->text, n->len) == 0)
      kind = handles[i].kind;
  if (kind == MC_T_UNRESOLVED) {
    if (!p->failed) {
      p->failed = true;
      mc_error(n->loc, "invalid handle type '%.*s'", (int)(n->len > 40 ? 40 : n->len), n->text);
    }
    return NULL;
  }
  if (!mp_expect(p, MC_TOK_RANGLE, "'>'"))
    return NULL;
  return new_type(p, kind, loc);
}

static struct mc_type *parse_array_type(struct parser *p, struct mc_loc loc) {
  if (!mp_expect(p, MC_TOK_LANGLE, "'<'"))
    return NULL;
  struct mc_type *t = new_type(p, MC_T_ARRAY, loc);
  t->elem = mp_parse_type(p);
  if (!t->elem)
    return NULL;
  if (at(p, MC_TOK_COMMA)) {
    take(p);
    const struct mc_token *n = mp_expect(p, MC_TOK_INT_DEC, "a decimal array size");
    if (!n)
      return NULL;
    uint64_t size = 0;
    for (size_t i = 0; i < n->len && size <= 0xFFFFFFFFu; i++)
      size = size * 10 + (uint64_t)(n->text[i] - '0');
    if (size == 0 || size > 0xFFFFFFFFu) {
      mp_fail_at(p, n->loc, "fixed array size must be between 1 and 4294967295");
      return NULL;
    }
    t->fixed_size = (uint32_t)size;
  }
  if (!mp_expect(p, MC_TOK_RANGLE, "'>'"))
    return NULL;
  return t;
}

static struct mc_type *parse_map_type(struct parser *p, struct mc_loc loc) {
  if (!mp_expect(p, MC_TOK_LANGLE, "'<'"))
    return NULL;
  struct mc_type *t = new_type(p, MC_T_MAP, loc);
  t->key = parse_named_type(p);
  if (!t->key || !mp_expect(p, MC_TOK_COMMA, "',' after the map key type"))
    return NULL;
  t->elem = mp_parse_type(p);
  if (!t->elem || !mp_expect(p, MC_TOK_RANGLE, "'>'"))
    return NULL;
  return t;
}

static struct mc_type *parse_pending_type(struct parser *p, enum mc_type_kind kind,
                                          struct mc_loc loc) {
  if (!mp_expect(p, MC_TOK_LANGLE, "'<'"))
    return NULL;
  struct mc_type *t = new_type(p, kind, loc);
  t->name = mp_parse_identifier(p, NULL);
  if (!t->name || !mp_expect(p, MC_TOK_RANGLE, "'>'"))
    return NULL;
  return t;
}

static struct mc_type *parse_type_inner(struct parser *p) {
  struct mc_loc loc = cur(p)->loc;
  switch (cur(p)->kind) {
    case MC_TOK_HANDLE:
      take(p);
      return parse_handle_type(p, loc);
    case MC_TOK_ARRAY:
      take(p);
      return parse_array_type(p, loc);
    case MC_TOK_MAP:
      take(p);
      return parse_map_type(p, loc);
    case MC_TOK_PENDING_REMOTE:
      take(p);
      return parse_pending_type(p, MC_T_PENDING_REMOTE, loc);
    case MC_TOK_PENDING_RECEIVER:
      take(p);
      return parse_pending_type(p, MC_T_PENDING_RECEIVER, loc);
    case MC_TOK_PENDING_ASSOCIATED_REMOTE:
      take(p);
      return parse_pending_type(p, MC_T_PENDING_ASSOC_REMOTE, loc);
    case MC_TOK_PENDING_ASSOCIATED_RECEIVER:
      take(p);
      return parse_pending_type(p, MC_T_PENDING_ASSOC_RECEIVER, loc);
    case MC_TOK_NAME:
    case MC_TOK_FEATURE:
      return parse_named_type(p);
    default:
      mp_unexpected(p, "a type");
      return NULL;
  }
}

/* typename: nonnullable_typename ['?'] */
struct mc_type *mp_parse_type(struct parser *p) {
  if (p->failed)
    return NULL;
  if (p->type_depth >= MC_MAX_TYPE_DEPTH) {
    mp_fail_at(p, cur(p)->loc, "types are nested too deeply");
    return NULL;
  }
  p->type_depth++;
  struct mc_type *t = parse_type_inner(p);
  p->type_depth--;
  if (t && at(p, MC_TOK_QSTN)) {
    take(p);
    t->nullable = true;
  }
  return p->failed ? NULL : t;
}

/* ---- ordinals ---- */

/* [ORDINAL]; stores -1 when absent. */
bool mp_parse_ordinal(struct parser *p, int64_t *ordinal, bool *explicit_ordinal) {
  *ordinal = -1;
  *explicit_ordinal = false;
  if (!at(p, MC_TOK_ORDINAL))
    return !p->failed;
  const struct mc_token *t = take(p);
  uint64_t v = 0;
  for (size_t i = 1; i < t->len && v <= 0xFFFFFFFFu; i++)
    v = v * 10 + (uint64_t)(t->text[i] - '0');
  if (v > 0xFFFFFFFFu) {
    mp_fail_at(p, t->loc, "ordinal value is too large (the maximum is 4294967295)");
    return false;
  }
  *ordinal = (int64_t)v;
  *explicit_ordinal = true;
  return true;
}
