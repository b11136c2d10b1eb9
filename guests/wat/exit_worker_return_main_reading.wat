;; exit_worker_return_main_reading: a WORKER returns from wasi_thread_start while the
;; main thread is blocked in a WASI fd_read of stdin (fd 0).  The worker's return ends
;; only that thread, so the program keeps running until main's read returns (stdin
;; has data or reaches EOF); main then calls proc_exit(33).
;; `echo | wasmtime ...` ends at once; `sleep 5 | wasmtime ...` ends after ~5 s.
;; Expect stdout "main: stdin returned, proc_exit(33)\n", exit code 33.
;;
;; Memory map (shared, imported as env.memory, re-exported as "memory"):
;;   0 ready flag   16 fd_write result   20 fd_read result   24 iovec (write)
;;   32 iovec (read)   64 read buffer (64 bytes)   128 message text
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  (data $msg "main: stdin returned, proc_exit(33)\n")

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

  (func $read_stdin
    (i32.store (i32.const 32) (i32.const 64))
    (i32.store (i32.const 36) (i32.const 64))
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (drop (call $fd_read (i32.const 0) (i32.const 32) (i32.const 1) (i32.const 20))))

  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $wait_for_ready))

  (func $_start (export "_start")
    (call $spawn_worker)
    (call $read_stdin)
    (call $say (i32.const 36))
    (call $proc_exit (i32.const 33))))
