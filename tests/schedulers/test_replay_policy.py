"""Replay: reproduces any policy's recorded schedule exactly, and says where it diverges."""

from __future__ import annotations

import pytest
from programs import busy_program, other_program
from schedsim import Spawn, Step, Work, program, run

from pytest_wasmconc.schedulers import (
    PctConfig,
    PolicyConfig,
    PolicyError,
    Recording,
    Replay,
    SwitchReason,
    make_policy,
)


@pytest.mark.parametrize("name", ["rr", "random", "pct"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_replay_reproduces_a_recorded_schedule_of_each_policy_exactly(name: str, seed: int) -> None:
    config = PctConfig(seed=seed, slice=6, depth=3, pct_steps=20)
    recording = Recording(make_policy(name, config))
    original = run(recording, busy_program())
    replayed = run(make_policy("replay", recording.replay_config(config)), busy_program())
    assert replayed.picks == original.picks
    assert replayed.slices == original.slices
    assert replayed.steps == original.steps
    assert replayed.fuel == original.fuel


def test_replay_raises_when_the_recorded_thread_is_not_runnable() -> None:
    replay = Replay(PolicyConfig(decisions=(0, 2), slices=(5, 5)))
    main = program(Spawn(program(Work(3))), Work(10))
    with pytest.raises(PolicyError) as excinfo:
        run(replay, main)
    assert str(excinfo.value) == (
        "schedule diverged at decision 1: recorded thread 2 is not runnable (runnable: [0, 1])"
    )


def test_replay_raises_when_the_recorded_decisions_run_out() -> None:
    recording = Recording(make_policy("random", PolicyConfig(seed=4, slice=6)))
    run(recording, other_program())
    shorter = recording.replay_config()
    shorter = PolicyConfig(decisions=shorter.decisions[:-1], slices=shorter.slices)
    n = len(shorter.decisions)
    expected = f"schedule diverged at decision {n}: the recorded schedule ends after {n} decisions"
    with pytest.raises(PolicyError, match=expected):
        run(Replay(shorter), other_program())


def test_replay_raises_when_the_recorded_slices_run_out() -> None:
    replay = Replay(PolicyConfig(decisions=(0, 0, 0), slices=(4,)))
    replay.pick([0], None, SwitchReason.START)
    assert replay.slice_for(0) == 4
    replay.pick([0], 0, SwitchReason.PREEMPTED)
    expected = "schedule diverged at quantum 1: the recorded schedule ends after 1 quanta"
    with pytest.raises(PolicyError, match=expected):
        replay.slice_for(0)


def test_replay_new_execution_starts_again_from_the_first_decision() -> None:
    recording = Recording(make_policy("random", PolicyConfig(seed=8, slice=6)))
    original = run(recording, busy_program())
    replay = Replay(recording.replay_config())
    assert run(replay, busy_program()).fuel == original.fuel
    assert run(replay, busy_program()).fuel == original.fuel


def test_replay_reports_how_much_of_the_recording_was_used() -> None:
    replay = Replay(PolicyConfig(decisions=(0, 0, 0), slices=(4, 4, 4)))
    replay.pick([0], None, SwitchReason.START)
    replay.slice_for(0)
    assert replay.describe() == {
        "decisions_used": 1,
        "decisions_recorded": 3,
        "slices_used": 1,
        "slices_recorded": 3,
    }


def test_replay_rejects_a_recorded_slice_below_one() -> None:
    with pytest.raises(ValueError, match="recorded slice 1 must be >= 1, got 0"):
        Replay(PolicyConfig(decisions=(0,), slices=(3, 0)))


def test_replay_of_a_schedule_on_a_changed_program_diverges_rather_than_improvising() -> None:
    recording = Recording(make_policy("rr", PolicyConfig(slice=5)))
    run(recording, program(Spawn(program(Work(12))), Work(12)))
    changed = program(Work(12), Spawn(program(Step("late"))))
    with pytest.raises(PolicyError, match="schedule diverged at decision"):
        run(Replay(recording.replay_config()), changed)
