"""`instrument()`: the atomics pass and any extra passes over one module (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .atomics import AtomicsPass, FrameLocalAtomic, InstrumentLevel, Site
from .module import MemoryInfo
from .names import function_names_of
from .offsets import OffsetMap
from .rewriter import ModuleRewriter

__all__ = ["Instrumented", "LoadPass", "instrument"]


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
    # What each extra pass returned, in the order the passes were given.
    pass_results: list[Any] = field(default_factory=list)
    # Atomics left without a sched point: they touch their function's own frame.
    frame_local: list[FrameLocalAtomic] = field(default_factory=list)
    # Offsets of `wasm` back to the input's (offsets.py): what reports print.
    offsets: OffsetMap = field(default_factory=OffsetMap)


# An extra pass run after the atomics pass on the same rewriter: (rewriter,
# function names by original index) -> whatever the pass reports.
LoadPass = Callable[[ModuleRewriter, dict[int, str]], Any]


def instrument(
    wasm: bytes,
    level: InstrumentLevel = InstrumentLevel.ATOMICS,
    passes: Sequence[LoadPass] = (),
    *,
    footprints: bool = False,
) -> Instrumented:
    """Rewrite a core wasm module; see the module docstring. `footprints`: the sched points announce
    what follows them (footprints.py: the dfs policy's loads at the shared level).

    Returns the input bytes unchanged (and `changed=False`) when there is
    nothing to rewrite. Raises `InstrumentError` for input that is not a
    decodable core module (a component, truncated or malformed bytes).
    """
    rw = ModuleRewriter(wasm)
    names = function_names_of(rw.info)
    atomics = AtomicsPass(level, footprints=footprints)
    sites = atomics.run(rw, names)
    results = [p(rw, names) for p in passes]
    memories = list(rw.info.memories)
    if not rw.changed:
        data = wasm if isinstance(wasm, bytes) else rw.data
        return Instrumented(data, [], [], False, names, memories, results, atomics.frame_local, rw.offsets)
    out = rw.emit()
    new_names = {rw.remap(i): n for i, n in names.items()}
    return Instrumented(
        out, sites, rw.imports_added, True, new_names, memories, results, atomics.frame_local, rw.offsets
    )
