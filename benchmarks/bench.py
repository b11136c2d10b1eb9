"""Benchmark: scheduling modes against a plain wasmtime-py call, side by side in one run.

Prints one table of medians of per-round ratios (each round runs every variant
once, in rotating order, so machine noise hits all variants alike):

    python benchmarks/bench.py [--rounds 7]

Rows: fuel and epoch mode on fib, dot product and matrix multiply (the shape of
Table I of "Prototype Preemptive Threading in Wasmtime"), the cost of one
context switch, and schedules per second for a small 2-thread guest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import wasmtime

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernels import KERNELS, PINGPONG  # noqa: E402

from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings  # noqa: E402

GUESTS = Path(__file__).resolve().parents[1] / "guests"


def plain_call(wat: str) -> Callable[[], None]:
    engine = wasmtime.Engine()
    module = wasmtime.Module(engine, wat)

    def run() -> None:
        store = wasmtime.Store(engine)
        wasmtime.Instance(store, module, []).exports(store)["run"](store)

    return run


def runtime_call(wat: str, preempt: Preempt) -> Callable[[], None]:
    runner = Runner(RunSettings(preempt=preempt, max_steps=None))
    program = runner.load(wasmtime.wat2wasm(wat))
    io = GuestIO()

    def run() -> None:
        o = runner.execute(program, io, runner.settings)
        assert o.exit_code == 0, o.report

    return run


def timed(fn: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def kernel_ratios(rounds: int) -> list[tuple[str, float, float]]:
    rows = []
    for name, wat in KERNELS.items():
        variants = {"plain": plain_call(wat), "fuel": runtime_call(wat, Preempt.FUEL),
                    "epoch": runtime_call(wat, Preempt.EPOCH)}
        for fn in variants.values():  # warm up: compile, caches
            fn()
        fuel_r, epoch_r = [], []
        order = list(variants)
        for i in range(rounds):
            times = {}
            for key in order[i % 3:] + order[:i % 3]:
                times[key] = timed(variants[key])
            fuel_r.append(times["fuel"] / times["plain"])
            epoch_r.append(times["epoch"] / times["plain"])
        rows.append((name, statistics.median(fuel_r), statistics.median(epoch_r)))
    return rows


def context_switch_us(rounds: int) -> float:
    runner = Runner(RunSettings(policy="rr", max_steps=None))
    program = runner.load(wasmtime.wat2wasm(PINGPONG))
    samples = []
    for _ in range(rounds):
        o = runner.execute(program, GuestIO(), runner.settings)
        assert o.exit_code == 0, o.report
        samples.append(o.elapsed / o.steps * 1e6)
    return statistics.median(samples)


def schedules_per_second(rounds: int) -> float:
    runner = Runner(RunSettings())
    guest = GUESTS / "c" / "mutex_counter.wasm"
    runner.explore(guest, GuestIO(args=["10"]), schedules=5)  # warm up
    rates = []
    for r in range(rounds):
        result = runner.explore(guest, GuestIO(args=["10"]), schedules=100, settings=runner.settings.with_(seed=r))
        rates.append(result.rate)
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"wasmtime {wasmtime.__version__ if hasattr(wasmtime, '__version__') else ''} "
          f"medians of {args.rounds} rounds; ratio = time / plain wasmtime-py call")
    print(f"{'workload':<28}{'fuel':>10}{'epoch':>10}")
    for name, fuel, epoch in kernel_ratios(args.rounds):
        print(f"{name:<28}{fuel:>9.2f}x{epoch:>9.2f}x")
    print(f"{'context switch':<28}{context_switch_us(args.rounds):>9.2f} us")
    print(f"{'schedules/s (mutex_counter)':<28}{schedules_per_second(args.rounds):>10.0f}")


if __name__ == "__main__":
    main()
