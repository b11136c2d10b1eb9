"""Execution differential of the instrumenter, CI size (scripts/fuzz_instrument.py
is the long run): original and instrumented modules run every numeric export
under a fuel limit and must give the same results, traps and memory contents,
with single-threaded reference host functions standing in for the runtime."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import fuzz_instrument as fz


@pytest.mark.parametrize("seed", range(0, 40, 20))
def test_wait_notify_dense_modules_execute_identically(seed: int) -> None:
    compared = 0
    for s in range(seed, seed + 20):
        v = fz.check_module(fz.template_module(s), s)
        assert v.ok, f"template seed {s}: {v.detail}"
        compared += v.compared
    assert compared > 50


@pytest.mark.parametrize("config", sorted(fz.CONFIGS))
def test_smith_modules_execute_identically(config: str) -> None:
    compared = 0
    for seed in range(25):
        wasm = fz.smith(config, seed)
        if wasm is None:
            continue
        v = fz.check_module(wasm, seed)
        assert v.ok, f"{config} seed {seed}: {v.detail}"
        compared += v.compared
    assert compared > 0


def test_every_guest_instruments_to_a_valid_module() -> None:
    guests = fz.guest_modules()
    assert len(guests) > 20
    for p in guests:
        v = fz.check_guest(p)
        assert v.ok, v.detail


def test_a_wrong_host_result_is_caught() -> None:
    """The differential is not vacuous: a notify that claims a woken waiter shows."""

    class Broken(fz.ReferenceHost):
        def notify(self, m64: bool):  # type: ignore[no-untyped-def]
            f = super().notify(m64)
            return lambda *a: f(*a) + 1

    real = fz.ReferenceHost
    fz.ReferenceHost = Broken  # type: ignore[misc]
    try:
        bad = [s for s in range(40) if not fz.check_module(fz.template_module(s), s).ok]
    finally:
        fz.ReferenceHost = real  # type: ignore[misc]
    assert bad
