"""The plugin's per-session state, kept in `config.stash`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..runtime import Runner
    from .options import PluginOptions

__all__ = ["STATE_KEY", "SessionState", "state_of"]


@dataclass
class SessionState:
    options: PluginOptions
    worker_count: int = 1  # xdist workers (1 without xdist)
    crash_dir: Path | None = None  # where a worker leaves its report before a hard exit
    _runner: Runner | None = field(default=None, repr=False)

    @property
    def runner(self) -> Runner:
        """The session's runner, made by the first test that runs a guest: a session without
        one never imports the runtime. It shares one compile cache (on disk, safe across xdist workers)."""
        if self._runner is None:
            from ..runtime import CompileCache, Runner

            self._runner = Runner(cache=CompileCache())
        return self._runner


STATE_KEY = pytest.StashKey[SessionState]()


def state_of(config: pytest.Config) -> SessionState:
    return config.stash[STATE_KEY]


def new_state(options: PluginOptions, *, worker_count: int = 1, crash_dir: Path | None = None) -> SessionState:
    return SessionState(options=options, worker_count=worker_count, crash_dir=crash_dir)
