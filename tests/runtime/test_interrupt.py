"""Ctrl-C during a run stops it cleanly: exit 130, one line, no traceback, no crash."""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import wasmtime
from child_processes import CHILD_LIMIT_S

# Two threads meeting at an atomic RMW on every iteration: the scheduler thread
# spends most of its time inside host callbacks, where a naive SIGINT is lost.
# Main says "ready" once the worker is spawned, just before it starts spinning.
PINGPONG = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (data (i32.const 128) "ready\\n")
  (func $spin (loop $l (drop (i32.atomic.rmw.add (i32.const 64) (i32.const 1))) (br $l)))
  (func (export "wasi_thread_start") (param i32 i32) (call $spin))
  (func (export "_start")
    (drop (call $spawn (i32.const 0)))
    (i32.store (i32.const 0) (i32.const 128)) (i32.store (i32.const 4) (i32.const 6))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $spin)))"""


def _read_line(proc: subprocess.Popen[bytes], limit_s: float) -> bytes:
    """The child's first stdout line, waiting at most `limit_s` (a generous bound, not a speed floor)."""
    assert proc.stdout is not None
    line = b""
    deadline = time.monotonic() + limit_s
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            if sel.select(timeout=max(0.0, deadline - time.monotonic())):
                chunk = proc.stdout.read1(64)  # type: ignore[attr-defined]
                if not chunk:
                    break  # the child ended without saying it was ready
                line += chunk
    return line


@pytest.mark.parametrize("mode", ["fuel", "epoch", "os"])
def test_sigint_stops_the_run_with_130(tmp_path: Path, mode: str) -> None:
    guest = tmp_path / "pingpong.wasm"
    guest.write_bytes(wasmtime.wat2wasm(PINGPONG))
    proc = subprocess.Popen([sys.executable, "-m", "pytest_wasmconc", "run", "--preempt", mode,
                             "--max-steps", "1000000000", str(guest)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # Signal only once the guest runs: earlier, the interpreter is still starting.
        assert _read_line(proc, CHILD_LIMIT_S) == b"ready\n"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=CHILD_LIMIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert err.decode().strip() == "wasmconc: interrupted"
