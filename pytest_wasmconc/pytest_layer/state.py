"""The plugin's per-session state, kept in `config.stash`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ..runtime import CompileCache, Runner
from .options import PluginOptions

__all__ = ["STATE_KEY", "SessionState", "state_of"]


@dataclass
class SessionState:
    options: PluginOptions
    runner: Runner  # shares one compile cache (on disk, safe across xdist workers)
    worker_count: int = 1  # xdist workers (1 without xdist)
    crash_dir: Path | None = None  # where a worker leaves its report before a hard exit


STATE_KEY = pytest.StashKey[SessionState]()


def state_of(config: pytest.Config) -> SessionState:
    return config.stash[STATE_KEY]


def new_state(options: PluginOptions, *, worker_count: int = 1, crash_dir: Path | None = None) -> SessionState:
    return SessionState(options=options, runner=Runner(cache=CompileCache()), worker_count=worker_count,
                        crash_dir=crash_dir)
