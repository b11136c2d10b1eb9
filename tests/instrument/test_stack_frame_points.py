"""Atomics on the running function's own stack frame get no scheduling point; all others keep theirs.

The shapes are LLVM's (wasm32-wasip1-threads): the prologue
`global.get $__stack_pointer; i32.const N; i32.sub; local.tee $fp; global.set`,
and musl's `a_spin()` = `a_barrier()` = `volatile int tmp = 0; a_cas(&tmp, 0, 0)`
on that frame. Every way the analysis must refuse (the address may be seen by
another thread, or may not be in the frame at all) has its own case.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime
from instr_wasm_support import assert_valid, engine, wat

from pytest_wasmconc.instrument import InstrumentLevel, instrument
from pytest_wasmconc.instrument.module import parse_module
from pytest_wasmconc.instrument.stack_frame import stack_pointer_global

ROOT = Path(__file__).resolve().parents[2]
LIBC = ROOT / "guests" / "libc"

SP = "(global $__stack_pointer (mut i32) (i32.const 65536))"
PROLOGUE = """
    global.get $__stack_pointer
    i32.const 16
    i32.sub
    local.tee $fp
    global.set $__stack_pointer"""
EPILOGUE = """
    local.get $fp
    i32.const 16
    i32.add
    global.set $__stack_pointer"""
# musl's a_spin(): the volatile store, then the compare-exchange on it.
A_SPIN = """
    local.get $fp
    i32.const 0
    i32.store offset=12
    local.get $fp
    i32.const 0
    i32.const 0
    i32.atomic.rmw.cmpxchg offset=12
    drop"""


def module(*funcs: str, globals_: str = SP) -> bytes:
    return wat(f'(module (memory (export "memory") 2 2 shared) {globals_} {" ".join(funcs)})')


def func(name: str, body: str, *, locals_: str = "(local $fp i32) (local $q i32)") -> str:
    return f'(func ${name} (export "{name}") (param $p i32) {locals_} {body})'


def points_by_function(wasm: bytes, level: InstrumentLevel = InstrumentLevel.ATOMICS) -> tuple[
        dict[str, list[str]], dict[str, list[str]]]:
    """(kinds of sched-point sites, kinds of frame-local atomics) per function name."""
    r = instrument(wasm, level)
    assert_valid(r.wasm)
    sites: dict[str, list[str]] = {}
    for s in r.sites:
        sites.setdefault(s.func_name or "?", []).append(s.kind)
    local: dict[str, list[str]] = {}
    for f in r.frame_local:
        local.setdefault(f.func_name or "?", []).append(f.kind)
    return sites, local


# -- the musl shape: no point --------------------------------------------------------------

SPIN_WAT = module(f"""
  (func $spin (export "spin") (param $addr i32) (param $n i32) (result i32)
    (local $fp i32)
    {PROLOGUE}
    block
      loop
        {A_SPIN}
        local.get $n
        i32.const -1
        i32.add
        local.tee $n
        br_if 0
      end
    end
    ;; a_inc on the caller's (shared) word keeps its point
    local.get $addr
    i32.const 1
    i32.atomic.rmw.add
    {EPILOGUE})""")


def test_musl_a_spin_on_the_frame_gets_no_sched_point_and_a_shared_rmw_keeps_its_own() -> None:
    sites, local = points_by_function(SPIN_WAT)
    assert local == {"spin": ["cmpxchg"]}
    assert sites == {"spin": ["rmw"]}


def test_frame_local_spin_still_runs_and_only_the_shared_rmw_calls_sched_point() -> None:
    r = instrument(SPIN_WAT)
    calls: list[int] = []
    store = wasmtime.Store(engine())
    linker = wasmtime.Linker(engine())
    i32 = wasmtime.ValType.i32()
    linker.define_func("wasmconc", "sched_point", wasmtime.FuncType([i32], []), calls.append)
    inst = linker.instantiate(store, wasmtime.Module(engine(), r.wasm))
    spin = inst.exports(store)["spin"]
    mem = inst.exports(store)["memory"]
    assert isinstance(spin, wasmtime.Func) and isinstance(mem, wasmtime.SharedMemory)
    assert spin(store, 64, 7) == 0  # rmw.add returns the old value
    assert spin(store, 64, 3) == 1
    assert calls == [0, 0]  # one point per call: the 10 spins on the frame made none
    assert int.from_bytes(bytes(mem.data_ptr()[64:68]), "little") == 2


def test_memory_level_leaves_atomic_loads_and_stores_on_the_frame_without_points() -> None:
    body = f"""{PROLOGUE}
    local.get $fp
    i32.const 5
    i32.atomic.store offset=8
    local.get $fp
    i32.atomic.load offset=8
    drop
    local.get $p
    i32.atomic.load
    drop
    {EPILOGUE}"""
    sites, local = points_by_function(module(func("f", body)), InstrumentLevel.MEMORY)
    assert local == {"f": ["store", "load"]}
    assert sites == {"f": ["load"]}


def test_frame_address_copied_to_another_local_with_a_constant_is_still_the_frame() -> None:
    body = f"""{PROLOGUE}
    local.get $fp
    i32.const 8
    i32.add
    local.set $q
    local.get $q
    i32.const 0
    i32.const 1
    i32.atomic.rmw.cmpxchg offset=4
    drop
    {EPILOGUE}"""
    sites, local = points_by_function(module(func("f", body)))
    assert local == {"f": ["cmpxchg"]}
    assert sites == {}


# -- every case the analysis cannot prove: the point stays ---------------------------------

def _keeps_point(body: str, *, extra: str = "", globals_: str = SP, frame_local: int = 0) -> None:
    """The body's last cmpxchg keeps its point; `frame_local` others lose theirs."""
    sites, local = points_by_function(module(func("f", body), extra, globals_=globals_))
    assert local.get("f", []) == ["cmpxchg"] * frame_local
    assert sites["f"] == ["cmpxchg"]


CAS = """
    i32.const 0
    i32.const 1
    i32.atomic.rmw.cmpxchg
    drop"""


def test_cmpxchg_on_a_pointer_parameter_keeps_its_point() -> None:
    # In a function whose own a_spin does lose its point.
    _keeps_point(f"{PROLOGUE} {A_SPIN} local.get $p {CAS} {EPILOGUE}", frame_local=1)


def test_cmpxchg_on_a_global_address_keeps_its_point() -> None:
    _keeps_point(f"{PROLOGUE} i32.const 1024 {CAS} {EPILOGUE}")


def test_cmpxchg_on_a_pointer_loaded_from_the_frame_keeps_its_point() -> None:
    _keeps_point(f"{PROLOGUE} local.get $fp i32.load offset=8 {CAS} {EPILOGUE}")


def test_local_that_is_sp_derived_on_one_branch_and_a_parameter_on_the_other_keeps_its_point() -> None:
    body = """
    local.get $p
    if
      global.get $__stack_pointer
      i32.const 16
      i32.sub
      local.set $fp
    else
      local.get $p
      local.set $fp
    end
    local.get $fp""" + CAS
    _keeps_point(body)


def test_frame_local_reassigned_a_parameter_before_the_cas_keeps_its_point() -> None:
    body = f"""{PROLOGUE}
    local.get $fp
    i32.const 4
    i32.add
    local.set $q
    local.get $p
    local.set $q
    local.get $q {CAS}
    {EPILOGUE}"""
    _keeps_point(body)


def test_local_assigned_from_sp_on_one_branch_only_keeps_its_point() -> None:
    # On the other branch it still holds its initial 0: address 0 is shared memory.
    body = """
    local.get $p
    if
      global.get $__stack_pointer
      i32.const 16
      i32.sub
      local.set $fp
    end
    local.get $fp""" + CAS
    _keeps_point(body)


def test_frame_whose_address_is_passed_to_a_call_keeps_its_points() -> None:
    extra = "(func $publish (param i32))"
    _keeps_point(f"{PROLOGUE} local.get $fp call $publish local.get $fp {CAS} {EPILOGUE}", extra=extra)


def test_frame_whose_address_is_stored_to_memory_keeps_its_points() -> None:
    # pthread_barrier_wait's shape: b->_b_inst = &new_inst, then a_spin on the same frame.
    body = f"""{PROLOGUE}
    i32.const 1024
    local.get $fp
    i32.const 8
    i32.add
    i32.store
    {A_SPIN}
    {EPILOGUE}"""
    _keeps_point(body)


def test_frame_address_copied_into_a_local_that_also_holds_other_values_keeps_its_points() -> None:
    body = f"""{PROLOGUE}
    local.get $fp
    local.set $q
    local.get $p
    local.set $q
    local.get $q
    i32.load
    drop
    {A_SPIN}
    {EPILOGUE}"""
    _keeps_point(body)


def test_frame_address_with_a_dynamic_index_keeps_its_point() -> None:
    _keeps_point(f"{PROLOGUE} local.get $fp local.get $p i32.add {CAS} {EPILOGUE}")


def test_access_beyond_the_frame_the_prologue_allocated_keeps_its_point() -> None:
    # fp + 16 is the caller's frame, which the caller may have shared.
    _keeps_point(f"{PROLOGUE} local.get $fp i32.const 0 i32.const 1 i32.atomic.rmw.cmpxchg offset=16 drop"
                 f" {EPILOGUE}")


def test_stack_pointer_set_from_anything_but_the_frame_keeps_the_points() -> None:
    _keeps_point(f"{PROLOGUE} {A_SPIN} local.get $p global.set $__stack_pointer")


def test_module_whose_named_globals_include_no_stack_pointer_keeps_the_points() -> None:
    heap = "(global $heap_top (mut i32) (i32.const 65536))"
    body = PROLOGUE.replace("$__stack_pointer", "$heap_top") + A_SPIN
    _keeps_point(body, globals_=heap)


# -- which global is the stack pointer -----------------------------------------------------

def _sp(text: str) -> int | None:
    return stack_pointer_global(parse_module(wat(text)))


def test_stack_pointer_is_the_global_the_name_section_calls_so() -> None:
    assert _sp(f'(module (global $a (mut i32) (i32.const 0)) {SP})') == 1


def test_stack_pointer_named_but_immutable_is_not_trusted() -> None:
    assert _sp('(module (global $__stack_pointer i32 (i32.const 65536)))') is None


def test_stack_pointer_imported_under_its_name_without_a_name_section() -> None:
    text = '(module (import "env" "x" (global i32)) (import "env" "__stack_pointer" (global (mut i32))))'
    assert _sp(text) == 1


def test_stripped_wasi_threads_guest_uses_lld_layout_global_zero() -> None:
    text = '(module (global (mut i32) (i32.const 65536)) (func (export "wasi_thread_start") (param i32 i32)))'
    assert _sp(text) == 0


def test_stripped_module_that_is_no_wasi_threads_guest_has_no_known_stack_pointer() -> None:
    assert _sp('(module (global (mut i32) (i32.const 65536)))') is None
    misaligned = '(module (global (mut i32) (i32.const 65530)) (func (export "wasi_thread_start") (param i32 i32)))'
    assert _sp(misaligned) is None


# -- real wasi-libc guests -----------------------------------------------------------------

def _real(name: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    return points_by_function((LIBC / f"{name}.wasm").read_bytes())


def test_musl_spin_loops_in_a_real_guest_lose_their_points_and_their_shared_cas_keep_them() -> None:
    sites, local = _real("mutex_many_threads")
    for spinner in ("__wait", "__pthread_mutex_timedlock", "__futexwait"):
        assert "cmpxchg" in local.get(spinner, []), spinner
    # __wait's a_inc/a_dec(waiters) are CAS loops on a pointer parameter: shared.
    assert sites["__wait"].count("cmpxchg") == 2
    # the mutex's own CAS on m->_m_lock / _m_waiters stay points
    assert sites["__pthread_mutex_timedlock"].count("cmpxchg") >= 4
    assert "cmpxchg" in sites["__pthread_mutex_lock"]


def test_pthread_barrier_wait_publishes_its_frame_so_keeps_every_point() -> None:
    sites, local = _real("barrier_threads")
    assert "pthread_barrier_wait" not in local
    assert sites["pthread_barrier_wait"].count("cmpxchg") > 4


# -- end to end: the real guests still compute the right thing, with fewer steps -------------

_STEPS_SCRIPT = """
import json, sys
from pytest_wasmconc.instrument import stack_frame
from pytest_wasmconc.runtime import CompileCache, GuestIO, Runner, RunSettings
if sys.argv[1] == "every-point":  # the instrumenter without the frame analysis
    stack_frame.FrameAnalysis.stack_local = lambda self, i: False
out = []
for guest, args in json.loads(sys.argv[2]):
    # The atomics level: what is measured is the points before atomics on the frame, not plain accesses.
    settings = RunSettings(seed=1, max_steps=None, timeout=200.0, level="atomics")
    runner = Runner(settings, cache=CompileCache(enabled=False))
    o = runner.run(guest, GuestIO(args=args))
    out.append([o.status.value, o.exit_code, o.stdout, o.steps])
print(json.dumps(out))
"""


def _steps(variant: str, runs: list[tuple[str, list[str]]]) -> list[list[object]]:
    try:
        p = subprocess.run([sys.executable, "-c", _STEPS_SCRIPT, variant, json.dumps(runs)],
                           capture_output=True, text=True, timeout=240, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the guests gave no result within 240 s (hang)\nstderr: {exc.stderr!r:.2000}")
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_real_libc_guests_stay_correct_in_fuel_mode_and_barrier_spins_stop_costing_steps() -> None:
    runs = [(str(LIBC / "mutex_many_threads.wasm"), ["24", "1000"]),
            (str(LIBC / "barrier_threads.wasm"), ["1000"])]
    now = _steps("frame-aware", runs)
    mutex, barrier = now
    assert mutex[:3] == ["exited", 0, "threads=24 counter=24000\n"]
    assert barrier[:3] == ["exited", 0, "threads=1000 serial=1 early=0\n"]
    before = _steps("every-point", runs[1:])[0]
    assert before[:3] == barrier[:3]
    # The waiters' spins in __wait were most of the barrier's scheduling steps.
    assert isinstance(barrier[3], int) and isinstance(before[3], int)
    assert barrier[3] < before[3]
