"""The reset path's exactness sweep: every real wasi-libc guest of the corpus, reset against fresh.

    python scripts/reset_exactness.py [--schedules 1000] [--only PATTERN] [--seed 11]

For each guest (guests/libc, guests/races, guests/c: C built with the real wasi-libc, every one
growing its memory in every schedule), `Runner.explore` runs the same seeds twice, once with the
reset path off (`Runner.reuse_instances = False`: a plain load, a fresh memory, linker and
instances per schedule) and once on (the reset path's load with a virtual memory size,
instrument/vmem.py: the kept memory reset, its virtual size back to the initial one). Every
schedule's status, exit code, stdout, stderr, decisions, quanta, steps, trap message and replay
token must be the same. Printed per guest: the schedules compared, the reset path's counts (kept
worlds, fresh ones, instances reused) and the CPU seconds of each path; the exit status is 1 when
any schedule differs or a guest did not run on kept worlds.

tests/runtime/test_reset_exactness.py runs the same comparison with fewer schedules for the
slower guests (`SWEEP`, imported from here); benchmarks/README.md "The reset path" has this
script's full run.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pytest_wasmconc.runtime import GuestIO, Outcome, Runner, RunSettings

GUESTS = Path(__file__).resolve().parents[1] / "guests"

# (guest, its arguments): small sizes, so that 1,000 schedules of each take seconds to a minute.
SWEEP: list[tuple[str, list[str]]] = [
    # benchmarks/throughput.py's guest: 2 threads, 4 threads (its 1,000 locks), 100 threads
    ("libc/mutex_many_threads.wasm", ["2", "10"]),
    ("libc/mutex_many_threads.wasm", ["4", "1000"]),
    ("libc/mutex_many_threads.wasm", ["100", "1"]),
    ("libc/cas_counter.wasm", ["4", "50"]),
    ("libc/barrier_threads.wasm", ["8"]),
    ("libc/spin_barrier.wasm", ["8", "1"]),
    ("libc/spin_barrier.wasm", ["8", "0"]),
    # condition variables, timed waits, semaphores, sleeps and clock reads (virtual time)
    ("libc/cond_timedwait_signalled.wasm", ["20"]),
    ("libc/cond_timedwait_timeout.wasm", ["100"]),
    ("libc/sem_timedwait.wasm", []),
    ("libc/sem_bounded_buffer.wasm", ["40", "4"]),
    ("libc/yield_spin_sleeper.wasm", ["10"]),
    ("libc/clock_spin_deadline.wasm", ["5"]),
    ("libc/busywait_timedwait.wasm", ["5", "20"]),
    ("libc/rwlock_readers_writers.wasm", ["20"]),
    ("libc/once_init.wasm", ["8"]),
    ("libc/thread_specific.wasm", ["4"]),
    ("libc/detached_threads.wasm", ["4"]),
    # threads started and ended along the way, pools, a trap, exits and deadlocks
    ("libc/spawn_join_loop.wasm", ["20"]),
    ("libc/spawn_while_busy.wasm", ["4", "3"]),
    ("libc/thread_pool.wasm", ["20", "4"]),
    ("libc/worker_trap.wasm", []),
    ("libc/exit_while_blocked.wasm", []),
    ("libc/join_holding_lock.wasm", []),
    ("libc/abba_deadlock.wasm", ["unordered", "5"]),
    # data races: lost updates, check-then-act, ordering, the wrong lock (and each fixed twin)
    *((f"races/{p.name}", []) for p in sorted((GUESTS / "races").glob("*.wasm"))),
    # the C corpus without host imports of its own
    ("c/lost_update.wasm", []),
    ("c/mutex_counter.wasm", []),
    ("c/many_writers.wasm", []),
    ("c/lock_order.wasm", []),
    ("c/philosophers.wasm", []),
    ("c/producer_consumer.wasm", []),
    ("c/trylock_backoff.wasm", []),
    ("c/worker_exit.wasm", []),
    ("c/fault_under_load.wasm", []),
    ("c/many_threads.wasm", []),
    ("c/pthread_selftest.wasm", []),
    ("libc/thread_bomb.wasm", ["50"]),
    ("c/thread_file.wasm", []),  # a file read by a spawned thread (DIRS)
]
# Not in it: guests whose imports the test supplies (host_calls, host_queue, host_lock_*,
# host_fault_under_load, host_call_order: user host functions keep them on the fresh path).

# Directories mapped into a guest's WASI world (host path, guest path).
DIRS: dict[str, list[tuple[str, str]]] = {"c/thread_file.wasm": [(str(GUESTS / "data"), ".")]}


def fingerprint(o: Outcome) -> tuple[Any, ...]:
    """What must be the same, each field as a digest: a schedule of 4 threads x 1,000 locks decides
    ~10^5 times, and 2 x 1,000 such schedules kept whole took 2 GB."""
    fields = (o.status, o.exit_code, o.stdout_bytes, o.stderr_bytes, o.decisions, o.slices, o.steps,
              o.trap_message, o.token)
    return tuple(hashlib.blake2b(repr(f).encode(), digest_size=16).digest() for f in fields)


def explore(guest: str, args: list[str], schedules: int, *, reuse: bool, seed: int = 11,
            policy: str = "random", max_steps: int | None = None) -> tuple[list[tuple[Any, ...]], Counter[str], float]:
    """Every schedule's fingerprint, the reset path's counts and the CPU seconds of the exploration."""
    settings = RunSettings(policy=policy, seed=seed)
    runner = Runner(settings if max_steps is None else settings.with_(max_steps=max_steps))
    runner.reuse_instances = reuse
    seen: list[tuple[Any, ...]] = []
    cpu = time.process_time()
    runner.explore(GUESTS / guest, GuestIO(args=args, dirs=DIRS.get(guest, [])), schedules=schedules, expect_exit=None,
                   progress=lambda _n, o: seen.append(fingerprint(o)), is_failure=lambda _o: False)
    return seen, runner.reuse_counts, time.process_time() - cpu


def first_difference(fresh: list[tuple[Any, ...]], reset: list[tuple[Any, ...]]) -> str | None:
    """None when the two explorations ran the same schedules; else where and what differs first."""
    if len(fresh) != len(reset):
        return f"{len(fresh)} schedules fresh, {len(reset)} with the reset path"
    names = ("status", "exit code", "stdout", "stderr", "decisions", "quanta", "steps", "trap message", "token")
    for i, (a, b) in enumerate(zip(fresh, reset)):
        if a != b:
            fields = [n for n, x, y in zip(names, a, b) if x != y]
            return f"schedule {i}: {', '.join(fields)} differ"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--only", help="guests whose path matches this glob (e.g. 'libc/*')")
    parser.add_argument("--seed", type=int, default=11)
    ns = parser.parse_args(argv)
    failed = 0
    for guest, args in SWEEP:
        if ns.only and not fnmatch.fnmatch(guest, ns.only):
            continue
        fresh, _, t_fresh = explore(guest, args, ns.schedules, reuse=False, seed=ns.seed)
        reset, counts, t_reset = explore(guest, args, ns.schedules, reuse=True, seed=ns.seed)
        diff = first_difference(fresh, reset)
        kept = counts["resets"] == ns.schedules - 1
        verdict = "identical" if diff is None else f"DIFFERENT ({diff})"
        if not kept:
            verdict += " NOT ON KEPT WORLDS"
        failed += diff is not None or not kept
        print(f"{guest} {' '.join(args)}: {ns.schedules} schedules {verdict}; kept worlds {counts['resets']}, "
              f"fresh {counts['fresh']}, instances reused {counts['reused_instances']}; "
              f"CPU fresh {t_fresh:.1f} s, reset {t_reset:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
