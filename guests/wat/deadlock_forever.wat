;; deadlock_forever: main and one worker both block forever in memory.atomic.wait32,
;; each on its own address that nobody ever notifies (every thread blocked: a
;; deadlock).  Never ends by itself: no stdout, no exit code; a runner must detect the
;; deadlock or time out.
;;
;; Memory map (shared, imported as env.memory, re-exported as "memory"):
;;   4 main's wait address   20 the worker's wait address (both stay 0, never notified)
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  (func $spawn_worker
    (if (i32.lt_s (call $thread_spawn (i32.const 0)) (i32.const 0))
      (then (call $proc_exit (i32.const 70)))))

  (func $wait_forever_on (param $addr i32)
    (loop $again
      (drop (memory.atomic.wait32 (local.get $addr) (i32.const 0) (i64.const -1)))
      (br $again)))

  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $wait_forever_on (i32.const 20)))

  (func $_start (export "_start")
    (call $spawn_worker)
    (call $wait_forever_on (i32.const 4))))
