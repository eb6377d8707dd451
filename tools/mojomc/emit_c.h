/*
 * The C emitter: for each input .mojom, a header and a source file that use
 * the wire runtime (cmojo/wire.h).
 *
 * OUTDIR/<rel>.h declares the C types (enums with a validity check, consts,
 * structs with an initializer that applies the mojom defaults, unions,
 * method parameter structs), the extern descriptor tables (<name>_desc) and
 * the typed message wrappers; OUTDIR/<rel>.c defines the tables and the
 * wrappers. docs/mojomc-c.md is the user's description. <rel> is the input's path relative to the
 * -I directory it lies under (or its base name when it lies under none), and a header includes its
 * imports' headers by the same rule, so `-I OUTDIR` is all a compiler needs. Output is a pure
 * function of the model (emit_model.h) and the relative paths: the same inputs give the same bytes.
 *
 * The headers are C99 and C++ compatible; the sources are C99 and C11. The
 * split: emit_c.c drives files and paths and holds what both outputs share
 * (C spellings of types and values), emit_header.c writes the .h (and
 * defines the banner, int32 literals and wrapper signatures the .c repeats)
 * and emit_source.c the .c.
 */
#ifndef MOJOMC_EMIT_C_H
#define MOJOMC_EMIT_C_H

#include <stdio.h>

#include "emit_model.h"
#include "resolve.h"

/* Writes the .h/.c pair of every distinct module in `roots` under
 * `outdir`. Returns false after reporting any error. */
bool mc_emit_c(struct mc_ctx *ctx, struct mc_module *const *roots, size_t count,
               const char *outdir);

/* What the two writers share. */
struct mc_emitter {
  FILE *out;
  struct mc_arena *arena;
  struct mc_ctx *ctx;
  const struct mc_wmodel *model;
  const char *rel_path; /* the input relative to its -I directory */
};

/* The path of `mod` relative to the first -I directory that contains it. */
const char *mc_module_rel_path(struct mc_ctx *ctx, const struct mc_module *mod);

/* The C type of a member, parameter or element of mojom type `t`, e.g.
 * "cmojo_array", "mojo_test_StructA *", "cmojo_opt_int32". */
const char *mc_c_type(struct mc_arena *arena, const struct mc_type *t);
/* "type name" with the pointer star attached to the name. */
const char *mc_c_decl(struct mc_arena *arena, const struct mc_type *t, const char *name);
/* A comment body saying what a cmojo_array / cmojo_map holds, or NULL. */
const char *mc_c_elements(struct mc_arena *arena, const struct mc_type *t);
/* The C expression of a constant of type `t`; sets *needs_math when it uses
 * <math.h> (infinities, NaN). */
const char *mc_c_value(struct mc_arena *arena, const struct mc_type *t,
                       const struct mc_resolved_value *v, bool *needs_math);

/* The do-not-edit banner naming the source .mojom. */
void mc_emit_banner(struct mc_emitter *e);
/* An int32 as a C constant expression (INT32_MIN cannot be one literal). */
const char *mc_i32_literal(struct mc_arena *arena, int32_t v);
/* Prototypes of a method's typed wrappers (without the final ';'):
 * <m>_build_request/_build_response(ids..., params..., out) and
 * <m>_decode_request/_decode_response(bytes..., out_params, out_error). */
const char *mc_build_signature(struct mc_arena *arena, const struct mc_wmethod *m, bool response);
const char *mc_decode_signature(struct mc_arena *arena, const struct mc_wmethod *m, bool response);

void mc_emit_header(struct mc_emitter *e);
void mc_emit_source(struct mc_emitter *e);

#endif
