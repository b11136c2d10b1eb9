"""The race check on real wasi-libc guests (guests/racecheck): what it reports, and what it must not.

`racy` has a data race in every schedule where both accesses run; `synced`
makes the same update correct with one synchronization idiom per mode, and
must report nothing in fuel, epoch and os mode; `host_locked` is ordered by a
host lock in user imports, or not at all.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S, wasm_tools

from pytest_wasmconc.checks.races import TITLE, RaceCheck, SuppressionError, races_of
from pytest_wasmconc.host import Lock
from pytest_wasmconc.runtime import GuestIO, ModuleError, Preempt, Runner, RunSettings, Status

REPO = Path(__file__).resolve().parents[3]
RACY = REPO / "guests" / "racecheck" / "racy.wasm"
SYNCED = REPO / "guests" / "racecheck" / "synced.wasm"
SYNCED_MODES = ["mutex", "rwlock", "spin", "atomic", "barrier", "join", "sem", "once", "cond", "flag", "tsd",
                "detached"]


def run(guest: Path, args: list[str], preempt: str = "fuel", seed: int = 0, **kw: object) -> tuple[str, RaceCheck]:
    check = RaceCheck(**kw)  # type: ignore[arg-type]
    o = Runner(RunSettings(preempt=Preempt(preempt), seed=seed)).run(guest, GuestIO(args=args), extensions=[check])
    assert o.status is Status.EXITED and o.exit_code == 0, o.report
    failure = check.inspect(o)
    return (failure.message if failure is not None else ""), check


def headers(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith(TITLE)]


def frames_under(text: str, marker: str) -> list[str]:
    lines = text.splitlines()
    i = next(i for i, ln in enumerate(lines) if marker in ln)
    out = []
    for ln in lines[i + 1:]:
        if not ln.strip().startswith("at "):
            break
        out.append(ln.strip()[3:].split(" (@")[0])
    return out


@pytest.mark.parametrize("seed", range(5))
def test_a_lost_update_is_reported_in_the_first_schedule_naming_both_functions(seed: int) -> None:
    text, _ = run(RACY, ["counter"], seed=seed)
    assert headers(text), text
    assert headers(text)[0].startswith(f"{TITLE} between add_")
    assert "add_one" in text and "add_two" in text
    # Both accesses: kind, size, address, thread; both with their full backtrace (fuel mode replays).
    assert "of size 4 at 0x" in text and "Previous " in text
    current = frames_under(text, "by thread")
    previous = frames_under(text, "Previous ")
    assert current[0] in ("add_one", "add_two") and previous[0] in ("add_one", "add_two")
    assert current[0] != previous[0]
    assert current[-1] == previous[-1] == "wasi_thread_start"
    assert "race check: 2 data races" in text  # read/write and write/write: two pairs of sites
    assert "racecheck/racy.c:27" in text and "racecheck/racy.c:28" in text  # DWARF: counter += 1 / += 2


@pytest.mark.parametrize("preempt", ["fuel", "epoch", "os"])
def test_a_plain_flag_written_and_read_by_two_threads_is_a_race_in_every_mode(preempt: str) -> None:
    text, _ = run(RACY, ["flag"], preempt)
    (header,) = headers(text)
    assert "check_flag" in header and "set_flag" in header
    assert "write of size 1" in text.lower() and "read of size 1" in text.lower()
    if preempt != "fuel":
        assert f", {preempt} mode)" in header and "(full backtrace only in fuel mode)" in text


def test_neighbouring_bytes_do_not_race_but_a_word_over_them_does() -> None:
    text, _ = run(RACY, ["bytes"])
    (header,) = headers(text)
    assert "write_word" in header and "main" in header
    assert "Write of size 4" in text or "write of size 4" in text
    assert "write_byte" not in text


@pytest.mark.parametrize("preempt", ["fuel", "epoch", "os"])
@pytest.mark.parametrize("mode", SYNCED_MODES)
def test_correctly_synchronized_updates_report_no_race(mode: str, preempt: str) -> None:
    text, check = run(SYNCED, [mode], preempt)
    assert text == ""
    assert check.executions == 1


@pytest.mark.parametrize("mode", ["mutex", "barrier", "cond", "sem", "join", "flag"])
def test_no_schedule_of_a_synchronized_update_reports_a_race(mode: str) -> None:
    check = RaceCheck()
    result = Runner(RunSettings(seed=3)).explore(SYNCED, GuestIO(args=[mode]), schedules=40, extensions=[check],
                                                 is_failure=lambda o: check.inspect(o) is not None)
    assert not result.failed, check.inspect(result.outcome)
    assert check.executions == 40


def test_replaying_a_race_reports_token_reproduces_the_same_report() -> None:
    check = RaceCheck()
    runner = Runner(RunSettings(seed=4))
    o = runner.run(RACY, GuestIO(args=["counter"]), extensions=[check])
    first = check.inspect(o)
    assert first is not None and o.token
    again = RaceCheck()
    replayed = runner.replay(RACY, o.token, GuestIO(args=["counter"]), extensions=[again])
    second = again.inspect(replayed)
    assert second is not None
    assert second.message == first.message


def test_a_pair_of_sites_is_reported_once_per_check_across_executions() -> None:
    check = RaceCheck()
    runner = Runner(RunSettings(seed=1))
    first = runner.run(RACY, GuestIO(args=["flag"]), extensions=[check])
    second = runner.run(RACY, GuestIO(args=["flag"]), extensions=[check])
    assert check.inspect(first) is not None
    assert check.inspect(second) is None and races_of(second) is None


def test_suppressing_the_accessing_functions_hides_the_race() -> None:
    text, _ = run(RACY, ["counter"], suppress=["add_.*"])
    assert text == ""
    text, _ = run(RACY, ["counter"], suppress=["add_one"])  # one side suffices: its accesses are not seen
    assert text == ""


@pytest.mark.parametrize("bad", ["(", ["add_("], [""], [3], "add_one"])
def test_a_bad_suppression_pattern_is_a_one_line_error(bad: object) -> None:
    with pytest.raises(SuppressionError) as info:
        RaceCheck(suppress=bad)  # type: ignore[arg-type]
    assert "\n" not in str(info.value) and str(info.value).startswith("suppress: ")


def test_a_guest_without_function_names_is_refused_with_the_reason(tmp_path: Path) -> None:
    stripped = tmp_path / "racy_stripped.wasm"
    subprocess.run([wasm_tools(), "strip", "--all", str(RACY), "-o", str(stripped)], check=True,
                   timeout=CHILD_LIMIT_S)
    with pytest.raises(ModuleError, match="has no name section"):
        Runner(RunSettings(seed=0)).run(stripped, GuestIO(args=["counter"]), extensions=[RaceCheck()])


HOST_LOCKED = REPO / "guests" / "racecheck" / "host_locked.wasm"


def host_lock_imports() -> dict[str, dict[str, object]]:
    lock = Lock("counter")

    def enter() -> None:
        lock.acquire()

    def leave() -> None:
        lock.release()

    return {"host": {"enter": enter, "leave": leave}}


@pytest.mark.parametrize("preempt", ["fuel", "epoch", "os"])
@pytest.mark.parametrize(("mode", "racy"), [("locked", False), ("unlocked", True)])
def test_a_host_lock_in_user_imports_orders_the_guest_accesses_it_brackets(mode: str, racy: bool,
                                                                          preempt: str) -> None:
    check = RaceCheck()
    o = Runner(RunSettings(preempt=Preempt(preempt), seed=2)).run(
        HOST_LOCKED, GuestIO(args=[mode]), extensions=[check], imports=host_lock_imports())
    assert (o.status, o.stdout) == (Status.EXITED, "counter=3\n"), o.report
    failure = check.inspect(o)
    assert (failure is not None) is racy, failure
    if failure is not None:
        assert "between add_" in failure.message and "racecheck/host_locked.c:2" in failure.message
