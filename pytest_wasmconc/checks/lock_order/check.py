"""`LockOrderCheck`: the lock-order check as a runtime extension, and what an outcome says of it."""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...instrument.locks import DEFAULT_LOCK_TABLE, LockFunction, LockInstrumentation, LockPass, table_fingerprint
from ...runtime.errors import ModuleError
from .._sources import package_fingerprint
from .graph import Cycle, LockOrderGraph
from .probe import ProbeExtension, take_backtraces
from .recorder import ExecutionRecord, Probe, Recorder
from .report import no_names_message, render_cycle

if TYPE_CHECKING:
    from ...instrument import ModuleRewriter
    from ...runtime.extensions import Rerun
    from ...runtime.loading.program import Program
    from ...runtime.outcome import Outcome
    from ...runtime.settings import RunSettings

__all__ = ["OUTCOME_KEY", "LockOrderCheck", "lock_order_of"]

OUTCOME_KEY = "lock_order"


class LockOrderCheck:
    """The lock-order check as a runtime extension (see the package docstring).

    `table`: the lock functions to find by name (default `DEFAULT_LOCK_TABLE`).
    `backtraces`: in fuel mode, replay executions to take full backtraces
    for a report (at most `max_replays` replays per report).
    """

    def __init__(self, table: Sequence[LockFunction] | None = None, *, backtraces: bool = True,
                 max_replays: int = 16) -> None:
        self.table = tuple(DEFAULT_LOCK_TABLE if table is None else table)
        self._pass = LockPass(self.table)
        self.pass_key = f"lock-order:{table_fingerprint(self.table)}"
        # The pass is a function of the bytes, the table (pass_key) and this package's code.
        self.pass_cache_key = f"{self.pass_key}:{package_fingerprint(__file__)}"
        self.backtraces = backtraces
        self.max_replays = max_replays
        self.graph = LockOrderGraph()
        self.problems: list[str] = []
        self.instrumentation: dict[str, LockInstrumentation] = {}  # by guest name
        self.executions: list[ExecutionRecord] = []
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

    def attach(self, program: Program, settings: RunSettings) -> Recorder:
        problem = _component_problem(program)
        if problem is not None:
            raise ModuleError(problem)
        rec = Recorder(self.graph, self.pass_key, program, settings, next(self._numbers), mutex=self._mutex,
                       finished=self._finished)
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
                take_backtraces(cycles, self.max_replays, self._execution, self._probe_extension)
            multiple_guests = len(self._digests) > 1
            for cycle in cycles:
                lines += render_cycle(cycle, self.graph, self._execution, multiple_guests)
            text = "\n".join(lines)
            self._report = (self.graph.version, text)
            return text

    # -- internals -------------------------------------------------------------------------

    def _finished(self, rec: Recorder, outcome: Outcome, rerun: Rerun | None) -> None:
        with self._mutex:
            keep = rerun if rec.new_witnesses else None  # only executions that added a witness are replayed
            self.executions.append(ExecutionRecord(rec.number, rec.settings, keep, outcome.token))
            outcome.extra[OUTCOME_KEY] = self

    def _execution(self, number: int) -> ExecutionRecord | None:
        for e in self.executions:
            if e.number == number:
                return e
        return None

    def _probe_extension(self, probe: Probe) -> ProbeExtension:
        return ProbeExtension(self.pass_key, self.instrument, self.graph, probe,
                              pass_cache_key=self.pass_cache_key)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _component_problem(program: Any) -> str | None:
    """Why a program cannot be checked at all: a component has no lock functions to instrument."""
    if hasattr(program, "pass_results"):
        return None
    return (f"{program.name}: is a WebAssembly component; the lock-order check instruments the lock "
            "functions of core modules only")


def lock_order_of(outcome: Outcome) -> LockOrderCheck | None:
    """The lock-order check an execution ran under (None: it was not checked)."""
    check = outcome.extra.get(OUTCOME_KEY)
    return check if isinstance(check, LockOrderCheck) else None
