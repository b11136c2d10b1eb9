;; musl_lock_order: the lock_order pattern (thread 1 locks A then B, thread 2 B then A)
;; with mutex functions shaped like a real wasi-libc (musl) threads build:
;;   - the name section lists them under musl's internal names __pthread_mutex_lock,
;;     __pthread_mutex_unlock, __pthread_mutex_trylock, __pthread_mutex_timedlock
;;     (in a real build the public pthread_* names are aliases it does not list);
;;   - an uncontended lock is one compare-exchange that never reaches a wait;
;;   - __pthread_mutex_lock falls back to __pthread_mutex_timedlock, which tries
;;     __pthread_mutex_trylock first (lock functions calling lock functions).
;; When nobody deadlocks: stdout "no deadlock\n", exit 0.  A deadlock never ends.
;;
;; Memory map (shared, imported as env.memory, re-exported as "memory"):
;;   64 mutex A   68 mutex B   72 threads done   16 fd_write result   24 iovec   128 text
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  (data $msg "no deadlock\n")

  (func $__pthread_mutex_trylock (param $m i32) (result i32)
    (if (result i32) (i32.eqz (i32.atomic.rmw.cmpxchg (local.get $m) (i32.const 0) (i32.const 1)))
      (then (i32.const 0))
      (else (i32.const 16))))  ;; EBUSY

  (func $__pthread_mutex_timedlock (param $m i32) (param $abstime i32) (result i32)
    (loop $retry
      (if (i32.eqz (call $__pthread_mutex_trylock (local.get $m)))
        (then (return (i32.const 0))))
      (drop (memory.atomic.wait32 (local.get $m) (i32.const 1) (i64.const -1)))
      (br $retry))
    (unreachable))

  (func $__pthread_mutex_lock (param $m i32) (result i32)
    (if (i32.eqz (i32.atomic.rmw.cmpxchg (local.get $m) (i32.const 0) (i32.const 1)))
      (then (return (i32.const 0))))
    (call $__pthread_mutex_timedlock (local.get $m) (i32.const 0)))

  (func $__pthread_mutex_unlock (param $m i32) (result i32)
    (i32.atomic.store (local.get $m) (i32.const 0))
    (drop (memory.atomic.notify (local.get $m) (i32.const 1)))
    (i32.const 0))

  (func $between (param $who i32)
    (drop (i32.atomic.rmw.add (i32.const 76) (local.get $who))))

  (func $thread_ab
    (drop (call $__pthread_mutex_lock (i32.const 64)))
    (call $between (i32.const 1))
    (drop (call $__pthread_mutex_lock (i32.const 68)))
    (drop (call $__pthread_mutex_unlock (i32.const 68)))
    (drop (call $__pthread_mutex_unlock (i32.const 64))))

  (func $thread_ba
    (drop (call $__pthread_mutex_lock (i32.const 68)))
    (call $between (i32.const 2))
    (drop (call $__pthread_mutex_lock (i32.const 64)))
    (drop (call $__pthread_mutex_unlock (i32.const 64)))
    (drop (call $__pthread_mutex_unlock (i32.const 68))))

  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (if (local.get $arg) (then (call $thread_ba)) (else (call $thread_ab)))
    (drop (i32.atomic.rmw.add (i32.const 72) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 72) (i32.const 1))))

  (func $_start (export "_start")
    (local $done i32)
    (if (i32.lt_s (call $thread_spawn (i32.const 0)) (i32.const 0)) (then (call $proc_exit (i32.const 70))))
    (if (i32.lt_s (call $thread_spawn (i32.const 1)) (i32.const 0)) (then (call $proc_exit (i32.const 70))))
    (loop $wait
      (local.set $done (i32.atomic.load (i32.const 72)))
      (if (i32.lt_u (local.get $done) (i32.const 2))
        (then
          (drop (memory.atomic.wait32 (i32.const 72) (local.get $done) (i64.const -1)))
          (br $wait))))
    (memory.init $msg (i32.const 128) (i32.const 0) (i32.const 12))
    (i32.store (i32.const 24) (i32.const 128))
    (i32.store (i32.const 28) (i32.const 12))
    (drop (call $fd_write (i32.const 1) (i32.const 24) (i32.const 1) (i32.const 16)))))
