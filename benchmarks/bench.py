"""Benchmark: every performance target of the project, measured in one run, as one table.

    python benchmarks/bench.py [--rounds 7] [--quick] [--json FILE] [--markdown] [--only ROW,...] [--guard]

Rows (each against the issue's target, with a PASS/FAIL mark):

- fuel mode at the default slice / a plain wasmtime-py call, for fib, dot product
  and matrix multiply, hand-written WAT (kernels.py) and C compiled by clang
  (c_kernels.py); epoch / fuel on the same kernels ("never slower");
- one context switch: two threads alternating at an atomic RMW, wall time / steps;
- exploration: schedules per second of guests/c/mutex_counter.wasm (2 threads),
  fuel, and the epoch / fuel time ratio on the same exploration;
- scale (scale.py): 100 live guest threads, memory per thread, a 4-thread
  execution of 100,000 scheduling decisions;
- xdist (xdist_speedup.py): a generated 2,000-schedule test suite on -n 2 vs -n 0;
- shared (shared_level.py): the default `shared` level (every plain access to shared memory a
  visible operation) / plain wasmtime-py on the C dot product and matmul built for
  wasm32-wasip1-threads: one thread (target <= 3x), and two threads under the default policy
  and with few switches, against plain wasmtime-py doing the same work on one thread.

Ratios are medians of per-round ratios: each round runs every variant once, in
rotating order, so load from the rest of the machine hits them alike. The
runtime's side includes its instantiation and WASI set-up, as a user pays them.
--quick is the regression guard's size: fewer rounds, smaller scale and
xdist runs, same kernel sizes (the ratios stay comparable). --guard then
judges the rows with the guard's loose limits (guard.py: several times off a
target fails, exit 1); run it on a machine you measure on, not in the test
suite, which only checks that this machinery works (tests/test_benchmark_guard.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import wasmtime
from c_kernels import BENCH_KERNELS, C_KERNELS, plain_call_c
from common import GUESTS, interleaved, median_ratio, reps_for
from kernels import KERNELS, PINGPONG
from guard import report
from rows import Row, dump, render

from pytest_wasmconc.runtime import (
    GuestIO,
    Preempt,
    Program,
    Runner,
    RunSettings,
    wasmtime_version,
)

# The targets for fuel / plain; epoch / fuel must not exceed 1, read with
# 5% for measurement noise (two equal modes would otherwise fail half the runs).
FUEL_TARGET = {"fib": 1.2, "dot": 1.5, "matmul": 1.5}
EPOCH_TARGET = 1.05
MIN_SAMPLE = 0.1  # seconds of plain calls per timed sample (short kernels are repeated)
SWITCH_TARGET_US = 2.0
SCHEDULES_TARGET = 1000.0
EXPLORE_GUEST = GUESTS / "c" / "mutex_counter.wasm"


@dataclass(frozen=True)
class Sizes:
    rounds: int
    switch_rounds: int  # each round is 40,000 switches
    explore_schedules: int  # per round and mode
    threads: int
    decisions: int
    xdist_tests: int
    xdist_schedules: int
    xdist_rounds: int
    shared_seeds: int  # default-policy runs per sample of the threaded shared-level rows


def sizes(rounds: int, quick: bool) -> Sizes:
    if quick:
        return Sizes(rounds=rounds, switch_rounds=1, explore_schedules=30, threads=100, decisions=20_000,
                     xdist_tests=4, xdist_schedules=10, xdist_rounds=1, shared_seeds=2)
    return Sizes(rounds=rounds, switch_rounds=rounds, explore_schedules=100, threads=100, decisions=100_000,
                 xdist_tests=20, xdist_schedules=100, xdist_rounds=max(1, min(3, rounds // 2)), shared_seeds=5)


def plain_call(wat: str) -> Callable[[], None]:
    engine = wasmtime.Engine()  # default Config: no fuel, no epoch interruption
    module = wasmtime.Module(engine, wat)

    def run() -> None:
        store = wasmtime.Store(engine)
        fn = wasmtime.Instance(store, module, []).exports(store)["run"]
        assert isinstance(fn, wasmtime.Func)
        fn(store)

    return run


def runtime_call(runner: Runner, program: Program, args: list[str]) -> Callable[[], None]:
    io = GuestIO(args=args)

    def run() -> None:
        o = runner.execute(program, io, runner.settings)
        assert o.exit_code == 0, o.report

    return run


def kernel_rows(rounds: int) -> list[Row]:
    """fuel / plain and epoch / fuel for every kernel, WAT and C, side by side per round."""
    runners = {p: Runner(RunSettings(preempt=p, max_steps=None)) for p in (Preempt.FUEL, Preempt.EPOCH)}
    Maker = Callable[[Preempt], Callable[[], None]]

    def wat_runtime(wasm: bytes) -> Maker:
        return lambda p: runtime_call(runners[p], runners[p].load(wasm), [])

    def c_runtime(argv: list[str]) -> Maker:
        return lambda p: runtime_call(runners[p], runners[p].load(BENCH_KERNELS), argv)

    # (row name, language, kernel kind, the plain call, the runtime call per mode)
    cases: list[tuple[str, str, str, Callable[[], None], Maker]] = []
    for name, wat in KERNELS.items():
        kind = name.split()[0].split("(")[0]
        cases.append((name, "WAT", kind, plain_call(wat), wat_runtime(bytes(wasmtime.wat2wasm(wat)))))
    for k in C_KERNELS:
        cases.append((k.name, "C", k.export.removeprefix("bench_"), plain_call_c(k), c_runtime(k.argv)))
    fuel_rows, epoch_rows = [], []
    for name, lang, kind, plain, make in cases:
        variants = {"plain": plain, "fuel": make(Preempt.FUEL), "epoch": make(Preempt.EPOCH)}
        for fn in variants.values():  # warm up: compile, caches, first-touch of memory
            fn()
        reps = reps_for(plain, MIN_SAMPLE)  # same count for every variant: ratios stay per call
        t = interleaved(variants, rounds, reps)
        fuel = median_ratio(t["fuel"], t["plain"])
        key = f"{kind}_{lang.lower()}"
        fuel_rows.append(Row(f"fuel_{key}", f"fuel / plain: {name}" + (" (WAT)" if lang == "WAT" else ""),
                             fuel, "x", "<=", FUEL_TARGET[kind],
                             note=f"plain {statistics.median(t['plain']) / reps * 1e3:.1f} ms x {reps}; epoch / plain "
                                  f"{median_ratio(t['epoch'], t['plain']):.2f}x"))
        epoch_rows.append(Row(f"epoch_{key}", f"epoch / fuel: {name}" + (" (WAT)" if lang == "WAT" else ""),
                              median_ratio(t["epoch"], t["fuel"]), "x", "<=", EPOCH_TARGET,
                              note="never slower (+5% noise)"))
    return fuel_rows + epoch_rows


def context_switch_row(rounds: int) -> Row:
    runner = Runner(RunSettings(policy="rr", max_steps=None))
    program = runner.load(bytes(wasmtime.wat2wasm(PINGPONG)))
    runner.execute(program, GuestIO(), runner.settings)  # warm up
    samples = []
    for _ in range(rounds):
        o = runner.execute(program, GuestIO(), runner.settings)
        assert o.exit_code == 0, o.report
        samples.append(o.elapsed / o.steps * 1e6)
    return Row("context_switch", "one context switch", statistics.median(samples), "us", "<=", SWITCH_TARGET_US,
               note="2 threads alternating at an atomic RMW (rr policy): wall time / steps")


def exploration_rows(rounds: int, schedules: int) -> list[Row]:
    """Schedules/s in fuel mode, and epoch / fuel time on the same exploration, side by side."""
    io = GuestIO(args=["10"])
    runners = {p: Runner(RunSettings(preempt=p, seed=0)) for p in (Preempt.FUEL, Preempt.EPOCH)}
    rates: dict[Preempt, list[float]] = {p: [] for p in runners}

    def explore(p: Preempt, seed: int) -> None:
        r = runners[p].explore(EXPLORE_GUEST, io, schedules=schedules, settings=runners[p].settings.with_(seed=seed))
        assert not r.failed, r.outcome.report
        rates[p].append(r.rate)

    for runner in runners.values():  # warm up
        runner.explore(EXPLORE_GUEST, io, schedules=3)
    for i in range(rounds):
        order = list(runners) if i % 2 == 0 else list(reversed(runners))
        for p in order:
            explore(p, i)
    fuel = statistics.median(rates[Preempt.FUEL])
    slowdown = median_ratio(rates[Preempt.FUEL], rates[Preempt.EPOCH])  # = epoch time / fuel time
    return [
        Row("schedules_per_s", "exploration: mutex_counter (2 threads)", fuel, "/s", ">=", SCHEDULES_TARGET,
            note=f"fuel, random policy, {schedules} schedules x {rounds} rounds, one core"),
        Row("epoch_explore", "epoch / fuel: exploration of mutex_counter", slowdown, "x", "<=", EPOCH_TARGET,
            note=f"epoch {statistics.median(rates[Preempt.EPOCH]):.0f}/s; never slower (+5% noise)"),
    ]


SECTIONS = ("kernels", "switch", "explore", "scale", "xdist", "shared")


def measure(size: Sizes, only: set[str]) -> list[Row]:
    import scale
    import shared_level
    import xdist_speedup

    steps: dict[str, Callable[[], list[Row]]] = {
        "kernels": lambda: kernel_rows(size.rounds),
        "switch": lambda: [context_switch_row(size.switch_rounds)],
        "explore": lambda: exploration_rows(size.rounds, size.explore_schedules),
        "scale": lambda: scale.thread_rows(size.threads) + [scale.decisions_row(size.decisions)],
        "xdist": lambda: [xdist_speedup.speedup_row(size.xdist_tests, size.xdist_schedules, size.xdist_rounds)],
        "shared": lambda: shared_level.shared_rows(size.rounds) + shared_level.threaded_rows(size.rounds,
                                                                                             size.shared_seeds),
    }
    rows: list[Row] = []
    for name in SECTIONS:
        if name in only:
            t0 = time.perf_counter()
            rows += steps[name]()
            print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    # one row per target: fuel rows, then the rest, then every epoch / fuel row together
    return sorted(rows, key=lambda r: r.key.startswith("epoch_"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=None, help="rounds per measurement (default 7, quick 3)")
    parser.add_argument("--quick", action="store_true", help="CI size: fewer rounds, small scale and xdist runs")
    parser.add_argument("--json", type=Path, help="also write the rows to this file (for the CI guard)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--guard", action="store_true",
                        help="then judge the rows with the regression guard's loose limits (exit 1 when far off)")
    parser.add_argument("--guard-slack", type=float, default=1.0, help="scales every guard limit (default 1)")
    args = parser.parse_args()
    rounds = args.rounds if args.rounds is not None else (3 if args.quick else 7)
    only = set(args.only.split(","))
    if only - set(SECTIONS):
        parser.error(f"--only: unknown {sorted(only - set(SECTIONS))} (valid: {', '.join(SECTIONS)})")
    print(f"wasmtime {wasmtime_version()}; {rounds} rounds{' (quick)' if args.quick else ''}; "
          "ratio = time / time, median of per-round ratios", file=sys.stderr, flush=True)
    rows = measure(sizes(rounds, args.quick), only)
    print(render(rows, markdown=args.markdown))
    if args.json:
        dump(rows, args.json)
    return report(rows, args.guard_slack) if args.guard else 0


if __name__ == "__main__":
    sys.exit(main())
