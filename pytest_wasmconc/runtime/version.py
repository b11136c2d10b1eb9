"""The installed wasmtime-py and pytest-wasmconc versions, read without importing wasmtime."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

__all__ = ["SUPPORTED_WASMTIME_MAJORS", "package_version", "wasmtime_version"]

# The wasmtime-py majors this release supports: the two latest (each new major
# within its month). pyproject.toml's range, tox.ini's environments and the pin
# in .ci/run follow this tuple (tests/test_wasmtime_support.py).
SUPPORTED_WASMTIME_MAJORS = (50, 51)


@functools.cache
def wasmtime_version() -> str:
    # Every run asks (the compile cache's key), and importing importlib.metadata costs ~14 ms of
    # a 60 ms interpreter start (its email-parsing stack): the METADATA file beside the package
    # says the same, found with what the interpreter's start-up already imported.
    return _version_beside("wasmtime", "wasmtime") or _metadata_version("wasmtime")


@functools.cache
def package_version() -> str:
    """This package's version, as installed (`wasmconc --version`)."""
    return _metadata_version("pytest-wasmconc")


def _version_beside(package: str, distribution: str) -> str | None:
    """The Version of the one `distribution-*.dist-info` beside `package`'s directory, or None."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    if len(locations) != 1:
        return None
    infos = list(Path(locations[0]).parent.glob(f"{distribution}-*.dist-info"))
    if len(infos) != 1:  # none, or stale ones beside the installed one: ask importlib.metadata
        return None
    try:
        with open(infos[0] / "METADATA", encoding="utf-8") as meta:
            for line in meta:
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip() or None
                if not line.strip():
                    break  # the headers ended
    except OSError:
        return None
    return None


def _metadata_version(distribution: str) -> str:
    from importlib import metadata  # noqa: PLC0415 (costly: only when the cheap way cannot answer)

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:  # pragma: no cover - vendored installs, never-installed trees
        return "unknown"
