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


# In one process: Ctrl-C reaches the os driver while both guest threads run wasm; by the time
# the KeyboardInterrupt leaves the runner, no guest thread may still be running (the execution's
# memory and stores are released on the way out: a thread still in them crashed the process).
_OS_CHILD = """
import os, signal, sys, threading, time
from pytest_wasmconc.runtime import Preempt, Runner, RunSettings

def guest_threads():
    return [t for t in threading.enumerate() if t.name.startswith("wasmconc-guest-") and t.is_alive()]

def interrupt_once_both_run():
    deadline = time.monotonic() + 60
    while len(guest_threads()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # both spinning in wasm
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=interrupt_once_both_run, daemon=True).start()
try:
    Runner(RunSettings(preempt=Preempt.OS, timeout=120)).run(sys.argv[1])
    print("not interrupted")
except KeyboardInterrupt:
    print("still running after the interrupt:", len(guest_threads()))
"""


def test_an_interrupted_os_mode_run_stops_its_guest_threads_before_releasing_them(tmp_path: Path) -> None:
    guest = tmp_path / "pingpong.wasm"
    guest.write_bytes(wasmtime.wat2wasm(PINGPONG))
    done = subprocess.run([sys.executable, "-c", _OS_CHILD, str(guest)], capture_output=True, text=True,
                          timeout=CHILD_LIMIT_S)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "still running after the interrupt: 0", done.stdout + done.stderr
