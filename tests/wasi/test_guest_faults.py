"""Fault injection from the runtime API: a correct retry loop prints the same bytes under
short I/O, EINTR and EAGAIN; a naive one does not; both deterministically."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_wasmconc.runtime import GuestIO, Outcome, Preempt, Runner, RunSettings, Status
from pytest_wasmconc.wasi import FaultPlan

GUESTS = Path(__file__).resolve().parents[2] / "guests" / "wasi"
RETRY = GUESTS / "retry_writes.wasm"
SIZE = 48 * 1024
NO_STDERR = frozenset({"file", "stdout"})  # leave stderr alone: the guest reports its retries there

PLANS = {
    "short-writes": FaultPlan(max_write=1000, targets=NO_STDERR),
    "short-reads-and-writes": FaultPlan(seed=1, max_read=333, max_write=777, random_short=True, targets=NO_STDERR),
    "eintr": FaultPlan(eintr_calls=frozenset({1, 2, 3, 5, 8, 13}), targets=NO_STDERR),
    "eintr-eagain-random": FaultPlan(seed=2, eintr_probability=0.3, eagain_probability=0.2, targets=NO_STDERR),
    "everything": FaultPlan(seed=3, max_read=700, max_write=1000, random_short=True, eintr_probability=0.2,
                            eagain_probability=0.1, targets=NO_STDERR),
}


def expected_pattern() -> bytes:
    return bytes(10 if i % 64 == 63 else ord("a") + (i // 64) % 26 for i in range(SIZE))


def retry_writes(tmp_path: Path, plan: FaultPlan | None, *args: str, preempt: Preempt = Preempt.FUEL,
                 seed: int = 0) -> Outcome:
    work = tmp_path / f"work{len(list(tmp_path.iterdir()))}"
    work.mkdir()
    io = GuestIO(args=list(args), dirs=[(str(work), ".")], wasi_options={"faults": plan} if plan else {})
    o = Runner(RunSettings(preempt=preempt, seed=seed)).run(RETRY, io)
    o.extra["out.bin"] = (work / "out.bin").read_bytes() if (work / "out.bin").exists() else None
    return o


def counts(o: Outcome) -> tuple[int, int]:
    m = re.fullmatch(r"retry_writes: (\d+) retries, (\d+) short transfers, file \d+ bytes\n", o.stderr)
    assert m, o.stderr
    return int(m.group(1)), int(m.group(2))


def test_without_faults_the_guest_writes_in_whole_buffers(tmp_path: Path) -> None:
    o = retry_writes(tmp_path, None)
    assert (o.status, o.exit_code) == (Status.EXITED, 0), o.report
    assert o.stdout_bytes == expected_pattern() + b"\nretry_writes: file ok\n"
    assert o.extra["out.bin"] == expected_pattern()
    assert counts(o) == (0, 0)


@pytest.mark.parametrize("name", sorted(PLANS))
def test_a_correct_retry_loop_prints_identical_output_under_faults(tmp_path: Path, name: str) -> None:
    clean = retry_writes(tmp_path, None)
    faulty = retry_writes(tmp_path, PLANS[name])
    assert (faulty.status, faulty.exit_code) == (Status.EXITED, 0), faulty.report
    assert faulty.stdout_bytes == clean.stdout_bytes
    assert faulty.extra["out.bin"] == clean.extra["out.bin"] == expected_pattern()
    assert counts(faulty) != (0, 0)  # faults really were injected and retried
    if name.startswith("eintr"):
        assert any(e.call in ("fd_write", "fd_read") and e.result in (6, 27) for e in faulty.trace)  # EAGAIN, EINTR


@pytest.mark.parametrize("name", sorted(PLANS))
def test_the_same_plan_injects_the_same_faults_every_time(tmp_path: Path, name: str) -> None:
    a = retry_writes(tmp_path, PLANS[name])
    b = retry_writes(tmp_path, PLANS[name])
    assert a.stderr == b.stderr
    assert [(e.call, e.args[0], e.result) for e in a.trace] == [(e.call, e.args[0], e.result) for e in b.trace]


def test_another_fault_seed_injects_other_faults(tmp_path: Path) -> None:
    plans = [FaultPlan(seed=s, eintr_probability=0.3, max_write=2000, random_short=True, targets=NO_STDERR)
             for s in (10, 11, 12)]
    seen = {counts(retry_writes(tmp_path, p)) for p in plans}
    assert len(seen) > 1


def test_a_naive_writer_loses_data_under_short_writes_deterministically(tmp_path: Path) -> None:
    assert retry_writes(tmp_path, None, "naive").exit_code == 0  # the bug hides without faults
    plan = PLANS["everything"]
    a = retry_writes(tmp_path, plan, "naive")
    b = retry_writes(tmp_path, plan, "naive")
    assert (a.status, a.exit_code) == (Status.EXITED, 1)
    assert len(a.stdout_bytes) < SIZE and a.stdout.endswith("retry_writes: file differs\n")
    assert (a.stdout_bytes, a.stderr, a.extra["out.bin"]) == (b.stdout_bytes, b.stderr, b.extra["out.bin"])


def test_a_full_disk_ends_the_retry_loop_with_its_error(tmp_path: Path) -> None:
    o = retry_writes(tmp_path, FaultPlan(enospc_after=10_000, targets=frozenset({"file"})))
    assert (o.status, o.exit_code) == (Status.EXITED, 2)
    assert o.extra["out.bin"] == expected_pattern()[:10_000]
    assert [e.result for e in o.trace if e.call == "fd_write" and e.args[0] > 2][-1] == 51  # ENOSPC


def test_faults_apply_afresh_to_every_explored_schedule(tmp_path: Path) -> None:
    work = tmp_path / "explore"
    work.mkdir()
    io = GuestIO(dirs=[(str(work), ".")], wasi_options={"faults": PLANS["everything"]})
    ex = Runner(RunSettings()).explore(RETRY, io, schedules=4)
    assert not ex.failed, ex.outcome.report
    assert ex.distinct == {"exited with code 0": 4}
    assert counts(ex.outcome) == counts(retry_writes(tmp_path, PLANS["everything"], seed=3))


@pytest.mark.parametrize("preempt", [Preempt.EPOCH, Preempt.OS])
def test_faults_are_injected_in_the_other_modes_too(tmp_path: Path, preempt: Preempt) -> None:
    o = retry_writes(tmp_path, PLANS["everything"], preempt=preempt)
    assert (o.exit_code, o.stdout_bytes) == (0, expected_pattern() + b"\nretry_writes: file ok\n")
    assert counts(o) == counts(retry_writes(tmp_path, PLANS["everything"]))  # one thread: same call order


def test_native_wasi_refuses_fault_options_instead_of_ignoring_them(tmp_path: Path) -> None:
    from pytest_wasmconc.runtime import ConfigError

    with pytest.raises(ConfigError, match=r"WASI options \['faults'\] need the sandbox WASI"):
        GuestIO(dirs=[(str(tmp_path), ".")], wasi="native", wasi_options={"faults": PLANS["eintr"]})


def test_a_plan_from_cli_style_specs() -> None:
    plan = FaultPlan.from_specs(["seed=0x10", "max-write=100", "max_read=7", "random-short", "eintr-calls=1,3",
                                 "eagain-probability=0.25", "enospc-after=4096", "targets=file,stdout"])
    assert plan == FaultPlan(seed=16, max_write=100, max_read=7, random_short=True, eintr_calls=frozenset({1, 3}),
                             eagain_probability=0.25, enospc_after=4096, targets=NO_STDERR)
    assert FaultPlan.from_specs(["random-short=no"]) == FaultPlan()


@pytest.mark.parametrize("spec,message", [
    ("max-wrte=1", "unknown fault 'max-wrte' in 'max-wrte=1' (valid: eagain-calls, "),
    ("max-write=0", "fault max-write must be >= 1, got 0"),
    ("max-write=x", "fault 'max-write=x': 'x' is not a valid int"),
    ("eintr-probability=2", "fault eintr-probability must be within [0, 1], got 2.0"),
    ("targets=disk", "fault targets: unknown ['disk']"),
    ("seed", "fault 'seed': expected seed=VALUE"),
])
def test_a_bad_spec_names_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        FaultPlan.from_specs([spec])
    assert str(info.value).startswith(message)


def test_the_cli_injects_faults_and_puts_them_in_the_replay_command(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from pytest_wasmconc.cli import main

    work = tmp_path / "cli"
    work.mkdir()
    common = ["--dir", f"{work}::.", "--wasi-fault", "max-write=1000", "--wasi-fault", "eintr-probability=0.2",
              "--wasi-fault", "targets=file,stdout"]
    assert main(["run", *common, str(RETRY)]) == 0
    out, err = capfd.readouterr()
    assert out.encode() == expected_pattern() + b"\nretry_writes: file ok\n"
    assert re.search(r"retry_writes: [1-9]\d* retries, [1-9]\d* short transfers", err), err
    # a failing (naive) explore prints a replay command that carries the faults
    assert main(["explore", "--schedules", "2", *common, str(RETRY), "--", "naive"]) == 1
    out, err = capfd.readouterr()
    faults = "--wasi-fault max-write=1000 --wasi-fault eintr-probability=0.2 --wasi-fault targets=file,stdout"
    assert faults in out + err


@pytest.mark.parametrize("argv,message", [
    (["--wasi", "native", "--wasi-fault", "max-write=1"], "--wasi-fault needs --wasi sandbox"),
    (["--wasi-fault", "max-wrte=1"], "--wasi-fault: unknown fault 'max-wrte'"),
])
def test_the_cli_rejects_unusable_faults(argv: list[str], message: str, capfd: pytest.CaptureFixture[str]) -> None:
    from pytest_wasmconc.cli import EXIT_USAGE, main

    assert main(["run", *argv, str(GUESTS / "sleep10.wasm")]) == EXIT_USAGE
    assert message in capfd.readouterr().err
