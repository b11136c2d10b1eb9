;; single_hello: a single-threaded WASI preview1 program with its own (non-shared)
;; memory, no thread-spawn import.  Prints "hello\n" and returns from _start.
;; Expect stdout "hello\n", exit code 0.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "hello\n")

  (func $say_hello
    (i32.store (i32.const 0) (i32.const 64))  ;; iovec.buf
    (i32.store (i32.const 4) (i32.const 6))   ;; iovec.len
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  (func $_start (export "_start")
    (call $say_hello)))
