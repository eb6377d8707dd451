/* Random round trips through the tables alone. For every struct of the
 * generated test modules (each standalone, and as the request and response
 * parameters of every method), random C values are made by walking the
 * runtime descriptors, then
 *
 *   encoded (cmojo_wire_encode_message: handles come out in traversal
 *   order, associated ids land in the header's id array in the same order,
 *   the header version follows the writer's rule) ->
 *   validated (cmojo_wire_validate_message for the method: PASS) ->
 *   decoded (cmojo_wire_decode_message: deep-equal to the input, every
 *   handle taken, cmojo_wire_for_each_handle in the same order) ->
 *   re-encoded (the same bytes; when the input held unknown values of an
 *   extensible enum with a [Default], which decode to it, the re-encoding
 *   is a fixed point instead).
 *
 * Each valid message is then broken a few ways (bit flips, truncation,
 * random bytes, swapped and redirected pointers, object headers, union tags,
 * copied words, handle and interface-id indices): the validator must answer without crashing (the
 * sanitizer builds judge memory safety), decoding must succeed exactly when
 * the header and payload validate (same error), a failed decode must leave
 * the handles alone, and what does decode must encode again into a valid
 * message. A few breakages have one exact answer: one handle too few is
 * ILLEGAL_HANDLE, an extra one is fine, a 0 in the id array is
 * ILLEGAL_INTERFACE_ID. The parameter struct is also rewritten as each of
 * its older versions (newer fields decode as zero, their handles stay with
 * the caller) and as an unknown newer version (everything decodes).
 *
 * Seeded: the seed is printed; CMOJO_TEST_SEED=<seed> replays a run.
 * CMOJO_SOAK_ITERS=<n> sets the values per struct (default 100), e.g. 2000 for
 * a long soak. Values live in an arena (each block a separate allocation so
 * ASan sees overruns) released after every value. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmojo/wire.h"
#include "random.mojom.h"
#include "roundtrip.mojom.h"
#include "test_support.h"
#include "validation_test_associated_interfaces.mojom.h"
#include "validation_test_interfaces.mojom.h"

#define DEFAULT_ITERS 100
#define MUTATIONS_PER_MESSAGE 12
#define MAX_STRUCT_DEPTH 190 /* Mojo fails past 200 nested struct pointers */
#define MAX_UNION_DEPTH 60   /* well inside the runtime's 1000 */
#define DEEP_UNION_TARGET 48

/* ---------------------------------------------------------------------------
 * Random numbers (xorshift64*), seeded per struct from the run's seed.
 */

static uint64_t next_u64(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1Dull;
}

static uint32_t below(uint64_t *s, uint32_t n) {
  return n ? (uint32_t)(next_u64(s) % n) : 0;
}

static bool chance(uint64_t *s, unsigned percent) {
  return below(s, 100) < percent;
}

static uint64_t mix_seed(uint64_t seed, uint64_t salt) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (salt + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return z ? z : 1;
}

/* ---------------------------------------------------------------------------
 * The arena: every block is its own zeroed allocation (so ASan catches a
 * read past one), all released together.
 */

typedef struct arena {
  void **blocks;
  size_t count, cap;
} arena;

static void *arena_alloc(arena *a, size_t size) {
  if (a->count == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 64;
    void **p = realloc(a->blocks, cap * sizeof(*p));
    assert_non_null(p);
    a->blocks = p;
    a->cap = cap;
  }
  void *b = calloc(1, size ? size : 1);
  assert_non_null(b);
  a->blocks[a->count++] = b;
  return b;
}

static void arena_reset(arena *a) {
  for (size_t i = 0; i < a->count; i++)
    free(a->blocks[i]);
  a->count = 0;
}

static void arena_destroy(arena *a) {
  arena_reset(a);
  free(a->blocks);
  memset(a, 0, sizeof(*a));
}

/* ---------------------------------------------------------------------------
 * What the generator produced over the whole run: every construct the task
 * names must show up at least once (test_constructs_covered).
 */

enum {
  COV_NULL_POINTER = CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER + 1,
  COV_NULL_VALUE,
  COV_PRESENT_VALUE,
  COV_NULL_HANDLE,
  COV_NULL_ASSOCIATED,
  COV_EMPTY_ARRAY,
  COV_C_ZERO_ARRAY,
  COV_FIXED_ARRAY,
  COV_NULLABLE_ELEMENTS,
  COV_UNION_IN_UNION,
  COV_NULL_UNION,
  COV_STRUCT_KEY,
  COV_KNOWN_ENUM,
  COV_UNKNOWN_ENUM_DEFAULTED,
  COV_UNKNOWN_ENUM_KEPT,
  COV_VERSIONED_FIELD,
  COV_NAN,
  COV_DEEP_STRUCTS,
  COV_DEEP_UNIONS,
  COV_HEADER_V0,
  COV_HEADER_V1,
  COV_HEADER_V2,
  COV_HEADER_V3,
  COV_ENCODER_REFUSED,
  COV_MUTANT_VALID,
  COV_MUTANT_INVALID,
  COV_COUNT
};

static const char *const cov_names[COV_COUNT] = {
    [CMOJO_WIRE_KIND_BOOL] = "bool",
    [CMOJO_WIRE_KIND_INT8] = "int8",
    [CMOJO_WIRE_KIND_UINT8] = "uint8",
    [CMOJO_WIRE_KIND_INT16] = "int16",
    [CMOJO_WIRE_KIND_UINT16] = "uint16",
    [CMOJO_WIRE_KIND_INT32] = "int32",
    [CMOJO_WIRE_KIND_UINT32] = "uint32",
    [CMOJO_WIRE_KIND_INT64] = "int64",
    [CMOJO_WIRE_KIND_UINT64] = "uint64",
    [CMOJO_WIRE_KIND_FLOAT] = "float",
    [CMOJO_WIRE_KIND_DOUBLE] = "double",
    [CMOJO_WIRE_KIND_ENUM] = "enum",
    [CMOJO_WIRE_KIND_STRING] = "string",
    [CMOJO_WIRE_KIND_ARRAY] = "array",
    [CMOJO_WIRE_KIND_MAP] = "map",
    [CMOJO_WIRE_KIND_STRUCT] = "struct",
    [CMOJO_WIRE_KIND_UNION] = "union",
    [CMOJO_WIRE_KIND_HANDLE] = "handle",
    [CMOJO_WIRE_KIND_PENDING_REMOTE] = "pending_remote",
    [CMOJO_WIRE_KIND_PENDING_RECEIVER] = "pending_receiver",
    [CMOJO_WIRE_KIND_PENDING_ASSOCIATED_REMOTE] = "pending_associated_remote",
    [CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER] = "pending_associated_receiver",
    [COV_NULL_POINTER] = "null struct/array/string/map",
    [COV_NULL_VALUE] = "absent T? value",
    [COV_PRESENT_VALUE] = "present T? value",
    [COV_NULL_HANDLE] = "null handle/remote/receiver",
    [COV_NULL_ASSOCIATED] = "null associated endpoint",
    [COV_EMPTY_ARRAY] = "empty array",
    [COV_C_ZERO_ARRAY] = "{0, NULL} non-nullable array",
    [COV_FIXED_ARRAY] = "fixed-size array",
    [COV_NULLABLE_ELEMENTS] = "array of T?",
    [COV_UNION_IN_UNION] = "union inside a union",
    [COV_NULL_UNION] = "null union",
    [COV_STRUCT_KEY] = "map with struct keys",
    [COV_KNOWN_ENUM] = "declared enum value",
    [COV_UNKNOWN_ENUM_DEFAULTED] = "unknown [Extensible] enum value with [Default]",
    [COV_UNKNOWN_ENUM_KEPT] = "unknown [Extensible] enum value without [Default]",
    [COV_VERSIONED_FIELD] = "[MinVersion] field",
    [COV_NAN] = "NaN",
    [COV_DEEP_STRUCTS] = "struct nesting >= 150",
    [COV_DEEP_UNIONS] = "union nesting >= 40",
    [COV_HEADER_V0] = "header v0",
    [COV_HEADER_V1] = "header v1",
    [COV_HEADER_V2] = "header v2",
    [COV_HEADER_V3] = "header v3",
    [COV_ENCODER_REFUSED] = "value the encoder must refuse (closed empty enum)",
    [COV_MUTANT_VALID] = "mutant that still validates",
    [COV_MUTANT_INVALID] = "mutant that fails validation",
};

static uint64_t coverage[COV_COUNT];

/* ---------------------------------------------------------------------------
 * Small facts about kinds, from the public C representation (docs/wire.md).
 */

static bool is_value_kind(uint8_t kind) {
  return kind >= CMOJO_WIRE_KIND_BOOL && kind <= CMOJO_WIRE_KIND_ENUM;
}

static bool is_object_kind(uint8_t kind) {
  return kind == CMOJO_WIRE_KIND_STRING || kind == CMOJO_WIRE_KIND_ARRAY ||
         kind == CMOJO_WIRE_KIND_MAP || kind == CMOJO_WIRE_KIND_STRUCT ||
         kind == CMOJO_WIRE_KIND_UNION;
}

static size_t plain_size(uint8_t kind) {
  switch (kind) {
    case CMOJO_WIRE_KIND_BOOL:
      return sizeof(bool);
    case CMOJO_WIRE_KIND_INT8:
    case CMOJO_WIRE_KIND_UINT8:
      return 1;
    case CMOJO_WIRE_KIND_INT16:
    case CMOJO_WIRE_KIND_UINT16:
      return 2;
    case CMOJO_WIRE_KIND_INT64:
    case CMOJO_WIRE_KIND_UINT64:
    case CMOJO_WIRE_KIND_DOUBLE:
      return 8;
    default:
      return 4;
  }
}

/* Where the value sits in cmojo_opt_<T>. */
static size_t opt_value_offset(uint8_t kind) {
  switch (kind) {
    case CMOJO_WIRE_KIND_BOOL:
      return offsetof(cmojo_opt_bool, value);
    case CMOJO_WIRE_KIND_INT8:
    case CMOJO_WIRE_KIND_UINT8:
      return offsetof(cmojo_opt_uint8, value);
    case CMOJO_WIRE_KIND_INT16:
    case CMOJO_WIRE_KIND_UINT16:
      return offsetof(cmojo_opt_uint16, value);
    case CMOJO_WIRE_KIND_INT64:
    case CMOJO_WIRE_KIND_UINT64:
      return offsetof(cmojo_opt_uint64, value);
    case CMOJO_WIRE_KIND_FLOAT:
      return offsetof(cmojo_opt_float, value);
    case CMOJO_WIRE_KIND_DOUBLE:
      return offsetof(cmojo_opt_double, value);
    default:
      return offsetof(cmojo_opt_int32, value);
  }
}

static bool enum_known(const cmojo_wire_enum *e, int32_t v) {
  for (uint32_t i = 0; i < e->num_values; i++)
    if (e->values[i] == v)
      return true;
  return false;
}

/* A closed enum without a 0 value cannot be sent as a null `E?` field. */
static bool null_field_impossible(const cmojo_wire_type *t) {
  return t->kind == CMOJO_WIRE_KIND_ENUM && !t->enum_type->extensible &&
         !enum_known(t->enum_type, 0);
}

/* ---------------------------------------------------------------------------
 * The generator.
 */

typedef struct gen {
  uint64_t *rng;
  arena *arena;
  int budget;                    /* objects left before values go minimal */
  int sdepth, udepth;            /* struct pointers / unions above us */
  bool deep;                     /* minimal except along recursive chains */
  int deep_target;               /* struct depth a deep chain runs to */
  const cmojo_wire_struct *self; /* the struct being filled */
  MojoHandle handle_base;
  MojoHandle *handles; /* expected out.handles, in traversal order */
  uint32_t num_handles, cap_handles;
  uint32_t *ids; /* expected interface-id array */
  uint32_t num_ids, cap_ids;
  bool lossy;      /* unknown enum values that decode to the [Default] */
  bool impossible; /* a value no sender can encode (closed empty enum) */
} gen;

static void gen_value(gen *g, const cmojo_wire_type *t, uint8_t *dst);
static void *gen_struct(gen *g, const cmojo_wire_struct *st);

static bool tight(const gen *g) {
  return g->budget <= 0 || g->deep || g->udepth >= MAX_UNION_DEPTH;
}

static void push_u32(uint32_t **v, uint32_t *n, uint32_t *cap, uint32_t x) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    *v = realloc(*v, *cap * sizeof(**v));
    assert_non_null(*v);
  }
  (*v)[(*n)++] = x;
}

static MojoHandle gen_handle(gen *g, bool nullable) {
  if (nullable && chance(g->rng, 25)) {
    coverage[COV_NULL_HANDLE]++;
    return MOJO_HANDLE_INVALID;
  }
  if (g->num_handles == g->cap_handles) {
    g->cap_handles = g->cap_handles ? g->cap_handles * 2 : 16;
    g->handles = realloc(g->handles, g->cap_handles * sizeof(MojoHandle));
    assert_non_null(g->handles);
  }
  MojoHandle h = g->handle_base + g->num_handles;
  g->handles[g->num_handles++] = h;
  return h;
}

static uint32_t gen_interface_id(gen *g, bool nullable) {
  if (nullable && chance(g->rng, 25)) {
    coverage[COV_NULL_ASSOCIATED]++;
    return CMOJO_WIRE_INVALID_INTERFACE_ID;
  }
  uint32_t id = 1 + below(g->rng, 0xFFFFFFFDu); /* neither 0 nor ~0 */
  push_u32(&g->ids, &g->num_ids, &g->cap_ids, id);
  return id;
}

static void gen_bits(gen *g, void *dst, size_t n) {
  static const uint64_t edges[] = {0,
                                   1,
                                   ~0ull,
                                   0x7f,
                                   0x80,
                                   0x7fff,
                                   0x8000,
                                   0x7fffffff,
                                   0x80000000,
                                   0x7fffffffffffffffull,
                                   0x8000000000000000ull};
  uint64_t v = chance(g->rng, 30) ? edges[below(g->rng, sizeof(edges) / sizeof(edges[0]))]
                                  : next_u64(g->rng);
  memcpy(dst, &v, n); /* little-endian host, as the runtime */
}

static void gen_float(gen *g, uint8_t kind, void *dst) {
  if (kind == CMOJO_WIRE_KIND_FLOAT) {
    static const uint32_t specials[] = {0,           0x80000000u, 0x3fc00000u,
                                        0x7f800000u, 0xff800000u, 0x7fc00000u,
                                        0x7f800001u, 0xffc12345u, 0x00000001u};
    uint32_t v = chance(g->rng, 40) ? specials[below(g->rng, 9)] : (uint32_t)next_u64(g->rng);
    if ((v & 0x7f800000u) == 0x7f800000u && (v & 0x7fffffu))
      coverage[COV_NAN]++;
    memcpy(dst, &v, 4);
  } else {
    static const uint64_t specials[] = {0,
                                        0x8000000000000000ull,
                                        0x3ff8000000000000ull,
                                        0x7ff0000000000000ull,
                                        0xfff0000000000000ull,
                                        0x7ff8000000000000ull,
                                        0x7ff0000000000001ull,
                                        0xfff8123456789abcull,
                                        1};
    uint64_t v = chance(g->rng, 40) ? specials[below(g->rng, 9)] : next_u64(g->rng);
    if ((v & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (v & 0xfffffffffffffull))
      coverage[COV_NAN]++;
    memcpy(dst, &v, 8);
  }
}

static int32_t gen_enum(gen *g, const cmojo_wire_enum *e) {
  if (!e->extensible || (e->num_values && chance(g->rng, 70))) {
    if (!e->num_values) {
      g->impossible = true; /* a closed enum without values: no valid value */
      return 0;
    }
    coverage[COV_KNOWN_ENUM]++;
    return e->values[below(g->rng, e->num_values)];
  }
  int32_t v;
  do {
    v = chance(g->rng, 50) ? (int32_t)(below(g->rng, 64) - 32) : (int32_t)next_u64(g->rng);
  } while (enum_known(e, v));
  if (e->has_default) {
    g->lossy = true;
    coverage[COV_UNKNOWN_ENUM_DEFAULTED]++;
  } else {
    coverage[COV_UNKNOWN_ENUM_KEPT]++;
  }
  return v;
}

/* A present value of a bool/number/enum type. */
static void gen_plain(gen *g, const cmojo_wire_type *t, uint8_t *dst) {
  coverage[t->kind]++;
  switch (t->kind) {
    case CMOJO_WIRE_KIND_BOOL:
      *(bool *)dst = next_u64(g->rng) & 1;
      break;
    case CMOJO_WIRE_KIND_FLOAT:
    case CMOJO_WIRE_KIND_DOUBLE:
      gen_float(g, t->kind, dst);
      break;
    case CMOJO_WIRE_KIND_ENUM: {
      int32_t v = gen_enum(g, t->enum_type);
      memcpy(dst, &v, 4);
      break;
    }
    default:
      gen_bits(g, dst, plain_size(t->kind));
      break;
  }
}

/* `T?` of a bool/number/enum: {has_value, value}. An absent one carries
 * garbage that the encoder must not look at. */
static void gen_opt(gen *g, const cmojo_wire_type *t, uint8_t *dst, bool must_be_present) {
  uint8_t *value = dst + opt_value_offset(t->kind);
  if (!must_be_present && chance(g->rng, 30)) {
    coverage[COV_NULL_VALUE]++;
    *(bool *)dst = false;
    if (t->kind == CMOJO_WIRE_KIND_BOOL)
      *(bool *)value = true;
    else
      gen_bits(g, value, plain_size(t->kind));
    return;
  }
  coverage[COV_PRESENT_VALUE]++;
  *(bool *)dst = true;
  gen_plain(g, t, value);
}

static uint32_t gen_count(gen *g, const cmojo_wire_type *elem) {
  if (tight(g))
    return is_object_kind(elem->kind) ? 0 : below(g->rng, 3);
  if (is_value_kind(elem->kind))
    return chance(g->rng, 20) ? below(g->rng, 40) : below(g->rng, 10);
  return below(g->rng, 4);
}

static void gen_array(gen *g, const cmojo_wire_type *t, cmojo_array *out) {
  coverage[t->kind]++;
  if (t->nullable && (chance(g->rng, 20) || (tight(g) && chance(g->rng, 70)))) {
    coverage[COV_NULL_POINTER]++;
    out->count = 0;
    out->data = NULL;
    return;
  }
  const cmojo_wire_type *elem = t->element;
  static const cmojo_wire_type char_type = {.kind = CMOJO_WIRE_KIND_UINT8};
  if (t->kind == CMOJO_WIRE_KIND_STRING)
    elem = &char_type;
  uint32_t n;
  if (t->fixed_count) {
    coverage[COV_FIXED_ARRAY]++;
    n = t->fixed_count;
  } else if (t->kind == CMOJO_WIRE_KIND_STRING) {
    n = tight(g) ? below(g->rng, 4) : below(g->rng, 16);
  } else {
    n = gen_count(g, elem);
  }
  if (n == 0) {
    coverage[COV_EMPTY_ARRAY]++;
    if (!t->nullable && chance(g->rng, 30)) {
      coverage[COV_C_ZERO_ARRAY]++; /* the C zero value means empty */
      out->count = 0;
      out->data = NULL;
      return;
    }
  }
  if (elem->nullable && is_value_kind(elem->kind))
    coverage[COV_NULLABLE_ELEMENTS]++;
  g->budget--;
  size_t cs = cmojo_wire_c_size(elem);
  uint8_t *data = arena_alloc(g->arena, (size_t)n * cs);
  if (t->kind == CMOJO_WIRE_KIND_STRING) {
    bool text = chance(g->rng, 60);
    for (uint32_t i = 0; i < n; i++)
      data[i] = text ? (uint8_t)(' ' + below(g->rng, 95)) : (uint8_t)next_u64(g->rng);
  } else {
    for (uint32_t i = 0; i < n; i++)
      gen_value(g, elem, data + (size_t)i * cs);
  }
  out->count = n;
  out->data = data;
}

static void gen_map(gen *g, const cmojo_wire_type *t, cmojo_map *out) {
  coverage[t->kind]++;
  if (t->nullable && (chance(g->rng, 20) || (tight(g) && chance(g->rng, 70)))) {
    coverage[COV_NULL_POINTER]++;
    memset(out, 0, sizeof(*out));
    return;
  }
  if (t->key->kind == CMOJO_WIRE_KIND_STRUCT)
    coverage[COV_STRUCT_KEY]++;
  uint32_t n = tight(g) ? 0 : below(g->rng, 4);
  if (n == 0 && !t->nullable && chance(g->rng, 30)) {
    coverage[COV_C_ZERO_ARRAY]++;
    memset(out, 0, sizeof(*out));
    return;
  }
  g->budget--;
  size_t ks = cmojo_wire_c_size(t->key), vs = cmojo_wire_c_size(t->element);
  uint8_t *keys = arena_alloc(g->arena, (size_t)n * ks);
  uint8_t *values = arena_alloc(g->arena, (size_t)n * vs);
  /* Keys first, then values: the order the encoder writes (and numbers
   * handles in). */
  for (uint32_t i = 0; i < n; i++)
    gen_value(g, t->key, keys + (size_t)i * ks);
  for (uint32_t i = 0; i < n; i++)
    gen_value(g, t->element, values + (size_t)i * vs);
  out->count = n;
  out->keys = keys;
  out->values = values;
}

static void *gen_struct_ptr(gen *g, const cmojo_wire_type *t) {
  coverage[t->kind]++;
  if (t->nullable) {
    bool present;
    if (g->sdepth + 1 >= MAX_STRUCT_DEPTH)
      present = false;
    else if (g->deep)
      present = t->struct_type == g->self && g->sdepth < g->deep_target; /* the chain */
    else
      present = !tight(g) && g->sdepth < 8 && chance(g->rng, 70);
    if (!present) {
      coverage[COV_NULL_POINTER]++;
      return NULL;
    }
  }
  g->sdepth++;
  void *p = gen_struct(g, t->struct_type);
  g->sdepth--;
  return p;
}

static const cmojo_wire_union_field *pick_member(gen *g, const cmojo_wire_union *u) {
  const cmojo_wire_union_field *pool[64];
  uint32_t n = 0;
  if (g->deep && g->udepth < DEEP_UNION_TARGET) {
    for (uint32_t i = 0; i < u->num_fields && n < 64; i++)
      if (u->fields[i].type->kind == CMOJO_WIRE_KIND_UNION)
        pool[n++] = &u->fields[i];
  } else if (tight(g)) {
    for (uint32_t i = 0; i < u->num_fields && n < 64; i++) {
      const cmojo_wire_type *t = u->fields[i].type;
      if (!is_object_kind(t->kind) || t->nullable || t->kind == CMOJO_WIRE_KIND_STRING)
        pool[n++] = &u->fields[i];
    }
  }
  if (n)
    return pool[below(g->rng, n)];
  return &u->fields[below(g->rng, u->num_fields)];
}

static void *gen_union_ptr(gen *g, const cmojo_wire_type *t) {
  coverage[t->kind]++;
  if (t->nullable) {
    bool null;
    if (g->deep)
      null = g->udepth >= DEEP_UNION_TARGET;
    else
      null = tight(g) ? chance(g->rng, 80) : chance(g->rng, 25);
    if (null) {
      coverage[COV_NULL_UNION]++;
      return NULL;
    }
  }
  const cmojo_wire_union *u = t->union_type;
  assert_true(u->num_fields > 0);
  if (g->udepth > 0)
    coverage[COV_UNION_IN_UNION]++;
  if (g->udepth >= 40)
    coverage[COV_DEEP_UNIONS]++;
  g->budget--;
  uint8_t *c = arena_alloc(g->arena, u->c_size);
  const cmojo_wire_union_field *f = pick_member(g, u);
  memcpy(c, &f->tag, sizeof(f->tag));
  g->udepth++;
  gen_value(g, f->type, c + u->c_value_offset);
  g->udepth--;
  return c;
}

static void gen_value(gen *g, const cmojo_wire_type *t, uint8_t *dst) {
  if (is_value_kind(t->kind)) {
    if (t->nullable)
      gen_opt(g, t, dst, false);
    else
      gen_plain(g, t, dst);
    return;
  }
  switch (t->kind) {
    case CMOJO_WIRE_KIND_STRING:
    case CMOJO_WIRE_KIND_ARRAY:
      gen_array(g, t, (cmojo_array *)dst);
      return;
    case CMOJO_WIRE_KIND_MAP:
      gen_map(g, t, (cmojo_map *)dst);
      return;
    case CMOJO_WIRE_KIND_STRUCT: {
      void *p = gen_struct_ptr(g, t);
      memcpy(dst, &p, sizeof(p));
      return;
    }
    case CMOJO_WIRE_KIND_UNION: {
      void *p = gen_union_ptr(g, t);
      memcpy(dst, &p, sizeof(p));
      return;
    }
    case CMOJO_WIRE_KIND_HANDLE:
    case CMOJO_WIRE_KIND_PENDING_RECEIVER: {
      coverage[t->kind]++;
      MojoHandle h = gen_handle(g, t->nullable);
      memcpy(dst, &h, sizeof(h));
      return;
    }
    case CMOJO_WIRE_KIND_PENDING_REMOTE: {
      coverage[t->kind]++;
      /* A null remote's version is garbage the encoder must write as 0. */
      cmojo_pending_remote pr = {gen_handle(g, t->nullable), (uint32_t)next_u64(g->rng)};
      memcpy(dst, &pr, sizeof(pr));
      return;
    }
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_REMOTE: {
      coverage[t->kind]++;
      cmojo_pending_associated_remote ar = {gen_interface_id(g, t->nullable),
                                            (uint32_t)next_u64(g->rng)};
      memcpy(dst, &ar, sizeof(ar));
      return;
    }
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER: {
      coverage[t->kind]++;
      uint32_t id = gen_interface_id(g, t->nullable);
      memcpy(dst, &id, sizeof(id));
      return;
    }
    default:
      fail_msg("unknown kind %d", t->kind);
  }
}

static void *gen_struct(gen *g, const cmojo_wire_struct *st) {
  coverage[CMOJO_WIRE_KIND_STRUCT]++;
  if (g->sdepth >= 150)
    coverage[COV_DEEP_STRUCTS]++;
  g->budget--;
  uint8_t *c = arena_alloc(g->arena, st->c_size);
  const cmojo_wire_struct *saved = g->self;
  g->self = st;
  for (uint32_t i = 0; i < st->num_fields; i++) {
    const cmojo_wire_field *f = &st->fields[i];
    if (f->min_version)
      coverage[COV_VERSIONED_FIELD]++;
    if (f->type->nullable && is_value_kind(f->type->kind))
      gen_opt(g, f->type, c + f->c_offset, null_field_impossible(f->type));
    else
      gen_value(g, f->type, c + f->c_offset);
  }
  g->self = saved;
  return c;
}

static void gen_free(gen *g) {
  free(g->handles);
  free(g->ids);
}

/* ---------------------------------------------------------------------------
 * The comparator: `want` is the generated input, `got` the decoded value.
 */

static char path[4096];
static size_t path_len;

static size_t path_push(const char *fmt, ...) {
  size_t old = path_len;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(path + path_len, sizeof(path) - path_len, fmt, ap);
  va_end(ap);
  if (n > 0)
    path_len += (size_t)n < sizeof(path) - path_len ? (size_t)n : sizeof(path) - path_len - 1;
  return old;
}

static void path_pop(size_t old) {
  path_len = old;
  path[old] = 0;
}

#define MISMATCH(...)                                 \
  do {                                                \
    char what_[256];                                  \
    snprintf(what_, sizeof(what_), __VA_ARGS__);      \
    fail_msg("value differs at %s: %s", path, what_); \
  } while (0)

static void cmp_value(const cmojo_wire_type *t, const uint8_t *want, const uint8_t *got);
static void cmp_struct(const cmojo_wire_struct *st, const uint8_t *want, const uint8_t *got);

static void cmp_plain(const cmojo_wire_type *t, const uint8_t *want, const uint8_t *got) {
  if (t->kind == CMOJO_WIRE_KIND_BOOL) {
    if (*(const bool *)want != *(const bool *)got)
      MISMATCH("bool %d, decoded %d", *(const bool *)want, *(const bool *)got);
  } else if (t->kind == CMOJO_WIRE_KIND_ENUM) {
    int32_t w, g;
    memcpy(&w, want, 4);
    memcpy(&g, got, 4);
    const cmojo_wire_enum *e = t->enum_type;
    if (e->extensible && e->has_default && !enum_known(e, w))
      w = e->default_value;
    if (w != g)
      MISMATCH("enum %s: %d, decoded %d", e->name, w, g);
  } else if (memcmp(want, got, plain_size(t->kind))) {
    /* Bits, not values: NaN payloads and -0 must survive too. */
    uint64_t w = 0, g = 0;
    memcpy(&w, want, plain_size(t->kind));
    memcpy(&g, got, plain_size(t->kind));
    MISMATCH("kind %d: %#llx, decoded %#llx", t->kind, (unsigned long long)w,
             (unsigned long long)g);
  }
}

static void cmp_array(const cmojo_wire_type *t, const cmojo_array *want, const cmojo_array *got) {
  if (!want->data && t->nullable) {
    if (got->data)
      MISMATCH("null array decoded as present (%u elements)", got->count);
    return;
  }
  if (!got->data)
    MISMATCH("present array decoded as null");
  if (want->count != got->count)
    MISMATCH("%u elements, decoded %u", want->count, got->count);
  if (t->kind == CMOJO_WIRE_KIND_STRING) {
    if (want->count && memcmp(want->data, got->data, want->count))
      MISMATCH("string bytes");
    if (((const char *)got->data)[got->count] != 0)
      MISMATCH("decoded string lacks its NUL");
    return;
  }
  size_t cs = cmojo_wire_c_size(t->element);
  for (uint32_t i = 0; i < want->count; i++) {
    size_t old = path_push("[%u]", i);
    cmp_value(t->element, (const uint8_t *)want->data + i * cs,
              (const uint8_t *)got->data + i * cs);
    path_pop(old);
  }
}

static void cmp_map(const cmojo_wire_type *t, const cmojo_map *want, const cmojo_map *got) {
  if (!want->keys && t->nullable) {
    if (got->keys || got->values)
      MISMATCH("null map decoded as present");
    return;
  }
  if (!got->keys || !got->values)
    MISMATCH("present map decoded as null");
  if (want->count != got->count)
    MISMATCH("%u entries, decoded %u", want->count, got->count);
  size_t ks = cmojo_wire_c_size(t->key), vs = cmojo_wire_c_size(t->element);
  for (uint32_t i = 0; i < want->count; i++) {
    size_t old = path_push("{key %u}", i);
    cmp_value(t->key, (const uint8_t *)want->keys + i * ks, (const uint8_t *)got->keys + i * ks);
    path_pop(old);
    old = path_push("{value %u}", i);
    cmp_value(t->element, (const uint8_t *)want->values + i * vs,
              (const uint8_t *)got->values + i * vs);
    path_pop(old);
  }
}

static void cmp_value(const cmojo_wire_type *t, const uint8_t *want, const uint8_t *got) {
  if (is_value_kind(t->kind)) {
    if (!t->nullable) {
      cmp_plain(t, want, got);
      return;
    }
    bool w = *(const bool *)want, g = *(const bool *)got;
    if (w != g)
      MISMATCH("has_value %d, decoded %d", w, g);
    if (w)
      cmp_plain(t, want + opt_value_offset(t->kind), got + opt_value_offset(t->kind));
    return;
  }
  switch (t->kind) {
    case CMOJO_WIRE_KIND_STRING:
    case CMOJO_WIRE_KIND_ARRAY:
      cmp_array(t, (const cmojo_array *)want, (const cmojo_array *)got);
      return;
    case CMOJO_WIRE_KIND_MAP:
      cmp_map(t, (const cmojo_map *)want, (const cmojo_map *)got);
      return;
    case CMOJO_WIRE_KIND_STRUCT:
    case CMOJO_WIRE_KIND_UNION: {
      const uint8_t *w, *g;
      memcpy(&w, want, sizeof(w));
      memcpy(&g, got, sizeof(g));
      if (!w || !g) {
        if (w || g)
          MISMATCH("%s decoded as %s", w ? "present" : "null", g ? "present" : "null");
        return;
      }
      if (t->kind == CMOJO_WIRE_KIND_STRUCT) {
        cmp_struct(t->struct_type, w, g);
        return;
      }
      const cmojo_wire_union *u = t->union_type;
      uint32_t wt, gt;
      memcpy(&wt, w, 4);
      memcpy(&gt, g, 4);
      if (wt != gt)
        MISMATCH("union %s tag %u, decoded %u", u->name, wt, gt);
      for (uint32_t i = 0; i < u->num_fields; i++)
        if (u->fields[i].tag == wt) {
          size_t old = path_push("|%s", u->fields[i].name);
          cmp_value(u->fields[i].type, w + u->c_value_offset, g + u->c_value_offset);
          path_pop(old);
        }
      return;
    }
    case CMOJO_WIRE_KIND_HANDLE:
    case CMOJO_WIRE_KIND_PENDING_RECEIVER: {
      MojoHandle w, g;
      memcpy(&w, want, sizeof(w));
      memcpy(&g, got, sizeof(g));
      if (w != g)
        MISMATCH("handle %#lx, decoded %#lx", (unsigned long)w, (unsigned long)g);
      return;
    }
    case CMOJO_WIRE_KIND_PENDING_REMOTE: {
      cmojo_pending_remote w, g;
      memcpy(&w, want, sizeof(w));
      memcpy(&g, got, sizeof(g));
      if (w.handle != g.handle || (w.handle != MOJO_HANDLE_INVALID && w.version != g.version))
        MISMATCH("remote {%#lx, %u}, decoded {%#lx, %u}", (unsigned long)w.handle, w.version,
                 (unsigned long)g.handle, g.version);
      return;
    }
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_REMOTE: {
      cmojo_pending_associated_remote w, g;
      memcpy(&w, want, sizeof(w));
      memcpy(&g, got, sizeof(g));
      if (w.interface_id != g.interface_id ||
          (w.interface_id != CMOJO_WIRE_INVALID_INTERFACE_ID && w.version != g.version))
        MISMATCH("associated remote {%#x, %u}, decoded {%#x, %u}", w.interface_id, w.version,
                 g.interface_id, g.version);
      return;
    }
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER: {
      uint32_t w, g;
      memcpy(&w, want, 4);
      memcpy(&g, got, 4);
      if (w != g)
        MISMATCH("associated receiver %#x, decoded %#x", w, g);
      return;
    }
    default:
      MISMATCH("unknown kind %d", t->kind);
  }
}

/* Fields newer than `version` (what the sender wrote) decode as zero. */
static void cmp_struct_version(const cmojo_wire_struct *st, const uint8_t *want, const uint8_t *got,
                               uint32_t version) {
  static const uint8_t zeros[64];
  for (uint32_t i = 0; i < st->num_fields; i++) {
    const cmojo_wire_field *f = &st->fields[i];
    size_t old = path_push(".%s", f->name);
    if (f->min_version <= version)
      cmp_value(f->type, want + f->c_offset, got + f->c_offset);
    else if (memcmp(got + f->c_offset, zeros, cmojo_wire_c_size(f->type)))
      MISMATCH("a field newer than version %u is not zero", version);
    path_pop(old);
  }
}

static void cmp_struct(const cmojo_wire_struct *st, const uint8_t *want, const uint8_t *got) {
  cmp_struct_version(st, want, got, UINT32_MAX);
}

/* ---------------------------------------------------------------------------
 * What is tested: every struct standalone, and every method's parameters.
 */

typedef struct target {
  char name[128];
  const cmojo_wire_interface *iface;
  const cmojo_wire_method *method;
  cmojo_wire_direction dir;
  const cmojo_wire_struct *st;
  bool may_refuse_reencode; /* has a closed `E?` field without a 0 value */
} target;

#define MAX_STRUCTS 128
#define MAX_TARGETS 256

/* Standalone structs go through a made-up interface, one method each, so
 * that cmojo_wire_validate_message judges them as it judges parameters. */
typedef struct module {
  const char *name;
  const cmojo_wire_interface *const *ifaces;
  size_t num_ifaces;
  const cmojo_wire_struct *const *structs; /* named structs (more are reached) */
  size_t num_structs;
  cmojo_wire_method methods[MAX_STRUCTS];
  cmojo_wire_interface standalone;
  target targets[MAX_TARGETS];
  size_t num_targets;
} module;

static bool seen_struct(const cmojo_wire_struct **set, size_t n, const cmojo_wire_struct *st) {
  for (size_t i = 0; i < n; i++)
    if (set[i] == st)
      return true;
  return false;
}

typedef struct closure {
  const cmojo_wire_struct *structs[MAX_STRUCTS];
  size_t num_structs;
  const cmojo_wire_union *unions[MAX_STRUCTS];
  size_t num_unions;
} closure;

static void close_struct(closure *c, const cmojo_wire_struct *st);

static void close_type(closure *c, const cmojo_wire_type *t) {
  switch (t->kind) {
    case CMOJO_WIRE_KIND_ARRAY:
      close_type(c, t->element);
      break;
    case CMOJO_WIRE_KIND_MAP:
      close_type(c, t->key);
      close_type(c, t->element);
      break;
    case CMOJO_WIRE_KIND_STRUCT:
      close_struct(c, t->struct_type);
      break;
    case CMOJO_WIRE_KIND_UNION: {
      for (size_t i = 0; i < c->num_unions; i++)
        if (c->unions[i] == t->union_type)
          return;
      assert_true(c->num_unions < MAX_STRUCTS);
      c->unions[c->num_unions++] = t->union_type;
      for (uint32_t i = 0; i < t->union_type->num_fields; i++)
        close_type(c, t->union_type->fields[i].type);
      break;
    }
    default:
      break;
  }
}

static void close_struct(closure *c, const cmojo_wire_struct *st) {
  if (seen_struct(c->structs, c->num_structs, st))
    return;
  assert_true(c->num_structs < MAX_STRUCTS);
  c->structs[c->num_structs++] = st;
  for (uint32_t i = 0; i < st->num_fields; i++)
    close_type(c, st->fields[i].type);
}

static bool reaches_nozero_nullable_enum(const cmojo_wire_struct *st) {
  closure c = {0};
  close_struct(&c, st);
  for (size_t i = 0; i < c.num_structs; i++)
    for (uint32_t f = 0; f < c.structs[i]->num_fields; f++) {
      const cmojo_wire_type *t = c.structs[i]->fields[f].type;
      if (t->nullable && null_field_impossible(t))
        return true;
    }
  return false;
}

static void add_target(module *m, const cmojo_wire_interface *iface,
                       const cmojo_wire_method *method, cmojo_wire_direction dir) {
  assert_true(m->num_targets < MAX_TARGETS);
  target *t = &m->targets[m->num_targets++];
  t->iface = iface;
  t->method = method;
  t->dir = dir;
  t->st = dir == CMOJO_WIRE_RESPONSE ? method->response : method->request;
  t->may_refuse_reencode = reaches_nozero_nullable_enum(t->st);
  snprintf(t->name, sizeof(t->name), "%s.%s%s", iface->name, method->name,
           dir == CMOJO_WIRE_RESPONSE ? " response" : "");
}

static void module_init(module *m) {
  closure c = {0};
  for (size_t i = 0; i < m->num_ifaces; i++) {
    const cmojo_wire_interface *f = m->ifaces[i];
    for (uint32_t k = 0; k < f->num_methods; k++) {
      add_target(m, f, &f->methods[k], CMOJO_WIRE_REQUEST);
      if (f->methods[k].response)
        add_target(m, f, &f->methods[k], CMOJO_WIRE_RESPONSE);
      /* Parameter structs are tested as parameters; what they reach is
       * tested standalone too. */
      for (uint32_t p = 0; p < f->methods[k].request->num_fields; p++)
        close_type(&c, f->methods[k].request->fields[p].type);
      if (f->methods[k].response)
        for (uint32_t p = 0; p < f->methods[k].response->num_fields; p++)
          close_type(&c, f->methods[k].response->fields[p].type);
    }
  }
  for (size_t i = 0; i < m->num_structs; i++)
    close_struct(&c, m->structs[i]);
  for (size_t i = 0; i < c.num_structs; i++)
    m->methods[i] = (cmojo_wire_method){
        .name = c.structs[i]->name, .ordinal = (uint32_t)i, .request = c.structs[i]};
  m->standalone = (cmojo_wire_interface){
      .name = "standalone", .methods = m->methods, .num_methods = (uint32_t)c.num_structs};
  for (size_t i = 0; i < c.num_structs; i++)
    add_target(m, &m->standalone, &m->methods[i], CMOJO_WIRE_REQUEST);
}

/* ---------------------------------------------------------------------------
 * Finding the pointers, handles and objects of a valid message (for the
 * targeted mutations), by walking it with the tables.
 */

#define MAX_SLOTS 1024

typedef struct slots {
  uint32_t ptrs[MAX_SLOTS], objs[MAX_SLOTS], handles[MAX_SLOTS], ids[MAX_SLOTS], tags[MAX_SLOTS];
  uint32_t num_ptrs, num_objs, num_handles, num_ids, num_tags;
} slots;

static uint64_t ld(const uint8_t *b, uint64_t off, unsigned n) {
  uint64_t v = 0;
  memcpy(&v, b + off, n);
  return v;
}

static void st_le(uint8_t *b, uint64_t off, uint64_t v, unsigned n) {
  memcpy(b + off, &v, n);
}

static void add_slot(uint32_t *v, uint32_t *n, uint64_t off) {
  if (*n < MAX_SLOTS)
    v[(*n)++] = (uint32_t)off;
}

static void walk_slot(slots *s, const uint8_t *b, const cmojo_wire_type *t, uint64_t off,
                      bool inlined);

static void walk_struct(slots *s, const uint8_t *b, const cmojo_wire_struct *st, uint64_t off) {
  add_slot(s->objs, &s->num_objs, off);
  uint32_t version = (uint32_t)ld(b, off + 4, 4);
  for (uint32_t i = 0; i < st->num_fields; i++)
    if (st->fields[i].min_version <= version)
      walk_slot(s, b, st->fields[i].type, off + st->fields[i].offset, true);
}

static unsigned element_stride(const cmojo_wire_type *t) {
  switch (t->kind) {
    case CMOJO_WIRE_KIND_UNION:
      return 16;
    case CMOJO_WIRE_KIND_HANDLE:
    case CMOJO_WIRE_KIND_PENDING_RECEIVER:
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER:
      return 4;
    default:
      return 8;
  }
}

static void walk_array(slots *s, const uint8_t *b, const cmojo_wire_type *elem, uint64_t off) {
  add_slot(s->objs, &s->num_objs, off);
  if (is_value_kind(elem->kind))
    return;
  uint32_t n = (uint32_t)ld(b, off + 4, 4);
  for (uint32_t i = 0; i < n; i++)
    walk_slot(s, b, elem, off + 8 + (uint64_t)i * element_stride(elem), true);
}

static void walk_union(slots *s, const uint8_t *b, const cmojo_wire_union *u, uint64_t off) {
  if (!ld(b, off, 4))
    return;
  uint32_t tag = (uint32_t)ld(b, off + 4, 4);
  add_slot(s->tags, &s->num_tags, off + 4);
  for (uint32_t i = 0; i < u->num_fields; i++)
    if (u->fields[i].tag == tag)
      walk_slot(s, b, u->fields[i].type, off + 8, false);
}

/* A pointer slot at `off` and what it points to. */
static void walk_pointer(slots *s, const uint8_t *b, const cmojo_wire_type *t, uint64_t off) {
  add_slot(s->ptrs, &s->num_ptrs, off);
  uint64_t rel = ld(b, off, 8);
  if (!rel)
    return;
  uint64_t to = off + rel;
  assert_true(rel % 8 == 0 && rel < (1ull << 32)); /* a valid message: forward, aligned */
  if (t->kind == CMOJO_WIRE_KIND_STRUCT) {
    walk_struct(s, b, t->struct_type, to);
  } else if (t->kind == CMOJO_WIRE_KIND_UNION) {
    add_slot(s->objs, &s->num_objs, to);
    walk_union(s, b, t->union_type, to);
  } else if (t->kind == CMOJO_WIRE_KIND_MAP) {
    add_slot(s->objs, &s->num_objs, to);
    add_slot(s->ptrs, &s->num_ptrs, to + 8);
    add_slot(s->ptrs, &s->num_ptrs, to + 16);
    walk_array(s, b, t->key, to + 8 + ld(b, to + 8, 8));
    walk_array(s, b, t->element, to + 16 + ld(b, to + 16, 8));
  } else {
    static const cmojo_wire_type u8 = {.kind = CMOJO_WIRE_KIND_UINT8};
    walk_array(s, b, t->kind == CMOJO_WIRE_KIND_STRING ? &u8 : t->element, to);
  }
}

static void walk_slot(slots *s, const uint8_t *b, const cmojo_wire_type *t, uint64_t off,
                      bool inlined) {
  switch (t->kind) {
    case CMOJO_WIRE_KIND_UNION:
      /* Inlined in structs and arrays; a union inside a union is a pointer. */
      if (inlined)
        walk_union(s, b, t->union_type, off);
      else
        walk_pointer(s, b, t, off);
      return;
    case CMOJO_WIRE_KIND_STRING:
    case CMOJO_WIRE_KIND_ARRAY:
    case CMOJO_WIRE_KIND_MAP:
    case CMOJO_WIRE_KIND_STRUCT:
      walk_pointer(s, b, t, off);
      return;
    case CMOJO_WIRE_KIND_HANDLE:
    case CMOJO_WIRE_KIND_PENDING_RECEIVER:
    case CMOJO_WIRE_KIND_PENDING_REMOTE:
      add_slot(s->handles, &s->num_handles, off);
      return;
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_REMOTE:
    case CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER:
      add_slot(s->ids, &s->num_ids, off);
      return;
    default:
      return;
  }
}

/* ---------------------------------------------------------------------------
 * Round trip of one value, then its mutants.
 */

typedef struct run_stats {
  uint64_t values, refused, lossy, mutants, valid_mutants, bytes, pointers, old_versions;
} run_stats;

/* out.handles is NULL when a message has none. */
static void copy_handles(MojoHandle *dst, const MojoHandle *src, uint32_t n) {
  if (n)
    memcpy(dst, src, n * sizeof(MojoHandle));
}

static uint32_t expected_flags(const target *tg) {
  uint32_t flags = 0;
  if (tg->dir == CMOJO_WIRE_RESPONSE)
    flags |= CMOJO_WIRE_FLAG_IS_RESPONSE;
  else if (tg->method->response)
    flags |= CMOJO_WIRE_FLAG_EXPECTS_RESPONSE;
  if (tg->method->flags & CMOJO_WIRE_METHOD_SYNC)
    flags |= CMOJO_WIRE_FLAG_IS_SYNC;
  if (tg->dir == CMOJO_WIRE_REQUEST && (tg->method->flags & CMOJO_WIRE_METHOD_NO_INTERRUPT))
    flags |= CMOJO_WIRE_FLAG_NO_INTERRUPT;
  return flags;
}

static void collect_handle(MojoHandle h, void *ctx) {
  gen *g = ctx;
  if (g->num_handles == g->cap_handles) {
    g->cap_handles = g->cap_handles ? g->cap_handles * 2 : 16;
    g->handles = realloc(g->handles, g->cap_handles * sizeof(MojoHandle));
    assert_non_null(g->handles);
  }
  g->handles[g->num_handles++] = h;
}

/* Encodes what decoding `bytes` as the target's struct gave and checks the
 * result validates again. Returns false if the encoder refused. */
static bool reencode_valid(const target *tg, const cmojo_wire_header *h, const void *value) {
  cmojo_wire_message m;
  MojoResult r = cmojo_wire_encode_message(h, tg->st, value, &m);
  if (r == MOJO_RESULT_INVALID_ARGUMENT && tg->may_refuse_reencode)
    return false;
  if (r != MOJO_RESULT_OK)
    fail_msg("%s: a decoded value does not encode again (%d)", tg->name, (int)r);
  cmojo_wire_header h2;
  cmojo_wire_error e = cmojo_wire_validate_header(m.bytes, m.num_bytes, &h2);
  if (!e)
    e = cmojo_wire_validate_payload(m.bytes, m.num_bytes, &h2, m.num_handles, tg->st);
  if (e)
    fail_msg("%s: a decoded value encodes into an invalid message: %s", tg->name,
             cmojo_wire_error_string(e));
  cmojo_wire_message_free(&m);
  return true;
}

/* Validates and decodes one (possibly broken) message; checks that they
 * agree. Returns what cmojo_wire_validate_message said. */
static cmojo_wire_error probe(const target *tg, const uint8_t *bytes, size_t n,
                              const MojoHandle *handles, uint32_t num_handles) {
  cmojo_wire_header h;
  const cmojo_wire_method *method = NULL;
  cmojo_wire_error e =
      cmojo_wire_validate_message(bytes, n, num_handles, tg->iface, tg->dir, &h, &method);
  cmojo_wire_header hh;
  cmojo_wire_error perr = cmojo_wire_validate_header(bytes, n, &hh);
  if (!perr)
    perr = cmojo_wire_validate_payload(bytes, n, &hh, num_handles, tg->st);

  MojoHandle *mine = malloc((num_handles + 1) * sizeof(MojoHandle));
  assert_non_null(mine);
  copy_handles(mine, handles, num_handles);
  void *out = (void *)1;
  cmojo_wire_error derr = CMOJO_WIRE_ERROR_MAX_RECURSION_DEPTH;
  MojoResult r = cmojo_wire_decode_message(bytes, n, mine, num_handles, tg->st, &out, &derr);
  if (derr != perr)
    fail_msg("%s: decode says %s, validation %s", tg->name, cmojo_wire_error_string(derr),
             cmojo_wire_error_string(perr));
  if (perr) {
    assert_int_equal(r, MOJO_RESULT_INVALID_ARGUMENT);
    if (num_handles) /* nothing taken */
      assert_memory_equal(mine, handles, num_handles * sizeof(MojoHandle));
  } else {
    assert_int_equal(r, MOJO_RESULT_OK);
    assert_non_null(out);
    reencode_valid(tg, &hh, out);
    cmojo_wire_free(out);
  }
  if (e == CMOJO_WIRE_ERROR_NONE && method == tg->method)
    assert_int_equal(perr, CMOJO_WIRE_ERROR_NONE);
  if (e == CMOJO_WIRE_ERROR_NONE && method && method != tg->method) {
    /* Renamed into another method: valid as that method's parameters. */
    const cmojo_wire_struct *other =
        tg->dir == CMOJO_WIRE_RESPONSE ? method->response : method->request;
    copy_handles(mine, handles, num_handles);
    assert_int_equal(cmojo_wire_decode_message(bytes, n, mine, num_handles, other, &out, NULL),
                     MOJO_RESULT_OK);
    cmojo_wire_free(out);
  }
  free(mine);
  return e;
}

static void probe_copy(const target *tg, const uint8_t *bytes, size_t n, const MojoHandle *handles,
                       uint32_t num_handles, run_stats *rs) {
  /* A tight heap copy, so ASan sees any read past the end, at any
   * alignment (message bytes need none). */
  size_t skew = (size_t)(rs->mutants % 8);
  uint8_t *copy = malloc(n + skew ? n + skew : 1);
  assert_non_null(copy);
  memcpy(copy + skew, bytes, n);
  cmojo_wire_error e = probe(tg, copy + skew, n, handles, num_handles);
  free(copy);
  rs->mutants++;
  if (e == CMOJO_WIRE_ERROR_NONE) {
    rs->valid_mutants++;
    coverage[COV_MUTANT_VALID]++;
  } else {
    coverage[COV_MUTANT_INVALID]++;
  }
}

static void mutate(const target *tg, const cmojo_wire_message *m, uint64_t *rng, run_stats *rs) {
  cmojo_wire_header h;
  assert_int_equal(cmojo_wire_validate_header(m->bytes, m->num_bytes, &h), CMOJO_WIRE_ERROR_NONE);
  slots *s = calloc(1, sizeof(*s));
  assert_non_null(s);
  walk_struct(s, m->bytes, tg->st, h.payload_offset);
  rs->pointers += s->num_ptrs;
  size_t n = m->num_bytes;
  uint8_t *b = malloc(n);
  assert_non_null(b);

  /* Exact answers first: one handle too few, one too many, a 0 id. */
  MojoHandle *handles = malloc((m->num_handles + 1) * sizeof(MojoHandle));
  assert_non_null(handles);
  copy_handles(handles, m->handles, m->num_handles);
  handles[m->num_handles] = 0x7777;
  if (m->num_handles) {
    assert_int_equal(cmojo_wire_validate_message(m->bytes, n, m->num_handles - 1, tg->iface,
                                                 tg->dir, NULL, NULL),
                     CMOJO_WIRE_ERROR_ILLEGAL_HANDLE);
    probe_copy(tg, m->bytes, n, handles, m->num_handles - 1, rs);
  }
  assert_int_equal(
      cmojo_wire_validate_message(m->bytes, n, m->num_handles + 1, tg->iface, tg->dir, NULL, NULL),
      CMOJO_WIRE_ERROR_NONE);
  probe_copy(tg, m->bytes, n, handles, m->num_handles + 1, rs);
  if (h.num_interface_ids) {
    memcpy(b, m->bytes, n);
    uint32_t at = h.interface_ids_offset + 4 * below(rng, h.num_interface_ids);
    st_le(b, at, chance(rng, 50) ? 0 : 0xFFFFFFFFu, 4);
    assert_int_equal(
        cmojo_wire_validate_message(b, n, m->num_handles, tg->iface, tg->dir, NULL, NULL),
        CMOJO_WIRE_ERROR_ILLEGAL_INTERFACE_ID);
    probe_copy(tg, b, n, handles, m->num_handles, rs);
  }

  static const uint8_t interesting[] = {0, 1, 7, 8, 16, 0x7f, 0x80, 0xff};
  for (int k = 0; k < MUTATIONS_PER_MESSAGE; k++) {
    memcpy(b, m->bytes, n);
    size_t len = n;
    switch (below(rng, 9)) {
      case 0: /* bit flips */
        for (uint32_t j = 1 + below(rng, 3); j > 0; j--) {
          uint64_t bit = below(rng, (uint32_t)(n * 8));
          b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        break;
      case 1: /* truncation */
        len = below(rng, (uint32_t)n);
        break;
      case 2: /* random bytes */
        for (uint32_t j = 1 + below(rng, 4); j > 0; j--)
          b[below(rng, (uint32_t)n)] =
              chance(rng, 50) ? interesting[below(rng, 8)] : (uint8_t)next_u64(rng);
        break;
      case 3: /* two pointers swap their targets */
        if (s->num_ptrs >= 2) {
          uint32_t p = s->ptrs[below(rng, s->num_ptrs)], q = s->ptrs[below(rng, s->num_ptrs)];
          uint64_t rp = ld(m->bytes, p, 8), rq = ld(m->bytes, q, 8);
          uint64_t tp = rp ? p + rp : 0, tq = rq ? q + rq : 0;
          st_le(b, p, tq ? tq - p : 0, 8);
          st_le(b, q, tp ? tp - q : 0, 8);
        }
        break;
      case 4: /* one pointer aimed elsewhere */
        if (s->num_ptrs) {
          uint32_t p = s->ptrs[below(rng, s->num_ptrs)];
          uint64_t rel = ld(m->bytes, p, 8), v;
          switch (below(rng, 7)) {
            case 0:
              v = 0;
              break;
            case 1:
              v = rel + 4;
              break;
            case 2:
              v = rel - 8;
              break;
            case 3:
              v = rel + 8;
              break;
            case 4:
              v = s->num_objs ? s->objs[below(rng, s->num_objs)] - (uint64_t)p : 8;
              break;
            case 5:
              v = n - p;
              break;
            default:
              v = next_u64(rng) >> below(rng, 64);
              break;
          }
          st_le(b, p, v, 8);
        }
        break;
      case 5: /* an object header: num_bytes, or version/count */
        if (s->num_objs) {
          uint32_t o = s->objs[below(rng, s->num_objs)] + (chance(rng, 50) ? 0 : 4);
          uint32_t v = (uint32_t)ld(m->bytes, o, 4);
          static const int32_t deltas[] = {1, -1, 8, -8, 4, 1000};
          if (chance(rng, 70))
            v += (uint32_t)deltas[below(rng, 6)];
          else
            v = chance(rng, 50) ? 0xFFFFFFFFu : (uint32_t)next_u64(rng);
          st_le(b, o, v, 4);
        }
        break;
      case 6: /* a union tag: another member's, or unknown */
        if (s->num_tags) {
          uint32_t at = s->tags[below(rng, s->num_tags)];
          st_le(b, at, chance(rng, 80) ? below(rng, 24) : (uint32_t)next_u64(rng), 4);
        }
        break;
      case 7: /* an aligned word copied over another */
        if (n >= 16) {
          uint32_t words = (uint32_t)(n / 8);
          memcpy(b + 8 * below(rng, words), m->bytes + 8 * below(rng, words), 8);
        }
        break;
      default: { /* a handle or interface-id index */
        uint32_t *v = s->num_handles && (chance(rng, 60) || !s->num_ids) ? s->handles : s->ids;
        uint32_t cnt = v == s->handles ? s->num_handles : s->num_ids;
        if (!cnt)
          break;
        uint32_t at = v[below(rng, cnt)];
        if (cnt >= 2 && chance(rng, 40)) {
          uint32_t other = v[below(rng, cnt)];
          uint32_t x = (uint32_t)ld(m->bytes, at, 4), y = (uint32_t)ld(m->bytes, other, 4);
          st_le(b, at, y, 4);
          st_le(b, other, x, 4);
        } else {
          static const uint32_t idx[] = {0, 1, 2, 0xFFFFFFFFu, 0xFFFFFFFEu, 63};
          st_le(b, at, idx[below(rng, 6)], 4);
        }
        break;
      }
    }
    probe_copy(tg, b, len, handles, m->num_handles, rs);
  }
  free(handles);
  free(b);
  free(s);
}

static void check_header(const target *tg, const cmojo_wire_message *m, const cmojo_wire_header *in,
                         const gen *g) {
  cmojo_wire_header h;
  const cmojo_wire_method *method = NULL;
  cmojo_wire_error e = cmojo_wire_validate_message(m->bytes, m->num_bytes, m->num_handles,
                                                   tg->iface, tg->dir, &h, &method);
  if (e)
    fail_msg("%s: encoded message fails validation: %s", tg->name, cmojo_wire_error_string(e));
  assert_ptr_equal(method, tg->method);
  uint32_t version = in->creation_timeticks_us > 0 ? 3
                     : g->num_ids                  ? 2
                     : in->flags & (CMOJO_WIRE_FLAG_EXPECTS_RESPONSE | CMOJO_WIRE_FLAG_IS_RESPONSE)
                         ? 1
                         : 0;
  assert_int_equal(h.version, version);
  coverage[COV_HEADER_V0 + version]++;
  assert_int_equal(h.interface_id, in->interface_id);
  assert_int_equal(h.name, in->name);
  assert_int_equal(h.flags, in->flags);
  assert_int_equal(h.trace_nonce, in->trace_nonce);
  if (version >= 1)
    assert_true(h.request_id == in->request_id);
  if (version >= 3)
    assert_true(h.creation_timeticks_us == in->creation_timeticks_us);
  /* Associated ids in the header's array, in traversal order. */
  assert_int_equal(h.num_interface_ids, g->num_ids);
  for (uint32_t i = 0; i < g->num_ids; i++)
    assert_int_equal(ld(m->bytes, h.interface_ids_offset + 4ull * i, 4), g->ids[i]);
  /* Handles in traversal order. */
  assert_int_equal(m->num_handles, g->num_handles);
  if (g->num_handles)
    assert_memory_equal(m->handles, g->handles, g->num_handles * sizeof(MojoHandle));
  assert_int_equal(m->num_bytes % 8, 0);
}

/* The parameter struct rewritten as each older version it has (the sender
 * knew less: newer fields decode as zero, their objects are skipped) and as
 * a version newer than any known (the receiver knows less: all decodes). */
static void check_versions(const target *tg, const cmojo_wire_message *m, const void *value,
                           uint64_t *rng, run_stats *rs) {
  cmojo_wire_header h;
  assert_int_equal(cmojo_wire_validate_header(m->bytes, m->num_bytes, &h), CMOJO_WIRE_ERROR_NONE);
  const cmojo_wire_struct *st = tg->st;
  uint8_t *b = malloc(m->num_bytes);
  MojoHandle *handles = malloc((m->num_handles + 1) * sizeof(MojoHandle));
  assert_true(b && handles);
  for (uint32_t row = 0; row < st->num_versions; row++) {
    cmojo_wire_version v = st->versions[row];
    if (row + 1 == st->num_versions)
      v.version += 1 + below(rng, 1000); /* unknown future version, same size */
    memcpy(b, m->bytes, m->num_bytes);
    st_le(b, h.payload_offset, v.num_bytes, 4);
    st_le(b, h.payload_offset + 4, v.version, 4);
    cmojo_wire_error e = cmojo_wire_validate_message(b, m->num_bytes, m->num_handles, tg->iface,
                                                     tg->dir, NULL, NULL);
    if (e)
      fail_msg("%s as version %u: %s", tg->name, v.version, cmojo_wire_error_string(e));
    copy_handles(handles, m->handles, m->num_handles);
    void *out;
    assert_int_equal(
        cmojo_wire_decode_message(b, m->num_bytes, handles, m->num_handles, st, &out, NULL),
        MOJO_RESULT_OK);
    path_len = 0;
    path_push("%s (version %u)", tg->name, v.version);
    cmp_struct_version(st, value, out, v.version);
    path_pop(0);
    /* Handles of skipped fields stay with the caller; the value holds the
     * rest, in order. */
    gen seen = {0};
    cmojo_wire_for_each_handle(st, out, collect_handle, &seen);
    uint32_t taken = 0, k = 0;
    for (uint32_t i = 0; i < m->num_handles; i++) {
      if (handles[i] != MOJO_HANDLE_INVALID) {
        assert_int_equal(handles[i], m->handles[i]);
        continue;
      }
      taken++;
      assert_true(k < seen.num_handles);
      assert_int_equal(seen.handles[k++], m->handles[i]);
    }
    assert_int_equal(taken, seen.num_handles);
    gen_free(&seen);
    cmojo_wire_free(out);
    rs->old_versions++;
  }
  free(handles);
  free(b);
}

static void roundtrip_one(const target *tg, uint64_t *rng, arena *a, bool deep, bool mutations,
                          run_stats *rs) {
  gen g = {.rng = rng,
           .arena = a,
           .budget = deep ? 0 : 40 + (int)below(rng, 80),
           .deep = deep,
           .deep_target = chance(rng, 50) ? MAX_STRUCT_DEPTH : 20 + (int)below(rng, 170),
           .handle_base = 1 + below(rng, 0x7fff0000u)};
  void *value = gen_struct(&g, tg->st);
  cmojo_wire_header in = {.interface_id = (uint32_t)next_u64(rng),
                          .name = tg->method->ordinal,
                          .flags = expected_flags(tg),
                          .trace_nonce = (uint32_t)next_u64(rng)};
  if (chance(rng, 20))
    in.flags |= 1u << (8 + below(rng, 24)); /* unknown bits are carried */
  if (in.flags & (CMOJO_WIRE_FLAG_EXPECTS_RESPONSE | CMOJO_WIRE_FLAG_IS_RESPONSE))
    in.request_id = next_u64(rng);
  if (chance(rng, 20))
    in.creation_timeticks_us = (int64_t)(next_u64(rng) >> 1) | 1;

  cmojo_wire_message m;
  MojoResult r = cmojo_wire_encode_message(&in, tg->st, value, &m);
  if (g.impossible) {
    /* No value of a closed enum without values can be sent. */
    assert_int_equal(r, MOJO_RESULT_INVALID_ARGUMENT);
    coverage[COV_ENCODER_REFUSED]++;
    rs->refused++;
    gen_free(&g);
    arena_reset(a);
    return;
  }
  if (r != MOJO_RESULT_OK)
    fail_msg("%s: encoding a valid value failed (%d)", tg->name, (int)r);
  rs->values++;
  rs->bytes += m.num_bytes;
  rs->lossy += g.lossy;
  check_header(tg, &m, &in, &g);

  /* Decode: equal to the input, every handle taken. */
  MojoHandle *handles = malloc((m.num_handles + 1) * sizeof(MojoHandle));
  assert_non_null(handles);
  copy_handles(handles, m.handles, m.num_handles);
  void *out = NULL;
  cmojo_wire_error derr = CMOJO_WIRE_ERROR_MAX_RECURSION_DEPTH;
  r = cmojo_wire_decode_message(m.bytes, m.num_bytes, handles, m.num_handles, tg->st, &out, &derr);
  if (r != MOJO_RESULT_OK)
    fail_msg("%s: decoding failed: %s", tg->name, cmojo_wire_error_string(derr));
  assert_int_equal(derr, CMOJO_WIRE_ERROR_NONE);
  for (uint32_t i = 0; i < m.num_handles; i++)
    assert_int_equal(handles[i], MOJO_HANDLE_INVALID);
  path_len = 0;
  path_push("%s", tg->name);
  cmp_struct(tg->st, value, out);
  path_pop(0);

  /* The same bytes at an odd address validate and decode the same. */
  size_t skew = 1 + below(rng, 7);
  uint8_t *odd = malloc(m.num_bytes + skew);
  assert_non_null(odd);
  memcpy(odd + skew, m.bytes, m.num_bytes);
  assert_int_equal(cmojo_wire_validate_message(odd + skew, m.num_bytes, m.num_handles, tg->iface,
                                               tg->dir, NULL, NULL),
                   CMOJO_WIRE_ERROR_NONE);
  copy_handles(handles, m.handles, m.num_handles);
  void *odd_out;
  assert_int_equal(cmojo_wire_decode_message(odd + skew, m.num_bytes, handles, m.num_handles,
                                             tg->st, &odd_out, NULL),
                   MOJO_RESULT_OK);
  path_push("%s (unaligned)", tg->name);
  cmp_struct(tg->st, value, odd_out);
  path_pop(0);
  cmojo_wire_free(odd_out);
  free(odd);

  /* cmojo_wire_for_each_handle visits them in the same order. */
  gen seen = {0};
  cmojo_wire_for_each_handle(tg->st, out, collect_handle, &seen);
  assert_int_equal(seen.num_handles, g.num_handles);
  if (g.num_handles)
    assert_memory_equal(seen.handles, g.handles, g.num_handles * sizeof(MojoHandle));
  gen_free(&seen);
  /* ... as it visits the input. */
  memset(&seen, 0, sizeof(seen));
  cmojo_wire_for_each_handle(tg->st, value, collect_handle, &seen);
  assert_int_equal(seen.num_handles, g.num_handles);
  if (g.num_handles)
    assert_memory_equal(seen.handles, g.handles, g.num_handles * sizeof(MojoHandle));
  gen_free(&seen);

  /* Re-encoding gives the same bytes (a fixed point when the input had
   * unknown values that decode to a [Default]). */
  cmojo_wire_message again;
  assert_int_equal(cmojo_wire_encode_message(&in, tg->st, out, &again), MOJO_RESULT_OK);
  assert_int_equal(again.num_handles, m.num_handles);
  if (m.num_handles)
    assert_memory_equal(again.handles, m.handles, m.num_handles * sizeof(MojoHandle));
  if (!g.lossy) {
    if (again.num_bytes != m.num_bytes || memcmp(again.bytes, m.bytes, m.num_bytes)) {
      for (size_t i = 0; i < m.num_bytes || i < again.num_bytes; i++)
        if (i >= m.num_bytes || i >= again.num_bytes || m.bytes[i] != again.bytes[i]) {
          print_error("first difference at byte %zu of %zu/%zu\n", i, m.num_bytes, again.num_bytes);
          break;
        }
      fail_msg("%s: re-encoding the decoded value changed the bytes", tg->name);
    }
  } else {
    copy_handles(handles, again.handles, again.num_handles);
    void *out2;
    assert_int_equal(cmojo_wire_decode_message(again.bytes, again.num_bytes, handles,
                                               again.num_handles, tg->st, &out2, NULL),
                     MOJO_RESULT_OK);
    path_push("%s (re-encoded)", tg->name);
    cmp_struct(tg->st, out, out2);
    path_pop(0);
    cmojo_wire_message third;
    assert_int_equal(cmojo_wire_encode_message(&in, tg->st, out2, &third), MOJO_RESULT_OK);
    assert_int_equal(third.num_bytes, again.num_bytes);
    assert_memory_equal(third.bytes, again.bytes, again.num_bytes);
    cmojo_wire_message_free(&third);
    cmojo_wire_free(out2);
  }
  cmojo_wire_message_free(&again);
  cmojo_wire_free(out);
  free(handles);
  check_versions(tg, &m, value, rng, rs);
  gen_free(&g);
  arena_reset(a);

  if (mutations)
    mutate(tg, &m, rng, rs);
  cmojo_wire_message_free(&m);
}

/* ---------------------------------------------------------------------------
 * The modules.
 */

static uint64_t run_seed;
static unsigned iters = DEFAULT_ITERS;

static void run_module(module *m, uint64_t salt) {
  module_init(m);
  run_stats rs = {0};
  arena a = {0};
  for (size_t i = 0; i < m->num_targets; i++) {
    const target *tg = &m->targets[i];
    uint64_t rng = mix_seed(run_seed, salt * 1000 + i);
    for (unsigned k = 0; k < iters; k++)
      roundtrip_one(tg, &rng, &a, false, true, &rs);
  }
  arena_destroy(&a);
  print_message(
      "%s: %zu structs, %llu values (%llu with defaulted enums, %llu refused), "
      "%llu bytes, %llu as other versions; %llu mutants (%llu pointers to aim), "
      "%llu still valid\n",
      m->name, m->num_targets, (unsigned long long)rs.values, (unsigned long long)rs.lossy,
      (unsigned long long)rs.refused, (unsigned long long)rs.bytes,
      (unsigned long long)rs.old_versions, (unsigned long long)rs.mutants,
      (unsigned long long)rs.pointers, (unsigned long long)rs.valid_mutants);
  assert_true(rs.values > 0);
}

static void test_validation_test_interfaces(void **state) {
  (void)state;
  static const cmojo_wire_interface *const ifaces[] = {
      &mojo_test_ConformanceTestInterface_desc, &mojo_test_BoundsCheckTestInterface_desc,
      &mojo_test_IntegrationTestInterface_desc, &mojo_test_PageHandlerFactory_desc};
  static const cmojo_wire_struct *const structs[] = {
      &mojo_test_StructA_desc,        &mojo_test_StructB_desc,     &mojo_test_StructC_desc,
      &mojo_test_StructD_desc,        &mojo_test_StructE_desc,     &mojo_test_StructF_desc,
      &mojo_test_StructG_desc,        &mojo_test_BasicStruct_desc, &mojo_test_Recursive_desc,
      &mojo_test_StructWithEnum_desc, &mojo_test_TestCase_desc};
  static module m = {.name = "validation_test_interfaces",
                     .ifaces = ifaces,
                     .num_ifaces = 4,
                     .structs = structs,
                     .num_structs = 11};
  run_module(&m, 1);
}

static void test_validation_test_associated_interfaces(void **state) {
  (void)state;
  static const cmojo_wire_interface *const ifaces[] = {
      &mojo_test_AssociatedConformanceTestInterface_desc};
  static module m = {
      .name = "validation_test_associated_interfaces", .ifaces = ifaces, .num_ifaces = 1};
  run_module(&m, 2);
}

static void test_roundtrip_module(void **state) {
  (void)state;
  static const cmojo_wire_interface *const ifaces[] = {&test_wire_RoundTrip_desc};
  static const cmojo_wire_struct *const structs[] = {&test_wire_Inner_desc,
                                                     &test_wire_Everything_desc};
  static module m = {
      .name = "roundtrip", .ifaces = ifaces, .num_ifaces = 1, .structs = structs, .num_structs = 2};
  run_module(&m, 3);
}

static const cmojo_wire_interface *const random_ifaces[] = {&test_random_Random_desc};
static const cmojo_wire_struct *const random_structs[] = {
    &test_random_Leaf_desc,  &test_random_Nullables_desc, &test_random_Arrays_desc,
    &test_random_Maps_desc,  &test_random_Versioned_desc, &test_random_Tree_desc,
    &test_random_Chain_desc, &test_random_DeepHolder_desc};

static void test_random_module(void **state) {
  (void)state;
  static module m = {.name = "random",
                     .ifaces = random_ifaces,
                     .num_ifaces = 1,
                     .structs = random_structs,
                     .num_structs = 8};
  run_module(&m, 4);
}

/* Deep values: everything minimal except recursive chains, which run
 * towards Mojo's struct depth limit (Recursive, Chain) and 48 unions deep
 * (Deep/DeepToo). */
static void test_deep_nesting(void **state) {
  (void)state;
  static module m = {.name = "random (deep)",
                     .ifaces = random_ifaces,
                     .num_ifaces = 1,
                     .structs = random_structs,
                     .num_structs = 8};
  module_init(&m);
  const target *tgs[8];
  size_t n = 0;
  for (size_t i = 0; i < m.num_targets; i++)
    if (m.targets[i].st == &test_random_Chain_desc ||
        m.targets[i].st == &test_random_DeepHolder_desc ||
        !strcmp(m.targets[i].method->name, "Nest"))
      tgs[n++] = &m.targets[i];
  const cmojo_wire_method *m19 =
      cmojo_wire_find_method(&mojo_test_ConformanceTestInterface_desc, 19);
  assert_non_null(m19);
  static target recursive = {.name = "Method19 (Recursive chain)",
                             .iface = &mojo_test_ConformanceTestInterface_desc,
                             .dir = CMOJO_WIRE_REQUEST};
  recursive.method = m19;
  recursive.st = m19->request;
  tgs[n++] = &recursive;
  assert_int_equal(n, 5); /* Chain, DeepHolder, Nest's request and response, Method19 */
  run_stats rs = {0};
  arena a = {0};
  unsigned deep_iters = iters / 4 ? iters / 4 : 1;
  for (size_t i = 0; i < n; i++) {
    uint64_t rng = mix_seed(run_seed, 5000 + i);
    for (unsigned k = 0; k < deep_iters; k++)
      roundtrip_one(tgs[i], &rng, &a, true, true, &rs);
  }
  arena_destroy(&a);
  print_message("deep: %llu values, %llu bytes, %llu mutants\n", (unsigned long long)rs.values,
                (unsigned long long)rs.bytes, (unsigned long long)rs.mutants);
  assert_true(rs.values > 0);
}

/* Every construct the generator knows showed up in this run. */
static void test_constructs_covered(void **state) {
  (void)state;
  int missing = 0;
  for (int i = CMOJO_WIRE_KIND_BOOL; i < COV_COUNT; i++)
    if (!coverage[i]) {
      print_error("never generated: %s\n", cov_names[i]);
      missing++;
    }
  assert_int_equal(missing, 0);
}

int main(void) {
  run_seed = cm_test_seed(0xC0FFEE5EEDull);
  const char *soak = getenv("CMOJO_SOAK_ITERS");
  if (soak && *soak)
    iters = (unsigned)strtoul(soak, NULL, 10);
  if (!iters)
    iters = 1;
  print_message("seed %llu (CMOJO_TEST_SEED=%llu replays), %u values per struct\n",
                (unsigned long long)run_seed, (unsigned long long)run_seed, iters);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_validation_test_interfaces),
      cmocka_unit_test(test_validation_test_associated_interfaces),
      cmocka_unit_test(test_roundtrip_module),
      cmocka_unit_test(test_random_module),
      cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_constructs_covered),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
