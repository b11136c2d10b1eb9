"""`wasmconc`'s scheduling options come from the one option table: each reaches the executions' RunSettings.

The guests run for real (in this process, through `cli.main`); a Runner that
notes the settings of every execution shows what each command handed down.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from pytest_wasmconc import cli
from pytest_wasmconc.options import OPTIONS, options_of
from pytest_wasmconc.runtime import Preempt, Runner, RunSettings
from pytest_wasmconc.schedulers import derive_seed

GUESTS = Path(__file__).resolve().parents[2] / "guests"
HELLO = str(GUESTS / "wat" / "single_hello.wasm")
COMMANDS = ("run", "explore", "replay")

# A value other than the default for every row `wasmconc` takes: as typed, and as RunSettings holds it.
KNOBS: dict[str, tuple[str, Any]] = {
    "preempt": ("epoch", Preempt.EPOCH),
    "policy": ("pct", "pct"),
    "seed": ("4242", 4242),
    "slice": ("777", 777),
    "depth": ("5", 5),
    "level": ("memory", "memory"),
    "max_steps": ("5000", 5000),
    "timeout": ("42", 42.0),
    "schedules": ("7", 7),
    "preemption_bound": ("2", 2),
    "shrink_time": ("2.5", 2.5),
    "trace_dir": ("traces", Path("traces")),
    "trace_schedules": ("all", "all"),
}
# A value each row refuses.
BAD = {"preempt": "fast", "policy": "chess", "seed": "twelve", "slice": "0", "depth": "0", "level": "all",
       "max_steps": "0", "timeout": "-1", "schedules": "0", "preemption_bound": "-1", "shrink_time": "-1",
       "trace_dir": "", "trace_schedules": "some"}
# Rows a sampling policy's exploration refuses (they bound the dfs policy's search): tested on their own.
SEARCH_ONLY = ("preemption_bound",)
# Rows that are no RunSettings field: where timelines go (tests/runtime/test_cli_timeline.py), how long a
# failure is shrunk (below).
NOT_SETTINGS = ("trace_dir", "trace_schedules", "shrink_time")


class Seen:
    """The settings of every execution the CLI started, and how many schedules it asked to explore."""

    def __init__(self) -> None:
        self.settings: list[RunSettings] = []
        self.schedules: int | None = None
        self.preemption_bound: int | None = None


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Seen:
    record = Seen()

    class NotingRunner(Runner):
        def execute(self, program: Any, io: Any, settings: RunSettings, *args: Any, **kwargs: Any) -> Any:
            record.settings.append(settings)
            return super().execute(program, io, settings, *args, **kwargs)

        def explore(self, *args: Any, **kwargs: Any) -> Any:
            record.schedules = kwargs["schedules"]
            record.preemption_bound = kwargs.get("preemption_bound")
            return super().explore(*args, **kwargs)

        def explore_plan(self, *args: Any, **kwargs: Any) -> Any:  # the default, race-directed exploration
            record.schedules = kwargs["schedules"]
            return super().explore_plan(*args, **kwargs)

    monkeypatch.setattr(cli, "Runner", NotingRunner)
    return record


def _flags(command: str) -> list[str]:
    return [arg for opt in options_of(command) if opt.name not in (*SEARCH_ONLY, *NOT_SETTINGS)
            for arg in (opt.cli_flag, KNOBS[opt.name][0])]


def _expected(command: str) -> dict[str, Any]:
    return {opt.name: KNOBS[opt.name][1] for opt in options_of(command)
            if opt.name != "schedules" and opt.name not in (*SEARCH_ONLY, *NOT_SETTINGS)}


def _of(settings: RunSettings, names: dict[str, Any]) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in names}


def test_the_samples_cover_every_row_wasmconc_takes() -> None:
    taken = {opt.name for command in COMMANDS for opt in options_of(command)}
    assert set(KNOBS) == taken == set(BAD)
    for name, (text, value) in KNOBS.items():
        assert value != OPTIONS[name].default and OPTIONS[name].parse(text) == value


def test_every_run_option_reaches_the_execution(seen: Seen, capfd: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", *_flags("run"), HELLO]) == 0
    assert capfd.readouterr().out == "hello\n"
    [settings] = seen.settings
    assert _of(settings, _expected("run")) == _expected("run")


def test_every_explore_option_reaches_each_schedule(seen: Seen, capfd: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explore", *_flags("explore"), HELLO]) == 0
    out = capfd.readouterr().out
    assert "explored 7 schedules" in out and "seed 4242 (the command line)" in out
    assert seen.schedules == 7 and len(seen.settings) == 7
    expected = _expected("explore") | {"preempt": Preempt.FUEL}  # explore runs in fuel mode
    for index, settings in enumerate(seen.settings):
        assert _of(settings, expected) == expected | {"seed": derive_seed(4242, index)}


def test_the_preemption_bound_reaches_the_dfs_search(seen: Seen, capfd: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explore", "--policy", "dfs", "--preemption-bound", KNOBS["preemption_bound"][0],
                     "--schedules", "3", HELLO]) == 0
    assert seen.preemption_bound == KNOBS["preemption_bound"][1]
    assert "explored all 1 schedule: every schedule" in capfd.readouterr().out  # one thread: nothing to choose


def test_the_shrink_time_reaches_the_shrinker_of_a_failing_exploration(monkeypatch: pytest.MonkeyPatch,
                                                                       capfd: pytest.CaptureFixture[str]) -> None:
    budgets: list[float] = []

    def noting(*args: Any, budget: float, **kwargs: Any) -> None:
        budgets.append(budget)

    monkeypatch.setattr(cli, "shrink_failure", noting)
    fails = str(GUESTS / "c" / "lost_update.wasm")
    assert cli.main(["explore", "--policy", "random", "--seed", "3", fails]) == 1
    assert cli.main(["explore", "--policy", "random", "--seed", "3", "--shrink-time", "2.5", fails]) == 1
    assert budgets == [OPTIONS["shrink_time"].default, 2.5]
    capfd.readouterr()


def test_every_replay_option_reaches_the_replayed_execution(seen: Seen, capfd: pytest.CaptureFixture[str]) -> None:
    token = Runner(RunSettings(policy="pct", seed=9, depth=4, level="waits")).run(HELLO).token
    assert token is not None
    assert cli.main(["replay", *_flags("replay"), HELLO, token]) == 0
    assert capfd.readouterr().out == "hello\n"
    [settings] = seen.settings
    # the flags set the bounds; the token, everything the schedule depends on
    assert _of(settings, _expected("replay")) == _expected("replay")
    assert (settings.policy, settings.seed, settings.depth, settings.level) == ("pct", 9, 4, "waits")


@pytest.mark.parametrize("command", ["run", "explore"])
def test_without_flags_every_option_has_the_table_default_and_the_seed_is_random(
        seen: Seen, capfd: pytest.CaptureFixture[str], command: str) -> None:
    assert cli.main([command, HELLO]) == 0
    first = seen.settings[0]
    if command == "explore":
        # Race-directed (directed.py): the random walk leads; the directed schedules are the portfolio's.
        first = next(s for s in seen.settings if s.policy == "portfolio")
        assert seen.settings[0].policy == "random"
    for opt in options_of(command):
        if opt.name == "policy" and command == "explore":
            continue
        if opt.name not in ("seed", "schedules", *SEARCH_ONLY, *NOT_SETTINGS):
            assert getattr(first, opt.name) == opt.default, opt.name
    if command == "explore":
        assert seen.schedules == OPTIONS["schedules"].default
        assert seen.preemption_bound == OPTIONS["preemption_bound"].default
        printed = re.search(r"^seed (\d+) \(a random choice\): --seed \1 explores the same schedules again$",
                            capfd.readouterr().out, re.M)
        assert printed, "explore prints the seed it chose"
        assert seen.settings[0].seed == derive_seed(int(printed.group(1)), 0)


def test_a_failed_fuel_run_prints_the_random_seed_that_runs_its_schedule_again(
        seen: Seen, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    exit1 = tmp_path / "exit1.wasm"
    exit1.write_bytes(wasmtime.wat2wasm("""(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1) (func (export "_start") (call $exit (i32.const 1))))"""))
    assert cli.main(["run", str(exit1)]) == 1
    err = capfd.readouterr().err
    seed = seen.settings[0].seed
    assert err == f"wasmconc: the seed was {seed} (a random choice): --seed {seed} runs this schedule again\n"
    assert cli.main(["run", "--seed", str(seed), str(exit1)]) == 1
    assert capfd.readouterr().err == ""  # a seed given is known: nothing to add


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_value_of_any_option_is_one_line_before_the_guest_is_touched(
        capfd: pytest.CaptureFixture[str], command: str) -> None:
    tail = ["no-such-guest.wasm"] + (["wc1-x"] if command == "replay" else [])
    for opt in options_of(command):
        assert cli.main([command, opt.cli_flag, BAD[opt.name], *tail]) == cli.EXIT_USAGE
        err = capfd.readouterr().err
        assert err == (f"wasmconc: error: {opt.cli_flag}: invalid value {BAD[opt.name]!r} from the command line "
                       f"(valid: {opt.valid})\n")


@pytest.mark.parametrize("command", ["run", "explore"])
def test_the_replay_policy_is_a_usage_error_pointing_to_the_token(
        capfd: pytest.CaptureFixture[str], command: str) -> None:
    assert cli.main([command, "--policy", "replay", HELLO]) == cli.EXIT_USAGE
    err = capfd.readouterr().err
    assert err.count("\n") == 1
    assert "needs a recorded schedule: use `wasmconc replay GUEST TOKEN` with the token a failure printed" in err


def test_none_turns_the_step_budget_and_the_backstop_off(seen: Seen, capfd: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--max-steps", "none", "--timeout", "none", HELLO]) == 0
    assert (seen.settings[0].max_steps, seen.settings[0].timeout) == (None, None)


def test_the_replay_command_carries_non_default_bounds_and_no_flag_the_token_fixes() -> None:
    ns = cli.build_parser().parse_args(["run", "--max-steps", "none", "--timeout", "9", "--level", "memory",
                                        "--seed", "3", "g.wasm"])
    command = cli._replay_command(ns, [], "wc1-T")
    assert command == "wasmconc replay --max-steps none --timeout 9 g.wasm wc1-T"
