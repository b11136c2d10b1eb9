"""The pytest front end of pytest-wasmconc (entry point `pytest11: wasmconc`).

Thin by design: hooks and fixtures here, the logic in `pytest_wasmconc.pytest_layer`.

Loaded by every pytest process of an environment where the package is installed,
wasm tests or not: so at load time it imports pytest and the exception classes
only. wasmtime, the runtime, the WASI host and the pytest layer's modules are
imported inside the hooks and fixtures that need them (as Hypothesis' plugin
does); tests/plugin/test_lazy_import.py pins it and benchmarks/startup.py
measures it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

# Cheap (pytest only), and users import these from here.
from .pytest_layer.errors import (
    GuestCheckError,
    GuestHangError,
    GuestLoadError,
    GuestOutcomeError,
    WasmconcWarning,
    WasmGuestFailure,
)

if TYPE_CHECKING:
    import wasmtime

    from .pytest_layer.sandbox import WasiSandbox
    from .pytest_layer.scheduler import Shard, WasmScheduler
    from .runtime import ThreadAffineStore
    from .runtime.userhost.sync import Lock

_UNLIMITED = 1 << 62

# The fixtures that run or load guests: a collected test using one of them makes
# the session warm up the runtime before the first test starts (see below).
_WASM_FIXTURES = frozenset({"wasm_engine", "wasm_store", "wasm_scheduler", "wasm_host_lock", "wasi_sandbox"})

__all__ = [
    "GuestCheckError", "GuestHangError", "GuestLoadError", "GuestOutcomeError", "WasiSandbox", "WasmGuestFailure",
    "WasmScheduler", "WasmconcWarning",
]


def __getattr__(name: str) -> Any:
    # Old import paths (`from pytest_wasmconc.plugin import WasmScheduler`) keep
    # working without loading the runtime with the plugin. No `__dir__` on
    # purpose: pluggy and pytest's fixture scan call getattr on every name dir() lists.
    if name == "WasiSandbox":
        from .pytest_layer.sandbox import WasiSandbox
        return WasiSandbox
    if name == "WasmScheduler":
        from .pytest_layer.scheduler import WasmScheduler
        return WasmScheduler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- configuration -----------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    from .pytest_layer import options

    options.add_options(parser)


@pytest.hookimpl(trylast=True)  # after xdist, so a worker knows it is one
def pytest_configure(config: pytest.Config) -> None:
    from .pytest_layer import crashlog, distributed, markers, memory, options
    from .pytest_layer.state import STATE_KEY, new_state

    markers.register_markers(config)
    opts = options.read_options(config, shared=distributed.shared_seed(config),
                                last_seed=lambda: memory.last_seed(config))
    config.stash[STATE_KEY] = new_state(opts, worker_count=distributed.worker_count(config),
                                        crash_dir=distributed.crash_dir(config))
    main_process = distributed.worker_input(config) is None
    if config.pluginmanager.hasplugin("xdist") and main_process:
        config.pluginmanager.register(distributed.XdistHooks(config), "wasmconc-xdist")
    if main_process:  # the one that sees every report (the xdist controller): it writes the cache and summaries
        config.pluginmanager.register(memory.MemoryWriter(config, opts.failure_memory.value, opts.seed.value),
                                      "wasmconc-memory")
        if config.getoption("wasm_statistics", False):
            from .pytest_layer.statistics import StatisticsReporter

            config.pluginmanager.register(StatisticsReporter(), "wasmconc-statistics")
    crashlog.configure(config, opts.crash_log.value)


def pytest_report_header(config: pytest.Config) -> list[str]:
    from .pytest_layer import reporting
    from .pytest_layer.state import state_of

    return reporting.header_lines(state_of(config).options)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "wasm_shard" not in metafunc.fixturenames:
        return  # the common case decided without importing anything
    from .pytest_layer import distributed

    distributed.parametrize_shards(metafunc)


def pytest_collection_finish(session: pytest.Session) -> None:
    # The runtime and the WASI host every guest run needs are imported here, once
    # wasm tests were collected, not inside the first test that runs a guest:
    # their import is tens of milliseconds (more where bytecode is not cached),
    # which that test's timing and its pytest-timeout budget would otherwise carry.
    if session.config.option.collectonly:
        return
    if any(_WASM_FIXTURES.intersection(getattr(item, "fixturenames", ())) for item in session.items):
        from . import runtime  # noqa: F401
        from . import wasi  # noqa: F401  after .runtime: wasi imports it


def pytest_runtest_setup(item: pytest.Item) -> None:
    if "wasm_scheduler" not in getattr(item, "fixturenames", ()):
        from .pytest_layer import markers  # loaded at configure already

        markers.require_scheduler(item)
    # An in-process pytester run (its faulthandler teardown) or a test's own
    # signal handler may have displaced Wasmtime's trap handlers; a guest trap
    # would then kill the worker. Without wasmtime loaded there is none to restore.
    if "wasmtime" not in sys.modules:
        return
    from .runtime.wasmtime import traphandlers

    traphandlers.ensure()


# -- pytest-timeout ------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    from .pytest_layer import hardexit, timeouts

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
    from .pytest_layer import timeouts

    timeouts.clear_timer(item)


# -- reports ---------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when == "call" and "wasm_scheduler" in getattr(item, "fixturenames", ()):
        from .pytest_layer import reportdata

        reportdata.annotate(item, report, statistics_on=item.config.getoption("wasm_statistics", False))
    xfailed = report.skipped and hasattr(report, "wasxfail")  # an expected failure: its guest failed all the same
    if (report.failed or xfailed) and call.when != "teardown":
        from .pytest_layer import records

        if records.records_of(item):  # a test that ran no guest has nothing to add
            from .pytest_layer import reporting
            from .pytest_layer.state import state_of

            reporting.report_failure(item, report, state_of(item.config).options.trace_dir.value)
    elif report.passed and call.when == "call":
        from .pytest_layer.state import state_of

        options = state_of(item.config).options
        if options.trace_dir.value is not None and options.trace_schedules.value == "all":
            from .pytest_layer import records, reporting

            if records.records_of(item):
                reporting.report_timeline(item, report, options.trace_dir.value)
    return report


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def wasm_engine(pytestconfig: pytest.Config) -> wasmtime.Engine:
    """The engine of the session's --wasm-preempt mode (one per worker process)."""
    from .pytest_layer.state import state_of
    from .runtime import EngineSettings, engine_for

    return engine_for(EngineSettings.for_mode(state_of(pytestconfig).options.preempt.value))


@pytest.fixture
def wasm_store(request: pytest.FixtureRequest, wasm_engine: wasmtime.Engine) -> Iterator[ThreadAffineStore]:
    """A wasmtime Store usable only from the thread that made it, ready for plain (sync) calls."""
    from .pytest_layer.state import state_of
    from .runtime import EngineSettings, ThreadAffineStore

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
    from .pytest_layer.sandbox import WasiSandbox

    return WasiSandbox(tmp_path / "wasi")


@pytest.fixture
def wasm_shard() -> Shard:
    """Which shard of each exploration this test item runs (wasm_settings(shards=...))."""
    from .pytest_layer.scheduler import Shard

    return Shard()


@pytest.fixture
def wasm_host_lock() -> Lock:
    """A host lock for the test's host functions (`pytest_wasmconc.host.Lock("host lock")`): it parks
    guest threads, takes part in deadlock detection and, under wasm_no_lock_inversion, in the
    lock-order graph. More locks: `pytest_wasmconc.host.Lock(name)`."""
    from .runtime.userhost.sync import Lock

    return Lock("host lock")


@pytest.fixture
def wasm_imports() -> Any:
    """User host functions for every wasm_scheduler run of a test: override it to return
    {"module": {"name": callable}} (or a function returning that, called per execution)."""
    return {}


@pytest.fixture
def wasm_scheduler(request: pytest.FixtureRequest, wasm_shard: Shard, wasm_imports: Any) -> WasmScheduler:
    """Runs and explores guests under the test's mode, policy, seed and marker checks."""
    from .pytest_layer import crashrunner, guards, markers, memory, precedence
    from .pytest_layer.scheduler import WasmScheduler
    from .pytest_layer.state import state_of

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
    return WasmScheduler(item, crashrunner.logged_runner(item, state.runner), plan, checks, wasm_shard,
                         imports=wasm_imports, memory=memory.for_item(item))
