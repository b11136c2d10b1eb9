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

    settings = RunSettings(preempt=preempt, policy=policy, seed=seed, slice=slice_)
    if no_hang is not None:
        if no_hang.max_steps is not None:
            settings = settings.with_(max_steps=no_hang.max_steps)
        if no_hang.timeout is not None:
            settings = settings.with_(timeout=no_hang.timeout)
    token = options.replay.value
    if token is not None:
        settings = token.apply(settings)
        for name in ("preempt", "policy", "seed", "slice"):
            sources[name] = f"the replay token ({options.replay.source})"
    return TestPlan(settings=settings, schedules=schedules, replay=token, replay_text=options.replay_text,
                    no_hang=no_hang, sources=sources)
