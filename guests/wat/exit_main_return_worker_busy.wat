;; exit_main_return_worker_busy: the MAIN thread RETURNS from _start while the
;; worker is busy in an endless loop.  wasi-threads: proc_exit from any thread ends the
;; whole program.  Expect stdout "main: return from _start\n", exit code 0 (main returning ends the program).
;;
;; Memory map (shared, imported as env.memory, re-exported as "memory"):
;;   0 ready flag (1 = the other thread is about to spin/block)   4 never notified
;;   8 busy-loop counter   16 fd_write result   24 iovec   128 message text
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  ;; Passive, so instantiating a worker never rewrites shared memory.
  (data $msg "main: return from _start\n")

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

  (func $busy_forever
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (loop $busy
      (i32.atomic.store (i32.const 8) (i32.add (i32.atomic.load (i32.const 8)) (i32.const 1)))
      (br $busy)))

  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $busy_forever))

  (func $_start (export "_start")
    (call $spawn_worker)
    (call $wait_for_ready)
    (call $say (i32.const 25))))
