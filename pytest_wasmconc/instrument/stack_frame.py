"""Which atomic accesses provably touch the running function's own stack frame.

(One module of ~600 lines on purpose: one analysis whose parts share the invariants stated
below; split, the proof would have to be read across files.)

Why: musl's `a_spin()` is `a_barrier()`, a compare-exchange on a `volatile
int` in the spinning function's own frame of the shadow stack, and libc's
mutex, barrier and `__wait` loops spin 100-200 times per contended wait. A
scheduling point before each of those is a scheduling decision about memory
no other thread can see: five in six of the steps of 1000 threads meeting at
a barrier were such spins, and they add nothing to the interleavings explored. The rule (the scheduler's contract):
an access that provably touches the current activation's own frame need not
be a point; everything else is.

What counts as proof, for one function body (intraprocedural, and
conservative: every question the analysis cannot answer means "not local"):

* The stack pointer global is known (`stack_pointer_global`): the name
  section calls it `__stack_pointer`, or the module imports a global of that
  name, or, for a stripped wasi-threads guest (it exports
  `wasi_thread_start`), lld's layout puts it first: global 0, defined,
  mutable i32 and initialised to a positive, 16-aligned constant.
* A *frame value* is `SPread - N + k` where `SPread` is a value this
  activation read from the stack pointer and `N > 0` came from the LLVM
  prologue shape `global.get $sp; i32.const N; i32.sub`. Frame values flow
  through `i32.add`/`i32.sub` of a constant and through locals.
* A *frame local* is one whose every assignment in the function
  (flow-insensitively) is the same frame value (N, k), and whose every read
  is dominated by one of those assignments (the implicit zero a local starts
  with is the assignment this rules out; the check is structural: an earlier
  assignment in the same block arm or an enclosing one, see `_arms`).
* Escape: every instruction producing a frame value (a read or tee of a
  frame local, every `global.get $sp`) must be consumed by one of: the
  address operand of a memory instruction, the operand of an assignment to a
  frame local, a `global.set $sp` of a frame value `(N, k)` with
  `0 <= k <= N`, or an `i32.add/sub` of a constant that is itself consumed
  so. Anything else (a call argument, a stored value, a comparison, a `drop`,
  an assignment to another local, an operand the backward parser cannot
  match) and the function gets no stack-local sites at all: the frame's
  address may have been published, so other threads may reach it.
* A site is stack-local when its address operand is a frame value (N, k)
  and, with the memarg offset, the access `[k + off, k + off + size)` lies
  within `[0, N)`, i.e. inside the `N` bytes the prologue took below
  `SPread`, and it uses memory 0 (where the shadow stack lives).

Why that is sound: the `global.set $sp` rule keeps the stack pointer at or
below its value at entry for the whole activation (callees restore it, per
the C ABI), so every frame value points below that entry value, into memory
that belongs to this activation or to nobody (callers' frames are above it;
other threads have their own stacks and their own `__stack_pointer`
instance). Such memory is reachable by another thread only through a
pointer someone published; callers cannot have one (it lies below their
frames), finished callees' pointers are dangling (their use would be a
use-after-return bug in the guest), and this activation published none (the
escape check). So no other thread can touch the location while this
activation runs: the access communicates nothing, commutes with every other
thread's steps, and a scheduling decision before it reaches no state that a
decision at the thread's next point cannot. (Points sit at atomics because
that is where threads communicate; plain accesses are not points at the
default level.) The operand matching is exact: the backward parser only
walks straight-line instructions of known arity, so the tree it builds is
the one the validator would; it fails (conservatively) at any block
boundary, call of unknown arity or polymorphic stack.

What it gives up: frames addressed through anything but the prologue shape
(dynamic `alloca`, a saved-and-restored stack pointer, `setjmp`), dynamic
indices into frame arrays, and every function that passes a frame address
anywhere: e.g. `pthread_barrier_wait`, which publishes its on-stack
`instance` (other threads do touch that), keeps the point of its `a_spin`
too, since where the published object ends in the frame is unknown. Where
musl uses `a_barrier` as a fence before a plain read of shared memory
(`__tl_sync`), the thread can no longer be switched out right before that
read except at the end of a quantum: the point there stood for the read,
which is not itself a point at the default level. It also assumes what C
guarantees: no guest computes pointers into a caller's frame from the stack
pointer, and a stack pointer never wraps below zero (a wrapped one is a
stack overflow whose accesses trap out of bounds).

Cost: `FrameAnalysis` is built only for functions with a scheduling
candidate; it runs the whole-function analysis only once a site's address
looks like a frame access, and then parses only the memory instructions
next to frame values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .decode import Instr, decode_expr, skip_valtype
from .errors import InstrumentError
from .module import FUNC, GLOBAL, ModuleInfo
from .names import global_names_of
from .opcodes import BLOCK_START, CALL, DELEGATE, ELSE, END, I32_CONST, key
from .reader import Reader

__all__ = ["PLAIN_ACCESS_WIDTHS", "STACK_POINTER_NAME", "FrameAnalysis", "stack_pointer_global"]

STACK_POINTER_NAME = "__stack_pointer"

_LOCAL_GET, _LOCAL_SET, _LOCAL_TEE = 0x20, 0x21, 0x22
_GLOBAL_GET, _GLOBAL_SET = 0x23, 0x24
_I32_ADD, _I32_SUB = 0x6A, 0x6B
_CALL_INDIRECT = 0x11
_CATCH, _CATCH_ALL = 0x07, 0x19  # legacy exception handling: start sibling arms
_I32 = b"\x7f"
_MUTABLE = 0x01  # a global's mutability byte: mutable, not shared
# Expression trees deeper than this are not matched (bounds the parser's
# recursion; an unmatched tree only means "not local").
_MAX_DEPTH = 200


def _arity_table() -> dict[int, int]:
    """Operand count of every straight-line instruction that pushes exactly one value.

    Only these may appear inside a matched expression: no control flow, no
    instruction whose arity depends on a type the parser does not look up
    (calls are handled separately), nothing that leaves the stack polymorphic.
    """
    t: dict[int, int] = {}

    def put(n: int, *ops: int | range) -> None:
        for op in ops:
            for o in op if isinstance(op, range) else (op,):
                t[o] = n

    # consts, local.get, global.get, memory.size, ref.null, ref.func
    put(0, 0x41, 0x42, 0x43, 0x44, _LOCAL_GET, _GLOBAL_GET, 0x3F, 0xD0, 0xD2)
    # local.tee, loads, memory.grow, eqz, unary numeric, conversions, sign-extension, ref.is_null
    put(1, _LOCAL_TEE, range(0x28, 0x36), 0x40, 0x45, 0x50, range(0x67, 0x6A), range(0x79, 0x7C))
    put(1, range(0x8B, 0x92), range(0x99, 0xA0), range(0xA7, 0xC5), 0xD1)
    # comparisons and binary numeric
    put(2, range(0x46, 0x50), range(0x51, 0x67), range(0x6A, 0x79), range(0x7C, 0x8B))
    put(2, range(0x92, 0x99), range(0xA0, 0xA7))
    put(3, 0x1B, 0x1C)  # select, typed select
    put(1, *(key(0xFC, s) for s in range(8)))  # saturating truncations
    # threads: notify, waits, atomic loads, read-modify-writes, compare-exchanges
    put(2, key(0xFE, 0x00))
    put(3, key(0xFE, 0x01), key(0xFE, 0x02))
    put(1, *(key(0xFE, s) for s in range(0x10, 0x17)))
    put(2, *(key(0xFE, s) for s in range(0x1E, 0x48)))
    put(3, *(key(0xFE, s) for s in range(0x48, 0x4F)))
    return t


_ARITY = _arity_table()
# The last instruction of any frame-value expression.
_FRAME_TAILS = frozenset((_I32_SUB, _I32_ADD, _LOCAL_GET, _LOCAL_TEE))


def _memory_operands() -> dict[int, tuple[int, tuple[int, ...]]]:
    """Memory instructions: (operand count, which operands are addresses)."""
    t: dict[int, tuple[int, tuple[int, ...]]] = {}
    for op in range(0x28, 0x36):  # loads
        t[op] = (1, (0,))
    for op in range(0x36, 0x3F):  # stores
        t[op] = (2, (0,))
    t[key(0xFE, 0x00)] = (2, (0,))  # notify
    t[key(0xFE, 0x01)] = (3, (0,))  # wait32
    t[key(0xFE, 0x02)] = (3, (0,))  # wait64
    for s in range(0x10, 0x17):  # atomic loads
        t[key(0xFE, s)] = (1, (0,))
    for s in range(0x17, 0x48):  # atomic stores, read-modify-writes
        t[key(0xFE, s)] = (2, (0,))
    for s in range(0x48, 0x4F):  # compare-exchanges
        t[key(0xFE, s)] = (3, (0,))
    t[key(0xFC, 0x08)] = (3, (0,))  # memory.init: dest, src offset, length
    t[key(0xFC, 0x0A)] = (3, (0, 1))  # memory.copy: dest, src, length
    t[key(0xFC, 0x0B)] = (3, (0,))  # memory.fill: dest, value, length
    return t


_MEMORY_OPERANDS = _memory_operands()
# Bytes a plain load (0x28-0x35) or store (0x36-0x3E) touches, by opcode.
PLAIN_ACCESS_WIDTHS: dict[int, int] = dict(zip(range(0x28, 0x3F), (
    4, 8, 4, 8, 1, 1, 2, 2, 1, 1, 2, 2, 4, 4,  # i32/i64/f32/f64.load, i32.load8/16_s/u, i64.load8/16/32_s/u
    4, 8, 4, 8, 1, 2, 1, 2, 4,  # i32/i64/f32/f64.store, i32.store8/16, i64.store8/16/32
)))


# -- finding the stack pointer --------------------------------------------------------------


def _defined_globals(info: ModuleInfo) -> list[tuple[bytes, int, list[Instr]]]:
    """(value type, mutability byte, decoded init expression) of each defined global."""
    sec = info.section(6)
    if sec is None:
        return []
    data = info.data
    r = Reader(data, sec.payload, sec.end)
    out = []
    for _ in range(r.u32()):
        start = r.pos
        try:
            r.pos = skip_valtype(data, r.pos)
        except IndexError:
            raise r.fail("unexpected end of data in a global's type") from None
        valtype = data[start : r.pos]
        flags = r.u8()
        init, r.pos = decode_expr(data, r.pos, sec.end)
        out.append((valtype, flags, init))
    return out


def _exports_func(info: ModuleInfo, name: str) -> bool:
    sec = info.section(7)
    if sec is None:
        return False
    r = Reader(info.data, sec.payload, sec.end)
    for _ in range(r.u32()):
        export = r.name()
        kind = r.u8()
        r.u32()
        if export == name and kind == FUNC:
            return True
    return False


def stack_pointer_global(info: ModuleInfo) -> int | None:
    """Index of the module's shadow-stack pointer, or None when it cannot be identified.

    A wrong answer would make the analysis call shared memory private, so
    every way of naming it must agree with its type (a mutable i32), and a
    module whose name section names its globals but none `__stack_pointer`
    has none.
    """
    imported: list[tuple[str, tuple[bytes, int] | None]] = [
        (imp.name, imp.global_type) for imp in info.imports if imp.kind == GLOBAL
    ]
    try:
        defined = _defined_globals(info)
    except InstrumentError:
        return None  # a malformed global section: the module will not validate anyway

    def global_type(index: int) -> tuple[bytes, int] | None:
        if index < len(imported):
            return imported[index][1]
        if index - len(imported) < len(defined):
            valtype, flags, _ = defined[index - len(imported)]
            return valtype, flags
        return None

    # A mutable i32, one per instance: a `shared` global (shared-everything
    # threads, flag 0x02) would be one stack pointer for all threads.
    def usable(index: int) -> int | None:
        return index if global_type(index) == (_I32, _MUTABLE) else None

    names = global_names_of(info)
    if names:
        found = [i for i, n in names.items() if n == STACK_POINTER_NAME]
        return usable(found[0]) if len(found) == 1 else None
    found = [i for i, (n, _) in enumerate(imported) if n == STACK_POINTER_NAME]
    if found:
        return usable(found[0]) if len(found) == 1 else None
    # Stripped: lld's convention for a wasi-threads executable (which must
    # export wasi_thread_start, where each thread sets its own stack pointer).
    if imported or not defined or not _exports_func(info, "wasi_thread_start"):
        return None
    valtype, flags, init = defined[0]
    if (valtype, flags) != (_I32, _MUTABLE) or len(init) != 2 or init[0].op != I32_CONST:
        return None
    top = init[0].imm[0]
    return 0 if top > 0 and top % 16 == 0 else None


# -- the per-function analysis ---------------------------------------------------------------

FrameValue = tuple[int, int]  # (N, k): the address SPread - N + k, the frame being [SPread - N, SPread)


@dataclass(frozen=True, slots=True)
class _Node:
    """The expression producing the value of instruction `at`; it starts at `start`."""

    start: int
    at: int
    kids: tuple[_Node, ...]


class FrameAnalysis:
    """Answers `stack_local(i)` for the instructions of one function body."""

    def __init__(self, info: ModuleInfo, instrs: Sequence[Instr], sp: int) -> None:
        self.info = info
        self.instrs = instrs
        self.sp = sp
        self._trees: dict[int, _Node | None] = {}
        self.frame: set[int] = set()  # the frame locals
        self.vals: dict[int, FrameValue] = {}
        self._gets: dict[int, list[int]] = {}
        self._sets: dict[int, list[int]] = {}
        self._tees: dict[int, list[int]] = {}
        self._sp_gets: list[int] = []
        self._sp_sets: list[int] = []
        self._inventory()
        # Whole-function verdict, computed when a site first looks like a
        # frame access (most functions with atomics never get that far).
        self._ok: bool | None = None

    @property
    def ok(self) -> bool:
        """Whether the function's frame stays private (no escape, the stack pointer is only moved down)."""
        if self._ok is None:
            self._ok = self._analyse()
        return self._ok

    def stack_local(self, i: int) -> bool:
        """Whether memory instruction `i` (an atomic, or a plain load or store) provably accesses
        this activation's own frame."""
        ins = self.instrs[i]
        shape = _MEMORY_OPERANDS.get(ins.op)
        if shape is None:
            return False
        if ins.op >> 16 == 0xFE:
            align, memidx, offset = ins.imm
            width = 1 << align  # atomic accesses must be naturally aligned: the width is 2**align
        else:
            width = PLAIN_ACCESS_WIDTHS.get(ins.op, 0)  # a plain access's width is its opcode's
            if not width:
                return False  # bulk memory: a length the analysis cannot bound
            _, memidx, offset = ins.imm
        if memidx != 0 or not self._sp_gets:
            return False
        operands = self._operands(i, shape[0])
        if operands is None or not self._looks_framed(operands[0]) or not self.ok:
            return False
        value = self._value(operands[0])
        if value is None:
            return False
        size, k = value[0], value[1] + offset
        return 0 <= k and k + width <= size

    def _looks_framed(self, node: _Node) -> bool:
        """A cheap necessary condition for a frame value: a local (or the stack pointer)
        under constant offsets, the local only ever assigned from such shapes."""
        while True:
            ins = self.instrs[node.at]
            op = ins.op
            if op == _LOCAL_GET or op == _LOCAL_TEE:
                return ins.imm[0] in self._candidates
            if op == _I32_ADD or op == _I32_SUB:
                a, b = node.kids
                node = b if op == _I32_ADD and self._const(a) is not None else a
            else:
                return op == _GLOBAL_GET and ins.imm[0] == self.sp

    # -- expression matching ----------------------------------------------------------

    def _arity(self, ins: Instr) -> int | None:
        n = _ARITY.get(ins.op)
        if n is not None:
            return n
        info = self.info
        if ins.op == CALL:
            index = ins.imm[0]
            if index >= len(info.func_types):
                return None
            sig = info.func_sigs.get(info.func_types[index])
            return len(sig.params) if sig is not None and len(sig.results) == 1 else None
        if ins.op == _CALL_INDIRECT:
            sig = info.func_sigs.get(ins.imm[0])
            return len(sig.params) + 1 if sig is not None and len(sig.results) == 1 else None
        return None

    def _tree(self, j: int, depth: int = 0) -> _Node | None:
        """The expression whose value instruction `j` pushes, or None if not matched."""
        trees = self._trees
        if j in trees:
            return trees[j]
        node = None
        if j >= 0 and depth <= _MAX_DEPTH:
            n = self._arity(self.instrs[j])
            if n is not None:
                kids = self._operands(j, n, depth)
                if kids is not None:
                    node = _Node(kids[0].start if kids else j, j, kids)
        trees[j] = node
        return node

    def _operands(self, i: int, n: int, depth: int = 0) -> tuple[_Node, ...] | None:
        """The `n` operand expressions of instruction `i`, first operand first."""
        kids: list[_Node] = []
        end = i
        for _ in range(n):
            kid = self._tree(end - 1, depth + 1)
            if kid is None:
                return None
            kids.append(kid)
            end = kid.start
        kids.reverse()
        return tuple(kids)

    def _const(self, node: _Node) -> int | None:
        ins = self.instrs[node.at]
        return ins.imm[0] if ins.op == I32_CONST else None

    def _value(self, node: _Node | None) -> FrameValue | None:
        """The frame value `node` computes, given the current frame locals; None if not one."""
        if node is None:
            return None
        ins = self.instrs[node.at]
        op = ins.op
        if op == _LOCAL_GET:
            return self.vals.get(ins.imm[0])
        if op == _LOCAL_TEE:
            # Its output is its operand; passing it on is safe only into a frame local.
            return self._value(node.kids[0]) if ins.imm[0] in self.frame else None
        if op == _I32_SUB:
            a, b = node.kids
            c = self._const(b)
            if c is None:
                return None
            base = self.instrs[a.at]
            if base.op == _GLOBAL_GET and base.imm[0] == self.sp:
                return (c, 0) if c > 0 else None  # the prologue: SPread - N
            v = self._value(a)
            return (v[0], v[1] - c) if v is not None else None
        if op == _I32_ADD:
            a, b = node.kids
            for frame, const in ((a, b), (b, a)):
                c = self._const(const)
                v = self._value(frame) if c is not None else None
                if v is not None and c is not None:
                    return v[0], v[1] + c
        return None

    def _mark(self, node: _Node, marked: set[int]) -> None:
        """Record the instructions of a frame-value expression as safely consumed."""
        marked.add(node.at)
        op = self.instrs[node.at].op
        if op in (_LOCAL_TEE, _I32_ADD, _I32_SUB):
            for kid in node.kids:
                self._mark(kid, marked)

    # -- the analysis ---------------------------------------------------------------------

    def _inventory(self) -> None:
        gets, sets, tees = self._gets, self._sets, self._tees
        sp = self.sp
        for i, ins in enumerate(self.instrs):
            op = ins.op
            if op == _LOCAL_GET:
                gets.setdefault(ins.imm[0], []).append(i)
            elif op == _LOCAL_SET or op == _LOCAL_TEE:
                sets.setdefault(ins.imm[0], []).append(i)
                if op == _LOCAL_TEE:
                    tees.setdefault(ins.imm[0], []).append(i)
            elif op == _GLOBAL_GET and ins.imm[0] == sp:
                self._sp_gets.append(i)
            elif op == _GLOBAL_SET and ins.imm[0] == sp:
                self._sp_sets.append(i)
        # Locals every assignment of which ends in an instruction a frame value
        # can end in: the only ones that may turn out frame locals.
        instrs = self.instrs
        self._candidates = {
            local
            for local, js in sets.items()
            if all(j > 0 and instrs[j - 1].op in _FRAME_TAILS for j in js)
        }

    def _analyse(self) -> bool:
        instrs = self.instrs
        gets, sets, tees = self._gets, self._sets, self._tees
        sp_gets, sp_sets = self._sp_gets, self._sp_sets
        if not sp_gets:
            return False
        arms = _arms(instrs)
        if arms is None:
            return False
        # The greatest set of frame locals: drop any local with an assignment
        # of another value (or none known) or a read no assignment dominates,
        # until none is dropped. Dropping one can only turn others' values unknown.
        frame = set(self._candidates)
        while frame:
            self.frame = frame
            self.vals = self._propagate(frame, sets)
            bad = {
                local
                for local in frame
                if local not in self.vals
                or any(self._value(self._tree(j - 1)) != self.vals[local] for j in sets[local])
                or not _dominated(gets.get(local, ()), sets[local], arms)
            }
            if not bad:
                break
            frame = frame - bad
        if not frame:
            return False
        marked: set[int] = set()
        for j in sp_sets:
            tree = self._tree(j - 1)
            v = self._value(tree)
            if tree is None or v is None or not 0 <= v[1] <= v[0]:
                return False  # the stack pointer may go above its entry value
            self._mark(tree, marked)
        for local in frame:
            for j in sets[local]:
                tree = self._tree(j - 1)
                assert tree is not None  # it has the local's value
                self._mark(tree, marked)
        producers = list(sp_gets)
        for local in frame:
            producers += gets.get(local, ())
            producers += tees.get(local, ())
        for i in self._consumers_near(producers):
            shape = _MEMORY_OPERANDS[instrs[i].op]
            operands = self._operands(i, shape[0])
            if operands is None:
                continue  # a frame value inside stays unmarked, and counts as escaped
            for n in shape[1]:
                if self._value(operands[n]) is not None:
                    self._mark(operands[n], marked)
        return all(p in marked for p in producers)

    def _consumers_near(self, producers: list[int]) -> list[int]:
        """The memory instructions whose operand trees may contain a producer.

        A matched tree is a contiguous run of matchable instructions ending
        right before its consumer, so a consumer of producer `p` lies in the
        run of matchable instructions that starts at `p` or right after it:
        parsing only those is parsing every consumer that could mark `p`.
        """
        instrs = self.instrs
        out: set[int] = set()
        reached = -1  # runs already scanned end here: a later producer inside one adds nothing
        for p in sorted(producers):
            q = max(p, reached) + 1
            while q < len(instrs):
                ins = instrs[q]
                if ins.op in _MEMORY_OPERANDS:
                    out.add(q)
                if self._arity(ins) is None:
                    break
                q += 1
            reached = q
        return sorted(out)

    def _propagate(self, frame: set[int], sets: dict[int, list[int]]) -> dict[int, FrameValue]:
        """A value for each frame local from the first assignment that has a known one."""
        self.vals = {}
        changed = True
        while changed:
            changed = False
            for local in frame:
                if local in self.vals:
                    continue
                for j in sets[local]:
                    v = self._value(self._tree(j - 1))
                    if v is not None:
                        self.vals[local] = v
                        changed = True
                        break
        return self.vals


def _arms(instrs: Sequence[Instr]) -> tuple[list[int], list[int]] | None:
    """(arm of each instruction, parent of each arm), or None if the nesting is broken.

    An arm is a stretch of code entered only at its start: a function body, a
    block/loop/try/try_table body, an `if`'s then or else branch, a legacy
    catch clause. Inside one, code runs in order; branches only leave to an
    enclosing arm's end or restart an enclosing loop. So an instruction at `a`
    runs before any later instruction `u` whose arm is `a`'s arm or nested in
    it, on every path: that is the dominance `_dominated` relies on. Sibling
    arms (then/else, try/catch) never dominate each other.
    """
    parent = [-1]
    arm_of: list[int] = []
    stack = [0]
    for ins in instrs:
        op = ins.op
        if op == ELSE or op == _CATCH or op == _CATCH_ALL:
            if len(stack) < 2:
                return None
            stack.pop()
            arm_of.append(stack[-1])
            parent.append(stack[-1])
            stack.append(len(parent) - 1)
        elif op == END or op == DELEGATE:
            if not stack:
                return None
            arm_of.append(stack.pop())
        else:
            if not stack:
                return None
            arm_of.append(stack[-1])
            if op in BLOCK_START:
                parent.append(stack[-1])
                stack.append(len(parent) - 1)
    return arm_of, parent


def _dominated(
    uses: Sequence[int], defs: Sequence[int], arms: tuple[list[int], list[int]]
) -> bool:
    """Whether every use has an earlier def in its own arm or an enclosing one."""
    arm_of, parent = arms
    first: dict[int, int] = {}  # arm -> its first def
    for d in defs:
        first.setdefault(arm_of[d], d)  # defs come in code order
    for u in uses:
        arm = arm_of[u]
        while arm >= 0:
            earliest = first.get(arm)
            if earliest is not None and earliest < u:
                break
            arm = parent[arm]
        else:
            return False
    return True
