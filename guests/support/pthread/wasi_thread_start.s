# wasi_thread_start.s - thread entry of the pytest-wasmconc pthread layer.
#
# The wasi-threads host calls the exported `wasi_thread_start(tid, start_arg)` in a
# fresh instance of the module that shares our memory.  In that instance the mutable
# global __stack_pointer still holds the MAIN thread's initial stack pointer, so no C
# code may run before we switch to the stack pthread_create allocated.  `start_arg`
# is the thread's `struct __pthread *` (see pthread_impl.h):
#   offset 0: stack_top  -> __stack_pointer
#   offset 4: tls_base   -> __wasm_init_tls (synthesised by wasm-ld for shared
#                           memory: sets __tls_base and copies the TLS image there)
# Then the C part (__wasmconc_thread_entry in pthread_create.c) runs the routine.

	.text

	.globaltype	__stack_pointer, i32
	.functype	__wasm_init_tls (i32) -> ()
	.functype	__wasmconc_thread_entry (i32, i32) -> ()

	.globl	wasi_thread_start
	.type	wasi_thread_start,@function
	.export_name	wasi_thread_start, wasi_thread_start

wasi_thread_start:
	.functype	wasi_thread_start (i32, i32) -> ()
	local.get	1
	i32.load	0
	global.set	__stack_pointer
	local.get	1
	i32.load	4
	call	__wasm_init_tls
	local.get	0
	local.get	1
	call	__wasmconc_thread_entry
	end_function
