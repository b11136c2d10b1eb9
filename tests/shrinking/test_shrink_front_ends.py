"""Shrinking through `wasmconc explore` and `wasm_scheduler.explore()`: the shrunk schedule's replay first,
the original's after it, the interleaving; --shrink-time / --wasm-shrink-time 0 turns it off."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

LOST_UPDATE = str(Path(__file__).resolve().parents[2] / "guests" / "c" / "lost_update.wasm")


def wasmconc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc", *args], capture_output=True, text=True,
                          timeout=CHILD_LIMIT_S)


def test_cli_explore_reports_the_shrunk_schedule_first_and_its_replay_fails_the_same_way() -> None:
    done = wasmconc("explore", LOST_UPDATE, "--policy", "random", "--seed", "3")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("shrunk from "))
    assert lines[head + 1].startswith("replay: wasmconc replay ")
    assert lines[head + 2].startswith("replay (original schedule, ") and "wasmconc replay" in lines[head + 2]
    assert lines[head + 3].startswith("interleaving of the shrunk schedule (")
    assert lines[head + 4].startswith("  1. thread ")
    assert any(" preempted in worker (@0x" in ln for ln in lines[head + 4:])
    shown = next(ln for ln in lines if ln.startswith("--- guest stdout ---"))
    counter = lines[lines.index(shown) + 1]
    for line, expected in ((lines[head + 1], counter), (lines[head + 2], None)):
        command = shlex.split(line.split(": ", 1)[1])
        again = wasmconc(*command[1:])
        assert again.returncode == 1
        if expected is not None:
            assert again.stdout.strip() == expected


def test_cli_shrink_time_0_reports_the_schedule_whole() -> None:
    done = wasmconc("explore", LOST_UPDATE, "--policy", "random", "--seed", "3", "--shrink-time", "0")
    assert done.returncode == 1
    assert "shrunk from" not in done.stdout and "interleaving" not in done.stdout
    assert "replay: wasmconc replay " in done.stdout
    bad = wasmconc("explore", LOST_UPDATE, "--shrink-time", "-1")
    assert bad.returncode == 2 and "--shrink-time: invalid value '-1'" in bad.stderr


TEST = f'''
import pytest

@pytest.mark.wasm_settings(policy="random", seed=3)
def test_lost_update(wasm_scheduler):
    assert wasm_scheduler.explore({LOST_UPDATE!r}, check=False).exit_code == 0
'''


def test_a_failing_test_reports_the_shrunk_schedule_the_original_and_the_interleaving(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shrink=TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*lost_update.wasm: exited with code 1 (expected exit code 0) (schedule * failed after * schedules; fuel mode, "
        "policy random, seed 3)",
        "shrunk from * to * preemption* in * s (* candidate schedules); it fails the same way (exit code 1)",
        "replay token: wc1-*",
        "replay: pytest test_shrink.py::test_lost_update --wasm-replay=wc1-*",
        "replay (original schedule, * preemptions): pytest test_shrink.py::test_lost_update --wasm-replay=wc1-*",
        "interleaving of the shrunk schedule (* context switch*; offsets of the guest file):",
        "  1. thread *",
    ])
    shrunk = next(ln for ln in result.outlines if ln.startswith("replay token: ")).split()[-1]
    original = next(ln for ln in result.outlines if ln.startswith("replay (original")).split("--wasm-replay=")[-1]
    assert shrunk != original
    for token in (shrunk, original):
        again = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--wasm-replay={token}",
                                              timeout=CHILD_LIMIT_S)
        again.assert_outcomes(failed=1)
        again.stdout.fnmatch_lines(["*exited with code 1 (expected exit code 0) (replayed; fuel mode*"])


def test_wasm_shrink_time_0_reports_the_failing_schedule_whole(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shrink=TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--wasm-shrink-time=0", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    assert not any(ln.startswith(("shrunk from", "interleaving")) for ln in result.outlines)
    result.stdout.fnmatch_lines(["replay: pytest test_shrink.py::test_lost_update --wasm-replay=wc1-*"])


PAIR = str(Path(__file__).resolve().parents[2] / "guests" / "races" / "lost_update_pair.wasm")


def test_cli_a_race_checks_failure_shrinks_to_a_schedule_with_the_same_races() -> None:
    done = wasmconc("explore", PAIR, "--check", "races", "--policy", "random", "--seed", "2")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert sum(ln.startswith("WARNING: data race between count_primes") for ln in lines) == 2
    head = next(ln for ln in lines if ln.startswith("shrunk from "))
    # The same races, whether or not this schedule also lost an update (exit code 1).
    assert re.search(r"it fails the same way \(exit code [01], 2 racing pairs\)$", head), head
    replay = next(ln for ln in lines if ln.startswith("replay: "))
    command = shlex.split(replay.split(": ", 1)[1])
    assert command[:4] == ["wasmconc", "replay", "--check", "races"]
    again = wasmconc(*command[1:])
    assert again.returncode == 1
    assert again.stderr.count("WARNING: data race between count_primes") == 2


def test_a_wasm_no_data_race_failure_reports_the_shrunk_schedules_races(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_race=f'''
import pytest

@pytest.mark.wasm_no_data_race
@pytest.mark.wasm_settings(policy="random", seed=5)
def test_pair(wasm_scheduler):
    wasm_scheduler.explore({PAIR!r}, schedules=20)
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E   *GuestCheckError: wasm_no_data_race: WARNING: data race between count_primes*",
        "E  *shrunk from * to 0 preemptions in * s (* candidate schedules); it fails the same way (exit code 0, "
        "2 racing pairs)",
        "E  *replay: pytest test_race.py::test_pair --wasm-replay=wc1-*",
        "E  *replay (original schedule, * preemptions): pytest test_race.py::test_pair --wasm-replay=wc1-*",
    ])
    token = next(ln for ln in result.outlines if "replay token: " in ln).split()[-1]
    again = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--wasm-replay={token}", timeout=CHILD_LIMIT_S)
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines(["*wasm_no_data_race: WARNING: data race between count_primes*"])
