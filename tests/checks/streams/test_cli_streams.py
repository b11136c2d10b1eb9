"""`wasmconc run|explore --check streams`: exit 1 with the report on a violation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_wasmconc.cli import main

GUESTS = Path(__file__).resolve().parents[3] / "guests"


def test_the_correct_loop_exits_0_and_prints_its_output(capfd: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(GUESTS / "streams" / "stream_loop.wasm"), "--check", "streams",
                 "--stream-budget", "4", "--stream-flush-steps", "3"])
    out, err = capfd.readouterr()
    assert code == 0 and err == ""
    assert out == "".join(f"line {i:03d}\n" for i in range(200))


@pytest.mark.parametrize("kind", ["streams", "components"])
def test_a_violation_exits_1_with_the_violation_backtrace_and_history(
        kind: str, capfd: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(GUESTS / kind / "stream_one_shot.wasm"), "--check", "streams"])
    _, err = capfd.readouterr()
    assert code == 1
    assert "stream protocol violation: write-without-permit at event #9 on stdout" in err
    assert "guest backtrace (thread 0 (main)):" in err and "at write_line (" in err
    assert "stream history (" in err and "replay: wasmconc replay --check streams" in err


def test_an_unexpected_sequence_exits_1(capfd: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(GUESTS / "components" / "stream_lines.wasm"), "--check", "streams",
                 "--stream-expect", "check-write write flush", "--", "2"])
    _, err = capfd.readouterr()
    assert code == 1 and "stream sequence mismatch: stdout: event #3 (blocking-write-and-flush" in err


def test_the_lost_wakeup_fault_is_reported_as_a_hang_with_the_stream_history(
        capfd: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(GUESTS / "components" / "stream_lines.wasm"), "--check", "streams",
                 "--stream-fault", "lost-wakeup", "--stream-flush-steps", "2"])
    _, err = capfd.readouterr()
    assert code == 124
    assert "deadlock!" in err and "lost wake-up fault" in err and "at printf (" in err
    # in the user's terms: stream operations, not "device steps"
    assert re.search(r"^stream history \(budget 4096 bytes per check-write, flush delay 2 stream operations, "
                     r"lost wake-up fault; \d+ stream operations\):$", err, re.M), err
    assert re.search(r"wake-ups lost since the first flush completed \(stream operation \d+\)", err), err
    assert "device step" not in err


def test_explore_stops_at_the_first_failing_schedule(capfd: pytest.CaptureFixture[str]) -> None:
    code = main(["explore", str(GUESTS / "streams" / "stream_stale_pollable.wasm"), "--check", "streams",
                 "--schedules", "3"])
    out, _ = capfd.readouterr()
    assert code == 1 and "schedule 0 failed:" in out and "stale-pollable at event #6 on stdout" in out


def test_explore_passes_a_correct_guest(capfd: pytest.CaptureFixture[str]) -> None:
    code = main(["explore", str(GUESTS / "components" / "stream_loop.wasm"), "--check", "streams",
                 "--schedules", "2", "--stream-budget", "2", "--stream-flush-steps", "2"])
    out, _ = capfd.readouterr()
    assert code == 0 and "explored 2 schedules" in out


@pytest.mark.parametrize("args,message", [
    (["--stream-expect", "write"], "--stream-expect needs --check streams"),
    (["--check", "streams", "--stream-expect", "(write"], "--stream-expect: missing ')'"),
    (["--stream-budget", "0"], "must be at least 1"),
    (["--stream-flush-steps", "-1"], "must be at least 0"),
])
def test_bad_stream_options_are_usage_errors(args: list[str], message: str,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(GUESTS / "streams" / "stream_loop.wasm"), *args])
    _, err = capfd.readouterr()
    assert code == 2 and message in err
