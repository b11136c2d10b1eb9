"""What the reset path relies on in Wasmtime for a kept memory the guest grew (runtime/machine/reuse.py).

The reset makes the pages of a shared memory above the guest's (virtual) size PROT_NONE, so that an
access there traps as on a fresh memory of that size. That holds only if Wasmtime's signal handler
turns a fault inside a shared memory's real size into its out-of-bounds trap (for every kind of
access, also one whose memarg offset is past any guard region, 2.25 GiB, which Cranelift checks
against the memory's length explicitly),
leaves the process running, and if Wasmtime's own grow does not touch the protection of pages below
the old size. Pinned here with wasmtime-py directly, for the next Wasmtime upgrade.
"""

from __future__ import annotations

import ctypes

import pytest
import wasmtime

from pytest_wasmconc.runtime import RunSettings
from pytest_wasmconc.runtime.loading.engine import engine_for
from pytest_wasmconc.runtime.machine.ends import trap_reason
from pytest_wasmconc.runtime.wasmtime import capi

PAGE = 65536
FAR_PAGE = 0x9000  # a memarg offset of 2.25 GiB: beyond any guard region (2 GiB at most), an explicit check
FAR = FAR_PAGE * PAGE
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)

ACCESSES = f'''(module (import "env" "memory" (memory 1 40000 shared))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32) (i32.store (local.get 0) (i32.const 1)))
  (func (export "rmw") (param i32) (result i32) (i32.atomic.rmw.add (local.get 0) (i32.const 1)))
  (func (export "v128") (param i32) (result i32) (i32x4.extract_lane 0 (v128.load (local.get 0))))
  (func (export "far") (param i32) (result i32) (i32.load offset={FAR} (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))'''


class _Memory:
    def __init__(self) -> None:
        engine = engine_for(RunSettings().engine)
        self.memory = wasmtime.SharedMemory(engine, wasmtime.MemoryType(wasmtime.Limits(1, 40000), shared=True))
        self.store = wasmtime.Store(engine)
        linker = wasmtime.Linker(engine)
        capi.define_shared_memory(linker, self.store, "env", "memory", self.memory)
        module = wasmtime.Module(engine, bytes(wasmtime.wat2wasm(ACCESSES)))
        self.exports = linker.instantiate(self.store, module).exports(self.store)
        self.base = ctypes.cast(self.memory.data_ptr(), ctypes.c_void_p).value or 0

    def call(self, name: str, *args: int) -> object:
        func = self.exports[name]
        assert isinstance(func, wasmtime.Func)
        return func(self.store, *args)

    def protect(self, page: int, pages: int, prot: int) -> None:
        assert _libc.mprotect(self.base + page * PAGE, pages * PAGE, prot) == 0

    def trap(self, name: str, *args: int) -> str:
        with pytest.raises(wasmtime.Trap) as info:
            self.call(name, *args)
        return trap_reason(str(info.value))


@pytest.fixture
def mem() -> _Memory:
    m = _Memory()
    assert m.call("grow", 3) == 1  # 4 pages
    m.protect(2, 2, 0)  # pages 2 and 3: PROT_NONE
    return m


@pytest.mark.parametrize("access", ["load", "store", "rmw", "v128"])
def test_an_access_to_a_protected_page_is_the_out_of_bounds_trap(mem: _Memory, access: str) -> None:
    assert mem.trap(access, 2 * PAGE + 16).endswith("out of bounds memory access")
    assert mem.call("load", PAGE) == 0  # the store and the process go on


def test_wasmtimes_grow_leaves_the_protection_below_the_old_size_alone(mem: _Memory) -> None:
    assert mem.call("grow", 1) == 4
    assert mem.call("load", 4 * PAGE + 8) == 0  # the new page is Wasmtime's, accessible
    assert mem.trap("load", 3 * PAGE).endswith("out of bounds memory access")
    mem.protect(2, 2, 3)  # what a virtual grow does (_lane_c/vmem.c)
    assert mem.call("load", 3 * PAGE) == 0


def test_an_explicitly_checked_access_to_a_protected_page_traps_too() -> None:
    m = _Memory()
    assert m.call("grow", FAR_PAGE + 9) == 1  # FAR + 8 lies inside (address space only: nothing touched)
    m.protect(FAR_PAGE, 10, 0)
    assert m.trap("far", 8).endswith("out of bounds memory access")
