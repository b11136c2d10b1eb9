"""Timelines (runtime/timeline/): what the recorder sees, the trace-event JSON it exports, the HTML page.

The JSON is checked against the trace-event format (Google's "Trace Event
Format": the keys every event needs, complete events' durations, metadata
names, flows paired by id) and for what a reader looks for: each thread's
quanta never overlap, the deadlock's cycle, a trap, a race pair. Recording
must not change the execution: the same schedule with and without it.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from pytest_wasmconc import timelines
from pytest_wasmconc.checks.races import RaceCheck, races_of
from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status
from pytest_wasmconc.runtime.timeline import (
    HTML_SUFFIX,
    TRACE_SUFFIX,
    Timeline,
    chrome_trace,
    html_page,
    write_timeline,
)
from pytest_wasmconc.runtime.timeline.model import FAILURE, PARKED, RACE, RUN, WAITS_FOR

GUESTS = Path(__file__).resolve().parents[2] / "guests"
LOCK_ORDER = GUESTS / "c" / "lock_order.wasm"
PHASES = {"X", "i", "M", "s", "f"}


def _deadlock() -> Timeline:
    """lock_order.wasm's deadlock (seed 4 finds it at schedule 2), retraced."""
    runner = Runner(RunSettings(seed=4))
    result = runner.explore(LOCK_ORDER, schedules=50)
    assert result.outcome.status is Status.DEADLOCK
    tl = runner.retrace(runner.load(LOCK_ORDER), GuestIO(), result.outcome, runner.settings)
    assert tl is not None
    return tl


@pytest.fixture(scope="module")
def deadlock() -> Timeline:
    return _deadlock()


def check_trace_events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Assert `doc` is a well-formed trace-event document; its events."""
    assert set(doc) >= {"traceEvents", "displayTimeUnit"}
    events = doc["traceEvents"]
    json.dumps(doc)  # plain JSON values only
    flows: dict[int, list[str]] = defaultdict(list)
    for ev in events:
        assert {"ph", "ts", "pid", "tid", "name"} <= set(ev), ev
        assert ev["ph"] in PHASES, ev
        assert isinstance(ev["ts"], (int, float)) and ev["ts"] >= 0, ev
        if ev["ph"] == "X":
            assert isinstance(ev["dur"], (int, float)) and ev["dur"] >= 0, ev
        elif ev["ph"] == "i":
            assert ev["s"] in ("t", "p", "g"), ev
        elif ev["ph"] == "M":
            assert ev["name"] in ("process_name", "thread_name", "thread_sort_index"), ev
            assert "args" in ev
        else:
            flows[ev["id"]].append(ev["ph"])
    assert all(sorted(phases) == ["f", "s"] for phases in flows.values()), flows
    # One lane per thread: what a thread did (running, parked) never overlaps itself.
    by_thread: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for ev in events:
        if ev["ph"] == "X":
            by_thread[ev["tid"]].append((ev["ts"], ev["ts"] + ev["dur"]))
    for spans in by_thread.values():
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert start >= end - 1e-9, spans
    named = {ev["tid"] for ev in events if ev["ph"] == "M" and ev["name"] == "thread_name"}
    assert {ev["tid"] for ev in events if ev["ph"] == "X"} <= named
    return events


def test_a_deadlock_s_trace_is_valid_and_marks_the_cycle(deadlock: Timeline) -> None:
    events = check_trace_events(chrome_trace(deadlock))
    names = {ev["tid"]: ev["args"]["name"] for ev in events if ev["name"] == "thread_name"}
    assert names == {0: "thread 0 (main)", 1: "thread 1 (spawned by 0)", 2: "thread 2 (spawned by 0)"}
    running = [ev for ev in events if ev["ph"] == "X" and ev["cat"] == RUN]
    assert {ev["tid"] for ev in running} == {0, 1, 2}  # each thread's quanta
    failures = [ev["name"] for ev in events if ev["ph"] == "i" and ev["cat"] == FAILURE]
    assert "deadlock: every live thread is blocked" in failures
    assert "blocked: lock 0x54c (pthread_mutex_lock)" in failures and "blocked: lock 0x534 (pthread_mutex_lock)" \
        in failures
    cycle = {(a.src_tid, a.dst_tid) for a in deadlock.arrows if a.kind == WAITS_FOR}
    assert cycle == {(1, 2), (2, 1)}
    flow_cats = {ev["cat"] for ev in events if ev["ph"] == "s"}
    assert {"spawned", WAITS_FOR} <= flow_cats
    locks = [ev["name"] for ev in events if ev["ph"] == "i" and ev["cat"] == "lock"]
    assert "acquired 0x534" in locks and "acquiring 0x54c" in locks
    assert any(ev.get("cat") == "call" for ev in events)  # WASI calls
    assert deadlock.clock == "virtual" and deadlock.end > 0
    parked = [s for s in deadlock.spans if s.kind == PARKED and s.tid == 0]
    assert parked[-1].label.startswith("pthread_join")  # what main waits in, from its backtrace


def test_the_page_is_self_contained_and_shows_every_thread(deadlock: Timeline, tmp_path: Path) -> None:
    trace, page = write_timeline(deadlock, tmp_path, "lock_order")
    assert trace.name == "lock_order" + TRACE_SUFFIX and page.name == "lock_order" + HTML_SUFFIX
    check_trace_events(json.loads(trace.read_text()))
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, re.I)
    assert "<script" not in text and "<link" not in text and "@import" not in text and "url(http" not in text
    for lane in deadlock.lanes:
        assert lane.name in text
    assert "deadlock" in text and "waits for lock 0x54c, held by thread 2" in text
    assert text.count("<svg") >= 2  # the names column and the lanes


def test_recording_does_not_change_the_schedule() -> None:
    runner = Runner()
    for guest, args, policy in (("mutex_counter", ("10",), "random"), ("lost_update", (), "pct"),
                                ("producer_consumer", ("20", "2"), "rr")):
        program = runner.load(GUESTS / "c" / f"{guest}.wasm")
        settings = RunSettings(seed=11, policy=policy)
        plain = runner.execute(program, GuestIO(args=args), settings)
        traced = runner.execute(program, GuestIO(args=args), settings, timeline=True)
        assert plain.timeline is None and traced.timeline is not None
        assert (plain.status, plain.exit_code, plain.steps, plain.decisions, plain.slices, plain.stdout) == \
            (traced.status, traced.exit_code, traced.steps, traced.decisions, traced.slices, traced.stdout), guest
        check_trace_events(chrome_trace(traced.timeline))


def test_a_trap_is_marked_on_the_thread_that_trapped() -> None:
    runner = Runner(RunSettings(seed=1))
    outcome = runner.run(GUESTS / "wat" / "trap_worker_main_waiting.wasm", timeline=True)
    assert outcome.status is Status.TRAPPED and outcome.timeline is not None
    marks = [i for i in outcome.timeline.instants if i.kind == FAILURE]
    assert [(m.tid, m.label.split(":")[0]) for m in marks] == [(outcome.trap_thread, "trap")]
    check_trace_events(chrome_trace(outcome.timeline))


def test_a_race_pair_is_marked_with_an_arrow_between_its_threads() -> None:
    runner = Runner(RunSettings(seed=3))
    outcome = runner.run(GUESTS / "c" / "lost_update.wasm", extensions=[RaceCheck()], timeline=True)
    found = races_of(outcome)
    assert found is not None and outcome.timeline is not None
    tl = outcome.timeline
    timelines.mark_checks(tl, outcome)
    pair = [a for a in tl.arrows if a.kind == RACE]
    assert pair and all(a.src_tid != a.dst_tid for a in pair)
    assert any(i.kind == FAILURE and i.label.startswith("data race on 0x") for i in tl.instants)
    assert tl.failed and "data race on 0x" in html_page(tl)


@pytest.mark.parametrize("mode", [Preempt.EPOCH, Preempt.OS])
def test_epoch_and_os_mode_record_wall_time_as_they_run(mode: Preempt) -> None:
    runner = Runner(RunSettings(preempt=mode, seed=2))
    outcome = runner.run(GUESTS / "c" / "mutex_counter.wasm", GuestIO(args=("10",)), timeline=True)
    assert outcome.status is Status.EXITED and outcome.timeline is not None
    tl = outcome.timeline
    assert tl.clock == "wall" and tl.mode == mode.value
    assert {lane.tid for lane in tl.lanes} == {0, 1, 2}
    assert {s.tid for s in tl.spans if s.kind == RUN} == {0, 1, 2}
    check_trace_events(chrome_trace(tl))


def test_a_long_execution_keeps_its_last_events() -> None:
    from pytest_wasmconc.runtime.timeline import recorder

    runner = Runner(RunSettings(seed=5))
    program = runner.load(GUESTS / "c" / "mutex_counter.wasm")
    full = runner.execute(program, GuestIO(args=("10",)), runner.settings, timeline=True).timeline
    assert full is not None
    saved = recorder.MAX_EVENTS
    try:
        recorder.MAX_EVENTS = 40
        cut = runner.execute(program, GuestIO(args=("10",)), runner.settings, timeline=True).timeline
    finally:
        recorder.MAX_EVENTS = saved
    assert cut is not None and cut.end == full.end
    assert any("were dropped" in n for n in cut.notes)
    check_trace_events(chrome_trace(cut))
