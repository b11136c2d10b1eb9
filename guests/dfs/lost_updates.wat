;; lost_updates: two workers each increment two plain counters (a lost update each: plain load, add,
;; plain store), then an atomic done count, and notify main, which waits for both and exits with
;; 10 * the first counter + the second: 11, 12, 21 or 22, each reachable. The dfs search reaches every
;; outcome with and without its sleep sets (tests/runtime/test_dfs_footprints.py, benchmarks/README.md).
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  (func (export "wasi_thread_start") (param i32 i32)
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
    (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 4) (i32.const 1))))
  (func (export "_start") (local $d i32)
    (drop (call $spawn (i32.const 0)))
    (drop (call $spawn (i32.const 0)))
    (loop $l
      (local.set $d (i32.atomic.load (i32.const 4)))
      (if (i32.lt_u (local.get $d) (i32.const 2))
        (then (drop (memory.atomic.wait32 (i32.const 4) (local.get $d) (i64.const -1))) (br $l))))
    (call $exit (i32.add (i32.mul (i32.load (i32.const 0)) (i32.const 10)) (i32.load (i32.const 16))))))
