"""The compile cache: one compile per (bytes, wasmtime version, engine settings), safe across processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import wasmtime

from child_processes import CHILD_LIMIT_S
from pytest_wasmconc.runtime import CompileCache, EngineSettings, engine_for

WAT = '(module (func (export "f") (result i32) i32.const 42))'


def test_second_compile_of_the_same_bytes_is_a_hit(tmp_path: Path) -> None:
    wasm = wasmtime.wat2wasm(WAT)
    settings = EngineSettings()
    engine = engine_for(settings)
    first = CompileCache(tmp_path)
    first.compile(engine, settings, wasm)
    assert (first.hits, first.misses) == (0, 1)
    fresh = CompileCache(tmp_path)  # a new process would start like this
    fresh.compile(engine, settings, wasm)
    assert (fresh.hits, fresh.misses) == (1, 0)


def test_other_engine_settings_use_another_entry(tmp_path: Path) -> None:
    wasm = wasmtime.wat2wasm(WAT)
    cache = CompileCache(tmp_path)
    a, b = EngineSettings(fuel=True), EngineSettings(fuel=False, epochs=True)
    assert cache.key(wasm, a) != cache.key(wasm, b)
    cache.compile(engine_for(a), a, wasm)
    cache.compile(engine_for(b), b, wasm)
    assert cache.misses == 2


def test_a_corrupt_entry_is_rebuilt_not_fatal(tmp_path: Path) -> None:
    wasm = wasmtime.wat2wasm(WAT)
    settings = EngineSettings()
    cache = CompileCache(tmp_path)
    cache.compile(engine_for(settings), settings, wasm)
    entry = next(tmp_path.rglob("*.cwasm"))
    entry.write_bytes(b"garbage")
    again = CompileCache(tmp_path)
    module = again.compile(engine_for(settings), settings, wasm)
    assert again.misses == 1
    store = wasmtime.Store(engine_for(settings))
    assert wasmtime.Instance(store, module, []).exports(store)["f"](store) == 42


def test_concurrent_processes_fill_the_cache_without_corrupting_it(tmp_path: Path) -> None:
    script = (
        "import sys, wasmtime\n"
        "from pathlib import Path\n"
        "from pytest_wasmconc.runtime import CompileCache, EngineSettings, engine_for\n"
        f"wasm = wasmtime.wat2wasm({WAT!r})\n"
        "s = EngineSettings()\n"
        "for i in range(20):\n"
        "    CompileCache(Path(sys.argv[1])).compile(engine_for(s), s, wasm)\n"
        "print('ok')\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    assert all(p.communicate(timeout=CHILD_LIMIT_S)[0].strip() == "ok" for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert len(list(tmp_path.rglob("*.cwasm"))) == 1
    assert not list(tmp_path.rglob(".tmp-*"))
