"""Marker checks written for 0.1's `GuestCheck` protocol, still run for one release with a DeprecationWarning.

0.1's checks were duck-typed objects with `inspect(outcome)` returning the
exception to raise (a `WasmGuestFailure`) and optionally `adjust(settings)`,
`host_functions()` and `extensions()`. They now derive from `Check`
(runtime/extensions.py) and return a `CheckFailure`; until then each keeps
working as it did. This module goes away with that release.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..runtime.extensions import Check, CheckAttachment, Extension
from .errors import WasmGuestFailure
from .marked import MarkedCheck, as_exception

if TYPE_CHECKING:
    from ..runtime.hostapi import HostFunction
    from ..runtime.loading.program import Program
    from ..runtime.outcome import Outcome
    from ..runtime.settings import RunSettings

__all__ = ["LegacyMarkedCheck", "adjusted", "is_legacy"]


def is_legacy(obj: object) -> bool:
    """A 0.1 GuestCheck: not a `Check`, but it has 0.1's `inspect`."""
    return not isinstance(obj, Check) and callable(getattr(obj, "inspect", None))


class _HostFunctions(CheckAttachment):
    def __init__(self, functions: Sequence[HostFunction]) -> None:
        self.functions = functions

    def host_functions(self) -> Sequence[HostFunction]:
        return self.functions


class _Adapter(Check):
    """Gives each execution the old check's `host_functions()`, as 0.1's scheduler did."""

    def __init__(self, old: Any) -> None:
        self.old = old

    def attach(self, program: Program, settings: RunSettings) -> _HostFunctions:
        method = getattr(self.old, "host_functions", None)
        return _HostFunctions(list(method()) if method is not None else [])


class LegacyMarkedCheck(MarkedCheck):
    """A 0.1 GuestCheck put on a test by its marker."""

    def __init__(self, marker: str, old: Any) -> None:
        warnings.warn(DeprecationWarning(
            f"@pytest.mark.{marker}: {type(old).__name__} is a 0.1 GuestCheck; derive it from "
            "pytest_wasmconc.runtime.extensions.Check and return a CheckFailure from inspect() "
            "(0.1 checks stop working in the next release)"), stacklevel=3)
        super().__init__(marker, _Adapter(old))
        self.old = old

    def extensions(self) -> list[Extension]:
        method = getattr(self.old, "extensions", None)
        return [self.check, *(method() if method is not None else ())]

    def failure(self, outcome: Outcome) -> WasmGuestFailure | None:
        found = self.old.inspect(outcome)
        if isinstance(found, WasmGuestFailure):
            return found  # 0.1: the exception to raise, as is
        return as_exception(self.marker, found)

    def adjust(self, settings: RunSettings) -> RunSettings:
        method = getattr(self.old, "adjust", None)
        return method(settings) if method is not None else settings


def adjusted(settings: RunSettings, checks: Iterable[MarkedCheck]) -> RunSettings:
    """The settings after the 0.1 checks' `adjust` (the checks of today do not change settings)."""
    for check in checks:
        if isinstance(check, LegacyMarkedCheck):
            settings = check.adjust(settings)
    return settings
