"""A report lists the threads that matter; threads that simply finished are counted past a few."""

from __future__ import annotations

from pytest_wasmconc.runtime.outcome import ThreadReport
from pytest_wasmconc.runtime.report import FINISHED_LISTED, _render_threads


def _threads(finished: int) -> list[ThreadReport]:
    out = [ThreadReport(0, "parked", "memory.atomic.wait32 @ 0x10 (expected 0)", ["main"])]
    out += [ThreadReport(tid, "finished") for tid in range(1, finished + 1)]
    out.append(ThreadReport(finished + 1, "trapped", None, ["worker"], "unreachable"))
    return out


def test_a_few_finished_threads_are_listed_one_by_one() -> None:
    lines = "\n".join(_render_threads(_threads(FINISHED_LISTED)))
    assert lines.count(": finished") == FINISHED_LISTED


def test_many_finished_threads_become_one_line_and_the_others_stay_whole() -> None:
    text = "\n".join(_render_threads(_threads(40_000)))
    assert ": finished" not in text
    assert "... and 40000 more threads that finished (thread 1 to 40000)" in text
    assert "thread 0 (main): parked in memory.atomic.wait32" in text and "at main" in text
    assert "thread 40001: trapped: unreachable" in text and "at worker" in text
