;; clock_poll_pair: main and one worker each call clock_time_get 1000 times in a
;; row (a busy-wait polling the clock, as musl's timed waits do in busy-wait
;; mode), then main waits for the worker's done flag and exits 0. Every call is a
;; Python host call costing microseconds while the loop costs a few counter
;; units: epoch mode must end a thread's time slice when it runs out during such
;; calls (runtime/_lane_c/host.c, end_expired_slice), not only once the counter
;; refill, sized by earlier and faster code, is spent: the other thread starved.
;;
;; Memory map (shared, imported as env.memory, re-exported as "memory"):
;;   8 clock_time_get result   12 done flag
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  (func $poll_clock
    (local $i i32)
    (loop $again
      (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 1000)))))

  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $poll_clock)
    (i32.atomic.store (i32.const 12) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 12) (i32.const 1))))

  (func $_start (export "_start")
    (if (i32.lt_s (call $thread_spawn (i32.const 0)) (i32.const 0))
      (then (call $proc_exit (i32.const 70))))
    (call $poll_clock)
    (loop $wait
      (drop (memory.atomic.wait32 (i32.const 12) (i32.const 0) (i64.const -1)))
      (br_if $wait (i32.eqz (i32.atomic.load (i32.const 12)))))))
