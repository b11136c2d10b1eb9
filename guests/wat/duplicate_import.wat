;; duplicate_import: imports wasi_snapshot_preview1.fd_write twice, under two function
;; indices ($fd_write_first, $fd_write_second), as AssemblyScript's output does, and
;; writes one line through each.  Both imports must bind to the same host function.
;; Expect stdout "first\nsecond\n", exit code 0.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write_first (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write_second (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "first\n")
  (data (i32.const 80) "second\n")

  ;; One iovec at 0, nwritten at 8; a failed or short write exits 1.
  (func $check (param $errno i32) (param $len i32)
    (if (i32.or (local.get $errno) (i32.ne (i32.load (i32.const 8)) (local.get $len)))
      (then (call $proc_exit (i32.const 1)))))

  (func $_start (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 6))
    (call $check (call $fd_write_first (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 6))
    (i32.store (i32.const 0) (i32.const 80))
    (i32.store (i32.const 4) (i32.const 7))
    (call $check (call $fd_write_second (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 7))))
