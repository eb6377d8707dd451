/*
 * The front end after loading: every loaded module, in dependency order, is
 * resolved (resolve.h), checked (check.h, contexts.h) and packed (pack.h).
 *
 * mojomc and cmojo-validate both run exactly this, so the validator judges
 * messages by the layouts the compiler would emit.
 */
#ifndef MOJOMC_ANALYZE_H
#define MOJOMC_ANALYZE_H

#include "resolve.h"

/* Analyzes every module in ctx->modules, stopping at the first stage that
 * reports an error. Returns false after reporting it. */
bool mc_analyze(struct mc_ctx *ctx);

#endif
