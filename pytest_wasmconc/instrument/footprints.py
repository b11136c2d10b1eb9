"""Step footprints (dfs loads at the `shared` level): each scheduling point says what the next step touches.

The bounded search (schedulers/dfs_search.py) prunes with sleep sets, which
need to know whether two steps commute. A step of a thread runs from one of
its scheduling points to the next, so the point that ends a step can say what
the next one starts with: the pending access, which is all the step touches
of shared state when the rest of it is private code (its own stack frame,
locals, globals: every instance is one thread's). Two exported globals per
instance carry it to the runtime (runtime/drivers/footprints.py), which reads
one i64 after each step it chose (one C call: the reading is a cost on every
step of the search):

- `STEP_WORD`, bits 0-5: the pending operation, written right before the call
  that suspends the thread (the counter check's slow path before a visible
  plain access, the `sched_point` before an atomic): `desc(size, write)`, or
  `DESC_EMPTY` (nothing shared before the next point: a check at a loop
  header, the point after a host call, a spawn, a wait or notify), or
  `DESC_UNKNOWN` (a host call, bulk memory, SIMD, a function entry whose first
  instruction may be an atomic; the value before the first point:
  instantiation may write memory). Bits 6-39: its effective address, modulo
  2**34 (every address of a 32-bit memory; two addresses of a 64-bit memory
  that agree there only look like one location, which is more dependence,
  never less).
- `STEP_WORD`, bits 40 and up: what the step did beyond its pending operation
  without a point of its own: waits (bits 40-49) and notifies (bits 50-59)
  counted, each leaving its address in `STEP_FUTEX` (waits and notifies are
  accesses of their word: a 4-byte write); any bit of 60-63 when an operation
  whose effect is not known ran (`memory.grow`, a call of an import without
  points around it, an indirect call that may reach one, `wait64`), or a count
  overflowed. The points keep these bits; the runtime clears them after
  reading. One wait or notify is added to the footprint; more, or an unknown
  operation, make it unknown. (Waits are counted apart: a wait that returns at
  once is a quiet point, and the runtime must tell it from a scheduling point
  the step passed without yielding.)

The code is uncharged (no counter charge changes), so a footprint load makes
exactly the decisions of a load without: it only adds stores to these globals
and saves of the access's operands into locals. Other policies load without.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from .body import BodyEditor
from .decode import Instr
from .reader import sleb, uleb
from .rewriter import ModuleRewriter
from .snippet import Snippet
from .stack_frame import PLAIN_ACCESS_WIDTHS

__all__ = ["DESC_EMPTY", "DESC_UNKNOWN", "STEP_FUTEX_EXPORT", "STEP_WORD_EXPORT", "LOW_MASK",
           "FootprintGlobals", "OperandSaver", "atomic_access", "decode_desc", "desc", "extras_of", "footprint_globals",
           "memarg_offset", "pending_of", "plain_access"]

STEP_WORD_EXPORT = "__wasmconc_step"
STEP_FUTEX_EXPORT = "__wasmconc_step_futex"

DESC_EMPTY = 0
DESC_UNKNOWN = 63
_DESC_BITS = 6
_LOW = 40  # the pending operation: desc and address
LOW_MASK = (1 << _LOW) - 1  # a STEP_WORD without the step's extras (the runtime writes it back to clear them)
_ADDRESS_MASK = LOW_MASK & ~((1 << _DESC_BITS) - 1)
_WAIT = 1 << 40
_NOTIFY = 1 << 50
_UNKNOWN = 1 << 60


_I32, _I64 = b"\x7f", b"\x7e"
_GLOBAL_GET, _GLOBAL_SET = b"\x23", b"\x24"
_I64_EXTEND_I32_U, _I64_ADD, _I64_AND, _I64_OR, _I64_SHL = b"\xad", b"\x7c", b"\x83", b"\x84", b"\x86"


def desc(size: int, write: bool) -> int:
    """The desc of an access of `size` bytes (1..16)."""
    return size << 1 | int(write)


def decode_desc(value: int) -> tuple[int, bool] | None:
    """(size, write) of a desc that names an access, None for DESC_EMPTY or DESC_UNKNOWN."""
    if value == DESC_EMPTY or value == DESC_UNKNOWN:
        return None
    return value >> 1, bool(value & 1)


def pending_of(word: int) -> tuple[int, int]:
    """(address, desc) of the pending operation in a `STEP_WORD` (read as an unsigned 64-bit value)."""
    return (word & _ADDRESS_MASK) >> _DESC_BITS, word & ((1 << _DESC_BITS) - 1)


def extras_of(word: int) -> tuple[int, int] | None:
    """(waits, notifies) a `STEP_WORD` says its step made beyond its pending operation, None when the step
    did something unknown."""
    if word >> 60:
        return None
    return (word >> 40) & 1023, (word >> 50) & 1023


# Plain stores: the value's type (loads have none: only an address on the stack).
_STORE_TYPES: dict[int, bytes] = {0x36: _I32, 0x37: _I64, 0x38: b"\x7d", 0x39: b"\x7c", 0x3A: _I32, 0x3B: _I32,
                                  0x3C: _I64, 0x3D: _I64, 0x3E: _I64}
# Atomic accesses (0xFE prefix): sub-opcode -> (width, value type, operands above the address, write).
_ATOMICS: dict[int, tuple[int, bytes, int, bool]] = {}
_GROUP = ((4, _I32), (8, _I64), (1, _I32), (2, _I32), (1, _I64), (2, _I64), (4, _I64))
for _i, (_w, _t) in enumerate(_GROUP):
    _ATOMICS[0x10 + _i] = (_w, _t, 0, False)  # loads
    _ATOMICS[0x17 + _i] = (_w, _t, 1, True)  # stores
    for _base in range(0x1E, 0x48, 7):  # add, sub, and, or, xor, xchg
        _ATOMICS[_base + _i] = (_w, _t, 1, True)
    _ATOMICS[0x48 + _i] = (_w, _t, 2, True)  # cmpxchg: expected, replacement


@dataclass(frozen=True)
class FootprintGlobals:
    """The two globals of one instrumented module (indices in the rewritten module)."""

    step: int
    step_futex: int

    def _keep_extras(self) -> Snippet:
        return Snippet().raw(_GLOBAL_GET + uleb(self.step)).i64_const(~LOW_MASK).raw(_I64_AND)

    def announce(self, addr_local: int, m64: bool, offset: int, size: int, write: bool) -> Snippet:
        """The pending operation := the access at `addr_local` + `offset`."""
        snip = self._keep_extras().local_get(addr_local)
        if not m64:
            snip.raw(_I64_EXTEND_I32_U)
        if offset:
            snip.i64_const(offset).raw(_I64_ADD)
        snip.i64_const(_DESC_BITS).raw(_I64_SHL).i64_const(_ADDRESS_MASK).raw(_I64_AND).raw(_I64_OR)
        return snip.i64_const(desc(size, write)).raw(_I64_OR).raw(_GLOBAL_SET + uleb(self.step))

    def announce_const(self, value: int) -> Snippet:
        """The pending operation := DESC_EMPTY or DESC_UNKNOWN."""
        return self._keep_extras().i64_const(value).raw(_I64_OR).raw(_GLOBAL_SET + uleb(self.step))

    def futex_op(self, addr_local: int, m64: bool, offset: int, notify: bool) -> Snippet:
        """A wait or notify of the word at `addr_local` + `offset`: counted, STEP_FUTEX := its address."""
        snip = Snippet().local_get(addr_local)
        if not m64:
            snip.raw(_I64_EXTEND_I32_U)
        if offset:
            snip.i64_const(offset).raw(_I64_ADD)
        snip.raw(_GLOBAL_SET + uleb(self.step_futex))
        count = _NOTIFY if notify else _WAIT
        return snip.raw(_GLOBAL_GET + uleb(self.step)).i64_const(count).raw(_I64_ADD).raw(
            _GLOBAL_SET + uleb(self.step))

    def unknown_op(self) -> Snippet:
        """An operation of this step whose effect is not known."""
        return Snippet().raw(_GLOBAL_GET + uleb(self.step)).i64_const(_UNKNOWN).raw(_I64_OR).raw(
            _GLOBAL_SET + uleb(self.step))


_MADE: weakref.WeakKeyDictionary[ModuleRewriter, FootprintGlobals] = weakref.WeakKeyDictionary()


def footprint_globals(rw: ModuleRewriter) -> FootprintGlobals:
    """The module's footprint globals, added and exported by the first pass that asks."""
    made = _MADE.get(rw)
    if made is None:
        made = FootprintGlobals(rw.add_global(_I64, b"\x42" + sleb(DESC_UNKNOWN)), rw.add_global(_I64, b"\x42\x00"))
        rw.export_global(STEP_WORD_EXPORT, made.step)
        rw.export_global(STEP_FUTEX_EXPORT, made.step_futex)
        _MADE[rw] = made
    return made


class OperandSaver:
    """Copies an access's address out from under its other operands, into locals of one function."""

    def __init__(self, ed: BodyEditor) -> None:
        self._ed = ed
        self._locals: dict[tuple[int, bytes], int] = {}

    def _local(self, slot: int, valtype: bytes) -> int:
        index = self._locals.get((slot, valtype))
        if index is None:
            index = self._locals[(slot, valtype)] = self._ed.add_local(valtype)
        return index

    def save(self, m64: bool, above: tuple[bytes, ...]) -> tuple[Snippet, int]:
        """A stack-neutral snippet leaving the address (under `above`, the operand types above it,
        bottom first) in a local, and that local."""
        snip = Snippet()
        saved = [self._local(i + 1, t) for i, t in enumerate(above)]
        for index in reversed(saved):
            snip.local_set(index)
        addr = self._local(0, _I64 if m64 else _I32)
        snip.local_tee(addr)
        for index in saved:
            snip.local_get(index)
        return snip, addr


def plain_access(ins: Instr) -> tuple[int, bool, tuple[bytes, ...]] | None:
    """(width, write, operand types above the address) of a plain load or store; None for bulk memory
    and SIMD (their footprint stays unknown)."""
    width = PLAIN_ACCESS_WIDTHS.get(ins.op)
    if width is None:
        return None
    store = _STORE_TYPES.get(ins.op)
    return (width, True, (store,)) if store is not None else (width, False, ())


def atomic_access(ins: Instr) -> tuple[int, bool, tuple[bytes, ...]] | None:
    """As `plain_access`, for an atomic load, store, read-modify-write or compare-exchange."""
    if ins.op >> 16 != 0xFE:
        return None
    entry = _ATOMICS.get(ins.op & 0xFFFF)
    if entry is None:
        return None
    width, valtype, above, write = entry
    return width, write, (valtype,) * above


def memarg_offset(ins: Instr) -> int:
    """The static offset of a memarg instruction (align, memory index, offset)."""
    return int(ins.imm[2])

