"""Properties: whatever a guest (or a concurrent actor inside the preopen) does,
nothing outside the preopen is read, written, created, deleted, renamed,
linked or stat'd.

The host tree is tree.py's, plus an outside that mirrors inside names
(outside/g, outside/sub/g, outside/emptydir, outside/lnk, outside/back ->
../root) so that any lookup that slipped out would find something to touch.
Attacks are generated, not listed:

* paths of `..` chains, `.`, empty components, links out (relative, absolute,
  chained), links in, loops, absolute host paths (`/`, the preopen's own host
  path, the outside's);
* sequences of every path call (open in all modes, stat, set_times, mkdir,
  rmdir, unlink, rename, hard link, symlink with generated targets, readlink),
  on the preopen or on a directory the guest opened, so the guest builds its
  own chains and hard links before using them;
* swaps between check and use: every path-taking syscall the sandbox makes
  (sandbox.py and pathcalls.py, through a hooked `os`) is numbered, and a
  generated actor replaces an inside name by a link to the outside (or puts a
  moved directory back) right before the chosen one -- the exhaustive version
  does this before *every* syscall of a set of calls;
* a real thread flipping a name between a directory and a link out while the
  guest runs every path call through it;
* and, so that CI does not depend on sampling, the cross product the aimed
  paths are drawn from, through every call kind, relative and absolute.

What is checked: every fd a call returns is an inode of the preopen and data
read through it never holds the outside's secret; every successful stat is of
an inode of the preopen; absolute paths are refused; at the end no inode of
the preopen is an outside inode (no hard link out), and the outside tree and
the directory holding it are unchanged down to content, link count, mtime,
ctime and atime (atimes are set in the future first, so that a relatime host
never moves them on a read: only an explicit set_times could).

CI size is small and derandomized. A large run:
    WASMCONC_SANDBOX_EXAMPLES=10000 WASMCONC_SANDBOX_SEED=1 \
        python -m pytest tests/wasi/test_sandbox_property.py
(examples per property; the racing thread then runs examples/10 rounds).
"""

from __future__ import annotations

import errno as host_errno
import hashlib
import os
import stat as host_stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from pytest_wasmconc.wasi import Errno, WasiPreview1, pathcalls, sandbox
from pytest_wasmconc.wasi.filestat import inode_hash
from pytest_wasmconc.wasi.layout import RIGHTS_ALL

from .conftest import make_host
from .guest import RIGHTS_DIR, RIGHTS_RO
from .tree import make_tree

EXAMPLES_ENV = "WASMCONC_SANDBOX_EXAMPLES"
SEED_ENV = "WASMCONC_SANDBOX_SEED"
FULL_EXAMPLES = int(os.environ.get(EXAMPLES_ENV, "0") or 0)

F = TypeVar("F", bound=Callable[..., Any])


def sized(ci_examples: int) -> Callable[[F], F]:
    """Hypothesis settings: `ci_examples` derandomized, or the full size, seeded."""

    def apply(test: F) -> F:
        common: dict[str, Any] = {
            "deadline": None,
            "database": None,
            "suppress_health_check": [HealthCheck.too_slow],
        }
        if FULL_EXAMPLES:
            test = seed(int(os.environ.get(SEED_ENV, "1")))(test)
            return settings(max_examples=FULL_EXAMPLES, derandomize=False, **common)(test)  # type: ignore[no-any-return]
        return settings(max_examples=ci_examples, derandomize=True, **common)(test)  # type: ignore[no-any-return]

    return apply


# -- the tree and its fingerprint ----------------------------------------------

MIRROR_SECRET = b"SECRET-mirror"
LINK_SECRET = "SECRET-link-text"
FUTURE_NS = int((time.time() + 10 * 365 * 86400) * 1e9)


@dataclass
class World:
    base: Path
    root: Path
    outside: Path
    before: dict[str, tuple[object, ...]] = field(default_factory=dict)
    outside_inodes: set[tuple[int, int]] = field(default_factory=set)

    def render(self, spec: PathSpec) -> str:
        prefix, comps, trailing = spec
        rel = "/".join(comps) + ("/" if trailing else "")
        tops = {"<BASE>": self.base, "<ROOT>": self.root, "<OUT>": self.outside}
        if prefix == "":
            return rel
        if prefix == "/":
            return "/" + rel
        return f"{tops[prefix]}/{rel}"


def build_world(tmp: Path) -> World:
    base = tmp / "base"
    root, outside = make_tree(base)
    # Mirror inside names outside, so that a lookup that got out finds a target.
    (outside / "g").write_bytes(MIRROR_SECRET)
    (outside / "f").write_bytes(MIRROR_SECRET)
    (outside / "sub").mkdir()
    (outside / "sub" / "g").write_bytes(MIRROR_SECRET)
    (outside / "emptydir").mkdir()
    (outside / "lnk").symlink_to(LINK_SECRET)
    (outside / "back").symlink_to("../root")
    (root / "sub" / "emptydir").mkdir()
    (root / "sub" / "lnk").symlink_to("g")
    (root / "emptydir").mkdir()
    # Future atimes: relatime never updates them on a read, so only an explicit
    # set_times through the sandbox could change one.
    for p in [base, *_walk(outside)]:
        st_ = os.lstat(p)
        os.utime(p, ns=(FUTURE_NS, st_.st_mtime_ns), follow_symlinks=False)
    w = World(base, root, outside)
    w.before = fingerprint(w)
    w.outside_inodes = {_ident(p) for p in [base, *_walk(outside)]}
    return w


def _walk(top: Path) -> list[Path]:
    out = [top]
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        out += [Path(dirpath) / n for n in sorted(dirnames + filenames)]
    return out


def _ident(p: Path | str) -> tuple[int, int]:
    s = os.lstat(p)
    return s.st_dev, s.st_ino


def fingerprint(w: World) -> dict[str, tuple[object, ...]]:
    """Everything observable about the outside tree and the directory holding it."""
    out: dict[str, tuple[object, ...]] = {}
    b = os.lstat(w.base)
    out["<base>"] = (sorted(os.listdir(w.base)), b.st_mtime_ns, b.st_ctime_ns, b.st_atime_ns)
    for p in _walk(w.outside):
        s = os.lstat(p)
        if host_stat.S_ISLNK(s.st_mode):
            detail: object = os.readlink(p)
        elif host_stat.S_ISREG(s.st_mode):
            detail = hashlib.sha1(p.read_bytes()).hexdigest()
        else:
            detail = ""
        meta = (s.st_mode, s.st_nlink, s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_atime_ns)
        out[str(p.relative_to(w.base))] = (detail, *meta)
    return out


def inside_inodes(w: World) -> set[tuple[int, int]]:
    return {_ident(p) for p in _walk(w.root)}


def assert_outside_untouched(w: World, what: object) -> None:
    assert fingerprint(w) == w.before, f"{what}: the outside changed"
    leaked = inside_inodes(w) & w.outside_inodes
    assert not leaked, f"{what}: an outside inode is linked inside"


# Thousands of trees are made and removed: on tmpfs where there is one (ten
# times faster than a disk here; the calls behave the same).
TREE_DIR = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


@contextmanager
def world() -> Iterator[World]:
    with tempfile.TemporaryDirectory(dir=TREE_DIR, prefix="wasmconc-sandbox-") as tmp:
        yield build_world(Path(tmp))


# -- generated paths and calls --------------------------------------------------

PathSpec = tuple[str, tuple[str, ...], bool]

# A generated path is a few directory steps, then a final name. The steps are
# the ways up and out (`..` chains, links to directories inside and outside,
# loops) and the guest's own names (it may have made them links); the finals
# are files, links out, links in, loops and directories.
DIR_STEPS = [
    *[".."] * 4,
    ".",
    "",
    "sub",
    "sub",
    "link_sub",
    "up",
    "upup",
    "empty",
    "emptydir",
    "link_out",
    "rel_out_dir",
    "abs_out_dir",
    "self",
    "loop1",
    "dangling",
    "outside",
    "odir",
    "back",
    "root",
    "mine",
    "new",
]
FINALS = [
    "f",
    "g",
    "secret",
    "inner",
    "lnk",
    "link_f",
    "chain",
    "rel_out",
    "abs_out",
    "chain_out",
    "link_out",
    "rel_out_dir",
    "abs_out_dir",
    "link_sub",
    "sub",
    "emptydir",
    "dangling",
    "nothing",
    "loop1",
    "self",
    "up",
    "upup",
    "back",
    "outside",
    "..",
    ".",
    "mine",
    "new",
    "hl",
]

random_specs: st.SearchStrategy[PathSpec] = st.builds(
    lambda prefix, steps, final, trailing: (prefix, (*steps, final), trailing),
    st.sampled_from(["", "", "", "", "", "", "", "/", "<BASE>", "<ROOT>", "<OUT>"]),
    st.lists(st.sampled_from(DIR_STEPS), max_size=4),
    st.sampled_from(FINALS),
    st.integers(0, 4).map(lambda n: n == 0),
)

# Aimed attacks: a way up to the directory above the preopen, or over to the
# outside, then a name that exists (or could be made) there; or a link as the
# final component, reached through steps that stay inside.
TO_BASE = ["..", "./..", "sub/../..", "sub/upup", "sub/up/..", "link_sub/upup", "empty/../.."]
FROM_BASE = ["outside/secret", "outside/g", "outside/sub/g", "outside/emptydir", "outside/lnk",
             "outside/odir/inner", "outside", "outside/new", "root/rel_out", "new", ".", ""]  # fmt: skip
TO_OUTSIDE = ["link_out", "rel_out_dir", "abs_out_dir", "sub/upup/outside", "../outside",
              "link_sub/../../outside", "mine", "new", "hl", "rel_out_dir/back/link_out"]  # fmt: skip
FROM_OUTSIDE = ["secret", "g", "sub/g", "sub", "emptydir", "lnk", "odir/inner", "odir",
                "back/rel_out", "back/f", "new", "hl", "..", ".", ""]  # fmt: skip
INSIDE_WAYS = ["", "", "./", "sub/../", "link_sub/up/", "sub/up/", "sub/", "link_sub/"]
LINK_FINALS = ["rel_out", "abs_out", "chain_out", "link_out", "rel_out_dir", "abs_out_dir",
               "loop1", "self", "dangling", "link_f", "chain", "link_sub", "up", "upup", "lnk",
               "mine", "new", "hl"]  # fmt: skip
FRESH = ["hl", "mine", "new", "sub/new", "sub/hl", "emptydir/new", "empty/new"]


def _spec(prefix: str, text: str, trailing: bool) -> PathSpec:
    return prefix, tuple(text.split("/")), trailing


_prefixes = st.sampled_from(["", "", "", "", "", "", "/", "<ROOT>"])
_trailing = st.integers(0, 5).map(lambda n: n == 0)
aimed_specs: st.SearchStrategy[PathSpec] = st.one_of(
    st.builds(
        lambda p, head, tail, t: _spec(p, f"{head}/{tail}", t),
        _prefixes,
        st.sampled_from(TO_BASE),
        st.sampled_from(FROM_BASE),
        _trailing,
    ),
    st.builds(
        lambda p, head, tail, t: _spec(p, f"{head}/{tail}", t),
        _prefixes,
        st.sampled_from(TO_OUTSIDE),
        st.sampled_from(FROM_OUTSIDE),
        _trailing,
    ),
    st.builds(
        lambda p, way, final, t: _spec(p, way + final, t),
        _prefixes,
        st.sampled_from(INSIDE_WAYS),
        st.sampled_from(LINK_FINALS),
        _trailing,
    ),
)
path_specs: st.SearchStrategy[PathSpec] = st.one_of(aimed_specs, random_specs)
second_specs: st.SearchStrategy[PathSpec] = st.one_of(
    st.sampled_from(FRESH).map(lambda text: _spec("", text, False)), path_specs
)

# (kind, path or symlink target, second path or where the symlink is made,
#  run on a directory the guest opened)
Op = tuple[str, PathSpec, PathSpec, bool]

KINDS = [
    "open_ro",
    "open_ro_nofollow",
    "open_rw",
    "open_creat",
    "open_excl",
    "open_trunc",
    "open_dir",
    "open_dir_nofollow",
    "stat",
    "stat_nofollow",
    "times",
    "times_nofollow",
    "mkdir",
    "rmdir",
    "unlink",
    "rename",
    "link",
    "symlink",
    "readlink",
]

ops_strategy: st.SearchStrategy[list[Op]] = st.lists(
    st.tuples(st.sampled_from(KINDS), path_specs, second_specs, st.booleans()),
    min_size=1,
    max_size=6,
)

OPEN_ARGS: dict[str, dict[str, Any]] = {
    "open_ro": {"rights": RIGHTS_RO},
    "open_ro_nofollow": {"rights": RIGHTS_RO, "follow": False},
    "open_rw": {"rights": RIGHTS_ALL, "fdflags": 1},  # append
    "open_creat": {"oflags": 1, "rights": RIGHTS_ALL},
    "open_excl": {"oflags": 1 | 4, "rights": RIGHTS_ALL},
    "open_trunc": {"oflags": 1 | 8, "rights": RIGHTS_ALL},
    "open_dir": {"oflags": 2, "rights": RIGHTS_DIR},
    "open_dir_nofollow": {"oflags": 2, "rights": RIGHTS_DIR, "follow": False},
}


class Session:
    """A guest on a fresh host over `w`, checking every result as it goes."""

    def __init__(self, w: World, racing: bool = False) -> None:
        self.w = w
        # With a thread renaming inside entries, a walk of the preopen can
        # miss some: then only "not an outside inode" is checked.
        self.racing = racing
        self.wasi: WasiPreview1
        self.wasi, _, self.g = make_host(w.root)
        self.dir_fds: list[int] = []

    def close(self) -> None:
        self.wasi.close()

    def _assert_inside(self, ident: tuple[int, int], what: str) -> None:
        assert ident not in self.w.outside_inodes, what
        if not self.racing:
            assert ident in inside_inodes(self.w), what

    def _check_fd(self, fd: int, what: str) -> None:
        handle = self.wasi._state.table.peek(fd)
        host = os.fstat(handle.os_fd)  # type: ignore[union-attr]
        self._assert_inside((host.st_dev, host.st_ino), f"{what} opened outside")
        if host_stat.S_ISDIR(host.st_mode):
            self.dir_fds.append(fd)
            r, _ = self.g.readdir(fd)
            assert r == 0
            return
        r, data = self.g.read(fd, 4096)
        if r == 0:
            assert b"SECRET" not in data, f"{what} read the outside"
        self.g.write(fd, b"guest-wrote")
        assert self.g.close(fd) == 0

    def run(self, op: Op) -> int:
        kind, spec1, spec2, on_dir = op
        p1, p2 = self.w.render(spec1), self.w.render(spec2)
        fd = self.dir_fds[-1] if on_dir and self.dir_fds else 3
        what = f"{kind}({p1!r}, {p2!r}) on fd {fd}"
        g = self.g
        if kind in OPEN_ARGS:
            r, new = g.path_open(p1, fd=fd, **OPEN_ARGS[kind])
            if r == 0:
                self._check_fd(new, what)
        elif kind in ("stat", "stat_nofollow"):
            r, result = g.stat(p1, follow=kind == "stat", fd=fd)
            if r == 0:
                outside = {inode_hash(d, i) for d, i in self.w.outside_inodes}
                assert result[1] not in outside, f"{what} stat'd outside"
                if not self.racing:
                    hashes = {inode_hash(d, i) for d, i in inside_inodes(self.w)}
                    assert result[1] in hashes, f"{what} stat'd outside"
        elif kind in ("times", "times_nofollow"):
            r = g.set_times(p1, 12345, 67890, 1 | 4, follow=kind == "times", fd=fd)
        elif kind == "mkdir":
            r = g.mkdir(p1, fd=fd)
        elif kind == "rmdir":
            r = g.rmdir(p1, fd=fd)
        elif kind == "unlink":
            r = g.unlink(p1, fd=fd)
        elif kind == "rename":
            r = g.rename(p1, p2, fd=fd, new_fd=3)
        elif kind == "link":
            r = g.link(p1, p2, fd=fd, new_fd=3)
        elif kind == "symlink":
            r = g.symlink(p1, p2, fd=fd)
        else:
            r, text = g.readlink(p1, fd=fd)
            assert b"SECRET" not in text, f"{what} read a link outside"
        if p1.startswith("/") or (kind in ("rename", "link", "symlink") and p2.startswith("/")):
            assert r != 0, f"{what}: an absolute path was accepted"
        return int(r)


# -- hooking the sandbox's syscalls ----------------------------------------------

PATH_SYSCALLS = frozenset(
    ["open", "readlink", "stat", "mkdir", "rmdir", "unlink", "rename", "link", "symlink", "utime"]
)


class HookedOs:
    """`os` for sandbox.py and pathcalls.py, calling `before(name)` before each path syscall."""

    def __init__(self, before: Callable[[str], None]) -> None:
        self._before = before

    def __getattr__(self, name: str) -> Any:
        real = getattr(os, name)
        if name not in PATH_SYSCALLS:
            return real

        def hooked(*args: Any, **kwargs: Any) -> Any:
            self._before(name)
            return real(*args, **kwargs)

        return hooked


@contextmanager
def hooked_syscalls(before: Callable[[str], None]) -> Iterator[None]:
    proxy = HookedOs(before)
    modules: tuple[ModuleType, ...] = (sandbox, pathcalls)
    attr = "os"  # each module's own `os` global
    saved = [getattr(m, attr) for m in modules]
    for m in modules:
        setattr(m, attr, proxy)
    try:
        yield
    finally:
        for m, real in zip(modules, saved):
            setattr(m, attr, real)


SWAP_NAMES = ["sub", "f", "empty", "emptydir", "link_sub", "link_f", "sub/g", "sub/lnk", "mine"]
SWAP_TARGETS: list[PathSpec] = [
    ("<OUT>", (), False),
    ("<OUT>", ("g",), False),
    ("<OUT>", ("sub",), False),
    ("<BASE>", (), False),
    ("/", (), False),
    ("", ("..", "outside"), False),
    ("", ("..", "outside", "g"), False),
    ("", ("..", "..", "outside"), False),
    ("", ("..", "..", "outside", "sub"), False),
    ("", ("link_out",), False),
    ("", ("sub", "upup", "outside"), False),
    ("", ("..",), False),
]

# (before which numbered syscall, inside name, link target; or "restore" to put
# the directory/file the last swap of that name moved away back in its place)
Swap = tuple[int, str, PathSpec | None]

swaps_strategy: st.SearchStrategy[list[Swap]] = st.lists(
    st.tuples(
        st.integers(1, 40),
        st.sampled_from(SWAP_NAMES),
        st.one_of(st.none(), st.sampled_from(SWAP_TARGETS)),
    ),
    min_size=1,
    max_size=3,
)


class Swapper:
    """The concurrent actor: mutates the inside tree right before chosen syscalls."""

    def __init__(self, w: World, swaps: list[Swap]) -> None:
        self.w = w
        self.calls = 0
        self.fired = 0
        self._at: dict[int, list[tuple[str, PathSpec | None]]] = {}
        for at, name, target in swaps:
            self._at.setdefault(at, []).append((name, target))
        self._moved: dict[str, Path] = {}

    def before(self, _syscall: str) -> None:
        self.calls += 1
        for name, target in self._at.get(self.calls, []):
            self.fired += 1
            swap_in(self.w, name, target, self._moved)


def swap_in(w: World, name: str, target: PathSpec | None, moved: dict[str, Path]) -> None:
    """Replace root/name by a link to `target` (moving what was there aside),
    or with target None, move the aside entry back over whatever is there now."""
    here = w.root / name
    # The actor works inside only: it never goes through a link (one it swapped
    # in earlier may be on the way to `name`).
    parent = w.root
    for part in name.split("/")[:-1]:
        parent = parent / part
        try:
            if not host_stat.S_ISDIR(os.lstat(parent).st_mode):
                return
        except FileNotFoundError:
            return
    try:
        if target is None:
            if name in moved:
                if here.is_symlink() or here.is_file():
                    here.unlink()
                os.rename(moved.pop(name), here)
            return
        if os.path.lexists(here):
            aside = w.root / f"aside{len(moved)}-{name.replace('/', '_')}"
            os.rename(here, aside)
            moved[name] = aside
        os.symlink(w.render(target), here)
    except OSError as exc:
        # The parent was itself swapped away, or a directory is in the way.
        assert exc.errno in (
            host_errno.ENOENT,
            host_errno.ENOTDIR,
            host_errno.EEXIST,
            host_errno.ENOTEMPTY,
            host_errno.EISDIR,
        ), exc


# -- the properties --------------------------------------------------------------


@sized(200)
@given(ops=ops_strategy)
def test_generated_call_sequences_never_touch_the_outside(ops: list[Op]) -> None:
    with world() as w:
        s = Session(w)
        try:
            for op in ops:
                s.run(op)
        finally:
            s.close()
        assert_outside_untouched(w, ops)


@sized(200)
@given(ops=ops_strategy, swaps=swaps_strategy)
def test_swaps_between_check_and_use_never_touch_the_outside(
    ops: list[Op], swaps: list[Swap]
) -> None:
    with world() as w:
        s = Session(w)
        swapper = Swapper(w, swaps)
        try:
            with hooked_syscalls(swapper.before):
                for op in ops:
                    s.run(op)
        finally:
            s.close()
        assert_outside_untouched(w, (ops, swaps))


# Calls that walk through `sub` (a directory) or a link to it, each with the
# swaps that can change what they resolve to.
GAP_CALLS: list[Op] = [
    (kind, ("", tuple(p1.split("/")), False), ("", tuple(p2.split("/")), False), False)
    for kind, p1, p2 in [
        ("open_ro", "sub/g", ""),
        ("open_rw", "sub/g", ""),
        ("open_creat", "sub/new", ""),
        ("open_trunc", "sub/g", ""),
        ("open_dir", "sub/emptydir", ""),
        ("open_ro", "sub/lnk", ""),
        ("open_ro", "link_sub/g", ""),
        ("open_ro", "sub/up/sub/g", ""),
        ("open_creat", "link_sub/up/sub/new", ""),
        ("stat", "sub/g", ""),
        ("stat", "sub/lnk", ""),
        ("times", "sub/g", ""),
        ("times", "sub/lnk", ""),
        ("mkdir", "sub/new", ""),
        ("rmdir", "sub/emptydir", ""),
        ("unlink", "sub/g", ""),
        ("rename", "sub/g", "sub/h"),
        ("rename", "f", "sub/new"),
        ("link", "sub/g", "sub/hl"),
        ("link", "f", "sub/hl"),
        ("symlink", "g", "sub/sl"),
        ("readlink", "sub/lnk", ""),
    ]
]
GAP_SWAPS: list[tuple[str, PathSpec]] = [
    ("sub", ("<OUT>", (), False)),
    ("sub", ("", ("..", "outside"), False)),
    ("sub", ("", ("link_out",), False)),
    ("link_sub", ("<OUT>", (), False)),
    ("sub/g", ("<OUT>", ("g",), False)),
    ("sub/g", ("", ("..", "..", "outside", "g"), False)),
    ("sub/lnk", ("", ("..", "..", "outside", "g"), False)),
]


@pytest.mark.parametrize("op", GAP_CALLS, ids=lambda op: f"{op[0]}-{'/'.join(op[1][1])}")
def test_a_link_out_swapped_in_before_any_syscall_of_a_call_is_never_followed(op: Op) -> None:
    """Exhaustive: for each syscall the call makes, a name on its path becomes
    a link to the outside right before that syscall."""
    with world() as w:
        counter = Swapper(w, [])
        s = Session(w)
        try:
            with hooked_syscalls(counter.before):
                s.run(op)
        finally:
            s.close()
    assert counter.calls >= 1
    for at in range(1, counter.calls + 2):
        for name, target in GAP_SWAPS:
            with world() as w:
                swapper = Swapper(w, [(at, name, target)])
                s = Session(w)
                try:
                    with hooked_syscalls(swapper.before):
                        s.run(op)
                finally:
                    s.close()
                assert_outside_untouched(w, (op, at, name, target))


def test_a_thread_flipping_a_directory_and_a_link_out_never_leaks() -> None:
    """A real concurrent actor: `flip` is a directory, then a link to the
    outside (whose entries mirror the directory's), over and over, while the
    guest runs every kind of path call through it."""
    rounds = max(FULL_EXAMPLES // 10, 150)
    with world() as w:
        root = w.root
        (root / "flip_dir").mkdir()
        (root / "flip_dir" / "g").write_bytes(b"inside")
        (root / "flip_dir" / "emptydir").mkdir()
        (root / "flip_dir" / "lnk").symlink_to("g")
        os.symlink(w.outside, root / "flip_abs")
        os.symlink("../outside", root / "flip_rel")
        w.before = fingerprint(w)
        stop = threading.Event()

        def flipper() -> None:
            i = 0
            while not stop.is_set():
                src = root / ("flip_dir", "flip_abs", "flip_rel")[i % 3]
                try:
                    os.rename(src, root / "flip")
                    os.rename(root / "flip", src)
                except OSError:
                    pass
                i += 1

        calls: list[Op] = [
            (kind, ("", tuple(p1.split("/")), False), ("", tuple(p2.split("/")), False), False)
            for kind, p1, p2 in [
                ("open_ro", "flip/g", ""),
                ("open_ro", "flip/lnk", ""),
                ("open_creat", "flip/created", ""),
                ("open_dir", "flip/emptydir", ""),
                ("stat", "flip/g", ""),
                ("times", "flip/g", ""),
                ("mkdir", "flip/made", ""),
                ("rmdir", "flip/made", ""),
                ("unlink", "flip/created", ""),
                ("link", "flip/g", "hl"),
                ("unlink", "hl", ""),
                ("rename", "flip/g", "flip/g2"),
                ("rename", "flip/g2", "flip/g"),
                ("symlink", "g", "flip/sl"),
                ("readlink", "flip/lnk", ""),
            ]
        ]
        outcomes: set[tuple[str, int]] = set()
        s = Session(w, racing=True)
        t = threading.Thread(target=flipper)
        t.start()
        wanted = {("open_ro", 0), ("open_ro", int(Errno.PERM))}
        deadline = time.monotonic() + 120  # a bound on a race that never shows, not a pace
        try:
            done = 0
            # The rounds asked for, then on until the race showed both sides.
            while done < rounds or (not wanted <= outcomes and time.monotonic() < deadline):
                done += 1
                for op in calls:
                    outcomes.add((op[0], s.run(op)))
                for fd in s.dir_fds:
                    s.g.close(fd)
                s.dir_fds.clear()
        finally:
            stop.set()
            t.join()
            s.close()
        assert_outside_untouched(w, "racing flips")
        # The race was real: lookups both got through and were refused.
        assert wanted <= outcomes, outcomes


def _aimed_paths() -> list[str]:
    out = [f"{h}/{t}" for h in TO_BASE for t in FROM_BASE]
    out += [f"{h}/{t}" for h in TO_OUTSIDE for t in FROM_OUTSIDE]
    out += [w + f for w in INSIDE_WAYS for f in LINK_FINALS]
    return sorted(set(out))


@pytest.mark.parametrize("kind", KINDS)
def test_every_aimed_path_under_every_call_stays_inside(kind: str) -> None:
    """The cross product the generator samples from: each aimed path (and its
    absolute form) through one call kind, in one tree that the calls keep
    changing, with a fresh name as the second path."""
    paths = _aimed_paths()
    with world() as w:
        s = Session(w)
        try:
            for i, text in enumerate(paths):
                for prefix in ("", "/"):
                    second = _spec("", FRESH[i % len(FRESH)], False)
                    s.run((kind, _spec(prefix, text, False), second, False))
        finally:
            s.close()
        assert_outside_untouched(w, kind)
