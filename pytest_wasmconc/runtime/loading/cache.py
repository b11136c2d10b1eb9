"""A compile cache on disk, shared by repeated runs and parallel workers.

Entries are keyed by the sha256 of the (instrumented) wasm bytes, the
wasmtime version and the engine configuration fingerprint. Writers never
lock: each writes a private temporary file and renames it into place, which
is atomic on POSIX, so concurrent workers at worst compile the same module
twice and readers never see a half-written file. A corrupt or incompatible
entry is discarded and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

import wasmtime

from .engine import wasmtime_version
from ..settings import EngineSettings

__all__ = ["CompileCache", "default_cache_dir"]

CACHE_ENV = "PYTEST_WASM_CACHE_DIR"
_FORMAT = "1"


def default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pytest-wasmconc"


class CompileCache:
    """Compile wasm bytes once per (bytes, wasmtime version, engine settings)."""

    def __init__(self, directory: Path | None = None, *, enabled: bool = True) -> None:
        self.directory = directory or default_cache_dir()
        self.enabled = enabled
        self._memo: dict[str, wasmtime.Module] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def key(self, wasm: bytes, settings: EngineSettings) -> str:
        h = hashlib.sha256()
        for part in (_FORMAT, wasmtime_version(), settings.fingerprint()):
            h.update(part.encode())
            h.update(b"\0")
        h.update(wasm)
        return h.hexdigest()

    def compile(self, engine: wasmtime.Engine, settings: EngineSettings, wasm: bytes) -> wasmtime.Module:
        key = self.key(wasm, settings)
        with self._lock:
            mod = self._memo.get(key)
        if mod is not None:
            self.hits += 1
            return mod
        mod = self._load(engine, key)
        if mod is None:
            self.misses += 1
            mod = wasmtime.Module(engine, wasm)
            self._store(key, mod)
        else:
            self.hits += 1
        with self._lock:
            self._memo[key] = mod
        return mod

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.cwasm"

    def _load(self, engine: wasmtime.Engine, key: str) -> wasmtime.Module | None:
        if not self.enabled:
            return None
        path = self._path(key)
        if not path.exists():
            return None
        try:
            # From bytes, not deserialize_file: that keeps the file mapped and one
            # descriptor open per module for the life of the process, and a suite
            # with many guests would run out of descriptors.
            return wasmtime.Module.deserialize(engine, path.read_bytes())
        except (wasmtime.WasmtimeError, OSError):
            # Stale or damaged: drop it and recompile.
            try:
                path.unlink()
            except OSError:
                pass
            return None

    def _store(self, key: str, mod: wasmtime.Module) -> None:
        if self.enabled:
            self.write_entry(key, ".cwasm", mod.serialize())

    # -- other entries kept beside the compiled modules (loading/saved.py) -------------------------

    def read_entry(self, key: str, suffix: str) -> bytes | None:
        """The bytes of entry `key` + `suffix`, or None (absent, unreadable, or the cache is off)."""
        if not self.enabled:
            return None
        try:
            return (self.directory / key[:2] / f"{key}{suffix}").read_bytes()
        except OSError:
            return None

    def drop_entry(self, key: str, suffix: str) -> None:
        try:
            (self.directory / key[:2] / f"{key}{suffix}").unlink()
        except OSError:
            pass

    def write_entry(self, key: str, suffix: str, data: bytes | bytearray) -> None:
        """Write an entry atomically (a private temporary file renamed into place); never fails a run."""
        if not self.enabled:
            return
        path = self.directory / key[:2] / f"{key}{suffix}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=suffix)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError:
            # A read-only or full cache directory must never fail a run.
            pass
