"""wasm_no_lock_inversion: a lock-order cycle fails the test, even when no schedule deadlocked."""

from __future__ import annotations

import subprocess

import pytest
from child_processes import CHILD_LIMIT_S, wasm_tools
from plugin_helpers import C_GUESTS, replay_flag

REPO_GUESTS = C_GUESTS.parent

LOCK_TESTS = '''
import pytest

@pytest.mark.wasm_no_lock_inversion
def test_opposite_orders(wasm_scheduler, guest):
    out = wasm_scheduler.run(guest("lock_order"))
    assert out.stdout == "no deadlock\\n"  # not reached: the check fails the test first

@pytest.mark.wasm_no_lock_inversion
def test_philosophers_gate(wasm_scheduler, guest):
    assert wasm_scheduler.explore(guest("philosophers"), ["gate"], schedules=10).exit_code == 0

@pytest.mark.wasm_no_lock_inversion
def test_philosophers_ordered(wasm_scheduler, guest):
    assert wasm_scheduler.explore(guest("philosophers"), ["ordered"], schedules=10).exit_code == 0

@pytest.mark.wasm_no_lock_inversion
def test_trylock_backoff(wasm_scheduler, guest):
    assert wasm_scheduler.explore(guest("trylock_backoff"), ["2"], schedules=10).exit_code == 0

@pytest.mark.wasm_no_lock_inversion
def test_philosophers_plain(wasm_scheduler, guest):
    wasm_scheduler.explore(guest("philosophers"), ["plain"], schedules=10)

def test_unmarked_tests_are_not_checked(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("lock_order")).stdout == "no deadlock\\n"
'''


def test_inversions_fail_their_tests_with_the_cycle_and_both_backtraces(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_locks=LOCK_TESTS)
    result = wasm_project.runpytest_subprocess("--wasm-seed=0", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=2, passed=4)
    result.stdout.fnmatch_lines([
        "*GuestCheckError: wasm_no_lock_inversion: lock-order inversion (potential deadlock): "
        "cycle in lock order M1 -> M2 -> M1",
        "*M1 = guest lock @0x* (pthread_mutex)",
        "*M2 acquired while holding M1 in thread *",
        "*M2 acquired here (pthread_mutex_lock):",
        "*at thread_*",
        "*at __wasmconc_thread_entry*",
        "*at wasi_thread_start*",
        "*M1 previously acquired by the same thread here (pthread_mutex_lock):",
        "*at thread_*",
        "*M1 acquired while holding M2 in thread *",
        "*lock_order.wasm: exited with code 0 (fuel mode, policy random, seed *",
        "*no deadlock",
        "*replay: pytest *test_locks.py::test_opposite_orders --wasm-replay=wc1-*",
    ])
    result.stdout.fnmatch_lines(["*cycle in lock order M1 -> M2 -> M3 -> M4 -> M5 -> M1*"])
    assert "(call site)" not in result.stdout.str()


def test_the_replay_flag_reproduces_the_failure(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_locks=LOCK_TESTS)
    first = wasm_project.runpytest_subprocess("-k", "opposite", "--wasm-seed=5", timeout=CHILD_LIMIT_S)
    first.assert_outcomes(failed=1)
    again = wasm_project.runpytest_subprocess("-k", "opposite", replay_flag(first.stdout.str()), timeout=CHILD_LIMIT_S)
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines(["*wasm_no_lock_inversion: lock-order inversion*", "*replayed; fuel mode*"])


HOST_LOCK_TESTS = '''
import pytest
from pytest_wasmconc.host import GuestCall

def imports(db):
    def with_lock(call: GuestCall, x: int) -> int:
        with db:
            return call.call("guest_callback", x)

    def query(x: int) -> int:
        with db:
            return x

    return {"host": {"with_lock": with_lock, "query": query}}

@pytest.mark.wasm_no_lock_inversion
def test_host_lock_inversion(wasm_scheduler, wasm_host_lock, guest):
    wasm_scheduler.run(guest("host_lock_callback"), imports=imports(wasm_host_lock))

def test_the_fixture_is_a_plain_host_lock_without_the_marker(wasm_scheduler, wasm_host_lock, guest):
    out = wasm_scheduler.explore(guest("host_lock_callback"), imports=imports(wasm_host_lock), schedules=3)
    assert out.status in ("exited", "deadlock")
'''


def test_a_host_lock_inversion_through_a_host_function_fails_the_test(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_host=HOST_LOCK_TESTS)
    result = wasm_project.runpytest_subprocess("--wasm-seed=0", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*wasm_no_lock_inversion: lock-order inversion (potential deadlock)*"])
    # Which lock the report names M1 follows the schedule: each naming line on its own, then the
    # host function's acquisition with its guest and Python frames in order.
    result.stdout.fnmatch_lines(["*= host lock 'host lock'"])
    result.stdout.fnmatch_lines(["*= guest lock @0x* (pthread_mutex)"])
    result.stdout.fnmatch_lines([
        "*acquired here (Lock.acquire in host function host.query):",
        "*at query_thread*",
        "*host function (Python):",
        "*query (test_host.py:*",
    ])


def test_a_guest_without_names_fails_the_test_with_how_to_keep_them(wasm_project: pytest.Pytester) -> None:
    stripped = wasm_project.path / "guests" / "stripped.wasm"
    subprocess.run([wasm_tools(), "strip", "--all", str(C_GUESTS / "lock_order.wasm"), "-o", str(stripped)],
                   check=True, timeout=CHILD_LIMIT_S)
    wasm_project.makepyfile(test_names='''
import pytest

@pytest.mark.wasm_no_lock_inversion
def test_stripped(wasm_scheduler, guest):
    wasm_scheduler.run(guest("stripped"))
''')
    result = wasm_project.runpytest_subprocess(timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*wasm_no_lock_inversion: lock-order check: cannot see any lock of "
                                 "*stripped.wasm: it has no name section*wasm-opt*-g*"])


def test_the_table_can_be_extended_and_bad_arguments_are_the_tests_error(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_args='''
import pytest
from pytest_wasmconc.instrument.locks import LockFunction

@pytest.mark.wasm_no_lock_inversion(extra=[LockFunction("lock_order_between", "acquire", family="x"),
                                           LockFunction("never_there", "release", family="x")])
def test_extra(wasm_scheduler, guest):
    wasm_scheduler.run(guest("philosophers"), ["ordered"])

@pytest.mark.wasm_no_lock_inversion(table=[])
def test_empty_table_sees_nothing(wasm_scheduler, guest):
    # Whatever this schedule does (some seeds deadlock the guest: check=False takes that outcome),
    # a check without table rows sees no lock and reports no inversion.
    wasm_scheduler.run(guest("lock_order"), check=False)

@pytest.mark.wasm_no_lock_inversion(tabel=[])
def test_typo(wasm_scheduler):
    pass

@pytest.mark.wasm_no_lock_inversion(table=["pthread_mutex_lock"])
def test_bad_row(wasm_scheduler):
    pass
''')
    # Seed 5: a schedule in which lock_order deadlocks (the test ran with a random seed, and failed
    # for the seeds that deadlock it, about one in ten).
    result = wasm_project.runpytest_subprocess("--wasm-seed=5", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=2, errors=2)  # marker misuse: an error of the test, at its setup
    result.stdout.fnmatch_lines_random([
        "*@pytest.mark.wasm_no_lock_inversion got an unknown argument 'tabel' (valid: table, extra)*",
        "*@pytest.mark.wasm_no_lock_inversion: table rows must be *LockFunction, got 'pthread_mutex_lock'*",
    ])
