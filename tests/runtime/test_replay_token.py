"""Replay tokens round-trip, are versioned, and refuse other wasmtime versions or configurations."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_wasmconc.runtime import ReplayError, ReplayToken, RunSettings, decode_token, encode_token


def test_token_round_trips_every_field() -> None:
    tok = ReplayToken.for_run(RunSettings(policy="pct", seed=12345, slice=777, depth=4), (0, 1, 1), (5, 6, 7))
    assert decode_token(encode_token(tok)) == tok


def test_token_is_short_for_seeded_policies() -> None:
    assert len(encode_token(ReplayToken.for_run(RunSettings(seed=2**62)))) < 200


def test_token_made_under_another_wasmtime_version_is_refused() -> None:
    tok = replace(ReplayToken.for_run(RunSettings()), wasmtime="49.0.0")
    with pytest.raises(ReplayError, match="wasmtime 49.0.0"):
        decode_token(encode_token(tok)).check_compatible()


def test_token_made_under_another_engine_configuration_is_refused() -> None:
    tok = replace(ReplayToken.for_run(RunSettings()), engine="fuel=0")
    with pytest.raises(ReplayError, match="engine configuration"):
        decode_token(encode_token(tok)).check_compatible()


@pytest.mark.parametrize("text", ["", "hello", "wc1-!!!", "wc1-eJwrSS0u0S1OLS"])
def test_damaged_or_foreign_tokens_give_a_clear_error(text: str) -> None:
    with pytest.raises(ReplayError):
        decode_token(text)


def test_applying_a_token_selects_fuel_mode_and_its_parameters() -> None:
    tok = ReplayToken.for_run(RunSettings(policy="rr", seed=9, slice=50))
    s = tok.apply(RunSettings(preempt="os", seed=1))  # type: ignore[arg-type]
    assert (s.preempt.value, s.policy, s.seed, s.slice) == ("fuel", "rr", 9, 50)


def test_a_token_with_decisions_replays_through_the_replay_policy() -> None:
    tok = ReplayToken.for_run(RunSettings(policy="replay"), (0, 1), (10, 20))
    s = tok.apply(RunSettings())
    assert s.policy == "replay" and s.decisions == (0, 1) and s.slices == (10, 20)
