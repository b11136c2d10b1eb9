"""Source lines from a guest's DWARF line table: the lines of racy.c's own accesses, and no crash without one."""

from __future__ import annotations

import re
from pathlib import Path

import wasmtime

from pytest_wasmconc.checks.races import RaceCheck, RaceInstrumentation
from pytest_wasmconc.instrument.lines import line_table
from pytest_wasmconc.instrument import instrument
from pytest_wasmconc.instrument.module import parse_module

GUESTS = Path(__file__).resolve().parents[2] / "guests"
RACY = GUESTS / "racecheck" / "racy.wasm"


def sites_of(wasm: bytes) -> RaceInstrumentation:
    result = instrument(wasm, passes=[RaceCheck().instrument]).pass_results[0]
    assert isinstance(result, RaceInstrumentation)
    return result


def test_each_access_of_racy_c_is_given_its_own_source_line() -> None:
    source = (GUESTS / "racecheck" / "racy.c").read_text().splitlines()
    expected = {name: i + 1 for i, text in enumerate(source)
                for name in re.findall(r"static void \*(\w+)\(void \*arg\) \{ ", text)}
    sites = sites_of(RACY.read_bytes()).sites
    for func in ("add_one", "add_two", "set_flag", "check_flag", "write_word"):
        plain = [s for s in sites if s.func == func and s.kind in ("read", "write")]
        assert plain, func
        assert {s.source for s in plain} == {f"racecheck/racy.c:{expected[func]}"}, func


def test_a_guest_without_dwarf_has_no_line_table_and_no_sources() -> None:
    wasm = bytes(wasmtime.wat2wasm('(module (memory 1 1 shared) (func (export "f") (param i32) '
                                   '(drop (i32.load (local.get 0)))))'))
    assert line_table(parse_module(wasm)) is None
    assert [s.source for s in sites_of(wasm).sites] == [None]


def test_a_truncated_line_table_is_given_up_quietly() -> None:
    data = RACY.read_bytes()
    info = parse_module(data)
    section = info.custom(".debug_line")
    assert section is not None
    cut = bytearray(data)
    # Claim a unit far longer than the section: the reader stops, it does not raise.
    cut[section.body:section.body + 4] = (0x7FFFFFF0).to_bytes(4, "little")
    assert line_table(parse_module(bytes(cut))) is None
