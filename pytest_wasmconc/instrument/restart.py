"""Make an instance restartable: what the runtime needs to run a guest thread again in an old instance.

An exploration runs thousands of schedules of one guest; each used to create a Store and an
instance per guest thread and drop them at the end. The runtime's reset path
(runtime/machine/reuse.py) keeps them instead and puts each instance back into the state a new
one starts in. From the outside (the C API) an instance shows only its exports, so this pass
exports what the reset needs:

- the start function as `__wasmconc_start` (wasm-ld's `__wasm_init_memory`): a new instance runs it
  during instantiation, a reused one by a call, as the same code with the same counter charges
  (a module without one gets an empty function under that name: its instantiation runs no code);
- every mutable global as `__wasmconc_g<index>`, with its initial value (a constant), so the reset
  can write it back (`__stack_pointer`, `__tls_base`, the preemption counter, ...).

It also turns each `data.drop` into `nop`s: a start function that copies passive data segments
into memory and drops them (wasm-ld's) could not run a second time in the same instance, and an
instance has no way back to its segments. The only behaviour this changes is a `memory.init` of a
segment after its drop, which traps in wasm and copies here: a guest bug that wasm-ld's code never
has; fresh and reused instances run the same rewritten code. The nops keep the instruction's
place (the counter's charges were computed before, from the original instructions).

An instance can be reset exactly only when everything it owns besides its globals is unchanged
by running: tables no instruction writes (no `table.set/grow/fill/copy/init`, `elem.drop`), no
GC objects, no memory of its own, no active data segment (instantiation writes those into the
shared memory again), and globals whose initial values are constants. `RestartReport.reason`
says why not otherwise; the runtime then keeps creating new instances.
"""

from __future__ import annotations

import struct

from .abi import GLOBAL_EXPORT_PREFIX, START_EXPORT
from .decode import decode_expr
from .errors import InstrumentError
from .module import Section, _globaltype
from .opcodes import END, key
from .reader import Reader, uleb
from .records import ResetGlobal, RestartReport
from .rewriter import ModuleRewriter
from .snippet import FuncRef, Snippet

__all__ = ["GLOBAL_EXPORT_PREFIX", "START_EXPORT", "RestartPass", "RestartReport"]


_DATA_DROP = key(0xFC, 0x09)
# Instructions that change a table or an element segment's state: an instance that ran them
# is not the instance a new one would be.
_TABLE_WRITES = {0x26: "table.set", key(0xFC, 0x0C): "table.init", key(0xFC, 0x0D): "elem.drop",
                 key(0xFC, 0x0E): "table.copy", key(0xFC, 0x0F): "table.grow", key(0xFC, 0x11): "table.fill"}
_NOP = 0x01
# Constant initialisers by opcode: (value type byte, decoder of the immediate bytes).
_I32, _I64, _F32, _F64, _V128 = 0x7F, 0x7E, 0x7D, 0x7C, 0x7B
_CONST_OPS = {0x41: _I32, 0x42: _I64, 0x43: _F32, 0x44: _F64}


class RestartPass:
    """A `LoadPass` (run last: it exports globals earlier passes added)."""

    def __call__(self, rw: ModuleRewriter, names: dict[int, str]) -> RestartReport:
        report = RestartReport()
        info = rw.info
        if START_EXPORT in rw.existing_export_names():
            report.reason = "it was instrumented for a reset before"
            return report
        if any(not m.imported for m in info.memories):
            report.reason = "it defines a memory of its own"
        elif _has_active_data(rw):
            report.reason = "it has active data segments (instantiation writes them)"
        start = _start_function(rw)
        if start is not None:
            rw.export_func(START_EXPORT, FuncRef(start))
            report.has_start = True
        elif _can_add_function(rw):
            # No start function: instantiation runs no code. A reused instance is "instantiated" by a
            # call of an empty function, added here (after every other pass: nothing is charged).
            rw.export_added_func(START_EXPORT, rw.add_func((), (), _EMPTY_BODY))
            report.has_start = True
        elif report.reason is None:
            report.reason = "it has no start function and no room to add one"
        for fb in rw.bodies():
            ed = rw.editor(fb.index)
            for i, ins in enumerate(ed.instrs):
                op = ins.op
                if op == _DATA_DROP:
                    ed.replace(i, Snippet().raw(bytes((_NOP,)) * (ins.end - ins.start)))
                elif report.reason is None:
                    if op in _TABLE_WRITES:
                        report.reason = f"it writes tables ({_TABLE_WRITES[op]})"
                    elif op >> 16 == 0xFB:
                        report.reason = "it uses GC objects"
            rw.release(fb.index)
        for index, entry in _mutable_globals(rw):
            value = _constant(entry)
            if value is None:
                if report.reason is None:
                    report.reason = f"global {index} starts from a value that is not a constant"
                continue
            name = f"{GLOBAL_EXPORT_PREFIX}{index}"
            rw.export_global(name, index)
            report.globals.append(ResetGlobal(name, *value))
        return report


_EMPTY_BODY = b"\x00\x0b"  # no locals; end


def _can_add_function(rw: ModuleRewriter) -> bool:
    """Whether one more body leaves the code section's count as long as it was (the rewriter's offset
    map is kept relative to the payload, which a longer count would shift)."""
    sec, funcs = rw.info.section(10), rw.info.section(3)
    if sec is None or funcs is None:
        return False
    n = len(rw.info.bodies)
    return len(uleb(n)) == len(uleb(n + 1))


def _start_function(rw: ModuleRewriter) -> int | None:
    sec = rw.info.section(8)
    if sec is None:
        return None
    return Reader(rw.data, sec.payload, sec.end).u32()


def _has_active_data(rw: ModuleRewriter) -> bool:
    sec = rw.info.section(11)
    if sec is None:
        return False
    r = Reader(rw.data, sec.payload, sec.end)
    for _ in range(r.u32()):
        flags = r.u32()
        if flags in (0, 2):
            return True
        size = r.u32()
        r.pos += size  # a passive segment's bytes
    return False


def _mutable_globals(rw: ModuleRewriter) -> list[tuple[int, tuple[bytes, bytes]]]:
    """(global index, (value type, initialiser expression)) of every mutable defined global,
    the module's own and those earlier passes added."""
    out: list[tuple[int, tuple[bytes, bytes]]] = []
    index = rw.info.num_imported_globals
    sec: Section | None = rw.info.section(6)
    entries: list[tuple[bytes, int, bytes]] = []
    if sec is not None:
        r = Reader(rw.data, sec.payload, sec.end)
        for _ in range(r.u32()):
            valtype, mut = _globaltype(r)
            _, end = decode_expr(rw.data, r.pos, sec.end)
            entries.append((valtype, mut, rw.data[r.pos:end]))
            r.pos = end
    for raw in rw.added_globals():
        entries.append((raw[:1], raw[1], raw[2:]))
    for valtype, mut, init in entries:
        if mut & 1:
            out.append((index, (valtype, init)))
        index += 1
    return out


def _constant(entry: tuple[bytes, bytes]) -> tuple[str, int | float] | None:
    """(kind, value) of a numeric global initialised by one constant, else None."""
    valtype, init = entry
    if len(valtype) != 1 or not init or init[-1] != END:
        return None
    if valtype[0] == _V128:
        if len(init) == 19 and init[:2] == b"\xfd\x0c":
            return "v128", int.from_bytes(init[2:18], "little")
        return None
    op = init[0]
    t = _CONST_OPS.get(op)
    if t is None or t != valtype[0]:
        return None
    body = init[1:-1]
    if t == _I32 or t == _I64:
        r = Reader(body)
        try:
            value = r.s32() if t == _I32 else r.s64()
        except InstrumentError:
            return None
        return (("i32" if t == _I32 else "i64"), value) if r.at_end() else None
    if t == _F32 and len(body) == 4:
        return "f32", struct.unpack("<f", body)[0]
    if t == _F64 and len(body) == 8:
        return "f64", struct.unpack("<d", body)[0]
    return None
