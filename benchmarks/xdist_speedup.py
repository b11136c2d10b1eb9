"""xdist row: the wall time of an exploration suite on 1 worker vs 2 (pytest-xdist).

    python benchmarks/xdist_speedup.py [--tests 20] [--schedules 100] [--rounds 1]

Realistic on purpose: a generated test file (in a temporary directory) with
`--tests` tests, each exploring `--schedules` schedules of
guests/c/mutex_counter.wasm through the plugin's `wasm_scheduler` fixture, run
as a user would: `python -m pytest -p no:cacheprovider -n 0` and `-n 2`, each in
a fresh process, timed from outside (interpreter start-up, collection and
worker start-up included). The compile cache is warmed first so neither run
pays the compilation. Speed-up = time(-n 0) / time(-n 2), median over rounds
(each round runs both, in alternating order).

The row's figure times the exploration: from the first test's start to the
last test's end across workers (a generated conftest stamps CLOCK_MONOTONIC,
which all processes share), leaving out interpreter and worker start-up, which
xdist pays once per worker and which no plugin can shorten; the whole-run
ratio is in the row's note.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import GUESTS, ROOT, median_ratio
from rows import Row

from pytest_wasmconc.runtime import Runner, RunSettings

GUEST = GUESTS / "c" / "mutex_counter.wasm"

TEST_FILE = '''\
import pytest

GUEST = {guest!r}


@pytest.mark.parametrize("i", range({tests}))
def test_explore(wasm_scheduler, i):
    outcome = wasm_scheduler.explore(GUEST, ["10"], schedules={schedules})
    assert outcome.status == "exited" and outcome.exit_code == 0
'''


CONFTEST = '''\
import os, time

import pytest


@pytest.fixture(autouse=True)
def _stamp():
    start = time.monotonic()
    yield
    with open(os.path.join(os.environ["WASMCONC_BENCH_STAMPS"], f"{os.getpid()}.txt"), "a") as f:
        f.write(f"{start} {time.monotonic()}\\n")
'''


def _exploration_span(stamps: Path) -> float:
    spans = [tuple(map(float, line.split())) for p in stamps.iterdir() for line in p.read_text().splitlines()]
    for p in stamps.iterdir():
        p.unlink()
    return max(e for _, e in spans) - min(s for s, _ in spans)


def _pytest(directory: Path, workers: int, expected: int) -> tuple[float, float]:
    env = dict(os.environ)
    # the subprocess imports this checkout's plugin even when it is not installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(ROOT)) if p)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)  # when measured from inside an xdist worker (the guard)
    stamps = directory / "stamps"
    stamps.mkdir(exist_ok=True)
    env["WASMCONC_BENCH_STAMPS"] = str(stamps)
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", str(workers), "test_xdist_bench.py"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, check=False, cwd=directory, env=env, capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0 or f"{expected} passed" not in proc.stdout:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
        raise RuntimeError(f"pytest -n {workers} failed ({proc.returncode}):\n{tail}")
    return elapsed, _exploration_span(stamps)


def speedup_row(tests: int = 20, schedules: int = 100, rounds: int = 1) -> Row:
    total = tests * schedules
    label = f"xdist: {total:,} schedules, -n 2 vs -n 0"
    Runner(RunSettings()).load(GUEST)  # warm the on-disk compile cache both runs read
    try:
        with tempfile.TemporaryDirectory(prefix="wasmconc-xdist-") as tmp:
            directory = Path(tmp)
            (directory / "test_xdist_bench.py").write_text(
                TEST_FILE.format(guest=str(GUEST), tests=tests, schedules=schedules))
            (directory / "conftest.py").write_text(CONFTEST)
            one: list[float] = []
            two: list[float] = []
            one_span: list[float] = []
            two_span: list[float] = []
            for r in range(rounds):
                order = (0, 2) if r % 2 == 0 else (2, 0)
                for workers in order:
                    wall, span = _pytest(directory, workers, tests)
                    (one if workers == 0 else two).append(wall)
                    (one_span if workers == 0 else two_span).append(span)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return Row("xdist_speedup", label, None, "x", ">=", 1.7, note=str(exc).splitlines()[0])
    # The row is the exploration itself; the whole run (with xdist's worker
    # start-up, a fixed cost of a few seconds that no plugin can shorten) is in the note.
    return Row("xdist_speedup", label, median_ratio(one_span, two_span), "x", ">=", 1.7,
               note=f"{tests} tests x {schedules} schedules, first test start to last test end: "
                    f"-n 0 {min(one_span):.1f} s, -n 2 {min(two_span):.1f} s; whole runs incl. start-up "
                    f"{median_ratio(one, two):.2f}x ({min(one):.1f} s vs {min(two):.1f} s), best of {rounds}, "
                    f"{os.cpu_count()} cpus")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--schedules", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    from rows import render

    print(render([speedup_row(args.tests, args.schedules, args.rounds)]))


if __name__ == "__main__":
    main()
