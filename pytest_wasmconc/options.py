"""The one option table: every scheduling and run option of both front ends, and which value wins.

Each row is one knob: its name (a `RunSettings` field or a plugin setting, and the
`wasm_settings` marker argument), how text becomes its value, its default, its valid
values, its help, and its spelling in each front end: `wasmconc run --max-steps N`,
pytest `--wasm-max-steps=N`, ini `wasm_max_steps`, env `PYTEST_WASM_MAX_STEPS`,
`@pytest.mark.wasm_settings(max_steps=N)`. `cli.py` builds its argparse parsers from
it, `pytest_layer/options.py` its pytest options and ini keys, `pytest_layer/markers.py`
the marker's arguments: a new option is one row here. (`wasmconc`'s guest I/O and
check switches, `--dir`, `--env`, `--check`, ..., stay in `cli.py`: pytest sets those
per test through fixtures and markers, not through options.)

Which value wins: a marker > the command line > the environment > the ini file > the
default (`session_value`, `in_effect`), with one exception: a seed given on the command
line beats a seed written in code, so that the command a failure prints reproduces it.

Imports neither pytest nor wasmtime: the plugin reads this table in every pytest session.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from .runtime.errors import ConfigError
from .runtime.settings import (
    DEFAULT_DEPTH,
    DEFAULT_LEVEL,
    DEFAULT_MAX_STEPS,
    DEFAULT_SHRINK_TIME,
    DEFAULT_SLICE,
    DEFAULT_TIMEOUT,
    LEVELS,
    MAX_SLICE,
    Preempt,
    RunSettings,
)
from .schedulers import DEFAULT_POLICY, POLICIES

__all__ = [
    "COMMAND_LINE",
    "DEFAULT_SCHEDULES",
    "MARKER",
    "OPTIONS",
    "PYTEST",
    "SETTING_FIELDS",
    "USER_POLICIES",
    "WASMCONC",
    "FrontEnd",
    "InvalidValue",
    "Option",
    "OptionError",
    "Sourced",
    "chosen_seed",
    "in_effect",
    "markdown_table",
    "options_of",
    "session_value",
]

T = TypeVar("T")

# "replay" answers from a recorded schedule, which only a replay token carries.
USER_POLICIES = tuple(sorted(name for name in POLICIES if name != "replay"))
DEFAULT_SCHEDULES = 100
# The largest PCT depth a replay token takes back (runtime/token.py checks it on decoding).
MAX_DEPTH = 1 << 31
SEED_BITS = 32  # random seeds are short enough to copy by hand
# The names of RunSettings' fields: the rows that go into one execution's settings.
SETTING_FIELDS = frozenset(f.name for f in fields(RunSettings))

# Where a value came from, as error messages and reports name it.
COMMAND_LINE = "the command line"
DEFAULT = "the default"
RANDOM_CHOICE = "a random choice"
MARKER = "a wasm_settings marker"


class OptionError(ConfigError):
    """A bad option value, in one line: the option, where the value came from, the valid values."""


class InvalidValue(ValueError):
    """Raised by a row's parser: the value is not one of the valid ones (`detail`: what is wrong with it)."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "")
        self.detail = detail


class NeedsToken(InvalidValue):
    """The replay policy given as a policy: it needs a recorded schedule, which only a replay token carries."""


@dataclass(frozen=True)
class FrontEnd:
    """How one front end spells an option, and how it replays a failure's schedule."""

    prefix: str
    replay_with: str

    def flag(self, opt: Option) -> str:
        return self.prefix + opt.name.replace("_", "-")


WASMCONC = FrontEnd("--", "use `wasmconc replay GUEST TOKEN` with the token a failure printed")
PYTEST = FrontEnd("--wasm-", "pass the token a failure printed as --wasm-replay=TOKEN")


class Sourced(Generic[T]):
    """A value, where it came from ("the command line", "the PYTEST_WASM_SEED environment variable", ...)
    and the text it was read from (None: not read from text)."""

    __slots__ = ("source", "text", "value")

    def __init__(self, value: T, source: str, text: str | None = None) -> None:
        self.value = value
        self.source = source
        self.text = text

    @property
    def from_cli(self) -> bool:
        return self.source == COMMAND_LINE

    def __repr__(self) -> str:
        return f"Sourced({self.value!r}, {self.source!r})"


# -- parsers: text to value, InvalidValue otherwise ----------------------------------------------


def _choice(valid: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip()
        if value not in valid:
            raise InvalidValue()
        return value

    return parse


def parse_preempt(text: str) -> Preempt:
    try:
        return Preempt(text.strip())
    except ValueError:
        raise InvalidValue() from None


def parse_policy(text: str) -> str:
    if text.strip() == "replay":
        raise NeedsToken()
    return _choice(USER_POLICIES)(text)


def _whole(text: str) -> int:
    try:
        return int(text.strip(), 0)
    except ValueError:
        raise InvalidValue() from None


def _ranged(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = _whole(text)
        if value < low or (high is not None and value > high):
            raise InvalidValue()
        return value

    return parse


def parse_seed(text: str) -> int | None:
    """A whole number, or "random" (None: the front end picks one and prints it)."""
    return None if text.strip() == "random" else _whole(text)


def parse_max_steps(text: str) -> int | None:
    return None if text.strip().lower() == "none" else _ranged(1)(text)


def parse_preemption_bound(text: str) -> int | None:
    """A whole number >= 0, or none (None: the bound is raised from 0 while schedules are left)."""
    return None if text.strip().lower() == "none" else _ranged(0)(text)


def parse_timeout(text: str) -> float | None:
    """Seconds, or none / 0 (None: the backstop turned off on purpose)."""
    value = text.strip().lower()
    if value == "none":
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise InvalidValue() from None
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidValue()
    return seconds if seconds > 0 else None


def parse_shrink_time(text: str) -> float:
    """Seconds >= 0 (0: no shrinking)."""
    try:
        seconds = float(text.strip())
    except ValueError:
        raise InvalidValue() from None
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidValue()
    return seconds


def parse_token(text: str) -> Any:
    from .runtime.errors import ReplayError
    from .runtime.token import decode_token  # tokens are read rarely; the module is not needed otherwise

    try:
        token = decode_token(text)
        token.check_compatible()
    except ReplayError as exc:
        raise InvalidValue(str(exc)) from None
    return token


def parse_dir(text: str) -> Path:
    value = text.strip()
    if not value:
        raise InvalidValue()
    path = Path(value).expanduser()
    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                raise InvalidValue(f"{parent} is a file")
            break
    return path


def parse_crash_log(text: str) -> Path | Literal[False]:
    """A directory, or "off" (False; the default None is the pytest cache directory)."""
    return False if text.strip() == "off" else parse_dir(text)


def _seconds(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


def _none_or(value: object) -> str:
    return "none" if value is None else str(getattr(value, "value", value))


# -- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One row: a knob and its spelling in every front end."""

    name: str  # the RunSettings field / plugin setting and the wasm_settings argument
    summary: str  # what it does, for every front end
    metavar: str
    parse: Callable[[str], Any]  # raises InvalidValue
    default: Any
    valid: str  # the valid values in words: help and error messages say the same
    default_text: str | None = None  # the default in words (None: `show(default)`)
    choices: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()  # the `wasmconc` subcommands that take it
    # How a wasm_settings marker gives it: None (it cannot), "choice" (a str or an enum of the
    # choices), "int" (an int) or "seconds" (an int or a float); "none" too where `nullable`.
    in_code: Literal["choice", "int", "seconds"] | None = None
    nullable: bool = False
    valid_in_code: str | None = None  # the valid marker values where they differ from `valid`
    pytest_note: str = ""  # what only pytest adds (xdist, markers, pytest-timeout)
    cli_instead: str = ""  # what `wasmconc` has instead of a row it does not take (the README says it)
    show: Callable[[Any], str] = _none_or  # a value as option text (headers, replay commands)

    @property
    def cli_flag(self) -> str:
        return WASMCONC.flag(self)

    @property
    def pytest_flag(self) -> str:
        return PYTEST.flag(self)

    @property
    def dest(self) -> str:
        """pytest's attribute of the command-line value (config.getoption)."""
        return f"wasm_{self.name}"

    @property
    def ini(self) -> str:
        return f"wasm_{self.name}"

    @property
    def env(self) -> str:
        return f"PYTEST_WASM_{self.name.upper()}"

    @property
    def shown_default(self) -> str:
        return self.default_text if self.default_text is not None else self.show(self.default)

    def help(self, front: FrontEnd) -> str:
        """The help text: what it does, then its default and valid values in one fixed form."""
        note = f"; {self.pytest_note}" if front is PYTEST and self.pytest_note else ""
        return f"{self.summary}{note} (default: {self.shown_default}; valid: {self.valid})"

    def reason(self, exc: InvalidValue, front: FrontEnd, *, in_code: bool = False) -> str:
        """The parenthesised part of the error: what is wrong, and the valid values."""
        valid = f"valid: {self.valid_in_code if in_code and self.valid_in_code else self.valid}"
        if isinstance(exc, NeedsToken):
            return f"the replay policy needs a recorded schedule: {front.replay_with}; {valid}"
        return f"{exc.detail}; {valid}" if exc.detail else valid

    def read(self, text: str, source: str, front: FrontEnd) -> Any:
        """The value of `text`, or OptionError naming the flag, the source and the valid values."""
        try:
            return self.parse(text)
        except InvalidValue as exc:
            raise OptionError(f"{front.flag(self)}: invalid value {text.strip()!r} from {source} "
                              f"({self.reason(exc, front)})") from None

    def from_code(self, value: object) -> Any:
        """The value of a marker argument (a Python value, checked like the option's text); InvalidValue."""
        if isinstance(value, bool):
            raise InvalidValue()
        if self.in_code == "choice":
            text = getattr(value, "value", value)  # Preempt.EPOCH as well as "epoch"
            if isinstance(text, str):
                return self.parse(text)
        elif isinstance(value, str):
            if self.nullable and value.strip().lower() == "none":
                return None
        elif isinstance(value, int) and self.in_code in ("int", "seconds"):
            return self.parse(str(value))
        elif isinstance(value, float) and self.in_code == "seconds":
            return self.parse(repr(value))
        raise InvalidValue()


def _one_of(name: str, summary: str, choices: tuple[str, ...], default: Any, *,
            parse: Callable[[str], Any] | None = None, commands: tuple[str, ...] = ("run", "explore")) -> Option:
    """A row whose value is one of `choices` (also in a marker, as the text or an enum of it)."""
    return Option(name, summary, "{" + ",".join(choices) + "}", parse or _choice(choices), default,
                  ", ".join(choices), choices=choices, commands=commands, in_code="choice")


TRACE_SCHEDULES = ("failing", "all")
TIMEOUT_NOTE = ("less when pytest-timeout's deadline is nearer; wasm_no_hang(timeout=...) overrides it "
                "per test")

OPTIONS: dict[str, Option] = {opt.name: opt for opt in (
    _one_of("preempt", "how guest threads are interleaved: fuel (deterministic quanta on one OS thread, "
            "replayable), epoch (time slices on one OS thread) or os (one OS thread per guest thread)",
            tuple(p.value for p in Preempt), Preempt.FUEL, parse=parse_preempt, commands=("run",)),
    _one_of("policy", "scheduling policy of fuel and epoch runs", USER_POLICIES, DEFAULT_POLICY,
            parse=parse_policy),
    Option("seed", "seed of the scheduling policy; an exploration derives each schedule's seed from it",
           "N", parse_seed, None, "a whole number, or random", default_text="random, printed",
           commands=("run", "explore"), in_code="int", valid_in_code="a whole number",
           pytest_note="shared by all xdist workers; printed in the header; last: the seed of the last session "
           "that ran wasm tests (pytest's cache)"),
    Option("slice", "mean quantum in fuel mode, in wasm instructions counted at loop headers and calls",
           "FUEL", _ranged(1, MAX_SLICE), DEFAULT_SLICE, f"a whole number from 1 to {MAX_SLICE}",
           commands=("run", "explore"), in_code="int"),
    Option("depth", "bug depth the pct policy targets (depth - 1 priority change points per execution)",
           "D", _ranged(1, MAX_DEPTH), DEFAULT_DEPTH, f"a whole number from 1 to {MAX_DEPTH}",
           commands=("run", "explore"), in_code="int"),
    _one_of("level", "where scheduling points go: at waits and notifies only (waits), also before atomic "
            "read-modify-writes (atomics), also at atomic loads and stores (memory), also at every plain load and "
            "store to shared memory (shared; fuel mode)", LEVELS, DEFAULT_LEVEL),
    Option("max_steps", "step budget of each guest execution: scheduling steps without progress (no thread "
           "started, finished or released by another) before it counts as a hang", "N", parse_max_steps,
           DEFAULT_MAX_STEPS, "a whole number >= 1, or none for no step budget",
           commands=("run", "explore", "replay"), in_code="int", nullable=True,
           pytest_note="wasm_no_hang(max_steps=...) overrides it per test"),
    Option("timeout", "wall-clock backstop of each guest execution, in every mode: a guest still running then "
           "is ended and reported as a hang", "SECONDS", parse_timeout, DEFAULT_TIMEOUT,
           "positive seconds, or none (or 0) for no backstop", commands=("run", "explore", "replay"),
           in_code="seconds", nullable=True, pytest_note=TIMEOUT_NOTE, show=_seconds),
    Option("schedules", "schedules an exploration runs (pytest: each wasm_scheduler.explore() call)", "N",
           _ranged(1), DEFAULT_SCHEDULES, "a whole number >= 1", commands=("explore",), in_code="int"),
    Option("preemption_bound", "dfs policy: the most preemptions (switches away from a thread that could go "
           "on) a schedule of the bounded exhaustive search may have; bounds 0, 1, ... up to it are explored in "
           "turn", "K", parse_preemption_bound, None, "a whole number >= 0, or none",
           default_text="none: raised from 0 while schedules are left", commands=("explore",), in_code="int",
           nullable=True),
    Option("shrink_time", "time an exploration may spend shrinking its failing schedule: searching for one with "
           "fewer preemptions that fails the same way, reported (with its token and its context switches) before "
           "the original", "SECONDS", parse_shrink_time, DEFAULT_SHRINK_TIME, "seconds >= 0; 0 turns shrinking off",
           commands=("explore",), in_code="seconds", show=lambda v: f"{v:g}"),
    Option("replay", "replay token printed by a failure: every guest execution replays that exact schedule",
           "TOKEN", parse_token, None, "a token printed by a failing run of this installation",
           default_text="none", cli_instead="`wasmconc replay GUEST TOKEN`"),
    Option("trace_dir", "write the timeline of each failing guest execution into this directory: a Chrome "
           "trace-event file (NAME.trace.json: Perfetto, chrome://tracing) and an HTML page that opens offline "
           "(NAME.timeline.html); the failure report names them", "DIR", parse_dir, None, "a directory path",
           default_text="none", commands=("run", "explore", "replay"),
           pytest_note="one of each per failing test, beside its guest report, output and WASI call trace "
                       "(NAME.txt)"),
    Option("trace_schedules", "which executions --trace-dir gets a timeline of: failing ones, or all (also "
           "a passing run's, and the last schedule of a passing exploration)", "{failing,all}",
           _choice(TRACE_SCHEDULES), "failing", ", ".join(TRACE_SCHEDULES), choices=TRACE_SCHEDULES,
           commands=("run", "explore", "replay"), pytest_note="all: every test that ran a guest"),
    Option("crash_log", "directory of the crash log: each test process (xdist worker) notes the guest "
           "execution it runs and how to replay it, for when the process dies", "DIR", parse_crash_log, None,
           "a directory path, or off", default_text=".pytest_cache/d/wasmconc"),
    Option("failure_memory", "failure memory: the schedule that failed a test is stored in pytest's cache and "
           "replayed first when the test runs again (pytest --lf fails the same way); off neither stores nor "
           "replays, clear forgets every stored schedule first", "{on,off,clear}", _choice(("on", "off", "clear")),
           "on", "on, off, clear", choices=("on", "off", "clear"), show=str),
)}


def options_of(command: str) -> list[Option]:
    """The rows a `wasmconc` subcommand takes, in table order."""
    return [opt for opt in OPTIONS.values() if command in opt.commands]


# -- precedence --------------------------------------------------------------------------------------


def session_value(opt: Option, front: FrontEnd, *, cli: str | None = None, env: str | None = None,
                  ini: str | None = None, ini_file: str = "the config file") -> Sourced[Any]:
    """A session's value: the command line > the environment > the ini file > the default.

    A value given on the command line is read even when empty (an empty flag is a mistake);
    an empty environment variable or ini key counts as not set. OptionError on a bad value.
    """
    candidates = [(cli, COMMAND_LINE)]
    if env is not None and env.strip():
        candidates.append((env, f"the {opt.env} environment variable"))
    if ini is not None and ini.strip():
        candidates.append((ini, f"the config file ({opt.ini} in {ini_file})"))
    for text, source in candidates:
        if text is not None:
            return Sourced(opt.read(text, source, front), source, text.strip())
    return Sourced(opt.default, DEFAULT)


def in_effect(opt: Option, in_code: Mapping[str, Any], session: Sourced[Any]) -> Sourced[Any]:
    """The value one test runs with: a marker's over the session's.

    Except a seed given on the command line, which beats one in code (Shuttle #174): the
    command a failure prints (`--wasm-seed=N`, `--seed N`) then reproduces it even in a test
    that pins its own seed.
    """
    if opt.name not in in_code or (opt.name == "seed" and session.from_cli):
        return session
    return Sourced(in_code[opt.name], MARKER)


def chosen_seed(seed: Sourced[int | None], rng: random.Random | None = None) -> Sourced[int]:
    """The seed itself, or a random one when none was given (or "random" was)."""
    if seed.value is not None:
        return seed  # type: ignore[return-value]
    value = (rng or random.SystemRandom()).randrange(1 << SEED_BITS)
    return Sourced(value, RANDOM_CHOICE if seed.source == DEFAULT else seed.source)


# -- the README's table ----------------------------------------------------------------------------


def markdown_table() -> str:
    """The option table as the README shows it (tests/test_options_table.py keeps the README in sync)."""
    rows = ["| option | `wasmconc` | pytest: option, ini key, env var | `wasm_settings` | default | valid values "
            "| what it does |", "|---|---|---|---|---|---|---|"]
    for opt in OPTIONS.values():
        cli = f"`{opt.cli_flag} {opt.metavar}` ({', '.join(opt.commands)})" if opt.commands else opt.cli_instead or "-"
        pytest_names = f"`{opt.pytest_flag}={opt.metavar}`, `{opt.ini}`, `{opt.env}`"
        marker = f"`{opt.name}=`" if opt.in_code else "-"
        what = opt.summary + (f"; pytest: {opt.pytest_note}" if opt.pytest_note else "")
        cells = [f"`{opt.name}`", cli, pytest_names, marker, opt.shown_default, opt.valid, what]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)
