/* Issue 4 benchmark: the mojom wire format's encode + validate + decode, for
 * three message shapes (bench/mojom/bench_wire.mojom):
 *  - small: a struct of six scalars;
 *  - collections: array<int32> of 64, three ~32-byte strings, a
 *    map<string, int32> of 16 entries and a 1 KiB array<uint8>;
 *  - tree: structs nested four levels deep (15 structs), scalars and a
 *    string at every level.
 *
 * One operation of ours is what a sender and a receiver do per message:
 * the generated builder encodes the value into a new message, the receiver
 * validates it against the interface (cmojo_wire_validate_message), decodes
 * it with the generated decoder (cmojo_wire_decode_message, which checks the
 * payload again, as the generated decoders always do), then frees the value
 * and the message.
 *
 * Beside it, in the same run:
 *  - protobuf-c (Debian's) doing the same for the equivalent message
 *    (bench/proto/bench_wire.proto): get_packed_size, malloc, pack, unpack,
 *    free_unpacked, free. `bench wire_<shape>_vs_protobuf_c` has that as its
 *    floor and the target: ratio at most 1 (faster than protobuf-c);
 *  - memcpy of our encoded bytes, the floor of any serialization:
 *    `bench wire_<shape>_vs_memcpy` is informational; its target is
 *    protobuf-c's time over memcpy's, i.e. the same "beat protobuf-c" goal
 *    on the memcpy scale (inf when protobuf-c is not built in).
 *
 * Rounds of the three loops are interleaved and the best round of each is
 * kept, so a noisy neighbour hurts all three alike. Before timing, each
 * shape is checked once: our decoded value equals the source value field
 * for field, and protobuf-c's unpacked message packs back to the same bytes,
 * so the benchmark cannot time broken code.
 *
 * Usage: bench_wire [ROUNDS [SHAPE]]: ROUNDS defaults to 25; SHAPE (small,
 * collections or tree) runs that shape alone, e.g. under perf. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_report.h"
#include "bench_wire.mojom.h"
#include "cmojo/wire.h"
#ifdef CMOJO_BENCH_PROTOBUF_C
#include "bench_wire.pb-c.h"
#endif

/* Keeps the compiler from dropping work whose result nobody reads. */
static void consume(const void *p) {
  __asm__ volatile("" : : "r"(p) : "memory");
}

/* ---- the values ---------------------------------------------------------- */

enum { NUM_VALUES = 64, NUM_COUNTS = 16, BLOB_BYTES = 1024, LABEL_BYTES = 32 };

/* Everything the three mojom values (and their protobuf twins) point into. */
typedef struct fixture {
  bench_wire_Small small;

  bench_wire_Collections collections;
  int32_t values[NUM_VALUES];
  cmojo_array count_keys[NUM_COUNTS];
  int32_t count_values[NUM_COUNTS];
  char key_text[NUM_COUNTS][LABEL_BYTES];
  uint8_t blob[BLOB_BYTES];

  bench_wire_Tree tree;
  bench_wire_Limb limbs[2];
  bench_wire_Branch branches[4];
  bench_wire_Leaf leaves[8];
  char labels[15][LABEL_BYTES];

#ifdef CMOJO_BENCH_PROTOBUF_C
  Bench__Wire__Small pb_small;
  Bench__Wire__Collections pb_collections;
  Bench__Wire__Collections__CountsEntry pb_entries[NUM_COUNTS];
  Bench__Wire__Collections__CountsEntry *pb_entry_ptrs[NUM_COUNTS];
  Bench__Wire__Tree pb_tree;
  Bench__Wire__Limb pb_limbs[2];
  Bench__Wire__Branch pb_branches[4];
  Bench__Wire__Leaf pb_leaves[8];
#endif
} fixture;

static cmojo_array text(const char *s) {
  return (cmojo_array){.count = (uint32_t)strlen(s), .data = (void *)s};
}

static void fill_small(fixture *f) {
  f->small = (bench_wire_Small){.id = 123456,
                                .flags = 0x80000001u,
                                .timestamp = 1732370000123456,
                                .score = 0.875,
                                .enabled = true,
                                .port = 8080};
}

static void fill_collections(fixture *f) {
  bench_wire_Collections *c = &f->collections;
  /* Non-negative values of mixed magnitude: protobuf's varints are at their
   * usual 1-3 bytes rather than the 10 a negative int32 costs. */
  for (uint32_t i = 0; i < NUM_VALUES; i++)
    f->values[i] = (int32_t)((i * 2654435761u) % 100000u);
  for (uint32_t i = 0; i < NUM_COUNTS; i++) {
    snprintf(f->key_text[i], LABEL_BYTES, "counter-%02u", i);
    f->count_keys[i] = text(f->key_text[i]);
    f->count_values[i] = (int32_t)(i * i * 31);
  }
  for (uint32_t i = 0; i < BLOB_BYTES; i++)
    f->blob[i] = (uint8_t)(i * 131 + 7);
  c->values = (cmojo_array){.count = NUM_VALUES, .data = f->values};
  c->title = text("Encode, validate, decode: shape2");
  c->author = text("The cmojo team <cmojo@localhost>");
  c->comment = text("thirty-two bytes of comment text");
  c->counts = (cmojo_map){.count = NUM_COUNTS, .keys = f->count_keys, .values = f->count_values};
  c->blob = (cmojo_array){.count = BLOB_BYTES, .data = f->blob};
}

static void fill_tree(fixture *f) {
  int label = 0;
#define LABEL(...) (snprintf(f->labels[label], LABEL_BYTES, __VA_ARGS__), text(f->labels[label++]))
  for (int i = 0; i < 8; i++)
    f->leaves[i] = (bench_wire_Leaf){
        .value = 1000 + i, .weight = 0.5 * i, .label = LABEL("leaf %d of eight", i)};
  for (int i = 0; i < 4; i++)
    f->branches[i] = (bench_wire_Branch){.id = 5000000000 + i,
                                         .active = i % 2,
                                         .label = LABEL("branch %d of four", i),
                                         .left = &f->leaves[2 * i],
                                         .right = &f->leaves[2 * i + 1]};
  for (int i = 0; i < 2; i++)
    f->limbs[i] = (bench_wire_Limb){.count = 70000u + (uint32_t)i,
                                    .ratio = 0.25f * (float)(i + 1),
                                    .label = LABEL("limb %d of two", i),
                                    .left = &f->branches[2 * i],
                                    .right = &f->branches[2 * i + 1]};
  f->tree = (bench_wire_Tree){.id = 42,
                              .version = 7,
                              .name = LABEL("the root of the tree"),
                              .left = &f->limbs[0],
                              .right = &f->limbs[1]};
#undef LABEL
}

/* ---- equality of a decoded value with its source ------------------------- */

static bool array_eq(const cmojo_array *a, const cmojo_array *b, size_t element_size) {
  return a->count == b->count && a->data &&
         (a->count == 0 || memcmp(a->data, b->data, a->count * element_size) == 0);
}

static bool small_eq(const bench_wire_Small *a, const bench_wire_Small *b) {
  return a->id == b->id && a->flags == b->flags && a->timestamp == b->timestamp &&
         a->score == b->score && a->enabled == b->enabled && a->port == b->port;
}

static bool collections_eq(const bench_wire_Collections *a, const bench_wire_Collections *b) {
  if (!array_eq(&a->values, &b->values, sizeof(int32_t)) || !array_eq(&a->title, &b->title, 1) ||
      !array_eq(&a->author, &b->author, 1) || !array_eq(&a->comment, &b->comment, 1) ||
      !array_eq(&a->blob, &b->blob, 1) || a->counts.count != b->counts.count || !a->counts.keys ||
      !a->counts.values)
    return false;
  const cmojo_array *ak = a->counts.keys, *bk = b->counts.keys;
  for (uint32_t i = 0; i < a->counts.count; i++)
    if (!array_eq(&ak[i], &bk[i], 1))
      return false;
  return memcmp(a->counts.values, b->counts.values, a->counts.count * sizeof(int32_t)) == 0;
}

static bool leaf_eq(const bench_wire_Leaf *a, const bench_wire_Leaf *b) {
  return a && a->value == b->value && a->weight == b->weight && array_eq(&a->label, &b->label, 1);
}

static bool branch_eq(const bench_wire_Branch *a, const bench_wire_Branch *b) {
  return a && a->id == b->id && a->active == b->active && array_eq(&a->label, &b->label, 1) &&
         leaf_eq(a->left, b->left) && leaf_eq(a->right, b->right);
}

static bool limb_eq(const bench_wire_Limb *a, const bench_wire_Limb *b) {
  return a && a->count == b->count && a->ratio == b->ratio && array_eq(&a->label, &b->label, 1) &&
         branch_eq(a->left, b->left) && branch_eq(a->right, b->right);
}

static bool tree_eq(const bench_wire_Tree *a, const bench_wire_Tree *b) {
  return a && a->id == b->id && a->version == b->version && array_eq(&a->name, &b->name, 1) &&
         limb_eq(a->left, b->left) && limb_eq(a->right, b->right);
}

/* ---- the protobuf twins -------------------------------------------------- */

#ifdef CMOJO_BENCH_PROTOBUF_C
/* Our strings point into NUL-terminated buffers, so protobuf-c can share
 * them. */
static char *pb_text(const cmojo_array *s) {
  return s->data;
}

static void fill_pb(fixture *f) {
  const bench_wire_Small *s = &f->small;
  bench__wire__small__init(&f->pb_small);
  f->pb_small.id = s->id;
  f->pb_small.flags = s->flags;
  f->pb_small.timestamp = s->timestamp;
  f->pb_small.score = s->score;
  f->pb_small.enabled = s->enabled;
  f->pb_small.port = s->port;

  const bench_wire_Collections *c = &f->collections;
  Bench__Wire__Collections *pc = &f->pb_collections;
  bench__wire__collections__init(pc);
  pc->n_values = c->values.count;
  pc->values = c->values.data;
  pc->title = pb_text(&c->title);
  pc->author = pb_text(&c->author);
  pc->comment = pb_text(&c->comment);
  for (uint32_t i = 0; i < c->counts.count; i++) {
    bench__wire__collections__counts_entry__init(&f->pb_entries[i]);
    f->pb_entries[i].key = pb_text(&((const cmojo_array *)c->counts.keys)[i]);
    f->pb_entries[i].value = ((const int32_t *)c->counts.values)[i];
    f->pb_entry_ptrs[i] = &f->pb_entries[i];
  }
  pc->n_counts = c->counts.count;
  pc->counts = f->pb_entry_ptrs;
  pc->blob.len = c->blob.count;
  pc->blob.data = c->blob.data;

  for (int i = 0; i < 8; i++) {
    Bench__Wire__Leaf *p = &f->pb_leaves[i];
    bench__wire__leaf__init(p);
    p->value = f->leaves[i].value;
    p->weight = f->leaves[i].weight;
    p->label = pb_text(&f->leaves[i].label);
  }
  for (int i = 0; i < 4; i++) {
    Bench__Wire__Branch *p = &f->pb_branches[i];
    bench__wire__branch__init(p);
    p->id = f->branches[i].id;
    p->active = f->branches[i].active;
    p->label = pb_text(&f->branches[i].label);
    p->left = &f->pb_leaves[2 * i];
    p->right = &f->pb_leaves[2 * i + 1];
  }
  for (int i = 0; i < 2; i++) {
    Bench__Wire__Limb *p = &f->pb_limbs[i];
    bench__wire__limb__init(p);
    p->count = f->limbs[i].count;
    p->ratio = f->limbs[i].ratio;
    p->label = pb_text(&f->limbs[i].label);
    p->left = &f->pb_branches[2 * i];
    p->right = &f->pb_branches[2 * i + 1];
  }
  Bench__Wire__Tree *t = &f->pb_tree;
  bench__wire__tree__init(t);
  t->id = f->tree.id;
  t->version = f->tree.version;
  t->name = pb_text(&f->tree.name);
  t->left = &f->pb_limbs[0];
  t->right = &f->pb_limbs[1];
}
#endif

/* ---- one shape ----------------------------------------------------------- */

typedef struct shape {
  const char *name;
  void *value; /* the mojom C value */
  MojoResult (*build)(void *value, cmojo_wire_message *out);
  MojoResult (*decode)(const cmojo_wire_message *m, void **out_params);
  /* Compares the value inside decoded params with the source value. */
  bool (*equal)(const void *params, const void *value);
#ifdef CMOJO_BENCH_PROTOBUF_C
  const ProtobufCMessage *pb;
#endif
  cmojo_wire_message encoded; /* one encoding, for the memcpy floor */
  uint8_t *copy;
} shape;

static MojoResult build_small(void *value, cmojo_wire_message *out) {
  return bench_wire_BenchWire_SendSmall_build_request(0, value, out);
}

static MojoResult decode_small(const cmojo_wire_message *m, void **out_params) {
  return bench_wire_BenchWire_SendSmall_decode_request(
      m->bytes, m->num_bytes, NULL, 0, (bench_wire_BenchWire_SendSmall_Params **)out_params, NULL);
}

static bool equal_small(const void *params, const void *value) {
  const bench_wire_BenchWire_SendSmall_Params *p = params;
  return p->value && small_eq(p->value, value);
}

static MojoResult build_collections(void *value, cmojo_wire_message *out) {
  return bench_wire_BenchWire_SendCollections_build_request(0, value, out);
}

static MojoResult decode_collections(const cmojo_wire_message *m, void **out_params) {
  return bench_wire_BenchWire_SendCollections_decode_request(
      m->bytes, m->num_bytes, NULL, 0, (bench_wire_BenchWire_SendCollections_Params **)out_params,
      NULL);
}

static bool equal_collections(const void *params, const void *value) {
  const bench_wire_BenchWire_SendCollections_Params *p = params;
  return p->value && collections_eq(p->value, value);
}

static MojoResult build_tree(void *value, cmojo_wire_message *out) {
  return bench_wire_BenchWire_SendTree_build_request(0, value, out);
}

static MojoResult decode_tree(const cmojo_wire_message *m, void **out_params) {
  return bench_wire_BenchWire_SendTree_decode_request(
      m->bytes, m->num_bytes, NULL, 0, (bench_wire_BenchWire_SendTree_Params **)out_params, NULL);
}

static bool equal_tree(const void *params, const void *value) {
  const bench_wire_BenchWire_SendTree_Params *p = params;
  return tree_eq(p->value, value);
}

/* Encode, validate as a received request, decode, free. */
static void *ours_once(const shape *s, cmojo_wire_message *m) {
  void *params;
  if (s->build(s->value, m) != MOJO_RESULT_OK ||
      cmojo_wire_validate_message(m->bytes, m->num_bytes, 0, &bench_wire_BenchWire_desc,
                                  CMOJO_WIRE_REQUEST, NULL, NULL) != CMOJO_WIRE_ERROR_NONE ||
      s->decode(m, &params) != MOJO_RESULT_OK)
    abort();
  return params;
}

static void run_ours(void *arg, long n) {
  const shape *s = arg;
  for (long i = 0; i < n; i++) {
    cmojo_wire_message m;
    void *params = ours_once(s, &m);
    consume(params);
    cmojo_wire_free(params);
    cmojo_wire_message_free(&m);
  }
}

static void run_memcpy(void *arg, long n) {
  shape *s = arg;
  for (long i = 0; i < n; i++) {
    memcpy(s->copy, s->encoded.bytes, s->encoded.num_bytes);
    consume(s->copy);
  }
}

#ifdef CMOJO_BENCH_PROTOBUF_C
/* What the generated bench__wire__<msg>__pack/__unpack/__free_unpacked do,
 * through the generic entry points they wrap. */
static uint8_t *pb_pack(const ProtobufCMessage *msg, size_t *len) {
  *len = protobuf_c_message_get_packed_size(msg);
  uint8_t *buf = malloc(*len ? *len : 1);
  if (!buf || protobuf_c_message_pack(msg, buf) != *len)
    abort();
  return buf;
}

static void run_protobuf(void *arg, long n) {
  const shape *s = arg;
  for (long i = 0; i < n; i++) {
    size_t len;
    uint8_t *buf = pb_pack(s->pb, &len);
    ProtobufCMessage *out = protobuf_c_message_unpack(s->pb->descriptor, NULL, len, buf);
    if (!out)
      abort();
    consume(out);
    protobuf_c_message_free_unpacked(out, NULL);
    free(buf);
  }
}

/* The unpacked message packs back to the very bytes it came from. */
static bool protobuf_round_trips(const ProtobufCMessage *msg, size_t *out_len) {
  size_t len, len2;
  uint8_t *a = pb_pack(msg, &len);
  ProtobufCMessage *out = protobuf_c_message_unpack(msg->descriptor, NULL, len, a);
  bool ok = out != NULL;
  if (ok) {
    uint8_t *b = pb_pack(out, &len2);
    ok = len2 == len && memcmp(a, b, len) == 0;
    free(b);
    protobuf_c_message_free_unpacked(out, NULL);
  }
  free(a);
  *out_len = len;
  return ok;
}
#endif

/* Enough iterations for one round to take about 5 ms: short rounds, many
 * of them, so the best one is likely to fall between other processes'
 * time slices on a shared machine. */
static long calibrate(void (*fn)(void *, long), void *arg) {
  long n = 8;
  for (;;) {
    uint64_t t0 = bench_now_ns();
    fn(arg, n);
    uint64_t dt = bench_now_ns() - t0;
    if (dt >= 2000000 || n >= (1L << 28)) {
      double per = (double)dt / (double)n;
      long want = (long)(5e6 / (per > 0 ? per : 1));
      return want > 1 ? want : 1;
    }
    n *= 2;
  }
}

static double round_ns(void (*fn)(void *, long), void *arg, long n) {
  uint64_t t0 = bench_now_ns();
  fn(arg, n);
  return (double)(bench_now_ns() - t0) / (double)n;
}

static void bench_shape(shape *s, int rounds) {
  /* Correctness first: one full pass, compared with the source. */
  void *params = ours_once(s, &s->encoded);
  if (!s->equal(params, s->value)) {
    fprintf(stderr, "bench_wire: %s: decoded value differs from the source\n", s->name);
    exit(1);
  }
  cmojo_wire_free(params);
  s->copy = malloc(s->encoded.num_bytes);
  if (!s->copy)
    abort();
  size_t pb_bytes = 0;
#ifdef CMOJO_BENCH_PROTOBUF_C
  if (!protobuf_round_trips(s->pb, &pb_bytes)) {
    fprintf(stderr, "bench_wire: %s: protobuf-c round trip differs\n", s->name);
    exit(1);
  }
#endif
  printf("bench_wire: %s: mojom message %zu B", s->name, s->encoded.num_bytes);
  if (pb_bytes)
    printf(", protobuf %zu B", pb_bytes);
  printf("\n");

  long n_ours = calibrate(run_ours, s);
  long n_copy = calibrate(run_memcpy, s);
  double ours = 0, copy = 0, pb = 0;
#ifdef CMOJO_BENCH_PROTOBUF_C
  long n_pb = calibrate(run_protobuf, s);
#endif
  for (int r = 0; r < rounds; r++) {
    double t = round_ns(run_ours, s, n_ours);
    ours = r == 0 || t < ours ? t : ours;
    t = round_ns(run_memcpy, s, n_copy);
    copy = r == 0 || t < copy ? t : copy;
#ifdef CMOJO_BENCH_PROTOBUF_C
    t = round_ns(run_protobuf, s, n_pb);
    pb = r == 0 || t < pb ? t : pb;
#endif
  }

  char name[64];
  snprintf(name, sizeof(name), "wire_%s_vs_memcpy", s->name);
  bench_report_time(name, ours, copy, "ns", pb > 0 ? pb / copy : INFINITY);
  if (pb > 0) {
    snprintf(name, sizeof(name), "wire_%s_vs_protobuf_c", s->name);
    bench_report_time(name, ours, pb, "ns", 1.0);
  }
  free(s->copy);
  cmojo_wire_message_free(&s->encoded);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 25;
  if (rounds < 1)
    rounds = 1;
  fixture *f = calloc(1, sizeof(*f));
  if (!f)
    return 1;
  fill_small(f);
  fill_collections(f);
  fill_tree(f);
  shape shapes[] = {
      {.name = "small",
       .value = &f->small,
       .build = build_small,
       .decode = decode_small,
       .equal = equal_small},
      {.name = "collections",
       .value = &f->collections,
       .build = build_collections,
       .decode = decode_collections,
       .equal = equal_collections},
      {.name = "tree",
       .value = &f->tree,
       .build = build_tree,
       .decode = decode_tree,
       .equal = equal_tree},
  };
#ifdef CMOJO_BENCH_PROTOBUF_C
  fill_pb(f);
  shapes[0].pb = &f->pb_small.base;
  shapes[1].pb = &f->pb_collections.base;
  shapes[2].pb = &f->pb_tree.base;
#else
  printf(
      "bench_wire: built without protobuf-c (protoc-c or libprotobuf-c missing when "
      "configured; scripts/install-deps.sh installs them): memcpy lines only\n");
#endif
  for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
    if (argc < 3 || strcmp(argv[2], shapes[i].name) == 0)
      bench_shape(&shapes[i], rounds);
  free(f);
  return 0;
}
