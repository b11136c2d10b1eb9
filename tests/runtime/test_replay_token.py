"""Replay tokens round-trip, are versioned, are tied to their guest and its arguments, and refuse any
value no run can have (other wasmtime versions or configurations, impossible or mistyped fields)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version
from token_craft import DROP, crafted, doc_of, token_of

from pytest_wasmconc.runtime import (
    ConfigError,
    GuestIO,
    ReplayError,
    ReplayToken,
    Runner,
    RunSettings,
    decode_token,
    encode_token,
    wasmtime_version,
)
from pytest_wasmconc.instrument import SCHEDULE_VERSION
from pytest_wasmconc.schedulers.base import POLICY_VERSION
from pytest_wasmconc.runtime.token import MAX_SLICE, GuestIdentity
from pytest_wasmconc.runtime.version import SUPPORTED_WASMTIME_MAJORS

GUESTS = Path(__file__).resolve().parents[2] / "guests"
HELLO = GUESTS / "wat" / "single_hello.wasm"
WRITERS = GUESTS / "c" / "many_writers.wasm"
GUEST = GuestIdentity("0123456789abcdef", "prog.wasm", ("-n", "3"))


def token_for(settings: RunSettings | None = None, decisions: tuple[int, ...] = (),
              slices: tuple[int, ...] = (), guest: GuestIdentity = GUEST) -> ReplayToken:
    return ReplayToken.for_run(settings or RunSettings(), decisions, slices, guest=guest)


BASE = encode_token(token_for())


def test_token_round_trips_every_field() -> None:
    tok = token_for(RunSettings(policy="pct", seed=12345, slice=777, depth=4), (0, 1, 1), (5, 6, 7))
    assert decode_token(encode_token(tok)) == tok


def test_token_is_short_for_seeded_policies() -> None:
    tok = token_for(RunSettings(seed=2**62), guest=GuestIdentity("0123456789abcdef", "mutex_counter.wasm", ("4",)))
    assert len(encode_token(tok)) < 200


def test_token_made_under_another_wasmtime_version_is_refused() -> None:
    tok = replace(token_for(), wasmtime="49.0.0")
    with pytest.raises(ReplayError, match="wasmtime 49.0.0"):
        decode_token(encode_token(tok)).check_compatible()


@pytest.mark.parametrize("major", SUPPORTED_WASMTIME_MAJORS)
def test_a_token_of_one_supported_wasmtime_major_is_refused_under_the_other(major: int) -> None:
    # Fuel costs differ between Wasmtime releases: a schedule made under 50 is not
    # the same schedule under 51, so a token names its version and only replays there.
    here = Version(wasmtime_version())
    made = f"{major}.0.1" if major != here.major else f"{major}.{here.minor}.{here.micro + 1}"
    tok = decode_token(encode_token(replace(token_for(), wasmtime=made)))
    with pytest.raises(ReplayError, match=f"made with wasmtime {re.escape(made)}, but wasmtime "
                                          f"{re.escape(str(here))} is installed"):
        tok.check_compatible()
    decode_token(encode_token(replace(token_for(), wasmtime=str(here)))).check_compatible()


def test_token_made_under_another_engine_configuration_is_refused() -> None:
    tok = replace(token_for(), engine="fuel=0")
    with pytest.raises(ReplayError, match="engine configuration"):
        decode_token(encode_token(tok)).check_compatible()


@pytest.mark.parametrize("text", ["", "hello", "wc1-!!!", "wc1-eJwrSS0u0S1OLS"])
def test_damaged_or_foreign_tokens_give_a_clear_error(text: str) -> None:
    with pytest.raises(ReplayError):
        decode_token(text)


# A token printed by the previous format (no guest, no arguments): wasmtime 28, seed 0, random.
OLD_FORMAT = ("wc1-eNoNykEKgDAQA8C_5LyULVWR_U2xFgRr1YoexL-bHAIT8iLBgmCGQWNIox86zRCsHOJVyzI1aqfOuKVaiAPmlRE0GPumBQ8vvTp"
              "1Ht8PudMVTA")


@pytest.mark.parametrize("token", [OLD_FORMAT, crafted(BASE, v=1), crafted(BASE, v=3), crafted(BASE, v=DROP)])
def test_a_token_of_another_format_version_says_another_version_made_it(token: str) -> None:
    with pytest.raises(ReplayError, match="made by another version of pytest-wasmconc"):
        decode_token(token)


@pytest.mark.parametrize("token", [crafted(BASE, i=SCHEDULE_VERSION + 1), crafted(BASE, i=DROP)])
def test_a_token_made_with_other_scheduling_points_is_refused(token: str) -> None:
    # The seed names one schedule only for one placement of the scheduling points.
    with pytest.raises(ReplayError, match="its scheduling points differ"):
        decode_token(token)


@pytest.mark.parametrize("token", [crafted(BASE, y=POLICY_VERSION + 1), crafted(BASE, y=POLICY_VERSION - 1),
                                   crafted(BASE, y=DROP)])
def test_a_token_made_when_the_policies_answered_otherwise_is_refused(token: str) -> None:
    # A seed names one schedule only for one version of the policies' answers (a token without the
    # number was made before it existed, when the random walk had no yield-point stickiness).
    with pytest.raises(ReplayError, match="its scheduling policies answer otherwise for a seed"):
        decode_token(token)


@pytest.mark.parametrize(("fields", "needle"), [
    ({"s": "5"}, "the seed must be a whole number, got '5'"),
    ({"s": 5.0}, "the seed must be a whole number, got 5.0"),
    ({"s": True}, "the seed must be a whole number, got True"),
    ({"q": 0}, "the slice 0 is out of range"),
    ({"q": -7}, "the slice -7 is out of range"),
    ({"q": 2**63 - 1}, "the slice 9223372036854775807 is out of range"),
    ({"q": MAX_SLICE + 1}, "out of range"),
    ({"d": 0}, "the depth 0 is out of range"),
    ({"d": [3]}, "the depth must be a whole number"),
    ({"p": 7}, "the policy must be a string"),
    ({"p": "chaos"}, "unknown scheduling policy 'chaos'"),
    ({"l": "everything"}, "invalid instrumentation level"),
    ({"D": [0, 1], "Q": [10, -5]}, "recorded slice[1] = -5 is out of range"),
    ({"D": [0, 1], "Q": [10, 2**62]}, "recorded slice[1] = 4611686018427387904 is out of range"),
    ({"D": [0, -1], "Q": [10, 10]}, "decision[1] = -1 is out of range"),
    ({"D": [0, 2**29], "Q": [10, 10]}, "decision[1] = 536870912 is out of range"),
    ({"D": [0, "1"], "Q": [10, 10]}, "decision[1] must be a whole number"),
    ({"D": "0,1", "Q": [10, 10]}, "decision must be a list"),
    ({"D": [0]}, "needs both its decisions and its slices"),
    ({"p": "replay"}, "the replay policy without a recorded schedule"),
    ({"g": "not-hex-at-all!!"}, "the guest digest must be 16 hex digits"),
    ({"g": DROP}, "the guest digest must be a string"),
    ({"a": "-n 3"}, "the guest arguments must be a list of strings"),
    ({"a": ["-n", 3]}, "the guest arguments must be a list of strings"),
    ({"n": None}, "the guest name must be a string"),
    ({"w": DROP}, "the wasmtime version must be a string"),
    ({"x": 1}, "unknown field x"),
])
def test_a_token_with_an_impossible_or_mistyped_field_is_damaged(fields: dict[str, Any], needle: str) -> None:
    with pytest.raises(ReplayError, match="damaged replay token") as excinfo:
        decode_token(crafted(BASE, **fields))
    assert needle in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


@pytest.mark.parametrize("doc", [[1, 2], "text", 5, None])
def test_a_token_that_is_not_a_record_is_damaged(doc: Any) -> None:
    with pytest.raises(ReplayError, match="damaged replay token"):
        decode_token(token_of(doc))


def test_a_token_that_inflates_without_bound_is_refused() -> None:
    bomb = token_of({"v": 2, "pad": "x" * (80 << 20)})
    with pytest.raises(ReplayError, match="does not decode"):
        decode_token(bomb)


def test_applying_a_token_selects_fuel_mode_and_its_parameters() -> None:
    tok = token_for(RunSettings(policy="rr", seed=9, slice=50))
    s = tok.apply(RunSettings(preempt="os", seed=1))  # type: ignore[arg-type]
    assert (s.preempt.value, s.policy, s.seed, s.slice) == ("fuel", "rr", 9, 50)


def test_a_token_with_decisions_replays_through_the_replay_policy() -> None:
    tok = token_for(RunSettings(policy="replay", decisions=(0, 1), slices=(10, 20)), (0, 1), (10, 20))
    s = decode_token(encode_token(tok)).apply(RunSettings())
    assert s.policy == "replay" and s.decisions == (0, 1) and s.slices == (10, 20)


def test_a_token_is_checked_against_the_guest_and_its_arguments() -> None:
    tok = token_for()
    tok.check_guest(GUEST)
    with pytest.raises(ReplayError, match=r"made for another guest: prog\.wasm \(sha256 0123456789abcdef\), "
                                          r"not other\.wasm \(sha256 fedcba9876543210\)"):
        tok.check_guest(GuestIdentity("fedcba9876543210", "other.wasm", GUEST.args))
    with pytest.raises(ReplayError, match=r"with the arguments \['-n', '3'\], not \['-n', '4'\]"):
        tok.check_guest(replace(GUEST, args=("-n", "4")))
    # The file's name is only for messages: a renamed copy of the same bytes replays.
    tok.check_guest(replace(GUEST, name="renamed.wasm"))


def test_an_execution_token_names_its_guest_and_arguments() -> None:
    outcome = Runner().run(WRITERS, GuestIO(args=["2", "3"]))
    assert outcome.token is not None
    doc = doc_of(outcome.token)
    assert (doc["n"], doc["a"]) == ("many_writers.wasm", ["2", "3"])
    assert decode_token(outcome.token).guest == GuestIdentity.of(Runner().load(WRITERS), ["2", "3"])


def test_replaying_on_another_guest_or_other_arguments_is_refused_before_running() -> None:
    token = Runner().run(WRITERS, GuestIO(args=["2", "3"])).token
    assert token is not None
    with pytest.raises(ReplayError, match="made for another guest: many_writers.wasm"):
        Runner().replay(HELLO, token)
    with pytest.raises(ReplayError, match=r"arguments \['2', '3'\], not \['2', '4'\]"):
        Runner().replay(WRITERS, token, GuestIO(args=["2", "4"]))
    again = Runner().replay(WRITERS, token, GuestIO(args=["2", "3"]))
    assert again.token == token


def test_the_replay_policy_without_a_recorded_schedule_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="the replay policy needs a recorded schedule"):
        Runner(RunSettings(policy="replay")).run(HELLO)
