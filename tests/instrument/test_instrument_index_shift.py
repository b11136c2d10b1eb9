"""Function indices shift everywhere once imports are added in front of them."""

from __future__ import annotations

import difflib
import re

import pytest
import wasmtime
from instr_wasm_support import (
    assert_valid,
    engine,
    force_shift,
    print_wat,
    run_wasm_tools,
    wat,
)

from pytest_wasmconc.instrument import ModuleRewriter, function_names, instrument
from pytest_wasmconc.instrument.names import _subsections
from pytest_wasmconc.instrument.reader import Reader

SHIFT_WAT = """
(module
  (type $t (func (result i32)))
  (import "env" "imp" (func $imp (result i32)))
  (memory 1 1 shared)
  (table $tab 4 funcref)
  (table $tab2 2 (ref null $t) (ref.func $b))
  (global $g (ref null $t) (ref.func $c))
  (global $started (mut i32) (i32.const 0))
  (elem (table $tab) (i32.const 0) func $a $b)
  (elem (table $tab) (i32.const 2) funcref (ref.func $c) (ref.null func))
  (elem $passive func $a $c)
  (elem declare func $d)
  (func $a (export "a") (type $t)
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1))) (i32.const 1))
  (func $b (type $t) (i32.const 2))
  (func $c (type $t) (local $x i32) (local.set $x (i32.const 3)) (local.get $x))
  (func $d (type $t) (i32.const 4))
  (func $tail (export "tail") (result i32) (return_call $c))
  (func $calls (export "calls") (result i32)
    (i32.add (call $a) (i32.add (call $b) (i32.add (call $c) (call $d)))))
  (func $indirect (export "indirect") (param i32) (result i32)
    (call_indirect (type $t) (local.get 0)))
  (func $viaref (export "viaref") (result i32) (call_ref $t (ref.func $d)))
  (func $viaglobal (export "viaglobal") (result i32) (call_ref $t (global.get $g)))
  (func $viatab2 (export "viatab2") (result i32) (call_ref $t (table.get $tab2 (i32.const 1))))
  (func $frompassive (export "frompassive") (result i32)
    (table.init $tab $passive (i32.const 3) (i32.const 1) (i32.const 1))
    (call_indirect (type $t) (i32.const 3)))
  (func $s (global.set $started (i32.const 42)))
  (func $started (export "started") (result i32) (global.get $started))
  (start $s)
)
"""


def instance_of(wasm: bytes) -> tuple[wasmtime.Store, wasmtime.Instance]:
    store = wasmtime.Store(engine())
    linker = wasmtime.Linker(engine())
    i32 = wasmtime.ValType.i32()
    linker.define_func("env", "imp", wasmtime.FuncType([], [i32]), lambda: 100)
    linker.define_func("wasmconc", "sched_point", wasmtime.FuncType([i32], []), lambda site: None)
    return store, linker.instantiate(store, wasmtime.Module(engine(), wasm))


def observe(wasm: bytes) -> dict[str, int]:
    store, inst = instance_of(wasm)
    exports = inst.exports(store)

    def call(name: str, *args: int) -> int:
        f = exports[name]
        assert isinstance(f, wasmtime.Func)
        result = f(store, *args)
        assert isinstance(result, int)
        return result

    seen = {
        name: call(name)
        for name in (
            "a",
            "tail",
            "calls",
            "viaref",
            "viaglobal",
            "viatab2",
            "started",
            "frompassive",
        )
    }
    for slot in range(3):
        seen[f"indirect{slot}"] = call("indirect", slot)
    return seen


def test_instrumented_module_calls_the_same_functions_everywhere() -> None:
    data = wat(SHIFT_WAT)
    r = instrument(data)
    assert r.imports_added == [("wasmconc", "sched_point")]
    assert_valid(r.wasm)
    expected = {
        "a": 1,
        "tail": 3,
        "calls": 10,
        "viaref": 4,
        "viaglobal": 3,
        "viatab2": 2,
        "started": 42,
        "frompassive": 3,
        "indirect0": 1,
        "indirect1": 2,
        "indirect2": 3,
    }
    assert observe(data) == expected
    assert observe(r.wasm) == expected


def test_three_added_imports_shift_everything_by_three() -> None:
    data = wat(SHIFT_WAT)
    out = force_shift(data, 3)
    assert_valid(out)
    rw = ModuleRewriter(out)
    assert rw.info.num_imported_funcs == 4
    store = wasmtime.Store(engine())
    linker = wasmtime.Linker(engine())
    i32 = wasmtime.ValType.i32()
    linker.define_func("env", "imp", wasmtime.FuncType([], [i32]), lambda: 100)
    for k in range(3):
        linker.define_func("test", f"dummy{k}", wasmtime.FuncType([i32], []), lambda x: None)
    inst = linker.instantiate(store, wasmtime.Module(engine(), out))
    calls = inst.exports(store)["calls"]
    assert isinstance(calls, wasmtime.Func)
    assert calls(store) == 10


def test_name_section_keeps_original_names_at_new_indices() -> None:
    data = wat(SHIFT_WAT)
    before = function_names(data)
    r = instrument(data)
    after = function_names(r.wasm)
    assert after == {(i if i < 1 else i + 1): n for i, n in before.items()}
    assert r.func_names == after
    assert before[0] == "imp" and after[0] == "imp"  # imports keep their index
    assert after[2] == "a" and after[4] == "c"


def _local_names(wasm: bytes) -> dict[int, dict[int, str]]:
    sec = ModuleRewriter(wasm).info.custom("name")
    assert sec is not None
    out: dict[int, dict[int, str]] = {}
    for sid, _, start, end in _subsections(wasm, sec.body, sec.end):
        if sid == 2:
            r = Reader(wasm, start, end)
            for _ in range(r.u32()):
                f = r.u32()
                out[f] = {r.u32(): r.name() for _ in range(r.u32())}
    return out


def test_local_names_move_with_their_function() -> None:
    data = wat(SHIFT_WAT)
    r = instrument(data)
    assert _local_names(data)[3] == {0: "x"}
    assert _local_names(r.wasm)[4] == {0: "x"}
    assert 3 not in _local_names(r.wasm)


def test_other_custom_sections_are_kept_byte_for_byte_in_order() -> None:
    src = (
        SHIFT_WAT.rstrip().rstrip(")")
        + """
      (@custom "before-code" (before code) "\\01\\02\\03")
      (@custom "at-end" (after last) "payload"))"""
    )
    data = wat(src)
    r = instrument(data)
    assert_valid(r.wasm)

    def customs(w: bytes) -> list[tuple[str | None, bytes]]:
        info = ModuleRewriter(w).info
        return [(s.name, w[s.start : s.end]) for s in info.sections if s.id == 0]

    before, after = customs(data), customs(r.wasm)
    assert [n for n, _ in before] == [n for n, _ in after]
    for (name, raw_before), (_, raw_after) in zip(before, after):
        if name != "name":
            assert raw_before == raw_after


_COMMENT = re.compile(r"\s*\(;\d+;\)")


def _normalised(wasm: bytes) -> list[str]:
    return [_COMMENT.sub("", line) for line in print_wat(wasm).splitlines()]


def test_printed_module_differs_only_by_insertions() -> None:
    # With a name section, `wasm-tools print` shows functions by name, so a
    # wrongly shifted index anywhere would print as a different name.
    data = wat(SHIFT_WAT)
    r = instrument(data)
    a, b = _normalised(data), _normalised(r.wasm)
    allowed = re.compile(r'^\s*(\(type \(func.*\)\)|\(import "wasmconc" .*|i32\.const \d+|call 1)$')
    # The atomic progress count (instrument/progress.py): its global, export, locals and code.
    progress = re.compile(r'^\s*(\(global \(mut i32\) i32\.const 0\)|\(export "__wasmconc_progress" \(global \d+\)\)|'
                          r'\(local( i(32|64))+\)|local\.(get|set|tee) \d+|i(32|64)\.(const -?\d+|ne|eq|and|xor|add)|'
                          r'if ;; label = @\d+|end|global\.(get|set) \d+)$')
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        assert tag == "insert", (tag, a[i1:i2], b[j1:j2])
        for line in b[j1:j2]:
            assert allowed.match(line) or progress.match(line), line


COMPACT_IMPORTS = {
    "shared-module-name": """(module
      (import "a" (item "b" (func (result i32))) (item "c" (func (result i32))))
      (memory 1 1 shared)
      (func (export "f") (result i32)
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1))) (call 1)))""",
    "shared-module-name-and-type": """(module
      (import "a" (item "b") (item "c") (func (result i32)))
      (memory 1 1 shared)
      (func (export "f") (result i32)
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1))) (call 1)))""",
}


@pytest.mark.parametrize("form", sorted(COMPACT_IMPORTS))
def test_compact_import_encodings_count_every_imported_function(form: str) -> None:
    # wasmtime 50 decodes but will not compile the compact-import-section
    # proposal, so wasm-tools validates and we check the indices directly.
    data = wat(COMPACT_IMPORTS[form])
    assert ModuleRewriter(data).info.num_imported_funcs == 2
    r = instrument(data)
    run_wasm_tools("validate", "--features", "all", "-", stdin=r.wasm)
    rw = ModuleRewriter(r.wasm)
    assert rw.info.num_imported_funcs == 3
    assert [i.name for i in rw.info.imports] == ["b", "c", "sched_point"]
    calls = [ins.imm for ins in rw.editor(3).instrs if ins.op == 0x10]
    assert calls == [(2,), (1,)]  # sched_point, then the original `call 1`
