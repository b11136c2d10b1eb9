;; The correct write loop: for each of 200 lines, check-write for a permit
;; (subscribe and wait while it is 0), write at most the permit, flush,
;; subscribe to a FRESH pollable and wait until the flush completed. Output:
;; "line 000\n" .. "line 199\n" on stdout (wasmconc_streams), exit 0.
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

  ;; write [ptr, ptr+len) with permits, flush, and wait for the flush; 0 ok, 1 error
  (func $write_all (param $ptr i32) (param $len i32) (result i32)
    (local $permit i64) (local $n i32)
    (block $done
      (loop $more
        (br_if $done (i32.eqz (local.get $len)))
        (local.set $permit (call $check_write (global.get $out)))
        (if (i64.lt_s (local.get $permit) (i64.const 0)) (then (return (i32.const 1))))
        (if (i64.eqz (local.get $permit))
          (then (call $wait_ready) (br $more)))
        (local.set $n (local.get $len))
        (if (i64.lt_u (local.get $permit) (i64.extend_i32_u (local.get $len)))
          (then (local.set $n (i32.wrap_i64 (local.get $permit)))))
        (if (call $write (global.get $out) (local.get $ptr) (local.get $n))
          (then (return (i32.const 1))))
        (local.set $ptr (i32.add (local.get $ptr) (local.get $n)))
        (local.set $len (i32.sub (local.get $len) (local.get $n)))
        (br $more)))
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
    (loop $lines
      (call $format_line (local.get $i))
      (if (call $write_all (i32.const 64) (i32.const 9)) (then (return)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $lines (i32.lt_u (local.get $i) (i32.const 200))))))
