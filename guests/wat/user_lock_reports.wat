;; user_lock_reports: a guest reports locks of its own through the documented imports
;; wasmconc.lock_acquired(id) / lock_released(id) (here with i64 ids; i32 works too).
;; main takes lock 1 then lock 2; the worker takes 2 then 1 (an inversion, although no
;; run can deadlock: the "locks" are only reports). main waits for the worker's done
;; flag. Plain runs must link the imports (they do nothing); `--check lock-order`
;; must report the inversion 1 -> 2 -> 1.
;;
;; Memory map (shared, imported as env.memory, re-exported as "memory"): 12 done flag
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasmconc" "lock_acquired" (func $acquired (param i64)))
  (import "wasmconc" "lock_released" (func $released (param i64)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $acquired (i64.const 2))
    (call $acquired (i64.const 1))
    (call $released (i64.const 1))
    (call $released (i64.const 2))
    (i32.atomic.store (i32.const 12) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 12) (i32.const 1))))

  (func $_start (export "_start")
    (drop (call $thread_spawn (i32.const 0)))
    (call $acquired (i64.const 1))
    (call $acquired (i64.const 2))
    (call $released (i64.const 2))
    (call $released (i64.const 1))
    (loop $wait
      (drop (memory.atomic.wait32 (i32.const 12) (i32.const 0) (i64.const -1)))
      (br_if $wait (i32.eqz (i32.atomic.load (i32.const 12)))))))
