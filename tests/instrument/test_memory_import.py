"""A threaded module's own shared memory becomes an import so every thread shares it."""

from __future__ import annotations

import wasmtime

from pytest_wasmconc.instrument.memory_import import share_defined_memory


def _engine() -> wasmtime.Engine:
    cfg = wasmtime.Config()
    cfg.wasm_threads = True
    cfg.shared_memory = True
    return wasmtime.Engine(cfg)


THREADED_OWN = """(module
  (type (func (param i32) (result i32)))
  (import "wasi" "thread-spawn" (func (type 0)))
  (memory (export "memory") 2 5 shared)
  (data (i32.const 8) "hi")
  (func (export "wasi_thread_start") (param i32 i32))
  (func (export "_start") (drop (i32.atomic.load (i32.const 8)))))"""


def test_threaded_module_with_its_own_shared_memory_imports_it_instead() -> None:
    out = share_defined_memory(bytes(wasmtime.wat2wasm(THREADED_OWN)))
    module = wasmtime.Module(_engine(), out)
    imports = {(i.module, i.name): i.type for i in module.imports}
    mem = imports[("env", "memory")]
    assert isinstance(mem, wasmtime.MemoryType) and mem.is_shared
    assert (mem.limits.min, mem.limits.max) == (2, 5)
    exports = {e.name: e.type for e in module.exports}
    assert isinstance(exports["memory"], wasmtime.MemoryType)


def test_non_threaded_or_already_importing_modules_are_returned_unchanged() -> None:
    single = bytes(wasmtime.wat2wasm('(module (memory (export "memory") 1) (func (export "_start")))'))
    assert share_defined_memory(single) is single
    importing = bytes(wasmtime.wat2wasm("""(module
      (import "wasi" "thread-spawn" (func (param i32) (result i32)))
      (import "env" "memory" (memory 1 1 shared)))"""))
    assert share_defined_memory(importing) is importing
    unshared = bytes(wasmtime.wat2wasm("""(module
      (import "wasi" "thread-spawn" (func (param i32) (result i32)))
      (memory 1))"""))
    assert share_defined_memory(unshared) is unshared
