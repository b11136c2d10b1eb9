"""The atomic progress count (instrument/progress.py): +1 exactly when a read-modify-write or compare-exchange
changed memory, for every operation and width, run in a plain wasmtime instance (no scheduler)."""

from __future__ import annotations

import pytest
import wasmtime

from pytest_wasmconc.instrument import InstrumentLevel, instrument
from pytest_wasmconc.instrument.abi import PROGRESS_EXPORT

# (wat op, value type, width in bytes)
RMW_OPS = [
    (f"{t}.atomic.rmw{'' if bits == full else bits}.{op}{'' if bits == full else '_u'}", t, bits // 8)
    for op in ("add", "sub", "and", "or", "xor", "xchg", "cmpxchg")
    for t, full, widths in (("i32", 32, (32, 8, 16)), ("i64", 64, (64, 8, 16, 32)))
    for bits in widths
]


def _module(op: str, t: str) -> bytes:
    operands = "(i32.const 0) (local.get 1) (local.get 2)" if "cmpxchg" in op else "(i32.const 0) (local.get 0)"
    return wasmtime.wat2wasm(f"""(module
      (memory 1 1 shared)
      (func (export "store") (param {t}) ({t}.atomic.store (i32.const 0) (local.get 0)))
      (func (export "load") (result {t}) ({t}.atomic.load (i32.const 0)))
      (func (export "op") (param {t} {t} {t}) (result {t}) ({op} {operands})))""")


def _instance(op: str, t: str) -> tuple[wasmtime.Store, wasmtime.Instance]:
    config = wasmtime.Config()
    config.wasm_threads = True
    config.shared_memory = True
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    wasm = instrument(_module(op, t), InstrumentLevel.ATOMICS).wasm
    module = wasmtime.Module(engine, wasm)
    linker = wasmtime.Linker(engine)
    linker.define_func("wasmconc", "sched_point", wasmtime.FuncType([wasmtime.ValType.i32()], []), lambda site: None)
    return store, linker.instantiate(store, module)


# (old value in memory, operand, expected-for-cmpxchg), chosen to hit every side of each rule: zero operands,
# operands whose changed bits lie only above a narrow width, or/and that set or clear nothing new.
CASES = [(0, 0, 0), (5, 0, 5), (5, 1, 5), (5, 5, 5), (5, 5, 4), (0xFF, 0x100, 0xFF), (0x0F, 0xF0, 0x0F),
         (0xF0, 0xF0, 0xF1), (0xFFFF_FFFF, 0x1_0000_0000, 0xFFFF_FFFF), (3, 1, 3)]


def _expected_change(op: str, width: int, old: int, operand: int, expected: int) -> bool:
    mask = (1 << (8 * width)) - 1
    old &= mask
    name = op.rsplit(".", 1)[1].removesuffix("_u")
    if name == "cmpxchg":
        return (expected & mask) == old and (operand & mask) != old
    new = {"add": old + operand, "sub": old - operand, "and": old & operand, "or": old | operand,
           "xor": old ^ operand, "xchg": operand}[name]
    return (new & mask) != old


@pytest.mark.parametrize("op, t, width", RMW_OPS, ids=[o for o, _, _ in RMW_OPS])
def test_the_count_grows_exactly_when_the_operation_changed_memory(op: str, t: str, width: int) -> None:
    store, inst = _instance(op, t)
    exports = inst.exports(store)
    counter = exports[PROGRESS_EXPORT]
    assert isinstance(counter, wasmtime.Global)
    top = (1 << (32 if t == "i32" else 64)) - 1
    for old, operand, expected in CASES:
        old, operand, expected = old & top, operand & top, expected & top
        exports["store"](store, _signed(old, t))
        before = counter.value(store)
        exports["op"](store, _signed(operand, t), _signed(expected, t), _signed(operand, t))  # rmw: the first
        changed = exports["load"](store) & top != old  # what memory says
        want = _expected_change(op, width, old, operand, expected)
        assert changed == want, (op, hex(old), hex(operand), hex(expected))  # the rule is memory's
        assert (counter.value(store) - before) == int(want), (op, hex(old), hex(operand), hex(expected))


def _signed(value: int, t: str) -> int:
    bits = 32 if t == "i32" else 64
    return value - (1 << bits) if value >> (bits - 1) else value
