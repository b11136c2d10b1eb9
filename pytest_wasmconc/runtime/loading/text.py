"""WebAssembly text (.wat) taken wherever a binary is: converted by Wasmtime's own parser, errors in one line.

A guest is text when its file name ends in .wat or its first non-blank
character opens an s-expression or a comment; anything else is left to the
binary checks (which say "not a WebAssembly module"). The binary made here
is what the rest of the loader sees, hashes and names in replay tokens.
"""

from __future__ import annotations

import re

import wasmtime

from ..errors import ModuleError

__all__ = ["binary_of", "looks_like_text"]

WASM_MAGIC = b"\0asm"
TEXT_SUFFIXES = (".wat",)
# wasmtime's parse errors: "message\n     --> <anon>:LINE:COL\n ... a caret under the column"
_WHERE = re.compile(r"-->\s*\S*?:(\d+):(\d+)")


def looks_like_text(name: str, data: bytes) -> bool:
    if data[:4] == WASM_MAGIC:
        return False
    if name.lower().endswith(TEXT_SUFFIXES):
        return True
    return data.lstrip()[:1] in (b"(", b";")


def binary_of(name: str, data: bytes) -> bytes:
    """`data` as a wasm binary: converted from text when it is text, else unchanged."""
    if not looks_like_text(name, data):
        return data
    try:
        return bytes(wasmtime.wat2wasm(data))
    except wasmtime.WasmtimeError as exc:
        raise ModuleError(f"{_located(name, str(exc))}: invalid WebAssembly text: {_message(str(exc))}") from None


def _message(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else "cannot be parsed"


def _located(name: str, text: str) -> str:
    where = _WHERE.search(text)
    return f"{name}:{where.group(1)}:{where.group(2)}" if where else name
