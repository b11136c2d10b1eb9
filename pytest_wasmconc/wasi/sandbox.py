"""Confining guest paths to a directory capability, component by component.

Guest paths are never joined into host path strings. A lookup keeps a
stack of open directory fds from the capability (a preopen, or a
directory the guest opened) down to the current directory, and moves
through the tree with single-component `*at` calls that refuse to follow
symlinks (`O_NOFOLLOW`). So:

* `..` pops the stack: it can never climb above the capability, whatever
  the host tree looks like (escaping is EPERM, as wasmtime/cap-std report).
* Absolute paths and absolute symlink targets are escapes (EPERM).
* A symlink is read with `readlinkat` and its target spliced into the
  remaining components, so its `..`s are checked against the stack too;
  more than `MAX_SYMLINK_EXPANSIONS` expansions is ELOOP (loops, chains).
* Once a directory is entered we hold its fd; swapping a symlink in for
  a component after it was checked changes nothing for this lookup, and a
  symlink swapped in for the *final* component is caught by `O_NOFOLLOW`
  (the caller retries and reads it as a symlink).

The kernel therefore never resolves more than one path component for us,
and never follows a symlink on our behalf.
"""

from __future__ import annotations

import errno as host_errno
import os
from collections import deque
from types import TracebackType
from typing import Self

from .errno import Errno, WasiError

__all__ = ["MAX_SYMLINK_EXPANSIONS", "Lookup", "split_path"]

# cap-std's limit, which is also Linux's MAXSYMLINKS.
MAX_SYMLINK_EXPANSIONS = 40

_O_PATH = getattr(os, "O_PATH", 0)
_O_SEARCH = getattr(os, "O_SEARCH", 0)
# Intermediate directories are only searched, never read: O_PATH where the
# host has it, so a search-only (x without r) directory still works.
_DIR_WALK_FLAGS = (
    (_O_PATH or _O_SEARCH or os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
)


def split_path(path: str) -> tuple[list[str], bool]:
    """(components, trailing_slash) of a relative guest path; escapes rejected."""
    if path == "":
        raise WasiError(Errno.NOENT, "empty path")
    if path.startswith("/"):
        raise WasiError(Errno.PERM, f"absolute path {path!r} escapes the sandbox")
    trailing = path.endswith("/")
    return [c for c in path.split("/") if c], trailing


class Lookup:
    """One path lookup under the directory capability `root_fd` (not owned).

    Use as a context manager: it closes the directory fds it opened.
    After `parent()`/`follow()`, `dir_fd` is the directory that holds the
    final component, and the returned name is a single component (or ".",
    meaning `dir_fd` itself).
    """

    def __init__(self, root_fd: int) -> None:
        self._stack: list[int] = [root_fd]
        self.expansions = 0

    # -- context management ------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        while len(self._stack) > 1:
            os.close(self._stack.pop())

    @property
    def dir_fd(self) -> int:
        return self._stack[-1]

    # -- walking --------------------------------------------------------------

    def _leave(self) -> None:
        if len(self._stack) == 1:
            raise WasiError(Errno.PERM, "'..' escapes the sandbox")
        os.close(self._stack.pop())

    def readlink(self, name: str) -> str | None:
        """The target if `name` (in dir_fd) is a symlink now, else None."""
        if name in (".", ".."):
            return None
        try:
            return os.readlink(name, dir_fd=self.dir_fd)
        except OSError as exc:
            if exc.errno in (host_errno.EINVAL, host_errno.ENOENT, host_errno.ENOTDIR):
                return None
            raise

    def _expand(self, target: str) -> tuple[list[str], bool]:
        self.expansions += 1
        if self.expansions > MAX_SYMLINK_EXPANSIONS:
            raise WasiError(Errno.LOOP, "too many symlinks")
        if target.startswith("/"):
            raise WasiError(Errno.PERM, f"absolute symlink target {target!r} escapes the sandbox")
        return split_path(target)

    def walk(self, components: list[str]) -> None:
        """Enter each component as a directory, following symlinks inside the sandbox."""
        pending = deque(components)
        while pending:
            comp = pending.popleft()
            if comp == ".":
                continue
            if comp == "..":
                self._leave()
                continue
            try:
                fd = os.open(comp, _DIR_WALK_FLAGS, dir_fd=self.dir_fd)
            except OSError as exc:
                if exc.errno not in (host_errno.ENOTDIR, host_errno.ELOOP):
                    raise
                target = self.readlink(comp)
                if target is None:
                    raise
                parts, _ = self._expand(target)
                pending.extendleft(reversed(parts))
                continue
            self._stack.append(fd)

    def _split_last(self, components: list[str], trailing: bool) -> str:
        # cap-std's rule: a trailing slash, or a final "..", means "the
        # directory itself", so the last component becomes ".".
        if trailing or not components or components[-1] == "..":
            components = components + ["."]
        *dirs, name = components
        self.walk(dirs)
        return name

    def parent(self, path: str) -> str:
        """Walk to the directory holding the last component; return that component."""
        components, trailing = split_path(path)
        return self._split_last(components, trailing)

    def parent_keep_slash(self, path: str) -> tuple[str, bool]:
        """Like `parent`, but a trailing slash is reported instead of meaning ".".

        For the calls (mkdir, rename, path_open) that treat "name/" as
        "name, which must be a directory" rather than as "name/.".
        """
        components, trailing = split_path(path)
        return self._split_last(components, False), trailing

    def follow(self, name: str) -> str:
        """While `name` is a symlink, resolve it (inside the sandbox)."""
        while True:
            target = self.readlink(name)
            if target is None:
                return name
            parts, trailing = self._expand(target)
            name = self._split_last(parts, trailing)
