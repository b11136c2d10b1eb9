"""The stream check: does the guest use its WASI 0.2 output streams by the rules of wasi:io/streams?

`ProtocolChecker` (checker.py) and `Pattern` (sequence.py) judge a stream
history and never touch wasm; `judge` (report.py) turns a world and an
outcome into a verdict with a report; `StreamCheck` (extension.py) is the
check the runtime attaches. The streams themselves, the world that records
their history and the hosts that serve them to guests are WASI's
(wasi/p2/); the names a check's user needs of them (`StreamConfig`,
`StreamWorld`, ...) are re-exported here, as `pytest_wasmconc.streams` had them.
"""

from __future__ import annotations

from ...wasi.p2.core import STREAMS_MODULE, core_functions
from ...wasi.p2.events import EVENT_KINDS, SEQUENCE_KINDS, Event
from ...wasi.p2.model import StreamWorld
from ...wasi.p2.stream import DEFAULT_BUDGET, StreamConfig
from .checker import VIOLATION_KINDS, ProtocolChecker, Violation
from .extension import StreamCheck, verdict_of
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
