"""`wasm_no_lock_inversion`: fail a test whose guests take locks in inconsistent orders.

One `LockOrderCheck` (checks/lock_order.py) per test: its lock-order graph
spans every run and explored schedule of the test, so the test fails on the
first execution that completes a cycle, even when no execution deadlocked.

    @pytest.mark.wasm_no_lock_inversion
    @pytest.mark.wasm_no_lock_inversion(extra=[LockFunction("my_lock", "acquire"), ...])
    @pytest.mark.wasm_no_lock_inversion(table=[...])      # instead of the default table
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest

from ..checks.lock_order import LockOrderCheck, lock_order_of
from ..instrument.locks import DEFAULT_LOCK_TABLE, LockFunction
from ..runtime import HostFunction, Outcome, RunSettings
from ..runtime.extensions import Extension
from .errors import GuestCheckError, WasmGuestFailure
from .guards import GuestCheck, register_check
from .markers import MarkerError

__all__ = ["LockInversionCheck"]

MARKER = "wasm_no_lock_inversion"


class LockInversionCheck:
    """The marker's GuestCheck: attaches the test's lock-order check to every execution."""

    def __init__(self, table: Sequence[LockFunction] | None = None) -> None:
        self.check = LockOrderCheck(table)

    def adjust(self, settings: RunSettings) -> RunSettings:
        return settings

    def host_functions(self) -> Sequence[HostFunction]:
        return ()

    def extensions(self) -> Sequence[Extension]:
        return (self.check,)

    def inspect(self, outcome: Outcome) -> WasmGuestFailure | None:
        check = lock_order_of(outcome)
        if check is not self.check or not check.failed:
            return None
        return GuestCheckError(f"{MARKER}: {check.report()}")


def _table(mark: pytest.Mark) -> tuple[LockFunction, ...] | None:
    if mark.args:
        raise MarkerError(f"@pytest.mark.{MARKER} takes only keyword arguments (table=, extra=)")
    unknown = set(mark.kwargs) - {"table", "extra"}
    if unknown:
        raise MarkerError(f"@pytest.mark.{MARKER} got an unknown argument {min(unknown)!r} "
                          "(valid: table, extra)")
    table = mark.kwargs.get("table")
    extra = mark.kwargs.get("extra")
    if table is None and extra is None:
        return None
    for key, value in (("table", table), ("extra", extra)):
        if value is not None and (isinstance(value, (str, bytes, LockFunction))
                                  or not isinstance(value, Iterable)):
            raise MarkerError(f"@pytest.mark.{MARKER}({key}={value!r}): expected a list of "
                              "pytest_wasmconc.instrument.locks.LockFunction rows")
    rows = list(DEFAULT_LOCK_TABLE if table is None else table) if extra is None else \
        list(extra) + list(DEFAULT_LOCK_TABLE if table is None else table)
    for row in rows:
        if not isinstance(row, LockFunction):
            raise MarkerError(f"@pytest.mark.{MARKER}: table rows must be "
                              f"pytest_wasmconc.instrument.locks.LockFunction, got {row!r}")
    return tuple(rows)


def _factory(item: pytest.Item, mark: pytest.Mark) -> GuestCheck:
    return LockInversionCheck(_table(mark))  # a MarkerError fails the test (wasm_scheduler)


register_check(MARKER, _factory)
