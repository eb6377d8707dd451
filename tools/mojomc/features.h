/*
 * Conditional compilation: removes every element whose [EnableIf=...] or
 * [EnableIfNot=...] attribute does not hold for the -D feature set.
 *
 * `EnableIf=a` keeps the element when `a` is enabled; `a|b` when any is,
 * `a&b` when all are. `EnableIfNot` keeps it when that same condition is
 * false. An element may carry at most one of the two attributes. Filtering
 * runs right after parsing, before imports are followed, so disabled imports
 * are never read.
 */
#ifndef MOJOMC_FEATURES_H
#define MOJOMC_FEATURES_H

#include "ast.h"

struct mc_feature_set {
  const char *const *names;
  size_t count;
};

/* Returns false (after reporting) when an EnableIf attribute is malformed. */
bool mc_filter_features(struct mc_module *mod, const struct mc_feature_set *features);

#endif
