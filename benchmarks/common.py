"""Shared by the benchmark modules: paths, the import of the project, interleaved timing."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUESTS = ROOT / "guests"

try:  # an installed (or PYTHONPATH) pytest_wasmconc wins; a bare checkout falls back to ROOT
    import pytest_wasmconc  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT))


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleaved(variants: Mapping[str, Callable[[], object]], rounds: int, reps: int = 1) -> dict[str, list[float]]:
    """Wall time of every variant in each round (of `reps` calls back to back), in rotating order.

    Each round runs every variant once, back to back, so a burst of load from the
    rest of the (shared) machine hits the variants of one round alike; ratios are
    then taken per round and their median reported ("medians of pairs").
    """
    keys = list(variants)
    times: dict[str, list[float]] = {k: [] for k in keys}
    for i in range(rounds):
        shift = i % len(keys)
        for key in keys[shift:] + keys[:shift]:
            times[key].append(timed(_repeated(variants[key], reps)))
    return times


def _repeated(fn: Callable[[], object], reps: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(reps):
            fn()

    return run


def reps_for(fn: Callable[[], object], min_sample: float) -> int:
    """Calls per timed sample so that one sample lasts about `min_sample` seconds.

    A 15 ms kernel timed once is at the mercy of one scheduler tick of a busy
    machine; repeating it inside the sample averages that out (the ratio stays per call).
    """
    return max(1, round(min_sample / max(timed(fn), 1e-6)))


def median_ratio(num: list[float], den: list[float]) -> float:
    return statistics.median(n / d for n, d in zip(num, den))
