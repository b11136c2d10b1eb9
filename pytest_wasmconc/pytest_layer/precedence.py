"""Which value a test runs with: marker > CLI > env > ini > default.

The exception (Shuttle #174): a seed or a replay token given explicitly on
the command line beats values written in code, so that the command a
failure prints reproduces it even in a test that pins its own seed. A
replay token, wherever it comes from, fixes the whole schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..runtime import Preempt, ReplayToken, RunSettings
from .markers import NoHang, SettingsMarker
from .options import PluginOptions

__all__ = ["TestPlan", "resolve"]


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

    def pick(name: str, in_code: object, sourced: object) -> object:
        if in_code is not None:
            sources[name] = "a wasm_settings marker"
            return in_code
        sources[name] = sourced.source  # type: ignore[attr-defined]
        return sourced.value  # type: ignore[attr-defined]

    preempt = pick("preempt", marker.preempt, options.preempt)
    policy = pick("policy", marker.policy, options.policy)
    if options.seed.from_cli:
        sources["seed"] = options.seed.source
        seed = options.seed.value
    else:
        seed = pick("seed", marker.seed, options.seed)
    slice_ = pick("slice", marker.slice, options.slice)
    schedules = pick("schedules", marker.schedules, options.schedules)

    settings = RunSettings(preempt=Preempt(preempt), policy=str(policy), seed=int(seed),  # type: ignore[call-overload]
                           slice=int(slice_))  # type: ignore[call-overload]
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
    return TestPlan(settings=settings, schedules=int(schedules), replay=token,  # type: ignore[call-overload]
                    replay_text=options.replay_text, no_hang=no_hang, sources=sources)
