"""Every scheduling option reaches a test's executions through each of pytest's channels, alike.

The channels: the `--wasm-*` option, the ini key, the `PYTEST_WASM_*`
environment variable and the `wasm_settings` marker. One non-default value per
row of the option table goes through one channel at a time; the inner test
runs a cheap guest (in a subprocess: an inline pytester run re-imports the
runtime under the running one) and prints the settings its execution ran with. Bad values
through each channel are one line naming the option, the source and the valid
values (a usage error; the test's own error for a marker).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from child_processes import CHILD_LIMIT_S

from pytest_wasmconc.options import OPTIONS

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "guests" / "wat" / "single_hello.wasm"

# Per row a wasm_settings marker takes: the value as text, as a marker argument, and as the test sees it.
KNOBS: dict[str, tuple[str, Any, Any]] = {
    "preempt": ("epoch", "epoch", "epoch"),
    "policy": ("pct", "pct", "pct"),
    "seed": ("4242", 4242, 4242),
    "slice": ("777", 777, 777),
    "depth": ("5", 5, 5),
    "level": ("memory", "memory", "memory"),
    "max_steps": ("5000", 5000, 5000),
    "timeout": ("42", 42, 42.0),
    "schedules": ("7", 7, 7),
    "preemption_bound": ("2", 2, 2),
    "shrink_time": ("2.5", 2.5, 2.5),
}
SETTABLE = [name for name, opt in OPTIONS.items() if opt.in_code]

SHOW = f"""
import json
import pytest

HELLO = {str(HELLO)!r}

MARKER
def test_show(wasm_scheduler):
    assert wasm_scheduler.run(HELLO).stdout == "hello\\n"
    wasm_scheduler.explore(HELLO)
    ran, explored = wasm_scheduler.records
    s = ran.settings
    print("SETTINGS " + json.dumps({{"preempt": s.preempt.value, "policy": s.policy, "seed": s.seed, "slice": s.slice,
                                   "depth": s.depth, "level": s.level, "max_steps": s.max_steps,
                                   "timeout": s.timeout, "schedules": explored.schedules_planned,
                                   "preemption_bound": wasm_scheduler.plan.preemption_bound,
                                   "shrink_time": wasm_scheduler.plan.shrink_time}}))
"""


def _settings(result: pytest.RunResult) -> dict[str, Any]:
    result.assert_outcomes(passed=1)
    line = next(ln for ln in result.outlines if "SETTINGS " in ln)  # -s: after the file's name
    settings: dict[str, Any] = json.loads(line[line.index("SETTINGS ") + len("SETTINGS "):].removesuffix("."))
    return settings


def test_the_samples_cover_every_row_a_marker_takes() -> None:
    assert set(KNOBS) == set(SETTABLE)
    for name, (text, _, seen) in KNOBS.items():
        assert OPTIONS[name].parse(text) == seen != OPTIONS[name].default


@pytest.mark.parametrize("channel", ["option", "ini", "env", "marker"])
def test_every_scheduling_option_reaches_the_execution_through_each_channel(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, channel: str) -> None:
    args: list[str] = []
    marker = ""
    if channel == "option":
        args = [f"{OPTIONS[name].pytest_flag}={text}" for name, (text, _, _) in KNOBS.items()]
    elif channel == "ini":
        pytester.makeini("[pytest]\n" + "".join(f"{OPTIONS[n].ini} = {text}\n" for n, (text, _, _) in KNOBS.items()))
    elif channel == "env":
        for name, (text, _, _) in KNOBS.items():
            monkeypatch.setenv(OPTIONS[name].env, text)
    else:
        marker = "@pytest.mark.wasm_settings(" + ", ".join(f"{n}={v!r}" for n, (_, v, _) in KNOBS.items()) + ")"
    pytester.makepyfile(SHOW.replace("MARKER", marker))
    got = _settings(pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", *args, timeout=CHILD_LIMIT_S))
    assert got == {name: seen for name, (_, _, seen) in KNOBS.items()}


def test_without_any_channel_every_option_has_the_table_default_and_the_seed_is_the_headers(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SHOW.replace("MARKER", ""))
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    got = _settings(result)
    header = next(ln for ln in result.outlines if ln.startswith("wasmconc: "))
    assert f"--wasm-seed={got.pop('seed')} " in header
    expected = {name: OPTIONS[name].default for name in SETTABLE if name != "seed"}
    assert got == expected | {"preempt": "fuel"}


def test_the_header_shows_every_option_that_is_not_its_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SHOW.replace("MARKER", ""))
    args = [f"{OPTIONS[name].pytest_flag}={text}" for name, (text, _, _) in KNOBS.items()]
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", *args, timeout=CHILD_LIMIT_S)
    header = next(ln for ln in result.outlines if ln.startswith("wasmconc: "))
    assert header.startswith("wasmconc: " + " ".join(args) + " (wasmtime ")


# -- bad values --------------------------------------------------------------------------------------

BAD_TEXT = {"preempt": "fast", "policy": "chess", "seed": "twelve", "slice": "0", "depth": "0", "level": "all",
            "max_steps": "0", "timeout": "-1", "schedules": "0", "preemption_bound": "-1", "shrink_time": "-1",
            "replay": "wc1-", "trace_dir": "notes.txt", "trace_schedules": "some", "crash_log": "notes.txt/sub",
            "failure_memory": "sometimes"}
# What pytest accepts beyond the table's valid values (--wasm-seed=last: a seed in pytest's cache).
PYTEST_VALID = {"seed": "a whole number, random, or last"}


def test_the_bad_samples_cover_every_row() -> None:
    assert set(BAD_TEXT) == set(OPTIONS)


@pytest.mark.parametrize("channel", ["option", "ini", "env"])
def test_a_bad_value_through_any_channel_is_one_usage_error_line(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, channel: str) -> None:
    (pytester.path / "notes.txt").write_text("a file, not a directory\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    for name, text in BAD_TEXT.items():
        opt = OPTIONS[name]
        args: list[str] = []
        if channel == "option":
            args, source = [f"{opt.pytest_flag}={text}"], "the command line"
        elif channel == "ini":
            pytester.makeini(f"[pytest]\n{opt.ini} = {text}\n")
            source = f"the config file ({opt.ini} in tox.ini)"
        else:
            monkeypatch.setenv(opt.env, text)
            source = f"the {opt.env} environment variable"
        result = pytester.runpytest("-p", "no:cacheprovider", *args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR, name
        errors = [ln for ln in result.errlines if ln.strip()]
        assert len(errors) == 1, (name, errors)
        assert errors[0].startswith(f"ERROR: {opt.pytest_flag}: invalid value {text!r} from {source} ("), errors
        assert errors[0].endswith(f"valid: {PYTEST_VALID.get(name, opt.valid)})"), errors
        if channel == "ini":
            (pytester.path / "tox.ini").unlink()
        elif channel == "env":
            monkeypatch.delenv(opt.env)


BAD_IN_CODE = {"preempt": "fast", "policy": "replay", "seed": "7", "slice": 0, "depth": 0, "level": "all",
               "max_steps": 0, "timeout": -1, "schedules": "3", "preemption_bound": -1, "shrink_time": -0.5}


def test_a_bad_marker_value_of_any_option_errors_that_test_alone(pytester: pytest.Pytester) -> None:
    assert set(BAD_IN_CODE) == set(SETTABLE)
    tests = "".join(f"@pytest.mark.wasm_settings({name}={value!r})\ndef test_bad_{name}(wasm_scheduler):\n"
                    f"    pass\n" for name, value in BAD_IN_CODE.items())
    pytester.makepyfile("import pytest\n" + tests + "def test_fine(wasm_scheduler):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-rE")
    result.assert_outcomes(errors=len(BAD_IN_CODE), passed=1)
    text = result.stdout.str()
    for name, value in BAD_IN_CODE.items():
        opt = OPTIONS[name]
        valid = opt.valid_in_code or opt.valid
        assert f"@pytest.mark.wasm_settings({name}={value!r}): invalid value (" in text, name
        assert f"valid: {valid})" in text, name
    assert "the replay policy needs a recorded schedule: pass the token a failure printed as --wasm-replay=TOKEN" \
        in text
