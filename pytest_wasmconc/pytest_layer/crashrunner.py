"""The crash log's runner: `LoggingRunner` writes each guest execution of a test into the crash log.

Apart from `crashlog` (set up in every session) because it subclasses the
runtime's `Runner`: only a test that runs a guest imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from ..runtime import Outcome, Preempt, Runner, RunSettings
from ..runtime.runner import Exploration, GuestIO
from ..runtime.token import GuestIdentity, ReplayToken, encode_token
from ..schedulers import replays_from_decisions
from .crashlog import CRASH_LOG_KEY, CrashLog
from .reporting import nodeid_argument, replay_command

__all__ = ["LoggingRunner", "describe", "logged_runner"]


# -- what an execution is ---------------------------------------------------------------------


def describe(item: pytest.Item, program: Any, io: GuestIO, settings: RunSettings, index: int | None,
             base_seed: int | None) -> list[str]:
    """The lines that say which execution this is and how to run it again."""
    guest = program.name
    mode = settings.preempt.value
    if settings.preempt is Preempt.OS:
        how = "os mode"
    else:
        how = f"{mode} mode, policy {settings.policy}, seed {settings.seed}"
    if index is not None:
        derived = f"; the exploration's seed {base_seed}" if base_seed is not None and base_seed != settings.seed \
            else ""
        what = f"explore schedule {index} ({how}{derived})"
    else:
        what = f"run ({how})"
    lines = [f"guest: {guest}", f"execution: {what}"]
    if settings.preempt is Preempt.FUEL:
        # What stamp_schedule() will put on the outcome: seeded policies replay from their settings,
        # the "replay" policy from the decision list its settings carry.
        keep = replays_from_decisions(settings.policy)
        token = encode_token(ReplayToken.for_run(settings, settings.decisions if keep else (),
                                                 settings.slices if settings.policy == "replay" else (),
                                                 guest=GuestIdentity.of(program, io.args)))
        lines.append(f"replay: {replay_command(item, token)}")
    else:
        seed = base_seed if base_seed is not None else settings.seed
        lines.append(f"replay: not available ({mode} mode is not deterministic); for a replayable schedule run "
                     f"pytest {nodeid_argument(item)} --wasm-preempt=fuel --wasm-policy={settings.policy} "
                     f"--wasm-seed={seed}")
    return lines


@dataclass
class _Exploring:
    start: int
    step: int
    base_seed: int
    count: int = 0


class LoggingRunner(Runner):
    """The session's runner for one test item, writing each execution into the crash log."""

    def __init__(self, base: Runner, log: CrashLog, item: pytest.Item) -> None:
        super().__init__(base.settings, cache=base.cache, worlds=base.worlds)  # the same WASI worlds
        self._log = log
        self._item = item
        self._exploring: _Exploring | None = None
        self._depth = 0

    def explore(self, guest: Any, io: GuestIO | None = None, *, start: int = 0, step: int = 1,
                settings: RunSettings | None = None, **kwargs: Any) -> Exploration:
        base = settings or self.settings
        self._exploring = _Exploring(start, step, base.seed)
        try:
            return super().explore(guest, io, start=start, step=step, settings=settings, **kwargs)
        finally:
            self._exploring = None

    def execute(self, program: Any, io: GuestIO, settings: RunSettings, host_functions: Sequence[Any] = (), *,
                extensions: Sequence[Any] = (), imports: Any = None, **kwargs: Any) -> Outcome:
        if self._depth or kwargs.get("policy") is not None:
            # A check's rerun of the same schedule (the entry already describes it), or a shrinker's
            # candidate schedule (no token names it; the failure it shrinks is in the log).
            return super().execute(program, io, settings, host_functions, extensions=extensions, imports=imports,
                                   **kwargs)
        ctx = self._exploring
        index: int | None = None
        if ctx is not None:
            index = ctx.start + ctx.count * ctx.step
            ctx.count += 1
        nodeid = self._item.nodeid
        self._log.execution_started(nodeid, describe(self._item, program, io, settings, index,
                                                     ctx.base_seed if ctx is not None else None))
        self._depth += 1
        try:
            outcome = super().execute(program, io, settings, host_functions, extensions=extensions, imports=imports,
                                      **kwargs)
        except BaseException as exc:
            self._log.execution_ended(nodeid, f"raised {type(exc).__name__}")
            raise
        finally:
            self._depth -= 1
        self._log.execution_ended(nodeid, outcome.summary())
        return outcome


def logged_runner(item: pytest.Item, runner: Runner) -> Runner:
    """The runner a test's wasm_scheduler uses: `runner` itself when there is no crash log."""
    log = item.config.stash.get(CRASH_LOG_KEY, None)
    return runner if log is None else LoggingRunner(runner, log, item)
