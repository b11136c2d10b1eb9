"""The marker-to-check registry: a conftest's own marker gets its check; a marker never loses its check silently."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from child_processes import CHILD_LIMIT_S

from pytest_wasmconc.pytest_layer import WasmconcWarning, guards
from pytest_wasmconc.pytest_layer.guards import BUILTIN, CheckRegistryError, register_check
from pytest_wasmconc.runtime.extensions import Check


@pytest.fixture(autouse=True)
def _own_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Registrations made by a test stay in that test."""
    monkeypatch.setattr(guards, "_factories", dict(guards._factories))
    yield


def make_check(item: pytest.Item, mark: pytest.Mark) -> Check:
    return Check()


# -- the registry itself ------------------------------------------------------------------------------


def test_the_plugins_markers_are_registered_in_the_order_their_failures_are_reported() -> None:
    assert list(BUILTIN) == ["wasm_no_hang", "wasm_no_lock_inversion", "wasm_stream_sequence", "wasm_no_data_race"]
    assert list(guards._factories) == list(BUILTIN)


@pytest.mark.parametrize("marker", ["", "wasm no hang", "wasm-exit", 3, None])
def test_a_marker_name_that_is_no_identifier_is_a_one_line_error(marker: object) -> None:
    with pytest.raises(CheckRegistryError, match="the marker name must be an identifier") as info:
        register_check(marker, make_check)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_a_factory_that_cannot_be_called_is_a_one_line_error() -> None:
    with pytest.raises(CheckRegistryError, match=r"register_check\('wasm_mine', \.\.\.\): the factory must be "
                                                 r"callable \(item, mark\) -> Check, got 'not callable'"):
        register_check("wasm_mine", "not callable")  # type: ignore[arg-type]


def test_replacing_the_check_of_an_unknown_marker_is_an_error_naming_the_known_ones() -> None:
    with pytest.raises(CheckRegistryError) as info:
        register_check("wasm_no_hnag", make_check, replace=True)
    assert str(info.value) == ("register_check('wasm_no_hnag', replace=True): no check is registered for "
                               "'wasm_no_hnag' to replace (registered: wasm_no_hang, wasm_no_lock_inversion, "
                               "wasm_stream_sequence, wasm_no_data_race)")
    assert "wasm_no_hnag" not in guards._factories


def test_a_marker_of_ones_own_is_registered_after_the_plugins_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        register_check("wasm_mine", make_check)
    assert list(guards._factories) == [*BUILTIN, "wasm_mine"]
    assert guards._factories["wasm_mine"] is make_check


def test_a_builtin_check_is_replaced_with_a_warning_unless_replace_says_it_is_meant() -> None:
    with pytest.warns(WasmconcWarning, match=r"register_check\('wasm_no_hang', \.\.\.\) replaces the plugin's own "
                                             r"check of @pytest.mark.wasm_no_hang; pass replace=True if that is meant"):
        register_check("wasm_no_hang", make_check)
    assert guards._factories["wasm_no_hang"] is make_check
    assert list(guards._factories) == list(BUILTIN)  # it keeps its place in the order

    def other(item: pytest.Item, mark: pytest.Mark) -> Check:
        return Check()

    with pytest.warns(WasmconcWarning, match=r"replaces the check of @pytest.mark.wasm_no_hang"):
        register_check("wasm_no_hang", other)  # a user's check is not replaced silently either
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        register_check("wasm_stream_sequence", make_check, replace=True)
    assert guards._factories["wasm_stream_sequence"] is make_check


def test_the_same_factory_registered_again_is_no_conflict() -> None:
    # A conftest imported anew (pytester's inline runs) defines its factory again: same module, same name.
    source = "from pytest_wasmconc.runtime.extensions import Check\ndef factory(item, mark):\n    return Check()\n"
    first: dict[str, object] = {"__name__": "conftest"}
    again: dict[str, object] = {"__name__": "conftest"}
    exec(source, first)
    exec(source, again)
    assert first["factory"] is not again["factory"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        register_check("wasm_mine", first["factory"])  # type: ignore[arg-type]
        register_check("wasm_mine", again["factory"])  # type: ignore[arg-type]
    assert guards._factories["wasm_mine"] is again["factory"]


# -- in a session --------------------------------------------------------------------------------------

OWN_CHECKS = '''
from pytest_wasmconc.pytest_layer import register_check
from pytest_wasmconc.runtime.extensions import Check, CheckFailure


class ExitCodeCheck(Check):
    def __init__(self, item, mark):
        self.forbidden = mark.args[0]

    def inspect(self, outcome):
        if outcome.exit_code == self.forbidden:
            return CheckFailure(f"exit code {self.forbidden} is forbidden")
        return None


class QuietCheck(Check):
    def __init__(self, item, mark):
        pass

    def inspect(self, outcome):
        if not outcome.stdout:
            return CheckFailure("the guest said nothing", hang=True)
        return None


register_check("wasm_exit_code", ExitCodeCheck)
register_check("wasm_quiet_is_a_hang", QuietCheck)
'''

OWN_MARKERS_INI = """
[pytest]
markers =
    wasm_exit_code(code): the guest must not exit with code
    wasm_quiet_is_a_hang: a guest that prints nothing counts as hung
"""


def test_a_conftest_check_for_its_own_marker_fails_the_marked_tests_and_leaves_the_plugins_checks_alone(
        wasm_project: pytest.Pytester) -> None:
    wasm_project.makeconftest(wasm_project.path.joinpath("conftest.py").read_text() + OWN_CHECKS)
    wasm_project.makeini(OWN_MARKERS_INI)
    wasm_project.makepyfile('''
import pytest

@pytest.mark.wasm_exit_code(3)
def test_forbidden_code(wasm_scheduler, guest):
    wasm_scheduler.run(guest("exit3"))

@pytest.mark.wasm_exit_code(3)
def test_other_code(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("hello")).exit_code == 0

def test_unmarked(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("exit3"), expect_exit=3).exit_code == 3

@pytest.mark.wasm_quiet_is_a_hang
def test_quiet(wasm_scheduler, guest):
    wasm_scheduler.run(guest("exit3"))

@pytest.mark.wasm_exit_code(0)
@pytest.mark.wasm_no_hang
def test_builtin_first(wasm_scheduler, guest):
    wasm_scheduler.run(guest("park"))
''')
    result = wasm_project.runpytest_subprocess("--strict-markers", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines([
        "*_ test_forbidden_code _*",
        "E   *.GuestCheckError: wasm_exit_code: exit code 3 is forbidden",
        "*_ test_quiet _*",
        "E   *.GuestHangError: wasm_quiet_is_a_hang: the guest said nothing",
        # both checks judge the deadlock; the plugin's marker is reported first, as before
        "*_ test_builtin_first _*",
        "E   *.GuestHangError: wasm_no_hang: a guest execution deadlocked",
    ])
    assert "WasmconcWarning" not in result.stdout.str()


def test_replacing_a_plugin_check_is_said_in_the_session_unless_replace_is_passed(
        wasm_project: pytest.Pytester) -> None:
    wasm_project.makeconftest(wasm_project.path.joinpath("conftest.py").read_text() + '''
from pytest_wasmconc.pytest_layer import register_check
from pytest_wasmconc.runtime.extensions import Check

class Lenient(Check):
    def __init__(self, item, mark):
        pass

register_check("wasm_no_hang", Lenient)
''')
    wasm_project.makepyfile('''
import pytest

@pytest.mark.wasm_no_hang
def test_deadlock_passes_under_the_replacement(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("park"), expect="deadlock").status == "deadlock"
''')
    result = wasm_project.runpytest_subprocess(timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "*WasmconcWarning: register_check('wasm_no_hang', ...) replaces the plugin's own check of "
        "@pytest.mark.wasm_no_hang; pass replace=True if that is meant*",
    ])

    conftest = wasm_project.path / "conftest.py"
    conftest.write_text(conftest.read_text().replace('register_check("wasm_no_hang", Lenient)',
                                                     'register_check("wasm_no_hang", Lenient, replace=True)'))
    result = wasm_project.runpytest_subprocess(timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=1)
    assert "replaces" not in result.stdout.str()


def test_a_broken_user_check_fails_its_test_with_one_line_saying_what_is_wrong(wasm_project: pytest.Pytester) -> None:
    wasm_project.makeconftest(wasm_project.path.joinpath("conftest.py").read_text() + '''
from pytest_wasmconc.pytest_layer import register_check
from pytest_wasmconc.runtime.extensions import Check

class SaysOops(Check):
    def __init__(self, item, mark):
        pass
    def inspect(self, outcome):
        return "oops"

register_check("wasm_not_a_check", lambda item, mark: "not a check")
register_check("wasm_says_oops", SaysOops)
''')
    wasm_project.makepyfile('''
import pytest

@pytest.mark.wasm_not_a_check
def test_factory(wasm_scheduler, guest):
    wasm_scheduler.run(guest("hello"))

@pytest.mark.wasm_says_oops
def test_inspect(wasm_scheduler, guest):
    wasm_scheduler.run(guest("hello"))
''')
    result = wasm_project.runpytest_subprocess(timeout=CHILD_LIMIT_S)
    result.assert_outcomes(errors=1, failed=1)
    result.stdout.fnmatch_lines_random([
        "*@pytest.mark.wasm_not_a_check: its registered factory returned 'not a check', not a pytest_wasmconc Check",
        "E*TypeError: @pytest.mark.wasm_says_oops: its check's inspect() returned 'oops'; expected a "
        "pytest_wasmconc CheckFailure or None",
    ])


def test_a_check_written_for_0_1_still_runs_with_a_deprecation_warning(wasm_project: pytest.Pytester) -> None:
    # 0.1's GuestCheck: duck-typed, `inspect` returns the exception; `adjust` and `host_functions` are honoured.
    wasm_project.makeconftest(wasm_project.path.joinpath("conftest.py").read_text() + '''
from pytest_wasmconc.pytest_layer import GuestCheckError, register_check
from pytest_wasmconc.runtime import HostFunction

class OldCheck:
    def __init__(self, item, mark):
        self.calls = 0
    def adjust(self, settings):
        return settings.with_(seed=4242)
    def host_functions(self):
        def ping(call):
            self.calls += 1
        return [HostFunction("old", "ping", (), (), ping)]
    def inspect(self, outcome):
        return GuestCheckError(f"pinged {self.calls} times") if self.calls else None

register_check("wasm_old_check", OldCheck)
''')
    wasm_project.makepyfile('''
import pytest, wasmtime

PING = wasmtime.wat2wasm("""(module (import "old" "ping" (func $p)) (memory (export "memory") 1)
  (func (export "_start") (call $p) (call $p)))""")

@pytest.mark.wasm_old_check
def test_old(wasm_scheduler):
    assert wasm_scheduler.settings.seed == 4242
    wasm_scheduler.run(PING)
''')
    result = wasm_project.runpytest_subprocess(timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*GuestCheckError: pinged 2 times*",
        "*DeprecationWarning: @pytest.mark.wasm_old_check: OldCheck is a 0.1 GuestCheck; derive it from "
        "pytest_wasmconc.runtime.extensions.Check*",
    ])
