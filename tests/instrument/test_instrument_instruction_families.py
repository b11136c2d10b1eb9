"""The decoder steps over every instruction family exactly as wasm-tools does.

Each `families/*.wat` module exercises one group of proposals. The oracle
for instruction boundaries is `wasm-tools dump`; the oracle for the
rewritten module is validation after adding imports (which shifts every
function index in it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from instr_wasm_support import (
    assert_valid,
    dump_instruction_offsets,
    force_shift,
    our_instruction_offsets,
    run_wasm_tools,
    wat,
)

from pytest_wasmconc.instrument import InstrumentLevel, ModuleRewriter, instrument

FAMILIES = Path(__file__).parent / "families"
# Proposals wasmtime 50 does not enable (legacy exceptions) or that our test
# engine does not turn on (stack switching): validated with wasm-tools.
WASM_TOOLS_ONLY = {"legacy_eh", "stack_switching"}
NAMES = sorted(p.stem for p in FAMILIES.glob("*.wat"))



def load(name: str) -> bytes:
    return wat((FAMILIES / f"{name}.wat").read_text())


def validate(name: str, wasm: bytes) -> None:
    if name in WASM_TOOLS_ONLY:
        run_wasm_tools("validate", "--features", "all", "-", stdin=wasm)
    else:
        assert_valid(wasm)


@pytest.mark.parametrize("name", NAMES)
def test_family_module_is_valid_to_begin_with(name: str) -> None:
    validate(name, load(name))


@pytest.mark.parametrize("name", NAMES)
def test_instruction_boundaries_match_wasm_tools_dump(name: str) -> None:
    data = load(name)
    ours = our_instruction_offsets(data)
    assert sum(map(len, ours.values())) > 10
    assert ours == dump_instruction_offsets(data)


@pytest.mark.parametrize("name", NAMES)
def test_shifting_function_indices_keeps_family_module_valid(name: str) -> None:
    validate(name, force_shift(load(name), 2))


@pytest.mark.parametrize("name", NAMES)
def test_instrumenting_family_module_keeps_it_valid(name: str) -> None:
    data = load(name)
    for level in InstrumentLevel:
        r = instrument(data, level)
        validate(name, r.wasm)
        if not r.changed:
            assert r.wasm is data


@pytest.mark.parametrize("name", NAMES)
def test_decoding_every_body_without_edits_reproduces_the_input(name: str) -> None:
    data = load(name)
    rw = ModuleRewriter(data)
    for fb in rw.bodies():
        rw.editor(fb.index)
    assert rw.emit() is data
    # ...and re-encoding untouched bodies through the writer is lossless too.
    for fb in rw.bodies():
        ed = rw.editor(fb.index)
        assert ed.encode(lambda i: i, rw.resolve) is None
