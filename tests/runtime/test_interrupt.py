"""Ctrl-C during a run stops it cleanly: exit 130, one line, no traceback, no crash."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import wasmtime

# Two threads meeting at an atomic RMW on every iteration: the scheduler thread
# spends most of its time inside host callbacks, where a naive SIGINT is lost.
PINGPONG = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $spin (loop $l (drop (i32.atomic.rmw.add (i32.const 64) (i32.const 1))) (br $l)))
  (func (export "wasi_thread_start") (param i32 i32) (call $spin))
  (func (export "_start") (drop (call $spawn (i32.const 0))) (call $spin)))"""


@pytest.mark.parametrize("mode", ["fuel", "epoch", "os"])
def test_sigint_stops_the_run_with_130(tmp_path: Path, mode: str) -> None:
    guest = tmp_path / "pingpong.wasm"
    guest.write_bytes(wasmtime.wat2wasm(PINGPONG))
    proc = subprocess.Popen([sys.executable, "-m", "pytest_wasmconc", "run", "--preempt", mode,
                             "--max-steps", "1000000000", str(guest)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.strip() == "wasmconc: interrupted"
