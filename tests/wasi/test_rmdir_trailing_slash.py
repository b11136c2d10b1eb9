"""path_remove_directory with a trailing slash: read as Linux rmdir(2) and wasmtime 51 read it.

"dir/" removes dir (wasi-testsuite's remove_directory_trailing_slashes
requires it; wasmtime 50 read "dir/" as "dir/." and answered EINVAL, which
trapped that test), "symlink/" is ENOTDIR whatever the link points at, and
nothing outside the preopen is touched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_wasmconc.wasi import Errno

from .guest import Guest
from .tree import snapshot


@pytest.mark.parametrize("path", ["empty/", "empty//", "sub/../empty/", "./empty/"])
def test_an_empty_directory_named_with_a_trailing_slash_is_removed(
        g: Guest, tree: tuple[Path, Path], path: str) -> None:
    root, _ = tree
    assert g.rmdir(path) == 0
    assert not (root / "empty").exists()


@pytest.mark.parametrize(("path", "errno", "kept"), [
    ("sub/", Errno.NOTEMPTY, "sub"),        # a directory with entries stays
    ("f/", Errno.NOTDIR, "f"),              # a file named as a directory
    ("empty/.", Errno.INVAL, "empty"),      # "." is never removable
    ("link_sub/", Errno.NOTDIR, "link_sub"),  # a symlink is not followed: the link and its target stay
    ("link_sub//", Errno.NOTDIR, "link_sub"),
    ("dangling/", Errno.NOTDIR, "dangling"),
    ("loop1/", Errno.NOTDIR, "loop1"),
    ("rel_out_dir/", Errno.NOTDIR, "rel_out_dir"),  # a link out of the sandbox: refused before it is read
    ("nonexist/", Errno.NOENT, "sub"),
    ("link_out/odir/", Errno.PERM, "link_out"),  # out of the sandbox
])
def test_a_trailing_slash_removes_nothing_but_a_real_empty_directory(
        g: Guest, tree: tuple[Path, Path], path: str, errno: Errno, kept: str) -> None:
    root, outside = tree
    before, outside_before = snapshot(root), snapshot(outside)
    assert g.rmdir(path) == errno
    assert (root / kept).is_symlink() or (root / kept).exists()
    assert snapshot(root) == before and snapshot(outside) == outside_before
