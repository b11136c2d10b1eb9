"""Each rewrite the instrumenter performs, pinned down on hand-written WAT."""

from __future__ import annotations

import wasmtime
from instr_wasm_support import assert_valid, engine, wat

from pytest_wasmconc.instrument import InstrumentLevel, ModuleRewriter, instrument
from pytest_wasmconc.instrument.decode import decode_expr

WAITS, ATOMICS, MEMORY = InstrumentLevel.WAITS, InstrumentLevel.ATOMICS, InstrumentLevel.MEMORY


def body_ops(wasm: bytes, func_index: int) -> list[tuple[int, tuple[object, ...]]]:
    """(opcode key, immediates) of a defined function, final `end` dropped."""
    rw = ModuleRewriter(wasm)
    fb = rw.info.bodies[func_index - rw.info.num_imported_funcs]
    instrs, _ = decode_expr(wasm, fb.code_start, fb.end)
    return [(i.op, i.imm) for i in instrs[:-1]]


def imports_of(wasm: bytes) -> list[tuple[str, str, str]]:
    m = wasmtime.Module(engine(), wasm)
    return [(i.module, i.name or "", str(i.type)) for i in m.imports]


def functype(wasm: bytes, module: str, name: str) -> tuple[list[str], list[str]]:
    for imp in wasmtime.Module(engine(), wasm).imports:
        if (imp.module, imp.name) == (module, name):
            ty = imp.type
            assert isinstance(ty, wasmtime.FuncType)
            return [str(p) for p in ty.params], [str(r) for r in ty.results]
    raise AssertionError(f"no import {module}.{name}")


LOCAL_GET, I32_CONST, I64_CONST, CALL = 0x20, 0x41, 0x42, 0x10

WAITS_WAT = """
(module
  (memory 1 1 shared)
  (func (export "w32") (param i32 i32 i64) (result i32)
    (memory.atomic.wait32 offset=8 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "w64") (param i32 i64 i64) (result i32)
    (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "n") (param i32 i32) (result i32)
    (memory.atomic.notify offset=4 (local.get 0) (local.get 1))))
"""


def test_wait32_becomes_call_with_offset_and_memidx_pushed() -> None:
    r = instrument(wat(WAITS_WAT))
    assert_valid(r.wasm)
    wait32 = r.imports_added.index(("wasmconc", "wait32"))
    assert body_ops(r.wasm, 3) == [
        (LOCAL_GET, (0,)),
        (LOCAL_GET, (1,)),
        (LOCAL_GET, (2,)),
        (I32_CONST, (8,)),
        (I32_CONST, (0,)),
        (CALL, (wait32,)),
    ]
    assert functype(r.wasm, "wasmconc", "wait32") == (["i32", "i32", "i64", "i32", "i32"], ["i32"])


def test_wait64_becomes_call_with_i64_expected() -> None:
    r = instrument(wat(WAITS_WAT))
    wait64 = r.imports_added.index(("wasmconc", "wait64"))
    assert body_ops(r.wasm, 4)[-3:] == [(I32_CONST, (0,)), (I32_CONST, (0,)), (CALL, (wait64,))]
    assert functype(r.wasm, "wasmconc", "wait64") == (["i32", "i64", "i64", "i32", "i32"], ["i32"])


def test_notify_becomes_call() -> None:
    r = instrument(wat(WAITS_WAT))
    notify = r.imports_added.index(("wasmconc", "notify"))
    assert body_ops(r.wasm, 5)[-3:] == [(I32_CONST, (4,)), (I32_CONST, (0,)), (CALL, (notify,))]
    assert functype(r.wasm, "wasmconc", "notify") == (["i32", "i32", "i32", "i32"], ["i32"])


def test_sites_describe_each_rewrite_in_code_order() -> None:
    data = wat(WAITS_WAT)
    r = instrument(data)
    assert [(s.index, s.kind, s.func_index) for s in r.sites] == [
        (0, "wait32", 0),
        (1, "wait64", 1),
        (2, "notify", 2),
    ]
    for site, sub in zip(r.sites, (0x01, 0x02, 0x00)):
        assert data[site.offset : site.offset + 2] == bytes((0xFE, sub))


def test_only_needed_imports_are_added_in_first_use_order() -> None:
    r = instrument(wat(WAITS_WAT))
    assert r.imports_added == [
        ("wasmconc", "wait32"),
        ("wasmconc", "wait64"),
        ("wasmconc", "notify"),
    ]
    assert r.changed


def test_offsets_above_2_31_are_pushed_as_twos_complement_i32() -> None:
    src = """(module (memory 1 1 shared)
      (func (param i32) (result i32)
        (memory.atomic.notify offset=4294967292 (local.get 0) (i32.const 1))))"""
    r = instrument(wat(src))
    assert_valid(r.wasm)
    assert body_ops(r.wasm, 1)[-3] == (I32_CONST, (-4,))


RMW_WAT = """
(module
  (memory 1 1 shared)
  (func $f (export "f") (param i32) (result i32)
    (drop (i32.atomic.load (local.get 0)))
    (i32.atomic.store (local.get 0) (i32.const 1))
    (drop (i32.atomic.rmw.add (local.get 0) (i32.const 1)))
    (drop (i64.atomic.rmw8.xchg_u (local.get 0) (i64.const 1)))
    (atomic.fence)
    (i32.atomic.rmw.cmpxchg (local.get 0) (i32.const 1) (i32.const 2))))
"""


def test_atomics_level_puts_sched_point_before_rmw_and_cmpxchg_only() -> None:
    r = instrument(wat(RMW_WAT), ATOMICS)
    assert_valid(r.wasm)
    assert [s.kind for s in r.sites] == ["rmw", "rmw", "cmpxchg"]
    assert r.imports_added == [("wasmconc", "sched_point")]
    assert functype(r.wasm, "wasmconc", "sched_point") == (["i32"], [])
    ops = body_ops(r.wasm, 1)
    calls = [i for i, (op, imm) in enumerate(ops) if op == CALL]
    assert len(calls) == 3
    for site, i in zip(r.sites, calls):
        # `i32.const site; call sched_point` sits right before the atomic op,
        # after its operands were pushed.
        assert ops[i - 1] == (I32_CONST, (site.index,))
        assert ops[i][1] == (0,)
        assert ops[i + 1][0] >> 16 == 0xFE


def test_memory_level_also_instruments_atomic_loads_and_stores() -> None:
    r = instrument(wat(RMW_WAT), MEMORY)
    assert_valid(r.wasm)
    assert [s.kind for s in r.sites] == ["load", "store", "rmw", "rmw", "cmpxchg"]
    assert [s.index for s in r.sites] == [0, 1, 2, 3, 4]


def test_waits_level_leaves_rmw_alone_and_module_identical() -> None:
    data = wat(RMW_WAT)
    r = instrument(data, WAITS)
    assert not r.changed and r.sites == [] and r.imports_added == []
    assert r.wasm == data


def test_waits_level_still_rewrites_waits_but_adds_no_sched_points() -> None:
    r = instrument(wat(WAITS_WAT), WAITS)
    assert [s.kind for s in r.sites] == ["wait32", "wait64", "notify"]
    assert ("wasmconc", "sched_point") not in r.imports_added


def test_default_level_is_atomics() -> None:
    assert instrument(wat(RMW_WAT)).sites == instrument(wat(RMW_WAT), ATOMICS).sites


def test_multi_memory_passes_memidx_and_offset() -> None:
    src = """(module
      (memory $a 1 1 shared) (memory $b 1 1 shared)
      (func (param i32) (result i32)
        (memory.atomic.notify $b offset=12 (local.get 0) (i32.const 1)))
      (func (param i32) (result i32)
        (i32.atomic.rmw.add $b offset=3 (local.get 0) (i32.const 1))))"""
    data = wat(src)
    r = instrument(data)
    assert_valid(r.wasm)
    assert body_ops(r.wasm, 2)[-3:] == [(I32_CONST, (12,)), (I32_CONST, (1,)), (CALL, (0,))]
    # the memarg (with its explicit memory index) is kept on the rmw
    assert (0xFE001E, (2, 1, 3)) in body_ops(r.wasm, 3)


def test_memory64_uses_m64_imports_with_i64_address_and_offset() -> None:
    src = """(module
      (memory i64 1 1 shared)
      (func (param i64 i32 i64) (result i32)
        (memory.atomic.wait32 offset=16 (local.get 0) (local.get 1) (local.get 2)))
      (func (param i64 i64 i64) (result i32)
        (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
      (func (param i64) (result i32)
        (memory.atomic.notify (local.get 0) (i32.const 1))))"""
    r = instrument(wat(src))
    assert_valid(r.wasm)
    assert r.imports_added == [
        ("wasmconc", "wait32_m64"),
        ("wasmconc", "wait64_m64"),
        ("wasmconc", "notify_m64"),
    ]
    assert functype(r.wasm, "wasmconc", "wait32_m64") == (
        ["i64", "i32", "i64", "i64", "i32"],
        ["i32"],
    )
    assert functype(r.wasm, "wasmconc", "wait64_m64") == (
        ["i64", "i64", "i64", "i64", "i32"],
        ["i32"],
    )
    assert functype(r.wasm, "wasmconc", "notify_m64") == (["i64", "i32", "i64", "i32"], ["i32"])
    assert body_ops(r.wasm, 3)[-3:] == [(I64_CONST, (16,)), (I32_CONST, (0,)), (CALL, (0,))]


def test_mixed_memory32_and_memory64_get_both_import_flavours() -> None:
    src = """(module
      (memory $m32 1 1 shared) (memory $m64 i64 1 1 shared)
      (func (param i32 i64) (result i32)
        (memory.atomic.notify $m32 (local.get 0) (i32.const 1))
        (memory.atomic.notify $m64 (local.get 1) (i32.const 1))
        i32.add))"""
    r = instrument(wat(src))
    assert_valid(r.wasm)
    assert r.imports_added == [("wasmconc", "notify"), ("wasmconc", "notify_m64")]
    assert [(m.memory64, m.shared) for m in r.memories] == [(False, True), (True, True)]


def test_new_imports_follow_existing_function_imports() -> None:
    src = """(module
      (import "env" "a" (func $a (param i32)))
      (import "env" "mem" (memory 1 1 shared))
      (import "env" "b" (func $b (result i32)))
      (import "env" "g" (global i32))
      (func $c (export "c") (result i32)
        (call $a (i32.const 0))
        (i32.atomic.rmw.add (call $b) (i32.const 1))))"""
    r = instrument(wat(src))
    assert_valid(r.wasm)
    names = [(m, n) for m, n, _ in imports_of(r.wasm)]
    assert names == [
        ("env", "a"),
        ("env", "mem"),
        ("env", "b"),
        ("env", "g"),
        ("wasmconc", "sched_point"),
    ]
    # existing imports keep 0 and 1; the sched point is 2; $c moved 2 -> 3
    ops = body_ops(r.wasm, 3)
    assert [imm for op, imm in ops if op == CALL] == [(0,), (1,), (2,)]


def test_existing_identical_function_type_is_reused() -> None:
    src = """(module (memory 1 1 shared)
      (type (func (param i32)))
      (func (param i32) (drop (i32.atomic.rmw.add (local.get 0) (i32.const 1)))))"""
    data = wat(src)
    r = instrument(data)
    assert_valid(r.wasm)
    assert ModuleRewriter(r.wasm).info.type_count == ModuleRewriter(data).info.type_count


def test_types_in_rec_groups_or_with_subtyping_are_not_reused() -> None:
    # (sub (func (param i32))) is a different type from a final (func (param i32)):
    # reusing it would make the import's type unlinkable with a host function.
    src = """(module (memory 1 1 shared)
      (rec (type (func (param i32))) (type (func (param i64))))
      (type (sub (func (param i32))))
      (func (type 1) (param i64)))
    """
    data = wat(src)
    rw = ModuleRewriter(data)
    assert rw.func_type(["i32"], []) == 3
    assert_valid(rw.emit())


def test_sched_point_in_unreachable_code_still_validates() -> None:
    src = """(module (memory 1 1 shared)
      (func (param i32) (result i32)
        unreachable
        i32.atomic.rmw.add
        drop
        (memory.atomic.wait32 (local.get 0) (i32.const 0) (i64.const 0))))"""
    r = instrument(wat(src))
    assert_valid(r.wasm)
    assert [s.kind for s in r.sites] == ["rmw", "wait32"]


def test_missing_import_section_is_created_after_the_type_section() -> None:
    src = """(module (memory 1 1 shared)
      (func (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))))"""
    r = instrument(wat(src))
    assert_valid(r.wasm)
    ids = [s.id for s in ModuleRewriter(r.wasm).info.sections]
    assert ids[:3] == [1, 2, 3]


def test_missing_type_and_import_sections_are_created_in_order() -> None:
    # Custom sections stay where they were; the new known sections go before
    # the first known section that must follow them.
    data = wat(
        '(module (@custom "first" (before first) "1") (memory 1) (@custom "last" (after last) "2"))'
    )
    rw = ModuleRewriter(data)
    rw.import_func("m", "f", ["i32"], ["i32"])
    out = rw.emit()
    assert_valid(out)
    secs = ModuleRewriter(out).info.sections
    assert [(s.id, s.name) for s in secs] == [
        (0, "first"),
        (1, None),
        (2, None),
        (5, None),
        (0, "last"),
    ]


def test_existing_wasmconc_import_with_the_same_type_is_reused() -> None:
    # A guest that marks its own scheduling points imports sched_point
    # already; the instrumenter calls that import instead of adding a twin.
    src = """(module
      (import "wasmconc" "sched_point" (func $sp (param i32)))
      (memory 1 1 shared)
      (func (param i32) (result i32)
        (call $sp (i32.const 100))
        (i32.atomic.rmw.add (local.get 0) (i32.const 1))))"""
    data = wat(src)
    r = instrument(data)
    assert_valid(r.wasm)
    assert r.imports_added == []
    assert r.changed
    ops = body_ops(r.wasm, 1)
    assert [imm for op, imm in ops if op == CALL] == [(0,), (0,)]


def test_instrumenting_twice_adds_no_new_imports_and_no_waits_remain() -> None:
    once = instrument(wat(WAITS_WAT))
    twice = instrument(once.wasm)
    assert not twice.changed and twice.wasm is once.wasm
