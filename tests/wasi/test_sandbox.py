"""Every way out of the preopen, and that none of them works.

Each attempt asserts the errno (what wasmtime gives: EPERM for escapes,
ELOOP for loops) *and* that nothing outside was read, written, created,
renamed or linked.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from pytest_wasmconc.wasi import Errno, sandbox
from pytest_wasmconc.wasi.layout import RIGHTS_ALL

from .guest import RIGHTS_DIR, RIGHTS_RO, Guest
from .tree import SECRET, snapshot

EPERM = Errno.PERM


@pytest.fixture
def outside_guard(tree: tuple[Path, Path]):
    """Fails the test if anything under outside/ changed."""
    _, outside = tree
    before = snapshot(outside)
    parent_before = sorted(os.listdir(outside.parent))
    yield outside
    assert snapshot(outside) == before
    assert sorted(os.listdir(outside.parent)) == parent_before


def _read_all(g: Guest, fd: int) -> bytes:
    data = b""
    while True:
        r, chunk = g.read(fd, 4096)
        assert r == 0
        if not chunk:
            return data
        data += chunk


@pytest.mark.parametrize(
    "path",
    [
        "..",
        "../",
        "../outside/secret",
        "sub/../../outside/secret",
        "sub/../..",
        "./../outside",
        "sub/up/../outside/secret",
        "sub/upup",
        "sub/upup/outside/secret",
        "link_sub/../../outside/secret",
    ],
)
def test_dotdot_escapes_are_eperm(g: Guest, outside_guard: Path, path: str) -> None:
    assert g.path_open(path, rights=RIGHTS_RO)[0] == EPERM
    assert g.path_open(path, oflags=1)[0] == EPERM
    assert g.stat(path)[0] == EPERM


@pytest.mark.parametrize("path", ["/", "/etc/passwd", "/tmp", "//x"])
def test_absolute_paths_are_eperm(g: Guest, outside_guard: Path, path: str) -> None:
    assert g.path_open(path, rights=RIGHTS_RO)[0] == EPERM
    assert g.mkdir(path) == EPERM
    assert g.stat(path)[0] == EPERM
    assert g.unlink(path) == EPERM


def test_absolute_preopen_path_is_relative_to_its_directory(g: Guest, outside_guard: Path) -> None:
    # Even the preopen's own absolute host path is refused: guests only speak
    # relative paths to a directory capability.
    root = outside_guard.parent / "root"
    assert g.path_open(str(root / "f"))[0] == EPERM


@pytest.mark.parametrize(
    "link",
    [
        "rel_out",
        "abs_out",
        "chain_out",
        "rel_out_dir/secret",
        "abs_out_dir/secret",
        "link_out/secret",
        "link_out/odir/inner",
    ],
)
def test_following_symlinks_out_is_eperm(g: Guest, outside_guard: Path, link: str) -> None:
    assert g.path_open(link, rights=RIGHTS_RO)[0] == EPERM
    assert g.path_open(link, oflags=1 | 8)[0] == EPERM  # creat+trunc through it
    assert g.stat(link)[0] == EPERM
    assert g.set_times(link, 1, 1, 1 | 4) == EPERM


def test_symlinks_out_are_only_links_without_following(g: Guest, outside_guard: Path) -> None:
    # nofollow: the link itself, never its target
    assert g.path_open("rel_out", rights=RIGHTS_RO, follow=False)[0] == Errno.LOOP
    r, st = g.stat("rel_out", follow=False)
    assert r == 0 and st[2] == 7  # a symlink
    assert g.set_times("rel_out", 5, 5, 1 | 4, follow=False) == 0  # the link's own times


def test_readlink_of_an_outside_target_is_fine_but_following_is_not(
    g: Guest, outside_guard: Path
) -> None:
    assert g.readlink("rel_out") == (0, b"../outside/secret")
    assert g.readlink("link_out") == (0, b"../outside")
    # An absolute target is not even revealed (cap-std/wasmtime: EPERM).
    assert g.readlink("abs_out") == (EPERM, b"")
    assert g.path_open("rel_out")[0] == EPERM


def test_symlink_loops_and_long_chains_are_eloop(
    g: Guest, tree: tuple[Path, Path], outside_guard: Path
) -> None:
    root, _ = tree
    assert g.path_open("loop1")[0] == Errno.LOOP
    assert g.path_open("self/x")[0] == Errno.LOOP
    assert g.stat("loop2")[0] == Errno.LOOP
    # A chain of exactly the limit resolves; one more is ELOOP.
    prev = "f"
    for i in range(sandbox.MAX_SYMLINK_EXPANSIONS):
        os.symlink(prev, root / f"c{i}")
        prev = f"c{i}"
    assert g.path_open(prev, rights=RIGHTS_RO)[0] == 0
    os.symlink(prev, root / "c_over")
    assert g.path_open("c_over", rights=RIGHTS_RO)[0] == Errno.LOOP


def test_mutations_never_reach_outside(
    g: Guest, outside_guard: Path, tree: tuple[Path, Path]
) -> None:
    root, _ = tree
    assert g.mkdir("../newdir") == EPERM
    assert g.mkdir("rel_out_dir/newdir") == EPERM
    assert g.rmdir("../outside/odir") == EPERM
    assert g.rmdir("link_out/odir") == EPERM
    assert g.unlink("../outside/secret") == EPERM
    assert g.unlink("rel_out_dir/secret") == EPERM
    assert g.rename("f", "../outside/f") == EPERM
    assert g.rename("rel_out_dir/secret", "stolen") == EPERM
    assert g.rename("f", "link_out/f") == EPERM
    assert g.symlink("f", "../outside/evil") == EPERM
    assert g.symlink("f", "link_out/evil") == EPERM
    assert g.symlink("/etc/passwd", "abs_link") == EPERM
    assert not (root / "abs_link").exists()
    # Unlinking / renaming the link itself is fine and leaves the target.
    assert g.unlink("abs_out") == 0
    assert g.rename("rel_out", "renamed_link") == 0
    assert os.readlink(root / "renamed_link") == "../outside/secret"


def test_rename_over_a_link_out_replaces_the_link(
    g: Guest, outside_guard: Path, tree: tuple[Path, Path]
) -> None:
    root, _ = tree
    assert g.rename("f", "rel_out") == 0
    assert (root / "rel_out").read_bytes() == b"hello"
    assert not (root / "rel_out").is_symlink()


def test_hard_links_to_outside_are_refused(
    g: Guest, outside_guard: Path, tree: tuple[Path, Path]
) -> None:
    root, outside = tree
    assert g.link("../outside/secret", "hl") == EPERM
    assert g.link("rel_out_dir/secret", "hl") == EPERM
    assert g.link("f", "../outside/hl") == EPERM
    assert g.link("f", "link_out/hl") == EPERM
    # Following a link for the source is refused outright (as wasmtime).
    assert g.link("rel_out", "hl", follow=True) == Errno.INVAL
    # Without follow, the *link* is linked: a second link that still points
    # out, and that the sandbox still refuses to follow.
    assert g.link("rel_out", "hl_link") == 0
    assert (root / "hl_link").is_symlink()
    assert os.stat(outside / "secret").st_nlink == 1
    assert g.path_open("hl_link")[0] == EPERM


def test_directory_fds_are_their_own_capability(g: Guest, outside_guard: Path) -> None:
    _, d = g.path_open("sub", rights=RIGHTS_DIR)
    assert g.path_open("g", fd=d, rights=RIGHTS_RO)[0] == 0
    assert g.path_open("../f", fd=d, rights=RIGHTS_RO)[0] == EPERM
    assert g.path_open("up/f", fd=d, rights=RIGHTS_RO)[0] == EPERM
    assert g.mkdir("../x", fd=d) == EPERM


def test_symlink_swapped_in_for_the_final_component(
    g: Guest, tree: tuple[Path, Path], outside_guard: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between "f is a plain file" and the open, f becomes a link out."""
    root, outside = tree
    real = sandbox.Lookup.readlink
    swapped: list[int] = []

    def readlink_then_swap(self: sandbox.Lookup, name: str) -> str | None:
        result = real(self, name)
        if name == "victim" and not swapped:
            swapped.append(1)
            os.unlink(root / "victim")
            os.symlink(outside / "secret", root / "victim")
        return result

    (root / "victim").write_bytes(b"harmless")
    monkeypatch.setattr(sandbox.Lookup, "readlink", readlink_then_swap)
    r, fd = g.path_open("victim", rights=RIGHTS_RO)
    assert swapped and r == EPERM
    r, fd = g.path_open("victim", oflags=1 | 8)
    assert r == EPERM
    assert (outside / "secret").read_bytes() == SECRET


def test_directory_swapped_for_a_link_after_it_was_entered(
    g: Guest, tree: tuple[Path, Path], outside_guard: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once entered, a directory is held by fd: swapping its name changes nothing."""
    root, outside = tree
    (root / "d").mkdir()
    (root / "d" / "secret").write_bytes(b"inside")
    real_walk = sandbox.Lookup.walk

    def walk_then_swap(self: sandbox.Lookup, components: list[str]) -> None:
        real_walk(self, components)
        if components == ["d"] and (root / "d").is_dir() and not (root / "d").is_symlink():
            os.rename(root / "d", root / "d_moved")
            os.symlink(outside, root / "d")

    monkeypatch.setattr(sandbox.Lookup, "walk", walk_then_swap)
    r, fd = g.path_open("d/secret", rights=RIGHTS_RO)
    assert r == 0
    assert _read_all(g, fd) == b"inside"
    # The next lookup sees the link out, and refuses it.
    assert g.path_open("d/new", oflags=1)[0] == EPERM


def test_racing_symlink_swaps_never_leak(
    g: Guest, tree: tuple[Path, Path], outside_guard: Path
) -> None:
    """A real thread flips a name between a directory and a link out."""
    root, outside = tree
    (root / "flip_dir").mkdir()
    (root / "flip_dir" / "secret").write_bytes(b"inside")
    os.symlink(outside, root / "flip_link")
    stop = threading.Event()

    def flipper() -> None:
        i = 0
        while not stop.is_set():
            src = root / ("flip_dir" if i % 2 == 0 else "flip_link")
            try:
                os.rename(src, root / "flip")
                os.rename(root / "flip", src)
            except OSError:
                pass
            i += 1

    t = threading.Thread(target=flipper)
    t.start()
    seen: set[bytes | int] = set()
    try:
        for _ in range(2000):
            r, fd = g.path_open("flip/secret", rights=RIGHTS_RO)
            if r == 0:
                seen.add(_read_all(g, fd))
                g.close(fd)
            else:
                seen.add(r)
            r, fd = g.path_open("flip/created", oflags=1)
            if r == 0:
                g.close(fd)
    finally:
        stop.set()
        t.join()
    assert SECRET not in seen
    assert seen <= {b"inside", Errno.NOENT, EPERM, Errno.NOTDIR}
    assert not (outside / "created").exists()


def test_successful_opens_stay_inside(g: Guest, driver, tree: tuple[Path, Path]) -> None:  # type: ignore[no-untyped-def]
    root, _ = tree
    inside = _inodes(root)
    for path in ["f", "link_f", "chain", "link_sub/g", "sub/up/f", "link_sub/../f", "sub/.", "."]:
        r, fd = g.path_open(path, rights=RIGHTS_RO)
        assert r == 0, path
        st = os.fstat(driver.wasi._state.table.peek(fd).os_fd)
        assert (st.st_dev, st.st_ino) in inside


def _inodes(top: Path) -> set[tuple[int, int]]:
    out = {(os.lstat(top).st_dev, os.lstat(top).st_ino)}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            out.add((st.st_dev, st.st_ino))
    return out


def test_creating_through_links_inside_lands_inside(
    g: Guest, outside_guard: Path, tree: tuple[Path, Path]
) -> None:
    root, _ = tree
    r, fd = g.path_open("sub/up/newfile", oflags=1, rights=RIGHTS_ALL)
    assert r == 0
    assert g.write(fd, b"data")[0] == 0
    assert (root / "newfile").read_bytes() == b"data"
    assert g.path_open("dangling", oflags=1)[0] == 0  # creates the target, inside
    assert (root / "nothing").exists()
