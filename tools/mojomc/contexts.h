/*
 * RequireContext / AllowedContext (Chromium's mojom_restrictions_check.py).
 *
 * An interface marked [RequireContext=E.kX] may only be passed (as a
 * pending_* parameter, or inside a struct or union parameter) by methods
 * marked [AllowedContext=E.kY] of the same enum E with kY's value no higher
 * than kX's: the enum lists contexts most privileged first.
 *
 * Each struct and union is summarised once (memo in mc_decl.contexts), so the
 * check costs one pass over the fields whatever the shape of the input. As in
 * Chromium, the walk goes through struct and union fields but not into arrays
 * or maps, and a struct reached again while it is being summarised
 * contributes what has been gathered so far.
 */
#ifndef MOJOMC_CONTEXTS_H
#define MOJOMC_CONTEXTS_H

#include "ast.h"

bool mc_check_contexts(struct mc_arena *arena, struct mc_module *mod);

#endif
