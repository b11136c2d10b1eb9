"""A guest trap reaches Wasmtime even after something replaced its signal handlers.

Each case runs in a subprocess: without the guard, the second trap kills the
process with SIGILL/SIGSEGV (that is how an xdist worker died after an
in-process pytester run had torn down pytest's faulthandler).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from child_processes import CHILD_LIMIT_S

# `unreachable` is a ud2 (SIGILL); the load past the one-page memory faults on a guard page (SIGSEGV).
PRELUDE = textwrap.dedent("""
    import faulthandler, signal, sys, wasmtime
    from pytest_wasmconc.runtime import Runner, RunSettings, Status, traphandlers
    UNREACHABLE = wasmtime.wat2wasm('(module (memory (export "memory") 1) (func (export "_start") unreachable))')
    OUT_OF_BOUNDS = wasmtime.wat2wasm(
        '(module (memory (export "memory") 1) (func (export "_start") (drop (i32.load (i32.const 70000)))))')
    runner = Runner(RunSettings())

    def trap(guest):
        o = runner.run(guest)
        assert o.status is Status.TRAPPED, o.report
        return o.trap_message
""")


def _run(body: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body)],
                          capture_output=True, text=True, timeout=CHILD_LIMIT_S)


# Ways a trap signal handler gets replaced after Wasmtime installed its own.
DISPLACEMENTS = {
    # What pytest's faulthandler plugin does when an in-process pytester run ends.
    "faulthandler-disable-enable": "faulthandler.enable(); trap(UNREACHABLE); faulthandler.disable(); "
                                   "faulthandler.enable()",
    "python-signal-handlers": "trap(OUT_OF_BOUNDS); signal.signal(signal.SIGSEGV, signal.SIG_DFL); "
                              "signal.signal(signal.SIGILL, signal.SIG_DFL)",
}


@pytest.mark.parametrize("displace", DISPLACEMENTS.values(), ids=DISPLACEMENTS.keys())
def test_a_trap_after_wasmtimes_handlers_were_replaced_is_a_trapped_outcome(displace: str) -> None:
    proc = _run(displace + textwrap.dedent("""
        assert "unreachable" in trap(UNREACHABLE)
        assert "out of bounds" in trap(OUT_OF_BOUNDS)
        # Windows traps through vectored exception handlers: nothing to restore there.
        assert traphandlers.restored_count() >= (0 if sys.platform == "win32" else 1)
        print("survived")
    """))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "survived"


def test_the_guard_only_restores_what_was_displaced() -> None:
    proc = _run("""
        trap(UNREACHABLE)
        before = traphandlers.restored_count()
        for _ in range(3):
            trap(UNREACHABLE)
        assert traphandlers.restored_count() == before, "nothing displaced them: nothing to restore"
        print("ok")
    """)
    assert proc.returncode == 0, proc.stderr


def test_a_plain_wasmtime_trap_in_a_test_after_an_in_process_pytester_run_is_caught(pytester: pytest.Pytester) -> None:
    # The plugin restores the handlers before each test, so even a test making
    # its own sync calls on the wasm_store fixture gets a wasmtime.Trap.
    pytester.makeconftest("pytest_plugins = ['pytester']")
    pytester.makepyfile(test_inner="""
        import pytest, wasmtime

        def test_1_an_in_process_pytest_run(pytester, wasm_engine):  # the engine exists first
            pytester.makepyfile("def test_nothing(): pass")
            pytester.runpytest_inprocess("-p", "no:wasmconc").assert_outcomes(passed=1)

        def test_2_a_trap_on_the_wasm_store(wasm_engine, wasm_store):
            module = wasmtime.Module(wasm_engine, wasmtime.wat2wasm('(module (func (export "f") unreachable))'))
            f = wasmtime.Instance(wasm_store, module, []).exports(wasm_store)["f"]
            with pytest.raises(wasmtime.Trap):
                f(wasm_store)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=2)
