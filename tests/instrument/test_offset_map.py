"""The instrumenter's map from rewritten offsets back to the original's (instrument/offsets.py, locator.py).

Checked with the project's own decoder on real guests, as each preempt mode loads them: every
instruction of the rewritten module maps to an instruction of the same function in the original,
every original instruction is the image of one (nothing is lost), and copied instructions map to
identical bytes. A module whose defined memory moves into the imports (a code shift before the
rewriter) and a module left unchanged map right too.
"""

from __future__ import annotations

import bisect
from pathlib import Path

import pytest
import wasmtime

from pytest_wasmconc.instrument import OffsetMap
from pytest_wasmconc.instrument.decode import Instr, decode_expr
from pytest_wasmconc.instrument.locator import Locator, located
from pytest_wasmconc.instrument.module import parse_module
from pytest_wasmconc.instrument.offsets import OffsetMapBuilder
from pytest_wasmconc.runtime import Preempt
from pytest_wasmconc.runtime.loading.program import Program, load_program
from pytest_wasmconc.runtime.settings import EngineSettings

GUESTS = Path(__file__).resolve().parents[2] / "guests"
REAL = [GUESTS / "reports" / "where.wasm", GUESTS / "c" / "lock_order.wasm", GUESTS / "wat" / "own_memory_threads.wasm",
        GUESTS / "wat" / "trap_worker_main_waiting.wasm"]
CALL_OPS = {0x10, 0x12}  # call, return_call: their function index is re-encoded


def functions(data: bytes) -> dict[int, list[Instr]]:
    info = parse_module(data)
    return {fb.index: decode_expr(data, fb.code_start, fb.end)[0] for fb in info.bodies}


def check_program(prog: Program, original: bytes) -> None:
    locator = prog.locator
    before = functions(original)
    after = functions(prog.wasm)
    # Functions the instrumenter defines itself come last (restart.py's empty start function of a
    # module without one): they have no original.
    added = set(sorted(after)[len(before):])
    for index, instrs in after.items():
        if index in added:
            continue
        orig_index = locator.original_func(index)
        assert orig_index is not None and orig_index in before
        starts = {i.start: i for i in before[orig_index]}
        images = set()
        for ins in instrs:
            at = locator.original_offset(ins.start)
            assert at in starts, (index, ins)
            images.add(at)
            if locator.offsets.linear[_segment(locator.offsets, ins.start)]:
                o = starts[at]
                assert prog.wasm[ins.start:ins.end] == original[o.start:o.end], (index, ins, o)
        assert images == set(starts), f"function {orig_index}: original instructions no rewritten one maps to"


def _segment(offsets: OffsetMap, at: int) -> int:
    return bisect.bisect_right(offsets.new, at) - 1


@pytest.mark.parametrize("preempt", [Preempt.FUEL, Preempt.OS])
@pytest.mark.parametrize("level", ["waits", "shared"])
@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_every_rewritten_instruction_maps_to_one_of_its_function_in_the_file(path: Path, level: str,
                                                                             preempt: Preempt) -> None:
    prog = load_program(path, EngineSettings.for_mode(preempt), level=level)
    assert prog.wasm != path.read_bytes()
    check_program(prog, path.read_bytes())


# A threaded module that defines its shared memory (moved into the imports before rewriting) and traps.
OWN_MEMORY = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (memory (export "memory") 1 1 shared)
  (func $crash (i32.atomic.store (i32.const 0) (i32.const 1)) unreachable)
  (func (export "wasi_thread_start") (param i32 i32) (call $crash))
  (func (export "_start") (drop (call $spawn (i32.const 0)))))"""


def test_a_defined_memory_moved_into_the_imports_keeps_the_files_offsets() -> None:
    wasm = bytes(wasmtime.wat2wasm(OWN_MEMORY))
    prog = load_program(wasm, EngineSettings.for_mode(Preempt.FUEL), level="memory")
    assert prog.input_shift != 0  # the import section grew, the code moved
    check_program(prog, wasm)
    crash = functions(wasm)[1]
    store, trap = crash[2], crash[3]
    assert (store.op, trap.op) == (0xFE0017, 0x00)  # i32.atomic.store, unreachable
    # the atomics pass counted its site in its own input; the locator prints the file's offset
    (site,) = [s for s in prog.sites if s.func_name == "crash"]
    assert prog.locator.site(site.func_name, site.func_index, site.offset) == f"crash (@{store.start:#x})"
    new_index = next(i for i in functions(prog.wasm) if prog.locator.original_func(i) == 1)
    unreachable = next(i for i in functions(prog.wasm)[new_index] if i.op == 0x00)
    assert prog.frame_text("crash", new_index, unreachable.start) == f"crash (@{trap.start:#x})"
    assert prog.position_text(unreachable.start) == f"crash (@{trap.start:#x})"


def test_an_unchanged_module_maps_to_itself_and_headers_snap_to_the_first_instruction() -> None:
    wasm = bytes(wasmtime.wat2wasm('(module (func $f (export "f") (local i32) nop unreachable))'))
    body = parse_module(wasm).bodies[0]
    locator = Locator(OffsetMap(), wasm)
    first = decode_expr(wasm, body.code_start, body.end)[0][1]
    assert locator.original_offset(first.start) == first.start
    # wasmtime reports code before the first instruction at the body's header
    assert locator.original_offset(body.start) == locator.original_offset(body.locals_start) == body.code_start
    assert locator.frame("f", 0, first.start) == f"f (@{first.start:#x})"
    assert locator.position(first.start) == f"f (@{first.start:#x})"
    assert located(None, 3, 0x10) == "<func 3> (@0x10)"
    assert located("f", 0, 0x10, "f.c:3") == "f (@0x10) f.c:3"


def test_the_builder_merges_what_continues_and_keeps_what_differs() -> None:
    b = OffsetMapBuilder()
    b.copy(0, 100)
    b.copy(5, 105)  # the same copy going on: no new segment
    b.stands_for(10, 110)
    b.stands_for(12, 110)  # more code for the same instruction
    b.copy(20, 110)  # the instruction itself, copied
    b.stands_for(25, 115)
    b.copy(25, 115)  # nothing was written under the last one: replaced (and merged into the copy before)
    m = b.build(1000, imported_funcs=2, added_imports=3)
    assert list(m.new) == [1000, 1010, 1020]
    assert [m.original(x) for x in (1000, 1007, 1010, 1019, 1020, 1026, 999)] == [100, 107, 110, 110, 110, 116, 999]
    assert [m.original_func(i) for i in (0, 1, 2, 4, 5, 9)] == [0, 1, None, None, 2, 6]
    assert m.shifted(7).original(1026) == 123 and OffsetMap().shifted(4).original(50) == 54
