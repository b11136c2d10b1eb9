"""The plugin's markers: their registered signatures and the parsing of their arguments.

A misused marker is the test's own error (raised at setup, naming the
marker and the argument), never a session-wide usage error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest

from ..runtime.settings import MAX_SLICE, Preempt
from .options import OPTIONS, USER_POLICIES

__all__ = [
    "MARKERS",
    "MarkerError",
    "NoHang",
    "SettingsMarker",
    "no_hang_marker",
    "register_markers",
    "settings_marker",
]

MARKERS = {
    "wasm_settings": (
        "wasm_settings(*, preempt=None, policy=None, seed=None, slice=None, schedules=None, shards=None): "
        "this test's wasm settings, over the --wasm-* options (an explicit --wasm-seed/--wasm-replay on the "
        "command line still wins); shards=N or 'auto' splits its explorations into N test items "
        "('auto': one per xdist worker)"
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
    "wasm_stream_sequence": (
        "wasm_stream_sequence(expect=None, *, budget=4096, flush_steps=0, lost_wakeup=False, fail_after=None, "
        "busy_poll=3): run the guests on observed output streams (budget bytes per check-write, flushes "
        "complete after flush_steps steps, faults); fail on any stream protocol violation, on a deadlock or "
        "hang (with the stream history), and on an event sequence that does not match expect"
    ),
}


def register_markers(config: pytest.Config) -> None:
    for line in MARKERS.values():
        config.addinivalue_line("markers", line)


class MarkerError(Exception):
    """A marker is used with bad arguments (reported as this test's error)."""


@dataclass(frozen=True)
class SettingsMarker:
    """The values a `wasm_settings` marker sets (None: not set)."""

    preempt: Preempt | None = None
    policy: str | None = None
    seed: int | None = None
    slice: int | None = None
    schedules: int | None = None
    shards: int | str | None = None


@dataclass(frozen=True)
class NoHang:
    """A `wasm_no_hang` marker: bounds per guest execution."""

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


def _parse_with(mark: pytest.Mark, key: str, value: Any, option: str) -> Any:
    """Parse a marker value with the option's own parser, so both accept the same values."""
    if value is None:
        return None
    if isinstance(value, Preempt) and option == "preempt":
        return value
    opt = OPTIONS[option]
    try:
        return opt.parse(str(value))
    except ValueError as exc:
        raise MarkerError(f"@pytest.mark.{mark.name}({key}={value!r}): invalid value ({exc})") from None


def _positive_int(mark: pytest.Mark, key: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MarkerError(f"@pytest.mark.{mark.name}({key}={value!r}): expected a whole number >= 1")
    return value


def settings_marker(item: pytest.Item) -> SettingsMarker:
    """The closest `wasm_settings` marker's values (all None without one)."""
    mark = item.get_closest_marker("wasm_settings")
    if mark is None:
        return SettingsMarker()
    kw = _kwargs_only(mark, ("preempt", "policy", "seed", "slice", "schedules", "shards"))
    policy = kw.get("policy")
    if policy is not None and policy not in USER_POLICIES:
        raise MarkerError(f"@pytest.mark.wasm_settings(policy={policy!r}): invalid value "
                          f"(valid: {', '.join(USER_POLICIES)})")
    seed = kw.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise MarkerError(f"@pytest.mark.wasm_settings(seed={seed!r}): expected a whole number")
    return SettingsMarker(
        preempt=_parse_with(mark, "preempt", kw.get("preempt"), "preempt"),
        policy=policy,
        seed=seed,
        slice=_slice(mark, kw.get("slice")),
        schedules=_positive_int(mark, "schedules", kw.get("schedules")),
        shards=_shards(mark, kw.get("shards")),
    )


def _slice(mark: pytest.Mark, value: Any) -> int | None:
    slice_ = _positive_int(mark, "slice", value)
    if slice_ is not None and slice_ > MAX_SLICE:
        raise MarkerError(f"@pytest.mark.{mark.name}(slice={value!r}): expected a whole number from 1 to {MAX_SLICE}")
    return slice_


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
    timeout = kw.get("timeout")
    if timeout is not None:
        if (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout)
                or timeout <= 0):
            raise MarkerError(f"@pytest.mark.wasm_no_hang(timeout={timeout!r}): expected positive seconds "
                              "(a finite number)")
        timeout = float(timeout)
    return NoHang(timeout=timeout, max_steps=_positive_int(mark, "max_steps", kw.get("max_steps")))
