/* Parser for the validation corpus text format; see validation_input.h. */
#include "validation_input.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ID 64

typedef struct fixup {
  char id[MAX_ID];
  size_t at;     /* where the item starts */
  unsigned size; /* 4 or 8 */
} fixup;

typedef struct anchor {
  char id[MAX_ID];
  size_t at;
} anchor;

typedef struct parser {
  uint8_t *buf;
  size_t len, cap;
  fixup *fixups;
  size_t num_fixups, cap_fixups;
  anchor *anchors;
  size_t num_anchors, cap_anchors;
  char *err;
  size_t err_len;
} parser;

static int fail(parser *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err, p->err_len, fmt, ap);
  va_end(ap);
  return -1;
}

static int grow(void **v, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return 0;
  size_t c = *cap ? *cap : 16;
  while (c < need)
    c *= 2;
  void *n = realloc(*v, c * elem);
  if (!n)
    return -1;
  *v = n;
  *cap = c;
  return 0;
}

static int emit(parser *p, uint64_t v, unsigned n) {
  if (grow((void **)&p->buf, &p->cap, p->len + n, 1))
    return fail(p, "oom");
  for (unsigned i = 0; i < n; i++)
    p->buf[p->len++] = (uint8_t)(v >> (8 * i));
  return 0;
}

/* Unsigned decimal or 0x-hex, the whole token, no sign. */
static bool parse_unsigned(const char *s, uint64_t *out) {
  int base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
  }
  if (!*s || *s == '+' || *s == '-' || *s == ' ')
    return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, base);
  if (errno || *end)
    return false;
  *out = v;
  return true;
}

static int parse_int(parser *p, const char *type, const char *val) {
  unsigned n = (unsigned)(type[1] - '0');
  if (type[2] || (n != 1 && n != 2 && n != 4 && n != 8))
    return fail(p, "bad type [%s]", type);
  bool neg = false;
  const char *digits = val;
  if (type[0] == 's' && (*val == '-' || *val == '+')) {
    neg = *val == '-';
    digits++;
  }
  uint64_t mag;
  if (!parse_unsigned(digits, &mag))
    return fail(p, "bad number %s", val);
  uint64_t limit = n == 8 ? UINT64_MAX : (1ull << (8 * n)) - 1;
  if (type[0] == 'u') {
    if (mag > limit)
      return fail(p, "%s out of range", val);
    return emit(p, mag, n);
  }
  uint64_t smax = limit >> 1; /* largest positive value */
  if (neg ? mag > smax + 1 : mag > smax)
    return fail(p, "%s out of range", val);
  uint64_t v = neg ? (uint64_t)0 - mag : mag;
  return emit(p, v, n);
}

static int parse_bits(parser *p, const char *val) {
  if (strlen(val) != 8)
    return fail(p, "[b] needs 8 digits: %s", val);
  uint8_t v = 0;
  for (int i = 0; i < 8; i++) {
    if (val[i] != '0' && val[i] != '1')
      return fail(p, "bad [b] %s", val);
    v = (uint8_t)(v << 1 | (val[i] - '0'));
  }
  return emit(p, v, 1);
}

static int parse_float(parser *p, const char *val, bool dbl) {
  char *end;
  errno = 0;
  double d = strtod(val, &end);
  if (errno || *end || end == val)
    return fail(p, "bad float %s", val);
  uint64_t bits = 0;
  if (dbl) {
    memcpy(&bits, &d, 8);
    return emit(p, bits, 8);
  }
  float f = (float)d;
  uint32_t b32;
  memcpy(&b32, &f, 4);
  return emit(p, b32, 4);
}

static bool valid_id(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n >= MAX_ID)
    return false;
  for (size_t i = 0; i < n; i++) {
    char ch = id[i];
    bool ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              ch == '_';
    if (!ok)
      return false;
  }
  return true;
}

static int add_fixup(parser *p, const char *id, unsigned size) {
  if (!valid_id(id))
    return fail(p, "bad id %s", id);
  if (grow((void **)&p->fixups, &p->cap_fixups, p->num_fixups + 1, sizeof(fixup)))
    return fail(p, "oom");
  fixup *f = &p->fixups[p->num_fixups++];
  snprintf(f->id, sizeof(f->id), "%s", id);
  f->at = p->len;
  f->size = size;
  return emit(p, 0, size);
}

static int add_anchor(parser *p, const char *id) {
  if (!valid_id(id))
    return fail(p, "bad id %s", id);
  for (size_t i = 0; i < p->num_anchors; i++)
    if (!strcmp(p->anchors[i].id, id))
      return fail(p, "duplicate %s", id);
  if (grow((void **)&p->anchors, &p->cap_anchors, p->num_anchors + 1, sizeof(anchor)))
    return fail(p, "oom");
  anchor *a = &p->anchors[p->num_anchors++];
  snprintf(a->id, sizeof(a->id), "%s", id);
  a->at = p->len;
  return 0;
}

static int resolve(parser *p) {
  for (size_t i = 0; i < p->num_fixups; i++) {
    fixup *f = &p->fixups[i];
    const anchor *a = NULL;
    for (size_t j = 0; j < p->num_anchors && !a; j++)
      if (!strcmp(p->anchors[j].id, f->id))
        a = &p->anchors[j];
    if (!a)
      return fail(p, "no anchor %s", f->id);
    if (a->at < f->at)
      return fail(p, "anchor %s before its use", f->id);
    uint64_t dist = a->at - f->at;
    if (f->size == 4 && dist > UINT32_MAX)
      return fail(p, "%s too far", f->id);
    for (unsigned k = 0; k < f->size; k++)
      p->buf[f->at + k] = (uint8_t)(dist >> (8 * k));
  }
  return 0;
}

static int parse_item(parser *p, const char *item, bool first, uint32_t *handles) {
  if (item[0] != '[')
    return parse_int(p, "u1", item);
  const char *close = strchr(item, ']');
  if (!close || close - item > 16)
    return fail(p, "bad item %s", item);
  char type[17];
  memcpy(type, item + 1, (size_t)(close - item - 1));
  type[close - item - 1] = 0;
  const char *val = close + 1;
  if (type[0] == 'u' || type[0] == 's')
    return parse_int(p, type, val);
  if (!strcmp(type, "b"))
    return parse_bits(p, val);
  if (!strcmp(type, "f"))
    return parse_float(p, val, false);
  if (!strcmp(type, "d"))
    return parse_float(p, val, true);
  if (!strcmp(type, "dist4"))
    return add_fixup(p, val, 4);
  if (!strcmp(type, "dist8"))
    return add_fixup(p, val, 8);
  if (!strcmp(type, "anchr"))
    return add_anchor(p, val);
  if (!strcmp(type, "handles")) {
    uint64_t n;
    if (!first)
      return fail(p, "[handles] must come first");
    if (!parse_unsigned(val, &n) || n > UINT32_MAX)
      return fail(p, "bad handle count %s", val);
    *handles = (uint32_t)n;
    return 0;
  }
  return fail(p, "unknown type [%s]", type);
}

int cm_vinput_parse(const char *text, size_t len, cm_vinput *out, char *err, size_t err_len) {
  parser p = {.err = err, .err_len = err_len};
  uint32_t handles = 0;
  bool first = true;
  int rc = 0;
  size_t i = 0;
  char item[256];
  while (i < len && rc == 0) {
    char ch = text[i];
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
      i++;
      continue;
    }
    if (ch == '/' && i + 1 < len && text[i + 1] == '/') {
      while (i < len && text[i] != '\n')
        i++;
      continue;
    }
    size_t start = i;
    while (i < len && !strchr(" \t\r\n", text[i]) &&
           !(text[i] == '/' && i + 1 < len && text[i + 1] == '/'))
      i++;
    if (i - start >= sizeof(item)) {
      rc = fail(&p, "item too long");
      break;
    }
    memcpy(item, text + start, i - start);
    item[i - start] = 0;
    rc = parse_item(&p, item, first, &handles);
    first = false;
  }
  if (rc == 0)
    rc = resolve(&p);
  free(p.fixups);
  free(p.anchors);
  if (rc) {
    free(p.buf);
    return -1;
  }
  out->bytes = p.buf;
  out->num_bytes = p.len;
  out->num_handles = handles;
  return 0;
}

void cm_vinput_free(cm_vinput *in) {
  free(in->bytes);
  memset(in, 0, sizeof(*in));
}

char *cm_vinput_read_file(const char *path, size_t *out_len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (grow((void **)&buf, &cap, len + 4097, 1)) {
      free(buf);
      fclose(f);
      return NULL;
    }
    size_t n = fread(buf + len, 1, 4096, f);
    len += n;
    if (n < 4096)
      break;
  }
  fclose(f);
  buf[len] = 0;
  *out_len = len;
  return buf;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char **cm_vinput_list(const char *dir, const char *suffix, size_t *count) {
  DIR *d = opendir(dir);
  if (!d)
    return NULL;
  char **names = NULL;
  size_t n = 0, cap = 0, slen = strlen(suffix);
  struct dirent *de;
  while ((de = readdir(d))) {
    size_t len = strlen(de->d_name);
    if (de->d_name[0] == '.')
      continue; /* ., .. and hidden files */
    if (len <= slen || strcmp(de->d_name + len - slen, suffix))
      continue;
    char *name = strndup(de->d_name, len - slen);
    if (!name || grow((void **)&names, &cap, n + 1, sizeof(*names))) {
      free(name);
      break;
    }
    names[n++] = name;
  }
  closedir(d);
  if (n)
    qsort(names, n, sizeof(*names), compare_names);
  *count = n;
  return names ? names : calloc(1, sizeof(*names));
}
