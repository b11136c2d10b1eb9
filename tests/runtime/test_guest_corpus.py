"""Every guest of the corpus runs and prints what it should, in every preempt mode."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status

GUESTS = Path(__file__).resolve().parents[2] / "guests"
MODES = [Preempt.FUEL, Preempt.EPOCH, Preempt.OS]


def run(guest: str, preempt: Preempt, io: GuestIO | None = None):  # type: ignore[no-untyped-def]
    return Runner(RunSettings(preempt=preempt)).run(GUESTS / guest, io or GuestIO())


@pytest.mark.parametrize("preempt", MODES)
def test_a_spawned_thread_reads_a_preopened_file_while_main_joins(preempt: Preempt) -> None:
    o = run("c/thread_file.wasm", preempt, GuestIO(dirs=[(str(GUESTS / "data"), ".")]))
    assert (o.status, o.exit_code, o.stdout) == (Status.EXITED, 0, "hello from test.txt\nsecond line\n")


def test_thread_file_in_os_mode_many_times_in_a_row_never_hangs() -> None:
    runner = Runner(RunSettings(preempt=Preempt.OS))
    for _ in range(25):
        o = runner.run(GUESTS / "c" / "thread_file.wasm", GuestIO(dirs=[(str(GUESTS / "data"), ".")]))
        assert (o.exit_code, o.stdout) == (0, "hello from test.txt\nsecond line\n"), o.report


@pytest.mark.parametrize("preempt", MODES)
def test_many_writers_lines_interleave_but_never_tear(preempt: Preempt) -> None:
    o = run("c/many_writers.wasm", preempt, GuestIO(args=["5", "7"]))
    assert o.exit_code == 0
    lines = o.stdout.splitlines()
    assert sorted(lines) == sorted(f"thread {t} line {n}" for t in range(5) for n in range(7))
    for t in range(5):  # each thread's own lines stay in order
        own = [ln for ln in lines if ln.startswith(f"thread {t} ")]
        assert own == [f"thread {t} line {n}" for n in range(7)]


@pytest.mark.parametrize("preempt", MODES)
@pytest.mark.parametrize("guest,args,stdout", [
    ("c/mutex_counter.wasm", [], "counter=100\n"),
    ("c/producer_consumer.wasm", ["200", "3"], "sum=20100\n"),
    ("c/pthread_selftest.wasm", [], "pthread_selftest: ok\n"),
    ("zig/zig_threads.wasm", [], "counter=4000\n"),
    ("wat/single_hello.wasm", [], "hello\n"),
    ("wat/own_memory_threads.wasm", [], "worker shared our memory\n"),
])
def test_correct_guests_exit_zero_with_their_output(preempt: Preempt, guest: str, args: list[str], stdout: str) -> None:
    o = run(guest, preempt, GuestIO(args=args))
    assert (o.status, o.exit_code, o.stdout) == (Status.EXITED, 0, stdout), o.report


@pytest.mark.parametrize("preempt", MODES)
def test_worker_proc_exit_while_main_joins_ends_the_guest_with_99(preempt: Preempt) -> None:
    o = run("c/worker_exit.wasm", preempt)
    assert (o.status, o.exit_code, o.stdout) == (Status.EXITED, 99, "worker: proc_exit(99)\n")


@pytest.mark.parametrize("preempt", MODES)
def test_lost_update_reports_its_counter(preempt: Preempt) -> None:
    o = run("c/lost_update.wasm", preempt)
    m = re.fullmatch(r"counter=(\d+)\n", o.stdout)
    assert m and o.exit_code == (0 if m.group(1) == "100" else 1)


def test_wasmtimes_own_wasi_passes_the_real_stdin_through() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "pytest_wasmconc", "run", "--wasi", "native",
                           str(GUESTS / "wat" / "exit_worker_return_main_reading.wasm")],
                          input="hello\n", capture_output=True, text=True, timeout=CHILD_LIMIT_S)
    assert (proc.returncode, proc.stdout) == (33, "main: stdin returned, proc_exit(33)\n"), proc.stderr
