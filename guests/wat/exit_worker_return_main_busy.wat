;; exit_worker_return_main_busy: a WORKER returns from wasi_thread_start while the main
;; thread is busy looping.  A worker returning ends only that thread: main keeps
;; running, sees the worker's done flag (set just before it returns), and then calls
;; proc_exit(31).  Expect stdout "main: worker returned, proc_exit(31)\n", exit 31
;; (exit 0 or a hang would mean the worker's return was mishandled).
;;
;; Memory map (shared, imported as env.memory, re-exported as "memory"):
;;   0 ready flag (1 = main is in its loop)   8 busy-loop counter   12 done flag
;;   16 fd_write result   24 iovec   128 message text
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  (data $msg "main: worker returned, proc_exit(31)\n")

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

  ;; Busy loop that also polls the done flag.
  (func $busy_until_done
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (loop $busy
      (i32.atomic.store (i32.const 8) (i32.add (i32.atomic.load (i32.const 8)) (i32.const 1)))
      (br_if $busy (i32.eqz (i32.atomic.load (i32.const 12))))))

  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $wait_for_ready)
    (i32.atomic.store (i32.const 12) (i32.const 1)))

  (func $_start (export "_start")
    (call $spawn_worker)
    (call $busy_until_done)
    (call $say (i32.const 37))
    (call $proc_exit (i32.const 31))))
