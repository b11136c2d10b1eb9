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


# A looping function keeps the counter in a local: these pin down that the
# global stays exact wherever the host can look, and that a refill by the host
# is seen after the call.
EXITS = """(module
  (import "env" "look" (func $look (param i32)))
  (func $spin (param $n i32) (param $how i32) (local $i i32)
    (block $out
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.ge_u (local.get $i) (local.get $n))
          (then
            (if (i32.eq (local.get $how) (i32.const 1)) (then (return)))
            (if (i32.eq (local.get $how) (i32.const 2)) (then (br 4)))  ;; the function's own label
            (if (i32.eq (local.get $how) (i32.const 3)) (then (br_table 0 4 (i32.const 1))))
            (br $out)))
        (br $l))))
  (func (export "spin") (param $n i32) (param $how i32) (call $spin (local.get $n) (local.get $how)))
  (func (export "looking") (param $n i32) (local $i i32)
    (loop $l
      (call $look (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))"""


def _instance(wasm: bytes, look: object = lambda caller, i: None) -> tuple[wasmtime.Store, object, list[int]]:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    preempts = [0]

    def preempt() -> None:
        preempts[0] += 1

    linker.define_func("wasmconc", "preempt", wasmtime.FuncType([], []), preempt)
    linker.define_func("env", "look", wasmtime.FuncType([wasmtime.ValType.i32()], []), look, access_caller=True)
    return store, linker.instantiate(store, wasmtime.Module(engine, wasm)), preempts


@pytest.mark.parametrize("how", [0, 1, 2, 3], ids=["end", "return", "br-to-function", "br_table-to-function"])
def test_every_way_out_of_a_looping_function_writes_its_count_back(how: int) -> None:
    store, inst, _ = _instance(_instrumented(EXITS, 10**9))
    exports = inst.exports(store)  # type: ignore[attr-defined]
    exports["spin"](store, 1000, how)
    spent = 10**9 - exports[BUDGET_EXPORT].value(store)
    assert spent >= 1000 * 5  # every iteration charged its loop body, not just the entry checks


def test_the_host_sees_the_exact_count_at_every_call_from_a_loop() -> None:
    seen: list[int] = []

    def look(caller: wasmtime.Caller, i: int) -> None:
        counter = caller.get(BUDGET_EXPORT)
        assert isinstance(counter, wasmtime.Global)
        seen.append(counter.value(caller))

    store, inst, _ = _instance(_instrumented(EXITS, 10**9), look)
    inst.exports(store)["looking"](store, 50)  # type: ignore[attr-defined]
    steps = {a - b for a, b in zip(seen, seen[1:])}
    assert len(seen) == 50 and len(steps) == 1 and steps.pop() > 0  # one loop body per call, exactly


def test_a_refill_by_the_host_during_a_call_is_seen_after_it() -> None:
    def refill(caller: wasmtime.Caller, i: int) -> None:
        counter = caller.get(BUDGET_EXPORT)
        assert isinstance(counter, wasmtime.Global)
        counter.set_value(caller, wasmtime.Val.i64(10**9))

    store, inst, preempts = _instance(_instrumented(EXITS, 20), refill)
    inst.exports(store)["looking"](store, 1000)  # type: ignore[attr-defined]
    assert preempts[0] == 0  # a stale local copy would have run out after a few iterations
