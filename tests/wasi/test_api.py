"""The public surface: config validation, the function table, close()."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest

import pytest_wasmconc.wasi as wasi_pkg
from pytest_wasmconc.runtime.hostapi import ValType
from pytest_wasmconc.wasi import (
    SIGNATURES,
    Errno,
    FaultPlan,
    Preopen,
    WasiConfig,
    WasiConfigError,
    WasiPreview1,
)
from pytest_wasmconc.wasi.errno import errno_from_oserror
from pytest_wasmconc.wasi.layout import DIRENT, EVENT, FDSTAT, FILESTAT, IOVEC, PRESTAT

from .fakes import HostDriver
from .guest import Guest


def test_struct_sizes_match_the_witx_abi() -> None:
    assert (IOVEC.size, FDSTAT.size, FILESTAT.size, PRESTAT.size, DIRENT.size, EVENT.size) == (
        8,
        24,
        64,
        8,
        24,
        32,
    )


def test_every_preview1_function_is_provided_with_its_signature(tmp_path: Path) -> None:
    w = WasiPreview1(WasiConfig())
    fns = {f.name: f for f in w.functions()}
    assert set(fns) == set(SIGNATURES) and len(SIGNATURES) == 46
    for name, (params, results) in SIGNATURES.items():
        f = fns[name]
        assert f.module == "wasi_snapshot_preview1"
        assert f.params == tuple(ValType(t) for t in params.split())
        assert f.results == tuple(ValType(t) for t in results.split())
    assert fns["proc_exit"].results == ()
    # The calls that may park a guest thread are generator functions.
    blocking = {n for n, f in fns.items() if inspect.isgeneratorfunction(f.impl)}
    assert blocking == {"fd_read", "poll_oneoff", "sched_yield"}
    w.close()


def test_package_never_imports_pytest() -> None:
    root = Path(wasi_pkg.__file__).parent
    for source in root.glob("*.py"):
        text = source.read_text()
        assert "import pytest\n" not in text and "from pytest " not in text, source


def test_errno_mapping_from_host_errors() -> None:
    import errno

    assert errno_from_oserror(OSError(errno.ENOENT, "x")) is Errno.NOENT
    assert errno_from_oserror(OSError(errno.EOPNOTSUPP, "x")) is Errno.NOTSUP
    assert errno_from_oserror(OSError(errno.EWOULDBLOCK, "x")) is Errno.AGAIN
    assert errno_from_oserror(OSError(errno.E2BIG, "x")) is Errno.TOOBIG
    assert errno_from_oserror(OSError(None, "x")) is Errno.IO
    assert Errno.NOTCAPABLE == 76 and Errno.PERM == 63 and Errno.LOOP == 32


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"preopens": [Preopen("/definitely/not/here", ".")]}, "does not exist"),
        ({"args": ["a\0b"]}, "NUL"),
        ({"args": [b"bytes"]}, "must be a str"),
        ({"env": {"A=B": "x"}}, "without '='"),
        ({"env": {"": "x"}}, "non-empty"),
        ({"stdin": "/definitely/not/here"}, "stdin file"),
        ({"stdin": 42}, "stdin must be"),
        ({"trace_limit": -1}, "trace_limit"),
    ],
)
def test_config_errors_are_clear(kwargs: dict, message: str) -> None:
    with pytest.raises(WasiConfigError, match=message):
        WasiPreview1(WasiConfig(**kwargs))


def test_preopen_of_a_file_is_rejected(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(WasiConfigError, match="not a directory"):
        WasiPreview1(WasiConfig(preopens=[Preopen(f, ".")]))
    with pytest.raises(WasiConfigError, match="is a directory"):
        WasiPreview1(WasiConfig(stdin=tmp_path))


def test_fault_plan_validation() -> None:
    with pytest.raises(ValueError, match="max_read"):
        FaultPlan(max_read=0)
    with pytest.raises(ValueError, match="probability"):
        FaultPlan(eintr_probability=1.5)
    with pytest.raises(ValueError, match="targets"):
        FaultPlan(targets=frozenset({"socket"}))


def test_fd_layout_stdio_then_preopens_from_3(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    w = WasiPreview1(WasiConfig(preopens=[Preopen(a, "/a"), Preopen(str(b), "b")]))
    assert w.open_fds() == [0, 1, 2, 3, 4]
    g = Guest(HostDriver(w))
    assert g.d.call("fd_prestat_get", 4, 0x5000) == 0 and g.u32(0x5004) == 1
    assert g.d.call("fd_prestat_get", 5, 0x5000) == Errno.BADF
    w.close()


def test_close_closes_host_fds_and_is_idempotent(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    before = len(os.listdir("/proc/self/fd"))
    w = WasiPreview1(WasiConfig(preopens=[Preopen(root, ".")], stdin=root / "f"))
    g = Guest(HostDriver(w))
    for _ in range(5):
        assert g.path_open("f")[0] == 0
    assert len(os.listdir("/proc/self/fd")) > before
    w.close()
    w.close()
    assert len(os.listdir("/proc/self/fd")) == before
    assert g.read(3)[0] == Errno.BADF  # calls after close see an empty table


def test_context_manager(tmp_path: Path) -> None:
    with WasiPreview1(WasiConfig(preopens=[Preopen(tmp_path, ".")])) as w:
        assert w.open_fds() == [0, 1, 2, 3]
    assert w.open_fds() == []
