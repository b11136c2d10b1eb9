"""The shared level in fuel mode: races in windows with no call or atomic in them are found, their
fixed twins never fail, and host calls are points where threads interleave."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_wasmconc import GuestIO, Runner, RunSettings

GUESTS = Path(__file__).resolve().parents[2] / "guests"
RACES = GUESTS / "races"
# One guest of each shape (guests/races/README rows); the rest run in scripts/bug_hunt.py.
BUGGY = ["lost_update_balance", "order_flags", "wrong_lock_bank", "check_act_claim"]


@pytest.mark.parametrize("guest", BUGGY)
def test_the_shared_level_finds_a_race_with_no_scheduling_point_in_its_window(guest: str) -> None:
    found = Runner().explore(RACES / f"{guest}.wasm", schedules=100, settings=RunSettings(level="shared", seed=7))
    assert found.failed, found.summary()


@pytest.mark.parametrize("guest", BUGGY)
def test_the_atomics_level_cannot_preempt_inside_such_a_window(guest: str) -> None:
    """The reason for the shared level: the same exploration one level down never fails."""
    missed = Runner().explore(RACES / f"{guest}.wasm", schedules=100, settings=RunSettings(level="atomics", seed=7))
    assert not missed.failed, missed.outcome.report


@pytest.mark.parametrize("guest", BUGGY)
def test_fixed_twins_pass_every_schedule_at_the_shared_level(guest: str) -> None:
    twin = Runner().explore(RACES / f"{guest}_fixed.wasm", schedules=100,
                            settings=RunSettings(level="shared", seed=11))
    assert not twin.failed, twin.outcome.report


def _orders(level: str, schedules: int) -> set[tuple[tuple[int, int], ...]]:
    orders = set()
    runner = Runner()
    for seed in range(schedules):
        log: list[tuple[int, int]] = []
        imports = {"host": {"step": lambda thread, k, log=log: log.append((thread, k))}}
        outcome = runner.run(GUESTS / "libc" / "host_call_order.wasm", GuestIO(),
                             settings=RunSettings(level=level, seed=seed), imports=imports)
        assert outcome.exit_code == 0, outcome.report
        orders.add(tuple(log))
    return orders


def test_host_calls_are_scheduling_points() -> None:
    # Two threads, two host calls each: 6 orders are possible. Without points around host calls
    # (the waits level) a thread's two calls always ran back to back: 2 orders.
    assert len(_orders("waits", 100)) == 2
    assert len(_orders("atomics", 100)) >= 4
