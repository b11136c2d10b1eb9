"""Observed WASI output streams: backpressure, readiness faults and the protocol checker.

`StreamWorld` is the host side of one execution (model.py), `core_functions`
its `wasmconc_streams` import module for core guests (core.py), the WASI 0.2
host for components lives in wasi2.py; `ProtocolChecker` (checker.py) and
`Pattern` (sequence.py) never touch wasm; `judge` (report.py) turns a world
and an outcome into a verdict with a report.
"""

from __future__ import annotations

from .checker import EVENT_KINDS, SEQUENCE_KINDS, VIOLATION_KINDS, Event, ProtocolChecker, Violation
from .core import STREAMS_MODULE, core_functions
from .extension import StreamCheck, verdict_of
from .model import DEFAULT_BUDGET, StreamConfig, StreamWorld
from .report import Expect, StreamVerdict, judge, render_history
from .sequence import Mismatch, Pattern, PatternError, compile_pattern

__all__ = [
    "DEFAULT_BUDGET",
    "EVENT_KINDS",
    "SEQUENCE_KINDS",
    "STREAMS_MODULE",
    "VIOLATION_KINDS",
    "Event",
    "Expect",
    "Mismatch",
    "Pattern",
    "PatternError",
    "ProtocolChecker",
    "StreamCheck",
    "StreamConfig",
    "StreamVerdict",
    "StreamWorld",
    "Violation",
    "compile_pattern",
    "core_functions",
    "judge",
    "render_history",
    "verdict_of",
]
