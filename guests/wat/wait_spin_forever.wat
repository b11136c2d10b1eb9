;; wait_spin_forever: a worker spins forever on memory.atomic.wait32 with an expected
;; value the word never has, so every wait returns "not-equal" at once (the shape of a
;; lost-wakeup spin: a join that waits on a stale value); main waits in wait32 for the
;; worker's done flag, so the worker runs alone.  Never ends by itself: no stdout, no
;; exit code; a runner must detect the spin (step budget) or time out.
;;
;; Memory map (shared, imported as env.memory, re-exported as "memory"):
;;   12 done flag (never set)   24 the word the worker waits on (always 0; it expects 1)
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  (func $spin_on_stale_wait
    (loop $spin
      (drop (memory.atomic.wait32 (i32.const 24) (i32.const 1) (i64.const -1)))
      (br $spin)))

  (func $wait_until_done
    (loop $again
      (drop (memory.atomic.wait32 (i32.const 12) (i32.const 0) (i64.const -1)))
      (br_if $again (i32.eqz (i32.atomic.load (i32.const 12))))))

  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $spin_on_stale_wait))

  (func $_start (export "_start")
    (if (i32.lt_s (call $thread_spawn (i32.const 0)) (i32.const 0))
      (then (call $proc_exit (i32.const 70))))
    (call $wait_until_done)))
