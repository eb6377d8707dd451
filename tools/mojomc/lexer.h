/*
 * The mojom lexer: turns a source buffer into an array of tokens.
 *
 * It follows Chromium's token set: keywords, NAME, ORDINAL (@N, decimal
 * without leading zeros), decimal/hex integers (octal is rejected), floats,
 * C-like string literals, punctuation, line and block comments. `result`
 * is an ordinary NAME here; the parser treats it as a keyword right after
 * `=>`. The first lexical error is reported through diag and ends lexing.
 * The token array always ends with one MC_TOK_EOF token.
 */
#ifndef MOJOMC_LEXER_H
#define MOJOMC_LEXER_H

#include "ast.h"

enum mc_tok {
  MC_TOK_EOF,
  MC_TOK_NAME,
  MC_TOK_ORDINAL,
  MC_TOK_INT_DEC,
  MC_TOK_INT_HEX,
  MC_TOK_FLOAT,
  MC_TOK_STRING,
  /* punctuation */
  MC_TOK_MINUS,
  MC_TOK_PLUS,
  MC_TOK_QSTN,
  MC_TOK_EQUALS,
  MC_TOK_RESPONSE, /* => */
  MC_TOK_LPAREN,
  MC_TOK_RPAREN,
  MC_TOK_LBRACKET,
  MC_TOK_RBRACKET,
  MC_TOK_LBRACE,
  MC_TOK_RBRACE,
  MC_TOK_LANGLE,
  MC_TOK_RANGLE,
  MC_TOK_SEMI,
  MC_TOK_COMMA,
  MC_TOK_PIPE,
  MC_TOK_AMP,
  MC_TOK_DOT,
  /* keywords */
  MC_TOK_HANDLE,
  MC_TOK_IMPORT,
  MC_TOK_MODULE,
  MC_TOK_STRUCT,
  MC_TOK_UNION,
  MC_TOK_INTERFACE,
  MC_TOK_ENUM,
  MC_TOK_CONST,
  MC_TOK_TRUE,
  MC_TOK_FALSE,
  MC_TOK_DEFAULT,
  MC_TOK_ARRAY,
  MC_TOK_MAP,
  MC_TOK_PENDING_REMOTE,
  MC_TOK_PENDING_RECEIVER,
  MC_TOK_PENDING_ASSOCIATED_REMOTE,
  MC_TOK_PENDING_ASSOCIATED_RECEIVER,
  MC_TOK_FEATURE,
};

struct mc_token {
  enum mc_tok kind;
  const char *text; /* points into the source */
  size_t len;
  struct mc_loc loc;
};

/* On success stores a malloc'd array (free() it) and returns true. */
bool mc_lex(const struct mc_source *src, struct mc_token **tokens, size_t *count);
/* How a token kind is shown in "unexpected ..." messages. */
const char *mc_tok_describe(enum mc_tok kind);

#endif
