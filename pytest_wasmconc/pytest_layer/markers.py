"""The plugin's markers: their registered signatures and the parsing of their arguments.

A misused marker is the test's own error (raised at setup, naming the
marker and the argument), never a session-wide usage error.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from ..options import OPTIONS, PYTEST, InvalidValue, Option

__all__ = [
    "MARKERS",
    "SETTINGS_ARGUMENTS",
    "MarkerError",
    "NoHang",
    "SettingsMarker",
    "no_hang_marker",
    "register_markers",
    "require_scheduler",
    "settings_marker",
]

# The option table's rows a wasm_settings marker sets, in table order, then its own `shards`.
SETTINGS_ARGUMENTS: tuple[Option, ...] = tuple(opt for opt in OPTIONS.values() if opt.in_code is not None)
_SETTINGS_SIGNATURE = ", ".join(f"{opt.name}=None" for opt in SETTINGS_ARGUMENTS)

MARKERS = {
    "wasm_settings": (
        f"wasm_settings(*, {_SETTINGS_SIGNATURE}, shards=None): "
        "this test's wasm settings, over the --wasm-* options, with their values (an explicit "
        "--wasm-seed/--wasm-replay on the command line still wins); shards=N or 'auto' splits its "
        "explorations into N test items ('auto': one per xdist worker)"
    ),
    "wasm_no_hang": (
        "wasm_no_hang(timeout=None, max_steps=None): any guest execution in this test that deadlocks or "
        "hangs fails the test with the guest report (timeout: wall-clock seconds per execution, default "
        "--wasm-timeout, less under pytest-timeout; max_steps: the step budget, default --wasm-max-steps)"
    ),
    "wasm_no_lock_inversion": (
        "wasm_no_lock_inversion(*, table=None, extra=None): fail the test when its guests take locks in "
        "inconsistent orders (a lock-order inversion: a potential deadlock), found over all its executions "
        "even when none deadlocked; table/extra: LockFunction rows replacing/added to the default table"
    ),
    "wasm_no_data_race": (
        "wasm_no_data_race(*, suppress=None): fail the test when one of its guest executions makes two "
        "conflicting accesses to shared memory that no synchronization orders (a data race), with both "
        "accesses and their backtraces; suppress: function-name regexes whose accesses are not checked"
    ),
    "wasm_stream_sequence": (
        "wasm_stream_sequence(expect=None, *, budget=4096, flush_steps=0, lost_wakeup=False, fail_after=None, "
        "busy_poll=3): run the guests on observed output streams (budget bytes per check-write, flushes "
        "complete after flush_steps more stream operations, faults); fail on any stream protocol violation, "
        "on a deadlock or hang (with the stream history), and on an event sequence that does not match expect"
    ),
}


def register_markers(config: pytest.Config) -> None:
    for line in MARKERS.values():
        config.addinivalue_line("markers", line)


def require_scheduler(item: pytest.Item) -> None:
    """Error a test (at setup) whose own wasm marker would do nothing: every one acts on the executions of
    the wasm_scheduler fixture, which the test does not use. (A marker on its module or class applies
    where it can: it may mark tests of every kind.)"""
    names = set(MARKERS)
    guards = sys.modules.get(f"{__package__}.guards")  # checks registered by a conftest (register_check)
    if guards is not None:
        names |= set(guards.registered_markers())
    used = sorted({mark.name for mark in getattr(item, "own_markers", ())} & names)
    if used:
        marks = ", ".join(f"@pytest.mark.{name}" for name in used)
        pytest.fail(f"{marks} acts on the guest executions of the wasm_scheduler fixture, which this test does "
                    f"not use: it would check nothing (use wasm_scheduler to run the guest, or remove the marker)",
                    pytrace=False)


class MarkerError(Exception):
    """A marker is used with bad arguments (reported as this test's error)."""


@dataclass(frozen=True)
class SettingsMarker:
    """The values a `wasm_settings` marker sets: `given` holds only the arguments it was given."""

    given: Mapping[str, Any] = field(default_factory=dict)
    shards: int | str | None = None


@dataclass(frozen=True)
class NoHang:
    """A `wasm_no_hang` marker: bounds per guest execution (None: the session's)."""

    timeout: float | None = None
    max_steps: int | None = None


def _kwargs_only(mark: pytest.Mark, allowed: tuple[str, ...], positional: tuple[str, ...] = ()) -> dict[str, Any]:
    if len(mark.args) > len(positional):
        raise MarkerError(f"@pytest.mark.{mark.name} takes at most {len(positional)} positional "
                          f"argument{'s' if len(positional) != 1 else ''}, got {len(mark.args)}")
    values = dict(zip(positional, mark.args))
    for key, value in mark.kwargs.items():
        if key not in allowed:
            raise MarkerError(f"@pytest.mark.{mark.name} got an unknown argument {key!r} "
                              f"(valid: {', '.join(allowed)})")
        if key in values:
            raise MarkerError(f"@pytest.mark.{mark.name} got two values for {key!r}")
        values[key] = value
    return values


def _from_code(mark: pytest.Mark, opt: Option, value: Any) -> Any:
    """A marker argument read with the option's own rules, so a marker and a flag take the same values."""
    try:
        return opt.from_code(value)
    except InvalidValue as exc:
        raise MarkerError(f"@pytest.mark.{mark.name}({opt.name}={value!r}): invalid value "
                          f"({opt.reason(exc, PYTEST, in_code=True)})") from None


def settings_marker(item: pytest.Item) -> SettingsMarker:
    """The closest `wasm_settings` marker's values (none given without one)."""
    mark = item.get_closest_marker("wasm_settings")
    if mark is None:
        return SettingsMarker()
    kw = _kwargs_only(mark, (*(opt.name for opt in SETTINGS_ARGUMENTS), "shards"))
    given = {opt.name: _from_code(mark, opt, kw[opt.name]) for opt in SETTINGS_ARGUMENTS
             if kw.get(opt.name) is not None}
    return SettingsMarker(given=given, shards=_shards(mark, kw.get("shards")))


def _shards(mark: pytest.Mark, value: Any) -> int | str | None:
    if value is None:
        return None
    if value == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MarkerError(f"@pytest.mark.{mark.name}(shards={value!r}): expected 'auto' or a whole number >= 1")
    return int(value)


def shards_of(mark: pytest.Mark | None) -> int | str | None:
    """The `shards` argument of a wasm_settings marker, read at collection time."""
    if mark is None:
        return None
    value = mark.kwargs.get("shards")
    return _shards(mark, value)


def no_hang_marker(item: pytest.Item) -> NoHang | None:
    """The closest `wasm_no_hang` marker, or None when the test has none."""
    mark = item.get_closest_marker("wasm_no_hang")
    if mark is None:
        return None
    kw = _kwargs_only(mark, ("timeout", "max_steps"), positional=("timeout", "max_steps"))
    bounds: dict[str, Any] = {}
    for name, expected in _NO_HANG_BOUNDS.items():
        value = kw.get(name)
        if value is None:
            continue
        try:
            bound = OPTIONS[name].from_code(value)  # the option's own rules: a number as the flag takes it
        except InvalidValue:
            bound = None
        if bound is None:  # also "none" or 0: no bound, which is not what this marker is for
            raise MarkerError(f"@pytest.mark.wasm_no_hang({name}={value!r}): expected {expected}")
        bounds[name] = bound
    return NoHang(**bounds)


# What a wasm_no_hang bound must be: the option's values, less "none" (no bound at all).
_NO_HANG_BOUNDS = {
    "timeout": "positive seconds (a finite number; no backstop at all: wasm_settings(timeout='none'))",
    "max_steps": "a whole number >= 1 (no step budget at all: wasm_settings(max_steps='none'))",
}
