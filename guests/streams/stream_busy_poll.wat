;; Broken: spins on check-write until it grants a permit, never subscribing.
;; Expected: busy-poll once check-write returned 0 three times in a row (a
;; flush delay of 3 or more steps); the output is still complete.
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

  (func $setup)
  (func $write_line (param $ptr i32) (param $len i32) (result i32)
    (local $permit i64) (local $n i32)
    (block $done
      (loop $more
        (br_if $done (i32.eqz (local.get $len)))
        (local.set $permit (call $check_write (global.get $out)))
        (if (i64.lt_s (local.get $permit) (i64.const 0)) (then (return (i32.const 1))))
        (br_if $more (i64.eqz (local.get $permit)))
        (local.set $n (local.get $len))
        (if (i64.lt_u (local.get $permit) (i64.extend_i32_u (local.get $len)))
          (then (local.set $n (i32.wrap_i64 (local.get $permit)))))
        (if (call $write (global.get $out) (local.get $ptr) (local.get $n))
          (then (return (i32.const 1))))
        (local.set $ptr (i32.add (local.get $ptr) (local.get $n)))
        (local.set $len (i32.sub (local.get $len) (local.get $n)))
        (br $more)))
    (if (call $flush (global.get $out)) (then (return (i32.const 1))))
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
