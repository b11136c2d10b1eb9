"""The plugin loads in every pytest session of an environment where it is installed: it imports the
runtime lazily, and a session with wasm tests still imports it before its first test starts."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from child_processes import CHILD_LIMIT_S

# What the plugin must not load with itself: wasmtime and everything built on it. The package's
# import registers its WASI worlds with the runtime: that registry (and the errors it raises) is light.
_HEAVY = ("wasmtime", "pytest_wasmconc.runtime", "pytest_wasmconc.wasi", "pytest_wasmconc.checks",
          "pytest_wasmconc.session")
_LIGHT = ["pytest_wasmconc.runtime", "pytest_wasmconc.runtime.errors", "pytest_wasmconc.runtime.worlds"]


def _loaded_after(statement: str) -> list[str]:
    code = textwrap.dedent(f"""
        import sys
        {statement}
        heavy = {_HEAVY!r}
        print(sorted(m for m in sys.modules if m in heavy or m.startswith(tuple(h + "." for h in heavy))))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=CHILD_LIMIT_S)
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip().splitlines()[-1])  # a printed list of str


def test_importing_the_plugin_imports_neither_wasmtime_nor_the_runtime() -> None:
    assert _loaded_after("import pytest_wasmconc.plugin") == _LIGHT


def test_importing_the_pytest_layer_package_imports_neither_wasmtime_nor_the_runtime() -> None:
    assert _loaded_after("import pytest_wasmconc.pytest_layer") == _LIGHT


def test_old_plugin_import_paths_resolve_on_first_use() -> None:
    from pytest_wasmconc import plugin
    from pytest_wasmconc.pytest_layer.sandbox import WasiSandbox
    from pytest_wasmconc.pytest_layer.scheduler import WasmScheduler

    assert plugin.WasmScheduler is WasmScheduler
    assert plugin.WasiSandbox is WasiSandbox
    with pytest.raises(AttributeError):
        plugin.NoSuchName  # noqa: B018


def test_a_session_with_wasm_tests_imports_the_wasi_host_before_its_first_test(pytester: pytest.Pytester) -> None:
    # The first test uses no wasm fixture: it only looks. The WASI host's import must not land
    # in whichever test runs a guest first (its timing, its pytest-timeout budget).
    pytester.makepyfile(test_order="""
        import sys

        def test_first_runs_no_guest():
            assert "pytest_wasmconc.wasi" in sys.modules
            assert "pytest_wasmconc.runtime" in sys.modules

        def test_second_has_the_scheduler(wasm_scheduler):
            assert wasm_scheduler is not None
    """)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=2)


def test_a_failing_test_without_guests_gets_no_guest_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="""
        def test_fails():
            assert 1 == 2
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    assert "wasm guest report" not in result.stdout.str()


def test_a_session_without_wasm_tests_never_loads_wasmtime(pytester: pytest.Pytester) -> None:
    # The plugin's options, header and hooks run in every session; none of them may
    # need the runtime unless a test uses a wasm fixture.
    pytester.makepyfile(test_plain="""
        import sys

        def test_nothing_wasm_was_loaded():
            assert "wasmtime" not in sys.modules
            assert "pytest_wasmconc.runtime.runner" not in sys.modules
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=1)


def test_the_runtime_package_lists_exactly_the_names_it_can_load() -> None:
    import pytest_wasmconc.runtime as runtime

    assert sorted(runtime.__all__) == sorted(name for names in runtime._HOMES.values() for name in names)
    for name in runtime.__all__:
        assert getattr(runtime, name) is not None
    assert _loaded_after("import pytest_wasmconc.runtime.settings, pytest_wasmconc.runtime.token") == [
        "pytest_wasmconc.runtime", "pytest_wasmconc.runtime.errors", "pytest_wasmconc.runtime.settings",
        "pytest_wasmconc.runtime.token", "pytest_wasmconc.runtime.version", "pytest_wasmconc.runtime.worlds"]
