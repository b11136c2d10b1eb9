"""`RaceCheck`: the data-race check as a Check, and what an outcome says of it."""

from __future__ import annotations

import copy
import itertools
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...runtime.errors import ModuleError
from .._sources import package_fingerprint
from ...runtime.extensions import Check, CheckFailure
from .access_pass import RaceInstrumentation, RacePass, SyncFunction
from .detector import Race
from .native import NativeRecorder
from .probe import ProbeExtension, backtrace_of
from .recorder import Probe, Recorder
from .report import RaceReport, no_names_message
from .tables import DEFAULT_SUPPRESSIONS, DEFAULT_SYNC_FUNCTIONS, STEERING_EXCLUSIONS, check_patterns

if TYPE_CHECKING:
    from ...instrument import ModuleRewriter
    from ...runtime.extensions import Rerun
    from ...runtime.loading.program import Program
    from ...runtime.outcome import Outcome
    from ...runtime.settings import RunSettings

__all__ = ["OUTCOME_KEY", "ExecutionRaces", "RaceCheck", "races_of"]

OUTCOME_KEY = "races"
# The per-access work in C unless WASMCONC_NATIVE_RACES=0 (the Python reference, as WASMCONC_NATIVE_LANE).
NATIVE_DEFAULT = os.environ.get("WASMCONC_NATIVE_RACES", "1") != "0"
# Functions whose accesses are no race candidates for steering (tables.STEERING_EXCLUSIONS).
_STEERING_EXCLUDED = re.compile("|".join(f"(?:{p})" for p, _ in STEERING_EXCLUSIONS))


def _steers_not(func: str | None) -> bool:
    return func is not None and _STEERING_EXCLUDED.fullmatch(func) is not None


@dataclass
class ExecutionRaces:
    """The races one execution found first (kept in `outcome.extra[OUTCOME_KEY]`)."""

    check: RaceCheck
    number: int
    reports: list[RaceReport]
    rerun: Rerun | None
    summary: str
    _text: str | None = field(default=None, repr=False)

    def text(self) -> str:
        """The report: every race, each access with its backtrace (taken by replay in fuel mode)."""
        if self._text is None:
            self._text = self.check.render(self)
        return self._text


class RaceCheck(Check):
    """Report data races: plain accesses to shared memory that happens-before does not order.

    `suppress`: function-name patterns (Python regexes matched against whole
    names) whose plain accesses are not checked, added to the default list
    of libc internals (`default_suppressions=False` drops that list).
    `sync_functions`: functions whose plain accesses count as atomics
    (default: musl's, `tables.DEFAULT_SYNC_FUNCTIONS`).
    `backtraces`: in fuel mode, replay an execution to take both accesses'
    full backtraces (at most `max_replays` replays per execution).
    `native`: do the per-access work in C (native.py); False keeps it in
    Python (recorder.py with detector.py, the reference). Default: native,
    unless the environment sets WASMCONC_NATIVE_RACES=0.
    `count_sites`: after each execution, `site_hits` maps each access site's
    offset to the plain accesses checked there (race direction sizes PCT's k
    by the racy sites' counts, directed.py).
    `candidates`: after each execution, `candidate_sites` holds the offsets of
    the accesses of its race candidates: conflicting accesses of two threads
    that thread creation does not order (detector.py), which may race in
    another schedule. They are never reported; race direction steers by them
    when no race showed (directed.py).
    """

    def __init__(self, suppress: Iterable[str] = (), *, sync_functions: Sequence[SyncFunction] | None = None,
                 default_suppressions: bool = True, backtraces: bool = True, max_replays: int = 16,
                 max_races: int = 20, native: bool | None = None, count_sites: bool = False,
                 candidates: bool = False) -> None:
        own = check_patterns(suppress)
        defaults = tuple(p for p, _ in DEFAULT_SUPPRESSIONS) if default_suppressions else ()
        self.suppress = defaults + own
        self.sync_functions = tuple(DEFAULT_SYNC_FUNCTIONS if sync_functions is None else sync_functions)
        self._pass = RacePass(self.sync_functions, self.suppress)
        self.pass_key: str = f"races:{self._pass.fingerprint()}"
        # The pass is a function of the bytes, its configuration (pass_key) and this package's code.
        self.pass_cache_key: str = f"{self.pass_key}:{package_fingerprint(__file__)}"
        self.backtraces = backtraces
        self.max_replays = max_replays
        self.max_races = max_races
        self.native = NATIVE_DEFAULT if native is None else bool(native)
        self.reported: set[frozenset[int]] = set()  # pairs of sites already reported
        self.executions = 0
        self._mutex = threading.Lock()
        self._numbers = itertools.count(1)
        self._reports_as: RaceCheck = self  # whose findings an execution's races are (see `fresh`)
        self.count_sites = count_sites
        self.site_hits: dict[int, int] = {}  # the last execution's, by site offset (`count_sites`)
        self.candidates = candidates
        self.candidate_sites: set[int] = set()  # the last execution's, by site offset (`candidates`)

    # -- the Check protocol ----------------------------------------------------------------------

    def instrument(self, rw: ModuleRewriter, names: dict[int, str]) -> RaceInstrumentation:
        return self._pass.run(rw, names)

    def attach(self, program: Program, settings: RunSettings) -> Recorder:
        problem = self.problem_with(program)
        if problem is not None:
            raise ModuleError(problem)
        recorder = NativeRecorder if self.native else Recorder
        return recorder(self.pass_key, program, settings, next(self._numbers), is_new=self._is_new,
                        finished=self._finished, max_races=self.max_races, candidates=self.candidates)

    def inspect(self, outcome: Outcome) -> CheckFailure | None:
        found = races_of(outcome)
        if found is None or found.check is not self or not found.reports:
            return None
        return CheckFailure(found.text())

    def fresh(self, *, backtraces: bool | None = None) -> RaceCheck:
        """This check as new: the same pass (so the same program), no pair reported yet, its findings
        reported as this check's (`inspect` and `render` are this one's). The schedule shrinker runs its
        candidates under such copies: a candidate must show the race again, which this check, having
        reported it, would not."""
        clone = copy.copy(self)
        clone.reported, clone.executions = set(), 0
        clone._mutex, clone._numbers = threading.Lock(), itertools.count(1)
        clone._reports_as = self._reports_as
        if backtraces is not None:
            clone.backtraces = backtraces
        return clone

    # -- what the front ends ask -------------------------------------------------------------------

    def problem_with(self, program: Any) -> str | None:
        """Why this check cannot check `program` (loaded with this check), or None."""
        results = getattr(program, "pass_results", None)
        if results is None:
            return (f"{program.name}: is a WebAssembly component; the race check instruments the memory "
                    "accesses of core modules only")
        info = results.get(self.pass_key)
        if isinstance(info, RaceInstrumentation) and info.shared_memories and not info.has_names:
            return no_names_message(program.name)
        return None

    def render(self, found: ExecutionRaces) -> str:
        """The text of one execution's races (taking backtraces by replay where it can)."""
        budget = self.max_replays if self.backtraces else 0
        lines: list[str] = []
        for report in found.reports:
            for which, access in (("current", report.current), ("previous", report.previous)):
                if which in report.frames:
                    continue
                if found.rerun is None:
                    report.frames[which] = "full backtrace only in fuel mode" if self.backtraces else ""
                elif budget <= 0:
                    report.frames[which] = "full backtrace not taken (replay budget used up)"
                else:
                    budget -= 1
                    report.frames[which] = backtrace_of(access, found.rerun, self._probe_extension)
            lines += report.render()
        lines.append(found.summary)
        return "\n".join(lines)

    # -- internals --------------------------------------------------------------------------------

    def _is_new(self, race: Race) -> bool:
        pair = frozenset((race.previous.site, race.current.site))
        with self._mutex:
            if pair in self.reported:
                return False
            self.reported.add(pair)
            return True

    def _finished(self, rec: Recorder, outcome: Outcome, rerun: Rerun | None) -> None:
        with self._mutex:
            self.executions += 1
            if self.count_sites:
                hits: dict[int, int] = {}
                for index, count in rec.detector.site_hits().items():
                    at = rec.sites[index].at
                    hits[at] = hits.get(at, 0) + count
                self.site_hits = hits
            if self.candidates:
                self.candidate_sites = {rec.sites[i].at for pair in rec.detector.candidate_pairs() for i in pair
                                        if not _steers_not(rec.sites[i].func)}
        if not rec.races:
            return
        settings = rec.settings
        how = f"{settings.preempt.value} mode"
        if settings.preempt.value == "fuel" and settings.seed is not None:
            how += f", seed {settings.seed}"
        reports = [RaceReport(r.previous, r.current, rec.sites[r.previous.site], rec.sites[r.current.site],
                              rec.program_name, rec.number, how, locator=rec.locator) for r in rec.races]
        more = " (more not listed)" if len(rec.races) >= rec.max_races else ""
        stats = rec.detector.stats()
        summary = (f"race check: {len(reports)} data race{'s' if len(reports) != 1 else ''}{more} in "
                   f"{rec.program_name}; {stats['accesses']} plain accesses and {stats['sync_ops']} "
                   f"synchronizations checked over {stats['threads']} threads")
        outcome.extra[OUTCOME_KEY] = ExecutionRaces(self._reports_as, rec.number, reports, rerun, summary)

    def _probe_extension(self, probe: Probe) -> ProbeExtension:
        return ProbeExtension(self.pass_key, self.instrument, probe, NativeRecorder if self.native else Recorder,
                              pass_cache_key=self.pass_cache_key)


def races_of(outcome: Outcome) -> ExecutionRaces | None:
    """The races an execution found (None: it was not checked, or found none)."""
    found = outcome.extra.get(OUTCOME_KEY)
    return found if isinstance(found, ExecutionRaces) else None
