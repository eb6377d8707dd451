/* Compile-only check that every function of the Mojo C API that cmojo
 * declares has exactly Mojo's signature: each is stored in a field of
 * Mojo's function-pointer type, which a mismatch turns into a compile error
 * (C: incompatible pointer types under -Werror; C++: a hard error). cmojo's
 * own public functions are pinned the same way, to the signatures they were
 * released with, so that changing one is a deliberate act. Built as C and as
 * C++ into object libraries that are never linked, so the functions need not
 * exist yet. */

#include "cmojo/embedder.h"
#include "cmojo/process.h"
#include "mojo/public/c/system/core.h"

struct cm_signature_table {
  /* functions.h */
  MojoResult (*initialize)(const struct MojoInitializeOptions*);
  MojoTimeTicks (*get_time_ticks_now)(void);
  MojoResult (*close)(MojoHandle);
  MojoResult (*query_handle_signals_state)(MojoHandle, struct MojoHandleSignalsState*);
  /* message_pipe.h */
  MojoResult (*create_message_pipe)(const struct MojoCreateMessagePipeOptions*, MojoHandle*,
                                    MojoHandle*);
  MojoResult (*write_message)(MojoHandle, MojoMessageHandle, const struct MojoWriteMessageOptions*);
  MojoResult (*read_message)(MojoHandle, const struct MojoReadMessageOptions*, MojoMessageHandle*);
  MojoResult (*fuse_message_pipes)(MojoHandle, MojoHandle,
                                   const struct MojoFuseMessagePipesOptions*);
  MojoResult (*create_message)(const struct MojoCreateMessageOptions*, MojoMessageHandle*);
  MojoResult (*destroy_message)(MojoMessageHandle);
  MojoResult (*serialize_message)(MojoMessageHandle, const struct MojoSerializeMessageOptions*);
  MojoResult (*reserve_message_capacity)(MojoMessageHandle, uint32_t, uint32_t*);
  MojoResult (*append_message_data)(MojoMessageHandle, uint32_t, const MojoHandle*, uint32_t,
                                    const struct MojoAppendMessageDataOptions*, void**, uint32_t*);
  MojoResult (*get_message_data)(MojoMessageHandle, const struct MojoGetMessageDataOptions*, void**,
                                 uint32_t*, MojoHandle*, uint32_t*);
  MojoResult (*set_message_context)(MojoMessageHandle, uintptr_t, MojoMessageContextSerializer,
                                    MojoMessageContextDestructor,
                                    const struct MojoSetMessageContextOptions*);
  MojoResult (*get_message_context)(MojoMessageHandle, const struct MojoGetMessageContextOptions*,
                                    uintptr_t*);
  MojoResult (*notify_bad_message)(MojoMessageHandle, const char*, uint32_t,
                                   const struct MojoNotifyBadMessageOptions*);
  /* data_pipe.h */
  MojoResult (*create_data_pipe)(const struct MojoCreateDataPipeOptions*, MojoHandle*, MojoHandle*);
  MojoResult (*write_data)(MojoHandle, const void*, uint32_t*, const struct MojoWriteDataOptions*);
  MojoResult (*begin_write_data)(MojoHandle, const struct MojoBeginWriteDataOptions*, void**,
                                 uint32_t*);
  MojoResult (*end_write_data)(MojoHandle, uint32_t, const struct MojoEndWriteDataOptions*);
  MojoResult (*read_data)(MojoHandle, const struct MojoReadDataOptions*, void*, uint32_t*);
  MojoResult (*begin_read_data)(MojoHandle, const struct MojoBeginReadDataOptions*, const void**,
                                uint32_t*);
  MojoResult (*end_read_data)(MojoHandle, uint32_t, const struct MojoEndReadDataOptions*);
  /* buffer.h */
  MojoResult (*create_shared_buffer)(uint64_t, const struct MojoCreateSharedBufferOptions*,
                                     MojoHandle*);
  MojoResult (*duplicate_buffer_handle)(MojoHandle, const struct MojoDuplicateBufferHandleOptions*,
                                        MojoHandle*);
  MojoResult (*map_buffer)(MojoHandle, uint64_t, uint64_t, const struct MojoMapBufferOptions*,
                           void**);
  MojoResult (*unmap_buffer)(void*);
  MojoResult (*get_buffer_info)(MojoHandle, const struct MojoGetBufferInfoOptions*,
                                struct MojoSharedBufferInfo*);
  /* platform_handle.h */
  MojoResult (*wrap_platform_handle)(const struct MojoPlatformHandle*,
                                     const struct MojoWrapPlatformHandleOptions*, MojoHandle*);
  MojoResult (*unwrap_platform_handle)(MojoHandle, const struct MojoUnwrapPlatformHandleOptions*,
                                       struct MojoPlatformHandle*);
  MojoResult (*wrap_platform_shared_memory_region)(
      const struct MojoPlatformHandle*, uint32_t, uint64_t, const struct MojoSharedBufferGuid*,
      MojoPlatformSharedMemoryRegionAccessMode,
      const struct MojoWrapPlatformSharedMemoryRegionOptions*, MojoHandle*);
  MojoResult (*unwrap_platform_shared_memory_region)(
      MojoHandle, const struct MojoUnwrapPlatformSharedMemoryRegionOptions*,
      struct MojoPlatformHandle*, uint32_t*, uint64_t*, struct MojoSharedBufferGuid*,
      MojoPlatformSharedMemoryRegionAccessMode*);
  /* trap.h */
  MojoResult (*create_trap)(MojoTrapEventHandler, const struct MojoCreateTrapOptions*, MojoHandle*);
  MojoResult (*add_trigger)(MojoHandle, MojoHandle, MojoHandleSignals, MojoTriggerCondition,
                            uintptr_t, const struct MojoAddTriggerOptions*);
  MojoResult (*remove_trigger)(MojoHandle, uintptr_t, const struct MojoRemoveTriggerOptions*);
  MojoResult (*arm_trap)(MojoHandle, const struct MojoArmTrapOptions*, uint32_t*,
                         struct MojoTrapEvent*);
  /* quota.h */
  MojoResult (*set_quota)(MojoHandle, MojoQuotaType, uint64_t, const struct MojoSetQuotaOptions*);
  MojoResult (*query_quota)(MojoHandle, MojoQuotaType, const struct MojoQueryQuotaOptions*,
                            uint64_t*, uint64_t*);
  /* invitation.h */
  MojoResult (*create_invitation)(const struct MojoCreateInvitationOptions*, MojoHandle*);
  MojoResult (*attach_message_pipe_to_invitation)(
      MojoHandle, const void*, uint32_t, const struct MojoAttachMessagePipeToInvitationOptions*,
      MojoHandle*);
  MojoResult (*extract_message_pipe_from_invitation)(
      MojoHandle, const void*, uint32_t, const struct MojoExtractMessagePipeFromInvitationOptions*,
      MojoHandle*);
  MojoResult (*send_invitation)(MojoHandle, const struct MojoPlatformProcessHandle*,
                                const struct MojoInvitationTransportEndpoint*,
                                MojoProcessErrorHandler, uintptr_t,
                                const struct MojoSendInvitationOptions*);
  MojoResult (*accept_invitation)(const struct MojoInvitationTransportEndpoint*,
                                  const struct MojoAcceptInvitationOptions*, MojoHandle*);
  MojoResult (*set_default_process_error_handler)(
      MojoDefaultProcessErrorHandler, const struct MojoSetDefaultProcessErrorHandlerOptions*);
};

/* cmojo's own functions (cmojo/process.h, cmojo/embedder.h). */
struct cm_cmojo_signature_table {
  /* process.h */
  MojoResult (*launch)(const char*, char* const[], char* const[], struct MojoPlatformHandle*,
                       int64_t*);
  MojoResult (*endpoint_from_command_line)(int, char* const[], struct MojoPlatformHandle*);
  MojoResult (*get_message_sender)(MojoMessageHandle, struct cmojo_peer_credentials*);
  /* embedder.h */
  MojoResult (*initialize_embedded)(const struct MojoInitializeOptions*);
  int (*get_fd)(void);
  MojoResult (*process)(void);
  int64_t (*get_timeout_us)(void);
};

struct cm_callback_table {
  MojoMessageContextSerializer serializer;
  MojoMessageContextDestructor destructor;
  MojoTrapEventHandler trap_handler;
  MojoProcessErrorHandler process_error_handler;
  MojoDefaultProcessErrorHandler default_process_error_handler;
};

#ifdef __cplusplus
extern "C" {
#endif
extern const struct cm_signature_table cm_header_signature_table;
extern const struct cm_cmojo_signature_table cm_header_cmojo_signature_table;
extern const struct cm_callback_table cm_header_callback_table;
#ifdef __cplusplus
}
#endif

const struct cm_signature_table cm_header_signature_table = {
    MojoInitialize,
    MojoGetTimeTicksNow,
    MojoClose,
    MojoQueryHandleSignalsState,
    MojoCreateMessagePipe,
    MojoWriteMessage,
    MojoReadMessage,
    MojoFuseMessagePipes,
    MojoCreateMessage,
    MojoDestroyMessage,
    MojoSerializeMessage,
    MojoReserveMessageCapacity,
    MojoAppendMessageData,
    MojoGetMessageData,
    MojoSetMessageContext,
    MojoGetMessageContext,
    MojoNotifyBadMessage,
    MojoCreateDataPipe,
    MojoWriteData,
    MojoBeginWriteData,
    MojoEndWriteData,
    MojoReadData,
    MojoBeginReadData,
    MojoEndReadData,
    MojoCreateSharedBuffer,
    MojoDuplicateBufferHandle,
    MojoMapBuffer,
    MojoUnmapBuffer,
    MojoGetBufferInfo,
    MojoWrapPlatformHandle,
    MojoUnwrapPlatformHandle,
    MojoWrapPlatformSharedMemoryRegion,
    MojoUnwrapPlatformSharedMemoryRegion,
    MojoCreateTrap,
    MojoAddTrigger,
    MojoRemoveTrigger,
    MojoArmTrap,
    MojoSetQuota,
    MojoQueryQuota,
    MojoCreateInvitation,
    MojoAttachMessagePipeToInvitation,
    MojoExtractMessagePipeFromInvitation,
    MojoSendInvitation,
    MojoAcceptInvitation,
    MojoSetDefaultProcessErrorHandler,
};

const struct cm_cmojo_signature_table cm_header_cmojo_signature_table = {
    cmojo_launch,
    cmojo_endpoint_from_command_line,
    cmojo_get_message_sender,
    cmojo_initialize_embedded,
    cmojo_get_fd,
    cmojo_process,
    cmojo_get_timeout_us,
};

/* The callback typedefs: functions written with Mojo's callback signatures
 * must convert to them without a cast. */
static void sample_serializer(MojoMessageHandle message, uintptr_t context) {
  (void)message;
  (void)context;
}

static void sample_destructor(uintptr_t context) {
  (void)context;
}

static void sample_trap_handler(const struct MojoTrapEvent* event) {
  (void)event;
}

static void sample_process_error_handler(uintptr_t context,
                                         const struct MojoProcessErrorDetails* details) {
  (void)context;
  (void)details;
}

static void sample_default_process_error_handler(const struct MojoProcessErrorDetails* details) {
  (void)details;
}

const struct cm_callback_table cm_header_callback_table = {
    sample_serializer,
    sample_destructor,
    sample_trap_handler,
    sample_process_error_handler,
    sample_default_process_error_handler,
};
