"""Helpers shared by the instrumenter tests (a uniquely named plain module).

Test modules import it directly: pytest puts this directory on sys.path.
"""

from __future__ import annotations

import functools
import re
import subprocess

import wasmtime
from child_processes import CHILD_LIMIT_S, wasm_tools

from pytest_wasmconc.instrument import ModuleRewriter
from pytest_wasmconc.instrument.decode import decode_expr


def wat(text: str) -> bytes:
    return bytes(wasmtime.wat2wasm(text))


@functools.cache
def engine() -> wasmtime.Engine:
    """An engine with every proposal wasmtime 50 implements and our guests may use."""
    c = wasmtime.Config()
    for flag in (
        "wasm_threads",
        "shared_memory",
        "wasm_simd",
        "wasm_relaxed_simd",
        "wasm_bulk_memory",
        "wasm_reference_types",
        "wasm_multi_value",
        "wasm_tail_call",
        "wasm_exceptions",
        "wasm_gc",
        "wasm_function_references",
        "wasm_memory64",
        "wasm_multi_memory",
        "wasm_wide_arithmetic",
        "wasm_custom_page_sizes",
        "gc_support",
    ):
        setattr(c, flag, True)
    return wasmtime.Engine(c)


def validation_error(wasm: bytes) -> str | None:
    try:
        wasmtime.Module.validate(engine(), wasm)
    except wasmtime.WasmtimeError as e:
        return str(e)
    return None


def assert_valid(wasm: bytes) -> None:
    err = validation_error(wasm)
    assert err is None, err


def run_wasm_tools(*args: str, stdin: bytes | None = None) -> bytes:
    # wasm_tools() fails the test when the dev dependency is missing: a broken set-up, not a skip.
    p = subprocess.run([wasm_tools(), *args], input=stdin, capture_output=True, timeout=CHILD_LIMIT_S, check=False)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.decode(errors="replace"))
    return p.stdout


def print_wat(wasm: bytes) -> str:
    return run_wasm_tools("print", "-", stdin=wasm).decode()


_DUMP_LINE = re.compile(r"^\s*0x([0-9a-f]+) \|[^|]*\| (.*)$")
_NOT_INSTR = re.compile(r"size of function|local blocks|locals of type")


def dump_instruction_offsets(wasm: bytes) -> dict[int, list[int]]:
    """Per function index: start offsets of its instructions, as wasm-tools sees them."""
    out: dict[int, list[int]] = {}
    current: list[int] | None = None
    in_code = False
    for line in run_wasm_tools("dump", "-", stdin=wasm).decode().splitlines():
        if line.startswith("=============="):
            index = int(line.split()[2])
            current = out.setdefault(index, [])
            continue
        m = _DUMP_LINE.match(line)
        if not m:
            continue
        what = m.group(2)
        if what.endswith("section"):
            in_code = what == "code section"
            current = None
            continue
        if in_code and current is not None and not _NOT_INSTR.search(what):
            current.append(int(m.group(1), 16))
    return out


def our_instruction_offsets(wasm: bytes) -> dict[int, list[int]]:
    rw = ModuleRewriter(wasm)
    return {
        fb.index: [ins.start for ins in decode_expr(wasm, fb.code_start, fb.end)[0]]
        for fb in rw.info.bodies
    }


def force_shift(wasm: bytes, n: int = 1) -> bytes:
    """Rewrite with `n` dummy imports added: exercises every index shift."""
    rw = ModuleRewriter(wasm)
    for k in range(n):
        rw.import_func("test", f"dummy{k}", ["i32"], [])
    return rw.emit()
