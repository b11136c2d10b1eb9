"""User imports: plain Python host functions, checked against the guest's imports, in every mode."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from pytest_wasmconc.host import (
    GuestCall,
    HostImportError,
    UserImports,
    current_call,
    nonblocking,
    wasm_signature,
)
from pytest_wasmconc.runtime import HostFunction, Preempt, Runner, RunSettings, Status, ValType

GUESTS = Path(__file__).resolve().parents[2] / "guests" / "c"
HOST_CALLS = GUESTS / "host_calls.wasm"
MODES = [Preempt.FUEL, Preempt.EPOCH, Preempt.OS]

# Exits with host.pair's two results combined; exports `twice` for callbacks.
PAIR = """(module
  (import "host" "pair" (func $pair (param i32 i64 f32 f64) (result i32 i64)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 32) "ok")
  (func (export "_start")
    (local $a i32) (local $b i64)
    (call $pair (i32.const -1) (i64.const 5) (f32.const 1.5) (f64.const 2.25))
    (local.set $b) (local.set $a)
    (call $exit (i32.add (local.get $a) (i32.wrap_i64 (local.get $b))))))"""


def _runner(preempt: Preempt = Preempt.FUEL) -> Runner:
    return Runner(RunSettings(preempt=preempt))


def _host_calls(log: list[str], check_result: int = 7) -> dict[str, dict[str, object]]:
    def host_log(call: GuestCall, ptr: int, length: int) -> None:
        log.append(f"{call.thread_id}: {call.read_string(ptr, length)}")

    def add(a: int, b: int) -> int:
        return a + b

    def check(x: int) -> int:
        return check_result

    return {"host": {"log": host_log, "add": add, "check": check}}


@pytest.mark.parametrize("preempt", MODES)
def test_user_host_functions_run_unchanged_under_every_mode(preempt: Preempt) -> None:
    log: list[str] = []
    o = _runner(preempt).run(HOST_CALLS, imports=_host_calls(log))
    assert (o.status, o.exit_code) == (Status.EXITED, 0), o.report
    assert o.stdout == "sum=90 check=7\n"
    assert log == ["0: main: start", "1: worker: adding", "0: main: done"]


def test_arguments_arrive_unsigned_and_results_may_be_signed() -> None:
    seen = []

    def pair(a: int, b: int, c: float, d: float) -> tuple[int, int]:
        seen.append((a, b, c, d))
        return -3, 10

    o = _runner().run(wasmtime.wat2wasm(PAIR), imports={"host": {"pair": pair}})
    assert seen == [(0xFFFF_FFFF, 5, 1.5, 2.25)]
    assert o.exit_code == 7, o.report


def test_a_function_with_the_wrong_arity_is_an_error_naming_both_signatures() -> None:
    def add(a: int) -> int:
        return a

    with pytest.raises(HostImportError) as err:
        _runner().run(HOST_CALLS, imports={"host": {**_host_calls([])["host"], "add": add}})
    msg = str(err.value)
    assert "host.add: the guest imports host.add as (i32 i32) -> (i32)" in msg
    assert "add(a: int) -> int" in msg
    assert "it takes 1 argument and the guest passes 2" in msg


def test_annotations_that_contradict_the_wasm_types_are_errors() -> None:
    def check(x: float) -> str:
        return ""

    with pytest.raises(HostImportError) as err:
        _runner().run(HOST_CALLS, imports={"host": {**_host_calls([])["host"], "check": check}})
    msg = str(err.value)
    assert "parameter 'x' is annotated float but the guest passes i32" in msg
    assert "it returns str but the guest expects (i32)" in msg


def test_every_problem_is_listed_at_once() -> None:
    imports = {"host": {"log": print, "add": lambda: 0, "check": lambda x: x, "lgo": print}}
    with pytest.raises(HostImportError) as err:
        _runner().run(HOST_CALLS, imports=imports)
    msg = str(err.value)
    assert "host.add:" in msg and "it needs 0 arguments" not in msg and "takes 0 arguments" in msg
    assert "host.lgo: the guest does not import it (it imports host." in msg
    assert "host.add" in msg.split("host.lgo:")[1] and "host.check" in msg.split("host.lgo:")[1]


def test_an_import_the_guest_needs_but_imports_do_not_provide_is_named() -> None:
    imports = {"host": {"log": lambda p, n: None, "add": lambda a, b: a + b}}
    with pytest.raises(HostImportError, match=r"host\.check: the guest imports it as \(i32\) -> \(i32\), "
                                              r"but imports= does not provide it"):
        _runner().run(HOST_CALLS, imports=imports)


def test_a_declared_wasm_signature_must_match_exactly() -> None:
    @wasm_signature("i64", "i32")
    def check(x):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(HostImportError, match=r"is declared \(i64\) -> \(i32\)"):
        _runner().run(HOST_CALLS, imports={"host": {**_host_calls([])["host"], "check": check}})


def test_an_async_function_is_refused_with_what_to_write_instead() -> None:
    async def check(x: int) -> int:
        return x

    with pytest.raises(HostImportError, match=r"host\.check: .* is an async function: write host functions as "
                                              r"plain functions"):
        _runner().run(HOST_CALLS, imports={"host": {**_host_calls([])["host"], "check": check}})


def test_a_generator_written_for_the_runtime_contract_is_refused_with_what_to_pass_instead() -> None:
    def check(call, x):  # type: ignore[no-untyped-def]
        yield
        return x

    with pytest.raises(HostImportError, match=r"is a generator function: .* \(pass a HostFunction instead\)"):
        _runner().run(HOST_CALLS, imports={"host": {**_host_calls([])["host"], "check": check}})


def test_something_not_callable_is_an_error() -> None:
    with pytest.raises(HostImportError, match="imports= gives int 5, not a callable"):
        _runner().run(HOST_CALLS, imports={"host": {**_host_calls([])["host"], "check": 5}})


def test_lenient_imports_ignore_names_the_guest_does_not_import() -> None:
    imports = UserImports({"host": {**_host_calls([])["host"], "unused": print}, "other": {"x": print}},
                          strict=False)
    assert _runner().run(HOST_CALLS, imports=imports).exit_code == 0


def test_a_wrong_return_value_fails_with_a_type_error_naming_the_function() -> None:
    o = _runner().run(HOST_CALLS, imports={"host": {**_host_calls([])["host"], "check": lambda x: "seven"}})
    assert o.status is Status.TRAPPED
    assert isinstance(o.host_exception, TypeError)
    assert "host function host.check returned 'seven', but the guest expects (i32)" in str(o.host_exception)


def test_an_out_of_range_result_is_an_error() -> None:
    o = _runner().run(HOST_CALLS, imports={"host": {**_host_calls([])["host"], "check": lambda x: 1 << 40}})
    assert isinstance(o.host_exception, TypeError)
    assert "out of range for i32" in str(o.host_exception)


def test_a_factory_gives_every_execution_fresh_host_state() -> None:
    made = []

    def factory() -> dict[str, dict[str, object]]:
        log: list[str] = []
        made.append(log)
        return _host_calls(log)

    exp = _runner().explore(HOST_CALLS, schedules=3, imports=factory)
    assert not exp.failed
    assert len(made) == 3 and all(len(log) == 3 for log in made)


def test_current_call_is_the_call_being_served() -> None:
    threads = []

    def check(x: int) -> int:
        threads.append((current_call().thread_id, current_call().function))
        return x

    o = _runner().run(HOST_CALLS, imports={"host": {**_host_calls([])["host"], "check": check}})
    assert o.exit_code == 0
    assert threads == [(1, "host.check")]


@pytest.mark.parametrize("preempt", MODES)
def test_nonblocking_functions_run_inline(preempt: Preempt) -> None:
    import threading

    where = []

    @nonblocking
    def add(a: int, b: int) -> int:
        where.append(threading.current_thread().name)
        return a + b

    o = _runner(preempt).run(HOST_CALLS, imports={"host": {**_host_calls([])["host"], "add": add}})
    assert o.exit_code == 0, o.report
    assert len(where) == 10 and not any(name.startswith("wasmconc-host") for name in where)


def test_runtime_host_functions_pass_through_imports() -> None:
    hf = HostFunction("host", "check", (ValType.I32,), (ValType.I32,), lambda call, x: 11)
    o = _runner().run(HOST_CALLS, imports={"host": {**_host_calls([])["host"], "check": hf}})
    assert o.stdout == "sum=90 check=11\n"
