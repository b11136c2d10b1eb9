"""Run the WASI preview1 conformance tests of WebAssembly/wasi-testsuite under `wasmconc run`.

    python scripts/wasi_testsuite.py PATH-TO-WASI-TESTSUITE [--preempt fuel|epoch|os] [--only PATTERN]

PATH is the suite's repository: a git directory (bare, e.g. what the search
tool's fetch brings) or a checkout. The prebuilt tests live on the branch
`prod/testsuite-all` under tests/{c,rust,assemblyscript}/testsuite/wasm32-wasip1;
they are copied to a temporary directory (never written into PATH), and each
`NAME.wasm` runs with what its `NAME.json` says, read the way the suite's own
runner (test-runner/wasi_test_runner) reads it: `args`, `env`, `dirs` (each
preopened under its own name, relative to the test's folder), expected
`exit_code` (default 0), `stdout`/`stderr` (the first characters of the
stream must be these), or the newer `operations` list (run, read, write,
wait, kill). Like that runner, stdin is a pipe held open until the wait,
and `*.cleanup` files in the preopened folders are removed before and after
each test.

Prints one line per failing test and a summary line "N passed, M failed".
Exit status: 0 if every test passed, 1 if some failed, 2 on bad input
(a path that is not the suite, no wasmconc) with one line saying what.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
BRANCH = "prod/testsuite-all"
LANGUAGES = ("c", "rust", "assemblyscript")
SUITE_DIR = "tests/{lang}/testsuite/wasm32-wasip1"


class UsageError(Exception):
    """Bad input to this script: reported as one line, exit 2."""


# -- getting the tests --------------------------------------------------------------------------


def _git(git_dir: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, check=False)


def _git_dir_of(path: Path) -> Path | None:
    """The git directory of a bare repository or a checkout, or None."""
    for candidate in (path, path / ".git"):
        if candidate.is_dir() and (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


def _suite_ref(git_dir: Path) -> str:
    for ref in (f"refs/heads/{BRANCH}", f"refs/remotes/origin/{BRANCH}", BRANCH):
        if _git(git_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0:
            return ref
    raise UsageError(f"{git_dir}: has no branch {BRANCH} (the prebuilt tests); fetch WebAssembly/wasi-testsuite")


def extract_suites(repo: Path, dest: Path) -> list[Path]:
    """Copy the three wasm32-wasip1 suites of `repo` under `dest`; their folders, in LANGUAGES order."""
    if not repo.exists():
        raise UsageError(f"{repo}: no such file or directory")
    folders = [SUITE_DIR.format(lang=lang) for lang in LANGUAGES]
    if all(any((repo / f).glob("*.wasm")) for f in folders):
        # A checkout of the prebuilt branch: copy (tests write into their folders).
        for f in folders:
            shutil.copytree(repo / f, dest / f, symlinks=True)
        return [dest / f for f in folders]
    git_dir = _git_dir_of(repo)
    if git_dir is None:
        raise UsageError(f"{repo}: neither a git repository nor a checkout of wasi-testsuite's {BRANCH}")
    ref = _suite_ref(git_dir)
    archive = _git(git_dir, "archive", "--format=tar", ref, *folders)
    if archive.returncode != 0:
        lines = archive.stderr.decode(errors="replace").strip().splitlines()
        why = lines[0] if lines else "git archive failed"
        raise UsageError(f"{repo}: {ref} lacks the wasm32-wasip1 suites ({why})")
    tar_path = dest / "suite.tar"
    tar_path.write_bytes(archive.stdout)
    with tarfile.open(tar_path) as tar:
        tar.extractall(dest, filter="tar")
    tar_path.unlink()
    return [dest / f for f in folders]


# -- test specs (the suite's runner, test-runner/wasi_test_runner/test_case.py) ------------------


@dataclass
class Op:
    kind: str  # run, read, write, wait, kill, or an operation this runner does not support
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    dirs: list[str] = field(default_factory=list)
    stream: str = "stdout"
    payload: str = ""
    exit_code: int = 0
    signal: str = "SIGTERM"


def read_spec(wasm: Path) -> list[Op]:
    """The operations of a test: its .json (legacy or `operations`), or run + wait for exit 0."""
    spec_path = wasm.with_suffix(".json")
    if not spec_path.exists():
        return [Op("run"), Op("wait")]
    spec: dict[str, Any] = json.loads(spec_path.read_text(encoding="utf-8"))
    if "operations" in spec or "proposals" in spec:
        return [_op(o) for o in spec.get("operations") or []]
    ops = [Op("run", args=list(spec.get("args", [])), env=dict(spec.get("env", {})), dirs=list(spec.get("dirs", [])))]
    for stream in ("stdout", "stderr"):
        if spec.get(stream) is not None:
            ops.append(Op("read", stream=stream, payload=spec[stream]))
    ops.append(Op("wait", exit_code=int(spec.get("exit_code", 0))))
    return ops


def _op(o: dict[str, Any]) -> Op:
    kind = str(o.get("type"))
    if kind == "run":
        return Op("run", args=list(o.get("args", [])), env=dict(o.get("env", {})), dirs=list(o.get("dirs", [])))
    if kind == "read":
        return Op("read", stream=o.get("id", "stdout"), payload=o.get("payload", ""))
    if kind == "write":
        return Op("write", stream=o.get("id", "stdin"), payload=o.get("payload", ""))
    if kind == "wait":
        return Op("wait", exit_code=int(o.get("exit_code", 0)))
    if kind == "kill":
        return Op("kill", signal=o.get("signal", "SIGTERM"))
    return Op(kind)  # connect/send/recv/request: sockets and HTTP, not preview1 CLI tests


# -- running one test ---------------------------------------------------------------------------


class _Drain:
    """Reads a child's stream on a thread, so a test can wait for a prefix with a deadline."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.data = bytearray()
        self.closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream: IO[bytes]) -> None:
        while chunk := os.read(stream.fileno(), 65536):
            with self._cond:
                self.data += chunk
                self._cond.notify_all()
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def wait_for(self, n: int, deadline: float) -> bytes:
        with self._cond:
            while len(self.data) < n and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return bytes(self.data[:n])

    def text(self) -> str:
        self._thread.join(timeout=5)
        with self._cond:
            return self.data.decode(errors="replace")


def _cleanup(dirs: list[Path]) -> None:
    for d in dirs:
        for f in d.glob("**/*.cleanup"):
            if f.is_symlink() or f.is_file():
                f.unlink()
            elif f.is_dir():
                shutil.rmtree(f)


def _tail(text: str, limit: int = 300) -> str:
    text = text.strip().replace("\n", " | ")
    return text if len(text) <= limit else text[:limit] + "..."


def run_test(wasm: Path, wasmconc: list[str], preempt: str, timeout: float) -> str | None:
    """Run one test; None if it passed, else why it failed (one line)."""
    ops = read_spec(wasm)
    proc: subprocess.Popen[bytes] | None = None
    drains: dict[str, _Drain] = {}
    read_offset = {"stdout": 0, "stderr": 0}
    dirs: list[Path] = []
    deadline = time.monotonic() + timeout
    failure: str | None = None
    try:
        for op in ops:
            if op.kind == "run":
                dirs = [wasm.parent / d for d in op.dirs]
                _cleanup(dirs)
                argv = [*wasmconc, "run", "--preempt", preempt]
                for host, guest in zip(dirs, op.dirs):
                    argv += ["--dir", f"{host}::{guest}"]
                for k, v in op.env.items():
                    argv += ["--env", f"{k}={v}"]
                argv += [str(wasm), "--", *op.args]
                proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, cwd=wasm.parent)
                assert proc.stdout is not None and proc.stderr is not None
                drains = {"stdout": _Drain(proc.stdout), "stderr": _Drain(proc.stderr)}
            elif proc is None:
                failure = f"operation {op.kind} before run"
            elif op.kind == "read":
                want = op.payload.encode()
                start = read_offset[op.stream]
                got = drains[op.stream].wait_for(start + len(want), deadline)[start:]
                read_offset[op.stream] = start + len(want)
                if got != want:
                    failure = f"{op.stream}: expected {op.payload!r}, got {got.decode(errors='replace')!r}"
            elif op.kind == "write":
                assert proc.stdin is not None
                proc.stdin.write(op.payload.encode())
                proc.stdin.flush()
            elif op.kind == "kill":
                proc.send_signal(signal.Signals[op.signal])
            elif op.kind == "wait":
                if proc.stdin is not None:
                    proc.stdin.close()
                try:
                    code = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    failure = f"no exit within {timeout:g} s"
                else:
                    if code != op.exit_code:
                        err = _tail(drains["stderr"].text())
                        failure = f"expected exit code {op.exit_code}, got {code}" + (f"; stderr: {err}" if err else "")
                proc = None
            else:
                failure = f"operation {op.kind!r} is not supported by this runner"
            if failure is not None:
                break
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
            if failure is None:
                failure = "the test ended with its process still running"
        _cleanup(dirs)
    return failure


# -- the command ---------------------------------------------------------------------------------


def _wasmconc_command(given: str | None) -> list[str]:
    if given:
        exe = shutil.which(given) if os.sep not in given else given
        if exe is None or not os.access(exe, os.X_OK):
            raise UsageError(f"--wasmconc {given}: not an executable")
        return [exe]
    probe = subprocess.run([sys.executable, "-c", "import pytest_wasmconc"], capture_output=True, check=False)
    if probe.returncode != 0:
        raise UsageError(f"pytest_wasmconc is not importable by {sys.executable} (pip install -e {ROOT})")
    return [sys.executable, "-m", "pytest_wasmconc"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("repo", type=Path, help="wasi-testsuite: a git directory or a checkout")
    ap.add_argument("--preempt", choices=["fuel", "epoch", "os"], default="fuel")
    ap.add_argument("--only", metavar="PATTERN", help="run only tests whose LANG/NAME matches this glob")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per test (default 60)")
    ap.add_argument("--wasmconc", metavar="EXE", help="the wasmconc command (default: this Python's)")
    ap.add_argument("-v", "--verbose", action="store_true", help="also print passing tests")
    a = ap.parse_args(argv)
    try:
        wasmconc = _wasmconc_command(a.wasmconc)
        with tempfile.TemporaryDirectory(prefix="wasi-testsuite-") as tmp:
            suites = extract_suites(a.repo.resolve(), Path(tmp))
            passed = failed = 0
            t0 = time.monotonic()
            for lang, suite in zip(LANGUAGES, suites):
                for wasm in sorted(suite.glob("*.wasm")):
                    name = f"{lang}/{wasm.stem}"
                    if a.only and not fnmatch.fnmatch(name, f"*{a.only}*"):
                        continue
                    why = run_test(wasm, wasmconc, a.preempt, a.timeout)
                    if why is None:
                        passed += 1
                        if a.verbose:
                            print(f"PASS {name}", flush=True)
                    else:
                        failed += 1
                        print(f"FAIL {name}: {why}", flush=True)
    except UsageError as exc:
        print(f"wasi_testsuite.py: {exc}", file=sys.stderr)
        return 2
    print(f"{passed} passed, {failed} failed ({a.preempt} mode, {time.monotonic() - t0:.0f} s)")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
