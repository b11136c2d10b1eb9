"""The output-stream protocol checker: a pure function of the recorded events.

The host (wasi/p2/model.py) records one `Event` per stream operation a guest makes;
`ProtocolChecker.observe` looks at each event as it is recorded and returns
the violations it completes. It knows nothing of wasm or of the runtime, so
it is unit-tested with hand-written event sequences.

The contract checked (wasi:io/streams output-stream, as the issue states it):
check-write grants a permit for the next write only; a write needs a permit
and must not exceed it; a flush revokes the permit; a pollable is stale once
its stream changed state (a write or a flush) after the subscribe, and a fresh
one is needed; after an operation returned an error the guest must not write
again; every byte written must be flushed (and the flush waited for) before
the guest exits; a guest that asks check-write again and again without ever
subscribing is busy-polling; blocking-write-and-flush takes at most 4096 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...wasi.p2.events import BLOCKING_WRITE_LIMIT, EVENT_KINDS, SEQUENCE_KINDS, Event
from ...wasi.p2.stream import DEFAULT_BUSY_POLL_LIMIT

__all__ = [
    "BLOCKING_WRITE_LIMIT",
    "DEFAULT_BUSY_POLL_LIMIT",
    "EVENT_KINDS",
    "SEQUENCE_KINDS",
    "VIOLATION_KINDS",
    "Event",
    "ProtocolChecker",
    "Violation",
]

VIOLATION_KINDS = {
    "write-without-permit": "a write without a permit (no check-write granted one since the last write or flush)",
    "write-beyond-permit": "a write of more bytes than check-write permitted",
    "stale-pollable": "waiting on a stale pollable (its stream changed state after the subscribe)",
    "write-after-error": "a write after the stream reported an error",
    "unflushed-at-exit": "the guest exited with data not flushed",
    "busy-poll": "busy-polling check-write without ever subscribing",
    "blocking-write-too-large": f"blocking-write-and-flush of more than {BLOCKING_WRITE_LIMIT} bytes",
}

_STATE_CHANGES = ("write", "flush", "blocking-flush", "blocking-write-and-flush")


@dataclass(frozen=True)
class Violation:
    """A broken rule: which, where in the event history, on which stream, why."""

    kind: str
    index: int
    stream: str
    message: str
    thread: int = 0

    def summary(self) -> str:
        return f"{self.kind} at event #{self.index} on {self.stream}: {self.message}"


@dataclass
class _StreamState:
    permit: int | None = None  # the permit of the last check-write, until a write or flush uses it up
    permit_event: int | None = None
    permit_gone: int | None = None  # the write or flush that used up or revoked the last permit
    version: int = 0  # state changes (writes, flushes) so far
    changed_at: int | None = None  # event index of the last state change
    unflushed: int = 0  # bytes written since the last flush
    last_write_event: int | None = None
    error_event: int | None = None  # the first event that returned an error to the guest
    subscribed: bool = False
    zero_permits: int = 0  # consecutive check-write results of 0


@dataclass
class _PollableState:
    stream: str
    version: int
    subscribed_at: int


@dataclass
class ProtocolChecker:
    """Feeds on events in order; remembers every violation found."""

    busy_poll_limit: int = DEFAULT_BUSY_POLL_LIMIT
    violations: list[Violation] = field(default_factory=list)
    _streams: dict[str, _StreamState] = field(default_factory=dict)
    _pollables: dict[int, _PollableState] = field(default_factory=dict)

    def observe(self, ev: Event) -> list[Violation]:
        """Check one event; return (and remember) the violations it completes."""
        st = self._streams.setdefault(ev.stream, _StreamState())
        found: list[Violation] = []

        def flag(kind: str, message: str) -> None:
            found.append(Violation(kind, ev.index, ev.stream, message, ev.thread))

        kind = ev.kind
        if kind == "check-write":
            if ev.error:
                self._note_error(st, ev)
                st.permit = None
            else:
                permit = int(ev.result or 0)
                st.permit, st.permit_event = permit, ev.index
                st.zero_permits = st.zero_permits + 1 if permit == 0 else 0
                if permit == 0 and not st.subscribed and st.zero_permits == self.busy_poll_limit:
                    flag("busy-poll", f"check-write returned 0 {st.zero_permits} times in a row and the "
                                      "guest never subscribed to the stream to wait for readiness")
        elif kind == "write":
            n = ev.arg or 0
            if st.error_event is not None:
                flag("write-after-error", f"write({n}) after event #{st.error_event} reported an error")
            elif st.permit is None:
                flag("write-without-permit", f"write({n}) without a permit: {self._why_no_permit(st)}")
            elif n > st.permit:
                flag("write-beyond-permit",
                     f"write({n}) beyond the permit of {st.permit} (check-write at event #{st.permit_event})")
            self._revoke(st, ev)
            if ev.error:
                self._note_error(st, ev)
            elif n:
                st.unflushed += n
                st.last_write_event = ev.index
                self._change(st, ev)
        elif kind in ("flush", "blocking-flush"):
            self._revoke(st, ev)
            if ev.error:
                self._note_error(st, ev)
            else:
                st.unflushed = 0
                self._change(st, ev)
        elif kind == "blocking-write-and-flush":
            n = ev.arg or 0
            if n > BLOCKING_WRITE_LIMIT:
                flag("blocking-write-too-large",
                     f"blocking-write-and-flush({n}): at most {BLOCKING_WRITE_LIMIT} bytes per call")
            elif st.error_event is not None:
                flag("write-after-error",
                     f"blocking-write-and-flush({n}) after event #{st.error_event} reported an error")
            self._revoke(st, ev)
            if ev.error:
                self._note_error(st, ev)
            else:
                st.unflushed = 0
                self._change(st, ev)
        elif kind == "subscribe":
            st.subscribed = True
            st.zero_permits = 0
            if ev.arg is not None:
                self._pollables[ev.arg] = _PollableState(ev.stream, st.version, ev.index)
        elif kind == "poll":
            st.zero_permits = 0
            for p in ev.pollables:
                ps = self._pollables.get(p)
                if ps is None or ps.stream != ev.stream:
                    continue
                owner = self._streams[ps.stream]
                if ps.version != owner.version:
                    flag("stale-pollable",
                         f"waits on pollable {p} subscribed at event #{ps.subscribed_at}, but the stream "
                         f"changed state at event #{owner.changed_at}; subscribe again after each write "
                         "or flush")
        elif kind == "drop" and ev.arg is not None:
            self._pollables.pop(ev.arg, None)
        elif kind == "exit":
            if st.unflushed:
                flag("unflushed-at-exit", f"{st.unflushed} bytes written (last at event "
                                          f"#{st.last_write_event}) were never flushed")
            elif ev.detail:
                flag("unflushed-at-exit", ev.detail)
        self.violations.extend(found)
        return found

    def observe_all(self, events: Any) -> list[Violation]:
        for ev in events:
            self.observe(ev)
        return self.violations

    @staticmethod
    def _note_error(st: _StreamState, ev: Event) -> None:
        if st.error_event is None:
            st.error_event = ev.index

    @staticmethod
    def _revoke(st: _StreamState, ev: Event) -> None:
        if st.permit is not None:
            st.permit_gone = ev.index
        st.permit = None

    @staticmethod
    def _change(st: _StreamState, ev: Event) -> None:
        st.version += 1
        st.changed_at = ev.index

    @staticmethod
    def _why_no_permit(st: _StreamState) -> str:
        if st.permit_event is None:
            return "check-write was never called on this stream"
        return f"the permit of check-write at event #{st.permit_event} was used up at event #{st.permit_gone}"
