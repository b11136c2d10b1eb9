"""Errors a user can act on. Each says what is wrong in one line."""

from __future__ import annotations

__all__ = ["ConfigError", "ModuleError", "ReplayError", "WasmconcError"]


class WasmconcError(Exception):
    """Base of every error the runtime reports to a user (CLI exit 2, pytest usage error)."""


class ModuleError(WasmconcError):
    """The guest cannot be loaded: not wasm, unsupported, missing exports, unknown imports."""


class ConfigError(WasmconcError, ValueError):
    """A setting or argument is invalid: a usage error (also a ValueError, as Python's own bad arguments are)."""


class ReplayError(WasmconcError):
    """A replay token cannot be used here (malformed, other wasmtime, other configuration)."""
