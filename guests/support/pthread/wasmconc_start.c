/* wasmconc_start.c - the command entry point `_start` for guests linked with this
 * pthread layer (link with -nostartfiles instead of wasi-libc's crt1-command.o).
 *
 * Why: Debian's wasi-libc (2022) crt1-command.o does not call __wasm_call_ctors
 * itself, so wasm-ld wraps EVERY exported function in a `NAME.command_export`
 * wrapper that runs __wasm_call_dtors (atexit handlers + stdio flush) after it
 * returns.  For `wasi_thread_start` that means each exiting worker thread would flush
 * stdio and run atexit handlers, racing with the main thread.  Calling
 * __wasm_call_ctors explicitly from our own `_start` makes wasm-ld skip the wrappers
 * (as newer wasi-libc releases do), so wasi_thread_start is exported bare. */
#include <wasi/api.h>

extern void __wasm_call_ctors(void);
extern void __wasm_call_dtors(void);  /* wasi-libc: atexit handlers, stdio flush */
extern int __original_main(void);     /* main(void) itself, or wasi-libc's weak
                                        * wrapper that gets argv and calls main */

__attribute__((export_name("_start")))
void _start(void) {
    __wasm_call_ctors();
    int status = __original_main();
    __wasm_call_dtors();
    if (status != 0) __wasi_proc_exit((__wasi_exitcode_t)status);
}
