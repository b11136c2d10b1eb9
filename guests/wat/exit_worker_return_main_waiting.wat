;; exit_worker_return_main_waiting: a WORKER returns from wasi_thread_start while the
;; main thread is blocked in memory.atomic.wait32 on the done flag.  The worker sets
;; the flag and notifies just before returning; its return ends only that thread, so
;; main wakes and calls proc_exit(32).
;; Expect stdout "main: worker returned, proc_exit(32)\n", exit code 32.
;;
;; Memory map (shared, imported as env.memory, re-exported as "memory"):
;;   0 ready flag (1 = main is about to wait)   12 done flag   16 fd_write result
;;   24 iovec   128 message text
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  (data $msg "main: worker returned, proc_exit(32)\n")

  (func $say (param $len i32)
    (memory.init $msg (i32.const 128) (i32.const 0) (local.get $len))
    (i32.store (i32.const 24) (i32.const 128))
    (i32.store (i32.const 28) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 24) (i32.const 1) (i32.const 16))))

  (func $spawn_worker
    (if (i32.lt_s (call $thread_spawn (i32.const 0)) (i32.const 0))
      (then (call $proc_exit (i32.const 70)))))

  (func $wait_for_ready
    (loop $spin
      (br_if $spin (i32.eqz (i32.atomic.load (i32.const 0))))))

  (func $wait_until_done
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (loop $again
      (drop (memory.atomic.wait32 (i32.const 12) (i32.const 0) (i64.const -1)))
      (br_if $again (i32.eqz (i32.atomic.load (i32.const 12))))))

  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $wait_for_ready)
    (i32.atomic.store (i32.const 12) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 12) (i32.const 1))))

  (func $_start (export "_start")
    (call $spawn_worker)
    (call $wait_until_done)
    (call $say (i32.const 37))
    (call $proc_exit (i32.const 32))))
