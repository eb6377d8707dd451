/*
 * Shared state of the two halves of the parser: parse_terms.c reads the
 * small pieces (names, literals, attributes, types, ordinals) and parser.c
 * the definitions built from them.
 *
 * Error discipline: the first syntax error sets `failed` and is the only one
 * reported; every mp_ function returns NULL/false once `failed` is set, so
 * callers unwind without further checks of their own. The token array always
 * ends with MC_TOK_EOF and `take` never moves past it.
 */
#ifndef MOJOMC_PARSE_INTERNAL_H
#define MOJOMC_PARSE_INTERNAL_H

#include "ast.h"
#include "lexer.h"

struct parser {
  struct mc_arena *arena;
  struct mc_token *toks;
  size_t pos;
  int type_depth;
  bool failed;
};

static inline const struct mc_token *cur(const struct parser *p) {
  return &p->toks[p->pos];
}

static inline bool at(const struct parser *p, enum mc_tok kind) {
  return p->toks[p->pos].kind == kind;
}

static inline const struct mc_token *take(struct parser *p) {
  const struct mc_token *t = &p->toks[p->pos];
  if (t->kind != MC_TOK_EOF)
    p->pos++;
  return t;
}

void mp_unexpected(struct parser *p, const char *expected);
void mp_fail_at(struct parser *p, struct mc_loc loc, const char *msg);
bool mp_count_item(struct parser *p, size_t *n);
const struct mc_token *mp_expect(struct parser *p, enum mc_tok kind, const char *expected);
char *mp_tok_str(struct parser *p, const struct mc_token *t);
const struct mc_token *mp_parse_name(struct parser *p);
char *mp_parse_identifier(struct parser *p, struct mc_loc *loc);
char *mp_decode_string(struct parser *p, const struct mc_token *t);
struct mc_value *mp_new_value(struct parser *p, enum mc_value_kind kind, const char *text,
                              struct mc_loc loc);
struct mc_value *mp_parse_number(struct parser *p, bool allow_float);
struct mc_value *mp_parse_constant(struct parser *p);
struct mc_attr *mp_parse_attributes(struct parser *p);
struct mc_type *mp_parse_type(struct parser *p);
bool mp_parse_ordinal(struct parser *p, int64_t *ordinal, bool *explicit_ordinal);

#endif
