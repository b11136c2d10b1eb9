"""The host tree the sandbox tests run against, and snapshots to compare trees.

base/
  outside/secret, outside/odir/inner      <- must never be touched
  root/                                   <- the preopen
    f ("hello"), sub/g, sub/up -> .., sub/upup -> ../.., empty/
    link_f -> f, chain -> link_f, link_sub -> sub, dangling -> nothing
    loop1 -> loop2 -> loop1, self -> self
    rel_out -> ../outside/secret, rel_out_dir -> ../outside
    abs_out -> <base>/outside/secret, abs_out_dir -> <base>/outside
    chain_out -> rel_out, link_out -> ../outside
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SECRET = b"SECRET-outside-the-sandbox"


def make_tree(base: Path) -> tuple[Path, Path]:
    base.mkdir(parents=True, exist_ok=True)
    outside = base / "outside"
    root = base / "root"
    outside.mkdir()
    (outside / "secret").write_bytes(SECRET)
    (outside / "odir").mkdir()
    (outside / "odir" / "inner").write_bytes(b"inner")
    root.mkdir()
    (root / "f").write_bytes(b"hello")
    (root / "sub").mkdir()
    (root / "sub" / "g").write_bytes(b"gg")
    (root / "empty").mkdir()
    links = {
        "link_f": "f",
        "chain": "link_f",
        "link_sub": "sub",
        "dangling": "nothing",
        "loop1": "loop2",
        "loop2": "loop1",
        "self": "self",
        "rel_out": "../outside/secret",
        "rel_out_dir": "../outside",
        "abs_out": str(outside / "secret"),
        "abs_out_dir": str(outside),
        "chain_out": "rel_out",
        "link_out": "../outside",
        "sub/up": "..",
        "sub/upup": "../..",
    }
    for name, target in links.items():
        os.symlink(target, root / name)
    return root, outside


def snapshot(top: Path) -> dict[str, tuple[str, str]]:
    """relative path -> (kind, detail); absolute link targets are normalized."""
    out: dict[str, tuple[str, str]] = {}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            rel = str(full.relative_to(top))
            if full.is_symlink():
                target = os.readlink(full)
                out[rel] = ("link", "<abs>" if target.startswith("/") else target)
            elif full.is_dir():
                out[rel] = ("dir", "")
            else:
                data = full.read_bytes()
                out[rel] = ("file", hashlib.sha1(data).hexdigest()[:12] + f":{len(data)}")
    return out
