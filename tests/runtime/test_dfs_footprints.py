"""What the dfs policy's loads tell its search about each step (instrument/footprints.py, drivers/footprints.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import wasmtime

from pytest_wasmconc.runtime import GuestIO, Outcome, Runner, RunSettings
from pytest_wasmconc.runtime.drivers.driving import SEARCH_FOOTPRINTS, SEARCH_PICKS
from pytest_wasmconc.runtime.loading import saved
from pytest_wasmconc.runtime.loading.program import load_program
from pytest_wasmconc.schedulers.dfs import Footprint

# A worker whose steps are one announced operation each, and a main thread with the operations whose effect
# no footprint describes. Memory 1..1: memory.grow fails, but is still a step's unknown operation.
GUEST = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  (func (export "wasi_thread_start") (param i32 i32)
    (i32.store (i32.const 256) (i32.const 7))
    (drop (i32.atomic.rmw.add offset=8 (i32.const 512) (i32.const 1)))
    (drop (i64.load (i32.const 1024)))
    (drop (memory.atomic.notify (i32.const 2048) (i32.const 1)))
    (i32.store16 offset=2 (i32.const 3072) (i32.const 1))
    (drop (i32.atomic.load (i32.const 3328))))
  (func (export "_start")
    (drop (call $spawn (i32.const 0)))
    (drop (i32.load8_u (i32.const 4096)))
    (drop (memory.grow (i32.const 1)))
    (drop (i32.load (i32.const 4100)))
    (drop (call $yield))
    (drop (i32.load (i32.const 4104)))
    (drop (i32.load (i32.const 4108)))))"""


def _bytes(start: int, size: int, write: bool) -> frozenset[tuple[int, bool]]:
    return frozenset((b, write) for b in range(start, start + size))


def _steps(runner: Runner, guest: bytes, decisions: tuple[int, ...] = ()) -> dict[int, list[Footprint]]:
    """Each thread's chosen steps' footprints, in order."""
    settings = runner.settings.with_(decisions=decisions)
    outcome = runner.execute(runner.load(guest, settings), GuestIO(), settings)
    assert outcome.exit_code == 0, outcome.report
    out: dict[int, list[Footprint]] = {}
    for pick, fp in zip(outcome.extra[SEARCH_PICKS], outcome.extra[SEARCH_FOOTPRINTS], strict=True):
        out.setdefault(pick.chosen, []).append(fp)
    return out


def test_each_step_is_the_access_its_point_announced_and_what_it_did_besides() -> None:
    runner = Runner(RunSettings(policy="dfs"))
    guest = bytes(wasmtime.wat2wasm(GUEST))
    # Main runs first (no preemption) to its end, then the worker alone; preempt main right after its spawn
    # instead, so the worker's steps are decisions too: the first decision with a choice, then the worker.
    main_first = _steps(runner, guest)
    assert 1 not in main_first or all(fp is None for fp in main_first[1])
    worker = _steps(runner, guest, (1,))[1]
    # Its first steps are unknown: a new thread, then the start of its call (nothing announced it).
    assert worker[:2] == [None, None]
    assert worker[2:] == [
        _bytes(256, 4, True),  # i32.store
        _bytes(520, 4, True),  # i32.atomic.rmw.add offset=8: written
        _bytes(1024, 8, False) | _bytes(2048, 4, True),  # i64.load, then the notify of the same step
        _bytes(3074, 2, True),  # i32.store16 offset=2
        None,  # i32.atomic.load, then the thread's end: a step no other commutes with
    ]


def test_host_calls_and_memory_grow_make_a_step_unknown_and_what_follows_a_host_call_is_private() -> None:
    runner = Runner(RunSettings(policy="dfs"))
    guest = bytes(wasmtime.wat2wasm(GUEST))
    # Main continues while the worker exists: preempt nothing, but make the worker's spawn a decision first.
    main = _steps(runner, guest, (0,))[0]
    # After the spawn (it announces what follows it: the thread's own code), the load of 4096 with
    # memory.grow in its step (unknown), the load of 4100.
    assert main[:3] == [frozenset(), None, _bytes(4100, 4, False)]
    # The host call's steps (sched_yield also yields inside) are unknown; after the point that follows the
    # call comes the thread's own code up to the load of 4104, then that load; the last step ends the thread.
    assert main[-3:] == [frozenset(), _bytes(4104, 4, False), None]
    assert len(main) > 6 and all(fp is None for fp in main[3:-3])


def test_only_the_dfs_policy_at_the_shared_level_loads_with_footprints_and_the_caches_tell_them_apart() -> None:
    guest = bytes(wasmtime.wat2wasm(GUEST))
    dfs = Runner(RunSettings(policy="dfs"))
    assert dfs.load(guest).footprints
    assert not Runner(RunSettings(policy="random")).load(guest).footprints
    assert not Runner(RunSettings(policy="dfs", level="atomics")).load(guest).footprints
    engine = dfs.settings.engine
    plain = load_program(guest, engine, level="shared")
    marked = load_program(guest, engine, level="shared", footprints=True)
    assert plain is not marked and plain.wasm != marked.wasm
    assert load_program(guest, engine, level="shared") is plain  # each kept under its own key
    assert load_program(marked, engine, level="shared") is not marked  # a Program of the other kind loads again
    digest = hashlib.sha256(guest).digest()
    assert saved.entry_key(digest, engine, "shared", frozenset(), True) != saved.entry_key(digest, engine, "shared",
                                                                                             frozenset())


def test_at_another_level_every_step_is_unknown() -> None:
    """Below the shared level plain accesses are no points: a step may touch what nothing announced."""
    runner = Runner(RunSettings(policy="dfs", level="atomics"))
    steps = _steps(runner, bytes(wasmtime.wat2wasm(GUEST)), (1,))
    assert all(fp is None for fps in steps.values() for fp in fps)


GUESTS = Path(__file__).resolve().parents[2] / "guests" / "dfs"


@pytest.mark.parametrize(("name", "outcomes"), [("lost_updates", {11, 12, 21, 22}), ("store_buffering", {1, 2, 3})])
def test_the_reduction_reaches_every_outcome_of_the_whole_search(name: str, outcomes: set[int]) -> None:
    """Small WAT guests (guests/dfs/NAME.wat, built): plain races, waits and notifies, overlapping accesses."""
    guest = str(GUESTS / f"{name}.wasm")
    reached: dict[bool, set[int | None]] = {}
    counts: dict[bool, int] = {}
    for reduction in (True, False):
        seen: set[int | None] = set()

        def note(o: Outcome, seen: set[int | None] = seen) -> bool:
            seen.add(o.exit_code)
            return False

        result = Runner(RunSettings(policy="dfs")).explore(guest, schedules=10_000, preemption_bound=2,
                                                           reduction=reduction, is_failure=note, expect_exit=None)
        assert result.statement is not None and result.statement.startswith("explored all"), result.statement
        reached[reduction], counts[reduction] = seen, result.schedules_run
    assert reached[True] == reached[False] == outcomes
    assert counts[True] <= counts[False]
