"""Every position a report prints is the user's: the offset `wasm-objdump -d` shows in the file they
built (not the rewritten module's), the function's name, and `file.c:LINE` when the file has DWARF.

One report of each kind (a trap, a deadlock, a lock-order inversion, a data race) from
guests/reports/where.c (built with -g), through the CLI in a child process; each printed offset is
compared with the instruction the project's own decoder finds in the original file: the trapping
`unreachable`, the `call` a frame is in, the load and the store of a race. The same call has the
same offset in a deadlock's thread states and in a lock-order report.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime
from child_processes import CHILD_LIMIT_S

from pytest_wasmconc.instrument.decode import Instr, decode_expr
from pytest_wasmconc.instrument.module import parse_module
from pytest_wasmconc.instrument.names import function_names_of
from pytest_wasmconc.runtime import Preempt
from pytest_wasmconc.runtime.loading.program import load_program
from pytest_wasmconc.runtime.settings import EngineSettings

GUESTS = Path(__file__).resolve().parents[2] / "guests"
WHERE = GUESTS / "reports" / "where.wasm"
SOURCE = (GUESTS / "reports" / "where.c").read_text().splitlines()
WAT_TRAP = GUESTS / "wat" / "trap_worker_main_waiting.wasm"
BACKSTOP_S = 240  # bounds a broken run (a deadlock not found), never the pace of a passing one
CALL, UNREACHABLE, I32_LOAD, I32_STORE = 0x10, 0x00, 0x28, 0x36
FRAME = re.compile(r"^\s+at (\S+) \(@0x([0-9a-f]+)\)(?: (\S+):(\d+))?", re.M)
# The functions of where.c; the others are wasi-libc's, built without DWARF (no line to show).
USER = {"crash_here", "worker_body", "take_second", "thread_ab", "thread_ba", "add_one", "main"}


class Original:
    """The guest as the user built it, decoded by the project's own decoder."""

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        info = parse_module(data)
        names = function_names_of(info)
        self.index = {name: i for i, name in names.items()}
        self.instrs: dict[str, list[Instr]] = {}
        for fb in info.bodies:
            if fb.index in names:
                self.instrs[names[fb.index]] = decode_expr(data, fb.code_start, fb.end)[0]

    def offsets(self, func: str, op: int, callee: str | None = None) -> list[int]:
        """Offsets of the `op` instructions of `func` (calls: of `callee` only)."""
        want = self.index[callee] if callee is not None else None
        return [i.start for i in self.instrs[func] if i.op == op and (want is None or i.imm[0] == want)]

    def starts(self, func: str) -> set[int]:
        return {i.start for i in self.instrs[func]}


WHERE_FILE = Original(WHERE)


def line_of(text: str) -> int:
    """The line of where.c holding `text` (once)."""
    (found,) = [n + 1 for n, line in enumerate(SOURCE) if text in line]
    return found


def wasmconc(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "pytest_wasmconc", *args], capture_output=True, text=True,
                          timeout=CHILD_LIMIT_S, stdin=subprocess.DEVNULL)
    return proc.stdout + proc.stderr


def frames(text: str) -> list[tuple[str, int, str | None]]:
    """(function, offset, "file:line" or None) of every frame printed in `text`."""
    return [(m[1], int(m[2], 16), f"{m[3]}:{m[4]}" if m[3] else None) for m in FRAME.finditer(text)]


def block(text: str, head: str) -> str:
    """The lines of `text` from the one starting with `head` to the next thread's."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip().startswith(head))
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"\s+thread \d", lines[i])), len(lines))
    return "\n".join(lines[start:end])


def assert_every_frame_is_the_files(text: str, original: Original = WHERE_FILE) -> None:
    """Each frame's offset is an instruction of its function in the original file; user frames have lines."""
    found = frames(text)
    assert found, text
    for func, at, source in found:
        assert at in original.starts(func), f"{func} (@{at:#x}) is no instruction of {func} in the file\n{text}"
        if func in USER:
            assert source is not None and source.startswith("reports/where.c:"), f"{func}: no source line\n{text}"


def frame(text: str, func: str) -> tuple[int, str | None]:
    (hit,) = {(at, source) for f, at, source in frames(text) if f == func}
    return hit


@pytest.mark.parametrize("mode", ["fuel", "os"])
def test_a_trap_names_the_trapping_instruction_and_the_calls_of_every_thread(mode: str) -> None:
    out = wasmconc("run", "--preempt", mode, "--seed", "0", "--timeout", str(BACKSTOP_S), str(WHERE), "--", "trap")
    assert "trap in thread 1: wasm `unreachable` instruction executed" in out, out
    assert_every_frame_is_the_files(out)
    worker = block(out, "thread 1:")
    assert frame(worker, "crash_here") == (WHERE_FILE.offsets("crash_here", UNREACHABLE)[0],
                                           f"reports/where.c:{line_of('__builtin_trap();')}")
    assert frame(worker, "worker_body") == (WHERE_FILE.offsets("worker_body", CALL, "crash_here")[0],
                                            f"reports/where.c:{line_of('crash_here();')}")
    # the other thread, where it was (its frames checked above): in fuel mode parked in pthread_join;
    # on real threads maybe still creating the worker or spinning before the wait
    main = block(out, "thread 0 (main):")
    assert frames(main) and frames(main)[-1][0] == "_start", out
    if mode == "fuel":
        assert "thread 0 (main): parked in memory.atomic.wait32" in main, out
        assert frame(main, "main")[0] in WHERE_FILE.offsets("main", CALL, "__pthread_join"), out
    assert " finished in " not in out and "(main): finished" not in out, out


def test_a_deadlock_and_a_lock_order_report_give_the_same_call_the_same_offset() -> None:
    dead = wasmconc("run", "--seed", "0", "--timeout", str(BACKSTOP_S), str(WHERE), "--", "deadlock")
    assert "deadlock! every live guest thread" in dead, dead
    assert_every_frame_is_the_files(dead)
    lock_call = WHERE_FILE.offsets("take_second", CALL, "__pthread_mutex_lock")
    lock_line = f"reports/where.c:{line_of('pthread_mutex_lock(second);')}"
    for tid, func in (("thread 1:", "thread_ab"), ("thread 2:", "thread_ba")):
        thread = block(dead, tid)
        assert "parked in memory.atomic.wait32" in thread, dead
        assert frame(thread, "take_second") == (lock_call[0], lock_line)
        assert frame(thread, func)[0] == WHERE_FILE.offsets(func, CALL, "take_second")[0]

    order = wasmconc("run", "--seed", "0", "--check", "lock-order", "--timeout", str(BACKSTOP_S), str(WHERE),
                     "--", "order")
    assert "lock-order inversion (potential deadlock)" in order, order
    assert_every_frame_is_the_files(order)
    acquired = [(at, source) for f, at, source in frames(order) if f == "take_second"]
    assert acquired == [(lock_call[0], lock_line)] * 2, order  # the second lock of each thread: the same call
    first = {f: (at, source) for f, at, source in frames(order) if f in ("thread_ab", "thread_ba")}
    assert first["thread_ab"][0] in WHERE_FILE.offsets("thread_ab", CALL, "__pthread_mutex_lock") + \
        WHERE_FILE.offsets("thread_ab", CALL, "take_second"), order


def test_a_race_names_the_load_and_the_store() -> None:
    out = wasmconc("run", "--seed", "0", "--check", "races", "--timeout", str(BACKSTOP_S), str(WHERE), "--", "race")
    assert "WARNING: data race between add_one" in out, out
    assert_every_frame_is_the_files(out)
    line = f"reports/where.c:{line_of('counter += 1;')}"
    accesses = set(re.findall(r"(Read|write|Write) of size 4 at 0x[0-9a-f]+ by thread \d+:\n\s+at add_one "
                              r"\(@0x([0-9a-f]+)\) (\S+)", out, re.I))
    load = WHERE_FILE.offsets("add_one", I32_LOAD)
    store = WHERE_FILE.offsets("add_one", I32_STORE)
    assert accesses, out
    for kind, at, source in accesses:
        assert int(at, 16) in (load if kind.lower() == "read" else store), out
        assert source == line


def test_a_wat_guest_trap_prints_the_offsets_wasm_objdump_shows() -> None:
    """The issue's example: `crash_in_worker (@0x1ce)` once, where the file has its `unreachable` at 0xd8."""
    original = Original(WAT_TRAP)
    out = wasmconc("run", "--seed", "0", "--timeout", str(BACKSTOP_S), str(WAT_TRAP))
    assert_every_frame_is_the_files(out, original)
    assert frame(out, "crash_in_worker")[0] == original.offsets("crash_in_worker", UNREACHABLE)[0] == 0xD8
    assert frame(out, "wasi_thread_start")[0] == original.offsets("wasi_thread_start", CALL, "crash_in_worker")[0]
    assert frame(out, "_start")[0] == original.offsets("_start", CALL, "wait_forever")[0]


# Straight-line copies within shared memory: at the shared level in fuel mode they form a run the
# instrumenter duplicates (an unchecked copy beside the checked one, instrument/access_runs.py); the
# third load traps, in the copy the counter lets run. (Each loaded value is stored at once: a load
# whose value feeds arithmetic may be fused into it by Cranelift, which then reports the trap at
# the arithmetic.)
RUN_TRAP = """(module
  (import "env" "memory" (memory 1 1 shared))
  (func $copy_three
    (i32.store (i32.const 8) (i32.load (i32.const 0)))
    (i32.store (i32.const 12) (i32.load (i32.const 4)))
    (i32.store (i32.const 16) (i32.load (i32.const 65536))))
  (func $_start (export "_start") (call $copy_three)))"""


def _functions(data: bytes) -> dict[int, list[Instr]]:
    return {fb.index: decode_expr(data, fb.code_start, fb.end)[0] for fb in parse_module(data).bodies}


def test_a_trap_inside_copied_code_names_the_instruction_it_copies(tmp_path: Path) -> None:
    wasm = tmp_path / "run_trap.wasm"
    wasm.write_bytes(bytes(wasmtime.wat2wasm(RUN_TRAP)))
    original = Original(wasm)
    prog = load_program(wasm, EngineSettings.for_mode(Preempt.FUEL), level="shared")
    index = {name: i for i, name in prog.func_names.items()}["copy_three"]  # (in the rewritten module)
    copies = [i for i in _functions(prog.wasm)[index] if i.op == I32_LOAD]
    assert len(copies) == 6, "the run is no longer copied: this test tests nothing"
    out = wasmconc("run", "--level", "shared", "--seed", "0", "--timeout", str(BACKSTOP_S), str(wasm))
    assert "out of bounds memory access" in out, out
    assert_every_frame_is_the_files(out, original)
    assert frame(out, "copy_three")[0] == original.offsets("copy_three", I32_LOAD)[2], out
    assert frame(out, "_start")[0] == original.offsets("_start", CALL, "copy_three")[0], out
