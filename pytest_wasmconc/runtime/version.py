"""The installed wasmtime-py version, read without importing wasmtime (replay tokens and headers name it)."""

from __future__ import annotations

import functools
from importlib import metadata

__all__ = ["wasmtime_version"]


@functools.cache
def wasmtime_version() -> str:
    try:
        return metadata.version("wasmtime")
    except metadata.PackageNotFoundError:  # pragma: no cover - vendored installs
        return "unknown"
