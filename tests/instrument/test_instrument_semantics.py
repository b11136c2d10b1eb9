"""The instrumented module computes what the original computes.

Python host functions stand in for the runtime: single-threaded, a notify
wakes nobody (0), a wait whose expected value mismatches returns 1
("not-equal"), and an equal wait with timeout 0 returns 2 ("timed-out") --
exactly what wasmtime's real instructions return in those cases.
"""

from __future__ import annotations

import ctypes
from typing import Any

import wasmtime
from instr_wasm_support import assert_valid, engine, wat

from pytest_wasmconc.instrument import InstrumentLevel, instrument

PROGRAM = """
(module
  (memory $m0 (export "mem0") 1 1 shared)
  (memory $m1 (export "mem1") 1 1 shared)
  (data (memory $m0) (i32.const 16) "\\05\\00\\00\\00")
  (data (memory $m1) (i32.const 32) "\\07\\00\\00\\00\\00\\00\\00\\00")
  (func (export "notify0") (result i32)
    (memory.atomic.notify offset=16 (i32.const 0) (i32.const 1)))
  (func (export "wait_ne") (result i32)
    (memory.atomic.wait32 offset=8 (i32.const 8) (i32.const 4) (i64.const -1)))
  (func (export "wait_timeout") (result i32)
    (memory.atomic.wait32 (i32.const 16) (i32.const 5) (i64.const 0)))
  (func (export "wait64_ne") (result i32)
    (memory.atomic.wait64 (i32.const 24) (i64.const 1) (i64.const 0)))
  (func (export "wait64_mem1_timeout") (result i32)
    (memory.atomic.wait64 $m1 offset=16 (i32.const 16) (i64.const 7) (i64.const 0)))
  (func (export "notify_mem1") (result i32)
    (memory.atomic.notify $m1 (i32.const 32) (i32.const 3)))
  (func (export "counter") (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (drop (i32.atomic.rmw.add (i32.const 64) (i32.const 3)))
        (drop (i32.atomic.rmw.cmpxchg (i32.const 68) (local.get $i) (i32.add (local.get $i) (i32.const 1))))
        (i32.atomic.store (i32.const 72) (i32.atomic.load (i32.const 64)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    (i32.add (i32.atomic.load (i32.const 72)) (i32.atomic.load (i32.const 68)))))
"""

EXPORTS = ("notify0", "wait_ne", "wait_timeout", "wait64_ne", "wait64_mem1_timeout", "notify_mem1")


def _read(caller: wasmtime.Caller, memidx: int, addr: int, size: int) -> int:
    mem = caller.get(f"mem{memidx}")
    assert isinstance(mem, wasmtime.SharedMemory)
    assert addr + size <= mem.data_len()
    base = ctypes.addressof(mem.data_ptr().contents)
    return int.from_bytes(ctypes.string_at(base + addr, size), "little")


class Host:
    """Single-threaded stand-ins for the wasmconc host functions."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def wait(self, size: int) -> Any:
        def impl(
            caller: wasmtime.Caller,
            addr: int,
            expected: int,
            timeout: int,
            offset: int,
            memidx: int,
        ) -> int:
            self.calls.append((f"wait{size * 8}", addr, expected, timeout, offset, memidx))
            mask = (1 << (size * 8)) - 1
            ea = (addr & 0xFFFFFFFF) + (offset & 0xFFFFFFFF)
            if _read(caller, memidx, ea, size) != expected & mask:
                return 1
            assert timeout >= 0, "would block forever single-threaded"
            return 2

        return impl

    def notify(
        self, caller: wasmtime.Caller, addr: int, count: int, offset: int, memidx: int
    ) -> int:
        self.calls.append(("notify", addr, count, offset, memidx))
        return 0

    def sched_point(self, site: int) -> None:
        self.calls.append(("sched", site))

    def linker(self) -> wasmtime.Linker:
        i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
        linker = wasmtime.Linker(engine())
        ft = wasmtime.FuncType
        linker.define_func(
            "wasmconc",
            "wait32",
            ft([i32, i32, i64, i32, i32], [i32]),
            self.wait(4),
            access_caller=True,
        )
        linker.define_func(
            "wasmconc",
            "wait64",
            ft([i32, i64, i64, i32, i32], [i32]),
            self.wait(8),
            access_caller=True,
        )
        linker.define_func(
            "wasmconc", "notify", ft([i32, i32, i32, i32], [i32]), self.notify, access_caller=True
        )
        linker.define_func("wasmconc", "sched_point", ft([i32], []), self.sched_point)
        return linker


def run_all(wasm: bytes, host: Host) -> dict[str, int]:
    store = wasmtime.Store(engine())
    inst = host.linker().instantiate(store, wasmtime.Module(engine(), wasm))
    exports = inst.exports(store)
    out = {}
    for name in EXPORTS:
        f = exports[name]
        assert isinstance(f, wasmtime.Func)
        out[name] = f(store)
    counter = exports["counter"]
    assert isinstance(counter, wasmtime.Func)
    out["counter"] = counter(store, 5)
    return out


def test_instrumented_program_returns_what_the_original_returns() -> None:
    data = wat(PROGRAM)
    original = run_all(data, Host())
    assert original == {
        "notify0": 0,
        "wait_ne": 1,
        "wait_timeout": 2,
        "wait64_ne": 1,
        "wait64_mem1_timeout": 2,
        "notify_mem1": 0,
        "counter": 20,
    }
    for level in InstrumentLevel:
        r = instrument(data, level)
        assert_valid(r.wasm)
        assert run_all(r.wasm, Host()) == original, level


def test_host_functions_receive_address_operands_offset_and_memory() -> None:
    host = Host()
    run_all(instrument(wat(PROGRAM), InstrumentLevel.WAITS).wasm, host)
    assert host.calls == [
        ("notify", 0, 1, 16, 0),
        ("wait32", 8, 4, -1, 8, 0),
        ("wait32", 16, 5, 0, 0, 0),
        ("wait64", 24, 1, 0, 0, 0),
        ("wait64", 16, 7, 0, 16, 1),
        ("notify", 32, 3, 0, 1),
    ]


def test_sched_points_fire_with_their_site_index_each_time_through() -> None:
    host = Host()
    r = instrument(wat(PROGRAM), InstrumentLevel.MEMORY)
    run_all(r.wasm, host)
    loop_sites = [s.index for s in r.sites if s.kind in ("rmw", "cmpxchg", "store", "load")]
    fired = [c[1] for c in host.calls if c[0] == "sched"]
    # Sites are numbered in code order, which for the loop body is also
    # evaluation order (a store's operand load comes first); 5 iterations,
    # then the two loads after the loop.
    rmw, cmpxchg, load, store, tail1, tail2 = loop_sites
    assert fired == [rmw, cmpxchg, load, store] * 5 + [tail1, tail2]
