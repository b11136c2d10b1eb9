"""The one Check protocol: its defaults change nothing, a check overrides only what it uses."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_wasmconc.checks.no_hang import NoHangCheck
from pytest_wasmconc.checks.streams import StreamCheck, StreamConfig
from pytest_wasmconc.runtime import GuestIO, HostCall, HostFunction, Outcome, Preempt, Runner, RunSettings, Status
from pytest_wasmconc.runtime.extensions import Check, CheckAttachment, CheckFailure, Extension, Rerun, load_passes

GUESTS = Path(__file__).resolve().parents[2] / "guests"
LOST_UPDATE = GUESTS / "c" / "lost_update.wasm"  # racy: what it prints depends on the schedule
DEADLOCK = GUESTS / "wat" / "deadlock_forever.wasm"


def _fuel(seed: int = 7) -> Runner:
    return Runner(RunSettings(preempt=Preempt.FUEL, seed=seed, policy="random"))


def _seen(o: Outcome) -> tuple[object, ...]:
    """What a check must not change about an execution (its schedule included)."""
    return (o.status, o.exit_code, o.stdout_bytes, o.stderr_bytes, o.steps, o.decisions, o.slices, o.token,
            [(t.tid, t.state, t.frames) for t in o.threads], o.extra)


def test_a_check_that_overrides_nothing_changes_no_outcome() -> None:
    for seed in (1, 7, 23):
        plain = _fuel(seed).run(LOST_UPDATE)
        checked = _fuel(seed).run(LOST_UPDATE, extensions=[Check()])
        assert _seen(checked) == _seen(plain)
    assert _seen(_fuel().run(DEADLOCK, extensions=[Check()])) == _seen(_fuel().run(DEADLOCK))
    assert _fuel().run(DEADLOCK).status is Status.DEADLOCK


def test_a_check_that_overrides_nothing_changes_no_exploration() -> None:
    plain = _fuel().explore(LOST_UPDATE, schedules=30)
    checked = _fuel().explore(LOST_UPDATE, schedules=30, extensions=[Check(), Check()])
    assert (checked.failed, checked.schedules_run, checked.first_failure_index, checked.distinct) == \
        (plain.failed, plain.schedules_run, plain.first_failure_index, plain.distinct)
    assert _seen(checked.outcome) == _seen(plain.outcome)


def test_the_defaults_add_no_pass_no_import_and_find_nothing() -> None:
    check = Check()
    assert check.pass_key is None and load_passes([check]) == []
    assert check.instrument(None, {}) is None  # type: ignore[arg-type]
    outcome = _fuel().run(DEADLOCK)
    attachment = check.attach(None, RunSettings())  # type: ignore[arg-type]
    assert list(attachment.host_functions()) == []
    assert attachment.on_event(None, "an event") is None  # type: ignore[arg-type]
    assert attachment.finished(outcome, None) is None
    assert check.inspect(outcome) is None  # even a deadlock is nothing to a check that asks nothing


class _CountingAttachment(CheckAttachment):
    def __init__(self, check: CountingCheck) -> None:
        self.check = check

    def host_functions(self) -> Sequence[HostFunction]:
        def tick(call: HostCall) -> None:
            self.check.ticks += 1
        return [HostFunction("counting", "tick", (), (), tick)]

    def finished(self, outcome: Outcome, rerun: Rerun | None) -> None:
        self.check.finished.append((outcome.status, rerun is not None))


class CountingCheck(Check):
    """Overrides `attach` only: host functions and the outcome, no pass, no verdict."""

    def __init__(self) -> None:
        self.ticks = 0
        self.finished: list[tuple[Status, bool]] = []

    def attach(self, program: object, settings: RunSettings) -> _CountingAttachment:  # type: ignore[override]
        return _CountingAttachment(self)


def test_a_check_overrides_only_what_it_uses() -> None:
    import wasmtime

    wasm = wasmtime.wat2wasm("""(module (import "counting" "tick" (func $tick))
      (memory (export "memory") 1)
      (func (export "_start") (call $tick) (call $tick) (call $tick)))""")
    check = CountingCheck()
    o = _fuel().run(wasm, extensions=[check])
    assert (o.status, check.ticks, check.finished) == (Status.EXITED, 3, [(Status.EXITED, True)])
    assert check.pass_key is None and check.inspect(o) is None  # the defaults it did not override
    o = Runner(RunSettings(preempt=Preempt.OS)).run(wasm, extensions=[check])
    assert check.finished[-1] == (Status.EXITED, False)  # a rerun exists only in fuel mode


def test_the_runtime_takes_any_object_with_the_runtime_members() -> None:
    class Structural:  # not a Check: the runtime's half of the protocol is structural
        pass_key = None

        def instrument(self, rw: object, names: dict[int, str]) -> None:
            return None

        def attach(self, program: object, settings: RunSettings) -> CheckAttachment:
            return CheckAttachment()

    ext: Extension = Structural()  # type: ignore[assignment]
    assert _seen(_fuel().run(LOST_UPDATE, extensions=[ext])) == _seen(_fuel().run(LOST_UPDATE))


def test_a_failure_needs_a_message() -> None:
    assert CheckFailure("x") == CheckFailure("x", hang=False)
    for bad in ("", None, 3):
        with pytest.raises(ValueError, match="a CheckFailure needs a message"):
            CheckFailure(bad)  # type: ignore[arg-type]


def test_no_hang_is_a_hang_failure_on_a_deadlock_and_nothing_on_an_exit() -> None:
    check = NoHangCheck()
    assert check.inspect(_fuel().run(DEADLOCK)) == CheckFailure("a guest execution deadlocked", hang=True)
    assert check.inspect(_fuel().run(LOST_UPDATE)) is None
    hung = Runner(RunSettings(preempt=Preempt.FUEL, max_steps=2000)).run(GUESTS / "wat" / "spin_forever.wasm")
    assert hung.status is Status.HANG
    assert check.inspect(hung) == CheckFailure("a guest execution hung", hang=True)


def test_the_stream_check_says_what_it_found_without_pytest() -> None:
    violation = StreamCheck()
    o = _fuel().run(GUESTS / "streams" / "stream_one_shot.wasm", extensions=[violation])
    found = violation.inspect(o)
    assert found is not None and not found.hang
    assert found.message.startswith("stream protocol violation: write-without-permit at event #9 on stdout")

    lost = StreamCheck(StreamConfig(lost_wakeup=True, flush_steps=1))
    o = _fuel().run(GUESTS / "streams" / "stream_loop.wasm", GuestIO(), extensions=[lost])
    found = lost.inspect(o)
    assert o.status is Status.DEADLOCK and found is not None and found.hang
    assert found.message.startswith("a guest execution deadlocked\nthe guest deadlocked with its streams")

    fine = StreamCheck()
    assert fine.inspect(_fuel().run(GUESTS / "streams" / "stream_loop.wasm", extensions=[fine])) is None
