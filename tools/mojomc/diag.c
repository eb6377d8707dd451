/* Error messages with the offending source line and a caret under the column. */
#include "diag.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>

static int error_count;

/* Saturates: one process may compile many inputs (the fuzzer does), and only
 * "none" versus "some" matters to callers. */
static void count_error(void) {
  if (error_count < INT_MAX)
    error_count++;
}

/* Prints one source line; bytes that would garble a terminal (control
 * characters, NUL) become '?' so the caret stays aligned. */
static void print_line(const struct mc_source *src, int line) {
  size_t i = 0;
  int cur = 1;
  while (i < src->len && cur < line) {
    if (src->text[i] == '\n')
      cur++;
    i++;
  }
  if (cur != line)
    return;
  for (; i < src->len && src->text[i] != '\n'; i++) {
    unsigned char c = (unsigned char)src->text[i];
    if (c == '\r')
      continue;
    fputc((c < 0x20 && c != '\t') || c == 0x7f ? '?' : c, stderr);
  }
  fputc('\n', stderr);
}

static void print_caret(const struct mc_source *src, int line, int col) {
  /* Tabs are copied so the caret lines up with what the terminal shows. */
  size_t i = 0;
  int cur = 1;
  while (i < src->len && cur < line) {
    if (src->text[i] == '\n')
      cur++;
    i++;
  }
  for (int c = 1; c < col && i < src->len; c++, i++)
    fputc(src->text[i] == '\t' ? '\t' : ' ', stderr);
  fputs("^\n", stderr);
}

void mc_error(struct mc_loc loc, const char *fmt, ...) {
  va_list ap;
  count_error();
  if (loc.src)
    fprintf(stderr, "%s:%d:%d: error: ", loc.src->path, loc.line, loc.col);
  else
    fputs("mojomc: error: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (loc.src && loc.line > 0) {
    print_line(loc.src, loc.line);
    print_caret(loc.src, loc.line, loc.col);
  }
}

void mc_error_plain(const char *fmt, ...) {
  va_list ap;
  count_error();
  fputs("mojomc: error: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

int mc_error_count(void) {
  return error_count;
}
