"""`@pytest.mark.wasm_stream_sequence`: every guest execution of the test runs on observed streams.

    @pytest.mark.wasm_stream_sequence(expect=None, *, budget=4096, flush_steps=0,
                                      lost_wakeup=False, fail_after=None, busy_poll=3)

Any protocol violation fails the test (with the event index, the stream, the
guest backtrace and the stream history); with `expect`, so does an event
sequence that does not match it (see checks/streams/sequence.py); a deadlock
or hang of a guest fails it with the stream history added to the thread report.
The check is `StreamCheck` (checks/streams/); this module reads the marker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from ..checks.streams.extension import StreamCheck
from ..checks.streams.sequence import PatternError
from ..wasi.p2.stream import StreamConfig
from .markers import MarkerError

__all__ = ["make_check", "parse_marker"]

MARKER = "wasm_stream_sequence"
_OPTIONS = ("expect", "budget", "flush_steps", "lost_wakeup", "fail_after", "busy_poll")


def _whole(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise MarkerError(f"@pytest.mark.{MARKER}({name}={value!r}): expected a whole number >= {minimum}")
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise MarkerError(f"@pytest.mark.{MARKER}({name}={value!r}): expected True or False")
    return value


def parse_marker(mark: pytest.Mark) -> StreamCheck:
    """The marker's arguments as a StreamCheck (MarkerError names a bad one)."""
    if len(mark.args) > 1:
        raise MarkerError(f"@pytest.mark.{MARKER} takes at most 1 positional argument (expect), got {len(mark.args)}")
    kw = dict(mark.kwargs)
    if mark.args:
        if "expect" in kw:
            raise MarkerError(f"@pytest.mark.{MARKER} got two values for 'expect'")
        kw["expect"] = mark.args[0]
    for key in kw:
        if key not in _OPTIONS:
            raise MarkerError(f"@pytest.mark.{MARKER} got an unknown argument {key!r} (valid: {', '.join(_OPTIONS)})")
    expect = kw.get("expect")
    if expect is not None and not isinstance(expect, (str, Sequence, Mapping)):
        raise MarkerError(f"@pytest.mark.{MARKER}(expect={expect!r}): expected a pattern string, a list of "
                          "events, or a dict of them by stream name")
    config = StreamConfig(
        budget=_whole("budget", kw.get("budget", 4096), 1),
        flush_steps=_whole("flush_steps", kw.get("flush_steps", 0), 0),
        lost_wakeup=_flag("lost_wakeup", kw.get("lost_wakeup", False)),
        fail_after=None if kw.get("fail_after") is None else _whole("fail_after", kw["fail_after"], 0),
        busy_poll_limit=_whole("busy_poll", kw.get("busy_poll", 3), 1),
    )
    try:
        return StreamCheck(config, expect=expect)
    except (PatternError, TypeError, ValueError) as exc:
        raise MarkerError(f"@pytest.mark.{MARKER}(expect={expect!r}): {exc}") from None


def make_check(item: pytest.Item, mark: pytest.Mark) -> StreamCheck:
    """The check of a test marked `wasm_stream_sequence` (MarkerError: misused arguments)."""
    return parse_marker(mark)
