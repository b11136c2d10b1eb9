"""The bounded exhaustive search: which dfs schedule runs next, under a preemption bound, with sleep sets.

Stateless DFS (Godefroid's VeriSoft, CHESS): nothing of an execution is kept
but its decisions; the search asks for the next schedule as a prefix of forced
choices (`next_prefix`), the `Dfs` policy runs it (the prefix, then no
preemption), and the search reads the execution's decisions back (`record`).
The tree it walks has one node per decision: who could run, who ran last and
may continue, who was chosen. A choice that switches away from a thread that
could continue is a preemption; a schedule's preemptions are its prefix's,
since past the prefix nothing preempts.

Iterative preemption bounding (Musuvathi and Qadeer, PLDI 2007): bound 0 (every
schedule without a preemption: only the free choices at starts, blocks and
exits), then 1, 2, ... Each bound is a complete pass from the root (the
schedules of lower bounds run again: their numbers are small beside the new
bound's, and no execution has to be kept). A pass in which no choice was cut
by the bound has seen every schedule: the search is then exhausted whatever
the bound.

Sleep sets (Godefroid 1996). Two steps are independent when no location both
touch is written by either (`dependent`); an unknown footprint (None) is
dependent on everything, which is always correct, only less reduction. After
the subtree of the continuing thread u was explored at a node, u sleeps in the
subtrees of the other choices there as long as the steps taken are independent
of u's next step, and a sleeping thread is not chosen: any schedule that would
run u's step later is equivalent to one that runs it first, explored in u's
subtree. Only the continuing thread is put to sleep, not every earlier sibling
as in the unbounded algorithm: a preemption bound makes the plain combination
miss schedules (Coons, Musuvathi, McKinley, "Bounded partial-order reduction",
OOPSLA 2013), because moving a step earlier can cost preemptions. Moving the
continuing thread's step to the front never does: the pruned schedule paid a
preemption at that node to leave u, and the switch back to u that it also
paid covers the one switch away from u the equivalent schedule adds later (the
property test in tests/schedulers/test_dfs_search.py checks this on random
programs: every outcome reachable within the bound is reached with reduction).

What a footprint is, per step. A step of thread t is what t runs from the
decision that chose it up to its next scheduling point (where it is
suspended, blocks or ends): the operation pending at its point, then code
up to the next point. Its footprint must cover every location of shared
state the step touches (more is only less reduction; less loses schedules),
and since a sleeping thread has not run, the footprint recorded when its
step ran first (in the continuing thread's subtree) is the one of the step
it would run later: its pending operation is the same, and what it does
next depends only on what it reads, which independent steps do not change.
On real guests (the dfs policy's loads at the `shared` level,
instrument/footprints.py; the serial driver reads them,
runtime/drivers/footprints.py) a footprint is the bytes of the pending
access (read, or written: stores, read-modify-writes, compare-exchanges),
plus the 4-byte word of one wait or notify the step makes; empty when the
step is the thread's own code up to its next point (after a loop-header
check, a host call, a spawn, a wait). The rest of a step is private (its
frame, locals, its instance's globals), which is why it is not listed. None
(unknown, dependent on every step) whenever a step may touch more: a host
call (WASI or user), bulk memory or SIMD, `memory.grow`, a spawn, more than
one wait or notify, a thread's first steps, a step that ends its thread or
the execution, any step while a thread sleeps until a deadline (the clock
makes every step matter), a step followed by steps no decision chose, and
every step at levels below `shared` (plain accesses there are no points).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .base import PolicyError
from .dfs import Access, Footprint, PickRecord

__all__ = ["Access", "BoundPass", "DfsSearch", "Footprint", "NondeterminismError", "dependent"]

def dependent(a: Footprint, b: Footprint) -> bool:
    """Whether the order of two steps of different threads may matter."""
    if a is None or b is None:
        return True
    return any(x == y and (wx or wy) for x, wx in a for y, wy in b)


class NondeterminismError(PolicyError):
    """The same forced prefix led to different decisions: the guest is not a function of its schedule."""


@dataclass
class _Node:
    """A decision of the schedule being explored, with what the search knows of its choices."""

    runnable: tuple[int, ...]
    current: int | None  # the thread that may continue here, or None
    chosen: int  # the choice of the schedule being explored
    preemptions: int  # paid before this decision
    sleep: dict[int, Footprint]  # sleeping threads and their next step's footprint
    done: set[int] = field(default_factory=set)  # choices taken or settled (explored, pruned)
    footprint: Footprint = None  # of the chosen thread's step
    # The footprint of the continuing thread's step, once its subtree was explored first (it
    # then sleeps in the other choices' subtrees).
    continued: Footprint = None
    has_continued: bool = False
    blocked: bool = False  # the chosen thread sleeps: what follows is a redundant suffix

    def cost(self, thread: int) -> int:
        return 1 if self.current is not None and thread != self.current else 0


@dataclass
class BoundPass:
    """One pass of the search at one preemption bound."""

    bound: int
    schedules: int = 0  # executions of this pass
    pruned: int = 0  # choices the sleep sets left out
    cut: int = 0  # choices the bound left out
    complete: bool = False


class DfsSearch:
    """The enumeration: `next_prefix()`, run it under the dfs policy, `record()` its decisions, repeat.

    `bound`: the largest preemption bound (None: raise it until the schedules run out or
    the search is exhausted); `reduction`: sleep sets on or off.
    """

    def __init__(self, bound: int | None = None, *, reduction: bool = True) -> None:
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int) or bound < 0):
            raise ValueError(f"preemption bound must be a whole number >= 0 or None, got {bound!r}")
        self.max_bound = bound
        self.reduction = reduction
        self.passes: list[BoundPass] = [BoundPass(0)]
        self.exhausted = False  # a complete pass cut nothing: every schedule was explored
        self.schedules = 0  # executions over all passes
        # Invariants: `_stack` is the path of the schedule last recorded (then cut back to the node
        # whose choice `_next` changes); `_next` is the prefix to run next, None when finished.
        self._stack: list[_Node] = []
        self._next: tuple[int, ...] | None = ()
        self._running: tuple[int, ...] | None = None
        # Whether the schedule last recorded reached a node where its choice slept: from there on it
        # repeats (up to the order of independent steps) a schedule of the sleeping thread's subtree.
        self.last_redundant = False

    # -- the protocol -------------------------------------------------------------------------

    @property
    def current_pass(self) -> BoundPass:
        return self.passes[-1]

    @property
    def finished(self) -> bool:
        return self._next is None and self._running is None

    def next_prefix(self) -> tuple[int, ...] | None:
        """The forced choices of the next schedule, or None when the search is over."""
        if self._running is not None:
            raise RuntimeError("record() the schedule last handed out before asking for the next one")
        self._running = self._next
        return self._next

    def record(self, picks: Sequence[PickRecord], footprints: Sequence[Footprint] | None = None) -> None:
        """Take in the decisions of the execution of the prefix last handed out (and each step's footprint,
        None: unknown), then choose the next prefix."""
        prefix = self._running
        if prefix is None:
            raise RuntimeError("record() without a schedule handed out by next_prefix()")
        self._running = None
        fps: Sequence[Footprint] = footprints if footprints is not None else [None] * len(picks)
        if len(fps) != len(picks):
            raise ValueError(f"{len(fps)} footprints for {len(picks)} decisions")
        self._check_prefix(prefix, picks)
        self.schedules += 1
        self.current_pass.schedules += 1
        depth = len(prefix)
        self.last_redundant = False
        if depth:
            self._stack[depth - 1].footprint = fps[depth - 1]
        for j in range(depth, len(picks)):
            node = self._node(picks[j], self._stack[-1] if self._stack else None)
            node.footprint = fps[j]
            self._stack.append(node)
            if node.blocked:
                self.last_redundant = True
                break  # the rest repeats a schedule explored in the sleeping thread's subtree
        self._next = self._backtrack()

    # -- inside -------------------------------------------------------------------------------------

    def _check_prefix(self, prefix: tuple[int, ...], picks: Sequence[PickRecord]) -> None:
        if len(picks) < len(prefix):
            raise NondeterminismError(f"the execution ended after {len(picks)} decisions, before the "
                                      f"{len(prefix)} forced ones (the guest is not deterministic)")
        for i, (forced, p) in enumerate(zip(prefix, picks)):
            node = self._stack[i]
            if p.chosen != forced or p.runnable != node.runnable or p.current != node.current:
                raise NondeterminismError(
                    f"decision {i} differs from the earlier execution of the same prefix: runnable "
                    f"{list(p.runnable)} (was {list(node.runnable)}), continuing {p.current} (was "
                    f"{node.current}); the guest is not a function of its schedule (time, randomness or "
                    "input that differs between executions)")

    def _node(self, pick: PickRecord, parent: _Node | None) -> _Node:
        if parent is None:
            return _Node(pick.runnable, pick.current, pick.chosen, 0, {}, {pick.chosen})
        node = _Node(pick.runnable, pick.current, pick.chosen, parent.preemptions + parent.cost(parent.chosen),
                     self._inherited(parent), {pick.chosen})
        if node.chosen in node.sleep:
            node.blocked = True
        elif node.current is not None and node.chosen == node.current:
            node.has_continued = True  # its footprint arrives with the step (record sets it)
        return node

    def _inherited(self, parent: _Node) -> dict[int, Footprint]:
        """The sleep set below `parent` for its chosen step."""
        if not self.reduction:
            return {}
        sleepers = dict(parent.sleep)
        if parent.has_continued and parent.chosen != parent.current and parent.current is not None:
            sleepers[parent.current] = parent.continued
        step = parent.footprint
        return {t: fp for t, fp in sleepers.items() if t != parent.chosen and not dependent(fp, step)}

    def _backtrack(self) -> tuple[int, ...] | None:
        """The next prefix of this pass, or of the next pass, or None."""
        while True:
            nxt = self._next_in_pass()
            if nxt is not None:
                return nxt
            done = self.current_pass
            done.complete = True
            if done.cut == 0:
                self.exhausted = True
                return None
            if self.max_bound is not None and done.bound >= self.max_bound:
                return None
            self.passes.append(BoundPass(done.bound + 1))
            return ()

    def _next_in_pass(self) -> tuple[int, ...] | None:
        bound = self.current_pass.bound
        stack = self._stack
        while stack:
            node = stack[-1]
            if node.current is not None and node.chosen == node.current and not node.blocked:
                node.continued = node.footprint  # the continuing subtree is done (or being left)
            for t in node.runnable:
                if t in node.done:
                    continue
                if node.preemptions + node.cost(t) > bound:
                    continue  # counted once, below
                node.done.add(t)
                if t in node.sleep:
                    self.current_pass.pruned += 1
                    continue
                node.chosen = t
                node.footprint = None
                node.blocked = False
                return tuple(n.chosen for n in stack)
            self.current_pass.cut += sum(1 for t in node.runnable
                                         if t not in node.done and node.preemptions + node.cost(t) > bound)
            stack.pop()
        return None

    # -- what it proved -------------------------------------------------------------------------------

    def statement(self, *, failed: bool = False) -> str:
        """What the search has shown so far, in one line."""
        reduction = self._reduction_text()
        last = self.current_pass
        if failed:
            return (f"failure found at preemption bound {last.bound}, after {self.schedules} schedule"
                    f"{_s(self.schedules)} ({reduction})")
        if self.exhausted:
            return (f"explored all {last.schedules} schedule{_s(last.schedules)}: every schedule, no bound "
                    f"needed beyond {last.bound} preemption{_s(last.bound)} ({reduction}); no failure")
        if last.complete:
            return (f"explored all {last.schedules} schedule{_s(last.schedules)} with at most {last.bound} "
                    f"preemption{_s(last.bound)} ({reduction}); no failure")
        done = [p for p in self.passes if p.complete]
        if done:
            best = done[-1]
            proved = (f"all {best.schedules} schedule{_s(best.schedules)} with at most {best.bound} "
                      f"preemption{_s(best.bound)} explored (bound {best.bound} complete)")
        else:
            proved = "no bound complete"
        return (f"stopped after {self.schedules} schedule{_s(self.schedules)}: {proved}; bound {last.bound} in "
                f"progress ({last.schedules} schedule{_s(last.schedules)} of it) ({reduction}); no failure")

    def _reduction_text(self) -> str:
        if not self.reduction:
            return "reduction: none"
        return f"reduction: sleep sets, {self.current_pass.pruned} pruned"


def _s(n: int) -> str:
    return "" if n == 1 else "s"
