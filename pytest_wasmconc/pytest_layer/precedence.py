"""Which value a test runs with: marker > CLI > env > ini > default, per row of the option table.

The order itself is the table's (`pytest_wasmconc.options.in_effect`), with its
exception (Shuttle #174): a seed given explicitly on the command line beats a
seed written in code, so that the command a failure prints reproduces it even in
a test that pins its own seed. Here the pytest-only parts: a `wasm_no_hang`
marker's bounds beat everything else for timeout and max_steps, and a replay
token, wherever it comes from, fixes the whole schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..options import SETTING_FIELDS, Sourced, in_effect
from ..runtime import ReplayToken, RunSettings
from .markers import SETTINGS_ARGUMENTS, NoHang, SettingsMarker
from .options import PluginOptions

__all__ = ["TestPlan", "resolve"]

_NO_HANG = "a wasm_no_hang marker"


@dataclass(frozen=True)
class TestPlan:
    """Everything one test's guest executions run with."""

    settings: RunSettings
    schedules: int
    preemption_bound: int | None = None  # the dfs policy's (None: raised from 0 while schedules are left)
    shrink_time: float = 0.0  # seconds an explore() may spend shrinking its failure (0: none)
    replay: ReplayToken | None = None
    replay_text: str | None = None
    no_hang: NoHang | None = None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def replaying(self) -> bool:
        return self.replay is not None


def resolve(options: PluginOptions, marker: SettingsMarker, no_hang: NoHang | None = None) -> TestPlan:
    chosen: dict[str, Sourced[Any]] = {
        opt.name: in_effect(opt, marker.given, options.value(opt)) for opt in SETTINGS_ARGUMENTS
    }
    # The bounds of a wasm_no_hang marker are its own: they beat wasm_settings' and the session's.
    for name in ("timeout", "max_steps"):
        bound = getattr(no_hang, name, None)
        if bound is not None:
            chosen[name] = Sourced(bound, _NO_HANG)
    sources = {name: value.source for name, value in chosen.items()}
    settings = RunSettings(**{name: value.value for name, value in chosen.items() if name in SETTING_FIELDS})
    token = options.replay.value
    if token is not None:
        settings = token.apply(settings)
        for name in ("preempt", "policy", "seed", "slice", "depth", "level"):
            sources[name] = f"the replay token ({options.replay.source})"
    return TestPlan(settings=settings, schedules=chosen["schedules"].value,
                    preemption_bound=chosen["preemption_bound"].value, shrink_time=chosen["shrink_time"].value,
                    replay=token,
                    replay_text=options.replay_text, no_hang=no_hang, sources=sources)
