"""`wasm_scheduler`: runs and explores guests under the test's mode, policy and checks."""

from __future__ import annotations

import os
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..directed import direct, is_directable
from ..runtime import ConfigError, GuestIO, Outcome, Program, Runner, RunSettings, WasmconcError
from ..schedulers import Portfolio
from ..runtime.runner import schedule_key
from ..shrinking import Shrunk, shrink_failure
from ..runtime.token import GuestIdentity
from . import hostimports, legacy_checks, timeline_files, timeouts
from .errors import GuestLoadError, GuestOutcomeError, WasmconcWarning, WasmGuestFailure
from .expectation import Expectation
from .marked import MarkedCheck
from .memory import Remembered
from .precedence import TestPlan
from .records import ACTIVITY_KEY, GuestRecord, add_record
from .reporting import render_record
from .sandbox import WasiSandbox

__all__ = ["Shard", "WasmScheduler"]

Guest = str | os.PathLike[str] | bytes | Program
_MIN_BUDGET_S = 0.05


@dataclass(frozen=True)
class Shard:
    """Which slice of each exploration this test item runs: schedules index, index+count, ..."""

    index: int = 0
    count: int = 1

    @property
    def id(self) -> str:
        return f"wasm-shard{self.index + 1}of{self.count}"


def _guest_name(guest: Guest) -> str:
    if isinstance(guest, Program):
        return guest.name
    if isinstance(guest, (bytes, bytearray, memoryview)):
        return "<bytes>"
    return os.fspath(guest) if not isinstance(guest, Path) else str(guest)


class WasmScheduler:
    """Runs guests the way this test is configured (fixture `wasm_scheduler`)."""

    def __init__(self, item: pytest.Item, runner: Runner, plan: TestPlan, checks: Sequence[MarkedCheck],
                 shard: Shard = Shard(), *, imports: Any = None, memory: Remembered | None = None) -> None:
        self._item = item
        self._memory = memory  # the schedules that failed this test last time (memory.py)
        self._fixture_imports = imports  # the wasm_imports fixture's (hostimports.py)
        self._runner = runner
        self.plan = plan
        self._checks = list(checks)
        self.shard = shard
        self.records: list[GuestRecord] = []  # what each run()/explore() call of this test ended with

    @property
    def settings(self) -> RunSettings:
        """The settings each execution starts from (mode, policy, seed, slice, bounds)."""
        return legacy_checks.adjusted(self.plan.settings, self._checks)

    def compile(self, guest: Guest) -> Program:
        """Load and compile a guest once (through the shared compile cache) to run it many times."""
        __tracebackhide__ = True
        return self._load(guest, self.settings)

    # -- one execution ---------------------------------------------------------

    def run(self, guest: Guest, args: Sequence[str] = (), *, sandbox: WasiSandbox | None = None,
            stdin: bytes | str | os.PathLike[str] | None = None, imports: Any = None,
            expect: str = "exited", expect_exit: int | None = 0, check: bool = True) -> Outcome:
        """Run the guest once and return its outcome; the test fails when it is not the expected one.

        Expected by default: an exit with code 0. `expect="trapped"`, `"deadlock"` or `"hang"` expects
        that ending instead, `expect_exit=N` another exit code (None: any); `check=False` returns the
        outcome whatever it is, for a test that asserts on it itself. A marker's checks apply either way.
        When the schedule that failed this test last time fits this guest and these arguments (the
        failure memory in pytest's cache), this execution replays it.
        `imports`: user host functions {"module": {"name": callable}} (or a function returning
        that, called per execution); a Python exception from one fails the test as itself.
        """
        __tracebackhide__ = True
        expected = Expectation.of("run", expect, expect_exit)
        base = self.settings
        program = self._load(guest, base)
        io = self._io(args, sandbox, stdin)
        self._check_replay(program, io)
        remembered = self._memory_first(guest, program, io, base, sandbox, expected, imports, check, "run")
        if remembered is not None:
            return remembered
        settings, cut = self._bounded(base)
        started = time.perf_counter()
        outcome = self._execute(program, io, settings, sandbox, f"{program.name} ({settings.preempt.value} mode)",
                                imports)
        record = GuestRecord(program.name, "replay" if self.plan.replaying else "run", outcome,
                             expected, settings=settings, cut_by_timeout=cut,
                             elapsed=time.perf_counter() - started, interleavings=_keys(outcome))
        self._traced(record, program, io, imports)
        self._finish(record, check, "run")
        return outcome

    # -- many executions --------------------------------------------------------

    def explore(self, guest: Guest, args: Sequence[str] = (), *, schedules: int | None = None,
                sandbox: WasiSandbox | None = None, expect: str = "exited", expect_exit: int | None = 0,
                imports: Any = None, check: bool = True, reduction: bool = True) -> Outcome:
        """Run up to `schedules` schedules, stopping at the first that ends otherwise than expected.

        The test fails with that schedule's report (shrunk first, see shrinking/) and replay command;
        with `check=False` its outcome is returned instead (the last one when every schedule ended as
        expected). Expected by default: an
        exit with code 0 (`expect=` and `expect_exit=` as in `run`). A schedule that failed this test
        last time (pytest's cache) runs first. `reduction=False` (the dfs policy only) turns the
        search's partial-order reduction off, as `wasmconc explore --no-reduction` does.
        """
        __tracebackhide__ = True
        if schedules is not None and (isinstance(schedules, bool) or not isinstance(schedules, int)
                                      or schedules < 1):
            raise ConfigError(f"explore(schedules={schedules!r}): expected a whole number >= 1")
        if not isinstance(reduction, bool):
            raise ConfigError(f"explore(reduction={reduction!r}): expected True or False")
        if not reduction and self.settings.policy != "dfs":
            raise ConfigError(f"explore(reduction=False) turns off the dfs policy's sleep sets, but the policy is "
                              f"{self.settings.policy!r}: use wasm_settings(policy=\"dfs\") or --wasm-policy=dfs")
        expected = Expectation.of("explore", expect, expect_exit)
        expect_exit = expected.exit_code
        base = self.settings
        program = self._load(guest, base)
        io = self._io(args, sandbox, None)
        if self.plan.replaying:
            self._check_replay(program, io)
            return self._replay_once(program, io, base, sandbox, expected, imports, check)
        remembered = self._memory_first(guest, program, io, base, sandbox, expected, imports, check, "explore")
        if remembered is not None:
            return remembered
        if base.policy == Portfolio.name and is_directable(base, program):
            # The portfolio explores race-directed, as `wasmconc explore` by default (directed.py):
            # the set-up executions come on top of the schedules, and every schedule's token carries
            # what they found. Not the fixture's default: the set-up costs up to 13 executions under
            # the race check per explore() call, a price a whole suite should opt into.
            try:
                direction = direct(self._runner, program, io, settings=base,
                                   imports=self._imports(imports), expect_exit=expect_exit)
            except WasmconcError as exc:
                raise GuestLoadError(str(exc)) from None
            base = direction.settings
            program = self._load(guest, base)
        total = schedules if schedules is not None else self.plan.schedules
        if base.policy == "dfs":
            return self._search(program, io, base, total, sandbox, expected, imports, check, reduction)
        indices = range(self.shard.index, total, self.shard.count)
        if not indices:
            pytest.skip(f"{self.shard.id}: no schedules left for this shard ({total} schedules "
                        f"over {self.shard.count} shards)")
        distinct: Counter[str] = Counter()
        keys: set[int] = set()
        outcome: Outcome | None = None
        failed_at: int | None = None
        ran = 0
        cut: float | None = None
        settings = base
        started = time.perf_counter()
        for index in indices:
            settings, cut = self._bounded(base)
            if ran and cut is not None and settings.timeout is not None and settings.timeout <= _MIN_BUDGET_S:
                warnings.warn(WasmconcWarning(
                    f"explored only {ran} of {len(indices)} schedules of {program.name}: "
                    f"the test's pytest-timeout of {cut:g} s was near"), stacklevel=2)
                break
            note = f"{program.name} (schedule {index} of {total}, {settings.preempt.value} mode, seed {settings.seed})"
            try:
                self._item.stash[ACTIVITY_KEY] = note
                if sandbox is not None:
                    sandbox.before_run()
                result = self._runner.explore(program, io, schedules=1, start=index, expect_exit=expect_exit,
                                              settings=settings, extensions=self._extensions(),
                                              imports=self._imports(imports),
                                              is_failure=lambda o: not expected.met_by(o),
                                              timeline=timeline_files.live(self._item, settings))
            except WasmconcError as exc:
                raise GuestLoadError(str(exc)) from None
            finally:
                self._item.stash[ACTIVITY_KEY] = ""
            outcome = result.outcome
            if sandbox is not None:
                sandbox.after_run(outcome)
            ran += 1
            distinct.update(result.distinct)
            keys |= result.interleavings
            if result.failed or self._check_failures(outcome):
                failed_at = index
                break
        assert outcome is not None
        shrunk = self._shrink(program, io, outcome, settings, expect_exit, imports) if failed_at is not None else None
        if shrunk is not None:
            outcome = shrunk.outcome
        record = GuestRecord(program.name, "explore", outcome, expected, settings, schedules_run=ran,
                             schedules_planned=len(indices), schedule_index=failed_at, distinct=distinct,
                             cut_by_timeout=cut, elapsed=time.perf_counter() - started, interleavings=keys,
                             shrink=shrunk)
        self._traced(record, program, io, imports)
        self._finish(record, check)
        return outcome

    def _shrink(self, program: Program, io: GuestIO, outcome: Outcome, settings: RunSettings,
                expect_exit: int | None, imports: Any) -> Shrunk | None:
        """The failing schedule shrunk (shrinking/) within --wasm-shrink-time and half the test's
        pytest-timeout budget left; None when shrinking is off."""
        __tracebackhide__ = True
        budget = self.plan.shrink_time
        left = timeouts.remaining(self._item)
        if left is not None:
            budget = min(budget, left[0] / 2)
        if budget <= 0:
            return None
        note = f"{program.name} (shrinking the failing schedule, seed {settings.seed})"
        extensions = self._extensions()
        try:
            self._item.stash[ACTIVITY_KEY] = note
            return shrink_failure(self._runner, program, io, outcome, settings, budget=budget,
                                  expect_exit=expect_exit, extensions=extensions, imports=self._imports(imports))
        except WasmconcError as exc:
            raise GuestLoadError(str(exc)) from None
        finally:
            self._item.stash[ACTIVITY_KEY] = ""

    def _search(self, program: Program, io: GuestIO, base: RunSettings, total: int, sandbox: WasiSandbox | None,
                expected: Expectation, imports: Any, check: bool, reduction: bool = True) -> Outcome:
        """The dfs policy's bounded exhaustive search, whole in the first shard, within pytest-timeout's deadline."""
        __tracebackhide__ = True
        if self.shard.index:
            pytest.skip(f"{self.shard.id}: the dfs policy's search runs whole, in the first shard")
        settings, cut = self._bounded(base)
        left = timeouts.remaining(self._item)
        note = f"{program.name} (dfs search of up to {total} schedules)"
        try:
            self._item.stash[ACTIVITY_KEY] = note
            if sandbox is not None:
                sandbox.before_run()
            result = self._runner.explore(program, io, schedules=total, expect_exit=expected.exit_code,
                                          settings=settings, extensions=self._extensions(),
                                          imports=self._imports(imports), preemption_bound=self.plan.preemption_bound,
                                          time_budget=None if left is None else left[0] * 0.8, reduction=reduction,
                                          is_failure=lambda o: not expected.met_by(o) or bool(self._check_failures(o)))
        except WasmconcError as exc:
            raise GuestLoadError(str(exc)) from None
        finally:
            self._item.stash[ACTIVITY_KEY] = ""
        if sandbox is not None:
            sandbox.after_run(result.outcome)
        record = GuestRecord(program.name, "explore", result.outcome, expected, settings,
                             schedules_run=result.schedules_run, schedules_planned=total,
                             schedule_index=result.first_failure_index, distinct=result.distinct,
                             cut_by_timeout=cut, statement=result.statement, elapsed=result.elapsed,
                             interleavings=set(result.interleavings))
        self._traced(record, program, io, imports)
        self._finish(record, check)
        return result.outcome

    # -- helpers --------------------------------------------------------------------

    def _replay_once(self, program: Program, io: GuestIO, base: RunSettings, sandbox: WasiSandbox | None,
                     expected: Expectation, imports: Any, check: bool, kind: str = "replay",
                     call: str = "explore") -> Outcome:
        """Under --wasm-replay an exploration is the one recorded schedule."""
        __tracebackhide__ = True
        settings, cut = self._bounded(base)
        started = time.perf_counter()
        outcome = self._execute(program, io, settings, sandbox, f"{program.name} ({kind})", imports)
        record = GuestRecord(program.name, kind, outcome, expected, settings, cut_by_timeout=cut,
                             elapsed=time.perf_counter() - started, interleavings=_keys(outcome))
        self._traced(record, program, io, imports)
        self._finish(record, check, call)
        return outcome

    def _memory_first(self, guest: Guest, program: Program, io: GuestIO, base: RunSettings,
                      sandbox: WasiSandbox | None, expected: Expectation, imports: Any, check: bool,
                      call: str) -> Outcome | None:
        """Replay the schedule that failed this test last time, when one fits this guest and its arguments.

        Returns its outcome when that is the call's result: for `run()` always (its one execution is the
        replay), for `explore()` when it still ends otherwise than expected (it fails the test as last
        time) or under check=False (the test judges it, as last time). None: the exploration goes on.
        """
        __tracebackhide__ = True
        if self._memory is None:
            return None
        token = self._memory.take(GuestIdentity.of(program, io.args))
        if token is None:
            return None
        settings = token.apply(base)
        replayed = self._load(guest, settings)  # the token's level and hot sites: instrumented as it was
        outcome = self._replay_once(replayed, io, settings, sandbox, expected, imports, check, "memory", call)
        record = self.records[-1]
        return outcome if call == "run" or not check or record.failed else None

    def _check_replay(self, program: Program, io: GuestIO) -> None:
        """Under --wasm-replay, refuse an execution of another guest or with other arguments than the token's."""
        __tracebackhide__ = True
        token = self.plan.replay
        if token is None:
            return
        try:
            token.check_guest(GuestIdentity.of(program, io.args))
        except WasmconcError as exc:
            raise GuestLoadError(f"--wasm-replay: {exc}") from None

    def _load(self, guest: Guest, settings: RunSettings) -> Program:
        __tracebackhide__ = True
        try:
            program = self._runner.load(guest, settings)
        except WasmconcError as exc:
            raise GuestLoadError(str(exc)) from None
        for check in self._checks:  # a marker that cannot act on this guest is no silent pass
            why = check.cannot_act(program)
            if why is not None:
                pytest.fail(why, pytrace=False)
        return program

    def _io(self, args: Sequence[str], sandbox: WasiSandbox | None, stdin: Any) -> GuestIO:
        __tracebackhide__ = True
        if isinstance(args, (str, bytes)) or not isinstance(args, Iterable):
            raise GuestLoadError(f"args must be a sequence of strings, got {type(args).__name__} {args!r}")
        if sandbox is not None and not isinstance(sandbox, WasiSandbox):
            raise GuestLoadError(f"sandbox must be the wasi_sandbox fixture (a WasiSandbox), "
                                 f"got {type(sandbox).__name__} {sandbox!r}")
        try:
            if sandbox is not None:
                return sandbox.guest_io(tuple(args), stdin)
            return GuestIO(args=tuple(args), stdin=stdin)
        except WasmconcError as exc:
            raise GuestLoadError(str(exc)) from None

    def _bounded(self, settings: RunSettings) -> tuple[RunSettings, float | None]:
        """The settings with the wall-clock backstop this execution gets (and the pytest-timeout behind it)."""
        limit = settings.timeout
        cut: float | None = None
        left = timeouts.remaining(self._item)
        if left is not None:
            budget, deadline = left
            budget = max(budget, _MIN_BUDGET_S)
            if limit is None or budget < limit:
                limit, cut = budget, deadline.timeout
        if limit is not None:
            limit = max(round(limit, 2), _MIN_BUDGET_S)  # it shows in the hang report
        if limit != settings.timeout:
            settings = settings.with_(timeout=limit)
        return settings, cut

    def _execute(self, program: Program, io: GuestIO, settings: RunSettings, sandbox: WasiSandbox | None,
                 note: str, imports: Any = None) -> Outcome:
        __tracebackhide__ = True
        try:
            self._item.stash[ACTIVITY_KEY] = note
            if sandbox is not None:
                sandbox.before_run()
            outcome = self._runner.run(program, io, settings=settings, extensions=self._extensions(),
                                       imports=self._imports(imports),
                                       timeline=timeline_files.live(self._item, settings))
        except WasmconcError as exc:
            raise GuestLoadError(str(exc)) from None
        finally:
            self._item.stash[ACTIVITY_KEY] = ""
        if sandbox is not None:
            sandbox.after_run(outcome)
        return outcome

    def _traced(self, record: GuestRecord, program: Program, io: GuestIO, imports: Any) -> None:
        """Under --wasm-trace-dir: how to get this record's timeline when its report wants it."""
        if timeline_files.tracing(self._item):
            record.timeline = timeline_files.source(self._runner, program, io, record.settings, record.outcome,
                                                    self._extensions(), self._imports(imports))

    def _imports(self, imports: Any) -> Any:
        __tracebackhide__ = True
        return hostimports.combine(self._fixture_imports, imports)

    def _extensions(self) -> list[Any]:
        return [ext for check in self._checks for ext in check.extensions()]

    def _check_failures(self, outcome: Outcome) -> list[WasmGuestFailure]:
        __tracebackhide__ = True  # a check's own bug shows at the test's line
        failures = []
        for check in self._checks:
            failure = check.failure(outcome)
            if failure is not None:
                failures.append(failure)
        return failures

    def _finish(self, record: GuestRecord, check: bool = True, call: str = "explore") -> None:
        """Keep the record for the test's report; raise what a marker's check found, then (unless `check`
        is off) an outcome that is not the expected one."""
        __tracebackhide__ = True
        failures = self._check_failures(record.outcome)
        record.check_failures = [str(f) for f in failures]
        add_record(self._item, record)
        self.records.append(record)
        if failures:
            record.raised = True
            first = failures[0]
            raise type(first)(render_record(self._item, record))
        hostimports.raise_host_exception(self._item, record)  # a host function's exception, as itself
        if check and not record.expected.met_by(record.outcome):
            record.unexpected = (f"wasm_scheduler.{call}() expected {record.expected.describe()}, got "
                                 f"{record.outcome.summary()} (expect=/expect_exit= state another ending; "
                                 "check=False returns the outcome instead)")
            record.raised = True
            raise GuestOutcomeError(render_record(self._item, record))

    def __repr__(self) -> str:
        s = self.plan.settings
        return f"<WasmScheduler {s.preempt.value} policy={s.policy} seed={s.seed}>"


def _keys(outcome: Outcome) -> set[int]:
    key = schedule_key(outcome)
    return set() if key is None else {key}
