"""Runner.explore_plan loads each way of loading the guest once and reuses it: same schedules as fresh loads.

The default exploration's plan (directed.py) loads the guest with the discovery's race pass,
then with hot sites; explore_plan keeps one Program per (engine, level, hot sites, pass keys)
instead of instrumenting again for every schedule. Reuse must not change a single decision:
every schedule of the plan, run with fresh loads (Runner.run, the way explore_plan ran them
before), must end the same way, with the same decisions, quanta, output and token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_wasmconc.checks.streams import StreamCheck, StreamConfig
from pytest_wasmconc.directed import DirectedPlan
from pytest_wasmconc.runtime import GuestIO, Outcome, Runner, RunSettings

GUESTS = Path(__file__).resolve().parents[2] / "guests"
SCHEDULES = 24  # lead, discovery (race pass), pilot and directed positions (hot sites) all come up


def _fingerprint(o: Outcome) -> tuple[Any, ...]:
    return (o.status, o.exit_code, o.stdout, o.stderr, o.decisions, o.slices, o.steps, o.token)


def _plan(seed: int) -> tuple[RunSettings, DirectedPlan]:
    base = RunSettings(seed=seed, policy="portfolio")
    # the CLI's world: the stream check, observing only (it has no load pass)
    return base, DirectedPlan(base, [StreamCheck(StreamConfig(), check=False)])


def _with_reuse(runner: Runner, guest: Path, io: GuestIO, seed: int) -> tuple[list[tuple[Any, ...]], DirectedPlan]:
    seen: list[tuple[Any, ...]] = []
    _, plan = _plan(seed)

    def record(o: Outcome) -> bool:
        seen.append(_fingerprint(o))
        return False  # never stop: every position runs

    runner.explore_plan(guest, io, plan, schedules=SCHEDULES, is_failure=record)
    return seen, plan


def _fresh(runner: Runner, guest: Path, io: GuestIO, seed: int) -> list[tuple[Any, ...]]:
    """The plan's schedules, each loading the guest anew (with its extensions' passes)."""
    _, plan = _plan(seed)
    seen = []
    for position in range(SCHEDULES):
        planned = plan.next_run(position)
        o = runner.run(guest, io, settings=planned.settings, extensions=planned.extensions)
        plan.observe(position, o)
        seen.append(_fingerprint(o))
    return seen


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("guest", "args"), [("races/lost_update_pair.wasm", []),
                                             ("libc/mutex_many_threads.wasm", ["3", "5"])])
def test_reused_programs_run_the_plans_schedules_exactly(guest: str, args: list[str], seed: int) -> None:
    runner = Runner()
    io = GuestIO(args=args)
    reused, plan = _with_reuse(runner, GUESTS / guest, io, seed)
    assert reused == _fresh(runner, GUESTS / guest, io, seed)
    if guest.startswith("races/"):
        assert plan.hot_sites  # the directed schedules ran on the program loaded with hot sites
