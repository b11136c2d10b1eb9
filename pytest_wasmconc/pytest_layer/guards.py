"""Marker checks: what a marker adds to, and asks of, every guest execution of a test.

`wasm_no_hang` lives here. `wasm_no_lock_inversion` and `wasm_stream_sequence`
are wired the same way and get their checks from the `checks` package: a
check module registers a factory with `register_check(marker, factory)`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Protocol

import pytest

from ..runtime import HostFunction, Outcome, RunSettings, Status
from ..runtime.extensions import Extension
from .errors import GuestHangError, WasmconcWarning, WasmGuestFailure
from .markers import NoHang, no_hang_marker

__all__ = ["GuestCheck", "NoHangCheck", "checks_for", "register_check"]


class GuestCheck(Protocol):
    """One marker's contribution to a test's guest executions."""

    def adjust(self, settings: RunSettings) -> RunSettings:
        """Settings for each execution (e.g. a step bound)."""

    def host_functions(self) -> Sequence[HostFunction]:
        """Extra imports the check observes the guest through."""

    def extensions(self) -> Sequence[Extension]:
        """Runtime extensions attached to each execution (runtime/extensions.py)."""

    def inspect(self, outcome: Outcome) -> WasmGuestFailure | None:
        """The failure this outcome is, or None."""


CheckFactory = Callable[[pytest.Item, pytest.Mark], GuestCheck]
_FACTORIES: dict[str, CheckFactory] = {}


def register_check(marker: str, factory: CheckFactory, *, builtin: bool = False) -> None:
    """Make `marker` on a test add `factory(item, mark)` to its guest executions.

    `builtin`: the plugin's own check, which a check registered by the user (a conftest) overrides.
    """
    if builtin and _FACTORIES.get(marker, _NotAvailable) is not _NotAvailable:
        return
    _FACTORIES[marker] = factory


class NoHangCheck:
    """`wasm_no_hang`: a deadlock or a hang fails the test with the guest report."""

    def __init__(self, bounds: NoHang) -> None:
        self.bounds = bounds

    def adjust(self, settings: RunSettings) -> RunSettings:
        return settings  # the bounds are part of the test plan (see precedence.resolve)

    def host_functions(self) -> Sequence[HostFunction]:
        return ()

    def extensions(self) -> Sequence[Extension]:
        return ()

    def inspect(self, outcome: Outcome) -> WasmGuestFailure | None:
        if outcome.status is Status.DEADLOCK:
            return GuestHangError("wasm_no_hang: a guest execution deadlocked")
        if outcome.status is Status.HANG:
            return GuestHangError("wasm_no_hang: a guest execution hung")
        return None


class _NotAvailable:
    """A marker whose check has not landed yet: a warning, so that it is never silently ignored."""

    def __init__(self, item: pytest.Item, mark: pytest.Mark) -> None:
        warnings.warn(WasmconcWarning(
            f"@pytest.mark.{mark.name}: this version of pytest-wasmconc does not implement the check yet; "
            "the marker has no effect"), stacklevel=2)

    def adjust(self, settings: RunSettings) -> RunSettings:
        return settings

    def host_functions(self) -> Sequence[HostFunction]:
        return ()

    def extensions(self) -> Sequence[Extension]:
        return ()

    def inspect(self, outcome: Outcome) -> WasmGuestFailure | None:
        return None


def _no_hang(item: pytest.Item, mark: pytest.Mark) -> GuestCheck:
    bounds = no_hang_marker(item)
    assert bounds is not None
    return NoHangCheck(bounds)


register_check("wasm_no_hang", _no_hang)
for _name in ("wasm_no_lock_inversion", "wasm_stream_sequence"):
    _FACTORIES.setdefault(_name, _NotAvailable)


def _load_check_modules() -> None:
    """Import the checks package so its modules can register (it is optional while it grows)."""
    try:
        import pytest_wasmconc.checks  # noqa: F401
    except ImportError:
        pass
    from . import (
        lock_inversion,  # noqa: F401  (registers wasm_no_lock_inversion)
        stream_sequence,  # noqa: F401  (registers wasm_stream_sequence)
    )


def checks_for(item: pytest.Item) -> list[GuestCheck]:
    """The checks the test's markers ask for, in marker order."""
    _load_check_modules()
    out: list[GuestCheck] = []
    for name, factory in _FACTORIES.items():
        mark = item.get_closest_marker(name)
        if mark is not None:
            out.append(factory(item, mark))
    return out

