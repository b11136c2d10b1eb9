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


def _pytest(directory: Path, workers: int, expected: int) -> float:
    env = dict(os.environ)
    # the subprocess imports this checkout's plugin even when it is not installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(ROOT)) if p)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)  # when measured from inside an xdist worker (the guard)
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", str(workers), "test_xdist_bench.py"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, check=False, cwd=directory, env=env, capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0 or f"{expected} passed" not in proc.stdout:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
        raise RuntimeError(f"pytest -n {workers} failed ({proc.returncode}):\n{tail}")
    return elapsed


def speedup_row(tests: int = 20, schedules: int = 100, rounds: int = 1) -> Row:
    total = tests * schedules
    label = f"xdist: {total:,} schedules, -n 2 vs -n 0"
    Runner(RunSettings()).load(GUEST)  # warm the on-disk compile cache both runs read
    try:
        with tempfile.TemporaryDirectory(prefix="wasmconc-xdist-") as tmp:
            directory = Path(tmp)
            (directory / "test_xdist_bench.py").write_text(
                TEST_FILE.format(guest=str(GUEST), tests=tests, schedules=schedules))
            one: list[float] = []
            two: list[float] = []
            for r in range(rounds):
                order = (0, 2) if r % 2 == 0 else (2, 0)
                for workers in order:
                    (one if workers == 0 else two).append(_pytest(directory, workers, tests))
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return Row("xdist_speedup", label, None, "x", ">=", 1.7, note=str(exc).splitlines()[0])
    return Row("xdist_speedup", label, median_ratio(one, two), "x", ">=", 1.7,
               note=f"{tests} tests x {schedules} schedules; -n 0 {min(one):.1f} s, -n 2 {min(two):.1f} s "
                    f"(best of {rounds}), {os.cpu_count()} cpus")


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
