"""Shrink a failing schedule: the exploration's first failure, retold with as few preemptions as fail the
same way, replayable from its own token, with its context switches printed.

The search itself is `search.Search` (no wasm). Here: which failures can be shrunk, how a candidate
runs (`policy.CandidatePolicy` through `Runner.execute`), the replay that gives the shrunk schedule
its token (the replay policy, which must fail the same way too), and the probes that locate each
context switch (`interleaving`).

Not shrunk: a failure outside fuel mode (not deterministic; nothing is said, the report already
says its schedule cannot be replayed). Not shrunk, with a note saying why: a failure of the dfs
policy (its search raises the preemption bound from 0, so its first failure has the fewest
preemptions already); a hang at the wall-clock backstop (no schedule's doing); a failure only a
check other than the race check reported (the guest itself passed; candidates run without checks,
which remember what they saw); a run with the lock-order check (it instruments the guest, and its
findings are those of every schedule it saw); a component (its schedule is Wasmtime's fuel).

The race check is the exception: each candidate runs under a copy of it made new (`fresh`), and its
racing pairs are part of the class, so a shrunk schedule shows the same races (and, when the guest
failed too, fails the same way besides).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..checks.races import races_of
from ..runtime.components import ComponentProgram
from ..runtime.drivers.driving import POLICY_STATE
from ..runtime.errors import WasmconcError
from ..runtime.extensions import Check, Extension
from ..runtime.guestio import GuestIO
from ..runtime.hostapi import HostFunction
from ..runtime.loading.program import GuestSource, Program
from ..runtime.outcome import Outcome, Status
from ..runtime.runner import Runner
from ..runtime.settings import Preempt, RunSettings
from ..runtime.token import decode_token
from ..runtime.userhost.api import ImportsSpec
from ..schedulers import Dfs
from .classes import OutcomeClass, outcome_class
from .interleaving import OFFSETS_NOTE, Switch, located, render_switches, switch_points
from .policy import CandidatePolicy, Entry
from .search import Attempt, Search

__all__ = ["MAX_PROBED", "Shrunk", "shrink_failure"]

# Context switches located by a paused replay each (one execution apiece); a longer schedule's
# further switches are counted, not printed.
MAX_PROBED = 16
# A candidate that runs this many times the original's steps (or MIN_STEP_BUDGET) without progress
# is not the same failure: its step budget, so that a candidate spinning without preemptions ends soon.
STEP_FACTOR = 10
MIN_STEP_BUDGET = 20_000
_MIN_TIMEOUT = 0.05


@dataclass
class Shrunk:
    """What shrinking a failing schedule gave: the shrunk outcome (its token replays it) or a note why not."""

    original: Outcome
    outcome: Outcome  # the shrunk schedule's outcome; the original when nothing smaller was found
    target: OutcomeClass | None = None
    original_preemptions: int | None = None
    preemptions: int | None = None
    candidates: int = 0
    elapsed: float = 0.0
    exhausted: bool = False  # the time budget ended the search
    note: str | None = None  # why there is no shrunk schedule
    switches: list[Switch] = field(default_factory=list)
    total_switches: int = 0

    @property
    def improved(self) -> bool:
        return self.outcome is not self.original

    def headline(self) -> str:
        if self.note is not None:
            return f"shrinking: {self.note}"
        budget = " (the time budget ended the search)" if self.exhausted else ""
        counted = f"{self.candidates} candidate schedule{'s' if self.candidates != 1 else ''}"
        if not self.improved and self.exhausted:
            return (f"shrinking: the time budget ran out before a schedule with fewer than "
                    f"{self.original_preemptions} preemptions failing the same way was found ({counted} in "
                    f"{self.elapsed:.1f} s; --shrink-time, pytest --wasm-shrink-time, gives it more)")
        if not self.improved:
            return (f"shrinking: no schedule with fewer than {self.original_preemptions} preemptions failed the same "
                    f"way ({counted} in {self.elapsed:.1f} s)")
        return (f"shrunk from {self.original_preemptions} to {self.preemptions} preemption"
                f"{'s' if self.preemptions != 1 else ''} in {self.elapsed:.1f} s ({counted}){budget}; "
                f"it fails the same way ({self.target.describe() if self.target else 'same class'})")

    def lines(self, replay: Callable[[str], str], label: str = "replay (shrunk schedule)") -> list[str]:
        """The report: the headline, the shrunk schedule's replay command (as `label: command`), the
        original's, the interleaving. `replay(token)` is the front end's replay command for a token.
        """
        lines = [self.headline()]
        if self.improved and self.outcome.token:
            lines.append(f"{label}: {replay(self.outcome.token)}")
        return lines + self.after_replay(replay)

    def after_replay(self, replay: Callable[[str], str]) -> list[str]:
        """What follows the shrunk schedule's replay command: the original's, then the interleaving."""
        lines = []
        if self.improved and self.original.token:
            lines.append(f"replay (original schedule, {self.original_preemptions} preemptions): "
                         f"{replay(self.original.token)}")
        return lines + self.interleaving()

    def interleaving(self) -> list[str]:
        if not self.switches:
            return []
        which = "shrunk" if self.improved else "failing"
        return [f"interleaving of the {which} schedule ({self.total_switches} context switch"
                f"{'es' if self.total_switches != 1 else ''}; {OFFSETS_NOTE}):",
                *render_switches(self.switches, self.total_switches)]


def not_shrunk(outcome: Outcome, note: str) -> Shrunk:
    return Shrunk(outcome, outcome, note=note)


def why_not(outcome: Outcome, settings: RunSettings, expect_exit: int | None,
            extensions: Sequence[Extension]) -> str | None:
    """Why this failure is not shrunk (None: it is)."""
    if not outcome.decisions:
        return "nothing to shrink: the failing execution made no scheduling decision"
    if settings.policy == Dfs.name:
        return "not needed: the dfs search's first failure has the fewest preemptions of any it explored"
    if outcome.status is Status.HANG and outcome.hang_limit != "max-steps":
        return "not for a hang at the wall-clock backstop (no schedule's doing)"
    if not outcome.failed(expect_exit) and races_of(outcome) is None:
        return "not for a failure only a check other than the race check reported (the guest itself passed)"
    if any(isinstance(e, Check) and e.pass_key is not None and not _renewable(e) for e in extensions):
        return "not with the lock-order check on (its findings belong to the schedules it saw)"
    return None


def _renewable(ext: Extension) -> bool:
    """A check a candidate can run under anew (`fresh()`: the race check), its findings part of the class."""
    return callable(getattr(ext, "fresh", None))


def shrink_failure(runner: Runner, guest: GuestSource, io: GuestIO, outcome: Outcome, settings: RunSettings, *,
                   budget: float, expect_exit: int | None = 0, host_functions: Sequence[HostFunction] = (),
                   extensions: Sequence[Extension] = (), imports: ImportsSpec | None = None) -> Shrunk | None:
    """Shrink `outcome`, a failing schedule of `guest` explored from `settings` with `extensions`, within
    `budget` seconds. The schedule's own settings (policy, seed, level, hot sites, ...) come from its token:
    an exploration's schedules need not all share them (runtime/plan.py).

    None when `budget` is 0 (shrinking turned off) or outside fuel mode; a Shrunk with a note when this
    failure is not shrunk.
    """
    if budget <= 0 or settings.preempt is not Preempt.FUEL or not outcome.token:
        return None  # off, or not deterministic (the report already says a schedule cannot be replayed)
    settings = decode_token(outcome.token).apply(settings)
    note = why_not(outcome, settings, expect_exit, extensions)
    if note is not None:
        return not_shrunk(outcome, note)
    program = runner.load(guest, settings, extensions=extensions)  # as the schedule ran: its level, hot sites
    if isinstance(program, ComponentProgram):
        return not_shrunk(outcome, "not for components (their schedules are Wasmtime's fuel, which no candidate "
                                   "policy steers)")
    job = _Job(runner, program, io, outcome, settings, budget, list(host_functions), list(extensions), imports)
    try:
        return job.run()
    except Exception as exc:  # noqa: BLE001  (shrinking must never hide the failure it was given)
        return job.done(f"failed ({type(exc).__name__}: {exc}); the original schedule is reported")


class _Job:
    def __init__(self, runner: Runner, program: Program, io: GuestIO, outcome: Outcome, settings: RunSettings,
                 budget: float, fns: list[HostFunction], extensions: list[Extension],
                 imports: ImportsSpec | None) -> None:
        self.t0 = time.perf_counter()
        self.budget = budget
        self.deadline = self.t0 + budget
        self.runner, self.program, self.io, self.original = runner, program, io, outcome
        self.fns, self.imports = fns, imports
        # Candidates run without the checks (none of them instruments the guest, see why_not): a check
        # remembers what it saw. The replay that gives the shrunk schedule its token runs with them, as a
        # replay of its token does.
        self.extensions = extensions
        self.worlds = [e for e in extensions if not isinstance(e, Check)]
        # The race check runs anew with every candidate (it reports a pair once), and its pairs are part of
        # the class: a shrunk schedule must show the same races.
        self.renewable = [e for e in extensions if _renewable(e)]
        self.races = bool(self.renewable)
        self.settings = settings.with_(seed=outcome.seed if outcome.seed is not None else settings.seed)
        state = outcome.extra.get(POLICY_STATE, {})
        free = state.get("accesses_free", ()) if isinstance(state, dict) else ()
        self.free = tuple(sorted(free)) if settings.policy != "replay" else tuple(settings.free_accesses)
        self.target = outcome_class(outcome, races=self.races)
        steps = max(MIN_STEP_BUDGET, STEP_FACTOR * outcome.steps)
        hang = outcome.status is Status.HANG
        self.max_steps = settings.max_steps if hang or settings.max_steps is None else min(settings.max_steps, steps)

    def remaining(self) -> float:
        return self.deadline - time.perf_counter()

    def execute(self, policy: CandidatePolicy | None, settings: RunSettings) -> Outcome | None:
        try:
            return self.runner.execute(self.program, self.io, settings, self.fns,
                                       extensions=self.extensions_for(policy is not None),
                                       imports=self.imports, policy=policy)
        except WasmconcError:
            return None  # a candidate the guest cannot run: not the same failure

    def extensions_for(self, candidate: bool) -> list[Extension]:
        """A candidate's: the worlds and the race check anew (no backtraces); the shrunk schedule's replay:
        every extension, the race check anew (its report, backtraces and all, is the test's)."""
        fresh = [e.fresh(backtraces=False) if candidate else e.fresh() for e in self.renewable]  # type: ignore[attr-defined]
        kept = self.worlds if candidate else [e for e in self.extensions if e not in self.renewable]
        return [*kept, *fresh]

    def candidate(self, entries: Sequence[Entry],
                  pause_at: int | None = None) -> tuple[Outcome, CandidatePolicy] | None:
        policy = CandidatePolicy(entries, fuel=self.settings.slice, free_accesses=self.free, pause_at=pause_at)
        timeout = self.settings.timeout
        if pause_at is None:
            left = max(_MIN_TIMEOUT, self.remaining())
            timeout = left if timeout is None else min(timeout, left)
        out = self.execute(policy, self.settings.with_(timeout=timeout, max_steps=self.max_steps))
        return (out, policy) if out is not None else None

    def evaluate(self, entries: tuple[Entry, ...]) -> Attempt | None:
        ran = self.candidate(entries)
        if ran is None or outcome_class(ran[0], races=self.races) != self.target:
            return None
        policy = ran[1]
        picks = tuple(policy.picks)
        return Attempt(tuple(Entry(p.chosen, f) for p, f in zip(picks, policy.slices)), picks[:len(policy.slices)])

    def run(self) -> Shrunk:
        original = tuple(Entry(t, f) for t, f in zip(self.original.decisions, self.original.slices))
        start = self.evaluate(original)
        if start is None:
            return self.done(note="the failing schedule did not fail the same way when the shrinker replayed it")
        search = Search(self.evaluate, lambda: self.remaining() <= 0)
        best = search.run(start)
        result = Shrunk(self.original, self.original, self.target, start.preemptions, start.preemptions,
                        search.candidates + 1, exhausted=search.exhausted)
        if best.size < start.size:
            replayed = self.replay(best)
            if replayed is None:
                result.note = "the shrunk schedule did not fail the same way under the replay policy"
            else:
                result.outcome, result.preemptions = replayed, best.preemptions
        self.locate(result, best if result.improved else start)
        result.elapsed = time.perf_counter() - self.t0
        return result

    def replay(self, best: Attempt) -> Outcome | None:
        """The shrunk schedule run under the replay policy, as its token replays it."""
        s = self.settings.with_(policy="replay", decisions=tuple(e.thread for e in best.entries),
                                slices=tuple(e.fuel for e in best.entries), free_accesses=self.free)
        out = self.execute(None, s)
        return out if out is not None and outcome_class(out, races=self.races) == self.target else None

    def locate(self, result: Shrunk, attempt: Attempt) -> None:
        """The schedule's context switches, the first MAX_PROBED located by a replay paused at each."""
        switches = switch_points(attempt.picks)
        result.total_switches = len(switches)
        for s in switches[:MAX_PROBED]:
            # Probes get half the budget again at most (a hang's may each run long): past it, switches unlocated.
            ran = self.candidate(attempt.entries, pause_at=s.decision) if self.remaining() > -self.budget / 2 else None
            result.switches.append(located(s, ran[0].threads) if ran is not None else s)

    def done(self, note: str) -> Shrunk:
        out = not_shrunk(self.original, note)
        out.elapsed = time.perf_counter() - self.t0
        return out

