"""Hand-written WAT kernels for the benchmark (the shape of the paper's Table I).

Each module exports `run` (the kernel, for a plain wasmtime call) and `_start`
(the same kernel, so the runtime can run it as a WASI command).
"""

from __future__ import annotations

FIB = """(module
  (memory (export "memory") 1)
  (func $fib (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "run") (result i32) (call $fib (i32.const 30)))
  (func (export "_start") (drop (call $fib (i32.const 30)))))"""

DOT = """(module
  (memory (export "memory") 32)
  (func $dot (param $n i32) (param $reps i32) (result f64) (local $i i32) (local $acc f64) (local $r i32)
    (loop $rep
      (local.set $i (i32.const 0))
      (loop $l
        (local.set $acc (f64.add (local.get $acc)
          (f64.mul (f64.load (i32.shl (local.get $i) (i32.const 3)))
                   (f64.load offset=1048576 (i32.shl (local.get $i) (i32.const 3))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $rep (i32.lt_u (local.get $r) (local.get $reps))))
    (local.get $acc))
  (func (export "run") (result f64) (call $dot (i32.const 100000) (i32.const 60)))
  (func (export "_start") (drop (call $dot (i32.const 100000) (i32.const 60)))))"""

MATMUL = """(module
  (memory (export "memory") 32)
  (func $matmul (param $n i32) (result f64) (local $i i32) (local $j i32) (local $k i32) (local $acc f64) (local $sum f64)
    (loop $li
      (local.set $j (i32.const 0))
      (loop $lj
        (local.set $acc (f64.const 0))
        (local.set $k (i32.const 0))
        (loop $lk
          (local.set $acc (f64.add (local.get $acc)
            (f64.mul
              (f64.load (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $k)) (i32.const 3)))
              (f64.load offset=524288 (i32.shl (i32.add (i32.mul (local.get $k) (local.get $n)) (local.get $j)) (i32.const 3))))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $lk (i32.lt_u (local.get $k) (local.get $n))))
        (f64.store offset=1048576 (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 3))
          (local.get $acc))
        (local.set $sum (f64.add (local.get $sum) (local.get $acc)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $lj (i32.lt_u (local.get $j) (local.get $n))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $li (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))
  (func (export "run") (result f64) (call $matmul (i32.const 256)))
  (func (export "_start") (drop (call $matmul (i32.const 256)))))"""

# Two threads that yield to each other at every atomic RMW: a context-switch stress.
PINGPONG = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $spin (param $n i32) (local $i i32)
    (loop $l
      (drop (i32.atomic.rmw.add (i32.const 64) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func (export "wasi_thread_start") (param i32 i32) (call $spin (i32.const 20000)))
  (func (export "_start") (drop (call $spawn (i32.const 0))) (call $spin (i32.const 20000))))"""

KERNELS = {"fib(30)": FIB, "dot product": DOT, "matmul 256": MATMUL}
