"""pytest-xdist: one seed for all workers, shards of explorations, guest reports for crashed workers."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from .hardexit import read_crash_note
from .markers import MarkerError, shards_of
from .reporting import SECTION_TITLE
from .state import state_of

__all__ = ["XdistHooks", "parametrize_shards", "worker_count", "worker_input"]

_SEED = "wasm_seed"
_CRASH_DIR = "wasm_crash_dir"


def worker_input(config: pytest.Config) -> dict[str, Any] | None:
    """The controller's input to this worker, or None outside an xdist worker."""
    return getattr(config, "workerinput", None)


def shared_seed(config: pytest.Config) -> tuple[int, str] | None:
    wi = worker_input(config)
    if wi is None or _SEED not in wi:
        return None
    seed, source = wi[_SEED]
    return int(seed), str(source)


def crash_dir(config: pytest.Config) -> Path | None:
    wi = worker_input(config)
    if wi is None or not wi.get(_CRASH_DIR):
        return None
    return Path(wi[_CRASH_DIR])


def worker_count(config: pytest.Config) -> int:
    wi = worker_input(config)
    return int(wi.get("workercount", 1)) if wi is not None else 1


class XdistHooks:
    """Controller-side hooks (registered only when pytest-xdist is active)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.crash_dir: Path | None = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        options = state_of(self.config).options
        node.workerinput[_SEED] = (options.seed.value, options.seed.source)
        if self.crash_dir is None:
            self.crash_dir = Path(tempfile.mkdtemp(prefix="pytest-wasmconc-"))
        node.workerinput[_CRASH_DIR] = str(self.crash_dir)

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        note = read_crash_note(self.crash_dir, crashitem)
        if note is None:
            return
        report.longrepr = f"{note}\n\n({report.longrepr})"
        report.sections.append((SECTION_TITLE, note))

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.crash_dir is not None:
            shutil.rmtree(self.crash_dir, ignore_errors=True)


def parametrize_shards(metafunc: pytest.Metafunc) -> None:
    """Split a `wasm_settings(shards=...)` test into one item per shard of its explorations."""
    if "wasm_shard" not in metafunc.fixturenames:
        return
    try:
        shards = shards_of(metafunc.definition.get_closest_marker("wasm_settings"))
    except MarkerError:
        return  # one item; its wasm_scheduler setup fails with the message (not the whole module)
    state = state_of(metafunc.config)
    if shards is None or state.options.replay.value is not None:
        return  # a replay runs the one recorded schedule: no shards
    count = state.worker_count if shards == "auto" else int(shards)
    if count <= 1:
        return
    from .scheduler import Shard  # here: the scheduler module needs the runtime

    values = [Shard(i, count) for i in range(count)]
    metafunc.parametrize("wasm_shard", values, ids=[s.id for s in values])
