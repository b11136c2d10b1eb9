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


def interleaved(variants: Mapping[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Wall time of every variant in each round, in rotating order.

    Each round runs every variant once, back to back, so a burst of load from the
    rest of the (shared) machine hits the variants of one round alike; ratios are
    then taken per round and their median reported ("medians of pairs").
    """
    keys = list(variants)
    times: dict[str, list[float]] = {k: [] for k in keys}
    for i in range(rounds):
        shift = i % len(keys)
        for key in keys[shift:] + keys[:shift]:
            times[key].append(timed(variants[key]))
    return times


def median_ratio(num: list[float], den: list[float]) -> float:
    return statistics.median(n / d for n, d in zip(num, den))
