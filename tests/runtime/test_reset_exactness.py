"""The reset path (runtime/machine/reuse.py) runs every schedule exactly as a fresh execution does.

An exploration keeps its shared memory, linker and instances between schedules and resets them
(memory zeroed, globals written back, the start function called again); within one execution a
finished thread's instance serves a thread spawned later. Each test explores a guest twice with the
same seeds, once with the reset path on (the default) and once off (`Runner.reuse_instances`), and
compares every schedule: status, exit code, output, decisions, quanta, steps, trap message and token.
The counts say which path ran: every guest here runs on a kept world from its second schedule on,
real wasi-libc guests too, although they grow their memory in every schedule (malloc's sbrk) and a
shared memory cannot shrink: the reset path loads them with a virtual memory size
(instrument/vmem.py), so the size the guest sees goes back to the initial one. With the reset path
off the guest is loaded without that pass: the comparison is with the plain program on a fresh
memory. scripts/reset_exactness.py runs 1,000 schedules of every real-libc guest of the corpus;
`test_every_real_libc_guest_of_the_sweep_runs_on_kept_worlds_exactly` is its smaller version.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pytest_wasmconc.checks.races import RaceCheck
from pytest_wasmconc.checks.streams import StreamCheck, StreamConfig
from pytest_wasmconc.directed import DirectedPlan
from pytest_wasmconc.runtime import GuestIO, Outcome, Runner, RunSettings, Status

REPO = Path(__file__).resolve().parents[2]
GUESTS = REPO / "guests"
sys.path.insert(0, str(REPO / "scripts"))
from reset_exactness import DIRS, SWEEP  # noqa: E402 (the sweep's guests, from the script)


def _fingerprint(o: Outcome) -> tuple[Any, ...]:
    return (o.status, o.exit_code, o.stdout_bytes, o.stderr_bytes, o.decisions, o.slices, o.steps,
            o.trap_message, o.token)


def _explore(guest: str, args: list[str], schedules: int, *, reuse: bool, policy: str = "random",
             max_steps: int | None = None) -> tuple[list[tuple[Any, ...]], Counter[str]]:
    settings = RunSettings(policy=policy, seed=11)
    runner = Runner(settings if max_steps is None else settings.with_(max_steps=max_steps))
    runner.reuse_instances = reuse
    seen: list[tuple[Any, ...]] = []
    runner.explore(GUESTS / guest, GuestIO(args=args, dirs=DIRS.get(guest, [])), schedules=schedules, expect_exit=None,
                   progress=lambda _n, o: seen.append(_fingerprint(o)), is_failure=lambda _o: False)
    return seen, runner.reuse_counts


def _assert_same(guest: str, args: list[str], schedules: int, policy: str = "random",
                 max_steps: int | None = None) -> Counter[str]:
    fresh, off = _explore(guest, args, schedules, reuse=False, policy=policy, max_steps=max_steps)
    reset, counts = _explore(guest, args, schedules, reuse=True, policy=policy, max_steps=max_steps)
    assert not off  # the switch turns the reset path off
    assert len(fresh) == len(reset) == schedules
    for i, (a, b) in enumerate(zip(fresh, reset)):
        assert a == b, f"schedule {i} of {guest} {args} differs with the reset path"
    return counts


# Hand-written guests without memory growth: from the second schedule on, each runs on the kept
# world. Their ends cover the ways a run stops: main returns or exits while a worker runs or waits,
# a worker exits, a trap, a deadlock (every thread blocked forever), clock reads, user locks.
# (clock_poll_pair polls the clock for thousands of steps: fewer schedules.)
KEPT_WORLD = [
    ("wat/exit_main_return_worker_busy.wasm", 1000),
    ("wat/exit_main_procexit_worker_waiting.wasm", 1000),
    ("wat/exit_worker_return_main_waiting.wasm", 1000),
    ("wat/exit_worker_procexit_main_busy.wasm", 1000),
    ("wat/trap_worker_main_waiting.wasm", 1000),
    ("wat/deadlock_forever.wasm", 1000),
    ("wat/musl_lock_order.wasm", 1000),
    ("wat/clock_poll_pair.wasm", 150),
    ("wat/user_lock_reports.wasm", 1000),
]


@pytest.mark.parametrize(("guest", "schedules"), KEPT_WORLD)
def test_a_kept_world_runs_every_schedule_as_a_fresh_one(guest: str, schedules: int) -> None:
    counts = _assert_same(guest, [], schedules)
    assert counts["resets"] == schedules - 1 and counts["fresh"] == 1


@pytest.mark.parametrize("guest", ["wat/spin_forever.wasm", "wat/wait_spin_forever.wasm"])
def test_hangs_end_at_the_same_step_on_a_kept_world(guest: str) -> None:
    # the step budget ends them (a small one, for time): every thread stopped where it spun
    counts = _assert_same(guest, [], 200, max_steps=3000)
    assert counts["resets"] == 199


@pytest.mark.parametrize("policy", ["pct", "rr"])
def test_policies_deciding_in_python_see_the_same_executions(policy: str) -> None:
    counts = _assert_same("wat/exit_worker_return_main_waiting.wasm", [], 300, policy=policy)
    assert counts["resets"] == 299


def test_the_bounded_search_enumerates_the_same_schedules() -> None:
    """The dfs policy's search replays decision prefixes: it runs the same schedules, to its end."""
    fresh, _ = _explore("wat/user_lock_reports.wasm", [], 100, reuse=False, policy="dfs")
    reset, counts = _explore("wat/user_lock_reports.wasm", [], 100, reuse=True, policy="dfs")
    assert len(fresh) > 10 and reset == fresh
    assert counts["resets"] == len(fresh) - 1


# Real wasi-libc guests, whose memory grows in every schedule, at 1,000 schedules: the benchmark's
# guest (benchmarks/throughput.py) with 2 threads and 4 (50 rounds of its lock instead of 1,000, for
# the test's time), a race, condition variables with a timed wait that is signalled and one that
# times out. 100 threads (~15 ms a schedule) and the 4-thread guest's 1,000 rounds: fewer here,
# 1,000 in scripts/reset_exactness.py.
@pytest.mark.parametrize(("guest", "args", "schedules"), [
    ("libc/mutex_many_threads.wasm", ["2", "10"], 1000),
    ("libc/mutex_many_threads.wasm", ["4", "50"], 1000),
    ("races/lost_update_pair.wasm", [], 1000),
    ("libc/cond_timedwait_signalled.wasm", ["20"], 1000),
    ("libc/cond_timedwait_timeout.wasm", ["100"], 1000),
    ("libc/mutex_many_threads.wasm", ["100", "1"], 100),
    ("libc/mutex_many_threads.wasm", ["4", "1000"], 50),
])
def test_libc_guests_whose_memory_grows_run_on_kept_worlds_exactly(guest: str, args: list[str],
                                                                   schedules: int) -> None:
    counts = _assert_same(guest, args, schedules)
    assert counts["resets"] == schedules - 1 and counts["fresh"] == 1


@pytest.mark.parametrize(("guest", "args"), SWEEP, ids=lambda c: c if isinstance(c, str) else " ".join(c))
def test_every_real_libc_guest_of_the_sweep_runs_on_kept_worlds_exactly(guest: str, args: list[str]) -> None:
    counts = _assert_same(guest, args, 20)
    assert counts["resets"] == 19


def test_accesses_past_the_end_of_a_memory_grown_before_trap_as_on_a_fresh_memory() -> None:
    """guests/wat/grown_bounds.wat: a prober's accesses race with a grower's `memory.grow`s. On the kept
    world the memory is as large as an earlier schedule grew it; each kind of access beyond the size
    this schedule grew it to must trap as on a fresh memory: plain and atomic ones on the pages the
    reset protected, memory.fill/copy/init by the pass's checks (instrument/vmem.py)."""
    fresh, _ = _explore("wat/grown_bounds.wasm", [], 1000, reuse=False)
    reset, counts = _explore("wat/grown_bounds.wasm", [], 1000, reuse=True)
    assert counts["resets"] == 999
    for i, (a, b) in enumerate(zip(fresh, reset)):
        assert a == b, f"schedule {i} of grown_bounds differs with the reset path"
    # the last letter printed names the access that trapped: every kind did in some schedule
    trapped = {o[2][-1:] for o in reset if o[0] is Status.TRAPPED}
    assert trapped == {b"L", b"S", b"F", b"C", b"I", b"A"}
    assert {o[7] for o in reset if o[0] is Status.TRAPPED} <= {"out of bounds memory access",
                                                               "1: wasm trap: out of bounds memory access"}
    assert any(o[0] is Status.EXITED and o[2] == b"LSFCIAok\n" for o in reset)


def test_threads_spawned_after_others_ended_reuse_their_instances() -> None:
    # malloc-heavy and growing: 20 threads one after another, each in the instance the last one left.
    counts = _assert_same("libc/spawn_join_loop.wasm", ["20"], 200)
    assert counts["reused_instances"] >= 200 * 19 and counts["resets"] == 199


def test_workers_still_returning_when_main_exits_leave_their_instances_to_the_next_schedule() -> None:
    # PCT runs main (joining) as soon as it can: in about a third of its schedules main exits while
    # a worker it joined is still returning from its thread entry, suspended at a scheduling point.
    # Its call is unwound (a trap no report shows) and its instance kept, as a finished one's; the
    # schedules stay those of fresh executions. Before, each such schedule instantiated anew.
    counts = _assert_same("libc/mutex_many_threads.wasm", ["2", "10"], 120, policy="pct")
    assert counts["reused_instances"] == 3 * 119 and counts["resets"] == 119


@pytest.mark.parametrize("guest,args", [("races/lost_update_hits.wasm", []),
                                        ("libc/mutex_many_threads.wasm", ["6", "2"])])
def test_the_race_check_reuses_instances_and_reports_the_same_races(guest: str, args: list[str]) -> None:
    # Its native host functions take each execution's own detector: the kept linker defines them
    # through cells each execution rewrites (runtime/native.py). Before, every schedule under the
    # race check instantiated every thread anew.
    seen: dict[bool, list[tuple[Any, ...]]] = {}
    counts: Counter[str] = Counter()
    for reuse in (False, True):
        check = RaceCheck()
        runner = Runner(RunSettings(policy="random", seed=11))
        runner.reuse_instances = reuse
        out: list[tuple[Any, ...]] = []

        def record(o: Outcome, out: list[tuple[Any, ...]] = out, check: RaceCheck = check) -> bool:
            found = check.inspect(o)
            out.append((*_fingerprint(o), found.message if found is not None else None))
            return False

        runner.explore(GUESTS / guest, GuestIO(args=args), schedules=60, expect_exit=None, extensions=[check],
                       is_failure=record)
        seen[reuse] = out
        counts = runner.reuse_counts
    assert seen[True] == seen[False]
    assert counts["resets"] == 59 and counts["reused_instances"] > 0
    if guest.startswith("races/"):
        assert any(race is not None for *_, race in seen[True])  # the check did find the race


def test_a_trapping_libc_worker_leaves_schedules_unchanged() -> None:
    _assert_same("libc/worker_trap.wasm", [], 300)


def test_the_default_plan_runs_the_same_schedules_with_kept_worlds() -> None:
    """`wasmconc explore`'s plan (directed.py): one pool per way of loading the guest."""
    seen: dict[bool, list[tuple[Any, ...]]] = {}
    counts: Counter[str] = Counter()
    for reuse in (False, True):
        base = RunSettings(seed=5, policy="portfolio")
        plan = DirectedPlan(base, [StreamCheck(StreamConfig(), check=False)])
        runner = Runner(base)
        runner.reuse_instances = reuse
        out: list[tuple[Any, ...]] = []

        def record(o: Outcome, out: list[tuple[Any, ...]] = out) -> bool:
            out.append(_fingerprint(o))
            return False

        runner.explore_plan(GUESTS / "wat/exit_worker_return_main_waiting.wasm", GuestIO(), plan, schedules=40,
                            is_failure=record)
        seen[reuse] = out
        counts = runner.reuse_counts
    assert seen[True] == seen[False]
    assert counts["resets"] > 0
