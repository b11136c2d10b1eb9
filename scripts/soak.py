"""Soak: explore every core guest in guests/ round after round for a given
duration, sampling RSS and open file descriptors; prints a summary and exits 1
when either grew after warm-up by more than the allowed slack, or a run raised.

    python scripts/soak.py --minutes 60
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_wasmconc.runtime import Runner, RunSettings


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def guests() -> list[Path]:
    out = []
    for p in sorted((ROOT / "guests").rglob("*.wasm")):
        if p.read_bytes()[4:8] != b"\x01\x00\x00\x00" or "reading" in p.name:
            continue  # components; guests that wait on a silent stdin
        out.append(p)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--slack-mib", type=float, default=20)
    a = ap.parse_args()
    end = time.monotonic() + a.minutes * 60
    gs = guests()
    samples: list[tuple[float, float, int]] = []
    runs = errors = 0
    statuses: dict[str, int] = {}
    seed = 0
    skipped: set[Path] = set()
    t0 = time.monotonic()
    # Guests that spin or hang on purpose end by the step budget or a short
    # backstop, so a round takes seconds and memory is sampled often.
    runners = {p: Runner(RunSettings(preempt=p, timeout=2, max_steps=50_000)) for p in ("fuel", "epoch", "os")}
    warm: tuple[float, float, int] | None = None
    while time.monotonic() < end:
        if samples and warm is None:
            # After one full round every module is compiled and loaded (wasmtime keeps
            # a memfd per module with a memory image): growth counts from here.
            warm = samples[-1]
        for g in [g for g in gs if g not in skipped]:
            if time.monotonic() >= end:
                break
            for preempt, runner in runners.items():
                try:
                    o = runner.run(g, settings=runner.settings.with_(seed=seed))
                    statuses[o.status] = statuses.get(o.status, 0) + 1
                except Exception as e:  # noqa: BLE001
                    if type(e).__name__ == "ModuleError" and "unknown import" in str(e):
                        skipped.add(g)  # needs user imports (host_*, streams): not standalone
                        break
                    errors += 1
                    print(f"{g} {preempt} seed {seed}: {e!r}", flush=True)
                runs += 1
                seed += 1
            if runs and runs % 60 == 0:
                gc.collect()
                samples.append((time.monotonic() - t0, rss_mib(), fds()))
                print(f"t={samples[-1][0]:.0f}s runs={runs} rss={samples[-1][1]:.1f} MiB fds={samples[-1][2]}",
                      flush=True)
        gc.collect()
        samples.append((time.monotonic() - t0, rss_mib(), fds()))  # end of a round
    warm = warm or samples[-1]
    last = samples[-1]
    print(f"soak {a.minutes} min: {runs} runs of {len(gs)} guests x 3 modes; statuses {statuses}; "
          f"errors {errors}; {len(skipped)} guests need user imports (skipped); RSS {warm[1]:.1f} -> {last[1]:.1f} MiB (after warm-up), "
          f"fds {warm[2]} -> {last[2]}")  # fmt: skip
    grew = last[1] - warm[1] > a.slack_mib or last[2] > warm[2]
    return 1 if errors or grew else 0


if __name__ == "__main__":
    sys.exit(main())
