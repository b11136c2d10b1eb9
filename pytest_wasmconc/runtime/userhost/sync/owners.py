"""Who holds or waits on a host sync object: a guest thread of an execution, or a plain Python thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

__all__ = ["GuestOwner", "Owner", "PythonThreadOwner", "plain_owner"]


class Owner(Protocol):
    """Who holds or waits on an object (reports name it by its label)."""

    @property
    def label(self) -> str: ...


@dataclass(frozen=True)
class PythonThreadOwner:
    """A Python thread that is not running a guest's host function."""

    ident: int
    name: str

    @property
    def label(self) -> str:
        return f"Python thread {self.name!r}"


@dataclass(frozen=True)
class GuestOwner:
    """A guest thread as the holder/waiter of a host object.

    `execution` tells apart the same thread id in two executions that share an
    object (a lock made once for a whole exploration).
    """

    execution: int
    tid: int

    @property
    def label(self) -> str:
        return "thread 0 (main)" if self.tid == 0 else f"thread {self.tid}"


def plain_owner() -> PythonThreadOwner:
    """The calling Python thread as an owner."""
    t = threading.current_thread()
    return PythonThreadOwner(threading.get_ident(), t.name)
