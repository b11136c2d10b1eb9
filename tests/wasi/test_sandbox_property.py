"""Property: whatever path a guest makes up, it stays inside the preopen.

Paths are built from components that mean trouble (`..`, `.`, links out,
links in, loops, absolute roots, empty components) against the tree of
tree.py, and handed to path_open (read, create, create+trunc, directory),
path_filestat_get, path_create_directory and path_symlink + open. Any call that
succeeds must have touched an inode that is inside the preopen, and the
outside tree must be byte-for-byte unchanged afterwards.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_wasmconc.wasi.filestat import inode_hash
from pytest_wasmconc.wasi.layout import RIGHTS_ALL

from .conftest import make_host
from .guest import RIGHTS_DIR, RIGHTS_RO
from .tree import make_tree, snapshot

COMPONENTS = [
    "..",
    ".",
    "",
    "a",
    "f",
    "sub",
    "g",
    "up",
    "upup",
    "link_out",
    "link_f",
    "link_sub",
    "rel_out",
    "rel_out_dir",
    "abs_out",
    "abs_out_dir",
    "chain_out",
    "loop1",
    "self",
    "dangling",
    "outside",
    "secret",
    "root",
]

paths = st.builds(
    lambda absolute, comps, trailing: (
        ("/" if absolute else "") + "/".join(comps) + ("/" if trailing else "")
    ),
    st.booleans(),
    st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=6),
    st.booleans(),
)

OPS = [
    "open_ro",
    "open_ro_nofollow",
    "open_creat",
    "open_trunc",
    "open_dir",
    "stat",
    "mkdir",
    "symlink_open",
]


def _inside_inodes(root: Path) -> set[tuple[int, int]]:
    out = {(os.lstat(root).st_dev, os.lstat(root).st_ino)}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            s = os.lstat(os.path.join(dirpath, name))
            out.add((s.st_dev, s.st_ino))
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=paths, op=st.sampled_from(OPS))
def test_any_successful_call_stays_inside(path: str, op: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root, outside = make_tree(Path(tmp))
        before = snapshot(outside)
        wasi, driver, g = make_host(root)
        try:
            fd = -1
            if op == "open_ro":
                r, fd = g.path_open(path, rights=RIGHTS_RO)
            elif op == "open_ro_nofollow":
                r, fd = g.path_open(path, rights=RIGHTS_RO, follow=False)
            elif op == "open_creat":
                r, fd = g.path_open(path, oflags=1, rights=RIGHTS_ALL)
            elif op == "open_trunc":
                r, fd = g.path_open(path, oflags=1 | 8, rights=RIGHTS_ALL)
            elif op == "open_dir":
                r, fd = g.path_open(path, oflags=2, rights=RIGHTS_DIR)
            elif op == "stat":
                r, stat = g.stat(path)
                if r == 0:
                    hashes = {inode_hash(d, i) for d, i in _inside_inodes(root)}
                    assert stat[1] in hashes, f"stat of {path!r} reached outside"
            elif op == "mkdir":
                r = g.mkdir(path)
            else:  # a link the guest makes itself, then followed
                r = g.symlink(path, "mine")
                if r == 0:
                    r, fd = g.path_open("mine", rights=RIGHTS_RO)
            if fd >= 0:
                handle = wasi._state.table.peek(fd)
                host = os.fstat(handle.os_fd)  # type: ignore[union-attr]
                assert (host.st_dev, host.st_ino) in _inside_inodes(root), (
                    f"{op} {path!r} opened outside"
                )
            if path.startswith("/"):
                assert r != 0, f"absolute {path!r} accepted"
        finally:
            wasi.close()
        assert snapshot(outside) == before, f"{op} {path!r} changed the outside tree"
