"""`wasm_no_data_race`: fail a test whose guests have a data race.

One `RaceCheck` (checks/races/) per test: every execution of the test is
checked, and the test fails with the first one that made two unordered
conflicting accesses to shared memory (both accesses, their threads and
backtraces in the message). Each pair of sites is reported once per test.

    @pytest.mark.wasm_no_data_race
    @pytest.mark.wasm_no_data_race(suppress=["legacy_.*"])   # functions (whole-name regexes) left unchecked
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from ..checks.races import RaceCheck, SuppressionError
from .markers import MarkerError

__all__ = ["MARKER", "make_check"]

MARKER = "wasm_no_data_race"


def make_check(item: pytest.Item, mark: pytest.Mark) -> RaceCheck:
    """The check of a test marked `wasm_no_data_race` (MarkerError: misused arguments)."""
    if mark.args:
        raise MarkerError(f"@pytest.mark.{MARKER} takes only keyword arguments (suppress=)")
    unknown = set(mark.kwargs) - {"suppress"}
    if unknown:
        raise MarkerError(f"@pytest.mark.{MARKER} got an unknown argument {min(unknown)!r} (valid: suppress)")
    suppress: Iterable[str] = mark.kwargs.get("suppress") or ()
    try:
        return RaceCheck(suppress)
    except SuppressionError as exc:
        raise MarkerError(f"@pytest.mark.{MARKER}: {exc}") from None
