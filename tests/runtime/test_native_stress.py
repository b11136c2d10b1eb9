"""Native-resource stress, CI size, in a child process (a crash must not take
the test session with it): runs with the garbage collector forced at every
allocation (so at every host call, future completion and callback), executions
ended by proc_exit or a trap while the other threads are parked in host waits
(their call futures deleted with host calls pending), in every preempt mode,
many times; and a guest exhausting its memory. The child must exit normally
with every outcome as expected: no segfault, no abort, no hang."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from child_processes import CHILD_LIMIT_S

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import gc, sys, wasmtime
    from pathlib import Path
    from pytest_wasmconc.runtime import Runner, RunSettings

    WAT = Path(sys.argv[1]) / "guests" / "wat"
    C = Path(sys.argv[1]) / "guests" / "c"
    EXHAUST = bytes(wasmtime.wat2wasm('''
      (module
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "_start")
          (loop $grow
            (br_if $grow (i32.ne (memory.grow (i32.const 4096)) (i32.const -1))))
          (i32.store (i32.const 0) (i32.const 1))
          (call $exit (i32.const 3))))'''))
    CASES = [
        (WAT / "exit_main_procexit_worker_waiting.wasm", ("exited", 12)),
        (WAT / "exit_worker_procexit_main_waiting.wasm", ("exited", 99)),
        (WAT / "trap_worker_main_waiting.wasm", ("trapped", None)),
        (C / "mutex_counter.wasm", ("exited", 0)),
        (EXHAUST, ("exited", 3)),
    ]
    gc.set_threshold(1, 1, 1)   # a collection at (nearly) every allocation
    n = 0
    for preempt in ("fuel", "epoch", "os"):
        for guest, (status, code) in CASES:
            data = guest if isinstance(guest, bytes) else guest.read_bytes()
            for seed in range(int(sys.argv[2])):
                o = Runner(RunSettings(preempt=preempt, seed=seed)).run(data)
                got = (o.status, o.exit_code if status == "exited" else None)
                assert got == (status, code), (guest, preempt, seed, got, o.report)
                n += 1
                if seed % 3 == 0:
                    del o
                    gc.collect()
    print("runs", n)
    """
)


def test_runs_under_forced_gc_with_pending_host_calls_deleted() -> None:
    p = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT), "4"],
        capture_output=True, text=True, timeout=CHILD_LIMIT_S, cwd=ROOT, check=False,
    )  # fmt: skip
    assert p.returncode == 0, (p.returncode, p.stdout[-2000:], p.stderr[-4000:])
    assert "runs 60" in p.stdout
