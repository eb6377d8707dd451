/*
 * The mojom syntax tree and the arena that owns it.
 *
 * The parser builds one mc_module per file; resolution then fills in the
 * fields marked "resolved" (type kinds, declaration links, constant values)
 * and packing fills in the layouts. Every node carries the file, line and
 * column where it starts so that any later stage can point at it in an error.
 *
 * Invariants: every node and every string lives in the single arena; nothing
 * is freed individually and mc_arena_free() releases the whole tree at once.
 * Lists are singly linked through `next` and keep source order.
 */
#ifndef MOJOMC_AST_H
#define MOJOMC_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- arena ---- */

struct mc_arena;
struct mc_arena *mc_arena_new(void);
void mc_arena_free(struct mc_arena *arena);
/* Zeroed memory; aborts the process on exhaustion (a host tool has no better option). */
void *mc_arena_alloc(struct mc_arena *arena, size_t size);
char *mc_arena_strndup(struct mc_arena *arena, const char *s, size_t n);
char *mc_arena_printf(struct mc_arena *arena, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- source positions ---- */

struct mc_source {
  const char *path; /* as given on the command line or found via -I */
  const char *text; /* file bytes; may contain NULs, not NUL-terminated in meaning */
  size_t len;
};

struct mc_loc {
  const struct mc_source *src;
  int line; /* 1-based */
  int col;  /* 1-based, in bytes */
};

/* ---- values (literals and references) ---- */

enum mc_value_kind {
  MC_VAL_INT,    /* text holds the digits with optional sign */
  MC_VAL_FLOAT,  /* text as written */
  MC_VAL_STRING, /* text holds the decoded string, without quotes */
  MC_VAL_TRUE,
  MC_VAL_FALSE,
  MC_VAL_DEFAULT, /* the `default` keyword */
  MC_VAL_IDENT,   /* text holds a possibly dotted name */
};

struct mc_value {
  enum mc_value_kind kind;
  const char *text;
  struct mc_loc loc;
};

/* What a constant expression stands for once names are resolved. */
enum mc_rv_kind { MC_RV_NONE, MC_RV_LITERAL, MC_RV_ENUM_VALUE, MC_RV_BUILTIN };

struct mc_enum_value;
struct mc_decl;

struct mc_resolved_value {
  enum mc_rv_kind kind;
  const struct mc_value *literal;         /* MC_RV_LITERAL */
  const struct mc_enum_value *enum_value; /* MC_RV_ENUM_VALUE */
  const struct mc_decl *enum_decl;        /* MC_RV_ENUM_VALUE: the enum it belongs to */
  const char *builtin;                    /* MC_RV_BUILTIN: e.g. "double.INFINITY" */
};

/* ---- attributes ---- */

enum mc_attr_kind {
  MC_ATTR_FLAG,    /* [Name] alone: means true */
  MC_ATTR_VALUE,   /* [Name=literal or identifier]: `value` */
  MC_ATTR_OR_LIST, /* [Name=a|b|c]: `names` */
  MC_ATTR_AND_LIST /* [Name=a&b&c]: `names` */
};

struct mc_name_list {
  const char *name;
  struct mc_name_list *next;
};

struct mc_attr {
  const char *key;
  enum mc_attr_kind kind;
  struct mc_value value;
  struct mc_resolved_value resolved; /* RequireContext/AllowedContext: the enum value named */
  struct mc_name_list *names;
  struct mc_loc loc;
  struct mc_attr *next;
};

/* ---- types ---- */

enum mc_type_kind {
  MC_T_UNRESOLVED, /* a user-type name the resolver has not looked up yet */
  MC_T_BOOL,
  MC_T_INT8,
  MC_T_UINT8,
  MC_T_INT16,
  MC_T_UINT16,
  MC_T_INT32,
  MC_T_UINT32,
  MC_T_INT64,
  MC_T_UINT64,
  MC_T_FLOAT,
  MC_T_DOUBLE,
  MC_T_STRING,
  MC_T_HANDLE,
  MC_T_MSGPIPE,
  MC_T_SHAREDBUFFER,
  MC_T_DCPIPE,
  MC_T_DPPIPE,
  MC_T_PLATFORM,
  MC_T_ARRAY,
  MC_T_MAP,
  MC_T_STRUCT,
  MC_T_UNION,
  MC_T_ENUM,
  MC_T_INTERFACE, /* a bare interface name; only legal inside pending_*<> */
  MC_T_PENDING_REMOTE,
  MC_T_PENDING_RECEIVER,
  MC_T_PENDING_ASSOC_REMOTE,
  MC_T_PENDING_ASSOC_RECEIVER,
};

struct mc_decl;

struct mc_type {
  enum mc_type_kind kind;
  bool nullable;
  const char *name;     /* user-type name as written (also for pending_*<Name>) */
  struct mc_type *elem; /* array element, map value */
  struct mc_type *key;  /* map key */
  uint32_t fixed_size;  /* array<T, N>: N; 0 for unsized arrays */
  struct mc_decl *decl; /* resolved: struct/union/enum/interface (also for pending_*) */
  struct mc_loc loc;
};

/* ---- declarations ---- */

enum mc_decl_kind {
  MC_DECL_STRUCT,
  MC_DECL_UNION,
  MC_DECL_ENUM,
  MC_DECL_INTERFACE,
  MC_DECL_CONST,
  MC_DECL_FEATURE,
};

struct mc_struct_layout;   /* pack.h */
struct mc_context_summary; /* contexts.c */

/* A struct field, union field or method parameter. */
struct mc_field {
  struct mc_attr *attrs;
  struct mc_type *type;
  const char *name;
  int64_t ordinal; /* explicit @N, or -1; after checking: the effective ordinal */
  bool explicit_ordinal;
  struct mc_value *default_value;
  struct mc_resolved_value default_resolved;
  uint32_t min_version; /* resolved from [MinVersion] */
  bool has_min_version;
  struct mc_loc loc;
  struct mc_field *next;
};

struct mc_enum_value {
  struct mc_attr *attrs;
  const char *name;
  struct mc_value *value; /* NULL when implicit */
  struct mc_loc loc;
  /* resolved */
  int64_t number;
  int state; /* 2 once `number` is known (the enum tracks evaluation) */
  struct mc_enum_value *next;
};

struct mc_method {
  struct mc_attr *attrs;
  const char *name;
  int64_t ordinal;
  bool explicit_ordinal;
  struct mc_field *params;
  bool has_response;
  struct mc_field *response; /* => (params) */
  struct mc_type *result_ok; /* => result<T, E> */
  struct mc_type *result_err;
  uint32_t min_version;
  struct mc_loc loc;
  struct mc_struct_layout *param_layout;    /* pack */
  struct mc_struct_layout *response_layout; /* pack */
  struct mc_method *next;
};

struct mc_module;

struct mc_decl {
  enum mc_decl_kind kind;
  struct mc_attr *attrs;
  const char *name;
  const char *full_name; /* namespace.[Parent.]Name, set by resolution */
  struct mc_loc loc;
  struct mc_module *module;
  struct mc_decl *parent; /* enclosing struct/interface for nested enums/consts */
  bool has_body;          /* false for `struct X;` and `enum X;` */
  /* struct / union / param fields */
  struct mc_field *fields;
  /* nested enums and consts of a struct/interface, consts of a feature */
  struct mc_decl *members;
  /* enum */
  struct mc_enum_value *values;
  /* interface */
  struct mc_method *methods;
  uint32_t version; /* interface version, set by pack */
  /* const */
  struct mc_type *const_type;
  struct mc_value *const_value;
  struct mc_resolved_value const_resolved; /* what the chain of names ends in */
  int const_state;                         /* 0, 1 being evaluated, 2 done */
  int enum_state; /* enum: 0, 1 being evaluated, 2 done, 3 failed (reported) */
  /* struct */
  struct mc_struct_layout *layout;
  struct mc_context_summary *contexts; /* contexts.c memo for structs and unions */
  struct mc_decl *next;
};

struct mc_import {
  struct mc_attr *attrs;
  const char *path;
  struct mc_loc loc;
  struct mc_module *module; /* resolved */
  struct mc_import *next;
};

struct mc_module {
  struct mc_source *src;
  const char *real_path; /* canonical path, identifies the file across imports */
  struct mc_attr *module_attrs;
  const char *namespace_; /* "" without a module statement */
  struct mc_loc module_loc;
  struct mc_import *imports;
  struct mc_decl *decls;
  int load_state; /* 0 new, 1 loading (import cycle detection), 2 loaded */
  struct mc_module *next;
};

/* Helpers shared by later stages. */
const struct mc_attr *mc_attr_find(const struct mc_attr *attrs, const char *key);
/* True for [Key] and [Key=true]; [Key=false] does not set the flag. */
bool mc_attr_flag(const struct mc_attr *attrs, const char *key);
bool mc_type_is_reference(const struct mc_type *t); /* pointer, handle or interface kinds */
bool mc_type_is_value(const struct mc_type *t);     /* numbers, bool, enum */
bool mc_type_is_integral(const struct mc_type *t);  /* integers (not bool) */
const char *mc_type_kind_name(enum mc_type_kind kind);
/* The fields of a list sorted by effective ordinal, ties in declaration
 * order; the array lives in the arena. */
struct mc_field **mc_fields_by_ordinal(struct mc_arena *arena, struct mc_field *fields, size_t *n);
/* Writes a mojom spelling of `t` (e.g. "array<uint8, 3>?") into the arena. */
char *mc_type_spell(struct mc_arena *arena, const struct mc_type *t);

#endif
