"""The dfs search with and without its partial-order reduction: schedules, time, and the outcomes both reach.

    python benchmarks/dfs_reduction.py [--bound 2|none] [--schedules 100000] [GUEST[:ARGS] ...]

For each guest (default: guests/dfs/atomic_pair.wasm and two_flags.wasm), the bounded search
(`--policy dfs --preemption-bound K`; `none`: raised until the search is exhausted or the schedules
run out) run whole twice, with the sleep sets and without
(`--no-reduction`), neither stopping at a failure: the schedules each ran (every pass, as
`wasmconc explore` counts them), its statement, wall and CPU time, and whether both reached the
same set of outcomes (exit status and stdout): the reduction must never lose one. ARGS are the
guest's arguments, space-separated (e.g. "guests/races/order_flags.wasm:1 1 1"). Runs with any
version of the runtime that has `Runner.explore(reduction=...)`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pytest_wasmconc.runtime import GuestIO, Outcome, Runner, RunSettings

GUESTS = Path(__file__).resolve().parents[1] / "guests"
DEFAULT = [str(GUESTS / "dfs" / "atomic_pair.wasm"), str(GUESTS / "dfs" / "two_flags.wasm")]


def search(guest: str, args: list[str], bound: int | None, schedules: int, reduction: bool
           ) -> tuple[int, str, float, float, set[tuple[str, str]]]:
    runner = Runner(RunSettings(policy="dfs", timeout=None))
    runner.run(guest, GuestIO(args=args))  # warm-up: the compile cache
    outcomes: set[tuple[str, str]] = set()

    def note(o: Outcome) -> bool:
        outcomes.add((o.summary(), o.stdout))
        return False  # never stop: both searches run whole

    wall, cpu = time.perf_counter(), time.process_time()
    result = runner.explore(guest, GuestIO(args=args), schedules=schedules, preemption_bound=bound,
                            reduction=reduction, is_failure=note)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return result.schedules_run, result.statement or "", wall, cpu, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bound", type=lambda t: None if t == "none" else int(t), default=2)
    parser.add_argument("--schedules", type=int, default=100_000)
    parser.add_argument("guests", nargs="*", default=DEFAULT, metavar="GUEST[:ARGS]")
    ns = parser.parse_args()
    print("| guest | reduction | schedules | statement | wall s | CPU s | same outcomes |")
    print("|---|---|---|---|---|---|---|")
    for spec in ns.guests:
        guest, _, text = spec.partition(":")
        args = text.split()
        runs = {red: search(guest, args, ns.bound, ns.schedules, red) for red in (True, False)}
        same = runs[True][4] == runs[False][4]
        name = Path(guest).name + (f" {text}" if text else "")
        for red, (count, statement, wall, cpu, outcomes) in runs.items():
            print(f"| {name} | {'sleep sets' if red else 'none'} | {count} | {statement} | {wall:.2f} | {cpu:.2f} | "
                  f"{same} ({len(outcomes)}) |", flush=True)


if __name__ == "__main__":
    main()
