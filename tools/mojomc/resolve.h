/*
 * Loading and name resolution.
 *
 * mc_load() reads a file, parses it, applies EnableIf filtering and follows
 * its imports (searched in the -I directories, then next to the importing
 * file), detecting import cycles. Modules are appended to ctx->modules in
 * dependency order: every module comes after the modules it imports.
 *
 * mc_resolve() then links every type name to its declaration and evaluates
 * constants and enum values, following Chromium's scoping: a name used inside
 * struct S of module a.b is tried as a.b.S.Name, a.b.Name, then Name, against
 * the module's own definitions and those of the files it imports directly
 * (not transitively). Value names may also be found in the scope of the enum
 * type they are assigned to. Reference chains are cycle-checked and capped.
 */
#ifndef MOJOMC_RESOLVE_H
#define MOJOMC_RESOLVE_H

#include "ast.h"
#include "features.h"

enum {
  MC_MAX_IMPORT_DEPTH = 64,    /* import chains longer than this are refused */
  MC_MAX_REF_DEPTH = 256,      /* constant/enum reference chains */
  MC_MAX_FILE_BYTES = 16 << 20 /* mojom files are small; refuse anything absurd */
};

struct mc_symtab;

struct mc_ctx {
  struct mc_arena *arena;
  const char *const *include_dirs;
  size_t include_count;
  struct mc_feature_set features;
  struct mc_module *modules; /* every loaded module, dependency order */
  struct mc_module **modules_tail;
  struct mc_symtab *symtab;
};

void mc_ctx_init(struct mc_ctx *ctx, struct mc_arena *arena);
void mc_ctx_release(struct mc_ctx *ctx);

/* Loads `path` and, recursively, its imports. Returns NULL after reporting. */
struct mc_module *mc_load(struct mc_ctx *ctx, const char *path);

/* Resolves names, constants and enum values of one loaded module. */
bool mc_resolve(struct mc_ctx *ctx, struct mc_module *mod);

/* Parses an integer literal ("-0x10", "+5"); false if it does not fit int64
 * or uint64 (magnitude kept in *mag, sign in *neg). */
bool mc_parse_int(const char *text, bool *neg, uint64_t *mag);

#endif
