"""The race check's load-time pass: every access to shared memory reports itself to the check.

Before each plain load or store of a shared memory the pass inserts a call
`wasmconc_races.access(addr, site)` (`access64` for a 64-bit memory); `site`
indexes `RaceInstrumentation.sites`, which holds what the call cannot say
cheaply: read or write, the size, the memarg offset (the host adds it to the
address), and where the instruction is (function index and byte offset in the
ORIGINAL module, so reports name the function from the name section).
Bulk memory (`memory.copy/fill/init`) reports its byte ranges through
`wasmconc_races.range(addr, length, site)`.

Atomic accesses report synchronization on their address, placed so that the
real-threads mode never misses an edge: a release (atomic store, notify, and
the first half of a read-modify-write or compare-exchange) right BEFORE the
access, an acquire (atomic load, wait, the second half of a read-modify-write)
right AFTER it. A wait's acquire after it returns is what orders a notify
before the woken thread.

Thread spawn: a call of `wasi.thread-spawn(start_arg)` reports a SPAWN site
first, and the exported `wasi_thread_start(tid, start_arg)` reports a START
site on entry; the check orders the two through `start_arg` (the ABI's
pointer to the new thread's start data, unique among live threads).

Not instrumented:
- accesses that provably touch the running function's own stack frame
  (instrument/stack_frame.py: no other thread can see them), and accesses
  of memories that are not shared;
- plain accesses in functions a suppression pattern matches (their races are
  not reported; their atomics still synchronize);
- plain accesses in the sync functions (`SyncFunction` table): there they
  count as atomic (acquire for a load, release for a store). musl, and so
  wasi-libc, reads and writes its lock words with `volatile` plain accesses
  around compare-exchanges, the atomics it predates C11 with; a detector that
  called those races would also miss the order they give.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...instrument import BodyEditor, FuncRef, ModuleRewriter, Snippet
from ...instrument.decode import Instr
from ...instrument.module import FUNC, ModuleInfo
from ...instrument.opcodes import CALL, RETURN_CALL, key
from ...instrument.reader import Reader
from ...instrument.stack_frame import PLAIN_ACCESS_WIDTHS, FrameAnalysis, stack_pointer_global
from ...instrument.lines import LineTable, line_table

__all__ = [
    "ACCESS",
    "ACCESS64",
    "HOST_MODULE",
    "RANGE",
    "AccessSite",
    "RaceInstrumentation",
    "RacePass",
    "SiteKind",
]

HOST_MODULE = "wasmconc_races"
ACCESS = "access"  # (addr: i32, site: i32) -> ()
ACCESS64 = "access64"  # (addr: i64, site: i32) -> ()
RANGE = "range"  # (addr: i32, length: i32, site: i32) -> ()
THREAD_SPAWN = ("wasi", "thread-spawn")
THREAD_START = "wasi_thread_start"

_I32, _I64, _F32, _F64, _V128 = b"\x7f", b"\x7e", b"\x7d", b"\x7c", b"\x7b"


class SiteKind:
    """What a site reports (plain strings: sites are data, kept in caches and reports)."""

    READ = "read"
    WRITE = "write"
    ACQUIRE = "acquire"  # an atomic read, a wait, a plain read in a sync function: after the access
    RELEASE = "release"  # an atomic write, a notify, a plain write in a sync function: before it
    SPAWN = "spawn"  # before wasi.thread-spawn(start_arg)
    START = "start"  # entry of wasi_thread_start(tid, start_arg)


@dataclass(frozen=True)
class AccessSite:
    """One inserted report: what it says and where the instruction is.

    `func_index` is the function's index in the ORIGINAL module, `at` the
    byte offset of the instruction in the original module, `offset` the
    instruction's memarg offset (added to the reported address), `size` the
    bytes accessed (0 for a range: its length is reported).
    """

    index: int
    kind: str
    size: int
    offset: int
    func_index: int
    func: str | None
    at: int
    instr: str
    source: str | None = None  # "file.c:12" when the guest has a DWARF line table

    @property
    def where(self) -> str:
        """`function (@0x1f3)`: the one-frame location."""
        return f"{self.func or f'<func {self.func_index}>'} (@{self.at:#x})"


@dataclass
class RaceInstrumentation:
    """What the pass did (kept in `Program.pass_results`)."""

    sites: list[AccessSite] = field(default_factory=list)
    shared_memories: list[int] = field(default_factory=list)
    frame_private: int = 0  # accesses left alone: their function's own frame
    suppressed: dict[str, int] = field(default_factory=dict)  # function -> plain accesses left alone
    sync_functions: dict[str, int] = field(default_factory=dict)  # function -> plain accesses made sync
    has_names: bool = False
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        reads = sum(1 for s in self.sites if s.kind == SiteKind.READ)
        writes = sum(1 for s in self.sites if s.kind == SiteKind.WRITE)
        sync = sum(1 for s in self.sites if s.kind in (SiteKind.ACQUIRE, SiteKind.RELEASE))
        return (f"{reads} read and {writes} write sites, {sync} synchronization sites, "
                f"{self.frame_private} frame-private accesses skipped")


# -- the instruction tables --------------------------------------------------------------------

# Plain stores: opcode -> the type of the value stored (sizes: PLAIN_ACCESS_WIDTHS; loads store nothing).
_STORED: dict[int, bytes] = {
    0x36: _I32, 0x37: _I64, 0x38: _F32, 0x39: _F64, 0x3A: _I32, 0x3B: _I32, 0x3C: _I64, 0x3D: _I64, 0x3E: _I64,
}
# SIMD: opcode -> (size, operands after the address, is a write)
_SIMD: dict[int, tuple[int, tuple[bytes, ...], bool]] = {
    key(0xFD, 0x00): (16, (), False),
    **{key(0xFD, s): (8, (), False) for s in range(0x01, 0x07)},
    key(0xFD, 0x07): (1, (), False), key(0xFD, 0x08): (2, (), False),
    key(0xFD, 0x09): (4, (), False), key(0xFD, 0x0A): (8, (), False),
    key(0xFD, 0x0B): (16, (_V128,), True),
    key(0xFD, 0x54): (1, (_V128,), False), key(0xFD, 0x55): (2, (_V128,), False),
    key(0xFD, 0x56): (4, (_V128,), False), key(0xFD, 0x57): (8, (_V128,), False),
    key(0xFD, 0x58): (1, (_V128,), True), key(0xFD, 0x59): (2, (_V128,), True),
    key(0xFD, 0x5A): (4, (_V128,), True), key(0xFD, 0x5B): (8, (_V128,), True),
    key(0xFD, 0x5C): (4, (), False), key(0xFD, 0x5D): (8, (), False),
}
# The seven widths of every atomic family, in opcode order, and the value type of each.
_ATOMIC_SIZES = (4, 8, 1, 2, 1, 2, 4)
_ATOMIC_TYPES = (_I32, _I64, _I32, _I32, _I64, _I64, _I64)
# Atomics: opcode -> (size, operands after the address, release before, acquire after)
_ATOMIC: dict[int, tuple[int, tuple[bytes, ...], bool, bool]] = {
    key(0xFE, 0x00): (4, (_I32,), True, False),  # notify
    key(0xFE, 0x01): (4, (_I32, _I64), False, True),  # wait32
    key(0xFE, 0x02): (8, (_I64, _I64), False, True),  # wait64
}
for _n in range(7):
    _ATOMIC[key(0xFE, 0x10 + _n)] = (_ATOMIC_SIZES[_n], (), False, True)  # loads
    _ATOMIC[key(0xFE, 0x17 + _n)] = (_ATOMIC_SIZES[_n], (_ATOMIC_TYPES[_n],), True, False)  # stores
    for _family in range(6):  # add sub and or xor xchg
        _ATOMIC[key(0xFE, 0x1E + 7 * _family + _n)] = (_ATOMIC_SIZES[_n], (_ATOMIC_TYPES[_n],), True, True)
    _ATOMIC[key(0xFE, 0x48 + _n)] = (_ATOMIC_SIZES[_n], (_ATOMIC_TYPES[_n],) * 2, True, True)  # cmpxchg
_MEMORY_COPY, _MEMORY_FILL, _MEMORY_INIT = key(0xFC, 0x0A), key(0xFC, 0x0B), key(0xFC, 0x08)
_WAIT_NOTIFY = frozenset((key(0xFE, 0x00), key(0xFE, 0x01), key(0xFE, 0x02)))


_BULK_NAMES = {_MEMORY_COPY: "memory.copy", _MEMORY_FILL: "memory.fill", _MEMORY_INIT: "memory.init"}


def _instr_name(op: int) -> str:
    """How a report names the instruction (bulk memory by name: its size is not in the opcode)."""
    if op in _BULK_NAMES:
        return _BULK_NAMES[op]
    if op < 0x100:
        return f"op 0x{op:02x}"
    return f"op 0x{op >> 16:02x} 0x{op & 0xFFFF:02x}"


@dataclass(frozen=True)
class SyncFunction:
    """A function whose plain accesses are its synchronization (see the module docstring).

    `pattern` must match a whole name-section name (a Python regex); `why`
    says what in the function makes its plain accesses atomic in effect.
    """

    pattern: str
    why: str


class RacePass:
    """Instrument a module for the race check (see the module docstring)."""

    def __init__(self, sync_functions: Sequence[SyncFunction], suppress: Sequence[str]) -> None:
        self.sync_functions = tuple(sync_functions)
        self.suppress = tuple(suppress)
        self._sync_rx = [re.compile(s.pattern) for s in self.sync_functions]
        self._suppress_rx = [re.compile(p) for p in self.suppress]

    def fingerprint(self) -> str:
        """Identifies what the pass does (programs instrumented otherwise differ)."""
        text = repr((tuple(s.pattern for s in self.sync_functions), self.suppress))
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    def run(self, rw: ModuleRewriter, names: dict[int, str]) -> RaceInstrumentation:
        info = rw.info
        result = RaceInstrumentation(has_names=bool(names))
        shared = [m.index for m in info.memories if m.shared]
        result.shared_memories = shared
        if not shared:
            return result  # nothing another thread can see
        memory64 = {m.index: m.memory64 for m in info.memories}
        sp = stack_pointer_global(info)
        spawn = _import_index(info, *THREAD_SPAWN)
        start = _exported_func(info, THREAD_START)
        hooks = _Hooks(rw)
        lines = line_table(info)
        for fb in rw.bodies():
            fname = names.get(fb.index)
            suppressed = fname is not None and any(rx.fullmatch(fname) for rx in self._suppress_rx)
            as_sync = fname is not None and any(rx.fullmatch(fname) for rx in self._sync_rx)
            ed = rw.editor(fb.index)
            body = _Body(ed, hooks, result, fb.index, fname, lines)
            frame: FrameAnalysis | None = None
            if fb.index == start:
                body.thread_start()
            for i, ins in enumerate(ed.instrs):
                op = ins.op
                width = PLAIN_ACCESS_WIDTHS.get(op)
                simd = _SIMD.get(op) if width is None else None
                if width is not None or simd is not None:
                    memidx = ins.imm[1]
                    if memidx not in shared:
                        continue
                    if width is not None:
                        size, stored = width, _STORED.get(op)
                        operands: tuple[bytes, ...] = () if stored is None else (stored,)
                        write = stored is not None
                    else:
                        assert simd is not None
                        size, operands, write = simd
                    if sp is not None and memidx == 0 and width is not None:
                        if frame is None:
                            frame = FrameAnalysis(info, ed.instrs, sp)
                        if frame.stack_local(i):
                            result.frame_private += 1
                            continue
                    if suppressed:
                        assert fname is not None
                        result.suppressed[fname] = result.suppressed.get(fname, 0) + 1
                        continue
                    if as_sync:
                        assert fname is not None
                        result.sync_functions[fname] = result.sync_functions.get(fname, 0) + 1
                        kind = SiteKind.RELEASE if write else SiteKind.ACQUIRE
                        body.atomic(i, ins, size, operands, kind == SiteKind.RELEASE, kind == SiteKind.ACQUIRE,
                                    memory64[memidx])
                    else:
                        body.plain(i, ins, size, operands, SiteKind.WRITE if write else SiteKind.READ,
                                   memory64[memidx])
                elif op in _ATOMIC:
                    memidx = ins.imm[1]
                    if memidx not in shared:
                        continue
                    size, operands, release, acquire = _ATOMIC[op]
                    if sp is not None and memidx == 0 and op not in _WAIT_NOTIFY:
                        if frame is None:
                            frame = FrameAnalysis(info, ed.instrs, sp)
                        if frame.stack_local(i):
                            # musl's a_barrier: a compare-exchange on a local of the spinning
                            # function; no other thread can synchronize through it.
                            result.frame_private += 1
                            continue
                    body.atomic(i, ins, size, operands, release, acquire, memory64[memidx])
                elif op in (_MEMORY_COPY, _MEMORY_FILL, _MEMORY_INIT):
                    body.bulk(i, ins, shared, memory64, suppressed)
                elif (op == CALL or op == RETURN_CALL) and spawn is not None and ins.imm[0] == spawn:
                    body.spawn(i)
            rw.release(fb.index)
        return result


class _Hooks:
    """The imports the pass adds, requested on first use."""

    def __init__(self, rw: ModuleRewriter) -> None:
        self._rw = rw
        self._refs: dict[str, FuncRef] = {}

    def get(self, name: str) -> FuncRef:
        ref = self._refs.get(name)
        if ref is None:
            params = {ACCESS: ["i32", "i32"], ACCESS64: ["i64", "i32"], RANGE: ["i32", "i32", "i32"]}[name]
            ref = self._refs[name] = self._rw.import_func(HOST_MODULE, name, params, [])
        return ref


class _Body:
    """The edits of one function body: scratch locals and the inserted reports."""

    def __init__(self, ed: BodyEditor, hooks: _Hooks, result: RaceInstrumentation, func_index: int,
                 func: str | None, lines: LineTable | None) -> None:
        self.ed = ed
        self.lines = lines
        self.hooks = hooks
        self.result = result
        self.func_index = func_index
        self.func = func
        self._scratch: dict[bytes, list[int]] = {}

    def _local(self, valtype: bytes, n: int) -> int:
        pool = self._scratch.setdefault(valtype, [])
        while len(pool) <= n:
            pool.append(self.ed.add_local(valtype))
        return pool[n]

    def _site(self, kind: str, size: int, offset: int, at: int, op: int) -> int:
        index = len(self.result.sites)
        source = self.lines.lookup(at) if self.lines is not None else None
        self.result.sites.append(AccessSite(index, kind, size, offset, self.func_index, self.func, at,
                                            _instr_name(op), source))
        return index

    def _save(self, operands: tuple[bytes, ...], addr_type: bytes) -> tuple[Snippet, Snippet, int]:
        """Code that keeps the address in a local (and the operands above it), and code that puts them back."""
        save, restore = Snippet(), Snippet()
        counts: dict[bytes, int] = {addr_type: 1}
        slots = []
        for t in operands:
            slots.append(self._local(t, counts.get(t, 0)))
            counts[t] = counts.get(t, 0) + 1
        for local in reversed(slots):
            save.local_set(local)
        addr = self._local(addr_type, 0)
        save.local_tee(addr)
        for local in slots:
            restore.local_get(local)
        return save, restore, addr

    def _just_before(self, i: int, ins: Instr, snippet: Snippet) -> None:
        """Run `snippet` right before instruction `i`, after whatever any pass puts before it.

        The preemption pass runs after the checks' passes and puts its counter checks before
        the accesses it makes visible: a report placed with `insert_before` would come ahead
        of a possible thread switch, this one comes after it. Memory instructions hold no
        function index, so their bytes are copied as they are.
        """
        self.ed.replace(i, snippet.raw(self.ed.data[ins.start:ins.end]))

    def plain(self, i: int, ins: Instr, size: int, operands: tuple[bytes, ...], kind: str, m64: bool) -> None:
        save, restore, addr = self._save(operands, _I64 if m64 else _I32)
        site = self._site(kind, size, ins.imm[2], ins.start, ins.op)
        report = Snippet().i32_const(site).call(self.hooks.get(ACCESS64 if m64 else ACCESS)).local_get(addr)
        self._just_before(i, ins, save.extend(report).extend(restore))

    def atomic(self, i: int, ins: Instr, size: int, operands: tuple[bytes, ...], release: bool, acquire: bool,
               m64: bool) -> None:
        save, restore, addr = self._save(operands, _I64 if m64 else _I32)
        hook = self.hooks.get(ACCESS64 if m64 else ACCESS)
        offset = ins.imm[2]
        before = save
        if release:
            site = self._site(SiteKind.RELEASE, size, offset, ins.start, ins.op)
            before.i32_const(site).call(hook).local_get(addr)
        before.extend(restore)
        if ins.op in _WAIT_NOTIFY:
            self.ed.insert_before(i, before)  # the atomics pass replaced it by a host call already
        else:
            self._just_before(i, ins, before)
        if acquire:
            site = self._site(SiteKind.ACQUIRE, size, offset, ins.start, ins.op)
            self.ed.insert_after(i, Snippet().local_get(addr).i32_const(site).call(hook))

    def bulk(self, i: int, ins: Instr, shared: list[int], memory64: dict[int, bool], suppressed: bool) -> None:
        op = ins.op
        if op == _MEMORY_COPY:
            dst_mem, src_mem = ins.imm[0], ins.imm[1]
        elif op == _MEMORY_FILL:
            dst_mem, src_mem = ins.imm[0], None
        else:
            dst_mem, src_mem = ins.imm[1], None
        mems = [m for m in (dst_mem, src_mem) if m is not None]
        if suppressed or not any(m in shared for m in mems):
            return
        if any(memory64.get(m, False) for m in mems):
            self.result.notes.append(f"{self.func or self.func_index}: a bulk memory instruction on a 64-bit "
                                     "memory is not checked")
            return
        n, second, dst = self._local(_I32, 0), self._local(_I32, 1), self._local(_I32, 2)
        hook = self.hooks.get(RANGE)
        snip = Snippet().local_set(n).local_set(second).local_set(dst)
        if src_mem is not None and src_mem in shared:
            site = self._site(SiteKind.READ, 0, 0, ins.start, op)
            snip.local_get(second).local_get(n).i32_const(site).call(hook)
        if dst_mem in shared:
            site = self._site(SiteKind.WRITE, 0, 0, ins.start, op)
            snip.local_get(dst).local_get(n).i32_const(site).call(hook)
        snip.local_get(dst).local_get(second).local_get(n)
        self.ed.insert_before(i, snip)

    def spawn(self, i: int) -> None:
        arg = self._local(_I32, 0)
        site = self._site(SiteKind.SPAWN, 0, 0, self.ed.instrs[i].start, self.ed.instrs[i].op)
        self.ed.insert_before(i, Snippet().local_tee(arg).i32_const(site).call(self.hooks.get(ACCESS))
                              .local_get(arg))

    def thread_start(self) -> None:
        sig = self.ed.sig
        if sig is None or len(sig.params) != 2 or sig.params[1] != _I32:
            self.result.notes.append(f"{THREAD_START} is not (i32, i32) -> (): thread starts are not ordered")
            return
        site = self._site(SiteKind.START, 0, 0, self.ed.body.code_start, 0)
        self.ed.insert_first_before(0, Snippet().local_get(1).i32_const(site).call(self.hooks.get(ACCESS)))


def _import_index(info: ModuleInfo, module: str, name: str) -> int | None:
    index = 0
    for imp in info.imports:
        if imp.kind != FUNC:
            continue
        if imp.module == module and imp.name == name:
            return index
        index += 1
    return None


def _exported_func(info: ModuleInfo, name: str) -> int | None:
    sec = info.section(7)
    if sec is None:
        return None
    r = Reader(info.data, sec.payload, sec.end)
    for _ in range(r.u32()):
        export = r.name()
        kind = r.u8()
        index = r.u32()
        if export == name and kind == FUNC:
            return index
    return None
