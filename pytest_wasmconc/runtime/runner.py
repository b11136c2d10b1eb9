"""The runtime's front door: load a guest, run it once, explore schedules, replay a token.

The CLI and the pytest plugin are both thin layers over `Runner`.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..schedulers import Policy, PolicyError, derive_seed, replays_from_decisions
from .loading.kind import is_component, is_component_program
from .drivers.driving import SEARCH_FOOTPRINTS, SEARCH_PICKS, drive, stamp_schedule
from .errors import ConfigError, ReplayError, WasmconcError
from .extensions import Extension, Rerun, load_passes, passes_cache_key
from .guestio import GuestIO
from .hostapi import HostFunction
from .loading.cache import CompileCache
from .kept_world import KeptWorld, wasi_functions
from .loading.program import GuestSource, Program, load_program
from .machine.execution import Execution
from .machine.reuse import InstancePool
from .outcome import Outcome
from .plan import PlannedRun, SchedulePlan
from .report import append_trace_tail
from .settings import EngineSettings, Preempt, RunSettings
from .token import GuestIdentity, ReplayToken, decode_token, encode_token
from .wasmtime import interrupts, traphandlers
from .worlds import Worlds, default_worlds

if TYPE_CHECKING:
    from .timeline.model import Timeline
    from .userhost.api import ImportsSpec

# Timelines (timeline/) and user host functions (userhost/) are imported by the executions that
# use them: a run without either does not pay their import (start-up, benchmarks/README.md
# "Throughput (issue 20)").

__all__ = ["Exploration", "GuestIO", "Progress", "Runner", "schedule_key"]

# The dfs policy's name (schedulers/dfs.py `Dfs.name`): its search is imported only when it explores.
DFS = "dfs"

# Called after each schedule of an exploration with the schedules run so far and the latest outcome.
Progress = Callable[[int, Outcome], None]


def schedule_key(outcome: Outcome) -> int | None:
    """The identity of an execution's interleaving (its decisions and slices), to count distinct ones;
    None where none are recorded (os and epoch mode). A guest of one thread has one: no decisions."""
    return hash((outcome.decisions, outcome.slices)) if outcome.preempt == "fuel" else None


@dataclass
class Exploration:
    """The result of exploring many schedules of one guest."""

    outcome: Outcome  # the first failing one, or the last when all passed
    schedules_run: int
    failed: bool
    elapsed: float
    distinct: Counter[str]
    first_failure_index: int | None = None
    # The bounded exhaustive search (policy dfs): what it proved, e.g. "explored all 12 schedules with at
    # most 2 preemptions (reduction: sleep sets, 3 pruned); no failure". None for sampling policies.
    statement: str | None = None
    # Distinct interleavings: hashes of the schedules' decisions (none recorded in os and epoch mode).
    interleavings: set[int] = field(default_factory=set)

    @property
    def rate(self) -> float:
        return self.schedules_run / self.elapsed if self.elapsed > 0 else float("inf")

    def summary(self) -> str:
        kinds = ", ".join(f"{k} x{n}" for k, n in self.distinct.most_common())
        return (f"{self.schedules_run} schedule{'s' if self.schedules_run != 1 else ''} in {self.elapsed:.2f} s "
                f"({self.rate:.0f}/s); outcomes: {kinds}")


class Runner:
    """Loads guests (through the compile cache) and executes them under `RunSettings`.

    `worlds` makes each execution's WASI world (runtime/worlds.py); by default
    the one the package registers (the sandboxed WASI, wasmtime's own, streams).
    """

    def __init__(self, settings: RunSettings | None = None, *, cache: CompileCache | None = None,
                 worlds: Worlds | None = None) -> None:
        self.settings = settings or RunSettings()
        self.cache = cache if cache is not None else CompileCache()
        self._worlds = worlds
        # The reset path (machine/reuse.py): an exploration's fuel-mode executions share their memory,
        # linker and instances where a reset is exact. False: every execution creates its own.
        self.reuse_instances = True
        # What the reset path did over this runner's explorations (tests and benchmarks read it):
        # "resets" (executions on a kept, reset world), "fresh" (executions that made their own),
        # "reused_instances" (threads that ran in a kept instance).
        self.reuse_counts: Counter[str] = Counter()

    @property
    def worlds(self) -> Worlds:
        if self._worlds is None:
            self._worlds = default_worlds()
        return self._worlds

    # -- loading -------------------------------------------------------------

    def load(self, guest: GuestSource, settings: RunSettings | None = None, *,
             extensions: Sequence[Extension] = (), virtual_memory: bool | None = None) -> Program:
        """`virtual_memory`: load for the reset path (instrument/vmem.py; explorations whose pool is on);
        None: as a given Program was loaded (a plain load otherwise)."""
        s = settings or self.settings
        if virtual_memory is None:
            virtual_memory = isinstance(guest, Program) and guest.virtual_memory
        if is_component(guest):  # a WASI 0.2 component (components.py): no instrumentation passes
            from .components import load_component  # noqa: PLC0415 (components only: see loading/kind.py)

            return load_component(guest, EngineSettings.for_components(s.preempt))  # type: ignore[return-value]
        # The dfs policy's loads tell its search what each step touches (instrument/footprints.py).
        return load_program(guest, s.engine, level=s.level, cache=self.cache, passes=load_passes(extensions),
                            hot_sites=frozenset(s.hot_sites), footprints=s.policy == DFS,
                            virtual_memory=virtual_memory, passes_cache_key=passes_cache_key(extensions))

    # -- one execution ----------------------------------------------------------

    def run(
        self,
        guest: GuestSource,
        io: GuestIO | None = None,
        *,
        settings: RunSettings | None = None,
        host_functions: Iterable[HostFunction] = (),
        extensions: Sequence[Extension] = (),
        imports: ImportsSpec | None = None,
        timeline: bool = False,
    ) -> Outcome:
        """Run once; `imports` are user host functions {"module": {"name": callable}} (userhost/);
        `timeline`: record its timeline (`outcome.timeline`, see `execute`)."""
        s = settings or self.settings
        program = self.load(guest, s, extensions=extensions)
        return self.execute(program, io or GuestIO(), s, list(host_functions), extensions=extensions,
                            imports=imports, timeline=timeline)

    def execute(self, program: Program, io: GuestIO, settings: RunSettings,
                host_functions: Sequence[HostFunction] = (), *,
                extensions: Sequence[Extension] = (), imports: ImportsSpec | None = None,
                timeline: bool = False, timeline_locks: bool = True, policy: Policy | None = None,
                pool: InstancePool | None = None, world: KeptWorld | None = None) -> Outcome:
        """Run once. `timeline`: record the execution's events, kept as `outcome.timeline` (core modules;
        fuel mode takes the same schedule as without, with every step in Python), with the lock pass
        (lock acquisitions and releases) unless `timeline_locks` is False. `policy`: answer with this policy
        object instead of the settings' (fuel or epoch mode, core modules; the outcome then has no token: no
        token names such a policy). `pool`: an exploration's kept instances (machine/reuse.py), used when
        this execution can be reset exactly. `world`: an exploration's kept WASI world, renewed for this
        execution (kept_world.py)."""
        traphandlers.ensure()  # a guest trap must reach Wasmtime, whatever replaced its handlers
        if settings.policy == "replay" and settings.preempt is not Preempt.OS and not settings.slices:
            raise ConfigError("the replay policy needs a recorded schedule: replay the token a failure printed "
                              "(Runner.replay, `wasmconc replay`, --wasm-replay)")
        if policy is not None and (is_component_program(program) or settings.preempt is Preempt.OS):
            raise ConfigError("a policy object schedules core modules in fuel or epoch mode only")
        if is_component_program(program):
            from .components import execute_component  # noqa: PLC0415 (components only: see loading/kind.py)

            with _divergence_is_a_replay_error():
                outcome = execute_component(program, io, settings, host_functions, extensions=extensions,
                                            worlds=self.worlds)
            _stamp_token(outcome, settings, program, io)
            return outcome
        recorder = None
        if timeline:
            from .timeline.locks import TimelineLocks, needs_lock_pass
            from .timeline.recorder import Recorder

            recorder = Recorder()
            if timeline_locks and needs_lock_pass(extensions):
                extensions = [*extensions, TimelineLocks()]  # lock acquisitions and releases on the lanes
        if extensions:
            program = self.load(program, settings, extensions=extensions)  # as is when already instrumented
        for fn in host_functions:
            if not isinstance(fn, HostFunction):
                raise ConfigError(f"host_functions must be HostFunction objects, got {type(fn).__name__} {fn!r}")
        attachments = [ext.attach(program, settings) for ext in extensions]
        extra = [fn for a in attachments for fn in a.host_functions()]
        user = None
        if imports is not None:
            from .userhost.run import HostRun

            user = HostRun.create(program, imports, settings)  # checks them against the guest's imports
        if user is not None:
            extra += user.functions()
        argv = [io.program_name or _file_name(program.name)] + list(io.args)
        if world is not None:
            wasi, wasi_fns = world.world(self.worlds, program, io, argv)
        else:
            wasi = self.worlds.core(program, io, argv)
            wasi_fns = wasi_functions(wasi, program)
        native = wasi if wasi.native else None
        if pool is not None and not _resettable(program, settings, user, native, recorder):
            pool = None
        started = time.perf_counter()
        try:
            ex = Execution(program, settings, wasi_fns + list(host_functions) + extra, native_wasi=native,
                           observers=attachments, recorder=recorder, pool=pool,
                           resolved=world.resolved if world is not None else None)
            wasi.set_waker(ex.poke)
            if user is not None:
                user.attach(ex)
            with _divergence_is_a_replay_error():
                recording = drive(ex, settings, policy)
        finally:
            wasi.close()
            if user is not None:
                user.close()
        outcome = ex.outcome(wasi.stdout, wasi.stderr, time.perf_counter() - started)
        if user is not None:
            user.finish(outcome)
        outcome.trace = list(wasi.trace)
        append_trace_tail(outcome, dropped=wasi.trace_dropped)
        stamp_schedule(outcome, settings, recording)
        if policy is None:
            _stamp_token(outcome, settings, program, io)
        if recorder is not None:
            outcome.timeline = recorder.timeline(outcome, program.name)
        if ex.stuck_threads:
            outcome.report += ("\nwarning: these guest threads did not stop (a host function is blocking "
                               f"outside the runtime's control): {', '.join(ex.stuck_threads)}")
        if attachments:
            def run_again(exts: Sequence[Extension]) -> Outcome:
                return self.execute(program, io, settings, host_functions, extensions=exts, imports=imports,
                                    policy=policy)

            # Only fuel mode is deterministic: the same execution again.
            rerun: Rerun | None = run_again if settings.preempt is Preempt.FUEL else None
            for a in attachments:
                a.finished(outcome, rerun)
        return outcome

    # -- many executions -----------------------------------------------------------

    def explore(
        self,
        guest: GuestSource,
        io: GuestIO | None = None,
        *,
        schedules: int = 100,
        expect_exit: int | None = 0,
        settings: RunSettings | None = None,
        host_functions: Iterable[HostFunction] = (),
        start: int = 0,
        step: int = 1,
        is_failure: Callable[[Outcome], bool] | None = None,
        extensions: Sequence[Extension] = (),
        imports: ImportsSpec | None = None,
        preemption_bound: int | None = None,
        time_budget: float | None = None,
        timeline: bool = False,
        progress: Progress | None = None,
        reduction: bool = True,
    ) -> Exploration:
        """Run schedules start, start+step, ... (up to `schedules` of them); stop at the first failure.

        Schedule i uses seed derive_seed(settings.seed, i), so any worker can
        run any slice of an exploration and every failure replays from its token.
        The dfs policy instead enumerates schedules (`DfsSearch`): up to `schedules` of
        them, with at most `preemption_bound` preemptions (None: raising the bound from 0
        while schedules are left), within `time_budget` seconds when given; its
        `Exploration.statement` says what it proved; `reduction=False` turns its sleep sets off (every schedule
        within the bound runs, for comparison). `timeline`: record every schedule's timeline (the
        way to have one in epoch mode; in fuel mode `retrace` gives the one of interest afterwards).
        `progress(schedules_run, outcome)` is called after each schedule (a front end's progress line).
        """
        if isinstance(schedules, bool) or not isinstance(schedules, int) or schedules < 1:
            raise ConfigError(f"schedules must be a whole number >= 1, got {schedules!r}")
        if expect_exit is not None and (isinstance(expect_exit, bool) or not isinstance(expect_exit, int)):
            raise ConfigError(f"expect_exit must be an exit code (int) or None, got {expect_exit!r}")
        base = settings or self.settings
        program = self.load(guest, base, extensions=extensions, virtual_memory=self._resets(base))
        io = io or GuestIO()
        fns = list(host_functions)
        failed_check = is_failure or (lambda o: o.failed(expect_exit))
        if base.policy == DFS:
            if start != 0 or step != 1:
                raise ConfigError("the dfs policy's search cannot be split into slices (start/step): it runs whole")
            return self._search(program, io, base, fns, schedules, failed_check, extensions, imports,
                                preemption_bound, time_budget, progress, reduction)
        distinct: Counter[str] = Counter()
        keys: set[int] = set()
        t0 = time.perf_counter()
        outcome: Outcome | None = None
        count = 0
        pool = self._pool(base)
        world = self._kept_world(base)
        # One SIGINT handler for the whole exploration (each execution would install its own).
        with interrupts.interrupts_deferred(), _closing({0: pool}, self.reuse_counts):
            for n in range(schedules):
                index = start + n * step
                s = base.with_seed(derive_seed(base.seed, index)) if base.preempt is Preempt.FUEL else base
                outcome = self.execute(program, io, s, fns, extensions=extensions, imports=imports,
                                       timeline=timeline, pool=pool, world=world)
                count += 1
                distinct[outcome.summary()] += 1
                _add_key(keys, outcome)
                if progress is not None:
                    progress(count, outcome)
                if failed_check(outcome):
                    return Exploration(outcome, count, True, time.perf_counter() - t0, distinct, index,
                                       interleavings=keys)
        assert outcome is not None
        return Exploration(outcome, count, False, time.perf_counter() - t0, distinct, interleavings=keys)

    def explore_plan(
        self,
        guest: GuestSource,
        io: GuestIO | None,
        plan: SchedulePlan,
        *,
        schedules: int,
        is_failure: Callable[[Outcome], bool],
        host_functions: Iterable[HostFunction] = (),
        imports: ImportsSpec | None = None,
        progress: Progress | None = None,
    ) -> Exploration:
        """Run up to `schedules` schedules as `plan` decides them (runtime/plan.py); stop at the first
        failure. The failure's index is its position in the plan. `progress` as in `explore`."""
        if isinstance(schedules, bool) or not isinstance(schedules, int) or schedules < 1:
            raise ConfigError(f"schedules must be a whole number >= 1, got {schedules!r}")
        io = io or GuestIO()
        fns = list(host_functions)
        distinct: Counter[str] = Counter()
        keys: set[int] = set()
        t0 = time.perf_counter()
        outcome: Outcome | None = None
        # The plan's schedules load the guest a few ways (with the discovery's race pass, with hot
        # sites): each way once. A load with extension passes is not shared across loads
        # (load_program), and instrumenting a libc guest again for each schedule was most of the
        # exploration's time. Within one exploration a pass key names its pass (as it does for a
        # Program given to load_program), so the Program loaded for a key is the one to reuse.
        programs: dict[tuple[Any, ...], Program] = {}
        # Kept instances (machine/reuse.py) and WASI worlds (kept_world.py), one per way: the plan alternates
        # between them.
        pools: dict[tuple[Any, ...], InstancePool | None] = {}
        worlds: dict[tuple[Any, ...], KeptWorld | None] = {}

        def run_planned(planned: PlannedRun) -> Outcome:
            s = planned.settings
            way = (s.engine, s.level, frozenset(s.hot_sites), tuple(e.pass_key for e in planned.extensions))
            program = programs.get(way)
            if program is None:
                program = programs[way] = self.load(guest, s, extensions=planned.extensions,
                                                    virtual_memory=self._resets(s))
            if way not in pools:
                pools[way] = self._pool(s)
                worlds[way] = self._kept_world(s)
            return self.execute(program, io, s, fns, extensions=planned.extensions, imports=imports,
                                pool=pools[way], world=worlds[way])

        with interrupts.interrupts_deferred(), _closing(pools, self.reuse_counts):
            for position in range(schedules):
                planned = plan.next_run(position)
                try:
                    outcome = run_planned(planned)
                except WasmconcError as exc:
                    fallback = plan.cannot_run(position, exc)  # e.g. without a check this guest cannot take
                    if fallback is None:
                        raise
                    outcome = run_planned(fallback)
                plan.observe(position, outcome)
                distinct[outcome.summary()] += 1
                _add_key(keys, outcome)
                if progress is not None:
                    progress(position + 1, outcome)
                if is_failure(outcome):
                    return Exploration(outcome, position + 1, True, time.perf_counter() - t0, distinct, position,
                                       interleavings=keys)
        assert outcome is not None
        return Exploration(outcome, schedules, False, time.perf_counter() - t0, distinct, interleavings=keys)

    def _pool(self, settings: RunSettings) -> InstancePool | None:
        """An exploration's pool of kept instances, or None where the reset path is off or cannot apply."""
        return InstancePool() if self._resets(settings) else None

    def _kept_world(self, settings: RunSettings) -> KeptWorld | None:
        """An exploration's kept WASI world (kept_world.py), with the reset path: `reuse_instances = False`
        leaves every execution making its own, the reference the exactness tests compare with."""
        return KeptWorld() if self._resets(settings) else None

    def _resets(self, settings: RunSettings) -> bool:
        """Whether an exploration with `settings` takes the reset path (then it loads its guest with a
        virtual memory size, instrument/vmem.py, so that a memory the guest grew can be reset too)."""
        return self.reuse_instances and settings.preempt is Preempt.FUEL

    def _search(self, program: Program, io: GuestIO, base: RunSettings, fns: list[HostFunction], schedules: int,
                failed_check: Callable[[Outcome], bool], extensions: Sequence[Extension],
                imports: ImportsSpec | None, bound: int | None, time_budget: float | None,
                progress: Progress | None = None, reduction: bool = True) -> Exploration:
        """The dfs policy's exploration: the next schedule is the search's, until it is over or the budget is."""
        if base.preempt is not Preempt.FUEL:
            raise ConfigError(f"the dfs policy enumerates schedules in fuel mode only, not in {base.preempt.value} "
                              "mode (--preempt fuel)")
        from ..schedulers.dfs_search import DfsSearch, NondeterminismError  # noqa: PLC0415 (dfs only)

        search = DfsSearch(bound, reduction=reduction)
        distinct: Counter[str] = Counter()
        keys: set[int] = set()
        t0 = time.perf_counter()
        outcome: Outcome | None = None
        pool = self._pool(base)
        world = self._kept_world(base)
        with interrupts.interrupts_deferred(), _closing({0: pool}, self.reuse_counts):
            while search.schedules < schedules:
                if time_budget is not None and search.schedules and time.perf_counter() - t0 >= time_budget:
                    break
                prefix = search.next_prefix()
                if prefix is None:
                    break
                outcome = self.execute(program, io, base.with_(decisions=prefix), fns, extensions=extensions,
                                       imports=imports, pool=pool, world=world)
                try:
                    search.record(outcome.extra.get(SEARCH_PICKS, ()), outcome.extra.get(SEARCH_FOOTPRINTS))
                except NondeterminismError as exc:
                    raise ReplayError(f"the dfs search cannot go on: {exc}") from None
                distinct[outcome.summary()] += 1
                _add_key(keys, outcome)
                if progress is not None:
                    progress(search.schedules, outcome)
                if failed_check(outcome):
                    return Exploration(outcome, search.schedules, True, time.perf_counter() - t0, distinct,
                                       search.schedules - 1, search.statement(failed=True), keys)
        assert outcome is not None
        return Exploration(outcome, search.schedules, False, time.perf_counter() - t0, distinct,
                           statement=search.statement(), interleavings=keys)

    def retrace(self, program: Program, io: GuestIO, outcome: Outcome, settings: RunSettings, *,
                host_functions: Sequence[HostFunction] = (), extensions: Sequence[Extension] = (),
                imports: ImportsSpec | None = None) -> Timeline | None:
        """The timeline of `outcome`'s execution: recorded already, or (fuel mode) its schedule run again
        with the recorder on. None when there is neither (epoch and os mode run without a recorder)."""
        if outcome.timeline is not None:
            return outcome.timeline
        if not outcome.token or is_component_program(program):
            return None
        replay = decode_token(outcome.token).apply(settings)
        program = self.load(program, replay, extensions=extensions)  # the schedule's level and hot sites
        again = self.execute(program, io, replay, host_functions, extensions=extensions, imports=imports,
                             timeline=True)
        from .timeline.locks import needs_lock_pass

        if not _same_execution(outcome, again) and needs_lock_pass(extensions):
            # The lock pass is the one difference a recording run adds to the module: try without it.
            plain = self.execute(program, io, replay, host_functions, extensions=extensions, imports=imports,
                                 timeline=True, timeline_locks=False)
            if _same_execution(outcome, plain):
                again = plain
        tl = again.timeline
        if tl is not None and not _same_execution(outcome, again):
            tl.notes.append(f"this timeline is of a re-run that ended otherwise ({again.summary()}, "
                            f"{again.steps} steps) than the execution it retraces ({outcome.summary()}, "
                            f"{outcome.steps} steps): the guest depends on more than its schedule "
                            "(files it changed, the outside world)")
        return tl

    def replay(self, guest: GuestSource, token: str, io: GuestIO | None = None, *,
               host_functions: Iterable[HostFunction] = (), extensions: Sequence[Extension] = (),
               imports: ImportsSpec | None = None, timeline: bool = False) -> Outcome:
        """Run `guest` on the schedule `token` describes; ReplayError when it was made for another guest,
        other arguments, another wasmtime or engine configuration, or when the execution leaves it."""
        tok = decode_token(token)
        tok.check_compatible()
        io = io or GuestIO()
        settings = tok.apply(self.settings)
        program = self.load(guest, settings, extensions=extensions)
        tok.check_guest(GuestIdentity.of(program, io.args))
        return self.execute(program, io, settings, list(host_functions), extensions=extensions, imports=imports,
                            timeline=timeline)


@contextlib.contextmanager
def _closing(pools: dict[Any, InstancePool | None], counts: Counter[str]) -> Iterator[None]:
    """Close an exploration's pools at its end (the dict is read then: a plan adds pools as it goes)."""
    try:
        yield
    finally:
        for pool in pools.values():
            if pool is not None:
                counts.update(resets=pool.resets, fresh=pool.fresh, reused_instances=pool.reused_instances,
                              reused_stores=pool.reused_stores)
                pool.close()
                pool.close_spares()


def _resettable(program: Program, settings: RunSettings, user: Any, native_wasi: Any, recorder: Any) -> bool:
    """Whether this execution may run on kept instances (machine/reuse.py): serial fuel mode, a module
    whose instances reset exactly, and nothing that binds per-execution state into the linker or
    watches the steps from Python: user imports (their sessions call back into the guest), wasmtime's
    own WASI, timelines. An extension's native host functions (the race detector's) are rebound per
    execution through cells (runtime/native.py); extensions that only observe (the stream check) or
    only add a load pass keep it too."""
    return (settings.preempt is Preempt.FUEL and InstancePool.supports(program) and user is None
            and native_wasi is None and recorder is None)


@functools.lru_cache(maxsize=64)
def _file_name(path: str) -> str:
    """A guest's argv[0] by default: its file's name (a Path made once per guest, not once per schedule)."""
    return Path(path).name


def _add_key(keys: set[int], outcome: Outcome) -> None:
    key = schedule_key(outcome)
    if key is not None:
        keys.add(key)


@contextlib.contextmanager
def _divergence_is_a_replay_error() -> Iterator[None]:
    """A replayed schedule that stops fitting the execution is the token's problem, told in one line."""
    try:
        yield
    except PolicyError as exc:
        raise ReplayError(f"the replayed schedule does not fit this execution: {exc} (the guest's input, "
                          "files or environment differ from the run that made the token, or the guest is "
                          "not deterministic)") from None


def _same_execution(a: Outcome, b: Outcome) -> bool:
    return (a.status, a.exit_code, a.steps, a.decisions, a.slices) == (b.status, b.exit_code, b.steps, b.decisions,
                                                                      b.slices)


def _stamp_token(outcome: Outcome, settings: RunSettings, program: Any, io: GuestIO) -> None:
    """The token that replays this execution: its schedule, bound to this guest and its arguments."""
    if settings.preempt is not Preempt.FUEL:
        return
    # Seeded policies replay from (policy, seed, ...); "replay" and "dfs" need the decision list
    # (dfs's slices are all the same: its policy gives them again).
    keep = replays_from_decisions(settings.policy)
    decisions = outcome.decisions if keep else ()
    slices = outcome.slices if settings.policy == "replay" else ()
    guest = GuestIdentity.of(program, io.args)
    outcome.set_token_factory(
        lambda: encode_token(ReplayToken.for_run(settings, decisions, slices, guest=guest)))

