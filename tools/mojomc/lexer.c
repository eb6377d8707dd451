/* Tokenizer for mojom source; see lexer.h for the token set. */
#include "lexer.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"

struct lexer {
  const struct mc_source *src;
  size_t pos;
  int line, col;
  struct mc_token *toks;
  size_t count, cap;
};

static const struct {
  const char *word;
  enum mc_tok kind;
} keywords[] = {
    {"handle", MC_TOK_HANDLE},
    {"import", MC_TOK_IMPORT},
    {"module", MC_TOK_MODULE},
    {"struct", MC_TOK_STRUCT},
    {"union", MC_TOK_UNION},
    {"interface", MC_TOK_INTERFACE},
    {"enum", MC_TOK_ENUM},
    {"const", MC_TOK_CONST},
    {"true", MC_TOK_TRUE},
    {"false", MC_TOK_FALSE},
    {"default", MC_TOK_DEFAULT},
    {"array", MC_TOK_ARRAY},
    {"map", MC_TOK_MAP},
    {"pending_remote", MC_TOK_PENDING_REMOTE},
    {"pending_receiver", MC_TOK_PENDING_RECEIVER},
    {"pending_associated_remote", MC_TOK_PENDING_ASSOCIATED_REMOTE},
    {"pending_associated_receiver", MC_TOK_PENDING_ASSOCIATED_RECEIVER},
    {"feature", MC_TOK_FEATURE},
};

const char *mc_tok_describe(enum mc_tok kind) {
  switch (kind) {
    case MC_TOK_EOF:
      return "end of file";
    case MC_TOK_NAME:
      return "name";
    case MC_TOK_ORDINAL:
      return "ordinal";
    case MC_TOK_INT_DEC:
    case MC_TOK_INT_HEX:
      return "integer";
    case MC_TOK_FLOAT:
      return "number";
    case MC_TOK_STRING:
      return "string";
    default:
      return NULL; /* shown by its text */
  }
}

static int peek(const struct lexer *lx, size_t ahead) {
  size_t i = lx->pos + ahead;
  return i < lx->src->len ? (unsigned char)lx->src->text[i] : -1;
}

static bool is_digit(int c) {
  return c >= '0' && c <= '9';
}
static bool is_hex(int c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static bool is_ident_start(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_ident(int c) {
  return is_ident_start(c) || is_digit(c);
}

static struct mc_loc here(const struct lexer *lx) {
  return (struct mc_loc){lx->src, lx->line, lx->col};
}

/* Moves over n bytes, keeping line and column current. */
static void advance(struct lexer *lx, size_t n) {
  for (size_t i = 0; i < n && lx->pos < lx->src->len; i++) {
    if (lx->src->text[lx->pos] == '\n') {
      lx->line++;
      lx->col = 1;
    } else {
      lx->col++;
    }
    lx->pos++;
  }
}

static void push(struct lexer *lx, enum mc_tok kind, size_t len) {
  if (lx->count == lx->cap) {
    size_t cap = lx->cap ? lx->cap * 2 : 256;
    struct mc_token *t = realloc(lx->toks, cap * sizeof *t);
    if (!t) {
      mc_error_plain("out of memory");
      exit(1);
    }
    lx->toks = t;
    lx->cap = cap;
  }
  lx->toks[lx->count++] = (struct mc_token){kind, lx->src->text + lx->pos, len, here(lx)};
  advance(lx, len);
}

/* Length of a float at the current position, or 0 if there is none.
 * Floats need a '.' or an exponent: 1.5, .5, 1., 1e9, 1.5e-3. */
static size_t float_len(const struct lexer *lx) {
  size_t i = 0, int_digits = 0, frac_digits = 0;
  bool dot = false;
  while (is_digit(peek(lx, i)))
    i++, int_digits++;
  if (peek(lx, i) == '.') {
    dot = true;
    i++;
    while (is_digit(peek(lx, i)))
      i++, frac_digits++;
  }
  if (int_digits == 0 && frac_digits == 0)
    return 0;
  size_t exp = 0;
  int e = peek(lx, i);
  if (e == 'e' || e == 'E') {
    size_t j = i + 1;
    if (peek(lx, j) == '+' || peek(lx, j) == '-')
      j++;
    if (is_digit(peek(lx, j))) {
      while (is_digit(peek(lx, j)))
        j++;
      exp = j - i;
    }
  }
  if (!dot && exp == 0)
    return 0;
  return i + exp;
}

static bool lex_number(struct lexer *lx) {
  size_t n = float_len(lx);
  if (n) {
    push(lx, MC_TOK_FLOAT, n);
    return true;
  }
  if (peek(lx, 0) == '0' && (peek(lx, 1) == 'x' || peek(lx, 1) == 'X') && is_hex(peek(lx, 2))) {
    n = 2;
    while (is_hex(peek(lx, n)))
      n++;
    push(lx, MC_TOK_INT_HEX, n);
    return true;
  }
  if (peek(lx, 0) == '0' && is_digit(peek(lx, 1))) {
    mc_error(here(lx), "octal numbers are not allowed");
    return false;
  }
  n = 0;
  while (is_digit(peek(lx, n)))
    n++;
  push(lx, MC_TOK_INT_DEC, n);
  return true;
}

static bool lex_ordinal(struct lexer *lx) {
  if (!is_digit(peek(lx, 1))) {
    mc_error(here(lx), "missing ordinal value after '@'");
    return false;
  }
  if (peek(lx, 1) == '0' && (is_digit(peek(lx, 2)) || peek(lx, 2) == 'x' || peek(lx, 2) == 'X')) {
    mc_error(here(lx), "ordinals must be decimal numbers without leading zeros");
    return false;
  }
  size_t n = 1;
  while (is_digit(peek(lx, n)))
    n++;
  push(lx, MC_TOK_ORDINAL, n);
  return true;
}

/* Escapes follow Chromium's lexer: a letter or one of ._~!=&^-\?'" after the
 * backslash, a run of decimal digits starting with 0-7, or x with hex digits. */
static bool lex_string(struct lexer *lx) {
  size_t n = 1;
  for (;;) {
    int c = peek(lx, n);
    if (c == -1 || c == '\n') {
      mc_error(here(lx), "missing closing '\"' in string literal");
      return false;
    }
    if (c == '"')
      break;
    if (c == '\\') {
      int e = peek(lx, n + 1);
      if (e == 'x' && is_hex(peek(lx, n + 2))) {
        n += 2;
        while (is_hex(peek(lx, n)))
          n++;
        continue;
      }
      if (e >= '0' && e <= '7') { /* \8 and \9 are not escapes */
        n += 1;
        while (is_digit(peek(lx, n)))
          n++;
        continue;
      }
      if (e > 0 && (is_ident_start(e) || strchr(".~!=&^-\\?'\"", e))) {
        n += 2;
        continue;
      }
      struct mc_loc loc = here(lx);
      loc.col += (int)n;
      mc_error(loc, "invalid escape sequence in string literal");
      return false;
    }
    n++;
  }
  push(lx, MC_TOK_STRING, n + 1);
  return true;
}

static void lex_name(struct lexer *lx) {
  size_t n = 1;
  while (is_ident(peek(lx, n)))
    n++;
  enum mc_tok kind = MC_TOK_NAME;
  for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
    if (strlen(keywords[i].word) == n && memcmp(keywords[i].word, lx->src->text + lx->pos, n) == 0)
      kind = keywords[i].kind;
  push(lx, kind, n);
}

/* Skips blanks and comments; false on an unterminated block comment. */
static bool skip_space(struct lexer *lx) {
  for (;;) {
    int c = peek(lx, 0);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      advance(lx, 1);
    } else if (c == '/' && peek(lx, 1) == '/') {
      while (peek(lx, 0) != -1 && peek(lx, 0) != '\n')
        advance(lx, 1);
    } else if (c == '/' && peek(lx, 1) == '*') {
      struct mc_loc start = here(lx);
      advance(lx, 2);
      while (!(peek(lx, 0) == '*' && peek(lx, 1) == '/')) {
        if (peek(lx, 0) == -1) {
          mc_error(start, "unterminated comment");
          return false;
        }
        advance(lx, 1);
      }
      advance(lx, 2);
    } else {
      return true;
    }
  }
}

static bool lex_punct(struct lexer *lx) {
  static const char singles[] = "-+?=()[]{}<>;,|&.";
  static const enum mc_tok kinds[] = {
      MC_TOK_MINUS,    MC_TOK_PLUS,     MC_TOK_QSTN,   MC_TOK_EQUALS, MC_TOK_LPAREN, MC_TOK_RPAREN,
      MC_TOK_LBRACKET, MC_TOK_RBRACKET, MC_TOK_LBRACE, MC_TOK_RBRACE, MC_TOK_LANGLE, MC_TOK_RANGLE,
      MC_TOK_SEMI,     MC_TOK_COMMA,    MC_TOK_PIPE,   MC_TOK_AMP,    MC_TOK_DOT,
  };
  int c = peek(lx, 0);
  if (c == '=' && peek(lx, 1) == '>') {
    push(lx, MC_TOK_RESPONSE, 2);
    return true;
  }
  const char *p = c > 0 ? strchr(singles, c) : NULL;
  if (!p) {
    if (c >= 0x21 && c < 0x7f)
      mc_error(here(lx), "unexpected character '%c'", c);
    else
      mc_error(here(lx), "unexpected byte 0x%02x", (unsigned)c);
    return false;
  }
  push(lx, kinds[p - singles], 1);
  return true;
}

bool mc_lex(const struct mc_source *src, struct mc_token **tokens, size_t *count) {
  struct lexer lx = {.src = src, .line = 1, .col = 1};
  bool ok = true;
  while (ok) {
    if (!skip_space(&lx)) {
      ok = false;
      break;
    }
    int c = peek(&lx, 0);
    if (c == -1)
      break;
    if (is_digit(c) || (c == '.' && is_digit(peek(&lx, 1))))
      ok = lex_number(&lx);
    else if (c == '@')
      ok = lex_ordinal(&lx);
    else if (c == '"')
      ok = lex_string(&lx);
    else if (is_ident_start(c))
      lex_name(&lx);
    else
      ok = lex_punct(&lx);
  }
  if (!ok) {
    free(lx.toks);
    return false;
  }
  push(&lx, MC_TOK_EOF, 0);
  *tokens = lx.toks;
  *count = lx.count;
  return true;
}
