"""A bounded, thread-safe log of the WASI calls guests made."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import TypeAlias

from .errno import Errno

__all__ = ["Trace", "TraceEntry"]

# An errno (int), or a description for calls that did not return one:
# "exit(3)" for proc_exit, "trap: ..." for a trap.
TraceResult: TypeAlias = int | str


@dataclass(frozen=True)
class TraceEntry:
    thread_id: int
    call: str
    args: tuple[int, ...]
    result: TraceResult

    def __str__(self) -> str:
        args = ", ".join(str(a) for a in self.args)
        return f"[t{self.thread_id}] {self.call}({args}) -> {self.result}"

    def explain(self) -> str:
        """As `str`, with the errno's name after a failing result: `... -> 8 (EBADF)`."""
        text = str(self)
        if isinstance(self.result, int) and 0 < self.result < len(Errno):
            err = Errno(self.result)
            text += " (E2BIG)" if err is Errno.TOOBIG else f" (E{err.name})"
        return text


class Trace:
    """Keeps the last `limit` entries (the tail is what explains a failure)."""

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._entries: deque[TraceEntry] = deque(maxlen=max(limit, 0))
        self.dropped = 0

    def add(self, entry: TraceEntry) -> None:
        with self._lock:
            if self._entries.maxlen == 0:
                self.dropped += 1
                return
            if len(self._entries) == self._entries.maxlen:
                self.dropped += 1
            self._entries.append(entry)

    def entries(self) -> list[TraceEntry]:
        with self._lock:
            return list(self._entries)
