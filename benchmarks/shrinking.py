"""How far shrinking takes a failing schedule, and at what cost (README "Shrinking").

For each bug guest and base seed, explores under the random policy until a schedule fails,
shrinks it (budget 10 s, the default), and replays the shrunk token 10 times. Prints per guest:
failing seeds, preemptions before and after (median, max), shrinking time and candidate schedules
(median, max), and how many of the 10 replays failed the same way (min over seeds):

    python benchmarks/shrinking.py [--seeds 10]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from pytest_wasmconc.runtime import GuestIO, Runner, RunSettings
from pytest_wasmconc.shrinking import outcome_class, shrink_failure

GUESTS = Path(__file__).resolve().parents[1] / "guests"
BUGS = ["c/lost_update.wasm", "c/lock_order.wasm", "races/lost_update_pair.wasm", "races/lost_update_balance.wasm",
        "races/lost_update_refcount.wasm", "races/check_act_claim.wasm", "races/check_act_lazy_init.wasm",
        "races/order_flags.wasm"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10, help="base seeds per guest")
    parser.add_argument("--schedules", type=int, default=500, help="schedules explored per seed")
    args = parser.parse_args()
    print("| guest | failing seeds | preemptions before (median, max) | after (median, max) | time s (median, max) "
          "| candidates (median, max) | replays failing the same way |")
    print("|---|---|---|---|---|---|---|")
    for guest in BUGS:
        rows = []
        for seed in range(args.seeds):
            runner = Runner(RunSettings(policy="random", seed=seed))
            program = runner.load(str(GUESTS / guest))
            io = GuestIO()
            found = runner.explore(program, io, schedules=args.schedules)
            if not found.failed:
                continue
            shrunk = shrink_failure(runner, program, io, found.outcome, runner.settings, budget=10)
            assert shrunk is not None
            token = shrunk.outcome.token or ""
            same = sum(outcome_class(runner.replay(program, token, io)) == shrunk.target for _ in range(10))
            rows.append((shrunk.original_preemptions or 0, shrunk.preemptions or 0, shrunk.elapsed,
                         shrunk.candidates, same))
        if not rows:
            print(f"| `{guest}` | 0 | | | | | |")
            continue
        print(f"| `{guest}` | {len(rows)} | {cell(rows, 0)} | {cell(rows, 1)} | {cell(rows, 2, '{:.2f}')} "
              f"| {cell(rows, 3)} "
              f"| {min(r[4] for r in rows)}/10 (worst seed) |")


def cell(rows: list[tuple[int, int, float, int, int]], i: int, fmt: str = "{}") -> str:
    """Median and max of column i."""
    values = [r[i] for r in rows]
    return f"{fmt.format(statistics.median(values))}, {fmt.format(max(values))}"


if __name__ == "__main__":
    main()
