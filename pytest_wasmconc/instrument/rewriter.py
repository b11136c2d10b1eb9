"""The central rewriter: passes request imports and edit bodies; it writes.

All index bookkeeping lives here. New function imports are appended after
the module's existing function imports, so imported functions keep their
indices and every defined function shifts by the number of imports added;
`remap` is the single place that knows this, and the writer applies it to
every function index in the module (code, exports, start, elements, globals,
table initialisers, the name section). New function types are appended to
the type section, so no type index ever moves.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .body import BodyEditor
from .errors import InstrumentError
from .module import FUNC, GLOBAL, SECTION_ORDER, FuncBody, FuncSig, ModuleInfo, Section, parse_module
from .names import remap_name_section
from .offsets import OffsetMap, OffsetMapBuilder
from .reader import Reader, encode_name, uleb
from .sections import remap_elements, remap_exports, remap_globals, remap_start, remap_tables
from .snippet import FuncRef

__all__ = ["VALTYPES", "ModuleRewriter", "ValTypeLike"]

VALTYPES = {
    "i32": b"\x7f",
    "i64": b"\x7e",
    "f32": b"\x7d",
    "f64": b"\x7c",
    "v128": b"\x7b",
    "funcref": b"\x70",
    "externref": b"\x6f",
}

ValTypeLike = str | bytes


def _valtype(t: ValTypeLike) -> bytes:
    return VALTYPES[t] if isinstance(t, str) else bytes(t)


def _functype(params: Sequence[ValTypeLike], results: Sequence[ValTypeLike]) -> bytes:
    ps = [_valtype(t) for t in params]
    rs = [_valtype(t) for t in results]
    return b"\x60" + uleb(len(ps)) + b"".join(ps) + uleb(len(rs)) + b"".join(rs)


def _extend_vector(payload: bytes, extra: list[bytes]) -> bytes:
    """A vector payload (count, entries) with `extra` entries appended."""
    r = Reader(payload, 0, len(payload))
    n = r.u32()
    return uleb(n + len(extra)) + payload[r.pos :] + b"".join(extra)


class ModuleRewriter:
    """Holds one parsed module and the edits of every pass run on it."""

    def __init__(self, wasm: bytes) -> None:
        self.data = bytes(wasm)
        self.info: ModuleInfo = parse_module(self.data)
        self._types: dict[bytes, int] = dict(self.info.plain_func_types)
        self._new_types: list[bytes] = []
        self._imports: list[tuple[str, str, int]] = []
        self._import_refs: dict[tuple[str, str], FuncRef] = {}
        self._editors: dict[int, BodyEditor] = {}
        self._globals: list[bytes] = []  # encoded global entries, appended to the section
        self._exports: list[bytes] = []  # encoded export entries, appended to the section
        # Function exports, encoded at `emit()` (a later pass may still add imports, which shift indices).
        self._func_exports: list[tuple[str, FuncRef]] = []
        # Functions passes defined, appended after the module's own: (type index, encoded body).
        self._funcs: list[tuple[int, bytes]] = []
        self._added_func_exports: list[tuple[str, int]] = []
        self._export_names: set[str] | None = None
        self._marks = OffsetMapBuilder()
        # Rewritten -> original offsets of the module `emit()` wrote (the identity before that,
        # or when nothing changed).
        self.offsets = OffsetMap(imported_funcs=self.info.num_imported_funcs)

    # -- for passes -------------------------------------------------------

    def bodies(self) -> Iterator[FuncBody]:
        """The defined functions, in index order (original indices)."""
        return iter(self.info.bodies)

    def body_bytes(self, body: FuncBody) -> bytes:
        return self.data[body.code_start : body.end]

    def editor(self, func_index: int) -> BodyEditor:
        """The decoded body of a defined function (decoded once, then shared)."""
        ed = self._editors.get(func_index)
        if ed is None:
            n = self.info.num_imported_funcs
            if not n <= func_index < self.info.num_funcs:
                raise IndexError(f"function {func_index} is not a defined function")
            ed = BodyEditor(self.info, self.info.bodies[func_index - n])
            self._editors[func_index] = ed
        return ed

    def release(self, func_index: int) -> None:
        """Forget a decoded body nobody edited (keeps memory flat on big guests)."""
        ed = self._editors.get(func_index)
        if ed is not None and not ed.edited:
            del self._editors[func_index]

    def func_type(self, params: Sequence[ValTypeLike], results: Sequence[ValTypeLike]) -> int:
        """Index of a plain function type, reusing an identical existing one."""
        enc = _functype(params, results)
        index = self._types.get(enc)
        if index is None:
            index = self.info.type_count + len(self._new_types)
            self._new_types.append(enc)
            self._types[enc] = index
        return index

    def import_func(
        self,
        module: str,
        name: str,
        params: Sequence[ValTypeLike],
        results: Sequence[ValTypeLike],
    ) -> FuncRef:
        """Request a function import (once per (module, name)); returns its ref.

        A module that already imports `module.name` with the same signature
        (a guest calling `wasmconc.sched_point` itself, or one instrumented
        before) keeps that import: adding a twin would only shift indices.
        """
        ref = self._import_refs.get((module, name))
        if ref is None:
            ref = self._existing_import(module, name, params, results)
        if ref is None:
            ref = FuncRef(len(self._imports), added=True)
            self._imports.append((module, name, self.func_type(params, results)))
        self._import_refs[(module, name)] = ref
        return ref

    def _existing_import(
        self,
        module: str,
        name: str,
        params: Sequence[ValTypeLike],
        results: Sequence[ValTypeLike],
    ) -> FuncRef | None:
        want = FuncSig(tuple(_valtype(t) for t in params), tuple(_valtype(t) for t in results))
        func_index = 0
        for imp in self.info.imports:
            if imp.kind != FUNC or imp.type_index is None:
                continue
            same_name = (imp.module, imp.name) == (module, name)
            if same_name and self.info.func_sigs.get(imp.type_index) == want:
                return FuncRef(func_index)
            func_index += 1
        return None

    def add_global(self, valtype: ValTypeLike, init: bytes, *, mutable: bool = True) -> int:
        """Append a defined global; `init` is its constant expression without the final
        `end`. Returns its index: appended globals never shift existing ones."""
        index = self.info.num_imported_globals + self.info.num_defined_globals + len(self._globals)
        self._globals.append(_valtype(valtype) + (b"\x01" if mutable else b"\x00") + bytes(init) + b"\x0b")
        return index

    def added_globals(self) -> list[bytes]:
        """The globals passes appended so far, encoded (value type, mutability, initialiser with its `end`)."""
        return list(self._globals)

    def export_global(self, name: str, index: int) -> None:
        """Export global `index` as `name` (refused if the module already exports that name)."""
        self._claim_export_name(name)
        self._exports.append(encode_name(name) + bytes((GLOBAL,)) + uleb(index))

    def export_func(self, name: str, ref: FuncRef) -> None:
        """Export function `ref` as `name` (refused if the module already exports that name)."""
        self._claim_export_name(name)
        self._func_exports.append((name, ref))

    def add_func(self, params: Sequence[ValTypeLike], results: Sequence[ValTypeLike], body: bytes) -> int:
        """Define a new function after the module's own (no pass instruments it); `body` is its
        locals vector and code, final `end` included. Returns its position among added functions."""
        self._funcs.append((self.func_type(params, results), bytes(body)))
        return len(self._funcs) - 1

    def export_added_func(self, name: str, position: int) -> None:
        """Export the function `add_func` returned `position` for as `name`."""
        self._claim_export_name(name)
        self._added_func_exports.append((name, position))

    def _claim_export_name(self, name: str) -> None:
        """Reserve `name` for an export a pass adds (refused if the module already exports it)."""
        names = self._existing_export_names()
        if name in names:
            raise InstrumentError(0, f"the module already exports {name!r}, which the runtime needs for itself")
        names.add(name)

    def existing_export_names(self) -> frozenset[str]:
        """The names the module exports (and those passes added so far)."""
        return frozenset(self._existing_export_names())

    def _existing_export_names(self) -> set[str]:
        if self._export_names is None:
            names: set[str] = set()
            sec = self.info.section(7)
            if sec is not None:
                r = Reader(self.data, sec.payload, sec.end)
                for _ in range(r.u32()):
                    names.add(r.name())
                    r.u8()
                    r.u32()
            self._export_names = names
        return self._export_names

    @property
    def imports_added(self) -> list[tuple[str, str]]:
        return [(m, n) for m, n, _ in self._imports]

    def remap(self, index: int) -> int:
        """New index of original function `index`."""
        if index < self.info.num_imported_funcs:
            return index
        return index + len(self._imports)

    def resolve(self, ref: FuncRef) -> int:
        if ref.added:
            return self.info.num_imported_funcs + ref.index
        return self.remap(ref.index)

    @property
    def changed(self) -> bool:
        return bool(
            self._imports or self._new_types or self._globals or self._exports or self._func_exports
            or self._funcs
            or any(ed.edited for ed in self._editors.values())
        )

    # -- writing ------------------------------------------------------------

    def emit(self) -> bytes:
        """The rewritten module; the input itself when nothing changed."""
        if not self.changed:
            self.offsets = OffsetMap(imported_funcs=self.info.num_imported_funcs)
            return self.data
        for name, ref in self._func_exports:
            self._exports.append(encode_name(name) + bytes((FUNC,)) + uleb(self.resolve(ref)))
        self._func_exports = []
        first_added = self.info.num_funcs + len(self._imports)
        for name, position in self._added_func_exports:
            self._exports.append(encode_name(name) + bytes((FUNC,)) + uleb(first_added + position))
        self._added_func_exports = []
        data = self.data
        out = [data[:8]]
        size = 8  # bytes in `out` so far
        pending = []
        if self._new_types and self.info.section(1) is None:
            pending.append((1, self._prepend_count(None, self._new_types)))
        if self._imports and self.info.section(2) is None:
            pending.append((2, self._prepend_count(None, self._import_entries())))
        if self._globals and self.info.section(6) is None:
            pending.append((6, self._prepend_count(None, self._globals)))
        if self._exports and self.info.section(7) is None:
            pending.append((7, self._prepend_count(None, self._exports)))
        for sec in self.info.sections:
            if sec.id != 0:
                while pending and SECTION_ORDER[pending[0][0]] < SECTION_ORDER[sec.id]:
                    sid, payload = pending.pop(0)
                    piece = bytes((sid,)) + uleb(len(payload)) + payload
                    out.append(piece)
                    size += len(piece)
            new = self._payload(sec.id, sec.payload, sec.body, sec.end, sec.name)
            new = self._append_entries(sec.id, sec.payload, sec.end, new)
            if new is None:
                piece = data[sec.start : sec.end]
            else:
                piece = bytes((sec.id,)) + uleb(len(new)) + new
            if sec.id == 10:
                self._map_code(size, sec, piece, new)
            out.append(piece)
            size += len(piece)
        for sid, payload in pending:
            out.append(bytes((sid,)) + uleb(len(payload)) + payload)
        return b"".join(out)

    def _map_code(self, at: int, sec: Section, piece: bytes, new: bytes | None) -> None:
        """Record the offset map once the code section lands at output offset `at`."""
        imported, added = self.info.num_imported_funcs, len(self._imports)
        if new is None:  # copied whole: one linear segment
            marks = OffsetMapBuilder()
            marks.copy(0, sec.payload)
            self.offsets = marks.build(at + sec.payload - sec.start, imported, added)
            return
        payload_at = at + len(piece) - len(new)
        self.offsets = self._marks.build(payload_at, imported, added)

    def _append_entries(self, sid: int, payload: int, end: int, new: bytes | None) -> bytes | None:
        """Add this rewriter's own globals/exports to an existing section's vector."""
        extra = self._globals if sid == 6 else self._exports if sid == 7 else None
        if sid == 3 and self._funcs:
            extra = [uleb(t) for t, _ in self._funcs]
        elif sid == 10 and self._funcs:
            extra = [uleb(len(body)) + body for _, body in self._funcs]
        if not extra:
            return new
        return _extend_vector(new if new is not None else self.data[payload:end], extra)

    def _import_entries(self) -> list[bytes]:
        return [encode_name(m) + encode_name(n) + b"\x00" + uleb(t) for m, n, t in self._imports]

    def _prepend_count(self, span: tuple[int, int] | None, extra: list[bytes]) -> bytes:
        """A vector payload: the original entries (if any) then `extra`."""
        if span is None:
            return uleb(len(extra)) + b"".join(extra)
        return _extend_vector(self.data[span[0] : span[1]], extra)

    def _payload(
        self, sid: int, payload: int, body: int, end: int, name: str | None
    ) -> bytes | None:
        """A section's new payload, or None to copy it unchanged."""
        shifted = bool(self._imports)
        data = self.data
        if sid == 1 and self._new_types:
            return self._prepend_count((payload, end), self._new_types)
        if sid == 2 and self._imports:
            return self._prepend_count((payload, end), self._import_entries())
        if sid == 10:
            return self._code_payload(payload, end)
        if not shifted:
            return None
        if sid == 4:
            return remap_tables(data, payload, end, self.remap)
        if sid == 6:
            return remap_globals(data, payload, end, self.remap)
        if sid == 7:
            return remap_exports(data, payload, end, self.remap)
        if sid == 8:
            return remap_start(data, payload, end, self.remap)
        if sid == 9:
            return remap_elements(data, payload, end, self.remap)
        if sid == 0 and name == "name":
            new = remap_name_section(data, body, end, self.remap)
            return None if new is None else data[payload:body] + new
        return None

    def _code_payload(self, payload: int, end: int) -> bytes | None:
        """The new code section payload (None: unchanged), its offset map left in `self._marks`
        with positions relative to the payload's first byte."""
        shifted = bool(self._imports)
        if not shifted and not self._funcs and not any(ed.edited for ed in self._editors.values()):
            return None
        data = self.data
        marks = self._marks = OffsetMapBuilder()
        r = Reader(data, payload, end)
        r.u32()
        pieces = [data[payload : r.pos]]
        marks.copy(0, payload)
        size = r.pos - payload
        last = r.pos
        for fb in self.info.bodies:
            ed = self._editors.get(fb.index)
            if ed is None:
                if not shifted:
                    continue
                ed = BodyEditor(self.info, fb)  # decoded only to shift its calls
            at = size + fb.start - last
            new = ed.encode(self.remap, self.resolve, marks, at)
            if new is None:
                continue
            pieces.append(data[last : fb.start])
            pieces.append(new)
            size = at + len(new)
            last = fb.end
            marks.copy(size, last)
        pieces.append(data[last:end])
        return b"".join(pieces)
