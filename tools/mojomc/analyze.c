/* Resolving, checking and packing the loaded modules; see analyze.h. */
#include "analyze.h"

#include "check.h"
#include "contexts.h"
#include "pack.h"

bool mc_analyze(struct mc_ctx *ctx) {
  for (struct mc_module *m = ctx->modules; m; m = m->next) {
    if (!mc_resolve(ctx, m) || !mc_check(ctx->arena, m) || !mc_check_contexts(ctx->arena, m))
      return false;
    mc_pack(ctx->arena, m);
  }
  return true;
}
