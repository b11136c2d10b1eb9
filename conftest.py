"""Repository-internal fixtures (not part of the plugin)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent

# Helper modules shared by the test directories live in tests/ (child_processes.py:
# tool lookup and the child-process limit); pytest puts only a test's own
# directory on sys.path, so tests/runtime and tests/plugin would not see them.
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))


@pytest.fixture(scope="session")
def guests_dir() -> Path:
    """The repository's guests/ directory (guests/c, guests/wat, ...)."""
    return REPO / "guests"
