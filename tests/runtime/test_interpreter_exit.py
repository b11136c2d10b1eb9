"""The process ends cleanly after explorations: nothing Wasmtime frees at interpreter shutdown calls freed code.

A host function's finalizer runs when the last linker defining it is deleted, which for a program cached
in the loader can be during interpreter shutdown, after the host-call module's globals were cleared. It
was a ctypes callback, freed with those globals: the process crashed at exit (SIGSEGV or SIGILL) once a
module imported before the host-call bindings held the loader, as a user's wrapper or a mock of it does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from child_processes import CHILD_LIMIT_S

GUEST = Path(__file__).resolve().parents[2] / "guests" / "libc" / "mutex_many_threads.wasm"

_CHILD = r"""
import contextlib, io, sys
import pytest_wasmconc.runtime.loading.program as program
import pytest_wasmconc.runtime.runner as runner
from pytest_wasmconc.cli import main

real_load = program.load_program

def counting_load(*args, **kwargs):  # a user's wrapper of the loader, imported before the bindings
    return real_load(*args, **kwargs)

program.load_program = runner.load_program = counting_load
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["explore", "--schedules", "20", "--seed", "1", sys.argv[1], "--", "2", "1"])
print("explored", code, flush=True)
"""


def test_the_process_exits_cleanly_when_cached_programs_outlive_the_host_call_module() -> None:
    # Before the fix this child exited -11 or -4 (three runs out of three) after printing "explored 0".
    done = subprocess.run([sys.executable, "-c", _CHILD, str(GUEST)], capture_output=True, text=True,
                          timeout=CHILD_LIMIT_S)
    assert "explored 0" in done.stdout, done.stderr
    assert done.returncode == 0, f"exit status {done.returncode}\n{done.stderr}"
