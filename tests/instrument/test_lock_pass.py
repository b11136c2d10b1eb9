"""The lock pass: lock functions found by name, their call sites reporting to the host.

Modules here are hand-written WAT shaped like the real libraries (musl's
internal names, Rust's and Zig's mangled and demangled names); the events
are checked by running the rewritten module in wasmtime with the hooks
recording what they are told.
"""

from __future__ import annotations

import re

import pytest
import wasmtime
from instr_wasm_support import assert_valid, engine, wat

from pytest_wasmconc.instrument import InstrumentLevel, ModuleRewriter, function_names, instrument
from pytest_wasmconc.instrument.locks import (
    AFTER,
    BEFORE,
    DEFAULT_LOCK_TABLE,
    RELEASING,
    USER_ACQUIRED,
    USER_RELEASED,
    USER_TRY_ACQUIRED,
    LockFunction,
    LockInstrumentation,
    LockPass,
)

# A musl-shaped mutex: lock falls back to timedlock, which tries trylock first.
MUSL = """
(module
  (memory 1)
  (func $__pthread_mutex_trylock (param $m i32) (result i32)
    (if (result i32) (i32.eqz (i32.load (local.get $m)))
      (then (i32.store (local.get $m) (i32.const 1)) (i32.const 0))
      (else (i32.const 16))))
  (func $__pthread_mutex_timedlock (param $m i32) (param $at i32) (result i32)
    (call $__pthread_mutex_trylock (local.get $m)))
  (func $__pthread_mutex_lock (param $m i32) (result i32)
    (if (i32.eqz (i32.load (local.get $m)))
      (then (i32.store (local.get $m) (i32.const 1)) (return (i32.const 0))))
    (call $__pthread_mutex_timedlock (local.get $m) (i32.const 0)))
  (func $__pthread_mutex_unlock (param $m i32) (result i32)
    (i32.store (local.get $m) (i32.const 0)) (i32.const 0))
  (func $user (export "user") (result i32)
    (drop (call $__pthread_mutex_lock (i32.const 64)))
    (drop (call $__pthread_mutex_trylock (i32.const 68)))      ;; acquired
    (drop (call $__pthread_mutex_trylock (i32.const 64)))      ;; EBUSY
    (drop (call $__pthread_mutex_timedlock (i32.const 72) (i32.const 1000)))
    (drop (call $__pthread_mutex_unlock (i32.const 72)))
    (drop (call $__pthread_mutex_unlock (i32.const 68)))
    (call $tail (i32.const 64)))
  (func $tail (param $m i32) (result i32)
    (return_call $__pthread_mutex_unlock (local.get $m))))
"""


def rewrite(text: str | bytes,
            table: tuple[LockFunction, ...] = DEFAULT_LOCK_TABLE) -> tuple[bytes, LockInstrumentation]:
    data = wat(text) if isinstance(text, str) else text
    inst = instrument(data, InstrumentLevel.WAITS, [LockPass(table).run])
    assert_valid(inst.wasm)
    info = inst.pass_results[0]
    assert isinstance(info, LockInstrumentation)
    return inst.wasm, info


def run(wasm: bytes, export: str, info: LockInstrumentation,
        *args: int) -> tuple[object, list[tuple[str, int, int, str]]]:
    """Call `export`; returns its result and the events (kind, id, result, caller)."""
    events: list[tuple[str, int, int, str]] = []
    i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()

    def hook(lock_id: int, result: int, site: int) -> None:
        s = info.sites[site]
        events.append((s.kind, lock_id, result, s.caller or "?"))

    linker = wasmtime.Linker(engine())
    linker.allow_unknown_exports = True
    linker.define_func("wasmconc", "lock_event", wasmtime.FuncType([i32, i32, i32], []), hook)
    linker.define_func("wasmconc", "lock_event64", wasmtime.FuncType([i64, i32, i32], []), hook)
    for name in ("lock_acquired", "lock_released", "lock_try_acquired"):
        linker.define_func("wasmconc", name, wasmtime.FuncType([i32], []), lambda m: None)
    store = wasmtime.Store(engine())
    f = linker.instantiate(store, wasmtime.Module(engine(), wasm)).exports(store)[export]
    assert isinstance(f, wasmtime.Func)
    return f(store, *args), events


def test_musl_internal_names_are_found_and_calls_inside_lock_functions_are_left_alone() -> None:
    wasm, info = rewrite(MUSL)
    assert sorted(info.functions.values()) == ["__pthread_mutex_lock", "__pthread_mutex_timedlock",
                                               "__pthread_mutex_trylock", "__pthread_mutex_unlock"]
    assert {s.caller for s in info.sites} == {"user", "tail"}  # not lock -> timedlock -> trylock
    assert info.families == ["pthread_mutex"]
    result, events = run(wasm, "user", info)
    assert result == 0
    assert events == [
        (BEFORE, 64, 0, "user"), (AFTER, 64, 0, "user"),
        (AFTER, 68, 0, "user"),                          # trylock: no BEFORE (it never waits)
        (AFTER, 64, 16, "user"),                         # a failed trylock reports its EBUSY
        (BEFORE, 72, 0, "user"), (AFTER, 72, 0, "user"),  # timedlock(m, abstime): the lock is arg 0
        (RELEASING, 72, 0, "user"), (RELEASING, 68, 0, "user"),
        (RELEASING, 64, 0, "tail"),                      # a tail call becomes call + hook + return
    ]  # fmt: skip
    # The instrumented module still computes what the original did.
    assert run(wat(MUSL), "user", info)[0] == 0


def test_each_site_knows_its_function_and_offset_in_the_original_module() -> None:
    data = wat(MUSL)
    _, info = rewrite(data)
    site = next(s for s in info.sites if s.kind == BEFORE)
    names = function_names(data)
    assert names[site.caller_index] == "user"
    assert data[site.offset] == 0x10  # the call instruction itself
    assert site.where == f"user (@{site.offset:#x})"
    assert site.blocking and not next(s for s in info.sites if s.callee.endswith("trylock")).blocking


def test_sites_report_success_by_the_tables_rule() -> None:
    zero = next(e for e in DEFAULT_LOCK_TABLE if e.pattern.endswith("pthread_mutex_trylock"))
    nonzero = next(e for e in DEFAULT_LOCK_TABLE if e.pattern.endswith("Thread\\.Mutex\\.tryLock"))
    always = next(e for e in DEFAULT_LOCK_TABLE if e.pattern.endswith("Thread\\.Mutex\\.lock"))
    assert zero.succeeded(0) and not zero.succeeded(16)
    assert nonzero.succeeded(1) and not nonzero.succeeded(0)
    assert always.succeeded(0) and always.succeeded(123)


@pytest.mark.parametrize("name", [
    "pthread_mutex_lock", "__pthread_mutex_lock", "pthread_rwlock_rdlock", "__pthread_rwlock_wrlock",
    "mtx_lock", "pthread_spin_lock",
    "std::sys::sync::mutex::futex::Mutex::lock::h0123456789abcdef",
    "<std::sys::sync::mutex::futex::Mutex>::lock",
    "_ZN3std3sys4sync5mutex5futex5Mutex4lock17h0123456789abcdefE",
    "std::sys::unix::locks::futex_mutex::Mutex::lock::h0123456789abcdef",
    "std::sys::sync::rwlock::futex::RwLock::write::h0123456789abcdef",
    "Thread.Mutex.lock", "std.Thread.Mutex.lock", "Io.Mutex.lockUncancelable", "Thread.RwLock.lockShared",
])
def test_the_default_table_knows_the_acquire_functions_of_each_library(name: str) -> None:
    entry = LockPass().match(name)
    assert entry is not None and entry.action == "acquire"


@pytest.mark.parametrize("name", [
    "pthread_mutex_unlock", "__pthread_mutex_unlock", "pthread_rwlock_unlock", "mtx_unlock",
    "std::sys::sync::mutex::futex::Mutex::unlock::h0123456789abcdef",
    "_ZN3std3sys4sync6rwlock5futex6RwLock12write_unlock17h0123456789abcdefE",
    "Thread.Mutex.unlock", "Io.Mutex.unlock", "Thread.RwLock.unlockShared",
])
def test_the_default_table_knows_the_release_functions_of_each_library(name: str) -> None:
    entry = LockPass().match(name)
    assert entry is not None and entry.action == "release"


@pytest.mark.parametrize("name", [
    "pthread_mutex_init", "pthread_mutex_destroy", "__pthread_mutex_trylock_owner", "pthread_cond_wait",
    "std::sys::sync::mutex::futex::Mutex::lock_contended::h0123456789abcdef", "my_mutex_lock",
    "Io.Threaded.mutexLockUncancelable",
])
def test_other_functions_are_not_lock_functions(name: str) -> None:
    assert LockPass().match(name) is None


RUST_RELEASE_BUILD = """
(module
  (memory 1)
  ;; a release build: lock() and unlock() were inlined, only the cold paths remain
  (func $std::sys::sync::mutex::futex::Mutex::lock::h0000000000000000 (param i32))
  (func $user (export "user") (call $std::sys::sync::mutex::futex::Mutex::lock::h0000000000000000 (i32.const 8))))
"""


def test_a_family_without_its_release_function_is_not_instrumented() -> None:
    wasm, info = rewrite(RUST_RELEASE_BUILD)
    assert info.functions == {} and info.sites == []
    assert info.notes == [
        "rust_futex_mutex: found acquire function(s) std::sys::sync::mutex::futex::Mutex::lock::h0000000000000000 "
        "but no release function (inlined?): not instrumented"
    ]


VOID_LOCKS = """
(module
  (memory 1)
  (func $Thread.Mutex.lock (param i32))
  (func $Thread.Mutex.tryLock (param i32) (result i32) (i32.const 1))
  (func $Thread.Mutex.unlock (param i32))
  (func $user (export "user") (result i32)
    (call $Thread.Mutex.lock (i32.const 8))
    (drop (call $Thread.Mutex.tryLock (i32.const 12)))
    (call $Thread.Mutex.unlock (i32.const 8))
    (i32.const 5)))
"""


def test_void_lock_functions_and_bool_trylocks() -> None:
    wasm, info = rewrite(VOID_LOCKS)
    result, events = run(wasm, "user", info)
    assert result == 5
    assert events == [(BEFORE, 8, 0, "user"), (AFTER, 8, 0, "user"), (AFTER, 12, 1, "user"),
                      (RELEASING, 8, 0, "user")]


MEMORY64 = """
(module
  (memory i64 1)
  (func $pthread_mutex_lock (param i64) (result i32) (i32.const 0))
  (func $pthread_mutex_unlock (param i64) (result i32) (i32.const 0))
  (func $user (export "user") (result i32)
    (drop (call $pthread_mutex_lock (i64.const 0x100000000)))
    (call $pthread_mutex_unlock (i64.const 0x100000000))))
"""


def test_a_memory64_guests_lock_ids_are_i64() -> None:
    wasm, info = rewrite(MEMORY64)
    _, events = run(wasm, "user", info)
    assert [(k, m) for k, m, _, _ in events] == [(BEFORE, 1 << 32), (AFTER, 1 << 32), (RELEASING, 1 << 32)]
    assert ("wasmconc", "lock_event64") in [(i.module, i.name) for i in ModuleRewriter(wasm).info.imports]


CUSTOM = """
(module
  (memory 1)
  (func $spin_acquire (param $owner i32) (param $lock i32) (param $timeout f64) (result i32) (i32.const 1))
  (func $spin_release (param $owner i32) (param $lock i32))
  (func $user (export "user") (result i32)
    (drop (call $spin_acquire (i32.const 7) (i32.const 96) (f64.const 1.5)))
    (call $spin_release (i32.const 7) (i32.const 96))
    (i32.const 3)))
"""


def test_a_custom_table_row_names_the_lock_argument_and_the_success_rule() -> None:
    table = (LockFunction("spin_acquire", "acquire", arg=1, success="nonzero", family="spin"),
             LockFunction("spin_release", "release", arg=1, family="spin"))
    wasm, info = rewrite(CUSTOM, table)
    result, events = run(wasm, "user", info)
    assert result == 3
    assert events == [(BEFORE, 96, 0, "user"), (AFTER, 96, 1, "user"), (RELEASING, 96, 0, "user")]
    assert table[0].succeeded(1)


def test_a_table_row_that_does_not_fit_the_signature_is_reported_not_applied() -> None:
    table = (LockFunction("spin_acquire", "acquire", arg=2, family="spin"),
             LockFunction("spin_release", "release", arg=1, family="spin"))
    _, info = rewrite(CUSTOM, table)
    assert any(re.match(r"spin_acquire: not instrumented \(argument 2 is not an i32/i64", n) for n in info.notes)
    assert info.sites == []


@pytest.mark.parametrize("bad", [dict(action="take"), dict(success="maybe"), dict(arg=-1), dict(pattern="(")])
def test_bad_table_rows_are_refused(bad: dict[str, object]) -> None:
    kw: dict[str, object] = {"pattern": "x", "action": "acquire"} | bad
    with pytest.raises((ValueError, re.error)):
        LockFunction(**kw)  # type: ignore[arg-type]


USER_IMPORTS = """
(module
  (import "wasmconc" "lock_acquired" (func $acquired (param i32)))
  (import "wasmconc" "lock_try_acquired" (func $tried (param i32)))
  (import "wasmconc" "lock_released" (func $released (param i32)))
  (memory 1)
  (func $my_lock (export "user")
    (call $acquired (i32.const 200))
    (call $tried (i32.const 204))
    (call $released (i32.const 200))))
"""


def test_the_guests_own_lock_imports_get_sites_without_a_name_section() -> None:
    data = wat(USER_IMPORTS)
    stripped = strip_names(data)
    assert function_names(stripped) == {}
    wasm, info = rewrite(stripped)
    assert info.user_imports == ["wasmconc.lock_acquired", "wasmconc.lock_try_acquired", "wasmconc.lock_released"]
    assert not info.has_names and not info.finds_nothing
    _, events = run(wasm, "user", info)
    assert [(k, m) for k, m, _, _ in events] == [(USER_ACQUIRED, 200), (USER_TRY_ACQUIRED, 204),
                                                 (USER_RELEASED, 200)]


def strip_names(data: bytes) -> bytes:
    """The module without its custom sections (what wasm-opt without -g leaves)."""
    from pytest_wasmconc.instrument.module import parse_module

    info = parse_module(data)
    out = [data[:8]]
    for sec in info.sections:
        if sec.id != 0:
            out.append(data[sec.start:sec.end])
    return b"".join(out)


def test_a_module_without_a_name_section_finds_nothing_and_says_so() -> None:
    _, info = rewrite(strip_names(wat(MUSL)))
    assert info.finds_nothing and info.sites == []
    assert info.summary() == "no lock functions found"


def test_real_guests_run_unchanged_after_the_pass(guests_dir: object) -> None:
    from pathlib import Path

    from pytest_wasmconc.runtime import GuestIO, Runner, RunSettings
    from pytest_wasmconc.checks.lock_order import LockOrderCheck

    base = Path(str(guests_dir))
    runner = Runner(RunSettings(seed=3))
    for name, args, out in [("mutex_counter", ["200"], "counter=400\n"),
                            ("producer_consumer", ["50", "2"], "sum=1275\n"),
                            ("pthread_selftest", [], "pthread_selftest: ok\n")]:
        check = LockOrderCheck()
        o = runner.run(base / "c" / f"{name}.wasm", GuestIO(args=args), extensions=[check])
        assert (o.status.value, o.exit_code, o.stdout) == ("exited", 0, out), o.report
        assert check.instrumentation[str(base / "c" / f"{name}.wasm")].calls > 0
        assert not check.failed
