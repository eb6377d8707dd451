/* Layout and compile-time helper macros shared by every cmojo public header.
 *
 * These macros exist so that the Mojo C API structs have one and the same
 * layout on every compiler and word size: options structs are 8-byte aligned,
 * pointer fields occupy 8 bytes even on 32-bit targets, and every size Mojo
 * promises is checked at compile time. They must work in C99, C11 and C++. */

#ifndef MOJO_PUBLIC_C_SYSTEM_MACROS_H_
#define MOJO_PUBLIC_C_SYSTEM_MACROS_H_

#include <stddef.h>
#include <stdint.h>

/* MOJO_STATIC_ASSERT(expr, msg): fails compilation when the constant
 * expression |expr| is false. |msg| is a string literal. Usable at file scope
 * and inside functions. C++11 and C11 have a native form; strict C99 does not,
 * so there we declare an array whose size becomes negative when |expr| is
 * false. An extern declaration (rather than a typedef) is used because C99
 * forbids redefining a typedef, while repeating a compatible extern
 * declaration is always allowed, so any number of checks may share the name. */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define MOJO_STATIC_ASSERT(expr, msg) static_assert(expr, msg)
#elif defined(__cplusplus)
#define MOJO_STATIC_ASSERT(expr, msg) extern char mojo_static_assert_failed_[(expr) ? 1 : -1]
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define MOJO_STATIC_ASSERT(expr, msg) _Static_assert(expr, msg)
#else
#define MOJO_STATIC_ASSERT(expr, msg) extern char mojo_static_assert_failed_[(expr) ? 1 : -1]
#endif

/* MOJO_POINTER_FIELD(type, name): a struct member of pointer type that takes
 * eight bytes on both 32-bit and 64-bit targets. On 32-bit targets an unnamed
 * 32-bit bit-field pads the pointer; on 64-bit targets the zero-width bit-field
 * adds nothing. This keeps struct layouts identical across word sizes. */
/* clang-format off */
#define MOJO_POINTER_FIELD(type, name) \
  type name;                           \
  uint32_t : (sizeof(void *) == 4 ? 32 : 0)
/* clang-format on */

/* MOJO_ALIGNOF(type): alignment requirement of |type|, in bytes. */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define MOJO_ALIGNOF(type) alignof(type)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define MOJO_ALIGNOF(type) _Alignof(type)
#elif defined(__GNUC__)
#define MOJO_ALIGNOF(type) __alignof__(type)
#elif defined(_MSC_VER)
#define MOJO_ALIGNOF(type) __alignof(type)
#else
#error "cmojo: define MOJO_ALIGNOF() for this compiler"
#endif

/* MOJO_ALIGNAS(n): placed between `struct` and the tag, gives the struct an
 * alignment of |n| bytes (an integer literal, not a type). C11's _Alignas
 * cannot be applied to a struct declaration, hence the compiler attributes. */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define MOJO_ALIGNAS(alignment) alignas(alignment)
#elif defined(__GNUC__)
#define MOJO_ALIGNAS(alignment) __attribute__((aligned(alignment)))
#elif defined(_MSC_VER)
#define MOJO_ALIGNAS(alignment) __declspec(align(alignment))
#else
#error "cmojo: define MOJO_ALIGNAS() for this compiler"
#endif

#endif /* MOJO_PUBLIC_C_SYSTEM_MACROS_H_ */
