"""The stream guests (core modules and components) under every budget, flush delay and mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_wasmconc.runtime import Outcome, Preempt, Runner, RunSettings, Status
from pytest_wasmconc.checks.streams import StreamCheck, StreamConfig, verdict_of

GUESTS = Path(__file__).resolve().parents[3] / "guests"
LOOP_OUTPUT = b"".join(b"line %03d\n" % i for i in range(200))
C_LINE = b"component line %03d: the quick brown fox jumps over the lazy dog\n"
KINDS = ["streams", "components"]  # core modules with wasmconc_streams, and WASI 0.2 components
MODES = [Preempt.FUEL, Preempt.OS]
BACKPRESSURE = [(4096, 0), (1, 0), (3, 1), (7, 3), (64, 8)]


def run(path: Path, preempt: Preempt = Preempt.FUEL, args: tuple[str, ...] = (), **config: object) -> Outcome:
    from pytest_wasmconc.runtime import GuestIO

    check = StreamCheck(StreamConfig(**config))  # type: ignore[arg-type]
    return Runner(RunSettings(preempt=preempt)).run(path, GuestIO(args=args), extensions=[check])


def stdout_of(outcome: Outcome) -> bytes:
    verdict = verdict_of(outcome)
    assert verdict is not None
    return verdict.output("stdout")


@pytest.mark.parametrize("preempt", MODES, ids=lambda p: p.value)
@pytest.mark.parametrize("budget,flush_steps", BACKPRESSURE)
@pytest.mark.parametrize("kind", KINDS)
def test_the_correct_loop_passes_with_identical_output_under_any_backpressure(
        kind: str, budget: int, flush_steps: int, preempt: Preempt) -> None:
    o = run(GUESTS / kind / "stream_loop.wasm", preempt, budget=budget, flush_steps=flush_steps)
    verdict = verdict_of(o)
    assert verdict is not None and not verdict.failed, verdict.text
    assert o.status is Status.EXITED and o.exit_code == 0
    assert stdout_of(o) == LOOP_OUTPUT
    if kind == "components":
        assert o.stdout_bytes == LOOP_OUTPUT  # a component's stdout is its observed stream


@pytest.mark.parametrize("preempt", MODES, ids=lambda p: p.value)
@pytest.mark.parametrize("budget,flush_steps", BACKPRESSURE)
def test_a_real_c_component_prints_hundreds_of_lines_under_any_backpressure(
        budget: int, flush_steps: int, preempt: Preempt) -> None:
    o = run(GUESTS / "components" / "stream_lines.wasm", preempt, budget=budget, flush_steps=flush_steps)
    verdict = verdict_of(o)
    assert verdict is not None and not verdict.failed, verdict.text
    assert o.status is Status.EXITED and o.exit_code == 0
    assert o.stdout_bytes == b"".join(C_LINE % i for i in range(300))
    kinds = {e.kind for e in verdict.world.events_of("stdout")}  # type: ignore[union-attr]
    assert kinds == {"open", "blocking-write-and-flush", "exit"}  # what the preview1 adapter does


def test_the_c_component_passes_its_arguments() -> None:
    o = run(GUESTS / "components" / "stream_lines.wasm", args=("3",))
    assert o.stdout_bytes == b"".join(C_LINE % i for i in range(3))


BROKEN = [
    # guest, backpressure, the violation, the guest function it is reported in
    ("stream_no_flush", {}, "unflushed-at-exit", None),
    ("stream_stale_pollable", {}, "stale-pollable", "wait_stale"),
    ("stream_stale_pollable", {"flush_steps": 3}, "stale-pollable", "wait_stale"),
    ("stream_beyond_permit", {"budget": 4}, "write-beyond-permit", "write_line"),
    ("stream_one_shot", {}, "write-without-permit", "write_line"),
    ("stream_busy_poll", {"flush_steps": 3}, "busy-poll", "write_line"),
    ("stream_ignores_error", {"fail_after": 50}, "write-after-error", "write_line"),
]


@pytest.mark.parametrize("preempt", MODES, ids=lambda p: p.value)
@pytest.mark.parametrize("guest,config,violation,function", BROKEN, ids=[f"{b[0]}-{b[2]}" for b in BROKEN])
@pytest.mark.parametrize("kind", KINDS)
def test_each_broken_variant_is_flagged_with_the_right_violation(
        kind: str, guest: str, config: dict[str, int], violation: str, function: str | None,
        preempt: Preempt) -> None:
    o = run(GUESTS / kind / f"{guest}.wasm", preempt, **config)
    verdict = verdict_of(o)
    assert verdict is not None and verdict.failed
    first = verdict.violations[0]
    assert first.kind == violation and first.stream == "stdout"
    assert f"{violation} at event #{first.index} on stdout" in verdict.text
    assert "stream history (" in verdict.text
    if function is None:  # found at exit, after main returned: no frame to show
        assert o.status is Status.EXITED
        assert "guest backtrace: none (the guest returned from its entry point)" in verdict.text
    else:  # the guest stopped at the very call that broke the rule
        assert o.status is Status.TRAPPED and "stream protocol violation" in (o.trap_message or "")
        backtrace = verdict.text.split("guest backtrace", 1)[1]
        assert f"at {function} (" in backtrace


def test_the_violating_event_index_points_at_the_offending_call() -> None:
    o = run(GUESTS / "streams" / "stream_one_shot.wasm")
    verdict = verdict_of(o)
    assert verdict is not None
    v = verdict.violations[0]
    event = next(e for e in verdict.world.events if e.index == v.index)  # type: ignore[union-attr]
    assert (event.kind, event.arg) == ("write", 9)
    assert f"    #{v.index} t0 write(9)" in verdict.text


def test_unflushed_bytes_are_lost_at_exit() -> None:
    o = run(GUESTS / "streams" / "stream_no_flush.wasm")
    assert stdout_of(o) == b""
    assert "1800 bytes written (last at event #401) were never flushed" in verdict_of(o).text  # type: ignore[union-attr]


def test_busy_polling_is_not_seen_when_flushes_complete_at_once() -> None:
    o = run(GUESTS / "streams" / "stream_busy_poll.wasm", flush_steps=0)
    verdict = verdict_of(o)
    assert verdict is not None and not verdict.failed and stdout_of(o) == LOOP_OUTPUT


@pytest.mark.parametrize("preempt", MODES, ids=lambda p: p.value)
@pytest.mark.parametrize("guest", ["streams/stream_loop.wasm", "components/stream_loop.wasm",
                                   "components/stream_lines.wasm"])
def test_under_the_lost_wakeup_fault_the_hang_is_reported_not_stuck(guest: str, preempt: Preempt) -> None:
    o = run(GUESTS / guest, preempt, lost_wakeup=True, flush_steps=2)
    # A deadlock, found when the last thread parked: a run left stuck would end as a HANG.
    assert o.status is Status.DEADLOCK, o.report
    verdict = verdict_of(o)
    assert verdict is not None and verdict.hang and not verdict.violations
    main = o.threads[0]
    assert main.state == "parked" and "lost wake-up fault" in (main.waiting_on or "")
    assert main.frames  # the guest backtrace of the wait
    text = verdict.text
    assert "the guest deadlocked with its streams in this state" in text
    assert "wake-ups lost since the first flush completed" in text and "stream history (" in text
    delivered = stdout_of(o)
    first_line = b"line 000\n" if "stream_loop" in guest else b"component line 000"
    assert delivered.startswith(first_line[:9]) and len(delivered) < 100  # hung after the first write


def test_the_c_components_hang_shows_the_c_frames() -> None:
    o = run(GUESTS / "components" / "stream_lines.wasm", lost_wakeup=True)
    frames = " ".join(o.threads[0].frames)
    for fn in ("blocking-write-and-flush", "fd_write", "printf", "main"):
        assert fn in frames


@pytest.mark.parametrize("kind", KINDS)
def test_fuel_mode_is_deterministic_event_for_event(kind: str) -> None:
    def history() -> list[str]:
        o = run(GUESTS / kind / "stream_loop.wasm", budget=5, flush_steps=3)
        return [e.render() for e in verdict_of(o).world.events]  # type: ignore[union-attr]

    assert history() == history()


@pytest.mark.parametrize("kind", KINDS)
def test_an_expected_sequence_passes_or_names_the_first_event_that_does_not_fit(kind: str) -> None:
    path = GUESTS / kind / "stream_loop.wasm"
    ok = Runner(RunSettings()).run(path, extensions=[StreamCheck(
        StreamConfig(budget=5, flush_steps=2),
        expect="((check-write write){2} flush subscribe poll ready)+")])
    assert not verdict_of(ok).failed  # type: ignore[union-attr]
    bad = Runner(RunSettings()).run(path, extensions=[StreamCheck(
        StreamConfig(budget=5, flush_steps=2), expect="(check-write write flush subscribe poll ready)+")])
    text = verdict_of(bad).text  # type: ignore[union-attr]
    assert "stream sequence mismatch: stdout: event #4 (check-write(5), the 3rd stdout event)" in text
    assert "expected flush" in text


def test_without_checking_the_streams_are_only_observed() -> None:
    o = Runner(RunSettings()).run(GUESTS / "streams" / "stream_one_shot.wasm",
                                  extensions=[StreamCheck(check=False)])
    verdict = verdict_of(o)
    assert o.status is Status.EXITED and verdict is not None and not verdict.failed
    assert verdict.output() == LOOP_OUTPUT  # the host lets it write; nothing is judged
