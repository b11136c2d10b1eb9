"""Atomic progress: after each read-modify-write or compare-exchange, count it when it changed memory.

The step budget calls a run hung after a million scheduling steps without
progress, and progress was a thread starting or ending or a parked thread
released. Lock-free work makes its progress otherwise: 2 threads doing
600,000 compare-exchange increments each made no such event in 1.2 million
steps (each atomic is a scheduling point) and got a hang verdict. An atomic
that changed memory is progress; one that did not (a spinlock's failed
compare-exchange, an exchange of 1 over 1, a fetch-add of 0) is not, so a
spin on a lock that nobody releases keeps its verdict.

Whether the operation changed memory, from its operands (saved in locals
before it) and the old value it returns, at its width (a narrow operation
uses the low bits of its operand; its old value is zero-extended):
add, sub, xor: operand != 0; or: operand & ~old != 0; and: old & ~operand != 0;
xchg: operand != old; cmpxchg: old == expected and replacement != old.
The code is uncharged (the counter pass charges the original instructions),
so a schedule's decisions are what they were without it.
"""

from __future__ import annotations

import weakref

from .abi import PROGRESS_EXPORT
from .body import BodyEditor
from .decode import Instr
from .reader import uleb
from .rewriter import ModuleRewriter
from .snippet import Snippet

__all__ = ["ProgressCounter", "changes_memory_kind"]

_I32, _I64 = b"\x7f", b"\x7e"
# Sub-opcodes 0x1E..0x4E: seven of each operation, in this order of (value type, width in bytes).
_VARIANTS = ((_I32, 4), (_I64, 8), (_I32, 1), (_I32, 2), (_I64, 1), (_I64, 2), (_I64, 4))
_OPERATIONS = ("add", "sub", "and", "or", "xor", "xchg", "cmpxchg")
_FIRST_RMW = 0x1E
# (and, xor, ne, eq) per value type
_OPS = {_I32: (b"\x71", b"\x73", b"\x47", b"\x46"), _I64: (b"\x83", b"\x85", b"\x52", b"\x51")}
_I32_AND, _I32_ADD = b"\x71", b"\x6a"
_GLOBAL_GET, _GLOBAL_SET = b"\x23", b"\x24"
_IF_EMPTY, _END = b"\x04\x40", b"\x0b"

_MADE: weakref.WeakKeyDictionary[ModuleRewriter, int] = weakref.WeakKeyDictionary()


def changes_memory_kind(ins: Instr) -> tuple[str, bytes, int] | None:
    """(operation, value type, width) of an atomic read-modify-write or compare-exchange, else None."""
    if ins.op >> 16 != 0xFE:
        return None
    sub = (ins.op & 0xFFFF) - _FIRST_RMW
    if not 0 <= sub < 7 * len(_OPERATIONS):
        return None
    valtype, width = _VARIANTS[sub % 7]
    return _OPERATIONS[sub // 7], valtype, width


class ProgressCounter:
    """Counts, in one function, the atomics that changed memory (see the module docstring)."""

    def __init__(self, rw: ModuleRewriter, ed: BodyEditor) -> None:
        self._ed = ed
        self._locals: dict[tuple[str, bytes], int] = {}
        made = _MADE.get(rw)
        if made is None:
            made = _MADE[rw] = rw.add_global(_I32, b"\x41\x00")
            rw.export_global(PROGRESS_EXPORT, made)
        self._global = made

    def _local(self, role: str, valtype: bytes) -> int:
        index = self._locals.get((role, valtype))
        if index is None:
            index = self._locals[(role, valtype)] = self._ed.add_local(valtype)
        return index

    def around(self, i: int, ins: Instr) -> bool:
        """Add the count around instruction `i` when it is an atomic that may change memory; whether it was."""
        kind = changes_memory_kind(ins)
        if kind is None:
            return False
        operation, t, width = kind
        and_, xor, ne, eq = _OPS[t]
        mask = Snippet()
        if width < (4 if t == _I32 else 8):
            bits = (1 << (8 * width)) - 1
            mask = Snippet().i32_const(bits) if t == _I32 else Snippet().i64_const(bits)
            mask.raw(and_)
        const = Snippet.i32_const if t == _I32 else Snippet.i64_const
        v, old = self._local("operand", t), self._local("old", t)
        before, after = Snippet(), Snippet().local_tee(old)
        if operation == "cmpxchg":
            expected = self._local("expected", t)
            before.local_set(v).local_set(expected).local_get(expected).local_get(v)
            after.local_get(expected).extend(mask).local_get(old).raw(eq)
            after.local_get(v).extend(mask).local_get(old).raw(ne).raw(_I32_AND)
        else:
            before.local_set(v).local_get(v)
            if operation in ("add", "sub", "xor"):
                const(after.local_get(v).extend(mask), 0).raw(ne)
            elif operation == "or":
                const(after.local_get(old), -1).raw(xor)
                const(after.local_get(v).raw(and_).extend(mask), 0).raw(ne)
            elif operation == "and":
                const(after.local_get(v), -1).raw(xor)
                const(after.local_get(old).raw(and_), 0).raw(ne)
            else:  # xchg
                after.local_get(v).extend(mask).local_get(old).raw(ne)
        g = uleb(self._global)
        after.raw(_IF_EMPTY).raw(_GLOBAL_GET + g).i32_const(1).raw(_I32_ADD).raw(_GLOBAL_SET + g).raw(_END)
        self._ed.insert_first_before(i, before)  # before the sched point: it stays right before the op
        self._ed.insert_after(i, after)
        return True
