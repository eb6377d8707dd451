/*
 * Mojo's semantic rules, checked on a resolved module.
 *
 * Besides reporting violations, checking settles what packing relies on:
 * every struct field, parameter, union field and method gets its effective
 * ordinal (explicit @N, or one more than the previous element), and every
 * field, parameter and method its MinVersion. After mc_check() succeeds:
 *  - struct field ordinals are exactly 0..n-1 (translate.py); parameter,
 *    union field and method ordinals are distinct (Chromium lets parameters
 *    skip ordinals, so we do too);
 *  - in ordinal order MinVersion never decreases, and only nullable
 *    reference fields (or value fields) appear above version 0 (pack.py).
 * The rules follow Chromium's translate.py, pack.py, generator.py and the
 * bindings checks (mojom_attributes_check.py, mojom_interface_feature_check.py);
 * RequireContext/AllowedContext live in contexts.h. Each violation is one
 * error at the element it concerns.
 */
#ifndef MOJOMC_CHECK_H
#define MOJOMC_CHECK_H

#include "ast.h"

bool mc_check(struct mc_arena *arena, struct mc_module *mod);

#endif
