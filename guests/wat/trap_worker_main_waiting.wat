;; trap_worker_main_waiting: a WORKER traps (`unreachable` inside the named function
;; $crash_in_worker) while the main thread is blocked forever in memory.atomic.wait32.
;; wasi-threads: a trap in any thread ends the whole program.
;; Expect no stdout, the program ends with a trap (wasm backtrace naming
;; crash_in_worker; the wasmtime CLI exits with a non-zero code).
;;
;; Memory map (shared, imported as env.memory, re-exported as "memory"):
;;   0 ready flag (1 = main is about to wait)   4 never notified
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  (func $spawn_worker
    (if (i32.lt_s (call $thread_spawn (i32.const 0)) (i32.const 0))
      (then (call $proc_exit (i32.const 70)))))

  (func $wait_for_ready
    (loop $spin
      (br_if $spin (i32.eqz (i32.atomic.load (i32.const 0))))))

  (func $wait_forever
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (loop $again
      (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
      (br $again)))

  (func $crash_in_worker
    unreachable)

  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $wait_for_ready)
    (call $crash_in_worker))

  (func $_start (export "_start")
    (call $spawn_worker)
    (call $wait_forever)))
