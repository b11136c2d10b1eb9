"""User host functions in tests: imports=, the wasm_imports fixture, host exceptions, host deadlocks."""

from __future__ import annotations

import os
import shutil

import pytest
from child_processes import CHILD_LIMIT_S
from plugin_helpers import C_GUESTS, REPO

pytestmark = pytest.mark.usefixtures("_this_checkout")

HOST = '''
from pytest_wasmconc.host import GuestCall, Lock, Queue

LOG = []


def log(call: GuestCall, ptr: int, length: int) -> None:
    LOG.append(call.read_string(ptr, length))


def add(a: int, b: int) -> int:
    return a + b


def check(x: int) -> int:
    return x + 1


def queue_imports():
    q = Queue(maxsize=2, name="items")
    return {"host": {"put": q.put, "get": q.get}}


def lock_imports():
    db = Lock("db")

    def with_lock(call: GuestCall, x: int) -> int:
        with db:
            return call.call("guest_callback", x)

    def query(x: int) -> int:
        with db:
            return x

    return {"host": {"with_lock": with_lock, "query": query}}
'''


@pytest.fixture
def _this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner sessions import this checkout's pytest_wasmconc (not whatever is installed)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))


@pytest.fixture
def host_project(pytester: pytest.Pytester) -> pytest.Pytester:
    guests = pytester.path / "guests"
    guests.mkdir()
    for name in ("host_calls", "host_queue", "host_lock_callback", "host_lock_order"):
        shutil.copy(C_GUESTS / f"{name}.wasm", guests / f"{name}.wasm")
    pytester.makepyfile(hostfns=HOST)
    return pytester


@pytest.mark.parametrize("mode", ["fuel", "epoch", "os"])
def test_the_same_test_with_user_host_functions_passes_under_every_mode(host_project: pytest.Pytester,
                                                                        mode: str) -> None:
    host_project.makepyfile(test_host='''
        import hostfns

        def test_calls(wasm_scheduler):
            hostfns.LOG.clear()
            out = wasm_scheduler.run("guests/host_calls.wasm",
                                     imports={"host": {"log": hostfns.log, "add": hostfns.add,
                                                       "check": hostfns.check}})
            assert (out.exit_code, out.stdout) == (0, "sum=90 check=91\\n")
            assert hostfns.LOG == ["main: start", "worker: adding", "main: done"]

        def test_queue(wasm_scheduler):
            out = wasm_scheduler.explore("guests/host_queue.wasm", schedules=5, imports=hostfns.queue_imports)
            assert out.stdout == "sum=210\\n"
    ''')
    result = host_project.runpytest_subprocess(f"--wasm-preempt={mode}", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=2)


def test_a_host_exception_fails_the_test_as_that_exception_with_the_guest_backtrace(
        host_project: pytest.Pytester) -> None:
    host_project.makepyfile(test_fail='''
        import pytest
        import hostfns

        class LedgerError(Exception):
            pass

        def refuse(x: int) -> int:
            raise LedgerError(f"cannot check {x}")

        IMPORTS = {"host": {"log": hostfns.log, "add": hostfns.add, "check": refuse}}

        def test_unexpected(wasm_scheduler):
            wasm_scheduler.run("guests/host_calls.wasm", imports=IMPORTS)

        def test_expected(wasm_scheduler):
            with pytest.raises(LedgerError, match="cannot check 90"):
                wasm_scheduler.explore("guests/host_calls.wasm", schedules=3, imports=IMPORTS)
    ''')
    result = host_project.runpytest_subprocess("--wasm-seed=5", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*raise LedgerError(f\"cannot check {x}\")",
        "E       test_fail.LedgerError: cannot check 90",
        "E       raised in a host function called by guest thread 1 of guests/host_calls.wasm (fuel mode, "
        "policy random, seed 5):",
        "E         at host_calls_check (@0x*)",
        "E         at host_calls_worker (@0x*)",
        "E       replay: pytest test_fail.py::test_unexpected --wasm-replay=wc1-*",
        "*FAILED test_fail.py::test_unexpected - test_fail.LedgerError: cannot check 90",
    ])


def test_wasm_imports_gives_every_test_its_host_functions(host_project: pytest.Pytester) -> None:
    host_project.makeconftest('''
        import pytest
        import hostfns

        @pytest.fixture
        def wasm_imports():
            return {"host": {"log": hostfns.log, "add": hostfns.add, "check": hostfns.check,
                             "unused_by_these_guests": print}}
    ''')
    host_project.makepyfile(test_fixture='''
        import hostfns

        def test_from_the_fixture(wasm_scheduler):
            assert wasm_scheduler.run("guests/host_calls.wasm").stdout == "sum=90 check=91\\n"

        def test_the_call_overrides_the_fixture(wasm_scheduler):
            out = wasm_scheduler.run("guests/host_calls.wasm", imports={"host": {"check": lambda x: 5}})
            assert out.stdout == "sum=90 check=5\\n"

        def test_other_guests_are_not_bothered(wasm_scheduler):
            out = wasm_scheduler.run("guests/host_queue.wasm", imports=hostfns.queue_imports)
            assert out.exit_code == 0
    ''')
    result = host_project.runpytest_subprocess(timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=3)


def test_a_host_function_with_the_wrong_signature_is_a_load_error(host_project: pytest.Pytester) -> None:
    host_project.makepyfile(test_sig='''
        import hostfns

        def add(a: int) -> int:
            return a

        def test_wrong(wasm_scheduler):
            wasm_scheduler.run("guests/host_calls.wasm",
                               imports={"host": {"log": hostfns.log, "add": add, "check": hostfns.check}})
    ''')
    result = host_project.runpytest_subprocess(timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E*pytest_wasmconc.plugin.GuestLoadError: guests/host_calls.wasm: a host import does not fit the guest: "
        "host.add: the guest imports host.add as (i32 i32) -> (i32), but add(a: int) -> int: it takes 1 argument "
        "and the guest passes 2",
    ])


def test_a_host_lock_deadlock_fails_a_no_hang_test_naming_the_lock_and_both_stacks(
        host_project: pytest.Pytester) -> None:
    host_project.makepyfile(test_deadlock='''
        import pytest
        import hostfns

        @pytest.mark.wasm_no_hang
        def test_lock_across_callback(wasm_scheduler):
            wasm_scheduler.explore("guests/host_lock_callback.wasm", ["4"], schedules=50,
                                   imports=hostfns.lock_imports)
    ''')
    result = host_project.runpytest_subprocess("--wasm-seed=7", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E       pytest_wasmconc.plugin.GuestHangError: wasm_no_hang: a guest execution deadlocked",
        "E       deadlock! every live guest thread of guests/host_lock_callback.wasm is blocked*",
        "E         thread 1: parked in memory.atomic.wait32 @ *",
        "E             at pthread_mutex_lock (@0x*)",
        "E             at guest_callback (@0x*)",
        "E             at [[]host function host.with_lock[]] (holds host lock 'db')",
        "E             at   python with_lock (hostfns.py:*): return call.call(\"guest_callback\", x)",
        "E             at with_lock_thread (@0x*)",
        "*",
        "E         thread 2: parked in host lock 'db' (held by thread 1)",
        "E             at [[]host function host.query[]]",
        "E             at   python query (hostfns.py:*): with db:",
        "E             at query_thread (@0x*)",
        "*",
        "E       host objects:",
        "E         <host lock 'db' held by thread 1>",
        "E       replay: pytest test_deadlock.py::test_lock_across_callback --wasm-replay=wc1-*",
    ])


def test_a_deprecated_host_lock_in_a_generator_host_function_still_joins_the_lock_order_check(
        host_project: pytest.Pytester) -> None:
    host_project.makepyfile(test_old='''
        import pytest
        from pytest_wasmconc.runtime import HostLock, host

        db = HostLock("db")  # its state is per execution: one serves every schedule


        def imports():
            @host("host", "with_db", "i32", "i32")
            def with_db(call, x):
                return (yield from db.locked(call, lambda: x + 1))

            @host("host", "begin", "", "")
            def begin(call):
                yield from db.acquire(call)

            @host("host", "end", "", "")
            def end(call):
                db.release(call)

            return {"host": {"with_db": with_db, "begin": begin, "end": end}}

        @pytest.mark.wasm_no_lock_inversion
        def test_old_style(wasm_scheduler):
            wasm_scheduler.run("guests/host_lock_order.wasm", imports=imports)
    ''')
    result = host_project.runpytest_subprocess("--wasm-seed=0", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*wasm_no_lock_inversion: lock-order inversion (potential deadlock)*",
        "*= host lock 'db'",
        "*acquired here (HostLock.acquire):",
        "*DeprecationWarning: HostLock is deprecated and goes away in the next release*",
    ])
