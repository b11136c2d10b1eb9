"""Fixtures of the plugin's own tests: a clean environment, pytester projects with guests."""

from __future__ import annotations

import os

import pytest
import wasmtime
from plugin_helpers import GUEST_CONFTEST, WAT_GUESTS


@pytest.fixture(autouse=True)
def _clean_wasm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner sessions see no PYTEST_WASM_* settings of the outer one; the compile cache stays shared."""
    for name in list(os.environ):
        if name.startswith("PYTEST_WASM_") and name != "PYTEST_WASM_CACHE_DIR":
            monkeypatch.delenv(name)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    monkeypatch.delenv("PYTEST_TIMEOUT", raising=False)


@pytest.fixture
def wasm_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory with guests/<name>.wasm for every WAT guest and a `guest(name)` fixture."""
    guests = pytester.path / "guests"
    guests.mkdir()
    for name, wat in WAT_GUESTS.items():
        (guests / f"{name}.wasm").write_bytes(wasmtime.wat2wasm(wat))
    pytester.makeconftest(GUEST_CONFTEST)
    return pytester
