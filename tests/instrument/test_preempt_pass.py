"""The preemption counter pass (instrument/preempt.py): where it checks, what it
charges, and that the slow path (locals moved through globals around the call)
leaves every computation unchanged."""

from __future__ import annotations

import pytest
import wasmtime

from pytest_wasmconc.instrument import InstrumentError, instrument
from pytest_wasmconc.instrument.preempt import BUDGET_EXPORT, PreemptCounterPass

LOOPS = """(module
  (func $inner (param $n i32) (result f64) (local $i i32) (local $acc f64) (local $f f32) (local $v v128)
    (local.set $v (v128.const f64x2 1.5 2.5))
    (loop $l
      (local.set $acc (f64.add (local.get $acc) (f64.convert_i32_s (local.get $i))))
      (local.set $f (f32.add (local.get $f) (f32.const 0.25)))
      (local.set $v (f64x2.add (local.get $v) (v128.const f64x2 1 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (f64.add (f64.add (local.get $acc) (f64.promote_f32 (local.get $f)))
             (f64x2.extract_lane 1 (local.get $v))))
  (func (export "run") (param $n i32) (param $x f64) (param $k i64) (result f64)
    (f64.add (f64.add (call $inner (local.get $n)) (local.get $x)) (f64.convert_i64_s (local.get $k)))))"""


def _run(wasm: bytes, budget: int | None, n: int = 1000) -> tuple[float, int]:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    calls = [0]

    def preempt(caller: wasmtime.Caller) -> None:
        calls[0] += 1
        counter = caller.get(BUDGET_EXPORT)
        assert isinstance(counter, wasmtime.Global)
        counter.set_value(caller, wasmtime.Val.i64(budget or 0))

    linker.define_func("wasmconc", "preempt", wasmtime.FuncType([], []), preempt, access_caller=True)
    inst = linker.instantiate(store, wasmtime.Module(engine, wasm))
    run = inst.exports(store)["run"]
    assert isinstance(run, wasmtime.Func)
    return run(store, n, 0.5, 7), calls[0]


def _instrumented(wat: str, initial: int) -> bytes:
    result = instrument(wasmtime.wat2wasm(wat), passes=[PreemptCounterPass(initial)])
    wasmtime.Module.validate(wasmtime.Engine(), result.wasm)
    return result.wasm


def test_every_function_entry_and_loop_header_is_a_check() -> None:
    result = instrument(wasmtime.wat2wasm(LOOPS), passes=[PreemptCounterPass(100)])
    report = result.pass_results[0]
    assert report.checks == 3  # two function entries, one loop


@pytest.mark.parametrize("budget", [1, 2, 7, 1000, 10**9])
def test_results_are_unchanged_whatever_the_budget(budget: int) -> None:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    plain = wasmtime.Instance(store, wasmtime.Module(engine, LOOPS), [])
    run = plain.exports(store)["run"]
    assert isinstance(run, wasmtime.Func)
    expected = run(store, 1000, 0.5, 7)
    got, _ = _run(_instrumented(LOOPS, budget), budget)
    assert got == expected


def test_preempt_is_called_once_the_budget_is_spent_and_counts_replay() -> None:
    wasm = _instrumented(LOOPS, 50)
    _, small = _run(wasm, 50, n=1000)
    _, large = _run(wasm, 5000, n=1000)
    assert small > 10 * max(large, 1)  # a loop iteration costs its body's instructions
    assert _run(wasm, 50, n=1000)[1] == small  # the same program and inputs: the same count


def test_a_budget_of_a_billion_never_preempts_a_short_run() -> None:
    assert _run(_instrumented(LOOPS, 10**9), 10**9)[1] == 0


def test_globals_keep_their_indices_next_to_imported_and_defined_ones() -> None:
    wat = """(module
      (import "env" "g" (global $imported i32))
      (global $mine (mut i32) (i32.const 5))
      (func (export "run") (param i32 f64 i64) (result f64)
        (global.set $mine (i32.add (global.get $mine) (global.get $imported)))
        (f64.convert_i32_s (global.get $mine))))"""
    wasm = instrument(wasmtime.wat2wasm(wat), passes=[PreemptCounterPass(3)]).wasm
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    linker.define(store, "env", "g", wasmtime.Global(store, wasmtime.GlobalType(wasmtime.ValType.i32(), False), 37))
    linker.define_func("wasmconc", "preempt", wasmtime.FuncType([], []), lambda: None)
    inst = linker.instantiate(store, wasmtime.Module(engine, wasm))
    run = inst.exports(store)["run"]
    assert isinstance(run, wasmtime.Func)
    assert run(store, 0, 0.0, 0) == 42.0
    counter = inst.exports(store)[BUDGET_EXPORT]
    assert isinstance(counter, wasmtime.Global)
    # One entry check charged the body's 7 instructions (its `end` included);
    # preempt (a no-op here) did not refill the counter.
    assert counter.value(store) == 3 - 7


def test_a_module_that_exports_the_counter_name_is_refused() -> None:
    wat = f'(module (global (export "{BUDGET_EXPORT}") i32 (i32.const 0)) (func))'
    with pytest.raises(InstrumentError, match="already exports"):
        instrument(wasmtime.wat2wasm(wat), passes=[PreemptCounterPass(3)])


def _checks(wat: str) -> int:
    report = instrument(wasmtime.wat2wasm(wat), passes=[PreemptCounterPass(100)]).pass_results[0]
    return int(report.checks)


def test_a_loop_that_calls_a_defined_function_first_thing_relies_on_the_callee_check() -> None:
    wat = """(module (func $f)
      (func (export "run") (local $i i32)
        (loop $l (call $f) (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 9))))))"""
    assert _checks(wat) == 2  # the two entries; every iteration passes $f's entry check


def test_a_loop_that_may_branch_before_its_call_keeps_its_own_check() -> None:
    wat = """(module (func $f)
      (func (export "run") (param $x i32)
        (loop $l (br_if $l (local.get $x)) (call $f))))"""
    assert _checks(wat) == 3  # `br_if $l` could spin without ever reaching the call


def test_a_loop_that_calls_an_import_keeps_its_own_check() -> None:
    wat = """(module (import "env" "f" (func $f))
      (func (export "run") (param $x i32)
        (loop $l (call $f) (br_if $l (local.get $x)))))"""
    assert _checks(wat) == 2  # one entry, one loop: a host function has no entry check
