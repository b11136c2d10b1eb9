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
import json
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

# Main spawns a thread; main_reads reads a word the thread's worker_writes writes, with nothing
# ordering the two: a data race in every schedule of every mode. Then main waits for the thread.
RACY = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  (func $worker_writes (export "wasi_thread_start") (param i32 i32)
    (i32.store (i32.const 16) (i32.const 1))
    (i32.atomic.store (i32.const 4) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 4) (i32.const 1))))
  (func $main_reads (result i32) (i32.load (i32.const 16)))
  (func (export "_start")
    (drop (call $spawn (i32.const 0)))
    (drop (call $main_reads))
    (block $done (loop $l
      (br_if $done (i32.atomic.load (i32.const 4)))
      (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
      (br $l)))))"""

# Compiles the first .c argument: WAT text with wasmtime-py, "#error" fails like a compiler;
# anything else (the script's own probe) becomes a trivial module. FAKE_CC_LOG: a file each
# compilation's arguments are appended to.
FAKE_CC = """#!{python}
import os, sys, wasmtime
args = sys.argv[1:]
if os.environ.get("FAKE_CC_LOG"):
    open(os.environ["FAKE_CC_LOG"], "a").write(" ".join(args) + "\\n")
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


def make_checkouts(tmp_path: Path, cmake: str, posix_tests: list[tuple[str, str]]) -> tuple[Path, Path, Path, Path]:
    """(wasi-libc checkout, libc-test checkout, fake cc, fake wasmtime)."""
    libc, tests = tmp_path / "wasi-libc", tmp_path / "libc-test"
    posix = libc / "test" / "open-posix-test-suite"
    (posix / "include").mkdir(parents=True)
    (libc / "test" / "CMakeLists.txt").write_text(cmake)
    for rel, text in posix_tests:
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


@pytest.fixture
def checkouts(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """(wasi-libc checkout, libc-test checkout, fake cc, fake wasmtime)."""
    return make_checkouts(tmp_path, CMAKE, [("pthread_ok/1-1.c", PASS), ("pthread_bad/speculative/2-1.c", FAIL),
                                            ("sem_broken/1-1.c", "#error no semaphores\n")])


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


# -- under the race check ------------------------------------------------------------------------

RACE_CMAKE = CMAKE.replace(
    """  add_posix_test(conformance/interfaces/pthread_ok/1-1.c)
  add_posix_test(conformance/interfaces/pthread_bad/speculative/2-1.c)
  add_posix_test(conformance/interfaces/sem_broken/1-1.c)
""",
    """  add_posix_test(conformance/interfaces/pthread_ok/1-1.c)
  add_posix_test(conformance/interfaces/pthread_racy/1-1.c)
  add_posix_test(conformance/interfaces/pthread_racy/2-1.c)
""")

SUPPRESSIONS = """\
# A header: a blank line ends it, so it is no entry's comment.

# `word 16`: main_reads reads it, worker_writes writes it, unordered.
posix/pthread_racy/1-1  worker_writes
# No function is called this: an entry that matches nothing.
posix/pthread_racy/1-1  no_such_function
"""


@pytest.fixture
def race_checkouts(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    return make_checkouts(tmp_path, RACE_CMAKE, [("pthread_ok/1-1.c", PASS), ("pthread_racy/1-1.c", RACY),
                                                 ("pthread_racy/2-1.c", RACY)])


def test_a_suppressed_test_code_race_passes_counted_while_a_race_elsewhere_fails(
        race_checkouts: tuple[Path, Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    libc, tests, cc, _ = race_checkouts
    suppressions = tmp_path / "suppressions.txt"
    suppressions.write_text(SUPPRESSIONS)
    log = tmp_path / "cc.log"
    monkeypatch.setenv("FAKE_CC_LOG", str(log))
    proc = run_script(libc, tests, "--cc", cc, "--modes", "fuel,os", "--check", "races", "--jobs", "2",
                      "--race-suppressions", suppressions, "--json", tmp_path / "r.json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    # Built with DWARF, so reports name source lines.
    builds = [ln for ln in log.read_text().splitlines() if "pthread_racy" in ln]
    assert len(builds) == 2 and all(" -g " in f" {b} " for b in builds), builds
    # The entry's test passes in every mode; the same race in the test without an entry fails.
    rows = [ln.split()[:2] for ln in out.splitlines() if ln.startswith("posix/pthread_racy")]
    assert rows == [["posix/pthread_racy/2-1", "fuel"], ["posix/pthread_racy/2-1", "os"]], out
    assert "fuel: 3/4 pass" in out and "os: 3/4 pass" in out
    # What the entry hides, per mode, counted in a run without it; the entry that matched nothing.
    counted = [ln for ln in out.splitlines() if ln.startswith("  posix/pthread_racy/1-1")]
    assert len(counted) == 1 and "fuel 1, os 1" in counted[0], out
    assert counted[0].split()[-2:] == ["worker_writes", "no_such_function"]
    assert f"stale race suppression {suppressions}:6: posix/pthread_racy/1-1 no_such_function matched no " \
           "report in any mode" in out
    unsuppressed = out[out.index("race check: 1 test(s) report races that no entry"):].splitlines()
    assert [ln.split()[:2] for ln in unsuppressed[1:]] == [["posix/pthread_racy/2-1", "fuel"],
                                                           ["posix/pthread_racy/2-1", "os"]]
    assert all("main_reads" in ln and "worker_writes" in ln for ln in unsuppressed[1:])
    records = {r["name"]: r for r in json.loads((tmp_path / "r.json").read_text())}
    assert set(records["posix/pthread_racy/1-1"]["unsuppressed"]) == {"fuel", "os"}
    assert records["posix/pthread_racy/2-1"]["unsuppressed"] == {}  # no entry: one run per mode


def test_with_every_race_suppressed_the_suite_says_so_and_exits_0(
        race_checkouts: tuple[Path, Path, Path, Path], tmp_path: Path) -> None:
    libc, tests, cc, _ = race_checkouts
    suppressions = tmp_path / "suppressions.txt"
    suppressions.write_text("# worker_writes races with main_reads on word 16 (both tests)\n"
                            "posix/pthread_racy/1-1  worker_\\w+\nposix/pthread_racy/2-1  main_reads\n")
    proc = run_script(libc, tests, "--cc", cc, "--modes", "explore", "--schedules", "2", "--check", "races",
                      "--race-suppressions", suppressions)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == ("race check: no race reported except the suppressed test-code races "
                                            "listed (2 tests, 2 reports)")


def test_no_race_suppressions_reports_every_race(race_checkouts: tuple[Path, Path, Path, Path]) -> None:
    libc, tests, cc, _ = race_checkouts
    proc = run_script(libc, tests, "--cc", cc, "--modes", "epoch", "--check", "races", "--no-race-suppressions",
                      "--only", "racy")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "race check: 2 test(s) report races that no entry of" in proc.stdout
    assert "suppressed as races" not in proc.stdout


def test_the_shipped_suppressions_file_reads_and_every_entry_says_why() -> None:
    load_script()
    from conformance_races import DEFAULT_FILE, read_suppressions

    entries = read_suppressions(DEFAULT_FILE)
    assert entries and all(e.why for e in entries)
    assert all(e.test.startswith(("posix/", "libc-test/functional/")) for e in entries)
    assert len({(e.test, e.pattern) for e in entries}) == len(entries)


def test_entries_share_the_comment_above_them_until_a_blank_line(tmp_path: Path) -> None:
    load_script()
    from conformance_races import read_suppressions

    path = tmp_path / "s.txt"
    path.write_text("# header\n\n# why A\n# more about A\nt/a  f\nt/b  g|h\n# why C\nt/c  k\n")
    entries = read_suppressions(path)
    assert [(e.test, e.pattern, e.why, e.line) for e in entries] == [
        ("t/a", "f", "why A more about A", 5), ("t/b", "g|h", "why A more about A", 6), ("t/c", "k", "why C", 8)]


@pytest.mark.parametrize(("text", "needle"), [
    ("# header\n\nposix/x/1-1  f\n", "posix/x/1-1  f' has no comment above it"),
    ("# why\nposix/x/1-1\n", "expected `TEST FUNCTION-PATTERN`"),
    ("# why\nposix/x/1-1  f(\n", "'f(' is not a valid regular expression"),
    (None, "no race check"),
])
def test_a_bad_suppressions_file_is_one_line_and_exit_2(race_checkouts: tuple[Path, Path, Path, Path],
                                                        tmp_path: Path, text: str | None, needle: str) -> None:
    libc, tests, cc, _ = race_checkouts
    path = tmp_path / "s.txt"
    args: list[object] = [libc, tests, "--cc", cc, "--modes", "fuel", "--race-suppressions", path]
    if text is None:
        path.write_text("")
    else:
        path.write_text(text)
        args += ["--check", "races"]
    proc = run_script(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert (needle if text is not None else "need --check races") in lines[0]
