"""Benchmark: schedules per CPU second of one exploration's loop, the reset path on (the default).

    python benchmarks/schedule_rate.py [--policy random] [--schedules 1000] [--rounds 5] [ARGS...]

`Runner.explore` of guests/libc/mutex_many_threads.wasm (ARGS: its arguments, default `2 10`), seed 1,
every schedule run (`is_failure` never), after a 2-schedule warm-up in the same runner (the load is a
memo hit, the kept world made); prints the median rate per CPU second over `--rounds` explorations and
each round's. Small and quick, for before/after pairs of one change run alternately with another
tree first on PYTHONPATH (benchmarks/README.md "Cheaper schedules"); the issue's rows are
throughput.py's, the reset path on and off reset_path.py's.
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

GUEST = GUESTS / "libc" / "mutex_many_threads.wasm"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="random")
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("args", nargs="*", default=["2", "10"], help="the guest's arguments (default: 2 10)")
    ns = parser.parse_args(argv)
    runner = Runner(RunSettings(policy=ns.policy, seed=1))
    io = GuestIO(args=ns.args)
    runner.explore(GUEST, io, schedules=2, expect_exit=None, is_failure=lambda _o: False)
    rates = []
    for _ in range(ns.rounds):
        cpu = time.process_time()
        runner.explore(GUEST, io, schedules=ns.schedules, expect_exit=None, is_failure=lambda _o: False)
        rates.append(ns.schedules / (time.process_time() - cpu))
    print(f"{ns.policy} {' '.join(ns.args)}: median {statistics.median(rates):,.0f}/s per CPU second "
          f"({ns.schedules} schedules x {ns.rounds}: {', '.join(f'{r:,.0f}' for r in rates)})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
