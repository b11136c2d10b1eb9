"""The plugin's options: the shared option table (`pytest_wasmconc/options.py`) as pytest options and ini keys.

Each row is a `--wasm-*` flag, an ini key `wasm_*` and an environment variable
`PYTEST_WASM_*`, looked up command line > environment > ini file > default
(markers come on top, per test: see `precedence`). Every bad value is a
`pytest.UsageError` that says which option, where the value came from and
what the valid values are, like pytest-timeout's "Invalid ... from config file".
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from ..options import (
    DEFAULT_SCHEDULES,
    OPTIONS,
    PYTEST,
    USER_POLICIES,
    Option,
    OptionError,
    Sourced,
    chosen_seed,
    parse_seed,
    session_value,
)

if TYPE_CHECKING:
    from ..runtime import Preempt, ReplayToken

__all__ = [
    "DEFAULT_SCHEDULES",
    "OPTIONS",
    "USER_POLICIES",
    "Option",
    "PluginOptions",
    "Sourced",
    "add_options",
    "channels",
    "read_options",
]


def channels(opt: Option) -> str:
    """The option's other spellings, as its help ends: "[ini: wasm_level, env: PYTEST_WASM_LEVEL; per test:
    wasm_settings(level=...)]"."""
    per_test = f"; per test: wasm_settings({opt.name}=...)" if opt.in_code else ""
    return f"[ini: {opt.ini}, env: {opt.env}{per_test}]"


def add_options(parser: pytest.Parser) -> None:
    """Register every row as a command-line flag and an ini key (both read later, with their sources)."""
    group = parser.getgroup("wasmconc", "WebAssembly guest concurrency (pytest-wasmconc)")
    for opt in OPTIONS.values():
        # Plain strings here: validation happens in `read_options`, which can
        # name the source of a bad value uniformly for all three sources.
        group.addoption(opt.pytest_flag, dest=opt.dest, metavar=opt.metavar, default=None,
                        help=f"{opt.help(PYTEST)} {channels(opt)}".replace("%", "%%"))
        parser.addini(opt.ini, opt.help(PYTEST), type="string", default="")
    group.addoption("--wasm-statistics", dest="wasm_statistics", action="store_true", default=False,
                    help="print each wasm test's statistics after the run: schedules, distinct outcomes, distinct "
                         "interleavings, schedules per second, time (as --hypothesis-show-statistics)")


@dataclass(frozen=True)
class PluginOptions:
    """The session's resolved options, each with its source: one field per row of the table."""

    preempt: Sourced[Preempt]
    policy: Sourced[str]
    seed: Sourced[int]
    slice: Sourced[int]
    depth: Sourced[int]
    level: Sourced[str]
    max_steps: Sourced[int | None]  # None: turned off on purpose
    timeout: Sourced[float | None]  # None: turned off on purpose
    schedules: Sourced[int]
    preemption_bound: Sourced[int | None]  # None: raised from 0 while schedules are left
    shrink_time: Sourced[float]  # 0: no shrinking
    replay: Sourced[ReplayToken | None]
    trace_dir: Sourced[Path | None]
    trace_schedules: Sourced[str]  # "failing" or "all": which tests' executions get a timeline
    crash_log: Sourced[Path | Literal[False] | None]  # None: under the pytest cache (crashlog.py)
    failure_memory: Sourced[str]  # on, off, clear (memory.py)

    @property
    def replay_text(self) -> str | None:
        """The replay token as it was given (printed back in the header)."""
        return self.replay.text

    def value(self, opt: Option) -> Sourced[Any]:
        value: Sourced[Any] = getattr(self, opt.name)
        return value


# --wasm-seed=last: pytest's own value of the seed (the CLI keeps no seeds), resolved from the cache.
_LAST = "last"


def _parse_seed_or_last(text: str) -> int | str | None:
    return _LAST if text.strip() == _LAST else parse_seed(text)


_PYTEST_ROWS = {**OPTIONS, "seed": replace(OPTIONS["seed"], parse=_parse_seed_or_last,
                                           valid="a whole number, random, or last")}


def _seed(value: Sourced[Any], last_seed: Callable[[], int | None]) -> Sourced[int]:
    """The session's seed: given, the last session's (`last`), or a random one."""
    if value.value != _LAST:
        return chosen_seed(value)
    stored = last_seed()
    if stored is None:
        return chosen_seed(Sourced(None, f"a random choice: --wasm-seed=last from {value.source}, and no seed is "
                                        "stored in the pytest cache yet"))
    return Sourced(stored, f"the last session's seed in the pytest cache (last, from {value.source})", _LAST)


def read_options(config: pytest.Config, *, env: dict[str, str] | None = None,
                 shared: tuple[int, str] | None = None,
                 last_seed: Callable[[], int | None] = lambda: None) -> PluginOptions:
    """Resolve every option (CLI > env > ini > default); raise pytest.UsageError on a bad value.

    `shared` is the (seed, source) an xdist controller resolved for its
    workers: every worker then uses the same seed, random ones included.
    `last_seed` reads the seed --wasm-seed=last stands for (memory.py: the pytest cache).
    """
    env = dict(os.environ) if env is None else env
    where = config.inipath.name if config.inipath else "the config file"
    values: dict[str, Sourced[Any]] = {}
    for opt in _PYTEST_ROWS.values():
        ini = config.getini(opt.ini)
        try:
            values[opt.name] = session_value(opt, PYTEST, cli=config.getoption(opt.dest, default=None),
                                             env=env.get(opt.env), ini=ini if isinstance(ini, str) else None,
                                             ini_file=where)
        except OptionError as exc:
            raise pytest.UsageError(str(exc)) from None
    values["seed"] = Sourced(*shared) if shared is not None else _seed(values["seed"], last_seed)
    return PluginOptions(**values)
