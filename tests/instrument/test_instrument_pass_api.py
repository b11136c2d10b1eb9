"""The rewriter API is enough for the passes planned on top of the atomics one.

Two example passes written against the public API -- lock hooks at function
entry/exit and counters at loop headers -- composed with the atomics pass on
one `ModuleRewriter`, and run in wasmtime.
"""

from __future__ import annotations

import re

import wasmtime
from instr_wasm_support import assert_valid, engine, wat

from pytest_wasmconc.instrument import (
    FuncRef,
    InstrumentLevel,
    ModuleRewriter,
    Snippet,
    function_names,
)
from pytest_wasmconc.instrument.atomics import AtomicsPass
from pytest_wasmconc.instrument.opcodes import (
    LOOP,
    RETURN,
    RETURN_CALL,
    RETURN_CALL_INDIRECT,
    RETURN_CALL_REF,
)

BR = 0x0C
TAIL_EXITS = (RETURN, RETURN_CALL, RETURN_CALL_INDIRECT, RETURN_CALL_REF)


def hook_pass(rw: ModuleRewriter, names: dict[int, str], pattern: str) -> None:
    """enter(func, arg0) at entry; leave(func) wherever the function exits."""
    enter = rw.import_func("hooks", "enter", ["i32", "i32"], [])
    leave = rw.import_func("hooks", "leave", ["i32"], [])
    for fb in rw.bodies():
        name = names.get(fb.index)
        if name is None or not re.fullmatch(pattern, name):
            continue
        ed = rw.editor(fb.index)
        ed.insert_before(0, Snippet().i32_const(fb.index).local_get(0).call(enter))
        depths = ed.depths()
        last = len(ed.instrs) - 1
        for i, ins in enumerate(ed.instrs):
            to_function_label = ins.op == BR and ins.imm[0] == depths[i] - 1
            if ins.op in TAIL_EXITS or to_function_label or i == last:
                ed.insert_before(i, Snippet().i32_const(fb.index).call(leave))


def loop_counter_pass(rw: ModuleRewriter) -> int:
    """count(loop id) at every loop header; returns the number of loops."""
    count = rw.import_func("hooks", "count", ["i32"], [])
    loops = 0
    for fb in rw.bodies():
        ed = rw.editor(fb.index)
        for i, ins in enumerate(ed.instrs):
            if ins.op == LOOP:
                ed.insert_after(i, Snippet().i32_const(loops).call(count))
                loops += 1
        rw.release(fb.index)
    return loops


PROGRAM = """
(module
  (memory 1 1 shared)
  (func $mutex_lock (param $m i32) (result i32)
    (if (i32.eqz (local.get $m)) (then (return (i32.const 0))))
    (drop (i32.atomic.rmw.add (local.get $m) (i32.const 1)))
    (block $out (br_if $out (i32.const 0)) (br 1 (i32.const 99)))  ;; leaves the function
    (i32.const 98))
  (func $mutex_unlock (param $m i32) (result i32)
    (return_call $helper (local.get $m)))
  (func $helper (param i32) (result i32) (i32.const 7))
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (call $mutex_lock (i32.const 16))))
      (local.set $acc (i32.add (local.get $acc) (call $mutex_unlock (i32.const 16))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.add (local.get $acc) (call $mutex_lock (i32.const 0)))))
"""


def run(wasm: bytes, events: list[tuple[str, ...]]) -> int:
    i32 = wasmtime.ValType.i32()
    ft = wasmtime.FuncType
    linker = wasmtime.Linker(engine())
    linker.define_func(
        "wasmconc", "sched_point", ft([i32], []), lambda s: events.append(("sched", s))
    )
    linker.define_func(
        "hooks", "enter", ft([i32, i32], []), lambda f, a: events.append(("enter", f, a))
    )
    linker.define_func("hooks", "leave", ft([i32], []), lambda f: events.append(("leave", f)))
    linker.define_func("hooks", "count", ft([i32], []), lambda n: events.append(("loop", n)))
    store = wasmtime.Store(engine())
    f = linker.instantiate(store, wasmtime.Module(engine(), wasm)).exports(store)["run"]
    assert isinstance(f, wasmtime.Func)
    result = f(store, 2)
    assert isinstance(result, int)
    return result


def test_hook_and_counter_passes_compose_with_the_atomics_pass() -> None:
    data = wat(PROGRAM)
    names = function_names(data)
    rw = ModuleRewriter(data)
    sites = AtomicsPass(InstrumentLevel.ATOMICS).run(rw, names)
    hook_pass(rw, names, r"mutex_(un)?lock")
    assert loop_counter_pass(rw) == 1
    out = rw.emit()
    assert_valid(out)
    events: list[tuple[str, ...]] = []
    assert run(out, events) == run(data, []) == 2 * (99 + 7) + 0
    lock, unlock = 0, 1
    one_round = [
        ("enter", lock, 16), ("sched", sites[0].index), ("leave", lock),
        ("enter", unlock, 16), ("leave", unlock),
    ]  # fmt: skip
    assert events == [
        ("loop", 0), *one_round, ("loop", 0), *one_round,
        ("enter", lock, 0), ("leave", lock),
    ]  # fmt: skip
    # Names still name the right functions after four imports were added.
    assert function_names(out)[lock + 4] == "mutex_lock"


def test_snippets_can_call_original_functions_by_original_index() -> None:
    data = wat("""(module
      (global $g (export "g") (mut i32) (i32.const 0))
      (func $bump (global.set $g (i32.add (global.get $g) (i32.const 1))))
      (func (export "f") nop))""")
    rw = ModuleRewriter(data)
    rw.import_func("x", "unused", [], [])
    ed = rw.editor(1)
    ed.insert_before(0, Snippet().call(FuncRef(0)).call(FuncRef(0)))
    out = rw.emit()
    assert_valid(out)
    store = wasmtime.Store(engine())
    linker = wasmtime.Linker(engine())
    linker.define_func("x", "unused", wasmtime.FuncType([], []), lambda: None)
    exports = linker.instantiate(store, wasmtime.Module(engine(), out)).exports(store)
    f, g = exports["f"], exports["g"]
    assert isinstance(f, wasmtime.Func) and isinstance(g, wasmtime.Global)
    f(store)
    assert g.value(store) == 2


def test_added_locals_are_appended_after_params_and_declared_locals() -> None:
    data = wat("""(module (func (export "f") (param i32 i64) (result i32)
      (local f32) (local.get 0)))""")
    rw = ModuleRewriter(data)
    ed = rw.editor(0)
    tmp = ed.add_local(b"\x7f")
    assert tmp == 3
    ed.insert_before(0, Snippet().i32_const(5).local_set(tmp))
    ed.replace(0, Snippet().local_get(tmp))
    out = rw.emit()
    assert_valid(out)
    store = wasmtime.Store(engine())
    f = wasmtime.Instance(store, wasmtime.Module(engine(), out), []).exports(store)["f"]
    assert isinstance(f, wasmtime.Func)
    assert f(store, 1, 2) == 5
