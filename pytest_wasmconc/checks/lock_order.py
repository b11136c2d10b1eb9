"""The lock-order check: potential deadlocks from executions that did not deadlock.

Like ThreadSanitizer's deadlock detector, it keeps a graph with an edge
A -> B whenever a thread asks for lock B while holding lock A, over every
execution the check is attached to (a test's runs and explored schedules),
and reports each cycle: some schedule can make every thread of the cycle
wait for the next one. A cycle whose edges were all taken while holding one
common other lock (a gate lock) cannot deadlock and is not reported; nor do
try-locks close cycles (they never wait).

Events come from the lock pass (instrument/locks.py: the guest's lock
functions and its `wasmconc.lock_*` imports), from `HostLock`s
(runtime/userhost/hostlocks.py) and from host synchronisation objects that report
through `HostCall.emit`. Each edge keeps the thread and the one-frame site
where it was taken; in fuel mode the report replays the execution and stops
that thread exactly there, which gives the full wasm backtrace of both
acquisitions (ThreadSanitizer's two-sided report).

    check = LockOrderCheck()
    Runner().explore(guest, extensions=[check], is_failure=lambda o: check.failed)
    print(check.report())
"""

from __future__ import annotations

import itertools
import os
import threading
import traceback
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..instrument.locks import (
    AFTER,
    BEFORE,
    DEFAULT_LOCK_TABLE,
    LOCK_EVENT,
    LOCK_EVENT64,
    RELEASING,
    USER_ACQUIRED,
    USER_RELEASED,
    USER_TRY_ACQUIRED,
    LockFunction,
    LockInstrumentation,
    LockPass,
    LockSite,
    table_fingerprint,
)
from ..runtime.errors import ModuleError
from ..runtime.hostapi import GuestTrap, HostCall, HostFunction, ValType

if TYPE_CHECKING:
    from ..instrument import ModuleRewriter
    from ..runtime.extensions import Rerun
    from ..runtime.outcome import Outcome
    from ..runtime.loading.program import Program
    from ..runtime.settings import RunSettings

__all__ = [
    "OUTCOME_KEY",
    "TITLE",
    "Cycle",
    "LockOrderCheck",
    "LockOrderGraph",
    "Taken",
    "Witness",
    "lock_order_of",
]

TITLE = "lock-order inversion"
OUTCOME_KEY = "lock_order"
PROBE_MESSAGE = "wasmconc: stopped here to take the backtrace of a lock acquisition"
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_HOST_MODULE = "wasmconc"

LockKey = tuple[Any, ...]  # ("guest", module digest, address) | ("host", id(lock))


# -- what was recorded ------------------------------------------------------------------------


@dataclass
class Taken:
    """One acquisition (or the request of one): who, where, and how to find it again."""

    execution: int  # the check's number of the execution (1, 2, ...)
    seq: int  # the event's number within that execution (for a replay that stops there)
    tid: int
    where: str  # one frame: "thread_ab (@0x386)", or a Python location for host locks
    via: str  # the lock function or host object method
    python: list[str] = field(default_factory=list)  # host locks: the Python stack, innermost first
    frames: list[str] | None = None  # the full wasm backtrace, once a replay found it
    note: str | None = None  # why there is no full backtrace


@dataclass
class Witness:
    """The first time an edge A -> B was taken with a given set of other held locks."""

    tid: int
    held: Taken  # where A was acquired
    taken: Taken  # where B was asked for, while A was held
    gates: frozenset[LockKey]  # the other locks held at that moment


@dataclass
class LockInfo:
    key: LockKey
    number: int  # in order of appearance
    description: str  # "guest lock @0x534 (pthread_mutex)", "host lock 'db'"
    guest: str | None = None  # the guest a guest lock lives in

    @property
    def name(self) -> str:
        return f"M{self.number}"


@dataclass
class Cycle:
    """A cycle of the lock-order graph, with one witness per edge (edge i: locks[i] -> locks[i+1])."""

    locks: list[LockKey]
    witnesses: list[Witness]

    @property
    def edges(self) -> list[tuple[LockKey, LockKey, Witness]]:
        n = len(self.locks)
        return [(self.locks[i], self.locks[(i + 1) % n], self.witnesses[i]) for i in range(n)]


class LockOrderGraph:
    """Locks and lock-order edges with their witnesses (not thread-safe: the check locks it)."""

    MAX_WITNESSES = 8  # distinct gate sets kept per edge
    MAX_COMBINATIONS = 4096  # witness choices tried per cycle when looking for an ungated one

    def __init__(self) -> None:
        self.locks: dict[LockKey, LockInfo] = {}
        self.edges: dict[tuple[LockKey, LockKey], list[Witness]] = {}
        self._succ: dict[LockKey, list[LockKey]] = {}
        self.version = 0

    def lock(self, key: LockKey, description: str, guest: str | None = None) -> LockInfo:
        info = self.locks.get(key)
        if info is None:
            info = self.locks[key] = LockInfo(key, len(self.locks) + 1, description, guest)
        return info

    def add_edge(self, a: LockKey, b: LockKey, witness: Witness) -> bool:
        """Record A -> B; True when it is new, or new under this set of other held locks."""
        ws = self.edges.get((a, b))
        if ws is None:
            self.edges[(a, b)] = [witness]
            self._succ.setdefault(a, []).append(b)
            self.version += 1
            return True
        if len(ws) >= self.MAX_WITNESSES or any(w.gates == witness.gates for w in ws):
            return False
        if any(not w.gates for w in ws):
            return False  # an ungated witness already exists: others add nothing
        ws.append(witness)
        self.version += 1
        return True

    def cycles(self, limit: int = 10) -> list[Cycle]:
        """Ungated cycles: for each edge, the shortest cycle through it (deduplicated)."""
        out: list[Cycle] = []
        seen: set[tuple[LockKey, ...]] = set()
        for (a, b) in list(self.edges):
            path = self._path(b, a)
            if path is None:
                continue
            nodes = [a] + path[:-1]
            canon = _canonical(nodes, self.locks)
            if canon in seen:
                continue
            seen.add(canon)
            witnesses = self._ungated(list(canon))
            if witnesses is not None:
                out.append(Cycle(list(canon), witnesses))
                if len(out) >= limit:
                    break
        return out

    def _path(self, src: LockKey, dst: LockKey) -> list[LockKey] | None:
        """Shortest path src -> ... -> dst (node list, both ends included)."""
        if src == dst:
            return [src]
        prev: dict[LockKey, LockKey] = {src: src}
        todo = deque([src])
        while todo:
            n = todo.popleft()
            for m in self._succ.get(n, ()):
                if m in prev:
                    continue
                prev[m] = n
                if m == dst:
                    path = [m]
                    while path[-1] != src:
                        path.append(prev[path[-1]])
                    return path[::-1]
                todo.append(m)
        return None

    def _ungated(self, nodes: list[LockKey]) -> list[Witness] | None:
        """One witness per edge whose gate sets have no lock in common; None if every choice is gated."""
        n = len(nodes)
        choices = [self.edges[(nodes[i], nodes[(i + 1) % n])] for i in range(n)]
        for combo in itertools.islice(itertools.product(*choices), self.MAX_COMBINATIONS):
            common = frozenset.intersection(*(w.gates for w in combo))
            if not common:
                return list(combo)
        return None


def _canonical(nodes: list[LockKey], locks: dict[LockKey, LockInfo]) -> tuple[LockKey, ...]:
    i = min(range(len(nodes)), key=lambda k: locks[nodes[k]].number)
    return tuple(nodes[i:] + nodes[:i])


# -- one execution -------------------------------------------------------------------------------


@dataclass
class _Held:
    key: LockKey
    taken: Taken
    count: int = 1


@dataclass(frozen=True)
class _Probe:
    """Stop the thread at event `seq` (if it is the expected one) to take its backtrace."""

    seq: int
    tid: int
    where: str


class _Recorder:
    """The check's attachment to one execution (or a probe replay of one)."""

    def __init__(self, check: LockOrderCheck, program: Program, settings: RunSettings, number: int,
                 probe: _Probe | None = None) -> None:
        self.check = check
        self.number = number
        self.settings = settings
        self.probe = probe
        self.probe_result: tuple[bool, str] | None = None  # (matched, what was found)
        # A probe replay runs while the check reports (holding its lock): it must not need it.
        self._mutex = check._mutex if probe is None else threading.Lock()
        info = program.pass_results.get(check.pass_key)
        self.info: LockInstrumentation | None = info if isinstance(info, LockInstrumentation) else None
        self.digest = self.info.digest if self.info is not None else program.name
        self.program_name = program.name
        self.held: dict[int, list[_Held]] = {}
        self.pending: dict[int, Taken] = {}  # per thread: the blocking acquire in progress
        self.seq = 0
        self.new_witnesses = 0
        self.events = 0

    # -- Attachment ----------------------------------------------------------------

    def host_functions(self) -> Sequence[HostFunction]:
        i32, i64 = ValType.I32, ValType.I64
        return [
            HostFunction(_HOST_MODULE, LOCK_EVENT, (i32, i32, i32), (), self._guest_event),
            HostFunction(_HOST_MODULE, LOCK_EVENT64, (i64, i32, i32), (), self._guest_event),
        ]

    def on_event(self, call: HostCall, event: object) -> None:
        # HostLockEvent, and any host lock event of the same shape (`kind` with HostLockEvent's
        # words, `lock`): hostsync's Lock and RLock. Semaphores are not locks: nobody owns them.
        kind = getattr(event, "kind", None)
        lock = getattr(event, "lock", None)
        if kind not in _METHOD or lock is None or "semaphore" in str(getattr(lock, "kind", "")):
            return
        label = getattr(lock, "label", None) or f"host lock {getattr(lock, 'name', '?')!r}"
        via = f"{type(lock).__name__}.{_METHOD[kind]}"
        function = getattr(event, "function", None)
        if function:
            via += f" in host function {function}"
        self._host_event(call.thread_id, kind, lock, str(label), via)

    def finished(self, outcome: Outcome, rerun: Rerun | None) -> None:
        if self.probe is None:
            self.check._finished(self, outcome, rerun)

    # -- guest events -----------------------------------------------------------------

    def _guest_event(self, call: HostCall, lock_id: int, result: int, site_index: int) -> None:
        info = self.info
        if info is None or not 0 <= site_index < len(info.sites):
            raise GuestTrap(f"wasmconc: lock event with unknown site {site_index}")
        site = info.sites[site_index]
        key: LockKey = ("guest", self.digest, lock_id)
        tid = call.thread_id
        kind = site.kind
        with self._mutex:
            taken = self._next(tid, site.where, site.callee)
            if kind == BEFORE or kind == USER_ACQUIRED:
                self._lock_info(key, lock_id, site)
                self._request(tid, key, taken)
                if kind == USER_ACQUIRED:
                    self._push(tid, key, taken)
            elif kind == AFTER:
                entry = site.entry
                if entry is None or entry.succeeded(result):
                    self._lock_info(key, lock_id, site)
                    pending = self.pending.pop(tid, None)
                    self._push(tid, key, pending if pending is not None and pending.where == taken.where else taken)
                else:
                    self.pending.pop(tid, None)
            elif kind == USER_TRY_ACQUIRED:
                self._lock_info(key, lock_id, site)
                self._push(tid, key, taken)
            elif kind in (RELEASING, USER_RELEASED):
                self._pop(tid, key)

    def _lock_info(self, key: LockKey, lock_id: int, site: LockSite) -> None:
        if self.probe is not None or key in self.check.graph.locks:
            return
        what = site.entry.family if site.entry is not None else "wasmconc.lock_* import"
        self.check.graph.lock(key, f"guest lock @{lock_id:#x} ({what})", self.program_name)

    # -- host events --------------------------------------------------------------------

    def _host_event(self, tid: int, kind: str, obj: object, label: str, via: str) -> None:
        key: LockKey = ("host", id(obj))
        python = _python_stack()
        where = python[0] if python else "<host>"
        with self._mutex:
            taken = self._next(tid, where, via)
            taken.python = python
            if self.probe is None and key not in self.check.graph.locks:
                self.check.graph.lock(key, label)
            if kind == "before":
                self._request(tid, key, taken)
            elif kind == "acquired":
                pending = self.pending.pop(tid, None)
                self._push(tid, key, pending or taken)
            elif kind == "try-acquired":
                self._push(tid, key, taken)
            elif kind == "released":
                self._pop(tid, key)

    # -- the common part (caller holds self._mutex) ---------------------------------------

    def _next(self, tid: int, where: str, via: str) -> Taken:
        self.seq += 1
        self.events += 1
        taken = Taken(self.number, self.seq, tid, where, via)
        probe = self.probe
        if probe is not None and self.seq == probe.seq:
            matched = probe.tid == tid and probe.where == where
            self.probe_result = (matched, f"thread {tid} at {where}")
            raise GuestTrap(PROBE_MESSAGE)
        return taken

    def _request(self, tid: int, key: LockKey, taken: Taken) -> None:
        """A blocking acquire of `key` starts: every lock the thread holds now comes first."""
        held = self.held.get(tid, ())
        if self.probe is None:
            keys = [h.key for h in held]
            for h in held:
                if h.key == key:
                    continue  # taken again while held: recursion (or a self-deadlock), not an order
                gates = frozenset(k for k in keys if k != h.key and k != key)
                if self.check.graph.add_edge(h.key, key, Witness(tid, h.taken, taken, gates)):
                    self.new_witnesses += 1
        self.pending[tid] = taken

    def _push(self, tid: int, key: LockKey, taken: Taken) -> None:
        held = self.held.setdefault(tid, [])
        for h in held:
            if h.key == key:
                h.count += 1  # recursive mutex, or a read lock taken twice
                return
        held.append(_Held(key, taken))

    def _pop(self, tid: int, key: LockKey) -> None:
        for holder in [tid] + [t for t in self.held if t != tid]:  # a lock may be released by another thread
            held = self.held.get(holder, [])
            for i, h in enumerate(held):
                if h.key == key:
                    h.count -= 1
                    if h.count <= 0:
                        del held[i]
                    return


_METHOD = {"before": "acquire", "acquired": "acquire", "try-acquired": "try_acquire", "released": "release"}


def _python_stack(limit: int = 8) -> list[str]:
    """The host function's own Python frames, innermost first.

    Those are the frames between the lock (this package) and the runtime
    that called the host function (this package again).
    """
    out: list[str] = []
    for fs in reversed(traceback.extract_stack()):
        if os.path.abspath(fs.filename).startswith(_PACKAGE_DIR + os.sep):
            if out:
                break
            continue
        out.append(f"{fs.name} ({os.path.basename(fs.filename)}:{fs.lineno})")
        if len(out) >= limit:
            break
    return out


# -- the check ---------------------------------------------------------------------------------------


@dataclass
class _ExecutionRecord:
    number: int
    settings: RunSettings
    rerun: Rerun | None
    token: str | None


class LockOrderCheck:
    """The lock-order check as a runtime extension (see the module docstring).

    `table`: the lock functions to find by name (default `DEFAULT_LOCK_TABLE`).
    `backtraces`: in fuel mode, replay executions to take full backtraces
    for a report (at most `max_replays` replays per report).
    """

    def __init__(self, table: Sequence[LockFunction] | None = None, *, backtraces: bool = True,
                 max_replays: int = 16) -> None:
        self.table = tuple(DEFAULT_LOCK_TABLE if table is None else table)
        self._pass = LockPass(self.table)
        self.pass_key = f"lock-order:{table_fingerprint(self.table)}"
        self.backtraces = backtraces
        self.max_replays = max_replays
        self.graph = LockOrderGraph()
        self.problems: list[str] = []
        self.instrumentation: dict[str, LockInstrumentation] = {}  # by guest name
        self.executions: list[_ExecutionRecord] = []
        self._mutex = threading.RLock()
        self._numbers = itertools.count(1)
        self._digests: set[str] = set()
        self._cycles: tuple[int, list[Cycle]] | None = None
        self._report: tuple[int, str] | None = None

    # -- Extension ------------------------------------------------------------------------

    def instrument(self, rw: ModuleRewriter, names: dict[int, str]) -> LockInstrumentation:
        result = self._pass.run(rw, names)
        result.digest = _digest(rw.data)
        return result

    def attach(self, program: Program, settings: RunSettings) -> _Recorder:
        problem = _component_problem(program)
        if problem is not None:
            raise ModuleError(problem)
        rec = _Recorder(self, program, settings, next(self._numbers))
        with self._mutex:
            self._digests.add(rec.digest)
            if rec.info is not None and program.name not in self.instrumentation:
                self.instrumentation[program.name] = rec.info
                if rec.info.finds_nothing:
                    self.problems.append(no_names_message(program.name))
        return rec

    def problem_with(self, program: Program) -> str | None:
        """Why this check cannot check `program` (loaded with this check), or None."""
        problem = _component_problem(program)
        if problem is not None:
            return problem
        info = program.pass_results.get(self.pass_key)
        if isinstance(info, LockInstrumentation) and info.finds_nothing:
            return no_names_message(program.name)
        return None

    # -- results ---------------------------------------------------------------------------

    @property
    def failed(self) -> bool:
        """A cycle was found, or a guest could not be checked at all."""
        return bool(self.problems) or bool(self.cycles())

    def cycles(self) -> list[Cycle]:
        with self._mutex:
            if self._cycles is None or self._cycles[0] != self.graph.version:
                self._cycles = (self.graph.version, self.graph.cycles())
            return self._cycles[1]

    def summary(self) -> str:
        """One line: what was instrumented and seen."""
        found = "; ".join(f"{name}: {info.summary()}" for name, info in self.instrumentation.items())
        return (f"lock-order check: {found or 'no guest'}; {len(self.graph.locks)} lock"
                f"{'s' if len(self.graph.locks) != 1 else ''}, {len(self.graph.edges)} lock-order edge"
                f"{'s' if len(self.graph.edges) != 1 else ''} in {len(self.executions)} execution"
                f"{'s' if len(self.executions) != 1 else ''}")

    def report(self) -> str:
        """What a user reads: each cycle with the thread and backtraces of every edge ('' when none)."""
        with self._mutex:
            if self._report is not None and self._report[0] == self.graph.version:
                return self._report[1]
            lines = list(self.problems)
            cycles = self.cycles()
            if cycles and self.backtraces:
                self._take_backtraces(cycles)
            for cycle in cycles:
                lines += self._render(cycle)
            text = "\n".join(lines)
            self._report = (self.graph.version, text)
            return text

    # -- internals -------------------------------------------------------------------------

    def _multiple_guests(self) -> bool:
        return len(self._digests) > 1

    def _finished(self, rec: _Recorder, outcome: Outcome, rerun: Rerun | None) -> None:
        with self._mutex:
            keep = rerun if rec.new_witnesses else None  # only executions that added a witness are replayed
            self.executions.append(_ExecutionRecord(rec.number, rec.settings, keep, outcome.token))
            outcome.extra[OUTCOME_KEY] = self

    def _execution(self, number: int) -> _ExecutionRecord | None:
        for e in self.executions:
            if e.number == number:
                return e
        return None

    def _take_backtraces(self, cycles: list[Cycle]) -> None:
        budget = self.max_replays
        for cycle in cycles:
            for w in cycle.witnesses:
                for taken in (w.taken, w.held):
                    if taken.frames is not None or taken.note is not None:
                        continue
                    if budget <= 0:
                        taken.note = "full backtrace not taken (replay budget used up)"
                        continue
                    budget -= 1
                    self._probe(taken)

    def _probe(self, taken: Taken) -> None:
        ex = self._execution(taken.execution)
        if ex is None or ex.rerun is None:
            mode = ex.settings.preempt.value if ex is not None else None
            taken.note = (f"full backtrace only in fuel mode; this ran in {mode} mode"
                          if mode is not None and mode != "fuel" else "full backtrace not available")
            return
        probe = _ProbeExtension(self, _Probe(taken.seq, taken.tid, taken.where))
        try:
            outcome = ex.rerun([probe])
        except Exception as exc:  # noqa: BLE001  (the replay must never hide the report)
            taken.note = f"full backtrace not available (the replay failed: {exc})"
            return
        rec = probe.recorder
        if rec is None or rec.probe_result is None:
            taken.note = "full backtrace not available (the replay did not reach this acquisition)"
            return
        matched, found = rec.probe_result
        if not matched:
            taken.note = f"full backtrace not available (the replay diverged: it found {found})"
            return
        for t in outcome.threads:
            if t.tid == taken.tid and t.frames:
                frames = list(t.frames)
                site_func = taken.where.split(" (@")[0]
                if not taken.python and frames[0].split(" (@")[0] != site_func:
                    # Taken in guest code the host called back into: the trap's backtrace only
                    # has the outer guest frames, so keep the call site as the innermost one.
                    frames.insert(0, f"{taken.where}  (call site, in a call from the host)")
                taken.frames = frames
                return
        taken.note = "full backtrace not available (no wasm frames)"

    def _render(self, cycle: Cycle) -> list[str]:
        g = self.graph
        # Locks are named in the order of the cycle (M1 first), like ThreadSanitizer's reports.
        label = {k: f"M{i + 1}" for i, k in enumerate(cycle.locks)}
        names = [label[k] for k in cycle.locks]
        lines = [f"{TITLE} (potential deadlock): cycle in lock order {' -> '.join(names + names[:1])}"]
        for k in cycle.locks:
            info = g.locks[k]
            where = f" in {info.guest}" if info.guest and self._multiple_guests() else ""
            lines.append(f"  {label[k]} = {info.description}{where}")
        for a, b, w in cycle.edges:
            na, nb = label[a], label[b]
            ex = self._execution(w.taken.execution)
            when = f"execution {w.taken.execution}"
            if ex is not None and ex.settings.preempt.value == "fuel":
                when += f", seed {ex.settings.seed}"
            elif ex is not None:
                when += f", {ex.settings.preempt.value} mode"
            thread = "thread 0 (main)" if w.tid == 0 else f"thread {w.tid}"
            lines.append(f"  {nb} acquired while holding {na} in {thread} ({when}):")
            lines.append(f"    {nb} acquired here ({w.taken.via}):")
            lines += _frames(w.taken)
            lines.append(f"    {na} previously acquired by the same thread here ({w.held.via}):")
            lines += _frames(w.held)
        return lines


def _frames(taken: Taken) -> list[str]:
    out = []
    if taken.frames:
        out += [f"      at {f}" for f in taken.frames]
    else:
        out.append(f"      at {taken.where}" + ("" if taken.python else "  (call site)"))
    if taken.python:
        out.append("      host function (Python):")
        out += [f"        {f}" for f in taken.python]
    if not taken.frames and taken.note:
        out.append(f"      ({taken.note})")
    return out


class _ProbeExtension:
    """A replay of one execution that stops a thread at one lock event (same pass, so the same program)."""

    def __init__(self, check: LockOrderCheck, probe: _Probe) -> None:
        self.check = check
        self.probe = probe
        self.pass_key = check.pass_key
        self.recorder: _Recorder | None = None

    def instrument(self, rw: ModuleRewriter, names: dict[int, str]) -> LockInstrumentation:
        return self.check.instrument(rw, names)

    def attach(self, program: Program, settings: RunSettings) -> _Recorder:
        self.recorder = _Recorder(self.check, program, settings, 0, probe=self.probe)
        return self.recorder


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()[:16]


def _component_problem(program: Any) -> str | None:
    """Why a program cannot be checked at all: a component has no lock functions to instrument."""
    if hasattr(program, "pass_results"):
        return None
    return (f"{program.name}: is a WebAssembly component; the lock-order check instruments the lock "
            "functions of core modules only")


def no_names_message(guest: str) -> str:
    return (f"lock-order check: cannot see any lock of {guest}: it has no name section (function names), "
            "so its lock functions (pthread_mutex_lock, ...) cannot be found. wasm-opt drops the name "
            "section unless run with -g (--debuginfo), and so does clang when it runs wasm-opt at link "
            "time (link without -O, or pass -g); `wasm-tools strip --all` drops it too (plain "
            "`wasm-tools strip` keeps it). Rebuild the guest with its names, or report its locks "
            "through the wasmconc.lock_acquired / lock_released imports")


def lock_order_of(outcome: Outcome) -> LockOrderCheck | None:
    """The lock-order check an execution ran under (None: it was not checked)."""
    check = outcome.extra.get(OUTCOME_KEY)
    return check if isinstance(check, LockOrderCheck) else None
