"""Benchmark: schedules per CPU second with the reset path on and off (runtime/machine/reuse.py).

    python benchmarks/reset_path.py [--rounds 3] [--quick]

For each guest, `Runner.explore` (random policy, every schedule run: `is_failure` never) with
`Runner.reuse_instances` off and on, the two alternating in this process, `--rounds` times;
reports the median rate of each per CPU second (moves less with a busy machine's load than wall
time) and what the reset path did (kept worlds, instances and stores reused). The guests: two
hand-written ones whose memory never grows, the benchmark's real wasi-libc guest with 2, 4 and
100 threads and a libc guest that starts its threads one after another (instances reused inside
an execution). The libc guests grow their memory in every schedule: the reset path keeps it with
a virtual memory size (instrument/vmem.py); a tree without it runs them on fresh worlds (spare
stores), which is how the script measures before and after with another tree on PYTHONPATH.
benchmarks/README.md "The reset path" has the figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import GUESTS

from pytest_wasmconc.runtime import GuestIO, Runner, RunSettings

CASES = [  # (guest, args, schedules per round)
    ("wat/exit_worker_return_main_waiting.wasm", [], 1000),
    ("wat/user_lock_reports.wasm", [], 500),
    ("libc/mutex_many_threads.wasm", ["2", "10"], 500),
    ("libc/mutex_many_threads.wasm", ["4", "1000"], 20),
    ("libc/mutex_many_threads.wasm", ["100", "1"], 40),
    ("libc/spawn_join_loop.wasm", ["50"], 20),
]


def rate(guest: Path, args: list[str], schedules: int, reuse: bool) -> tuple[float, dict[str, int]]:
    runner = Runner(RunSettings(policy="random", seed=1))
    runner.reuse_instances = reuse
    io = GuestIO(args=args)
    runner.explore(guest, io, schedules=2, expect_exit=None, is_failure=lambda _o: False)  # load, warm up
    runner.reuse_counts.clear()
    cpu = time.process_time()
    runner.explore(guest, io, schedules=schedules, expect_exit=None, is_failure=lambda _o: False)
    return schedules / (time.process_time() - cpu), dict(runner.reuse_counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a few schedules: checks that it runs")
    ns = parser.parse_args(argv)
    for name, args, schedules in CASES:
        n = 3 if ns.quick else schedules
        rates: dict[bool, list[float]] = {False: [], True: []}
        counts: dict[str, int] = {}
        for i in range(ns.rounds):
            for reuse in ((False, True) if i % 2 == 0 else (True, False)):
                r, c = rate(GUESTS / name, args, n, reuse)
                rates[reuse].append(r)
                if reuse:
                    counts = c
        off, on = statistics.median(rates[False]), statistics.median(rates[True])
        print(f"{name} {' '.join(args)}: off {off:,.0f}/s, on {on:,.0f}/s per CPU second "
              f"({n} schedules, median of {ns.rounds}); on: {counts}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
