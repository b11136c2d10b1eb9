;; spin_forever: a worker spins forever on a flag that nobody sets (a livelock: it
;; never blocks), while main waits in memory.atomic.wait32 for the worker's done flag,
;; which the worker would set only after its spin.  Never ends by itself: no stdout,
;; no exit code; a runner must detect the non-termination (step budget) or time out.
;;
;; Memory map (shared, imported as env.memory, re-exported as "memory"):
;;   12 done flag (set by the worker after the spin: never)   24 go flag (never set)
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  (func $spawn_worker
    (if (i32.lt_s (call $thread_spawn (i32.const 0)) (i32.const 0))
      (then (call $proc_exit (i32.const 70)))))

  (func $spin_until_go
    (loop $spin
      (br_if $spin (i32.eqz (i32.atomic.load (i32.const 24))))))

  (func $wait_until_done
    (loop $again
      (drop (memory.atomic.wait32 (i32.const 12) (i32.const 0) (i64.const -1)))
      (br_if $again (i32.eqz (i32.atomic.load (i32.const 12))))))

  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $spin_until_go)
    (i32.atomic.store (i32.const 12) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 12) (i32.const 1))))

  (func $_start (export "_start")
    (call $spawn_worker)
    (call $wait_until_done)))
