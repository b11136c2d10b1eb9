"""The fingerprint of a check's own code, for its `pass_cache_key`.

A load whose pass names its configuration and code is kept on disk (runtime/loading/saved.py);
the instrumenter's and loader's sources are already in every entry's key, a check's own package
is not: an edited check must never read the rewrite or result an older one left there.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

__all__ = ["package_fingerprint"]


@functools.cache
def package_fingerprint(module_file: str) -> str:
    """A hash of the Python sources beside `module_file` (its package's), or "unreadable:<path>:<pid>"
    when they cannot be read (then no other process shares an entry)."""
    folder = Path(module_file).resolve().parent
    h = hashlib.sha256()
    try:
        for f in sorted(folder.glob("*.py")):
            h.update(f.name.encode())
            h.update(b"\0")
            h.update(f.read_bytes())
    except OSError:
        import os  # noqa: PLC0415 (the rare path)

        return f"unreadable:{folder}:{os.getpid()}"
    return h.hexdigest()[:16]
