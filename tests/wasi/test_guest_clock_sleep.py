"""Clocks, randomness and sleeping are virtual in fuel mode: reproducible from the seed, and fast."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status

GUESTS = Path(__file__).resolve().parents[2] / "guests" / "wasi"
CLOCK_RANDOM = GUESTS / "clock_random.wasm"
SHAPE = re.compile(
    r"realtime\[0\]=\d+\.\d{9}\nrealtime\[1\]=\d+\.\d{9}\nrealtime\[2\]=\d+\.\d{9}\n"
    r"monotonic\[0\]=\d+\nmonotonic\[1\]=\d+\nmonotonic\[2\]=\d+\nres=1\n"
    r"random\[0\]=[0-9a-f]{32}\nrandom\[1\]=[0-9a-f]{32}\n"
    r"time=yes\nmonotonic_nondecreasing=yes\nrandom_differ=yes\n"
)


def clock_random(seed: int, preempt: Preempt = Preempt.FUEL) -> str:
    o = Runner(RunSettings(preempt=preempt, seed=seed)).run(CLOCK_RANDOM)
    assert (o.status, o.exit_code, o.stderr) == (Status.EXITED, 0, ""), o.report
    assert SHAPE.fullmatch(o.stdout), o.stdout
    return o.stdout


def values(out: str, name: str) -> list[str]:
    return re.findall(rf"^{name}\[\d\]=(\S+)$", out, re.MULTILINE)


def test_the_same_seed_prints_byte_identical_clocks_and_random_bytes() -> None:
    assert clock_random(7) == clock_random(7)


def test_different_seeds_print_different_random_bytes() -> None:
    outs = {seed: clock_random(seed) for seed in (1, 2, 3)}
    randoms = [tuple(values(out, "random")) for out in outs.values()]
    assert len(set(randoms)) == 3
    assert len(set(outs.values())) == 3


def test_virtual_clocks_start_at_a_fixed_origin_and_move_forward() -> None:
    out = clock_random(0)
    real = [float(v) for v in values(out, "realtime")]
    mono = [int(v) for v in values(out, "monotonic")]
    assert 1_704_067_200 <= real[0] < 1_704_067_200 + 1  # 2024-01-01, a few microseconds in
    assert real[0] < real[1] < real[2] and mono[0] < mono[1] < mono[2]  # every read moves time on


def test_a_replay_token_reproduces_the_random_bytes() -> None:
    runner = Runner(RunSettings(seed=11))
    first = runner.run(CLOCK_RANDOM)
    assert first.token is not None
    again = runner.replay(CLOCK_RANDOM, first.token)
    assert again.stdout_bytes == first.stdout_bytes


def test_os_mode_reads_the_real_clocks() -> None:
    before = time.time()
    out = clock_random(0, Preempt.OS)
    real = float(values(out, "realtime")[0])
    assert before - 1 <= real <= time.time() + 1


def test_the_cli_seed_decides_the_output(capfd: pytest.CaptureFixture[str]) -> None:
    from pytest_wasmconc.cli import main

    outs = []
    for seed in ("5", "5", "6"):
        assert main(["run", "--seed", seed, str(CLOCK_RANDOM)]) == 0
        outs.append(capfd.readouterr().out)
    assert outs[0] == outs[1] != outs[2]


# Sleeps of ten minutes and more: what the test proves is that they are not slept in
# real time, so the bound on the real time (REAL_BOUND_S) stays far below the shortest
# of them, while far above what a run takes on a loaded machine (well under a second).
REAL_BOUND_S = 60


@pytest.mark.parametrize("guest,args,stdout", [
    ("sleep10", ["600000"], "sleep 600000 ms: slept at least that long\n"),
    ("sleep10_threads", ["4", "600000"], "4 threads slept 600000 ms each: overlapped\n"),
    ("sleep10_threads", ["8", "3600000"], "8 threads slept 3600000 ms each: overlapped\n"),
])
def test_sleeping_minutes_of_virtual_time_takes_far_less_real_time_in_fuel_mode(
        guest: str, args: list[str], stdout: str) -> None:
    runner = Runner(RunSettings())
    runner.load(GUESTS / f"{guest}.wasm")  # compile outside the measurement
    started = time.perf_counter()
    o = runner.run(GUESTS / f"{guest}.wasm", GuestIO(args=args))
    elapsed = time.perf_counter() - started
    assert (o.status, o.exit_code, o.stdout) == (Status.EXITED, 0, stdout), o.report
    assert elapsed < REAL_BOUND_S, f"{guest} took {elapsed:.2f} s of real time"
    sleeps = [e for e in o.trace if e.call == "poll_oneoff"]
    assert sleeps and all(e.result == 0 for e in sleeps)


def test_a_real_sleep_in_os_mode_is_real() -> None:
    started = time.perf_counter()
    o = Runner(RunSettings(preempt=Preempt.OS)).run(GUESTS / "sleep10.wasm", GuestIO(args=["200"]))
    assert (o.exit_code, o.stdout) == (0, "sleep 200 ms: slept at least that long\n")
    assert time.perf_counter() - started >= 0.2
