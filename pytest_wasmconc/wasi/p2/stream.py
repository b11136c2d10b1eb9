"""One observed output stream: how the host behaves (StreamConfig), its state, its pollables.

An `OutputStream` behaves like a wasi:io/streams output-stream under a configurable host:

* check-write grants at most `budget` bytes, and 0 while a flush is in flight;
* a flush stays in flight for the next `flush_steps` stream operations (0: it
  completes at once); its bytes are delivered when it completes, so bytes
  never flushed are lost at exit;
* a pollable is ready when check-write would return non-zero or an error;
* faults: `lost_wakeup` (readiness never fires again once the first flush was
  issued, as with Wasmtime #8781/#7144) and `fail_after` (the flush that would
  deliver byte number `fail_after` + 1 fails: last-operation-failed once, then closed).

The stream keeps no clock of its own: it reads the operation count and the
delivered byte count of the world it belongs to (model.py), through `Device`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "CLOSED",
    "DEFAULT_BUDGET",
    "DEFAULT_BUSY_POLL_LIMIT",
    "FAILED",
    "Device",
    "OutputStream",
    "Pollable",
    "STREAMS_MODULE",
    "StreamConfig",
    "StreamError",
    "echo_sinks",
]

# The import module of the observed streams of core guests (core.py serves it).
STREAMS_MODULE = "wasmconc_streams"

DEFAULT_BUDGET = 4096
# Consecutive check-write results of 0 on a never-subscribed stream that count as busy-polling:
# the protocol checker's default, configured with the rest of the host (StreamConfig).
DEFAULT_BUSY_POLL_LIMIT = 3
CLOSED = "closed"
FAILED = "last-operation-failed"


def echo_sinks() -> dict[str, Callable[[bytes], None]]:
    """Sinks that copy delivered stream bytes to this process's stdout/stderr."""

    def to(stream: Any) -> Callable[[bytes], None]:
        def write(data: bytes) -> None:
            stream.buffer.write(data)
            stream.buffer.flush()
        return write

    return {"stdout": to(sys.stdout), "stderr": to(sys.stderr)}


class StreamError(Exception):
    """An operation's error result (`closed` or `last-operation-failed`)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class StreamConfig:
    """How the observed host behaves and what it checks."""

    budget: int = DEFAULT_BUDGET
    flush_steps: int = 0
    lost_wakeup: bool = False
    fail_after: int | None = None
    busy_poll_limit: int = DEFAULT_BUSY_POLL_LIMIT  # read by the protocol checker
    halt: bool = False  # trap the guest at the first finding of the observer (checking mode)

    def __post_init__(self) -> None:
        if self.budget < 1:
            raise ValueError(f"stream budget must be at least 1 byte, got {self.budget}")
        if self.flush_steps < 0:
            raise ValueError(f"stream flush steps must be >= 0, got {self.flush_steps}")
        if self.fail_after is not None and self.fail_after < 0:
            raise ValueError(f"fail_after must be >= 0 bytes, got {self.fail_after}")
        if self.busy_poll_limit < 1:
            raise ValueError(f"busy_poll_limit must be >= 1, got {self.busy_poll_limit}")

    def describe(self) -> str:
        parts = [f"budget {self.budget} byte{'s' if self.budget != 1 else ''} per check-write",
                 f"flush delay {self.flush_steps} stream operation{'s' if self.flush_steps != 1 else ''}"]
        if self.lost_wakeup:
            parts.append("lost wake-up fault")
        if self.fail_after is not None:
            parts.append(f"fails after {self.fail_after} bytes")
        return ", ".join(parts)


class Device(Protocol):
    """What a stream reads and updates of its world (model.StreamWorld)."""

    config: StreamConfig
    flush_steps: int
    step: int
    delivered_total: int


class OutputStream:
    """One output stream and its host-side state (guarded by the world's lock)."""

    def __init__(self, world: Device, handle: int, name: str, sink: Callable[[bytes], None] | None) -> None:
        self.world = world
        self.handle = handle
        self.name = name
        self.sink = sink
        self.buffer = bytearray()  # written, not flushed yet
        self.flushing = bytearray()  # handed to the flush in flight
        self.flush_issued: int | None = None  # stream operation the flush in flight was issued at
        self.delivered = bytearray()
        self.lost_at_exit = 0
        self.error: str | None = None  # FAILED, then CLOSED
        self.error_reported = False
        self.first_flush_done: int | None = None  # stream operation the first flush completed at
        self.dropped = False

    # -- device state ------------------------------------------------------------------

    def settle(self) -> None:
        """Complete the flush in flight if it is due."""
        if self.flush_issued is None:
            return
        k = self.world.flush_steps
        if k and self.world.step < self.flush_issued + k + 1:
            return
        self.flush_issued = None
        if self.first_flush_done is None:
            self.first_flush_done = self.world.step
        data, self.flushing = bytes(self.flushing), bytearray()
        limit = self.world.config.fail_after
        if limit is not None and self.world.delivered_total + len(data) > limit:
            room = max(0, limit - self.world.delivered_total)
            self._deliver(data[:room])
            self.error = FAILED
            return
        self._deliver(data)

    def _deliver(self, data: bytes) -> None:
        if not data:
            return
        self.delivered += data
        self.world.delivered_total += len(data)
        if self.sink is not None:
            self.sink(data)

    def writable(self) -> bool:
        """check-write would return non-zero or an error (after `settle`)."""
        return self.error is not None or self.flush_issued is None

    def wakeups_lost(self, since: int | None = None) -> bool:
        """Under the lost wake-up fault, readiness never fires for a wait that began (at stream operation
        `since`, default now) after the first flush completed."""
        if not self.world.config.lost_wakeup or self.first_flush_done is None:
            return False
        return self.first_flush_done < (self.world.step if since is None else since)

    def take_error(self) -> str:
        """The error to report now: last-operation-failed once, then closed."""
        assert self.error is not None
        if self.error == FAILED and not self.error_reported:
            self.error_reported = True
            return FAILED
        self.error = CLOSED
        return CLOSED

    # -- operations (host side; the caller records the events) ------------------------------

    def check_write(self) -> int:
        self.settle()
        if self.error is not None:
            raise StreamError(self.take_error())
        return 0 if self.flush_issued is not None else self.world.config.budget

    def write(self, data: bytes) -> None:
        self.settle()
        if self.error is not None:
            raise StreamError(self.take_error())
        self.buffer += data

    def start_flush(self) -> None:
        self.settle()
        if self.error is not None:
            raise StreamError(self.take_error())
        self.flushing += self.buffer
        self.buffer = bytearray()
        if self.flush_issued is None:
            self.flush_issued = self.world.step
        self.settle()

    def in_flight(self) -> bool:
        return self.flush_issued is not None

    def at_exit(self) -> str:
        """What exiting now loses (for the exit event), and account for it."""
        self.settle()
        parts = []
        if self.flush_issued is not None:
            parts.append(f"a flush of {len(self.flushing)} bytes was still in flight (issued at stream operation "
                         f"{self.flush_issued}); the guest did not wait for it")
        lost = len(self.buffer) + len(self.flushing)
        self.lost_at_exit = lost
        return "; ".join(parts)

    def describe_state(self) -> str:
        bits = [f"delivered {len(self.delivered)} bytes"]
        if self.buffer:
            bits.append(f"{len(self.buffer)} bytes written, not flushed")
        if self.flush_issued is not None:
            bits.append(f"a flush of {len(self.flushing)} bytes in flight since stream operation {self.flush_issued}")
        if self.lost_at_exit:
            bits.append(f"{self.lost_at_exit} bytes lost at exit")
        if self.error:
            bits.append(f"error: {self.error}")
        if self.wakeups_lost():
            bits.append(f"wake-ups lost since the first flush completed (stream operation {self.first_flush_done})")
        return "; ".join(bits)


@dataclass(eq=False)
class Pollable:
    """A pollable: of an output stream, or any readiness predicate (clocks, input)."""

    handle: int
    stream: OutputStream | None = None
    ready_fn: Callable[[], bool] | None = None
    deadline_ns: int | None = None  # clock pollables: ready at this monotonic time
    label: str = ""

    def describe(self) -> str:
        if self.stream is not None:
            return f"pollable {self.handle} of {self.stream.name}"
        return f"pollable {self.handle} ({self.label or 'host'})"
