"""The one option table (pytest_wasmconc/options.py): both front ends show it alike, and it decides alike.

The help test reads what `wasmconc run|explore|replay --help` and `pytest --help`
print, in subprocesses, and checks every row of the table against each: the same
options, metavars (so choices), defaults and valid values. A front end that
declares an option of its own, or drifts from the table, fails it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

from pytest_wasmconc import options
from pytest_wasmconc.options import (
    COMMAND_LINE,
    MARKER,
    OPTIONS,
    PYTEST,
    WASMCONC,
    InvalidValue,
    Option,
    OptionError,
    Sourced,
    chosen_seed,
    in_effect,
    options_of,
    session_value,
)

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ("run", "explore", "replay")


def _help_of(argv: list[str], cwd: Path) -> str:
    # Wide enough that no help line wraps (argparse would break words at hyphens).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")} | {"COLUMNS": "2000"}
    proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=CHILD_LIMIT_S, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


_ENTRY = re.compile(r"^  (--[\w-]+)(?:[= ](\S+))?(?: {2,}(.*))?$")
_TAIL = re.compile(r"\(default: (?P<default>[^;]*); valid: (?P<valid>.*)\)(?: \[(?P<channels>[^]]*)\])?$")


def _entries(help_text: str) -> dict[str, tuple[str, str]]:
    """flag -> (metavar, help) of every long option an argparse help lists (its continuation lines joined)."""
    out: dict[str, tuple[str, str]] = {}
    flag = None
    for line in help_text.splitlines():
        m = _ENTRY.match(line)
        if m:
            flag = m.group(1)
            out[flag] = (m.group(2) or "", (m.group(3) or "").strip())
        elif flag is not None and line.startswith("    "):
            metavar, text = out[flag]
            out[flag] = (metavar, f"{text} {line.strip()}".strip())
        else:
            flag = None
    return out


def _described(entry: tuple[str, str]) -> dict[str, str]:
    metavar, text = entry
    m = _TAIL.search(text)
    assert m, f"no '(default: ...; valid: ...)' at the end of {text!r}"
    return {"metavar": metavar, "summary": text[:m.start()].strip(), "default": m["default"],
            "valid": m["valid"], "channels": m["channels"] or ""}


@pytest.fixture(scope="module")
def shown(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, str]]]:
    """Per front end ("run", "explore", "replay", "pytest"): option name -> how its help describes it."""
    cwd = tmp_path_factory.mktemp("help")
    out: dict[str, dict[str, dict[str, str]]] = {}
    for command in COMMANDS:
        entries = _entries(_help_of(["-m", "pytest_wasmconc", command, "--help"], cwd))
        # Every table flag the help lists, also one the table does not give this command.
        out[command] = {opt.name: _described(entries[opt.cli_flag]) for opt in OPTIONS.values()
                        if opt.cli_flag in entries}
    text = _help_of(["-m", "pytest", "-p", "no:cacheprovider", "--help"], cwd)
    section = text[text.index("WebAssembly guest concurrency (pytest-wasmconc):"):]
    entries = _entries(section)
    out["pytest"] = {opt.name: _described(entries[opt.pytest_flag]) for opt in OPTIONS.values()
                     if opt.pytest_flag in entries}
    return out


@pytest.mark.parametrize("front", [*COMMANDS, "pytest"])
def test_each_front_end_lists_exactly_the_table_options_it_takes(
        shown: dict[str, dict[str, dict[str, str]]], front: str) -> None:
    expected = [opt.name for opt in (OPTIONS.values() if front == "pytest" else options_of(front))]
    assert list(shown[front]) == expected


@pytest.mark.parametrize("name", list(OPTIONS))
def test_every_front_end_shows_an_option_with_the_same_metavar_default_and_valid_values(
        shown: dict[str, dict[str, dict[str, str]]], name: str) -> None:
    opt = OPTIONS[name]
    fronts = [front for front in (*COMMANDS, "pytest") if name in shown[front]]
    assert fronts == [*opt.commands, "pytest"]
    for front in fronts:
        got = shown[front][name]
        assert (got["metavar"], got["default"], got["valid"]) == (opt.metavar, opt.shown_default, opt.valid), front
        assert got["summary"].startswith(opt.summary), front
    assert len({(shown[f][name]["metavar"], shown[f][name]["default"], shown[f][name]["valid"])
                for f in fronts}) == 1


@pytest.mark.parametrize("name", [name for name, opt in OPTIONS.items() if opt.choices])
def test_the_choices_in_the_help_are_the_table_choices(shown: dict[str, dict[str, dict[str, str]]],
                                                       name: str) -> None:
    for front in (*OPTIONS[name].commands, "pytest"):
        metavar = shown[front][name]["metavar"]
        assert tuple(metavar.strip("{}").split(",")) == OPTIONS[name].choices
        assert shown[front][name]["valid"] == ", ".join(OPTIONS[name].choices)


def test_the_pytest_help_names_each_options_ini_key_env_var_and_marker_argument(
        shown: dict[str, dict[str, dict[str, str]]]) -> None:
    for opt in OPTIONS.values():
        per_test = f"; per test: wasm_settings({opt.name}=...)" if opt.in_code else ""
        assert shown["pytest"][opt.name]["channels"] == f"ini: {opt.ini}, env: {opt.env}{per_test}"


def test_every_scheduling_knob_is_in_both_front_ends_and_in_the_marker() -> None:
    knobs = ("preempt", "policy", "seed", "slice", "depth", "level", "max_steps", "timeout", "schedules")
    for name in knobs:
        assert OPTIONS[name].commands and OPTIONS[name].in_code, name


def test_the_readme_shows_the_table_as_the_table_renders_it() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert options.markdown_table() in readme, (
        "README.md's option table differs from pytest_wasmconc/options.py: run `python scripts/options_table.py` "
        "to rewrite it")


def test_the_plugin_keeps_one_field_per_table_row() -> None:
    import dataclasses

    from pytest_wasmconc.pytest_layer.options import PluginOptions

    assert [f.name for f in dataclasses.fields(PluginOptions)] == list(OPTIONS)


def test_the_table_loads_without_pytest_or_wasmtime() -> None:
    code = ("import sys, pytest_wasmconc.options; "
            "print(sorted(m for m in ('pytest', '_pytest', 'wasmtime') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=CHILD_LIMIT_S,
                          check=False)
    assert (proc.returncode, proc.stdout.strip()) == (0, "[]"), proc.stderr


# -- reading values ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "text", "value"), [
    ("preempt", " epoch ", "epoch"),
    ("policy", "pct", "pct"),
    ("seed", "0x10", 16),
    ("seed", "-3", -3),
    ("seed", "random", None),
    ("slice", "1099511627776", 1 << 40),
    ("depth", "2147483648", 1 << 31),
    ("level", "memory", "memory"),
    ("max_steps", "None", None),
    ("max_steps", "7", 7),
    ("timeout", "2.5", 2.5),
    ("timeout", "0", None),
    ("timeout", "none", None),
    ("schedules", "1", 1),
    ("crash_log", "off", False),
])
def test_each_row_reads_its_valid_values(name: str, text: str, value: object) -> None:
    assert OPTIONS[name].read(text, COMMAND_LINE, PYTEST) == value


@pytest.mark.parametrize(("name", "text"), [
    ("preempt", "fast"), ("policy", "chess"), ("seed", "1.5"), ("slice", "0"), ("slice", str((1 << 40) + 1)),
    ("depth", "0"), ("depth", str((1 << 31) + 1)), ("level", "all"), ("max_steps", "0"), ("timeout", "-1"),
    ("timeout", "nan"), ("timeout", "inf"), ("schedules", "many"), ("replay", "wc1-"), ("trace_dir", ""),
])
def test_a_bad_value_is_one_line_naming_the_flag_the_source_and_the_valid_values(name: str, text: str) -> None:
    opt = OPTIONS[name]
    for front in (WASMCONC, PYTEST):
        with pytest.raises(OptionError) as info:
            opt.read(text, "the PYTEST_WASM_X environment variable", front)
        message = str(info.value)
        assert "\n" not in message
        assert message.startswith(f"{front.flag(opt)}: invalid value {text.strip()!r} from the PYTEST_WASM_X "
                                  "environment variable (")
        assert message.endswith(f"valid: {opt.valid})")


def test_the_replay_policy_is_refused_with_how_each_front_end_replays_a_token() -> None:
    for front, how in ((WASMCONC, "use `wasmconc replay GUEST TOKEN`"), (PYTEST, "as --wasm-replay=TOKEN")):
        with pytest.raises(OptionError, match="the replay policy needs a recorded schedule") as info:
            OPTIONS["policy"].read("replay", COMMAND_LINE, front)
        assert how in str(info.value)


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("preempt", "os", "os"), ("slice", 5, 5), ("timeout", 3, 3.0), ("timeout", 0.5, 0.5), ("timeout", "none", None),
    ("max_steps", "none", None), ("seed", -1, -1), ("level", "waits", "waits"),
])
def test_a_marker_value_is_read_with_the_options_rules(name: str, value: object, expected: object) -> None:
    assert OPTIONS[name].from_code(value) == expected


@pytest.mark.parametrize(("name", "value"), [
    ("preempt", 5), ("seed", "7"), ("seed", "random"), ("seed", True), ("slice", 0), ("slice", 2.0),
    ("schedules", "3"), ("timeout", float("nan")), ("timeout", -1), ("max_steps", "7"), ("depth", 2.5),
])
def test_a_marker_value_of_the_wrong_kind_or_range_is_refused(name: str, value: object) -> None:
    with pytest.raises(InvalidValue):
        OPTIONS[name].from_code(value)


# -- precedence -----------------------------------------------------------------------------------


def _seed(**given: str) -> Sourced[object]:
    return session_value(OPTIONS["seed"], PYTEST, ini_file="tox.ini", **given)


def test_the_command_line_beats_the_environment_beats_the_ini_file_beats_the_default() -> None:
    assert (_seed(cli="1", env="2", ini="3").value, _seed(cli="1", env="2", ini="3").source) == (1, COMMAND_LINE)
    assert _seed(env="2", ini="3").source == "the PYTEST_WASM_SEED environment variable"
    assert _seed(ini="3").source == "the config file (wasm_seed in tox.ini)"
    assert (_seed().value, _seed().source) == (None, "the default")


def test_an_empty_environment_variable_or_ini_key_is_not_a_value_but_an_empty_flag_is() -> None:
    assert _seed(env=" ", ini="").source == "the default"
    with pytest.raises(OptionError, match="from the command line"):
        _seed(cli="")


def test_a_marker_beats_the_session_except_a_seed_from_the_command_line() -> None:
    seed, slice_ = OPTIONS["seed"], OPTIONS["slice"]
    in_code = {"seed": 5, "slice": 9}
    assert in_effect(slice_, in_code, Sourced(3, COMMAND_LINE)).source == MARKER
    assert in_effect(seed, in_code, Sourced(1, "the PYTEST_WASM_SEED environment variable")).value == 5
    assert in_effect(seed, in_code, Sourced(1, COMMAND_LINE)).value == 1
    assert in_effect(OPTIONS["depth"], in_code, Sourced(3, "the default")).value == 3


def test_a_seed_not_given_is_chosen_at_random_and_says_so() -> None:
    import random

    chosen = chosen_seed(Sourced(None, "the default"), random.Random(1))
    assert chosen.source == "a random choice" and 0 <= chosen.value < 1 << 32
    assert chosen_seed(Sourced(None, COMMAND_LINE), random.Random(1)).source == COMMAND_LINE  # "random" given
    assert chosen_seed(Sourced(7, COMMAND_LINE)).value == 7


def test_options_of_a_command_follow_the_table_order() -> None:
    assert [o.name for o in options_of("replay")] == ["max_steps", "timeout", "trace_dir", "trace_schedules"]
    assert [o.name for o in options_of("run")][0] == "preempt"
    assert all(isinstance(o, Option) for o in options_of("explore"))
