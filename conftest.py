"""Repository-internal fixtures (not part of the plugin)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def guests_dir() -> Path:
    """The repository's guests/ directory (guests/c, guests/wat, ...)."""
    return REPO / "guests"
