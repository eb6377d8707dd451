/*
 * Recursive-descent parser for one mojom file.
 *
 * mc_parse() lexes and parses `src` into a fresh mc_module allocated in the
 * arena, or reports the first syntax error (file:line:col) and returns NULL.
 * Type nesting is capped (MC_MAX_TYPE_DEPTH) so hostile input cannot exhaust
 * the stack; nothing else in the grammar nests. Primitive type names are
 * mapped to their kinds here; user type names stay MC_T_UNRESOLVED for the
 * resolver.
 */
#ifndef MOJOMC_PARSER_H
#define MOJOMC_PARSER_H

#include "ast.h"

/* MC_MAX_LIST_ITEMS bounds every list (definitions, fields, enum values,
 * methods, parameters, attributes) so later stages, some of which compare
 * every element with every other, stay fast on hostile input. */
enum { MC_MAX_TYPE_DEPTH = 32, MC_MAX_LIST_ITEMS = 4096 };

struct mc_module *mc_parse(struct mc_arena *arena, struct mc_source *src);

#endif
