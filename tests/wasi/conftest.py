from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_wasmconc.wasi import Preopen, WasiConfig, WasiPreview1

from .fakes import HostDriver
from .guest import Guest
from .tree import make_tree


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """(root, outside): the sandbox tree of tree.py."""
    return make_tree(tmp_path / "host")


@pytest.fixture
def wasi(tree: tuple[Path, Path]):
    root, _ = tree
    w = WasiPreview1(WasiConfig(args=["prog"], preopens=[Preopen(root, ".")]))
    yield w
    w.close()


@pytest.fixture
def driver(wasi: WasiPreview1) -> HostDriver:
    return HostDriver(wasi)


@pytest.fixture
def g(driver: HostDriver) -> Guest:
    return Guest(driver)


def make_host(root: Path | str, **kw: object) -> tuple[WasiPreview1, HostDriver, Guest]:
    w = WasiPreview1(WasiConfig(preopens=[Preopen(os.fspath(root), ".")], **kw))  # type: ignore[arg-type]
    d = HostDriver(w)
    return w, d, Guest(d)
