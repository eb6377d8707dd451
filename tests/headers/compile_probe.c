/* Small programs that must, or must not, compile against the public headers.
 * tests/headers/CMakeLists.txt compiles this file once per CM_PROBE value:
 *   0  positive control: the headers compile, a true static assertion
 *      passes and cmojo/embedder.h declares cmojo_process (so a failure of
 *      the other cases is not a setup problem);
 *   1  a false MOJO_STATIC_ASSERT must stop compilation;
 *   2  MojoShutdown must not be declared (cmojo has no loadable core);
 *   3  core.h, Mojo's umbrella header, does not declare cmojo's own
 *      functions: they come only from include/cmojo/;
 *   4  a function pointer of the wrong type must not accept a Mojo function,
 *      which is what makes signatures.c a real check;
 *   5  32-bit layout: the pointer-field offsets of Mojo's structs (compiled
 *      with -m32 when the compiler can). */

#include "mojo/public/c/system/core.h"

#if CM_PROBE == 0
MOJO_STATIC_ASSERT(sizeof(MojoHandle) == sizeof(uintptr_t), "ok");
MOJO_STATIC_ASSERT(sizeof(struct MojoTrapEvent) == 32, "ok");
MojoResult (*const cm_probe_close)(MojoHandle) = MojoClose;
#include "cmojo/embedder.h"
MojoResult (*const cm_probe_process)(void) = cmojo_process;
#elif CM_PROBE == 1
MOJO_STATIC_ASSERT(sizeof(MojoHandle) == 3, "must fail");
#elif CM_PROBE == 2
MojoResult (*const cm_probe_shutdown)(const struct MojoShutdownOptions*) = MojoShutdown;
#elif CM_PROBE == 3
MojoResult (*const cm_probe_process)(void) = cmojo_process;
#elif CM_PROBE == 4
MojoResult (*const cm_probe_close)(MojoHandle, uint32_t) = MojoClose;
#elif CM_PROBE == 5
MOJO_STATIC_ASSERT(sizeof(void*) == 4, "this probe needs a 32-bit target");
MOJO_STATIC_ASSERT(offsetof(struct MojoInitializeOptions, mojo_core_path) == 8,
                   "pointer field offset");
MOJO_STATIC_ASSERT(offsetof(struct MojoInitializeOptions, mojo_core_path_length) == 16,
                   "pointer field padding");
MOJO_STATIC_ASSERT(offsetof(struct MojoInitializeOptions, argv) == 24, "pointer field offset");
MOJO_STATIC_ASSERT(offsetof(struct MojoTrapEvent, result) == 16, "pointer field padding");
MOJO_STATIC_ASSERT(sizeof(struct MojoSharedBufferInfo) == 16, "aligned struct size");
MOJO_STATIC_ASSERT(offsetof(struct MojoProcessErrorDetails, error_message) == 8,
                   "pointer field offset");
MOJO_STATIC_ASSERT(offsetof(struct MojoProcessErrorDetails, flags) == 16, "pointer field padding");
/* A pointer field after an odd number of 32-bit fields is not padded to 8:
 * it moves from 16 to 12 on 32-bit targets, in Mojo too. */
MOJO_STATIC_ASSERT(offsetof(struct MojoInvitationTransportEndpoint, platform_handles) == 12,
                   "unaligned pointer field offset");
MOJO_STATIC_ASSERT(sizeof(struct MojoInvitationTransportEndpoint) == 24, "aligned struct size");
MOJO_STATIC_ASSERT(offsetof(struct MojoSendInvitationOptions, isolated_connection_name) == 8,
                   "pointer field offset");
MOJO_STATIC_ASSERT(offsetof(struct MojoSendInvitationOptions, isolated_connection_name_length) ==
                       16,
                   "pointer field padding");
MOJO_STATIC_ASSERT(offsetof(struct MojoPlatformProcessHandle, value) == 4, "natural u64 offset");
MOJO_STATIC_ASSERT(sizeof(struct MojoPlatformProcessHandle) == 16, "aligned struct size");
#else
#error "unknown CM_PROBE"
#endif
