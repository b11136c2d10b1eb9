;; lone_atomic_work: long real work by a thread running alone, made of visible
;; operations: the worker does 100,000 atomic increments (each a scheduling point at
;; the atomics level and above) while main waits in wait32 for its done flag, then
;; main checks the count.  Ends: exit 0 (count 100000), 1 if the count is wrong, 70
;; if the spawn failed.  No stdout.
;;
;; Memory map (shared, imported as env.memory, re-exported as "memory"):
;;   12 done flag (set by the worker at the end)   32 the counter
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  (func $count_alone
    (local $i i32)
    (loop $next
      (drop (i32.atomic.rmw.add (i32.const 32) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 100000)))))

  (func $wait_until_done
    (loop $again
      (drop (memory.atomic.wait32 (i32.const 12) (i32.const 0) (i64.const -1)))
      (br_if $again (i32.eqz (i32.atomic.load (i32.const 12))))))

  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $count_alone)
    (i32.atomic.store (i32.const 12) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 12) (i32.const 1))))

  (func $_start (export "_start")
    (if (i32.lt_s (call $thread_spawn (i32.const 0)) (i32.const 0))
      (then (call $proc_exit (i32.const 70))))
    (call $wait_until_done)
    (call $proc_exit (i32.ne (i32.atomic.load (i32.const 32)) (i32.const 100000)))))
