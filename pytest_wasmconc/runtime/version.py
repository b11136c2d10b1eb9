"""The installed wasmtime-py and pytest-wasmconc versions, read without importing wasmtime."""

from __future__ import annotations

import functools
from importlib import metadata

__all__ = ["SUPPORTED_WASMTIME_MAJORS", "package_version", "wasmtime_version"]

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


@functools.cache
def package_version() -> str:
    """This package's version, as installed (`wasmconc --version`)."""
    try:
        return metadata.version("pytest-wasmconc")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree that was never installed
        return "unknown"
