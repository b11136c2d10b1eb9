"""The virtual memory pass (instrument/vmem.py) and the runtime's side of it (_lane_c/vmem.c).

A guest loaded for the reset path (`load_program(virtual_memory=True)`) sees the size of its shared
memory through host functions: every answer of `memory.size` and `memory.grow` must be what the
real instructions give (the old size, -1 beyond the declared maximum, distinct old sizes for
concurrent grows), and a bulk operation past the end must trap as a real one does. Each guest runs
loaded both ways and the outcomes are compared, besides the values each must print.
"""

from __future__ import annotations

import struct

import pytest
import wasmtime
from instr_wasm_support import assert_valid

from pytest_wasmconc.instrument import instrument
from pytest_wasmconc.instrument.abi import VMEM_GROW_IMPORT, VMEM_SIZE_IMPORT
from pytest_wasmconc.instrument.vmem import VirtualMemoryPass, VirtualMemoryReport
from pytest_wasmconc.runtime import GuestIO, Outcome, Runner, RunSettings, Status
from pytest_wasmconc.runtime.loading.program import Program, load_program

ENGINE = RunSettings().engine

# fd_write of [ptr, ptr + len) to stdout, with its iovec at 0 and the count written at 8.
_WRITE = '''
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (func $out (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
'''

# One thread: sizes and grows up to the maximum and past it; each answer stored at 64 + 4k, printed.
SEQUENCE = f'''(module
  (import "env" "memory" (memory 1 4 shared))
  {_WRITE}
  (global $k (mut i32) (i32.const 64))
  (func $keep (param i32) (i32.store (global.get $k) (local.get 0))
    (global.set $k (i32.add (global.get $k) (i32.const 4))))
  (func (export "_start")
    (call $keep (memory.size))
    (call $keep (memory.grow (i32.const 0)))
    (call $keep (memory.grow (i32.const 2)))
    (call $keep (memory.size))
    (call $keep (memory.grow (i32.const 2)))   ;; 3 + 2 > 4: -1, nothing grows
    (call $keep (memory.size))
    (call $keep (memory.grow (i32.const 1)))
    (call $keep (memory.grow (i32.const 1)))   ;; at the maximum
    (call $keep (memory.grow (i32.const -1)))  ;; a delta of 2**32 - 1 pages
    (call $keep (memory.size))
    (i32.store (i32.const 262140) (i32.const 7))  ;; the last word of page 4
    (call $keep (i32.load (i32.const 262140)))
    (call $out (i32.const 64) (i32.sub (global.get $k) (i32.const 64)))))'''

# Two threads grow the memory 100 pages each, one page at a time (with some work between, so that
# quanta end inside the loops), each storing the old sizes it got at 4096 + 4i and 8192 + 4i; main
# waits for both (a counter at 16), then prints both lists and the final size.
CONCURRENT = f'''(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 300 shared))
  {_WRITE}
  (func $grower (param $base i32)
    (local $i i32) (local $spin i32)
    (loop $next
      (local.set $spin (i32.const 0))
      (loop $work
        (local.set $spin (i32.add (local.get $spin) (i32.const 1)))
        (br_if $work (i32.lt_u (local.get $spin) (i32.const 40))))
      (i32.store (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 2)))
                 (memory.grow (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 100)))))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $grower (local.get $arg))
    (drop (i32.atomic.rmw.add (i32.const 16) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 16) (i32.const 1))))
  (func (export "_start")
    (local $seen i32)
    (if (i32.lt_s (call $spawn (i32.const 4096)) (i32.const 0)) (then (call $proc_exit (i32.const 70))))
    (if (i32.lt_s (call $spawn (i32.const 8192)) (i32.const 0)) (then (call $proc_exit (i32.const 70))))
    (loop $wait
      (local.set $seen (i32.atomic.load (i32.const 16)))
      (if (i32.lt_u (local.get $seen) (i32.const 2))
        (then (drop (memory.atomic.wait32 (i32.const 16) (local.get $seen) (i64.const -1))) (br $wait))))
    (i32.store (i32.const 8592) (memory.size))
    (call $out (i32.const 4096) (i32.const 400))
    (call $out (i32.const 8192) (i32.const 404))))'''

# memory.fill/copy/init at the end of the memory, then past it: the third call traps. The argument
# (the guest's first `memory.grow`) decides how far the memory grew first.
BULK = f'''(module
  (import "env" "memory" (memory 1 8 shared))
  {_WRITE}
  (data $d "abcd")
  (func (export "_start")
    (drop (memory.grow (i32.const 1)))                                     ;; 2 pages
    (memory.fill (i32.const 131068) (i32.const 120) (i32.const 4))        ;; the last 4 bytes
    (memory.copy (i32.const 65536) (i32.const 131068) (i32.const 4))
    (memory.init $d (i32.const 131064) (i32.const 0) (i32.const 4))
    (call $out (i32.const 131064) (i32.const 8))
    (memory.copy (i32.const 100) (i32.const 131070) (i32.const 4))))'''  # the source runs past the end


def _programs(text: str) -> tuple[Program, Program]:
    wasm = bytes(wasmtime.wat2wasm(text))
    return load_program(wasm, ENGINE), load_program(wasm, ENGINE, virtual_memory=True)


def _run(program: Program, seed: int = 1, slice: int | None = None) -> Outcome:
    settings = RunSettings(seed=seed) if slice is None else RunSettings(seed=seed, slice=slice)
    return Runner(settings).execute(program, GuestIO(), settings)


def _words(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 4}i", data))


def test_sizes_and_grows_answer_as_the_real_instructions_do() -> None:
    plain, virtual = _programs(SEQUENCE)
    assert virtual.vmem is not None and virtual.vmem.applied and plain.vmem is None
    assert (virtual.vmem.sizes, virtual.vmem.grows) == (4, 6)
    want = [1, 1, 1, 3, -1, 3, 3, -1, -1, 4, 7]
    for program in (plain, virtual):
        out = _run(program)
        assert (out.status, out.exit_code) == (Status.EXITED, 0), out.report
        assert _words(out.stdout_bytes) == want


def test_concurrent_grows_get_distinct_old_sizes() -> None:
    plain, virtual = _programs(CONCURRENT)
    interleaved = 0
    for seed in range(1, 9):
        outs = [_run(p, seed, slice=400) for p in (plain, virtual)]
        assert outs[0].stdout_bytes == outs[1].stdout_bytes and outs[0].decisions == outs[1].decisions
        words = _words(outs[1].stdout_bytes)
        first, second, final = words[:100], words[100:200], words[200]
        assert sorted(first + second) == list(range(1, 201)) and final == 201
        assert first == sorted(first) and second == sorted(second)  # each thread's own grows in order
        interleaved += first != list(range(first[0], first[0] + 100))
    assert interleaved  # some schedules switched threads between grows


def test_a_bulk_operation_past_the_end_traps_after_what_fits_ran() -> None:
    plain, virtual = _programs(BULK)
    assert virtual.vmem is not None and virtual.vmem.bulk == 4
    outs = [_run(p) for p in (plain, virtual)]
    for out in outs:
        assert out.status is Status.TRAPPED and out.trap_message == "out of bounds memory access"
        assert out.stdout_bytes == b"abcdxxxx"
    assert outs[0].decisions == outs[1].decisions and outs[0].steps == outs[1].steps


def test_a_plain_load_is_what_it_was_and_the_virtual_one_is_kept_apart() -> None:
    wasm = bytes(wasmtime.wat2wasm(SEQUENCE))
    plain = load_program(wasm, ENGINE)
    assert not any((f.module, f.name) in (VMEM_SIZE_IMPORT, VMEM_GROW_IMPORT) for f in plain.func_imports)
    virtual = load_program(wasm, ENGINE, virtual_memory=True)
    assert virtual is not plain and virtual.wasm != plain.wasm
    assert load_program(wasm, ENGINE) is plain and load_program(plain, ENGINE, virtual_memory=True) is not plain
    # the plain load's bytes are those of its passes alone (the same rewrite with the pass differs)
    assert b"memory_grow" not in plain.wasm and b"memory_grow" in virtual.wasm


@pytest.mark.parametrize(("memory", "reason"), [
    ("(memory 1 2)", "memory 0 is not an imported 32-bit shared memory"),
    ('(import "env" "memory" (memory 1 2))', "memory 0 is not an imported 32-bit shared memory"),
    ('(import "env" "memory" (memory i64 1 2 shared))', "memory 0 is not an imported 32-bit shared memory"),
    ("", "it has no memory"),
])
def test_a_memory_it_cannot_make_virtual_is_left_as_it_was(memory: str, reason: str) -> None:
    wasm = bytes(wasmtime.wat2wasm(f'(module {memory} (func (export "_start")))'))
    out = instrument(wasm, passes=[VirtualMemoryPass()])
    report = out.pass_results[0]
    assert isinstance(report, VirtualMemoryReport) and report.reason == reason and not report.applied
    assert not out.changed


def test_the_rewritten_module_validates_with_other_memories_left_alone() -> None:
    # memory 1 (a second, unshared one) keeps its real instructions
    wasm = bytes(wasmtime.wat2wasm('''(module
      (import "env" "memory" (memory 1 2 shared)) (memory $m 1)
      (func (export "_start") (result i32)
        (memory.fill $m (i32.const 0) (i32.const 1) (i32.const 4))
        (memory.copy 0 $m (i32.const 0) (i32.const 0) (i32.const 4))
        (drop (memory.grow $m (i32.const 1)))
        (i32.add (memory.size $m) (memory.size))))'''))
    out = instrument(wasm, passes=[VirtualMemoryPass()])
    report = out.pass_results[0]
    assert (report.sizes, report.grows, report.bulk) == (1, 0, 1)
    assert_valid(out.wasm)


def test_a_module_that_never_sizes_grows_or_bulk_writes_its_memory_is_left_as_it_was() -> None:
    wasm = bytes(wasmtime.wat2wasm('''(module (import "env" "memory" (memory 1 2 shared))
      (func (export "_start") (i32.store (i32.const 0) (i32.load (i32.const 4)))))'''))
    out = instrument(wasm, passes=[VirtualMemoryPass()])
    report = out.pass_results[0]
    assert report.applied and (report.sizes, report.grows, report.bulk) == (0, 0, 0)
    assert not out.changed and out.wasm == wasm
