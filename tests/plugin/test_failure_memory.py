"""Failure memory: a failing test's schedule is stored in pytest's cache and replayed first the next time.

Whole sessions in a subprocess, each with the pytester directory's own cache
(.pytest_cache): the first fails, the next one (`--lf`, another seed) must fail
with the same schedule, its token printed again, without one being typed.
"""

from __future__ import annotations

import json
import shutil

import pytest
from child_processes import CHILD_LIMIT_S
from plugin_helpers import C_GUESTS, REPLAY_FLAG, crafted_token, hello_token

# lost_update loses an update in some schedules; a run of 200 finds one for any seed.
RACY = '''
import pathlib

GUEST = pathlib.Path(__file__).parent / "g.wasm"

def test_counter(wasm_scheduler):
    wasm_scheduler.explore(GUEST, schedules=200)

def test_passes(wasm_scheduler):
    wasm_scheduler.run(GUEST, expect_exit=None)
'''
MEMORY = ".pytest_cache/v/wasmconc/failures"
REPLAYED = "*the schedule that failed this test last time, replayed first (failure memory)*"


def _session(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*args, timeout=CHILD_LIMIT_S)


def _token(result: pytest.RunResult) -> str:
    m = REPLAY_FLAG.search(result.stdout.str())
    assert m, result.stdout.str()
    return m.group(1)


def _stored(pytester: pytest.Pytester) -> dict[str, list[str]]:
    path = pytester.path / MEMORY
    return json.loads(path.read_text()) if path.exists() else {}


@pytest.fixture
def racy(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copy(C_GUESTS / "lost_update.wasm", pytester.path / "g.wasm")
    pytester.makepyfile(test_racy=RACY)
    return pytester


def test_the_next_run_replays_the_failing_schedule_first_and_fails_the_same_way(racy: pytest.Pytester) -> None:
    first = _session(racy, "--wasm-seed=11")
    first.assert_outcomes(failed=1, passed=1)
    token = _token(first)
    assert _stored(racy) == {"test_racy.py::test_counter": [token]}
    again = _session(racy, "--lf", "--wasm-seed=12")  # another seed: only the memory gives the same schedule
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines([REPLAYED])
    assert _token(again) == token
    assert "1 of 200" not in again.stdout.str()  # one execution, not an exploration
    # The test passing (here: its guest fixed) forgets it.
    shutil.copy(C_GUESTS / "mutex_counter.wasm", racy.path / "g.wasm")
    fixed = _session(racy)
    fixed.assert_outcomes(passed=2)
    fixed.stdout.fnmatch_lines([
        "wasmconc failure memory: test_racy.py::test_counter: 1 stored schedule fits none of this test's guest "
        "executions (the guest or its arguments changed since it failed) and was dropped",
    ])
    assert _stored(racy) == {}


def test_off_neither_replays_nor_stores_and_clear_forgets(racy: pytest.Pytester) -> None:
    first = _session(racy, "--wasm-seed=11", "-k", "counter")
    token = _token(first)
    off = _session(racy, "--wasm-failure-memory=off", "--wasm-seed=13", "-k", "counter")
    assert REPLAYED[1:-1] not in off.stdout.str()
    assert _token(off) != token  # its own failure, which it does not store:
    assert _stored(racy) == {"test_racy.py::test_counter": [token]}
    cleared = _session(racy, "--wasm-failure-memory=clear", "--wasm-seed=13", "-k", "counter")
    assert REPLAYED[1:-1] not in cleared.stdout.str()
    assert _stored(racy) == {"test_racy.py::test_counter": [_token(cleared)]}  # this session's failure only


def test_a_stored_token_that_cannot_replay_or_a_damaged_file_is_dropped_with_a_note(racy: pytest.Pytester) -> None:
    stale = crafted_token(hello_token(), w="0.0.1")  # made under another wasmtime
    (racy.path / ".pytest_cache/v/wasmconc").mkdir(parents=True)
    (racy.path / MEMORY).write_text(json.dumps({"test_racy.py::test_counter": [stale, 5, "wc1-garbage"], "x": 3}))
    again = _session(racy, "--wasm-seed=11", "-k", "counter")
    again.assert_outcomes(failed=1)  # the exploration's own failure, not an error about the tokens
    assert REPLAYED[1:-1] not in again.stdout.str()
    again.stdout.fnmatch_lines([
        "wasmconc failure memory: test_racy.py::test_counter: a stored schedule cannot be replayed and was dropped: "
        "this replay token was made with wasmtime 0.0.1, *",
        "wasmconc failure memory: test_racy.py::test_counter: a stored schedule cannot be replayed and was dropped: "
        "damaged replay token*",
    ])
    assert _stored(racy) == {"test_racy.py::test_counter": [_token(again)]}


def test_wasm_seed_last_reuses_the_seed_of_the_last_session(racy: pytest.Pytester) -> None:
    fresh = _session(racy, "--wasm-seed=last", "-k", "passes")
    fresh.stdout.fnmatch_lines([
        "wasmconc: seed from a random choice: --wasm-seed=last from the command line, and no seed is stored in the "
        "pytest cache yet; *"])
    _session(racy, "--wasm-seed=4242", "-k", "passes").assert_outcomes(passed=1)
    result = _session(racy, "--wasm-seed=last", "-k", "passes")
    result.stdout.fnmatch_lines([
        "wasmconc: *--wasm-seed=4242 *",
        "wasmconc: seed from the last session's seed in the pytest cache (last, from the command line); *"])


def test_under_xdist_the_controller_stores_and_workers_replay(racy: pytest.Pytester) -> None:
    first = _session(racy, "-n", "2", "--wasm-seed=11")
    first.assert_outcomes(failed=1, passed=1)
    token = _token(first)
    assert _stored(racy) == {"test_racy.py::test_counter": [token]}
    again = _session(racy, "-n", "2", "--lf", "--wasm-seed=12")
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines([REPLAYED])
    assert _token(again) == token


def test_a_run_that_failed_the_tests_own_assertion_is_that_schedule_next_time(pytester: pytest.Pytester) -> None:
    shutil.copy(C_GUESTS / "lost_update.wasm", pytester.path / "g.wasm")
    pytester.makepyfile(test_own='''
import pathlib

def test_own(wasm_scheduler):
    outcome = wasm_scheduler.run(pathlib.Path(__file__).parent / "g.wasm", check=False)
    assert outcome.stdout == "counter=100\\n"
''')
    first = _session(pytester, "--wasm-seed=1")  # seed 1 loses updates; seed 2 does not
    first.assert_outcomes(failed=1)
    counter = next(ln for ln in first.outlines if ln.startswith("  counter="))  # the guest's stdout
    again = _session(pytester, "--lf", "--wasm-seed=2")
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines([REPLAYED, "guest stdout:", counter])
    assert _token(again) == _token(first)
