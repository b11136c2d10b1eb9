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
from typing import TYPE_CHECKING, Any

import pytest

from ..checks.lock_order import LockOrderCheck, lock_order_of
from ..instrument.locks import DEFAULT_LOCK_TABLE, LockFunction
from ..runtime.extensions import Attachment, Check, CheckFailure
from .markers import MarkerError

if TYPE_CHECKING:
    from ..instrument import ModuleRewriter
    from ..runtime.loading.program import Program
    from ..runtime.outcome import Outcome
    from ..runtime.settings import RunSettings

__all__ = ["LockInversionCheck", "make_check"]

MARKER = "wasm_no_lock_inversion"


class LockInversionCheck(Check):
    """The marker's check: the test's one lock-order check, attached to every execution, judged after each."""

    def __init__(self, table: Sequence[LockFunction] | None = None) -> None:
        self.check = LockOrderCheck(table)
        self.pass_key = self.check.pass_key

    def instrument(self, rw: ModuleRewriter, names: dict[int, str]) -> Any:
        return self.check.instrument(rw, names)

    def attach(self, program: Program, settings: RunSettings) -> Attachment:
        return self.check.attach(program, settings)

    def inspect(self, outcome: Outcome) -> CheckFailure | None:
        check = lock_order_of(outcome)
        if check is not self.check or not check.failed:
            return None
        return CheckFailure(check.report())


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


def make_check(item: pytest.Item, mark: pytest.Mark) -> LockInversionCheck:
    """The check of a test marked `wasm_no_lock_inversion` (MarkerError: misused arguments)."""
    return LockInversionCheck(_table(mark))
