"""`wasi_sandbox`: a guest's WASI world rooted in the test's tmp_path."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

from ..runtime import GuestIO, Outcome

__all__ = ["WasiSandbox"]

_Snapshot = dict[Path, tuple[int, int]]


class WasiSandbox:
    """Host directories a guest sees (`.root` at the guest's "."), its environment, and what it wrote.

    After each run, `written` maps the guest path of every file the run
    created or changed to its bytes, and `stdout`/`stderr`/`trace` hold the
    run's output and WASI calls.
    """

    def __init__(self, base: Path, *, wasi: str = "sandbox") -> None:
        self.base = Path(base)
        self.root = self.base / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.env: dict[str, str] = {}
        self.wasi = wasi  # "sandbox" (the project's shared WASI) or "native" (wasmtime's own)
        self.options: dict[str, Any] = {}  # extra WasiConfig fields: faults=..., trace_limit=...
        self._preopens: list[tuple[Path, str]] = [(self.root, ".")]
        self._before: _Snapshot = {}
        self.written: dict[str, bytes] = {}
        self.last_outcome: Outcome | None = None

    # -- the world ------------------------------------------------------------

    @property
    def preopens(self) -> list[tuple[Path, str]]:
        """(host directory, guest path) pairs, "." first."""
        return list(self._preopens)

    def preopen(self, guest_path: str, host_dir: str | os.PathLike[str] | None = None) -> Path:
        """Also expose `host_dir` (default: a new directory in tmp_path) at `guest_path`; returns the host dir."""
        __tracebackhide__ = True
        if not isinstance(guest_path, str) or not guest_path or "\0" in guest_path:
            raise ValueError(f"wasi_sandbox.preopen: the guest path must be a non-empty str, got {guest_path!r}")
        if any(g == guest_path for _, g in self._preopens):
            raise ValueError(f"wasi_sandbox: {guest_path!r} is already preopened")
        if host_dir is None:
            safe = re.sub(r"[^\w.-]+", "_", guest_path).strip("_.") or "dir"
            host = self.base / f"preopen-{safe}"
            host.mkdir(parents=True, exist_ok=True)
        else:
            host = Path(host_dir)
            if not host.exists():
                raise ValueError(f"wasi_sandbox.preopen: {host}: no such directory")
            if not host.is_dir():
                raise ValueError(f"wasi_sandbox.preopen: {host} is not a directory")
        self._preopens.append((host, guest_path))
        return host

    def host_path(self, guest_path: str) -> Path:
        """The host file behind a guest path (relative paths are under the guest's ".")."""
        p = PurePosixPath(guest_path)
        best: tuple[int, Path, PurePosixPath] | None = None
        for host, gp in self._preopens:
            g = PurePosixPath(gp)
            if g == PurePosixPath("."):
                if not p.is_absolute():
                    cand = (0, host, p)
                else:
                    continue
            else:
                try:
                    rel = p.relative_to(g)
                except ValueError:
                    continue
                cand = (len(g.parts), host, rel)
            if best is None or cand[0] > best[0]:
                best = cand
        if best is None:
            raise KeyError(f"wasi_sandbox: no preopened directory contains {guest_path!r}")
        _, host, rel = best
        if ".." in rel.parts:
            raise ValueError(f"wasi_sandbox: {guest_path!r} leaves its preopened directory")
        return host.joinpath(*rel.parts)

    def write_bytes(self, guest_path: str, data: bytes) -> Path:
        """Put a file where the guest will find it."""
        path = self.host_path(guest_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def write_text(self, guest_path: str, text: str) -> Path:
        return self.write_bytes(guest_path, text.encode("utf-8"))

    def read_bytes(self, guest_path: str) -> bytes:
        return self.host_path(guest_path).read_bytes()

    def read_text(self, guest_path: str) -> str:
        return self.read_bytes(guest_path).decode("utf-8")

    # -- the last run -------------------------------------------------------------

    @property
    def stdout(self) -> str:
        return self.last_outcome.stdout if self.last_outcome else ""

    @property
    def stderr(self) -> str:
        return self.last_outcome.stderr if self.last_outcome else ""

    @property
    def trace(self) -> list[Any]:
        return list(self.last_outcome.trace) if self.last_outcome else []

    # -- used by wasm_scheduler ---------------------------------------------------

    def guest_io(self, args: tuple[str, ...] | list[str], stdin: Any) -> GuestIO:
        return GuestIO(args=tuple(args), env=dict(self.env), dirs=[(str(h), g) for h, g in self._preopens],
                       stdin=stdin, wasi=self.wasi, wasi_options=dict(self.options))

    def before_run(self) -> None:
        self._before = self._snapshot()

    def after_run(self, outcome: Outcome) -> None:
        self.last_outcome = outcome
        after = self._snapshot()
        written: dict[str, bytes] = {}
        for path, stamp in after.items():
            if self._before.get(path) != stamp:
                try:
                    written[self._guest_name(path)] = path.read_bytes()
                except OSError:
                    pass
        self.written = written

    def _guest_name(self, path: Path) -> str:
        for host, gp in sorted(self._preopens, key=lambda hg: -len(str(hg[0]))):
            try:
                rel = path.relative_to(host)
            except ValueError:
                continue
            return rel.as_posix() if gp == "." else str(PurePosixPath(gp) / rel.as_posix())
        return str(path)

    def _snapshot(self) -> _Snapshot:
        out: _Snapshot = {}
        for host, _ in self._preopens:
            for dirpath, _dirs, files in os.walk(host):
                for name in files:
                    p = Path(dirpath) / name
                    try:
                        st = p.stat()
                    except OSError:
                        continue
                    out[p] = (st.st_size, st.st_mtime_ns)
        return out

    def __repr__(self) -> str:
        return f"<WasiSandbox root={self.root} preopens={len(self._preopens)}>"
