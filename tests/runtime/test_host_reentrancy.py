"""Host functions calling back into the guest: what works, and the clear errors where it cannot."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import wasmtime

from pytest_wasmconc.host import (
    GuestCall,
    GuestCallError,
    GuestCallTrap,
    HostSyncError,
    Lock,
    nonblocking,
)
from pytest_wasmconc.runtime import Preempt, Runner, RunSettings, Status

MODES = [Preempt.FUEL, Preempt.EPOCH, Preempt.OS]

# _start exits with host.outer(21). Exports for the host to call back: `double`, `via_inner`
# (calls host.inner), `boom` (traps), `quit` (proc_exit), `spin` (a long loop, preempted in fuel mode).
CALLBACKS = """(module
  (import "host" "outer" (func $outer (param i32) (result i32)))
  (import "host" "inner" (func $inner (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (global $g (export "g") (mut i32) (i32.const 0))
  (func $double (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $via_inner (export "via_inner") (param i32) (result i32) (call $inner (local.get 0)))
  (func $boom_in_callback (export "boom") (param i32) (result i32) unreachable)
  (func $quit (export "quit") (param i32) (result i32) (call $exit (local.get 0)) (i32.const 0))
  (func $spin (export "spin") (param i32) (result i32)
    (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
    (local.get $i))
  (func $call_outer (call $exit (call $outer (i32.const 21))))
  (func (export "_start") (call $call_outer)))"""

# The start function calls host.init, before the instance (and its exports) exist.
START_CALLS_HOST = """(module
  (import "host" "init" (func $init))
  (memory (export "memory") 1)
  (func (export "cb"))
  (func $start (call $init))
  (start $start)
  (func (export "_start")))"""


def _run(outer: Any, inner: Any = lambda x: x, preempt: Preempt = Preempt.FUEL) -> Any:
    return Runner(RunSettings(preempt=preempt)).run(
        wasmtime.wat2wasm(CALLBACKS), imports={"host": {"outer": outer, "inner": inner}})


@pytest.mark.parametrize("preempt", MODES)
def test_a_host_function_calls_an_export_of_the_calling_instance(preempt: Preempt) -> None:
    o = _run(lambda call, x: call.call("double", 21), preempt=preempt)
    assert o.exit_code == 42, o.report


@pytest.mark.parametrize("preempt", MODES)
def test_the_callback_may_call_host_functions_again(preempt: Preempt) -> None:
    seen = []

    def outer(call: GuestCall, x: int) -> int:
        return call.call("via_inner", x) + 1

    def inner(call: GuestCall, x: int) -> int:
        seen.append(threading.current_thread().name)
        return call.call("double", x)

    o = _run(outer, inner, preempt)
    assert o.exit_code == 43, o.report
    assert seen and seen[0].startswith("wasmconc-host")  # the same worker, one level up


def test_a_long_callback_is_preempted_like_any_guest_code() -> None:
    o = _run(lambda call, x: call.call("spin", 200_000) % 256)
    assert o.exit_code == 200_000 % 256
    assert o.steps > 10  # many quanta: the scheduler kept control


def test_a_trap_in_the_callback_raises_guest_call_trap_which_the_host_may_handle() -> None:
    caught = []

    def outer(call: GuestCall, x: int) -> int:
        try:
            call.call("boom", 1)
        except GuestCallTrap as trap:
            caught.append((str(trap), trap.frames))
            return 5
        return 0

    o = _run(outer)
    assert o.exit_code == 5, o.report
    message, frames = caught[0]
    assert "unreachable" in message
    assert frames[0].startswith("boom_in_callback") and any(f.startswith("call_outer") for f in frames)


def test_an_unhandled_callback_trap_traps_the_calling_guest_code() -> None:
    o = _run(lambda call, x: call.call("boom", 1))
    assert o.status is Status.TRAPPED
    assert "unreachable" in (o.trap_message or "")
    assert o.host_exception is None  # a guest trap, not a Python error
    assert o.threads[0].frames[0].startswith("call_outer")


def test_proc_exit_inside_the_callback_ends_the_guest_with_its_code() -> None:
    o = _run(lambda call, x: call.call("quit", 9) + 100)
    assert (o.status, o.exit_code) == (Status.EXITED, 9), o.report


def test_calling_an_export_that_does_not_exist_names_the_exports() -> None:
    o = _run(lambda call, x: call.call("triple", 1))
    assert isinstance(o.host_exception, GuestCallError)
    msg = str(o.host_exception)
    assert "the guest has no function export 'triple'" in msg
    assert "double" in msg and "via_inner" in msg


def test_calling_an_export_with_the_wrong_arguments_is_an_error() -> None:
    o = _run(lambda call, x: call.call("double", 1, 2))
    assert "export double takes (i32) -> (i32), called with 2 arguments" in str(o.host_exception)
    o = _run(lambda call, x: call.call("double", 1.5))
    assert "1.5 is not an int for i32" in str(o.host_exception)


def test_a_host_function_called_from_the_start_function_cannot_call_exports_yet() -> None:
    o = Runner(RunSettings()).run(
        wasmtime.wat2wasm(START_CALLS_HOST), imports={"host": {"init": lambda call: call.call("cb")}})
    assert isinstance(o.host_exception, GuestCallError)
    assert "still being instantiated" in str(o.host_exception)


def test_a_nonblocking_host_function_cannot_call_back_or_wait() -> None:
    o = _run(nonblocking(lambda call, x: call.call("double", 1)))
    assert isinstance(o.host_exception, GuestCallError)
    assert "marked @nonblocking: it cannot call back into the guest" in str(o.host_exception)
    lock = Lock("l")
    lock.acquire()
    try:
        o = _run(nonblocking(lambda x: lock.acquire()))
    finally:
        lock.release()
    assert isinstance(o.host_exception, HostSyncError)
    assert "host.outer is marked @nonblocking but would wait on host lock 'l'" in str(o.host_exception)


def test_a_guest_call_used_after_its_host_call_returned_is_refused() -> None:
    kept: list[GuestCall] = []

    def outer(call: GuestCall, x: int) -> int:
        kept.append(call)
        return x

    assert _run(outer).exit_code == 21
    with pytest.raises(GuestCallError, match="after its call ended"):
        kept[0].call("double", 1)
    with pytest.raises(GuestCallError, match="after its call ended"):
        kept[0].memory.read(0, 4)


def test_a_guest_call_used_from_another_python_thread_is_refused() -> None:
    errors: list[BaseException] = []

    def outer(call: GuestCall, x: int) -> int:
        t = threading.Thread(target=lambda: _catch(errors, lambda: call.call("double", x)))
        t.start()
        t.join()
        return 1

    assert _run(outer).exit_code == 1
    assert isinstance(errors[0], GuestCallError)
    assert "used from another thread" in str(errors[0])


def _catch(errors: list[BaseException], fn: Any) -> None:
    try:
        fn()
    except BaseException as exc:
        errors.append(exc)


def test_a_self_deadlock_two_host_calls_deep_shows_every_level_in_order() -> None:
    lock = Lock("L")

    def outer(call: GuestCall, x: int) -> int:
        with lock:
            return call.call("via_inner", x)

    def inner(x: int) -> int:
        with lock:  # the same thread, one callback deeper: a plain Lock is not re-entrant
            return x

    o = _run(outer, inner)
    assert o.status is Status.DEADLOCK, o.report
    t0 = o.threads[0]
    assert t0.waiting_on == "host lock 'L' (held by thread 0 (main))"
    heads = [f if f.startswith(("[", "  python")) else f.split(" ")[0] for f in t0.frames]
    assert heads[0] == "[host function host.inner]"
    assert heads[1].startswith("  python inner (") and heads[1].endswith("with lock:  # the same thread, one "
                                                                         "callback deeper: a plain Lock is "
                                                                         "not re-entrant")
    assert heads[2] == "via_inner"
    assert heads[3] == "[host function host.outer] (holds host lock 'L')"
    assert heads[4].startswith("  python outer (")
    assert heads[5] == "call_outer"


# Main calls host.outer (which calls back `spin`, a long loop); a worker exits the program meanwhile.
EXIT_DURING_CALLBACK = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (import "host" "outer" (func $outer (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (export "memory" (memory 0))
  (func (export "spin") (result i32)
    (loop $l (br_if $l (i32.eqz (i32.atomic.load (i32.const 8)))))
    (i32.const 0))
  (func (export "wasi_thread_start") (param i32 i32)
    ;; wait until main is inside the callback, then exit the program
    (loop $l (br_if $l (i32.eqz (i32.atomic.load (i32.const 4)))))
    (call $exit (i32.const 5)))
  (func (export "_start")
    (drop (call $spawn (i32.const 0)))
    (drop (call $outer))
    (call $exit (i32.const 1))))"""


@pytest.mark.parametrize("preempt", MODES)
def test_the_guest_may_exit_while_a_host_function_waits_for_a_long_callback(preempt: Preempt) -> None:
    def outer(call: GuestCall) -> int:
        call.memory.store_u32(4, 1)  # main is in the callback from now on
        return int(call.call("spin"))

    o = Runner(RunSettings(preempt=preempt)).run(wasmtime.wat2wasm(EXIT_DURING_CALLBACK),
                                                             imports={"host": {"outer": outer}})
    assert (o.status, o.exit_code) == (Status.EXITED, 5), o.report
