/* MOJO_SYSTEM_EXPORT marks the functions of the Mojo C API.
 *
 * cmojo compiles its library with -fvisibility=hidden and defines
 * CMOJO_IMPLEMENTATION; while building the library the macro therefore gives
 * the API functions default visibility, so they (and only they, plus the
 * cmojo_* additions) are exported from the shared object. For users of the
 * headers the macro expands to nothing. */

#ifndef MOJO_PUBLIC_C_SYSTEM_SYSTEM_EXPORT_H_
#define MOJO_PUBLIC_C_SYSTEM_SYSTEM_EXPORT_H_

#if defined(CMOJO_IMPLEMENTATION)
#if defined(_WIN32)
#define MOJO_SYSTEM_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#define MOJO_SYSTEM_EXPORT __attribute__((visibility("default")))
#else
#define MOJO_SYSTEM_EXPORT
#endif
#else
#define MOJO_SYSTEM_EXPORT
#endif

#endif /* MOJO_PUBLIC_C_SYSTEM_SYSTEM_EXPORT_H_ */
