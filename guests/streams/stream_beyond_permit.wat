;; Broken: asks check-write, waits while it is 0, but then writes the whole
;; 9-byte line whatever the permit was. Expected: write-beyond-permit under a
;; budget below 9 bytes (correct output under larger budgets).
(module
  (import "wasmconc_streams" "get_stdout" (func $get_stdout (result i32)))
  (import "wasmconc_streams" "check_write" (func $check_write (param i32) (result i64)))
  (import "wasmconc_streams" "write" (func $write (param i32 i32 i32) (result i32)))
  (import "wasmconc_streams" "flush" (func $flush (param i32) (result i32)))
  (import "wasmconc_streams" "subscribe" (func $subscribe (param i32) (result i32)))
  (import "wasmconc_streams" "poll" (func $poll (param i32 i32 i32) (result i32)))
  (import "wasmconc_streams" "drop_pollable" (func $drop_pollable (param i32)))
  (memory (export "memory") 1)
  (global $out (mut i32) (i32.const 0))
  (data (i32.const 64) "line 000\n")

  ;; wait until the stream is ready: a fresh pollable each time
  (func $wait_ready
    (local $p i32)
    (local.set $p (call $subscribe (global.get $out)))
    (i32.store (i32.const 16) (local.get $p))
    (drop (call $poll (i32.const 16) (i32.const 1) (i32.const 32)))
    (call $drop_pollable (local.get $p)))

  (func $setup)
  (func $write_line (param $ptr i32) (param $len i32) (result i32)
    (local $permit i64)
    (loop $ask
      (local.set $permit (call $check_write (global.get $out)))
      (if (i64.lt_s (local.get $permit) (i64.const 0)) (then (return (i32.const 1))))
      (if (i64.eqz (local.get $permit)) (then (call $wait_ready) (br $ask))))
    (if (call $write (global.get $out) (local.get $ptr) (local.get $len)) (then (return (i32.const 1))))
    (if (call $flush (global.get $out)) (then (return (i32.const 1))))
    (call $wait_ready)
    (i32.const 0))

  (func $format_line (param $i i32)
    (i32.store8 (i32.const 69) (i32.add (i32.const 48) (i32.div_u (local.get $i) (i32.const 100))))
    (i32.store8 (i32.const 70) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $i) (i32.const 10)) (i32.const 10))))
    (i32.store8 (i32.const 71) (i32.add (i32.const 48) (i32.rem_u (local.get $i) (i32.const 10)))))

  (func $main (export "_start")
    (local $i i32)
    (global.set $out (call $get_stdout))
    (call $setup)
    (loop $lines
      (call $format_line (local.get $i))
      (if (call $write_line (i32.const 64) (i32.const 9)) (then (return)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $lines (i32.lt_u (local.get $i) (i32.const 200))))))
