;; writer: a worker thread creates ./out.txt and writes one line into it, then
;; wakes the main thread, which prints "main: worker done". Exit 0, or 1 when the
;; worker could not write the file (no directory preopened at ".").
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  (data (i32.const 100) "out.txt")
  (data (i32.const 200) "written by a guest thread\n")
  (data (i32.const 300) "main: worker done\n")
  ;; 1024: the worker's done flag; 1028: its errno (0 = the file was written)

  (func $write_file (result i32)
    (local $err i32)
    ;; path_open(dirfd 3 = the first preopen, O_CREAT|O_TRUNC, all rights) -> fd at 12
    (local.set $err (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 7)
      (i32.const 9) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 12)))
    (if (local.get $err) (then (return (local.get $err))))
    (i32.store (i32.const 0) (i32.const 200))
    (i32.store (i32.const 4) (i32.const 26))
    (local.set $err (call $fd_write (i32.load (i32.const 12)) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $fd_close (i32.load (i32.const 12))))
    (local.get $err))

  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (i32.atomic.store (i32.const 1028) (call $write_file))
    (i32.atomic.store (i32.const 1024) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 1024) (i32.const 1))))

  (func (export "_start")
    (if (i32.lt_s (call $spawn (i32.const 0)) (i32.const 0)) (then (call $exit (i32.const 2))))
    (block $done
      (loop $wait
        (br_if $done (i32.atomic.load (i32.const 1024)))
        (drop (memory.atomic.wait32 (i32.const 1024) (i32.const 0) (i64.const -1)))
        (br $wait)))
    (if (i32.atomic.load (i32.const 1028)) (then (call $exit (i32.const 1))))
    (i32.store (i32.const 16) (i32.const 300))
    (i32.store (i32.const 20) (i32.const 18))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))))
