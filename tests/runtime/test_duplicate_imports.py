"""A module may import one function several times (AssemblyScript's output does).

Every import of a (module, name) binds to the same host function, WASI or the
user's, in every mode; two imports of one name with different signatures are a
load error of one line, since one host function cannot have both.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from child_processes import CHILD_LIMIT_S
from pytest_wasmconc.host import GuestCall
from pytest_wasmconc.runtime import ModuleError, Preempt, Runner, RunSettings, Status

GUEST = Path(__file__).resolve().parents[2] / "guests" / "wat" / "duplicate_import.wasm"
MODES = ["fuel", "epoch", "os"]

# host.tick imported twice; the guest exits with the sum of what both calls returned.
USER_TWICE = """(module
  (import "host" "tick" (func $tick_a (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "host" "tick" (func $tick_b (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $exit (i32.add (call $tick_a (i32.const 1)) (call $tick_b (i32.const 2))))))"""

CONFLICTING = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")))"""


def wasmconc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc", *args], capture_output=True, text=True,
                          timeout=CHILD_LIMIT_S, check=False, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("wasi", ["sandbox", "native"])
@pytest.mark.parametrize("mode", MODES)
def test_fd_write_imported_twice_writes_through_both_imports(mode: str, wasi: str) -> None:
    proc = wasmconc("run", "--preempt", mode, "--wasi", wasi, str(GUEST))
    assert (proc.returncode, proc.stdout) == (0, "first\nsecond\n"), proc.stderr


def test_explore_runs_a_guest_with_a_duplicate_import_in_every_schedule() -> None:
    proc = wasmconc("explore", "--schedules", "5", str(GUEST))
    assert proc.returncode == 0, proc.stderr
    assert "exited with code 0 x5" in proc.stdout


@pytest.mark.parametrize("preempt", [Preempt.FUEL, Preempt.EPOCH, Preempt.OS])
def test_a_user_host_function_imported_twice_serves_both_imports(preempt: Preempt) -> None:
    calls: list[tuple[int, int]] = []

    def tick(call: GuestCall, n: int) -> int:
        calls.append((call.thread_id, n))
        return n * 10

    o = Runner(RunSettings(preempt=preempt)).run(bytes(wasmtime.wat2wasm(USER_TWICE)),
                                                            imports={"host": {"tick": tick}})
    assert (o.status, o.exit_code) == (Status.EXITED, 30), o.report
    assert calls == [(0, 1), (0, 2)]


def test_one_name_imported_with_two_signatures_is_a_load_error_naming_both() -> None:
    with pytest.raises(ModuleError) as err:
        Runner(RunSettings()).run(bytes(wasmtime.wat2wasm(CONFLICTING)))
    msg = str(err.value)
    assert "wasi_snapshot_preview1.fd_write twice with different signatures" in msg
    assert "(i32 i32 i32 i32) -> (i32)" in msg and "(i32 i32 i32) -> (i32)" in msg


def test_the_cli_refuses_conflicting_duplicate_imports_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "conflict.wasm"
    path.write_bytes(wasmtime.wat2wasm(CONFLICTING))
    proc = wasmconc("run", str(path))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "twice with different signatures" in proc.stderr
