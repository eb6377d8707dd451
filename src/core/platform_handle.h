/* platform_handle: the dispatcher behind a Mojo handle that wraps one OS
 * handle (MojoWrapPlatformHandle), plus the API functions that move OS
 * handles and shared memory regions in and out of Mojo handles
 * (platform_handle.h of the public API).
 *
 * The dispatcher owns its OS handle from the wrap until it is unwrapped
 * (the handle is then taken out and the dispatcher closed) or closed (the OS
 * handle is closed with it). Within a process it travels in messages as the
 * same object, OS handle included; it carries no ports and is not watchable.
 *
 * Shared memory regions are not wrapped in this dispatcher: wrapping one
 * gives an ordinary shared buffer handle (shared_buffer.h), as in Mojo.
 */
#ifndef CMOJO_CORE_PLATFORM_HANDLE_H_
#define CMOJO_CORE_PLATFORM_HANDLE_H_

#include "core/dispatcher.h"
#include "platform/platform.h"

/* A new wrapper dispatcher (one reference, the caller's) that takes over
 * `handle`. NULL when out of memory: the caller then still owns `handle`. */
cm_dispatcher *cm_platform_handle_wrapper_create(cm_platform_handle handle);

#endif /* CMOJO_CORE_PLATFORM_HANDLE_H_ */
