"""Main opens a file, a worker reads it through the same fd: the content is printed, in all three preempt modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status

GUESTS = Path(__file__).resolve().parents[2] / "guests"
SHARED_FD = GUESTS / "wasi" / "shared_fd.wasm"
DATA = str(GUESTS / "data")
EXPECTED = "hello from test.txt\nsecond line\nmain: worker read 32 bytes, offset 32\n"


@pytest.mark.parametrize("preempt", [Preempt.FUEL, Preempt.EPOCH, Preempt.OS])
def test_a_worker_reads_the_file_main_opened_through_the_same_fd(preempt: Preempt) -> None:
    o = Runner(RunSettings(preempt=preempt)).run(SHARED_FD, GuestIO(dirs=[(DATA, ".")]))
    assert (o.status, o.exit_code, o.stdout, o.stderr) == (Status.EXITED, 0, EXPECTED, ""), o.report
    calls = [(e.thread_id, e.call, e.result) for e in o.trace]
    opened = [c for c in calls if c[1] == "path_open" and c[0] == 0 and c[2] == 0]
    worker_reads = [c for c in calls if c[1] == "fd_read" and c[0] != 0]
    assert opened, "main opened the file"
    assert len(worker_reads) >= 3 and all(r == 0 for _, _, r in worker_reads)  # 32 bytes in 16-byte reads + EOF


def test_every_fuel_schedule_prints_the_file_once() -> None:
    ex = Runner(RunSettings()).explore(SHARED_FD, GuestIO(dirs=[(DATA, ".")]), schedules=10,
                                                 is_failure=lambda o: o.stdout != EXPECTED or o.exit_code != 0)
    assert not ex.failed, ex.outcome.report


def test_wasmtime_native_wasi_gives_each_thread_its_own_fd_table() -> None:
    """Why the sandbox exists: under wasmtime's own WASI the worker's read is EBADF."""
    o = Runner(RunSettings()).run(SHARED_FD, GuestIO(dirs=[(DATA, ".")], wasi="native"))
    assert (o.status, o.exit_code, o.stdout) == (Status.EXITED, 1, "")
    assert "the worker could not read fd 4: errno 8" in o.stderr


def test_shared_fd_through_the_cli_in_every_mode(capfd: pytest.CaptureFixture[str]) -> None:
    from pytest_wasmconc.cli import main

    for mode in ("fuel", "epoch", "os"):
        rc = main(["run", "--preempt", mode, "--dir", f"{DATA}::.", str(SHARED_FD)])
        out, err = capfd.readouterr()
        assert (rc, out) == (0, EXPECTED), err
