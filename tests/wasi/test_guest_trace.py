"""The WASI call trace of a run: on the outcome, and its tail at the end of every failure report."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status
from pytest_wasmconc.runtime.report import TRACE_TAIL, render_trace_tail
from pytest_wasmconc.wasi import Errno, TraceEntry

GUESTS = Path(__file__).resolve().parents[2] / "guests"
DATA = str(GUESTS / "data")
TRAP = GUESTS / "wasi" / "trap_after_io.wasm"
DEADLOCK = GUESTS / "wasi" / "deadlock_after_io.wasm"


def run(guest: Path, preempt: Preempt = Preempt.FUEL, **wasi_options: object):  # type: ignore[no-untyped-def]
    return Runner(RunSettings(preempt=preempt)).run(
        guest, GuestIO(dirs=[(DATA, ".")], wasi_options=wasi_options))


def tail_of(report: str) -> list[str]:
    lines = report.splitlines()
    (start,) = [i for i, ln in enumerate(lines) if ln.startswith("last ") and ln.endswith("WASI calls (oldest first):")]
    return lines[start:]


def test_the_outcome_carries_every_wasi_call_in_order() -> None:
    o = run(TRAP)
    assert o.status is Status.TRAPPED
    assert all(isinstance(e, TraceEntry) for e in o.trace)
    calls = [(e.thread_id, e.call, e.result) for e in o.trace]
    assert calls[-7:] == [
        (0, "fd_read", 0),  # the whole file in one read
        (0, "fd_write", 0),  # ... printed
        (0, "fd_read", 0),  # EOF
        (0, "fd_close", 0),
        (0, "fd_fdstat_get", 0),  # wasi-libc checks the preopen's rights
        (0, "path_open", Errno.NOENT),  # missing.txt
        (0, "fd_write", 0),  # "missing.txt: errno 44"
    ]
    opened = [e for e in o.trace if e.call == "path_open" and e.result == 0]
    assert len(opened) == 1 and opened[0].args[0] == 3  # relative to the preopen, fd 3


@pytest.mark.parametrize("preempt", [Preempt.FUEL, Preempt.OS])
def test_a_trap_report_ends_with_the_last_wasi_calls(preempt: Preempt) -> None:
    o = run(TRAP, preempt)
    assert o.status is Status.TRAPPED
    assert o.stdout == "hello from test.txt\nsecond line\nmissing.txt: errno 44\n"
    assert "crash_here" in o.report
    tail = tail_of(o.report)
    assert tail[0] == f"last {len(o.trace)} of {len(o.trace)} WASI calls (oldest first):"
    names = {0: "", Errno.BADF: " (EBADF)", Errno.NOENT: " (ENOENT)"}
    assert tail[1:] == [f"  {e}{names[e.result]}" for e in o.trace]  # type: ignore[index]
    assert any(ln.startswith("  [t0] path_open(3, ") and ln.endswith("-> 44 (ENOENT)") for ln in tail)
    assert o.report.splitlines()[-1] == tail[-1]  # the tail is the end of the report


@pytest.mark.parametrize("preempt", [Preempt.FUEL, Preempt.EPOCH, Preempt.OS])
def test_a_deadlock_report_ends_with_the_worker_write_before_it_blocked(preempt: Preempt) -> None:
    o = run(DEADLOCK, preempt)
    assert o.status is Status.DEADLOCK, o.report
    assert o.stdout == "hello from test.txt\nsecond line\nworker: locking m\n"
    tail = tail_of(o.report)
    assert tail[-1].startswith("  [t1] fd_write(1, ") and tail[-1].endswith("-> 0")
    assert "pthread_mutex_lock" in o.report and "pthread_join" in o.report


def test_a_hang_report_ends_with_the_wasi_calls_before_the_sleep() -> None:
    # A 10-minute sleep: the 0.5 s backstop ends it mid-sleep however slow the machine.
    o = Runner(RunSettings(preempt=Preempt.OS, timeout=0.5)).run(GUESTS / "wasi" / "sleep10.wasm",
                                                               GuestIO(args=["600000"]))
    assert o.status is Status.HANG
    tail = tail_of(o.report)
    assert tail[-1].startswith("  [t0] clock_time_get(1, ")  # CLOCK_MONOTONIC, read before the sleep
    assert "nanosleep" in o.report  # the sleep itself is in the thread's backtrace


def test_only_the_last_entries_are_shown_with_the_total_counted() -> None:
    o = run(TRAP, trace_limit=5)
    assert len(o.trace) == 5
    tail = tail_of(o.report)
    assert tail[0] == "last 5 of 12 WASI calls (oldest first):"
    assert len(tail) == 6


def test_long_traces_are_cut_to_the_tail() -> None:
    trace = [TraceEntry(0, "fd_close", (fd,), Errno.BADF) for fd in range(100)]
    text = render_trace_tail(trace, dropped=900).splitlines()
    assert text[0] == f"last {TRACE_TAIL} of 1000 WASI calls (oldest first):"
    assert text[1] == "  [t0] fd_close(80) -> 8 (EBADF)" and text[-1] == "  [t0] fd_close(99) -> 8 (EBADF)"


def test_a_clean_exit_has_no_trace_in_its_report() -> None:
    o = Runner(RunSettings()).run(GUESTS / "wasi" / "shared_fd.wasm", GuestIO(dirs=[(DATA, ".")]))
    assert o.status is Status.EXITED and o.trace
    assert "WASI calls" not in o.report


def test_native_wasi_has_no_trace_and_no_tail() -> None:
    o = Runner(RunSettings()).run(TRAP, GuestIO(dirs=[(DATA, ".")], wasi="native"))
    assert o.status is Status.TRAPPED and o.trace == []
    assert "WASI calls" not in o.report


def test_the_cli_prints_the_tail_after_a_trap(capfd: pytest.CaptureFixture[str]) -> None:
    from pytest_wasmconc.cli import EXIT_TRAP, main

    assert main(["run", "--dir", f"{DATA}::.", str(TRAP)]) == EXIT_TRAP
    err = capfd.readouterr().err
    assert "WASI calls (oldest first):" in err and "-> 44 (ENOENT)" in err
