/*
 * Runtime descriptor tables built in memory from mojom files.
 *
 * cmojo-validate has no generated code to link: it compiles the mojom with
 * mojomc's front end, takes the same table model the C emitter prints
 * (tools/mojomc/emit_model.h) and turns it into the cmojo_wire_* structs
 * of cmojo/wire.h that the runtime validator walks. So a message judged by
 * this tool is judged by exactly the tables generated code would carry.
 *
 * Only what validation reads is filled in: C layouts (c_offset, c_size,
 * c_align) stay zero, so these tables are not meant for the decoder. Every
 * table lives in the front end's arena and dies with it.
 */
#ifndef CMOJO_TOOLS_VALIDATE_MOJOM_TABLES_H_
#define CMOJO_TOOLS_VALIDATE_MOJOM_TABLES_H_

#include "cmojo/wire.h"
#include "resolve.h"

struct cv_tables;

/* Builds the tables of every module loaded in `ctx` (resolved, checked and
 * packed). Returns NULL after reporting what the tables cannot express. */
struct cv_tables *cv_tables_build(struct mc_ctx *ctx);

/* The interface called `name` ("Name" in `root`'s module, or a full name
 * "module.Name" from any loaded module), or NULL. */
const cmojo_wire_interface *cv_tables_find_interface(const struct cv_tables *t,
                                                     const struct mc_module *root,
                                                     const char *name);

#endif /* CMOJO_TOOLS_VALIDATE_MOJOM_TABLES_H_ */
