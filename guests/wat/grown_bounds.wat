;; grown_bounds: accesses past the memory's current end race with its growth. For the reset path's
;; out-of-bounds exactness (tests/runtime/test_reset_exactness.py): an exploration keeps the memory
;; an earlier schedule grew, and an access beyond the size this schedule grew it to must trap as on
;; a fresh memory (instrument/vmem.py, runtime/machine/reuse.py).
;;
;; The grower thread grows the memory from 1 page to 7, a page at a time, with some work between.
;; The prober thread meanwhile touches page 1, 2, ... 6 in turn (address page * 65536 + 8), each
;; kind of access once: a plain load (L), a plain store (S), memory.fill (F), memory.copy into it
;; (C), memory.init from a passive segment (I), an atomic read-modify-write (A), printing the
;; letter before each. Main waits for both and prints "ok".
;; Ends: exit 0 with "LSFCIAok\n" when the grower always came first; otherwise a trap (out of
;; bounds memory access) in the prober, stdout ending with the letter of the access that trapped.
;; 70 if a spawn failed.
;;
;; Memory map (shared, imported as env.memory, re-exported as "memory"):
;;   0 iovec   8 bytes written   16 threads done   32 the letter printed
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 8 shared))
  (export "memory" (memory 0))
  (data $bytes "wxyz")

  (func $say (param $letter i32)
    (i32.store8 (i32.const 32) (local.get $letter))
    (i32.store (i32.const 0) (i32.const 32))
    (i32.store (i32.const 4) (i32.const 1))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  (func $work
    (local $i i32)
    (loop $again
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 300)))))

  (func $grower
    (local $n i32)
    (loop $again
      (call $work)
      (drop (memory.grow (i32.const 1)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $n) (i32.const 6)))))

  (func $prober
    (call $work) (call $say (i32.const 76))  ;; L
    (drop (i32.load (i32.const 65544)))
    (call $work) (call $say (i32.const 83))  ;; S
    (i32.store (i32.const 131080) (i32.const 1))
    (call $work) (call $say (i32.const 70))  ;; F
    (memory.fill (i32.const 196616) (i32.const 7) (i32.const 16))
    (call $work) (call $say (i32.const 67))  ;; C
    (memory.copy (i32.const 262152) (i32.const 32) (i32.const 16))
    (call $work) (call $say (i32.const 73))  ;; I
    (memory.init $bytes (i32.const 327688) (i32.const 0) (i32.const 4))
    (call $work) (call $say (i32.const 65))  ;; A
    (drop (i32.atomic.rmw.add (i32.const 393224) (i32.const 1))))

  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $which i32)
    (if (local.get $which) (then (call $prober)) (else (call $grower)))
    (drop (i32.atomic.rmw.add (i32.const 16) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 16) (i32.const 1))))

  (func $_start (export "_start")
    (local $done i32)
    (if (i32.lt_s (call $thread_spawn (i32.const 0)) (i32.const 0)) (then (call $proc_exit (i32.const 70))))
    (if (i32.lt_s (call $thread_spawn (i32.const 1)) (i32.const 0)) (then (call $proc_exit (i32.const 70))))
    (loop $wait
      (local.set $done (i32.atomic.load (i32.const 16)))
      (if (i32.lt_u (local.get $done) (i32.const 2))
        (then (drop (memory.atomic.wait32 (i32.const 16) (local.get $done) (i64.const -1))) (br $wait))))
    (call $say (i32.const 111)) (call $say (i32.const 107)) (call $say (i32.const 10))  ;; ok\n
    (call $proc_exit (i32.const 0))))
