"""--wasm-statistics, the replay command and seed in JUnit XML, the header's setting sources."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from child_processes import CHILD_LIMIT_S

TESTS = '''
def test_explores(wasm_scheduler, guest):
    wasm_scheduler.explore(guest("mutex_counter"), schedules=7)

def test_runs_twice(wasm_scheduler, guest):
    wasm_scheduler.run(guest("hello"))
    wasm_scheduler.run(guest("exit3"), expect_exit=3)

def test_fails(wasm_scheduler, guest):
    wasm_scheduler.run(guest("exit3"))

def test_no_guest():
    pass
'''


def test_statistics_per_test_in_the_terminal_summary(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_stats=TESTS)
    result = wasm_project.runpytest_subprocess("-p", "no:cacheprovider", "--wasm-statistics", "--wasm-policy=random",
                                               timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([
        "*= wasmconc statistics =*",
        "test_stats.py::test_explores:",
        "  - 7 schedules in * s (*/s)",
        "  - 1 distinct outcome: exited with code 0 x7",
        "  - * distinct interleaving*",
        "test_stats.py::test_runs_twice:",
        "  - 2 schedules in * s (*/s)",
        "  - 2 distinct outcomes: exited with code 0 x1, exited with code 3 x1",
        "  - 2 distinct interleavings",
        "test_stats.py::test_fails:",
        "  - 1 schedule in * s (*/s)",
    ])
    assert "test_no_guest:" not in result.stdout.str()


def test_statistics_under_xdist_and_in_os_mode(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_stats=TESTS)
    result = wasm_project.runpytest_subprocess("-p", "no:cacheprovider", "--wasm-statistics", "-n", "2",
                                               "--wasm-preempt=os", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines_random([
        "test_stats.py::test_explores:",
        "  - 1 distinct outcome: exited with code 0 x7",
        "  - distinct interleavings: not recorded (os and epoch mode)",
    ])


def test_without_the_flag_no_statistics(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_stats=TESTS)
    result = wasm_project.runpytest_subprocess("-p", "no:cacheprovider", "-k", "explores", timeout=CHILD_LIMIT_S)
    assert "wasmconc statistics" not in result.stdout.str()


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_junit_xml_carries_the_seed_and_replay_command_of_a_failing_wasm_test(
        wasm_project: pytest.Pytester, xdist: list[str]) -> None:
    wasm_project.makepyfile(test_stats=TESTS)
    xml = wasm_project.path / "junit.xml"
    result = wasm_project.runpytest_subprocess("-p", "no:cacheprovider", f"--junitxml={xml}", "--wasm-seed=77",
                                               "--wasm-policy=random", *xdist, timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=3, failed=1)
    cases = {case.get("name"): case for case in ET.parse(xml).iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["test_fails"].iter("property")}
    assert props["wasm_seed"] == "77"
    token = props["wasm_replay_token"]
    assert token.startswith("wc1-")
    assert props["wasm_replay"] == f"pytest test_stats.py::test_fails --wasm-replay={token}"
    for name in ("test_explores", "test_runs_twice", "test_no_guest"):
        assert not list(cases[name].iter("property")), name


def test_junit_xml_of_an_os_mode_failure_has_the_fuel_command(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_stats=TESTS)
    xml = wasm_project.path / "junit.xml"
    wasm_project.runpytest_subprocess("-p", "no:cacheprovider", f"--junitxml={xml}", "--wasm-preempt=os",
                                      "--wasm-seed=5", "-k", "fails", timeout=CHILD_LIMIT_S)
    props = {p.get("name"): p.get("value") for p in ET.parse(xml).iter("property")}
    assert props == {"wasm_seed": "5", "wasm_rerun": "pytest test_stats.py::test_fails --wasm-preempt=fuel "
                                                     "--wasm-policy=random --wasm-seed=5"}


def test_the_header_names_where_each_setting_came_from(pytester: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makefile(".ini", pytest="[pytest]\nwasm_policy = pct\nwasm_depth = 3\n")
    monkeypatch.setenv("PYTEST_WASM_SCHEDULES", "12")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", "--wasm-seed=9", "--wasm-depth=4")
    result.stdout.fnmatch_lines([
        "wasmconc: --wasm-preempt=fuel --wasm-policy=pct --wasm-seed=9 --wasm-depth=4 --wasm-timeout=300 "
        "--wasm-schedules=12 (wasmtime *)",
        "wasmconc: policy from the config file (wasm_policy in pytest.ini); seed from the command line; depth from "
        "the command line; schedules from the PYTEST_WASM_SCHEDULES environment variable; the rest are defaults",
    ])
    monkeypatch.delenv("PYTEST_WASM_SCHEDULES")
    plain = pytester.runpytest("-p", "no:cacheprovider", "-c", "/dev/null", "--rootdir", str(pytester.path))
    plain.stdout.fnmatch_lines(["wasmconc: seed from a random choice; the rest are defaults"])
