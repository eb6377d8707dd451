/*
 * --dump-layout: a deterministic text description of a packed module.
 *
 * One block per definition, in declaration order, nested enums and consts
 * right after their parent. Structs list their packed fields in offset
 * order with ordinal, MinVersion, offset, bit (bools) and size, then their
 * version table; interfaces list each method with its parameter and response
 * structs in the same form. Golden tests compare this text, so any change
 * to it is a change to every golden file.
 */
#ifndef MOJOMC_DUMP_H
#define MOJOMC_DUMP_H

#include <stdio.h>

#include "ast.h"

void mc_dump_module(FILE *out, struct mc_arena *arena, const struct mc_module *mod);

#endif
