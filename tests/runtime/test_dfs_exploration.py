"""The bounded exhaustive search on real guests (guests/dfs, real wasi-libc): runner, CLI, replay, determinism."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

from pytest_wasmconc.runtime import ConfigError, GuestIO, Outcome, Preempt, Runner, RunSettings
from pytest_wasmconc.runtime.drivers.driving import SEARCH_FOOTPRINTS, SEARCH_PICKS
from pytest_wasmconc.runtime.loading.program import load_program
from pytest_wasmconc.schedulers.dfs import count_preemptions

GUESTS = Path(__file__).resolve().parents[2] / "guests" / "dfs"
TWO_FLAGS = str(GUESTS / "two_flags.wasm")  # the bug needs exactly two preemptions
ATOMIC_PAIR = str(GUESTS / "atomic_pair.wasm")  # correct in every interleaving

# The numbers of schedules below are those of the committed guests (their libc start-up and
# join included) under this instrumentation: a change to either moves them, which is the point
# of pinning them (a search that silently explores fewer schedules proves less).
TWO_FLAGS_BOUND_1 = 30
ATOMIC_PAIR_BOUND_2 = 3670  # every schedule with at most 2 preemptions (reduction off)
# With the sleep sets fed each step's footprint (instrument/footprints.py): the schedules that remain, and
# the choices they left out.
ATOMIC_PAIR_BOUND_2_REDUCED = 3461
ATOMIC_PAIR_BOUND_2_PRUNED = 209


def dfs_runner() -> Runner:
    return Runner(RunSettings(policy="dfs"))


def wasmconc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc", *args], capture_output=True, text=True,
                          timeout=CHILD_LIMIT_S)


def test_a_dfs_execution_decides_at_every_visible_operation_and_never_preempts_past_its_prefix() -> None:
    outcome = dfs_runner().run(TWO_FLAGS)
    assert (outcome.exit_code, outcome.stdout) == (0, "ay=0 bx=0\n")
    picks = outcome.extra[SEARCH_PICKS]
    assert count_preemptions(picks) == 0
    assert len(picks) == len(outcome.decisions) > 10  # a decision per visible operation, not per loop iteration


def test_the_two_preemption_bug_is_not_found_with_one_preemption() -> None:
    result = dfs_runner().explore(TWO_FLAGS, schedules=10_000, preemption_bound=1)
    assert not result.failed
    assert result.statement == (f"explored all {TWO_FLAGS_BOUND_1} schedules with at most 1 preemption "
                                "(reduction: sleep sets, 0 pruned); no failure")
    assert result.schedules_run == 1 + TWO_FLAGS_BOUND_1  # bound 0 (one schedule), then bound 1 from the root


def test_the_two_preemption_bug_is_found_at_bound_2_and_its_token_replays_it() -> None:
    runner = dfs_runner()
    result = runner.explore(TWO_FLAGS, schedules=10_000, preemption_bound=2)
    assert result.failed
    assert result.statement is not None and result.statement.startswith("failure found at preemption bound 2")
    failing = result.outcome
    assert (failing.exit_code, failing.stdout) == (1, "both saw the other's flag\n")
    assert count_preemptions(failing.extra[SEARCH_PICKS]) == 2
    assert failing.token is not None
    for _ in range(3):
        again = runner.replay(TWO_FLAGS, failing.token)
        assert (again.exit_code, again.stdout) == (1, "both saw the other's flag\n")
        assert again.decisions == failing.decisions


def test_a_correct_guest_is_explored_whole_at_bound_2_with_fewer_schedules_thanks_to_the_footprints() -> None:
    reduced = dfs_runner().explore(ATOMIC_PAIR, schedules=100_000, preemption_bound=2)
    assert not reduced.failed
    assert reduced.statement == (f"explored all {ATOMIC_PAIR_BOUND_2_REDUCED} schedules with at most 2 preemptions "
                                 f"(reduction: sleep sets, {ATOMIC_PAIR_BOUND_2_PRUNED} pruned); no failure")
    assert reduced.distinct == {"exited with code 0": reduced.schedules_run}
    whole = dfs_runner().explore(ATOMIC_PAIR, schedules=100_000, preemption_bound=2, reduction=False)
    assert whole.statement == (f"explored all {ATOMIC_PAIR_BOUND_2} schedules with at most 2 preemptions "
                               "(reduction: none); no failure")
    assert ATOMIC_PAIR_BOUND_2_REDUCED < ATOMIC_PAIR_BOUND_2


def test_the_reduction_finds_the_two_preemption_bug_no_later_than_the_whole_search() -> None:
    reduced = dfs_runner().explore(TWO_FLAGS, schedules=10_000, preemption_bound=2)
    whole = dfs_runner().explore(TWO_FLAGS, schedules=10_000, preemption_bound=2, reduction=False)
    assert reduced.failed and whole.failed
    assert reduced.outcome.stdout == whole.outcome.stdout == "both saw the other's flag\n"
    assert reduced.schedules_run < whole.schedules_run


def test_the_reduction_reaches_every_outcome_the_whole_search_reaches_on_a_race_guest() -> None:
    """order_flags with one setter, one checker, one round: its bug (a trap) is within one preemption."""
    guest = str(GUESTS.parent / "races" / "order_flags.wasm")
    io = GuestIO(args=["1", "1", "1"])
    reached: dict[bool, set[tuple[str, str]]] = {True: set(), False: set()}
    for reduction, outcomes in reached.items():

        def note(o: Outcome, seen: set[tuple[str, str]] = outcomes) -> bool:
            seen.add((o.summary(), o.stdout))
            return False  # never stop: both searches run whole

        result = dfs_runner().explore(guest, io, schedules=10_000, preemption_bound=1, reduction=reduction,
                                      is_failure=note)
        assert result.statement is not None and result.statement.startswith("explored all")
    assert reached[True] == reached[False]
    assert any("trapped" in summary for summary, _ in reached[True])


def test_a_dfs_load_announces_each_step_and_decides_exactly_as_a_load_without() -> None:
    """The footprint code is uncharged: the same schedule, decision for decision; only the dfs policy loads it."""
    runner = dfs_runner()
    with_fp = runner.load(TWO_FLAGS)
    without = load_program(TWO_FLAGS, runner.settings.engine, level=runner.settings.level, cache=runner.cache)
    assert with_fp.footprints and not without.footprints and with_fp.wasm != without.wasm
    assert not Runner(RunSettings(policy="random")).load(TWO_FLAGS).footprints
    # A schedule with a preemption: the default one's decisions up to its third choice, then the other thread.
    picks = runner.execute(with_fp, GuestIO(), runner.settings).extra[SEARCH_PICKS]
    choices = [i for i, p in enumerate(picks) if len(p.runnable) > 1]
    k = choices[2]
    other = next(t for t in picks[k].runnable if t != picks[k].chosen)
    settings = runner.settings.with_(decisions=(*(p.chosen for p in picks[:k]), other))
    a = runner.execute(with_fp, GuestIO(), settings)
    b = runner.execute(without, GuestIO(), settings)
    assert (a.decisions, a.extra[SEARCH_PICKS], a.stdout) == (b.decisions, b.extra[SEARCH_PICKS], b.stdout)
    known = [fp for fp in a.extra[SEARCH_FOOTPRINTS] if fp is not None]
    assert len(known) > len(a.decisions) // 2  # most steps are one announced access
    assert all(fp is None for fp in b.extra[SEARCH_FOOTPRINTS])  # nothing announced: every step unknown
    # Some step is a 4-byte plain store (x = 1 or y = 1 of the guest): four bytes, written.
    assert any(len(fp) == 4 and all(w for _, w in fp) for fp in known)


def test_a_search_cut_short_by_the_schedule_budget_says_how_far_it_got() -> None:
    result = dfs_runner().explore(ATOMIC_PAIR, schedules=40)
    assert not result.failed and result.schedules_run == 40
    assert result.statement == ("stopped after 40 schedules: all 28 schedules with at most 1 preemption "
                                "explored (bound 1 complete); bound 2 in progress (11 schedules of it) "
                                "(reduction: sleep sets, 0 pruned); no failure")


def test_the_search_needs_fuel_mode_and_runs_whole() -> None:
    with pytest.raises(ConfigError, match="fuel mode only"):
        Runner(RunSettings(policy="dfs", preempt=Preempt.EPOCH)).explore(TWO_FLAGS, schedules=2)
    with pytest.raises(ConfigError, match="cannot be split"):
        dfs_runner().explore(TWO_FLAGS, schedules=2, start=1, step=2)


def test_two_processes_enumerate_the_same_schedules() -> None:
    code = ("import hashlib, sys; from pytest_wasmconc.runtime import Runner, RunSettings\n"
            "r = Runner(RunSettings(policy='dfs'))\n"
            "h = hashlib.sha256()\n"
            f"res = r.explore({TWO_FLAGS!r}, schedules=60, preemption_bound=2, is_failure=lambda o: "
            "h.update(repr(o.decisions).encode()) or False)\n"
            "print(res.statement, h.hexdigest())\n")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           timeout=CHILD_LIMIT_S, env={"PYTHONHASHSEED": seed, "PYTHONPATH": ":".join(sys.path)}
                           ).stdout for seed in ("1", "2")}
    assert len(outs) == 1
    assert "bound 2 in progress" in outs.pop()


# -- the command line -------------------------------------------------------------------------------------


def test_cli_explore_states_what_it_proved() -> None:
    proc = wasmconc("explore", "--policy", "dfs", "--preemption-bound", "1", "--schedules", "10000", TWO_FLAGS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (f"explored all {TWO_FLAGS_BOUND_1} schedules with at most 1 preemption (reduction: sleep sets, "
            "0 pruned); no failure\n") in proc.stdout
    assert "seed" not in proc.stdout  # the enumeration does not depend on it


def test_cli_explore_finds_the_bug_at_bound_2_and_prints_a_replay_command_that_reproduces_it() -> None:
    proc = wasmconc("explore", "--policy", "dfs", "--preemption-bound", "2", "--schedules", "10000", TWO_FLAGS)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"^schedule \d+ failed:$", proc.stdout, re.M)
    assert "both saw the other's flag" in proc.stdout
    assert "failure found at preemption bound 2" in proc.stdout
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("replay: "))
    argv = shlex.split(line[len("replay: "):])
    replayed = wasmconc(*argv[1:])
    assert (replayed.returncode, replayed.stdout) == (1, "both saw the other's flag\n")


def test_cli_no_reduction_runs_every_schedule_within_the_bound() -> None:
    proc = wasmconc("explore", "--policy", "dfs", "--preemption-bound", "1", "--schedules", "10000", "--no-reduction",
                    TWO_FLAGS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (f"explored all {TWO_FLAGS_BOUND_1} schedules with at most 1 preemption (reduction: none); "
            "no failure\n") in proc.stdout
    proc = wasmconc("explore", "--no-reduction", TWO_FLAGS)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("wasmconc: error: --no-reduction turns off the dfs policy's sleep sets: "
                                   "add --policy dfs")


def test_cli_preemption_bound_needs_the_dfs_policy_and_a_whole_number() -> None:
    proc = wasmconc("explore", "--preemption-bound", "2", TWO_FLAGS)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "wasmconc: error: --preemption-bound bounds the dfs policy's search: add --policy dfs"
    proc = wasmconc("explore", "--policy", "dfs", "--preemption-bound", "-1", TWO_FLAGS)
    assert proc.returncode == 2
    assert "--preemption-bound: invalid value '-1' from the command line" in proc.stderr
