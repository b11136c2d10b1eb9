;; own_memory_threads: a threaded module (imports wasi.thread-spawn, exports
;; wasi_thread_start) that DEFINES and EXPORTS its own shared memory instead of
;; importing env.memory.  wasi-threads instantiates the module once per thread, so a
;; defined memory cannot be shared: each thread instance would get a fresh memory.
;; Hosts are expected to reject the module (or fail the spawn); see guests/README.md
;; for what the reference runtime does.
;; If it does run: main spawns a worker that sets a done flag and notifies; main waits
;; up to 2 s for it.  Worker's store seen: "worker shared our memory\n", exit 0.
;; Not seen (separate memories): "worker did not share memory\n", exit 41.
;; thread-spawn failed: exit 70.
;;
;; Memory map: 12 done flag   16 fd_write result   24 iovec   128 message text
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1 1 shared)

  (data $shared "worker shared our memory\n")
  (data $separate "worker did not share memory\n")

  (func $say (param $len i32)
    (i32.store (i32.const 24) (i32.const 128))
    (i32.store (i32.const 28) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 24) (i32.const 1) (i32.const 16))))

  (func $spawn_worker
    (if (i32.lt_s (call $thread_spawn (i32.const 0)) (i32.const 0))
      (then (call $proc_exit (i32.const 70)))))

  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (i32.atomic.store (i32.const 12) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 12) (i32.const 1))))

  (func $_start (export "_start")
    (call $spawn_worker)
    ;; one wait of at most 2 s (a wakeup without the flag counts as "not seen")
    (if (i32.eqz (i32.atomic.load (i32.const 12)))
      (then (drop (memory.atomic.wait32 (i32.const 12) (i32.const 0) (i64.const 2000000000)))))
    (if (i32.atomic.load (i32.const 12))
      (then
        (memory.init $shared (i32.const 128) (i32.const 0) (i32.const 25))
        (call $say (i32.const 25)))
      (else
        (memory.init $separate (i32.const 128) (i32.const 0) (i32.const 28))
        (call $say (i32.const 28))
        (call $proc_exit (i32.const 41))))))
