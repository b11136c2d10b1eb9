;; spin: a worker thread spins forever while the main thread waits for it:
;; never a deadlock (the worker can always run), always a hang.
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  (func $spin (export "spin_forever")
    (loop $forever (br $forever)))

  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $spin))

  (func (export "_start")
    (drop (call $spawn (i32.const 0)))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))
