"""Every bad input to `wasmconc` gives exit 2 and one line naming the cause: no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

GUESTS = Path(__file__).resolve().parents[2] / "guests"


def wasmconc(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def wat_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    cfg = wasmtime.Config()
    cfg.wasm_threads = True
    cfg.shared_memory = True
    path.write_bytes(wasmtime.wat2wasm(text))
    return path


def test_missing_file(tmp_path: Path) -> None:
    assert_one_line_error(wasmconc("run", str(tmp_path / "nope.wasm")), "nope.wasm", "no such file")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.wasm").write_bytes(b"")
    assert_one_line_error(wasmconc("run", str(tmp_path / "empty.wasm")), "empty.wasm", "empty")


def test_not_wasm(tmp_path: Path) -> None:
    (tmp_path / "text.wasm").write_text("hello world\n")
    assert_one_line_error(wasmconc("run", str(tmp_path / "text.wasm")), "text.wasm", "not a WebAssembly module")


def test_wat_text_instead_of_binary(tmp_path: Path) -> None:
    (tmp_path / "prog.wasm").write_text("(module)")
    assert_one_line_error(wasmconc("run", str(tmp_path / "prog.wasm")), "text format")


def test_truncated_module(tmp_path: Path) -> None:
    data = (GUESTS / "c" / "mutex_counter.wasm").read_bytes()
    (tmp_path / "cut.wasm").write_bytes(data[: len(data) // 2])
    assert_one_line_error(wasmconc("run", str(tmp_path / "cut.wasm")), "cut.wasm")


def test_component_where_a_module_is_expected(tmp_path: Path) -> None:
    (tmp_path / "comp.wasm").write_bytes(b"\0asm\x0d\x00\x01\x00")
    assert_one_line_error(wasmconc("run", str(tmp_path / "comp.wasm")), "component")


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    assert_one_line_error(wasmconc("run", str(tmp_path)), "directory")


def test_missing_preopen_directory(tmp_path: Path) -> None:
    proc = wasmconc("run", "--dir", str(tmp_path / "absent") + "::.", str(GUESTS / "c" / "thread_file.wasm"))
    assert_one_line_error(proc, "absent")


def test_unknown_import_is_named(tmp_path: Path) -> None:
    path = wat_file(tmp_path, "imp.wasm", """(module
      (import "mystery" "frobnicate" (func (param i32)))
      (memory (export "memory") 1)
      (func (export "_start")))""")
    assert_one_line_error(wasmconc("run", str(path)), "unknown import", "mystery.frobnicate")


def test_thread_spawn_without_wasi_thread_start(tmp_path: Path) -> None:
    path = wat_file(tmp_path, "nostart.wasm", """(module
      (import "wasi" "thread-spawn" (func (param i32) (result i32)))
      (import "env" "memory" (memory 1 1 shared))
      (func (export "_start")))""")
    assert_one_line_error(wasmconc("run", str(path)), "wasi_thread_start")


def test_wasi_guest_without_memory_export(tmp_path: Path) -> None:
    path = wat_file(tmp_path, "nomem.wasm", """(module
      (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
      (memory 1)
      (func (export "_start")))""")
    assert_one_line_error(wasmconc("run", str(path)), "memory")


def test_missing_start_export(tmp_path: Path) -> None:
    path = wat_file(tmp_path, "lib.wasm", '(module (func (export "f")))')
    assert_one_line_error(wasmconc("run", str(path)), "_start")


def test_memory_maximum_larger_than_the_host_allows(tmp_path: Path) -> None:
    path = wat_file(tmp_path, "huge.wasm", """(module
      (import "wasi" "thread-spawn" (func (param i32) (result i32)))
      (import "env" "memory" (memory 70000 70000 shared))
      (func (export "wasi_thread_start") (param i32 i32))
      (func (export "_start")))""")
    proc = wasmconc("run", str(path))
    assert_one_line_error(proc, "huge.wasm")


@pytest.mark.parametrize("args,needle", [
    (["run", "--preempt", "turbo", "x.wasm"], "turbo"),
    (["run", "--slice", "0", "x.wasm"], "slice"),
    (["explore", "--schedules", "many", "x.wasm"], "many"),
    (["run", "--env", "NOVALUE", "x.wasm"], "NAME=VALUE"),
    (["run", "--policy", "chaos", "x.wasm"], "chaos"),
    ([], "missing command"),
    (["frobnicate"], "frobnicate"),
])
def test_usage_errors(args: list[str], needle: str) -> None:
    assert_one_line_error(wasmconc(*args), needle)


def test_replay_with_a_damaged_token() -> None:
    proc = wasmconc("replay", str(GUESTS / "c" / "mutex_counter.wasm"), "wc1-garbage")
    assert_one_line_error(proc, "token")
