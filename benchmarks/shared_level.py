"""What the `shared` level costs against plain wasmtime-py on the C dot product and matmul kernels.

The guest is guests/racecheck/kernels (real wasi-libc, wasm32-wasip1-threads): its arrays
live in the shared memory, so at the shared level (the default) every plain load and store
of the kernel's loop is a visible operation, checked against the preemption counter.

- One thread (`shared_rows`, target <= 3x): the runtime runs `kernels dot N REPS 0` (main
  computes alone) in fuel mode at the default level; the plain baseline calls the export
  `kernels_dot(N, REPS)`, the same compiled loop, on a default `Config` with threads and
  shared memory on, a new store, shared memory and instance per call. The note gives the
  runtime at `--level atomics` too (no access is a point there): what the level itself adds.
- Two threads (`threaded_rows`), each against plain wasmtime-py doing the same total work
  on one thread: `kernels dot N REPS 2` under round-robin with a huge slice ("few
  switches": the level's cost on the threaded program, target <= 3x), at the one-thread
  sizes; and under the default policy (seeds 1..S, one run each per sample: a seed decides
  how often a run switches threads, tenfold apart) at a tenth of the dot product's
  repetitions and matmul 128, since the default policy may end a quantum before nearly
  every access (hundreds of thousands of switches per run). The notes give the thread
  switches per run (consecutive quanta of different threads) and the time per scheduling
  step the default policy adds over few switches at the same size.

Sizes: the single-thread kernels are bench.py's C kernel sizes.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

import wasmtime
from common import GUESTS, interleaved, median_ratio, reps_for
from rows import Row

from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status
from pytest_wasmconc.runtime.wasmtime import capi

KERNELS = GUESTS / "racecheck" / "kernels.wasm"
SHARED_TARGET = 3.0  # issue 17: the shared level costs at most 3x plain wasmtime-py
MIN_SAMPLE = 0.1  # seconds of plain calls per timed sample
FEW_SLICE = 1 << 30  # round-robin with this slice: "few switches"


@dataclass(frozen=True)
class Kernel:
    key: str
    label: str
    export: str
    args: tuple[int, ...]  # the export's arguments (the whole work, one thread)

    def argv(self, threads: int) -> list[str]:
        return [self.key, *map(str, self.args), str(threads)]


SINGLE = [Kernel("dot", "C dot product", "kernels_dot", (100_000, 200)),
          Kernel("matmul", "C matmul 256", "kernels_matmul", (256,))]
THREADED = [Kernel("dot", "C dot product (N=100000, 20 reps)", "kernels_dot", (100_000, 20)),
            Kernel("matmul", "C matmul 128", "kernels_matmul", (128,))]


def plain_call(kernel: Kernel) -> Callable[[], None]:
    """The export on plain wasmtime-py: threads and shared memory on, nothing else of ours.

    (Only the linker definition of the shared memory goes through the project's C API
    helper: wasmtime-py's own `Linker.define` wraps a shared memory's pointer twice.)
    """
    config = wasmtime.Config()
    config.wasm_threads = True
    config.shared_memory = True
    engine = wasmtime.Engine(config)
    module = wasmtime.Module.from_file(engine, str(KERNELS))
    memory_type = next(i.type for i in module.imports if i.module == "env" and i.name == "memory")
    assert isinstance(memory_type, wasmtime.MemoryType)

    def run() -> None:
        store = wasmtime.Store(engine)
        store.set_wasi(wasmtime.WasiConfig())
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        linker.define_func("wasi", "thread-spawn", wasmtime.FuncType([wasmtime.ValType.i32()],
                                                                     [wasmtime.ValType.i32()]), lambda arg: -1)
        capi.define_shared_memory(linker, store, "env", "memory", wasmtime.SharedMemory(engine, memory_type))
        fn = linker.instantiate(store, module).exports(store)[kernel.export]
        assert isinstance(fn, wasmtime.Func)
        fn(store, *kernel.args)

    return run


def runtime_call(argv: list[str], settings: list[RunSettings], switches: list[int] | None = None,
                 steps: list[int] | None = None) -> Callable[[], None]:
    """One execution per settings (one sample runs them all), as a user pays for it."""
    runner = Runner(settings[0])
    program = runner.load(KERNELS, settings[0])
    io = GuestIO(args=argv)

    def run() -> None:
        for s in settings:
            o = runner.execute(program, io, s)
            if o.status is not Status.EXITED or o.exit_code != 0:
                raise SystemExit(f"kernels {' '.join(argv)} failed: {o.summary()}\n{o.report}")
            if switches is not None:
                switches.append(sum(a != b for a, b in zip(o.decisions, o.decisions[1:])))
            if steps is not None:
                steps.append(o.steps)

    return run


def _times(fn: Callable[[], None], n: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(n):
            fn()

    return run


def shared_rows(rounds: int) -> list[Row]:
    """One thread: the shared level / plain wasmtime-py, target <= 3x."""
    rows = []
    for k in SINGLE:
        base = RunSettings(preempt=Preempt.FUEL, max_steps=None)
        variants = {"plain": plain_call(k),
                    "shared": runtime_call(k.argv(0), [base]),
                    "atomics": runtime_call(k.argv(0), [base.with_(level="atomics")])}
        for fn in variants.values():  # warm up: compile, caches, first touch of memory
            fn()
        reps = reps_for(variants["plain"], MIN_SAMPLE)
        t = interleaved(variants, rounds, reps)
        rows.append(Row(f"shared_{k.key}_c", f"shared level / plain: {k.label}, 1 thread",
                        median_ratio(t["shared"], t["plain"]), "x", "<=", SHARED_TARGET,
                        note=f"plain {statistics.median(t['plain']) / reps * 1e3:.1f} ms x {reps}, shared memory; "
                             f"--level atomics / plain {median_ratio(t['atomics'], t['plain']):.2f}x"))
    return rows


def threaded_rows(rounds: int, seeds: int) -> list[Row]:
    """Two threads at the shared level / plain on one thread: with few switches at the one-thread
    sizes (target <= 3x: the level's cost, plus two threads' set-up), and under the default policy
    at a tenth of the work (with few switches at that size too, for the time per step)."""
    rows = []
    for big, k in zip(SINGLE, THREADED):
        few_settings = [RunSettings(preempt=Preempt.FUEL, max_steps=None, seed=1, policy="rr", slice=FEW_SLICE)]
        switches: dict[str, list[int]] = {"default": [], "few": [], "few_big": []}
        steps: dict[str, list[int]] = {"default": [], "few": [], "few_big": []}
        default = [RunSettings(preempt=Preempt.FUEL, max_steps=None, seed=s) for s in range(1, seeds + 1)]
        variants = {"plain_big": plain_call(big),
                    "few_big": runtime_call(big.argv(2), few_settings, switches["few_big"], steps["few_big"]),
                    "plain": _times(plain_call(k), seeds),  # one plain call per default-policy run
                    "default": runtime_call(k.argv(2), default, switches["default"], steps["default"]),
                    "few": runtime_call(k.argv(2), few_settings * seeds, switches["few"], steps["few"])}
        for fn in variants.values():
            fn()
        for v in (*switches.values(), *steps.values()):
            v.clear()
        t = interleaved(variants, rounds)
        per_run = {name: statistics.median(ts) / (1 if name.endswith("_big") else seeds) for name, ts in t.items()}
        mean_switches = {name: statistics.mean(v) for name, v in switches.items()}
        mean_steps = {name: statistics.mean(v) for name, v in steps.items()}
        per_step_us = ((per_run["default"] - per_run["few"]) / max(1.0, mean_steps["default"] - mean_steps["few"])
                       * 1e6)
        rows.append(Row(f"shared2_{k.key}_few", f"shared level, 2 threads, few switches / plain 1 thread: {big.label}",
                        median_ratio(t["few_big"], t["plain_big"]), "x", "<=", SHARED_TARGET,
                        note=f"plain {per_run['plain_big'] * 1e3:.1f} ms, 2 threads {per_run['few_big'] * 1e3:.1f} ms "
                             f"(rr, huge slice: {mean_switches['few_big']:,.0f} switches per run)"))
        rows.append(Row(f"shared2_{k.key}_default", f"shared level, 2 threads, default policy / plain 1 thread: "
                        f"{k.label}", median_ratio(t["default"], t["plain"]), "x", "report",
                        note=f"{per_run['default'] * 1e3:.1f} ms per run, seeds 1-{seeds}: "
                             f"{mean_switches['default']:,.0f} switches in {mean_steps['default']:,.0f} steps "
                             f"per run, few switches {per_run['few'] * 1e3:.1f} ms / plain "
                             f"{median_ratio(t['few'], t['plain']):.2f}x: {per_step_us:.2f} us per step"))
    return rows
