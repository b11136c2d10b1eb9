"""Source lines of instructions, from a guest's DWARF line table (`.debug_line`), for race reports.

A guest built with `-g` carries DWARF in custom sections; in wasm, a line
table's addresses are offsets from the start of the code section's payload.
Only the line-number program is read (DWARF 2 to 5, 32- and 64-bit units):
enough to say `file:line` for the instruction a site stands for. Anything
this reader does not understand makes it give up on that unit, quietly: a
report without a source line is still a report.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from .module import ModuleInfo

__all__ = ["LineTable", "line_table"]

_CODE_SECTION = 10
# DWARF 5 forms an entry format may use (DW_FORM_*), by how to read them.
_STRING, _LINE_STRP, _STRP, _UDATA = 0x08, 0x1F, 0x0E, 0x0F
_FIXED = {0x0B: 1, 0x05: 2, 0x06: 4, 0x07: 8, 0x1E: 16}  # data1, data2, data4, data8, data16
_BLOCK = 0x09
_DW_LNCT_PATH, _DW_LNCT_DIRECTORY_INDEX = 1, 2


class _Malformed(Exception):
    pass


@dataclass
class LineTable:
    """`lookup(module_offset)`: the `file:line` of the instruction at that byte offset of the module."""

    code_start: int
    # One sorted list of (address, file, line) per sequence, and each sequence's [start, end).
    sequences: list[tuple[int, int, list[tuple[int, str, int]]]] = field(default_factory=list)

    def lookup(self, module_offset: int) -> str | None:
        address = module_offset - self.code_start
        for start, end, rows in self.sequences:
            if start <= address < end:
                i = bisect.bisect_right(rows, (address, "\U0010ffff", 1 << 62)) - 1
                if i >= 0 and rows[i][2] > 0:
                    return f"{rows[i][1]}:{rows[i][2]}"
        return None


def line_table(info: ModuleInfo) -> LineTable | None:
    """The module's line table, or None when it has no DWARF line information."""
    code = info.section(_CODE_SECTION)
    debug_line = info.custom(".debug_line")
    if code is None or debug_line is None:
        return None
    data = info.data
    line_str = info.custom(".debug_line_str")
    strs = info.custom(".debug_str")
    table = LineTable(code.payload)
    reader = _Reader(data[debug_line.body:debug_line.end],
                     data[line_str.body:line_str.end] if line_str else b"",
                     data[strs.body:strs.end] if strs else b"")
    pos = 0
    while pos < len(reader.data):
        try:
            pos = reader.unit(pos, table)
        except (_Malformed, IndexError, UnicodeDecodeError):
            break
    return table if table.sequences else None


class _Reader:
    def __init__(self, data: bytes, line_str: bytes, strs: bytes) -> None:
        self.data = data
        self.line_str = line_str
        self.strs = strs
        self.pos = 0

    def u(self, n: int) -> int:
        v = int.from_bytes(self.data[self.pos:self.pos + n], "little")
        if self.pos + n > len(self.data):
            raise _Malformed("truncated")
        self.pos += n
        return v

    def uleb(self) -> int:
        result = shift = 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result

    def sleb(self) -> int:
        result = shift = 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result - (1 << shift) if b & 0x40 else result

    def cstr(self) -> str:
        end = self.data.index(b"\0", self.pos)
        s = self.data[self.pos:end].decode("utf-8")
        self.pos = end + 1
        return s

    def form(self, form: int, offset_size: int) -> str | int:
        if form == _STRING:
            return self.cstr()
        if form in (_LINE_STRP, _STRP):
            table = self.line_str if form == _LINE_STRP else self.strs
            at = self.u(offset_size)
            end = table.index(b"\0", at)
            return table[at:end].decode("utf-8")
        if form == _UDATA:
            return self.uleb()
        if form in _FIXED:
            return self.u(_FIXED[form])
        if form == _BLOCK:
            self.pos += self.uleb()
            return 0
        raise _Malformed(f"form {form:#x}")

    def entries(self, offset_size: int) -> list[dict[int, str | int]]:
        """A DWARF 5 directory or file-name table."""
        formats = [(self.uleb(), self.uleb()) for _ in range(self.u(1))]
        return [{content: self.form(form, offset_size) for content, form in formats} for _ in range(self.uleb())]

    def unit(self, start: int, table: LineTable) -> int:
        """Read one line-number program unit at `start` into `table`; returns where the next begins."""
        self.pos = start
        length, offset_size = self.u(4), 4
        if length == 0xFFFFFFFF:
            length, offset_size = self.u(8), 8
        end = self.pos + length
        if end > len(self.data):
            raise _Malformed("a unit longer than the section")
        version = self.u(2)
        if not 2 <= version <= 5:
            raise _Malformed(f"version {version}")
        address_size = 4
        if version >= 5:
            address_size = self.u(1)
            self.u(1)  # segment selector size
        header_length = self.u(offset_size)
        program = self.pos + header_length
        min_length = self.u(1)
        if version >= 4:
            self.u(1)  # maximum operations per instruction (VLIW only)
        default_is_stmt = self.u(1)
        line_base = self.u(1)
        line_base -= 256 if line_base >= 128 else 0
        line_range = self.u(1)
        opcode_base = self.u(1)
        arg_counts = [self.u(1) for _ in range(opcode_base - 1)]
        if line_range == 0:
            raise _Malformed("line_range 0")
        files = self._files(version, offset_size)
        self.pos = program
        self._program(end, files, version, min_length, line_base, line_range, opcode_base, arg_counts,
                      address_size, table)
        del default_is_stmt  # rows are kept whatever their is_stmt: the nearest line is what a report wants
        return end

    def _files(self, version: int, offset_size: int) -> list[str]:
        if version >= 5:
            dirs = [str(d.get(_DW_LNCT_PATH, "")) for d in self.entries(offset_size)]
            out = []
            for f in self.entries(offset_size):
                name = str(f.get(_DW_LNCT_PATH, "?"))
                d = f.get(_DW_LNCT_DIRECTORY_INDEX, 0)
                out.append(_join(dirs[d] if isinstance(d, int) and d < len(dirs) else "", name))
            return out
        dirs = [""]
        while True:
            d = self.cstr()
            if not d:
                break
            dirs.append(d)
        files = ["?"]  # DWARF 2-4 count files from 1
        while True:
            name = self.cstr()
            if not name:
                break
            d = self.uleb()
            self.uleb()  # modification time
            self.uleb()  # length
            files.append(_join(dirs[d] if d < len(dirs) else "", name))
        return files

    def _program(self, end: int, files: list[str], version: int, min_length: int, line_base: int,
                 line_range: int, opcode_base: int, arg_counts: list[int], address_size: int,
                 table: LineTable) -> None:
        address, file, line = 0, 1, 1
        rows: list[tuple[int, str, int]] = []

        def emit() -> None:
            rows.append((address, files[file] if 0 <= file < len(files) else "?", line))

        while self.pos < end:
            op = self.u(1)
            if op >= opcode_base:
                adjusted = op - opcode_base
                address += (adjusted // line_range) * min_length
                line += line_base + adjusted % line_range
                emit()
            elif op == 0:  # extended
                n = self.uleb()
                after = self.pos + n
                sub = self.u(1) if n else 0
                if sub == 1:  # end_sequence
                    if rows:
                        table.sequences.append((rows[0][0], address, sorted(rows)))
                    address, file, line, rows = 0, 1, 1, []
                elif sub == 2:  # set_address
                    address = self.u(address_size)
                self.pos = after
            elif op == 1:  # copy
                emit()
            elif op == 2:  # advance_pc
                address += self.uleb() * min_length
            elif op == 3:  # advance_line
                line += self.sleb()
            elif op == 4:  # set_file
                file = self.uleb()
            elif op == 8:  # const_add_pc
                address += ((255 - opcode_base) // line_range) * min_length
            elif op == 9:  # fixed_advance_pc
                address += self.u(2)
            else:  # set_column, negate_stmt, ...: skip their operands
                for _ in range(arg_counts[op - 1]):
                    self.uleb()


def _join(directory: str, name: str) -> str:
    if not directory or name.startswith("/"):
        return name
    return f"{directory.rstrip('/')}/{name}"
