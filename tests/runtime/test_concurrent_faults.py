"""Faults while other guest threads are busy (issue #9, item 4), in every preempt mode.

One guest thread ends the program (a trap, proc_exit, memory exhaustion, a user
host function that blocks forever or raises) while the others are parked on a
mutex or a futex, asleep in poll_oneoff, reading a stdin that never delivers,
in the middle of writing a large stream to stdout or to a file, or computing
(guests/c/fault_under_load.c, guests/c/host_fault_under_load.c, their victims in
guests/support/fault_victims.h). Each execution must end with the fault
reported as itself (the victims never end by themselves, so anything else
would run into the wall-clock backstop and be a hang), the output written so far must be a prefix of what
was being written, and the next execution in the same process must work with
nothing left behind (no registered guest thread, no stray OS thread).

A hang, a native crash or a trap in the runtime could take the test session
down, so every scenario runs in a child process: this file is also the child
(`python test_concurrent_faults.py SPEC`), which runs the cases of SPEC and a
clean execution after them and reports each outcome as a JSON line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from child_processes import CHILD_LIMIT_S

ROOT = Path(__file__).resolve().parents[2]
GUESTS = ROOT / "guests" / "c"
MODES = ["fuel", "epoch", "os"]

# The victims' stream (guests/support/fault_victims.h): 16-byte records
# "w%014u\n", 256 chunks of 64 KiB, one write(2) per chunk.
CHUNK = 64 * 1024
FULL_STREAM = 256 * CHUNK
READY_BYTES = 2 * CHUNK  # the writer counts as ready after two whole chunks
# The wall-clock backstop of each execution: a case takes seconds even on a loaded
# machine, so it only ends a broken one (as a hang, with its report), before the
# child as a whole reaches CHILD_LIMIT_S.
BACKSTOP_S = 240
# How long the runtime has to let the threads of an ended execution go before
# they count as stray (they normally go at once: this only bounds a leak).
STRAY_LIMIT_S = 60
# Threads meant to outlive an execution: the idle host workers kept for reuse (userhost/worker.py).
POOLED_THREADS = {"wasmconc-host-idle"}


def stream_prefix(n: int) -> bytes:
    """The first n bytes of the victims' stream."""
    records = (n + 15) // 16
    return b"".join(b"w%014d\n" % r for r in range(records))[:n]


class LedgerError(Exception):
    """What the `raise` host function raises (a user-defined exception type)."""


# -- the child ------------------------------------------------------------------------------------------------


def _imports(kind: str, blocker: threading.Lock) -> dict[str, dict[str, Any]]:
    """host.fault for host_fault_under_load: blocks forever, raises, or returns."""

    def block(x: int) -> int:
        with blocker:  # never free while the execution runs: invisible to the scheduler
            return x

    def fail(x: int) -> int:
        raise LedgerError(f"ledger broken with {x} victims running")

    def give(x: int) -> int:
        return 7

    return {"host": {"fault": {"block": block, "raise": fail, "return": give}[kind]}}


def _run_case(case: dict[str, Any], workdir: Path, index: int) -> dict[str, Any]:
    from pytest_wasmconc.host import UserImports
    from pytest_wasmconc.runtime import GuestIO, Runner, RunSettings
    from pytest_wasmconc.runtime.machine.threads import THREADS
    from pytest_wasmconc.wasi.faults import FaultPlan

    casedir = workdir / f"case{index}"
    casedir.mkdir()
    wasi_options: dict[str, Any] = {}
    if case.get("max_write"):
        wasi_options["faults"] = FaultPlan(max_write=case["max_write"], targets=frozenset({"stdout", "file"}))
    stdin: str | None = None
    if case.get("stdin") == "silent":
        fifo = casedir / "stdin.fifo"
        os.mkfifo(fifo)
        # Our own read-write end keeps a writer for the whole run: the guest's
        # read never sees EOF, and nothing is ever written.
        case["_fifo_fd"] = os.open(fifo, os.O_RDWR)
        stdin = str(fifo)
    io = GuestIO(args=case["args"], dirs=[(str(casedir), ".")], stdin=stdin, wasi_options=wasi_options)
    blocker = threading.Lock()
    imports = None
    if case.get("imports"):
        blocker.acquire()
        watchdog = {"blocking_timeout": case["blocking_timeout"]} if "blocking_timeout" in case else {}
        imports = UserImports(_imports(case["imports"], blocker), **watchdog)
    settings = RunSettings(preempt=case["mode"], seed=case.get("seed", 0), timeout=BACKSTOP_S)
    o = Runner(settings).run(GUESTS / f"{case['guest']}.wasm", io, imports=imports)
    (workdir / f"case{index}.stdout").write_bytes(o.stdout_bytes)
    result = {
        "status": o.status.value,
        "exit_code": o.exit_code,
        "trap_thread": o.trap_thread,
        "trap_message": o.trap_message,
        "host_exception": repr(o.host_exception) if o.host_exception is not None else None,
        "report": o.report,
        "stderr": o.stderr,
        "threads": {t.tid: {"state": t.state, "waiting_on": t.waiting_on, "frames": t.frames} for t in o.threads},
        "registered_guest_threads": len(THREADS),
    }
    if blocker.locked():
        blocker.release()  # only now: the run had to end while it was still blocked
    return result


def _stray_threads(baseline: set[int | None]) -> list[str]:
    """OS threads the runtime started for the executions so far and left running, once
    they had STRAY_LIMIT_S to go (a thread may still be on its way out when run() returns).
    wasmtime's own threads are not Python threads; helpers meant to outlive executions
    (other than POOLED_THREADS) would show up here as well."""
    deadline = time.monotonic() + STRAY_LIMIT_S
    while True:
        stray = sorted(t.name for t in threading.enumerate()
                       if t.ident not in baseline and t.name not in POOLED_THREADS)
        if not stray or time.monotonic() >= deadline:
            return stray
        time.sleep(0.01)


def _child_main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    workdir = Path(spec["workdir"])
    baseline = {t.ident for t in threading.enumerate()}
    for i, case in enumerate(spec["cases"]):
        result = _run_case(case, workdir, i)
        result["stray_threads"] = _stray_threads(baseline)
        print(json.dumps(result), flush=True)
        if "_fifo_fd" in case:
            os.close(case["_fifo_fd"])


def _child_env() -> dict[str, str]:
    """The environment of a child running this file: the repository and tests/ (child_processes) importable."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests"),
                                                         os.environ.get("PYTHONPATH", "")]))


def run_child(tmp_path: Path, mode: str, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run `cases` and then a clean mutex_counter execution in one child process, all in `mode`.

    Returns the cases' results; asserts the child ended normally and the clean
    execution after the faults worked.
    """
    cases = [dict(c, mode=mode) for c in cases]
    cases.append({"guest": "mutex_counter", "args": [], "mode": mode})
    spec = json.dumps({"workdir": str(tmp_path), "cases": cases})
    env = _child_env()
    try:
        p = subprocess.run([sys.executable, __file__, spec], capture_output=True, text=True, cwd=ROOT, env=env,
                           timeout=CHILD_LIMIT_S, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the child hung ({CHILD_LIMIT_S} s); its output so far:\n{exc.stdout!r}\n{exc.stderr!r}")
    assert p.returncode == 0, (p.returncode, p.stdout[-2000:], p.stderr[-4000:])
    results = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(cases), p.stdout[-2000:]
    clean = results.pop()
    # The execution after the faults, in the same process: no leaked state.
    assert (clean["status"], clean["exit_code"]) == ("exited", 0), clean["report"]
    assert (tmp_path / f"case{len(results)}.stdout").read_bytes() == b"counter=100\n"
    for r in results + [clean]:
        assert r["registered_guest_threads"] == 0, r["report"]
        assert r["stray_threads"] == [], r["report"]
    return results


def assert_prefix_of_stream(data: bytes, *, mid_write: bool) -> None:
    """`data` is what the writer wrote before the end: a prefix of its stream, never torn or interleaved."""
    assert len(data) >= READY_BYTES, len(data)  # the end came after the writer was under way
    assert data == stream_prefix(len(data)), "the output is not a prefix of the stream"
    if mid_write:
        assert len(data) < FULL_STREAM, "the writer finished before the end: not in the middle of writing"


def assert_trap(r: dict[str, Any], tid: int) -> None:
    assert r["status"] == "trapped", r["report"]
    assert r["trap_thread"] == tid
    assert r["trap_message"] == "wasm `unreachable` instruction executed"
    label = "thread 0 (main)" if tid == 0 else f"thread {tid}"
    assert f"trap in {label}: wasm `unreachable` instruction executed" in r["report"]
    frames = r["threads"][str(tid)]["frames"]
    assert frames and frames[0].startswith("fault_trap_here"), r["report"]


# -- 1. a trap while the other threads are parked or inside WASI calls ------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_trap_ends_the_execution_while_the_others_are_parked_on_a_mutex_and_a_futex(
        tmp_path: Path, mode: str) -> None:
    main_traps, worker_traps = run_child(tmp_path, mode, [
        {"guest": "fault_under_load", "args": ["trap", "mutex", "futex"]},
        # the trap in a worker (thread 3) while main too is parked, in pthread_join
        {"guest": "fault_under_load", "args": ["worker-trap", "mutex", "futex"]},
    ])
    assert_trap(main_traps, 0)
    assert_trap(worker_traps, 3)
    for r in (main_traps, worker_traps):
        # the victims really were parked in their waits when the trap came
        for tid in ("1", "2"):
            # (in every mode: a thread the end unwound in its wait is reported parked there, never "finished")
            assert r["threads"][tid]["state"] == "parked", r["report"]
            assert "memory.atomic.wait32" in r["threads"][tid]["waiting_on"], r["report"]


@pytest.mark.parametrize("mode", MODES)
def test_a_trap_ends_the_execution_while_the_others_sleep_read_a_silent_stdin_and_write(
        tmp_path: Path, mode: str) -> None:
    victims = ["sleep", "stdin", "write", "file"]
    results = run_child(tmp_path, mode, [
        {"guest": "fault_under_load", "args": ["trap", *victims], "stdin": "silent"},
        {"guest": "fault_under_load", "args": ["worker-trap", *victims], "stdin": "silent"},
        # short writes: each 64 KiB chunk takes many fd_write calls, so the trap
        # lands between the pieces of one write(2)
        {"guest": "fault_under_load", "args": ["trap", *victims], "stdin": "silent", "max_write": 1000},
    ])
    for i, (r, tid) in enumerate(zip(results, (0, 5, 0))):
        assert_trap(r, tid)
        assert r["threads"]["1"]["waiting_on"].startswith("sleep("), r["report"]
        assert r["threads"]["2"]["waiting_on"] == "fd_read(0)", r["report"]  # the silent stdin
        assert_prefix_of_stream((tmp_path / f"case{i}.stdout").read_bytes(), mid_write=mode == "fuel")
        assert_prefix_of_stream((tmp_path / f"case{i}" / "out.bin").read_bytes(), mid_write=mode == "fuel")


# -- 2. proc_exit while another thread is in the middle of a large write -----------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_proc_exit_during_a_large_write_keeps_its_code_and_a_prefix_of_the_output(
        tmp_path: Path, mode: str) -> None:
    results = run_child(tmp_path, mode, [
        {"guest": "fault_under_load", "args": ["exit", "write", "file"]},
        {"guest": "fault_under_load", "args": ["worker-exit", "write", "file"]},
        {"guest": "fault_under_load", "args": ["exit", "write", "file"], "max_write": 1000},
        {"guest": "fault_under_load", "args": ["exit", "write", "file"], "max_write": 777, "seed": 5},
    ])
    for i, r in enumerate(results):
        assert (r["status"], r["exit_code"]) == ("exited", 42), r["report"]
        assert_prefix_of_stream((tmp_path / f"case{i}.stdout").read_bytes(), mid_write=mode == "fuel")
        assert_prefix_of_stream((tmp_path / f"case{i}" / "out.bin").read_bytes(), mid_write=mode == "fuel")


# -- 3. memory exhaustion while other threads run ------------------------------------------------------------------
# test_native_stress.py exhausts the memory of a single-threaded guest only.


@pytest.mark.parametrize("mode", MODES)
def test_memory_exhaustion_while_other_threads_run_is_a_clean_exit(tmp_path: Path, mode: str) -> None:
    results = run_child(tmp_path, mode, [
        {"guest": "fault_under_load", "args": ["oom", "spin", "mutex", "write", "sleep"]},
        {"guest": "fault_under_load", "args": ["worker-oom", "futex", "stdin", "file"], "stdin": "silent"},
    ])
    for r in results:
        # exit 3: malloc returned NULL, memory.grow then failed at exactly the
        # 64 MiB maximum, and what the other threads use was not clobbered
        assert (r["status"], r["exit_code"]) == ("exited", 3), (r["stderr"], r["report"])
        m = re.fullmatch(r"oom: malloc NULL after (\d+) MiB, grow -1\n", r["stderr"])
        assert m and int(m.group(1)) >= 60, r["stderr"]
    assert_prefix_of_stream((tmp_path / "case0.stdout").read_bytes(), mid_write=False)
    assert_prefix_of_stream((tmp_path / "case1" / "out.bin").read_bytes(), mid_write=False)


# -- 4. user host functions that block forever or raise, with the others busy ----------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_host_function_blocking_forever_is_ended_by_the_watchdog_with_its_python_stack(
        tmp_path: Path, mode: str) -> None:
    (r,) = run_child(tmp_path, mode, [
        {"guest": "host_fault_under_load", "args": ["mutex", "sleep", "stdin", "write"], "stdin": "silent",
         "imports": "block", "blocking_timeout": 0.5},
    ])
    assert r["status"] == "hang", r["report"]
    assert r["report"].startswith("hang: host function host.fault has run for 0.5 s without returning or "
                                  "waiting on a host object"), r["report"]
    frames = r["threads"]["0"]["frames"]
    assert frames[0] == "[host function host.fault] (running, not returning)", r["report"]
    assert frames[1].startswith("  python block (") and "with blocker:" in frames[1], r["report"]
    assert any(f.startswith("host_fault_here") for f in frames), r["report"]
    assert_prefix_of_stream((tmp_path / "case0.stdout").read_bytes(), mid_write=False)


@pytest.mark.parametrize("mode", MODES)
def test_a_host_function_raising_is_reported_as_its_exception_with_the_traceback(
        tmp_path: Path, mode: str) -> None:
    raised, returned = run_child(tmp_path, mode, [
        {"guest": "host_fault_under_load", "args": ["mutex", "sleep", "stdin", "write"], "stdin": "silent",
         "imports": "raise"},
        # control: the same guest and victims, host.fault returns 7: the guest exits with it
        {"guest": "host_fault_under_load", "args": ["mutex", "sleep", "stdin", "write"], "stdin": "silent",
         "imports": "return"},
    ])
    assert raised["status"] == "trapped", raised["report"]
    assert raised["trap_thread"] == 0
    assert raised["host_exception"] == "LedgerError('ledger broken with 4 victims running')"
    assert "host function host.fault raised LedgerError: ledger broken with 4 victims running" in raised["report"]
    assert f'File "{__file__}"' in raised["report"] and 'raise LedgerError(f"ledger broken' in raised["report"]
    assert [f.split(" ")[0] for f in raised["threads"]["0"]["frames"][:2]] == ["host_fault_here", "main"], \
        raised["report"]
    assert_prefix_of_stream((tmp_path / "case0.stdout").read_bytes(), mid_write=False)
    assert (returned["status"], returned["exit_code"]) == ("exited", 7), returned["report"]
    assert returned["stderr"] == "host.fault returned 7\n"


# -- the stdin of an execution that ended while a thread was reading it ---------------------------------------------

# Reads up to 64 bytes of stdin once and writes them to stdout.
ECHO_ONCE_WAT = """(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 64))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 4) (i32.load (i32.const 8)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"""


def _child_stdin_handover(kind: str, mode: str, workdir: Path) -> None:
    """Execution 1 ends (a trap) while a guest thread reads a silent stdin; then a line
    arrives on that stdin; execution 2 reads it. Prints execution 2's stdout."""
    import wasmtime

    from pytest_wasmconc.runtime import GuestIO, Runner, RunSettings

    stdin: str
    if kind == "inherit":
        r, w = os.pipe()
        os.dup2(r, 0)  # the process's own stdin: a pipe only this child writes to
        stdin = "inherit"
    else:
        fifo = workdir / "stdin.fifo"
        os.mkfifo(fifo)
        w = os.open(fifo, os.O_RDWR)  # a writer for both executions
        stdin = str(fifo)
    runner = Runner(RunSettings(preempt=mode, timeout=BACKSTOP_S))
    first = runner.run(GUESTS / "fault_under_load.wasm", GuestIO(args=["trap", "stdin"], stdin=stdin))
    assert first.status.value == "trapped", first.report
    os.write(w, b"hello\n")
    # Were the line taken by the first execution's reader, this read would wait for
    # the backstop and end as a hang.
    second = runner.run(bytes(wasmtime.wat2wasm(ECHO_ONCE_WAT)), GuestIO(stdin=stdin))
    print(json.dumps({"status": second.status.value, "stdout": second.stdout, "report": second.report}))


@pytest.mark.parametrize("kind", ["inherit", "fifo"])
@pytest.mark.parametrize("mode", ["fuel", "os"])
def test_stdin_written_after_an_execution_ended_mid_read_reaches_the_next_execution(
        tmp_path: Path, mode: str, kind: str) -> None:
    # The first execution's stdin reader must not outlive it: left blocked in
    # read(2), it would take the next execution's input for a dead guest.
    env = _child_env()
    p = subprocess.run([sys.executable, __file__, "--stdin-handover", kind, mode, str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=CHILD_LIMIT_S,
                       stdin=subprocess.DEVNULL, check=False)
    assert p.returncode == 0, (p.returncode, p.stdout[-2000:], p.stderr[-4000:])
    second = json.loads(p.stdout.splitlines()[-1])
    assert (second["status"], second["stdout"]) == ("exited", "hello\n"), second["report"]


if __name__ == "__main__":
    if sys.argv[1] == "--stdin-handover":
        _child_stdin_handover(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
    else:
        _child_main(sys.argv[1])
