"""What the race check costs on compute kernels (guests/racecheck/kernels: dot product, matmul on T threads).

Each kernel runs as a WASI command through `Runner.execute` in fuel mode,
interleaved round by round (medians of per-round ratios, as in common.py):

- `atomics`:   no check, at `--level atomics` (plain accesses are not scheduling points);
- `off`:       no check, at the default level (`shared`: every shared access a point);
- `calls`:     the race pass's instrumentation, with Python host functions that return at
               once: the cost of leaving wasm for Python at every shared access;
- `recorder`:  the Python recorder without the detector (site lookup, thread id, sequence
               number, the lock): what the per-access Python around the detector costs;
- `python`:    the whole check, per-access work in Python (`RaceCheck(native=False)`, the reference);
- `ccalls`:    the instrumentation with native host functions that return at once: the cost
               of the call from wasm into C (`_native.NOTHING`);
- `races`:     the whole check as it runs by default (`RaceCheck()`: the per-access work in C).

    python benchmarks/race_check.py [--rounds 7] [--threads 2]

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
from pytest_wasmconc.checks.races import _native
from pytest_wasmconc.checks.races.native import NativeRecorder
from pytest_wasmconc.checks.races.recorder import Recorder
from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status
from pytest_wasmconc.runtime.hostapi import HostFunction
from pytest_wasmconc.runtime.native import NativeHostFunction

KERNELS = GUESTS / "racecheck" / "kernels.wasm"


class _CallsOnly(Recorder):
    """The check's imports, doing nothing: the price of the calls alone."""

    def host_functions(self) -> Sequence[HostFunction]:
        return [HostFunction(f.module, f.name, f.params, f.results, _nothing) for f in super().host_functions()]


class _NativeCallsOnly(NativeRecorder):
    """The check's imports as C functions that return at once: the price of the native calls alone."""

    def host_functions(self) -> Sequence[HostFunction]:
        return [NativeHostFunction(f.module, f.name, f.params, f.results, callback=_native.NOTHING)
                for f in super().host_functions()]


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


# The two schedules the variants run under. `default`: the default policy (random, quantum
# scales mixed per schedule) over seeds 1..S in each sample: how many context switches a run
# makes depends on its seed (10x apart), and the check's instrumentation changes which schedule a
# seed names, so one seed would compare unlike schedules. `few switches`: round-robin with a
# huge slice: the per-access cost of each layer without the switches around it.
SCHEDULES = {"default": {}, "few switches": {"policy": "rr", "slice": 1 << 30}}


def variants(argv: list[str], schedule: dict[str, Any], seeds: int,
             steps: dict[str, list[int]] | None = None) -> dict[str, Callable[[], object]]:
    runner = Runner(RunSettings(preempt=Preempt.FUEL, seed=1))
    io = GuestIO(args=argv)
    settings = [RunSettings(preempt=Preempt.FUEL, seed=seed, **schedule) for seed in range(1, seeds + 1)]
    atomics_settings = [RunSettings(preempt=Preempt.FUEL, seed=seed, level="atomics", **schedule)
                        for seed in range(1, seeds + 1)]
    plain = runner.load(KERNELS, settings[0])
    at_atomics = runner.load(KERNELS, atomics_settings[0])
    checks = {"calls": _Variant(_CallsOnly), "recorder": _Variant(_NoDetector), "python": RaceCheck(native=False),
              "ccalls": _Variant(_NativeCallsOnly), "races": RaceCheck()}
    loaded = {name: runner.load(KERNELS, settings[0], extensions=[c]) for name, c in checks.items()}
    fresh = {"races": lambda: RaceCheck(), "python": lambda: RaceCheck(native=False)}

    def each(name: str, run: Callable[[RunSettings], Any], runs: list[RunSettings]) -> Callable[[], object]:
        def all_seeds() -> object:
            for s in runs:
                outcome = _ok(run(s))
                if steps is not None:
                    steps.setdefault(name, []).append(outcome.steps)
            return None
        return all_seeds

    out = {"atomics": each("atomics", lambda s: runner.execute(at_atomics, io, s), atomics_settings),
           "off": each("off", lambda s: runner.execute(plain, io, s), settings)}
    for name in checks:
        def run(s: RunSettings, name: str = name) -> Any:
            check = fresh[name]() if name in fresh else checks[name]
            return runner.execute(loaded[name], io, s, extensions=[check])
        out[name] = each(name, run, settings)
    return out


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
    parser.add_argument("--seeds", type=int, default=5, help="schedules per sample under the default policy")
    args = parser.parse_args()
    t = str(args.threads)
    kernels = {"dot product (N=20000, 5 reps)": ["dot", "20000", "5", t], "matmul (N=48)": ["matmul", "48", t]}
    print(f"fuel mode, {args.threads} threads, median of {args.rounds} interleaved rounds")
    # what each layer adds over the one below it (per access): the Python path, then the native one
    below = {"calls": "off", "recorder": "calls", "python": "recorder", "ccalls": "off", "races": "ccalls"}
    for label, argv in kernels.items():
        n, sync = accesses(argv)
        for schedule, extra in SCHEDULES.items():
            seeds = args.seeds if not extra else 1
            steps: dict[str, list[int]] = {}
            times = interleaved(variants(argv, extra, seeds, steps), args.rounds)
            base = times["off"]
            print(f"\n{label}, {schedule} schedule ({seeds} seed{'s' if seeds > 1 else ''} per sample)")
            print(f"{'variant':<10}{'time':>10}{'x off':>8}{'steps/run':>11}{'per access':>13}")
            for name, ts in times.items():
                med = statistics.median(ts) / seeds
                ratio = median_ratio(ts, base)
                under = below.get(name)
                layer = (statistics.median(ts) - statistics.median(times[under])) / seeds / n * 1e9 if under else 0.0
                mean_steps = statistics.mean(steps[name])
                print(f"{name:<10}{med * 1000:>8.1f}ms{ratio:>7.1f}x{mean_steps:>11.0f}"
                      + (f"{layer:>9.0f} ns  (over {under})" if under else ""))
            print(f"({n} plain accesses, {sync} synchronizations checked; races / atomics: "
                  f"{median_ratio(times['races'], times['atomics']):.1f}x; python / races: "
                  f"{median_ratio(times['python'], times['races']):.1f}x)")


if __name__ == "__main__":
    main()
