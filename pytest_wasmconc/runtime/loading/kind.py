"""Whether a guest is a WebAssembly component, answered without loading the component runtime.

Every run asks, and `components.py` imports wasmtime's component model and the
WASI 0.2 host (a tenth of `wasmconc run`'s start-up): a core module's run must
not pay for them. A ComponentProgram exists only once `components` was
imported, so the isinstance test looks for that module, never imports it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, TypeGuard

from ..errors import ModuleError
from .program import CORE_VERSION, read_guest_bytes
from .text import WASM_MAGIC, looks_like_text

if TYPE_CHECKING:  # pragma: no cover
    from ..components import ComponentProgram

__all__ = ["is_component", "is_component_program"]

_COMPONENTS = __name__.rsplit(".", 2)[0] + ".components"


def is_component_program(obj: object) -> TypeGuard[ComponentProgram]:
    """True for a loaded ComponentProgram (components.py)."""
    module = sys.modules.get(_COMPONENTS)
    return module is not None and isinstance(obj, module.ComponentProgram)


def is_component(source: Any) -> bool:
    """True for a ComponentProgram, or bytes / a file that hold a WebAssembly component."""
    if is_component_program(source):
        return True
    if isinstance(source, (bytes, bytearray, memoryview)):
        head = bytes(source[:8])
    else:
        try:
            with open(source, "rb") as f:
                head = f.read(8)
        except (OSError, TypeError, ValueError):  # not a readable file: load_program says why
            return False
    if head and looks_like_text(str(source) if isinstance(source, (str, os.PathLike)) else "", head):
        try:
            head = read_guest_bytes(source)[1][:8]  # text: what it compiles to says
        except ModuleError:  # malformed text: load_program says why
            return False
    return head[:4] == WASM_MAGIC and head[4:8] != CORE_VERSION and head[6:8] == b"\x01\x00"
