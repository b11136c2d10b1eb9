"""Instrumented programs kept on disk, so that a later process skips the instrumenter.

Instrumenting a libc-sized guest takes a good fraction of a second of Python, on every
process start (`wasmconc run`, each pytest worker) even when the compile cache then has
the compiled module. A plain load (no extension passes) of the same bytes at the same
level, hot sites and engine configuration, by the same instrumenter, always gives the
same instrumented module and the same description of it (imports, exports, sites,
function names); so does a load with extension passes that name their configuration
and code (the race and lock-order checks': `Check.pass_cache_key`), whose results are
kept too. That description is kept beside the compile cache's entries, and a
hit reads it back instead of checking, rewriting and parsing the guest again; the
compile cache then deserializes the module. The instrumenter is named by a hash of its
own source files (and the loader's), so an edited instrumenter never reads an entry an
older one wrote. Entries are pickles: the cache directory is trusted as it already is for
the compiled modules beside them (native code that wasmtime deserializes).
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from pathlib import Path
from typing import Any

from .cache import CompileCache
from ..settings import EngineSettings

__all__ = ["FIELDS", "entry_key", "read", "write"]

SUFFIX = ".program"
_FORMAT = b"4"
# The Program fields an entry holds: everything a load computes from the bytes, except the
# compiled module (the compile cache's) and the name (the caller's path).
FIELDS = ("wasm", "original_size", "level", "func_imports", "memory_import", "other_imports", "exports",
          "exported_memory", "export_sigs", "sites", "func_names", "hot_sites", "footprints",
          # Where each rewritten offset came from: reports print the file's offsets (instrument/offsets.py).
          "offsets", "input_shift",
          # What the reset path writes back into a reused instance (instrument/restart.py), and whether
          # the memory's size is virtual (instrument/vmem.py).
          "restart", "virtual_memory", "vmem",
          # A load with extension passes that name what they depend on (load_program's passes_cache_key):
          # their keys and results (a plain load's are empty).
          "passes", "pass_results")
_PACKAGE = Path(__file__).resolve().parents[2]
# Source files whose code decides what a plain load produces.
_SOURCES = ("instrument/*.py", "runtime/loading/program.py", "runtime/loading/saved.py",
            "runtime/loading/text.py", "runtime/settings.py", "runtime/hostapi.py")


@functools.cache
def _instrumenter_fingerprint() -> bytes | None:
    """A hash of the instrumenter's and loader's source; None when it cannot be read (then nothing is kept)."""
    h = hashlib.sha256(_FORMAT)
    try:
        files = sorted(f for pattern in _SOURCES for f in _PACKAGE.glob(pattern))
        if not files:
            return None
        for f in files:
            h.update(f.relative_to(_PACKAGE).as_posix().encode())
            h.update(b"\0")
            h.update(f.read_bytes())
    except OSError:
        return None
    return h.digest()


def entry_key(digest: bytes, engine_settings: EngineSettings, level: Any, hot_sites: frozenset[int],
              footprints: bool = False, virtual_memory: bool = False, passes: tuple[str, ...] = ()) -> str | None:
    """The entry of a load of the bytes whose sha256 is `digest` (None: no entry can be kept);
    a load with step footprints (the dfs policy's), a virtual memory size (the reset path's) or
    extension passes (`passes`: their keys and the name of their configuration and code) has
    entries of its own."""
    fingerprint = _instrumenter_fingerprint()
    if fingerprint is None:
        return None
    h = hashlib.sha256(fingerprint)
    parts = [engine_settings.fingerprint(), str(level), ",".join(map(str, sorted(hot_sites)))]
    if footprints:
        parts.append("footprints")  # absent otherwise: the keys of other loads are what they were
    if virtual_memory:
        parts.append("virtual-memory")  # likewise
    if passes:
        parts.append("passes:" + "\x1f".join(passes))
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    h.update(digest)
    return "p" + h.hexdigest()


def read(cache: CompileCache, key: str) -> dict[str, Any] | None:
    """The fields a load kept under `key`, or None; a damaged entry is dropped."""
    raw = cache.read_entry(key, SUFFIX)
    if raw is None:
        return None
    try:
        fields = pickle.loads(raw)
        if isinstance(fields, dict) and set(fields) == set(FIELDS) and isinstance(fields["wasm"], bytes):
            return fields
    except Exception:  # noqa: BLE001 - any unreadable entry is a miss, never an error
        pass
    cache.drop_entry(key, SUFFIX)
    return None


def write(cache: CompileCache, key: str, fields: dict[str, Any]) -> None:
    cache.write_entry(key, SUFFIX, pickle.dumps({k: fields[k] for k in FIELDS}, protocol=pickle.HIGHEST_PROTOCOL))
