"""Exceptions a test sees from the wasm fixtures."""

from __future__ import annotations

__all__ = [
    "GuestCheckError", "GuestHangError", "GuestLoadError", "GuestOutcomeError", "WasmGuestFailure", "WasmconcWarning",
]

import pytest


class WasmGuestFailure(AssertionError):
    """A guest execution broke an expectation the test declared with a marker."""


class GuestHangError(WasmGuestFailure):
    """A guest deadlocked or hung in a test marked `wasm_no_hang`."""


class GuestCheckError(WasmGuestFailure):
    """A marker's check (lock order, stream sequence, ...) failed on a guest execution."""


class GuestOutcomeError(WasmGuestFailure):
    """A guest execution of `wasm_scheduler.run()`/`explore()` ended otherwise than the call expected
    (by default: an exit with code 0; `expect=`, `expect_exit=`; `check=False` returns the outcome instead)."""


class GuestLoadError(Exception):
    """The guest or its WASI world cannot be set up (bad module, bad argument, bad setting)."""


class WasmconcWarning(pytest.PytestWarning):
    """Something about a wasm test the user should know but that does not fail it."""


# Tracebacks name exceptions by module: show the one users import them from.
for _cls in (WasmGuestFailure, GuestHangError, GuestCheckError, GuestOutcomeError, GuestLoadError, WasmconcWarning):
    _cls.__module__ = "pytest_wasmconc.plugin"
