"""Turn a module's own (defined) shared memory into an import, so threads can share it.

wasi-threads instantiates the module once per thread; a memory the module
defines would be a fresh memory in every instance. Rewriting the definition
into `env.memory` (same limits, still exported as before) lets the host hand
every thread instance the same shared memory. Only done for a module with
exactly one defined memory and no imported memory, so memory 0 stays memory 0
and no instruction needs to change. Active data segments then re-initialise
memory in every instance, exactly as they would with an imported memory.
"""

from __future__ import annotations

from .errors import InstrumentError
from .module import check_header, parse_module
from .reader import Reader, encode_name, uleb

__all__ = ["IMPORT_MODULE", "IMPORT_NAME", "defined_memory_to_import", "share_defined_memory"]

IMPORT_MODULE = "env"
IMPORT_NAME = "memory"
_IMPORT_SECTION, _MEMORY_SECTION = 2, 5
_KIND_MEMORY = 0x02


def _sections(data: bytes) -> list[tuple[int, int, int]]:
    """(id, payload start, payload end) of every section."""
    r = Reader(data, 8)
    out = []
    while not r.at_end():
        sid = r.u8()
        size = r.u32()
        start = r.pos
        r.skip(size)
        out.append((sid, start, start + size))
    return out


def _skip_limits(r: Reader) -> None:
    flags = r.u8()
    r.u64()
    if flags & 0x01:
        r.u64()
    if flags & 0x08:  # custom page size
        r.u32()


def defined_memory_to_import(wasm: bytes) -> bytes | None:
    """The rewritten module, or None when the module has no single defined memory to move."""
    check_header(wasm)
    sections = _sections(wasm)
    imports = next((s for s in sections if s[0] == _IMPORT_SECTION), None)
    memories = next((s for s in sections if s[0] == _MEMORY_SECTION), None)
    if memories is None:
        return None
    mr = Reader(wasm, memories[1], memories[2])
    if mr.u32() != 1:
        return None
    limits_start = mr.pos
    _skip_limits(mr)
    limits = wasm[limits_start:mr.pos]
    entries: list[bytes] = []
    if imports is not None:
        ir = Reader(wasm, imports[1], imports[2])
        count = ir.u32()
        for _ in range(count):
            start = ir.pos
            ir.name()
            ir.name()
            kind = ir.u8()
            if kind == 0x00:
                ir.u32()
            elif kind == 0x01:
                if ir.u8() in (0x63, 0x64):  # (ref null? heaptype)
                    ir.s33()
                _skip_limits(ir)
            elif kind == _KIND_MEMORY:
                return None  # the module already imports a memory
            elif kind == 0x03:
                ir.u8()
                ir.u8()
            elif kind == 0x04:
                ir.u8()
                ir.u32()
            else:
                raise InstrumentError(ir.pos, f"unsupported import kind {kind:#x}")
            entries.append(wasm[start:ir.pos])
    entries.append(encode_name(IMPORT_MODULE) + encode_name(IMPORT_NAME) + bytes([_KIND_MEMORY]) + limits)
    import_payload = uleb(len(entries)) + b"".join(entries)

    out = [wasm[:8]]
    wrote_imports = False
    for sid, start, end in sections:
        header_end = start
        if sid == _IMPORT_SECTION:
            out.append(bytes([sid]) + uleb(len(import_payload)) + import_payload)
            wrote_imports = True
            continue
        if sid == _MEMORY_SECTION:
            continue  # the definition moved into the import section
        if not wrote_imports and sid != 0 and sid > _IMPORT_SECTION and sid != 12:
            # No import section yet: it goes right after the type section (id 1).
            out.append(bytes([_IMPORT_SECTION]) + uleb(len(import_payload)) + import_payload)
            wrote_imports = True
        out.append(bytes([sid]) + uleb(end - header_end) + wasm[start:end])
    if not wrote_imports:
        out.append(bytes([_IMPORT_SECTION]) + uleb(len(import_payload)) + import_payload)
    return b"".join(out)


def share_defined_memory(wasm: bytes) -> bytes:
    """For a threaded module (imports wasi.thread-spawn) with one defined shared memory, import it instead.

    Any other module comes back unchanged (the same object).
    """
    info = parse_module(bytes(wasm))
    threaded = any(i.module == "wasi" and i.name == "thread-spawn" for i in info.imports)
    mems = info.memories
    if not threaded or len(mems) != 1 or mems[0].imported or not mems[0].shared:
        return wasm
    return defined_memory_to_import(wasm) or wasm
