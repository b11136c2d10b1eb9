"""A virtual size for the shared memory: what lets the reset path keep a memory the guest grew.

A shared memory cannot shrink, and every wasi-libc guest grows its memory in every schedule
(malloc's `sbrk` is `memory.grow`). The reset path (runtime/machine/reuse.py) runs an
exploration's next schedule on the same memory, so the size the guest sees must go back to the
initial one while the real memory stays as large as it grew. This pass, loaded only for the reset
path (`load_program(virtual_memory=True)`; every other load is byte for byte what it was), makes the
size the guest sees the runtime's:

- `memory.size` and `memory.grow` of the shared memory become calls of `wasmconc.memory_size` and
  `wasmconc.memory_grow` (abi.VMEM_*_IMPORT), native host functions of the runtime
  (runtime/lane/_lane_c/vmem.c) answering from the execution's virtual size: the old size or -1,
  the declared maximum honoured, the real memory grown to the new size when it is smaller, atomic
  between threads;
- each `memory.fill`, `memory.copy` and `memory.init` on it first checks its range against the
  virtual size and traps as a fresh memory of that size would (an out-of-bounds access, before
  anything is written): Wasmtime checks these against the real size, in its own code, where the
  reset path's protection of the pages above the virtual size (which makes plain loads and stores
  there trap) would crash the process instead. The check reads a per-instance cache of the size
  (a mutable global, which the restart pass resets to 0); only a range beyond it asks the runtime,
  the size growing only.

Plain and atomic loads and stores keep Wasmtime's own bounds checks: above the virtual size the
reset path's pages are PROT_NONE, which Wasmtime's fault handler turns into the same trap. The
runtime's own uses of the memory (WASI calls, wait/notify) are bounded by the virtual size.

Runs after the counter pass (its charges are counted on the original instructions, so the schedule
is the same with or without this pass: tests/runtime/test_reset_exactness.py) and before the restart
pass (which exports the cache global with its initial value).
"""

from __future__ import annotations

from .abi import VMEM_GROW_IMPORT, VMEM_SIZE_IMPORT
from .body import BodyEditor
from .opcodes import key
from .reader import uleb
from .records import VirtualMemoryReport
from .rewriter import ModuleRewriter
from .snippet import FuncRef, Snippet

__all__ = ["VirtualMemoryPass", "VirtualMemoryReport"]

_MEMORY_SIZE = 0x3F
_MEMORY_GROW = 0x40
_MEMORY_INIT = key(0xFC, 0x08)
_MEMORY_COPY = key(0xFC, 0x0A)
_MEMORY_FILL = key(0xFC, 0x0B)
_I32, _I64 = b"\x7f", b"\x7e"
# Encoded instructions the checks are made of.
_EXTEND_U = b"\xad"  # i64.extend_i32_u
_I64_ADD = b"\x7c"
_I64_GT_U = b"\x56"
_I64_SHL = b"\x86"
_IF_EMPTY = b"\x04\x40"
_END = b"\x0b"
# A load no 32-bit memory holds (offset 2**32 - 1, 4 bytes): Wasmtime's out-of-bounds trap, the one a
# bulk operation beyond a fresh memory's end gives.
_FORCED_TRAP = b"\x41\x00" + b"\x28\x00" + uleb(0xFFFF_FFFF) + b"\x1a"  # i32.const 0; i32.load; drop


class VirtualMemoryPass:
    """A `LoadPass` (after the counter pass, before the restart pass); returns a VirtualMemoryReport."""

    def __call__(self, rw: ModuleRewriter, names: dict[int, str]) -> VirtualMemoryReport:
        report = VirtualMemoryReport()
        memories = rw.info.memories
        if not memories:
            report.reason = "it has no memory"
        elif not (memories[0].imported and memories[0].shared and not memories[0].memory64):
            report.reason = "memory 0 is not an imported 32-bit shared memory"
        if report.reason is not None:
            return report
        added = _Added(rw)
        for fb in rw.bodies():
            ed = rw.editor(fb.index)
            _Function(ed, added, report).rewrite()
            rw.release(fb.index)
        return report


class _Added:
    """The imports and the size cache, added on first use: a module that neither sizes, grows nor
    bulk-writes its memory is left as it was (its memory never grows: the size it sees is the initial one)."""

    def __init__(self, rw: ModuleRewriter) -> None:
        self._rw = rw
        self._size: FuncRef | None = None
        self._grow: FuncRef | None = None
        self._cache: int | None = None

    @property
    def size(self) -> FuncRef:
        if self._size is None:
            self._size = self._rw.import_func(*VMEM_SIZE_IMPORT, (), ("i32",))
        return self._size

    @property
    def grow(self) -> FuncRef:
        if self._grow is None:
            self._grow = self._rw.import_func(*VMEM_GROW_IMPORT, ("i32",), ("i32",))
        return self._grow

    @property
    def cache(self) -> int:
        """The bytes this instance knows the memory has (a lower bound: the size only grows)."""
        if self._cache is None:
            self._cache = self._rw.add_global("i64", b"\x42\x00")
        return self._cache


class _Function:
    """The rewriting of one body: its size and grow calls, its bulk operations' checks."""

    def __init__(self, ed: BodyEditor, added: _Added, report: VirtualMemoryReport) -> None:
        self.ed = ed
        self.added = added
        self.report = report
        self._locals: tuple[int, int, int] | None = None

    def rewrite(self) -> None:
        ed, report = self.ed, self.report
        for i, ins in enumerate(ed.instrs):
            op = ins.op
            if op == _MEMORY_SIZE and ins.imm[0] == 0:
                ed.replace(i, Snippet().call(self.added.size))
                report.sizes += 1
            elif op == _MEMORY_GROW and ins.imm[0] == 0:
                ed.replace(i, Snippet().call(self.added.grow))
                report.grows += 1
            elif op == _MEMORY_FILL and ins.imm[0] == 0:
                self._checked(i, dst=True, src=False)
            elif op == _MEMORY_COPY and 0 in (ins.imm[0], ins.imm[1]):
                self._checked(i, dst=ins.imm[0] == 0, src=ins.imm[1] == 0)
            elif op == _MEMORY_INIT and ins.imm[1] == 0:
                self._checked(i, dst=True, src=False)  # its source is a data segment, checked as before

    def _scratch(self) -> tuple[int, int, int]:
        if self._locals is None:
            ed = self.ed
            self._locals = (ed.add_local(_I32), ed.add_local(_I32), ed.add_local(_I32))
        return self._locals

    def _checked(self, i: int, *, dst: bool, src: bool) -> None:
        """Bulk operation `i` (operands: destination, value or source, length, all i32): its operands
        into locals, the ranges on the virtual memory checked, the operands back, the operation."""
        a, b, n = self._scratch()
        snip = Snippet().local_set(n).local_set(b).local_set(a)
        if dst:
            snip.extend(self._bounds(a, n))
        if src:
            snip.extend(self._bounds(b, n))
        snip.local_get(a).local_get(b).local_get(n)
        self.ed.insert_before(i, snip)
        self.report.bulk += 1

    def _bounds(self, start: int, length: int) -> Snippet:
        """Trap unless [start, start + length) lies inside the virtual memory."""
        cache_index = self.added.cache
        cache = b"\x23" + uleb(cache_index)
        beyond = (Snippet().local_get(start).raw(_EXTEND_U).local_get(length).raw(_EXTEND_U).raw(_I64_ADD)
                  .raw(cache).raw(_I64_GT_U))
        refresh = (Snippet().call(self.added.size).raw(_EXTEND_U).i64_const(16).raw(_I64_SHL)
                   .raw(b"\x24" + uleb(cache_index)))
        return (Snippet().extend(beyond).raw(_IF_EMPTY)
                .extend(refresh).extend(beyond).raw(_IF_EMPTY).raw(_FORCED_TRAP).raw(_END)
                .raw(_END))
