"""`wasmconc run/explore/replay --check races`: exit codes, the report, the replay command, bad patterns."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from pytest_wasmconc.checks.races import TITLE
from pytest_wasmconc.cli import main

GUESTS = Path(__file__).resolve().parents[3] / "guests" / "racecheck"
RACY = str(GUESTS / "racy.wasm")
SYNCED = str(GUESTS / "synced.wasm")


def race_lines(text: str) -> list[str]:
    start = text.index(TITLE)
    return [ln for ln in text[start:].splitlines() if not ln.startswith("replay:")]


def test_run_exits_1_with_the_report_and_a_replay_command_that_reproduces_it(
        capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--seed", "5", "--check", "races", RACY, "--", "counter"]) == 1
    out, err = capfd.readouterr()
    assert out == "counter=3\n"
    assert "between add_" in err and "Previous " in err
    (replay,) = [ln[len("replay: "):] for ln in err.splitlines() if ln.startswith("replay: ")]
    argv = shlex.split(replay)
    assert argv[:4] == ["wasmconc", "replay", "--check", "races"]
    assert main(argv[1:]) == 1
    _, again = capfd.readouterr()
    assert race_lines(again) == race_lines(err)


def test_explore_stops_at_the_first_schedule_with_a_race(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--seed", "2", "--check", "races", RACY, "--", "flag"]) == 1
    out, _ = capfd.readouterr()
    assert out.startswith("schedule 0 failed:")
    assert "check_flag" in out and "set_flag" in out and "explored 1 schedule" in out


def test_a_synchronized_guest_explores_clean(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--seed", "2", "--schedules", "20", "--check", "races", SYNCED, "--", "sem"]) == 0
    out, _ = capfd.readouterr()
    assert TITLE not in out and "explored 20 schedules" in out


def test_a_suppressed_function_is_not_reported(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--seed", "5", "--check", "races", "--race-suppress", "add_.*", RACY, "--", "counter"]) == 0
    assert TITLE not in capfd.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--check", "races", "--race-suppress", "add_("], "--race-suppress: 'add_(' is not a valid regular expression"),
    (["--race-suppress", "add_.*"], "--race-suppress needs --check races"),
])
def test_bad_suppression_options_are_a_one_line_usage_error(argv: list[str], message: str,
                                                            capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", *argv, RACY]) == 2
    _, err = capfd.readouterr()
    assert err.startswith(f"wasmconc: error: {message}") and err.count("\n") == 1
