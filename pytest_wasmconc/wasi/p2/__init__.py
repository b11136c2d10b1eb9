"""WASI 0.2 output streams under an observing host, for core guests and for components.

events   the history's vocabulary: one `Event` per stream operation
stream   one output stream: the host's behaviour (`StreamConfig`: budget, flush delay, faults) and state
model    `StreamWorld`: one execution's streams, operation count, blocking waits, history and observer
core     the `wasmconc_streams` import module: the same operations for core guests
host     `Wasi2Host`: the WASI 0.2 imports of a component (cli, clocks, io, random, filesystem)

Nothing here judges the history: the stream check (checks/streams/) observes a
world through `StreamWorld.observer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...lazy_names import lazy_names

if TYPE_CHECKING:  # pragma: no cover - what the lazy names are, for type checkers
    from .core import STREAMS_MODULE, core_functions
    from .events import BLOCKING_WRITE_LIMIT, EVENT_KINDS, SEQUENCE_KINDS, Event
    from .host import Wasi2Host
    from .model import EventObserver, Finding, StreamWorld
    from .stream import DEFAULT_BUDGET, DEFAULT_BUSY_POLL_LIMIT, StreamConfig, StreamError, echo_sinks

# Loaded on first use: a core module's observed streams (core, model, stream) must not load the
# component host (`host` imports wasmtime's component model).
_HOMES = {
    "core": ("STREAMS_MODULE", "core_functions"),
    "events": ("BLOCKING_WRITE_LIMIT", "EVENT_KINDS", "SEQUENCE_KINDS", "Event"),
    "host": ("Wasi2Host",),
    "model": ("EventObserver", "Finding", "StreamWorld"),
    "stream": ("DEFAULT_BUDGET", "DEFAULT_BUSY_POLL_LIMIT", "StreamConfig", "StreamError", "echo_sinks"),
}

__all__ = [
    "BLOCKING_WRITE_LIMIT",
    "DEFAULT_BUDGET",
    "DEFAULT_BUSY_POLL_LIMIT",
    "EVENT_KINDS",
    "SEQUENCE_KINDS",
    "STREAMS_MODULE",
    "Event",
    "EventObserver",
    "Finding",
    "StreamConfig",
    "StreamError",
    "StreamWorld",
    "Wasi2Host",
    "core_functions",
    "echo_sinks",
]

__getattr__, __dir__ = lazy_names(__name__, _HOMES)
