"""Input that is not a decodable core module fails with a located InstrumentError."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from instr_wasm_support import run_wasm_tools, wat

from pytest_wasmconc.instrument import (
    InstrumentError,
    InstrumentLevel,
    ModuleRewriter,
    function_names,
    instrument,
)

ATOMIC_WAT = """
(module
  (memory 1 1 shared)
  (global $g (mut i32) (i32.const 0))
  (func $f (export "f") (param i32) (result i32)
    (block (result i32)
      (drop (i32.atomic.rmw.add (local.get 0) (i32.const 1)))
      (memory.atomic.notify (local.get 0) (i32.const 1))))
  (func (export "g") (result i32) (call $f (i32.const 8))))
"""


def test_empty_input_is_rejected() -> None:
    with pytest.raises(InstrumentError, match="empty input") as e:
        instrument(b"")
    assert e.value.offset == 0


def test_non_wasm_bytes_are_rejected_at_offset_zero() -> None:
    with pytest.raises(InstrumentError, match="not a WebAssembly binary") as e:
        instrument(b"\x7fELF\x02\x01\x01\x00")
    assert e.value.offset == 0
    assert "byte offset 0" in str(e.value)


def test_truncated_header_is_rejected() -> None:
    with pytest.raises(InstrumentError, match="truncated"):
        instrument(b"\0asm\x01\x00")


def test_component_header_is_named_as_such() -> None:
    with pytest.raises(InstrumentError, match="this is a WebAssembly component, not a core module"):
        instrument(b"\0asm\x0d\x00\x01\x00")


def test_real_component_binary_is_named_as_such() -> None:
    component = run_wasm_tools("parse", "-", stdin=b"(component (core module))")
    with pytest.raises(InstrumentError, match="component, not a core module"):
        instrument(component)
    with pytest.raises(InstrumentError, match="component"):
        function_names(component)


def test_unsupported_version_is_rejected() -> None:
    with pytest.raises(InstrumentError, match="unsupported WebAssembly version"):
        instrument(b"\0asm\x02\x00\x00\x00")


def test_truncation_inside_a_section_names_the_offset() -> None:
    data = wat(ATOMIC_WAT)
    cut = data[: len(data) - 5]
    with pytest.raises(InstrumentError) as e:
        instrument(cut)
    assert "byte offset" in str(e.value)
    assert 0 <= e.value.offset <= len(cut)


def _section_boundaries(data: bytes) -> set[int]:
    return {s.end for s in ModuleRewriter(data).info.sections} | {8}


def test_every_prefix_either_fails_cleanly_or_is_a_whole_module() -> None:
    data = wat(ATOMIC_WAT)
    boundaries = _section_boundaries(data)
    for n in range(len(data)):
        prefix = data[:n]
        if n in boundaries:
            # A shorter module: fine, unless it is incomplete (functions
            # declared without a code section), which must fail cleanly.
            try:
                instrument(prefix)
            except InstrumentError:
                pass
            continue
        with pytest.raises(InstrumentError):
            instrument(prefix)


def test_unknown_opcode_is_reported_with_its_offset() -> None:
    data = bytearray(wat(ATOMIC_WAT))
    # Replace the rmw's 0xFE 0x1E with 0xFE 0x7F (no such threads opcode).
    at = bytes(data).index(b"\xfe\x1e")
    data[at + 1] = 0x7F
    with pytest.raises(InstrumentError, match="unknown opcode 0xfe 0x7f") as e:
        instrument(bytes(data))
    assert e.value.offset == at


def test_bad_section_id_is_rejected() -> None:
    data = wat("(module)") + b"\x2a\x00"
    with pytest.raises(InstrumentError, match="unknown section id 42"):
        instrument(data)


def test_section_longer_than_the_input_is_rejected() -> None:
    data = wat("(module)") + b"\x01\x7f\x00"
    with pytest.raises(InstrumentError, match="claims 127 bytes"):
        instrument(data)


def test_random_corruption_raises_only_instrument_error() -> None:
    # Whatever garbage comes in, the caller sees InstrumentError or a result,
    # never an IndexError/UnicodeError from deep inside the decoder.
    data = wat(ATOMIC_WAT)
    rnd = random.Random(1234)
    for _ in range(3000):
        mutated = bytearray(data)
        for _ in range(rnd.randint(1, 3)):
            mutated[rnd.randrange(8, len(mutated))] = rnd.randrange(256)
        try:
            instrument(bytes(mutated))
        except InstrumentError:
            pass


def test_command_line_reports_errors_without_a_traceback(tmp_path: Path, capsys: Any) -> None:
    from pytest_wasmconc.instrument.__main__ import main

    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x0d\x00\x01\x00")
    assert main([str(bad)]) == 1
    assert "component" in capsys.readouterr().err
    good = tmp_path / "good.wasm"
    good.write_bytes(wat(ATOMIC_WAT))
    out = tmp_path / "out.wasm"
    assert main([str(good), "-o", str(out), "--level", "memory"]) == 0
    assert "rmw" in capsys.readouterr().out
    assert out.read_bytes() == instrument(wat(ATOMIC_WAT), InstrumentLevel.MEMORY).wasm
