"""The plugin gives every guest execution a wall-clock backstop (--wasm-timeout, default 300 s, in every mode).

The default is checked on the effective settings and the header, never by
waiting for it; guests that hit the backstop run with a short explicit one.
"""

from __future__ import annotations

import pytest
from child_processes import CHILD_LIMIT_S

SHOW_TIMEOUT = '''
import pytest

def test_plain(wasm_scheduler):
    print("TIMEOUT", wasm_scheduler.settings.timeout)

@pytest.mark.wasm_no_hang
def test_no_hang(wasm_scheduler):
    print("TIMEOUT", wasm_scheduler.settings.timeout)

@pytest.mark.wasm_no_hang(timeout=4.5)
def test_no_hang_own(wasm_scheduler):
    print("TIMEOUT", wasm_scheduler.settings.timeout)
'''


def _timeouts(result: pytest.RunResult) -> list[str]:
    return [ln.split("TIMEOUT ")[1].split()[0] for ln in result.outlines
            if "TIMEOUT " in ln and not ln.startswith("wasmconc: ")]  # the header names PYTEST_WASM_TIMEOUT


def _header(result: pytest.RunResult) -> str:
    return next(ln for ln in result.outlines if ln.startswith("wasmconc: "))


@pytest.mark.parametrize(("args", "env", "ini", "shown", "effective"), [
    ([], {}, "", "300", "300.0"),
    (["--wasm-timeout=12"], {}, "", "12", "12.0"),
    (["--wasm-timeout=none"], {}, "", "none", "None"),
    (["--wasm-timeout=0"], {}, "", "none", "None"),
    ([], {"PYTEST_WASM_TIMEOUT": "7.5"}, "", "7.5", "7.5"),
    ([], {}, "wasm_timeout = 9", "9", "9.0"),
    (["--wasm-timeout=11"], {"PYTEST_WASM_TIMEOUT": "7"}, "wasm_timeout = 9", "11", "11.0"),
], ids=["default", "cli", "cli-none", "cli-zero", "env", "ini", "cli-wins"])
def test_the_backstop_comes_from_the_default_cli_env_or_ini_and_shows_in_the_header(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str],
        ini: str, shown: str, effective: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if ini:
        pytester.makefile(".ini", tox=f"[pytest]\n{ini}\n")
    pytester.makepyfile(SHOW_TIMEOUT)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", *args, timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=3)
    assert f" --wasm-timeout={shown} (" in _header(result)
    # wasm_no_hang without a timeout of its own keeps the session's; with one, that one.
    assert _timeouts(result) == [effective, effective, "4.5"]


@pytest.mark.parametrize("mode", ["epoch", "os"])
def test_a_spinning_guest_fails_at_the_backstop_with_the_option_that_raises_it(
        wasm_project: pytest.Pytester, mode: str) -> None:
    wasm_project.makepyfile(test_spin='''
def test_spin(wasm_scheduler, guest):
    o = wasm_scheduler.run(guest("spin"), check=False)
    assert o.status == "exited"
''')
    result = wasm_project.runpytest_subprocess(f"--wasm-preempt={mode}", "--wasm-timeout=1", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*- wasm guest report -*",
        f"*spin.wasm: hang ({mode} mode*",
        "hang: * 1 s*",
        "      at spin_forever*",
        "(the wall-clock backstop of 1 s was reached: raise it with --wasm-timeout=SECONDS (ini wasm_timeout, env "
        "PYTEST_WASM_TIMEOUT) or @pytest.mark.wasm_no_hang(timeout=SECONDS); --wasm-timeout=none turns it off)",
    ])


def test_a_step_budget_hang_does_not_claim_the_backstop(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_spin='''
def test_spin(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("spin"), check=False).status == "exited"
''')
    result = wasm_project.runpytest_subprocess("--wasm-max-steps=2000", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*spin.wasm: hang (fuel mode*", "hang: *2000*",
                                 "replay: pytest test_spin.py::test_spin --wasm-max-steps=2000 --wasm-replay=wc1-*"])
    assert "backstop of" not in result.stdout.str()
    assert "pytest-timeout of" not in result.stdout.str()


@pytest.mark.parametrize(("value", "needle"), [
    ("-1", "valid: positive seconds, or none (or 0) for no backstop"),
    ("soon", "valid: positive seconds, or none (or 0) for no backstop"),
    ("inf", "valid: positive seconds, or none (or 0) for no backstop"),
])
def test_a_bad_backstop_is_a_usage_error(pytester: pytest.Pytester, value: str, needle: str) -> None:
    pytester.makepyfile("def test_x(wasm_scheduler):\n    pass\n")
    result = pytester.runpytest_subprocess(f"--wasm-timeout={value}", "-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"--wasm-timeout: invalid value '{value}' from the command line ({needle})" in result.stderr.str()
