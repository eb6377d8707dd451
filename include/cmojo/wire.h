/* cmojo wire runtime: the mojom message format as data-driven tables.
 *
 * mojomc turns every mojom struct, union, enum and interface into `static
 * const` descriptor tables of the types below, plus thin typed wrappers. One
 * runtime walks those tables to validate incoming messages (with Mojo's exact
 * first-error semantics), to encode C values into bytes identical to what
 * Chromium's C++ bindings write, and to decode validated messages back into C
 * values. docs/wire.md explains the format, the C representation and the
 * reasons behind each choice.
 *
 * Threads: every function here is pure (no global state) and may be called
 * from any thread; tables are immutable and shared freely.
 *
 * Trust: the bytes and handle counts given to the validator and the decoder
 * may come from a hostile process. The tables and the C values given to the
 * encoder are trusted (they come from our own generated code and the caller).
 */
#ifndef CMOJO_WIRE_H_
#define CMOJO_WIRE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mojo/public/c/system/system_export.h"
#include "mojo/public/c/system/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exported from libcmojo like the Mojo C API (see system_export.h). */
#define CMOJO_WIRE_EXPORT MOJO_SYSTEM_EXPORT

/* ---------------------------------------------------------------------------
 * Message header (a versioned struct of its own) and its constants.
 */

#define CMOJO_WIRE_HEADER_V0_SIZE 24u
#define CMOJO_WIRE_HEADER_V1_SIZE 32u /* + request_id */
#define CMOJO_WIRE_HEADER_V2_SIZE 48u /* + payload, payload_interface_ids */
#define CMOJO_WIRE_HEADER_V3_SIZE 56u /* + creation_timeticks_us */

/* Header flags. Unknown bits are carried and ignored. */
#define CMOJO_WIRE_FLAG_EXPECTS_RESPONSE (1u << 0)
#define CMOJO_WIRE_FLAG_IS_RESPONSE (1u << 1)
#define CMOJO_WIRE_FLAG_IS_SYNC (1u << 2)
#define CMOJO_WIRE_FLAG_NO_INTERRUPT (1u << 3)
#define CMOJO_WIRE_FLAG_IS_URGENT (1u << 4)

/* Interface ids: 0 is the pipe's primary interface, all ones is invalid (and
 * marks pipe-control messages); bit 31 tells which side allocated the id. */
#define CMOJO_WIRE_PRIMARY_INTERFACE_ID 0u
#define CMOJO_WIRE_INVALID_INTERFACE_ID 0xFFFFFFFFu
#define CMOJO_WIRE_INTERFACE_ID_NAMESPACE_BIT 0x80000000u

/* An encoded handle or interface-id index meaning "none". */
#define CMOJO_WIRE_INVALID_INDEX 0xFFFFFFFFu

/* Interface-control messages (mojo.interface_control), sent on any
 * interface's id: "Run" expects a response, "RunOrClosePipe" does not. */
#define CMOJO_WIRE_CONTROL_RUN_NAME 0xFFFFFFFFu
#define CMOJO_WIRE_CONTROL_RUN_OR_CLOSE_PIPE_NAME 0xFFFFFFFEu
/* Union tags of RunInput, RunOutput and RunOrClosePipeInput. */
#define CMOJO_WIRE_CONTROL_RUN_QUERY_VERSION 0u
#define CMOJO_WIRE_CONTROL_RUN_FLUSH_FOR_TESTING 1u
#define CMOJO_WIRE_CONTROL_RUN_OUTPUT_QUERY_VERSION_RESULT 0u
#define CMOJO_WIRE_CONTROL_REQUIRE_VERSION 0u
#define CMOJO_WIRE_CONTROL_ENABLE_IDLE_TRACKING 1u
#define CMOJO_WIRE_CONTROL_MESSAGE_ACK 2u
#define CMOJO_WIRE_CONTROL_NOTIFY_IDLE 3u

/* Pipe-control messages (mojo.pipe_control): interface_id is
 * CMOJO_WIRE_INVALID_INTERFACE_ID and name is RunOrClosePipe. */
#define CMOJO_WIRE_PIPE_CONTROL_INTERFACE_ID CMOJO_WIRE_INVALID_INTERFACE_ID
#define CMOJO_WIRE_PIPE_CONTROL_RUN_OR_CLOSE_PIPE_NAME 0xFFFFFFFEu
/* Union tags of pipe_control.RunOrClosePipeInput. */
#define CMOJO_WIRE_PIPE_CONTROL_PEER_ASSOCIATED_ENDPOINT_CLOSED 0u
#define CMOJO_WIRE_PIPE_CONTROL_PAUSE_UNTIL_FLUSH_COMPLETES 1u
#define CMOJO_WIRE_PIPE_CONTROL_FLUSH_ASYNC 2u

/* Mojo's limit on nested structs while validating. */
#define CMOJO_WIRE_MAX_DEPTH 200

/* A message header as read by cmojo_wire_validate_header(), or the header
 * fields a caller asks cmojo_wire_encode_message() to write. */
typedef struct cmojo_wire_header {
  uint32_t num_bytes; /* header size */
  uint32_t version;
  uint32_t interface_id;
  uint32_t name; /* method ordinal */
  uint32_t flags;
  uint32_t trace_nonce;
  uint64_t request_id;           /* 0 below version 1 */
  int64_t creation_timeticks_us; /* 0 below version 3 */
  /* Where things are, as byte offsets from the message start (read only). */
  uint32_t payload_offset;       /* the parameter struct */
  uint32_t payload_num_bytes;    /* up to the interface-id array or the end */
  uint32_t interface_ids_offset; /* first id (past the array header), or 0 */
  uint32_t num_interface_ids;
} cmojo_wire_header;

/* ---------------------------------------------------------------------------
 * Validation errors: Mojo's ValidationError, same order and meaning.
 */
typedef enum cmojo_wire_error {
  CMOJO_WIRE_ERROR_NONE = 0,
  CMOJO_WIRE_ERROR_MISALIGNED_OBJECT,
  CMOJO_WIRE_ERROR_ILLEGAL_MEMORY_RANGE,
  CMOJO_WIRE_ERROR_UNEXPECTED_STRUCT_HEADER,
  CMOJO_WIRE_ERROR_UNEXPECTED_ARRAY_HEADER,
  CMOJO_WIRE_ERROR_ILLEGAL_HANDLE,
  CMOJO_WIRE_ERROR_UNEXPECTED_INVALID_HANDLE,
  CMOJO_WIRE_ERROR_ILLEGAL_POINTER,
  CMOJO_WIRE_ERROR_UNEXPECTED_NULL_POINTER,
  CMOJO_WIRE_ERROR_ILLEGAL_INTERFACE_ID,
  CMOJO_WIRE_ERROR_UNEXPECTED_INVALID_INTERFACE_ID,
  CMOJO_WIRE_ERROR_MESSAGE_HEADER_INVALID_FLAGS,
  CMOJO_WIRE_ERROR_MESSAGE_HEADER_MISSING_REQUEST_ID,
  CMOJO_WIRE_ERROR_MESSAGE_HEADER_UNKNOWN_METHOD,
  CMOJO_WIRE_ERROR_DIFFERENT_SIZED_ARRAYS_IN_MAP,
  CMOJO_WIRE_ERROR_UNKNOWN_UNION_TAG,
  CMOJO_WIRE_ERROR_UNKNOWN_ENUM_VALUE,
  CMOJO_WIRE_ERROR_DESERIALIZATION_FAILED,
  CMOJO_WIRE_ERROR_MAX_RECURSION_DEPTH,
} cmojo_wire_error;

/* Mojo's name for `error` ("VALIDATION_ERROR_NONE",
 * "VALIDATION_ERROR_ILLEGAL_MEMORY_RANGE", ...); "VALIDATION_ERROR_UNKNOWN"
 * for values outside the enum. The string is static. */
CMOJO_WIRE_EXPORT const char *cmojo_wire_error_string(cmojo_wire_error error);

/* ---------------------------------------------------------------------------
 * Descriptor tables. Everything is `static const` in generated code and
 * refers to other tables by pointer; recursive types simply point back.
 */
typedef enum cmojo_wire_kind {
  CMOJO_WIRE_KIND_BOOL = 1,
  CMOJO_WIRE_KIND_INT8,
  CMOJO_WIRE_KIND_UINT8,
  CMOJO_WIRE_KIND_INT16,
  CMOJO_WIRE_KIND_UINT16,
  CMOJO_WIRE_KIND_INT32,
  CMOJO_WIRE_KIND_UINT32,
  CMOJO_WIRE_KIND_INT64,
  CMOJO_WIRE_KIND_UINT64,
  CMOJO_WIRE_KIND_FLOAT,
  CMOJO_WIRE_KIND_DOUBLE,
  CMOJO_WIRE_KIND_ENUM,                        /* int32 on the wire; enum_type */
  CMOJO_WIRE_KIND_STRING,                      /* pointer to array of uint8 (UTF-8) */
  CMOJO_WIRE_KIND_ARRAY,                       /* pointer; element, fixed_count */
  CMOJO_WIRE_KIND_MAP,                         /* pointer; key, element (= value type) */
  CMOJO_WIRE_KIND_STRUCT,                      /* pointer; struct_type */
  CMOJO_WIRE_KIND_UNION,                       /* inlined 16 bytes (pointer inside a union) */
  CMOJO_WIRE_KIND_HANDLE,                      /* uint32 handle index; handle_type */
  CMOJO_WIRE_KIND_PENDING_REMOTE,              /* {handle index, version} */
  CMOJO_WIRE_KIND_PENDING_RECEIVER,            /* handle index */
  CMOJO_WIRE_KIND_PENDING_ASSOCIATED_REMOTE,   /* {interface-id index, version} */
  CMOJO_WIRE_KIND_PENDING_ASSOCIATED_RECEIVER, /* interface-id index */
} cmojo_wire_kind;

/* What a handle<...> field holds; informational (the wire is the same). */
typedef enum cmojo_wire_handle_type {
  CMOJO_WIRE_HANDLE_ANY = 0,
  CMOJO_WIRE_HANDLE_MESSAGE_PIPE,
  CMOJO_WIRE_HANDLE_DATA_PIPE_CONSUMER,
  CMOJO_WIRE_HANDLE_DATA_PIPE_PRODUCER,
  CMOJO_WIRE_HANDLE_SHARED_BUFFER,
  CMOJO_WIRE_HANDLE_PLATFORM,
} cmojo_wire_handle_type;

typedef struct cmojo_wire_type cmojo_wire_type;
typedef struct cmojo_wire_struct cmojo_wire_struct;
typedef struct cmojo_wire_union cmojo_wire_union;
typedef struct cmojo_wire_enum cmojo_wire_enum;
typedef struct cmojo_wire_interface cmojo_wire_interface;

/* A mojom type as used by a field, an array element, a map key or value, or
 * a union member. Only the members that matter for `kind` are set. */
struct cmojo_wire_type {
  uint8_t kind;                   /* cmojo_wire_kind */
  uint8_t nullable;               /* the `?` */
  uint8_t handle_type;            /* cmojo_wire_handle_type, for KIND_HANDLE */
  uint32_t fixed_count;           /* ARRAY: N of array<T, N>; 0 = any length */
  const cmojo_wire_type *element; /* ARRAY: element; MAP: value */
  const cmojo_wire_type *key;     /* MAP: key */
  const cmojo_wire_struct *struct_type;
  const cmojo_wire_union *union_type;
  const cmojo_wire_enum *enum_type;
  const cmojo_wire_interface *interface; /* PENDING_*: informational */
};

/* One mojom field of a struct, in ordinal order. Offsets count from the
 * start of the struct, header included (pack.py's offset + 8). A nullable
 * bool/number/enum (`int32?`) also has a separately packed "has value" bit. */
typedef struct cmojo_wire_field {
  const char *name;
  const cmojo_wire_type *type;
  uint32_t offset;
  uint8_t bit;           /* BOOL: bit of the byte at `offset` */
  uint8_t has_value_bit; /* nullable value kinds only */
  uint32_t has_value_offset;
  uint32_t min_version;
  uint32_t c_offset; /* offsetof() of the member in the C struct */
} cmojo_wire_field;

/* One row of a struct's version table: size of the struct at `version`. */
typedef struct cmojo_wire_version {
  uint32_t version;
  uint32_t num_bytes;
} cmojo_wire_version;

struct cmojo_wire_struct {
  const char *name;
  const cmojo_wire_field *fields; /* ordinal order */
  uint32_t num_fields;
  const cmojo_wire_version *versions; /* ascending; versions[0].version == 0 */
  uint32_t num_versions;
  uint32_t c_size;  /* sizeof() the C struct */
  uint32_t c_align; /* _Alignof() the C struct */
};

typedef struct cmojo_wire_union_field {
  const char *name;
  uint32_t tag; /* wire tag (declaration index, as C++ and Java use) */
  const cmojo_wire_type *type;
} cmojo_wire_union_field;

/* The C form of a union is a struct with `uint32_t tag` at offset 0 and the
 * member's value (C representation of its type) at c_value_offset. */
struct cmojo_wire_union {
  const char *name;
  const cmojo_wire_union_field *fields;
  uint32_t num_fields;
  uint8_t extensible;   /* [Extensible]: unknown tags pass validation */
  uint32_t default_tag; /* [Default] field of an extensible union */
  uint32_t c_size;
  uint32_t c_align;
  uint32_t c_value_offset;
};

struct cmojo_wire_enum {
  const char *name;
  const int32_t *values; /* distinct declared values, ascending */
  uint32_t num_values;
  uint8_t extensible;  /* [Extensible]: any value passes validation */
  uint8_t has_default; /* [Default] present: unknown values decode to it */
  int32_t default_value;
};

/* Method flags. */
#define CMOJO_WIRE_METHOD_SYNC (1u << 0)
#define CMOJO_WIRE_METHOD_NO_INTERRUPT (1u << 1)
#define CMOJO_WIRE_METHOD_SUPPORTS_URGENT (1u << 2)
#define CMOJO_WIRE_METHOD_UNLIMITED_SIZE (1u << 3)

typedef struct cmojo_wire_method {
  const char *name;
  uint32_t ordinal; /* the message `name` */
  uint32_t min_version;
  uint32_t flags;                    /* CMOJO_WIRE_METHOD_* */
  const cmojo_wire_struct *request;  /* <Iface>_<Method>_Params */
  const cmojo_wire_struct *response; /* _ResponseParams, NULL: no reply */
} cmojo_wire_method;

struct cmojo_wire_interface {
  const char *name; /* "module.Interface" */
  uint32_t version; /* highest MinVersion in the interface */
  const cmojo_wire_method *methods;
  uint32_t num_methods;
};

/* The method of `iface` with ordinal `name`, or NULL. */
CMOJO_WIRE_EXPORT const cmojo_wire_method *cmojo_wire_find_method(const cmojo_wire_interface *iface,
                                                                  uint32_t name);

/* Consistency checks of one table (not of the tables it refers to), for
 * mojomc's tests and for hand-written tables: MOJO_RESULT_OK, or
 * MOJO_RESULT_INVALID_ARGUMENT if the table is malformed (a field outside
 * the size of its version or misaligned, fields sharing bytes, version rows
 * not ascending, a C member outside the C struct, a missing sub-table,
 * unsorted enum values, duplicate union tags, a [Default] that is not
 * there). The runtime itself assumes well-formed tables. */
CMOJO_WIRE_EXPORT MojoResult cmojo_wire_check_struct(const cmojo_wire_struct *st);
CMOJO_WIRE_EXPORT MojoResult cmojo_wire_check_union(const cmojo_wire_union *u);
CMOJO_WIRE_EXPORT MojoResult cmojo_wire_check_enum(const cmojo_wire_enum *e);

/* ---------------------------------------------------------------------------
 * C representation of values. A mojom struct is a C struct whose members
 * sit at the tables' c_offset; each member (and array element, map entry,
 * union value) has the C type its mojom type maps to:
 *
 *   bool, intN, uintN, float, double   bool, intN_t, uintN_t, float, double
 *   enum                               int32_t
 *   T? for the types above             cmojo_opt_<T> {has_value, value}
 *   string, array<T>, array<T, N>      cmojo_array (data: C elements of T)
 *   map<K, V>                          cmojo_map
 *   struct S, union U (also S?, U?)    pointer to the C struct, NULL = null
 *   handle<...>, pending_receiver<I>   MojoHandle (MOJO_HANDLE_INVALID = null)
 *   pending_remote<I>                  cmojo_pending_remote
 *   pending_associated_remote<I>       cmojo_pending_associated_remote
 *   pending_associated_receiver<I>     uint32_t interface id
 *
 * Generated code may declare typed twins of cmojo_array / cmojo_map (same
 * members, typed pointers); they must have the identical layout.
 */
typedef struct cmojo_array {
  uint32_t count;
  void *data; /* NULL: a null (absent) array or string */
} cmojo_array;

typedef struct cmojo_map {
  uint32_t count;
  void *keys;   /* count C keys; NULL: null map */
  void *values; /* count C values */
} cmojo_map;

typedef struct cmojo_pending_remote {
  MojoHandle handle;
  uint32_t version;
} cmojo_pending_remote;

typedef struct cmojo_pending_associated_remote {
  uint32_t interface_id; /* CMOJO_WIRE_INVALID_INTERFACE_ID = null */
  uint32_t version;
} cmojo_pending_associated_remote;

#define CMOJO_WIRE_DECLARE_OPT(name, type) \
  typedef struct cmojo_opt_##name {        \
    bool has_value;                        \
    type value;                            \
  } cmojo_opt_##name
CMOJO_WIRE_DECLARE_OPT(bool, bool);
CMOJO_WIRE_DECLARE_OPT(int8, int8_t);
CMOJO_WIRE_DECLARE_OPT(uint8, uint8_t);
CMOJO_WIRE_DECLARE_OPT(int16, int16_t);
CMOJO_WIRE_DECLARE_OPT(uint16, uint16_t);
CMOJO_WIRE_DECLARE_OPT(int32, int32_t);
CMOJO_WIRE_DECLARE_OPT(uint32, uint32_t);
CMOJO_WIRE_DECLARE_OPT(int64, int64_t);
CMOJO_WIRE_DECLARE_OPT(uint64, uint64_t);
CMOJO_WIRE_DECLARE_OPT(float, float);
CMOJO_WIRE_DECLARE_OPT(double, double);
#undef CMOJO_WIRE_DECLARE_OPT

/* Size in bytes of the C representation of one value of `type` (what an
 * array of that type holds per element). */
CMOJO_WIRE_EXPORT size_t cmojo_wire_c_size(const cmojo_wire_type *type);

/* ---------------------------------------------------------------------------
 * Validation. `bytes` is a whole message (header, payload, interface ids);
 * it need not be aligned in memory: alignment rules apply to offsets from
 * its start, which is what a sender's 8-aligned buffer makes them.
 */

/* Checks the message header alone, as Mojo's MessageHeaderValidator does,
 * and on success fills *out (if not NULL). */
CMOJO_WIRE_EXPORT cmojo_wire_error cmojo_wire_validate_header(const void *bytes, size_t num_bytes,
                                                              cmojo_wire_header *out);

typedef enum cmojo_wire_direction {
  CMOJO_WIRE_REQUEST = 0,  /* received by the implementation (Receiver) */
  CMOJO_WIRE_RESPONSE = 1, /* received by the caller (Remote) */
} cmojo_wire_direction;

/* Validates a message received for `iface`: the header, the method
 * (`name`; for responses only methods with a reply count), the flags the
 * method requires, then the request or response parameter struct against
 * `num_handles` attached handles and the header's interface ids. Returns the
 * first error in Mojo's order, or NONE.
 *
 * Control messages (name CMOJO_WIRE_CONTROL_*) pass with *out_method = NULL
 * after the header check: like Mojo, the control-message handler validates
 * them against its own tables. Otherwise *out_method is the method.
 * out_header and out_method may be NULL. */
CMOJO_WIRE_EXPORT cmojo_wire_error
cmojo_wire_validate_message(const void *bytes, size_t num_bytes, uint32_t num_handles,
                            const cmojo_wire_interface *iface, cmojo_wire_direction direction,
                            cmojo_wire_header *out_header, const cmojo_wire_method **out_method);

/* Validates the payload of a message whose header `header` was accepted by
 * cmojo_wire_validate_header() as a `params` struct. */
CMOJO_WIRE_EXPORT cmojo_wire_error cmojo_wire_validate_payload(const void *bytes, size_t num_bytes,
                                                               const cmojo_wire_header *header,
                                                               uint32_t num_handles,
                                                               const cmojo_wire_struct *params);

/* ---------------------------------------------------------------------------
 * Encoding.
 */

/* An encoded message: heap bytes (size a multiple of 8, padding zeroed) and
 * the handles its handle fields refer to, in index order. */
typedef struct cmojo_wire_message {
  uint8_t *bytes;
  size_t num_bytes;
  MojoHandle *handles;
  uint32_t num_handles;
} cmojo_wire_message;

/* Frees the memory of `message` (not its handles) and zeroes it. NULL ok. */
CMOJO_WIRE_EXPORT void cmojo_wire_message_free(cmojo_wire_message *message);

/* Header version Chromium writes: 3 with a creation time, else 2 with
 * associated interface ids, else 1 for requests expecting a response and
 * for responses, else 0. */
CMOJO_WIRE_EXPORT uint32_t cmojo_wire_header_version_for(uint32_t flags, uint32_t num_interface_ids,
                                                         int64_t creation_timeticks_us);

/* Writes the header `h` describes at `dst` in the layout of h->version
 * (0 to 3): for v2+ the payload pointer aims at h->payload_offset and, when
 * h->num_interface_ids > 0, the id pointer at the array whose first id is at
 * h->interface_ids_offset (offsets from the message start, as
 * cmojo_wire_validate_header reports them). h->num_bytes is ignored.
 * Rewriting a validated header with another request_id is the intended use
 * besides the encoder's own. Returns the header size written, or 0 (and
 * writes nothing) if the version is unknown, `capacity` is too small or the
 * offsets cannot be right. */
CMOJO_WIRE_EXPORT size_t cmojo_wire_write_header(void *dst, size_t capacity,
                                                 const cmojo_wire_header *h);

/* Encodes `params` (a C struct described by `type`) as a message whose
 * header takes interface_id, name, flags, trace_nonce, request_id and
 * creation_timeticks_us from `header` (other members are ignored), laid out
 * exactly as Chromium's C++ bindings lay it out.
 *
 * Handle values are copied into out->handles in traversal order; ownership
 * does not move (the caller attaches them to the Mojo message, which then
 * owns them). Associated interface ids go to the header's id array.
 *
 * Returns MOJO_RESULT_OK and fills *out; MOJO_RESULT_INVALID_ARGUMENT if a
 * value breaks its type (a null non-nullable member, an invalid handle in a
 * non-nullable handle member, a wrong fixed array length, an unknown value of
 * a closed enum, an unknown union tag, a count with a NULL pointer, the
 * primary interface id as an associated endpoint) or the message would not
 * fit in 32-bit offsets; MOJO_RESULT_RESOURCE_EXHAUSTED if memory runs out.
 * On failure *out is untouched. */
CMOJO_WIRE_EXPORT MojoResult cmojo_wire_encode_message(const cmojo_wire_header *header,
                                                       const cmojo_wire_struct *type,
                                                       const void *params, cmojo_wire_message *out);

/* ---------------------------------------------------------------------------
 * Decoding.
 */

/* Validates the header and the payload of `bytes` as a `type` struct (not
 * the method or flags: see cmojo_wire_validate_message) and, only if that
 * passes, decodes the payload into C values allocated in a single heap block
 * which the caller releases with one free() (or cmojo_wire_free).
 *
 * Handles: handle members take handles[index]; every handle taken is set to
 * MOJO_HANDLE_INVALID in `handles` and then belongs to the decoded value,
 * so the caller still owns (and should close) whatever remains. Associated
 * endpoint members hold the interface id found in the header's id array.
 * Unknown values of extensible enums with a [Default] decode to it; unknown
 * tags of extensible unions decode to the [Default] member, zero-valued.
 * Strings carry a terminating NUL beyond `count`.
 *
 * Returns MOJO_RESULT_OK and sets *out_params; MOJO_RESULT_INVALID_ARGUMENT
 * if validation fails (the error goes to *out_error if not NULL);
 * MOJO_RESULT_RESOURCE_EXHAUSTED if memory runs out. Nothing is taken from
 * `handles` on failure. */
CMOJO_WIRE_EXPORT MojoResult cmojo_wire_decode_message(const void *bytes, size_t num_bytes,
                                                       MojoHandle *handles, uint32_t num_handles,
                                                       const cmojo_wire_struct *type,
                                                       void **out_params,
                                                       cmojo_wire_error *out_error);

/* Releases what cmojo_wire_decode_message returned (not its handles). */
CMOJO_WIRE_EXPORT void cmojo_wire_free(void *params);

/* Calls `fn(handle, ctx)` for every valid MojoHandle in a decoded or
 * to-be-encoded value (so a caller can close them), in traversal order. */
CMOJO_WIRE_EXPORT void cmojo_wire_for_each_handle(const cmojo_wire_struct *type, const void *params,
                                                  void (*fn)(MojoHandle handle, void *ctx),
                                                  void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* CMOJO_WIRE_H_ */
