"""Toolchain-built guests in guests/ (wasi-libc pthreads, Zig) instrument cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from instr_wasm_support import (
    assert_valid,
    dump_instruction_offsets,
    our_instruction_offsets,
)

from pytest_wasmconc.instrument import InstrumentLevel, function_names, instrument

ROOT = Path(__file__).resolve().parents[2]
CORE_HEADER = b"\0asm\x01\x00\x00\x00"
# Core modules only: components (guests/components) are not instrumented.
GUESTS = sorted(p for p in ROOT.glob("guests/**/*.wasm") if p.read_bytes()[:8] == CORE_HEADER)


def test_the_committed_guest_corpus_is_there() -> None:
    # Guests are committed with their sources: none found means a broken checkout,
    # which must fail here rather than leave the tests below with nothing to run.
    assert len(GUESTS) >= 20, GUESTS


def core_module(path: Path) -> bytes:
    return path.read_bytes()


@pytest.mark.parametrize("path", GUESTS, ids=[str(p.relative_to(ROOT)) for p in GUESTS])
def test_guest_instruments_to_a_valid_module_at_every_level(path: Path) -> None:
    data = core_module(path)
    names = function_names(data)
    for level in InstrumentLevel:
        r = instrument(data, level)
        assert_valid(r.wasm)
        for site in r.sites:
            assert data[site.offset] == 0xFE
            assert site.func_name == names.get(site.func_index)
        if r.changed:
            assert function_names(r.wasm) == r.func_names
            assert sorted(r.func_names.values()) == sorted(names.values())


@pytest.mark.parametrize("path", GUESTS, ids=[str(p.relative_to(ROOT)) for p in GUESTS])
def test_guest_instruction_boundaries_match_wasm_tools(path: Path) -> None:
    data = core_module(path)
    assert our_instruction_offsets(data) == dump_instruction_offsets(data)
