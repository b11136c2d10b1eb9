"""Recording: a transparent wrapper that keeps every decision and slice it passes on."""

from __future__ import annotations

from programs import busy_program
from schedsim import run

from pytest_wasmconc.schedulers import (
    PolicyConfig,
    PolicyError,
    RandomWalk,
    Recording,
    Replay,
    SwitchReason,
)


def test_recording_keeps_exactly_the_answers_of_the_wrapped_policy() -> None:
    config = PolicyConfig(seed=12, slice=6)
    recording = Recording(RandomWalk(config))
    recorded = run(recording, busy_program())
    plain = run(RandomWalk(config), busy_program())
    assert recording.decisions == plain.decisions == recorded.decisions
    assert recording.slices == plain.slices == recorded.slices


def test_recording_takes_the_name_of_the_wrapped_policy() -> None:
    assert Recording(RandomWalk(PolicyConfig())).name == "random"


def test_recording_starts_fresh_lists_at_each_execution() -> None:
    recording = Recording(RandomWalk(PolicyConfig(seed=1, slice=6)))
    run(recording, busy_program())
    first = recording.decisions
    recording.new_execution()
    assert recording.decisions == [] and recording.slices == []
    assert first, "the previous execution's list is left intact"


def test_recording_records_nothing_for_a_call_that_raised() -> None:
    recording = Recording(Replay(PolicyConfig(decisions=(5,))))
    try:
        recording.pick([0], None, SwitchReason.START)
    except PolicyError:
        pass
    assert recording.decisions == []


def test_recording_replay_config_keeps_the_original_seed_and_slice() -> None:
    config = PolicyConfig(seed=77, slice=6)
    recording = Recording(RandomWalk(config))
    run(recording, busy_program())
    replay_config = recording.replay_config(config)
    assert (replay_config.seed, replay_config.slice) == (77, 6)
    assert replay_config.decisions == tuple(recording.decisions)
    assert replay_config.slices == tuple(recording.slices)


def test_recording_describe_adds_recorded_counts_to_the_wrapped_description() -> None:
    recording = Recording(RandomWalk(PolicyConfig(seed=3, slice=6)))
    run(recording, busy_program())
    info = recording.describe()
    assert info["seed"] == 3
    counts = {"decisions": len(recording.decisions), "slices": len(recording.slices)}
    assert info["recorded"] == counts
