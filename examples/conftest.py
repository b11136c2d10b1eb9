"""Fixtures of this example suite: where its guests are.

The C guests are the pytest-wasmconc repository's own (guests/c, built with
wasi-sdk for wasm32-wasip1-threads); the small WAT guests next to this file
are compiled here with wasmtime's wat2wasm. A project testing its own guest
would point at its own .wasm files instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

HERE = Path(__file__).resolve().parent
C_GUESTS = HERE.parent / "guests" / "c"
DATA = HERE.parent / "guests" / "data"


@pytest.fixture(scope="session")
def c_guest() -> Callable[[str], Path]:
    """The path of one of the repository's C guests, e.g. c_guest("mutex_counter")."""

    def path(name: str) -> Path:
        wasm = C_GUESTS / f"{name}.wasm"
        if not wasm.exists():
            pytest.fail(f"{wasm} is missing: rebuild the guests with guests/build.sh", pytrace=False)
        return wasm

    return path


@pytest.fixture(scope="session")
def wat_guest(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A WAT guest of examples/guests compiled to a .wasm file, e.g. wat_guest("spin")."""
    out = tmp_path_factory.mktemp("guests")

    def path(name: str) -> Path:
        wasm = out / f"{name}.wasm"
        if not wasm.exists():
            wasm.write_bytes(wasmtime.wat2wasm((HERE / "guests" / f"{name}.wat").read_text()))
        return wasm

    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
