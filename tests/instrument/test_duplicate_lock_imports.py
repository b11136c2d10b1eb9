"""A guest importing one of the wasmconc lock imports twice: the calls through every import get sites."""

from __future__ import annotations

import wasmtime
from instr_wasm_support import assert_valid, engine, wat

from pytest_wasmconc.instrument import InstrumentLevel, instrument
from pytest_wasmconc.instrument.locks import (
    DEFAULT_LOCK_TABLE,
    USER_ACQUIRED,
    USER_RELEASED,
    LockInstrumentation,
    LockPass,
)

TWICE = """
(module
  (import "wasmconc" "lock_acquired" (func $acquired_a (param i32)))
  (import "wasmconc" "lock_released" (func $released (param i32)))
  (import "wasmconc" "lock_acquired" (func $acquired_b (param i32)))
  (memory 1)
  (func (export "user")
    (call $acquired_a (i32.const 64))
    (call $acquired_b (i32.const 68))
    (call $released (i32.const 68))
    (call $released (i32.const 64))))
"""


def test_calls_through_both_imports_of_lock_acquired_report_to_the_host() -> None:
    inst = instrument(wat(TWICE), InstrumentLevel.WAITS, [LockPass(DEFAULT_LOCK_TABLE).run])
    assert_valid(inst.wasm)
    info = inst.pass_results[0]
    assert isinstance(info, LockInstrumentation)
    events: list[tuple[str, int]] = []
    i32 = wasmtime.ValType.i32()

    def hook(lock_id: int, result: int, site: int) -> None:
        events.append((info.sites[site].kind, lock_id))

    linker = wasmtime.Linker(engine())
    linker.define_func("wasmconc", "lock_event", wasmtime.FuncType([i32, i32, i32], []), hook)
    for name in ("lock_acquired", "lock_released"):  # one definition serves both imports of a name
        linker.define_func("wasmconc", name, wasmtime.FuncType([i32], []), lambda m: None)
    store = wasmtime.Store(engine())
    user = linker.instantiate(store, wasmtime.Module(engine(), inst.wasm)).exports(store)["user"]
    assert isinstance(user, wasmtime.Func)
    user(store)
    assert events == [(USER_ACQUIRED, 64), (USER_ACQUIRED, 68), (USER_RELEASED, 68), (USER_RELEASED, 64)]
