/*
 * wasmconc_guest.h - small helpers for pytest-wasmconc C guests.
 *
 * Include this FIRST (build.sh passes it with `-include`), before any libc header.
 *
 * errno workaround: Debian's wasi-libc is the non-threaded build, where `errno` is a
 * plain global.  Its <__errno.h> declares it `_Thread_local`, and with -matomics clang
 * then emits TLS relocations that wasm-ld rejects ("R_WASM_MEMORY_ADDR_TLS_SLEB ...
 * non-TLS symbol 'errno'").  We claim <__errno.h>'s include guard and declare errno as
 * the plain global it really is.  NOTE: errno is therefore shared by all threads.
 */
#ifndef WASMCONC_GUEST_H
#define WASMCONC_GUEST_H

#ifndef __wasilibc___errno_h
#define __wasilibc___errno_h
#ifdef __cplusplus
extern "C" int errno;
#else
extern int errno;
#endif
#define errno errno
#endif

/* Keep a function out of line so it stays a call (a preemption point for the
 * pytest-wasmconc scheduler, which preempts at function entries and loop headers)
 * and keeps its name in the name section. */
#define WASMCONC_NOINLINE __attribute__((noinline))

#endif /* WASMCONC_GUEST_H */
