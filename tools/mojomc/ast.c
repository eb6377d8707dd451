/* Arena allocation and small queries on the syntax tree. */
#include "ast.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chunks are chained; big requests get a chunk of their own so the arena
 * never wastes more than one chunk's tail per request. */
struct chunk {
  struct chunk *next;
  size_t used, cap;
  max_align_t data[];
};

struct mc_arena {
  struct chunk *head;
};

enum { CHUNK_BYTES = 64 * 1024 };

struct mc_arena *mc_arena_new(void) {
  struct mc_arena *arena = calloc(1, sizeof *arena);
  if (!arena) {
    fputs("mojomc: out of memory\n", stderr);
    exit(1);
  }
  return arena;
}

void mc_arena_free(struct mc_arena *arena) {
  if (!arena)
    return;
  struct chunk *c = arena->head;
  while (c) {
    struct chunk *next = c->next;
    free(c);
    c = next;
  }
  free(arena);
}

void *mc_arena_alloc(struct mc_arena *arena, size_t size) {
  size_t align = sizeof(max_align_t);
  size = (size + align - 1) / align * align;
  if (size == 0)
    size = align;
  struct chunk *c = arena->head;
  if (!c || c->cap - c->used < size) {
    size_t cap = size > CHUNK_BYTES ? size : CHUNK_BYTES;
    c = malloc(sizeof *c + cap);
    if (!c) {
      fputs("mojomc: out of memory\n", stderr);
      exit(1);
    }
    c->used = 0;
    c->cap = cap;
    c->next = arena->head;
    arena->head = c;
  }
  void *p = (char *)c->data + c->used;
  c->used += size;
  memset(p, 0, size);
  return p;
}

char *mc_arena_strndup(struct mc_arena *arena, const char *s, size_t n) {
  char *p = mc_arena_alloc(arena, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *mc_arena_printf(struct mc_arena *arena, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    n = 0;
  char *p = mc_arena_alloc(arena, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

const struct mc_attr *mc_attr_find(const struct mc_attr *attrs, const char *key) {
  for (; attrs; attrs = attrs->next)
    if (strcmp(attrs->key, key) == 0)
      return attrs;
  return NULL;
}

bool mc_attr_flag(const struct mc_attr *attrs, const char *key) {
  const struct mc_attr *a = mc_attr_find(attrs, key);
  return a && (a->kind != MC_ATTR_VALUE || a->value.kind != MC_VAL_FALSE);
}

bool mc_type_is_reference(const struct mc_type *t) {
  switch (t->kind) {
    case MC_T_STRING:
    case MC_T_HANDLE:
    case MC_T_MSGPIPE:
    case MC_T_SHAREDBUFFER:
    case MC_T_DCPIPE:
    case MC_T_DPPIPE:
    case MC_T_PLATFORM:
    case MC_T_ARRAY:
    case MC_T_MAP:
    case MC_T_STRUCT:
    case MC_T_UNION:
    case MC_T_INTERFACE:
    case MC_T_PENDING_REMOTE:
    case MC_T_PENDING_RECEIVER:
    case MC_T_PENDING_ASSOC_REMOTE:
    case MC_T_PENDING_ASSOC_RECEIVER:
      return true;
    default:
      return false;
  }
}

bool mc_type_is_integral(const struct mc_type *t) {
  return t->kind >= MC_T_INT8 && t->kind <= MC_T_UINT64;
}

bool mc_type_is_value(const struct mc_type *t) {
  return (t->kind >= MC_T_BOOL && t->kind <= MC_T_DOUBLE) || t->kind == MC_T_ENUM;
}

const char *mc_type_kind_name(enum mc_type_kind kind) {
  static const char *const names[] = {
      [MC_T_UNRESOLVED] = "?",
      [MC_T_BOOL] = "bool",
      [MC_T_INT8] = "int8",
      [MC_T_UINT8] = "uint8",
      [MC_T_INT16] = "int16",
      [MC_T_UINT16] = "uint16",
      [MC_T_INT32] = "int32",
      [MC_T_UINT32] = "uint32",
      [MC_T_INT64] = "int64",
      [MC_T_UINT64] = "uint64",
      [MC_T_FLOAT] = "float",
      [MC_T_DOUBLE] = "double",
      [MC_T_STRING] = "string",
      [MC_T_HANDLE] = "handle",
      [MC_T_MSGPIPE] = "handle<message_pipe>",
      [MC_T_SHAREDBUFFER] = "handle<shared_buffer>",
      [MC_T_DCPIPE] = "handle<data_pipe_consumer>",
      [MC_T_DPPIPE] = "handle<data_pipe_producer>",
      [MC_T_PLATFORM] = "handle<platform>",
      [MC_T_ARRAY] = "array",
      [MC_T_MAP] = "map",
      [MC_T_STRUCT] = "struct",
      [MC_T_UNION] = "union",
      [MC_T_ENUM] = "enum",
      [MC_T_INTERFACE] = "interface",
      [MC_T_PENDING_REMOTE] = "pending_remote",
      [MC_T_PENDING_RECEIVER] = "pending_receiver",
      [MC_T_PENDING_ASSOC_REMOTE] = "pending_associated_remote",
      [MC_T_PENDING_ASSOC_RECEIVER] = "pending_associated_receiver",
  };
  return names[kind];
}

/* qsort is not stable, so ties are broken by declaration position. */
struct ordered_field {
  struct mc_field *field;
  size_t index;
};

static int cmp_ordered(const void *a, const void *b) {
  const struct ordered_field *x = a, *y = b;
  if (x->field->ordinal != y->field->ordinal)
    return x->field->ordinal < y->field->ordinal ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

struct mc_field **mc_fields_by_ordinal(struct mc_arena *arena, struct mc_field *fields, size_t *n) {
  size_t count = 0;
  for (struct mc_field *f = fields; f; f = f->next)
    count++;
  struct ordered_field *tmp = mc_arena_alloc(arena, (count + 1) * sizeof *tmp);
  count = 0;
  for (struct mc_field *f = fields; f; f = f->next, count++)
    tmp[count] = (struct ordered_field){f, count};
  qsort(tmp, count, sizeof *tmp, cmp_ordered);
  struct mc_field **out = mc_arena_alloc(arena, (count + 1) * sizeof *out);
  for (size_t i = 0; i < count; i++)
    out[i] = tmp[i].field;
  *n = count;
  return out;
}

char *mc_type_spell(struct mc_arena *arena, const struct mc_type *t) {
  const char *q = t->nullable ? "?" : "";
  switch (t->kind) {
    case MC_T_ARRAY:
      if (t->fixed_size)
        return mc_arena_printf(arena, "array<%s, %u>%s", mc_type_spell(arena, t->elem),
                               (unsigned)t->fixed_size, q);
      return mc_arena_printf(arena, "array<%s>%s", mc_type_spell(arena, t->elem), q);
    case MC_T_MAP:
      return mc_arena_printf(arena, "map<%s, %s>%s", mc_type_spell(arena, t->key),
                             mc_type_spell(arena, t->elem), q);
    case MC_T_PENDING_REMOTE:
    case MC_T_PENDING_RECEIVER:
    case MC_T_PENDING_ASSOC_REMOTE:
    case MC_T_PENDING_ASSOC_RECEIVER:
      return mc_arena_printf(arena, "%s<%s>%s", mc_type_kind_name(t->kind),
                             t->decl ? t->decl->full_name : t->name, q);
    case MC_T_STRUCT:
    case MC_T_UNION:
    case MC_T_ENUM:
    case MC_T_INTERFACE:
    case MC_T_UNRESOLVED:
      return mc_arena_printf(arena, "%s%s", t->decl ? t->decl->full_name : t->name, q);
    default:
      return mc_arena_printf(arena, "%s%s", mc_type_kind_name(t->kind), q);
  }
}
