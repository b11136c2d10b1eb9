"""Which value a test runs with: marker > CLI > env > ini > default.

The exception (Shuttle #174): a seed or a replay token given explicitly on
the command line beats values written in code, so that the command a
failure prints reproduces it even in a test that pins its own seed. A
replay token, wherever it comes from, fixes the whole schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from ..runtime import ReplayToken, RunSettings
from .markers import NoHang, SettingsMarker
from .options import PluginOptions, Sourced

__all__ = ["TestPlan", "resolve"]

T = TypeVar("T")


@dataclass(frozen=True)
class TestPlan:
    """Everything one test's guest executions run with."""

    settings: RunSettings
    schedules: int
    replay: ReplayToken | None = None
    replay_text: str | None = None
    no_hang: NoHang | None = None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def replaying(self) -> bool:
        return self.replay is not None


def resolve(options: PluginOptions, marker: SettingsMarker, no_hang: NoHang | None = None) -> TestPlan:
    sources: dict[str, str] = {}

    def pick(name: str, in_code: T | None, sourced: Sourced[T]) -> T:
        if in_code is not None:
            sources[name] = "a wasm_settings marker"
            return in_code
        sources[name] = sourced.source
        return sourced.value

    preempt = pick("preempt", marker.preempt, options.preempt)
    policy = pick("policy", marker.policy, options.policy)
    if options.seed.from_cli:
        sources["seed"] = options.seed.source
        seed = options.seed.value
    else:
        seed = pick("seed", marker.seed, options.seed)
    slice_ = pick("slice", marker.slice, options.slice)
    schedules = pick("schedules", marker.schedules, options.schedules)

    # The bounds: a wasm_no_hang marker's own values, else the session's (whose
    # timeout, the wall-clock backstop, is on unless turned off explicitly).
    timeout, sources["timeout"] = options.timeout.value, options.timeout.source
    max_steps, sources["max_steps"] = options.max_steps.value, options.max_steps.source
    if no_hang is not None and no_hang.timeout is not None:
        timeout, sources["timeout"] = no_hang.timeout, "a wasm_no_hang marker"
    if no_hang is not None and no_hang.max_steps is not None:
        max_steps, sources["max_steps"] = no_hang.max_steps, "a wasm_no_hang marker"
    settings = RunSettings(preempt=preempt, policy=policy, seed=seed, slice=slice_, timeout=timeout,
                           max_steps=max_steps)
    token = options.replay.value
    if token is not None:
        settings = token.apply(settings)
        for name in ("preempt", "policy", "seed", "slice"):
            sources[name] = f"the replay token ({options.replay.source})"
    return TestPlan(settings=settings, schedules=schedules, replay=token, replay_text=options.replay_text,
                    no_hang=no_hang, sources=sources)
