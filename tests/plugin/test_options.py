"""Options: CLI flag + ini key + env var each; precedence; usage errors that name the source."""

from __future__ import annotations

import pytest

SHOW_SETTINGS = """
def test_show(wasm_scheduler):
    s = wasm_scheduler.settings
    print(f"SETTINGS preempt={s.preempt.value} policy={s.policy} seed={s.seed} slice={s.slice} "
          f"schedules={wasm_scheduler.plan.schedules}")
"""


def settings_line(result: pytest.RunResult) -> str:
    lines = [ln[ln.index("SETTINGS "):] for ln in result.outlines if "SETTINGS " in ln]
    assert lines, result.stdout.str()
    return lines[0]


@pytest.mark.parametrize(
    ("args", "env", "ini", "source"),
    [
        (["--wasm-preempt=fast"], {}, "", "from the command line"),
        ([], {"PYTEST_WASM_PREEMPT": "fast"}, "", "from the PYTEST_WASM_PREEMPT environment variable"),
        ([], {}, "wasm_preempt = fast", "from the config file (wasm_preempt in tox.ini)"),
    ],
)
def test_a_bad_preempt_value_is_a_usage_error_naming_its_source_and_the_valid_values(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str],
        ini: str, source: str) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    if ini:
        pytester.makefile(".ini", tox=f"[pytest]\n{ini}\n")
    pytester.makepyfile(SHOW_SETTINGS)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--wasm-preempt: invalid value 'fast' {source} (valid: fuel, epoch, os)*"])


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("--wasm-policy=chess",
         "--wasm-policy: invalid value 'chess' from the command line (valid: dfs, pct, portfolio, random, rr)"),
        ("--wasm-seed=twelve",
         "--wasm-seed: invalid value 'twelve' from the command line (valid: a whole number, random, or last)"),
        ("--wasm-slice=0",
         "--wasm-slice: invalid value '0' from the command line (valid: a whole number from 1 to 1099511627776)"),
        ("--wasm-schedules=-3",
         "--wasm-schedules: invalid value '-3' from the command line (valid: a whole number >= 1)"),
        ("--wasm-replay=xyz", "--wasm-replay: invalid value 'xyz' from the command line (not a wasmconc replay token*"),
    ],
)
def test_every_option_rejects_bad_values_with_the_valid_ones(pytester: pytest.Pytester, flag: str,
                                                              expected: str) -> None:
    pytester.makepyfile(SHOW_SETTINGS)
    result = pytester.runpytest(flag)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{expected}*"])


def test_a_damaged_replay_token_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SHOW_SETTINGS)
    result = pytester.runpytest("--wasm-replay=wc1-AAAA")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--wasm-replay: invalid value 'wc1-AAAA' from the command line (damaged replay token*"])


def test_command_line_beats_environment_beats_ini_beats_default(pytester: pytest.Pytester,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini("[pytest]\nwasm_preempt = epoch\nwasm_policy = pct\nwasm_seed = 11\nwasm_slice = 500\n"
                     "wasm_schedules = 7\n")
    monkeypatch.setenv("PYTEST_WASM_POLICY", "rr")
    monkeypatch.setenv("PYTEST_WASM_SEED", "22")
    pytester.makepyfile(SHOW_SETTINGS)
    result = pytester.runpytest("-s", "--wasm-seed=33")
    assert settings_line(result) == "SETTINGS preempt=epoch policy=rr seed=33 slice=500 schedules=7"


def test_defaults_are_fuel_random_and_a_random_seed_shown_in_the_header(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SHOW_SETTINGS)
    result = pytester.runpytest("-s")
    header = [ln for ln in result.outlines if ln.startswith("wasmconc: ")]
    assert len(header) == 2, result.stdout.str()
    assert header[1] == "wasmconc: seed from a random choice; the rest are defaults"
    seed = header[0].split("--wasm-seed=")[1].split()[0]
    assert header[0].startswith(f"wasmconc: --wasm-preempt=fuel --wasm-policy=random --wasm-seed={seed} ")
    assert settings_line(result) == f"SETTINGS preempt=fuel policy=random seed={seed} slice=10000 schedules=100"


def test_the_header_flags_paste_back_into_the_same_settings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SHOW_SETTINGS)
    first = pytester.runpytest("-s", "--wasm-preempt=os", "--wasm-policy=pct")
    header = next(ln for ln in first.outlines if ln.startswith("wasmconc: "))
    flags = header.removeprefix("wasmconc: ").split(" (")[0].split()
    second = pytester.runpytest("-s", *flags)
    assert settings_line(second) == settings_line(first)


def test_a_marker_beats_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n" + SHOW_SETTINGS.replace(
        "def test_show", "@pytest.mark.wasm_settings(preempt='os', policy='rr', slice=77, schedules=5)\ndef test_show"))
    result = pytester.runpytest("-s", "--wasm-preempt=epoch", "--wasm-policy=pct", "--wasm-slice=9",
                                "--wasm-schedules=3", "--wasm-seed=1")
    assert settings_line(result) == "SETTINGS preempt=os policy=rr seed=1 slice=77 schedules=5"


def test_an_explicit_seed_on_the_command_line_beats_a_seed_in_code(pytester: pytest.Pytester,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile("import pytest\n" + SHOW_SETTINGS.replace(
        "def test_show", "@pytest.mark.wasm_settings(seed=5)\ndef test_show"))
    assert "seed=99 " in settings_line(pytester.runpytest("-s", "--wasm-seed=99"))
    # ... but a seed from the environment or the ini file does not
    monkeypatch.setenv("PYTEST_WASM_SEED", "99")
    assert "seed=5 " in settings_line(pytester.runpytest("-s"))


def test_options_are_documented_with_their_ini_key_and_env_var(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    text = " ".join(result.stdout.str().split())  # help text wraps anywhere
    for name in ("preempt", "policy", "seed", "slice", "schedules", "replay", "trace-dir"):
        key = name.replace("-", "_")
        assert f"--wasm-{name}=" in text
        assert f"wasm_{key} (string)" in text  # listed among the ini keys
        assert f"[ini: wasm_{key}, env: PYTEST_WASM_{key.upper()}" in text
