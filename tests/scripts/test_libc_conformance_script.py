"""scripts/libc_conformance.py, without the real toolchain or repositories.

The real run needs cc-threads and the fetched wasi-libc and libc-test; here
the script reads a small CMakeLists.txt shaped like wasi-libc's, builds with
a stand-in compiler (the .c "sources" hold WAT, compiled by wasmtime-py) and
uses a stand-in for the wasmtime CLI that always passes, so a guest that
fails under wasmconc shows up as a mismatch. What is pinned: which tests the
CMakeLists enables and with which flags, the mismatch table, build failures,
the per-mode summary, and one-line errors with exit 2.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from child_processes import CHILD_LIMIT_S

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "libc_conformance.py"

CMAKE = """\
set(LIBC_TEST_COMMIT 18e28496adee3d84fefdda6efcb9c5b8996a2398)
function(add_test_executable executable_name src)
  if (TARGET_TRIPLE MATCHES "-threads")
    target_link_options(${executable_name} PRIVATE -pthread
      -Wl,--import-memory,--export-memory,--shared-memory,--max-memory=1073741824)
  endif()
endfunction()
add_libc_test(functional/argv.c CFLAGS -Wno-sign-compare)
if (TARGET_TRIPLE MATCHES "-threads")
  add_libc_test(functional/pthread_ok.c CFLAGS -Wno-unused-variable)
endif()
function(add_posix_test test_file)
  add_test_pair(${test_name} ${test_file}
    CFLAGS -Wno-unused-parameter -Wno-sign-compare
    INCLUDE ${CMAKE_CURRENT_SOURCE_DIR}/open-posix-test-suite/include)
endfunction()
if (ENABLE_COOP_THREADS)
  add_posix_test(conformance/interfaces/pthread_ok/1-1.c)
  add_posix_test(conformance/interfaces/pthread_bad/speculative/2-1.c)
  add_posix_test(conformance/interfaces/sem_broken/1-1.c)
  # unsupported(signals): add_posix_test(conformance/interfaces/pthread_kill/1-1.c)
  add_posix_test(conformance/interfaces/aio_read/1-1.c)
endif()
"""

PASS = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "Test PASSED\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 12))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"""

FAIL = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "Test FAILED: woke too early\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 28))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $exit (i32.const 1))))"""

# Compiles the first .c argument: WAT text with wasmtime-py, "#error" fails like a compiler;
# anything else (the script's own probe) becomes a trivial module.
FAKE_CC = """#!{python}
import sys, wasmtime
args = sys.argv[1:]
out = args[args.index("-o") + 1]
assert "-Wl,--import-memory,--export-memory,--shared-memory,--max-memory=1073741824" in args, args
src = next(a for a in args if a.endswith(".c"))
text = open(src).read()
if "#error" in text:
    sys.stderr.write(src + ":1:2: error: no semaphores here\\n")
    sys.exit(1)
trivial = '(module (memory (export "memory") 1) (func (export "_start")))'
open(out, "wb").write(wasmtime.wat2wasm(text if text.startswith("(module") else trivial))
"""

FAKE_WASMTIME = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "wasmtime 36.0.9 (fake)"; fi
exit 0
"""


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("libc_conformance", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["libc_conformance"] = module
    spec.loader.exec_module(module)
    return module


def test_the_plan_is_what_the_cmakelists_enables_with_its_flags() -> None:
    plan = load_script().plan_from_cmake(CMAKE)
    names = [t.name for t in plan.tests]
    assert names == ["libc-test/functional/pthread_ok", "posix/pthread_ok/1-1", "posix/pthread_bad/speculative/2-1",
                     "posix/sem_broken/1-1"]  # no argv (not pthread), no commented-out or aio test
    libc, posix = plan.tests[0], plan.tests[1]
    assert libc.sources[0] == "libc-test/src/functional/pthread_ok.c"
    assert "libc-test/src/common/print.c" in libc.sources and "-Wno-unused-variable" in libc.cflags
    assert posix.sources == ["wasi-libc/test/open-posix-test-suite/conformance/interfaces/pthread_ok/1-1.c"]
    assert posix.cflags == ["-Wno-unused-parameter", "-Wno-sign-compare",
                            "-Iwasi-libc/test/open-posix-test-suite/include"]
    assert plan.link_flags == ["-pthread",
                               "-Wl,--import-memory,--export-memory,--shared-memory,--max-memory=1073741824"]
    assert plan.libc_test_commit == "18e28496adee3d84fefdda6efcb9c5b8996a2398"


def executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def checkouts(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """(wasi-libc checkout, libc-test checkout, fake cc, fake wasmtime)."""
    libc, tests = tmp_path / "wasi-libc", tmp_path / "libc-test"
    posix = libc / "test" / "open-posix-test-suite"
    (posix / "include").mkdir(parents=True)
    (libc / "test" / "CMakeLists.txt").write_text(CMAKE)
    for rel, text in [("pthread_ok/1-1.c", PASS), ("pthread_bad/speculative/2-1.c", FAIL),
                      ("sem_broken/1-1.c", "#error no semaphores\n")]:
        path = posix / "conformance" / "interfaces" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tests / "src" / "functional").mkdir(parents=True)
    (tests / "src" / "common").mkdir(parents=True)
    (tests / "src" / "functional" / "pthread_ok.c").write_text(PASS)
    for support in ("path", "print", "rand", "utf8"):
        (tests / "src" / "common" / f"{support}.c").write_text("/* support */\n")
    cc = executable(tmp_path / "cc", FAKE_CC.format(python=sys.executable))
    wasmtime = executable(tmp_path / "wasmtime", FAKE_WASMTIME)
    return libc, tests, cc, wasmtime


def run_script(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=CHILD_LIMIT_S, check=False)


def test_a_test_passing_under_wasmtime_but_failing_in_a_mode_is_a_mismatch_with_its_output(
        checkouts: tuple[Path, Path, Path, Path], tmp_path: Path) -> None:
    libc, tests, cc, wasmtime = checkouts
    proc = run_script(libc, tests, "--cc", cc, "--wasmtime", wasmtime, "--modes", "wasmtime,fuel,explore",
                      "--schedules", "2", "--jobs", "2", "--json", tmp_path / "r.json", "--keep", tmp_path / "kept")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "build failed: posix/sem_broken/1-1: wasi-libc/test/open-posix-test-suite/conformance/interfaces/" \
           "sem_broken/1-1.c:1:2: error: no semaphores here" in out
    rows = [ln for ln in out.splitlines() if ln.startswith("posix/pthread_bad/speculative/2-1")]
    assert [r.split()[1:4] for r in rows] == [["fuel", "exit", "1"], ["explore", "exit", "1"]]
    assert rows[0].endswith("Test FAILED: woke too early")
    assert "wasmtime: 3/3 pass (1 did not build)" in out
    assert "fuel: 2/3 pass (of 3 passing under wasmtime 36;" in out
    assert "explore: 2/3 pass (of 3 passing under wasmtime 36;" in out
    assert (tmp_path / "r.json").exists()
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == [
        "libc-test_functional_pthread_ok.wasm", "posix_pthread_bad_speculative_2-1.wasm", "posix_pthread_ok_1-1.wasm"]


def test_everything_passing_exits_0(checkouts: tuple[Path, Path, Path, Path]) -> None:
    libc, tests, cc, wasmtime = checkouts
    proc = run_script(libc, tests, "--cc", cc, "--wasmtime", wasmtime, "--modes", "wasmtime,os", "--only", "_ok")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("os: 2/2 pass (of 2 passing under wasmtime 36; ")
    assert "mismatches" not in proc.stdout


@pytest.mark.parametrize(("change", "needle"), [
    ("no_cc", "toolchain"),
    ("bad_wasi_libc", "not a git directory or checkout of wasi-libc"),
    ("missing_libc_test", "no such file or directory"),
    ("bad_mode", "unknown mode"),
    ("no_match", "matches none of the 4 tests"),
])
def test_bad_input_is_one_line_and_exit_2(checkouts: tuple[Path, Path, Path, Path], tmp_path: Path,
                                          change: str, needle: str) -> None:
    libc, tests, cc, wasmtime = checkouts
    args: list[object] = [libc, tests, "--cc", cc, "--wasmtime", wasmtime]
    if change == "no_cc":
        args[3] = tmp_path / "nowhere" / "cc-threads"
    elif change == "bad_wasi_libc":
        args[0] = tests
    elif change == "missing_libc_test":
        args[1] = tmp_path / "absent"
    elif change == "bad_mode":
        args += ["--modes", "fuel,turbo"]
    else:
        args += ["--only", "nothing-like-this"]
    proc = run_script(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert needle in lines[0]
