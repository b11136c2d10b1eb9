"""Load-time rewriting of wasm guests for the deterministic scheduler.

`instrument()` rewrites every `memory.atomic.wait32/wait64/notify` into a
call to a host function of module "wasmconc" (a real wait would block the OS
thread where the scheduler cannot interrupt it), and, depending on the
level, inserts `sched_point(site)` calls before atomic accesses.

The machinery is reusable by other passes: `ModuleRewriter` parses a module
once, hands out decoded function bodies (`BodyEditor`) to edit with
`Snippet`s that name functions symbolically (`FuncRef`), and writes the
module with every function index shifted in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .atomics import HOST_MODULE, AtomicsPass, InstrumentLevel, Site
from .body import BodyEditor
from .errors import InstrumentError
from .module import MemoryInfo
from .names import function_names, function_names_of
from .rewriter import ModuleRewriter
from .snippet import FuncRef, Snippet

__all__ = [
    "HOST_MODULE",
    "BodyEditor",
    "FuncRef",
    "InstrumentError",
    "InstrumentLevel",
    "Instrumented",
    "MemoryInfo",
    "ModuleRewriter",
    "Site",
    "Snippet",
    "function_names",
    "instrument",
]


@dataclass
class Instrumented:
    """The result of `instrument()`.

    `func_names` maps function indices of the *instrumented* module to their
    names (original names at shifted indices). `memories` says, per memory
    index, whether it is shared and/or 64-bit, which host wait/notify
    implementations need (a wait on an unshared memory must trap).
    """

    wasm: bytes
    sites: list[Site]
    imports_added: list[tuple[str, str]]
    changed: bool
    func_names: dict[int, str]
    memories: list[MemoryInfo] = field(default_factory=list)


def instrument(wasm: bytes, level: InstrumentLevel = InstrumentLevel.ATOMICS) -> Instrumented:
    """Rewrite a core wasm module; see the module docstring.

    Returns the input bytes unchanged (and `changed=False`) when there is
    nothing to rewrite. Raises `InstrumentError` for input that is not a
    decodable core module (a component, truncated or malformed bytes).
    """
    rw = ModuleRewriter(wasm)
    names = function_names_of(rw.info)
    sites = AtomicsPass(level).run(rw, names)
    memories = list(rw.info.memories)
    if not rw.changed:
        data = wasm if isinstance(wasm, bytes) else rw.data
        return Instrumented(data, [], [], False, names, memories)
    out = rw.emit()
    new_names = {rw.remap(i): n for i, n in names.items()}
    return Instrumented(out, sites, rw.imports_added, True, new_names, memories)
