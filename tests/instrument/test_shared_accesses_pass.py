"""The `shared` level (instrument/shared_accesses.py): plain accesses to shared memory are where a
quantum may end, frame-local and unshared ones are not; host calls get a scheduling point on each side."""

from __future__ import annotations

import wasmtime

from pytest_wasmconc.instrument import InstrumentLevel, instrument
from pytest_wasmconc.instrument.decode import decode_expr
from pytest_wasmconc.instrument.module import FUNC, parse_module
from pytest_wasmconc.instrument.preempt import BUDGET_EXPORT, PreemptCounterPass
from pytest_wasmconc.runtime.wasmtime.capi import define_shared_memory

# `$publish` stores twice to shared memory (two visible accesses) and reads once (a third);
# `$frame` reads and writes only its own stack frame, the LLVM way (`__stack_pointer` - 16).
SHARED = """(module
  (import "env" "memory" (memory 1 1 shared))
  (global $__stack_pointer (mut i32) (i32.const 4096))
  (func $publish (param $v i32)
    (i32.store (i32.const 64) (local.get $v))
    (i32.store (i32.const 68) (i32.add (i32.load (i32.const 64)) (i32.const 1))))
  (func $frame (result i32) (local $fp i32)
    (local.set $fp (i32.sub (global.get $__stack_pointer) (i32.const 16)))
    (global.set $__stack_pointer (local.get $fp))
    (i32.store offset=4 (local.get $fp) (i32.const 7))
    (i32.load offset=4 (local.get $fp))
    (global.set $__stack_pointer (i32.add (local.get $fp) (i32.const 16))))
  (func (export "run") (param $v i32) (result i32)
    (call $publish (local.get $v))
    (call $frame)))"""

UNSHARED = SHARED.replace("(memory 1 1 shared)", "(memory 1 1)")

HOST_CALLS = """(module
  (import "host" "note" (func $note (param i32)))
  (import "wasmconc" "lock_acquired" (func $own (param i32)))
  (func (export "run")
    (call $note (i32.const 1))
    (call $own (i32.const 2))
    (call $note (i32.const 3))))"""


def _checks(wat: str, access_cost: int | None) -> int:
    wasm = wasmtime.wat2wasm(wat)
    result = instrument(wasm, InstrumentLevel.SHARED, [PreemptCounterPass(1000, access_cost=access_cost)])
    return int(result.pass_results[0].checks)


def test_each_plain_access_to_shared_memory_is_a_check_of_its_own() -> None:
    # Three function entries without; with: $publish's two stores and one load on top.
    assert _checks(SHARED, None) == 3
    assert _checks(SHARED, 100) == 6


def test_accesses_to_the_running_functions_own_frame_are_not_visible() -> None:
    start = SHARED.index("  (func $publish")
    frame_only = SHARED[:start] + SHARED[SHARED.index("  (func $frame"):].replace("(call $publish (local.get $v))", "")
    assert _checks(frame_only, None) == 2  # two function entries
    assert _checks(frame_only, 100) == 2


def test_accesses_to_an_unshared_memory_are_not_visible() -> None:
    assert _checks(UNSHARED, 100) == _checks(UNSHARED, None)


def _run_counting_preempts(wat: str, budget: int) -> tuple[int, int]:
    """Run the instrumented module with a counter refilled to `budget`: (result, quanta ended)."""
    wasm = instrument(wasmtime.wat2wasm(wat), InstrumentLevel.SHARED,
                      [PreemptCounterPass(budget, access_cost=100)]).wasm
    config = wasmtime.Config()
    config.wasm_threads = True
    config.shared_memory = True
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    ended = [0]

    def preempt(caller: wasmtime.Caller) -> None:
        ended[0] += 1
        counter = caller.get(BUDGET_EXPORT)
        assert isinstance(counter, wasmtime.Global)
        counter.set_value(caller, wasmtime.Val.i64(budget))

    linker.define_func("wasmconc", "preempt", wasmtime.FuncType([], []), preempt, access_caller=True)
    memory = wasmtime.SharedMemory(engine, wasmtime.MemoryType(wasmtime.Limits(1, 1), is_64=False, shared=True))
    define_shared_memory(linker, store, "env", "memory", memory)  # wasmtime-py's Linker.define cannot
    run = linker.instantiate(store, wasmtime.Module(engine, wasm)).exports(store)["run"]
    assert isinstance(run, wasmtime.Func)
    return run(store, 41), ended[0]


def test_a_quantum_can_end_before_every_visible_access_and_results_stay_the_same() -> None:
    # A budget below one access's cost: the quantum ends at every visible access (and entry).
    result, ended = _run_counting_preempts(SHARED, budget=1)
    assert result == 7
    assert ended >= 3  # at least once per visible access
    big_result, big_ended = _run_counting_preempts(SHARED, budget=10**9)
    assert big_result == 7 and big_ended == 0


def test_host_calls_get_a_scheduling_point_on_each_side_but_the_runtimes_own_imports_do_not() -> None:
    wasm = wasmtime.wat2wasm(HOST_CALLS)
    without = instrument(wasm, InstrumentLevel.SHARED, [PreemptCounterPass(1000)]).wasm
    with_points = instrument(wasm, InstrumentLevel.SHARED, [PreemptCounterPass(1000, host_call_points=True)]).wasm
    assert b"sched_point" not in without
    module = wasmtime.Module(wasmtime.Engine(), with_points)
    assert ("wasmconc", "sched_point") in [(i.module, i.name) for i in module.imports]
    # Two host.note calls, a point before and after each: four calls of sched_point.
    assert _calls_of(with_points, "sched_point") == 4


def _calls_of(wasm: bytes, name: str) -> int:
    """How many `call` instructions in `wasm` target the function import `wasmconc.<name>`."""
    info = parse_module(wasm)
    funcs = [imp for imp in info.imports if imp.kind == FUNC]
    [target] = [i for i, imp in enumerate(funcs) if (imp.module, imp.name) == ("wasmconc", name)]
    count = 0
    for body in info.bodies:
        instrs, _ = decode_expr(wasm, body.code_start, body.end)
        count += sum(1 for ins in instrs if ins.op == 0x10 and ins.imm[0] == target)
    return count
