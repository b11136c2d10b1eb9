"""The restart pass (instrument/restart.py): what the reset path needs to put an instance back.

It exports the start function (an empty one for a module without), every mutable global with its
constant initial value, turns `data.drop` into nops so the start function can run again in the
same instance, and says why an instance cannot be reset exactly when it cannot.
"""

from __future__ import annotations

import wasmtime
from instr_wasm_support import assert_valid, engine, wat

from pytest_wasmconc.instrument import instrument
from pytest_wasmconc.instrument.restart import START_EXPORT, RestartPass, RestartReport
from pytest_wasmconc.runtime.wasmtime import capi

SHARED = '(import "env" "memory" (memory 1 1 shared))'


def _run(text: str) -> tuple[bytes, RestartReport]:
    out = instrument(wat(text), passes=[RestartPass()])
    report = out.pass_results[0]
    assert isinstance(report, RestartReport)
    assert_valid(out.wasm)
    return out.wasm, report


def _instance(wasm: bytes) -> tuple[wasmtime.Store, wasmtime.Instance]:
    store = wasmtime.Store(engine())
    memory = wasmtime.SharedMemory(engine(), wasmtime.MemoryType(wasmtime.Limits(1, 1), shared=True))
    linker = wasmtime.Linker(engine())
    capi.define_shared_memory(linker, store, "env", "memory", memory)  # (wasmtime-py's define cannot)
    return store, linker.instantiate(store, wasmtime.Module(engine(), wasm))


def test_the_start_function_runs_again_in_the_same_instance() -> None:
    # wasm-ld's shape: copy a passive segment in, then drop it; a second run would trap without the nops
    wasm, report = _run(f'''(module {SHARED}
        (global $n (mut i32) (i32.const 7))
        (data $d "hello")
        (func $init (memory.init $d (i32.const 0) (i32.const 0) (i32.const 5)) (data.drop $d)
                    (global.set $n (i32.add (global.get $n) (i32.const 1))))
        (start $init)
        (func (export "_start")))''')
    assert report.restartable and report.has_start
    assert [(g.kind, g.value) for g in report.globals] == [("i32", 7)]
    store, inst = _instance(wasm)
    start = inst.exports(store)[START_EXPORT]
    assert isinstance(start, wasmtime.Func)
    start(store)  # the segment is still there
    counter = inst.exports(store)[report.globals[0].export]
    assert isinstance(counter, wasmtime.Global) and counter.value(store) == 9


def test_a_module_without_a_start_function_gets_an_empty_one() -> None:
    wasm, report = _run(f'(module {SHARED} (func (export "_start")))')
    assert report.restartable and report.has_start and report.globals == []
    store, inst = _instance(wasm)
    start = inst.exports(store)[START_EXPORT]
    assert isinstance(start, wasmtime.Func) and start(store) is None


def test_every_numeric_constant_is_read_back() -> None:
    _, report = _run(f'''(module {SHARED}
        (global (mut i64) (i64.const -5)) (global (mut f32) (f32.const 1.5)) (global (mut f64) (f64.const -2.25))
        (global i32 (i32.const 3))
        (func (export "_start")))''')
    assert [(g.kind, g.value) for g in report.globals] == [("i64", -5), ("f32", 1.5), ("f64", -2.25)]


def test_what_cannot_be_reset_is_named() -> None:
    cases = {
        "it writes tables (table.set)": f'''(module {SHARED} (table 1 funcref)
            (func (export "_start") (table.set (i32.const 0) (ref.null func))))''',
        "it has active data segments (instantiation writes them)": f'''(module {SHARED}
            (data (i32.const 0) "x") (func (export "_start")))''',
        "it defines a memory of its own": '(module (memory 1) (func (export "_start")))',
    }
    for reason, text in cases.items():
        assert _run(text)[1].reason == reason
    imported = '''(module (import "env" "g" (global i32)) (global (mut i32) (global.get 0))
        (func (export "_start")))'''
    assert _run(imported)[1].reason == "global 1 starts from a value that is not a constant"


def test_a_module_instrumented_before_is_left_as_it_is() -> None:
    once, _ = _run(f'(module {SHARED} (func (export "_start")))')
    again = instrument(once, passes=[RestartPass()])
    assert again.pass_results[0].reason == "it was instrumented for a reset before"
