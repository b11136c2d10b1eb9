"""The installed wasmtime-py version, read without importing wasmtime (replay tokens and headers name it)."""

from __future__ import annotations

import functools
from importlib import metadata

__all__ = ["SUPPORTED_WASMTIME_MAJORS", "wasmtime_version"]

# The wasmtime-py majors this release supports: the two latest (each new major
# within its month). pyproject.toml's range, tox.ini's environments and the pin
# in .ci/run follow this tuple (tests/test_wasmtime_support.py).
SUPPORTED_WASMTIME_MAJORS = (50, 51)


@functools.cache
def wasmtime_version() -> str:
    try:
        return metadata.version("wasmtime")
    except metadata.PackageNotFoundError:  # pragma: no cover - vendored installs
        return "unknown"
