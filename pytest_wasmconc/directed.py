"""Race-directed exploration: find the racy accesses first, then make them where schedules preempt.

At the `shared` level every plain access to shared memory may end a quantum,
so the preemptions of a schedule are spread over thousands of accesses, most
of them libc's own or the program's private data; a bug whose window is one
racy store wide is then hit rarely. Thomson, Donaldson and Betts ("Concurrency
Testing Using Controlled Schedulers", TOPC 2016) found nearly every bug of
their benchmark with PCT by first running a data-race detector and treating
only the racy accesses (and synchronization) as visible operations. This does
the same with the project's own pieces:

1. Discovery: a few executions under the race check (checks/races); the
   sites of every race found and of every race candidate the check notes
   (conflicting accesses of two threads that thread creation does not order,
   checks/races/detector.py) are the hot sites. A race shows only in an
   execution where both accesses run unordered, and libc's own locks order
   many: a thread that finished and exited before its creator made the next
   one is ordered before that one by the thread list's lock. So discovery
   alternates PCT schedules (strict priorities: a creator that outranks its
   threads makes them all before any runs, so they overlap) with random ones
   with short quanta, and runs longer when the first ones found nothing.
2. The guest is loaded again with the hot sites charging the preemption
   counter HOT_ACCESS_COST (instrument/shared_accesses.py): a policy whose
   quanta average that cost ends nearly every quantum right before a hot
   access.
3. PCT's k is half a count of its steps, so the change points fall within
   the execution, and more often in its first half, where threads start and
   the windows of lazy initialisation and publication are (measured: half the
   count found the race guests' order violations about twice as fast as the
   whole count, benchmarks/README.md "Bug hunt: race-directed"; the
   portfolio's hot member divides k again by a power of two drawn by the
   seed, schedulers/portfolio.py). The count: in `DirectedPlan`, the accesses the
   discovery executions made at the hot sites (each ends a quantum of the
   hot program, a step of its PCT) for the first directed schedule, then the
   steps that schedule counted; in `direct()`, and in the plan when no race
   was found, one PCT execution with k unbounded (the pilot).

The settings that come out (hot sites, k) go into every schedule's token:
each schedule replays from its token alone. Discovery runs are executions of
the guest like any other; the explorer counts them in its schedules.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .checks.races import RaceCheck, races_of
from .checks.races.check import OUTCOME_KEY as RACES_KEY
from .runtime.drivers.driving import POLICY_STATE
from .runtime.errors import WasmconcError
from .runtime.extensions import Check, Extension
from .runtime.guestio import GuestIO
from .runtime.loading.program import GuestSource
from .runtime.outcome import Outcome
from .runtime.plan import PlannedRun
from .runtime.runner import Runner
from .runtime.settings import Preempt, RunSettings
from .runtime.userhost.api import ImportsSpec
from .runtime.hostapi import HostFunction
from .schedulers import Portfolio, RandomWalk, derive_seed
from .schedulers.portfolio import CLASSIC_PCT, HOT_PCT, member_of

__all__ = ["DISCOVERY_SCHEDULES", "DirectedPlan", "Direction", "direct", "is_directable"]

# Executions under the race check before exploring: at least DISCOVERY_SCHEDULES, and up to
# DISCOVERY_MAX while none found a race. Each costs about twice an ordinary one (the check's
# price, benchmarks/README.md "The race check"). Measured on guests whose races libc's locks can
# hide (check_act_lazy_init, SCTBench's reorder_5): one PCT execution shows the race in 20-30 of
# 40 seeds, one random execution in 6-10 of 40; 12 executions miss such a race about once in 150
# explorations (8 missed it for 1 seed of 10).
DISCOVERY_SCHEDULES = 4
DISCOVERY_MAX = 12
# Above this many scheduling decisions in one execution the exploration is the random walk alone,
# undirected: each of PCT's decisions costs about 7-30 us of Python against 1-2 us in the native
# lane, so a PCT schedule of 24 threads x 1,000 mutex rounds (400,000 decisions) took 3 s against
# the walk's 0.3 s, and an exploration of 50 schedules five times as long.
PCT_DECISION_LIMIT = 100_000
# And above this many thread-decisions (decisions x threads): PCT looks at every runnable thread at
# each decision, about 0.14 us each. Measured (one schedule, PCT against the walk): 100 threads of
# check_act_lazy_init, 2,356 decisions, 0.025 s against 0.039 s; 200 threads at a barrier, 15,251
# decisions (3 million thread-decisions), 0.41 s against 0.11 s; 1,000 threads at a barrier,
# 161,571 decisions (162 million), 23 s against 0.23 s. The bound keeps a PCT schedule within about
# a second; the number of threads alone is no measure (a hundred short-lived threads cost PCT less
# than two busy ones).
PCT_THREAD_DECISION_LIMIT = 5_000_000


def walk_alone_because(outcome: Outcome) -> str | None:
    """Why the guest of this execution is explored by the random walk alone (PCT would cost too much), or None."""
    decisions = len(outcome.decisions)
    if decisions > PCT_DECISION_LIMIT:
        return f"{decisions:,} decisions in a schedule (more than {PCT_DECISION_LIMIT:,})"
    threads = len(set(outcome.decisions))
    if threads * decisions > PCT_THREAD_DECISION_LIMIT:
        return (f"{threads:,} threads x {decisions:,} decisions in a schedule (more than "
                f"{PCT_THREAD_DECISION_LIMIT:,} thread-decisions)")
    return None


# Their mean quantum: short, so that threads overlap and races show instead of being ordered by
# a thread running to its end (a few dozen plain accesses at ACCESS_COST each).
DISCOVERY_SLICE = 2_000
# Stream offsets of the discovery and pilot seeds: far from any schedule index an explorer uses.
_DISCOVERY_INDEX = 1 << 40
_PILOT_INDEX = (1 << 40) + 1000
_DIRECTED_INDEX = 1 << 41
_UNBOUNDED_STEPS = 1 << 30
RANDOM = RandomWalk.name
PCT = "pct"
# The plan's first schedules are the random walk's alone: of the bugs it finds at all, it finds most
# in its first few schedules (benchmarks/README.md "Bug hunt"), and these are exactly the schedules
# `--policy random` runs first, so the default loses nothing there. After them, the random walk's
# next schedules alternate with the directed ones. The lead is cut short when the walk's own
# checked schedules ended discovery with races or race candidates found (at DISCOVERY_SCHEDULES at
# the earliest): the directed positions start right after the schedule that ended it; a guest whose
# threads share no plain data keeps the whole lead. Measured (benchmarks/README.md "Bug hunt:
# race-directed"): every bug guest at the same schedule or sooner.
LEAD_FIRST = 6
# After them, of every DIRECTED_EVERY positions the last is directed: every other one, so a bug the
# walk finds at its schedule n > LEAD_FIRST is found by the default at 2 n - LEAD_FIRST at worst
# (measured on the project's bug guests and SCTBench: benchmarks/README.md "Bug hunt: race-directed").
DIRECTED_EVERY = 2
# Discovery's PCT executions (in directed positions) while no race showed: with the walk's
# checked schedules beside them, a race libc's locks hide from the walk still gets these chances.
DISCOVERY_PCT_MAX = 6
# The portfolio members of the directed positions, in turn: PCT over the hot accesses twice, then
# the classic PCT. A guest whose discovery found races has its bugs at racy accesses more often
# than not (every bug of the project's race guests; measured on check_act_lazy_init, the classic
# member found the bug in 0 of 200 schedules, the hot one in a quarter to a half of them); the
# classic member keeps a place for bugs between locked regions (lock_order: its slowest seeds).
# The first is the hot member: its execution counts the steps and choices the others' k need.
DIRECTED_MEMBERS = (HOT_PCT, HOT_PCT, CLASSIC_PCT)


@dataclass(frozen=True)
class Direction:
    """What race-directed set-up found, and what it cost."""

    settings: RunSettings  # the exploration's settings, hot sites and k included
    hot_sites: tuple[int, ...]
    pct_steps: int | None
    executions: int  # guest executions the set-up ran (discovery + pilot)
    elapsed: float
    walk_alone: str | None = None  # what made PCT too slow for this guest (settings: the random walk)
    ready: bool = True  # the set-up ended (a failure can end an exploration before it does)
    no_discovery: str | None = None  # why no race check could run on the guest
    candidates: bool = False  # no race showed: the hot sites are race candidates' (checks/races/detector.py)

    def summary(self) -> str:
        runs = f"{self.executions} set-up schedule{'s' if self.executions != 1 else ''}"
        if self.walk_alone is not None:
            return f"race-directed: not at {self.walk_alone}: the random walk explored alone"
        if self.no_discovery is not None:
            return f"race-directed: no discovery, the race check cannot run on this guest ({self.no_discovery})"
        if not self.ready:
            return (f"race-directed: the set-up had not ended ({runs} so far; racy access sites found: "
                    f"{len(self.hot_sites)})")
        if not self.hot_sites:
            return f"race-directed: no racy access found; every shared access stays a preemption point ({runs})"
        n = len(self.hot_sites)
        what = (f"no race showed; {n} access site{'s' if n != 1 else ''} of possible races (two threads' "
                f"accesses that thread creation does not order)" if self.candidates else
                f"{n} racy access site{'s' if n != 1 else ''}")
        return f"race-directed: {what} made preemption points (PCT k={self.pct_steps}; {runs} among the schedules)"


def is_directable(settings: RunSettings, guest: GuestSource) -> bool:
    """Whether race direction applies: fuel mode (deterministic) at the shared level, a core module."""
    from .runtime.loading.kind import is_component  # noqa: PLC0415 (only when exploring)

    return settings.preempt is Preempt.FUEL and settings.level == "shared" and not is_component(guest)


def direct(runner: Runner, guest: GuestSource, io: GuestIO | None = None, *,
           settings: RunSettings | None = None, host_functions: Iterable[HostFunction] = (),
           extensions: Sequence[Extension] = (), imports: ImportsSpec | None = None,
           expect_exit: int | None = 0) -> Direction:
    """Discover the guest's racy accesses and PCT's k; the settings an exploration should use (the
    portfolio policy, or the random walk for guests of many threads).

    A set-up execution that fails (`Outcome.failed(expect_exit)`) ends the set-up at once: a guest
    that fails without steering needs none, and its exploration finds the failure at once too.
    """
    base = settings or runner.settings
    t0 = time.perf_counter()
    if not is_directable(base, guest):
        return Direction(base, (), base.pct_steps, 0, 0.0)
    io = io or GuestIO()
    fns = list(host_functions)
    # The user's checks stay out of the set-up: they remember what they reported (a race check
    # reports each pair once), and set-up executions are not the exploration's.
    worlds = [e for e in extensions if not isinstance(e, Check)]
    sites: set[int] = set()
    candidates: set[int] = set()
    executions = 0
    while executions < DISCOVERY_MAX and (executions < DISCOVERY_SCHEDULES or not (sites or candidates)):
        i = executions
        executions += 1
        check = RaceCheck(backtraces=False, candidates=True)
        s = base.with_(policy="random" if i % 2 == 0 else "pct", seed=derive_seed(base.seed, _DISCOVERY_INDEX + i),
                       slice=DISCOVERY_SLICE, hot_sites=(), pct_steps=None)
        try:
            outcome = runner.run(guest, io, settings=s, host_functions=fns, extensions=[*worlds, check],
                                 imports=imports)
        except WasmconcError:
            # The guest cannot run this way (the exploration will say why): explore undirected.
            return Direction(base, (), base.pct_steps, i, time.perf_counter() - t0)
        if outcome.failed(expect_exit):
            return Direction(base, (), base.pct_steps, executions, time.perf_counter() - t0)
        alone = walk_alone_because(outcome)
        if alone is not None:
            return Direction(base.with_(policy=RANDOM), (), None, executions, time.perf_counter() - t0, alone)
        found = races_of(outcome)
        for report in found.reports if found is not None else ():
            sites.add(report.previous_site.at)
            sites.add(report.current_site.at)
        candidates |= check.candidate_sites
    hot = tuple(sorted(sites | candidates))
    # The pilot: one PCT execution on the program the exploration runs, k unbounded; it counts PCT's
    # steps (quantum ends, with hot sites) and every decision with a choice (the classic PCT's steps).
    pilot = base.with_(policy="pct", seed=derive_seed(base.seed, _PILOT_INDEX), hot_sites=hot,
                       pct_steps=_UNBOUNDED_STEPS)
    try:
        outcome = runner.run(guest, io, settings=pilot, host_functions=fns, extensions=worlds, imports=imports)
    except WasmconcError:
        return Direction(base, (), base.pct_steps, executions, time.perf_counter() - t0)
    executions += 1
    state = outcome.extra.get(POLICY_STATE, {})
    steps, choices = _half(state.get("steps")) if hot else None, _half(state.get("choices"))
    directed = base.with_(policy=Portfolio.name, hot_sites=hot, pct_steps=base.pct_steps or steps,
                          pct_choices=base.pct_choices or choices)
    return Direction(directed, hot, directed.pct_steps, executions, time.perf_counter() - t0,
                     candidates=bool(hot) and not sites)


def _half(counted: object) -> int | None:
    """k from a pilot's count: half of it (module docstring, step 3)."""
    return max(1, counted // 2) if isinstance(counted, int) else None


class DirectedPlan:
    """The default exploration of `wasmconc explore` as a plan (runtime/plan.py): race-directed set-up
    and exploration inside the schedules asked for, every execution counted and replayable.

    Positions 0..LEAD_FIRST-1, then every other one, run the random walk's schedules 0, 1, 2, ... (the
    very schedules of `--policy random` with the same seed); the positions between them are the directed
    ones. When the walk's checked schedules end discovery with races or race candidates before
    LEAD_FIRST, the alternation starts right after the one that ended it. While discovering, the race
    check rides along on the random walk's schedules (it changes no decision) and the directed positions
    run PCT discovery executions (strict priorities make threads overlap where libc's locks would order
    them). Once discovery is over, the directed positions run the `portfolio` policy on the guest whose
    racy and candidate accesses are hot, its PCT members only (the walk has its own positions), in the
    turn DIRECTED_MEMBERS. Their k comes from counts: the first directed schedule takes the number of
    accesses the discovery executions made at the hot sites (each is a step of that PCT: it ends a
    quantum), and its own execution counts the steps and choices the next ones use. Without hot sites
    there is nothing to count before, and the first directed position is a pilot: one PCT execution with
    k unbounded. A guest that PCT would decide too slowly for (`walk_alone_because`) is explored by the
    random walk alone. When discovery ended on race candidates alone, the race check rides along on the
    walk's and the directed schedules until a race shows, whose accesses join the hot sites (`_refine`).
    Discovery's own race reports are taken out of each outcome: they steer, they are not the user's
    check (a `--check races` of the user's own reports as always).
    """

    def __init__(self, base: RunSettings, extensions: Sequence[Extension] = ()) -> None:
        self.base = base
        self.extensions = tuple(extensions)
        # The user's own race check, when there is one, does discovery's work and keeps its reports
        # (asked to count its sites' accesses too: what k is sized by).
        self._user_races = next((e for e in self.extensions if isinstance(e, RaceCheck)), None)
        if self._user_races is not None:
            self._user_races.count_sites = True
            self._user_races.candidates = True
        self._lead = base.with_(policy=RANDOM, hot_sites=())
        self._sites: set[int] = set()  # the accesses of the races discovery found
        # Those of its race candidates (checks/races/detector.py): hot sites too (`hot_sites`).
        self._candidate_sites: set[int] = set()
        self._site_hits: list[dict[int, int]] = []  # per discovery execution: site offset -> accesses
        self._discovered = 0  # executions that ran under a race check
        self._pct_discovered = 0
        self._discovering = True
        self._refining = False  # discovery ended on race candidates alone; checked schedules look on for a race
        self._directed: RunSettings | None = None  # the directed schedules' settings, once discovery is over
        self._counted = False  # k measured by a directed execution (the pilot or the first directed schedule)
        self._lead_end = LEAD_FIRST  # where the alternation of walk and directed positions starts
        self._lead_index = 0
        self._directed_index = 0
        self._directed_turn = 0
        self._walk_alone: str | None = None
        self._pending_check: RaceCheck | None = None
        self._pending_pilot = False
        self._pending_count = False
        self._setup_runs = 0  # discovery PCT executions and the pilot (the directed positions of the set-up)
        self._no_discovery: str | None = None  # why the race check could not run, when it could not

    # -- the plan ------------------------------------------------------------------------------------

    def next_run(self, position: int) -> PlannedRun:
        self._pending_check = None
        self._pending_pilot = False
        self._pending_count = False
        if self._is_lead(position):
            s = self._lead.with_(seed=derive_seed(self.base.seed, self._lead_index))
            self._lead_index += 1
            return PlannedRun(s, self._with_discovery_check())
        if self._discovering:
            s = self.base.with_(policy=PCT, seed=derive_seed(self.base.seed, _DISCOVERY_INDEX + self._pct_discovered),
                                slice=DISCOVERY_SLICE, hot_sites=(), pct_steps=None)
            self._pct_discovered += 1
            self._setup_runs += 1
            return PlannedRun(s, self._with_discovery_check())
        if self._directed is None:
            # Nothing to size k by: one PCT execution with k unbounded on the program the exploration
            # runs counts PCT's steps (quantum ends, with hot sites) and every decision with a choice.
            self._pending_pilot = True
            self._setup_runs += 1
            s = self.base.with_(policy=PCT, seed=derive_seed(self.base.seed, _PILOT_INDEX), hot_sites=self.hot_sites,
                                pct_steps=_UNBOUNDED_STEPS)
            return PlannedRun(s, self.extensions)
        want = DIRECTED_MEMBERS[self._directed_turn % len(DIRECTED_MEMBERS)]
        self._directed_turn += 1
        self._pending_count = not self._counted
        # The portfolio's schedules whose seed picks the member whose turn it is.
        while True:
            seed = derive_seed(self.base.seed, _DIRECTED_INDEX + self._directed_index)
            self._directed_index += 1
            if member_of(seed) == want:
                return PlannedRun(self._directed.with_(seed=seed), self._with_discovery_check())

    def cannot_run(self, position: int, error: Exception) -> PlannedRun | None:
        """A schedule with discovery's race check could not run (a guest the check cannot instrument, e.g.
        one without a name section): discovery ends with no hot site and the position runs without it."""
        if self._pending_check is None:
            return None  # not discovery's doing: the exploration reports the error
        self._discovering = False
        self._no_discovery = str(error).splitlines()[0]
        self._pending_check = None
        if self._is_lead(position):
            self._lead_index -= 1
        else:
            self._pct_discovered -= 1
            self._setup_runs -= 1
        return self.next_run(position)

    def observe(self, position: int, outcome: Outcome) -> None:
        if self._pending_pilot or self._pending_count:
            self._count(outcome)
            if self._refining:
                self._refine(outcome)
            return
        if self._refining:
            self._refine(outcome)
            return
        if not self._discovering:
            return
        alone = walk_alone_because(outcome)
        if alone is not None:
            self._walk_alone = alone
            self._discovering = False
        found = races_of(outcome)
        check = self._pending_check or self._user_races
        if self._pending_check is not None:
            outcome.extra.pop(RACES_KEY, None)  # discovery's reports steer; they are no failure of the guest
        self._discovered += 1
        if check is not None:
            self._site_hits.append(dict(check.site_hits))
            self._candidate_sites |= check.candidate_sites
        for report in found.reports if found is not None else ():
            self._sites.add(report.previous_site.at)
            self._sites.add(report.current_site.at)
        enough = self._discovered >= DISCOVERY_SCHEDULES and bool(self.hot_sites)
        if enough or self._pct_discovered >= DISCOVERY_PCT_MAX:
            self._discovering = False
            # Candidates alone steer now; the checked schedules (the walk's and the directed) look on for a race.
            self._refining = not self._sites and bool(self._candidate_sites) and self._discovered < DISCOVERY_MAX
            self._end_discovery()
            if self._directed is not None:
                # Racy sites and k known: the directed positions need not wait for the rest of the lead.
                self._lead_end = min(self._lead_end, position)

    def _refine(self, outcome: Outcome) -> None:
        """After discovery ended on race candidates alone: a race one of the checked schedules (the
        walk's or the directed ones) shows adds its accesses to the hot sites, and the next directed
        schedules steer by them."""
        check = self._pending_check or self._user_races
        if check is None:
            return  # no check rode along (the pilot's schedule)
        found = races_of(outcome)
        if self._pending_check is not None:
            outcome.extra.pop(RACES_KEY, None)  # as in discovery: they steer, they are no failure
        self._discovered += 1
        self._site_hits.append(dict(check.site_hits))
        for report in found.reports if found is not None else ():
            self._sites.add(report.previous_site.at)
            self._sites.add(report.current_site.at)
        if self._sites or self._discovered >= DISCOVERY_MAX:
            self._refining = False
        if self._sites:
            self._end_discovery()
            self._counted = False  # the next directed schedule counts the new hot program's steps

    # -- what it found -------------------------------------------------------------------------------

    @property
    def hot_sites(self) -> tuple[int, ...]:
        """The accesses of the races and race candidates found (an execution's races are among its
        candidates; a race another execution showed may add sites its candidates missed)."""
        return tuple(sorted(self._sites | self._candidate_sites))

    def direction(self, elapsed: float) -> Direction:
        """The set-up's summary, as the exploration left it."""
        if self._walk_alone is not None:
            return Direction(self._lead, (), None, self._setup_runs, elapsed, self._walk_alone)
        directed = self._directed or self.base
        return Direction(directed, self.hot_sites, directed.pct_steps, self._setup_runs, elapsed,
                         ready=self._directed is not None, no_discovery=self._no_discovery,
                         candidates=not self._sites and bool(self._candidate_sites))

    # -- helpers -------------------------------------------------------------------------------------

    def _end_discovery(self) -> None:
        """The directed settings, when the discovery's counts can size k (no pilot then)."""
        hot = self.hot_sites
        if self._walk_alone is not None or not hot:
            return
        # Each access at a hot site ends a quantum of the hot program's PCT: its steps. The most any
        # discovery execution made (executions differ in how long their threads spin).
        steps = max((sum(hits.get(at, 0) for at in hot) for hits in self._site_hits), default=0)
        if steps <= 0:
            return
        self._directed = self.base.with_(policy=Portfolio.name, hot_sites=hot,
                                         pct_steps=self.base.pct_steps or _half(steps),
                                         pct_choices=self.base.pct_choices)

    def _count(self, outcome: Outcome) -> None:
        """k from a directed execution's own counts (module docstring, step 3): the pilot's, or the first
        directed schedule's; the user's `--pct-steps`/classic k stay as given."""
        self._counted = True
        state = outcome.extra.get(POLICY_STATE, {})
        hot = self.hot_sites
        steps = _half(state.get("steps")) if hot else None
        choices = _half(state.get("choices"))
        self._directed = self.base.with_(policy=Portfolio.name, hot_sites=hot,
                                         pct_steps=self.base.pct_steps or steps or
                                         (self._directed.pct_steps if self._directed else None),
                                         pct_choices=self.base.pct_choices or choices)

    def _is_lead(self, position: int) -> bool:
        if self._walk_alone is not None:
            return True
        end = self._lead_end
        return position < end or (position - end) % DIRECTED_EVERY != DIRECTED_EVERY - 1

    def _with_discovery_check(self) -> tuple[Extension, ...]:
        if not (self._discovering or self._refining) or self._user_races is not None:
            return self.extensions
        self._pending_check = RaceCheck(backtraces=False, count_sites=True, candidates=True)
        return (*self.extensions, self._pending_check)
