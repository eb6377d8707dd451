/* Quotas: limits an application sets on a message pipe endpoint so that it
 * can notice a peer that floods it, or that does not keep up. A quota never
 * blocks or fails a write: when usage passes the limit, the endpoint raises
 * MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED (watchable with a trap), and drops it
 * again when usage falls back within the limit. Quotas are enforced only
 * while the handle stays in the process that set them. See functions.h for
 * the conventions on threads, options and outputs that apply here. */

#ifndef MOJO_PUBLIC_C_SYSTEM_QUOTA_H_
#define MOJO_PUBLIC_C_SYSTEM_QUOTA_H_

#include <stdint.h>

#include "mojo/public/c/system/macros.h"
#include "mojo/public/c/system/system_export.h"
#include "mojo/public/c/system/types.h"

/* MojoSetQuota() options. No flags are defined. */
typedef uint32_t MojoSetQuotaFlags;
#define MOJO_SET_QUOTA_FLAG_NONE ((MojoSetQuotaFlags)0)

struct MOJO_ALIGNAS(8) MojoSetQuotaOptions {
  uint32_t struct_size;
  MojoSetQuotaFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoSetQuotaOptions) == 8, "MojoSetQuotaOptions has wrong size");

/* MojoQueryQuota() options. No flags are defined. */
typedef uint32_t MojoQueryQuotaFlags;
#define MOJO_QUERY_QUOTA_FLAG_NONE ((MojoQueryQuotaFlags)0)

struct MOJO_ALIGNAS(8) MojoQueryQuotaOptions {
  uint32_t struct_size;
  MojoQueryQuotaFlags flags;
};
MOJO_STATIC_ASSERT(sizeof(struct MojoQueryQuotaOptions) == 8,
                   "MojoQueryQuotaOptions has wrong size");

/* The largest limit, meaning "no quota"; every quota starts at this value. */
#define MOJO_QUOTA_LIMIT_NONE ((uint64_t)0xffffffffffffffff)

/* Kinds of quota. All apply to message pipe handles only. */
typedef uint32_t MojoQuotaType;

/* Number of unread messages queued at this endpoint. */
#define MOJO_QUOTA_TYPE_RECEIVE_QUEUE_LENGTH ((MojoQuotaType)0)
/* Total payload bytes of the unread messages queued at this endpoint. */
#define MOJO_QUOTA_TYPE_RECEIVE_QUEUE_MEMORY_SIZE ((MojoQuotaType)1)
/* Number of messages this endpoint has sent that the peer has not read
 * yet. */
#define MOJO_QUOTA_TYPE_UNREAD_MESSAGE_COUNT ((MojoQuotaType)2)

#ifdef __cplusplus
extern "C" {
#endif

/* Sets the quota of kind |type| on |handle| to |limit|
 * (MOJO_QUOTA_LIMIT_NONE removes it). QUOTA_EXCEEDED is raised while the
 * current usage is greater than the limit, and is re-evaluated at once
 * against the new limit.
 *
 * Returns:
 *   MOJO_RESULT_OK               the quota was set.
 *   MOJO_RESULT_INVALID_ARGUMENT |handle| is not a valid handle, |type| is
 *                                not a known quota type, the type does not
 *                                apply to this kind of handle (anything but
 *                                a message pipe end), or |options| is
 *                                malformed. */
MOJO_SYSTEM_EXPORT MojoResult MojoSetQuota(MojoHandle handle, MojoQuotaType type, uint64_t limit,
                                           const struct MojoSetQuotaOptions* options);

/* Reads the quota of kind |type| on |handle|: its limit into |*limit| and
 * its current usage into |*usage|, each only if the pointer is not NULL.
 *
 * Returns:
 *   MOJO_RESULT_OK               the requested values were stored.
 *   MOJO_RESULT_INVALID_ARGUMENT |handle| is not a valid handle, |type| is
 *                                not a known quota type or does not apply
 *                                to this kind of handle, or |options| is
 *                                malformed. */
MOJO_SYSTEM_EXPORT MojoResult MojoQueryQuota(MojoHandle handle, MojoQuotaType type,
                                             const struct MojoQueryQuotaOptions* options,
                                             uint64_t* limit, uint64_t* usage);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOJO_PUBLIC_C_SYSTEM_QUOTA_H_ */
