"""The race pass on small WAT modules: which accesses report, with what site, and what is left alone."""

from __future__ import annotations

import wasmtime

from pytest_wasmconc.checks.races import DEFAULT_SYNC_FUNCTIONS, RaceInstrumentation, RacePass, SiteKind, SyncFunction
from pytest_wasmconc.checks.races.access_pass import HOST_MODULE
from pytest_wasmconc.instrument import instrument
from pytest_wasmconc.instrument.module import parse_module

SP = "(global $__stack_pointer (mut i32) (i32.const 65536))"


def run_pass(body_funcs: str, *, shared: bool = True, sync: tuple[SyncFunction, ...] = (),
             suppress: tuple[str, ...] = (), extra: str = "") -> tuple[bytes, RaceInstrumentation]:
    mem = "(memory (export \"memory\") 2 2 shared)" if shared else "(memory (export \"memory\") 2 2)"
    wasm = bytes(wasmtime.wat2wasm(f"(module {extra} {mem} {SP} {body_funcs})"))
    inst = instrument(wasm, passes=[RacePass(sync, suppress).run])
    result = inst.pass_results[0]
    assert isinstance(result, RaceInstrumentation)
    config = wasmtime.Config()
    config.wasm_threads = True
    wasmtime.Module(wasmtime.Engine(config), inst.wasm)  # the rewritten module validates
    return inst.wasm, result


def kinds(result: RaceInstrumentation, func: str | None = None) -> list[tuple[str, int, int]]:
    return [(s.kind, s.size, s.offset) for s in result.sites if func is None or s.func == func]


PLAIN = """
(func $plain (export "plain") (param $p i32) (result i32)
  local.get $p
  i64.const 7
  i64.store offset=8
  local.get $p
  i32.load8_u offset=3
  local.get $p
  f64.load
  drop)
"""


def test_plain_loads_and_stores_of_shared_memory_report_kind_size_and_offset() -> None:
    _, result = run_pass(PLAIN)
    assert kinds(result) == [(SiteKind.WRITE, 8, 8), (SiteKind.READ, 1, 3), (SiteKind.READ, 8, 0)]
    site = result.sites[0]
    assert site.func == "plain" and site.where.startswith("plain (@0x")


def test_the_pass_adds_its_import_only_when_it_instruments_something() -> None:
    wasm, _ = run_pass(PLAIN)
    imports = [(i.module, i.name) for i in parse_module(wasm).imports]
    assert (HOST_MODULE, "access") in imports
    wasm, result = run_pass(PLAIN, shared=False)
    assert result.sites == [] and result.shared_memories == []
    assert all(i.module != HOST_MODULE for i in parse_module(wasm).imports)


ATOMICS = """
(func $atomics (export "atomics") (param $p i32)
  local.get $p
  i32.atomic.load offset=4
  drop
  local.get $p
  i64.const 1
  i64.atomic.store
  local.get $p
  i32.const 1
  i32.atomic.rmw.add
  drop
  local.get $p
  i64.const 0
  i64.const 1
  i64.atomic.rmw.cmpxchg
  drop
  local.get $p
  i32.const 0
  i64.const -1
  memory.atomic.wait32
  drop
  local.get $p
  i32.const 1
  memory.atomic.notify
  drop)
"""


def test_atomics_report_acquire_after_reads_and_release_before_writes() -> None:
    _, result = run_pass(ATOMICS)
    assert kinds(result) == [
        (SiteKind.ACQUIRE, 4, 4),  # atomic load
        (SiteKind.RELEASE, 8, 0),  # atomic store
        (SiteKind.RELEASE, 4, 0), (SiteKind.ACQUIRE, 4, 0),  # rmw: both
        (SiteKind.RELEASE, 8, 0), (SiteKind.ACQUIRE, 8, 0),  # cmpxchg: both
        (SiteKind.ACQUIRE, 4, 0),  # wait: acquire once it returns
        (SiteKind.RELEASE, 4, 0),  # notify
    ]


FRAME = """
(func $frame (export "frame") (param $p i32) (local $fp i32)
  global.get $__stack_pointer
  i32.const 16
  i32.sub
  local.tee $fp
  global.set $__stack_pointer
  local.get $fp
  i32.const 1
  i32.store offset=12
  local.get $fp
  i32.load offset=8
  drop
  local.get $p
  i32.const 2
  i32.store
  local.get $fp
  i32.const 16
  i32.add
  global.set $__stack_pointer)
"""


def test_accesses_to_the_functions_own_stack_frame_are_left_alone() -> None:
    _, result = run_pass(FRAME)
    assert kinds(result) == [(SiteKind.WRITE, 4, 0)]  # only the store through the parameter
    assert result.frame_private == 2


def test_an_access_beyond_the_frame_is_not_frame_private() -> None:
    beyond = FRAME.replace("i32.load offset=8", "i32.load offset=16")  # above the 16 bytes taken
    _, result = run_pass(beyond)
    assert kinds(result) == [(SiteKind.READ, 4, 16), (SiteKind.WRITE, 4, 0)]


def test_plain_accesses_in_a_sync_function_count_as_atomic() -> None:
    _, result = run_pass(PLAIN, sync=(SyncFunction("pl.*", "test"),))
    assert [k for k, _, _ in kinds(result)] == [SiteKind.RELEASE, SiteKind.ACQUIRE, SiteKind.ACQUIRE]
    assert result.sync_functions == {"plain": 3}


def test_a_suppressed_function_reports_no_plain_access_but_keeps_its_atomics() -> None:
    _, result = run_pass(PLAIN + ATOMICS, suppress=("plain|atomics",))
    assert kinds(result, "plain") == []
    assert len(kinds(result, "atomics")) == 8
    assert result.suppressed == {"plain": 3}


def test_bulk_memory_reports_its_ranges() -> None:
    bulk = """
    (func $bulk (export "bulk") (param $p i32)
      local.get $p
      i32.const 0
      i32.const 64
      memory.fill
      local.get $p
      i32.const 1024
      i32.const 32
      memory.copy)
    """
    _, result = run_pass(bulk)
    assert kinds(result) == [(SiteKind.WRITE, 0, 0), (SiteKind.READ, 0, 0), (SiteKind.WRITE, 0, 0)]


def test_thread_spawn_and_the_thread_start_function_report_the_start_argument() -> None:
    threads = """
    (func $start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
      local.get $arg
      i32.const 1
      i32.store)
    (func $spawn (export "spawn") (param $arg i32) (result i32)
      local.get $arg
      call $thread_spawn)
    """
    _, result = run_pass(threads, extra='(import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))')
    assert [s.kind for s in result.sites] == [SiteKind.START, SiteKind.WRITE, SiteKind.SPAWN]
    assert result.sites[0].func == "start" and result.sites[2].func == "spawn"


def test_the_default_sync_functions_are_musls_and_not_user_names() -> None:
    import re

    def is_sync(name: str) -> bool:
        return any(re.fullmatch(s.pattern, name) for s in DEFAULT_SYNC_FUNCTIONS)

    for name in ("__pthread_mutex_lock", "pthread_mutex_unlock", "__wait", "__lockfile", "sem_post",
                 "pthread_barrier_wait", "__pthread_once", "__pthread_join", "__private_cond_signal"):
        assert is_sync(name), name
    for name in ("lock", "unlock", "wait", "wake", "main", "worker", "pthread_mutexattr"):
        assert not is_sync(name), name
    assert all(s.why for s in DEFAULT_SYNC_FUNCTIONS)


def test_each_report_comes_right_before_its_access_after_the_shared_levels_counter_check() -> None:
    # The preemption pass runs after the checks' passes and may end a quantum right before a
    # visible access; the report must come after that point, so no thread switch separates them.
    from pytest_wasmconc.instrument import InstrumentLevel
    from pytest_wasmconc.instrument.decode import decode_expr
    from pytest_wasmconc.instrument.preempt import PreemptCounterPass
    from pytest_wasmconc.instrument.shared_accesses import ACCESS_COST

    wasm = bytes(wasmtime.wat2wasm(f'(module (memory (export "memory") 2 2 shared) {SP} {PLAIN} {ATOMICS})'))
    out = instrument(wasm, InstrumentLevel.SHARED,
                     passes=[RacePass((), ()).run, PreemptCounterPass(10_000, access_cost=ACCESS_COST)]).wasm
    info = parse_module(out)
    access = next(i for i, imp in enumerate(i for i in info.imports if i.kind == 0) if imp.name == "access")
    checked = 0
    for body in info.bodies:
        instrs, _ = decode_expr(out, body.code_start, body.end)
        for j, ins in enumerate(instrs):
            if ins.op == 0x10 and ins.imm[0] == access:
                k = j + 1
                while instrs[k].op == 0x20:  # local.get: the address and operands put back
                    k += 1
                if 0x28 <= instrs[k].op <= 0x3E or instrs[k].op >> 16 == 0xFE:
                    checked += 1
    assert checked == 3 + 3  # the plain accesses, and the releases before the store, rmw and cmpxchg
