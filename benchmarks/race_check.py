"""What the race check costs on compute kernels (guests/racecheck/kernels: dot product, matmul on T threads).

Each kernel runs as a WASI command through `Runner.execute` in fuel mode, five ways,
interleaved round by round (medians of per-round ratios, as in common.py):

- `atomics`:   no check, at `--level atomics` (plain accesses are not scheduling points);
- `off`:       no check, at the default level (`shared`: every shared access a point);
- `calls`:     the race pass's instrumentation, with host functions that return at once:
               the cost of leaving wasm for Python at every shared access;
- `recorder`:  the recorder without the detector (site lookup, thread id, sequence
               number, the lock): what the per-access Python around the detector costs;
- `races`:     the whole check (`RaceCheck`).

    python benchmarks/race_check.py [--rounds 5] [--threads 2]

It prints the time per variant, the ratios to `off`, the plain accesses the
detector checked, and the cost per access of each layer (where the time goes).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from common import GUESTS, interleaved, median_ratio

from pytest_wasmconc.checks.races import RaceCheck
from pytest_wasmconc.checks.races.recorder import Recorder
from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status
from pytest_wasmconc.runtime.hostapi import HostFunction

KERNELS = GUESTS / "racecheck" / "kernels.wasm"


class _CallsOnly(Recorder):
    """The check's imports, doing nothing: the price of the calls alone."""

    def host_functions(self) -> Sequence[HostFunction]:
        return [HostFunction(f.module, f.name, f.params, f.results, _nothing) for f in super().host_functions()]


class _NoDetector(Recorder):
    """The recorder's own work per access, with a detector that checks nothing."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.detector.check = lambda *access: None  # type: ignore[method-assign]
        self.detector.acquire = self.detector.release = lambda tid, key: None  # type: ignore[method-assign]


def _nothing(call: Any, *args: Any) -> None:
    return None


class _Variant(RaceCheck):
    def __init__(self, recorder: type[Recorder]) -> None:
        super().__init__()
        self._recorder = recorder

    def attach(self, program: Any, settings: RunSettings) -> Recorder:
        return self._recorder(self.pass_key, program, settings, 0)


def variants(argv: list[str]) -> dict[str, Callable[[], object]]:
    runner = Runner(RunSettings(preempt=Preempt.FUEL, seed=1))
    io = GuestIO(args=argv)
    plain = runner.load(KERNELS, runner.settings)
    atomics_settings = RunSettings(preempt=Preempt.FUEL, seed=1, level="atomics")
    at_atomics = runner.load(KERNELS, atomics_settings)
    checks = {"calls": _Variant(_CallsOnly), "recorder": _Variant(_NoDetector), "races": RaceCheck()}
    loaded = {name: runner.load(KERNELS, runner.settings, extensions=[c]) for name, c in checks.items()}

    def off() -> object:
        return _ok(runner.execute(plain, io, runner.settings))

    def atomics() -> object:
        return _ok(runner.execute(at_atomics, io, atomics_settings))

    def with_check(name: str) -> Callable[[], object]:
        def run() -> object:
            check = RaceCheck() if name == "races" else checks[name]
            return _ok(runner.execute(loaded[name], io, runner.settings, extensions=[check]))
        return run

    return {"atomics": atomics, "off": off, **{name: with_check(name) for name in checks}}


def _ok(outcome: Any) -> Any:
    if outcome.status is not Status.EXITED or outcome.exit_code != 0:
        raise SystemExit(f"kernels failed: {outcome.summary()}\n{outcome.report}")
    return outcome


def accesses(argv: list[str]) -> tuple[int, int]:
    """Plain accesses and synchronizations the detector saw in one run."""
    recorders: list[Recorder] = []

    class Counting(RaceCheck):
        def attach(self, program: Any, settings: RunSettings) -> Recorder:
            recorders.append(super().attach(program, settings))
            return recorders[-1]

    runner = Runner(RunSettings(preempt=Preempt.FUEL, seed=1))
    _ok(runner.run(KERNELS, GuestIO(args=argv), extensions=[Counting()]))
    stats = recorders[0].detector.stats()
    return stats["accesses"], stats["sync_ops"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    t = str(args.threads)
    kernels = {"dot product (N=20000, 5 reps)": ["dot", "20000", "5", t], "matmul (N=48)": ["matmul", "48", t]}
    print(f"fuel mode, {args.threads} threads, median of {args.rounds} interleaved rounds")
    print(f"{'kernel':<30}{'variant':<10}{'time':>10}{'x off':>8}{'per access':>12}")
    for label, argv in kernels.items():
        n, sync = accesses(argv)
        times = interleaved(variants(argv), args.rounds)
        base = times["off"]
        previous = statistics.median(base)
        for name, ts in times.items():
            med = statistics.median(ts)
            ratio = median_ratio(ts, base)
            layer = (med - previous) / n * 1e6 if name not in ("atomics", "off") else 0.0
            print(f"{label:<30}{name:<10}{med * 1000:>8.0f}ms{ratio:>7.1f}x"
                  + (f"{layer:>9.2f} us" if name not in ("atomics", "off") else ""))
            if name != "atomics":
                previous = med
        print(f"{'':<30}({n} plain accesses, {sync} synchronizations checked; 'per access': what the "
              "layer adds over the one above)")
        print(f"{'':<30}races / atomics: {median_ratio(times['races'], times['atomics']):.0f}x")


if __name__ == "__main__":
    main()
