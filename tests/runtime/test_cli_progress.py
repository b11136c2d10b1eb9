"""`wasmconc explore`'s progress line, and what Ctrl-C prints: the schedules done and the seed."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
from pathlib import Path

from child_processes import CHILD_LIMIT_S

from pytest_wasmconc.progress import ProgressLine
from pytest_wasmconc.runtime import Outcome, Status

REPO = Path(__file__).resolve().parents[2]
COUNTER = REPO / "guests" / "c" / "mutex_counter.wasm"


def _explore(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc", "explore", *args], capture_output=True,
                          text=True, timeout=CHILD_LIMIT_S, check=False)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _exited(code: int = 0) -> Outcome:
    return Outcome(Status.EXITED, code)


def test_progress_flag_prints_lines_on_a_non_terminal() -> None:
    proc = _explore(str(COUNTER), "--schedules", "3", "--seed", "5", "--policy", "random", "--progress")
    assert proc.returncode == 0, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith("wasmconc: 1/3 schedules, ") and first.endswith(" s; outcomes: exited with code 0 x1")
    assert "explored 3 schedules" in proc.stdout


def test_no_progress_line_off_a_terminal_without_the_flag() -> None:
    proc = _explore(str(COUNTER), "--schedules", "2", "--policy", "random")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_ctrl_c_prints_the_schedules_done_and_the_seed() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "pytest_wasmconc", "explore", str(COUNTER), "--schedules",
                             "1000000", "--seed", "7", "--policy", "random", "--progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stderr is not None
        # The first schedule's line comes at once: the exploration is under way.
        assert proc.stderr.readline().startswith("wasmconc: 1/1000000 schedules, ")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=CHILD_LIMIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert lines[-1] == "wasmconc: interrupted"
    note = lines[-2]
    assert note.startswith("wasmconc: interrupted after ") and " of 1000000 schedules in " in note
    assert note.endswith("; seed 7 (the command line): --seed 7 explores the same schedules again"), note
    assert "(outcomes: exited with code 0 x" in note


def test_on_a_terminal_one_line_is_redrawn_a_few_times_a_second_and_taken_away() -> None:
    out = io.StringIO()
    clock = _Clock()
    line = ProgressLine(10, out, redraw=True, clock=clock)
    line(1, _exited())
    clock.now += 0.1
    line(2, _exited())  # too soon: not drawn
    clock.now += 0.2
    line(3, _exited(1))
    line.finish()
    assert out.getvalue() == (
        "\rwasmconc: 1/10 schedules, -/s, 0.0 s; outcomes: exited with code 0 x1\x1b[K"
        "\rwasmconc: 3/10 schedules, 10/s, 0.3 s; outcomes: exited with code 0 x2, exited with code 1 x1\x1b[K"
        "\r\x1b[K")


def test_hidden_it_still_counts_for_the_interrupted_note() -> None:
    out = io.StringIO()
    clock = _Clock()
    line = ProgressLine(50, out, redraw=False, visible=False, clock=clock)
    for n in range(1, 5):
        line(n, _exited())
    clock.now += 2
    line.finish()
    assert out.getvalue() == ""
    assert line.interrupted(3, "a random choice") == (
        "wasmconc: interrupted after 4 of 50 schedules in 2.0 s (outcomes: exited with code 0 x4); seed 3 "
        "(a random choice): --seed 3 explores the same schedules again")
