/* ABI check of the public Mojo C headers: every constant has Mojo's value and
 * type, every typedef has Mojo's underlying type, and every struct has Mojo's
 * size, alignment and field offsets. The expected numbers are written out
 * here independently of the headers, so changing a value in a header makes
 * this test fail. */

#include <stddef.h>
#include <stdint.h>

#include "mojo/public/c/system/core.h"
#include "test_support.h"

/* True when |expr| has exactly type |type| (not merely a compatible one). */
#define HAS_TYPE(expr, type) _Generic((expr), type : 1, default : 0)

#define EXPECT_CONST(name, type, value)   \
  do {                                    \
    assert_true(HAS_TYPE(name, type));    \
    assert_true((name) == (type)(value)); \
  } while (0)

#define EXPECT_U32(name, value) EXPECT_CONST(name, uint32_t, value)

#define EXPECT_LAYOUT(type, size, align)       \
  do {                                         \
    assert_int_equal(sizeof(type), (size));    \
    assert_int_equal(_Alignof(type), (align)); \
  } while (0)

#define EXPECT_FIELD(type, field, offset, field_size)          \
  do {                                                         \
    assert_int_equal(offsetof(type, field), (offset));         \
    assert_int_equal(sizeof(((type*)0)->field), (field_size)); \
  } while (0)

static void test_typedefs(void** state) {
  (void)state;
  assert_true(HAS_TYPE((MojoHandle)0, uintptr_t));
  assert_true(HAS_TYPE((MojoMessageHandle)0, uintptr_t));
  assert_true(HAS_TYPE((MojoTimeTicks)0, int64_t));
  assert_true(HAS_TYPE((MojoResult)0, uint32_t));
  assert_true(HAS_TYPE((MojoHandleSignals)0, uint32_t));
  assert_true(HAS_TYPE((MojoInitializeFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoShutdownFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoTrapEventFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoTriggerCondition)0, uint32_t));
  assert_true(HAS_TYPE((MojoQuotaType)0, uint32_t));
  assert_true(HAS_TYPE((MojoPlatformHandleType)0, uint32_t));
  assert_true(HAS_TYPE((MojoPlatformSharedMemoryRegionAccessMode)0, uint32_t));
  /* Every options flags typedef is a uint32_t. */
  assert_true(HAS_TYPE((MojoCreateMessagePipeFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoWriteMessageFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoReadMessageFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoFuseMessagePipesFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoCreateMessageFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoSerializeMessageFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoAppendMessageDataFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoGetMessageDataFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoSetMessageContextFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoGetMessageContextFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoNotifyBadMessageFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoCreateDataPipeFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoWriteDataFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoBeginWriteDataFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoEndWriteDataFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoReadDataFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoBeginReadDataFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoEndReadDataFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoCreateSharedBufferFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoGetBufferInfoFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoDuplicateBufferHandleFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoMapBufferFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoWrapPlatformHandleFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoUnwrapPlatformHandleFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoWrapPlatformSharedMemoryRegionFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoUnwrapPlatformSharedMemoryRegionFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoCreateTrapFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoAddTriggerFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoRemoveTriggerFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoArmTrapFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoSetQuotaFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoQueryQuotaFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoProcessErrorFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoInvitationTransportType)0, uint32_t));
  assert_true(HAS_TYPE((MojoCreateInvitationFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoAttachMessagePipeToInvitationFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoExtractMessagePipeFromInvitationFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoSendInvitationFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoAcceptInvitationFlags)0, uint32_t));
  assert_true(HAS_TYPE((MojoSetDefaultProcessErrorHandlerFlags)0, uint32_t));
}

static void test_result_codes(void** state) {
  (void)state;
  EXPECT_U32(MOJO_RESULT_OK, 0);
  EXPECT_U32(MOJO_RESULT_CANCELLED, 1);
  EXPECT_U32(MOJO_RESULT_UNKNOWN, 2);
  EXPECT_U32(MOJO_RESULT_INVALID_ARGUMENT, 3);
  EXPECT_U32(MOJO_RESULT_DEADLINE_EXCEEDED, 4);
  EXPECT_U32(MOJO_RESULT_NOT_FOUND, 5);
  EXPECT_U32(MOJO_RESULT_ALREADY_EXISTS, 6);
  EXPECT_U32(MOJO_RESULT_PERMISSION_DENIED, 7);
  EXPECT_U32(MOJO_RESULT_RESOURCE_EXHAUSTED, 8);
  EXPECT_U32(MOJO_RESULT_FAILED_PRECONDITION, 9);
  EXPECT_U32(MOJO_RESULT_ABORTED, 10);
  EXPECT_U32(MOJO_RESULT_OUT_OF_RANGE, 11);
  EXPECT_U32(MOJO_RESULT_UNIMPLEMENTED, 12);
  EXPECT_U32(MOJO_RESULT_INTERNAL, 13);
  EXPECT_U32(MOJO_RESULT_UNAVAILABLE, 14);
  EXPECT_U32(MOJO_RESULT_DATA_LOSS, 15);
  EXPECT_U32(MOJO_RESULT_BUSY, 16);
  EXPECT_U32(MOJO_RESULT_SHOULD_WAIT, 17);
}

static void test_handles_and_signals(void** state) {
  (void)state;
  EXPECT_CONST(MOJO_HANDLE_INVALID, uintptr_t, 0);
  EXPECT_CONST(MOJO_MESSAGE_HANDLE_INVALID, uintptr_t, 0);
  EXPECT_U32(MOJO_HANDLE_SIGNAL_NONE, 0);
  EXPECT_U32(MOJO_HANDLE_SIGNAL_READABLE, 1);
  EXPECT_U32(MOJO_HANDLE_SIGNAL_WRITABLE, 2);
  EXPECT_U32(MOJO_HANDLE_SIGNAL_PEER_CLOSED, 4);
  EXPECT_U32(MOJO_HANDLE_SIGNAL_NEW_DATA_READABLE, 8);
  EXPECT_U32(MOJO_HANDLE_SIGNAL_PEER_REMOTE, 16);
  EXPECT_U32(MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED, 32);
  /* The signal macros must be usable inside larger expressions (Mojo's own
   * C header once ended some of them with a stray semicolon). */
  assert_int_equal(MOJO_HANDLE_SIGNAL_NEW_DATA_READABLE | MOJO_HANDLE_SIGNAL_PEER_REMOTE |
                       MOJO_HANDLE_SIGNAL_QUOTA_EXCEEDED,
                   56);
}

static void test_init_and_message_flags(void** state) {
  (void)state;
  EXPECT_U32(MOJO_INITIALIZE_FLAG_NONE, 0);
  EXPECT_U32(MOJO_INITIALIZE_FLAG_AS_BROKER, 1);
  EXPECT_U32(MOJO_INITIALIZE_FLAG_FORCE_DIRECT_SHARED_MEMORY_ALLOCATION, 2);
  EXPECT_U32(MOJO_INITIALIZE_FLAG_LOAD_ONLY, 4);
  EXPECT_U32(MOJO_SHUTDOWN_FLAG_NONE, 0);
  EXPECT_U32(MOJO_CREATE_MESSAGE_PIPE_FLAG_NONE, 0);
  EXPECT_U32(MOJO_WRITE_MESSAGE_FLAG_NONE, 0);
  EXPECT_U32(MOJO_READ_MESSAGE_FLAG_NONE, 0);
  EXPECT_U32(MOJO_FUSE_MESSAGE_PIPES_FLAG_NONE, 0);
  EXPECT_U32(MOJO_CREATE_MESSAGE_FLAG_NONE, 0);
  EXPECT_U32(MOJO_CREATE_MESSAGE_FLAG_UNLIMITED_SIZE, 1);
  EXPECT_U32(MOJO_SERIALIZE_MESSAGE_FLAG_NONE, 0);
  EXPECT_U32(MOJO_APPEND_MESSAGE_DATA_FLAG_NONE, 0);
  EXPECT_U32(MOJO_APPEND_MESSAGE_DATA_FLAG_COMMIT_SIZE, 1);
  EXPECT_U32(MOJO_GET_MESSAGE_DATA_FLAG_NONE, 0);
  EXPECT_U32(MOJO_GET_MESSAGE_DATA_FLAG_IGNORE_HANDLES, 1);
  EXPECT_U32(MOJO_SET_MESSAGE_CONTEXT_FLAG_NONE, 0);
  EXPECT_U32(MOJO_GET_MESSAGE_CONTEXT_FLAG_NONE, 0);
  EXPECT_U32(MOJO_NOTIFY_BAD_MESSAGE_FLAG_NONE, 0);
}

static void test_data_pipe_and_buffer_flags(void** state) {
  (void)state;
  EXPECT_U32(MOJO_CREATE_DATA_PIPE_FLAG_NONE, 0);
  EXPECT_U32(MOJO_WRITE_DATA_FLAG_NONE, 0);
  EXPECT_U32(MOJO_WRITE_DATA_FLAG_ALL_OR_NONE, 1);
  EXPECT_U32(MOJO_BEGIN_WRITE_DATA_FLAG_NONE, 0);
  EXPECT_U32(MOJO_BEGIN_WRITE_DATA_FLAG_ALL_OR_NONE, 1);
  EXPECT_U32(MOJO_END_WRITE_DATA_FLAG_NONE, 0);
  EXPECT_U32(MOJO_READ_DATA_FLAG_NONE, 0);
  EXPECT_U32(MOJO_READ_DATA_FLAG_ALL_OR_NONE, 1);
  EXPECT_U32(MOJO_READ_DATA_FLAG_DISCARD, 2);
  EXPECT_U32(MOJO_READ_DATA_FLAG_QUERY, 4);
  EXPECT_U32(MOJO_READ_DATA_FLAG_PEEK, 8);
  EXPECT_U32(MOJO_BEGIN_READ_DATA_FLAG_NONE, 0);
  EXPECT_U32(MOJO_END_READ_DATA_FLAG_NONE, 0);
  EXPECT_U32(MOJO_CREATE_SHARED_BUFFER_FLAG_NONE, 0);
  EXPECT_U32(MOJO_GET_BUFFER_INFO_FLAG_NONE, 0);
  EXPECT_U32(MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_NONE, 0);
  EXPECT_U32(MOJO_DUPLICATE_BUFFER_HANDLE_FLAG_READ_ONLY, 1);
  EXPECT_U32(MOJO_MAP_BUFFER_FLAG_NONE, 0);
}

static void test_platform_trap_quota_constants(void** state) {
  (void)state;
  EXPECT_U32(MOJO_PLATFORM_HANDLE_TYPE_INVALID, 0);
  EXPECT_U32(MOJO_PLATFORM_HANDLE_TYPE_FILE_DESCRIPTOR, 1);
  EXPECT_U32(MOJO_PLATFORM_HANDLE_TYPE_MACH_PORT, 2);
  EXPECT_U32(MOJO_PLATFORM_HANDLE_TYPE_MACH_SEND_RIGHT, 2);
  EXPECT_U32(MOJO_PLATFORM_HANDLE_TYPE_WINDOWS_HANDLE, 3);
  EXPECT_U32(MOJO_PLATFORM_HANDLE_TYPE_FUCHSIA_HANDLE, 4);
  EXPECT_U32(MOJO_PLATFORM_HANDLE_TYPE_MACH_RECEIVE_RIGHT, 5);
  EXPECT_U32(MOJO_PLATFORM_HANDLE_TYPE_BINDER, 6);
  EXPECT_U32(MOJO_WRAP_PLATFORM_HANDLE_FLAG_NONE, 0);
  EXPECT_U32(MOJO_UNWRAP_PLATFORM_HANDLE_FLAG_NONE, 0);
  EXPECT_U32(MOJO_PLATFORM_SHARED_MEMORY_REGION_ACCESS_MODE_READ_ONLY, 0);
  EXPECT_U32(MOJO_PLATFORM_SHARED_MEMORY_REGION_ACCESS_MODE_WRITABLE, 1);
  EXPECT_U32(MOJO_PLATFORM_SHARED_MEMORY_REGION_ACCESS_MODE_UNSAFE, 2);
  EXPECT_U32(MOJO_WRAP_PLATFORM_SHARED_BUFFER_HANDLE_FLAG_NONE, 0);
  EXPECT_U32(MOJO_UNWRAP_PLATFORM_SHARED_BUFFER_HANDLE_FLAG_NONE, 0);

  EXPECT_U32(MOJO_TRAP_EVENT_FLAG_NONE, 0);
  EXPECT_U32(MOJO_TRAP_EVENT_FLAG_WITHIN_API_CALL, 1);
  EXPECT_U32(MOJO_TRIGGER_CONDITION_SIGNALS_UNSATISFIED, 0);
  EXPECT_U32(MOJO_TRIGGER_CONDITION_SIGNALS_SATISFIED, 1);
  EXPECT_U32(MOJO_WATCH_CONDITION_NOT_SATISFIED, 0);
  EXPECT_U32(MOJO_WATCH_CONDITION_SATISFIED, 1);
  EXPECT_U32(MOJO_CREATE_TRAP_FLAG_NONE, 0);
  EXPECT_U32(MOJO_ADD_TRIGGER_FLAG_NONE, 0);
  EXPECT_U32(MOJO_REMOVE_TRIGGER_FLAG_NONE, 0);
  EXPECT_U32(MOJO_ARM_TRAP_FLAG_NONE, 0);

  EXPECT_U32(MOJO_SET_QUOTA_FLAG_NONE, 0);
  EXPECT_U32(MOJO_QUERY_QUOTA_FLAG_NONE, 0);
  EXPECT_CONST(MOJO_QUOTA_LIMIT_NONE, uint64_t, UINT64_MAX);
  EXPECT_U32(MOJO_QUOTA_TYPE_RECEIVE_QUEUE_LENGTH, 0);
  EXPECT_U32(MOJO_QUOTA_TYPE_RECEIVE_QUEUE_MEMORY_SIZE, 1);
  EXPECT_U32(MOJO_QUOTA_TYPE_UNREAD_MESSAGE_COUNT, 2);
}

static void test_invitation_constants(void** state) {
  (void)state;
  EXPECT_U32(MOJO_PROCESS_ERROR_FLAG_NONE, 0);
  EXPECT_U32(MOJO_PROCESS_ERROR_FLAG_DISCONNECTED, 1);
  EXPECT_U32(MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL, 0);
  EXPECT_U32(MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL_SERVER, 1);
  EXPECT_U32(MOJO_INVITATION_TRANSPORT_TYPE_CHANNEL_ASYNC, 2);
  EXPECT_U32(MOJO_CREATE_INVITATION_FLAG_NONE, 0);
  EXPECT_U32(MOJO_ATTACH_MESSAGE_PIPE_TO_INVITATION_FLAG_NONE, 0);
  EXPECT_U32(MOJO_EXTRACT_MESSAGE_PIPE_FROM_INVITATION_FLAG_NONE, 0);
  EXPECT_U32(MOJO_SEND_INVITATION_FLAG_NONE, 0);
  EXPECT_U32(MOJO_SEND_INVITATION_FLAG_ISOLATED, 1);
  EXPECT_U32(MOJO_SEND_INVITATION_FLAG_UNTRUSTED_PROCESS, 2);
  EXPECT_U32(MOJO_ACCEPT_INVITATION_FLAG_NONE, 0);
  EXPECT_U32(MOJO_ACCEPT_INVITATION_FLAG_ISOLATED, 1);
  EXPECT_U32(MOJO_ACCEPT_INVITATION_FLAG_LEAK_TRANSPORT_ENDPOINT, 2);
  EXPECT_U32(MOJO_SET_DEFAULT_PROCESS_ERROR_HANDLER_FLAG_NONE, 0);
}

/* The eight-byte {struct_size, flags} options structs. All but two are
 * declared MOJO_ALIGNAS(8) by Mojo; the buffer duplicate/map ones are not. */
static void test_small_options_layouts(void** state) {
  (void)state;
#define SMALL_OPTIONS(type, align)                \
  do {                                            \
    EXPECT_LAYOUT(struct type, 8, align);         \
    EXPECT_FIELD(struct type, struct_size, 0, 4); \
    EXPECT_FIELD(struct type, flags, 4, 4);       \
  } while (0)
  SMALL_OPTIONS(MojoShutdownOptions, 8);
  SMALL_OPTIONS(MojoCreateMessagePipeOptions, 8);
  SMALL_OPTIONS(MojoWriteMessageOptions, 8);
  SMALL_OPTIONS(MojoReadMessageOptions, 8);
  SMALL_OPTIONS(MojoFuseMessagePipesOptions, 8);
  SMALL_OPTIONS(MojoCreateMessageOptions, 8);
  SMALL_OPTIONS(MojoSerializeMessageOptions, 8);
  SMALL_OPTIONS(MojoAppendMessageDataOptions, 8);
  SMALL_OPTIONS(MojoGetMessageDataOptions, 8);
  SMALL_OPTIONS(MojoSetMessageContextOptions, 8);
  SMALL_OPTIONS(MojoGetMessageContextOptions, 8);
  SMALL_OPTIONS(MojoNotifyBadMessageOptions, 8);
  SMALL_OPTIONS(MojoWriteDataOptions, 8);
  SMALL_OPTIONS(MojoBeginWriteDataOptions, 8);
  SMALL_OPTIONS(MojoEndWriteDataOptions, 8);
  SMALL_OPTIONS(MojoReadDataOptions, 8);
  SMALL_OPTIONS(MojoBeginReadDataOptions, 8);
  SMALL_OPTIONS(MojoEndReadDataOptions, 8);
  SMALL_OPTIONS(MojoCreateSharedBufferOptions, 8);
  SMALL_OPTIONS(MojoGetBufferInfoOptions, 8);
  SMALL_OPTIONS(MojoDuplicateBufferHandleOptions, 4);
  SMALL_OPTIONS(MojoMapBufferOptions, 4);
  SMALL_OPTIONS(MojoWrapPlatformHandleOptions, 8);
  SMALL_OPTIONS(MojoUnwrapPlatformHandleOptions, 8);
  SMALL_OPTIONS(MojoWrapPlatformSharedMemoryRegionOptions, 8);
  SMALL_OPTIONS(MojoUnwrapPlatformSharedMemoryRegionOptions, 8);
  SMALL_OPTIONS(MojoCreateTrapOptions, 8);
  SMALL_OPTIONS(MojoAddTriggerOptions, 8);
  SMALL_OPTIONS(MojoRemoveTriggerOptions, 8);
  SMALL_OPTIONS(MojoArmTrapOptions, 8);
  SMALL_OPTIONS(MojoSetQuotaOptions, 8);
  SMALL_OPTIONS(MojoQueryQuotaOptions, 8);
  SMALL_OPTIONS(MojoCreateInvitationOptions, 8);
  SMALL_OPTIONS(MojoAttachMessagePipeToInvitationOptions, 8);
  SMALL_OPTIONS(MojoExtractMessagePipeFromInvitationOptions, 8);
  SMALL_OPTIONS(MojoAcceptInvitationOptions, 8);
  SMALL_OPTIONS(MojoSetDefaultProcessErrorHandlerOptions, 8);
#undef SMALL_OPTIONS
}

static void test_other_struct_layouts(void** state) {
  (void)state;
  /* Pointer fields take 8 bytes on every word size, so these offsets hold
   * on 32-bit targets too. */
  EXPECT_LAYOUT(struct MojoInitializeOptions, 32, 8);
  EXPECT_FIELD(struct MojoInitializeOptions, struct_size, 0, 4);
  EXPECT_FIELD(struct MojoInitializeOptions, flags, 4, 4);
  EXPECT_FIELD(struct MojoInitializeOptions, mojo_core_path, 8, sizeof(const char*));
  EXPECT_FIELD(struct MojoInitializeOptions, mojo_core_path_length, 16, 4);
  EXPECT_FIELD(struct MojoInitializeOptions, argc, 20, 4);
  EXPECT_FIELD(struct MojoInitializeOptions, argv, 24, sizeof(void*));

  EXPECT_LAYOUT(struct MojoHandleSignalsState, 8, 4);
  EXPECT_FIELD(struct MojoHandleSignalsState, satisfied_signals, 0, 4);
  EXPECT_FIELD(struct MojoHandleSignalsState, satisfiable_signals, 4, 4);

  EXPECT_LAYOUT(struct MojoCreateDataPipeOptions, 16, 8);
  EXPECT_FIELD(struct MojoCreateDataPipeOptions, struct_size, 0, 4);
  EXPECT_FIELD(struct MojoCreateDataPipeOptions, flags, 4, 4);
  EXPECT_FIELD(struct MojoCreateDataPipeOptions, element_num_bytes, 8, 4);
  EXPECT_FIELD(struct MojoCreateDataPipeOptions, capacity_num_bytes, 12, 4);

  /* The uint64_t sits at its natural alignment: 8 on x86-64, 4 on i386. */
  EXPECT_LAYOUT(struct MojoSharedBufferInfo, 16, 8);
  EXPECT_FIELD(struct MojoSharedBufferInfo, struct_size, 0, 4);
  struct natural_u64 {
    uint32_t before;
    uint64_t value;
  };
  assert_int_equal(offsetof(struct MojoSharedBufferInfo, size),
                   offsetof(struct natural_u64, value));
  assert_int_equal(sizeof(((struct MojoSharedBufferInfo*)0)->size), 8);

  EXPECT_LAYOUT(struct MojoPlatformHandle, 16, 8);
  EXPECT_FIELD(struct MojoPlatformHandle, struct_size, 0, 4);
  EXPECT_FIELD(struct MojoPlatformHandle, type, 4, 4);
  EXPECT_FIELD(struct MojoPlatformHandle, value, 8, 8);

  EXPECT_LAYOUT(struct MojoSharedBufferGuid, 16, 8);
  EXPECT_FIELD(struct MojoSharedBufferGuid, high, 0, 8);
  EXPECT_FIELD(struct MojoSharedBufferGuid, low, 8, 8);

  EXPECT_LAYOUT(struct MojoTrapEvent, 32, 8);
  EXPECT_FIELD(struct MojoTrapEvent, struct_size, 0, 4);
  EXPECT_FIELD(struct MojoTrapEvent, flags, 4, 4);
  EXPECT_FIELD(struct MojoTrapEvent, trigger_context, 8, sizeof(uintptr_t));
  EXPECT_FIELD(struct MojoTrapEvent, result, 16, 4);
  EXPECT_FIELD(struct MojoTrapEvent, signals_state, 20, 8);
}

static void test_invitation_struct_layouts(void** state) {
  (void)state;
  /* Pointer fields take 8 bytes (MOJO_POINTER_FIELD), but are not aligned
   * to 8 on 32-bit targets: there platform_handles sits at 12, not 16, in
   * Mojo as here (compile_probe.c case 5 checks that layout). */
  EXPECT_LAYOUT(struct MojoProcessErrorDetails, 24, 8);
  EXPECT_FIELD(struct MojoProcessErrorDetails, struct_size, 0, 4);
  EXPECT_FIELD(struct MojoProcessErrorDetails, error_message_length, 4, 4);
  EXPECT_FIELD(struct MojoProcessErrorDetails, error_message, 8, sizeof(const char*));
  EXPECT_FIELD(struct MojoProcessErrorDetails, flags, 16, 4);

  EXPECT_LAYOUT(struct MojoInvitationTransportEndpoint, 24, 8);
  EXPECT_FIELD(struct MojoInvitationTransportEndpoint, struct_size, 0, 4);
  EXPECT_FIELD(struct MojoInvitationTransportEndpoint, type, 4, 4);
  EXPECT_FIELD(struct MojoInvitationTransportEndpoint, num_platform_handles, 8, 4);
  EXPECT_FIELD(struct MojoInvitationTransportEndpoint, platform_handles, 16,
               sizeof(const struct MojoPlatformHandle*));

  EXPECT_LAYOUT(struct MojoSendInvitationOptions, 24, 8);
  EXPECT_FIELD(struct MojoSendInvitationOptions, struct_size, 0, 4);
  EXPECT_FIELD(struct MojoSendInvitationOptions, flags, 4, 4);
  EXPECT_FIELD(struct MojoSendInvitationOptions, isolated_connection_name, 8, sizeof(const char*));
  EXPECT_FIELD(struct MojoSendInvitationOptions, isolated_connection_name_length, 16, 4);

  /* Like MojoSharedBufferInfo: the uint64_t sits at its natural alignment
   * (offset 8 on x86-64, 4 on i386); the struct is 16 bytes on both. */
  EXPECT_LAYOUT(struct MojoPlatformProcessHandle, 16, 8);
  EXPECT_FIELD(struct MojoPlatformProcessHandle, struct_size, 0, 4);
  struct natural_u64 {
    uint32_t before;
    uint64_t value;
  };
  assert_int_equal(offsetof(struct MojoPlatformProcessHandle, value),
                   offsetof(struct natural_u64, value));
  assert_int_equal(sizeof(((struct MojoPlatformProcessHandle*)0)->value), 8);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_typedefs),
      cmocka_unit_test(test_result_codes),
      cmocka_unit_test(test_handles_and_signals),
      cmocka_unit_test(test_init_and_message_flags),
      cmocka_unit_test(test_data_pipe_and_buffer_flags),
      cmocka_unit_test(test_platform_trap_quota_constants),
      cmocka_unit_test(test_invitation_constants),
      cmocka_unit_test(test_small_options_layouts),
      cmocka_unit_test(test_other_struct_layouts),
      cmocka_unit_test(test_invitation_struct_layouts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
