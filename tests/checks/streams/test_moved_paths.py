"""0.1's `pytest_wasmconc.streams` imports for one release: the check from checks/streams/, streams from wasi/p2/."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator

import pytest
from child_processes import CHILD_LIMIT_S

from pytest_wasmconc.checks import streams as check
from pytest_wasmconc.wasi import p2

OLD = [
    ("pytest_wasmconc.streams", "pytest_wasmconc.checks.streams"),
    ("pytest_wasmconc.streams.checker", "pytest_wasmconc.checks.streams.checker"),
    ("pytest_wasmconc.streams.sequence", "pytest_wasmconc.checks.streams.sequence"),
    ("pytest_wasmconc.streams.report", "pytest_wasmconc.checks.streams.report"),
    ("pytest_wasmconc.streams.extension", "pytest_wasmconc.checks.streams.extension"),
    ("pytest_wasmconc.streams.model", "pytest_wasmconc.wasi.p2.model"),
    ("pytest_wasmconc.streams.core", "pytest_wasmconc.wasi.p2.core"),
    ("pytest_wasmconc.streams.wasi2", "pytest_wasmconc.wasi.p2.host"),
]


@pytest.fixture
def fresh_aliases(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The aliases as on first import (the CLI may have imported some already): each warns once."""
    for old, _ in OLD:
        monkeypatch.delitem(sys.modules, old, raising=False)
    yield


def test_from_the_old_package_the_names_are_the_new_objects(fresh_aliases: None) -> None:
    with pytest.warns(DeprecationWarning, match=r"pytest_wasmconc.streams moved to pytest_wasmconc.checks.streams; "
                                                r"the old path goes away in the next release"):
        from pytest_wasmconc.streams import ProtocolChecker, StreamCheck, StreamConfig, StreamWorld, verdict_of
    assert StreamWorld is p2.StreamWorld and StreamConfig is p2.StreamConfig
    assert (StreamCheck, ProtocolChecker, verdict_of) == (check.StreamCheck, check.ProtocolChecker, check.verdict_of)


@pytest.mark.parametrize(("old", "new"), OLD[1:])
def test_each_old_module_forwards_to_its_new_home_with_a_deprecation_warning(
        fresh_aliases: None, old: str, new: str) -> None:
    with pytest.warns(DeprecationWarning) as warned:  # its package's warning too
        alias = importlib.import_module(old)
    assert f"{old} moved to {new}; the old path goes away in the next release" in [
        str(w.message).split(" (")[0] for w in warned]
    home = importlib.import_module(new)
    assert alias is not home and alias.__all__ == home.__all__
    for name in home.__all__:
        assert getattr(alias, name) is getattr(home, name)


def test_the_names_old_code_imported_from_old_modules_are_still_there(fresh_aliases: None) -> None:
    with pytest.warns(DeprecationWarning):
        from pytest_wasmconc.streams.checker import BLOCKING_WRITE_LIMIT, DEFAULT_BUSY_POLL_LIMIT, Event
        from pytest_wasmconc.streams.extension import echo_sinks
        from pytest_wasmconc.streams.model import OutputStream, Pollable, StreamError
        from pytest_wasmconc.streams.wasi2 import Own, Variant, Wasi2Host
    assert (BLOCKING_WRITE_LIMIT, DEFAULT_BUSY_POLL_LIMIT) == (4096, 3)
    assert Event is p2.Event and echo_sinks is p2.echo_sinks and StreamError is p2.StreamError
    assert OutputStream.__module__ == Pollable.__module__ == "pytest_wasmconc.wasi.p2.stream"
    assert Wasi2Host is p2.Wasi2Host and Own.__name__ == "Own" and Variant.__name__ == "Variant"


def test_the_new_paths_import_without_a_warning() -> None:
    code = ("import warnings; warnings.simplefilter('error')\n"
            "import pytest_wasmconc.checks.streams, pytest_wasmconc.wasi.p2, pytest_wasmconc.pytest_layer.guards\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=CHILD_LIMIT_S)
    assert done.returncode == 0, done.stderr
