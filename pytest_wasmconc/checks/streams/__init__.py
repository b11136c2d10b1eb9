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

from typing import TYPE_CHECKING

from ...lazy_names import lazy_names

if TYPE_CHECKING:  # pragma: no cover - what the lazy names are, for type checkers
    from ...wasi.p2.core import STREAMS_MODULE, core_functions
    from ...wasi.p2.events import EVENT_KINDS, SEQUENCE_KINDS, Event
    from ...wasi.p2.model import StreamWorld
    from ...wasi.p2.stream import DEFAULT_BUDGET, StreamConfig
    from .checker import VIOLATION_KINDS, ProtocolChecker, Violation
    from .extension import StreamCheck, verdict_of
    from .report import Expect, StreamVerdict, judge, render_history
    from .sequence import Mismatch, Pattern, PatternError, compile_pattern

# Loaded on first use: the CLI attaches the check to every run, most of which observe no stream.
_HOMES = {
    "...wasi.p2.core": ("STREAMS_MODULE", "core_functions"),
    "...wasi.p2.events": ("EVENT_KINDS", "SEQUENCE_KINDS", "Event"),
    "...wasi.p2.model": ("StreamWorld",),
    "...wasi.p2.stream": ("DEFAULT_BUDGET", "StreamConfig"),
    "checker": ("VIOLATION_KINDS", "ProtocolChecker", "Violation"),
    "extension": ("StreamCheck", "verdict_of"),
    "report": ("Expect", "StreamVerdict", "judge", "render_history"),
    "sequence": ("Mismatch", "Pattern", "PatternError", "compile_pattern"),
}

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

__getattr__, __dir__ = lazy_names(__name__, _HOMES)
