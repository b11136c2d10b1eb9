"""The replay round trip: run a failing test, take the printed flag, rerun, get the identical failure."""

from __future__ import annotations

import re

import pytest
from child_processes import CHILD_LIMIT_S
from plugin_helpers import replay_flag

# A seed whose exploration meets the deadlock (about one seed in ten of the random walk's does not
# within the 100 schedules: seed 2948236385, which the session once drew, failed the round trip).
LOCK_ORDER = '''
import pytest

@pytest.mark.wasm_no_hang
@pytest.mark.wasm_settings(seed=1)
def test_lock_order(wasm_scheduler, guest):
    wasm_scheduler.explore(guest("lock_order"))
'''

LOST_UPDATE = '''
import pytest

@pytest.mark.wasm_settings(seed=4)
def test_lost_update(wasm_scheduler, guest):
    o = wasm_scheduler.explore(guest("lost_update"), schedules=300, check=False)  # the test's own assert
    assert o.exit_code == 0, o.stdout
'''


def failure_lines(result: pytest.RunResult) -> list[str]:
    """The report of the failure, without the lines that say how it was found (explored vs replayed)."""
    out = []
    for ln in result.outlines:
        if re.search(r"\.wasm: \w+ \((schedule|replayed|all)", ln) or "outcomes explored:" in ln:
            continue
        # An exploration's failure is shrunk: the lines on the shrinking, the schedule it came from and the
        # interleaving are the exploration's (a replay reports the schedule it replays, the shrunk one).
        text = ln[2:].strip() if ln.startswith("E ") else ln.strip()
        if text.startswith(("shrunk from", "shrinking:", "replay (original schedule", "interleaving of")) \
                or re.match(r"\d+\. thread", text):
            continue
        if ln.startswith(("E ", "  thread", "      at ", "guest threads", "guest std", "replay", "deadlock!",
                          "  counter=")):
            out.append(ln)
    return out


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "n2"])
def test_a_deadlock_replays_identically_from_the_printed_flag(wasm_project: pytest.Pytester,
                                                             xdist: list[str]) -> None:
    wasm_project.makepyfile(test_locks=LOCK_ORDER)
    first = wasm_project.runpytest_subprocess(*xdist, timeout=CHILD_LIMIT_S)
    first.assert_outcomes(failed=1)
    flag = replay_flag(first.stdout.str())

    again = wasm_project.runpytest_subprocess("test_locks.py::test_lock_order", flag, timeout=CHILD_LIMIT_S)
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines([f"wasmconc: replaying {flag} (fuel mode*"])
    assert failure_lines(again) == failure_lines(first)
    assert any("deadlock!" in ln for ln in failure_lines(first))
    assert replay_flag(again.stdout.str()) == flag  # the replay prints the same flag again


def test_a_wrong_exit_code_replays_identically_even_over_a_seed_in_code(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_counter=LOST_UPDATE)
    first = wasm_project.runpytest_subprocess(timeout=CHILD_LIMIT_S)
    first.assert_outcomes(failed=1)
    first.stdout.fnmatch_lines(["*wasm guest report*", "*lost_update.wasm: exited with code 1 (expected exit code 0)*"])
    flag = replay_flag(first.stdout.str())

    again = wasm_project.runpytest_subprocess("test_counter.py::test_lost_update", flag, timeout=CHILD_LIMIT_S)
    again.assert_outcomes(failed=1)
    assert failure_lines(again) == failure_lines(first)
    assert any(ln.startswith("E ") and "counter=" in ln for ln in failure_lines(first))


def test_the_replay_of_a_passing_schedule_passes(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_ok='''
def test_ok(wasm_scheduler, guest):
    o = wasm_scheduler.explore(guest("mutex_counter"), schedules=3)
    print("TOKEN", o.token)
''')
    first = wasm_project.runpytest_subprocess("-s", timeout=CHILD_LIMIT_S)
    token = next(ln.split("TOKEN ")[1].split()[0] for ln in first.outlines if "TOKEN " in ln)
    again = wasm_project.runpytest_subprocess(f"--wasm-replay={token}", timeout=CHILD_LIMIT_S)
    again.assert_outcomes(passed=1)


def test_sharded_tests_replay_under_their_unsharded_id(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_sharded='''
import pytest

@pytest.mark.wasm_no_hang
@pytest.mark.wasm_settings(shards=3, seed=2)
def test_lock_order(wasm_scheduler, guest):
    wasm_scheduler.explore(guest("lock_order"), schedules=300)
''')
    first = wasm_project.runpytest_subprocess("-x", timeout=CHILD_LIMIT_S)
    first.stdout.fnmatch_lines(["*replay: pytest test_sharded.py::test_lock_order --wasm-replay=*"])
    flag = replay_flag(first.stdout.str())
    again = wasm_project.runpytest_subprocess("test_sharded.py::test_lock_order", flag, timeout=CHILD_LIMIT_S)
    again.assert_outcomes(failed=1)


def test_a_token_is_refused_for_another_guest_or_other_arguments(wasm_project: pytest.Pytester) -> None:
    from pytest_wasmconc.runtime import Runner

    token = Runner().run(wasm_project.path / "guests" / "hello.wasm").token
    assert token is not None
    wasm_project.makepyfile(test_guests='''
def test_same_guest_and_arguments(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("hello")).stdout == "hello\\n"

def test_another_guest(wasm_scheduler, guest):
    wasm_scheduler.run(guest("exit3"))

def test_other_arguments(wasm_scheduler, guest):
    wasm_scheduler.explore(guest("hello"), ["--fast"])
''')
    result = wasm_project.runpytest_subprocess(f"--wasm-replay={token}", "-p", "no:cacheprovider",
                                               timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    assert re.search(r"^E +\S*GuestLoadError: --wasm-replay: this replay token was made for another guest: "
                     r"hello\.wasm \(sha256 [0-9a-f]{16}\), not exit3\.wasm \(sha256 [0-9a-f]{16}\); replay it on "
                     r"the guest whose failure printed it$", out, re.M), out
    assert ("GuestLoadError: --wasm-replay: this replay token was made for hello.wasm with the arguments [], "
            "not ['--fast']; replay it with the arguments of the run that printed it") in out
    assert "Traceback" not in out
