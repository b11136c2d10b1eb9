"""How fast the step budget reaches its verdict on a spinning guest, per instrumentation level.

    python benchmarks/hang_verdict.py [--levels atomics,memory,shared] [--budgets 2000,20000] [--full]

For each spin guest and level, in fuel mode with the random policy (the seed of
`wasmconc explore --seed 2`'s first schedule): the CPU time of one scheduling step
of a hang verdict, as (CPU at budget B2 - CPU at budget B1) / (steps at B2 - steps
at B1), best of 3 runs each after a warm-up run, so start-up, compilation and the
report cancel out. CPU time, not wall time: the machine is shared, and a loaded
one stretches wall time several-fold. From it, what the default budget of
1,000,000 steps costs. `--full` also times one run at the default budget (wall).

The guests spin alone, the other threads blocked or finished: guests/zig/
zig_join_race.wasm (Zig 0.17's lost wakeup: main spins in `join` on an atomic
load), guests/wat/spin_forever.wasm (a worker spins on an atomic load) and
guests/wat/wait_spin_forever.wasm (a worker spins on wait32 calls that return
"not-equal" at once). Runs with any version of the runtime (the figures before
a change are taken by running this file against the older checkout).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pytest_wasmconc.runtime import Preempt, Runner, RunSettings
from pytest_wasmconc.schedulers import derive_seed

GUESTS = Path(__file__).resolve().parents[1] / "guests"
SPINS = [GUESTS / "zig" / "zig_join_race.wasm", GUESTS / "wat" / "spin_forever.wasm",
         GUESTS / "wat" / "wait_spin_forever.wasm"]
DEFAULT_BUDGET = 1_000_000
SEED = derive_seed(2, 0)  # `explore --seed 2`, schedule 0: the Zig guest's hang


def _cpu_per_run(guest: Path, level: str, budget: int, repeats: int) -> tuple[float, int, str]:
    runner = Runner(RunSettings(preempt=Preempt.FUEL, level=level, policy="random", seed=SEED, max_steps=budget,
                                timeout=900.0))
    runner.run(guest)  # warm-up: the compile cache
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        o = runner.run(guest)
        best = min(best, time.process_time() - start)
    return best, o.steps, o.summary()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default="atomics,memory,shared")
    ap.add_argument("--budgets", default="2000,20000", help="B1,B2: the two step budgets compared")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="also time one run at the default budget")
    opts = ap.parse_args()
    b1, b2 = (int(b) for b in opts.budgets.split(","))
    print("| guest | level | verdict | CPU per step | default budget (1,000,000 steps) |" + (" one run (wall) |"
                                                                                          if opts.full else ""))
    print("|---|---|---|---|---|" + ("---|" if opts.full else ""))
    for guest in SPINS:
        for level in opts.levels.split(","):
            c1, s1, _ = _cpu_per_run(guest, level, b1, opts.repeats)
            c2, s2, verdict = _cpu_per_run(guest, level, b2, opts.repeats)
            per_step = (c2 - c1) / (s2 - s1)
            row = (f"| {guest.name} | {level} | {verdict} | {per_step * 1e6:.2f} us | "
                   f"{per_step * DEFAULT_BUDGET:.1f} s CPU |")
            if opts.full:
                runner = Runner(RunSettings(preempt=Preempt.FUEL, level=level, policy="random", seed=SEED,
                                            max_steps=DEFAULT_BUDGET, timeout=900.0))
                start = time.monotonic()
                o = runner.run(guest)
                row += f" {time.monotonic() - start:.1f} s, {o.summary()} |"
            print(row, flush=True)


if __name__ == "__main__":
    main()
