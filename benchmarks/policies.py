"""Which policy finds the project's bug guests fastest? (how the default policy was chosen)

For each policy and each bug guest, explores from several base seeds and
records how many schedules it took to hit the bug (or that it did not within
the budget). Prints the median schedules-to-bug and the hit rate:

    python benchmarks/policies.py [--budget 200] [--trials 10]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from pytest_wasmconc.runtime import GuestIO, Runner, RunSettings, Status

GUESTS = Path(__file__).resolve().parents[1] / "guests"

# (guest, args, what counts as finding the bug)
BUGS = [
    ("c/lost_update.wasm", [], lambda o: o.status is Status.EXITED and o.exit_code == 1),
    ("c/lock_order.wasm", [], lambda o: o.status is Status.DEADLOCK),
    ("zig/zig_join_race.wasm", [], lambda o: o.status in (Status.DEADLOCK, Status.HANG)),
]
POLICIES = ["random", "pct", "rr"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=200, help="schedules per trial")
    parser.add_argument("--trials", type=int, default=10, help="base seeds per policy and guest")
    args = parser.parse_args()
    print(f"{'guest':<26}{'policy':<8}{'found':>8}{'median schedules':>18}")
    for guest, gargs, is_bug in BUGS:
        path = GUESTS / guest
        if not path.exists():
            continue
        for policy in POLICIES:
            counts = []
            for trial in range(args.trials):
                runner = Runner(RunSettings(policy=policy, seed=trial * 7919, max_steps=200_000))
                result = runner.explore(path, GuestIO(args=gargs), schedules=args.budget, is_failure=is_bug)
                counts.append(result.schedules_run if result.failed else None)
            hits = [c for c in counts if c is not None]
            median = f"{statistics.median(hits):.0f}" if hits else "-"
            print(f"{guest:<26}{policy:<8}{len(hits):>4}/{args.trials:<3}{median:>18}")


if __name__ == "__main__":
    main()
