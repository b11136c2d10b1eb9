"""The pytest front end of pytest-wasmconc (entry point `pytest11: wasmconc`).

Thin by design: hooks and fixtures here, the logic in `pytest_wasmconc.pytest_layer`.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from typing import Any

import pytest
import wasmtime

from .pytest_layer import (
    crashlog,
    distributed,
    guards,
    hardexit,
    markers,
    options,
    precedence,
    reporting,
    timeouts,
)
from .pytest_layer.errors import (
    GuestCheckError,
    GuestHangError,
    GuestLoadError,
    WasmconcWarning,
    WasmGuestFailure,
)
from .pytest_layer.sandbox import WasiSandbox
from .pytest_layer.scheduler import Shard, WasmScheduler
from .pytest_layer.state import STATE_KEY, new_state, state_of
from .runtime import EngineSettings, ThreadAffineStore, engine_for, traphandlers
from .runtime.hostsync import Lock

# The WASI host every guest run needs, imported with the plugin rather than
# inside the first test that runs a guest (its import is tens of milliseconds
# where bytecode is not cached, which the first test's timing and its
# pytest-timeout budget would otherwise carry). After .runtime: wasi imports it.
from . import wasi as _wasi  # noqa: E402, F401  isort: skip

_UNLIMITED = 1 << 62

__all__ = [
    "GuestCheckError", "GuestHangError", "GuestLoadError", "WasiSandbox", "WasmGuestFailure", "WasmScheduler",
    "WasmconcWarning",
]


# -- configuration -----------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


@pytest.hookimpl(trylast=True)  # after xdist, so a worker knows it is one
def pytest_configure(config: pytest.Config) -> None:
    markers.register_markers(config)
    opts = options.read_options(config, shared=distributed.shared_seed(config))
    config.stash[STATE_KEY] = new_state(opts, worker_count=distributed.worker_count(config),
                                        crash_dir=distributed.crash_dir(config))
    if config.pluginmanager.hasplugin("xdist") and distributed.worker_input(config) is None:
        config.pluginmanager.register(distributed.XdistHooks(config), "wasmconc-xdist")
    crashlog.configure(config, opts.crash_log.value)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return reporting.header_lines(state_of(config).options)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    distributed.parametrize_shards(metafunc)


def pytest_runtest_setup(item: pytest.Item) -> None:
    # An in-process pytester run (its faulthandler teardown) or a test's own
    # signal handler may have displaced Wasmtime's trap handlers; a guest trap
    # would then kill the worker.
    traphandlers.ensure()


# -- pytest-timeout ------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    timeouts.record_timer(item, settings)
    method = settings.method
    if method == "signal" and threading.current_thread() is not threading.main_thread():
        method = "thread"  # as pytest-timeout itself does
    if method != "thread":
        return None  # pytest-timeout's SIGALRM: it runs between the scheduler's polls
    timeouts.start_thread_timer(item, settings, lambda: hardexit.write_hard_exit_note(item, settings))
    return True


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> None:
    timeouts.clear_timer(item)


# -- reports ---------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and call.when != "teardown":
        reporting.report_failure(item, report, state_of(item.config).options.trace_dir.value)
    return report


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def wasm_engine(pytestconfig: pytest.Config) -> wasmtime.Engine:
    """The engine of the session's --wasm-preempt mode (one per worker process)."""
    return engine_for(EngineSettings.for_mode(state_of(pytestconfig).options.preempt.value))


@pytest.fixture
def wasm_store(request: pytest.FixtureRequest, wasm_engine: wasmtime.Engine) -> Iterator[ThreadAffineStore]:
    """A wasmtime Store usable only from the thread that made it, ready for plain (sync) calls."""
    store = ThreadAffineStore(wasm_engine)
    settings = EngineSettings.for_mode(state_of(request.config).options.preempt.value)
    if settings.fuel:
        store.set_fuel(_UNLIMITED)  # the engine meters fuel: give plain calls all they need
    if settings.epochs:
        store.set_epoch_deadline(_UNLIMITED)  # and no epoch interrupt unless the test sets one
    yield store


@pytest.fixture
def wasi_sandbox(tmp_path: Any) -> WasiSandbox:
    """A WASI world in the test's tmp_path: `.root` is the guest's "."; more preopens with `.preopen()`."""
    return WasiSandbox(tmp_path / "wasi")


@pytest.fixture
def wasm_shard() -> Shard:
    """Which shard of each exploration this test item runs (wasm_settings(shards=...))."""
    return Shard()


@pytest.fixture
def wasm_host_lock() -> Lock:
    """A host lock for the test's host functions (`pytest_wasmconc.host.Lock("host lock")`): it parks
    guest threads, takes part in deadlock detection and, under wasm_no_lock_inversion, in the
    lock-order graph. More locks: `pytest_wasmconc.host.Lock(name)`."""
    return Lock("host lock")


@pytest.fixture
def wasm_imports() -> Any:
    """User host functions for every wasm_scheduler run of a test: override it to return
    {"module": {"name": callable}} (or a function returning that, called per execution)."""
    return {}


@pytest.fixture
def wasm_scheduler(request: pytest.FixtureRequest, wasm_shard: Shard, wasm_imports: Any) -> WasmScheduler:
    """Runs and explores guests under the test's mode, policy, seed and marker checks."""
    item = request.node
    state = state_of(request.config)
    misuse = None
    try:
        plan = precedence.resolve(state.options, markers.settings_marker(item), markers.no_hang_marker(item))
        checks = guards.checks_for(item)
    except markers.MarkerError as exc:
        misuse = str(exc)
    if misuse is not None:  # failed outside the handler: no chained "during handling" traceback
        pytest.fail(misuse, pytrace=False)
    return WasmScheduler(item, crashlog.logged_runner(item, state.runner), plan, checks, wasm_shard,
                         imports=wasm_imports)
