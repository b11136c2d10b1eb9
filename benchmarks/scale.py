"""Scale rows: 100 live guest threads (and what each costs in memory), and a
4-thread execution of 100,000 scheduling decisions. Both on guests/c/many_threads.wasm.

    python benchmarks/scale.py [--threads 100] [--decisions 100000]

Memory per thread is measured in a fresh child process (this file with
--child-memory N), so that pages freed by earlier benchmarks cannot be reused
and hide the cost: after warm-up executions (compile, caches), the kernel's peak
RSS mark is reset (`/proc/self/clear_refs` = 5) just before an execution, and
the peak during it (VmHWM) minus the RSS at the reset is that execution's cost.
The guest's N threads all start and park at a barrier before any exits, so the
peak is reached while all N are alive. Per thread = (cost(N) - cost(1)) / (N - 1):
everything an execution costs once (main thread, WASI, memory) cancels out.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from common import GUESTS
from rows import Row

from pytest_wasmconc.runtime import GuestIO, Runner, RunSettings, Status

MANY_THREADS = GUESTS / "c" / "many_threads.wasm"
STATUS = Path("/proc/self/status")


def _status_kib(field: str) -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in {STATUS}")


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _execution_cost_kib(runner: Runner, threads: int) -> tuple[int, float, bool]:
    """(peak RSS during one execution minus RSS before it, wall seconds, ended as expected)."""
    program = runner.load(MANY_THREADS)
    exact = _reset_peak()
    before = _status_kib("VmRSS") if exact else _status_kib("VmHWM")
    t0 = time.perf_counter()
    o = runner.execute(program, GuestIO(args=[str(threads)]), runner.settings)
    elapsed = time.perf_counter() - t0
    ok = o.status is Status.EXITED and o.exit_code == 0
    return _status_kib("VmHWM") - before, elapsed, ok


def child_memory(threads: int) -> dict[str, object]:
    runner = Runner(RunSettings(max_steps=None, timeout=300))
    # Warm-up (compile, module cache, allocator arenas) with 1-thread executions only:
    # the pages they free are reused by the measured ones, and would hide more of a
    # bigger warm-up's worth of the N-thread cost.
    for _ in range(2):
        _execution_cost_kib(runner, 1)
    one, _, ok1 = _execution_cost_kib(runner, 1)
    many, elapsed, ok = _execution_cost_kib(runner, threads)
    return {"threads": threads, "cost_1_kib": one, "cost_n_kib": many, "elapsed": elapsed,
            "ok": ok and ok1, "per_thread_kib": (many - one) / (threads - 1), "exact_peak": _reset_peak()}


def thread_rows(threads: int = 100) -> list[Row]:
    proc = subprocess.run([sys.executable, __file__, "--child-memory", str(threads)],
                          check=False, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        note = f"child failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}"
        return [Row("threads_100", f"{threads} guest threads", None, "s", "completes", note=note),
                Row("thread_memory", "memory per guest thread", None, "KiB", "report", note=note)]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    how = "" if r["exact_peak"] else " (no clear_refs: peak since warm-up)"
    return [
        Row("threads_100", f"{threads} guest threads, all alive at once", r["elapsed"], "s", "completes",
            ok=bool(r["ok"]), note=f"many_threads.wasm {threads}: all park at a barrier, then exit"),
        Row("thread_memory", "memory per guest thread", r["per_thread_kib"], "KiB", "report",
            note=f"peak RSS of {threads} threads {r['cost_n_kib']} KiB vs 1 thread {r['cost_1_kib']} KiB, "
                 f"/ {threads - 1}{how}"),
    ]


def decisions_row(decisions: int = 100_000) -> Row:
    """A 4-thread execution with at least `decisions` scheduling decisions (policy picks)."""
    runner = Runner(RunSettings(max_steps=None, timeout=600))
    program = runner.load(MANY_THREADS)
    # about 3.8 decisions per locked increment (lock, unlock, wake-ups); retried with
    # more increments should the scheduler need fewer decisions for the same work
    increments = max(1, decisions // 14)
    for _ in range(4):
        t0 = time.perf_counter()
        o = runner.execute(program, GuestIO(args=["4", str(increments)]), runner.settings)
        elapsed = time.perf_counter() - t0
        made = len(o.decisions) or o.steps
        if made >= decisions or o.status is not Status.EXITED:
            break
        # A tenth more than the ratio: decisions per increment vary with the schedule.
        increments = increments * decisions * 11 // (10 * max(made, 1)) + 1
    ok = o.status is Status.EXITED and o.exit_code == 0 and made >= decisions
    return Row("decisions_100k", f"4 threads, {decisions:,} scheduling decisions", elapsed, "s", "completes",
               ok=ok, note=f"many_threads.wasm 4 {increments}: {made:,} decisions, {o.summary()}, "
                           f"{elapsed / max(made, 1) * 1e6:.1f} us/decision")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--child-memory", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        print(json.dumps(child_memory(args.child_memory)))
        return
    from rows import render

    print(render(thread_rows(args.threads) + [decisions_row(args.decisions)]))


if __name__ == "__main__":
    main()
