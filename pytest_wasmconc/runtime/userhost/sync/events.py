"""LockEvent: the one event every host lock reports, to `observe()` callbacks and to the execution's checks.

The sync objects of this package (Lock, RLock, Semaphore) and the deprecated
`HostLock` emit it; the lock-order check reads it (checks/lock_order/).
Inside a guest's host function an event goes to the global observers first,
then to the execution's observers through `HostCall.emit`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .owners import Owner

__all__ = ["KINDS", "LockEvent", "Lockable", "observe", "observed", "publish"]

# "before": a blocking acquire starts; "acquired": it succeeded; "try-acquired": a
# non-blocking acquire succeeded (it never waited, so it orders nothing); "released".
KINDS = frozenset({"before", "acquired", "try-acquired", "released"})


class Lockable(Protocol):
    """What an event's lock tells observers about itself."""

    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str:
        """How reports name it: "host lock 'db'"."""
        ...


@dataclass(frozen=True, eq=False)
class LockEvent:
    """What a host lock did.

    `owner` is the guest thread (`GuestOwner`) or a `PythonThreadOwner` (None
    when the emitter does not know it); `function` is the user host function
    running ("host.query"), None outside one.
    """

    kind: str
    lock: Lockable
    owner: Owner | None = None
    function: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown lock event kind {self.kind!r} (one of {', '.join(sorted(KINDS))})")

    @property
    def name(self) -> str:
        return self.lock.name


_observers: list[Callable[[LockEvent], None]] = []


def observe(callback: Callable[[LockEvent], None]) -> Callable[[], None]:
    """Call `callback` with a LockEvent for every host lock operation; returns a function that stops it.

    Callbacks run on the thread doing the operation, after it succeeded, with no
    internal lock held. They must not block.
    """
    _observers.append(callback)

    def stop() -> None:
        try:
            _observers.remove(callback)
        except ValueError:
            pass

    return stop


def observed() -> bool:
    """Is anyone observing (else an event need not even be made)?"""
    return bool(_observers)


def publish(event: LockEvent) -> None:
    """Hand `event` to every `observe()` callback."""
    for cb in tuple(_observers):  # a snapshot: callbacks may (un)subscribe meanwhile
        cb(event)
