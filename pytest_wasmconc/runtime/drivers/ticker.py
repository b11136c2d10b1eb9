"""A background thread that advances an engine's epoch at a fixed period.

Epoch mode slices guest threads by these ticks; the OS-thread mode uses them
so that a thread spinning in wasm reaches its epoch check and can be stopped
when the guest ends. The thread mostly sleeps, so it does not compete for
the GIL with the scheduler (a busy Python thread would take the GIL from it at every switch interval).
"""

from __future__ import annotations

import threading

import wasmtime

__all__ = ["EpochTicker"]


class EpochTicker:
    _instances: dict[tuple[int, float], EpochTicker] = {}
    _class_lock = threading.Lock()

    def __init__(self, engine: wasmtime.Engine, period_ms: float) -> None:
        self.engine = engine
        self.period = period_ms / 1000.0
        self._users = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def shared(cls, engine: wasmtime.Engine, period_ms: float) -> EpochTicker:
        key = (id(engine), period_ms)
        with cls._class_lock:
            t = cls._instances.get(key)
            if t is None:
                t = cls(engine, period_ms)
                cls._instances[key] = t
            return t

    def acquire(self) -> None:
        with self._lock:
            self._users += 1
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="wasmconc-epoch", daemon=True)
                self._thread.start()

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users > 0 or self._thread is None:
                return
            thread, self._thread = self._thread, None
            self._stop.set()
        thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.engine.increment_epoch()
