"""Executions must not leak: RSS after N executions of a 4-thread guest.

    python benchmarks/memory_flat.py [--executions 10000]

Prints the resident set size every tenth of the run; the growth between the
second sample and the last should stay within allocator noise.
"""

from __future__ import annotations

import argparse
import gc
import resource
from pathlib import Path

from pytest_wasmconc.runtime import GuestIO, Runner, RunSettings

GUEST = Path(__file__).resolve().parents[1] / "guests" / "c" / "many_writers.wasm"


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=10_000)
    args = parser.parse_args()
    runner = Runner(RunSettings())
    program = runner.load(GUEST)
    io = GuestIO(args=["4", "2"])
    samples = []
    step = max(1, args.executions // 10)
    for i in range(args.executions):
        o = runner.execute(program, io, runner.settings.with_(seed=i))
        assert o.exit_code == 0, o.report
        if (i + 1) % step == 0:
            gc.collect()
            samples.append(rss_mib())
            print(f"{i + 1:>7} executions: RSS {samples[-1]:.1f} MiB", flush=True)
    growth = samples[-1] - samples[1] if len(samples) > 1 else 0.0
    print(f"growth after warm-up: {growth:+.1f} MiB over {args.executions} executions")


if __name__ == "__main__":
    main()
