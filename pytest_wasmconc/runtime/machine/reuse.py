"""The reset path: one exploration's schedules share their shared memory, linker and instances.

A fresh execution creates a SharedMemory, clones the program's linker with it, pre-instantiates,
and gives every guest thread a new Store and instance, all dropped at its end. An `InstancePool`
(one per exploration, `Runner.explore`) keeps them instead: after an execution its memory, linker
and InstancePre stay, and each guest thread's (store, instance) goes back to an idle list; the next
execution zeroes the memory (what a new shared memory holds: the guest's data is copied in by its
start function, instrument/restart.py) and each thread takes an idle instance, whose mutable
globals are written back to their initial values and whose start function runs again as a call,
where a new instance would run it during instantiation. Same code, same counter charges, same
scheduling points: the schedule is the fresh path's (tests/runtime/test_reset_exactness.py).

A memory that grew (every real wasi-libc guest grows it in every schedule: malloc's sbrk is
`memory.grow`) cannot shrink. The pool keeps it when the program was loaded with a virtual memory
size (instrument/vmem.py: the explorations' loads, `Runner.explore`): the size the guest sees is
then its execution's own (_lane_c/vmem.c), starting at the initial size, and the reset zeroes every
byte the last execution could reach and makes the pages above the initial size PROT_NONE, so a
plain access there traps as on a fresh memory of the initial size (Wasmtime's fault handler turns
a fault inside a memory's reservation into its out-of-bounds trap; a grow makes them accessible
again; bulk operations are checked by the pass).

What cannot be put back, the pool does not keep (the next execution is a fresh one, whose world
the pool then keeps):
- a memory that grew, of a program loaded without a virtual size. Its stores are kept as spare
  stores: the next execution instantiates anew in them (a new instance in an old store is a new
  instance; the store is closed after _STORE_USES instances or _STORE_BYTES of memories they keep
  alive);
- an instance whose module writes tables, has GC objects, active data segments, globals that do
  not start from constants, or no start function (`RestartReport.reason`);
- a thread whose call did not complete (it was stopped in the middle of a host call) or whose
  instantiation failed: its store is closed;
- executions other than the serial fuel mode's plain ones (epoch and os mode, timelines, user
  host functions, wasmtime's own WASI): `usable` says no.

An extension's native host functions (the race detector's, runtime/native.py) take an env of their
execution's own. The kept linker defines them through cells (NativeCell): an execution that reuses
it writes its own callbacks and envs there first, and needs the same native imports as the one that
made it (else it runs fresh).
"""

from __future__ import annotations

import ctypes
import os
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import wasmtime

from ..lane import _lane
from ..loading.program import Program
from ..native import NativeCells, native_signature, rebind_native_imports
from ..wasmtime import calls, capi

if TYPE_CHECKING:
    from .execution import Execution

__all__ = ["InstancePool", "KeptInstance"]

# A spare store keeps every instance made in it (and the memory each imports) until it is closed:
# it is closed after this many instances, or once the memories it keeps alive add up to this much.
_STORE_USES = 64
_STORE_BYTES = 64 << 20

_KINDS = {"i32": 0, "i64": 1, "f32": 2, "f64": 3, "v128": 4}
_PROT_NONE, _PROT_READ_WRITE = 0, 3
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
_START = b"__wasmconc_start"


@dataclass
class KeptInstance:
    """An idle guest thread's store and instance, and what resetting it needs."""

    store: wasmtime.Store
    instance: Any  # wasmtime_instance_t
    # Looked up when it is first reused (an instance kept from an execution whose memory grew is
    # dropped unused): the start function's wasmtime_func_t, n wasmtime_global_t in the pool's order.
    start: Any = None
    globals: bytes | None = None
    # Its exports a thread's call uses (exports.py), looked up by the first thread that ran in it.
    exports: Any = None
    # The store's context address (stable for the store's life), taken when it is first reused.
    context: int = 0


def _protect(address: int, length: int, prot: int) -> None:
    if length > 0 and _libc.mprotect(address, length, prot) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mprotect of the kept shared memory failed: {os.strerror(err)}")


def _val_bytes(kind: str, value: int | float) -> bytes:
    """One wasmtime_val_t as the lane's C code sees it (kind byte, padding, then the value)."""
    code = _KINDS[kind]
    if kind == "i32":
        payload = struct.pack("<i", value)
    elif kind == "i64":
        payload = struct.pack("<q", value)
    elif kind == "f32":
        payload = struct.pack("<f", value)
    elif kind == "f64":
        payload = struct.pack("<d", value)
    else:
        payload = int(value).to_bytes(16, "little")
    raw = bytes((code,)) + bytes(7) + payload
    return raw + bytes(_lane.VAL_SIZE - len(raw))


class InstancePool:
    """What the executions of one exploration of `program` share (module docstring)."""

    def __init__(self) -> None:
        self.program: Program | None = None
        self.shared_memory: wasmtime.SharedMemory | None = None
        self.linker: wasmtime.Linker | None = None
        self.instance_pre: Any = None
        self.initial_bytes = 0
        # A virtual memory size (instrument/vmem.py): the bytes the last execution's guest could reach
        # (its final virtual size); None: not known (every byte of the memory is reset).
        self.virtual = False
        self.high_bytes: int | None = None
        self.idle: list[KeptInstance] = []
        # The kept linker's native host functions, defined through cells (runtime/native.py): what they
        # serve, and the cells (alive as long as the linker and the instances bound to it).
        self.native_signature: tuple[tuple[Any, ...], ...] = ()
        self.cells: NativeCells = {}
        # Stores whose instance could not be kept (the memory grew): a new instance goes into one
        # of them instead of a new store (no store, fiber stack or mapping made and dropped), as
        # [store, instances made in it, bytes of the memories they hold].
        self.spare: list[list[Any]] = []
        self._uses: dict[int, list[Any]] = {}
        self._values = b""
        self._exports: list[bytes] = []
        # Counts for tests and the benchmark: executions that reused the world, and instances reused.
        self.resets = 0
        self.reused_instances = 0
        self.fresh = 0
        self.reused_stores = 0

    # -- who may use it --------------------------------------------------------

    @staticmethod
    def supports(program: Program) -> bool:
        """Whether `program`'s instances can be reset exactly (its module's side)."""
        restart = program.restart
        mem = program.memory_import
        return (restart is not None and restart.restartable and restart.has_start and mem is not None
                and mem.shared and not mem.is64 and not program.other_imports)

    # -- an execution's world ------------------------------------------------------

    def attach(self, ex: Execution) -> bool:
        """Give `ex` the kept memory, linker and InstancePre, memory zeroed; False: `ex` links its own."""
        program = ex.program
        if self.program is not program:
            self.close()
            self.close_spares()  # (another program may run on another engine)
            self.program = program
            restart = program.restart
            assert restart is not None
            self._exports = [g.export.encode() for g in restart.globals]
            self._values = b"".join(_val_bytes(g.kind, g.value) for g in restart.globals)
            self.virtual = program.vmem is not None and program.vmem.applied
        if self.shared_memory is None:
            self.fresh += 1
            return False
        signature = native_signature(ex.impls.values())
        if signature != self.native_signature:  # other native imports (another check): a world of their own
            self.close()
            self.program = program
            self.fresh += 1
            return False
        real = self.shared_memory.data_len()
        if real != self.initial_bytes and not self.virtual:  # (ended() closes it first)
            self.close()
            self.program = program
            self.fresh += 1
            return False
        base = ctypes.cast(self.shared_memory.data_ptr(), ctypes.c_void_p).value or 0
        if self.virtual:
            self._reset_virtual(base, real)
        else:
            ctypes.memset(base, 0, self.initial_bytes)
        rebind_native_imports(self.cells, ex.impls.values())
        ex.adopt_world(self.shared_memory, self.linker, self.instance_pre)
        self.resets += 1
        return True

    def _reset_virtual(self, base: int, real: int) -> None:
        """Zero what the last execution could reach; protect the pages above the initial size (the
        guest's grows make them accessible again, _lane_c/vmem.c)."""
        initial = self.initial_bytes
        reached = self.high_bytes
        if reached is None or not initial <= reached <= real:
            # not known: every byte (those above the initial size may be protected)
            _protect(base + initial, real - initial, _PROT_READ_WRITE)
            reached = real
        ctypes.memset(base, 0, reached)
        _protect(base + initial, reached - initial, _PROT_NONE)
        self.high_bytes = None  # until this execution's end says

    def keep_world(self, ex: Execution) -> None:
        """After a fresh execution linked: keep its memory, linker and InstancePre (the pool owns them now)."""
        if self.shared_memory is not None or ex.shared_memory is None:
            return
        self.shared_memory = ex.shared_memory
        self.linker = ex.linker
        self.instance_pre = ex.instance_pre
        self.initial_bytes = self.shared_memory.data_len()
        self.native_signature = native_signature(ex.impls.values())
        self.cells = ex.native_cells or {}

    def owns(self, obj: Any) -> bool:
        return obj is not None and (obj is self.shared_memory or obj is self.linker or obj is self.instance_pre)

    # -- instances -------------------------------------------------------------------

    def take(self, key: int) -> KeptInstance | None:
        """An idle instance reset to a new one's state, its store keyed for the thread `key`; or None."""
        if not self.idle:
            return None
        kept = self.idle.pop()
        context = kept.context
        if not context:
            context = kept.context = capi.store_context(kept.store)
        if kept.start is None and not self._resolve(kept, context):
            kept.store.close()
            return None
        capi.set_store_key(context, key)
        if self._values:
            assert kept.globals is not None
            _lane.reset_globals(context, kept.globals, self._values)
        self.reused_instances += 1
        return kept

    def _resolve(self, kept: KeptInstance, context: int) -> bool:
        parts = []
        for name in self._exports:
            g = calls.export_global_bytes(context, kept.instance, name)
            if g is None:
                return False
            parts.append(g)
        kept.start = calls.export_func(context, kept.instance, _START)
        kept.globals = b"".join(parts)
        return kept.start is not None

    def give(self, kept: KeptInstance) -> bool:
        """Keep a finished thread's store and instance; False: the caller closes the store."""
        if self.shared_memory is None or self.program is None:
            return False
        self.idle.append(kept)
        return True

    def ended(self, ex: Execution) -> None:
        """After an execution. A virtual size: note what the guest reached (the next reset zeroes it).
        Otherwise a memory that grew cannot be reset, so nothing kept is of use but the stores (a new
        instance goes into each)."""
        memory = self.shared_memory
        if memory is not None and self.virtual:
            pages = ex.native.vmem_pages
            self.high_bytes = pages << 16 if pages >= 0 and ex.shared_memory is memory else None
            return
        if memory is not None and memory.data_len() != self.initial_bytes:
            held = memory.data_len()
            idle, self.idle = self.idle, []
            program = self.program
            for kept in idle:
                self._spare(kept.store, held)
            self.close()
            self.program = program

    def _spare(self, store: wasmtime.Store, held: int) -> None:
        entry = self._uses.pop(id(store), None) or [store, 1, 0]
        entry[2] += held
        if entry[1] >= _STORE_USES or entry[2] >= _STORE_BYTES:
            store.close()
            return
        self.spare.append(entry)

    def spare_store(self) -> wasmtime.Store | None:
        """A kept store for a new instance, or None."""
        if not self.spare:
            return None
        entry = self.spare.pop()
        entry[1] += 1
        self._uses[id(entry[0])] = entry
        self.reused_stores += 1
        return entry[0]  # type: ignore[no-any-return]

    def close(self) -> None:
        """Drop everything kept (the memory grew, another program, or the exploration is over)."""
        for kept in self.idle:
            self._uses.pop(id(kept.store), None)
            kept.store.close()
        self.idle = []
        if self.instance_pre is not None:
            self.instance_pre.close()
        if self.linker is not None:
            self.linker.close()
        if self.shared_memory is not None:
            self.shared_memory.close()
        self.shared_memory = self.linker = self.instance_pre = None
        self.native_signature, self.cells = (), {}  # (the instances bound to them are closed above)
        self.program = None
        self.virtual = False
        self.high_bytes = None

    def close_spares(self) -> None:
        """The exploration is over: close the spare stores too."""
        for entry in self.spare:
            entry[0].close()
        self.spare = []
        self._uses.clear()
