"""File-system conformance and sandbox escapes: the sandbox answers every call as wasmtime does.

`fs_calls` exercises every call family and `escapes` tries every way out of the
preopened directory we know of. Each runs twice, under `--wasi sandbox` and
`--wasi native` (wasmtime's own WASI), on two identical fresh trees; the two
runs must print the same bytes, exit the same way, leave the same tree behind,
and leave everything outside the preopen exactly as it was.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from pytest_wasmconc.runtime import GuestIO, Outcome, Runner, RunSettings, Status, wasmtime_version

from .tree import SECRET, make_tree, snapshot

GUESTS = Path(__file__).resolve().parents[2] / "guests" / "wasi"
WASI_IMPLS = ("sandbox", "native")

# Extra links for escapes.c on top of tree.py's tree: a five-link chain ending
# outside, a link two levels down, dangling links whose targets lie outside.
EXTRA_LINKS = {
    "chain_long": "chain_l2",
    "chain_l2": "chain_l3",
    "chain_l3": "chain_l4",
    "chain_l4": "chain_out",
    "sub/deep_out": "../../outside/secret",
    "dangling_out": "../outside/created",
}


def escape_tree(base: Path) -> tuple[Path, Path]:
    root, outside = make_tree(base)
    (outside / "edir").mkdir()
    os.link(root / "f", root / "hard_in")
    for name, target in EXTRA_LINKS.items():
        os.symlink(target, root / name)
    os.symlink(str(outside / "created_abs"), root / "dangling_abs")
    return root, outside


def fs_tree(base: Path) -> tuple[Path, Path]:
    root, outside = base / "root", base / "outside"
    root.mkdir(parents=True)
    (root / "data.txt").write_bytes(b"hello world\n")
    (root / "dir").mkdir()
    (root / "dir" / "a.txt").write_bytes(b"a")
    (root / "dir" / "b.txt").write_bytes(b"bb")
    (root / "empty").mkdir()
    outside.mkdir()
    (outside / "secret").write_bytes(SECRET)
    os.symlink("../outside", root / "out")  # not used by fs_calls: it must stay as it is
    return root, outside


def deep_snapshot(top: Path) -> dict[str, tuple[Any, ...]]:
    """Everything about a tree that a write, create, rename, link or utimes would change."""
    out: dict[str, tuple[Any, ...]] = {".": _lstat(top)}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            out[str(full.relative_to(top))] = _lstat(full)
    return out


def _lstat(p: Path) -> tuple[Any, ...]:
    st = os.lstat(p)
    content: Any = None
    if stat.S_ISREG(st.st_mode):
        content = p.read_bytes()
    elif stat.S_ISLNK(st.st_mode):
        content = os.readlink(p)
    return (st.st_mode, st.st_ino, st.st_nlink, st.st_size, st.st_mtime_ns, st.st_ctime_ns, content)


def run_both(tmp_path: Path, guest: str, make: Any, args: Any = lambda outside: []) -> dict[str, Any]:
    results = {}
    for impl in WASI_IMPLS:
        base = tmp_path / impl
        root, outside = make(base)
        before_outside, before_base = deep_snapshot(outside), sorted(os.listdir(base))
        o = Runner(RunSettings()).run(
            GUESTS / f"{guest}.wasm", GuestIO(args=args(outside), dirs=[(str(root), ".")], wasi=impl))
        results[impl] = {
            "outcome": o,
            "outside_changed": deep_snapshot(outside) != before_outside,
            "base_changed": sorted(os.listdir(base)) != before_base,
            "root_after": snapshot(root),
        }
    return results


# Lines where our host deliberately differs from wasmtime 50: wasmtime line -> ours. rmdir "dir/"
# removes dir (POSIX; wasi-testsuite's remove_directory_trailing_slashes; wasmtime 51 agrees), where
# wasmtime 50 reads "dir/." and refuses (EINVAL), so fs_calls' next mkdir finds nothing in its way.
DELIBERATE_BY_MAJOR = {
    50: {
        f"{'rmdir empty/':<44} -> -1 errno=28": f"{'rmdir empty/':<44} -> 0 errno=0",
        f"{'mkdir empty':<44} -> -1 errno=20": f"{'mkdir empty':<44} -> 0 errno=0",
    },
    51: {},
}
DELIBERATE = DELIBERATE_BY_MAJOR[int(wasmtime_version().split(".")[0])]


def assert_identical(results: dict[str, Any]) -> Outcome:
    sandbox, native = results["sandbox"]["outcome"], results["native"]["outcome"]
    assert sandbox.status is Status.EXITED, sandbox.report
    assert native.status is Status.EXITED, native.report
    expected = [DELIBERATE.get(line, line) for line in native.stdout.splitlines()]
    assert sandbox.stdout.splitlines() == expected  # line by line: readable diffs
    native_stdout = native.stdout_bytes
    for theirs, ours in DELIBERATE.items():
        native_stdout = native_stdout.replace(f"{theirs}\n".encode(), f"{ours}\n".encode())
    assert (sandbox.stdout_bytes, sandbox.stderr_bytes, sandbox.exit_code) == \
        (native_stdout, native.stderr_bytes, native.exit_code)
    assert results["sandbox"]["root_after"] == results["native"]["root_after"]
    for impl in WASI_IMPLS:
        assert not results[impl]["outside_changed"], f"{impl}: the outside tree changed"
        assert not results[impl]["base_changed"], f"{impl}: something was created next to the preopen"
    return sandbox


def test_every_call_family_prints_what_wasmtime_prints(tmp_path: Path) -> None:
    o = assert_identical(run_both(tmp_path, "fs_calls", fs_tree))
    assert o.exit_code == 0
    lines = o.stdout.splitlines()
    # a few facts checked directly too, so the comparison cannot pass with both sides wrong
    assert 'pread 5 at 6                                 -> 5 "world"' in lines
    assert 'cat new.txt                                  -> 6 "abXY!!"' in lines
    assert "open missing.txt                             -> -1 errno=44" in lines
    assert "rmdir dir (not empty)                        -> -1 errno=55" in lines
    assert 'readlink sl                                  -> 8 "data.txt"' in lines
    assert "stat data.txt (2 links)                      -> file size=12 nlink=2" in lines
    assert "  atime=1000000000.000000005 mtime=1200000000.000000007" in lines
    assert any(ln.startswith("readdir dir: .(d) ..(d) a.txt(f) b.txt(f)") for ln in lines)
    # and every call of the guest shows up in the sandbox's trace
    called = {e.call for e in o.trace}
    assert {"path_open", "fd_read", "fd_write", "fd_pread", "fd_pwrite", "fd_seek", "fd_tell",
            "fd_filestat_get", "fd_sync", "fd_datasync", "fd_filestat_set_size", "fd_readdir",
            "path_create_directory", "path_remove_directory", "path_unlink_file", "path_rename",
            "path_symlink", "path_readlink", "path_link", "path_filestat_get",
            "path_filestat_set_times", "fd_filestat_set_times", "fd_close"} <= called


def test_no_escape_reads_writes_or_creates_anything_outside(tmp_path: Path) -> None:
    o = assert_identical(run_both(tmp_path, "escapes", escape_tree, lambda outside: [str(outside)]))
    assert o.exit_code == 0
    out = o.stdout
    assert SECRET.decode() not in out and '"inner"' not in out  # nothing outside was ever read
    assert str(tmp_path) not in out  # the absolute path is printed as <ABS>
    lines = out.splitlines()
    assert len(lines) > 120
    perm = [ln for ln in lines if ln.endswith("-> 63 EPERM")]
    assert len(perm) >= 85
    # the controls inside the preopen do work
    assert sum('(read ok: "hello")' in ln for ln in lines) >= 6
    for escape in ("read          ../outside/secret", "read          rel_out ", "read          abs_out ",
                   "read          chain_long", "create        dangling_out", "read          /etc/passwd"):
        (line,) = [ln for ln in lines if ln.startswith(escape)]
        assert line.endswith("-> 63 EPERM"), line
    (loop,) = [ln for ln in lines if ln.startswith("read          loop1")]
    assert loop.endswith("-> 32 ELOOP")


@pytest.mark.parametrize("guest,make,args", [
    ("fs_calls", fs_tree, lambda outside: []),
    ("escapes", escape_tree, lambda outside: [str(outside)]),
])
def test_the_sandbox_answers_the_same_in_os_thread_mode(tmp_path: Path, guest: str, make: Any, args: Any) -> None:
    """The sandbox's answers do not depend on which OS thread a guest runs on."""
    from pytest_wasmconc.runtime import Preempt

    fuel_root, fuel_out = make(tmp_path / "fuel")
    os_root, os_out = make(tmp_path / "os")
    fuel = Runner(RunSettings()).run(GUESTS / f"{guest}.wasm",
                                               GuestIO(args=args(fuel_out), dirs=[(str(fuel_root), ".")]))
    osm = Runner(RunSettings(preempt=Preempt.OS)).run(
        GUESTS / f"{guest}.wasm", GuestIO(args=args(os_out), dirs=[(str(os_root), ".")]))
    assert (fuel.stdout, fuel.exit_code) == (osm.stdout, osm.exit_code)
    assert snapshot(fuel_root) == snapshot(os_root)
