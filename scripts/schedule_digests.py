"""Digests of every schedule an exploration runs, to compare two trees of the project.

    PYTHONPATH=<tree> python scripts/schedule_digests.py [--schedules 60] [--fresh] [--only GLOB] > digests.txt

(run from the tree, once per tree, then `diff` the two outputs). The reset path's exactness sweep
(scripts/reset_exactness.py) compares the reset path with the fresh path in one tree; a change to
what both share (the serial driver, the call futures, the WASI host, the exploration loop) needs
the comparison across trees instead: the tree before the change is the reference. For each guest
below and each sampling policy (random, pct, rr, portfolio), and for the default explore's plan
(directed.py DirectedPlan, as `wasmconc explore` runs it) on four of them, one line: the guest,
its arguments, the policy, the schedules run and a digest of every schedule's status, exit code,
stdout, stderr, decisions, quanta, steps, trap message, replay token, the policy's own account,
each thread's end (state, wait, trap, frames) and the report (the tree's path replaced). `--fresh`
turns the reset path off (`Runner.reuse_instances = False`).
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_wasmconc.checks.streams import StreamCheck, StreamConfig
from pytest_wasmconc.directed import DirectedPlan
from pytest_wasmconc.runtime import GuestIO, Outcome, Runner, RunSettings

ROOT = Path(__file__).resolve().parents[1]
GUESTS = ROOT / "guests"

# Two sizes of the throughput benchmark's guest, timed waits, threads started along the way, a trap,
# semaphores, a hand-written guest whose main returns while a worker waits, a deadlock, two races.
CASES: list[tuple[str, list[str]]] = [
    ("libc/mutex_many_threads.wasm", ["2", "10"]),
    ("libc/mutex_many_threads.wasm", ["4", "20"]),
    ("libc/cond_timedwait_timeout.wasm", ["20"]),
    ("libc/spawn_join_loop.wasm", ["10"]),
    ("libc/worker_trap.wasm", []),
    ("libc/sem_bounded_buffer.wasm", ["10", "3"]),
    ("wat/exit_worker_return_main_waiting.wasm", []),
    ("libc/join_holding_lock.wasm", []),
    ("races/check_act_lazy_init.wasm", []),
    ("races/lost_update_balance.wasm", []),
]
POLICIES = ("random", "pct", "rr", "portfolio")
PLAN_CASES = (CASES[0], CASES[1], CASES[-2], CASES[-1])


def _schedule(o: Outcome) -> str:
    """One schedule as text (the tree's own path left out of the report)."""
    threads = [(t.tid, t.state, t.waiting_on, t.trap, tuple(t.frames)) for t in o.threads]
    return repr((o.status, o.exit_code, o.stdout_bytes, o.stderr_bytes, o.decisions, o.slices, o.steps,
                 o.trap_message, o.token, repr(o.extra.get("policy")), threads, o.report.replace(str(ROOT), "ROOT")))


def _recorder(digest: Any, count: list[int]) -> Callable[[Outcome], bool]:
    def record(o: Outcome) -> bool:
        digest.update(_schedule(o).encode())
        count[0] += 1
        return False  # every schedule runs

    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=60)
    parser.add_argument("--fresh", action="store_true", help="the reset path off (Runner.reuse_instances = False)")
    parser.add_argument("--only", help="guests whose path matches this glob (e.g. 'libc/*')")
    ns = parser.parse_args(argv)
    chosen = [(g, a) for g, a in CASES if ns.only is None or fnmatch.fnmatch(g, ns.only)]
    for guest, args in chosen:
        for policy in POLICIES:
            runner = Runner(RunSettings(policy=policy, seed=7))
            runner.reuse_instances = not ns.fresh
            digest, count = hashlib.sha256(), [0]
            runner.explore(GUESTS / guest, GuestIO(args=args), schedules=ns.schedules, expect_exit=None,
                           is_failure=_recorder(digest, count))
            print(guest, " ".join(args), policy, count[0], digest.hexdigest()[:16], flush=True)
    for guest, args in [c for c in PLAN_CASES if c in chosen]:
        base = RunSettings(seed=5)
        runner = Runner(base)
        runner.reuse_instances = not ns.fresh
        digest, count = hashlib.sha256(), [0]
        plan = DirectedPlan(base, [StreamCheck(StreamConfig(), check=False)])
        runner.explore_plan(GUESTS / guest, GuestIO(args=args), plan, schedules=ns.schedules,
                            is_failure=_recorder(digest, count))
        print("plan", guest, " ".join(args), count[0], digest.hexdigest()[:16], flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
