"""Values a component's host functions return, as the runtime lowers them into wasmtime-py's types.

Resources cross as their `rep` (an int); a result that creates one is
`Own(kind, rep)`. Variants (and results: tags "ok"/"err") are `Variant`s,
records are `Record`s. runtime/components.py converts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Own", "Record", "Variant", "interface_base"]


@dataclass(frozen=True)
class Own:
    """A new host resource handed to the guest: `kind` is its resource name (e.g. "pollable")."""

    kind: str
    rep: int


@dataclass(frozen=True)
class Variant:
    """A variant (or result: tags "ok"/"err") case and its payload; components.py lowers it."""

    tag: str
    payload: Any = None


class Record:
    """A record: fields as attributes."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


def interface_base(name: str) -> str:
    """`wasi:io/streams@0.2.3` -> `wasi:io/streams`."""
    return name.split("@", 1)[0]
