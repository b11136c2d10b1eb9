"""Runs of visible accesses (instrument/access_runs.py): checked at once when no check in them can fire,
with exactly the quantum ends, counts and results of one check per access."""

from __future__ import annotations

from typing import Any

import pytest
import wasmtime

from pytest_wasmconc.instrument import InstrumentLevel, instrument
from pytest_wasmconc.instrument import preempt as preempt_module
from pytest_wasmconc.instrument.access_runs import runs
from pytest_wasmconc.instrument.decode import decode_expr
from pytest_wasmconc.instrument.module import parse_module
from pytest_wasmconc.instrument.preempt import BUDGET_EXPORT, PreemptCounterPass
from pytest_wasmconc.runtime.wasmtime.capi import define_shared_memory

# `$dot`: the kernel shape (two loads per iteration waiting for their multiply, one statement);
# `$mixed`: statements of several accesses, a value used by a branch (its load ends the run
# before it), a store of a load, a run split by a call.
KERNELS = """(module
  (import "env" "memory" (memory 1 1 shared))
  (func $id (param i32) (result i32) (local.get 0))
  (func $dot (param $n i32) (result f64) (local $i i32) (local $acc f64)
    (loop $l
      (local.set $acc (f64.add (local.get $acc)
        (f64.mul (f64.load offset=1024 (local.get $i)) (f64.load offset=2048 (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br_if $l (i32.lt_u (local.get $i) (i32.shl (local.get $n) (i32.const 3)))))
    (local.get $acc))
  (func $mixed (param $v i32) (result i32)
    (i32.store (i32.const 64) (local.get $v))
    (i32.store (i32.const 68) (i32.add (i32.load (i32.const 64)) (i32.const 1)))
    (if (i32.load (i32.const 68)) (then (i32.store (i32.const 72) (i32.const 5))))
    (i32.store (i32.const 76) (call $id (i32.load (i32.const 72))))
    (i32.store (i32.const 80) (i32.load (i32.const 76)))
    (i32.add (i32.load (i32.const 80)) (i32.load (i32.const 64))))
  (func (export "run") (param $v i32) (result i32)
    (drop (call $dot (i32.const 8)))
    (call $mixed (local.get $v))))"""


def _body(wat: str, index: int) -> list[Any]:
    wasm = bytes(wasmtime.wat2wasm(wat))
    info = parse_module(wasm)
    instrs, _ = decode_expr(wasm, info.bodies[index].code_start, info.bodies[index].end)
    return instrs


def _accesses(instrs: list[Any]) -> list[int]:
    return [i for i, ins in enumerate(instrs) if 0x28 <= ins.op <= 0x3E]


def test_a_run_starts_and_ends_where_its_stretch_leaves_nothing_on_the_stack() -> None:
    dot = _body(KERNELS, 1)
    [run] = runs(dot, _accesses(dot), edited=())
    assert run.accesses == tuple(_accesses(dot))  # both loads, in the one statement of the loop body
    assert dot[run.start - 1].op == 0x03  # right after `loop`
    assert dot[run.end - 1].op == 0x21  # through the `local.set` of the sum


def test_runs_stop_at_branches_calls_and_edited_instructions() -> None:
    mixed = _body(KERNELS, 2)
    accesses = _accesses(mixed)
    found = runs(mixed, accesses, edited=(), min_accesses=1)
    covered = {a for r in found for a in r.accesses}
    # the two stores and the load of the first two statements are one run
    assert found[0].accesses == tuple(accesses[:3])
    # the load whose value the `if` takes, and the one whose value goes to `call $id`, are in none
    assert accesses[3] not in covered and accesses[5] not in covered
    # an edited instruction (another pass's code there) splits the first run in two
    split = runs(mixed, accesses, edited={accesses[1] + 1}, min_accesses=1)
    assert split[0].accesses == tuple(accesses[:1])


def _preempts(wat: str, budget: int, cost: int = 100) -> tuple[int, list[int]]:
    """Run `run(41)` with the counter refilled to `budget` at each quantum end: the result and the
    counter's value at each quantum end."""
    wasm = instrument(bytes(wasmtime.wat2wasm(wat)), InstrumentLevel.SHARED,
                      [PreemptCounterPass(budget, access_cost=cost)]).wasm
    config = wasmtime.Config()
    config.wasm_threads = True
    config.shared_memory = True
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    seen: list[int] = []

    def preempt(caller: wasmtime.Caller) -> None:
        counter = caller.get(BUDGET_EXPORT)
        assert isinstance(counter, wasmtime.Global)
        seen.append(int(counter.value(caller)))
        counter.set_value(caller, wasmtime.Val.i64(budget))

    linker.define_func("wasmconc", "preempt", wasmtime.FuncType([], []), preempt, access_caller=True)
    memory = wasmtime.SharedMemory(engine, wasmtime.MemoryType(wasmtime.Limits(1, 1), is_64=False, shared=True))
    define_shared_memory(linker, store, "env", "memory", memory)
    run = linker.instantiate(store, wasmtime.Module(engine, wasm)).exports(store)["run"]
    assert isinstance(run, wasmtime.Func)
    return run(store, 41), seen


@pytest.mark.parametrize("budget", [1, 99, 100, 101, 150, 199, 200, 201, 250, 333, 401, 777, 1000, 1601, 10**6])
def test_quanta_end_where_one_check_per_access_ends_them(budget: int, monkeypatch: pytest.MonkeyPatch) -> None:
    batched = _preempts(KERNELS, budget)
    monkeypatch.setattr(preempt_module, "runs", lambda *args, **kw: [])
    assert batched == _preempts(KERNELS, budget)


def test_a_run_is_checked_once_when_the_counter_covers_it() -> None:
    wasm = bytes(wasmtime.wat2wasm(KERNELS))
    out = instrument(wasm, InstrumentLevel.SHARED, [PreemptCounterPass(1000, access_cost=100)]).wasm
    info = parse_module(out)
    instrs, _ = decode_expr(out, info.bodies[1].code_start, info.bodies[1].end)
    # $dot: the unchecked copy of the loop body holds no call; the checked one a call per load
    loads = [i for i, ins in enumerate(instrs) if ins.op == 0x2B]
    assert len(loads) == 4
    between = instrs[loads[0]:loads[1]]
    assert not any(ins.op == 0x10 for ins in between)
