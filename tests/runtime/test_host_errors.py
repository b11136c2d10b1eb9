"""Exceptions from host functions, and host functions that block outside the scheduler's view."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from pytest_wasmconc.host import GuestCall, UserImports
from pytest_wasmconc.runtime import GuestExit, GuestTrap, Preempt, Runner, RunSettings, Status
from pytest_wasmconc.runtime.settings import DEFAULT_TIMEOUT

GUESTS = Path(__file__).resolve().parents[2] / "guests" / "c"
HOST_CALLS = GUESTS / "host_calls.wasm"
MODES = [Preempt.FUEL, Preempt.EPOCH, Preempt.OS]


def _imports(check: Any) -> dict[str, dict[str, Any]]:
    return {"host": {"log": lambda p, n: None, "add": lambda a, b: a + b, "check": check}}


def _run(check: Any, preempt: Preempt = Preempt.FUEL, timeout: float = DEFAULT_TIMEOUT, **kw: Any) -> Any:
    return Runner(RunSettings(preempt=preempt, timeout=timeout)).run(
        HOST_CALLS, imports=UserImports(_imports(check), **kw))


class LedgerError(Exception):
    pass


@pytest.mark.parametrize("preempt", MODES)
def test_a_python_exception_ends_the_guest_and_is_kept_with_its_traceback_and_the_guest_backtrace(
        preempt: Preempt) -> None:
    error = LedgerError("balance went negative")

    def check(x: int) -> int:
        raise error

    o = _run(check, preempt)
    assert o.status is Status.TRAPPED
    assert o.host_exception is error
    assert o.trap_thread == 1
    assert "host function host.check raised LedgerError: balance went negative" in o.report
    assert f'File "{__file__}"' in o.report and "in check" in o.report and "raise error" in o.report
    assert [f.split(" ")[0] for f in o.threads[1].frames[:3]] == ["host_calls_check", "host_calls_worker", "worker"]


def test_an_exception_in_a_host_function_called_from_a_callback_reaches_the_caller_as_itself() -> None:
    wat = """(module
      (import "host" "outer" (func $outer (result i32)))
      (import "host" "inner" (func $inner (result i32)))
      (memory (export "memory") 1)
      (func (export "cb") (result i32) (call $inner))
      (func (export "_start") (drop (call $outer))))"""
    error = KeyError("missing row")

    def outer(call: GuestCall) -> int:
        return int(call.call("cb"))

    def inner() -> int:
        raise error

    o = Runner(RunSettings()).run(wasmtime.wat2wasm(wat), imports={"host": {"outer": outer, "inner": inner}})
    assert o.host_exception is error
    assert "host function host.inner raised KeyError" in o.report


def test_guest_trap_and_guest_exit_keep_their_meaning() -> None:
    def trap(x: int) -> int:
        raise GuestTrap("refused by the host")

    o = _run(trap)
    assert o.status is Status.TRAPPED and o.trap_message == "refused by the host" and o.host_exception is None

    def leave(x: int) -> int:
        raise GuestExit(3)

    o = _run(leave)
    assert (o.status, o.exit_code) == (Status.EXITED, 3)


def test_an_out_of_bounds_memory_access_traps_the_caller() -> None:
    def check(call: GuestCall, x: int) -> int:
        return len(call.memory.read(0xFFFF_FFF0, 64))

    o = _run(check)
    assert o.status is Status.TRAPPED and "out of bounds memory access" in (o.trap_message or "")


# -- the watchdog ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preempt", MODES)
def test_a_host_function_blocked_on_a_threading_lock_is_a_hang_reported_with_its_python_stack(
        preempt: Preempt) -> None:
    real = threading.Lock()
    real.acquire()

    def check(x: int) -> int:
        with real:  # never free: the scheduler cannot see this wait
            return x

    o = _run(check, preempt, blocking_timeout=0.5)
    real.release()
    # The report names the watchdog's 0.5 s: without it only the 300 s backstop would end this.
    assert o.status is Status.HANG, o.report
    assert o.report.startswith("hang: host function host.check has run for 0.5 s without returning or waiting "
                               "on a host object")
    t1 = o.threads[1]
    assert t1.frames[0] == "[host function host.check] (running, not returning)"
    assert t1.frames[1].startswith("  python check (") and t1.frames[1].endswith("with real:  # never free: the "
                                                                                 "scheduler cannot see this wait")
    assert t1.frames[2].startswith("host_calls_check")


def test_the_wall_clock_timeout_also_ends_a_blocked_host_function() -> None:
    never = threading.Event()  # set only after the run: the host function blocks for all of it

    def blocked(x: int) -> int:
        never.wait()
        return x

    o = _run(blocked, blocking_timeout=None, timeout=0.5)
    never.set()
    assert o.status is Status.HANG, o.report
    assert "wall-clock backstop" in o.report and "in host function host.check, which has not returned" in o.report
    assert "python blocked (" in o.report


def test_a_host_function_spinning_in_python_is_stopped_once_abandoned() -> None:
    spinning = threading.Event()
    stopped = threading.Event()

    def check(x: int) -> int:
        spinning.set()
        try:
            while True:
                pass
        finally:
            stopped.set()

    o = _run(check, blocking_timeout=0.3)
    assert o.status is Status.HANG
    assert stopped.wait(120), "the abandoned worker kept spinning"  # returns as soon as it stops
