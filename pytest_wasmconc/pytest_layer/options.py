"""The plugin's options: one table, each a CLI flag + ini key + env var + one help text.

Values are looked up command line > environment > ini file > default (markers
come on top, per test: see `precedence`). Every bad value is a
`pytest.UsageError` that says which option, where the value came from and
what the valid values are, like pytest-timeout's "Invalid ... from config file".
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import pytest

from ..runtime import ConfigError, Preempt, ReplayError, ReplayToken, decode_token
from ..runtime.settings import DEFAULT_MAX_STEPS, DEFAULT_SLICE, DEFAULT_TIMEOUT
from ..runtime.token import MAX_SLICE
from ..schedulers import DEFAULT_POLICY, POLICIES

__all__ = [
    "DEFAULT_SCHEDULES",
    "OPTIONS",
    "USER_POLICIES",
    "Option",
    "PluginOptions",
    "Sourced",
    "add_options",
    "read_options",
]

T = TypeVar("T")

# "replay" only replays a recorded decision list: it is reached through --wasm-replay.
USER_POLICIES = tuple(sorted(name for name in POLICIES if name != "replay"))
DEFAULT_SCHEDULES = 100
SEED_BITS = 32  # default seeds are short enough to copy by hand

PREEMPT_HELP = (
    "how guest threads are interleaved: fuel (deterministic, replayable; default), "
    "epoch (time slices on one OS thread) or os (one OS thread per guest thread)"
)
POLICY_HELP = f"scheduling policy of fuel/epoch runs: {', '.join(USER_POLICIES)} (default {DEFAULT_POLICY})"
SEED_HELP = "seed of the scheduling policy, shared by all xdist workers (default: random, shown in the header)"
SLICE_HELP = ("mean quantum in fuel mode, in wasm instructions counted at loop headers and calls "
              f"(default {DEFAULT_SLICE})")
SCHEDULES_HELP = f"schedules each wasm_scheduler.explore() call runs (default {DEFAULT_SCHEDULES})"
TIMEOUT_HELP = (
    "wall-clock backstop of each guest execution, in every mode: a guest still running then is ended and "
    f"reported as a hang (default {DEFAULT_TIMEOUT:g}; less when pytest-timeout's deadline is nearer; "
    "wasm_no_hang(timeout=...) overrides it per test); none (or 0): no backstop"
)
MAX_STEPS_HELP = (
    "step budget of each guest execution: scheduling steps without progress before it counts as a hang "
    f"(default {DEFAULT_MAX_STEPS}; wasm_no_hang(max_steps=...) overrides it per test); none: no budget"
)
REPLAY_HELP = "replay token printed by a failure: every guest execution replays that exact schedule"
TRACE_DIR_HELP = "write each failing test's guest report, output and WASI call trace into this directory"
CRASH_LOG_HELP = (
    "directory of the crash log: each test process (xdist worker) notes the guest execution it runs and "
    "how to replay it, for when the process dies; off: no crash log (default: .pytest_cache/d/wasmconc)"
)


class Sourced(Generic[T]):
    """A value and where it came from ("the command line", "the PYTEST_WASM_SEED environment variable", ...)."""

    __slots__ = ("source", "value")

    def __init__(self, value: T, source: str) -> None:
        self.value = value
        self.source = source

    @property
    def from_cli(self) -> bool:
        return self.source == "the command line"

    def __repr__(self) -> str:
        return f"Sourced({self.value!r}, {self.source!r})"


@dataclass(frozen=True)
class Option:
    """One option: `--wasm-<name>`, ini `wasm_<name>`, env `PYTEST_WASM_<NAME>`."""

    name: str
    help: str
    metavar: str
    parse: Callable[[str], Any]  # raises ValueError with the text after "invalid value ...: "
    default: Any = None

    @property
    def flag(self) -> str:
        return f"--wasm-{self.name}"

    @property
    def dest(self) -> str:
        return f"wasm_{self.name.replace('-', '_')}"

    @property
    def ini(self) -> str:
        return self.dest

    @property
    def env(self) -> str:
        return f"PYTEST_WASM_{self.name.replace('-', '_').upper()}"


def _choice(valid: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip()
        if value not in valid:
            raise ValueError(f"valid: {', '.join(valid)}")
        return value

    return parse


def parse_preempt(text: str) -> Preempt:
    try:
        return Preempt.parse(text.strip())
    except ConfigError:
        raise ValueError(f"valid: {', '.join(p.value for p in Preempt)}") from None


def parse_seed(text: str) -> int | None:
    """A whole number, or "random" (None: pick one for this session)."""
    value = text.strip()
    if value == "random":
        return None
    try:
        return int(value, 0)
    except ValueError:
        raise ValueError("valid: a whole number, or random") from None


def parse_positive(text: str) -> int:
    try:
        value = int(text.strip(), 0)
    except ValueError:
        raise ValueError("valid: a whole number >= 1") from None
    if value < 1:
        raise ValueError("valid: a whole number >= 1")
    return value


def parse_policy(text: str) -> str:
    value = text.strip()
    if value == "replay":
        # The replay policy answers from a recorded schedule, which only a token carries.
        raise ValueError("the replay policy needs a recorded schedule: pass the token a failure printed as "
                         "--wasm-replay=TOKEN")
    return _choice(USER_POLICIES)(value)


def parse_slice(text: str) -> int:
    value = parse_positive(text)
    if value > MAX_SLICE:
        raise ValueError(f"valid: a whole number from 1 to {MAX_SLICE}")
    return value


def parse_timeout(text: str) -> float | None:
    """Positive seconds, or none / 0 (None: the backstop turned off on purpose)."""
    value = text.strip().lower()
    if value == "none":
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("valid: positive seconds, or none (or 0) for no backstop")
    return seconds if seconds > 0 else None


def parse_max_steps(text: str) -> int | None:
    if text.strip().lower() == "none":
        return None
    try:
        return parse_positive(text)
    except ValueError:
        raise ValueError("valid: a whole number >= 1, or none for no step budget") from None


def parse_token(text: str) -> ReplayToken:
    try:
        token = decode_token(text)
        token.check_compatible()
    except ReplayError as exc:
        raise ValueError(f"{exc}; valid: a token printed by a failing run of this installation") from None
    return token


def parse_dir(text: str) -> Path:
    value = text.strip()
    if not value:
        raise ValueError("valid: a directory path")
    path = Path(value).expanduser()
    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{parent} is a file; valid: a directory path")
            break
    return path


def parse_crash_log(text: str) -> Path | Literal[False]:
    """A directory, or "off" (False; the default None is the pytest cache directory)."""
    if text.strip() == "off":
        return False
    try:
        return parse_dir(text)
    except ValueError:
        raise ValueError("valid: a directory path, or off") from None


OPTIONS: dict[str, Option] = {
    opt.name: opt
    for opt in (
        Option("preempt", PREEMPT_HELP, "{fuel,epoch,os}", parse_preempt, Preempt.FUEL),
        Option("policy", POLICY_HELP, "{" + ",".join(USER_POLICIES) + "}", parse_policy, DEFAULT_POLICY),
        Option("seed", SEED_HELP, "N", parse_seed, None),
        Option("slice", SLICE_HELP, "FUEL", parse_slice, DEFAULT_SLICE),
        Option("schedules", SCHEDULES_HELP, "N", parse_positive, DEFAULT_SCHEDULES),
        Option("timeout", TIMEOUT_HELP, "SECONDS", parse_timeout, DEFAULT_TIMEOUT),
        Option("max-steps", MAX_STEPS_HELP, "N", parse_max_steps, DEFAULT_MAX_STEPS),
        Option("replay", REPLAY_HELP, "TOKEN", parse_token, None),
        Option("trace-dir", TRACE_DIR_HELP, "DIR", parse_dir, None),
        Option("crash-log", CRASH_LOG_HELP, "DIR", parse_crash_log, None),
    )
}


def add_options(parser: pytest.Parser) -> None:
    """Register every option as a CLI flag and an ini key (both parsed later, with sources)."""
    group = parser.getgroup("wasmconc", "WebAssembly guest concurrency (pytest-wasmconc)")
    for opt in OPTIONS.values():
        # Plain strings here: validation happens in `read_options`, which can
        # name the source of a bad value uniformly for all three sources.
        group.addoption(opt.flag, dest=opt.dest, metavar=opt.metavar, default=None,
                        help=f"{opt.help} [ini: {opt.ini}, env: {opt.env}]")
        parser.addini(opt.ini, opt.help, type="string", default="")


@dataclass(frozen=True)
class PluginOptions:
    """The session's resolved options, each with its source."""

    preempt: Sourced[Preempt]
    policy: Sourced[str]
    seed: Sourced[int]
    slice: Sourced[int]
    schedules: Sourced[int]
    timeout: Sourced[float | None]  # None: turned off on purpose
    max_steps: Sourced[int | None]
    replay: Sourced[ReplayToken | None]
    replay_text: str | None
    trace_dir: Sourced[Path | None]
    crash_log: Sourced[Path | Literal[False] | None]  # None: under the pytest cache (crashlog.py)


def _lookup(config: pytest.Config, opt: Option, env: dict[str, str]) -> tuple[str | None, str]:
    cli = config.getoption(opt.dest, default=None)
    if cli is not None:
        return str(cli), "the command line"
    if env.get(opt.env, "").strip():
        return env[opt.env], f"the {opt.env} environment variable"
    ini = config.getini(opt.ini)
    if isinstance(ini, str) and ini.strip():
        where = config.inipath.name if config.inipath else "the config file"
        return ini, f"the config file ({opt.ini} in {where})"
    return None, "the default"


def _read(config: pytest.Config, opt: Option, env: dict[str, str]) -> tuple[Sourced[Any], str | None]:
    text, source = _lookup(config, opt, env)
    if text is None:
        return Sourced(opt.default, source), None
    try:
        return Sourced(opt.parse(text), source), text.strip()
    except ValueError as exc:
        raise pytest.UsageError(f"{opt.flag}: invalid value {text.strip()!r} from {source} ({exc})") from None


def read_options(config: pytest.Config, *, env: dict[str, str] | None = None,
                 shared: tuple[int, str] | None = None) -> PluginOptions:
    """Resolve every option (CLI > env > ini > default); raise pytest.UsageError on a bad value.

    `shared` is the (seed, source) an xdist controller resolved for its
    workers: every worker then uses the same seed, random ones included.
    """
    env = dict(os.environ) if env is None else env
    got = {name: _read(config, opt, env) for name, opt in OPTIONS.items()}
    seed: Sourced[int | None] = got["seed"][0]
    if shared is not None:
        seed = Sourced(shared[0], shared[1])
    elif seed.value is None:
        seed = Sourced(random.SystemRandom().randrange(1 << SEED_BITS),
                       "a random choice" if seed.source == "the default" else seed.source)
    policy = got["policy"][0]
    return PluginOptions(
        preempt=got["preempt"][0],
        policy=policy,
        seed=seed,  # type: ignore[arg-type]
        slice=got["slice"][0],
        schedules=got["schedules"][0],
        timeout=got["timeout"][0],
        max_steps=got["max-steps"][0],
        replay=got["replay"][0],
        replay_text=got["replay"][1],
        trace_dir=got["trace-dir"][0],
        crash_log=got["crash-log"][0],
    )
