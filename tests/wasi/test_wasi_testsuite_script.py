"""scripts/wasi_testsuite.py on a small suite of our own, laid out like WebAssembly/wasi-testsuite.

The real suite is fetched at run time and never committed; these tests pin
the runner itself: the .json spec (args, env, preopened dirs, exit code,
stdout) reaches the guest, a failing test prints one line, the summary
counts, the repository is never written to, and bad input is one line with
exit 2.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime
from child_processes import CHILD_LIMIT_S

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "wasi_testsuite.py"
HELLO = REPO / "guests" / "wat" / "single_hello.wasm"
SUITE = "tests/{lang}/testsuite/wasm32-wasip1"

# Exits with argc * 10 + environ count (argc counts the program name).
COUNTS = """(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $args (i32.const 0) (i32.const 4)))
    (drop (call $env (i32.const 8) (i32.const 12)))
    (call $exit (i32.add (i32.mul (i32.load (i32.const 0)) (i32.const 10)) (i32.load (i32.const 8))))))"""

# Prints the name of the directory preopened as fd 3.
PREOPEN_NAME = """(module
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (if (call $prestat (i32.const 3) (i32.const 0)) (then (call $exit (i32.const 9))))
    (drop (call $name (i32.const 3) (i32.const 64) (i32.load (i32.const 4))))
    (i32.store (i32.const 16) (i32.const 64))
    (i32.store (i32.const 20) (i32.load (i32.const 4)))
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))"""


def make_suite(root: Path) -> None:
    """Three language folders; c/ passes, rust/ passes, assemblyscript/ has two failing tests."""
    c, rust, asc = (root / SUITE.format(lang=lang) for lang in ("c", "rust", "assemblyscript"))
    for d in (c, rust, asc):
        d.mkdir(parents=True)
    shutil.copy(HELLO, c / "hello.wasm")
    (c / "hello.json").write_text(json.dumps({"stdout": "hello\n"}))
    (rust / "counts.wasm").write_bytes(wasmtime.wat2wasm(COUNTS))
    (rust / "counts.json").write_text(json.dumps({"args": ["a", "the \"b\" arg"], "env": {"X": "1", "Y": "new\nline"},
                                                  "exit_code": 32}))
    (rust / "preopen.wasm").write_bytes(wasmtime.wat2wasm(PREOPEN_NAME))
    (rust / "preopen.json").write_text(json.dumps({"dirs": ["fs-tests.dir"], "args": ["fs-tests.dir"],
                                                   "stdout": "fs-tests.dir"}))
    (rust / "fs-tests.dir").mkdir()
    (rust / "fs-tests.dir" / "stale.cleanup").write_text("left by an earlier run")
    shutil.copy(HELLO, asc / "wrong_code.wasm")
    (asc / "wrong_code.json").write_text(json.dumps({"exit_code": 7}))
    shutil.copy(HELLO, asc / "wrong_stdout.wasm")
    (asc / "wrong_stdout.json").write_text(json.dumps({"operations": [
        {"type": "run"}, {"type": "read", "id": "stdout", "payload": "bye\n"}, {"type": "wait", "exit_code": 0}]}))


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                   capture_output=True, timeout=CHILD_LIMIT_S)


@pytest.fixture(scope="module")
def suite_git(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bare repository whose prod/testsuite-all branch holds the suite (what fetch brings)."""
    work = tmp_path_factory.mktemp("work")
    git(work, "init", "-q", "-b", "main")
    (work / "README.md").write_text("main has no prebuilt tests\n")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "main")
    git(work, "checkout", "-q", "-b", "prod/testsuite-all")
    make_suite(work)
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "prebuilt")
    git(work, "checkout", "-q", "main")
    bare = tmp_path_factory.mktemp("mirror") / "repo"
    git(work, "clone", "-q", "--bare", str(work), str(bare))
    return bare


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=CHILD_LIMIT_S,
                          check=False)


def test_a_bare_repository_runs_every_test_with_its_spec_and_reports_each_failure(suite_git: Path) -> None:
    before = sorted(p.name for p in suite_git.rglob("*"))
    proc = run_script(str(suite_git))
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    failures = [ln for ln in lines if ln.startswith("FAIL ")]
    assert failures == [
        "FAIL assemblyscript/wrong_code: expected exit code 7, got 0",
        # as the suite's own runner does, only as many characters as expected are read
        "FAIL assemblyscript/wrong_stdout: stdout: expected 'bye\\n', got 'hell'",
    ]
    assert lines[-1].startswith("3 passed, 2 failed (fuel mode")
    assert sorted(p.name for p in suite_git.rglob("*")) == before  # extracted elsewhere


def test_a_checkout_of_the_prebuilt_branch_works_and_is_left_as_it_was(tmp_path: Path) -> None:
    make_suite(tmp_path)
    proc = run_script(str(tmp_path), "--preempt", "os", "--only", "rust/", "-v")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[:2] == ["PASS rust/counts", "PASS rust/preopen"]
    assert proc.stdout.splitlines()[-1].startswith("2 passed, 0 failed (os mode")
    assert (tmp_path / SUITE.format(lang="rust") / "fs-tests.dir" / "stale.cleanup").exists()


@pytest.mark.parametrize("make", ["missing", "empty_dir", "git_without_branch"])
def test_a_path_that_is_not_the_suite_is_one_line_and_exit_2(tmp_path: Path, make: str) -> None:
    path = tmp_path / "repo"
    if make == "empty_dir":
        path.mkdir()
    elif make == "git_without_branch":
        path.mkdir()
        git(path, "init", "-q", "--bare")
    proc = run_script(str(path))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert str(path) in proc.stderr
