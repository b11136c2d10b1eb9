;; store_buffering: main stores y and reads x, the worker stores x and reads y (and a byte store next
;; to a word main reads 2 bytes of: overlapping accesses), then publishes with an atomic store and a
;; notify; main waits for it and exits with 2 * its read + the worker's: 1, 2 or 3 (0 would need a
;; weaker memory model than wasm's sequentially consistent interleavings). The dfs search reaches
;; every outcome with and without its sleep sets (tests/runtime/test_dfs_footprints.py).
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  (func (export "wasi_thread_start") (param i32 i32)
    (i32.store (i32.const 32) (i32.const 1))
    (i32.store (i32.const 40) (i32.load (i32.const 36)))
    (i32.store8 (i32.const 44) (i32.const 7))
    (i32.atomic.store (i32.const 4) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 4) (i32.const 1))))
  (func (export "_start") (local $r i32)
    (drop (call $spawn (i32.const 0)))
    (i32.store (i32.const 36) (i32.const 1))
    (local.set $r (i32.load (i32.const 32)))
    (drop (i32.load16_u (i32.const 44)))
    (block $b (loop $l
      (br_if $b (i32.atomic.load (i32.const 4)))
      (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
      (br $l)))
    (call $exit (i32.add (i32.mul (local.get $r) (i32.const 2)) (i32.load (i32.const 40))))))
