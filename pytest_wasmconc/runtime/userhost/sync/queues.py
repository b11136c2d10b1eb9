"""Queue: `queue.Queue` (FIFO) whose blocking get/put park guest threads."""

from __future__ import annotations

import collections
import queue as _queue
from collections.abc import Iterator
from typing import Any

from .base import SyncObject
from .context import current_context

__all__ = ["Empty", "Full", "Queue"]

Empty = _queue.Empty
Full = _queue.Full


class Queue(SyncObject):
    """`queue.Queue` (FIFO) whose blocking get/put park guest threads; raises queue.Empty/Full."""

    kind = "host queue"

    def __init__(self, maxsize: int = 0, name: str | None = None, *, external: bool = False) -> None:
        super().__init__(name, external)
        self.maxsize = maxsize
        self._items: collections.deque[Any] = collections.deque()
        self._unfinished = 0

    def _state(self) -> str:
        return f" {len(self._items)}/{self.maxsize or 'inf'} items"

    def _full(self) -> bool:
        return 0 < self.maxsize <= len(self._items)

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return self._full()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        ctx = current_context()
        if ctx is not None:
            ctx.touch(self)
            if block:
                ctx.scheduling_point()
        deadline = self._deadline(ctx, timeout) if block else None
        while True:
            with self._mutex:
                if not self._full():
                    self._items.append(item)
                    self._unfinished += 1
                    wakers = self._changed()
                    break
                if not block:
                    raise Full
            if not self._block(ctx, lambda: not self._full(), deadline,
                               lambda: f"{self.label} (full: {len(self._items)} items)"):
                raise Full
        self._wake(ctx, wakers)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        ctx = current_context()
        if ctx is not None:
            ctx.touch(self)
            if block:
                ctx.scheduling_point()
        deadline = self._deadline(ctx, timeout) if block else None
        while True:
            with self._mutex:
                if self._items:
                    item = self._items.popleft()
                    wakers = self._changed()
                    break
                if not block:
                    raise Empty
            if not self._block(ctx, lambda: bool(self._items), deadline, lambda: f"{self.label} (empty)"):
                raise Empty
        self._wake(ctx, wakers)
        return item

    def put_nowait(self, item: Any) -> None:
        self.put(item, block=False)

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def task_done(self) -> None:
        ctx = current_context()
        with self._mutex:
            if self._unfinished <= 0:
                raise ValueError("task_done() called too many times")
            self._unfinished -= 1
            wakers = self._changed() if self._unfinished == 0 else []
        self._wake(ctx, wakers)

    def join(self) -> None:
        ctx = current_context()
        if ctx is not None:
            ctx.touch(self)
        while self._unfinished:
            self._block(ctx, lambda: self._unfinished == 0, None,
                        lambda: f"{self.label} (join: {self._unfinished} unfinished)")

    def __iter__(self) -> Iterator[Any]:  # a snapshot, for assertions in tests
        with self._mutex:
            return iter(list(self._items))
