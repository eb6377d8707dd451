/*
 * The table model: what the wire runtime's descriptor tables (cmojo/wire.h)
 * say about one packed module, computed once from the syntax tree.
 *
 * Two consumers read it: the C emitter prints it as `static const` tables,
 * and cmojo-validate turns it into the runtime's structs in memory. Both
 * therefore see the same offsets, versions, tags, enum values and flags;
 * only the C layout (c_offset, c_size) is left to whoever knows the C
 * compiler. mojomc has no dependency on libcmojo, so kinds, handle types and
 * method flags here are mojomc's own enums whose numbering matches wire.h
 * (checked by cmojo-validate, which sees both).
 *
 * Invariants: everything lives in the arena of the module; types are
 * deduplicated per model (two uses of `array<uint8>` share one entry) and
 * listed so that every type comes after the types it refers to; struct
 * fields are in ordinal order, as the runtime walks them.
 */
#ifndef MOJOMC_EMIT_MODEL_H
#define MOJOMC_EMIT_MODEL_H

#include "ast.h"

/* cmojo_wire_kind, same values. */
enum mc_wkind {
  MC_WK_BOOL = 1,
  MC_WK_INT8,
  MC_WK_UINT8,
  MC_WK_INT16,
  MC_WK_UINT16,
  MC_WK_INT32,
  MC_WK_UINT32,
  MC_WK_INT64,
  MC_WK_UINT64,
  MC_WK_FLOAT,
  MC_WK_DOUBLE,
  MC_WK_ENUM,
  MC_WK_STRING,
  MC_WK_ARRAY,
  MC_WK_MAP,
  MC_WK_STRUCT,
  MC_WK_UNION,
  MC_WK_HANDLE,
  MC_WK_PENDING_REMOTE,
  MC_WK_PENDING_RECEIVER,
  MC_WK_PENDING_ASSOCIATED_REMOTE,
  MC_WK_PENDING_ASSOCIATED_RECEIVER,
};

/* cmojo_wire_method flags, same bits. */
enum {
  MC_WM_SYNC = 1u << 0,
  MC_WM_NO_INTERRUPT = 1u << 1,
  MC_WM_SUPPORTS_URGENT = 1u << 2,
  MC_WM_UNLIMITED_SIZE = 1u << 3,
};

struct mc_wtype {
  uint32_t index; /* position in the model's type list */
  enum mc_wkind kind;
  bool nullable;
  uint8_t handle_type; /* cmojo_wire_handle_type */
  uint32_t fixed_count;
  const struct mc_wtype *element; /* ARRAY element, MAP value */
  const struct mc_wtype *key;
  const struct mc_decl *decl;   /* STRUCT, UNION, ENUM, PENDING_* */
  const struct mc_type *source; /* the first use, for comments */
  struct mc_wtype *next;
};

struct mc_wfield {
  const struct mc_field *field;
  const struct mc_wtype *type;
  uint32_t offset; /* header included */
  uint8_t bit;
  uint8_t has_value_bit;
  uint32_t has_value_offset;
  uint32_t min_version;
};

/* A struct: a mojom struct or a method's (response) parameter list. */
struct mc_wstruct {
  const struct mc_decl *decl; /* NULL for parameter structs */
  const char *c_name;         /* the C type; its table is c_name + "_desc" */
  const char *mojom_name;
  struct mc_field *decl_fields; /* declaration order: the C struct's members */
  struct mc_wfield *fields;     /* ordinal order */
  size_t num_fields;
  const struct mc_struct_layout *layout; /* version table */
};

struct mc_wunion_field {
  const struct mc_field *field;
  uint32_t tag;
  const struct mc_wtype *type;
};

struct mc_wunion {
  const struct mc_decl *decl;
  const char *c_name;
  struct mc_wunion_field *fields;
  size_t num_fields;
  bool extensible;
  uint32_t default_tag;
};

struct mc_wenum {
  const struct mc_decl *decl;
  const char *c_name;
  int32_t *values; /* distinct, ascending */
  size_t num_values;
  bool extensible, has_default;
  int32_t default_value;
};

struct mc_wmethod {
  const struct mc_method *method;
  const char *c_name; /* <iface c_name>_<Method> */
  uint32_t ordinal, min_version, flags;
  struct mc_wstruct *request;
  struct mc_wstruct *response; /* NULL: no reply */
};

struct mc_winterface {
  const struct mc_decl *decl;
  const char *c_name;
  uint32_t version;
  struct mc_wmethod *methods; /* declaration order */
  size_t num_methods;
};

struct mc_wmodel {
  const struct mc_module *module;
  struct mc_wtype *types; /* dependencies first */
  size_t num_types;
  struct mc_wstruct **structs; /* mojom structs with a body, declaration order */
  size_t num_structs;
  struct mc_wunion **unions;
  size_t num_unions;
  struct mc_wenum **enums; /* including enums nested in structs and interfaces */
  size_t num_enums;
  struct mc_winterface **interfaces;
  size_t num_interfaces;
};

/* Builds the model of a resolved, checked and packed module. Returns NULL
 * after reporting an error for what the tables cannot express ([Native]
 * structs used as types, result<T, E> responses). */
struct mc_wmodel *mc_wmodel_build(struct mc_arena *arena, const struct mc_module *mod);

/* The C identifier of a definition: its full name with dots as underscores
 * ("mojo.test.StructA" -> "mojo_test_StructA"). */
const char *mc_c_name(struct mc_arena *arena, const struct mc_decl *d);

/* `name`, or `name_` when it is a C or C++ keyword, so that a mojom field
 * called `default` or `class` still compiles. */
const char *mc_c_member(struct mc_arena *arena, const char *name);

#endif
